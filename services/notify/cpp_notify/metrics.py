"""What notify has sent and failed to send, as Prometheus gauges for the dashboards and the alerting rules
(``NotificationsFailing``), counted in the store at scrape time (indexed by state), so the web process shows
what its worker did: ``cpp_notify_deliveries{service,state}``, partners' webhook deliveries (queued behind an
earlier one of their chain, ready to be tried, delivered, failed: given up), and
``cpp_notify_messages{service,state}``, what people are told by email, inbox or a plugin's channel (ready to
be sent, sent, delivered to an inbox, failed)."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from cpp_shared.web import ServiceContext

from . import store as st

DELIVERY_STATES = ("queued", "ready", "delivered", "failed")
MESSAGE_STATES = ("ready", "sent", "delivered", "failed")


class NotifyCollector(Collector):
    def __init__(self, ctx: ServiceContext):
        self.ctx = ctx

    def collect(self) -> Iterable:
        service = self.ctx.spec.name
        deliveries = GaugeMetricFamily(
            "cpp_notify_deliveries", "Webhook deliveries to partners, by state", labels=["service", "state"]
        )
        messages = GaugeMetricFamily(
            "cpp_notify_messages", "Messages to people (email, inbox, channels), by state", labels=["service", "state"]
        )
        try:
            for state in DELIVERY_STATES:
                deliveries.add_metric(
                    [service, state], self.ctx.store.collection(st.DELIVERIES).count_documents({"state": state})
                )
            for state in MESSAGE_STATES:
                messages.add_metric(
                    [service, state], self.ctx.store.collection(st.MESSAGES).count_documents({"state": state})
                )
        except Exception:  # an unreachable store shows up in /readyz; the scrape still answers
            return
        yield deliveries
        yield messages
