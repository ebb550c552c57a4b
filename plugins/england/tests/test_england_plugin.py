"""England's rules before the strategy discussion, read through the plugin contract
(``cpp_shared.contracts.timescales``). The due dates they give on the working-day calendar are the
scheduler's (tests/unit/test_plugin_sets.py)."""

from __future__ import annotations

from cpp_shared.contracts.timescales import Offset
from cpp_shared.testing import rules_of


def test_a_referral_is_decided_within_one_working_day_of_its_receipt():
    rule = rules_of("england")["referral-decision"]
    assert rule.offset == Offset(1, "working_days", "after")
    assert (rule.triggers, rule.when, rule.anchor) == (("referral.received.v1",), {}, "received_on")
    assert (rule.met_by, rule.met_on, rule.owner) == (("referral.decided.v1",), "decided_on", "team_manager")
    assert rule.triggered_by("referral.received.v1", {"received_on": "2026-12-24", "source": "police"})
    assert rule.is_met_by("referral.decided.v1", {"decision": "no_further_action"})
    assert "one working day" in rule.source and "(V2" in rule.source and "WT 2013 p.26" in rule.source


def test_an_assessment_is_completed_within_45_working_days_of_the_referral():
    rule = rules_of("england")["child-and-family-assessment"]
    assert rule.offset == Offset(45, "working_days", "after")
    assert (rule.triggers, rule.anchor) == (("referral.decided.v1",), "received_on")
    for decision in ("assessment", "strategy_discussion"):
        assert rule.triggered_by("referral.decided.v1", {"decision": decision, "received_on": "2026-12-24"})
    for decision in ("no_further_action", "early_help", "other"):
        assert not rule.triggered_by("referral.decided.v1", {"decision": decision, "received_on": "2026-12-24"})
    assert (rule.met_by, rule.met_on) == (("assessment.completed.v1",), "completed_on")
    assert "45 working days from the point of referral" in rule.source and "(V2" in rule.source


def test_each_pre_proceedings_step_is_due_after_the_one_before_undated_as_no_source_sets_a_timescale():
    rules = rules_of("england")
    chain = [
        ("plo-legal-planning-meeting", "escalation.raised.v1", {"route": "legal_planning"}, "legal_planning_meeting"),
        (
            "plo-legal-planning-decision",
            "escalation.step_recorded.v1",
            {"route": "legal_planning", "step": "legal_planning_meeting"},
            "legal_planning_decision",
        ),
        (
            "plo-letter-before-proceedings",
            "escalation.step_recorded.v1",
            {"route": "legal_planning", "step": "legal_planning_decision", "outcome": "pre_proceedings"},
            "letter_before_proceedings",
        ),
        (
            "plo-pre-proceedings-meeting",
            "escalation.step_recorded.v1",
            {"route": "legal_planning", "step": "letter_before_proceedings"},
            "pre_proceedings_meeting",
        ),
    ]
    for rule_id, trigger, when, step in chain:
        rule = rules[rule_id]
        assert rule.offset is None, rule_id  # graded U: a manager dates it
        assert (rule.triggers, rule.when, rule.key) == ((trigger,), when, "escalation_id")
        assert rule.anchor == ("decided_on" if trigger == "escalation.raised.v1" else "on")
        assert (rule.met_by, rule.met_when, rule.met_on) == (("escalation.step_recorded.v1",), {"step": step}, "on")
        assert "No timescale for this step was found" in rule.source and "(U)" in rule.source
    letter = rules["plo-letter-before-proceedings"]
    data = {"route": "legal_planning", "step": "legal_planning_decision"}
    assert not letter.triggered_by("escalation.step_recorded.v1", {**data, "outcome": "issue_proceedings"})
    assert not rules["plo-legal-planning-meeting"].triggered_by(
        "escalation.raised.v1", {"route": "early_review_conference"}
    )


def test_englands_retention_rules_cite_one_councils_schedule_each_and_say_no_national_period_exists():
    from cpp_shared.contracts.retention import retention_rules
    from cpp_shared.plugins import Plugins

    rules = {r["id"]: r for r in retention_rules(Plugins(["england"]))}
    assert set(rules) == {"child_protection", "referral"}
    cp, referral = rules["child_protection"], rules["referral"]
    assert (cp["record_type"], cp["years_after_last_entry"], cp.get("until_age")) == ("child_protection", 35, None)
    assert (
        "[2015] EWHC 2134 (Admin)" in cp["source"]
        and "(V2" in cp["source"]
        and "No national period (U)" in cp["source"]
    )
    assert (referral["record_type"], referral["until_age"], referral["years_after_last_entry"]) == ("referral", 21, 3)
    assert "Devon" in referral["source"] and "(U)" in referral["source"]
