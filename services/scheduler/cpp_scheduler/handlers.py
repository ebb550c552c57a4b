"""The scheduler's event handlers: lifecycle events in, deadlines out.

Every event the scheduler hears is filed under its case (a plan's events
carry their case id; the plans projection answers for any that do not), so
that the deadlines of one case are changed by one event at a time.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from cpp_shared import audit_checkpoints, case_events, revocations
from cpp_shared.logs import get_logger
from cpp_shared.messaging.consumer import HandlerContext, Handlers

from . import store as st
from .deadlines import OPEN, Scope, event_data, on_event
from .rules import anchor_date
from .runtime import runtime

log = get_logger("cpp.scheduler")


def case_of(event: dict[str, Any]) -> str:
    """The ordering key: the case an event is about (its subject otherwise)."""
    data = event.get("data") or {}
    return data.get("case_id") or event.get("subject") or event["id"]


handlers = Handlers(ordering_key=case_of)
handlers.on("case.*")(case_events.record_case_event)
handlers.on(audit_checkpoints.EVENT_TYPE)(audit_checkpoints.keep_checkpoint)
handlers.on(revocations.EVENT_TYPE)(revocations.keep_revocation)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


@handlers.on("*")
def apply_timescales(event: dict[str, Any], ctx: HandlerContext) -> None:
    rt = runtime(ctx.app)
    data = event.get("data") or {}
    st.update_projections(ctx.uow, event)
    case_id = data.get("case_id")
    plan_id = data.get("plan_id")
    if not case_id and plan_id:
        plan = ctx.store.collection(st.PLANS).find_one({"_id": plan_id})
        case_id = plan and plan["case_id"]
    if not case_id:
        return
    if not plan_id:
        plan = ctx.store.collection(st.PLANS).find_one({"case_id": case_id})
        plan_id = plan["_id"] if plan else None
    live = ctx.store.collection(st.DEADLINES).find({"case_id": case_id, "status": {"$in": [*OPEN, "met"]}})
    scope = Scope(authority=event.get("authority") or rt.authority, case_id=case_id, plan_id=plan_id,
                  child_id=data.get("child_id"))
    for rule in rt.rules:
        if rule.triggered_by(event["type"], data) and anchor_date(data, rule.anchor) is None:
            log.warning("trigger without its anchor date: no deadline", rule=rule.id, anchor=rule.anchor,
                        type=event["type"])
    changes = on_event(event, scope, list(rt.rules), live, rt.calendar, now=_now())
    for doc in changes.inserts:
        ctx.uow.insert(st.DEADLINES, doc)
    for doc, version in changes.replaces:
        ctx.uow.replace(st.DEADLINES, doc, expected_version=version)
    publish = ctx.app.publish
    for etype, doc in changes.events:
        publish(ctx.uow, etype, subject=case_id, data=event_data(doc), correlation_id=event.get("correlationid"))
