"""The notify service's wiring: its blueprints, handlers and store indexes."""
from __future__ import annotations

from cpp_shared import case_events
from cpp_shared.messaging.consumer import Handlers
from cpp_shared.web import ServiceSpec, create_app as _create_app

handlers = Handlers()
handlers.on("case.*")(case_events.record_case_event)

SERVICE = ServiceSpec(
    name="notify",
    title="Notifications",
    description="Partner subscriptions, webhook and email deliveries, and user inboxes.",
    blueprints=lambda: [case_events.blueprint("notify")],
    handlers=handlers,
    setup_store=case_events.setup_store,
    app_module="cpp_notify.app",
)


def create_app(settings=None):
    return _create_app(SERVICE, settings)
