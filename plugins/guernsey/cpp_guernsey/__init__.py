"""Guernsey: the Islands' child protection timetable, used alone.

Deploy with ``CPP_PLUGINS=guernsey``. Sources:

- Guernsey child protection procedures, "Child Protection Plans" (the
  platform's seed 004): the timetable from the section 35 enquiries to the
  child in need plan that follows a plan's end, each step with the person
  responsible and its timescale.
- Guernsey child protection procedures, "Child Protection Plan" (seed 003):
  the first review conference three months after the initial conference,
  and what follows when a plan is not working (a review conference, the
  Children's Convenor, or the Juvenile Court through a legal threshold
  meeting).
- The platform's timescales research (TIMESCALES.md, section 5, Guernsey and
  Alderney): the initial conference, core group, review and Convenor
  referral timescales with the Islands Safeguarding Children Partnership
  (ISCP) and Health and Social Care (HSC) pages they come from.
- ISCP child protection procedures, "Quorum" (iscp.gg article 118060), and
  HSC's "Child protection conferences & plans": a conference's quorum of
  three agencies (``cpp_conference_quorum``).

Every rule cites where its figure comes from and how firmly it is
established (V: primary source seen; V2: only a local restatement seen; U:
unverified), as graded in the platform's timescales research.

Working days use python-holidays' ``GG`` calendar (no subdivisions; Liberation
Day, 9 May, has no substitute day). Alderney's Homecoming Day (15 December) is
not in it: an Alderney deployment adds it with ``cpp_extra_closure_days``.
"""

from __future__ import annotations

from cpp_shared.hookspecs import (
    ENQUIRIES_INITIATED,
    INITIAL_CONFERENCE_PLAN_REQUIRED,
    NO_CONFERENCE,
    REVIEW_CONTINUES_PLAN,
    hookimpl,
)

TIMETABLE = "Guernsey child protection procedures, Child Protection Plans timetable"
PLAN_PAGE = "Guernsey child protection procedures, Child Protection Plan"
FURTHER_CORE_GROUPS = (
    f'Then as the plan states: {TIMETABLE}, "Further core groups held", "Within timescale specified within child '
    "protection plan\" (V: the Islands' own procedures; no frequency of their own)"
)
RESEARCH = (
    "Islands Safeguarding Children Partnership (ISCP) and Health and Social Care (HSC), child protection procedures"
)


@hookimpl
def cpp_layer():
    return "jurisdiction"  # a jurisdiction's set: deployed first, a council's layer after it


@hookimpl
def cpp_authority():
    # Seeds 003 and 004 give no telephone number or address, so no contact is listed.
    return {
        "code": "GSY",
        "name": "States of Guernsey (Children and Family Community Services)",
        "jurisdiction": "guernsey",
        "calendar": {"country": "GG"},
        "timezone": "Europe/London",
        "contacts": [],
    }


# What the scheduler listens for (events of the plans service).
CONFERENCE_SET = ["conference.scheduled.v1", "conference.rescheduled.v1"]
CONFERENCE_CANCELLED = [{"event": "conference.cancelled.v1"}]


def _before_initial_conference(rule_id: str, name: str, days: int, met_by: str, wording: str) -> dict:
    """A step of the section 35 report, due some working days before the
    initial conference; a rescheduled conference moves it, a cancelled one
    drops it."""
    return {
        "id": rule_id,
        "name": name,
        "trigger": CONFERENCE_SET,
        "when": {"kind": "initial"},
        "anchor": "scheduled_for",
        "key": "conference_id",
        "offset": {"amount": days, "unit": "working_days", "direction": "before"},
        "deadline": rule_id.replace("-", "_"),
        "owner": "social_worker",
        "met_by": met_by,
        "met_on": "done_on",
        "cancelled_by": CONFERENCE_CANCELLED,
        "reminder_days": 1,
        "source": f'{TIMETABLE}: "{wording}", social worker (V: the Islands\' own procedures)',
    }


@hookimpl
def cpp_timescales():
    return [
        {
            "id": "child-and-family-assessment",
            "name": "Assessment",
            "trigger": "referral.decided.v1",
            "when": {"decision": ["assessment", "strategy_discussion"]},
            "anchor": "received_on",
            "offset": {"amount": 45, "unit": "working_days", "direction": "after"},
            "deadline": "assessment",
            "owner": "social_worker",
            "met_by": "assessment.completed.v1",
            "met_on": "completed_on",
            "reminder_days": 10,
            "source": 'Islands Safeguarding Children Partnership (ISCP) tri.x manual: "the timescale within which the '
            'assessment must be completed is 45 working days" (V); the manual does not say from when: counted from '
            "the referral, as in England (U)",
        },
        {
            "id": "enquiries-complete",
            "name": "Section 35 enquiries completed and conference decision",
            "trigger": "strategy_discussion.held.v1",
            "when": ENQUIRIES_INITIATED,
            "anchor": "held_on",
            "offset": {"amount": 10, "unit": "working_days", "direction": "after"},
            "deadline": "enquiry_outcome",
            "owner": "social_worker",
            "met_by": "enquiry.completed.v1",
            "met_on": "completed_on",
            "reminder_days": 2,
            "source": f'{TIMETABLE}: "Section 35 enquiries completed and agreement that conference required", '
            'social worker and unit manager, "Within 10 working days of strategy discussion" '
            "(V: the Islands' own procedures)",
        },
        {
            "id": "initial-conference",
            "name": "Initial child protection conference",
            "trigger": "strategy_discussion.held.v1",
            "when": ENQUIRIES_INITIATED,
            "anchor": "held_on",
            "offset": {"amount": 15, "unit": "working_days", "direction": "after"},
            "deadline": "initial_conference",
            "owner": "social_worker",
            "met_by": "conference.held.v1",
            "met_when": {"kind": "initial"},
            "cancelled_by": NO_CONFERENCE,
            "reminder_days": 3,
            "source": f'{RESEARCH}: initial child protection conference "within 15 working days of the strategy '
            'discussion / meeting" (V: HSC procedures, Section 35 enquiries; ISCP tri.x manual, Child Protection '
            "Enquiries). The older ISCP site (iscp.gg articles 118097 and 118067, flowchart of 2015) says 10 working "
            "days; the current manual is followed",
        },
        {
            "id": "child-in-need-after-enquiries",
            "name": "Child in need plan considered when no conference is needed",
            "trigger": "enquiry.completed.v1",
            "when": {"conference_required": False},
            "anchor": "completed_on",
            "offset": {"amount": 7, "unit": "working_days", "direction": "after"},
            "deadline": "child_in_need_plan",
            "owner": "social_worker",
            "met_by": "child_in_need_plan.created.v1",
            "met_on": "created_on",
            "reminder_days": 2,
            "source": f'{TIMETABLE}: "If conference not required, child in need plan to be considered", social '
            'worker, "Within 7 working days of decision not to take to conference" (V: the Islands\' own procedures)',
        },
        _before_initial_conference(
            "draft-plan-in-report",
            "Draft plan entered into the report to conference",
            4,
            "report.drafted.v1",
            "Draft plan drawn up based on outcome of s35 enquiries and entered into report to conference ... "
            "4 working days prior to conference",
        ),
        _before_initial_conference(
            "report-to-manager",
            "Section 35 report and draft plan passed to the manager to countersign",
            3,
            "report.submitted.v1",
            "Section 35 report and draft plan passed to manager for countersigning ... 3 working days prior to "
            "conference",
        ),
        _before_initial_conference(
            "report-shared-with-family",
            "Report shared with the parents (and the child where appropriate)",
            2,
            "report.shared.v1",
            "Report to be shared with parents / those with parental responsibility and child where appropriate ... "
            "2 working days prior to conference",
        ),
        _before_initial_conference(
            "report-to-chair",
            "Report sent to the conference chair",
            1,
            "report.sent_to_chair.v1",
            "Report to be sent to conference chair ... 1 working day prior to conference",
        ),
        {
            "id": "resource-panel",
            "name": "Resource panel approval of the plan (no timescale set)",
            "trigger": "resource_panel.requested.v1",
            "anchor": "requested_on",
            "key": "request_id",
            "offset": None,
            "deadline": "resource_panel",
            "owner": "social_worker",
            "met_by": "resource_panel.decided.v1",
            "met_on": "decided_on",
            "source": f'{TIMETABLE}: "If necessary plan taken to resource panel for approval", social worker, '
            '"***Timescale required***" (V: the Islands\' own procedures set no timescale; a date is needed)',
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
            "plan_sets": "core_group",
            "reminder_days": 2,
            "source": f'{TIMETABLE}: "First core group held and draws up child protection plan", "Within 10 '
            f"working days of conference\" (V: the Islands' own procedures; also {RESEARCH}, iscp.gg article 118069, "
            f'V). {PLAN_PAGE} says "within 10 days of the conference" without "working". {FURTHER_CORE_GROUPS}',
        },
        {
            # The timetable's steps repeat after each review: a core group after every review that keeps the plan.
            "id": "core-group-after-review",
            "name": "Core group meeting after the review conference",
            "trigger": "conference.held.v1",
            "when": REVIEW_CONTINUES_PLAN,
            "anchor": "held_on",
            "offset": {"amount": 10, "unit": "working_days", "direction": "after"},
            "deadline": "core_group_after_review",
            "owner": "social_worker",
            "met_by": "core_group.held.v1",
            "reminder_days": 2,
            "source": f'{TIMETABLE}: "Actions 10 & 11 repeated along with any other work required until review '
            'conference", and the core group after the conference "Within 10 working days of conference" (V: the '
            "Islands' own procedures; the platform reads the timetable as starting again from each review that "
            f"continues or revises the plan); the core groups between reviews recur from the first one, as the plan states",
        },
        {
            # No frequency of its own: the plan's, from the plan's start, then from each visit at which the child
            # was seen; a plan that states none leaves a deadline needing a date.
            "id": "child-visit",
            "name": "Child seen on a visit by the social worker (as often as the plan specifies)",
            "trigger": "plan.created.v1",
            "anchor": "created_on",
            "offset": None,
            "deadline": "child_visit",
            "owner": "social_worker",
            "met_by": "visit.recorded.v1",
            "met_when": {"child_seen": True},
            "met_on": "visited_on",
            "plan_sets": "visits",
            "reminder_days": 2,
            "source": f'{TIMETABLE}: "Visits to child completed", social worker, "Within timescale specified within '
            "child protection plan\" (V: the Islands' own procedures; no frequency of their own, so a plan that "
            "states none needs a date)",
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
            "source": f'{PLAN_PAGE}: "the first review child protection conference (3 months after the initial '
            f"conference)\" (V: the Islands' own procedures; also {RESEARCH}, iscp.gg article 118099, V)",
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
            "source": f'{RESEARCH}: "further review conferences within 6 months of each other" '
            "(V: iscp.gg article 118099, Meetings)",
        },
        {
            "id": "plan-updated-for-review",
            "name": "Child protection plan updated and included in the review report",
            "trigger": CONFERENCE_SET,
            "when": {"kind": "review"},
            "anchor": "scheduled_for",
            "key": "conference_id",
            "offset": {"amount": 5, "unit": "working_days", "direction": "before"},
            "deadline": "plan_updated_for_review",
            "owner": "social_worker",
            "met_by": "report.submitted.v1",
            "met_when": {"report_kind": "review_report"},
            "met_on": "done_on",
            "cancelled_by": CONFERENCE_CANCELLED,
            "reminder_days": 2,
            "source": f'{TIMETABLE}: "Child protection plan updated for conference and included in review report", '
            'social worker and unit manager, "5 working days prior to conference" (V: the Islands\' own procedures)',
        },
        {
            "id": "child-in-need-after-plan",
            "name": "Child in need plan drawn up after the plan ends",
            "trigger": "plan.ended.v1",
            "when": {"ended.step_down": "child_in_need_plan"},  # not a child who died, moved away or is 18
            "anchor": "ended.on",
            "offset": {"amount": 7, "unit": "working_days", "direction": "after"},
            "deadline": "child_in_need_plan",
            "owner": "social_worker",
            "met_by": "child_in_need_plan.created.v1",
            "met_on": "created_on",
            "reminder_days": 2,
            "source": f'{TIMETABLE}: "Once child protection plan no longer required, child in need plan should be '
            'drawn up", social worker, "Within 7 working days of conference where child protection plans bought to '
            "an end\" (V: the Islands' own procedures)",
        },
        {
            "id": "convenor-referral",
            "name": "Referral to the Children's Convenor",
            "trigger": "escalation.raised.v1",
            "when": {"route": "childrens_convenor"},
            "anchor": "decided_on",
            "key": "escalation_id",
            "offset": {"amount": 2, "unit": "working_days", "direction": "after"},
            "deadline": "convenor_referral",
            "owner": "social_worker",
            "met_by": "escalation.referral_made.v1",
            "met_on": "made_on",
            "reminder_days": 1,
            "source": f"{RESEARCH}: the conference decides whether to refer to the Children's Convenor and \"The "
            'referral will be made no later than within two working days." (V: iscp.gg article 118058, Initial CP '
            "case conference; HSC, Children's Convenor); counted from the day of the decision (the conference's "
            "date), met when the referral made is recorded",
        },
    ]


@hookimpl
def cpp_escalation_routes():
    return [
        {
            "id": "early_review_conference",
            "name": "Convene a review child protection conference",
            "description": "The plan is not achieving its objectives: a review child protection conference must be "
            "convened.",
            "recipient": None,
            "source": f'{PLAN_PAGE}: "If the child protection plan is not successful in achieving its objectives, a '
            'review child protection conference must be convened."',
        },
        {
            "id": "childrens_convenor",
            "name": "Refer to the Children's Convenor",
            "description": "The plan is not working, or a parent does not comply with it: refer the child to the "
            "Children's Convenor (Convenor's Meeting, then the Child, Youth and Community Tribunal).",
            "recipient": {"name": "Children's Convenor", "kind": "external"},
            "source": f'{PLAN_PAGE}: "a referral must be made to the Children\'s Convenor"; the referral within two '
            f"working days of the conference's decision ({RESEARCH}, V: iscp.gg article 118058)",
        },
        {
            "id": "legal_threshold_meeting",
            "name": "Hold a legal threshold meeting (towards the Juvenile Court)",
            "description": "Consider an application to the Juvenile Court, through a legal threshold meeting, "
            "depending on the urgency of the situation.",
            "recipient": None,
            "source": f'{PLAN_PAGE}: "or to the Juvenile Court (through holding a legal threshold meeting, depending '
            'on the urgency of the situation)"',
        },
    ]


@hookimpl
def cpp_conference_quorum():
    return {
        "min_agencies": 3,
        "source": 'ISCP child protection procedures, "Quorum" (iscp.gg article 118060): a conference normally needs '
        "at least three agencies or professional groupings present, health counted as one agency and social care as "
        'another (V: the Islands\' own procedures); HSC procedures, "Child protection conferences & plans": '
        "ordinarily social care and two other agencies (V)",
    }


@hookimpl
def cpp_terminology():
    # The Islands' procedures disagree on the section of the Children
    # (Guernsey and Alderney) Law 2008 the enquiries fall under: the HSC
    # procedures and seed 004 say section 35, the newer ISCP tri.x manual says
    # section 23, and the Children's Convenor treats s.35 as the grounds for
    # referral (TIMESCALES.md section 5, U until checked against the
    # consolidated Law). The wording follows the seeds.
    return {
        "initial_conference": "initial child protection conference",
        "review_conference": "review child protection conference",
        "enquiries": "section 35 enquiries",
        "plan": "child protection plan",
        "core_group": "core group",
        "register": "on the Islands' child protection register",
        "categories": "categories of harm",
    }


@hookimpl
def cpp_categories():
    # The Islands' register category list was not captured (TIMESCALES.md
    # section 5, "Register": U); the seeds' four categories of harm (seed 001)
    # stand until it is, with England's ids so that a plan reads the same.
    return [
        {"id": "physical_abuse", "name": "Physical abuse"},
        {"id": "sexual_abuse", "name": "Sexual abuse"},
        {"id": "emotional_abuse", "name": "Emotional abuse"},
        {"id": "neglect", "name": "Neglect"},
    ]


@hookimpl
def cpp_retention_rules():
    # No retention period for Guernsey's child protection records was found in the sources searched (U), and England's
    # figures are one English council's each: this set gives none, so nothing is due for erasure until the council's
    # own plugin states its schedule (cpp_retention_rules, by record type: docs/retention.md).
    return []
