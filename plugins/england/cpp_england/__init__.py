"""England: the Working Together to Safeguard Children defaults.

Every rule cites where its figure comes from and how firmly it is
established (V: primary source seen; V2: only a local restatement seen; U:
unverified), as graded in the platform's timescales research.
"""

from __future__ import annotations

from typing import Any

from cpp_shared.hookspecs import INITIAL_CONFERENCE_PLAN_REQUIRED, NO_CONFERENCE, REVIEW_CONTINUES_PLAN, hookimpl
from cpp_shared.pupil_number import upn

WT = "Working Together to Safeguard Children 2023"


@hookimpl
def cpp_layer():
    return "jurisdiction"  # a jurisdiction's set: deployed first, a council's layer after it


@hookimpl
def cpp_authority():
    return {
        "code": "ENG",
        "name": "England (Working Together defaults)",
        "jurisdiction": "england",
        "calendar": {"country": "GB", "subdiv": "ENG"},
        "contacts": [],
        # Working Together sets no time after which an overdue step goes to a manager: these are the
        # platform's default (U: no source), stated here so that a council sees them and states its own.
        "overdue_escalation_working_days": {
            "team_manager": 2,
            "service_manager": 5,
            "source": "The platform's default: no national guidance sets when an overdue step is escalated (U)",
        },
    }


# What the scheduler listens for (events of the plans service).
# A referral decided for an assessment (a section 47 strategy discussion is one too).
TO_BE_ASSESSED = {"decision": ["assessment", "strategy_discussion"]}
WT_2013 = "Working Together to Safeguard Children 2013"

# England's pre-proceedings under the Public Law Outline (Family Procedure Rules 2010, Practice Direction 12A; the
# PLO relaunched by the President of the Family Division in January 2023), as the legal_planning route's steps.
PLO = "The Public Law Outline (Family Procedure Rules 2010, Practice Direction 12A)"
PRE_PROCEEDINGS_GUIDANCE = "DfE, Court orders and pre-proceedings: statutory guidance for local authorities (2014)"
NO_FIGURE = (
    "No timescale for this step was found in the sources searched (U): Practice Direction 12A and the statutory "
    "guidance ask for the letter before proceedings without delay and for reasonable notice of the meeting, with no "
    "figure (V2: Research in Practice, Letter before proceedings); the only figure seen for the whole of "
    "pre-proceedings is a length of up to 16 weeks (V2: DfJ social work practice guide, chapter 1), not a "
    "deadline for this step. A team manager dates it, or the council's plugin gives its own figure"
)
PLO_STEPS: list[dict[str, Any]] = [
    {
        "id": "legal_planning_meeting",
        "name": "Legal planning meeting",
        "source": f"{PLO}; {PRE_PROCEEDINGS_GUIDANCE}: the local authority's legal planning (legal gateway) meeting "
        "considers whether the threshold for proceedings is met and how to proceed (V2: Somerset procedures 1.4.3, "
        "Legal Planning; Walsall, Pre-Proceedings Meetings)",
    },
    {
        "id": "legal_planning_decision",
        "name": "Decision of the legal planning meeting",
        "source": f"{PLO}: the meeting decides to start pre-proceedings, to issue care proceedings at once where the "
        "concerns are too serious to wait, or to take no further legal action (V2: Walsall, Pre-Proceedings "
        "Meetings, citing the statutory guidance 3.27 and 3.30)",
        "outcomes": [
            {"id": "pre_proceedings", "name": "Pre-proceedings (a letter before proceedings)"},
            {"id": "issue_proceedings", "name": "Issue care proceedings"},
            {"id": "no_further_legal_action", "name": "No further legal action"},
        ],
        "continues_on": "pre_proceedings",
    },
    {
        "id": "letter_before_proceedings",
        "name": "Letter before proceedings sent",
        "source": f"{PLO}; {PRE_PROCEEDINGS_GUIDANCE}: the letter before proceedings to the parents and everyone "
        "with parental responsibility sets out the concerns, invites them to a pre-proceedings meeting and entitles "
        "them to legal aid (V2: Research in Practice, Letter before proceedings; Family Rights Group)",
    },
    {
        "id": "pre_proceedings_meeting",
        "name": "Pre-proceedings meeting",
        "source": f"{PLO}: the pre-proceedings meeting with the parents and their lawyers agrees a plan to avoid "
        "proceedings, minuted for the court (V2: Walsall, Pre-Proceedings Meetings)",
    },
]
LEGAL_PLANNING = {"route": "legal_planning"}
STEP_RECORDED = "escalation.step_recorded.v1"


def _plo_rule(rule_id: str, step: dict, owner: str, *, trigger: str, when: dict, anchor: str) -> dict:
    """The undated deadline of one pre-proceedings step (offset None: no source sets its timescale), met when the
    step is recorded on the same escalation."""
    return {
        "id": rule_id,
        "name": f"{step['name']} (no confirmed timescale)",
        "trigger": trigger,
        "when": when,
        "anchor": anchor,
        "key": "escalation_id",
        "offset": None,
        "deadline": f"plo_{step['id']}",
        "owner": owner,
        "met_by": STEP_RECORDED,
        "met_when": {"step": step["id"]},
        "met_on": "on",
        "reminder_days": 0,
        "source": f"{step['source']}. {NO_FIGURE}",
    }


MEETING, DECISION, LETTER, PRE_PROCEEDINGS_MEETING = PLO_STEPS
PLO_RULES = [
    _plo_rule(
        "plo-legal-planning-meeting",
        MEETING,
        "team_manager",
        trigger="escalation.raised.v1",
        when=LEGAL_PLANNING,
        anchor="decided_on",
    ),
    _plo_rule(
        "plo-legal-planning-decision",
        DECISION,
        "team_manager",
        trigger=STEP_RECORDED,
        when={**LEGAL_PLANNING, "step": MEETING["id"]},
        anchor="on",
    ),
    _plo_rule(
        "plo-letter-before-proceedings",
        LETTER,
        "social_worker",
        trigger=STEP_RECORDED,
        when={**LEGAL_PLANNING, "step": DECISION["id"], "outcome": "pre_proceedings"},
        anchor="on",
    ),
    _plo_rule(
        "plo-pre-proceedings-meeting",
        PRE_PROCEEDINGS_MEETING,
        "social_worker",
        trigger=STEP_RECORDED,
        when={**LEGAL_PLANNING, "step": LETTER["id"]},
        anchor="on",
    ),
]


@hookimpl
def cpp_timescales():
    return [
        {
            "id": "initial-conference",
            "name": "Initial child protection conference",
            "trigger": "strategy_discussion.held.v1",
            "when": {"initiated_enquiries": True},
            "anchor": "held_on",
            "offset": {"amount": 15, "unit": "working_days", "direction": "after"},
            "deadline": "initial_conference",
            "owner": "social_worker",
            "met_by": "conference.held.v1",
            "met_when": {"kind": "initial"},
            "cancelled_by": NO_CONFERENCE,
            "reminder_days": 3,
            "source": f"{WT}: initial child protection conference within 15 working days of the strategy "
            "discussion at which section 47 enquiries were initiated (V: DfE Children in need statistics, "
            "data set A2, footnote 1; anchor V2: Tees CPP 1.1)",
        },
        {
            "id": "first-core-group",
            "name": "First core group meeting",
            "trigger": "conference.held.v1",
            "when": INITIAL_CONFERENCE_PLAN_REQUIRED,
            "anchor": "held_on",
            "offset": {"amount": 10, "unit": "working_days", "direction": "after"},
            "deadline": "first_core_group",
            "owner": "social_worker",
            "met_by": "core_group.held.v1",
            "recurrence": {"every": {"min": 4, "max": 6, "unit": "weeks"}},
            "plan_sets": "core_group",
            "reminder_days": 2,
            "source": f"{WT}: first core group within 10 working days of the initial conference "
            "(V2: Norfolk LSCB 3.6, Liverpool CS; whether WT 2023 still states it is unverified); then as often as "
            'the plan states, and "no less than every 6 weeks while the plan is in place" (V2: Tees CPP, Child '
            "Protection Plan & Core Group, 2; no national figure found, U). Every 4 weeks is the platform's default "
            "where the plan states none (U)",
        },
        {
            # From the plan's start, then from each visit at which the child was seen, as often as the plan says.
            "id": "child-visit",
            "name": "Child seen on a visit by the social worker",
            "trigger": "plan.created.v1",
            "anchor": "created_on",
            "offset": {"amount": 10, "unit": "working_days", "direction": "after"},
            "deadline": "child_visit",
            "owner": "social_worker",
            "met_by": "visit.recorded.v1",
            "met_when": {"child_seen": True},
            "met_on": "visited_on",
            "recurrence": {"every": {"min": 10, "max": 10, "unit": "working_days"}},
            "plan_sets": "visits",
            "seen_alone_within": 3,
            "reminder_days": 2,
            "source": "Visits at the frequency the plan sets: no national frequency was found (U). Every 10 working "
            'days is a local minimum, "statutory visits at intervals agreed in the plan and at a minimum of every 10 '
            'working days" (V2: Liverpool CS, visits to children supported through a child protection plan; also '
            "Central Bedfordshire, Camden), taken as the platform's default and limit. The child seen alone at least "
            "once in every 3 visits is the platform's default (U: no national source found)",
        },
        {
            "id": "first-review-conference",
            "name": "First review conference",
            "trigger": "conference.held.v1",
            "when": INITIAL_CONFERENCE_PLAN_REQUIRED,
            "anchor": "held_on",
            "offset": {"amount": 3, "unit": "months", "direction": "after"},
            "deadline": "review_conference",
            "owner": "chair",
            "met_by": "conference.held.v1",
            "met_when": {"kind": "review"},
            "reminder_days": 10,
            "source": f"{WT}: first review conference within 3 months of the initial conference "
            "(V2: Pan-Sussex 5.5, North Yorkshire, Rotherham)",
        },
        {
            "id": "later-review-conference",
            "name": "Review conference",
            "trigger": "conference.held.v1",
            "when": REVIEW_CONTINUES_PLAN,
            "anchor": "held_on",
            "offset": {"amount": 6, "unit": "months", "direction": "after"},
            "deadline": "review_conference",
            "owner": "chair",
            "met_by": "conference.held.v1",
            "met_when": {"kind": "review"},
            "reminder_days": 10,
            "source": f"{WT}: later review conferences not more than 6 months apart "
            "(V2: Pan-Sussex 5.5 and the same sources)",
        },
        {
            "id": "referral-decision",
            "name": "Decision on the referral",
            "trigger": "referral.received.v1",
            "anchor": "received_on",
            "offset": {"amount": 1, "unit": "working_days", "direction": "after"},
            "deadline": "referral_decision",
            "owner": "team_manager",
            "met_by": "referral.decided.v1",
            "met_on": "decided_on",
            "reminder_days": 0,
            "source": f'{WT_2013} p.26: a decision within one working day of a referral, "they must decide within '
            'one working day what kind of assessment" (V2: N. Loynes, Protecting children: processes from referral '
            "to conference, slides citing WT 2013 p.26)",
        },
        {
            "id": "child-and-family-assessment",
            "name": "Child and family assessment",
            "trigger": "referral.decided.v1",
            "when": TO_BE_ASSESSED,
            "anchor": "received_on",
            "offset": {"amount": 45, "unit": "working_days", "direction": "after"},
            "deadline": "assessment",
            "owner": "social_worker",
            "met_by": "assessment.completed.v1",
            "met_on": "completed_on",
            "reminder_days": 10,
            "source": f'{WT_2013}/2018: the child and family assessment (which includes the section 47 work) "no '
            'longer than 45 working days from the point of referral" (V2: procedures online glossary, '
            '"Assessment", citing WT 2013 and 2018)',
        },
        {
            "id": "transfer-in-conference",
            "name": "Transfer-in child protection conference",
            "trigger": "transfer.received.v1",
            "anchor": "notified_on",
            "offset": {"amount": 15, "unit": "working_days", "direction": "after"},
            "deadline": "transfer_in_conference",
            "owner": "social_worker",
            "met_by": "conference.held.v1",
            "met_when": {"kind": "transfer_in"},
            "reminder_days": 3,
            "source": f"{WT}: a child on a plan who moves for good has a transfer-in conference in the new area "
            '"within 15 working days of being notified of the permanent move" (V: Tees CPP, Section 4, '
            "De-registration, chi-i-c4/c4-p9)",
        },
        *PLO_RULES,
    ]


@hookimpl
def cpp_escalation_routes():
    return [
        {
            "id": "early_review_conference",
            "name": "Convene an early review conference",
            "description": "The plan is not working: the core group asks the chair to bring the review forward.",
            "recipient": None,
            "source": f"{WT}: a review conference may be brought forward when the plan is not working",
        },
        {
            "id": "legal_planning",
            "name": "Legal planning meeting (public law outline)",
            "description": "Consider an application to court, for a care order, when the plan has not made the "
            "child safe.",
            "recipient": None,
            "source": "Royal Borough of Greenwich, Child protection plans (2024): the council may apply to court for a "
            "care order",
            "steps": PLO_STEPS,
        },
    ]


@hookimpl
def cpp_terminology():
    return {
        "initial_conference": "initial child protection conference",
        "review_conference": "review child protection conference",
        "enquiries": "section 47 enquiries",
        "plan": "child protection plan",
        "core_group": "core group",
        "register": "subject of a child protection plan",
        "categories": "categories of harm",
    }


@hookimpl
def cpp_categories():
    # The four categories of abuse or neglect a plan is made under (seed 001,
    # Greenwich: physical, sexual, emotional abuse, neglect) with the codes the
    # Children in Need census returns them under; the census records a plan
    # under more than one as "multiple" (MUL), so that is not a category of
    # its own (TIMESCALES.md section 1, "Categories of abuse on a CP plan":
    # the census enumeration is V2/U). The ids are those plans already use.
    return [
        {"id": "physical_abuse", "name": "Physical abuse", "census_code": "PHY"},
        {"id": "sexual_abuse", "name": "Sexual abuse", "census_code": "SAB"},
        {"id": "emotional_abuse", "name": "Emotional abuse", "census_code": "EMO"},
        {"id": "neglect", "name": "Neglect", "census_code": "NEG"},
    ]


@hookimpl
def cpp_identifier_schemes():
    return [
        {
            "id": "upn",
            "name": "Unique Pupil Number",
            "validate": upn,
            "source": "DfE, Unique Pupil Number 2.0 (UK Government Data Standards Catalogue): a check letter, "
            "then 12 digits or 11 digits and a letter; the Children in Need census carries it (V)",
        }
    ]


# Retention. No national period is set for a council's child protection records: Working Together 2023 sets none
# (U: not found in it), and councils' published schedules differ widely. The figures below are one council's each,
# cited so that a council sees where they come from and gives its own (a council's plugin replaces a rule by id).
RETENTION_CP_SOURCE = (
    "35 years after the last entry: the child protection records policy of Northumberland County Council (s47 "
    "enquiries, conference minutes, plans and case recording kept 35 years after the case closed), held lawful in "
    "R (C) v Northumberland County Council [2015] EWHC 2134 (Admin) (V2: the judgment as published by BAILII); "
    "Blackpool Council's schedule keeps the records of children subject to a child protection conference 35 years "
    "after last contact (V2). No national period (U): a council states its own"
)
RETENTION_REFERRAL_SOURCE = (
    "Until the 21st birthday and 3 years without an entry: Devon County Council's schedule keeps children in need "
    "records until the child is 18 plus a further three years of inactivity (V2: one council's schedule; its "
    "reading as the later of the 21st birthday and 3 years after the last entry is the platform's). No national "
    "period (U): a council states its own"
)


@hookimpl
def cpp_retention_rules():
    return [
        {
            "id": "child_protection",
            "name": "Child protection records",
            "record_type": "child_protection",
            "years_after_last_entry": 35,
            "source": RETENTION_CP_SOURCE,
        },
        {
            "id": "referral",
            "name": "Referral and assessment records (no child protection enquiries)",
            "record_type": "referral",
            "until_age": 21,
            "years_after_last_entry": 3,
            "source": RETENTION_REFERRAL_SOURCE,
        },
    ]
