"""Running services as real processes (gunicorn web + worker), as `cpp up`
and docker-compose do."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.helpers import free_port, wait_for


@dataclass
class ServiceProcesses:
    service: str
    env: dict[str, str]
    log_dir: Path
    port: int
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *roles: str) -> ServiceProcesses:
        for role in roles or ("web", "worker"):
            cmd = "serve" if role == "web" else "worker"
            log = open(self.log_dir / f"{self.service}-{role}.log", "ab")
            self.procs[role] = subprocess.Popen(
                [sys.executable, "-m", "cpp_shared.cli", cmd, self.service],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            log.close()
        if "web" in (roles or ("web",)):
            wait_for(self._healthy, timeout=60, what=f"{self.service} web to answer /healthz")
        return self

    def _healthy(self) -> bool:
        proc = self.procs["web"]
        if proc.poll() is not None:
            raise AssertionError(f"{self.service} web exited ({proc.returncode}):\n{self.log('web')}")
        try:
            return requests.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def log(self, role: str) -> str:
        path = self.log_dir / f"{self.service}-{role}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def kill(self, role: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(role)
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)

    def stop(self) -> None:
        for role in list(self.procs):
            self.kill(role, signal.SIGTERM)


def service_env(service: str, *, data_dir: Path, broker_url: str, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPP_")}
    env.update(
        {
            "CPP_MODE": "development",
            "CPP_DATA_DIR": str(data_dir),
            "CPP_BROKER_URL": broker_url,
            f"CPP_{service.upper()}_PORT": str(port),
            "CPP_BUS_RETRY_DELAYS": "0.2,0.5",
            "CPP_LOG_FORMAT": "json",
            "WEB_CONCURRENCY": "1",
            "GUNICORN_THREADS": "4",
            # These tests count the events each service consumes: no scheduled
            # audit checkpoint (one more event) during a run.
            "CPP_AUDIT_CHECKPOINT_SECONDS": "86400",
        }
    )
    env.update(extra)
    return env


def launch(service: str, data_dir: Path, broker_url: str, *roles: str, **extra: str) -> ServiceProcesses:
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = service_env(service, data_dir=data_dir, broker_url=broker_url, port=port, **extra)
    return ServiceProcesses(service, env, data_dir, port).start(*roles)
