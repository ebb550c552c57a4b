"""The shipped plugin sets, deployment by deployment: their rules parse, layer
and cite their sources; their calendars, routes and words are the ones the
sources give."""

from __future__ import annotations

import re
from datetime import date
from importlib.metadata import entry_points

import pytest

from cpp_scheduler.domain.calendar import WorkingCalendar
from cpp_scheduler.domain.rules import Offset, anchor_date, effective_rules
from cpp_shared.plugins import Plugins

DEPLOYMENTS = {
    "england": ["england"],
    "bromley": ["england", "bromley"],
    "greenwich": ["england", "greenwich"],
    "guernsey": ["guernsey"],
    "scotland": ["scotland"],
    "wales": ["wales"],
    "northern_ireland": ["northern_ireland"],
}
AUTHORITY_CODES = {"england": "ENG", "bromley": "BRM", "greenwich": "GRN", "guernsey": "GSY", "scotland": "SCT"}
AUTHORITY_CODES["wales"] = "WLS"
AUTHORITY_CODES["northern_ireland"] = "NIR"
TERM_KEYS = {"initial_conference", "review_conference", "enquiries", "plan", "core_group", "register", "categories"}

# A grade as the citations write it: "(V: ...", "V2: ...", "(U)".
GRADE = re.compile(r"(?<![A-Za-z0-9])(V2|V|U)(?=[:)])")

# Event data as the plans service publishes it (cpp_plans.domain.lifecycle),
# and as agreed for the events still to come (reports, resource panel, child
# in need plan, escalation delivery, conference rescheduling and cancelling).
# Every rule's anchor must be found in each of its triggers' data, and its
# met_on in each of its meeting events' data.
EVENT_DATA = {
    "referral.received.v1": {"case_id": "c1", "received_on": "2026-02-26", "source": "school"},
    "referral.decided.v1": {
        "case_id": "c1",
        "received_on": "2026-02-26",
        "decided_on": "2026-02-27",
        "decision": "assessment",
    },
    "assessment.completed.v1": {
        "case_id": "c1",
        "received_on": "2026-02-26",
        "started_on": "2026-02-27",
        "completed_on": "2026-03-20",
        "outcome": "strategy_discussion",
    },
    "strategy_discussion.held.v1": {
        "case_id": "c1",
        "strategy_discussion_id": "s1",
        "held_on": "2026-03-02",
        "initiated_enquiries": True,
    },
    "enquiry.completed.v1": {"case_id": "c1", "completed_on": "2026-03-10", "conference_required": False},
    "transfer.received.v1": {
        "case_id": "c1",
        "child_id": "b1",
        "from_council": {"code": "BRM", "name": "London Borough of Bromley"},
        "notified_on": "2026-03-02",
        "with_package": True,
    },
    "child.born.v1": {
        "child_id": "b1",
        "born_on": "2026-03-02",
        "expected_date_of_birth": "2026-03-09",
        "on_plan": True,
    },
    "conference.scheduled.v1": {
        "conference_id": "k1",
        "case_id": "c1",
        "kind": "initial",
        "scheduled_for": "2026-03-20",
        "plan_id": None,
    },
    "conference.rescheduled.v1": {
        "conference_id": "k1",
        "case_id": "c1",
        "kind": "initial",
        "scheduled_for": "2026-03-24",
        "plan_id": None,
    },
    "conference.cancelled.v1": {
        "conference_id": "k1",
        "case_id": "c1",
        "kind": "initial",
        "scheduled_for": "2026-03-24",
        "reason": "chair unwell",
        "plan_id": None,
    },
    "conference.held.v1": {
        "conference_id": "k1",
        "case_id": "c1",
        "kind": "initial",
        "held_on": "2026-03-24",
        "plan_required": True,
        "plan_id": "p1",
    },
    "conference.invitations_sent.v1": {
        "conference_id": "k1",
        "case_id": "c1",
        "kind": "initial",
        "scheduled_for": "2026-03-24",
        "sent_on": "2026-03-16",
        "notice_days": 8,
    },
    "conference.inquorate.v1": {
        "conference_id": "k1",
        "case_id": "c1",
        "kind": "initial",
        "met_on": "2026-03-20",
        "reason": "no police",
        "scheduled_for": "2026-03-24",
        "plan_id": None,
    },
    "conference.record_issued.v1": {
        "conference_id": "k1",
        "case_id": "c1",
        "kind": "initial",
        "held_on": "2026-03-24",
        "issued_on": "2026-03-30",
        "plan_id": "p1",
    },
    "core_group.held.v1": {"meeting_id": "m1", "plan_id": "p1", "held_on": "2026-04-01", "detailed_plan_agreed": True},
    "plan.created.v1": {"plan_id": "p1", "status": "outline", "created_on": "2026-03-24", "ended": None},
    "plan.ended.v1": {
        "plan_id": "p1",
        "status": "ended",
        "created_on": "2026-03-24",
        "ended": {"on": "2027-01-12", "conference_id": "k3", "step_down": "child_in_need_plan"},
    },
    "escalation.raised.v1": {
        "escalation_id": "e1",
        "plan_id": "p1",
        "route": "childrens_convenor",
        "raised_on": "2026-06-01",
        "decided_on": "2026-05-28",
    },
    "escalation.delivered.v1": {"escalation_id": "e1", "plan_id": "p1", "delivered_on": "2026-06-02"},
    "escalation.referral_made.v1": {
        "escalation_id": "e1",
        "plan_id": "p1",
        "route": "childrens_convenor",
        "decided_on": "2026-05-28",
        "made_on": "2026-06-01",
    },
    "escalation.step_recorded.v1": {
        "escalation_id": "e1",
        "plan_id": "p1",
        "route": "legal_planning",
        "decided_on": "2026-05-28",
        "step": "legal_planning_meeting",
        "on": "2026-06-03",
    },
    "child_in_need_plan.created.v1": {"case_id": "c1", "created_on": "2026-03-17"},
    "report.drafted.v1": {"conference_id": "k1", "report_kind": "section_35_report", "done_on": "2026-03-16"},
    "report.submitted.v1": {"conference_id": "k1", "report_kind": "review_report", "done_on": "2026-03-17"},
    "report.shared.v1": {"conference_id": "k1", "done_on": "2026-03-18"},
    "report.sent_to_chair.v1": {"conference_id": "k1", "done_on": "2026-03-19"},
    "resource_panel.requested.v1": {"request_id": "r1", "plan_id": "p1", "requested_on": "2026-04-02"},
    "resource_panel.decided.v1": {"request_id": "r1", "plan_id": "p1", "decided_on": "2026-04-09"},
    "visit.recorded.v1": {"visit_id": "v1", "plan_id": "p1", "visited_on": "2026-04-14", "child_seen": True},
    "case_visit.recorded.v1": {"visit_id": "v2", "case_id": "c1", "visited_on": "2026-02-27", "child_seen": True},
    "significant_change.recorded.v1": {"change_id": "g1", "plan_id": "p1", "noticed_on": "2026-05-04"},
    "significant_change.referred.v1": {
        "change_id": "g1",
        "plan_id": "p1",
        "noticed_on": "2026-05-04",
        "told_on": "2026-05-05",
    },
}


def _plugins(deployment: str) -> Plugins:
    return Plugins(DEPLOYMENTS[deployment])


def _rules(deployment: str) -> dict:
    return {rule.id: rule for rule in effective_rules(_plugins(deployment))}


def _calendar(deployment: str) -> WorkingCalendar:
    return WorkingCalendar.for_authority(_plugins(deployment).authority())


def _due(deployment: str, rule_id: str, anchor: date) -> date:
    offset = _rules(deployment)[rule_id].offset
    return _calendar(deployment).due_date(anchor, offset.amount, offset.unit, offset.direction).due


# --- every deployment -----------------------------------------------------


def test_each_plugin_set_is_installed_under_its_entry_point():
    installed = {ep.name: ep.value for ep in entry_points(group="cpp.plugins")}
    for name in ("bromley", "greenwich", "guernsey", "scotland", "northern_ireland"):
        assert installed.get(name) == f"cpp_{name}"


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_every_rule_parses_and_comes_from_the_deployment(deployment):
    rules = effective_rules(_plugins(deployment))
    assert rules
    assert len({r.id for r in rules}) == len(rules)
    assert {r.plugin for r in rules} <= set(DEPLOYMENTS[deployment])


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_every_rule_cites_a_source_with_its_grade(deployment):
    for rule in effective_rules(_plugins(deployment)):
        assert rule.source.strip(), rule.id
        assert GRADE.search(rule.source), f"{rule.id}: no grade (V, V2 or U) in {rule.source!r}"


INTERNAL = re.compile(r"\bseed \d|\bseeds?\b|\.md\b|\.py\b|TIMESCALES|DOMAIN", re.IGNORECASE)


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_sources_people_read_cite_public_documents_not_internal_references(deployment):
    plugins = _plugins(deployment)
    for rule in effective_rules(plugins):
        assert not INTERNAL.search(rule.source + rule.name), f"{rule.id}: {rule.source!r}"
    for route in plugins.layered("cpp_escalation_routes"):
        assert not INTERNAL.search(route["source"] + route["name"]), f"{route['id']}: {route['source']!r}"


def test_the_grade_check_tells_a_graded_citation_from_a_bare_one():
    assert GRADE.search("Working Together 2023: 10 working days (V2: Norfolk LSCB 3.6)")
    assert GRADE.search('para 3.133: "straight away" (V)')
    assert not GRADE.search("Children's Hearings (Scotland) Act 2011 (s.60)")
    assert not GRADE.search("Working Together 2023: 10 working days (Norfolk LSCB 3.6)")
    assert not GRADE.search("seed 004: Visits to child completed")


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_every_anchor_and_meeting_date_is_in_the_events_data(deployment):
    for rule in effective_rules(_plugins(deployment)):
        for event in rule.triggers:
            assert anchor_date(EVENT_DATA[event], rule.anchor), f"{rule.id}: no {rule.anchor!r} in {event}"
            if rule.key:
                assert EVENT_DATA[event].get(rule.key), f"{rule.id}: no key {rule.key!r} in {event}"
        for event in rule.met_by:
            assert anchor_date(EVENT_DATA[event], rule.met_on), f"{rule.id}: no {rule.met_on!r} in {event}"
        for cancel in rule.cancelled_by:
            assert cancel.event in EVENT_DATA, f"{rule.id}: cancelled by an unknown event {cancel.event}"


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_each_authority_names_itself_and_its_calendar_loads(deployment):
    authority = _plugins(deployment).authority()
    assert authority["code"] == AUTHORITY_CODES[deployment]
    assert authority["name"].strip()
    assert authority.get("timezone", "Europe/London") == "Europe/London"
    calendar = WorkingCalendar.for_authority(authority)
    assert calendar.is_working_day(date(2026, 3, 11))  # an ordinary Wednesday
    assert not calendar.is_working_day(date(2026, 3, 14))  # a Saturday
    assert not calendar.is_working_day(date(2025, 12, 25))


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_every_deployment_has_all_the_words(deployment):
    terms = _plugins(deployment).merged("cpp_terminology")
    assert TERM_KEYS <= set(terms)
    assert all(isinstance(v, str) and v.strip() for v in terms.values())


@pytest.mark.parametrize(
    "deployment, closed",
    [("england", False), ("bromley", False), ("greenwich", False), ("guernsey", True), ("scotland", False)],
)
def test_liberation_day_is_closed_only_in_guernsey(deployment, closed):
    assert _calendar(deployment).is_working_day(date(2025, 5, 9)) is not closed


@pytest.mark.parametrize("deployment, closed", [("england", False), ("guernsey", False), ("scotland", True)])
def test_st_andrews_day_is_closed_only_in_scotland(deployment, closed):
    assert _calendar(deployment).is_working_day(date(2026, 11, 30)) is not closed


# --- the due dates each plugin set's rules give (each plugin's own tests are in plugins/<name>/tests) ------


def test_greenwich_two_weeks_before_a_bank_holiday_is_due_the_working_day_before():
    # 2026-05-11 + 14 days = Monday 25 May, the Spring Bank Holiday: due Friday 22 May.
    assert _due("greenwich", "first-core-group", date(2026, 5, 11)) == date(2026, 5, 22)


def test_council_plugins_keep_england_words():
    england = _plugins("england").merged("cpp_terminology")
    assert _plugins("bromley").merged("cpp_terminology") == england
    assert _plugins("greenwich").merged("cpp_terminology") == england


def test_a_rule_whose_source_sets_no_timescale_reads_as_needing_a_date():
    assert _rules("guernsey")["resource-panel"].timescale() == "no timescale set by the source: a date is needed"


def test_guernsey_report_steps_skip_liberation_day():
    # Initial conference on Monday 12 May 2025: Friday 9 May is Liberation Day
    # and Monday 5 May the May Day bank holiday.
    conference = date(2025, 5, 12)
    assert _due("guernsey", "report-to-chair", conference) == date(2025, 5, 8)
    assert _due("guernsey", "report-shared-with-family", conference) == date(2025, 5, 7)
    assert _due("guernsey", "report-to-manager", conference) == date(2025, 5, 6)
    assert _due("guernsey", "draft-plan-in-report", conference) == date(2025, 5, 2)


@pytest.mark.parametrize("deployment, closed", [("england", False), ("scotland", False), ("northern_ireland", True)])
def test_st_patricks_day_and_the_twelfth_are_closed_only_in_northern_ireland(deployment, closed):
    assert _calendar(deployment).is_working_day(date(2026, 3, 17)) is not closed
    assert _calendar(deployment).is_working_day(date(2026, 7, 13)) is not closed  # the Twelfth, a Sunday, in lieu


def test_scotland_cppm_landing_on_st_andrews_day_is_due_the_friday_before():
    # IRD on Monday 2 November 2026 + 28 days = Monday 30 November, St Andrew's Day.
    assert _due("scotland", "initial-conference", date(2026, 11, 2)) == date(2026, 11, 27)


@pytest.mark.parametrize(
    "noticed, due",
    [
        # Monday 23 November 2026 + 3 days = Thursday 26 November, a working day.
        (date(2026, 11, 23), date(2026, 11, 26)),
        # Friday 27 November + 3 = Monday 30 November, St Andrew's Day; the weekend before it too: back to the Friday
        # the change was noticed.
        (date(2026, 11, 27), date(2026, 11, 27)),
        # Saturday 28 November + 3 = Tuesday 1 December, a working day (St Andrew's Day is before it).
        (date(2026, 11, 28), date(2026, 12, 1)),
        # Wednesday 30 December + 3 = Saturday 2 January 2027; New Year's Day before it: back to Thursday 31 December.
        (date(2026, 12, 30), date(2026, 12, 31)),
    ],
)
def test_scotland_significant_change_reaches_the_chair_within_3_calendar_days(noticed, due):
    assert _due("scotland", "significant-change-to-chair", noticed) == due


def test_scotland_reporter_referral_is_straight_away():
    rule = _rules("scotland")["reporter-referral"]
    assert rule.offset == Offset(0, "working_days", "after")
    assert rule.triggered_by("escalation.raised.v1", {"route": "childrens_reporter"})
    assert not rule.triggered_by("escalation.raised.v1", {"route": "childrens_convenor"})
    assert (rule.anchor, rule.met_by, rule.met_on) == ("decided_on", ("escalation.referral_made.v1",), "made_on")
    assert "straight away" in rule.source
    assert _due("scotland", "reporter-referral", date(2026, 6, 3)) == date(2026, 6, 3)


def test_england_referral_decided_by_the_next_working_day_across_christmas():
    # A referral on Thursday 24 December 2026: Christmas Day, the weekend and
    # Monday 28 December (Boxing Day's substitute) are not counted.
    assert _due("england", "referral-decision", date(2026, 12, 24)) == date(2026, 12, 29)
    assert _due("england", "child-and-family-assessment", date(2026, 12, 24)) == date(2027, 3, 2)
    assert _due("guernsey", "child-and-family-assessment", date(2026, 12, 24)) == date(2027, 3, 2)
