"""The event catalogue: every event type the platform publishes, its
producer, its subject and its data, and the AsyncAPI document made from it.

One registry (``CATALOGUE``) of :class:`EventType`: the type (also the AMQP
routing key), the producing service, a one-line summary, what the
CloudEvent ``subject`` is, and the data's schema as a marshmallow Schema.
Every data field says what class of information it is, in its metadata
under ``x-cpp-class`` (kept in the AsyncAPI document, and read by
``field_classes``), so that the notify service can send each partner only
the classes it may receive:

* ``identifier``: an opaque id of a record (case, plan, conference...),
  the user id of whoever acted, or the id of a configured rule or route;
* ``status``: a state, a kind, a yes/no, a count or a fixed label from the
  platform or from the deployment's configuration (a deadline's name);
* ``date``: a day or a moment;
* ``contact``: whom to call: a professional's name, an organisation;
* ``personal_identifier``: what identifies the child to another agency's
  own records (the NHS number, the date of birth), for a partner whose
  sharing agreement includes identifiers (never in the default scope);
* ``narrative``: free text, and anything that contains free text: a reason,
  the plan's content. Anything written about the child or family is
  narrative; free text that is not (a rule's cited source) is classed
  narrative too, as the class is the one partners get last.

A nested object's own field has no class: each of its fields has one. The
data schemas are closed (unknown fields are refused, ``additionalProperties:
false`` in the document): a field added to an event is added here in the
same change, and ``tests/services/test_event_catalogue.py`` walks the
services and checks every event they publish against this catalogue.
Removing, renaming or retyping a field is a new version of the type
(``...v2``), published beside the old one while consumers move.

The AsyncAPI 3.0 document (``asyncapi_document``) has one channel per event
type, whose address is the routing key, with the AMQP channel binding
``is: routingKey`` on the exchange ``cpp.events``. That is how AsyncAPI 3.0
models a topic exchange: the AMQP binding makes a channel's address its
routing key, and the generators, the validators and the HTML/Markdown
renderers take one channel as one address, listing its messages as what
may arrive there. One channel for the whole exchange would give every
routing key the same address and so break the binding's meaning, and would
leave consumers unable to say which key carries which message. Each channel
carries exactly its one message; each has a ``send`` operation (the
platform publishes). The AMQP ``deliveryMode: 2`` (persistent) is in the
operation bindings, where AsyncAPI's AMQP bindings define it; the message
bindings name the event type.

Each consuming service's queue (``topology.SUBSCRIPTIONS``) is a channel too,
``queue.<service>``, with the binding ``is: queue`` and the queue as the
topology declares it; its messages are every type its patterns route to it
(``consumers``), and the service's ``receive`` operation
(``receive.<service>``, ``ack: true``) lists them. The exchange and the
queues are in the deployment's virtual host, the one its broker URL names
(``cpp_shared.messaging.topology.broker_vhost``). The document has no
``servers``: the broker is each deployment's own and internal; partners
receive the same events, minimised, as webhooks from the notify service.

Each message's payload is the whole CloudEvents 1.0 envelope in structured
JSON mode (``application/cloudevents+json``), its ``data`` the event's
schema, converted from marshmallow by apispec's MarshmallowPlugin into
``components.schemas`` (JSON Schema draft 07, as AsyncAPI schemas are).
"""

from __future__ import annotations

import builtins
import copy
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, ClassVar

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from .. import census_codes
from .topology import (
    EXCHANGE_NAME,
    MAIN_QUEUE_OPTIONS,
    SUBSCRIPTIONS,
    TYPE_PATTERN,
    main_queue_name,
    parked_queue_name,
    routes,
)

CLASS_KEY = "x-cpp-class"
FIELD_CLASSES = ("identifier", "status", "date", "contact", "personal_identifier", "narrative")
ENVELOPE_CONTENT_TYPE = "application/cloudevents+json"
AMQP_BINDING_VERSION = "0.3.0"
SUPPORTED_VERSIONS = ("3.0.0",)


# --- fields -------------------------------------------------------------


def _meta(cls: str, description: str) -> dict[str, str]:
    return {"description": description, CLASS_KEY: cls}


def _identifier(description: str, **kw: Any) -> fields.Field:
    kw.setdefault("required", True)
    return fields.String(metadata=_meta("identifier", description), **kw)


def _status(description: str, field: type[fields.Field] = fields.String, **kw: Any) -> fields.Field:
    kw.setdefault("required", True)
    if field is fields.Integer:
        kw.setdefault("strict", True)
    return field(metadata=_meta("status", description), **kw)


def _day(description: str, **kw: Any) -> fields.Field:
    kw.setdefault("required", True)
    return fields.Date(metadata=_meta("date", description), **kw)


def _moment(description: str, **kw: Any) -> fields.Field:
    kw.setdefault("required", True)
    return fields.DateTime(metadata=_meta("date", description), **kw)


def _contact(description: str, **kw: Any) -> fields.Field:
    kw.setdefault("required", True)
    return fields.String(metadata=_meta("contact", description), **kw)


def _personal(description: str, field: type[fields.Field] = fields.String, **kw: Any) -> fields.Field:
    kw.setdefault("required", True)
    return field(metadata=_meta("personal_identifier", description), **kw)


def _narrative(description: str, field: type[fields.Field] = fields.String, **kw: Any) -> fields.Field:
    kw.setdefault("required", True)
    return field(metadata=_meta("narrative", description), **kw)


def _nested(schema: type[Schema], description: str, **kw: Any) -> fields.Field:
    kw.setdefault("required", True)
    return fields.Nested(schema, metadata={"description": description}, **kw)


def _one_of(*values: str) -> validate.OneOf:
    return validate.OneOf(values)


class EventData(Schema):
    """An event's data, or an object inside it: closed (unknown fields are
    refused), every field present (null when it has no value) unless it is
    marked not required."""

    class Meta:
        unknown = RAISE

    # Extra JSON Schema keywords for this schema's component (conditions the
    # converter cannot express), checked on load by the schema's own validators.
    json_schema_extra: ClassVar[dict[str, Any]] = {}


CASE_ID = "the case (the child protection episode)"
CHILD_ID = "the child's record in the plans service"
PLAN_ID_OR_NULL = "the case's plan; null before the initial conference decides on one"
CONFERENCE_KINDS = ("initial", "review", "transfer_in")
REVIEW_DECISIONS = ("continue", "revise", "end")
PLAN_STATUSES = ("outline", "active", "ended")
DEADLINE_STATUSES = ("pending", "approaching", "overdue", "met", "cancelled", "superseded")
STAFF_ROLES = ("social_worker", "team_manager", "chair", "admin")
#: The Children in Need census's codes: who referred (ReferralSource) and why a case closed (ReasonForClosure).
REFERRAL_SOURCE_CODES = tuple(census_codes.REFERRAL_SOURCE)
CLOSURE_REASONS = tuple(census_codes.CLOSURE_REASON)


class ChildNamed(EventData):
    name = _narrative(
        "the child's name as the record holds it when the event is made (the preferred name when "
        "recorded): it identifies the child, so narrative"
    )
    date_of_birth = _personal(
        "the date of birth (or the expected one, for an unborn child)", fields.Date, allow_none=True
    )
    nhs_number = _personal("the child's NHS number; null when the record has none", allow_none=True, required=False)


CHILD_NAMED = (
    "who the child is, as the record holds it when the event is made: name, date of birth and NHS "
    "number; null when the child is not registered with the plans service. A partner receives the "
    "date of birth and NHS number only with personal_identifier in its scope, the name never."
)


class AboutAChild(EventData):
    """An event about a child carries who the child is, so that every
    service names them without asking the plans service."""

    child = _nested(ChildNamed, CHILD_NAMED, allow_none=True, required=False)


class StaffRef(EventData):
    user = _identifier("the member of staff's user id")
    name = _contact("their name, as the staff directory held it when the record was made")


STAFF_REF = "a reference to a member of staff (user id and name); null when nobody is"


# --- plans: staff -------------------------------------------------------------


class StaffUpdatedV1(EventData):
    """A member of staff as the directory now holds them: recorded from their
    identity token's claims the first time it reached the plans service and
    whenever they change, or by an admin."""

    user = _identifier("the user id (the tokens' sub)")
    name = _contact("their display name (the name claim); null when their tokens name nobody", allow_none=True)
    email = _contact("their email address (the email claim); null when unknown", allow_none=True)
    team = _contact("their team (the team claim); null when unknown", allow_none=True)
    role = _status(
        "their role (with several, the first of roles)",
        validate=_one_of("social_worker", "team_manager", "chair", "auditor", "admin"),
    )
    roles = _status(
        "every role they hold, role first (absent from events made before people held several)",
        fields.List,
        cls_or_instance=fields.String(validate=_one_of("social_worker", "team_manager", "chair", "auditor", "admin")),
        required=False,
    )
    manager = _identifier("their manager's user id (the manager claim); null when unknown", allow_none=True)
    phone = _contact("their direct phone number, as an admin recorded it; null when unknown", allow_none=True)


# --- plans: cases and conferences -----------------------------------------


class CaseOpenedV1(AboutAChild):
    case_id = _identifier(CASE_ID)
    child_id = _identifier(CHILD_ID)
    opened_at = _moment("when the case was opened")
    social_worker = _nested(StaffRef, "the case's social worker: " + STAFF_REF, allow_none=True, required=False)
    team_manager = _nested(StaffRef, "the case's team manager: " + STAFF_REF, allow_none=True, required=False)
    team = _contact("the team that holds the case; null when not known", allow_none=True, required=False)


class CaseAllocatedV1(AboutAChild):
    """The case's social worker, team manager or team changed."""

    case_id = _identifier(CASE_ID)
    child_id = _identifier(CHILD_ID)
    plan_id = _identifier(PLAN_ID_OR_NULL, allow_none=True)
    social_worker = _nested(StaffRef, "the case's social worker: " + STAFF_REF, allow_none=True)
    team_manager = _nested(StaffRef, "the case's team manager: " + STAFF_REF, allow_none=True)
    team = _contact("the team that holds the case; null when not known", allow_none=True)


class CaseClosedV1(AboutAChild):
    """A case was closed by its closure step: the day, and the census's reason (its notes stay with the case)."""

    case_id = _identifier(CASE_ID)
    child_id = _identifier(CHILD_ID)
    closed_on = _day("the day the case closed")
    reason = _status(
        "why, as the Children in Need census's ReasonForClosure code (RC1 adopted ... RC9 closed after assessment, "
        "referred to early help)",
        validate=_one_of(*CLOSURE_REASONS),
    )
    by = _nested(StaffRef, "who closed it: " + STAFF_REF)


class StrategyDiscussionHeldV1(AboutAChild):
    case_id = _identifier(CASE_ID)
    child_id = _identifier(CHILD_ID)
    strategy_discussion_id = _identifier("the strategy discussion, within its case")
    held_on = _day("the day the strategy discussion was held")
    initiated_enquiries = _status(
        "whether this discussion started the enquiries (section 47 in England)", fields.Boolean
    )
    pre_birth = _status(
        "true when the child is unborn (recorded by expected date of birth); absent otherwise",
        fields.Boolean,
        required=False,
    )
    expected_date_of_birth = _personal(
        "an unborn child's expected date of birth (with pre_birth); absent otherwise", fields.Date, required=False
    )


class EnquiryCompletedV1(AboutAChild):
    case_id = _identifier(CASE_ID)
    child_id = _identifier(CHILD_ID)
    completed_on = _day("the day the enquiries were completed")
    conference_required = _status(
        "true: an initial conference follows; false: the child steps down to a child in need plan", fields.Boolean
    )


REFERRAL_SOURCES = ("police", "school", "health", "family", "self", "other_agency", "anonymous", "other")
REFERRAL_DECISIONS = ("no_further_action", "early_help", "assessment", "strategy_discussion", "other")
ASSESSMENT_OUTCOMES = ("no_further_action", "early_help", "child_in_need_plan", "strategy_discussion", "other")
REFERRAL_RECEIVED_ON = "the day the referral reached the council (what its timescales count from)"


class ReferralReceivedV1(AboutAChild):
    """The referral that brought the child to the council was recorded on their case."""

    case_id = _identifier(CASE_ID)
    child_id = _identifier(CHILD_ID)
    received_on = _day(REFERRAL_RECEIVED_ON)
    source = _status("who referred the child", validate=_one_of(*REFERRAL_SOURCES))
    source_code = _status(
        "who referred the child, as the Children in Need census's ReferralSource code (one that source allows); "
        "null when not given, absent from events made before it was carried",
        validate=_one_of(*REFERRAL_SOURCE_CODES),
        allow_none=True,
        required=False,
    )


class ReferralDecidedV1(AboutAChild):
    """The council decided what follows a referral (the reason stays with the case)."""

    case_id = _identifier(CASE_ID)
    child_id = _identifier(CHILD_ID)
    received_on = _day(REFERRAL_RECEIVED_ON)
    decided_on = _day("the day the referral was decided on")
    decision = _status(
        "what follows: strategy_discussion is a strategy discussion (section 47 enquiries in England)",
        validate=_one_of(*REFERRAL_DECISIONS),
    )


class AssessmentStartedV1(AboutAChild):
    """The assessment of the child and family started (its factors stay with the case)."""

    case_id = _identifier(CASE_ID)
    child_id = _identifier(CHILD_ID)
    received_on = _day(REFERRAL_RECEIVED_ON)
    started_on = _day("the day the assessment started")


class AssessmentCompletedV1(AboutAChild):
    """The assessment of the child and family was completed and authorised by a team manager."""

    case_id = _identifier(CASE_ID)
    child_id = _identifier(CHILD_ID)
    received_on = _day(REFERRAL_RECEIVED_ON)
    started_on = _day("the day the assessment started")
    completed_on = _day("the day the assessment was completed")
    outcome = _status("what the assessment concluded", validate=_one_of(*ASSESSMENT_OUTCOMES))
    authorised_by = _nested(StaffRef, "the team manager who authorised it: " + STAFF_REF)


class _ConferenceBase(AboutAChild):
    conference_id = _identifier("the conference")
    case_id = _identifier(CASE_ID)
    child_id = _identifier(CHILD_ID)
    kind = _status(
        "initial, review, or transfer_in (a case transferred in from another council; it decides as an initial "
        "conference does)",
        validate=_one_of(*CONFERENCE_KINDS),
    )
    chair = _nested(StaffRef, "the conference's chair: " + STAFF_REF, allow_none=True, required=False)
    pre_birth = _status(
        "true for a pre-birth conference: an initial conference about a child still unborn when it was scheduled "
        "(conference.scheduled.v1) or held (conference.held.v1); absent otherwise, and from the other "
        "conference events",
        fields.Boolean,
        required=False,
    )
    expected_date_of_birth = _personal(
        "the unborn child's expected date of birth (with pre_birth); absent otherwise", fields.Date, required=False
    )
    family_conference_id = _identifier(
        "the family conference this child's conference is part of (brothers and sisters conferenced together); "
        "absent for a conference about one child",
        required=False,
    )


class InvitedProfessional(EventData):
    name = _contact("their name")
    role = _contact("their role (health visitor, teacher...)")
    agency = _contact("their agency; null when not given", allow_none=True)
    email = _contact("their work email address; null when not given", allow_none=True)


class InvitedFamilyMember(EventData):
    name = _narrative("the family member's name: it identifies the family, so narrative")
    role = _narrative("who they are to the child (mother, grandfather...)")
    email = _personal("their own email address; null when not given", allow_none=True)


class _Invited(_ConferenceBase):
    invitees = fields.List(
        fields.Nested(InvitedProfessional),
        required=False,
        metadata=_meta(
            "contact", "the professionals invited (whom to call), as named when it was scheduled; absent when none"
        ),
    )
    family_invitees = fields.List(
        fields.Nested(InvitedFamilyMember),
        required=False,
        metadata=_meta(
            "narrative",
            "the family members invited, as named when it was scheduled: their names and own addresses are about "
            "the family (an address is personal), so the list is narrative; absent when none",
        ),
    )


class ConferenceScheduledV1(_Invited):
    scheduled_for = _day("the day the conference is scheduled for")
    plan_id = _identifier(PLAN_ID_OR_NULL, allow_none=True)


class ConferenceRescheduledV1(_Invited):
    scheduled_for = _day("the new day")
    previous_scheduled_for = _day("the day it was scheduled for before this move")
    reason = _narrative("why it moved, as written by the person who moved it")
    plan_id = _identifier(PLAN_ID_OR_NULL, allow_none=True)


class ConferenceCancelledV1(_Invited):
    scheduled_for = _day("the day it had been scheduled for")
    reason = _narrative("why it was cancelled, as written by the person who cancelled it")
    plan_id = _identifier(PLAN_ID_OR_NULL, allow_none=True)


class ConferenceInvitationsSentV1(_ConferenceBase):
    scheduled_for = _day("the day of the conference the invitations invite people to")
    sent_on = _day("the day the invitations went out")
    notice_days = _status(
        "calendar days from the invitations going out to the conference: the notice those invited had",
        fields.Integer,
    )


class ConferenceInquorateV1(_ConferenceBase):
    met_on = _day("the day the conference met without a quorum, and so decided nothing")
    reason = _narrative("why it was not quorate, as written by the person who recorded it")
    scheduled_for = _day("the day it is reconvened (conference.rescheduled.v1 follows, with the move)")
    plan_id = _identifier(PLAN_ID_OR_NULL, allow_none=True)


class ConferenceRecordIssuedV1(_ConferenceBase):
    held_on = _day("the day the conference was held")
    issued_on = _day("the day its record (decisions, and the outline plan where it made one) went to those invited")
    plan_id = _identifier(
        "the plan the conference decided on or reviewed; null when it decided that no plan is needed", allow_none=True
    )


class ConferenceQuorum(EventData):
    agencies = _status("how many agencies the attendees came from", fields.Integer, validate=validate.Range(min=0))
    min_agencies = _status("how many the deployment needs (cpp_conference_quorum)", fields.Integer)
    quorate = _status("whether it was quorate (always true: an outcome that was not is refused)", fields.Boolean)
    source = _narrative("where the deployment's quorum comes from, as its plugin cites it")


_INITIAL_ONLY = ("plan_required", "first_core_group_on")
_DECIDES_ON_A_PLAN = ("initial", "transfer_in")  # the kinds that decide whether a plan is needed
_REVIEW_ONLY = ("decision",)


class ConferenceHeldV1(_ConferenceBase):
    held_on = _day("the day the conference was held")
    plan_id = _identifier(
        "initial: the plan it decided on, null when no plan; review: the plan reviewed", allow_none=True
    )
    plan_required = _status(
        "initial conferences only: whether the child needs a child protection plan", fields.Boolean, required=False
    )
    first_core_group_on = _day(
        "initial conferences only: the day set for the first core group meeting, null when not set or no plan",
        allow_none=True,
        required=False,
    )
    decision = _status(
        "review conferences only: continue, revise or end the plan", required=False, validate=_one_of(*REVIEW_DECISIONS)
    )
    attendees = _narrative(
        "who attended: each {name, role, agency}; absent when none was recorded. Parents attend conferences, so the "
        "list is narrative as a whole, not contact.",
        fields.List,
        cls_or_instance=fields.Dict(),
        required=False,
    )
    quorum = _nested(
        ConferenceQuorum,
        "the agencies that attended against the deployment's quorum; absent where the deployment has no quorum rule",
        required=False,
    )
    agency_views = _narrative(
        "each agency's view: {agency, view, dissents}, any dissent from the decision recorded in full; absent when "
        "none was recorded",
        fields.List,
        cls_or_instance=fields.Dict(),
        required=False,
    )
    exclusions = _narrative(
        "each parent or carer excluded from part of the conference: {person, reason, decided_by, part}; absent when "
        "nobody was",
        fields.List,
        cls_or_instance=fields.Dict(),
        required=False,
    )
    child_participation = _narrative(
        "how the child took part: {how (attended, views_shared, advocate or not_participating), wishes_and_feelings, "
        "advocate ({name, organisation} or null)}; absent when not recorded",
        fields.Dict,
        required=False,
    )

    json_schema_extra: ClassVar[dict[str, Any]] = {
        "if": {"properties": {"kind": {"enum": list(_DECIDES_ON_A_PLAN)}}},
        "then": {"required": list(_INITIAL_ONLY), "not": {"required": list(_REVIEW_ONLY)}},
        "else": {"required": list(_REVIEW_ONLY), "not": {"anyOf": [{"required": [name]} for name in _INITIAL_ONLY]}},
    }

    @validates_schema
    def _fields_of_its_kind(self, data: dict[str, Any], **kwargs: Any) -> None:
        needed, refused = (
            (_INITIAL_ONLY, _REVIEW_ONLY) if data.get("kind") in _DECIDES_ON_A_PLAN else (_REVIEW_ONLY, _INITIAL_ONLY)
        )
        errors = {name: ["Missing data for required field."] for name in needed if name not in data}
        errors.update({name: [f"Not in a {data.get('kind')} conference's event."] for name in refused if name in data})
        if errors:
            raise ValidationError(errors)


# --- plans: families -------------------------------------------------------
# For the platform's own services (docs addresses the family's letters),
# never for partners: partners count children, not families.

FAMILY_ID = "the family (a household's children and the people around them)"
FAMILY_RELATIONSHIPS = (
    "mother",
    "father",
    "parent",
    "step_parent",
    "foster_carer",
    "kinship_carer",
    "grandparent",
    "other_relative",
    "other",
)


class FamilyRelationship(EventData):
    child_id = _identifier(CHILD_ID)
    relationship = _status("who the person is to the child", validate=_one_of(*FAMILY_RELATIONSHIPS))


class FamilyPerson(EventData):
    id = _identifier("the person, within the family")
    name = _narrative("the person's name")
    role = _status("parent, carer or other", validate=_one_of("parent", "carer", "other"))
    parental_responsibility = _status("whether they have parental responsibility", fields.Boolean)
    first_language = _narrative("their first language, when recorded", allow_none=True, required=False)
    relationships = fields.List(
        fields.Nested(FamilyRelationship), required=True, metadata=_meta("status", "who they are to each child")
    )


class FamilyRecordedV1(EventData):
    family_id = _identifier(FAMILY_ID)
    name = _narrative("the family's name, as the council calls it (e.g. the Sample family)")
    children = fields.List(fields.String(), required=True, metadata=_meta("identifier", "the family's children"))
    people = fields.List(
        fields.Nested(FamilyPerson),
        required=True,
        metadata=_meta("narrative", "the people around the children: who they are is about the family"),
    )


class FamilyConferenceChild(AboutAChild):
    child_id = _identifier(CHILD_ID)
    case_id = _identifier(CASE_ID)
    conference_id = _identifier("this child's conference")
    plan_required = _status("initial: whether this child needs a child protection plan", fields.Boolean, required=False)
    decision = _status(
        "review: continue, revise or end this child's plan", required=False, validate=_one_of(*REVIEW_DECISIONS)
    )
    plan_id = _identifier("the child's plan decided on or reviewed; null when none", allow_none=True)
    categories = fields.List(
        fields.String(),
        required=True,
        metadata=_meta("status", "the categories of the child's plan, as the deployment codes them; empty when none"),
    )
    first_core_group_on = _day("the first core group meeting, when set", allow_none=True)
    key_worker = _nested(StaffRef, "the plan's key worker: " + STAFF_REF, allow_none=True)
    step_down = _status("where a child with no plan goes (child_in_need_plan); null otherwise", allow_none=True)


class FamilyConferenceHeldV1(EventData):
    family_id = _identifier(FAMILY_ID)
    family_conference_id = _identifier("the family conference")
    family_name = _narrative("the family's name")
    kind = _status("initial or review", validate=_one_of(*CONFERENCE_KINDS))
    held_on = _day("the day the conference was held")
    people = fields.List(
        fields.Nested(FamilyPerson),
        required=True,
        metadata=_meta("narrative", "the people around the children, as the family is recorded (letters address them)"),
    )
    children = fields.List(
        fields.Nested(FamilyConferenceChild),
        required=True,
        metadata=_meta("narrative", "each child of the conference and what was decided for them"),
    )


# --- plans: transfers between councils ------------------------------------------


class CouncilRef(EventData):
    code = _identifier(
        "the council's authority code on the platform; null when not known (a notification without a package)",
        allow_none=True,
    )
    name = _contact("the council's name")


TRANSFER_NOTIFIED_ON = "the day the receiving council was told of the family's permanent move"


class TransferOutStartedV1(AboutAChild):
    """A family on a plan is moving for good to another council: the case
    stays open, its plan in force, until that council holds its transfer-in
    conference."""

    case_id = _identifier(CASE_ID)
    child_id = _identifier(CHILD_ID)
    plan_id = _identifier("the plan in force")
    receiving_council = _contact("the council the family moves to")
    notified_on = _day(TRANSFER_NOTIFIED_ON)
    started_on = _day("the day the move was recorded here")
    by = _identifier("the user who recorded the move")


class TransferReceivedV1(AboutAChild):
    """A child moved here from another council: a case opened waiting for its
    transfer-in conference (the timescales count from notified_on), with the
    previous council's records kept as history."""

    case_id = _identifier("the case opened here, waiting for its transfer-in conference")
    child_id = _identifier(CHILD_ID)
    from_council = _nested(CouncilRef, "the council the family moved from (its code null for a notification)")
    notified_on = _day(TRANSFER_NOTIFIED_ON)
    with_package = _status("true when the previous council's signed package came with it", fields.Boolean)
    package_id = _identifier("the package's id; null for a notification without one", allow_none=True)
    history_id = _identifier("the previous council's records as kept here")


# --- plans: the plan ------------------------------------------------------


class PlanAgreed(EventData):
    by = _identifier(
        "the user who agreed this version (the chair, or the social worker recording a core group meeting or a change)"
    )
    on = _day("the day this version was agreed")
    at = _status(
        "where it was agreed",
        validate=_one_of("initial_conference", "core_group_meeting", "review_conference", "change"),
    )


#: The ways a plan ends: at a review conference, or otherwise (the plans service's lifecycle.ENDINGS).
PLAN_ENDINGS = ("review_conference", "reached_18", "died", "moved_to_another_council", "left_the_uk", "looked_after")


class PlanEnded(EventData):
    on = _day("the day the plan ended")
    conference_id = _identifier("the review conference that ended it; null when it ended otherwise", allow_none=True)
    step_down = _status(
        "where the child goes next; null when the case closes with no step-down",
        validate=_one_of("child_in_need_plan"),
        allow_none=True,
    )
    reason = _status(
        "how it ended: review_conference, or reached_18, died, moved_to_another_council, left_the_uk, "
        "looked_after (a team manager's decision); absent from events before there were other ways",
        validate=_one_of(*PLAN_ENDINGS),
        required=False,
    )
    details = _narrative("why it ended, in the words of who decided it", required=False)
    receiving_council = _contact("the council the child moved to (moved_to_another_council)", required=False)
    transfer_in_conference_on = _day(
        "the day the receiving council held its transfer-in conference (moved_to_another_council)", required=False
    )


class PlanKeyWorker(EventData):
    user = _identifier(
        "the key worker's user id in the staff directory; null for a key worker recorded before "
        "key workers were staff references and not yet linked",
        allow_none=True,
        required=False,
    )
    name = _contact("the key worker's name")
    role = _contact("their role (usually social worker)", allow_none=True)
    team = _contact("their team", allow_none=True)
    phone = _contact("their phone number", allow_none=True)
    email = _contact("their email address", allow_none=True)


class PlanSnapshotV1(AboutAChild):
    """What every plan event carries: the plan as it is after the step, so
    that docs and notify never call the plans service."""

    plan_id = _identifier("the plan")
    case_id = _identifier(CASE_ID)
    child_id = _identifier(CHILD_ID)
    status = _status("outline, active or ended", validate=_one_of(*PLAN_STATUSES))
    plan_version = _status(
        "the number of the agreed version in force (1, 2, ...)", fields.Integer, validate=validate.Range(min=1)
    )
    created_on = _day("the day the plan began (its initial conference)")
    activated_on = _day("the day a core group agreed the detailed plan; null while outline", allow_none=True)
    ended = _nested(PlanEnded, "how it ended; null while in force", allow_none=True)
    agreed = _nested(PlanAgreed, "who agreed the version in force, when and where")
    key_worker = _nested(PlanKeyWorker, "the key worker and how to contact them (from the content)", allow_none=True)
    categories = _status(
        "the categories of abuse or neglect (from the content)", fields.List, cls_or_instance=fields.String()
    )
    initial_categories = _status(
        "the categories the plan was made under (its first version), kept as they were; absent from older events",
        fields.List,
        cls_or_instance=fields.String(),
        required=False,
    )
    previous_plan_ids = fields.List(
        fields.String(),
        required=False,
        metadata=_meta(
            "identifier", "the child's earlier plans in this authority, oldest first; absent from older events"
        ),
    )
    previous_plans = _status(
        "how many plans the child had before this one (the census counts them); absent from older events",
        fields.Integer,
        required=False,
        validate=validate.Range(min=0),
    )
    content = _narrative(
        "the agreed plan itself, in the shape of the plans service's OpenAPI schema PlanContent (GET "
        "/openapi.json of the plans service, #/components/schemas/PlanContent): key worker and core group "
        "(names, roles, phone numbers), categories, concerns, needs, outcomes, actions, monitoring, contingency "
        "plan, the child's and the family's views. Free text about the child and family throughout, so narrative "
        "as a whole.",
        fields.Dict,
    )


# --- plans: core groups, visits, escalations -------------------------------


class CoreGroupHeldV1(AboutAChild):
    meeting_id = _identifier("the core group meeting")
    plan_id = _identifier("the plan")
    case_id = _identifier(CASE_ID)
    child_id = _identifier(CHILD_ID)
    held_on = _day("the day the meeting was held")
    detailed_plan_agreed = _status("whether the meeting agreed the detailed plan", fields.Boolean)
    attendees = _narrative(
        "who attended: each {name, role, agency} and, for a member of staff named by it, their user id (the "
        "plan's key worker among them). Parents and relatives attend core groups, so the list is narrative as a "
        "whole, not contact.",
        fields.List,
        cls_or_instance=fields.Dict(),
        required=False,
    )
    notes = _narrative("the meeting's notes (its minutes), as written; null when none", allow_none=True, required=False)


class VisitRecordedV1(AboutAChild):
    visit_id = _identifier("the visit")
    plan_id = _identifier("the plan")
    case_id = _identifier(CASE_ID)
    child_id = _identifier(CHILD_ID)
    visited_on = _day("the day of the visit")
    announced = _status("whether the family was told of the visit beforehand", fields.Boolean)
    child_seen = _status("whether the child was seen", fields.Boolean)
    seen_alone = _status("whether the child was seen alone", fields.Boolean)


class CaseVisitRecordedV1(AboutAChild):
    """A visit to the child before any plan: during the referral, the assessment or the enquiries."""

    visit_id = _identifier("the visit")
    case_id = _identifier(CASE_ID)
    child_id = _identifier(CHILD_ID)
    visited_on = _day("the day of the visit")
    announced = _status("whether the family was told of the visit beforehand", fields.Boolean)
    child_seen = _status("whether the child was seen", fields.Boolean)
    seen_alone = _status("whether the child was seen alone", fields.Boolean)


class SignificantChangeRecordedV1(AboutAChild):
    """The core group noticed a significant change in the child's circumstances (what changed stays with the
    plan)."""

    change_id = _identifier("the significant change")
    plan_id = _identifier("the plan")
    case_id = _identifier(CASE_ID)
    child_id = _identifier(CHILD_ID)
    noticed_on = _day("the day the core group noticed the change")


class SignificantChangeReferredV1(SignificantChangeRecordedV1):
    """The conference's chair was told of a significant change."""

    told_on = _day("the day the chair was told")


class VisitChildNotSeenAloneV1(AboutAChild):
    """The visits recorded in a row without the child seen alone reached the number the plan (or the deployment)
    allows: said once per run, to the key worker and the team manager."""

    plan_id = _identifier("the plan")
    case_id = _identifier(CASE_ID)
    child_id = _identifier(CHILD_ID)
    visit_id = _identifier("the visit that made the run")
    visits = _status(
        "how many visits in a row the child was not seen alone (the plan's or the deployment's number)",
        fields.Integer,
        validate=validate.Range(min=1),
    )
    since = _day("the day of the first of those visits")
    visited_on = _day("the day of the last of them")
    key_worker = _nested(StaffRef, "the plan's key worker: " + STAFF_REF, allow_none=True)
    team_manager = _nested(StaffRef, "the case's team manager: " + STAFF_REF, allow_none=True)


class EscalationRecipient(EventData):
    name = _contact("the organisation the escalation goes to (e.g. the Children's Convenor)")
    kind = _status("external: outside the council")


class EscalationRaisedV1(AboutAChild):
    escalation_id = _identifier("the escalation, within its plan")
    plan_id = _identifier("the plan that is not working")
    case_id = _identifier(CASE_ID)
    child_id = _identifier(CHILD_ID)
    route = _identifier("the route's id among the authority's escalation routes")
    name = _status("the route's name, from the authority's configuration")
    recipient = _nested(
        EscalationRecipient, "who outside the council receives it; null for a route within the council", allow_none=True
    )
    raised_on = _day("the day it was raised")
    decided_on = _day(
        "the day the decision to escalate was taken (a conference's date, when a conference took it): the route's "
        "timescales count from it; absent from escalations recorded before the decision's date was",
        required=False,
    )
    conference_id = _identifier(
        "the case's conference that decided it; null when no conference did", allow_none=True, required=False
    )
    key_worker = _contact("the plan's key worker's name", allow_none=True)


class EscalationWork(AboutAChild):
    """What every event of an escalation's own work says it is about."""

    escalation_id = _identifier("the escalation")
    plan_id = _identifier("the plan")
    case_id = _identifier(CASE_ID)
    child_id = _identifier(CHILD_ID)
    route = _identifier("the route's id among the authority's escalation routes")
    decided_on = _day("the day the decision to escalate was taken")


class EscalationReferralMadeV1(EscalationWork):
    made_on = _day("the day the referral was made")
    made_to = _contact("to whom: the person or office of the route's recipient that received it")


class EscalationStepRecordedV1(EscalationWork):
    step = _identifier("the step's id among the route's steps")
    name = _status("the step's name, from the authority's configuration")
    on = _day("the day of the step")
    outcome = _status(
        "what the step decided (one of the step's outcomes); null for a step that decides nothing", allow_none=True
    )


# --- plans: children and the partner lookup -------------------------------


CHILD_FIRST_LANGUAGE = (
    "the child's first language as their record holds it (the family's letters are written in it where the "
    "deployment has its phrase set); null when not recorded, absent from events made before it was carried"
)


CENSUS_CARRIED = "absent from events made before the census's fields were carried"
# Special category data (ethnicity, health): classed narrative, the class a partner is given last; these
# events are never a partner's anyway (cpp_notify.domain.minimise.PARTNER_TYPES).
SPECIAL_CATEGORY = "special category data, so narrative"


class ChildCensusFields(EventData):
    """What the Children in Need census needs of a child, as its record holds it after the change (the
    codes are cpp_shared.census_codes', from DfE's CIN_schema_2024.xsd)."""

    date_of_birth = _personal(
        f"the child's date of birth; null for a child recorded as unborn ({CENSUS_CARRIED})",
        fields.Date,
        allow_none=True,
        required=False,
    )
    expected_date_of_birth = _personal(
        f"the expected date of birth, for a child recorded as unborn (kept after the birth); else null "
        f"({CENSUS_CARRIED})",
        fields.Date,
        allow_none=True,
        required=False,
    )
    gender = _narrative(
        f"the census's gender code (1, 2, 0 or 9); null while the record's gender is text still to be coded "
        f"({SPECIAL_CATEGORY}; {CENSUS_CARRIED})",
        allow_none=True,
        required=False,
        validate=validate.OneOf(list(census_codes.GENDER)),
    )
    ethnicity = _narrative(
        f"the census's ethnicity code (WBRI ... NOBT); null while still to be coded ({SPECIAL_CATEGORY}; "
        f"{CENSUS_CARRIED})",
        allow_none=True,
        required=False,
        validate=validate.OneOf(list(census_codes.ETHNICITY)),
    )
    disabilities = _narrative(
        f"the census's disability codes (NONE alone, or MOB ... DDA); null when not recorded or still to be "
        f"coded ({SPECIAL_CATEGORY}; {CENSUS_CARRIED})",
        fields.List,
        cls_or_instance=fields.String(validate=validate.OneOf(list(census_codes.DISABILITY))),
        allow_none=True,
        required=False,
    )
    upn = _personal(
        f"the child's Unique Pupil Number where recorded (the upn identifier), else null ({CENSUS_CARRIED})",
        allow_none=True,
        required=False,
    )
    date_of_death = _personal(
        "the day the child died, only when the record has one (absent otherwise)", fields.Date, required=False
    )


class ChildRegisteredV1(AboutAChild, ChildCensusFields):
    child_id = _identifier("the child's new record")
    first_language = _narrative(CHILD_FIRST_LANGUAGE, allow_none=True, required=False)


class ChildUpdatedV1(AboutAChild, ChildCensusFields):
    child_id = _identifier(CHILD_ID)
    version = _status("the record's revision after the change", fields.Integer, validate=validate.Range(min=1))
    first_language = _narrative(CHILD_FIRST_LANGUAGE, allow_none=True, required=False)


class ChildBornV1(AboutAChild):
    """The birth of a child recorded as unborn: the same record, now with
    its date of birth (the expected one kept)."""

    child_id = _identifier(CHILD_ID)
    version = _status("the record's revision after the change", fields.Integer, validate=validate.Range(min=1))
    born_on = _personal("the child's date of birth", fields.Date)
    expected_date_of_birth = _personal("the date of birth that had been expected", fields.Date)
    case_id = _identifier("the child's case still open at the birth; null when none", allow_none=True)
    plan_id = _identifier("that case's plan, when it has one; else null", allow_none=True)
    on_plan = _status(
        "whether a child protection plan (a pre-birth plan) is in force for the child at the birth", fields.Boolean
    )
    mother_unfit_to_attend = _narrative(
        "whether the case's pre-birth conference recorded that the mother is expected to be unfit to attend a "
        "conference in the days after the birth (about her health, so shared as narrative)",
        fields.Boolean,
        required=False,
    )


class LookupPerformedV1(AboutAChild):
    lookup_id = _identifier("the lookup (never the NHS number looked up)")
    performed_at = _moment("when the partner looked")
    partner = _identifier("the user id of the partner who looked")
    partner_role = _status("the role the partner looked with")
    authority = _identifier("the authority's code (as the envelope's authority)")
    child_id = _identifier("the child, when the number is known to the council; else null", allow_none=True)
    plan_id = _identifier("the plan in force, when the child is subject of one; else null", allow_none=True)
    key_worker = _contact("the plan's key worker's name, when on a plan; else null", allow_none=True)
    subject_of_plan = _status(
        "whether the child is subject of a child protection plan (outline or active)", fields.Boolean
    )
    plan_status = _status(
        "none (the number is unknown, or the child has had no plan), in_force, or ended",
        validate=_one_of("none", "in_force", "ended"),
        required=False,
    )
    key_worker_user = _identifier(
        "the key worker's user id, when on a plan; else null", allow_none=True, required=False
    )


# --- plans: access ---------------------------------------------------------

_USER_ONLY, _TOKEN_ONLY = ("user", "not_before"), ("jti", "expires_at")


class AccessRevokedV1(EventData):
    """An admin withdrew access: a user's tokens issued before a moment, or
    one token. Every service keeps it and refuses those tokens; it is never
    sent to partners."""

    revocation_id = _identifier("the revocation")
    user = _identifier(
        "the user (the tokens' sub) whose every token issued before not_before is refused; null "
        "when one token is revoked",
        allow_none=True,
    )
    jti = _identifier("the one token revoked (its jti); null when a user's tokens are revoked", allow_none=True)
    not_before = _moment(
        "a user's revocation: the user's tokens issued (iat) before this moment are refused; null for one token",
        allow_none=True,
    )
    expires_at = _moment(
        "one token's revocation: when that token expires (it is refused until then anyway); null for a user's",
        allow_none=True,
    )
    revoked_at = _moment("when the revocation was made")
    by = _identifier("the admin who made it")
    reason = _narrative("why, as the admin wrote it")

    json_schema_extra: ClassVar[dict[str, Any]] = {
        "oneOf": [
            {
                "properties": {
                    **{f: {"type": "string"} for f in _USER_ONLY},
                    **{f: {"const": None} for f in _TOKEN_ONLY},
                }
            },
            {
                "properties": {
                    **{f: {"const": None} for f in _USER_ONLY},
                    **{f: {"type": "string"} for f in _TOKEN_ONLY},
                }
            },
        ]
    }

    @validates_schema
    def _a_user_or_a_token(self, data: dict[str, Any], **kwargs: Any) -> None:
        given, empty = (_USER_ONLY, _TOKEN_ONLY) if data.get("user") is not None else (_TOKEN_ONLY, _USER_ONLY)
        errors = {
            name: ["Null only when the other kind of revocation is made."] for name in given if data.get(name) is None
        }
        errors.update(
            {
                name: [f"Null in a revocation of {'a user' if given is _USER_ONLY else 'one token'}."]
                for name in empty
                if data.get(name) is not None
            }
        )
        if errors:
            raise ValidationError(errors)


# --- plans: restricted records (need to know) --------------------------------
# For the platform's own services (docs keeps who may read a restricted
# child's documents; notify tells the restriction's manager of a
# break-glass), never for partners: none is a partner event type.


class RestrictionManager(EventData):
    user = _identifier("the manager's user id")
    email = _contact("the manager's email address (their inbox is keyed by it)")
    name = _contact("the manager's name")


RESTRICTION_ID = "the restriction (a restriction lifted and set again is a new one)"


class ChildRestrictionSetV1(EventData):
    child_id = _identifier(CHILD_ID)
    restriction_id = _identifier(RESTRICTION_ID)
    access_list = fields.List(
        fields.String(),
        required=True,
        metadata=_meta("identifier", "the user ids who may read and change the child's records"),
    )
    manager = _nested(RestrictionManager, "who is told of every break-glass")
    set_by = _identifier("the user who set or changed the restriction (a team manager or an admin)")
    set_at = _moment("when it was set or changed")


class ChildErasedV1(EventData):
    """A child's records reached the end of their retention period (no legal hold) and the plans service erased
    them. Every service that keeps anything about the child erases or anonymises its copy on this event, and audits
    that it did; the event carries no personal data, only which child and under which rule."""

    child_id = _identifier(CHILD_ID)
    erasure_id = _identifier("the erasure's id: one per child per retention run, the same on every retry")
    rule = _identifier("the id of the retention rule that made the records due, as the deployment's plugins name it")
    due_on = _day("the day the records became due for erasure under that rule")
    erased_at = _moment("when the plans service erased its records")


class ChildRestrictionLiftedV1(EventData):
    child_id = _identifier(CHILD_ID)
    restriction_id = _identifier(RESTRICTION_ID)
    lifted_by = _identifier("the user who lifted it")
    lifted_at = _moment("when it was lifted")


class AccessBreakGlassV1(AboutAChild):
    grant_id = _identifier("the grant: every audit entry made under it names it")
    child_id = _identifier(CHILD_ID)
    restriction_id = _identifier("the restriction it was given under")
    user = _identifier("the user who broke glass")
    user_name = _contact("their name, as their token gave it", required=False)
    role = _status("the role they broke glass with", validate=_one_of("social_worker", "team_manager", "chair"))
    reason = _narrative("why they need the record, as they wrote it")
    granted_at = _moment("when glass was broken")
    expires_at = _moment("when the grant ends: after it, it opens nothing")
    manager = _nested(RestrictionManager, "the restriction's manager, who is told at once")


# --- scheduler: deadlines ---------------------------------------------------


class DeadlineMet(EventData):
    on = _day("the day the step was done (from the event that met it)")
    late = _status("whether it was done after the latest day", fields.Boolean)
    working_days_late = _status(
        "working days after the latest day; 0 when on time", fields.Integer, validate=validate.Range(min=0)
    )
    event_id = _identifier("the event that met it")
    type = _status("that event's type")
    time = _moment("that event's time", allow_none=True)


class DeadlineClosed(EventData):
    on = _day("the day it was cancelled or superseded")
    event_id = _identifier("the event that cancelled or superseded it")
    type = _status("that event's type (plan.ended.v1, conference.cancelled.v1, conference.rescheduled.v1...)")
    time = _moment("that event's time", allow_none=True)
    reason = _status(
        "why, for a deadline cancelled by its plan's ending: how the plan ended (plan.ended.v1's ended.reason)",
        validate=_one_of(*PLAN_ENDINGS),
        required=False,
    )


class DeadlineV1(AboutAChild):
    """What every deadline event carries: the deadline after the change."""

    deadline_id = _identifier("the deadline")
    case_id = _identifier(CASE_ID)
    plan_id = _identifier("the case's plan; null before there is one", allow_none=True)
    child_id = _identifier(CHILD_ID, allow_none=True)
    rule_id = _identifier("the timescale rule (from the deployment's plugins) that made it")
    kind = _status("what is due (first_core_group, review_conference...), from the rule")
    name = _status(
        "the rule's name, with the occurrence for a recurring step ('Core group meeting (every 6 to 9 weeks, #2)')"
    )
    owner = _status("the role that must act", validate=_one_of(*STAFF_ROLES))
    assignee = _nested(
        StaffRef,
        "the person who must act: the case's holder of the owner's role (its key worker "
        "or social worker, team manager, the conference's chair); null when nobody holds it yet",
        allow_none=True,
        required=False,
    )
    team = _contact("the team that holds the case; null when not known", allow_none=True, required=False)
    status = _status("the deadline's state after the change", validate=_one_of(*DEADLINE_STATUSES))
    due_on = _day(
        "the day it is due; null while the source sets no timescale and no one has given a date", allow_none=True
    )
    latest_on = _day(
        "the last day it is on time (after due_on for a range, such as every 6 to 9 weeks); null with due_on",
        allow_none=True,
    )
    needs_date = _status("true while it has no date: a manager must give one", fields.Boolean)
    source = _narrative(
        "the rule's cited source (statutory guidance or the council's own page), free text from "
        "the deployment's configuration, never about the child"
    )
    met = _nested(DeadlineMet, "when and by what it was met; null unless met", allow_none=True)
    closed_by = _nested(
        DeadlineClosed,
        "why it no longer applies: when, and the event that cancelled or "
        "superseded it; null unless cancelled or superseded",
        allow_none=True,
    )
    superseded_by = _identifier("the deadline that replaced it (recalculated); null unless superseded", allow_none=True)


ESCALATION_LEVELS = ("team_manager", "service_manager")


class DeadlineEscalation(EventData):
    level = _status(
        "whom the overdue step now goes to: team_manager, then service_manager",
        validate=_one_of(*ESCALATION_LEVELS),
    )
    to = _nested(StaffRef, "the person it is escalated to: " + STAFF_REF, allow_none=True)
    on = _day("the day it was escalated")
    grace_working_days = _status(
        "the working days of grace before this level (the authority's, or the platform's default)",
        fields.Integer,
        validate=validate.Range(min=0),
    )


class DeadlineEscalatedV1(DeadlineV1):
    """An overdue deadline escalated: the deadline, and to whom."""

    escalation = _nested(DeadlineEscalation, "this escalation: its level, the person and the day")


# --- every service ---------------------------------------------------------


class AuditCheckpointedV1(EventData):
    """A signed checkpoint of the head of a service's hash-chained audit log
    (see ``cpp_shared.audit_checkpoints``): every other service keeps it, so
    that a cut or rewritten log is found even when the service's own copy of
    its checkpoints is changed."""

    service = _identifier("the service whose audit log this is")
    authority = _identifier("the authority whose deployment the service serves")
    log = _identifier("the name of the log (audit)")
    seq = _status(
        "the number of entries in the log when the checkpoint was taken (the head's seq)",
        fields.Integer,
        validate=validate.Range(min=0),
    )
    hash = _identifier("the head entry's hash (SHA-256, hex); 64 zeros for an empty log")
    at = _moment("when the checkpoint was taken (UTC)")
    previous = _identifier("the digest of the service's checkpoint before this one (64 zeros for the first)")
    key_id = _identifier("the signing key: the start of the SHA-256 of its raw Ed25519 public key")
    signature = _identifier("the Ed25519 signature (base64) of the canonical JSON of the other fields")


# --- the registry ------------------------------------------------------------

#: The producer of an event type that every service publishes about itself.
EVERY_SERVICE = "every service"


@dataclass(frozen=True)
class EventType:
    type: str  # also the routing key
    producer: str  # the service that publishes it, or EVERY_SERVICE
    summary: str
    subject: str  # what the CloudEvent subject is
    schema: builtins.type[EventData]  # builtins': in this class, type is the field above
    # The data fields the subject is a copy of: the first that is not null.
    subject_fields: tuple[str, ...]

    def __post_init__(self) -> None:
        if not TYPE_PATTERN.match(self.type):
            raise ValueError(f"event type {self.type!r} must look like 'aggregate.happened.v1'")
        missing = [f for f in self.subject_fields if f not in self.schema().fields]
        if not self.subject_fields or missing:
            raise ValueError(f"{self.type}: subject_fields must name fields of its data, not {missing}")

    @property
    def sources(self) -> tuple[str, ...]:
        """The CloudEvent ``source`` of each service that may publish it."""
        producers = tuple(SUBSCRIPTIONS) if self.producer == EVERY_SERVICE else (self.producer,)
        return tuple(f"/services/{p}" for p in producers)


CASE = ("the case's id", ("case_id",))


class ReportStepV1(AboutAChild):
    """A step of a report to conference (drafted, submitted, countersigned,
    returned, shared with the family, sent to the chair)."""

    report_id = _identifier("the report")
    conference_id = _identifier("the conference it is for")
    case_id = _identifier(CASE_ID)
    child_id = _identifier(CHILD_ID)
    plan_id = _identifier("the plan a review report is about; null for an enquiry report", allow_none=True)
    report_kind = _status("enquiry_report or review_report", validate=_one_of("enquiry_report", "review_report"))
    done_on = _day("the day the step was done")
    by = _identifier("the user who did it")
    reason = _narrative("why it was returned (report.returned only)", required=False)
    child_included = _status("whether the child saw it too (report.shared only)", fields.Boolean, required=False)
    ways = _status(
        "how it was shared: in_person, post, email (report.shared only)",
        fields.List,
        cls_or_instance=fields.String(),
        required=False,
    )
    interpreter_used = _status("whether an interpreter was used (report.shared only)", fields.Boolean, required=False)
    report = _narrative(
        "report.countersigned only: the report as countersigned (a countersigned report no longer changes, so "
        "it is also the version shared with the family): report_version, author, content (findings, the days "
        "the child was seen and whether alone, the child's and the family's views), plan (the draft or updated "
        "plan, in the shape of the plans service's PlanContent schema; null when none) and steps (each step "
        "with who and when). Written about the child and family, so narrative as a whole.",
        fields.Dict,
        required=False,
    )


class ResourcePanelRequestedV1(AboutAChild):
    request_id = _identifier("the request to the resource panel")
    plan_id = _identifier("the plan")
    case_id = _identifier(CASE_ID)
    child_id = _identifier(CHILD_ID)
    requested_on = _day("the day the plan was taken to the panel")


class ResourcePanelDecidedV1(ResourcePanelRequestedV1):
    requested_on = _day("the day the plan was taken to the panel", required=False)
    decision = _status("approved, declined or deferred", validate=_one_of("approved", "declined", "deferred"))
    decided_on = _day("the day the panel decided")


class ChildInNeedPlanCreatedV1(AboutAChild):
    child_in_need_plan_id = _identifier("the child in need plan")
    case_id = _identifier(CASE_ID)
    child_id = _identifier(CHILD_ID)
    created_on = _day("the day it was made")
    review_on = _day("when it is next reviewed")


class EscalationDeliveredV1(AboutAChild):
    escalation_id = _identifier("the escalation")
    plan_id = _identifier("the plan")
    case_id = _identifier(CASE_ID)
    child_id = _identifier(CHILD_ID)
    route = _identifier("the route (e.g. childrens_convenor)")
    recipient = _identifier("the organisation it reached (its subscription's owner)")
    delivered_on = _day("the day it reached them")


NOBODY_TOLD_REASONS = ("nobody_to_tell", "no_address")


class DeadlineNobodyToldV1(EventData):
    """A deadline notice someone must act on reached nobody: reported on the deadline, never dropped."""

    deadline_id = _identifier("the deadline the notice was about")
    case_id = _identifier(CASE_ID)
    plan_id = _identifier("the case's plan; null before there is one", allow_none=True)
    child_id = _identifier(CHILD_ID, allow_none=True)
    notice = _status(
        "the notice nobody received",
        validate=_one_of("deadline.approaching.v1", "deadline.overdue.v1", "deadline.escalated.v1"),
    )
    notice_id = _identifier("the event of that notice")
    reason = _status(
        "nobody_to_tell: nobody holds the deadline's owner role on the case and it has no social worker; "
        "no_address: the people to tell have neither an email address nor an inbox",
        validate=_one_of(*NOBODY_TOLD_REASONS),
    )
    explanation = _narrative("why, in words, naming the people who could not be told")
    people = fields.List(
        fields.String(),
        required=True,
        metadata=_meta("contact", "the names of the people who could not be told (empty for nobody_to_tell)"),
    )


class SubscriptionDisabled(EventData):
    at = _status("when it was disabled (unix seconds)", fields.Float)
    reason = _narrative("why: a 410 Gone, or how long every delivery failed")


class SubscriptionV1(EventData):
    """A partner subscription changed (for the authority's admins)."""

    subscription_id = _identifier("the subscription")
    owner = _identifier("the partner organisation it delivers to")
    status = _status("active, paused, disabled or removed", validate=_one_of("active", "paused", "disabled", "removed"))
    url = _narrative("the receiver's address (it may carry the partner's own tokens: not for other partners)")
    event_types = _status("the event type patterns it receives", fields.List, cls_or_instance=fields.String())
    disabled = _nested(SubscriptionDisabled, "when and why it was disabled; null unless disabled", allow_none=True)
    reason = _narrative("why it was disabled (subscription.disabled only)", required=False)


PLAN = ("the plan's id", ("plan_id",))
FAMILY = ("the family's id", ("family_id",))
FAMILY_CONFERENCE = ("the family conference's id", ("family_conference_id",))
CHILD = ("the child's id", ("child_id",))
LOOKUP = ("the child's id; for a number the council does not know, the lookup's id", ("child_id", "lookup_id"))
SUBSCRIPTION = ("the subscription's id", ("subscription_id",))
SERVICE = ("the service's name", ("service",))
STAFF = ("the member of staff's user id", ("user",))
ACCESS = ("the user whose tokens are revoked, or the revoked token's jti", ("user", "jti"))


def _entries(
    producer: str, rows: list[tuple[str, str, type[EventData], tuple[str, tuple[str, ...]]]]
) -> list[EventType]:
    return [
        EventType(t, producer, summary, subject, schema, subject_fields)
        for t, summary, schema, (subject, subject_fields) in rows
    ]


CATALOGUE: dict[str, EventType] = {
    e.type: e
    for e in [
        *_entries(
            "plans",
            [
                ("case.opened.v1", "A case (a child protection episode) was opened for a child.", CaseOpenedV1, CASE),
                ("case.allocated.v1", "A case's social worker, team manager or team changed.", CaseAllocatedV1, CASE),
                (
                    "case.closed.v1",
                    "A case was closed, with the Children in Need census's reason (RC1-RC9); its open deadlines are "
                    "cancelled.",
                    CaseClosedV1,
                    CASE,
                ),
                (
                    "staff.updated.v1",
                    "A member of staff was added to the staff directory, or their details changed.",
                    StaffUpdatedV1,
                    STAFF,
                ),
                ("referral.received.v1", "A referral was recorded on a case.", ReferralReceivedV1, CASE),
                ("referral.decided.v1", "The decision on a referral was recorded.", ReferralDecidedV1, CASE),
                ("assessment.started.v1", "A child and family assessment started.", AssessmentStartedV1, CASE),
                (
                    "assessment.completed.v1",
                    "A child and family assessment was completed and authorised.",
                    AssessmentCompletedV1,
                    CASE,
                ),
                (
                    "family.recorded.v1",
                    "A family was recorded, or its children or people changed.",
                    FamilyRecordedV1,
                    FAMILY,
                ),
                (
                    "family_conference.held.v1",
                    "A conference about several children of a family was held, deciding for each child.",
                    FamilyConferenceHeldV1,
                    FAMILY_CONFERENCE,
                ),
                ("strategy_discussion.held.v1", "A strategy discussion was recorded.", StrategyDiscussionHeldV1, CASE),
                (
                    "enquiry.completed.v1",
                    "The enquiries' outcome: an initial conference, or step-down.",
                    EnquiryCompletedV1,
                    CASE,
                ),
                (
                    "conference.scheduled.v1",
                    "An initial or review conference was scheduled.",
                    ConferenceScheduledV1,
                    CASE,
                ),
                (
                    "conference.rescheduled.v1",
                    "A scheduled conference moved to another day.",
                    ConferenceRescheduledV1,
                    CASE,
                ),
                ("conference.cancelled.v1", "A scheduled conference was cancelled.", ConferenceCancelledV1, CASE),
                (
                    "conference.invitations_sent.v1",
                    "The invitations to a scheduled conference went out.",
                    ConferenceInvitationsSentV1,
                    CASE,
                ),
                (
                    "conference.inquorate.v1",
                    "A conference met without a quorum, decided nothing, and is reconvened on another day.",
                    ConferenceInquorateV1,
                    CASE,
                ),
                (
                    "conference.held.v1",
                    "A conference was held: initial (plan or not) or review (continue, revise or end), with who "
                    "attended, its quorum, each agency's view and any dissent, exclusions and the child's participation.",
                    ConferenceHeldV1,
                    CASE,
                ),
                (
                    "conference.record_issued.v1",
                    "A held conference's record (its decisions, and the outline plan) was issued to those invited.",
                    ConferenceRecordIssuedV1,
                    CASE,
                ),
                (
                    "transfer.out_started.v1",
                    "A family on a plan is moving for good to another council (the plan stays in force until "
                    "that council's transfer-in conference).",
                    TransferOutStartedV1,
                    CASE,
                ),
                (
                    "transfer.received.v1",
                    "A child moved here from another council: a case waits for its transfer-in conference.",
                    TransferReceivedV1,
                    CASE,
                ),
                ("plan.created.v1", "An initial conference made an outline plan.", PlanSnapshotV1, PLAN),
                (
                    "plan.activated.v1",
                    "A core group agreed the detailed plan: the plan is active.",
                    PlanSnapshotV1,
                    PLAN,
                ),
                (
                    "plan.version_agreed.v1",
                    "A new version of the plan was agreed (core group, review conference or change).",
                    PlanSnapshotV1,
                    PLAN,
                ),
                ("plan.reviewed.v1", "A review conference continued the plan unchanged.", PlanSnapshotV1, PLAN),
                (
                    "plan.ended.v1",
                    "The plan ended: at a review conference (step-down to a child in need plan), or by a team "
                    "manager's decision because the child reached 18, died, moved for good to another council "
                    "(after its transfer-in conference), left the UK or became looked after where the council's "
                    "procedures end the plan (the case closes); ended.reason says which.",
                    PlanSnapshotV1,
                    PLAN,
                ),
                (
                    "plan.key_worker_linked.v1",
                    "A plan's key worker, recorded by name before key workers were staff, was "
                    "linked to the staff directory (not a new version).",
                    PlanSnapshotV1,
                    PLAN,
                ),
                ("core_group.held.v1", "A core group meeting was recorded.", CoreGroupHeldV1, PLAN),
                ("visit.recorded.v1", "A visit to the child was recorded.", VisitRecordedV1, PLAN),
                (
                    "case_visit.recorded.v1",
                    "A visit to the child before any plan (referral, assessment or enquiries) was recorded.",
                    CaseVisitRecordedV1,
                    CASE,
                ),
                (
                    "significant_change.recorded.v1",
                    "The core group noticed a significant change in the child's circumstances.",
                    SignificantChangeRecordedV1,
                    PLAN,
                ),
                (
                    "significant_change.referred.v1",
                    "The conference's chair was told of a significant change.",
                    SignificantChangeReferredV1,
                    PLAN,
                ),
                (
                    "visit.child_not_seen_alone.v1",
                    "Visits in a row without the child seen alone reached the plan's number: the key worker and "
                    "the team manager are told.",
                    VisitChildNotSeenAloneV1,
                    PLAN,
                ),
                (
                    "escalation.raised.v1",
                    "A plan that is not working was escalated by one of the authority's routes.",
                    EscalationRaisedV1,
                    PLAN,
                ),
                (
                    "escalation.referral_made.v1",
                    "The referral an escalation's route asks for was made to its recipient outside the council "
                    "(e.g. the Children's Convenor): to whom and when.",
                    EscalationReferralMadeV1,
                    PLAN,
                ),
                (
                    "escalation.step_recorded.v1",
                    "One of the steps an escalation's route declares was taken (e.g. the letter before proceedings "
                    "under the Public Law Outline).",
                    EscalationStepRecordedV1,
                    PLAN,
                ),
                ("child.registered.v1", "A child's record was created.", ChildRegisteredV1, CHILD),
                ("child.updated.v1", "A child's record was changed.", ChildUpdatedV1, CHILD),
                (
                    "child.born.v1",
                    "A child recorded as unborn was born: the record has its date of birth.",
                    ChildBornV1,
                    CHILD,
                ),
                (
                    "lookup.performed.v1",
                    "A partner asked whether a child is subject of a plan.",
                    LookupPerformedV1,
                    LOOKUP,
                ),
                (
                    "child.erased.v1",
                    "A child's records were erased at the end of their retention period; every service erases its "
                    "copy.",
                    ChildErasedV1,
                    CHILD,
                ),
                (
                    "child.restriction_set.v1",
                    "A child's record was restricted to an access list, or its restriction changed.",
                    ChildRestrictionSetV1,
                    CHILD,
                ),
                (
                    "child.restriction_lifted.v1",
                    "A child's record is no longer restricted.",
                    ChildRestrictionLiftedV1,
                    CHILD,
                ),
                (
                    "access.break_glass.v1",
                    "Someone not on a restricted record's access list broke glass to reach it, with their reason.",
                    AccessBreakGlassV1,
                    CHILD,
                ),
                (
                    "report.drafted.v1",
                    "A report to conference was drafted (with the draft or updated plan).",
                    ReportStepV1,
                    CASE,
                ),
                (
                    "report.submitted.v1",
                    "A report was passed to a team manager for countersigning.",
                    ReportStepV1,
                    CASE,
                ),
                ("report.countersigned.v1", "A team manager countersigned a report.", ReportStepV1, CASE),
                (
                    "report.returned.v1",
                    "A team manager returned a report to its author for changes.",
                    ReportStepV1,
                    CASE,
                ),
                (
                    "report.shared.v1",
                    "A report was shared with the parents (and the child where appropriate).",
                    ReportStepV1,
                    CASE,
                ),
                ("report.sent_to_chair.v1", "A report was sent to the conference chair.", ReportStepV1, CASE),
                (
                    "resource_panel.requested.v1",
                    "A plan was taken to the resource panel for approval.",
                    ResourcePanelRequestedV1,
                    PLAN,
                ),
                (
                    "resource_panel.decided.v1",
                    "The resource panel decided (approved, declined or deferred).",
                    ResourcePanelDecidedV1,
                    PLAN,
                ),
                (
                    "child_in_need_plan.created.v1",
                    "A child in need plan followed a step-down.",
                    ChildInNeedPlanCreatedV1,
                    CASE,
                ),
                (
                    "access.revoked.v1",
                    "An admin revoked a user's tokens, or one token: every service refuses them.",
                    AccessRevokedV1,
                    ACCESS,
                ),
            ],
        ),
        *_entries(
            "scheduler",
            [
                ("deadline.scheduled.v1", "A deadline was opened, or given a date by a manager.", DeadlineV1, CASE),
                ("deadline.approaching.v1", "A deadline reached its reminder day.", DeadlineV1, CASE),
                ("deadline.overdue.v1", "A deadline passed its latest day undone.", DeadlineV1, CASE),
                (
                    "deadline.met.v1",
                    "The step a deadline was waiting for was done (on time or late).",
                    DeadlineV1,
                    CASE,
                ),
                (
                    "deadline.escalated.v1",
                    "An overdue deadline was escalated, to the team manager and later to a service manager.",
                    DeadlineEscalatedV1,
                    CASE,
                ),
                (
                    "deadline.cancelled.v1",
                    "A deadline no longer applies (the plan ended, the conference was cancelled...).",
                    DeadlineV1,
                    CASE,
                ),
                (
                    "deadline.superseded.v1",
                    "A deadline was replaced by a recalculated one (a second trigger brought it "
                    "earlier, or its conference moved).",
                    DeadlineV1,
                    CASE,
                ),
            ],
        ),
        *_entries(
            "notify",
            [
                (
                    "deadline.nobody_told.v1",
                    "A deadline's reminder or overdue notice reached nobody (nobody to tell, or no address).",
                    DeadlineNobodyToldV1,
                    CASE,
                ),
                (
                    "escalation.delivered.v1",
                    "An escalation reached the recipient outside the council its route names "
                    "(e.g. the referral to the Children's Convenor).",
                    EscalationDeliveredV1,
                    PLAN,
                ),
                ("subscription.created.v1", "A partner subscription was created.", SubscriptionV1, SUBSCRIPTION),
                (
                    "subscription.paused.v1",
                    "A subscription was paused: its deliveries wait.",
                    SubscriptionV1,
                    SUBSCRIPTION,
                ),
                (
                    "subscription.resumed.v1",
                    "A paused or disabled subscription was resumed.",
                    SubscriptionV1,
                    SUBSCRIPTION,
                ),
                (
                    "subscription.removed.v1",
                    "A subscription was removed (its log stays).",
                    SubscriptionV1,
                    SUBSCRIPTION,
                ),
                (
                    "subscription.disabled.v1",
                    "A subscription was disabled: its receiver failed for days, or answered 410.",
                    SubscriptionV1,
                    SUBSCRIPTION,
                ),
                (
                    "subscription.secret_rotated.v1",
                    "A subscription's signing secret was rotated.",
                    SubscriptionV1,
                    SUBSCRIPTION,
                ),
                (
                    "subscription.scope_changed.v1",
                    "An admin changed which fields a subscription receives.",
                    SubscriptionV1,
                    SUBSCRIPTION,
                ),
            ],
        ),
        *_entries(
            EVERY_SERVICE,
            [
                (
                    "audit.checkpointed.v1",
                    "A service signed a checkpoint of its audit log's head (the other services keep it).",
                    AuditCheckpointedV1,
                    SERVICE,
                ),
            ],
        ),
    ]
}


class UnknownEventType(KeyError):
    """An event type that is not in the catalogue."""


def get(event_type: str) -> EventType:
    try:
        return CATALOGUE[event_type]
    except KeyError:
        raise UnknownEventType(event_type) from None


def field_classes(event_type: str) -> dict[str, str]:
    """Each field of an event's data, as a dotted path, with its class:
    ``{"plan_id": "identifier", "agreed.by": "identifier", "content": "narrative", ...}``.
    (A copy of what is computed once per type: notify asks for every delivery.)"""
    return dict(_field_classes(event_type))


@cache
def _field_classes(event_type: str) -> dict[str, str]:
    return _classes(get(event_type).schema(), "")


def _classes(schema: Schema, prefix: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, field in schema.fields.items():
        path = prefix + (field.data_key or name)
        if isinstance(field, fields.Nested):
            out.update(_classes(field.schema, path + "."))
        else:
            out[path] = field.metadata[CLASS_KEY]
    return out


# --- checking an event ---------------------------------------------------------


@lru_cache(maxsize=1)
def _envelope_schemas() -> dict[str, type[Schema]]:
    schemas = {}
    for entry in CATALOGUE.values():
        schemas[entry.type] = Schema.from_dict(
            {
                "specversion": fields.String(required=True, validate=validate.Equal("1.0")),
                "id": fields.String(required=True, validate=validate.Length(min=1)),
                "source": fields.String(required=True, validate=validate.OneOf(entry.sources)),
                "type": fields.String(required=True, validate=validate.Equal(entry.type)),
                "subject": fields.String(required=True, validate=validate.Length(min=1)),
                "time": fields.DateTime(required=True),
                "datacontenttype": fields.String(required=True, validate=validate.Equal("application/json")),
                "authority": fields.String(required=True, validate=validate.Length(min=1)),
                "correlationid": fields.String(validate=validate.Length(min=1)),
                "data": fields.Nested(entry.schema, required=True),
            },
            name=f"{entry.schema.__name__}Envelope",
        )
    return schemas


def validate_event(event: dict[str, Any]) -> None:
    """Check an event (its structured JSON form) against the catalogue:
    raises UnknownEventType for a type not in it, ValidationError (by
    field) for an envelope or data that does not match, unknown fields
    included, or a subject that is not the one the catalogue says."""
    entry = get(event.get("type", ""))
    _envelope_schemas()[entry.type]().load(event)
    data = event["data"]
    expected = next((data[f] for f in entry.subject_fields if data[f] is not None), None)
    if event["subject"] != expected:
        raise ValidationError(
            {"subject": [f"is {event['subject']!r}; a {entry.type} event's subject is {entry.subject} ({expected!r})"]}
        )


# --- the AsyncAPI document ----------------------------------------------------


def _schema_name(schema: Any) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    return cls.__name__.removesuffix("Schema")


def _title(event_type: str) -> str:
    aggregate, happened, version = event_type.split(".")
    return f"{aggregate.replace('_', ' ').capitalize()} {happened.replace('_', ' ')} ({version})"


def _envelope(entry: EventType) -> dict[str, Any]:
    """The JSON Schema of the CloudEvent carrying one event type."""

    def attr(cls: str, description: str, **schema: Any) -> dict[str, Any]:
        return {**schema, "description": description, CLASS_KEY: cls}

    return {
        "title": f"{entry.type} event",
        "description": f"{entry.summary} A CloudEvents 1.0 event in structured JSON mode.",
        "type": "object",
        "properties": {
            "specversion": attr("status", "the CloudEvents version", type="string", const="1.0"),
            "id": attr(
                "identifier",
                "the event's unique id: a consumer that sees it again ignores it",
                type="string",
                minLength=1,
            ),
            "source": attr(
                "identifier",
                "the producing service",
                type="string",
                **({"const": entry.sources[0]} if len(entry.sources) == 1 else {"enum": list(entry.sources)}),
            ),
            "type": attr("status", "the event type, also the AMQP routing key", type="string", const=entry.type),
            "subject": attr("identifier", entry.subject, type="string", minLength=1),
            "time": attr("date", "when the event happened (UTC)", type="string", format="date-time"),
            "datacontenttype": attr("status", "the data's media type", type="string", const="application/json"),
            "authority": attr(
                "identifier",
                "the code of the authority (the council) whose deployment published it",
                type="string",
                minLength=1,
            ),
            "correlationid": attr(
                "identifier",
                "the id of the HTTP request that caused the event, to follow it "
                "across services in the logs; absent when no request caused it (the scheduler's "
                "tick)",
                type="string",
                minLength=1,
            ),
            "data": {"$ref": f"#/components/schemas/{_schema_name(entry.schema)}"},
        },
        "required": ["specversion", "id", "source", "type", "subject", "time", "datacontenttype", "authority", "data"],
        "additionalProperties": False,
    }


@lru_cache(maxsize=1)
def _data_schemas() -> dict[str, dict[str, Any]]:
    """Every data schema (and the objects nested in them) as JSON Schema,
    by component name, converted by apispec's MarshmallowPlugin."""
    # OpenAPI 3.1 output is JSON Schema: a null is {"type": [..., "null"]}, not OpenAPI 3.0's "nullable".
    spec = APISpec("cpp events", "1", "3.1.0", plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)])
    classes: dict[str, type[EventData]] = {}
    for entry in CATALOGUE.values():
        name = _schema_name(entry.schema)
        if name not in classes:
            classes[name] = entry.schema
            spec.components.schema(name, schema=entry.schema)
    schemas = spec.to_dict()["components"]["schemas"]
    for name, schema in schemas.items():
        cls = classes.get(name)
        if cls is not None and cls.__doc__:  # a class's docstring is its own, never inherited
            schema["description"] = " ".join(cls.__doc__.split())
        if cls is not None and cls.json_schema_extra:
            schema.update(copy.deepcopy(cls.json_schema_extra))
    return schemas


def consumers(event_type: str) -> list[str]:
    """The platform's services whose queue is bound for this type."""
    return [service for service, keys in SUBSCRIPTIONS.items() if any(routes(k, event_type) for k in keys)]


def _published_by(entry: EventType) -> str:
    return entry.producer if entry.producer == EVERY_SERVICE else f"the {entry.producer} service"


def _queue_channel(service: str, vhost: str) -> dict[str, Any]:
    """The channel of a consumer's queue: the queue as the topology
    declares it, bound by its patterns, with every type routed to it."""
    name = main_queue_name(service)
    patterns = ", ".join(SUBSCRIPTIONS[service])
    received = [t for t in CATALOGUE if service in consumers(t)]
    return {
        "address": name,
        "title": f"The {service} service's queue",
        "description": f"The {service} service consumes from the durable queue {name}, bound to the topic "
        f"exchange {EXCHANGE_NAME} by the routing-key patterns {patterns}. A message whose handling "
        f"fails comes back to it through {service}.retry.<N>ms, and one that keeps failing waits in "
        f"{parked_queue_name(service)}.",
        "messages": {t: {"$ref": f"#/components/messages/{t}"} for t in received},
        "bindings": {
            "amqp": {
                "is": "queue",
                "queue": {
                    "name": name,
                    "durable": MAIN_QUEUE_OPTIONS["durable"],
                    "exclusive": MAIN_QUEUE_OPTIONS["exclusive"],
                    "autoDelete": MAIN_QUEUE_OPTIONS["auto_delete"],
                    "vhost": vhost,
                },
                "bindingVersion": AMQP_BINDING_VERSION,
            }
        },
    }


def _receive_operation(service: str, key: str, channel: dict[str, Any]) -> dict[str, Any]:
    """What a consumer receives from its queue's channel ``key``: each of its messages."""
    return {
        "action": "receive",
        "channel": {"$ref": f"#/channels/{key}"},
        "title": f"The {service} service receives",
        "summary": f"The events the {service} service consumes, acknowledged once handled.",
        "messages": [{"$ref": f"#/channels/{key}/messages/{t}"} for t in channel["messages"]],
        "bindings": {"amqp": {"ack": True, "bindingVersion": AMQP_BINDING_VERSION}},
    }


@lru_cache(maxsize=4)
def _document(version: str, vhost: str) -> dict[str, Any]:
    exchange = {"name": EXCHANGE_NAME, "type": "topic", "durable": True, "autoDelete": False, "vhost": vhost}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for entry in CATALOGUE.values():
        key = entry.type
        consumers_ = consumers(key)
        messages[key] = {
            "name": key,
            "title": _title(key),
            "summary": entry.summary,
            "description": f"Published by {_published_by(entry)}. Subject: {entry.subject}. Consumed "
            f"within the platform by: {', '.join(consumers_) or 'none'}.",
            "contentType": ENVELOPE_CONTENT_TYPE,
            "payload": _envelope(entry),
            "correlationId": {
                "description": "the HTTP request that caused the event",
                "location": "$message.payload#/correlationid",
            },
            "bindings": {"amqp": {"messageType": key, "bindingVersion": AMQP_BINDING_VERSION}},
            "x-cpp-producer": entry.producer,
            "x-cpp-subject": entry.subject,
        }
        channels[key] = {
            "address": key,
            "title": _title(key),
            "description": f"Routing key {key} on the topic exchange {EXCHANGE_NAME}.",
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
            "bindings": {"amqp": {"is": "routingKey", "exchange": exchange, "bindingVersion": AMQP_BINDING_VERSION}},
        }
        operations[key] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{key}"},
            "title": f"Publish {key}",
            "summary": entry.summary,
            "messages": [{"$ref": f"#/channels/{key}/messages/{key}"}],
            "bindings": {"amqp": {"deliveryMode": 2, "bindingVersion": AMQP_BINDING_VERSION}},
        }
    for service in SUBSCRIPTIONS:
        key = f"queue.{service}"
        channels[key] = _queue_channel(service, vhost)
        operations[f"receive.{service}"] = _receive_operation(service, key, channels[key])
    return {
        "asyncapi": version,
        "info": {
            "title": "Child protection plan platform: events",
            "version": "1.0.0",
            "description": (
                "Every event the platform's services publish, as CloudEvents 1.0 in structured JSON mode on the "
                f"AMQP topic exchange `{EXCHANGE_NAME}` (durable), with the event type as the routing key. Event "
                "types are versioned (`case.opened.v1`): a field is only ever added to a type; a change to an "
                "existing field is a new version. Each consuming service's queue is a channel (`queue.<service>`) "
                "with the service's receive operation, listing the types its bindings route to it. Each data "
                "field has `x-cpp-class` (identifier, status, date, contact or narrative): partner agencies "
                "receive these events as webhooks from the notify service, with only the classes their "
                "subscription allows."
            ),
        },
        "defaultContentType": ENVELOPE_CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {"schemas": _data_schemas(), "messages": messages},
    }


def asyncapi_document(*, vhost: str, version: str = "3.0.0") -> dict[str, Any]:
    """The catalogue as an AsyncAPI document, its exchange and queues in the
    deployment's virtual host ``vhost`` (``broker_vhost`` of the broker URL);
    a fresh copy: the caller may change it."""
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"AsyncAPI {version} is not supported; supported: {', '.join(SUPPORTED_VERSIONS)}")
    return copy.deepcopy(_document(version, vhost))
