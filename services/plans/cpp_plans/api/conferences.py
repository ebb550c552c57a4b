"""Conferences: scheduling an initial or review conference for a case,
moving it to another date or cancelling it, and recording its outcome
(which creates, continues, revises or ends the plan)."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from cpp_shared import staff
from cpp_shared.auth import current_principal, requires_role
from cpp_shared.idempotency import idempotent
from cpp_shared.store import VersionConflict

from .. import audit
from ..domain import lifecycle as lc
from ..store import CASES, CONFERENCES, PLANS
from .cases import CaseSchema, StaffRefSchema
from .common import (READERS, PersonSchema, check_if_match, check_with_plugins, commit_step, ctx, etag,
                     link_key_worker, load, plan_version_inserts, requires_if_match, saved, today)
from .fields import IsoDate
from .plan_schemas import PlanContentSchema
from .plans import PlanSchema, plan_response

blp = Blueprint("conferences", __name__, url_prefix="/v1", description="Initial and review conferences")

SCHEDULERS = ("social_worker", "team_manager", "chair")
DECIDERS = ("chair", "team_manager")


class ConferenceCreateSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["initial", "review"]))
    scheduled_for = fields.Date(required=True)
    chair = fields.String(validate=validate.Length(min=1, max=200), metadata={
        "description": "the user id of the conference's chair (a chair in the staff directory); when left out, "
                       "the chair who records the outcome"})


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be blank.")


REASON = dict(required=True, validate=[validate.Length(min=1, max=4000), _not_blank])


class ConferenceRescheduleSchema(Schema):
    scheduled_for = IsoDate(required=True, metadata={"description": "the new date"})
    reason = fields.String(**REASON, metadata={"description": "why the conference moves"})


class ConferenceCancellationSchema(Schema):
    reason = fields.String(**REASON, metadata={"description": "why the conference is cancelled"})


class ConferenceOutcomeSchema(Schema):
    held_on = fields.Date(required=True)
    attendees = fields.List(fields.Nested(PersonSchema), load_default=list, validate=validate.Length(max=50))
    plan_required = fields.Boolean(metadata={"description": "initial conference: whether the child needs a plan"})
    outline_plan = fields.Nested(PlanContentSchema, metadata={"description": "initial conference: the outline plan"})
    decision = fields.String(validate=validate.OneOf(lc.REVIEW_DECISIONS),
                             metadata={"description": "review conference: continue, revise or end the plan"})
    plan = fields.Nested(PlanContentSchema, metadata={"description": "review conference that revises: the revised plan"})
    reason = fields.String(validate=[validate.Length(min=1, max=4000), _not_blank], metadata={
        "description": "review conference that ends the plan: why it ends (kept with the plan's ending)"})

    @validates_schema
    def one_kind_of_outcome(self, data, **kwargs):
        if "plan_required" in data and "decision" in data:
            raise ValidationError("give plan_required (initial) or decision (review), not both", "decision")
        if "plan_required" not in data and "decision" not in data:
            raise ValidationError("an initial conference decides plan_required; a review conference a decision",
                                  "plan_required")


class RescheduleSchema(Schema):
    from_ = fields.String(data_key="from", attribute="from", metadata={"description": "the date it was scheduled for"})
    to = fields.String(metadata={"description": "the date it moved to"})
    reason = fields.String()
    by = fields.String()
    on = fields.String(metadata={"description": "when it was moved"})


class CancellationSchema(Schema):
    reason = fields.String()
    by = fields.String()
    on = fields.String()


class ConferenceSchema(Schema):
    id = fields.String(attribute="_id", dump_only=True)
    case_id = fields.String()
    child_id = fields.String()
    kind = fields.String()
    status = fields.String(metadata={"description": "scheduled, held or cancelled"})
    scheduled_for = fields.String()
    scheduled_by = fields.String()
    scheduled_on = fields.String(metadata={"description": "the day it was scheduled"})
    chair = fields.Nested(StaffRefSchema, allow_none=True, metadata={"description": "the chair, name as it was then"})
    reschedules = fields.List(fields.Nested(RescheduleSchema), metadata={"description": "every move, oldest first"})
    cancellation = fields.Nested(CancellationSchema)
    outcome = fields.Dict(allow_none=True)
    version = fields.Integer(metadata={"description": "the record's revision, as in its ETag"})


class ConferenceCancellationResultSchema(Schema):
    conference = fields.Nested(ConferenceSchema)
    case = fields.Nested(CaseSchema)


class ConferenceOutcomeResultSchema(Schema):
    conference = fields.Nested(ConferenceSchema)
    case = fields.Nested(CaseSchema)
    plan = fields.Nested(PlanSchema, allow_none=True)


def plan_content(loaded: dict, *, not_before, field: str, plan_began=None) -> dict:
    """The plan content as stored (JSON: dates as ISO text), checked again
    with what only the request as a whole knows: no target date, action or
    review before the conference that agrees the plan. A revision at a
    review keeps the first core group date the initial conference set: that
    one is checked against the day the plan began (``plan_began``)."""
    schema = PlanContentSchema(not_before=not_before)
    dumped = schema.dump(loaded)
    checked, errors = dumped, {}
    if plan_began is not None and dumped.get("first_core_group_on") is not None:
        checked = {k: v for k, v in dumped.items() if k != "first_core_group_on"}
        errors = PlanContentSchema(not_before=plan_began, partial=True).validate(
            {"first_core_group_on": dumped["first_core_group_on"]})
    errors = {**schema.validate(checked), **errors}
    if errors:
        raise lc.InvalidStep({field: errors})
    return dumped


@blp.route("/cases/<case_id>/conferences")
class CaseConferences(MethodView):
    @idempotent
    @blp.arguments(ConferenceCreateSchema)
    @blp.response(201, ConferenceSchema)
    @requires_role(*SCHEDULERS)
    def post(self, body, case_id):
        case = load(CASES, case_id, "case")
        plan = load(PLANS, case["plan_id"], "plan") if case["plan_id"] else None
        chair = _chair(body["chair"]) if "chair" in body else None
        after, conference, events = lc.schedule_conference(case, plan, kind=body["kind"], scheduled_for=body["scheduled_for"],
                                                           today=today(), scheduled_by=current_principal().user,
                                                           chair=chair)
        commit_step("schedule_conference", "conference", conference["_id"], child_id=case["child_id"], events=events,
                    replaces=[(CASES, after, case)], inserts=[(CONFERENCES, conference)])
        return saved(conference), {"ETag": etag(1)}


def _chair(user: str) -> dict:
    """A reference to the chair named, or a 422: conferences are chaired by a chair in the staff directory."""
    found = staff.entry(ctx().store, user)
    if found is None or "chair" not in staff.roles_of(found):
        why = "no member of staff has this user id" if found is None else (
            f"{found.get('name')} is not a chair (they are a "
            f"{' and '.join(r.replace('_', ' ') for r in staff.roles_of(found))})")
        abort(422, message="the conference's chair must be a chair", errors={"json": {"chair": [why]}})
    return {"user": found["user"], "name": found.get("name") or staff.UNNAMED}


ETAG_HEADER = {"ETag": {"description": "the conference's revision, for If-Match", "schema": {"type": "string"}}}


@blp.route("/conferences/<conference_id>")
class ConferenceById(MethodView):
    @blp.response(200, ConferenceSchema, headers=ETAG_HEADER)
    @requires_role(*READERS)
    def get(self, conference_id):
        conference = load(CONFERENCES, conference_id, "conference")
        audit.record_read(ctx().store, "conference", conference_id, child_id=conference["child_id"])
        return conference, {"ETag": etag(conference["version"])}

    @requires_role(*SCHEDULERS)
    @requires_if_match
    @blp.arguments(ConferenceRescheduleSchema)
    @blp.response(200, ConferenceSchema, headers=ETAG_HEADER)
    @blp.alt_response(412, description="the conference changed since the If-Match ETag was read")
    @blp.alt_response(428, description="If-Match is missing")
    def patch(self, body, conference_id):
        """Move a scheduled conference to another date, with the reason (If-Match required)."""
        conference = load(CONFERENCES, conference_id, "conference")
        check_if_match(conference, "conference", "moving it")
        case = load(CASES, conference["case_id"], "case")
        plan = load(PLANS, case["plan_id"], "plan") if case["plan_id"] else None
        after, events = lc.reschedule_conference(case, conference, scheduled_for=body["scheduled_for"],
                                                 reason=body["reason"], today=today(),
                                                 rescheduled_by=current_principal().user, plan=plan)
        try:
            commit_step("reschedule_conference", "conference", conference_id, child_id=case["child_id"],
                        events=events, replaces=[(CONFERENCES, after, conference)])
        except VersionConflict:  # another step committed after our read: the ETag is stale now
            abort(412, message="the conference changed while it was being moved; read it again")
        moved = saved(after, conference)
        return moved, {"ETag": etag(moved["version"])}


@blp.route("/conferences/<conference_id>/cancellation")
class ConferenceCancellation(MethodView):
    @blp.doc(operationId="cancelConference")
    @requires_role(*SCHEDULERS)
    @blp.arguments(ConferenceCancellationSchema)
    @blp.response(200, ConferenceCancellationResultSchema)
    def post(self, body, conference_id):
        """Cancel a scheduled conference; another can then be scheduled in its place."""
        conference = load(CONFERENCES, conference_id, "conference")
        case = load(CASES, conference["case_id"], "case")
        case_after, conf_after, events = lc.cancel_conference(case, conference, reason=body["reason"], today=today(),
                                                              cancelled_by=current_principal().user)
        commit_step("cancel_conference", "conference", conference_id, child_id=case["child_id"], events=events,
                    replaces=[(CASES, case_after, case), ("conferences", conf_after, conference)])
        return {"conference": saved(conf_after, conference), "case": saved(case_after, case)}


@blp.route("/conferences/<conference_id>/outcome")
class ConferenceOutcome(MethodView):
    @idempotent
    @blp.doc(operationId="recordConferenceOutcome")
    @blp.arguments(ConferenceOutcomeSchema)
    @blp.response(200, ConferenceOutcomeResultSchema)
    @requires_role(*DECIDERS)
    def post(self, body, conference_id):
        conference = load(CONFERENCES, conference_id, "conference")
        case = load(CASES, conference["case_id"], "case")
        plan_before = None
        if conference["kind"] == "review" and case["plan_id"]:
            plan_before = load(PLANS, case["plan_id"], "plan")
        for field, stage in (("outline_plan", "outline"), ("plan", "revision")):
            if field in body:
                began = plan_before["created_on"] if field == "plan" and plan_before else None
                body[field] = link_key_worker(
                    plan_content(body[field], not_before=body["held_on"], field=field, plan_began=began), field)
                check_with_plugins(body[field], stage, field)
        me = current_principal()
        common = dict(held_on=body["held_on"], today=today(), decided_by=me.user, attendees=body["attendees"],
                      chair=staff.ref(ctx().store, me.user) if me.holds("chair") else None)
        if conference["kind"] == "initial":
            if "plan_required" not in body:
                raise lc.InvalidStep({"plan_required": ["an initial conference decides whether a plan is required"]})
            case_after, conf_after, plan, events = lc.hold_initial_conference(
                case, conference, plan_required=body["plan_required"], plan_content=body.get("outline_plan"), **common)
        else:
            if "decision" not in body:
                raise lc.InvalidStep({"decision": ["a review conference decides: continue, revise or end"]})
            if plan_before is None:
                plan_before = load(PLANS, case["plan_id"], "plan")
            case_after, conf_after, plan, events = lc.hold_review_conference(
                case, conference, plan_before, decision=body["decision"], plan_content=body.get("plan"),
                reason=body.get("reason"), **common)
        replaces = [(CASES, case_after, case), ("conferences", conf_after, conference)]
        inserts = []
        if plan is not None:
            if plan_before is None:
                inserts.append((PLANS, plan))
            else:
                replaces.append((PLANS, plan, plan_before))
            inserts += plan_version_inserts(plan, plan_before)
        commit_step("record_conference_outcome", "conference", conference_id, child_id=case["child_id"], events=events,
                    inserts=inserts, replaces=replaces)
        return {
            "conference": saved(conf_after, conference),
            "case": saved(case_after, case),
            "plan": plan_response(saved(plan, plan_before)) if plan else None,
        }
