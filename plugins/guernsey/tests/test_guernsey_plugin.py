"""Guernsey's plugin set as a deployment loads it: its authority, words and rules, read through the plugin
contract (``cpp_shared.contracts.timescales``). The due dates its rules give on the working-day calendar are the
scheduler's (tests/unit/test_plugin_sets.py)."""

from __future__ import annotations

import pytest

from cpp_shared.testing import plugin_set, rules_of

GUERNSEY = ("guernsey",)  # CPP_PLUGINS

# DOMAIN.md, "Timescales, per variant", the Guernsey column (seeds 003, 004),
# row by row: the rule that carries it, or None when another rule does (the
# further core groups, at the plan's frequency: the first core group's rule).
GUERNSEY_ROWS = [
    ("assessment: 45 working days (ISCP tri.x; TIMESCALES.md section 5)", "child-and-family-assessment"),
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
    ("visits: per plan, from the plan's start", "child-visit"),
    ("core group after each review that keeps the plan: within 10 working days", "core-group-after-review"),
    ("first review conference: 3 months after initial", "first-review-conference"),
    ("later review conferences: at most 6 months apart", "later-review-conference"),
    ("plan updated for review: 5 working days before review conference", "plan-updated-for-review"),
    ("child in need plan after plan ends: 7 working days after ending conference", "child-in-need-after-plan"),
    ("escalation: a Convenor referral within 2 working days", "convenor-referral"),
]
# The figure of each Guernsey rule: (amount, unit, direction), None for no timescale.
GUERNSEY_FIGURES = {
    "child-and-family-assessment": (45, "working_days", "after"),
    "initial-conference": (15, "working_days", "after"),
    "enquiries-complete": (10, "working_days", "after"),
    "child-in-need-after-enquiries": (7, "working_days", "after"),
    "draft-plan-in-report": (4, "working_days", "before"),
    "report-to-manager": (3, "working_days", "before"),
    "report-shared-with-family": (2, "working_days", "before"),
    "report-to-chair": (1, "working_days", "before"),
    "resource-panel": None,
    "first-core-group": (10, "working_days", "after"),
    "child-visit": None,
    "core-group-after-review": (10, "working_days", "after"),
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


def test_guernsey_has_one_rule_per_timetable_row():
    rules = rules_of(*GUERNSEY)
    expected = [rule_id for _, rule_id in GUERNSEY_ROWS if rule_id]
    assert len(expected) == len(set(expected))
    assert set(rules) == set(expected)
    assert all(r.plugin == "guernsey" for r in rules.values())


def test_guernsey_figures_follow_the_timetable():
    rules = rules_of(*GUERNSEY)
    for rule_id, figure in GUERNSEY_FIGURES.items():
        offset = rules[rule_id].offset
        actual = None if offset is None else (offset.amount, offset.unit, offset.direction)
        assert actual == figure, rule_id


def test_guernsey_resource_panel_has_no_timescale():
    rule = rules_of(*GUERNSEY)["resource-panel"]
    assert rule.offset is None
    assert rule.recurrence is None
    assert rule.key == "request_id"
    assert "Timescale required" in rule.source


def test_guernsey_enquiries_and_conference_start_at_the_initiating_strategy_discussion():
    rules = rules_of(*GUERNSEY)
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
    rules = rules_of(*GUERNSEY)
    after_enquiries = rules["child-in-need-after-enquiries"]
    assert after_enquiries.triggered_by("enquiry.completed.v1", {"conference_required": False})
    assert not after_enquiries.triggered_by("enquiry.completed.v1", {"conference_required": True})
    assert after_enquiries.deadline == "child_in_need_plan"
    after_plan = rules["child-in-need-after-plan"]
    assert after_plan.triggers == ("plan.ended.v1",) and after_plan.anchor == "ended.on"
    assert after_plan.triggered_by("plan.ended.v1", {"ended": {"step_down": "child_in_need_plan"}})
    assert not after_plan.triggered_by("plan.ended.v1", {"ended": {"reason": "died", "step_down": None}})
    for rule in (after_enquiries, after_plan):
        assert rule.met_by == ("child_in_need_plan.created.v1",) and rule.met_on == "created_on"


@pytest.mark.parametrize("rule_id, met_by", GUERNSEY_REPORT_STEPS.items())
def test_guernsey_report_steps_hang_on_the_initial_conference(rule_id, met_by):
    rule = rules_of(*GUERNSEY)[rule_id]
    assert rule.triggers == ("conference.scheduled.v1", "conference.rescheduled.v1")
    assert rule.when == {"kind": "initial"}
    assert (rule.anchor, rule.key, rule.met_on) == ("scheduled_for", "conference_id", "done_on")
    assert rule.offset.direction == "before"
    assert rule.met_by == (met_by,)
    assert rule.is_cancelled_by("conference.cancelled.v1", {"conference_id": "k1"})
    assert not rule.triggered_by("conference.scheduled.v1", {"kind": "review"})


def test_guernsey_core_group_and_reviews():
    rules = rules_of(*GUERNSEY)
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
    rule = rules_of(*GUERNSEY)["plan-updated-for-review"]
    assert rule.triggered_by("conference.rescheduled.v1", {"kind": "review"})
    assert not rule.triggered_by("conference.scheduled.v1", {"kind": "initial"})
    assert rule.key == "conference_id"
    assert rule.is_met_by("report.submitted.v1", {"report_kind": "review_report"})
    assert not rule.is_met_by("report.submitted.v1", {"report_kind": "section_35_report"})
    assert rule.is_cancelled_by("conference.cancelled.v1", {})


def test_guernsey_convenor_referral_counts_from_the_decision_and_is_met_by_the_referral_made():
    rule = rules_of(*GUERNSEY)["convenor-referral"]
    assert rule.triggered_by("escalation.raised.v1", {"route": "childrens_convenor"})
    assert not rule.triggered_by("escalation.raised.v1", {"route": "legal_threshold_meeting"})
    assert (rule.anchor, rule.deadline, rule.key, rule.met_on) == (
        "decided_on",
        "convenor_referral",
        "escalation_id",
        "made_on",
    )
    assert rule.met_by == ("escalation.referral_made.v1",)  # not a webhook's delivery receipt
    assert "two working days" in rule.source


def test_guernsey_authority_routes_and_words():
    plugins = plugin_set(*GUERNSEY)
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


def test_guernsey_assessment_is_due_45_working_days_from_the_referral_without_englands_rules():
    rules = rules_of(*GUERNSEY)
    rule = rules["child-and-family-assessment"]
    assert rule.plugin == "guernsey" and "referral-decision" not in rules
    assert (rule.triggers, rule.anchor, rule.met_by) == (
        ("referral.decided.v1",),
        "received_on",
        ("assessment.completed.v1",),
    )
    assert rule.triggered_by("referral.decided.v1", {"decision": "strategy_discussion"})
    assert not rule.triggered_by("referral.decided.v1", {"decision": "early_help"})
    assert "ISCP" in rule.source and "45 working days" in rule.source and "(V)" in rule.source


def test_no_retention_period_is_given_so_nothing_is_erased_until_the_council_states_its_own():
    from cpp_guernsey import cpp_retention_rules
    from cpp_shared.contracts.retention import retention_rules
    from cpp_shared.plugins import Plugins

    assert cpp_retention_rules() == []
    assert retention_rules(Plugins(["guernsey"])) == []
