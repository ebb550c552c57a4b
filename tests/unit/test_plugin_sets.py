"""The shipped plugin sets, deployment by deployment: their rules parse, layer
and cite their sources; their calendars, routes and words are the ones the
sources give."""
from __future__ import annotations

import re
from datetime import date
from importlib.metadata import entry_points

import pytest

from cpp_scheduler.calendar import WorkingCalendar
from cpp_scheduler.rules import Every, Offset, anchor_date, effective_rules
from cpp_shared.plugins import Plugins

DEPLOYMENTS = {
    "england": ["england"],
    "bromley": ["england", "bromley"],
    "greenwich": ["england", "greenwich"],
    "guernsey": ["guernsey"],
    "scotland": ["scotland"],
}
AUTHORITY_CODES = {"england": "ENG", "bromley": "BRM", "greenwich": "GRN", "guernsey": "GSY", "scotland": "SCT"}
TERM_KEYS = {"initial_conference", "review_conference", "enquiries", "plan", "core_group", "register"}

# A grade as the citations write it: "(V: ...", "V2: ...", "(U)".
GRADE = re.compile(r"(?<![A-Za-z0-9])(V2|V|U)(?=[:)])")

# Event data as the plans service publishes it (cpp_plans.domain.lifecycle),
# and as agreed for the events still to come (reports, resource panel, child
# in need plan, escalation delivery, conference rescheduling and cancelling).
# Every rule's anchor must be found in each of its triggers' data, and its
# met_on in each of its meeting events' data.
EVENT_DATA = {
    "strategy_discussion.held.v1": {"case_id": "c1", "strategy_discussion_id": "s1", "held_on": "2026-03-02",
                                    "initiated_enquiries": True},
    "enquiry.completed.v1": {"case_id": "c1", "completed_on": "2026-03-10", "conference_required": False},
    "conference.scheduled.v1": {"conference_id": "k1", "case_id": "c1", "kind": "initial",
                                "scheduled_for": "2026-03-20", "plan_id": None},
    "conference.rescheduled.v1": {"conference_id": "k1", "case_id": "c1", "kind": "initial",
                                  "scheduled_for": "2026-03-24", "plan_id": None},
    "conference.cancelled.v1": {"conference_id": "k1", "case_id": "c1", "kind": "initial",
                                "scheduled_for": "2026-03-24", "reason": "chair unwell", "plan_id": None},
    "conference.held.v1": {"conference_id": "k1", "case_id": "c1", "kind": "initial", "held_on": "2026-03-24",
                           "plan_required": True, "plan_id": "p1"},
    "core_group.held.v1": {"meeting_id": "m1", "plan_id": "p1", "held_on": "2026-04-01",
                           "detailed_plan_agreed": True},
    "plan.created.v1": {"plan_id": "p1", "status": "outline", "created_on": "2026-03-24", "ended": None},
    "plan.ended.v1": {"plan_id": "p1", "status": "ended", "created_on": "2026-03-24",
                      "ended": {"on": "2027-01-12", "conference_id": "k3", "step_down": "child_in_need_plan"}},
    "escalation.raised.v1": {"escalation_id": "e1", "plan_id": "p1", "route": "childrens_convenor",
                             "raised_on": "2026-06-01"},
    "escalation.delivered.v1": {"escalation_id": "e1", "plan_id": "p1", "delivered_on": "2026-06-02"},
    "child_in_need_plan.created.v1": {"case_id": "c1", "created_on": "2026-03-17"},
    "report.drafted.v1": {"conference_id": "k1", "report_kind": "section_35_report", "done_on": "2026-03-16"},
    "report.submitted.v1": {"conference_id": "k1", "report_kind": "review_report", "done_on": "2026-03-17"},
    "report.shared.v1": {"conference_id": "k1", "done_on": "2026-03-18"},
    "report.sent_to_chair.v1": {"conference_id": "k1", "done_on": "2026-03-19"},
    "resource_panel.requested.v1": {"request_id": "r1", "plan_id": "p1", "requested_on": "2026-04-02"},
    "resource_panel.decided.v1": {"request_id": "r1", "plan_id": "p1", "decided_on": "2026-04-09"},
}

# DOMAIN.md, "Timescales, per variant", the Guernsey column (seeds 003, 004),
# row by row: the rule that carries it, or None when the row sets no
# timescale of its own (the plan sets it).
GUERNSEY_ROWS = [
    ("initial conference held: 15 working days from the strategy discussion", "initial-conference"),
    ("enquiries done, conference agreed: 10 working days from strategy discussion", "enquiries-complete"),
    ("child in need plan if no conference: 7 working days from that decision", "child-in-need-after-enquiries"),
    ("draft plan in conference report: 4 working days before conference", "draft-plan-in-report"),
    ("report to manager to countersign: 3 working days before", "report-to-manager"),
    ("report shared with parents (and child): 2 working days before", "report-shared-with-family"),
    ("report sent to chair: 1 working day before", "report-to-chair"),
    ("resource panel approval, if needed: no timescale set", "resource-panel"),
    ("first core group: within 10 working days", "first-core-group"),
    ("further core groups: per plan", None),
    ("visits: per plan", None),
    ("first review conference: 3 months after initial", "first-review-conference"),
    ("later review conferences: at most 6 months apart", "later-review-conference"),
    ("plan updated for review: 5 working days before review conference", "plan-updated-for-review"),
    ("child in need plan after plan ends: 7 working days after ending conference", "child-in-need-after-plan"),
    ("escalation: a Convenor referral within 2 working days", "convenor-referral"),
]
# The figure of each Guernsey rule: (amount, unit, direction), None for no timescale.
GUERNSEY_FIGURES = {
    "initial-conference": (15, "working_days", "after"),
    "enquiries-complete": (10, "working_days", "after"),
    "child-in-need-after-enquiries": (7, "working_days", "after"),
    "draft-plan-in-report": (4, "working_days", "before"),
    "report-to-manager": (3, "working_days", "before"),
    "report-shared-with-family": (2, "working_days", "before"),
    "report-to-chair": (1, "working_days", "before"),
    "resource-panel": None,
    "first-core-group": (10, "working_days", "after"),
    "first-review-conference": (3, "months", "after"),
    "later-review-conference": (6, "months", "after"),
    "plan-updated-for-review": (5, "working_days", "before"),
    "child-in-need-after-plan": (7, "working_days", "after"),
    "convenor-referral": (2, "working_days", "after"),
}
GUERNSEY_REPORT_STEPS = {
    "draft-plan-in-report": "report.drafted.v1",
    "report-to-manager": "report.submitted.v1",
    "report-shared-with-family": "report.shared.v1",
    "report-to-chair": "report.sent_to_chair.v1",
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
    for name in ("bromley", "greenwich", "guernsey", "scotland"):
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
    assert GRADE.search("para 3.133: \"straight away\" (V)")
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


@pytest.mark.parametrize("deployment, closed", [
    ("england", False), ("bromley", False), ("greenwich", False), ("guernsey", True), ("scotland", False)])
def test_liberation_day_is_closed_only_in_guernsey(deployment, closed):
    assert _calendar(deployment).is_working_day(date(2025, 5, 9)) is not closed


@pytest.mark.parametrize("deployment, closed", [("england", False), ("guernsey", False), ("scotland", True)])
def test_st_andrews_day_is_closed_only_in_scotland(deployment, closed):
    assert _calendar(deployment).is_working_day(date(2026, 11, 30)) is not closed


# --- Bromley --------------------------------------------------------------

def test_bromley_names_the_council_and_its_safeguarding_board():
    authority = _plugins("bromley").authority()
    assert authority["name"] == "London Borough of Bromley"
    assert authority["jurisdiction"] == "england"
    assert authority["calendar"] == {"country": "GB", "subdiv": "ENG"}
    [board] = authority["contacts"]
    assert board["name"] == "Bromley Safeguarding Children Board"
    assert board["phone"] == "020 8461 7816"
    assert board["email"] == "BSCB@bromley.gov.uk"


def test_bromleys_documents_carry_the_boards_contact_block_and_footer():
    branding = _plugins("bromley").merged("cpp_document_branding")
    assert branding["organisation"] == "London Borough of Bromley"
    assert branding["contact_block"]["address"] == ["St Blaise, B40a, Civic Centre", "Stockwell Close, Bromley BR1 3UH"]
    assert "confidential" in branding["footer"]
    assert _plugins("england").merged("cpp_document_branding") == {}  # England's documents name the authority


def test_bromley_overrides_the_first_core_group_and_keeps_the_rest_of_england():
    england, bromley = _rules("england"), _rules("bromley")
    assert list(bromley) == list(england)
    rule = bromley["first-core-group"]
    assert rule.plugin == "bromley"
    assert rule.offset == Offset(10, "working_days", "after")
    assert (rule.triggers, rule.when, rule.anchor, rule.met_by) == (
        england["first-core-group"].triggers, england["first-core-group"].when,
        england["first-core-group"].anchor, england["first-core-group"].met_by)
    assert "Information for Families" in rule.source and "ten working days" in rule.source
    assert all(r.plugin == "england" for rid, r in bromley.items() if rid != "first-core-group")


# --- Greenwich ------------------------------------------------------------

def test_greenwich_first_core_group_is_two_weeks_then_every_six_to_nine_weeks():
    england, greenwich = _rules("england"), _rules("greenwich")
    rule = greenwich["first-core-group"]
    assert rule.plugin == "greenwich"
    assert rule.offset == Offset(14, "calendar_days", "after")
    assert rule.recurrence == Every(6, 9, "weeks")
    assert rule.met_by == ("core_group.held.v1",)
    assert (rule.triggers, rule.when) == (england["first-core-group"].triggers, england["first-core-group"].when)
    assert "Royal Borough of Greenwich, Child protection plans" in rule.source
    assert england["first-core-group"].recurrence is None


def test_greenwich_two_year_flag_is_for_the_manager_and_not_statutory():
    rule = _rules("greenwich")["plan-two-years"]
    assert rule.plugin == "greenwich"
    assert rule.triggers == ("plan.created.v1",) and rule.anchor == "created_on"
    assert rule.offset == Offset(24, "months", "after")
    assert (rule.deadline, rule.owner) == ("plan_two_years", "team_manager")
    assert rule.met_by == ("plan.ended.v1",) and rule.met_on == "ended.on"
    assert "not a statutory limit" in rule.name
    assert "Royal Borough of Greenwich" in rule.source and "two years" in rule.source
    assert "plan-two-years" not in _rules("england")


def test_greenwich_two_weeks_before_a_bank_holiday_is_due_the_working_day_before():
    # 2026-05-11 + 14 days = Monday 25 May, the Spring Bank Holiday: due Friday 22 May.
    assert _due("greenwich", "first-core-group", date(2026, 5, 11)) == date(2026, 5, 22)


def test_greenwich_adds_no_second_court_route():
    routes = {r["id"]: r for r in _plugins("greenwich").layered("cpp_escalation_routes")}
    assert set(routes) == {r["id"] for r in _plugins("england").layered("cpp_escalation_routes")}
    assert "court_care_order" not in routes
    assert "care order" in routes["legal_planning"]["description"]
    assert "Royal Borough of Greenwich" in routes["legal_planning"]["source"]


def test_council_plugins_keep_england_words():
    england = _plugins("england").merged("cpp_terminology")
    assert _plugins("bromley").merged("cpp_terminology") == england
    assert _plugins("greenwich").merged("cpp_terminology") == england


# --- Guernsey -------------------------------------------------------------

def test_guernsey_has_one_rule_per_timetable_row():
    rules = _rules("guernsey")
    expected = [rule_id for _, rule_id in GUERNSEY_ROWS if rule_id]
    assert len(expected) == len(set(expected))
    assert set(rules) == set(expected)
    assert all(r.plugin == "guernsey" for r in rules.values())


def test_guernsey_figures_follow_the_timetable():
    rules = _rules("guernsey")
    for rule_id, figure in GUERNSEY_FIGURES.items():
        offset = rules[rule_id].offset
        actual = None if offset is None else (offset.amount, offset.unit, offset.direction)
        assert actual == figure, rule_id


def test_guernsey_resource_panel_has_no_timescale():
    rule = _rules("guernsey")["resource-panel"]
    assert rule.offset is None
    assert rule.recurrence is None
    assert rule.key == "request_id"
    assert "Timescale required" in rule.source
    assert rule.timescale() == "no timescale set by the source: a date is needed"


def test_guernsey_enquiries_and_conference_start_at_the_initiating_strategy_discussion():
    rules = _rules("guernsey")
    started = {"held_on": "2026-03-02", "initiated_enquiries": True}
    for rule_id in ("enquiries-complete", "initial-conference"):
        assert rules[rule_id].triggered_by("strategy_discussion.held.v1", started)
        assert not rules[rule_id].triggered_by("strategy_discussion.held.v1", {**started, "initiated_enquiries": False})
    assert rules["enquiries-complete"].is_met_by("enquiry.completed.v1", {"conference_required": True})
    conference = rules["initial-conference"]
    assert conference.is_met_by("conference.held.v1", {"kind": "initial"})
    assert not conference.is_met_by("conference.held.v1", {"kind": "review"})
    assert conference.is_cancelled_by("enquiry.completed.v1", {"conference_required": False})
    assert not conference.is_cancelled_by("enquiry.completed.v1", {"conference_required": True})
    assert "10 working days" in conference.source, "the older figure is noted"


def test_guernsey_child_in_need_rules():
    rules = _rules("guernsey")
    after_enquiries = rules["child-in-need-after-enquiries"]
    assert after_enquiries.triggered_by("enquiry.completed.v1", {"conference_required": False})
    assert not after_enquiries.triggered_by("enquiry.completed.v1", {"conference_required": True})
    assert after_enquiries.deadline == "child_in_need_plan"
    after_plan = rules["child-in-need-after-plan"]
    assert after_plan.triggers == ("plan.ended.v1",) and after_plan.anchor == "ended.on"
    for rule in (after_enquiries, after_plan):
        assert rule.met_by == ("child_in_need_plan.created.v1",) and rule.met_on == "created_on"


@pytest.mark.parametrize("rule_id, met_by", GUERNSEY_REPORT_STEPS.items())
def test_guernsey_report_steps_hang_on_the_initial_conference(rule_id, met_by):
    rule = _rules("guernsey")[rule_id]
    assert rule.triggers == ("conference.scheduled.v1", "conference.rescheduled.v1")
    assert rule.when == {"kind": "initial"}
    assert (rule.anchor, rule.key, rule.met_on) == ("scheduled_for", "conference_id", "done_on")
    assert rule.offset.direction == "before"
    assert rule.met_by == (met_by,)
    assert rule.is_cancelled_by("conference.cancelled.v1", {"conference_id": "k1"})
    assert not rule.triggered_by("conference.scheduled.v1", {"kind": "review"})


def test_guernsey_report_steps_skip_liberation_day():
    # Initial conference on Monday 12 May 2025: Friday 9 May is Liberation Day
    # and Monday 5 May the May Day bank holiday.
    conference = date(2025, 5, 12)
    assert _due("guernsey", "report-to-chair", conference) == date(2025, 5, 8)
    assert _due("guernsey", "report-shared-with-family", conference) == date(2025, 5, 7)
    assert _due("guernsey", "report-to-manager", conference) == date(2025, 5, 6)
    assert _due("guernsey", "draft-plan-in-report", conference) == date(2025, 5, 2)


def test_guernsey_core_group_and_reviews():
    rules = _rules("guernsey")
    held = {"kind": "initial", "plan_required": True}
    for rule_id in ("first-core-group", "first-review-conference"):
        assert rules[rule_id].triggered_by("conference.held.v1", held)
        assert not rules[rule_id].triggered_by("conference.held.v1", {**held, "plan_required": False})
    assert rules["first-core-group"].met_by == ("core_group.held.v1",)
    later = rules["later-review-conference"]
    assert later.triggered_by("conference.held.v1", {"kind": "review", "decision": "continue"})
    assert not later.triggered_by("conference.held.v1", {"kind": "review", "decision": "end"})
    assert "Child Protection Plan:" in rules["first-review-conference"].source


def test_guernsey_plan_is_updated_for_the_review_report():
    rule = _rules("guernsey")["plan-updated-for-review"]
    assert rule.triggered_by("conference.rescheduled.v1", {"kind": "review"})
    assert not rule.triggered_by("conference.scheduled.v1", {"kind": "initial"})
    assert rule.key == "conference_id"
    assert rule.is_met_by("report.submitted.v1", {"report_kind": "review_report"})
    assert not rule.is_met_by("report.submitted.v1", {"report_kind": "section_35_report"})
    assert rule.is_cancelled_by("conference.cancelled.v1", {})


def test_guernsey_convenor_referral_follows_the_convenor_route_only():
    rule = _rules("guernsey")["convenor-referral"]
    assert rule.triggered_by("escalation.raised.v1", {"route": "childrens_convenor"})
    assert not rule.triggered_by("escalation.raised.v1", {"route": "legal_threshold_meeting"})
    assert (rule.deadline, rule.key, rule.met_on) == ("convenor_referral", "escalation_id", "delivered_on")
    assert rule.met_by == ("escalation.delivered.v1",)
    assert "two working days" in rule.source


def test_guernsey_authority_routes_and_words():
    plugins = _plugins("guernsey")
    authority = plugins.authority()
    assert authority["jurisdiction"] == "guernsey"
    assert authority["calendar"] == {"country": "GG"}
    routes = {r["id"]: r for r in plugins.layered("cpp_escalation_routes")}
    assert set(routes) == {"early_review_conference", "childrens_convenor", "legal_threshold_meeting"}
    assert routes["childrens_convenor"]["recipient"] == {"name": "Children's Convenor", "kind": "external"}
    assert "Juvenile Court" in routes["legal_threshold_meeting"]["name"]
    assert all("Guernsey child protection procedures, Child Protection Plan" in r["source"] for r in routes.values())
    terms = plugins.merged("cpp_terminology")
    assert terms["enquiries"] == "section 35 enquiries"
    assert terms["initial_conference"] == "initial child protection conference"
    assert terms["review_conference"] == "review child protection conference"
    assert "Islands' child protection register" in terms["register"]


# --- Scotland -------------------------------------------------------------

def test_scotland_timescales_follow_the_national_guidance():
    rules = _rules("scotland")
    assert all(r.plugin == "scotland" for r in rules.values())
    initial = rules["initial-conference"]
    assert initial.offset == Offset(28, "calendar_days", "after")
    assert initial.triggered_by("strategy_discussion.held.v1", {"initiated_enquiries": True})
    assert initial.is_cancelled_by("enquiry.completed.v1", {"conference_required": False})
    assert rules["first-core-group"].offset == Offset(15, "working_days", "after")
    assert "3.137" in rules["first-core-group"].source, "the 2021/2023 inconsistency is noted"
    assert rules["first-review-conference"].offset == Offset(6, "months", "after")
    assert rules["later-review-conference"].offset == Offset(6, "months", "after")
    assert all("Appendix D" in rules[i].source for i in ("initial-conference", "first-core-group"))


def test_scotland_cppm_landing_on_st_andrews_day_is_due_the_friday_before():
    # IRD on Monday 2 November 2026 + 28 days = Monday 30 November, St Andrew's Day.
    assert _due("scotland", "initial-conference", date(2026, 11, 2)) == date(2026, 11, 27)


def test_scotland_reporter_referral_is_straight_away():
    rule = _rules("scotland")["reporter-referral"]
    assert rule.offset == Offset(0, "working_days", "after")
    assert rule.triggered_by("escalation.raised.v1", {"route": "childrens_reporter"})
    assert not rule.triggered_by("escalation.raised.v1", {"route": "childrens_convenor"})
    assert "straight away" in rule.source
    assert _due("scotland", "reporter-referral", date(2026, 6, 3)) == date(2026, 6, 3)


def test_scotland_authority_route_and_words():
    plugins = _plugins("scotland")
    authority = plugins.authority()
    assert authority["jurisdiction"] == "scotland"
    assert authority["calendar"] == {"country": "GB", "subdiv": "SCT"}
    [route] = plugins.layered("cpp_escalation_routes")
    assert route["id"] == "childrens_reporter"
    assert route["recipient"]["kind"] == "external"
    assert "Principal Reporter" in route["recipient"]["name"]
    assert "s.60" in route["source"]
    terms = plugins.merged("cpp_terminology")
    assert terms["initial_conference"] == "initial child protection planning meeting"
    assert terms["review_conference"] == "review child protection planning meeting"
    assert terms["enquiries"] == "child protection investigation"
    assert "child protection register" in terms["register"]
