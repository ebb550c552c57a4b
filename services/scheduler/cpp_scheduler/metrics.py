"""The scheduler's deadlines as Prometheus gauges, for the dashboards and the alerting rules
(``DeadlinesOverdueRising``): ``cpp_deadlines{service,status}``, the authority's open deadlines by status
(pending, approaching, overdue), counted in the store at scrape time (indexed by status), so the web process
shows what its worker's tick moved."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from cpp_shared.web import ServiceContext

from . import store as st
from .domain.deadlines import OPEN


class DeadlinesCollector(Collector):
    def __init__(self, ctx: ServiceContext):
        self.ctx = ctx

    def collect(self) -> Iterable:
        family = GaugeMetricFamily("cpp_deadlines", "Open deadlines, by status", labels=["service", "status"])
        try:
            deadlines = self.ctx.store.collection(st.DEADLINES)
            for status in OPEN:
                family.add_metric([self.ctx.spec.name, status], deadlines.count_documents({"status": status}))
        except Exception:  # an unreachable store shows up in /readyz; the scrape still answers
            return
        yield family
