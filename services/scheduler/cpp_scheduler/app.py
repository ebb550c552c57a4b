"""The scheduler service's wiring: its blueprints, handlers and store indexes."""
from __future__ import annotations

from cpp_shared import case_events
from cpp_shared.messaging.consumer import Handlers
from cpp_shared.web import ServiceSpec, create_app as _create_app

handlers = Handlers()
handlers.on("case.*")(case_events.record_case_event)

SERVICE = ServiceSpec(
    name="scheduler",
    title="Scheduler",
    description="Deadlines from statutory and local timescales, on the authority's working days.",
    blueprints=lambda: [case_events.blueprint("scheduler")],
    handlers=handlers,
    setup_store=case_events.setup_store,
    app_module="cpp_scheduler.app",
)


def create_app(settings=None):
    return _create_app(SERVICE, settings)
