"""The plans service's wiring: its blueprints, handlers and store indexes."""
from __future__ import annotations

from cpp_shared import audit_checkpoints
from cpp_shared import staff as staff_directory
from cpp_shared.messaging.consumer import Handlers
from cpp_shared.web import ServiceSpec, create_app as _create_app

from . import access
from .api import audit, cases, children, chronology, conferences, lookup, plans, reports, restrictions, revocations, staff
from .api import etag_answers
from .api.common import install_error_handlers

handlers = Handlers()  # deadline.* handlers arrive with the scheduler's events
handlers.on(audit_checkpoints.EVENT_TYPE)(audit_checkpoints.keep_checkpoint)


def setup_store(store) -> None:
    children.setup_store(store)
    lookup.setup_store(store)
    for field in ("child_id", "social_worker.user", "team_manager.user", "team", "status"):
        store.collection("cases").create_index(field)
    store.collection("conferences").create_index("case_id")
    for field in ("child_id", "status", "key_worker", "key_worker_user"):
        store.collection("plans").create_index(field)
    store.collection("plan_versions").create_index("plan_id")
    for field in ("conference_id", "status"):
        store.collection("reports").create_index(field)
    store.collection("report_versions").create_index("report_id")
    for field in ("plan_id", "status"):
        store.collection("resource_panel_requests").create_index(field)
    store.collection("child_in_need_plans").create_index("case_id")
    access.setup_store(store)
    staff_directory.setup_store(store)


def setup_app(app) -> None:
    install_error_handlers(app)
    ctx = app.extensions["cpp"]
    # A break-glass grant's length, checked at start-up (a wrong value stops the service, naming the setting).
    ctx.extensions[access.MINUTES_SETTING] = access.break_glass_minutes(ctx.settings)
    children.install_identifier_schemes(app)
    lookup.check_authority(ctx.authority)  # the lookup's settings from the authority plugin, checked at start-up
    etag_answers.install(app)  # every create's ETag; a 428 showing the record's own
    app.after_request(staff.remember_caller)  # a caller whose request succeeded, in the staff directory


SERVICE = ServiceSpec(
    name="plans",
    port=5001,
    title="Child protection plans",
    description="The system of record: children, cases, conferences, plans and their versions.",
    blueprints=lambda: [children.blp, chronology.blp, restrictions.blp, cases.blp, conferences.blp, plans.blp, reports.blp, lookup.blp,
                        audit.blp, revocations.blp, staff.blp],
    handlers=handlers,
    setup_store=setup_store,
    setup_app=setup_app,
    app_module="cpp_plans.app",
)


def create_app(settings=None):
    return _create_app(SERVICE, settings)
