"""Northern Ireland: the SBNI Regional Core Policies and Procedures defaults, used alone.

Deploy with ``CPP_PLUGINS=northern_ireland``, with a Health and Social Care
(HSC) Trust's own plugin after it where the Trust sets more. Sources:

- Department of Health, Co-operating to Safeguard Children and Young People
  in Northern Ireland (March 2016, refreshed August 2017), the policy base
  (health-ni.gov.uk/publications/co-operating-safeguard-children-and-young-
  people-northern-ireland).
- Safeguarding Board for Northern Ireland (SBNI), Regional Core Policies and
  Procedures (launched 28 November 2017, replacing the ACPC 2005
  procedures), "The Child Protection Register"
  (proceduresonline.com/sbni/p_ch_protect_register.html): the reviews and
  the four-weekly visits.
- The gateway response to a referral as the NSPCC's Northern Ireland page and
  childprotectionuk.co.uk restate it: the strategy discussion, the child
  seen within 24 hours (by the next calendar day, weekends included: a
  visit before any plan at which the child was seen meets it) and the
  initial assessment (the regional text itself was not seen).

Every rule cites where its figure comes from and how firmly it is
established (V: primary source seen; V2: only a local restatement seen; U:
unverified), as gathered in the platform's timescales research. The initial
child protection case conference and the first core group have no timescale
that could be verified ("within 15 working days" is only remembered): both
are shipped without a date, so a manager gives each one, until a Trust's
plugin sets the figure its procedures give.

Working days use python-holidays' ``GB`` calendar, subdivision ``NIR``: St
Patrick's Day (17 March) and the Battle of the Boyne (the Twelfth, 12 July),
each moved to the Monday when it falls at a weekend.
"""

from __future__ import annotations

from cpp_shared.hookspecs import (
    ENQUIRIES_INITIATED,
    INITIAL_CONFERENCE_PLAN_REQUIRED,
    NO_CONFERENCE,
    REVIEW_CONTINUES_PLAN,
    hookimpl,
)

SBNI = "SBNI Regional Core Policies and Procedures"
REGISTER = f"{SBNI}, The Child Protection Register"
GATEWAY = "Northern Ireland's gateway response to a referral"


@hookimpl
def cpp_layer():
    return "jurisdiction"  # a jurisdiction's set: deployed first, a council's layer after it


@hookimpl
def cpp_authority():
    # A made-up code for development; a Trust's plugin names the Trust.
    return {
        "code": "NIR",
        "name": "Northern Ireland (SBNI Regional Core Policies and Procedures defaults)",
        "jurisdiction": "northern_ireland",
        "calendar": {"country": "GB", "subdiv": "NIR"},
        "timezone": "Europe/London",
        "contacts": [],
    }


# What the scheduler listens for (events of the plans service).


@hookimpl
def cpp_timescales():
    return [
        {
            # "Within 24 hours" on a platform that counts in days: by the next
            # working day. A Trust whose out-of-hours service holds strategy
            # discussions at weekends sets its own.
            "id": "strategy-discussion",
            "name": "Strategy discussion after a referral with child protection concerns",
            "trigger": "referral.decided.v1",
            "when": {"decision": "strategy_discussion"},
            "anchor": "received_on",
            "offset": {"amount": 1, "unit": "working_days", "direction": "after"},
            "deadline": "strategy_discussion",
            "owner": "team_manager",
            "met_by": "strategy_discussion.held.v1",
            "met_on": "held_on",
            "reminder_days": 0,
            "source": f"{GATEWAY}: a strategy discussion within 24 hours of the referral (V2: NSPCC Learning, "
            "Child protection system in Northern Ireland, referrals; childprotectionuk.co.uk, Northern Ireland "
            "guidance); 24 hours counted as one working day",
        },
        {
            # "Within 24 hours" on a platform that counts in days: by the next
            # calendar day, the weekend not skipped, as a child at risk is
            # seen at weekends too. A next day that is closed brings it back
            # to the working day before (a Friday's referral is due that
            # Friday), never before the referral (a Saturday's stays on the
            # Sunday). A visit at which the child was not seen does not meet it.
            "id": "child-seen-after-referral",
            "name": "Child seen after a referral with child protection concerns",
            "trigger": "referral.decided.v1",
            "when": {"decision": "strategy_discussion"},
            "anchor": "received_on",
            "offset": {"amount": 1, "unit": "calendar_days", "direction": "after"},
            "deadline": "child_seen",
            "owner": "social_worker",
            "met_by": "case_visit.recorded.v1",
            "met_when": {"child_seen": True},
            "met_on": "visited_on",
            "reminder_days": 0,
            "source": f"{GATEWAY}: the child seen within 24 hours of the referral (V2: NSPCC Learning, Child "
            "protection system in Northern Ireland, referrals; childprotectionuk.co.uk, Northern Ireland "
            "guidance); 24 hours counted as one calendar day, the weekend not skipped, as a child at risk is "
            "seen at weekends too",
        },
        {
            "id": "initial-assessment",
            "name": "Initial assessment",
            "trigger": "referral.decided.v1",
            "when": {"decision": ["assessment", "strategy_discussion"]},
            "anchor": "received_on",
            "offset": {"amount": 10, "unit": "working_days", "direction": "after"},
            "deadline": "assessment",
            "owner": "social_worker",
            "met_by": "assessment.completed.v1",
            "met_on": "completed_on",
            "reminder_days": 2,
            "source": f'{GATEWAY}: "carry out an initial assessment within 10 working days" of the referral '
            "(V2: NSPCC Learning, Child protection system in Northern Ireland, referrals; childprotectionuk.co.uk, "
            "Northern Ireland guidance)",
        },
        {
            "id": "initial-conference",
            "name": "Initial child protection case conference (timescale unverified: a date is needed)",
            "trigger": "strategy_discussion.held.v1",
            "when": ENQUIRIES_INITIATED,
            "anchor": "held_on",
            "offset": None,
            "deadline": "initial_conference",
            "owner": "social_worker",
            "met_by": "conference.held.v1",
            "met_when": {"kind": "initial"},
            "cancelled_by": NO_CONFERENCE,
            "source": f"{SBNI}, Child Protection Case Conferences (the chapter's text was not seen): the timescale "
            'from the strategy discussion was not found; "within 15 working days" is remembered, not confirmed (U). '
            "No date is set until a Trust's plugin gives the figure its procedures give",
        },
        {
            "id": "first-core-group",
            "name": "First core group meeting (timescale unverified: a date is needed)",
            "trigger": "conference.held.v1",
            "when": INITIAL_CONFERENCE_PLAN_REQUIRED,
            "anchor": "held_on",
            "offset": None,
            "deadline": "first_core_group",
            "owner": "social_worker",
            "met_by": "core_group.held.v1",
            "met_on": "held_on",
            "source": f"{SBNI}, Child Protection Case Conferences (the chapter's text was not seen): the timescale "
            "of the first core group was not found (U). No date is set until a Trust's plugin gives the figure its "
            "procedures give",
        },
        {
            "id": "first-review-conference",
            "name": "First review child protection case conference",
            "trigger": "conference.held.v1",
            "when": INITIAL_CONFERENCE_PLAN_REQUIRED,
            "anchor": "held_on",
            "offset": {"amount": 3, "unit": "months", "direction": "after"},
            "deadline": "review_conference",
            "owner": "chair",
            "met_by": "conference.held.v1",
            "met_when": {"kind": "review"},
            "reminder_days": 10,
            "source": f'{REGISTER}, s.1-2: the plan is reviewed "initially after three months of the decision to '
            'place the child ... on the Register" (V)',
        },
        {
            "id": "later-review-conference",
            "name": "Review child protection case conference",
            "trigger": "conference.held.v1",
            "when": REVIEW_CONTINUES_PLAN,
            "anchor": "held_on",
            "offset": {"amount": 6, "unit": "months", "direction": "after"},
            "deadline": "review_conference",
            "owner": "chair",
            "met_by": "conference.held.v1",
            "met_when": {"kind": "review"},
            "reminder_days": 10,
            "source": f'{REGISTER}, s.1-2: the plan is "formally reviewed at least every six months" (V)',
        },
        {
            # From the conference that put the child on the register, then
            # four weeks from each visit at which the child was seen.
            "id": "child-seen",
            "name": "Child seen by the social worker (at least every four weeks)",
            "trigger": "conference.held.v1",
            "when": INITIAL_CONFERENCE_PLAN_REQUIRED,
            "anchor": "held_on",
            "offset": {"amount": 4, "unit": "weeks", "direction": "after"},
            "deadline": "child_seen",
            "owner": "social_worker",
            "met_by": "visit.recorded.v1",
            "met_when": {"child_seen": True},
            "met_on": "visited_on",
            "recurrence": {"every": {"min": 4, "max": 4, "unit": "weeks"}},
            "reminder_days": 3,
            "source": f'{REGISTER}, s.7 (amended May 2018): a child on the register "must be seen at least every '
            'four weeks" (V)',
        },
    ]


@hookimpl
def cpp_escalation_routes():
    return [
        {
            "id": "early_review_conference",
            "name": "Convene an early review child protection case conference",
            "description": "The plan is not working: the core group asks the chair to bring the review forward.",
            "recipient": None,
            "source": f'{REGISTER}, s.1-2: the plan is "formally reviewed at least every six months" (V); a '
            "review brought forward when the plan is not working is the platform's default, not checked against "
            "the SBNI procedures (U)",
        },
    ]


@hookimpl
def cpp_terminology():
    # The SBNI procedures' words: the "child protection case conference"
    # (initial and review), the core group, and the register each HSC Trust
    # keeps ("The Child Protection Register"). The Trust's duty to
    # investigate is Article 66 of the Children (Northern Ireland) Order 1995.
    return {
        "initial_conference": "initial child protection case conference",
        "review_conference": "review child protection case conference",
        "pre_birth_conference": "pre-birth child protection case conference",
        "transfer_in_conference": "transfer-in child protection case conference",
        "enquiries": "child protection investigation",
        "plan": "child protection plan",
        "core_group": "core group",
        "register": "on the child protection register",
        "categories": "categories of abuse",
    }


@hookimpl
def cpp_categories():
    # The register's categories in Northern Ireland: England's four and
    # exploitation, added in 2016 (the SBNI procedures' "main differences"
    # note: "The categories/type of abuse includes Exploitation", V2). The
    # ids are England's where the category is the same, so that a plan reads
    # the same; England's census codes do not apply.
    return [
        {"id": "physical_abuse", "name": "Physical abuse"},
        {"id": "emotional_abuse", "name": "Emotional abuse"},
        {"id": "sexual_abuse", "name": "Sexual abuse"},
        {"id": "neglect", "name": "Neglect"},
        {"id": "exploitation", "name": "Exploitation"},
    ]


@hookimpl
def cpp_retention_rules():
    # No retention period for Northern Ireland's child protection records was found in the sources searched (U), and England's
    # figures are one English council's each: this set gives none, so nothing is due for erasure until the council's
    # own plugin states its schedule (cpp_retention_rules, by record type: docs/retention.md).
    return []
