"""`cpp up`: the whole platform on one machine, as supervised processes.

A private RabbitMQ node lives under CPP_DATA_DIR/rabbitmq (unless
CPP_BROKER_URL names a running broker); each service runs as two processes,
its gunicorn web server and its worker; their logs go to CPP_DATA_DIR/log.
A process that dies is restarted with a growing delay. Ctrl-C (or SIGTERM)
stops every process and then the broker; the data, the outboxes and the
queued messages stay under CPP_DATA_DIR for the next start.
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .config import ConfigError, Settings
from .services import installed_services

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


@dataclass
class Child:
    name: str
    argv: list[str]
    log_path: Path
    proc: subprocess.Popen | None = None
    restarts: list[float] = field(default_factory=list)
    next_start: float = 0.0


class Platform:
    def __init__(self, services: list[str] | None = None, *, out=None):
        self.services = services or installed_services()
        self.out = out or sys.stdout
        self.stopping = False
        self.node = None
        self.children: list[Child] = []

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def _on_signal(self, signum, _frame) -> None:
        if not self.stopping:
            self.say(f"\n{signal.Signals(signum).name}: stopping the platform...")
        self.stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        data_dir = Path(os.environ.get("CPP_DATA_DIR", "var")).resolve()
        os.environ["CPP_DATA_DIR"] = str(data_dir)
        (data_dir / "log").mkdir(parents=True, exist_ok=True)
        try:
            self._preflight()
            self._start_broker(data_dir)
            if self.stopping:
                return self._shutdown(0)
            for service in self.services:
                for role in ("web", "worker"):
                    cmd = "serve" if role == "web" else "worker"
                    self.children.append(Child(f"{service}-{role}", [sys.executable, "-m", "cpp_shared.cli", cmd, service],
                                               data_dir / "log" / f"{service}-{role}.log"))
            for child in self.children:
                self._spawn(child)
            self._wait_healthy()
            return self._supervise()
        except (ConfigError, RuntimeError) as exc:
            self.say(f"cpp up: {exc}")
            return self._shutdown(1)

    def _preflight(self) -> None:
        from .auth import TokenVerifier
        from .plugins import PluginError, Plugins

        for service in self.services:
            settings = Settings.from_env(service)
            try:
                Plugins(settings.plugins).authority()
            except PluginError as exc:
                raise ConfigError(f"{service}: {exc}") from None
            TokenVerifier(settings)  # creates the development key on first use

    def _start_broker(self, data_dir: Path) -> None:
        if os.environ.get("CPP_BROKER_URL"):
            self.say(f"broker     {os.environ['CPP_BROKER_URL'].rsplit('@', 1)[-1]} (CPP_BROKER_URL)")
            return
        from .broker import BrokerError, RabbitNode

        self.node = RabbitNode(data_dir / "rabbitmq")
        self.say("starting RabbitMQ (first start takes a few seconds)...")
        try:
            self.node.start(owner_pid=os.getpid())  # stopped by a watchdog if this supervisor is killed
        except BrokerError as exc:
            raise RuntimeError(f"{exc}\nOr set CPP_BROKER_URL to a running RabbitMQ (amqp://user:pass@host:5672//).") from None
        os.environ["CPP_BROKER_URL"] = self.node.amqp_url
        self.say(f"broker     {self.node.amqp_url.rsplit('@', 1)[-1]} (data in {data_dir / 'rabbitmq'})")

    def _spawn(self, child: Child) -> None:
        log = open(child.log_path, "ab")
        child.proc = subprocess.Popen(child.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      start_new_session=True, preexec_fn=_die_with_parent)
        log.close()

    def _wait_healthy(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        pending = {s: Settings.from_env(s) for s in self.services}
        while pending and not self.stopping:
            for service, settings in list(pending.items()):
                url = f"http://{settings.host}:{settings.port}/healthz"
                try:
                    with urllib.request.urlopen(url, timeout=1) as resp:
                        if resp.status == 200:
                            del pending[service]
                except OSError:
                    pass
            for child in self.children:
                if child.proc and child.proc.poll() is not None:
                    raise RuntimeError(f"{child.name} exited with code {child.proc.returncode} while starting:\n"
                                       f"{_tail(child.log_path)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"not healthy after {timeout:.0f}s: {', '.join(pending)}")
            time.sleep(0.2)
        if not self.stopping:
            log_dir = Path(os.environ["CPP_DATA_DIR"]) / "log"
            for service in self.services:
                settings = Settings.from_env(service)
                self.say(f"{service:10} http://{settings.host}:{settings.port}  (logs: {log_dir / service}-*.log)")
            self.say("all services up; Ctrl-C stops them")

    def _supervise(self) -> int:
        while not self.stopping:
            now = time.monotonic()
            for child in self.children:
                if child.proc is None:
                    if now >= child.next_start:
                        self._spawn(child)
                    continue
                code = child.proc.poll()
                if code is None:
                    continue
                child.restarts = [t for t in child.restarts if now - t < 60] + [now]
                if len(child.restarts) > 5:
                    self.say(f"{child.name} keeps failing (exit code {code}); stopping.\n{_tail(child.log_path)}")
                    return self._shutdown(1)
                delay = min(2 ** (len(child.restarts) - 1), 30)
                self.say(f"{child.name} exited with code {code}; restarting in {delay}s")
                child.proc, child.next_start = None, now + delay
            time.sleep(0.3)
        return self._shutdown(0)

    def _shutdown(self, code: int) -> int:
        self.stopping = True
        live = [c for c in self.children if c.proc and c.proc.poll() is None]
        for child in live:
            _signal_group(child.proc, signal.SIGTERM)
        deadline = time.monotonic() + 25
        for child in live:
            try:
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"{child.name} did not stop in time; killing it")
                _signal_group(child.proc, signal.SIGKILL)
                child.proc.wait(timeout=5)
        # Grandchildren (gunicorn workers) share their parent's process group.
        for child in self.children:
            if child.proc:
                _signal_group(child.proc, signal.SIGKILL)
        if self.node is not None:
            self.say("stopping RabbitMQ...")
            try:
                self.node.stop()
            except Exception as exc:  # report, but still exit
                self.say(f"RabbitMQ did not stop cleanly: {exc}")
        self.say("stopped")
        return code


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):  # already gone
        pass


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
