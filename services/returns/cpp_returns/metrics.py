"""The performance figures as Prometheus gauges, for dashboards: the current collection year to date, by
team, worked out from the store at scrape time (so the web process shows what its worker folded) and kept
for a minute, as the figures move no faster than the events behind them."""

from __future__ import annotations

import threading
import time

from cpp_shared.web import ServiceContext

from .domain.census import Year
from .domain.performance import FIGURES, Period, figures
from .projection import histories
from .runtime import today

CACHE_SECONDS = 60.0


class PerformanceCollector:
    """``cpp_performance_count{figure,team}``, ``cpp_performance_met{...}`` and ``cpp_performance_ratio{...}``
    (met of count, 0-1; absent when nothing was counted)."""

    def __init__(self, ctx: ServiceContext):
        self.ctx, self._lock, self._kept = ctx, threading.Lock(), (0.0, None)

    def _figures(self):
        with self._lock:
            at, kept = self._kept
            if kept is not None and time.monotonic() - at < CACHE_SECONDS:
                return kept
            now = today(self.ctx)
            children, _ = histories(self.ctx.store, self.ctx.authority["code"])
            kept = figures(children, Period(Year.containing(now).start, now), today=now)
            self._kept = (time.monotonic(), kept)
            return kept

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        labels = ["service", "figure", "team"]
        count = GaugeMetricFamily(
            "cpp_performance_count", "Items counted in a figure, this collection year", labels=labels
        )
        met = GaugeMetricFamily("cpp_performance_met", "Items on time, this collection year", labels=labels)
        ratio = GaugeMetricFamily("cpp_performance_ratio", "Items on time of those counted (0-1)", labels=labels)
        try:
            found = self._figures()
        except Exception:  # an unreachable store shows up in /readyz; the scrape still answers
            return
        rows = [("", found["figures"])] + [(g["team"] or "none", g["figures"]) for g in found["by_team"]]
        for team, figs in rows:
            for key in FIGURES:
                figure = figs.get(key)
                if not figure:
                    continue
                name = [self.ctx.spec.name, key, team or "all"]
                count.add_metric(name, figure["count"])
                if figure["met"] is not None:
                    met.add_metric(name, figure["met"])
                if figure["percent"] is not None:
                    ratio.add_metric(name, figure["met"] / figure["count"])
        yield count
        yield met
        yield ratio
