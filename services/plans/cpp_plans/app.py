"""The plans service's wiring: its blueprints, handlers and store indexes."""
from __future__ import annotations

from cpp_shared.messaging.consumer import Handlers
from cpp_shared.web import ServiceSpec, create_app as _create_app

from .api import audit, cases

handlers = Handlers()  # deadline.* handlers arrive with the scheduler's events


def setup_store(store) -> None:
    store.collection("cases").create_index("child_id")


SERVICE = ServiceSpec(
    name="plans",
    title="Child protection plans",
    description="The system of record: children, cases, conferences, plans and their versions.",
    blueprints=lambda: [cases.blp, audit.blp],
    handlers=handlers,
    setup_store=setup_store,
    app_module="cpp_plans.app",
)


def create_app(settings=None):
    return _create_app(SERVICE, settings)
