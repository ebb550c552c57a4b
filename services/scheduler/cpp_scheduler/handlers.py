"""The scheduler's event handlers: lifecycle events in, deadlines out.

Every event the scheduler hears is filed under its case (a plan's events
carry their case id; the plans projection answers for any that do not), so
that the deadlines of one case are changed by one event at a time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cpp_shared import audit_checkpoints, case_events, erasure, revocations, staff
from cpp_shared.logs import get_logger
from cpp_shared.messaging.consumer import HandlerContext, Handlers

from . import store as st
from .domain import people
from .domain.adulthood import AGE_RULE
from .domain.deadlines import OPEN, Scope, event_data, on_event
from .domain.rules import HEARD, anchor_date
from .erasure import erase_child
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


handlers.on(staff.EVENT_TYPE)(staff.keep)  # the staff directory, to name people
handlers.on(erasure.EVENT_TYPE)(erase_child)  # the child's retention ended: their records here go too


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _set(uow, collection: str, record: dict[str, Any]) -> None:
    fields = {k: v for k, v in record.items() if k not in ("_id", "version")}
    uow.update(collection, {"_id": record["_id"]}, {"$set": fields}, upsert=True)


def keep_child(ctx: HandlerContext, event: dict[str, Any]) -> tuple[dict[str, Any] | None, bool]:
    """Who the event's child is now, and whether the event changed it."""
    child_id = (event.get("data") or {}).get("child_id")
    if not child_id:
        return None, False
    stored = ctx.store.collection(st.CHILDREN).find_one({"_id": child_id})
    new = people.updated_child(stored, event)
    if new is not None:
        _set(ctx.uow, st.CHILDREN, new)
    return people.child_ref(new or stored), new is not None


def keep_case(ctx: HandlerContext, case_id: str, event: dict[str, Any]) -> dict[str, Any]:
    """The case's people after the event."""
    stored = ctx.store.collection(st.CASE_PEOPLE).find_one({"_id": case_id})
    new = people.updated_case(stored, case_id, event)
    if new is not None:
        _set(ctx.uow, st.CASE_PEOPLE, new)
    return new or stored or people.empty_case(case_id)


def rename_child(ctx: HandlerContext, child_id: str, child: dict[str, Any], now: str) -> None:
    """A child renamed outside any case's events (child.updated.v1): their
    open deadlines, in every case, name them anew."""
    for doc in ctx.store.collection(st.DEADLINES).find({"child_id": child_id, "status": {"$in": list(OPEN)}}):
        if doc.get("child") != child:
            ctx.uow.replace(st.DEADLINES, {**doc, "child": child, "changed_at": now}, expected_version=doc["version"])


def _rhythm(ctx: HandlerContext, event: dict[str, Any], plan_id: str | None) -> dict[str, Any]:
    """The plan's rhythm after the event: the event's own content when it carries the plan, else as the plan's
    last event left it."""
    data = event.get("data") or {}
    if isinstance(data.get("content"), dict):
        return st.plan_rhythm(data)
    plan = ctx.store.collection(st.PLANS).find_one({"_id": plan_id}) if plan_id else None
    return (plan or {}).get("rhythm") or {}


@handlers.on(*HEARD)
def apply_timescales(event: dict[str, Any], ctx: HandlerContext) -> None:
    rt = runtime(ctx.app)
    data = event.get("data") or {}
    now = _now()
    st.update_projections(ctx.store, ctx.uow, event, now)
    child, renamed = keep_child(ctx, event)
    case_id = data.get("case_id")
    plan_id = data.get("plan_id")
    if not case_id and plan_id:
        plan = ctx.store.collection(st.PLANS).find_one({"_id": plan_id})
        case_id = plan and plan["case_id"]
    if not case_id:
        if renamed and child is not None:
            rename_child(ctx, data["child_id"], child, now)
        return
    if not plan_id:
        plan = ctx.store.collection(st.PLANS).find_one({"case_id": case_id})
        plan_id = plan["_id"] if plan else None
    case = keep_case(ctx, case_id, event)
    child_id = data.get("child_id") or case.get("child_id")
    if child is None and child_id:
        child = people.child_ref(ctx.store.collection(st.CHILDREN).find_one({"_id": child_id}))
    live = ctx.store.collection(st.DEADLINES).find({"case_id": case_id, "status": {"$in": [*OPEN, "met"]}})
    scope = Scope(
        authority=event.get("authority") or rt.authority,
        case_id=case_id,
        plan_id=plan_id,
        child_id=data.get("child_id"),
    )
    for rule in rt.rules:
        if rule.triggered_by(event["type"], data) and anchor_date(data, rule.anchor) is None:
            log.warning(
                "trigger without its anchor date: no deadline", rule=rule.id, anchor=rule.anchor, type=event["type"]
            )
    changes = on_event(
        event, scope, [*rt.rules, AGE_RULE], live, rt.calendar, now=now, rhythm=_rhythm(ctx, event, plan_id)
    )
    # Who must act, the team and the child, on every open deadline of the
    # case: new ones, changed ones, and the others when the event moved a
    # role to someone else (an allocation, a new key worker, a chair) or
    # renamed the child.
    for doc in changes.inserts:
        people.assign(doc, rt.rule(doc["rule_id"]), case, child)
    touched = {doc["_id"] for doc, _ in changes.replaces}
    for doc, _ in changes.replaces:
        if doc["status"] in OPEN:
            people.assign(doc, rt.rule(doc["rule_id"]), case, child)
    for doc in live:
        if doc["_id"] not in touched and doc["status"] in OPEN:
            moved = {**doc}
            if people.assign(moved, rt.rule(doc["rule_id"]), case, child):
                changes.replaces.append((moved, doc["version"]))
    for doc in changes.inserts:
        ctx.uow.insert(st.DEADLINES, doc)
    for doc, version in changes.replaces:
        ctx.uow.replace(st.DEADLINES, {**doc, "changed_at": now}, expected_version=version)
    publish = ctx.app.publish
    for etype, doc in changes.events:
        publish(ctx.uow, etype, subject=case_id, data=event_data(doc), correlation_id=event.get("correlationid"))


NOBODY_TOLD = "deadline.nobody_told.v1"


@handlers.on(NOBODY_TOLD)
def record_nobody_told(event: dict[str, Any], ctx: HandlerContext) -> None:
    """A notice of a deadline reached nobody (the notify service says so):
    the deadline records it, with why, for its pages and its API."""
    data = event.get("data") or {}
    doc = ctx.store.collection(st.DEADLINES).find_one({"_id": data.get("deadline_id")})
    if doc is None:
        log.warning("nobody told of a deadline the scheduler does not have", deadline=data.get("deadline_id"))
        return
    told = {
        "notice": data["notice"],
        "reason": data["reason"],
        "explanation": data["explanation"],
        "people": data.get("people") or [],
        "at": event["time"],
        "event_id": event["id"],
    }
    ctx.uow.replace(st.DEADLINES, {**doc, "nobody_told": told, "changed_at": _now()}, expected_version=doc["version"])
