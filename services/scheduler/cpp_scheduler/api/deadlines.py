"""The deadlines: listed and read with the explanation of their dates, and
a manager's date for a deadline whose source sets none."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from cpp_shared import audit, staff
from cpp_shared.auth import current_principal, requires_role
from cpp_shared.paging import LongPaging, Page

from .. import store as st
from ..domain import words
from ..domain.deadlines import OPEN, STATUSES, event_data, set_due_date
from . import common
from .common import MANAGERS, READERS, ctx, named, rt
from .rules import RuleSchema

blp = Blueprint(
    "deadlines",
    __name__,
    url_prefix="/v1/deadlines",
    description="Deadlines from the timescale rules, per case and plan",
)


def _load(deadline_id: str) -> dict[str, Any]:
    """The caller's authority's deadline, or a 404."""
    doc = ctx().store.collection(st.DEADLINES).find_one({"_id": deadline_id})
    if doc is None or doc.get("authority") != current_principal().authority:
        abort(404, message=f"no deadline {deadline_id}")
    return doc


class MetSchema(Schema):
    on = fields.String()
    late = fields.Boolean()
    working_days_late = fields.Integer()
    event_id = fields.String()
    type = fields.String()


class StaffRefSchema(Schema):
    user = fields.String()
    name = fields.String(metadata={"description": "their name as the staff directory holds it now"})


class ChildSchema(Schema):
    name = fields.String(metadata={"description": "the child's name as the record holds it now"})
    date_of_birth = fields.String(allow_none=True)
    nhs_number = fields.String(allow_none=True)


class NobodyToldSchema(Schema):
    notice = fields.String(metadata={"description": "the notice nobody received (deadline.overdue.v1...)"})
    reason = fields.String(metadata={"description": "nobody_to_tell or no_address"})
    explanation = fields.String(metadata={"description": "why, in words: 'Nobody could be told: ...'"})
    people = fields.List(fields.String(), metadata={"description": "who could not be told, by name"})
    at = fields.String(metadata={"description": "when the notify service found it"})


class EscalationSchema(Schema):
    level = fields.String(metadata={"description": "team_manager, then service_manager"})
    to = fields.Nested(StaffRefSchema, allow_none=True, metadata={"description": "the person; null when nobody"})
    on = fields.String(metadata={"description": "the day it was escalated"})
    grace_working_days = fields.Integer(metadata={"description": "the working days of grace before it"})


class DeadlineSchema(Schema):
    id = fields.String(attribute="_id")
    case_id = fields.String()
    plan_id = fields.String(allow_none=True)
    child_id = fields.String(allow_none=True)
    rule_id = fields.String()
    kind = fields.String()
    name = fields.String()
    owner = fields.String(metadata={"description": "the role that must act"})
    assignee = fields.Nested(
        StaffRefSchema,
        allow_none=True,
        metadata={
            "description": "the person who must act: the case's holder of the owner's role (the key worker, else the "
            "social worker; the team manager; the conference's chair); null when nobody holds it yet"
        },
    )
    team = fields.String(allow_none=True, metadata={"description": "the team that holds the case"})
    child = fields.Nested(
        ChildSchema,
        allow_none=True,
        metadata={"description": "who the child is; null when the scheduler has not heard"},
    )
    source = fields.String()
    status = fields.String(metadata={"description": ", ".join(STATUSES)})
    needs_date = fields.Boolean(metadata={"description": "the source sets no timescale: a manager gives a date"})
    due_on = fields.String(allow_none=True)
    latest_on = fields.String(
        allow_none=True, metadata={"description": "overdue after this day (a range rule's latest)"}
    )
    remind_on = fields.String(allow_none=True)
    overdue_on = fields.String(allow_none=True)
    anchor = fields.Dict()
    occurrence = fields.Integer()
    met = fields.Nested(MetSchema, allow_none=True)
    cancelled = fields.Dict(allow_none=True)
    superseded_by = fields.String(allow_none=True)
    superseded = fields.Dict(allow_none=True, metadata={"description": "when, and the event that superseded it"})
    supersedes = fields.String(allow_none=True)
    due_date_set = fields.Dict(allow_none=True)
    escalations = fields.List(
        fields.Nested(EscalationSchema),
        metadata={"description": "an overdue step's escalations, oldest first; absent before it is overdue"},
    )
    escalate_on = fields.String(
        allow_none=True, metadata={"description": "the day an overdue step next escalates; null after the last"}
    )
    nobody_told = fields.Nested(
        NobodyToldSchema,
        allow_none=True,
        metadata={"description": "the latest notice of it that reached nobody, and why; absent when none has"},
    )
    created_at = fields.String()
    version = fields.Integer()


class DeadlinePageSchema(Page):
    items = fields.List(fields.Nested(DeadlineSchema))


class ExplanationSchema(Schema):
    rule = fields.Nested(RuleSchema, allow_none=True)
    timescale = fields.String()
    anchor = fields.Dict()
    computations = fields.List(
        fields.Dict(),
        metadata={
            "description": "each count: the anchor, the days counted, the due date, and every day skipped by name"
        },
    )
    summary = fields.String()


class DeadlineDetailSchema(DeadlineSchema):
    explanation = fields.Nested(ExplanationSchema)


class DeadlineQuerySchema(LongPaging):
    plan_id = fields.String(validate=validate.Length(min=1, max=100))
    case_id = fields.String(validate=validate.Length(min=1, max=100))
    status = fields.String(validate=validate.OneOf(STATUSES + ("open",)))
    owner = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "the role that must act"})
    assignee = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "the person who must act: a user id, or me for the caller"},
    )
    team = fields.String(validate=validate.Length(min=1, max=200), metadata={"description": "the case's team"})
    child_id = fields.String(validate=validate.Length(min=1, max=100))
    due_before = fields.Date(metadata={"description": "due on or before this day"})


@blp.route("")
class Deadlines(MethodView):
    @blp.arguments(DeadlineQuerySchema, location="query")
    @blp.response(200, DeadlinePageSchema)
    @requires_role(*READERS)
    def get(self, args):
        """Deadlines, earliest due first; ``status=open`` for pending, approaching and overdue;
        ``assignee=me`` for the caller's own. Each names the child and the person who must act."""
        principal = current_principal()
        query: dict[str, Any] = {"authority": principal.authority}
        for name in ("plan_id", "case_id", "child_id", "owner", "team"):
            if name in args:
                query[name] = args[name]
        if "assignee" in args:
            query["assignee.user"] = principal.user if args["assignee"] == "me" else args["assignee"]
        if "status" in args:
            query["status"] = {"$in": list(OPEN)} if args["status"] == "open" else args["status"]
        if "due_before" in args:
            query["due_on"] = {"$lte": args["due_before"].isoformat()}
        coll = ctx().store.collection(st.DEADLINES)
        size = args["page_size"]
        items = coll.find(query, sort=[("due_on", 1)], skip=(args["page"] - 1) * size, limit=size)
        total = coll.count_documents(query)
        items = named(items)
        children = sorted({d["child_id"] for d in items if d.get("child_id")})
        audit.record_read(
            ctx().store,
            "deadlines",
            args.get("plan_id") or args.get("case_id") or "query",
            action="list",
            child_id=children[0] if len(children) == 1 else None,
            detail={"query": {k: str(v) for k, v in args.items()}, "count": len(items), "children": children},
        )
        return {"items": items, "page": args["page"], "page_size": size, "total": total}


def explanation(doc: dict[str, Any]) -> dict[str, Any]:
    rule = rt().rule(doc["rule_id"])
    stored = doc.get("explanation") or {}
    computations = stored.get("computations") or []
    if doc.get("due_date_set"):
        set_ = doc["due_date_set"]
        summary = (
            f"Due on {words.day(doc['due_on'])}: set by {staff.name_of(ctx().store, set_['by'])} on "
            f"{words.day(set_['at'])} ({set_['reason']})."
        )
    elif doc["needs_date"]:
        summary = "The source sets no timescale for this step: a manager gives it a date."
    else:
        summary = ". ".join(words.computation(c) for c in computations) + "."
        summary = summary[0].upper() + summary[1:]
        if doc.get("occurrence", 1) == 1 and len(computations) > 1:  # a rule due by the earliest of its counts
            summary += f" The earliest is the deadline: {words.day(doc['due_on'])}."
    return {
        "rule": rule.as_dict() if rule else None,
        # the rule's words now (an explanation stored by an older scheduler named the data field counted from);
        # a step at the plan's frequency says it as it was counted
        "timescale": stored.get("timescale") or ""
        if doc.get("frequency") or not rule
        else (rule.timescale() if doc.get("occurrence", 1) == 1 else rule.recurrence_text()),
        "anchor": doc["anchor"],
        "computations": computations,
        "summary": summary,
    }


@blp.route("/<deadline_id>")
class DeadlineOne(MethodView):
    @blp.response(200, DeadlineDetailSchema)
    @requires_role(*READERS)
    def get(self, deadline_id: str):
        """One deadline, with how its date was reached: the rule, the anchor,
        the days counted and the weekends, holidays and closures skipped."""
        doc = _load(deadline_id)
        audit.record_read(ctx().store, "deadline", deadline_id, child_id=doc.get("child_id"))
        return {**named([doc])[0], "explanation": explanation(doc)}


class DueDateSchema(Schema):
    due_on = fields.Date(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))


@blp.route("/<deadline_id>/due-date")
class DeadlineDueDate(MethodView):
    @blp.doc(operationId="changeDeadlineDueDate")
    @blp.arguments(DueDateSchema)
    @blp.response(200, DeadlineSchema)
    @requires_role(*MANAGERS)
    def post(self, args, deadline_id: str):
        """Give a date to a deadline whose source sets none (the resource
        panel's "timescale required"), or move an open one by decision, with
        the reason; who and when are recorded."""
        doc = _load(deadline_id)
        r = rt()
        due: date = args["due_on"]
        if doc["status"] not in OPEN:
            abort(409, message=f"the deadline is {doc['status']}; only an open deadline takes a new date")
        closed = r.calendar.closure(due)
        if closed:
            abort(422, message="not a working day", errors={"json": {"due_on": [f"{due.isoformat()} is {closed}"]}})
        if due < r.today():
            abort(422, message="in the past", errors={"json": {"due_on": [f"{due.isoformat()} has passed"]}})
        rule = r.rule(doc["rule_id"])
        principal = current_principal()
        new = set_due_date(
            doc,
            rule.reminder_days if rule else 0,
            r.calendar,
            due=due,
            reason=args["reason"],
            by=principal.user,
            now=common.now(),
        )
        with ctx().store.unit_of_work() as uow:
            uow.replace(st.DEADLINES, new, expected_version=doc["version"])
            audit.record_write(
                uow,
                "set_due_date",
                "deadline",
                deadline_id,
                child_id=doc.get("child_id"),
                detail={"due_on": due.isoformat(), "reason": args["reason"]},
            )
            ctx().publish(uow, "deadline.scheduled.v1", subject=doc["case_id"], data=event_data(new))
        new["version"] = doc["version"] + 1
        return named([new])[0]
