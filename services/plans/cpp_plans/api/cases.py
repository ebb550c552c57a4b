"""Cases: one child protection episode of a child, from the strategy
discussion to the enquiry outcome (conferences and plans have their own
resources)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from cpp_shared import staff
from cpp_shared.auth import current_principal, requires_role
from cpp_shared.idempotency import idempotent
from cpp_shared.paging import Page, Paging
from cpp_shared.store import VersionConflict

from .. import access, audit
from ..domain import census
from ..domain import referral as rf
from ..service_layer import cases as sl
from ..service_layer import closure as sl_closure
from ..service_layer import referral as sl_referral
from ..service_layer.common import named
from ..store import CASES, CHILDREN, PLANS
from .common import READERS, WRITERS, PersonSchema, check_if_match, ctx, etag, load, requires_if_match, today
from .fields import IsoDate
from .plans import VisitSchema

blp = Blueprint("cases", __name__, url_prefix="/v1/cases", description="Child protection cases")


USER_ID: dict[str, Any] = dict(validate=validate.Length(min=1, max=200))


class CaseCreateSchema(Schema):
    child_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    social_worker = fields.String(
        **USER_ID,
        metadata={"description": "the user id of the case's social worker (default: the caller, when a social worker)"},
    )
    team_manager = fields.String(
        **USER_ID,
        metadata={
            "description": "the user id of the case's team manager (default: the caller, when a team manager; else "
            "the social worker's manager; else the one team manager of their team)"
        },
    )
    team = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "the team that holds the case (default: the social worker's)"},
    )


class AllocationSchema(Schema):
    social_worker = fields.String(
        allow_none=True,
        **USER_ID,
        metadata={"description": "the new social worker's user id; null for none; left out: unchanged"},
    )
    team_manager = fields.String(
        allow_none=True,
        **USER_ID,
        metadata={"description": "the new team manager's user id; null for none; left out: unchanged"},
    )
    team = fields.String(allow_none=True, validate=validate.Length(min=1, max=200))


class StaffRefSchema(Schema):
    user = fields.String()
    name = fields.String(metadata={"description": "their name when they were given the case"})


class ChildRefSchema(Schema):
    name = fields.String()
    date_of_birth = fields.String(allow_none=True)


class StrategyDiscussionSchema(Schema):
    id = fields.String(dump_only=True)
    held_on = IsoDate(required=True)
    initiated_enquiries = fields.Boolean(
        load_default=True,
        metadata={
            "description": "whether the enquiries (section 47, or the local equivalent) started at this discussion"
        },
    )
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


CLOSURE_REASONS_DESCRIBED = "; ".join(f"{code}: {label}" for code, label in census.CLOSURE_REASONS.items())


class ClosureSchema(Schema):
    on = fields.String(metadata={"format": "date"})
    reason = fields.String(
        metadata={
            "description": "for a case closed by its closure step, the census's reason ("
            + CLOSURE_REASONS_DESCRIBED
            + "); for a case closed by its referral or assessment, referral_<decision> (no_further_action, "
            "early_help, other) or assessment_<outcome> (no_further_action, early_help, other)"
        }
    )
    notes = fields.String(allow_none=True, metadata={"description": "the closure step's notes (absent otherwise)"})
    by = fields.Nested(
        StaffRefSchema, metadata={"description": "who closed the case by its closure step (absent otherwise)"}
    )


class CloseCaseSchema(Schema):
    closed_on = IsoDate(
        required=True,
        metadata={"description": "the day the case closed: not in the future, not before the case's latest step"},
    )
    reason = fields.String(
        required=True,
        validate=validate.OneOf(list(census.CLOSURE_REASONS)),
        metadata={"description": "why, as the Children in Need census says it: " + CLOSURE_REASONS_DESCRIBED},
    )
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=4000))


class ReferralDecisionSchema(Schema):
    decided_on = IsoDate(required=True)
    decision = fields.String(
        required=True,
        validate=validate.OneOf(rf.DECISIONS),
        metadata={"description": "what was decided on the referral (strategy_discussion: section 47 enquiries)"},
    )
    reason = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    decided_by = fields.String(dump_only=True)


class ReferralSchema(Schema):
    received_on = IsoDate(required=True, metadata={"description": "the day the referral reached the council"})
    source = fields.String(required=True, validate=validate.OneOf(rf.SOURCES), metadata={"description": "who referred"})
    source_code = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(list(census.REFERRAL_SOURCES)),
        metadata={
            "description": "who referred, as the Children in Need census's ReferralSource code: one that source "
            "allows ("
            + "; ".join(f"{source}: {', '.join(codes)}" for source, codes in census.SOURCE_CODES.items())
            + "); null when not given (absent from referrals recorded before it was asked)"
        },
    )
    summary = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=4000))
    recorded_by = fields.String(dump_only=True)
    decision = fields.Nested(ReferralDecisionSchema, dump_only=True, allow_none=True)


class AssessmentCompletionSchema(Schema):
    completed_on = IsoDate(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(rf.OUTCOMES))
    summary = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=4000))
    authorised_by = fields.String(
        required=True,
        load_only=True,
        **USER_ID,
        metadata={"description": "the user id of the team manager who authorised the assessment"},
    )
    recorded_by = fields.String(dump_only=True)


class CompletedAssessmentSchema(AssessmentCompletionSchema):
    authorised_by = fields.Nested(StaffRefSchema, dump_only=True)  # type: ignore[assignment]


class AssessmentSchema(Schema):
    started_on = IsoDate(required=True)
    factors = fields.List(
        fields.String(validate=validate.OneOf(rf.FACTORS)),
        load_default=list,
        validate=validate.Length(max=len(rf.FACTORS)),
        metadata={"description": "the factors identified, from the child and family assessment's domains"},
    )
    other_factors = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=4000),
        metadata={"description": "factors identified that the list does not name, in words"},
    )
    started_by = fields.String(dump_only=True)
    completion = fields.Nested(CompletedAssessmentSchema, dump_only=True, allow_none=True)


class ConferenceRefSchema(Schema):
    id = fields.String()
    kind = fields.String()
    status = fields.String()


class TransferOutRecordSchema(Schema):
    receiving_council = fields.String()
    notified_on = fields.String(metadata={"format": "date"})
    started_on = fields.String(metadata={"format": "date", "description": "the day the move was recorded"})
    by = fields.String()


class TransferInRecordSchema(Schema):
    from_council = fields.Dict(metadata={"description": "code (null when notified without a package) and name"})
    notified_on = fields.String(metadata={"format": "date"})
    history_id = fields.String(metadata={"description": "the previous council's records (transfer-history)"})
    package_id = fields.String(allow_none=True)
    received_at = fields.String()
    received_by = fields.String()
    previous_plan_since = fields.String(allow_none=True, metadata={"format": "date"})
    previous_categories = fields.List(fields.String())


class CaseSchema(Schema):
    id = fields.String(attribute="_id", dump_only=True)
    child_id = fields.String()
    status = fields.String(
        metadata={
            "description": "enquiries, conference_pending, child_in_need, on_plan, plan_ended (stepped down at a review), closed (closed by its closure step, the plan ended otherwise, or the "
            "referral or its assessment led to no enquiries: see closure), transfer_in_pending (moved here, waiting for the "
            "transfer-in conference)"
        }
    )
    opened_at = fields.String()
    opened_by = fields.String()
    referral = fields.Nested(ReferralSchema, allow_none=True, metadata={"description": "null when none recorded"})
    assessment = fields.Nested(AssessmentSchema, allow_none=True, metadata={"description": "null until it starts"})
    strategy_discussions = fields.List(fields.Nested(StrategyDiscussionSchema))
    enquiry_outcome = fields.Nested(EnquiryOutcomeSchema, allow_none=True)
    conferences = fields.List(fields.Nested(ConferenceRefSchema))
    plan_id = fields.String(allow_none=True)
    step_down = fields.Nested(StepDownSchema, allow_none=True)
    closure = fields.Nested(
        ClosureSchema,
        metadata={
            "description": "a case closed by its closure step or before any enquiries: the day, and why (absent "
            "otherwise)"
        },
    )
    social_worker = fields.Nested(StaffRefSchema, allow_none=True)
    team_manager = fields.Nested(StaffRefSchema, allow_none=True)
    team = fields.String(allow_none=True)
    transfer_out = fields.Nested(
        TransferOutRecordSchema, metadata={"description": "the family's move to another council, once recorded"}
    )
    transfer_in = fields.Nested(
        TransferInRecordSchema, metadata={"description": "for a case opened by a move from another council"}
    )
    version = fields.Integer()


class EndingRefSchema(Schema):
    on = fields.String(metadata={"description": "the day the plan ended"})
    how = fields.String(
        allow_none=True,
        metadata={
            "description": "review_conference, reached_18, died, moved_to_another_council, left_the_uk or looked_after"
        },
    )


class CaseSummarySchema(Schema):
    id = fields.String(attribute="_id")
    child_id = fields.String()
    child = fields.Nested(
        ChildRefSchema, allow_none=True, metadata={"description": "who the child is, as the record holds it now"}
    )
    status = fields.String()
    opened_at = fields.String()
    social_worker = fields.Nested(StaffRefSchema, allow_none=True)
    team_manager = fields.Nested(StaffRefSchema, allow_none=True)
    team = fields.String(allow_none=True)
    plan_id = fields.String(allow_none=True)
    key_worker = fields.Nested(StaffRefSchema, allow_none=True, metadata={"description": "the plan's key worker"})
    ended = fields.Nested(
        EndingRefSchema,
        allow_none=True,
        metadata={"description": "when and how the case's plan ended; null while none has"},
    )
    version = fields.Integer()


class CaseQuerySchema(Paging):
    worker = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={
            "description": "cases a person holds as social worker, team manager or key worker of the plan in force: "
            "a user id, or me"
        },
    )
    team = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "the team's cases: a team's name, or mine (the caller's team)"},
    )
    status = fields.String(
        validate=validate.OneOf(
            [
                "enquiries",
                "conference_pending",
                "child_in_need",
                "on_plan",
                "plan_ended",
                "closed",
                "transfer_in_pending",
            ]
        )
    )
    child_id = fields.String(validate=validate.Length(min=1, max=100))


class CasePageSchema(Page):
    items = fields.List(fields.Nested(CaseSummarySchema))


# A case as the OpenAPI document shows it: the child's id is all a social worker opening it gives.
CASE_EXAMPLE = {"child_id": "5b1e0c7d9a8f4e2b8c3d6a1f0e9b7c24"}


@blp.route("")
class Cases(MethodView):
    @idempotent
    @blp.arguments(CaseCreateSchema, example=CASE_EXAMPLE)
    @blp.response(201, CaseSchema)
    @requires_role(*WRITERS)
    def post(self, body):
        access.check(body["child_id"])  # a restricted child's case is opened only by someone with need to know
        case = sl.open_case(ctx(), now=datetime.now(UTC), actor=current_principal(), **body)
        return case, {"ETag": etag(1)}

    @blp.arguments(CaseQuerySchema, location="query")
    @blp.response(200, CasePageSchema)
    @requires_role(*READERS)
    def get(self, query):
        """Cases: a person's (worker=me), a team's (team=mine), by stage or child; newest first."""
        me = current_principal()
        cases, plans = ctx().store.collection(CASES), ctx().store.collection(PLANS)
        filter_: dict = {k: query[k] for k in ("status", "child_id") if k in query}
        if "team" in query:
            filter_["team"] = (
                me.team or (staff.entry(ctx().store, me.user) or {}).get("team")
                if query["team"] == "mine"
                else query["team"]
            )
            if filter_["team"] is None:
                abort(
                    422,
                    message="you have no team",
                    errors={"query": {"team": ["your sign-in names no team; give the team's name"]}},
                )
        if "worker" in query:
            user = me.user if query["worker"] == "me" else query["worker"]
            held = {
                c["_id"] for field in ("social_worker.user", "team_manager.user") for c in cases.find({field: user})
            }
            held |= {
                p["case_id"] for p in plans.find({"key_worker_user": user, "status": {"$in": ["outline", "active"]}})
            }
            filter_["_id"] = {"$in": sorted(held)}
        filter_ = access.exclude_hidden(filter_)  # restricted children the caller may not see are left out
        page, size = query["page"], query["page_size"]
        items = cases.find(filter_, sort=[("opened_at", -1)], skip=(page - 1) * size, limit=size)
        children = {
            c["_id"]: c
            for c in ctx().store.collection(CHILDREN).find({"_id": {"$in": sorted({c["child_id"] for c in items})}})
        }
        plan_of = {
            p["_id"]: p for p in plans.find({"_id": {"$in": sorted({c["plan_id"] for c in items if c.get("plan_id")})}})
        }
        audit.record_reads(ctx().store, [("case", case["_id"], case["child_id"]) for case in items])
        out = []
        for case in items:
            child, plan = children.get(case["child_id"]), plan_of.get(case.get("plan_id"))
            in_force = plan is not None and plan["status"] != "ended"
            out.append(
                {
                    **case,
                    "child": named(child) if child else None,
                    "key_worker": {"user": plan.get("key_worker_user"), "name": plan.get("key_worker")}
                    if in_force and plan.get("key_worker")
                    else None,
                    "ended": {"on": plan["ended"].get("on"), "how": plan["ended"].get("how")}
                    if plan is not None and plan.get("ended")
                    else None,
                }
            )
        return {"items": out, "page": page, "page_size": size, "total": cases.count_documents(filter_)}


@blp.route("/<case_id>")
class CaseById(MethodView):
    @blp.response(200, CaseSchema)
    @requires_role(*READERS)
    def get(self, case_id):
        case = load(CASES, case_id, "case")
        audit.record_read(ctx().store, "case", case_id, child_id=case["child_id"])
        return case


@blp.route("/<case_id>/allocation")
class Allocation(MethodView):
    @blp.arguments(AllocationSchema)
    @blp.response(200, CaseSchema)
    @blp.alt_response(412, description="the case changed since the If-Match ETag was read")
    @blp.alt_response(428, description="If-Match is missing")
    @requires_role("team_manager")
    @requires_if_match
    def put(self, body, case_id):
        """Give the case to another social worker, team manager or team (a team manager's decision)."""
        case = load(CASES, case_id, "case")
        check_if_match(case, "case", "allocating it")
        allocated = sl.allocate_case(
            ctx(), case_id, expected_version=case["version"], actor=current_principal(), **body
        )
        return allocated, {"ETag": etag(allocated["version"])}


@blp.route("/<case_id>/visits")
class CaseVisits(MethodView):
    @idempotent
    @blp.arguments(VisitSchema)
    @blp.response(201, VisitSchema)
    @blp.alt_response(409, description="the case is on a plan (record the visit on the plan) or no longer open")
    @requires_role(*WRITERS)
    def post(self, body, case_id):
        """A visit to the child before any plan: during the referral, the assessment or the enquiries. A case on
        a plan records its visits on the plan (/v1/plans/{plan_id}/visits)."""
        load(CASES, case_id, "case")
        return sl.record_case_visit(ctx(), case_id, today=today(), actor=current_principal(), **body)


@blp.route("/<case_id>/strategy-discussions")
class StrategyDiscussions(MethodView):
    @idempotent
    @blp.arguments(StrategyDiscussionSchema)
    @blp.response(201, StrategyDiscussionSchema)
    @requires_role(*WRITERS)
    def post(self, body, case_id):
        load(CASES, case_id, "case")
        return sl.record_strategy_discussion(ctx(), case_id, today=today(), actor=current_principal(), **body)


@blp.route("/<case_id>/enquiry-outcome")
class EnquiryOutcome(MethodView):
    @blp.doc(operationId="recordEnquiryOutcome")
    @blp.arguments(EnquiryOutcomeSchema)
    @blp.response(200, CaseSchema)
    @requires_role(*WRITERS)
    def post(self, body, case_id):
        load(CASES, case_id, "case")
        return sl.record_enquiry_outcome(ctx(), case_id, today=today(), actor=current_principal(), **body)


# --- before the strategy discussion: the referral and the assessment -------------

CASE_ETAG = {"ETag": {"description": "the case's revision, for If-Match", "schema": {"type": "string"}}}


def _case_step(case_id: str, step, doing: str, body: dict) -> tuple[dict, dict]:
    """A step on the case at the revision If-Match names: the case as saved, with its ETag."""
    case = load(CASES, case_id, "case")
    check_if_match(case, "case", doing)
    try:
        after = step(ctx(), case_id, expected_version=case["version"], today=today(), actor=current_principal(), **body)
    except VersionConflict:  # another step committed after our read: the ETag is stale now
        abort(412, message=f"the case changed while {doing}; read it again")
    return after, {"ETag": etag(after["version"])}


@blp.route("/<case_id>/referral")
class Referral(MethodView):
    @idempotent
    @blp.doc(operationId="recordReferral")
    @requires_role(*WRITERS)
    @requires_if_match
    @blp.arguments(ReferralSchema)
    @blp.response(200, CaseSchema, headers=CASE_ETAG)
    @blp.alt_response(412, description="the case changed since the If-Match ETag was read")
    @blp.alt_response(428, description="If-Match is missing")
    def post(self, body, case_id):
        """Record the referral that brought the child to the council (If-Match: the case's ETag)."""
        return _case_step(case_id, sl_referral.record_referral, "recording its referral", body)


@blp.route("/<case_id>/referral/decision")
class ReferralDecision(MethodView):
    @idempotent
    @blp.doc(operationId="decideReferral")
    @requires_role(*WRITERS)
    @requires_if_match
    @blp.arguments(ReferralDecisionSchema)
    @blp.response(200, CaseSchema, headers=CASE_ETAG)
    @blp.alt_response(412, description="the case changed since the If-Match ETag was read")
    @blp.alt_response(428, description="If-Match is missing")
    def post(self, body, case_id):
        """Record the decision on the case's referral, with the reason (If-Match: the case's ETag)."""
        return _case_step(case_id, sl_referral.decide_referral, "deciding its referral", body)


@blp.route("/<case_id>/assessment")
class Assessment(MethodView):
    @idempotent
    @blp.doc(operationId="startAssessment")
    @requires_role(*WRITERS)
    @requires_if_match
    @blp.arguments(AssessmentSchema)
    @blp.response(200, CaseSchema, headers=CASE_ETAG)
    @blp.alt_response(412, description="the case changed since the If-Match ETag was read")
    @blp.alt_response(428, description="If-Match is missing")
    def post(self, body, case_id):
        """Start the assessment of the child and family, with the factors identified (If-Match: the case's ETag)."""
        return _case_step(case_id, sl_referral.start_assessment, "starting its assessment", body)


@blp.route("/<case_id>/assessment/completion")
class AssessmentCompletion(MethodView):
    @idempotent
    @blp.doc(operationId="completeAssessment")
    @requires_role(*WRITERS)
    @requires_if_match
    @blp.arguments(AssessmentCompletionSchema)
    @blp.response(200, CaseSchema, headers=CASE_ETAG)
    @blp.alt_response(412, description="the case changed since the If-Match ETag was read")
    @blp.alt_response(428, description="If-Match is missing")
    def post(self, body, case_id):
        """Record the assessment's completion, authorised by a team manager (If-Match: the case's ETag)."""
        return _case_step(case_id, sl_referral.complete_assessment, "completing its assessment", body)


@blp.route("/<case_id>/closure")
class Closure(MethodView):
    @idempotent
    @blp.doc(operationId="closeCase")
    @requires_role(*WRITERS)
    @requires_if_match
    @blp.arguments(CloseCaseSchema)
    @blp.response(200, CaseSchema, headers=CASE_ETAG)
    @blp.alt_response(409, description="the case has a plan in force, a conference scheduled, or is closed already")
    @blp.alt_response(412, description="the case changed since the If-Match ETag was read")
    @blp.alt_response(428, description="If-Match is missing")
    def post(self, body, case_id):
        """Close the case: the day and the Children in Need census's reason (RC1-RC9), with notes; refused while
        a plan is in force or a conference is scheduled (If-Match: the case's ETag). Publishes case.closed.v1."""
        return _case_step(case_id, sl_closure.close_case, "closing it", body)
