"""Plans: read a plan (with its ETag) and every agreed version of it."""

from __future__ import annotations

from typing import Any

from flask import make_response
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from cpp_shared.auth import current_principal, requires_role
from cpp_shared.idempotency import idempotent
from cpp_shared.paging import Page, Paging
from cpp_shared.store import VersionConflict

from .. import access, audit
from ..domain import lifecycle as lc
from ..service_layer import plans as sl
from ..store import PLAN_VERSIONS, PLANS, SIGNIFICANT_CHANGES
from .common import READERS, WRITERS, PersonSchema, check_if_match, ctx, etag, load, requires_if_match, today
from .fields import IsoDate, StrictBoolean
from .plan_schemas import PlanContentSchema

blp = Blueprint("plans", __name__, url_prefix="/v1/plans", description="Child protection plans and their versions")


class AgreedSchema(Schema):
    by = fields.String()
    on = fields.String()
    at = fields.String()


class PlanSchema(Schema):
    id = fields.String(attribute="_id", dump_only=True)
    case_id = fields.String()
    child_id = fields.String()
    status = fields.String(metadata={"description": "outline, active or ended"})
    plan_version = fields.Integer(metadata={"description": "the number of the agreed version in force"})
    created_on = fields.String()
    activated_on = fields.String(allow_none=True)
    last_reviewed_on = fields.String(allow_none=True)
    ended = fields.Dict(
        allow_none=True,
        metadata={
            "description": "how it ended: on, how (review_conference, reached_18, died, moved_to_another_council, "
            "left_the_uk, looked_after), conference_id (a review conference's; else null), step_down (null when the "
            "case closed), by (who decided it: a user id), reason (why, in words), and for a move to another "
            "council receiving_council and transfer_in_conference_on"
        },
    )
    agreed = fields.Nested(AgreedSchema)
    key_worker = fields.String(allow_none=True, metadata={"description": "the key worker's name"})
    key_worker_user = fields.String(
        allow_none=True,
        metadata={
            "description": "the key worker's user id in the staff directory; null for a key worker not yet linked"
        },
    )
    categories = fields.List(fields.String(), metadata={"description": "the latest agreed categories of harm"})
    initial_categories = fields.List(
        fields.String(),
        metadata={"description": "the categories the plan was made under (its first version), never changed"},
    )
    previous_plan_ids = fields.List(
        fields.String(), metadata={"description": "the child's earlier plans in this authority, oldest first"}
    )
    previous_plans = fields.Integer(
        metadata={"description": "how many plans the child had before this one (the census counts them)"}
    )
    content = fields.Nested(PlanContentSchema)
    escalations = fields.List(fields.Dict())
    terminology = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "this authority's words for the platform's terms"},
    )
    version = fields.Integer(metadata={"description": "the record's revision, as in its ETag"})


class PlanVersionSchema(Schema):
    plan_id = fields.String()
    number = fields.Integer()
    status = fields.String()
    content = fields.Nested(PlanContentSchema)
    agreed = fields.Nested(AgreedSchema)


class PlanVersionListSchema(Schema):
    plan_id = fields.String()
    versions = fields.List(fields.Nested(PlanVersionSchema))


def plan_response(plan: dict[str, Any]) -> dict[str, Any]:
    return {**plan, "terminology": ctx().plugins.merged("cpp_terminology")}


class PlanChangeSchema(PlanContentSchema):  # type: ignore[misc,valid-type]  # built for the categories
    """Some items of a plan's content; each item given replaces the plan's whole."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("partial", True)
        super().__init__(*args, **kwargs)


# A change to a plan as the OpenAPI document shows it: the child's and the family's views after a visit.
PLAN_CHANGE_EXAMPLE = {
    "childs_views": "Ana says she feels safe at home now and wants to keep seeing her dad at the contact centre.",
    "familys_views": "Ana's mother agrees with the plan and asks for help getting Ana to school on time.",
}


class PlanQuerySchema(Paging):
    status = fields.String(validate=validate.OneOf(["outline", "active", "ended"]))
    key_worker = fields.String(validate=validate.Length(min=1, max=200), metadata={"description": "by name"})
    key_worker_user = fields.String(
        validate=validate.Length(min=1, max=200), metadata={"description": "by user id; me for the caller"}
    )
    child_id = fields.String(validate=validate.Length(min=1, max=100))


class PlanPageSchema(Page):
    items = fields.List(fields.Nested(PlanSchema))


@blp.route("")
class Plans(MethodView):
    @blp.arguments(PlanQuerySchema, location="query")
    @blp.response(200, PlanPageSchema)
    @requires_role(*READERS)
    def get(self, query):
        filter_ = {"authority": ctx().authority["code"]}
        filter_.update({k: query[k] for k in ("status", "key_worker", "key_worker_user", "child_id") if k in query})
        if filter_.get("key_worker_user") == "me":
            filter_["key_worker_user"] = current_principal().user
        filter_ = access.exclude_hidden(filter_)  # restricted children the caller may not see are left out
        plans = ctx().store.collection(PLANS)
        page, size = query["page"], query["page_size"]
        items = plans.find(filter_, sort=[("created_on", -1)], skip=(page - 1) * size, limit=size)
        audit.record_reads(ctx().store, [("plan", plan["_id"], plan["child_id"]) for plan in items])
        return {
            "items": [plan_response(p) for p in items],
            "page": page,
            "page_size": size,
            "total": plans.count_documents(filter_),
        }


# One instance for every request: a new PlanSchema would build its nested
# content schemas again on each dump (several times the cost of the dump).
# Dumping keeps no state in the instance.
_PLAN_SCHEMA = PlanSchema()


def _plan_with_etag(plan: dict[str, Any], status: int = 200):
    response = make_response(_PLAN_SCHEMA.dump(plan_response(plan)), status)
    response.headers["ETag"] = etag(plan["version"])
    return response


@blp.route("/<plan_id>")
class PlanById(MethodView):
    @blp.response(
        200,
        PlanSchema,
        headers={"ETag": {"description": "the plan's revision, for If-Match", "schema": {"type": "string"}}},
    )
    @requires_role(*READERS)
    def get(self, plan_id):
        plan = load(PLANS, plan_id, "plan")
        audit.record_read(ctx().store, "plan", plan_id, child_id=plan["child_id"])
        return _plan_with_etag(plan)

    @blp.arguments(PlanChangeSchema, example=PLAN_CHANGE_EXAMPLE)
    @blp.response(200, PlanSchema)
    @blp.alt_response(412, description="the plan changed since the If-Match ETag was read")
    @blp.alt_response(428, description="If-Match is missing")
    @requires_role(*WRITERS)
    @requires_if_match
    def patch(self, changes, plan_id):
        """Agree a change to the plan: a new numbered version, by whom and when."""
        plan = load(PLANS, plan_id, "plan")
        check_if_match(plan, "plan")
        try:
            saved = sl.change_plan(
                ctx(),
                plan_id,
                PlanContentSchema().dump(changes),
                expected_version=plan["version"],
                today=today(),
                actor=current_principal(),
            )
        except VersionConflict:  # another change committed after our read: the ETag is stale now
            abort(412, message="the plan changed while this change was made; read it again")
        return _plan_with_etag(saved)


@blp.route("/<plan_id>/versions")
class PlanVersions(MethodView):
    @blp.response(200, PlanVersionListSchema)
    @requires_role(*READERS)
    def get(self, plan_id):
        plan = load(PLANS, plan_id, "plan")
        versions = ctx().store.collection(PLAN_VERSIONS).find({"plan_id": plan_id}, sort=[("number", 1)])
        audit.record_read(ctx().store, "plan_versions", plan_id, child_id=plan["child_id"])
        return {"plan_id": plan_id, "versions": versions}


@blp.route("/<plan_id>/versions/<int:number>")
class PlanVersionByNumber(MethodView):
    @blp.response(200, PlanVersionSchema)
    @requires_role(*READERS)
    def get(self, plan_id, number):
        plan = load(PLANS, plan_id, "plan")
        version = ctx().store.collection(PLAN_VERSIONS).find_one({"plan_id": plan_id, "number": number})
        if version is None:
            abort(404, message=f"plan {plan_id} has no version {number}")
        audit.record_read(ctx().store, "plan_version", f"{plan_id}:{number}", child_id=plan["child_id"])
        return version


class AttendeeSchema(PersonSchema):
    """Someone at a core group meeting; a member of staff may be named by their user id too."""

    user = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={
            "description": "a member of staff's user id, when they are one: the key worker is among the attendees "
            "by their name or by this"
        },
    )


ATTENDEES_WITH_KEY_WORKER = {
    "description": "who attended, the plan's key worker among them (by name, compared case-insensitively and "
    "ignoring extra spaces, or by user id); a 422 on attendees when not. At a meeting that agrees a plan naming "
    "a different key worker, either key worker will do; a plan with no key worker recorded is not held to it"
}


class CoreGroupMeetingSchema(Schema):
    id = fields.String(attribute="_id", dump_only=True)
    held_on = IsoDate(required=True)
    attendees = fields.List(
        fields.Nested(AttendeeSchema),
        load_default=list,
        validate=validate.Length(max=50),
        metadata=ATTENDEES_WITH_KEY_WORKER,
    )
    detailed_plan_agreed = StrictBoolean(required=True)
    plan = fields.Nested(PlanContentSchema, metadata={"description": "the detailed plan agreed at this meeting"})
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=4000))
    plan_version = fields.Integer(dump_only=True)
    recorded_by = fields.String(dump_only=True)
    version = fields.Integer(dump_only=True, metadata={"description": "the record's revision, as in its ETag"})


class VisitSchema(Schema):
    id = fields.String(attribute="_id", dump_only=True)
    visited_on = IsoDate(required=True)
    announced = StrictBoolean(required=True)
    child_seen = StrictBoolean(required=True)
    seen_alone = StrictBoolean(required=True)
    by = fields.String(required=True, validate=validate.Length(min=1, max=200))
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=4000))
    recorded_by = fields.String(dump_only=True)
    version = fields.Integer(dump_only=True, metadata={"description": "the record's revision, as in its ETag"})


class ChairToldSchema(Schema):
    on = fields.String(metadata={"format": "date", "description": "the day the chair was told"})
    by = fields.String(metadata={"description": "who recorded it (a user id)"})


class SignificantChangeSchema(Schema):
    id = fields.String(attribute="_id", dump_only=True)
    noticed_on = IsoDate(
        required=True,
        metadata={"description": "the day the core group noticed it: since the plan began, not in the future"},
    )
    description = fields.String(
        required=True, validate=validate.Length(min=1, max=4000), metadata={"description": "what changed"}
    )
    chair_told_on = IsoDate(
        load_only=True,
        load_default=None,
        allow_none=True,
        metadata={"description": "the day the conference's chair was told, when they already were"},
    )
    chair_told = fields.Nested(
        ChairToldSchema, dump_only=True, allow_none=True, metadata={"description": "null until the chair is told"}
    )
    recorded_by = fields.String(dump_only=True)
    version = fields.Integer(dump_only=True, metadata={"description": "the record's revision"})


class SignificantChangeListSchema(Schema):
    plan_id = fields.String()
    items = fields.List(fields.Nested(SignificantChangeSchema), metadata={"description": "newest noticed first"})


class ChairReferralSchema(Schema):
    told_on = IsoDate(
        required=True,
        metadata={"description": "the day the chair was told: not before the change was noticed, not in the future"},
    )


class EscalationSchema(Schema):
    id = fields.String(dump_only=True)
    route = fields.String(required=True, validate=validate.Length(min=1, max=100))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    decided_on = IsoDate(
        required=True,
        metadata={
            "description": "the day the decision to escalate was taken (the conference's date, when a conference "
            "took it): not in the future, not before the plan began; the route's timescales count from it"
        },
    )
    conference_id = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=100),
        metadata={
            "description": "the held conference of the case that decided it; decided_on is then its date or later"
        },
    )
    name = fields.String(dump_only=True)
    recipient = fields.Dict(dump_only=True, allow_none=True)
    raised_on = fields.String(dump_only=True, metadata={"description": "the day it was recorded"})
    raised_by = fields.String(dump_only=True)
    referral = fields.Dict(
        dump_only=True,
        allow_none=True,
        metadata={"description": "the referral made to the route's recipient: made_on, made_to, how, recorded_by"},
    )
    steps = fields.List(
        fields.Dict(),
        dump_only=True,
        metadata={"description": "the route's steps recorded, in order: step, name, on, outcome, notes, recorded_by"},
    )


class EscalationReferralSchema(Schema):
    made_on = IsoDate(
        required=True,
        metadata={"description": "the day the referral was made: not before the decision, not in the future"},
    )
    made_to = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "to whom: the person or office of the recipient that received it"},
    )
    how = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "how it was made (a secure email, a form, a call)"},
    )


class EscalationStepSchema(Schema):
    step = fields.String(
        required=True, validate=validate.Length(min=1, max=100), metadata={"description": "one of the route's steps"}
    )
    on = IsoDate(
        required=True,
        metadata={
            "description": "the day of the step: not before the decision or the step it follows, not in the future"
        },
    )
    outcome = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "a step that decides (the legal planning decision): one of its outcomes"},
    )
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=4000))


@blp.route("/<plan_id>/core-group-meetings")
class CoreGroupMeetings(MethodView):
    @idempotent
    @blp.arguments(CoreGroupMeetingSchema)
    @blp.response(201, CoreGroupMeetingSchema)
    @requires_role(*WRITERS)
    def post(self, body, plan_id):
        plan = load(PLANS, plan_id, "plan")
        content = PlanContentSchema().dump(body.pop("plan")) if "plan" in body else None
        return sl.record_core_group_meeting(
            ctx(), plan["_id"], plan=content, today=today(), actor=current_principal(), **body
        )


@blp.route("/<plan_id>/visits")
class Visits(MethodView):
    @idempotent
    @blp.arguments(VisitSchema)
    @blp.response(201, VisitSchema)
    @requires_role(*WRITERS)
    def post(self, body, plan_id):
        plan = load(PLANS, plan_id, "plan")
        return sl.record_visit(ctx(), plan["_id"], today=today(), actor=current_principal(), **body)


@blp.route("/<plan_id>/significant-changes")
class SignificantChanges(MethodView):
    @idempotent
    @blp.arguments(SignificantChangeSchema)
    @blp.response(201, SignificantChangeSchema)
    @blp.alt_response(409, description="the plan has ended")
    @requires_role(*WRITERS)
    def post(self, body, plan_id):
        """A significant change in the child's circumstances that the core group noticed, to tell the
        conference's chair of (and the day it did, when it already has)."""
        plan = load(PLANS, plan_id, "plan")
        return sl.record_significant_change(ctx(), plan["_id"], today=today(), actor=current_principal(), **body)

    @blp.response(200, SignificantChangeListSchema)
    @requires_role(*READERS)
    def get(self, plan_id):
        """The plan's significant changes, newest noticed first."""
        plan = load(PLANS, plan_id, "plan")
        changes = (
            ctx()
            .store.collection(SIGNIFICANT_CHANGES)
            .find({"plan_id": plan_id, "authority": plan["authority"]}, sort=[("noticed_on", -1), ("_id", 1)])
        )
        audit.record_read(ctx().store, "significant_changes", plan_id, child_id=plan["child_id"])
        return {"plan_id": plan_id, "items": changes}


@blp.route("/<plan_id>/significant-changes/<change_id>/referral")
class SignificantChangeReferral(MethodView):
    @idempotent
    @blp.doc(operationId="referSignificantChange")
    @blp.arguments(ChairReferralSchema)
    @blp.response(200, SignificantChangeSchema)
    @blp.alt_response(409, description="the chair was already told of this change")
    @requires_role(*WRITERS)
    def post(self, body, plan_id, change_id):
        """Record the day the conference's chair was told of the significant change (once)."""
        plan = load(PLANS, plan_id, "plan")
        return sl.refer_significant_change(
            ctx(), plan["_id"], change_id, today=today(), actor=current_principal(), **body
        )


@blp.route("/<plan_id>/escalations")
class Escalations(MethodView):
    @idempotent
    @blp.arguments(EscalationSchema)
    @blp.response(201, EscalationSchema)
    @requires_role(*WRITERS)
    def post(self, body, plan_id):
        plan = load(PLANS, plan_id, "plan")
        return sl.escalate(ctx(), plan["_id"], today=today(), actor=current_principal(), **body)


@blp.route("/<plan_id>/escalations/<escalation_id>/referral")
class EscalationReferral(MethodView):
    @idempotent
    @blp.arguments(EscalationReferralSchema)
    @blp.response(201, EscalationSchema)
    @blp.alt_response(409, description="the route has no recipient outside the council, or the referral is recorded")
    @requires_role(*WRITERS)
    def post(self, body, plan_id, escalation_id):
        plan = load(PLANS, plan_id, "plan")
        return sl.record_referral(ctx(), plan["_id"], escalation_id, today=today(), actor=current_principal(), **body)


@blp.route("/<plan_id>/escalations/<escalation_id>/steps")
class EscalationSteps(MethodView):
    @idempotent
    @blp.arguments(EscalationStepSchema)
    @blp.response(201, EscalationSchema)
    @blp.alt_response(409, description="the step comes after one not yet recorded, or is recorded already")
    @requires_role(*WRITERS)
    def post(self, body, plan_id, escalation_id):
        plan = load(PLANS, plan_id, "plan")
        return sl.record_escalation_step(
            ctx(), plan["_id"], escalation_id, today=today(), actor=current_principal(), **body
        )


class PlanEndingSchema(Schema):
    reason = fields.String(
        required=True,
        validate=validate.OneOf(list(lc.ENDINGS)),
        metadata={"description": "how the plan ends (a review conference's ending is its outcome instead)"},
    )
    on = IsoDate(required=True, metadata={"description": "the day it ends: since the plan began, not in the future"})
    details = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=4000),
        metadata={"description": "why, in words (kept as the plan's ended.reason)"},
    )
    receiving_council = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "moved_to_another_council: the council the child moved to"},
    )
    transfer_in_conference_on = IsoDate(
        load_default=None,
        allow_none=True,
        metadata={"description": "moved_to_another_council: the day its transfer-in conference was held"},
    )


PLAN_ETAG = {"ETag": {"description": "the plan's revision, for If-Match", "schema": {"type": "string"}}}


@blp.route("/<plan_id>/ending")
class PlanEnding(MethodView):
    @idempotent
    @blp.doc(operationId="endPlan")
    @blp.arguments(PlanEndingSchema)
    @blp.response(201, PlanSchema, headers=PLAN_ETAG)
    @blp.alt_response(409, description="the plan has already ended")
    @blp.alt_response(412, description="the plan changed since the If-Match ETag was read")
    @blp.alt_response(428, description="If-Match is missing")
    @requires_role("team_manager")
    @requires_if_match
    def post(self, body, plan_id):
        """End the plan otherwise than at a review conference (a team manager's decision; a chair ends a plan
        by a review conference's outcome): the child reached 18 (on or after the birthday), died, moved for
        good to another council once its transfer-in conference was held, left the UK, or became looked after
        where the authority's procedures end the plan (its looked_after_ends_plan setting). The case closes;
        plan.ended.v1 says how (ended.reason), and the scheduler cancels the plan's deadlines with it."""
        plan = load(PLANS, plan_id, "plan")
        check_if_match(plan, "plan", "ending it")
        try:
            ended = sl.end_plan(
                ctx(), plan_id, expected_version=plan["version"], today=today(), actor=current_principal(), **body
            )
        except VersionConflict:
            abort(412, message="the plan changed while it was being ended; read it again")
        return _plan_with_etag(ended, 201)
