"""A worker's sign of life, for a container's healthcheck.

A service's worker (``cpp worker SERVICE``) writes a small JSON file every
few seconds while each of its threads runs (the outbox relay and the
background loops: audit checkpoints, idempotency sweeps, the service's own;
the event consumer runs in the main thread, whose end ends the process):
``CPP_WORKER_HEARTBEAT_FILE`` (``CPP_<SERVICE>_WORKER_HEARTBEAT_FILE``), by
default ``CPP_DATA_DIR/run/<service>-worker.heartbeat``. It is removed when
the worker stops. ``cpp worker-health SERVICE`` exits 0 while the file is
fresh and 1, saying why, when it is missing, older than ``STALE_AFTER``
seconds or names a thread that stopped: a hung process, a dead loop and a
worker that never started all show as unhealthy.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .config import Settings

INTERVAL = 5.0  # seconds between two beats
STALE_AFTER = 30.0  # a beat older than this is a worker that stopped beating


def heartbeat_path(settings: Settings) -> Path:
    given = settings.setting("WORKER_HEARTBEAT_FILE")
    return Path(given) if given else settings.data_dir / "run" / f"{settings.service}-worker.heartbeat"


def beat(path: Path, stopped: list[str], now: float | None = None) -> None:
    """Write the beat whole (a temporary file renamed over the last one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "at": time.time() if now is None else now, "stopped": stopped}))
    os.replace(tmp, path)


def problem(path: Path, now: float | None = None, stale_after: float = STALE_AFTER) -> str | None:
    """Why the worker writing ``path`` is not healthy, in a sentence (None when it is)."""
    try:
        status = json.loads(path.read_text())
        at = float(status["at"])
    except FileNotFoundError:
        return f"no heartbeat at {path}: the worker is not running, or has not started yet"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"the heartbeat at {path} cannot be read: {exc}"
    age = (time.time() if now is None else now) - at
    if status.get("stopped"):
        return f"the worker (pid {status.get('pid')}) has stopped threads: {', '.join(status['stopped'])}"
    if age > stale_after:
        return f"the worker's last heartbeat (pid {status.get('pid')}) is {age:.0f}s old (more than {stale_after:g}s)"
    return None


def run(
    path: Path, threads: Callable[[], list[threading.Thread]], stop: threading.Event, interval: float = INTERVAL
) -> None:
    """Beat every ``interval`` seconds until ``stop``, naming any of ``threads`` no longer alive; remove the file
    at the end."""
    try:
        while True:
            beat(path, [t.name for t in threads() if not t.is_alive()])
            if stop.wait(interval):
                break
    finally:
        path.unlink(missing_ok=True)
