"""Wales: the Wales Safeguarding Procedures defaults, for a Welsh council's deployment.

Deploy with ``CPP_PLUGINS=wales``, or with a council's plugin after it
(``CPP_PLUGINS=wales,<council>``). Sources:

- Wales Safeguarding Procedures (2019/2020), safeguarding.wales: Section 3
  part 2 (the initial child protection conference, its outline plan and the
  first core group) and Section 4 (core groups, review conferences,
  de-registration and transfers), with the page references
  (c3pt2-p13, c4-p8...) the platform's timescales research gives them
  (TIMESCALES.md, section 3).
- NSPCC Learning, "Child protection system: Wales", and the Social Services
  and Well-being (Wales) Act 2014, s.197(1): the child protection register,
  the "care and support protection plan" and the categories of abuse and
  neglect a child is registered under.

Every rule cites where its figure comes from and how firmly it is
established (V: primary source seen; V2: only a local restatement seen; U:
unverified), as graded in the platform's timescales research. The initial
conference has no timescale the research could confirm in the current
procedures (U): its deadline is made without a date, for a manager to date
or for a council's plugin to give its own figure.

Visits have no child protection frequency in the procedures (U), so no
rule.
"""

from __future__ import annotations

from cpp_shared.hookspecs import (
    ENQUIRIES_INITIATED,
    INITIAL_CONFERENCE_PLAN_REQUIRED,
    NO_CONFERENCE,
    REVIEW_CONTINUES_PLAN,
    hookimpl,
)

WSP = "Wales Safeguarding Procedures (2019/2020)"
PLO = "The Public Law Outline (Family Procedure Rules 2010, Practice Direction 12A), which applies in England and Wales"
# The pre-proceedings steps as England's plugin names them; no Welsh source was checked for them or for a timescale
# (U), so no rule dates them.
PLO_STEPS = [
    {
        "id": "legal_planning_meeting",
        "name": "Legal planning meeting",
        "source": f"{PLO}: the local authority's legal planning meeting (U: not checked against Welsh procedures)",
    },
    {
        "id": "legal_planning_decision",
        "name": "Decision of the legal planning meeting",
        "source": f"{PLO}: pre-proceedings, care proceedings at once, or no further legal action (U: not checked "
        "against Welsh procedures)",
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
        "source": f"{PLO}: the letter to the parents inviting them to a pre-proceedings meeting (U: not checked "
        "against Welsh procedures)",
    },
    {
        "id": "pre_proceedings_meeting",
        "name": "Pre-proceedings meeting",
        "source": f"{PLO}: the meeting with the parents and their lawyers (U: not checked against Welsh procedures)",
    },
]


@hookimpl
def cpp_layer():
    return "jurisdiction"  # a jurisdiction's set: deployed first, a council's layer after it


@hookimpl
def cpp_authority():
    # De-registration is only by a review conference, or on the child reaching 18, dying or leaving the UK for
    # good (Section 4, De-registration, c4-p9, V): becoming looked after does not end a plan.
    return {
        "code": "WLS",
        "name": "Wales (Wales Safeguarding Procedures defaults)",
        "jurisdiction": "wales",
        "calendar": {"country": "GB", "subdiv": "WLS"},
        "timezone": "Europe/London",
        "contacts": [],
        "looked_after_ends_plan": False,
    }


# What the scheduler listens for (events of the plans service).


@hookimpl
def cpp_timescales():
    return [
        {
            # Graded U: made without a date (a manager gives one), never as if 15 working days were settled. A
            # council that sets its own timescale gives this rule an offset with "extends": True.
            "id": "initial-conference",
            "name": "Initial child protection conference (no confirmed timescale)",
            "trigger": "strategy_discussion.held.v1",
            "when": ENQUIRIES_INITIATED,
            "anchor": "held_on",
            "offset": None,
            "deadline": "initial_conference",
            "owner": "social_worker",
            "met_by": "conference.held.v1",
            "met_when": {"kind": "initial"},
            "cancelled_by": NO_CONFERENCE,
            "reminder_days": 3,
            "source": f"{WSP}: no timescale from the strategy discussion to the initial child protection "
            "conference was found in the current procedures (U). A Welsh performance indicator of 2014-15, from "
            'the All Wales procedures before 2019, counted "held within 15 days of strategy discussion/referral" '
            '(U: Conwy Social Services Annual Report 2014-15, "Timeliness of initial child protection '
            'conferences"). A manager gives each conference a date, or the council sets its own timescale',
        },
        {
            # The anchor is the strategy discussion that started the section 47 enquiries, as the initial
            # conference's. The assessment is the one the plans service records for the case (after a referral), so
            # a case opened without a referral, or whose assessment was completed before the strategy discussion,
            # keeps this deadline open until its plan ends.
            "id": "assessment",
            "name": "Assessment completed",
            "trigger": "strategy_discussion.held.v1",
            "when": ENQUIRIES_INITIATED,
            "anchor": "held_on",
            "offset": {"amount": 42, "unit": "working_days", "direction": "after"},
            "deadline": "assessment",
            "owner": "social_worker",
            "met_by": "assessment.completed.v1",
            "met_on": "completed_on",
            "reminder_days": 10,
            "source": f'{WSP}, Section 3 part 2 (c3pt2-p13): "completion within 42 working days from the start of '
            'the section 47 enquiries" (V); the enquiries counted from the strategy discussion that started them',
        },
        {
            "id": "first-core-group",
            "name": "Core group meeting of the care and support protection plan",
            "trigger": "conference.held.v1",
            "when": INITIAL_CONFERENCE_PLAN_REQUIRED,
            "anchor": "held_on",
            "offset": {"amount": 10, "unit": "working_days", "direction": "after"},
            "deadline": "first_core_group",
            "owner": "social_worker",
            "met_by": "core_group.held.v1",
            "recurrence": {"norm": {"amount": 1, "unit": "months"}, "limit": {"amount": 6, "unit": "weeks"}},
            "plan_sets": "core_group",
            "reminder_days": 2,
            "source": f'{WSP}, Section 3 part 2 (c3pt2-p13) and Section 4 (c4-p4): the core group meets "within 10 '
            "working days of the date of the initial child protection conference and thereafter at monthly but no "
            'more than at 6 weekly intervals" (V): each later meeting is due a calendar month after the last and '
            "overdue only after 6 weeks",
        },
        {
            # The platform records one issue of the conference's record: its decisions, with the outline plan.
            "id": "outline-plan-circulated",
            "name": "Outline plan and decisions of the initial child protection conference circulated",
            "trigger": "conference.held.v1",
            "when": {"kind": "initial"},
            "anchor": "held_on",
            "key": "conference_id",
            "offset": {"amount": 5, "unit": "working_days", "direction": "after"},
            "deadline": "conference_record",
            "owner": "chair",
            "met_by": "conference.record_issued.v1",
            "met_on": "issued_on",
            "reminder_days": 2,
            "source": f'{WSP}, Section 3 part 2, outline plan (c3pt2-p11): "Within five working days a copy of the '
            "outline plan\" and the conference's decisions are circulated (V)",
        },
        {
            "id": "first-review-conference",
            "name": "First review child protection conference",
            "trigger": "conference.held.v1",
            "when": INITIAL_CONFERENCE_PLAN_REQUIRED,
            "anchor": "held_on",
            "offset": {"amount": 3, "unit": "months", "direction": "after"},
            "deadline": "review_conference",
            "owner": "chair",
            "met_by": "conference.held.v1",
            "met_when": {"kind": "review"},
            "reminder_days": 10,
            "source": f'{WSP}, Section 4, review conference (c4-p8): the first review "within three months of the '
            'initial conference" (V)',
        },
        {
            "id": "later-review-conference",
            "name": "Review child protection conference",
            "trigger": "conference.held.v1",
            "when": REVIEW_CONTINUES_PLAN,
            "anchor": "held_on",
            "offset": {"amount": 6, "unit": "months", "direction": "after"},
            "deadline": "review_conference",
            "owner": "chair",
            "met_by": "conference.held.v1",
            "met_when": {"kind": "review"},
            "reminder_days": 10,
            "source": f'{WSP}, Section 4, review conference (c4-p8; also c3pt2-p13): later reviews "at least every '
            'six months" (V). Only a review conference takes a child off the child protection register, unless the '
            "child reaches 18, dies or leaves the UK for good (Section 4, De-registration, c4-p9, V)",
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
            "source": f'{WSP}, Section 4, De-registration (c4-p9): "convene a child protection conference within 15 '
            'working days of being notified of the permanent move" (V)',
        },
    ]


@hookimpl
def cpp_escalation_routes():
    # Neither route is in the platform's timescales research (TIMESCALES.md section 3): each says so in its source,
    # for a council to confirm against its own procedures or replace (a council's routes replace these by id).
    return [
        {
            "id": "early_review_conference",
            "name": "Convene an early review child protection conference",
            "description": "The care and support protection plan is not working: the core group asks the chair to "
            "bring the review conference forward.",
            "recipient": None,
            "source": f"{WSP}, Section 4, review conference (c4-p8): reviews at least every six months (V); a review "
            "brought forward when the plan is not working is the platform's default, not checked against the "
            "procedures (U)",
        },
        {
            "id": "legal_planning",
            "name": "Legal planning meeting (public law outline)",
            "description": "Consider an application to court, for a care order, when the plan has not made the "
            "child safe.",
            "recipient": None,
            "source": "The Public Law Outline (Family Procedure Rules 2010, Practice Direction 12A), which applies in "
            "England and Wales: pre-proceedings begin with the local authority's legal planning (U: the rules "
            "themselves were not checked)",
            "steps": PLO_STEPS,
        },
    ]


@hookimpl
def cpp_terminology():
    # Wales keeps a child protection register, and a child on it has a "care and support protection plan"
    # (NSPCC Learning, Child protection system: Wales, V2); the conferences and the section 47 enquiries are named
    # as the Wales Safeguarding Procedures name them (Sections 3 and 4).
    return {
        "initial_conference": "initial child protection conference",
        "review_conference": "review child protection conference",
        "pre_birth_conference": "pre-birth child protection conference",
        "transfer_in_conference": "transfer-in child protection conference",
        "enquiries": "section 47 enquiries",
        "plan": "care and support protection plan",
        "core_group": "core group",
        "register": "on the child protection register",
        "categories": "categories of abuse and neglect",
    }


@hookimpl
def cpp_categories():
    # The register's categories: "physical abuse, emotional or psychological abuse, sexual abuse, financial abuse,
    # neglect" (V2: NSPCC Learning, Child protection system: Wales; Carmarthenshire's policy citing the Social
    # Services and Well-being (Wales) Act 2014, s.197(1)). England's ids where the category is England's, so that
    # a plan reads the same on both sides of a transfer; no census code: England's census does not apply.
    return [
        {"id": "physical_abuse", "name": "Physical abuse"},
        {"id": "emotional_abuse", "name": "Emotional or psychological abuse"},
        {"id": "sexual_abuse", "name": "Sexual abuse"},
        {"id": "financial_abuse", "name": "Financial abuse"},
        {"id": "neglect", "name": "Neglect"},
    ]


@hookimpl
def cpp_retention_rules():
    # No retention period for Wales's child protection records was found in the sources searched (U), and England's
    # figures are one English council's each: this set gives none, so nothing is due for erasure until the council's
    # own plugin states its schedule (cpp_retention_rules, by record type: docs/retention.md).
    return []
