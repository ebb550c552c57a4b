"""Prometheus metrics of a service.

HTTP metrics are per process; under gunicorn with several workers set
PROMETHEUS_MULTIPROC_DIR (the gunicorn config does) and they are summed over
workers. The bus metrics are read from the service's store at scrape time,
so the web process reports what its separate worker process did, and the
figures survive restarts: the outbox backlog and its oldest message's age,
and the messages consumed, retried and parked by handler.
"""
from __future__ import annotations

import os
import time
from typing import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from .store import Store

BUS_STATS = "bus_stats"  # collection: {_id: "<kind>|<handler>", kind, handler, n}


class StoreMetricsCollector(Collector):
    def __init__(self, service: str, store: Store):
        self.service, self.store = service, store

    def collect(self) -> Iterable:
        backlog = GaugeMetricFamily("cpp_outbox_backlog", "Events committed but not yet published", labels=["service"])
        age = GaugeMetricFamily("cpp_outbox_oldest_age_seconds", "Age of the oldest unpublished event", labels=["service"])
        messages = CounterMetricFamily(
            "cpp_messages", "Messages handled by this service's consumers", labels=["service", "handler", "outcome"]
        )
        try:
            stats = self.store.outbox_stats()
            backlog.add_metric([self.service], stats.pending)
            age.add_metric([self.service], max(0.0, time.time() - stats.oldest_created_at) if stats.oldest_created_at else 0.0)
            for row in self.store.collection(BUS_STATS).find({}):
                messages.add_metric([self.service, row["handler"], row["kind"]], row["n"])
        except Exception:  # an unreachable store shows up in /readyz; the scrape still answers
            return
        yield backlog
        yield age
        yield messages


class ServiceMetrics:
    def __init__(self, service: str, store: Store):
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.registry = CollectorRegistry()
        # In multiprocess mode the metric objects write to shared files and the
        # registry reads them back; otherwise they live in this registry.
        target = None if self.multiprocess else self.registry
        if self.multiprocess:
            MultiProcessCollector(self.registry)
        self.requests = Counter("cpp_http_requests", "HTTP requests", ["service", "method", "route", "status"], registry=target)
        self.latency = Histogram("cpp_http_request_duration_seconds", "HTTP request latency", ["service", "method", "route"],
                                 registry=target)
        # Requests refused (429) by a rate limit (cpp_shared.limits), by the limit's name.
        self.limited = Counter("cpp_rate_limited", "Requests refused by a rate limit", ["service", "limit"],
                               registry=target)
        self.registry.register(StoreMetricsCollector(service, store))
        self.service = service

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(self.service, method, route, str(status)).inc()
        self.latency.labels(self.service, method, route).observe(seconds)

    def rate_limited(self, limit: str) -> None:
        self.limited.labels(self.service, limit).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class BusCounters:
    """Counts of a worker's message outcomes, kept in memory and added to the
    store at most about once a second: one small transaction instead of two
    more statements in every message's commit. A crash loses at most the
    last second of counts, never a message or its effect."""

    def __init__(self, store: Store, interval: float = 1.0):
        self.store, self.interval = store, interval
        self._pending: dict[tuple[str, str], int] = {}
        self._flushed_at = time.monotonic()

    def add(self, kind: str, handler: str, n: int = 1) -> None:
        key = (kind, handler)
        self._pending[key] = self._pending.get(key, 0) + n
        self.flush_if_due()

    def flush_if_due(self) -> None:
        if self._pending and time.monotonic() - self._flushed_at >= self.interval:
            self.flush()

    def flush(self) -> None:
        self._flushed_at = time.monotonic()
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        try:
            with self.store.unit_of_work() as uow:
                for (kind, handler), n in pending.items():
                    uow.update(BUS_STATS, {"_id": f"{kind}|{handler}"},
                               {"$inc": {"n": n}, "$setOnInsert": {"kind": kind, "handler": handler}}, upsert=True)
        except Exception:  # keep the counts for the next try rather than lose them
            for key, n in pending.items():
                self._pending[key] = self._pending.get(key, 0) + n
