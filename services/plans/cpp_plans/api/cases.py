"""Cases: one child protection episode of a child, from the strategy
discussion to the enquiry outcome (conferences and plans have their own
resources)."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from cpp_shared.auth import current_principal, requires_role
from cpp_shared.idempotency import idempotent

from .. import access, audit
from ..domain import lifecycle as lc
from .common import READERS, WRITERS, PersonSchema, commit_step, ctx, load, saved, today
from .fields import IsoDate

blp = Blueprint("cases", __name__, url_prefix="/v1/cases", description="Child protection cases")


class CaseCreateSchema(Schema):
    child_id = fields.String(required=True, validate=validate.Length(min=1, max=100))


class StrategyDiscussionSchema(Schema):
    id = fields.String(dump_only=True)
    held_on = IsoDate(required=True)
    initiated_enquiries = fields.Boolean(load_default=True, metadata={
        "description": "whether the enquiries (section 47, or the local equivalent) started at this discussion"})
    attendees = fields.List(fields.Nested(PersonSchema), load_default=list, validate=validate.Length(max=50))
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=4000))
    recorded_by = fields.String(dump_only=True)


class EnquiryOutcomeSchema(Schema):
    completed_on = IsoDate(required=True)
    conference_required = fields.Boolean(required=True)
    summary = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=4000))
    recorded_by = fields.String(dump_only=True)


class StepDownSchema(Schema):
    route = fields.String()
    decided_on = fields.String()
    by = fields.String()


class ConferenceRefSchema(Schema):
    id = fields.String()
    kind = fields.String()
    status = fields.String()


class CaseSchema(Schema):
    id = fields.String(attribute="_id", dump_only=True)
    child_id = fields.String()
    status = fields.String(metadata={"description": "enquiries, conference_pending, child_in_need, on_plan, plan_ended"})
    opened_at = fields.String()
    opened_by = fields.String()
    strategy_discussions = fields.List(fields.Nested(StrategyDiscussionSchema))
    enquiry_outcome = fields.Nested(EnquiryOutcomeSchema, allow_none=True)
    conferences = fields.List(fields.Nested(ConferenceRefSchema))
    plan_id = fields.String(allow_none=True)
    step_down = fields.Nested(StepDownSchema, allow_none=True)
    version = fields.Integer()


@blp.route("")
class Cases(MethodView):
    @idempotent
    @blp.arguments(CaseCreateSchema)
    @blp.response(201, CaseSchema)
    @requires_role(*WRITERS)
    def post(self, body):
        if ctx().store.collection("children").find_one({"_id": body["child_id"]}) is None:
            abort(422, message="no such child", errors={"json": {"child_id": [
                "no child with this id is registered with this authority; register the child first"]}})
        access.check(body["child_id"])  # a restricted child's case is opened only by someone with need to know
        case, events = lc.open_case(uuid.uuid4().hex, body["child_id"], ctx().authority["code"],
                                    datetime.now(timezone.utc).isoformat(), current_principal().user)
        commit_step("create", "case", case["_id"], child_id=case["child_id"], events=events, inserts=[("cases", case)])
        return saved(case)


@blp.route("/<case_id>")
class CaseById(MethodView):
    @blp.response(200, CaseSchema)
    @requires_role(*READERS)
    def get(self, case_id):
        case = load("cases", case_id, "case")
        audit.record_read(ctx().store, "case", case_id, child_id=case["child_id"])
        return case


def _save_case(before: dict, after: dict, events, action: str) -> dict:
    commit_step(action, "case", after["_id"], child_id=after["child_id"], events=events,
                replaces=[("cases", after, before)])
    return saved(after, before)


@blp.route("/<case_id>/strategy-discussions")
class StrategyDiscussions(MethodView):
    @idempotent
    @blp.arguments(StrategyDiscussionSchema)
    @blp.response(201, StrategyDiscussionSchema)
    @requires_role(*WRITERS)
    def post(self, body, case_id):
        case = load("cases", case_id, "case")
        after, discussion, events = lc.record_strategy_discussion(case, today=today(), recorded_by=current_principal().user,
                                                                  **body)
        _save_case(case, after, events, "record_strategy_discussion")
        return discussion


@blp.route("/<case_id>/enquiry-outcome")
class EnquiryOutcome(MethodView):
    @blp.arguments(EnquiryOutcomeSchema)
    @blp.response(200, CaseSchema)
    @requires_role(*WRITERS)
    def post(self, body, case_id):
        case = load("cases", case_id, "case")
        after, events = lc.record_enquiry_outcome(case, today=today(), recorded_by=current_principal().user, **body)
        return _save_case(case, after, events, "record_enquiry_outcome")
