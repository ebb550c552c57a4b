"""Figures for the alerting rules (``deploy/prometheus/alerts.yml``) that no
other metric gives, each read at scrape time so that the web process shows
what it and its worker see:

* ``cpp_ready{service}`` (1 ready, 0 not) and ``cpp_readiness_check{service,
  check}`` (1 ok or degraded, 0 not): ``/readyz`` as gauges, so that a
  service that stays unready can be alerted on and its failing check named.
* ``cpp_audit_checkpoint_age_seconds{service}``: seconds since the last
  checkpoint in the service's checkpoint file (``audit_checkpoints``);
  absent until the first one. ``cpp_audit_unchecked_age_seconds{service}``:
  how long the oldest audit entry that no checkpoint covers has waited (0
  when every entry is covered). A checkpoint is only taken when the log
  moved, so an old checkpoint alone is no fault; an entry waiting long
  past the checkpoint interval is.
* ``cpp_worker_heartbeat_age_seconds{service}`` and
  ``cpp_worker_stopped_threads{service}``: the worker's heartbeat file
  (``heartbeat``), where the web process can read it (the same data folder:
  ``cpp up``, or a shared volume); absent otherwise, or while no worker runs.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from . import audit_checkpoints, heartbeat
from .config import Settings
from .store import Store
from .store.scoped import unscoped


class ReadinessCollector(Collector):
    """``cpp_ready`` and ``cpp_readiness_check`` from a readiness function
    (the service's ``/readyz`` checks, cached as ``/readyz`` caches them)."""

    def __init__(self, service: str, readiness: Callable[[], tuple[bool, dict[str, str]]]):
        self.service, self.readiness = service, readiness

    def collect(self) -> Iterable:
        ready, checks = self.readiness()
        family = GaugeMetricFamily("cpp_ready", "1 while /readyz answers ready, else 0", labels=["service"])
        family.add_metric([self.service], 1 if ready else 0)
        each = GaugeMetricFamily(
            "cpp_readiness_check", "1 while the /readyz check is ok (or degraded), else 0", labels=["service", "check"]
        )
        for name, value in sorted(checks.items()):
            each.add_metric([self.service, name], 1 if value == "ok" or value.startswith("degraded") else 0)
        yield family
        yield each


def last_checkpoint(path: Path) -> dict | None:
    """The file's last checkpoint, read from its end (None without a file, or
    when its last line is not one: the worker refuses and logs that)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        line = audit_checkpoints._last_line(fd)
    finally:
        os.close(fd)
    try:
        last = json.loads(line) if line is not None else None
    except ValueError:
        return None
    return last if isinstance(last, dict) and isinstance(last.get("seq"), int) else None


class AuditCheckpointCollector(Collector):
    """``cpp_audit_checkpoint_age_seconds`` and ``cpp_audit_unchecked_age_seconds``."""

    def __init__(self, service: str, store: Store, settings: Settings):
        self.service, self.store, self.settings = service, store, settings

    def collect(self) -> Iterable:
        try:
            last = last_checkpoint(audit_checkpoints.config(self.settings).file)
            at = datetime.fromisoformat(last["at"]).timestamp() if last is not None else None
            # The chain is the database's, whichever authorities' entries it holds (as the checkpointer reads it).
            first = unscoped(self.store).read_log(audit_checkpoints.LOG, after_seq=last["seq"] if last else 0, limit=1)
        except Exception:  # an unreachable store or folder shows up in /readyz; the scrape still answers
            return
        now = time.time()
        if at is not None:
            age = GaugeMetricFamily(
                "cpp_audit_checkpoint_age_seconds", "Seconds since the last audit checkpoint", labels=["service"]
            )
            age.add_metric([self.service], max(0.0, now - at))
            yield age
        unchecked = GaugeMetricFamily(
            "cpp_audit_unchecked_age_seconds",
            "Seconds the oldest audit entry no checkpoint covers has waited (0: none waits)",
            labels=["service"],
        )
        unchecked.add_metric([self.service], max(0.0, now - first[0].committed_at) if first else 0.0)
        yield unchecked


class HeartbeatCollector(Collector):
    """``cpp_worker_heartbeat_age_seconds`` and ``cpp_worker_stopped_threads``, where the file can be read."""

    def __init__(self, service: str, settings: Settings):
        self.service, self.settings = service, settings

    def collect(self) -> Iterable:
        try:
            status = json.loads(heartbeat.heartbeat_path(self.settings).read_text())
            at = float(status["at"])
            stopped = len(status.get("stopped") or [])
        except (OSError, ValueError, KeyError, TypeError):
            return  # no worker here (or none running): `cpp_process_up` and the worker's healthcheck say more
        age = GaugeMetricFamily(
            "cpp_worker_heartbeat_age_seconds", "Seconds since the worker's last heartbeat", labels=["service"]
        )
        age.add_metric([self.service], max(0.0, time.time() - at))
        threads = GaugeMetricFamily(
            "cpp_worker_stopped_threads", "The worker's threads that stopped, by its last heartbeat", labels=["service"]
        )
        threads.add_metric([self.service], stopped)
        yield age
        yield threads
