"""The plans service's wiring: its blueprints, handlers and store indexes."""

from __future__ import annotations

from cpp_shared.web import ServiceSpec
from cpp_shared.web import create_app as _create_app

from . import access
from .api import (
    audit,
    cases,
    categories,
    children,
    chronology,
    conferences,
    etag_answers,
    families,
    lookup,
    plans,
    reports,
    restrictions,
    retention,
    revocations,
    staff,
    transfers,
)
from .api.common import install_error_handlers
from .handlers import handlers
from .service_layer import plans as plan_steps
from .store import setup_store


def setup_app(app) -> None:
    install_error_handlers(app)
    ctx = app.extensions["cpp"]
    # A break-glass grant's length, checked at start-up (a wrong value stops the service, naming the setting).
    ctx.extensions[access.MINUTES_SETTING] = access.break_glass_minutes(ctx.settings)
    children.install_identifier_schemes(app)
    categories.install(app)  # the deployment's categories of harm (none stops the start)
    lookup.check_authority(ctx.authority)  # the lookup's settings from the authority plugin, checked at start-up
    plan_steps.check_authority(ctx.authority)  # looked_after_ends_plan: true or false, checked at start-up
    etag_answers.install(app)  # every create's ETag; a 428 showing the record's own
    app.after_request(staff.remember_caller)  # a caller whose request succeeded, in the staff directory


SERVICE = ServiceSpec(
    name="plans",
    port=5001,
    title="Child protection plans",
    description="The system of record: children, cases, conferences, plans and their versions.",
    blueprints=lambda: [
        children.blp,
        chronology.blp,
        restrictions.blp,
        cases.blp,
        conferences.blp,
        families.blp,
        plans.blp,
        categories.blp,
        reports.blp,
        lookup.blp,
        audit.blp,
        revocations.blp,
        staff.blp,
        transfers.blp,
        retention.blp,
    ],
    handlers=handlers,
    setup_store=setup_store,
    setup_app=setup_app,
    app_module="cpp_plans.app",
    before_up=("migrate",),  # records made by earlier code carried over before anything reads them
)


def create_app(settings=None):
    return _create_app(SERVICE, settings)
