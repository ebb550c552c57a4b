"""`cpp up`: the whole platform on one machine, as supervised processes.

A private RabbitMQ node lives under CPP_DATA_DIR/rabbitmq (unless
CPP_BROKER_URL names a running broker); each service runs as two processes,
its gunicorn web server and its worker (the web application, which has no
events to relay or consume, has no worker); their logs go to CPP_DATA_DIR/log.

A process that exits is started again after a delay that doubles with each
failure in a row (1 s up to CPP_UP_RESTART_MAX_DELAY, default 60 s) and
starts from 1 s again once it has stayed up CPP_UP_RESTART_RESET_AFTER
seconds (default 60): one process failing over and over never stops the
others. Each exit is reported on the console, and in the process's status
file (CPP_DATA_DIR/run/<process>.json) that its service shows in /readyz and
/metrics. Only Ctrl-C (or SIGTERM) stops the platform, and a process that
cannot start at all (a configuration error, on its first start) stops it at
start-up with its message. Stopping stops every process and then the broker;
the data, the outboxes and the queued messages stay under CPP_DATA_DIR for
the next start.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .broker import RabbitNode

from . import process_status
from .config import ConfigError, Settings, env_value
from .services import installed_services, runs_worker

PR_SET_PDEATHSIG = 1
# Exit codes of a process that cannot start at all: `cpp serve`/`cpp worker`
# refusing a setting or a plugin (2), gunicorn unable to boot a worker or
# load the app (3, 4; e.g. a setting create_app refuses).
CANNOT_START = {2: "a configuration error", 3: "the app could not be loaded", 4: "the app could not be loaded"}


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def _alive(pid: int) -> bool:
    """Whether the process runs (a zombie does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :][:1] not in ("Z", "X")


@dataclass
class Backoff:
    """The wait before a process that exited is started again: ``first``
    seconds after its first failure, doubling with each failure in a row, at
    most ``cap``; a run of at least ``reset_after`` seconds ends the row."""

    first: float = 1.0
    cap: float = 60.0
    reset_after: float = 60.0
    failures: int = 0  # in a row

    def after_exit(self, uptime: float) -> float:
        """Record an exit after ``uptime`` seconds up; the delay before the next start."""
        if uptime >= self.reset_after:
            self.failures = 0
        self.failures += 1
        return min(self.cap, self.first * 2 ** min(self.failures - 1, 62))


@dataclass
class Child:
    name: str
    service: str
    argv: list[str]
    log_path: Path
    status_path: Path
    backoff: Backoff = field(default_factory=Backoff)
    proc: subprocess.Popen | None = None
    started_at: float = 0.0  # monotonic
    starts: int = 0
    last_exit: dict | None = None
    next_start: float = 0.0  # monotonic
    next_start_at: str | None = None

    @property
    def restarts(self) -> int:
        return max(0, self.starts - 1)


def _float_setting(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {text!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be more than 0 seconds, got {text!r}")
    return value


def _iso(wall: float) -> str:
    return datetime.fromtimestamp(wall, UTC).isoformat(timespec="seconds")


class Platform:
    def __init__(
        self,
        services: list[str] | None = None,
        *,
        out=None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ):
        self.services = services or installed_services()
        self.out = out or sys.stdout
        self.clock, self.wall = clock, wall
        self.stopping = False
        self.node: RabbitNode | None = None
        self.broker_pid: int | None = None
        self.broker_next_start = 0.0
        self.broker_restarts = 0
        self.broker_backoff = Backoff(cap=30.0)
        self.children: list[Child] = []
        self.after_up: list[tuple[str, subprocess.Popen, Path]] = []  # (command, process, log), run once
        self.mark = process_status.supervisor_mark()

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
            self._run_before_up(data_dir)
            self.children = self.make_children(data_dir)
            for child in self.children:
                self._start(child)
            fatal = self._wait_healthy()
            if fatal is not None:
                return fatal
            self._start_after_up(data_dir)
            return self._supervise()
        except (ConfigError, RuntimeError) as exc:
            self.say(f"cpp up: {exc}")
            return self._shutdown(1)

    def make_children(self, data_dir: Path) -> list[Child]:
        first = 1.0
        cap = _float_setting("CPP_UP_RESTART_MAX_DELAY", 60.0)
        reset_after = _float_setting("CPP_UP_RESTART_RESET_AFTER", 60.0)
        children = []
        for service in self.services:
            service_dir = Settings.from_env(service).data_dir.resolve()  # where the service reads its status files
            for role in ("web", "worker") if runs_worker(service) else ("web",):
                cmd = "serve" if role == "web" else "worker"
                name = f"{service}-{role}"
                children.append(
                    Child(
                        name,
                        service,
                        [sys.executable, "-m", "cpp_shared.cli", cmd, service],
                        data_dir / "log" / f"{name}.log",
                        process_status.status_path(service_dir, name),
                        Backoff(first=min(first, cap), cap=cap, reset_after=reset_after),
                    )
                )
        return children

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
            if not _port_free(settings.host, settings.port):
                raise ConfigError(
                    f"{service}: {settings.host}:{settings.port} is in use by another program; "
                    f"stop it or set CPP_{service.upper()}_PORT"
                )
        _float_setting("CPP_UP_RESTART_MAX_DELAY", 60.0)
        _float_setting("CPP_UP_RESTART_RESET_AFTER", 60.0)

    def _start_broker(self, data_dir: Path) -> None:
        given = env_value(os.environ, "CPP_BROKER_URL")  # or CPP_BROKER_URL_FILE
        if given:
            self.say(f"broker     {given.rsplit('@', 1)[-1]} (CPP_BROKER_URL)")
            return
        from .broker import BrokerError, RabbitNode

        self.node = node = RabbitNode(data_dir / "rabbitmq")
        self.say("starting RabbitMQ (first start takes a few seconds)...")
        try:
            node.start(owner_pid=os.getpid())  # stopped by a watchdog if this supervisor is killed
        except BrokerError as exc:
            raise RuntimeError(
                f"{exc}\nOr set CPP_BROKER_URL to a running RabbitMQ (amqp://user:pass@host:5672//)."
            ) from None
        os.environ["CPP_BROKER_URL"] = node.amqp_url
        self.broker_pid = node.pid
        self.say(f"broker     {node.amqp_url.rsplit('@', 1)[-1]} (data in {data_dir / 'rabbitmq'})")

    def _watch_broker(self, now: float) -> None:
        """A private broker that died is started again, on the same port (the
        processes' CPP_BROKER_URL names it), after a growing delay while it
        keeps failing; its durable queues and persistent messages come back
        from its folder. The processes reconnect on their own."""
        if self.node is None or self.stopping or now < self.broker_next_start:
            return
        if self.broker_pid is not None and _alive(self.broker_pid):
            return
        if self.node.is_running():  # booting, or another pid: look at it again next time
            self.broker_pid = self.node.pid
            return
        from .broker import BrokerError, RabbitNode

        self.say(f"RabbitMQ stopped (pid {self.broker_pid}); starting it again on port {self.node.amqp_port}...")
        node = RabbitNode(self.node.base_dir, amqp_port=self.node.amqp_port)
        try:
            node.start(timeout=60, owner_pid=os.getpid())
        except BrokerError as exc:
            delay = self.broker_backoff.after_exit(0.0)
            self.broker_next_start = self.clock() + delay
            self.say(f"RabbitMQ could not start again ({exc}); next try in {delay:g}s")
            return
        self.node, self.broker_pid = node, node.pid
        self.broker_restarts += 1
        self.broker_backoff.failures = 0  # up again: a later failure waits 1 s
        self.say(f"RabbitMQ is back (restarts so far: {self.broker_restarts})")

    def spawn(self, child: Child) -> subprocess.Popen:
        log = open(child.log_path, "ab")
        try:
            return subprocess.Popen(
                child.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        finally:
            log.close()

    def _start(self, child: Child) -> None:
        try:
            child.proc = self.spawn(child)
        except OSError as exc:  # could not even fork or exec: counted as a failure like any other
            self.say(f"{child.name} could not be started: {exc}")
            child.started_at = self.clock()
            child.starts += 1
            self._exited(child, None, self.clock())
            return
        child.started_at = self.clock()
        child.starts += 1
        child.next_start_at = None
        self._write_status(child)

    def _write_status(self, child: Child) -> None:
        status = {
            **self.mark,
            "process": child.name,
            "service": child.service,
            "state": process_status.RUNNING if child.proc is not None else process_status.WAITING,
            "pid": child.proc.pid if child.proc is not None else None,
            "restarts": child.restarts,
            "failures_in_a_row": child.backoff.failures,
            "last_exit": child.last_exit,
            "next_start_at": child.next_start_at,
            "updated_at": _iso(self.wall()),
        }
        try:
            process_status.write(child.status_path, status)
        except OSError as exc:  # the status is for show: never a reason to stop supervising
            self.say(f"{child.name}: could not write its status file {child.status_path}: {exc}")

    def _wait_healthy(self, timeout: float = 90.0) -> int | None:
        """Until each service's web process answers /healthz, or ``timeout``;
        a process that exits meanwhile is restarted as later on, unless it
        cannot start at all. An exit code when the platform must stop."""
        deadline = self.clock() + timeout
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
            fatal = self.step()
            if fatal is not None:
                return fatal
            if self.clock() > deadline:
                self.say(f"not answering after {timeout:.0f}s: {', '.join(pending)}; still trying (see their logs)")
                break
            time.sleep(0.2)
        if not self.stopping:
            log_dir = Path(os.environ["CPP_DATA_DIR"]) / "log"
            for service in self.services:
                settings = Settings.from_env(service)
                self.say(f"{service:10} http://{settings.host}:{settings.port}  (logs: {log_dir / service}-*.log)")
            if "web" in self.services:
                web = Settings.from_env("web")
                host = "localhost" if web.host in ("127.0.0.1", "0.0.0.0", "::", "::1") else web.host
                self.say(f"open http://{host}:{web.port} in a browser to use the platform")
            if pending:
                self.say(f"services up but {', '.join(pending)}; Ctrl-C stops them")
            else:
                self.say("all services up; Ctrl-C stops them")
        return None

    def _run_before_up(self, data_dir: Path) -> None:
        """Each service's ``before_up`` command (``cpp <args>``), to its end, before any process starts: a
        failure stops the platform (ConfigError naming the command and its log)."""
        from .services import load_service

        for service in self.services:
            args = tuple(load_service(service).before_up)
            if not args or self.stopping:
                continue
            log_path = data_dir / "log" / f"{service}-{args[0]}.log"
            self.say(f"cpp {' '.join(args)} ({service})...")
            with open(log_path, "ab") as log:
                done = subprocess.run(
                    [sys.executable, "-m", "cpp_shared.cli", *args],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    check=False,
                )
            if done.returncode != 0:
                raise ConfigError(f"cpp {' '.join(args)} failed (exit {done.returncode}); see {log_path}")

    def _start_after_up(self, data_dir: Path) -> None:
        """Each service's ``after_up`` command (``cpp <args>``), once, in the
        background: the platform is up already and never waits for it."""
        from .services import load_service

        if self.stopping:
            return
        for service in self.services:
            try:
                args = tuple(load_service(service).after_up)
            except Exception:  # a service that cannot be loaded has said so already
                continue
            if not args:
                continue
            name = f"{service}-{args[0]}"
            log_path = data_dir / "log" / f"{name}.log"
            try:
                with open(log_path, "ab") as log:
                    proc = subprocess.Popen(
                        [sys.executable, "-m", "cpp_shared.cli", *args],
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        start_new_session=True,
                        preexec_fn=_die_with_parent,
                    )
            except OSError as exc:
                self.say(f"cpp {' '.join(args)} could not be started: {exc}")
                continue
            self.after_up.append((f"cpp {' '.join(args)}", proc, log_path))
            self.say(f"cpp {' '.join(args)}: running in the background (log: {log_path})")

    def _watch_after_up(self) -> None:
        for entry in list(self.after_up):
            command, proc, log_path = entry
            code = proc.poll()
            if code is None:
                continue
            self.after_up.remove(entry)
            last = _tail(log_path, 1)
            if code == 0:
                if last:
                    self.say(last)
            else:
                self.say(
                    f"{command} failed ({process_status.describe_exit(code)}); the platform runs on. "
                    f"Its log: {log_path}\n{_tail(log_path, 5)}"
                )

    def _supervise(self) -> int:
        while not self.stopping:
            fatal = self.step()
            if fatal is not None:
                return fatal
            time.sleep(0.3)
        return self._shutdown(0)

    def step(self) -> int | None:
        """One look at every process: start those whose delay is over, note
        those that exited. An exit code only when the platform must stop (a
        process that cannot start at all)."""
        now = self.clock()
        self._watch_broker(now)
        self._watch_after_up()
        for child in self.children:
            if self.stopping:
                return None
            if child.proc is None:
                if now >= child.next_start:
                    self._start(child)
                continue
            code = child.proc.poll()
            if code is None:
                continue
            if code in CANNOT_START and child.starts == 1 and now - child.started_at < child.backoff.reset_after:
                self.say(
                    f"{child.name} cannot start ({CANNOT_START[code]}, exit code {code}); stopping.\n"
                    f"{_tail(child.log_path)}"
                )
                child.proc = None
                return self._shutdown(1)
            self._exited(child, code, now)
        return None

    def _exited(self, child: Child, code: int | None, now: float) -> None:
        uptime = now - child.started_at
        delay = child.backoff.after_exit(uptime)
        child.proc = None
        child.next_start = now + delay
        child.next_start_at = _iso(self.wall() + delay)
        child.last_exit = {"code": code, "at": _iso(self.wall()), "after_seconds": round(uptime, 1)}
        self.say(
            f"{child.name} exited with {process_status.describe_exit(code)} after {uptime:.1f}s; "
            f"failures in a row: {child.backoff.failures}, restarts so far: {child.restarts}; "
            f"next start in {delay:g}s (log: {child.log_path})"
        )
        if child.backoff.failures == 1:
            tail = _tail(child.log_path, 10)
            if tail:
                self.say(tail)
        self._write_status(child)

    def _shutdown(self, code: int) -> int:
        self.stopping = True
        for _command, proc, _log in self.after_up:
            if proc.poll() is None:
                _signal_group(proc, signal.SIGTERM)
        live = [(c.name, c.proc) for c in self.children if c.proc and c.proc.poll() is None]
        for _name, proc in live:
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + 25
        for name, proc in live:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"{name} did not stop in time; killing it")
                _signal_group(proc, signal.SIGKILL)
                proc.wait(timeout=5)
        # Grandchildren (gunicorn workers) share their parent's process group.
        for child in self.children:
            if child.proc:
                _signal_group(child.proc, signal.SIGKILL)
            try:
                child.status_path.unlink()
            except OSError:
                pass
        if self.node is not None:
            self.say("stopping RabbitMQ...")
            try:
                self.node.stop()
            except Exception as exc:  # report, but still exit
                self.say(f"RabbitMQ did not stop cleanly: {exc}")
        self.say("stopped")
        return code


def _port_free(host: str, port: int) -> bool:
    """True when a server could listen on host:port now (as gunicorn does, SO_REUSEADDR)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return True  # gunicorn will say what is wrong with the address
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError:
            return False
    return True


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
