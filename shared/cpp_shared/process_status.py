"""What `cpp up` knows of each process it supervises, for the services to show.

The supervisor writes one small JSON file per process under
``CPP_DATA_DIR/run/`` (``docs-worker.json``): whether it is running or
waiting to be started again, how often it was restarted, how it last ended
and when the next start is due. A service's web process cannot see its
worker; it reads its own service's files instead, so that ``/readyz`` names
a process of the service that keeps failing and ``/metrics`` counts its
restarts (``cpp_process_restarts_total``, ``cpp_process_up``).

Files are written whole (a temporary file renamed over the old one) and
removed when `cpp up` stops. A file left by a supervisor that is no longer
running (killed) is ignored, so a service started some other way (gunicorn
alone, docker compose) shows nothing of it.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

RUNNING = "running"
WAITING = "waiting"  # exited; started again at next_start_at


def run_dir(data_dir: Path | str) -> Path:
    return Path(data_dir) / "run"


def status_path(data_dir: Path | str, process: str) -> Path:
    return run_dir(data_dir) / f"{process}.json"


def write(path: Path, status: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(status, sort_keys=True))
    os.replace(tmp, path)


def _start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (None when it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes().decode("ascii", "replace")
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def supervisor_mark() -> dict[str, Any]:
    """What identifies the running supervisor: its pid and start time (a
    reused pid is not taken for it)."""
    return {"supervisor_pid": os.getpid(), "supervisor_started": _start_time(os.getpid())}


def _supervisor_alive(status: dict[str, Any]) -> bool:
    pid = status.get("supervisor_pid")
    if not isinstance(pid, int):
        return False
    started = _start_time(pid)
    return started is not None and status.get("supervisor_started") in (None, started)


def read(data_dir: Path | str, service: str) -> list[dict[str, Any]]:
    """The statuses of ``service``'s processes written by a running `cpp up`
    (none when it runs some other way)."""
    out = []
    for path in sorted(run_dir(data_dir).glob(f"{service}-*.json")):
        try:
            status = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # being replaced, or not ours
        if isinstance(status, dict) and status.get("service") == service and _supervisor_alive(status):
            out.append(status)
    return out


def describe_exit(code: int | None) -> str:
    if code is None:
        return "no exit code (it could not be started)"
    if code < 0:
        try:
            return f"code {code} ({signal.Signals(-code).name})"
        except ValueError:
            return f"code {code}"
    return f"code {code}"


def failing(status: dict[str, Any]) -> str | None:
    """Why the process is not running now, in a sentence (None when it is)."""
    if status.get("state") == RUNNING:
        return None
    last = status.get("last_exit") or {}
    return (
        f"{status.get('process')} is not running: it exited with {describe_exit(last.get('code'))} "
        f"{status.get('failures_in_a_row', 0)} time(s) in a row ({status.get('restarts', 0)} restarts in "
        f"all); next start at {status.get('next_start_at')}"
    )


def readiness(data_dir: Path | str, service: str) -> str | None:
    """``/readyz``'s ``processes`` check: None when `cpp up` does not run the
    service, "ok" when each of its processes is running, else which is not."""
    statuses = read(data_dir, service)
    if not statuses:
        return None
    problems = [p for p in map(failing, statuses) if p]
    return "; ".join(problems) if problems else "ok"


class ProcessStatusCollector(Collector):
    """``cpp_process_restarts_total`` and ``cpp_process_up`` of the service's
    processes, read from the supervisor's files at scrape time."""

    def __init__(self, service: str, data_dir: Path | str):
        self.service, self.data_dir = service, data_dir

    def collect(self) -> Iterable:
        statuses = read(self.data_dir, self.service)
        if not statuses:
            return
        restarts = CounterMetricFamily(
            "cpp_process_restarts", "Restarts of a process by `cpp up` since it started", labels=["service", "process"]
        )
        up = GaugeMetricFamily(
            "cpp_process_up",
            "1 while the process runs, 0 while it waits to be started again",
            labels=["service", "process"],
        )
        for status in statuses:
            labels = [self.service, str(status.get("process"))]
            restarts.add_metric(labels, int(status.get("restarts") or 0))
            up.add_metric(labels, 1 if status.get("state") == RUNNING else 0)
        yield restarts
        yield up
