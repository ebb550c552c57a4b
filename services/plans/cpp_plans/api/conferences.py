"""Conferences: scheduling an initial or review conference for a case, and
recording its outcome (which creates, continues, revises or ends the plan)."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from cpp_shared.auth import current_principal, requires_role

from .. import audit
from ..domain import lifecycle as lc
from .cases import CaseSchema
from .common import (READERS, PersonSchema, check_with_plugins, commit_step, ctx, load, plan_version_inserts, saved,
                     today)
from .plan_schemas import PlanContentSchema
from .plans import PlanSchema, plan_response

blp = Blueprint("conferences", __name__, url_prefix="/v1", description="Initial and review conferences")

SCHEDULERS = ("social_worker", "team_manager", "chair")
DECIDERS = ("chair", "team_manager")


class ConferenceCreateSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["initial", "review"]))
    scheduled_for = fields.Date(required=True)


class ConferenceOutcomeSchema(Schema):
    held_on = fields.Date(required=True)
    attendees = fields.List(fields.Nested(PersonSchema), load_default=list, validate=validate.Length(max=50))
    plan_required = fields.Boolean(metadata={"description": "initial conference: whether the child needs a plan"})
    outline_plan = fields.Nested(PlanContentSchema, metadata={"description": "initial conference: the outline plan"})
    decision = fields.String(validate=validate.OneOf(lc.REVIEW_DECISIONS),
                             metadata={"description": "review conference: continue, revise or end the plan"})
    plan = fields.Nested(PlanContentSchema, metadata={"description": "review conference that revises: the revised plan"})

    @validates_schema
    def one_kind_of_outcome(self, data, **kwargs):
        if "plan_required" in data and "decision" in data:
            raise ValidationError("give plan_required (initial) or decision (review), not both", "decision")
        if "plan_required" not in data and "decision" not in data:
            raise ValidationError("an initial conference decides plan_required; a review conference a decision",
                                  "plan_required")


class ConferenceSchema(Schema):
    id = fields.String(attribute="_id", dump_only=True)
    case_id = fields.String()
    child_id = fields.String()
    kind = fields.String()
    status = fields.String()
    scheduled_for = fields.String()
    scheduled_by = fields.String()
    outcome = fields.Dict(allow_none=True)
    version = fields.Integer()


class ConferenceOutcomeResultSchema(Schema):
    conference = fields.Nested(ConferenceSchema)
    case = fields.Nested(CaseSchema)
    plan = fields.Nested(PlanSchema, allow_none=True)


def plan_content(loaded: dict, *, not_before, field: str) -> dict:
    """The plan content as stored (JSON: dates as ISO text), checked again
    with what only the request as a whole knows: no target date, action or
    review before the conference that agrees the plan."""
    schema = PlanContentSchema(not_before=not_before)
    dumped = schema.dump(loaded)
    errors = schema.validate(dumped)
    if errors:
        raise lc.InvalidStep({field: errors})
    return dumped


@blp.route("/cases/<case_id>/conferences")
class CaseConferences(MethodView):
    @blp.arguments(ConferenceCreateSchema)
    @blp.response(201, ConferenceSchema)
    @requires_role(*SCHEDULERS)
    def post(self, body, case_id):
        case = load("cases", case_id, "case")
        plan = load("plans", case["plan_id"], "plan") if case["plan_id"] else None
        after, conference, events = lc.schedule_conference(case, plan, kind=body["kind"], scheduled_for=body["scheduled_for"],
                                                           today=today(), scheduled_by=current_principal().user)
        commit_step("schedule_conference", "conference", conference["_id"], child_id=case["child_id"], events=events,
                    replaces=[("cases", after, case)], inserts=[("conferences", conference)])
        return saved(conference)


@blp.route("/conferences/<conference_id>")
class ConferenceById(MethodView):
    @blp.response(200, ConferenceSchema)
    @requires_role(*READERS)
    def get(self, conference_id):
        conference = load("conferences", conference_id, "conference")
        audit.record_read(ctx().store, "conference", conference_id, child_id=conference["child_id"])
        return conference


@blp.route("/conferences/<conference_id>/outcome")
class ConferenceOutcome(MethodView):
    @blp.arguments(ConferenceOutcomeSchema)
    @blp.response(200, ConferenceOutcomeResultSchema)
    @requires_role(*DECIDERS)
    def post(self, body, conference_id):
        conference = load("conferences", conference_id, "conference")
        case = load("cases", conference["case_id"], "case")
        for field, stage in (("outline_plan", "outline"), ("plan", "revision")):
            if field in body:
                body[field] = plan_content(body[field], not_before=body["held_on"], field=field)
                check_with_plugins(body[field], stage, field)
        common = dict(held_on=body["held_on"], today=today(), decided_by=current_principal().user,
                      attendees=body["attendees"])
        if conference["kind"] == "initial":
            if "plan_required" not in body:
                raise lc.InvalidStep({"plan_required": ["an initial conference decides whether a plan is required"]})
            case_after, conf_after, plan, events = lc.hold_initial_conference(
                case, conference, plan_required=body["plan_required"], plan_content=body.get("outline_plan"), **common)
            plan_before = None
        else:
            if "decision" not in body:
                raise lc.InvalidStep({"decision": ["a review conference decides: continue, revise or end"]})
            plan_before = load("plans", case["plan_id"], "plan")
            case_after, conf_after, plan, events = lc.hold_review_conference(
                case, conference, plan_before, decision=body["decision"], plan_content=body.get("plan"), **common)
        replaces = [("cases", case_after, case), ("conferences", conf_after, conference)]
        inserts = []
        if plan is not None:
            if plan_before is None:
                inserts.append(("plans", plan))
            else:
                replaces.append(("plans", plan, plan_before))
            inserts += plan_version_inserts(plan, plan_before)
        commit_step("record_conference_outcome", "conference", conference_id, child_id=case["child_id"], events=events,
                    inserts=inserts, replaces=replaces)
        return {
            "conference": saved(conf_after, conference),
            "case": saved(case_after, case),
            "plan": plan_response(saved(plan, plan_before)) if plan else None,
        }
