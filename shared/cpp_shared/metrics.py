"""Prometheus metrics of a service.

HTTP metrics are per process; under gunicorn with several workers set
PROMETHEUS_MULTIPROC_DIR (the gunicorn config does) and they are summed over
workers. The bus metrics are read from the service's store at scrape time,
so the web process reports what its separate worker process did, and the
figures survive restarts and crashes: the outbox backlog and its oldest
message's age, and the messages consumed, retried and parked by handler,
counted in the same commits as the consumer's work (``BusCounters``).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from .store import DuplicateKey, Store, StoreError, UnitOfWork

BUS_STATS = "bus_stats"  # collection: {_id: "[<authority>|]<kind>|<handler>|<slot>", kind, handler, n}
BUS_OUTCOMES = "bus_outcomes"  # collection: {_id: a counted outcome's key} (see BusCounters.commit)
SLOTS = 8


class StoreMetricsCollector(Collector):
    def __init__(self, service: str, store: Store | None):
        self.service, self.store = service, store

    def collect(self) -> Iterable:
        backlog = GaugeMetricFamily("cpp_outbox_backlog", "Events committed but not yet published", labels=["service"])
        age = GaugeMetricFamily(
            "cpp_outbox_oldest_age_seconds", "Age of the oldest unpublished event", labels=["service"]
        )
        messages = CounterMetricFamily(
            "cpp_messages", "Messages handled by this service's consumers", labels=["service", "handler", "outcome"]
        )
        if self.store is None:  # a service without a store (the web application): nothing to show
            return
        try:
            stats = self.store.outbox_stats()
            backlog.add_metric([self.service], stats.pending)
            age.add_metric(
                [self.service], max(0.0, time.time() - stats.oldest_created_at) if stats.oldest_created_at else 0.0
            )
            for (kind, handler), n in sorted(bus_counts(self.store).items()):
                messages.add_metric([self.service, handler, kind], n)
        except Exception:  # an unreachable store shows up in /readyz; the scrape still answers
            return
        yield backlog
        yield age
        yield messages


class ServiceMetrics:
    def __init__(self, service: str, store: Store | None):
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.registry = CollectorRegistry()
        # In multiprocess mode the metric objects write to shared files and the
        # registry reads them back; otherwise they live in this registry.
        target = None if self.multiprocess else self.registry
        if self.multiprocess:
            MultiProcessCollector(self.registry)
        self.requests = Counter(
            "cpp_http_requests", "HTTP requests", ["service", "method", "route", "status"], registry=target
        )
        self.latency = Histogram(
            "cpp_http_request_duration_seconds", "HTTP request latency", ["service", "method", "route"], registry=target
        )
        # Requests refused (429) by a rate limit (cpp_shared.limits), by the limit's name.
        self.limited = Counter(
            "cpp_rate_limited", "Requests refused by a rate limit", ["service", "limit"], registry=target
        )
        if store is not None:  # a service without a store (the web application) has no bus metrics
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
    """Durable counts of a consumer's message outcomes, in ``bus_stats``.

    A message whose handling commits (``consumed``, ``ignored``) is counted
    in its own unit of work, beside its processed mark (``add``): both commit
    or neither does, so after any crash ``consumed + ignored`` equals the
    consumer's processed marks. An outcome that commits nothing else
    (``duplicate``, ``retried``, ``parked``) is counted in a small unit of
    its own before the message is acked (``commit``).

    Each process increments rows of one slot of ``SLOTS``, picked at random
    when it starts, so that replicas of a worker rarely write the same row
    (on MongoDB, transactions that write one document conflict and are
    retried); the metric is the rows' sum (``bus_counts``). Rows carry the
    authority in their ``_id`` when the store is an authority's view, so
    deployments sharing a database never collide."""

    def __init__(self, store: Store, *, slot: int | None = None):
        self.store = store
        self.slot = random.randrange(SLOTS) if slot is None else slot
        authority = getattr(store, "authority", None)
        self._prefix = f"{authority}|" if authority else ""
        self._stored: set[str] = set()  # rows seen in the store (rows are never removed)

    def add(self, uow: UnitOfWork, kind: str, handler: str, n: int = 1) -> None:
        """Count ``n`` outcomes in ``uow``: they count if, and only if, it commits."""
        row_id = f"{self._prefix}{kind}|{handler}|{self.slot}"
        update: dict = {"$inc": {"n": n}}
        if row_id not in self._stored:
            # Until its row is seen stored, a count may be the one that
            # creates it; after that, a bare $inc, which costs less to apply.
            if self.store.collection(BUS_STATS).find_one({"_id": row_id}) is not None:
                self._stored.add(row_id)
            else:
                update["$setOnInsert"] = {"kind": kind, "handler": handler}
        uow.update(BUS_STATS, {"_id": row_id}, update, upsert=True)

    def commit(self, kind: str, handler: str, *, once: str | None = None) -> None:
        """Count one outcome now, in a unit of work of its own. With ``once``
        (a key naming the outcome, such as the event id, the outcome and the
        attempt), a repeat of an outcome already counted (a crash between
        this commit and the ack, then the redelivery) is not counted again.
        Raises ``StoreError`` when the count cannot be committed."""
        outcome: StoreError | None = None
        for _ in range(3):
            uow = self.store.begin()
            if once is not None:
                uow.insert(BUS_OUTCOMES, {"_id": once})
            self.add(uow, kind, handler)
            [outcome] = self.store.commit_all([uow])
            if outcome is None:
                return
            if not isinstance(outcome, DuplicateKey):
                raise outcome
            if once is not None and self.store.collection(BUS_OUTCOMES).find_one({"_id": once}) is not None:
                return  # counted before
            # Otherwise two processes of one slot created the same row at once: again.
        assert outcome is not None  # the third DuplicateKey
        raise outcome


def bus_counts(store: Store) -> dict[tuple[str, str], int]:
    """The outcomes counted in ``store``, by (kind, handler): the sum of the
    rows of every slot (and of rows from before slots, ``_id`` "kind|handler")."""
    counts: dict[tuple[str, str], int] = {}
    for row in store.collection(BUS_STATS).find({}):
        key = (row["kind"], row["handler"])
        counts[key] = counts.get(key, 0) + row["n"]
    return counts
