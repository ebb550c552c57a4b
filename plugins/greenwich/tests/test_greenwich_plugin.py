"""Greenwich's plugin set as a deployment loads it: its authority, words and rules, read through the plugin
contract (``cpp_shared.contracts.timescales``). The due dates its rules give on the working-day calendar are the
scheduler's (tests/unit/test_plugin_sets.py)."""

from __future__ import annotations

from cpp_shared.contracts.timescales import Every, Offset
from cpp_shared.testing import plugin_set, rules_of

GREENWICH = ("england", "greenwich")  # CPP_PLUGINS


def test_greenwich_first_core_group_is_two_weeks_then_every_six_to_nine_weeks():
    england, greenwich = rules_of("england"), rules_of(*GREENWICH)
    rule = greenwich["first-core-group"]
    assert rule.plugin == "greenwich"
    assert rule.offset == Offset(14, "calendar_days", "after")
    assert rule.recurrence == Every(6, 9, "weeks")
    assert rule.met_by == ("core_group.held.v1",)
    assert (rule.triggers, rule.when) == (england["first-core-group"].triggers, england["first-core-group"].when)
    assert "Royal Borough of Greenwich, Child protection plans" in rule.source
    assert england["first-core-group"].recurrence == Every(4, 6, "weeks")
    assert rule.plan_sets == "core_group"  # the plan's frequency, no looser than every 9 weeks


def test_greenwich_two_year_flag_is_for_the_manager_and_not_statutory():
    rule = rules_of(*GREENWICH)["plan-two-years"]
    assert rule.plugin == "greenwich"
    assert rule.triggers == ("plan.created.v1",) and rule.anchor == "created_on"
    assert rule.offset == Offset(24, "months", "after")
    assert (rule.deadline, rule.owner) == ("plan_two_years", "team_manager")
    assert rule.met_by == ("plan.ended.v1",) and rule.met_on == "ended.on"
    assert "not a statutory limit" in rule.name
    assert "Royal Borough of Greenwich" in rule.source and "two years" in rule.source
    assert "plan-two-years" not in rules_of("england")


def test_greenwich_adds_no_second_court_route():
    routes = {r["id"]: r for r in plugin_set(*GREENWICH).layered("cpp_escalation_routes")}
    assert set(routes) == {r["id"] for r in plugin_set("england").layered("cpp_escalation_routes")}
    assert "court_care_order" not in routes
    assert "care order" in routes["legal_planning"]["description"]
    assert "Royal Borough of Greenwich" in routes["legal_planning"]["source"]
