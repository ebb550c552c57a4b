"""Conferences: scheduling an initial or review conference for a case,
moving it to another date or cancelling it, its invitations, a meeting that
was not quorate, recording its outcome (which creates, continues, revises or
ends the plan), and issuing its record."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from cpp_shared.auth import current_principal, requires_role
from cpp_shared.idempotency import idempotent
from cpp_shared.store import VersionConflict

from .. import audit
from ..domain import governance
from ..domain import lifecycle as lc
from ..service_layer import conferences as sl
from ..store import CASES, CONFERENCES
from .cases import CaseSchema, StaffRefSchema
from .common import READERS, PersonSchema, check_if_match, ctx, etag, load, requires_if_match, today
from .fields import IsoDate
from .plan_schemas import PlanContentSchema
from .plans import PlanSchema, plan_response

blp = Blueprint("conferences", __name__, url_prefix="/v1", description="Initial and review conferences")

SCHEDULERS = ("social_worker", "team_manager", "chair")
DECIDERS = ("chair", "team_manager")


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be blank.")


class InviteeSchema(Schema):
    """Someone invited to a conference: a professional, or a member of the family."""

    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), _not_blank])
    role = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "their role (health visitor, teacher), or who they are to the child (mother)"},
    )
    agency = fields.String(validate=validate.Length(max=200), metadata={"description": "a professional's agency"})
    email = fields.Email(
        validate=validate.Length(max=320),
        metadata={
            "description": "where the invitation (with its calendar entry) is sent; without one, nobody is emailed"
        },
    )
    is_family_member = fields.Boolean(load_default=False)


class ConferenceCreateSchema(Schema):
    kind = fields.String(
        required=True,
        validate=validate.OneOf(["initial", "review", "transfer_in"]),
        metadata={"description": "transfer_in: the conference of a case transferred in from another council"},
    )
    scheduled_for = fields.Date(required=True)
    chair = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={
            "description": "the user id of the conference's chair (a chair in the staff directory); when left out, "
            "the chair who records the outcome"
        },
    )
    mother_unfit_to_attend = fields.Boolean(
        metadata={
            "description": "a pre-birth conference only: the mother is expected to be unfit to attend a conference "
            "in the days after the birth (a deployment's rules may give the first review longer: Bromley 20 days)"
        },
    )
    invitees = fields.List(
        fields.Nested(InviteeSchema),
        validate=validate.Length(max=50),
        metadata={
            "description": "the family members and professionals invited: each is sent the invitation, and told "
            "when it moves or is cancelled (the case's social worker always is)"
        },
    )


REASON: dict[str, Any] = dict(required=True, validate=[validate.Length(min=1, max=4000), _not_blank])


class ConferenceRescheduleSchema(Schema):
    scheduled_for = IsoDate(required=True, metadata={"description": "the new date"})
    reason = fields.String(**REASON, metadata={"description": "why the conference moves"})


class ConferenceCancellationSchema(Schema):
    reason = fields.String(**REASON, metadata={"description": "why the conference is cancelled"})


TEXT: dict[str, Any] = dict(required=True, validate=[validate.Length(min=1, max=200), _not_blank])


class AgencyViewSchema(Schema):
    agency = fields.String(**TEXT, metadata={"description": "the agency whose view it is"})
    view = fields.String(
        **REASON, metadata={"description": "the agency's view of the risk and the decision, as it gave it"}
    )
    dissents = fields.Boolean(
        required=True,
        metadata={
            "description": "true when the agency disagrees with the decision: its view records the dissent in full"
        },
    )


class ExclusionSchema(Schema):
    person = fields.String(**TEXT, metadata={"description": "who was excluded (a parent or carer)"})
    reason = fields.String(**REASON, metadata={"description": "why they were excluded"})
    decided_by = fields.String(**TEXT, metadata={"description": "who decided it (the chair)"})
    part = fields.String(
        **TEXT,
        metadata={"description": "the part of the conference they were excluded from (e.g. the police's report)"},
    )


class AdvocateSchema(Schema):
    name = fields.String(**TEXT)
    organisation = fields.String(**TEXT)


class ChildParticipationSchema(Schema):
    how = fields.String(
        required=True,
        validate=validate.OneOf(governance.PARTICIPATION),
        metadata={
            "description": "attended; views_shared (the child's views were brought to the conference); advocate "
            "(an advocate spoke for the child); not_participating"
        },
    )
    wishes_and_feelings = fields.String(
        validate=validate.Length(max=4000),
        metadata={"description": "the child's wishes and feelings, as the conference heard them"},
    )
    advocate = fields.Nested(
        AdvocateSchema,
        allow_none=True,
        metadata={
            "description": "who the advocate was: required when how is advocate, and may be given with any other"
        },
    )


GOVERNANCE_LISTS: dict[str, Any] = dict(validate=validate.Length(max=50))


class DecisionSchema(Schema):
    """What a conference decides for a child."""

    child_participation = fields.Nested(
        ChildParticipationSchema, metadata={"description": "how the child took part, their wishes and feelings"}
    )

    plan_required = fields.Boolean(
        metadata={"description": "initial or transfer-in conference: whether the child needs a plan"}
    )
    outline_plan = fields.Nested(
        PlanContentSchema, metadata={"description": "initial or transfer-in conference: the outline plan"}
    )
    decision = fields.String(
        validate=validate.OneOf(lc.REVIEW_DECISIONS),
        metadata={"description": "review conference: continue, revise or end the plan"},
    )
    plan = fields.Nested(
        PlanContentSchema, metadata={"description": "review conference that revises: the revised plan"}
    )
    reason = fields.String(
        validate=[validate.Length(min=1, max=4000), _not_blank],
        metadata={"description": "review conference that ends the plan: why it ends (kept with the plan's ending)"},
    )

    @validates_schema
    def one_kind_of_outcome(self, data, **kwargs):
        if "plan_required" in data and "decision" in data:
            raise ValidationError("give plan_required (initial) or decision (review), not both", "decision")
        if "plan_required" not in data and "decision" not in data:
            raise ValidationError(
                "an initial conference decides plan_required; a review conference a decision", "plan_required"
            )


class ConferenceOutcomeSchema(DecisionSchema):
    held_on = fields.Date(required=True)
    attendees = fields.List(
        fields.Nested(PersonSchema),
        load_default=list,
        validate=validate.Length(max=50),
        metadata={
            "description": "who attended, each with their agency: fewer agencies than the deployment's quorum "
            "(cpp_conference_quorum) is refused; record the meeting as not quorate instead"
        },
    )
    agency_views = fields.List(
        fields.Nested(AgencyViewSchema),
        **GOVERNANCE_LISTS,
        metadata={"description": "each agency's view, any dissent from the decision recorded in full"},
    )
    exclusions = fields.List(
        fields.Nested(ExclusionSchema),
        **GOVERNANCE_LISTS,
        metadata={
            "description": "a parent or carer excluded from part of the conference: who, why, who decided, "
            "from which part"
        },
    )


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


class InvitationsSchema(Schema):
    sent_on = IsoDate(
        required=True,
        metadata={
            "description": "the day the invitations went out: not after the day of the conference, not in the future"
        },
    )


class InvitationsSentSchema(Schema):
    sent_on = fields.String(metadata={"format": "date", "description": "the day they went out"})
    for_ = fields.String(
        data_key="for", attribute="for", metadata={"format": "date", "description": "the day they invited people to"}
    )
    notice_days = fields.Integer(metadata={"description": "calendar days from sending to the conference"})
    by = fields.String(metadata={"description": "who recorded it"})
    recorded_on = fields.String(metadata={"format": "date"})


class InquorateMeetingSchema(Schema):
    met_on = IsoDate(required=True, metadata={"description": "the day the conference met without a quorum"})
    reason = fields.String(
        **REASON, metadata={"description": "why it was not quorate: which agencies could not attend"}
    )
    scheduled_for = IsoDate(
        required=True, metadata={"description": "the day it is reconvened: after the meeting that was not quorate"}
    )


class InquorateRecordSchema(Schema):
    met_on = fields.String(metadata={"format": "date"})
    reason = fields.String()
    reconvened_for = fields.String(metadata={"format": "date", "description": "the day it was moved to"})
    by = fields.String()
    recorded_on = fields.String(metadata={"format": "date"})


class RecordIssueSchema(Schema):
    issued_on = IsoDate(
        required=True,
        metadata={
            "description": "the day the record went to those invited: not before the conference was held, "
            "not in the future"
        },
    )


class RecordIssuedSchema(Schema):
    on = fields.String(metadata={"format": "date", "description": "the day it was issued"})
    by = fields.String(metadata={"description": "who recorded it"})
    recorded_on = fields.String(metadata={"format": "date"})


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
    invitees = fields.List(
        fields.Nested(InviteeSchema), metadata={"description": "those invited when it was scheduled"}
    )
    reschedules = fields.List(fields.Nested(RescheduleSchema), metadata={"description": "every move, oldest first"})
    cancellation = fields.Nested(CancellationSchema)
    invitations = fields.List(
        fields.Nested(InvitationsSentSchema),
        metadata={"description": "each sending of the invitations, oldest first (again after a move)"},
    )
    inquorate = fields.List(
        fields.Nested(InquorateRecordSchema),
        metadata={"description": "each meeting that was not quorate and so decided nothing, oldest first"},
    )
    outcome = fields.Dict(allow_none=True)
    record_issued = fields.Nested(
        RecordIssuedSchema,
        metadata={"description": "when the held conference's record (decisions, outline plan) was issued"},
    )
    pre_birth = fields.Boolean(
        metadata={"description": "true for a pre-birth conference: an initial conference about an unborn child"}
    )
    expected_date_of_birth = fields.String(
        metadata={"format": "date", "description": "the unborn child's expected date of birth (with pre_birth)"}
    )
    mother_unfit_to_attend = fields.Boolean(
        metadata={
            "description": "a pre-birth conference's: the mother is expected to be unfit to attend after the birth"
        }
    )
    family_conference_id = fields.String(
        metadata={
            "description": "when this conference is one child's part of a family conference: that conference, "
            "which is moved, cancelled and held instead of this one"
        }
    )
    version = fields.Integer(metadata={"description": "the record's revision, as in its ETag"})


class ConferenceCancellationResultSchema(Schema):
    conference = fields.Nested(ConferenceSchema)
    case = fields.Nested(CaseSchema)


class ConferenceOutcomeResultSchema(Schema):
    conference = fields.Nested(ConferenceSchema)
    case = fields.Nested(CaseSchema)
    plan = fields.Nested(PlanSchema, allow_none=True)


@blp.route("/cases/<case_id>/conferences")
class CaseConferences(MethodView):
    @idempotent
    @blp.arguments(ConferenceCreateSchema)
    @blp.response(201, ConferenceSchema)
    @requires_role(*SCHEDULERS)
    def post(self, body, case_id):
        load(CASES, case_id, "case")
        conference = sl.schedule_conference(ctx(), case_id, today=today(), actor=current_principal(), **body)
        return conference, {"ETag": etag(1)}


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
        try:
            moved = sl.reschedule_conference(
                ctx(),
                conference_id,
                expected_version=conference["version"],
                today=today(),
                actor=current_principal(),
                **body,
            )
        except VersionConflict:  # another step committed after our read: the ETag is stale now
            abort(412, message="the conference changed while it was being moved; read it again")
        return moved, {"ETag": etag(moved["version"])}


@blp.route("/conferences/<conference_id>/cancellation")
class ConferenceCancellation(MethodView):
    @blp.doc(operationId="cancelConference")
    @requires_role(*SCHEDULERS)
    @blp.arguments(ConferenceCancellationSchema)
    @blp.response(200, ConferenceCancellationResultSchema)
    def post(self, body, conference_id):
        """Cancel a scheduled conference; another can then be scheduled in its place."""
        load(CONFERENCES, conference_id, "conference")
        return sl.cancel_conference(ctx(), conference_id, today=today(), actor=current_principal(), **body)


@blp.route("/conferences/<conference_id>/outcome")
class ConferenceOutcome(MethodView):
    @idempotent
    @blp.doc(operationId="recordConferenceOutcome")
    @blp.arguments(ConferenceOutcomeSchema)
    @blp.response(200, ConferenceOutcomeResultSchema)
    @requires_role(*DECIDERS)
    def post(self, body, conference_id):
        load(CONFERENCES, conference_id, "conference")
        for field in ("outline_plan", "plan"):  # plan content as stored
            if field in body:
                body[field] = PlanContentSchema().dump(body[field])
        outcome = sl.record_conference_outcome(ctx(), conference_id, today=today(), actor=current_principal(), **body)
        return {**outcome, "plan": plan_response(outcome["plan"]) if outcome["plan"] else None}


@blp.route("/conferences/<conference_id>/invitations")
class ConferenceInvitations(MethodView):
    @idempotent
    @blp.doc(operationId="recordConferenceInvitations")
    @blp.arguments(InvitationsSchema)
    @blp.response(201, ConferenceSchema, headers=ETAG_HEADER)
    @requires_role(*SCHEDULERS)
    def post(self, body, conference_id):
        """Record that the invitations to a scheduled conference went out (the notice those invited had)."""
        load(CONFERENCES, conference_id, "conference")
        conference = sl.record_invitations(ctx(), conference_id, today=today(), actor=current_principal(), **body)
        return conference, {"ETag": etag(conference["version"])}


@blp.route("/conferences/<conference_id>/inquorate-meetings")
class ConferenceInquorateMeetings(MethodView):
    @blp.doc(operationId="recordInquorateMeeting")
    @requires_role(*SCHEDULERS)
    @requires_if_match
    @blp.arguments(InquorateMeetingSchema)
    @blp.response(200, ConferenceSchema, headers=ETAG_HEADER)
    @blp.alt_response(412, description="the conference changed since the If-Match ETag was read")
    @blp.alt_response(428, description="If-Match is missing")
    def post(self, body, conference_id):
        """Record that the conference met without a quorum, so decided nothing, and the day it is reconvened
        (If-Match required: it moves the conference, and a retry with the old ETag is a 412)."""
        conference = load(CONFERENCES, conference_id, "conference")
        check_if_match(conference, "conference", "reconvening it")
        try:
            moved = sl.record_inquorate_meeting(
                ctx(),
                conference_id,
                expected_version=conference["version"],
                today=today(),
                actor=current_principal(),
                **body,
            )
        except VersionConflict:
            abort(412, message="the conference changed while it was being reconvened; read it again")
        return moved, {"ETag": etag(moved["version"])}


@blp.route("/conferences/<conference_id>/record-issue")
class ConferenceRecordIssue(MethodView):
    @idempotent
    @blp.doc(operationId="issueConferenceRecord")
    @blp.arguments(RecordIssueSchema)
    @blp.response(201, ConferenceSchema, headers=ETAG_HEADER)
    @requires_role(*SCHEDULERS)
    def post(self, body, conference_id):
        """Record that the held conference's record (its decisions, and the outline plan where it made one) was
        issued to those invited. Once: a second time is a 409."""
        load(CONFERENCES, conference_id, "conference")
        conference = sl.issue_record(ctx(), conference_id, today=today(), actor=current_principal(), **body)
        return conference, {"ETag": etag(conference["version"])}
