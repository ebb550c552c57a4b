"""Every process docker-compose.yml describes starts, with exactly the
environment compose gives its container.

No container engine runs here, so each service's `command` runs as a
process on this machine (with `cpp` and `python` from this virtualenv, as
the image installs them) with the environment compose would give it: the
image's ENV lines, then the service's `environment` with the file's
variables resolved (an operator's .env: production mode, the identity
provider, the scheduler's public address, the mail relay). What exists only
inside compose's containers and network is mapped to this machine:

- each `/run/secrets/NAME` the service mounts: a copy of the file
  scripts/make-compose-secrets wrote for NAME, with the addresses in it
  mapped as below;
- the broker (`rabbitmq:5672`): a real throwaway RabbitMQ node on a free
  loopback port, a fresh vhost of it, as the other integration tests start
  it (tests/integration/conftest.py);
- MongoDB cannot run here: each store URL (`mongodb://...`, from the
  service's secret) is swapped for an SQLite file in a temporary folder, one
  per database, shared by the service's web and worker processes as their
  database is;
- each web process's port a free loopback port, and the services'
  addresses (`http://plans:5001`) those ports;
- the volumes and each container's own files (its /tmp): folders of the
  test's;
- the identity provider: an https server on loopback serving a JWKS, its
  certificate trusted through SSL_CERT_FILE as the image's trust store would
  trust a real provider's.

Then every web process must pass its compose healthcheck (/healthz) and
every worker must stay up for some seconds and pass its compose healthcheck
(`cpp worker-health`); the failures of all the processes are reported
together.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.compose_file import ROOT, make_secrets, mounted_secrets, resolved, secret_file
from tests.helpers import free_port
from tests.oidc.servers import pooled_server, self_signed, tls_proxy

pytestmark = [pytest.mark.slow, pytest.mark.broker]

INFRASTRUCTURE = {"rabbitmq", "mongodb"}  # stood in for by the broker fixture and SQLite
WORKER_UP_SECONDS = 5.0
VENV_BIN = Path(sys.executable).parent


def image_env() -> dict[str, str]:
    """The ENV lines of the Dockerfile (the image's environment, under compose's)."""
    env = {}
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("ENV "):
            env.update(pair.split("=", 1) for pair in line[4:].split())
    return env


class Machine:
    """Where compose's containers and network are, on this machine."""

    def __init__(self, root: Path, document: dict, broker_url: str, trusted_cert: str):
        self.root, self.document, self.broker_url, self.trusted_cert = root, document, broker_url, trusted_cert
        self.ports = {}  # (service, container port) -> loopback port
        for name, service in document["services"].items():
            port = (service.get("environment") or {}).get("CPP_PORT")
            if name not in INFRASTRUCTURE and port:
                self.ports[(name, port)] = free_port()

    def folder(self, *parts: str) -> Path:
        path = self.root.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def address(self, text: str) -> str:
        """A value or a secret's content with the containers' addresses replaced by this machine's."""
        text = re.sub(r"amqps?://[^\s]*@rabbitmq:5672/[^\s]*", self.broker_url, text)
        text = re.sub(
            r"mongodb://[^\s/]*/([A-Za-z0-9_]+)[^\s]*", lambda m: f"sqlite:///{self.folder('stores') / m[1]}.db", text
        )
        for (service, port), local in self.ports.items():
            text = text.replace(f"http://{service}:{port}", f"http://127.0.0.1:{local}")
        return text

    def path(self, name: str, service: dict, value: str) -> str:
        """A path inside the container: a secret it mounts, a volume, else its own files (where only /tmp is
        made: a secret it does not mount is not there)."""
        mounts = mounted_secrets(service)
        if value in mounts:
            copy = self.folder("containers", name, "run-secrets") / mounts[value]
            copy.write_text(self.address(secret_file(self.document, mounts[value]).read_text()))
            return str(copy)
        for volume in service.get("volumes") or []:
            source, target = volume.split(":")[:2]
            if value == target or value.startswith(target + "/"):
                return str(self.folder("volumes", source)) + value[len(target) :]
        self.folder("containers", name, "fs", "tmp")
        return str(self.root / "containers" / name / "fs") + value  # the container's own files

    def environment(self, name: str, service: dict) -> dict[str, str]:
        env = {
            "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.folder("containers", name, "home")),
            "LANG": "C.UTF-8",
            "SSL_CERT_FILE": self.trusted_cert,
            **image_env(),
        }
        for setting, value in (service.get("environment") or {}).items():
            value = "" if value is None else str(value)
            if setting == "CPP_PORT":
                value = str(self.ports[(name, value)])
            elif value.startswith("/"):
                value = self.path(name, service, value)
            env[setting] = self.address(value)
        return env


class Process:
    def __init__(self, name: str, service: dict, env: dict[str, str], machine: Machine):
        self.name, self.service, self.env = name, service, env
        self.cwd = machine.folder("containers", name, "app")  # the image's WORKDIR
        self.log_path = machine.folder("logs") / f"{name}.log"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self._argv(service["command"]),
                env=env,
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _argv(self, command: list[str]) -> list[str]:
        found = shutil.which(command[0], path=self.env["PATH"])
        assert found, f"{self.name}: {command[0]} is not on the image's PATH"
        return [found, *command[1:]]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def exited(self) -> str | None:
        if self.proc.poll() is None:
            return None
        return f"{self.name} exited with code {self.proc.returncode}:\n{self.log()}"

    def healthcheck(self) -> tuple[bool, str]:
        """Compose's healthcheck `test`, run with the container's environment."""
        kind, *rest = self.service["healthcheck"]["test"]
        argv = self._argv(rest) if kind == "CMD" else ["/bin/sh", "-c", rest[0]]
        try:
            done = subprocess.run(argv, env=self.env, cwd=self.cwd, capture_output=True, text=True, timeout=15)
        except subprocess.TimeoutExpired:
            return False, f"{self.name}'s healthcheck did not answer in 15s"
        return done.returncode == 0, f"{self.name}'s healthcheck exited {done.returncode}: {done.stdout}{done.stderr}"

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


def until_healthy(process: Process, timeout: float) -> str | None:
    """None once its healthcheck passes; else why not (it exited, or the last check's answer)."""
    deadline = time.monotonic() + timeout
    while True:
        if exited := process.exited():
            return exited
        if not (process.service.get("healthcheck") or {}).get("test"):
            return f"{process.name} has no healthcheck"
        healthy, answer = process.healthcheck()
        if healthy:
            return None
        if time.monotonic() > deadline:
            return f"{answer}\n{process.log()}"
        time.sleep(0.5)


def start_order(services: dict) -> list[list[str]]:
    """The services in waves: each after those it depends on (compose's depends_on)."""
    waiting = {
        name: set(s.get("depends_on") or {}) - INFRASTRUCTURE
        for name, s in services.items()
        if name not in INFRASTRUCTURE
    }
    started: set[str] = set()
    waves = []
    while waiting:
        wave = sorted(name for name, needs in waiting.items() if needs <= started)
        assert wave, f"depends_on goes round in a circle: {waiting}"
        waves.append(wave)
        started.update(wave)
        for name in wave:
            del waiting[name]
    return waves


@pytest.fixture
def identity_provider(tmp_path):
    """An https JWKS on loopback; the certificate that signs it is what SSL_CERT_FILE trusts."""
    folder = tmp_path / "idp"
    folder.mkdir()
    cert, key = self_signed(folder)
    public = json.loads(
        RSAAlgorithm.to_jwk(rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key())
    )
    jwks = json.dumps({"keys": [{**public, "kid": "compose-test", "alg": "RS256", "use": "sig"}]}).encode()

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(jwks)))])
        return [jwks]

    with pooled_server(app) as plain, tls_proxy(plain, cert, key) as https:
        yield https, cert


def test_every_process_of_the_compose_file_starts_and_is_healthy(tmp_path, broker_url, identity_provider):
    issuer, trusted_cert = identity_provider
    secrets = make_secrets(tmp_path / "secrets")
    variables = {  # the operator's .env
        "CPP_SECRETS_DIR": str(secrets),
        "CPP_OIDC_ISSUER": issuer,
        "CPP_OIDC_JWKS_URL": f"{issuer}/jwks",
        "CPP_SCHEDULER_PUBLIC_URL": "https://cpp.council.example",
        "CPP_WEB_EXTERNAL_URL": "https://cpp.council.example",
        "CPP_WEB_OIDC_CLIENT_ID": "cpp-web",
        "CPP_NOTIFY_SMTP_HOST": "127.0.0.1",
        "CPP_NOTIFY_SMTP_PORT": str(free_port()),
        "CPP_NOTIFY_MAIL_FROM": "cpp@council.example",
        "WEB_CONCURRENCY": "1",
    }
    document = resolved(variables)
    assert document["services"]["plans"]["environment"]["CPP_MODE"] == "production"
    machine = Machine(tmp_path / "machine", document, broker_url, trusted_cert)
    processes: dict[str, Process] = {}
    problems: dict[str, str] = {}  # process -> what went wrong
    try:
        for wave in start_order(document["services"]):
            for name in wave:
                service = document["services"][name]
                processes[name] = Process(name, service, machine.environment(name, service), machine)
            for name in wave:
                if problem := until_healthy(processes[name], timeout=90):
                    problems[name] = problem
        for (name, _), port in machine.ports.items():  # each web process is the service it should be
            if name not in problems:
                assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()["service"] == name
        time.sleep(WORKER_UP_SECONDS)  # the workers stay up, still healthy
        for name, process in processes.items():
            if name.endswith("-worker") and name not in problems:
                if problem := process.exited() or until_healthy(process, timeout=10):
                    problems[name] = problem
    finally:
        for process in processes.values():
            process.stop()
    assert set(processes) == {
        "plans",
        "plans-worker",
        "scheduler",
        "scheduler-worker",
        "notify",
        "notify-worker",
        "docs",
        "docs-worker",
        "returns",
        "returns-worker",
        "web",
    }
    assert not problems, "\n\n".join(problems.values())
    # The stores were the SQLite files the MongoDB URLs were swapped for.
    for database in ("cpp_plans", "cpp_scheduler", "cpp_notify", "cpp_docs", "cpp_returns"):
        assert (machine.root / "stores" / f"{database}.db").is_file()
