"""Families: a household's children and the people around them, and the
steps taken for several of its children at once (their cases, one strategy
discussion, the enquiries' outcomes, one conference deciding for each
child). Each child's own records are at their own resources."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from cpp_shared.auth import current_principal, requires_role
from cpp_shared.idempotency import idempotent
from cpp_shared.store import VersionConflict

from .. import access, audit
from ..domain import families as rules
from ..service_layer import families as sl
from ..service_layer.common import named
from ..store import CASES, CHILDREN, FAMILIES, FAMILY_CONFERENCES, PLANS
from .cases import USER_ID, CaseSchema, StrategyDiscussionSchema
from .common import READERS, WRITERS, PersonSchema, check_if_match, ctx, etag, load, requires_if_match, today
from .conferences import (
    DECIDERS,
    SCHEDULERS,
    AgencyViewSchema,
    CancellationSchema,
    ConferenceCancellationSchema,
    ConferenceCreateSchema,
    ConferenceRescheduleSchema,
    ConferenceSchema,
    DecisionSchema,
    ExclusionSchema,
    RescheduleSchema,
)
from .fields import IsoDate, StrictBoolean
from .plan_schemas import PlanContentSchema
from .plans import AttendeeSchema, CoreGroupMeetingSchema, PlanSchema, plan_response
from .reports import ReportContentSchema, ReportSchema, SeenSchema

blp = Blueprint("families", __name__, url_prefix="/v1", description="Families and the steps for several children")

CHILD_ID = fields.String(required=True, validate=validate.Length(min=1, max=100))
CHILDREN_OF_STEP: dict[str, Any] = dict(
    required=True,
    validate=validate.Length(min=1, max=rules.MAX_CHILDREN),
    metadata={"description": "the children of the family this step is for (child ids)"},
)
FAMILY_ETAG = {"ETag": {"description": "the family's revision, for If-Match", "schema": {"type": "string"}}}


class RelationshipSchema(Schema):
    child_id = CHILD_ID
    relationship = fields.String(required=True, validate=validate.OneOf(rules.RELATIONSHIPS))


class FamilyPersonSchema(Schema):
    id = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={"description": "the person's id in the family: given to keep a person recorded, left out for new"},
    )
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    role = fields.String(required=True, validate=validate.OneOf(rules.ROLES))
    parental_responsibility = fields.Boolean(required=True)
    first_language = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    relationships = fields.List(
        fields.Nested(RelationshipSchema),
        load_default=list,
        validate=validate.Length(max=rules.MAX_CHILDREN),
        metadata={"description": "who the person is to each child of the family"},
    )


class FamilyBodySchema(Schema):
    name = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "what the council calls the family, e.g. the Sample family"},
    )
    children = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)),
        required=True,
        validate=validate.Length(min=1, max=rules.MAX_CHILDREN),
        metadata={"description": "the family's children (ids of registered children)"},
    )
    people = fields.List(
        fields.Nested(FamilyPersonSchema), load_default=list, validate=validate.Length(max=rules.MAX_PEOPLE)
    )


class MemberCaseSchema(Schema):
    id = fields.String(attribute="_id")
    status = fields.String()
    plan_id = fields.String(allow_none=True)
    plan_status = fields.String(allow_none=True)


class MemberSchema(Schema):
    child_id = fields.String()
    child = fields.Dict(metadata={"description": "who the child is: name and date of birth"})
    case = fields.Nested(
        MemberCaseSchema, allow_none=True, metadata={"description": "the child's open case, else their latest"}
    )


class FamilyConferenceRefSchema(Schema):
    id = fields.String(attribute="_id")
    kind = fields.String()
    status = fields.String()
    scheduled_for = fields.String()


class FamilySchema(FamilyBodySchema):
    id = fields.String(attribute="_id", dump_only=True)
    created_at = fields.String(dump_only=True)
    created_by = fields.String(dump_only=True)
    version = fields.Integer(dump_only=True)
    members = fields.List(
        fields.Nested(MemberSchema), dump_only=True, metadata={"description": "each child, with their case"}
    )
    conferences = fields.List(fields.Nested(FamilyConferenceRefSchema), dump_only=True)


class FamilyListSchema(Schema):
    items = fields.List(fields.Nested(FamilySchema))


class FamilyQuerySchema(Schema):
    child_id = fields.String(required=True, validate=validate.Length(min=1, max=100))


class FamilyCasesSchema(Schema):
    children = fields.List(fields.String(validate=validate.Length(min=1, max=100)), **CHILDREN_OF_STEP)
    social_worker = fields.String(**USER_ID, metadata={"description": "as for one case"})
    team_manager = fields.String(**USER_ID, metadata={"description": "as for one case"})
    team = fields.String(validate=validate.Length(min=1, max=200))


class CaseListSchema(Schema):
    items = fields.List(fields.Nested(CaseSchema))


class FamilyDiscussionSchema(StrategyDiscussionSchema):
    children = fields.List(fields.String(validate=validate.Length(min=1, max=100)), **CHILDREN_OF_STEP)
    case_ids = fields.List(fields.String(), dump_only=True, metadata={"description": "each child's case, in order"})


class ChildOutcomeSchema(Schema):
    child_id = CHILD_ID
    conference_required = fields.Boolean(required=True)


class FamilyEnquiryOutcomesSchema(Schema):
    completed_on = IsoDate(required=True)
    summary = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=4000))
    outcomes = fields.List(
        fields.Nested(ChildOutcomeSchema),
        required=True,
        validate=validate.Length(min=1, max=rules.MAX_CHILDREN),
        metadata={"description": "for each child: whether an initial conference is needed"},
    )


class ChildReportPartSchema(Schema):
    child_id = CHILD_ID
    child_seen = fields.List(
        fields.Nested(SeenSchema),
        load_default=list,
        validate=validate.Length(max=100),
        metadata={"description": "the days this child was seen during the enquiries, and whether alone"},
    )
    childs_views = fields.String(validate=validate.Length(max=20_000), metadata={"description": "this child's views"})
    plan = fields.Nested(
        PlanContentSchema,
        metadata={"description": "this child's draft plan (initial) or plan as updated for the review (required then)"},
    )


class FamilyReportCreateSchema(Schema):
    findings = fields.String(
        required=True,
        validate=validate.Length(min=1, max=20_000),
        metadata={"description": "what the enquiries (or the plans' work) found, for the family"},
    )
    family_views = fields.String(validate=validate.Length(max=20_000))
    drafted_on = IsoDate(metadata={"description": "default today"})
    children = fields.List(
        fields.Nested(ChildReportPartSchema),
        required=True,
        validate=validate.Length(min=1, max=rules.MAX_CHILDREN),
        metadata={"description": "each child of the conference, with their own part of the report"},
    )


class FamilyReportSchema(Schema):
    id = fields.String(metadata={"description": "the family's report (each child's report names it)"})
    family_conference_id = fields.String()
    reports = fields.List(fields.Nested(ReportSchema), metadata={"description": "each child's report, in order"})


class ChildMeetingSchema(Schema):
    child_id = CHILD_ID
    detailed_plan_agreed = StrictBoolean(required=True)
    plan = fields.Nested(
        PlanContentSchema, metadata={"description": "this child's detailed plan agreed at the meeting"}
    )


class FamilyCoreGroupMeetingSchema(Schema):
    id = fields.String(dump_only=True, metadata={"description": "the shared meeting (each child's record names it)"})
    held_on = IsoDate(required=True)
    attendees = fields.List(
        fields.Nested(AttendeeSchema),
        load_default=list,
        validate=validate.Length(max=50),
        metadata={
            "description": "who attended, each child's plan's key worker among them (a 422 on attendees naming "
            "the child whose plan's key worker is not), as on one plan's meeting"
        },
    )
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=4000))
    plans = fields.List(
        fields.Nested(ChildMeetingSchema),
        required=True,
        load_only=True,
        validate=validate.Length(min=1, max=rules.MAX_CHILDREN),
        metadata={"description": "each child on a plan the core group meets about, and what it agreed for them"},
    )
    meetings = fields.List(
        fields.Nested(CoreGroupMeetingSchema), dump_only=True, metadata={"description": "each child's record of it"}
    )


class FamilyConferenceCreateSchema(ConferenceCreateSchema):
    children = fields.List(fields.String(validate=validate.Length(min=1, max=100)), **CHILDREN_OF_STEP)


class GroupMemberSchema(Schema):
    child_id = fields.String()
    case_id = fields.String()
    conference_id = fields.String()


class FamilyConferenceSchema(Schema):
    id = fields.String(attribute="_id", dump_only=True)
    family_id = fields.String()
    kind = fields.String()
    status = fields.String(metadata={"description": "scheduled or held"})
    scheduled_for = fields.String()
    scheduled_by = fields.String()
    scheduled_on = fields.String()
    children = fields.List(fields.Nested(GroupMemberSchema), metadata={"description": "each child's own conference"})
    reschedules = fields.List(fields.Nested(RescheduleSchema), metadata={"description": "every move, oldest first"})
    cancellation = fields.Nested(CancellationSchema)
    outcome = fields.Dict(allow_none=True, metadata={"description": "when held: the day, and each child's decision"})
    version = fields.Integer()


class ChildDecisionSchema(DecisionSchema):
    """One child's decision: as one child's conference outcome, for this child."""

    child_id = CHILD_ID


class FamilyConferenceOutcomeSchema(Schema):
    held_on = IsoDate(required=True)
    attendees = fields.List(fields.Nested(PersonSchema), load_default=list, validate=validate.Length(max=50))
    agency_views = fields.List(
        fields.Nested(AgencyViewSchema),
        validate=validate.Length(max=50),
        metadata={
            "description": "each agency's view, any dissent recorded in full (kept with every child's conference)"
        },
    )
    exclusions = fields.List(
        fields.Nested(ExclusionSchema),
        validate=validate.Length(max=50),
        metadata={
            "description": "a parent or carer excluded from part of the conference: who, why, who decided, which part"
        },
    )
    decisions = fields.List(
        fields.Nested(ChildDecisionSchema),
        required=True,
        validate=validate.Length(min=1, max=rules.MAX_CHILDREN),
        metadata={"description": "a decision for each child of the conference, and for no other child"},
    )


class ChildResultSchema(Schema):
    conference = fields.Nested(ConferenceSchema)
    case = fields.Nested(CaseSchema)
    plan = fields.Nested(PlanSchema, allow_none=True)


class FamilyConferenceResultSchema(Schema):
    family_conference = fields.Nested(FamilyConferenceSchema)
    children = fields.List(fields.Nested(ChildResultSchema))


def _load_family(family_id: str) -> dict:
    """The family, when the caller may see every one of its children (a restricted child's family is theirs
    to see only with need to know)."""
    family = load(FAMILIES, family_id, "family", need_to_know=False)
    for child_id in family["children"]:
        access.check(child_id)
    return family


def _members(family: dict) -> list[dict]:
    store = ctx().store
    children = {c["_id"]: c for c in store.collection(CHILDREN).find({"_id": {"$in": family["children"]}})}
    out = []
    for child_id in family["children"]:
        cases = store.collection(CASES).find({"child_id": child_id}, sort=[("opened_at", -1)])
        case = next((c for c in cases if c.get("open_key")), cases[0] if cases else None)
        plan = store.collection(PLANS).find_one({"_id": case["plan_id"]}) if case and case.get("plan_id") else None
        out.append(
            {
                "child_id": child_id,
                "child": named(children[child_id]) if child_id in children else {},
                "case": {**case, "plan_status": plan["status"] if plan else None} if case else None,
            }
        )
    return out


def _view(family: dict) -> dict:
    conferences = ctx().store.collection(FAMILY_CONFERENCES).find({"family_id": family["_id"]}, sort=[("_id", 1)])
    conferences.sort(key=lambda c: c["scheduled_for"], reverse=True)
    audit.record_reads(ctx().store, [("family", family["_id"], c) for c in family["children"]])
    return {**family, "members": _members(family), "conferences": conferences}


@blp.route("/families")
class Families(MethodView):
    @idempotent
    @blp.arguments(FamilyBodySchema)
    @blp.response(201, FamilySchema, headers=FAMILY_ETAG)
    @requires_role(*WRITERS)
    def post(self, body):
        """Record a family: its children (registered first) and the people around them."""
        for child_id in body["children"]:
            access.check(child_id)
        family = sl.record_family(ctx(), now=datetime.now(UTC), actor=current_principal(), **body)
        return _view(family), {"ETag": etag(1)}

    @blp.arguments(FamilyQuerySchema, location="query")
    @blp.response(200, FamilyListSchema)
    @requires_role(*READERS)
    def get(self, query):
        """The families a child is in."""
        access.check(query["child_id"])
        return {"items": [_view(_load_family(f["_id"])) for f in sl.families_of(ctx(), query["child_id"])]}


@blp.route("/families/<family_id>")
class FamilyById(MethodView):
    @blp.response(200, FamilySchema, headers=FAMILY_ETAG)
    @requires_role(*READERS)
    def get(self, family_id):
        family = _load_family(family_id)
        return _view(family), {"ETag": etag(family["version"])}

    @requires_role(*WRITERS)
    @requires_if_match
    @blp.arguments(FamilyBodySchema)
    @blp.response(200, FamilySchema, headers=FAMILY_ETAG)
    @blp.alt_response(412, description="the family changed since the If-Match ETag was read")
    @blp.alt_response(428, description="If-Match is missing")
    def put(self, body, family_id):
        """The family as it is now: its name, children and people (If-Match: the family's ETag)."""
        family = _load_family(family_id)
        check_if_match(family, "family", "changing it")
        for child_id in body["children"]:
            access.check(child_id)
        try:
            after = sl.change_family(
                ctx(), family_id, expected_version=family["version"], actor=current_principal(), **body
            )
        except VersionConflict:
            abort(412, message="the family changed while it was being changed; read it again")
        return _view(after), {"ETag": etag(after["version"])}


@blp.route("/families/<family_id>/cases")
class FamilyCases(MethodView):
    @idempotent
    @blp.arguments(FamilyCasesSchema)
    @blp.response(201, CaseListSchema)
    @requires_role(*WRITERS)
    def post(self, body, family_id):
        """Open a case for each of the children named, together."""
        _load_family(family_id)
        opened = sl.open_cases(ctx(), family_id, now=datetime.now(UTC), actor=current_principal(), **body)
        return {"items": opened}


@blp.route("/families/<family_id>/strategy-discussions")
class FamilyStrategyDiscussions(MethodView):
    @idempotent
    @blp.arguments(FamilyDiscussionSchema)
    @blp.response(201, FamilyDiscussionSchema)
    @requires_role(*WRITERS)
    def post(self, body, family_id):
        """One strategy discussion about the children named, recorded on each child's open case."""
        _load_family(family_id)
        return sl.record_strategy_discussion(ctx(), family_id, today=today(), actor=current_principal(), **body)


@blp.route("/families/<family_id>/enquiry-outcomes")
class FamilyEnquiryOutcomes(MethodView):
    @blp.doc(operationId="recordFamilyEnquiryOutcomes")
    @blp.arguments(FamilyEnquiryOutcomesSchema)
    @blp.response(200, CaseListSchema)
    @requires_role(*WRITERS)
    def post(self, body, family_id):
        """The enquiries' outcome for each child: an initial conference, or step-down."""
        _load_family(family_id)
        cases = sl.record_enquiry_outcomes(ctx(), family_id, today=today(), actor=current_principal(), **body)
        return {"items": cases}


@blp.route("/families/<family_id>/core-group-meetings")
class FamilyCoreGroupMeetings(MethodView):
    @idempotent
    @blp.arguments(FamilyCoreGroupMeetingSchema)
    @blp.response(201, FamilyCoreGroupMeetingSchema)
    @requires_role(*WRITERS)
    def post(self, body, family_id):
        """One core group meeting shared by several children's plans: recorded on each plan under one id."""
        _load_family(family_id)
        for item in body["plans"]:
            if "plan" in item:  # plan content as stored
                item["plan"] = PlanContentSchema().dump(item["plan"])
        return sl.record_core_group_meeting(ctx(), family_id, today=today(), actor=current_principal(), **body)


@blp.route("/families/<family_id>/conferences")
class FamilyConferences(MethodView):
    @idempotent
    @blp.arguments(FamilyConferenceCreateSchema)
    @blp.response(201, FamilyConferenceSchema)
    @requires_role(*SCHEDULERS)
    def post(self, body, family_id):
        """One conference about the children named: each child's own conference, scheduled together."""
        _load_family(family_id)
        group = sl.schedule_conference(ctx(), family_id, today=today(), actor=current_principal(), **body)
        return group, {"ETag": etag(1)}


def _load_group(group_id: str) -> dict:
    group = load(FAMILY_CONFERENCES, group_id, "family conference", need_to_know=False)
    for member in group["children"]:
        access.check(member["child_id"])
    return group


GROUP_ETAG = {"ETag": {"description": "the family conference's revision, for If-Match", "schema": {"type": "string"}}}


@blp.route("/family-conferences/<family_conference_id>")
class FamilyConferenceById(MethodView):
    @blp.response(200, FamilyConferenceSchema, headers=GROUP_ETAG)
    @requires_role(*READERS)
    def get(self, family_conference_id):
        group = _load_group(family_conference_id)
        audit.record_reads(ctx().store, [("family_conference", group["_id"], m["child_id"]) for m in group["children"]])
        return group, {"ETag": etag(group["version"])}

    @requires_role(*SCHEDULERS)
    @requires_if_match
    @blp.arguments(ConferenceRescheduleSchema)
    @blp.response(200, FamilyConferenceSchema, headers=GROUP_ETAG)
    @blp.alt_response(412, description="the family conference changed since the If-Match ETag was read")
    @blp.alt_response(428, description="If-Match is missing")
    def patch(self, body, family_conference_id):
        """Move the family conference, and each child's conference with it, to another date, with the reason."""
        group = _load_group(family_conference_id)
        check_if_match(group, "family conference", "moving it")
        try:
            moved = sl.reschedule_conference(
                ctx(),
                family_conference_id,
                expected_version=group["version"],
                today=today(),
                actor=current_principal(),
                **body,
            )
        except VersionConflict:
            abort(412, message="the family conference changed while it was being moved; read it again")
        return moved, {"ETag": etag(moved["version"])}


@blp.route("/family-conferences/<family_conference_id>/cancellation")
class FamilyConferenceCancellation(MethodView):
    @blp.doc(operationId="cancelFamilyConference")
    @requires_role(*SCHEDULERS)
    @blp.arguments(ConferenceCancellationSchema)
    @blp.response(200, FamilyConferenceSchema)
    def post(self, body, family_conference_id):
        """Cancel the family conference, and each child's conference with it."""
        _load_group(family_conference_id)
        return sl.cancel_conference(ctx(), family_conference_id, today=today(), actor=current_principal(), **body)


@blp.route("/family-conferences/<family_conference_id>/reports")
class FamilyConferenceReports(MethodView):
    @idempotent
    @blp.arguments(FamilyReportCreateSchema)
    @blp.response(201, FamilyReportSchema)
    @requires_role(*WRITERS)
    def post(self, body, family_conference_id):
        """Draft one report to the family conference: each child's report, sharing the findings and the family's
        views, each with the child's own part; each then takes its own steps (submit, countersign, share)."""
        _load_group(family_conference_id)
        content = ReportContentSchema(only=("findings", "family_views")).dump(body)  # as stored
        children = []
        for part in body["children"]:
            own = ReportContentSchema(only=("child_seen", "childs_views")).dump(part)
            if "plan" in part:
                own["plan"] = PlanContentSchema().dump(part["plan"])
            children.append({"child_id": part["child_id"], **own})
        return sl.draft_report(
            ctx(),
            family_conference_id,
            content=content,
            children=children,
            on=body.get("drafted_on") or today(),
            today=today(),
            actor=current_principal(),
        )


@blp.route("/family-conferences/<family_conference_id>/outcome")
class FamilyConferenceOutcome(MethodView):
    @idempotent
    @blp.doc(operationId="recordFamilyConferenceOutcome")
    @blp.arguments(FamilyConferenceOutcomeSchema)
    @blp.response(200, FamilyConferenceResultSchema)
    @requires_role(*DECIDERS)
    def post(self, body, family_conference_id):
        """The conference's decision for each of its children: a plan or not (initial); continue, revise or end
        (review)."""
        _load_group(family_conference_id)
        for decision in body["decisions"]:
            for field in ("outline_plan", "plan"):  # plan content as stored
                if field in decision:
                    decision[field] = PlanContentSchema().dump(decision[field])
        result = sl.record_conference_outcome(
            ctx(), family_conference_id, today=today(), actor=current_principal(), **body
        )
        return {
            **result,
            "children": [
                {**child, "plan": plan_response(child["plan"]) if child["plan"] else None}
                for child in result["children"]
            ],
        }
