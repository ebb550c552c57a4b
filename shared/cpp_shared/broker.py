"""Launcher for private RabbitMQ nodes, one node per folder.

A :class:`RabbitNode` owns one RabbitMQ node whose whole state (mnesia data, logs,
configuration, Erlang cookie, chosen ports) lives under a single folder.  It is meant
for development and tests on a machine where Debian's ``rabbitmq-server`` package is
installed but its service is not running (no systemd, ``policy-rc.d`` blocks it)::

    with RabbitNode(tmp_path / "rabbit") as node:          # start ... stop
        conn = kombu.Connection(node.add_vhost("t1"))

or from a shell (see :func:`main`)::

    eval "$(python -m cpp_shared.broker start --dir var/rabbit)"   # exports AMQP_URL ...
    python -m cpp_shared.broker stop --dir var/rabbit

Facts this is built on (see RECIPES.md, sections 1 and 2):

* the scripts in ``/usr/lib/rabbitmq/bin`` are called directly; the ``/usr/sbin``
  wrappers switch to the ``rabbitmq`` user and reset ``HOME``;
* ``HOME`` is the node folder, holding the ``.erlang.cookie`` shared by server and CLI;
* the CLI tools get ``RABBITMQ_CTL_DIST_PORT_MIN/MAX=0`` (else they use a fixed range);
* distribution is bound to loopback (``-kernel inet_dist_use_interface {127,0,0,1}``);
* the node starts its own ``epmd`` on a private port and leaves it running when it
  stops: :meth:`RabbitNode.stop` kills it with ``epmd -port P -kill``.

The node name is derived from the folder (``cpp-<hash of the absolute path>@localhost``),
so a restart in the same folder finds the same mnesia data (durable queues and
persistent messages survive) and nodes in different folders never collide.  The chosen
ports and the node name are kept in ``<folder>/node.json``; a later start reuses the same
AMQP port when it is free, and ``stop`` from another process finds the node through it.

The node's OS processes are recognised by an environment marker
(``CPP_BROKER_SERVER_DIR=<folder>``) that only the server gets, so that stopping or
checking one node never touches another node, a CLI tool, or someone else's broker.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import secrets
import shlex
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import quote

__all__ = [
    "BrokerError",
    "BrokerNotInstalled",
    "BrokerStartError",
    "RabbitCtlError",
    "RabbitNode",
    "main",
]

log = logging.getLogger(__name__)

#: Where the real RabbitMQ scripts live (override with $CPP_RABBITMQ_BIN_DIR).
DEFAULT_BIN_DIR = "/usr/lib/rabbitmq/bin"
INSTALL_HINT = "install it with `apt-get install rabbitmq-server` (Debian/Ubuntu; run as root)"

STATE_FILE = "node.json"
CONSOLE_LOG = "console.out"
_CONSOLE_HEADER = "==== cpp_shared.broker: starting"
_MARKER = "CPP_BROKER_SERVER_DIR"  # env var only the server processes carry
_STATE_VERSION = 1

#: The files and folders a node folder may contain; destroy() refuses to delete others.
_OWN_ENTRIES = {
    STATE_FILE,
    ".lock",
    ".erlang.cookie",
    "rabbitmq.conf",
    "rabbitmq-env.conf",
    "enabled_plugins",
    "advanced.config",
    "conf.d",
    "mnesia",
    "log",
    "rabbit.pid",
    ".cache",
    ".config",
    ".hex",
    ".mix",
    "erl_crash.dump",
}

RABBITMQ_CONF = """\
# Managed by cpp_shared.broker: rewritten at every start. Put extra settings in conf.d/.
loopback_users.guest = true
disk_free_limit.absolute = 50MB
log.console = false
log.file.level = info
log.file.rotation.size = 10485760
log.file.rotation.count = 3
"""


class BrokerError(RuntimeError):
    """Something went wrong starting, stopping or talking to a RabbitMQ node."""


class BrokerNotInstalled(BrokerError):
    """The RabbitMQ server scripts are missing."""


class BrokerStartError(BrokerError):
    """The node did not come up (its process died or the deadline passed)."""


class RabbitCtlError(BrokerError):
    """A RabbitMQ CLI tool exited non-zero."""

    def __init__(self, message: str, returncode: int, stdout: str, stderr: str):
        super().__init__(message)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


# --------------------------------------------------------------------------- /proc helpers


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (index 0 is the state), or None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes().decode("ascii", "replace")
    except OSError:
        return None
    return raw[raw.rfind(")") + 2 :].split()


def _proc_alive(pid: int | None) -> bool:
    """True when PID exists and is not a zombie."""
    if not pid:
        return False
    fields = _proc_stat(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def _proc_start_time(pid: int) -> int | None:
    """Start time of PID in clock ticks since boot (guards against PID reuse)."""
    fields = _proc_stat(pid)
    if fields is None or fields[0] in ("Z", "X"):
        return None
    return int(fields[19])  # field 22 of stat


def _proc_environ(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return b""


def _proc_comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _proc_cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def _pids_with_env(entry: str) -> list[int]:
    """Live PIDs whose environment holds exactly ``entry`` (``NAME=value``)."""
    needle = entry.encode()
    me = os.getpid()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        if pid == me:
            continue
        env = _proc_environ(pid)
        if env and needle in env.split(b"\0") and _proc_alive(pid):
            found.append(pid)
    return found


# --------------------------------------------------------------------------- port helpers


def _port_free(port: int) -> bool:
    """True if a listener could bind 127.0.0.1:PORT (SO_REUSEADDR, like Erlang does)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port(exclude: Sequence[int] = ()) -> int:
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in exclude:
            return port
    raise BrokerError("could not find a free loopback port")


def _port_open(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


# --------------------------------------------------------------------------- the node


class RabbitNode:
    """One private RabbitMQ node living in ``base_dir``.

    ``node_name`` defaults to ``cpp-<10 hex of sha1(abs path)>@localhost`` (stable per
    folder, unique across folders).  ``amqp_port`` defaults to the port saved in
    ``node.json`` when that is free, else a free loopback port.  The distribution and
    epmd ports are free ones, chosen at every start.
    """

    def __init__(
        self,
        base_dir: str | os.PathLike[str],
        *,
        node_name: str | None = None,
        amqp_port: int | None = None,
        bin_dir: str | os.PathLike[str] | None = None,
    ):
        self.base_dir = Path(base_dir).expanduser().resolve()
        self.bin_dir = Path(bin_dir or os.environ.get("CPP_RABBITMQ_BIN_DIR") or DEFAULT_BIN_DIR)
        saved = self._load_state()
        if node_name and "@" not in node_name:
            node_name = f"{node_name}@localhost"
        default_name = f"cpp-{hashlib.sha1(str(self.base_dir).encode()).hexdigest()[:10]}@localhost"
        self.node_name: str = node_name or saved.get("node_name") or default_name
        self._requested_amqp_port = amqp_port
        self.amqp_port: int | None = amqp_port or saved.get("amqp_port")
        self.dist_port: int | None = saved.get("dist_port")
        self.epmd_port: int | None = saved.get("epmd_port")
        self._proc: subprocess.Popen | None = None  # the launcher, when we started it
        self._watchdog: subprocess.Popen | None = None
        #: True when the last start() launched the node, False when it found it running.
        self.launched: bool = False

    def __repr__(self) -> str:
        return f"RabbitNode({str(self.base_dir)!r}, node_name={self.node_name!r}, amqp_port={self.amqp_port})"

    # ------------------------------------------------------------------ paths and state

    @property
    def state_file(self) -> Path:
        return self.base_dir / STATE_FILE

    @property
    def log_dir(self) -> Path:
        return self.base_dir / "log"

    @property
    def console_log(self) -> Path:
        return self.log_dir / CONSOLE_LOG

    @property
    def node_log(self) -> Path:
        return self.log_dir / f"{self.node_name}.log"

    def _load_state(self) -> dict:
        try:
            return json.loads((self.base_dir / STATE_FILE).read_text())
        except (OSError, ValueError):
            return {}

    def _save_state(self, **extra) -> None:
        state = self._load_state()
        state.update(
            version=_STATE_VERSION,
            base_dir=str(self.base_dir),
            node_name=self.node_name,
            amqp_port=self.amqp_port,
            dist_port=self.dist_port,
            epmd_port=self.epmd_port,
            amqp_url=self.amqp_url if self.amqp_port else None,
        )
        state.update(extra)
        tmp = self.state_file.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, self.state_file)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise start/stop on one folder across processes."""
        self.base_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.base_dir / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    # ------------------------------------------------------------------ public properties

    @property
    def amqp_url(self) -> str:
        if not self.amqp_port:
            raise BrokerError(f"{self!r} has no AMQP port yet (never started)")
        return f"amqp://guest:guest@127.0.0.1:{self.amqp_port}//"

    def vhost_url(self, vhost: str) -> str:
        if vhost == "/":
            return self.amqp_url
        return f"amqp://guest:guest@127.0.0.1:{self.amqp_port}/{quote(vhost, safe='')}"

    @property
    def launcher_pid(self) -> int | None:
        """PID of the ``rabbitmq-server`` shell (leader of the node's session), if alive."""
        pid = self._load_state().get("launcher_pid")
        return pid if pid and pid in self._server_pids() else None

    @property
    def pid(self) -> int | None:
        """PID of the node's Erlang VM (``beam.smp``), or None when it is not running."""
        pids = self._server_pids()
        try:
            beam = int((self.base_dir / "rabbit.pid").read_text().strip())
        except (OSError, ValueError):
            beam = None
        if beam in pids:
            return beam
        for pid in pids:
            if _proc_comm(pid).startswith("beam"):
                return pid
        return None

    def _server_pids(self, include_epmd: bool = False) -> list[int]:
        pids = _pids_with_env(f"{_MARKER}={self.base_dir}")
        if not include_epmd:
            pids = [p for p in pids if _proc_comm(p) != "epmd"]
        return pids

    def is_running(self) -> bool:
        """True while any process of this folder's node is alive (booting counts)."""
        if self._proc is not None and self._proc.poll() is not None:
            self._proc = None  # reap the launcher we started
        return bool(self._server_pids())

    # ------------------------------------------------------------------ environment

    def env(self) -> dict[str, str]:
        """Environment for the RabbitMQ CLI tools (rabbitmqctl, rabbitmq-diagnostics ...)."""
        base = str(self.base_dir)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("RABBITMQ_", "ERL_")) and k not in ("NOTIFY_SOCKET", _MARKER)
        }
        env.setdefault("LANG", "C.UTF-8")
        env.setdefault("LC_ALL", env["LANG"])
        env.update(
            HOME=base,
            RABBITMQ_NODENAME=self.node_name,
            RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
            RABBITMQ_CTL_DIST_PORT_MIN="0",
            RABBITMQ_CTL_DIST_PORT_MAX="0",
            RABBITMQ_CONF_ENV_FILE=f"{base}/rabbitmq-env.conf",
            RABBITMQ_CONFIG_FILE=f"{base}/rabbitmq.conf",
            RABBITMQ_CONFIG_FILES=f"{base}/conf.d",
            RABBITMQ_ADVANCED_CONFIG_FILE=f"{base}/advanced.config",
            RABBITMQ_ENABLED_PLUGINS_FILE=f"{base}/enabled_plugins",
            RABBITMQ_MNESIA_BASE=f"{base}/mnesia",
            RABBITMQ_LOG_BASE=f"{base}/log",
            RABBITMQ_PID_FILE=f"{base}/rabbit.pid",
            ERL_EPMD_ADDRESS="127.0.0.1",
        )
        if self.amqp_port:
            env["RABBITMQ_NODE_PORT"] = str(self.amqp_port)
        if self.dist_port:
            env["RABBITMQ_DIST_PORT"] = str(self.dist_port)
        if self.epmd_port:
            env["ERL_EPMD_PORT"] = str(self.epmd_port)
        return env

    def _server_env(self) -> dict[str, str]:
        env = self.env()
        env["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] = "-kernel inet_dist_use_interface {127,0,0,1}"
        env[_MARKER] = str(self.base_dir)
        return env

    # ------------------------------------------------------------------ CLI tools

    def _tool(self, name: str) -> Path:
        path = self.bin_dir / name
        if not os.access(path, os.X_OK):
            raise BrokerNotInstalled(f"RabbitMQ is not installed: {path} is missing; {INSTALL_HINT}")
        return path

    def _run_tool(
        self, tool: str, *args: str, timeout: float = 60, check: bool = True, input: str | None = None
    ) -> subprocess.CompletedProcess:
        cmd = [str(self._tool(tool)), "-q", "-n", self.node_name, *map(str, args)]
        try:
            res = subprocess.run(
                cmd,
                env=self.env(),
                cwd=self.base_dir,
                capture_output=True,
                text=True,
                timeout=timeout,
                **({"input": input} if input is not None else {"stdin": subprocess.DEVNULL}),
            )
        except subprocess.TimeoutExpired as exc:
            raise RabbitCtlError(f"{shlex.join(cmd)} timed out after {timeout:g}s", -1, "", "") from exc
        if check and res.returncode != 0:
            raise RabbitCtlError(
                f"{shlex.join(cmd)} exited {res.returncode}: {(res.stderr or res.stdout).strip()}",
                res.returncode,
                res.stdout,
                res.stderr,
            )
        return res

    def rabbitmqctl(self, *args: str, timeout: float = 60) -> str:
        """Run ``rabbitmqctl -q -n NODE ARGS...`` and return its stdout (raises on failure)."""
        return self._run_tool("rabbitmqctl", *args, timeout=timeout).stdout

    def diagnostics(self, *args: str, timeout: float = 60) -> str:
        """Run ``rabbitmq-diagnostics -q -n NODE ARGS...`` and return its stdout."""
        return self._run_tool("rabbitmq-diagnostics", *args, timeout=timeout).stdout

    def add_vhost(self, name: str) -> str:
        """Create vhost ``name`` (if needed), give guest full rights, return its AMQP URL.

        One ``rabbitmqctl import_definitions`` call (about 0.4 s) instead of
        ``add_vhost`` + ``set_permissions`` (two CLI boots, about 1 s)."""
        definitions = {
            "vhosts": [{"name": name}],
            "permissions": [{"user": "guest", "vhost": name, "configure": ".*", "write": ".*", "read": ".*"}],
        }
        self._run_tool("rabbitmqctl", "import_definitions", "--format", "json", input=json.dumps(definitions))
        return self.vhost_url(name)

    def delete_vhost(self, name: str) -> None:
        """Delete vhost ``name`` with everything in it; a missing vhost is not an error."""
        res = self._run_tool("rabbitmqctl", "delete_vhost", name, check=False)
        out = res.stderr + res.stdout
        if res.returncode != 0 and "does not exist" not in out and "no_such_vhost" not in out:
            raise RabbitCtlError(f"delete_vhost {name!r} failed: {out.strip()}", res.returncode, res.stdout, res.stderr)

    # ------------------------------------------------------------------ start

    def _prepare_folder(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        for sub in ("log", "mnesia", "conf.d"):
            (self.base_dir / sub).mkdir(exist_ok=True)
        cookie = self.base_dir / ".erlang.cookie"
        if not cookie.exists():
            alphabet = string.ascii_uppercase + string.digits
            cookie.write_text("".join(secrets.choice(alphabet) for _ in range(32)))
        os.chmod(cookie, 0o400)
        (self.base_dir / "enabled_plugins").write_text("[].\n")
        (self.base_dir / "rabbitmq.conf").write_text(RABBITMQ_CONF)
        (self.base_dir / "rabbitmq-env.conf").write_text("")  # keeps /etc/rabbitmq/rabbitmq-env.conf out

    def _choose_ports(self, fresh: bool = False) -> None:
        if self._requested_amqp_port:
            self.amqp_port = self._requested_amqp_port
            if not _port_free(self.amqp_port):
                raise BrokerStartError(f"AMQP port {self.amqp_port} requested for {self.node_name} is in use")
        elif fresh or not self.amqp_port or not _port_free(self.amqp_port):
            if self.amqp_port and not fresh:
                log.warning("AMQP port %s of %s is taken; picking another", self.amqp_port, self.node_name)
            self.amqp_port = _free_port()
        self.dist_port = _free_port(exclude=[self.amqp_port])
        self.epmd_port = _free_port(exclude=[self.amqp_port, self.dist_port])

    def start(self, timeout: float = 90, *, owner_pid: int | None = None) -> RabbitNode:
        """Start the node (no-op when this folder's node already runs) and wait until an
        AMQP connection opens.  With ``owner_pid``, a small watchdog process stops the
        node once that process is gone (even after SIGKILL)."""
        server = self._tool("rabbitmq-server")
        deadline = time.monotonic() + timeout
        with self._locked():
            saved = self._load_state()
            if self.is_running():
                if saved.get("node_name") not in (None, self.node_name):
                    raise BrokerError(f"{self.base_dir} already runs node {saved['node_name']}, not {self.node_name}")
                self.amqp_port = saved.get("amqp_port") or self.amqp_port
                self.dist_port, self.epmd_port = saved.get("dist_port"), saved.get("epmd_port")
                log.info("%s already running on port %s", self.node_name, self.amqp_port)
                self.launched = False
                self._wait_ready(deadline, launcher=None)
                return self
            self._prepare_folder()
            attempts = 1 if self._requested_amqp_port else 3
            for attempt in range(1, attempts + 1):
                self._choose_ports(fresh=attempt > 1)
                self._launch(server)
                try:
                    if owner_pid:  # armed before the wait: a crash while booting must stop it too
                        self._start_watchdog(owner_pid)
                    self._wait_ready(deadline, launcher=self._proc)
                    break
                except BaseException as exc:  # incl. KeyboardInterrupt: never leave a half-started node
                    in_use = isinstance(exc, BrokerStartError) and any(
                        m in str(exc).lower() for m in ("eaddrinuse", "dist_port_already_used")
                    )
                    self._stop_locked(timeout=30)
                    if not in_use or attempt == attempts or time.monotonic() > deadline:
                        raise
                    log.warning("%s: a port was taken while booting; retrying with new ports", self.node_name)
            self._save_state(beam_pid=self.pid, started_at=time.time())
            self.launched = True
            return self

    def _launch(self, server: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.base_dir / "rabbit.pid").unlink()
        with open(self.console_log, "ab") as out:
            out.write(
                f"\n{_CONSOLE_HEADER} {self.node_name} on 127.0.0.1:{self.amqp_port} "
                f"at {time.strftime('%Y-%m-%d %H:%M:%S')} ====\n".encode()
            )
            out.flush()
            self._proc = subprocess.Popen(
                [str(server)],
                cwd=self.base_dir,
                env=self._server_env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        self._save_state(launcher_pid=self._proc.pid, beam_pid=None, watchdog_pid=None, started_at=None)
        log.info(
            "launched %s (pid %s, amqp %s, dist %s, epmd %s)",
            self.node_name,
            self._proc.pid,
            self.amqp_port,
            self.dist_port,
            self.epmd_port,
        )

    def _failure_report(self, head: int = 50, tail: int = 20) -> str:
        """This start's console output (the error comes first, the crash report last)
        and the tail of the node's log file."""
        parts = []
        try:
            text = self.console_log.read_text(errors="replace")
        except OSError:
            text = ""
        lines = [ln for ln in text[text.rfind(_CONSOLE_HEADER) :].splitlines()[1:] if ln.strip()]
        if len(lines) > head + tail:
            lines = lines[:head] + [f"[... {len(lines) - head - tail} lines ...]"] + lines[-tail:]
        if lines:
            parts.append(f"--- {self.console_log} ---\n" + "\n".join(lines))
        node_log = _tail(self.node_log, tail)
        if node_log:
            parts.append(f"--- tail of {self.node_log} ---\n{node_log}")
        return "\n".join(parts)

    def _wait_ready(self, deadline: float, launcher: subprocess.Popen | None) -> None:
        """Poll until the AMQP port accepts TCP and a kombu connection opens a channel."""
        last_error: Exception | None = None
        port = self.amqp_port
        assert port is not None, "the node's ports are chosen before it starts"
        while True:
            if launcher is not None and launcher.poll() is not None:
                raise BrokerStartError(
                    f"RabbitMQ node {self.node_name} exited with status {launcher.returncode} while starting\n"
                    + self._failure_report()
                )
            if launcher is None and not self.is_running():
                raise BrokerStartError(f"RabbitMQ node {self.node_name} is not running\n" + self._failure_report())
            if _port_open(port, timeout=0.5):
                try:
                    self._check_amqp()
                    return
                except Exception as exc:  # still booting, or auth not ready yet
                    last_error = exc
            if time.monotonic() > deadline:
                raise BrokerStartError(
                    f"RabbitMQ node {self.node_name} did not accept AMQP connections on port {self.amqp_port} "
                    f"in time (last error: {last_error!r})\n" + self._failure_report()
                )
            time.sleep(0.1)

    def _check_amqp(self) -> None:
        try:
            from kombu import Connection
        except ImportError:  # pragma: no cover - kombu is a dependency of cpp_shared
            self.diagnostics("check_port_connectivity", timeout=30)
            return
        with Connection(self.amqp_url, connect_timeout=3) as conn:
            conn.connect()
            conn.default_channel  # noqa: B018 - opens a channel

    # ------------------------------------------------------------------ stop

    def stop(self, timeout: float = 60) -> None:
        """Stop the node gracefully (``rabbitmqctl shutdown``), falling back to SIGTERM and
        SIGKILL of its processes, then kill its epmd.  Data stays; idempotent."""
        if not self.base_dir.exists():
            return
        with self._locked():
            self._stop_locked(timeout)

    def _stop_locked(self, timeout: float) -> None:
        state = self._load_state()
        if not state and self._proc is None:
            return
        self.epmd_port = state.get("epmd_port", self.epmd_port)
        deadline = time.monotonic() + timeout
        self._stop_watchdog(state.get("watchdog_pid"))

        if self._server_pids():
            try:
                self._run_tool("rabbitmqctl", "shutdown", timeout=max(5.0, min(30.0, timeout / 2)))
            except BrokerError as exc:
                log.warning("graceful shutdown of %s failed (%s); sending SIGTERM", self.node_name, exc)
            else:  # shutdown waited for beam; the launcher and helpers follow within moments
                self._wait_gone(min(deadline, time.monotonic() + 10))

        if self._server_pids():
            launcher = state.get("launcher_pid")
            if launcher and launcher in self._server_pids():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(launcher, signal.SIGTERM)  # the script forwards TERM to beam
            for pid in self._server_pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
            self._wait_gone(max(deadline - 2, time.monotonic() + 2))
        for pid in self._server_pids():
            log.warning("killing process %s of %s", pid, self.node_name)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._wait_gone(time.monotonic() + 5)

        self._kill_epmd()
        if self._proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=5)
            self._proc = None
        if self._server_pids():
            raise BrokerError(f"could not stop RabbitMQ node {self.node_name}: pids {self._server_pids()} remain")
        if self.state_file.exists():
            self._save_state(launcher_pid=None, beam_pid=None, watchdog_pid=None, started_at=None)

    def _wait_gone(self, until: float) -> bool:
        while True:
            if self._proc is not None and self._proc.poll() is not None:
                self._proc = None
            if not self._server_pids():
                return True
            if time.monotonic() > until:
                return False
            time.sleep(0.1)

    def _kill_epmd(self) -> None:
        epmd_pids = [p for p in self._server_pids(include_epmd=True) if _proc_comm(p) == "epmd"]
        if self.epmd_port and (epmd_pids or _port_open(self.epmd_port, timeout=0.2)):
            epmd = shutil.which("epmd") or next(iter(sorted(Path("/usr/lib/erlang").glob("erts-*/bin/epmd"))), None)
            if epmd:
                env = {**self.env(), "ERL_EPMD_PORT": str(self.epmd_port)}
                with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                    subprocess.run(
                        [str(epmd), "-port", str(self.epmd_port), "-kill"],
                        env=env,
                        capture_output=True,
                        timeout=10,
                        stdin=subprocess.DEVNULL,
                    )
        until = time.monotonic() + 3
        while epmd_pids and time.monotonic() < until:
            epmd_pids = [p for p in epmd_pids if _proc_alive(p)]
            time.sleep(0.05)
        for pid in epmd_pids:  # still there (e.g. refused -kill): it is ours by its marker
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def destroy(self, timeout: float = 60) -> None:
        """Stop the node and delete its folder (refuses folders holding foreign files)."""
        if not self.base_dir.exists():
            return
        foreign = sorted(
            p.name for p in self.base_dir.iterdir() if p.name not in _OWN_ENTRIES and not p.name.startswith(STATE_FILE)
        )
        if foreign:
            raise BrokerError(
                f"refusing to delete {self.base_dir}: it holds files that are not a node's: {foreign[:5]}"
            )
        with self._locked():
            self._stop_locked(timeout)
            shutil.rmtree(self.base_dir)

    # ------------------------------------------------------------------ watchdog

    def _start_watchdog(self, owner_pid: int) -> None:
        launcher = self._proc.pid if self._proc else self._load_state().get("launcher_pid")
        owner_start = _proc_start_time(owner_pid)
        if owner_start is None or not launcher:
            return
        pkg_root = str(Path(__file__).resolve().parent.parent)
        env = {k: v for k, v in os.environ.items() if k != _MARKER}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [pkg_root, env.get("PYTHONPATH")]))
        with open(self.log_dir / "watchdog.log", "ab") as errors:
            self._watchdog = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "cpp_shared.broker",
                    "_watchdog",
                    "--dir",
                    str(self.base_dir),
                    "--owner",
                    f"{owner_pid}:{owner_start}",
                    "--launcher",
                    f"{launcher}:{_proc_start_time(launcher)}",
                ],
                env=env,
                cwd="/",
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errors,
                start_new_session=True,
                close_fds=True,
            )
        self._save_state(watchdog_pid=self._watchdog.pid, owner_pid=owner_pid)

    def _stop_watchdog(self, pid: int | None) -> None:
        if (
            pid
            and pid != os.getpid()
            and _proc_alive(pid)
            and "_watchdog" in _proc_cmdline(pid)
            and str(self.base_dir) in _proc_cmdline(pid)
        ):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        if self._watchdog is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._watchdog.wait(timeout=5)
            self._watchdog = None

    # ------------------------------------------------------------------ context manager

    def __enter__(self) -> RabbitNode:
        """Start the node, stopped again on exit, and by a watchdog if this process dies.
        A node that was already running (started by someone else) is used and left running."""
        return self.start(owner_pid=os.getpid())

    def __exit__(self, *exc_info) -> None:
        if self.launched:
            self.stop()


def _watchdog(base_dir: str, owner: str, launcher: str) -> int:
    """Stop the node of ``base_dir`` when the owner process is gone; exit when the node is."""

    def parse(spec: str) -> tuple[int, int | None]:
        pid, _, start = spec.partition(":")
        return int(pid), (int(start) if start not in ("", "None") else None)

    owner_pid, owner_start = parse(owner)
    launcher_pid, launcher_start = parse(launcher)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    while True:
        if _proc_start_time(launcher_pid) != launcher_start:
            return 0  # the node we watch has stopped (a later start has its own watchdog)
        if _proc_start_time(owner_pid) != owner_start:
            print(
                f"{time.strftime('%H:%M:%S')} owner {owner_pid} is gone; stopping the node in {base_dir}",
                file=sys.stderr,
                flush=True,
            )
            RabbitNode(base_dir).stop()
            return 0
        time.sleep(0.5)


# --------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m cpp_shared.broker start|stop|destroy|status --dir DIR``.

    ``start`` prints ``export NAME=value`` lines for ``eval``: AMQP_URL, CPP_BROKER_DIR,
    CPP_BROKER_NODE, CPP_BROKER_AMQP_PORT.  ``--dir`` defaults to $CPP_BROKER_DIR.
    """
    parser = argparse.ArgumentParser(prog="python -m cpp_shared.broker", description="Private RabbitMQ node launcher")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, helptext in [
        ("start", "start the node (no-op if running) and print export lines"),
        ("stop", "stop the node; keep its data"),
        ("destroy", "stop the node and delete its folder"),
        ("status", "print running/stopped; exit 0 if running, 3 if not"),
    ]:
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--dir", default=os.environ.get("CPP_BROKER_DIR"), help="node folder (default: $CPP_BROKER_DIR)")
        p.add_argument("--timeout", type=float, default=90 if name == "start" else 60)
        if name == "start":
            p.add_argument("--amqp-port", type=int, default=None)
            p.add_argument("--node-name", default=None)
    w = sub.add_parser("_watchdog")
    w.add_argument("--dir", required=True)
    w.add_argument("--owner", required=True)
    w.add_argument("--launcher", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="broker: %(message)s")

    if args.command == "_watchdog":
        return _watchdog(args.dir, args.owner, args.launcher)
    if not args.dir:
        parser.error("--dir is required (or set CPP_BROKER_DIR)")
    try:
        if args.command == "start":
            node = RabbitNode(args.dir, node_name=args.node_name, amqp_port=args.amqp_port)
            t0 = time.monotonic()
            node.start(timeout=args.timeout)
            print(f"broker: {node.node_name} ready on {node.amqp_url} ({time.monotonic() - t0:.1f}s)", file=sys.stderr)
            exports = {
                "AMQP_URL": node.amqp_url,
                "CPP_BROKER_DIR": str(node.base_dir),
                "CPP_BROKER_NODE": node.node_name,
                "CPP_BROKER_AMQP_PORT": str(node.amqp_port),
            }
            for key, value in exports.items():
                print(f"export {key}={shlex.quote(value)}")
            return 0
        node = RabbitNode(args.dir)
        if args.command == "status":
            running = node.is_running()
            print(
                f"{node.node_name} {'running' if running else 'stopped'}"
                + (f" on {node.amqp_url} (pid {node.pid})" if running else "")
            )
            return 0 if running else 3
        if not (node.base_dir / STATE_FILE).exists():
            print(f"broker: no node in {node.base_dir} (no {STATE_FILE}); nothing to do", file=sys.stderr)
            return 0
        t0 = time.monotonic()
        if args.command == "stop":
            node.stop(timeout=args.timeout)
        else:
            node.destroy(timeout=args.timeout)
        print(f"broker: {args.command} {node.node_name} done ({time.monotonic() - t0:.1f}s)", file=sys.stderr)
        return 0
    except BrokerError as exc:
        print(f"broker: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
