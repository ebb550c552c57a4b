"""The docs service's wiring: its blueprints, handlers and store indexes."""
from __future__ import annotations

from cpp_shared import case_events
from cpp_shared.messaging.consumer import Handlers
from cpp_shared.web import ServiceSpec, create_app as _create_app

handlers = Handlers()
handlers.on("case.*")(case_events.record_case_event)

SERVICE = ServiceSpec(
    name="docs",
    title="Documents",
    description="The plan as documents people can read: professional and family versions, HTML and PDF.",
    blueprints=lambda: [case_events.blueprint("docs")],
    handlers=handlers,
    setup_store=case_events.setup_store,
    app_module="cpp_docs.app",
)


def create_app(settings=None):
    return _create_app(SERVICE, settings)
