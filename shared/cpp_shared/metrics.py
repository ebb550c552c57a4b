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
        self.registry.register(StoreMetricsCollector(service, store))
        self.service = service

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(self.service, method, route, str(status)).inc()
        self.latency.labels(self.service, method, route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def count(store: Store, kind: str, handler: str, n: int = 1, uow=None) -> None:
    """Add to a bus counter, inside a unit of work when one is given."""
    key = {"_id": f"{kind}|{handler}"}
    update = {"$inc": {"n": n}, "$setOnInsert": {"kind": kind, "handler": handler}}
    if uow is not None:
        uow.update(BUS_STATS, key, update, upsert=True)
    else:
        store.collection(BUS_STATS).update_one(key, update, upsert=True)
