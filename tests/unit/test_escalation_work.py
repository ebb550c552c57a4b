"""An escalation's own work, as the lifecycle's plain Python: the referral made to the route's recipient and the
route's steps in order, each dated from the decision; an escalation recorded before decisions were dated counts
from the day it was recorded."""

from __future__ import annotations

from datetime import date

import pytest

from cpp_plans.domain import escalations as esc
from cpp_plans.domain import lifecycle as lc
from cpp_plans.domain.lifecycle import InvalidStep, LifecycleError
from tests.unit.test_lifecycle import TODAY, on_plan

STEPS = [
    {"id": "meeting", "name": "Legal planning meeting", "source": "s"},
    {
        "id": "decision",
        "name": "Its decision",
        "source": "s",
        "outcomes": [{"id": "go_on", "name": "Go on"}, {"id": "stop", "name": "Stop"}],
        "continues_on": "go_on",
    },
    {"id": "letter", "name": "Letter before proceedings", "source": "s"},
]
ROUTES = [
    {"id": "court", "name": "Go to court", "recipient": None, "steps": STEPS},
    {"id": "reporter", "name": "Refer to the Reporter", "recipient": {"name": "SCRA"}},
]


def escalated(route: str, decided_on: date = date(2026, 11, 20)):
    _, _, plan = on_plan()
    plan, escalation, _ = lc.escalate(
        plan, route=route, reason="Not working.", routes=ROUTES, decided_on=decided_on, today=TODAY, raised_by="sw"
    )
    return plan, escalation["id"]


def step(plan, escalation_id, name, on, outcome=None):
    return esc.record_step(
        plan,
        escalation_id,
        step=name,
        on=on,
        outcome=outcome,
        notes=None,
        routes=ROUTES,
        today=TODAY,
        recorded_by="sw",
    )


def test_the_steps_go_in_order_and_a_decision_can_end_them():
    plan, escalation_id = escalated("court")
    with pytest.raises(LifecycleError, match="Legal planning meeting comes before Its decision"):
        step(plan, escalation_id, "decision", TODAY, "go_on")
    plan, escalation, events = step(plan, escalation_id, "meeting", date(2026, 11, 21))
    assert [s["step"] for s in escalation["steps"]] == ["meeting"] and events[0][2]["decided_on"] == "2026-11-20"
    with pytest.raises(InvalidStep) as err:
        step(plan, escalation_id, "decision", date(2026, 11, 20), "go_on")
    assert "before the step it follows" in err.value.errors["on"][0]
    plan, _, _ = step(plan, escalation_id, "decision", TODAY, "stop")
    with pytest.raises(LifecycleError, match="follows only 'go_on'"):
        step(plan, escalation_id, "letter", TODAY)


def test_a_referral_once_for_a_route_with_a_recipient():
    plan, escalation_id = escalated("reporter")
    plan, escalation, events = esc.record_referral(
        plan, escalation_id, made_on=TODAY, made_to="SCRA duty", how=None, today=TODAY, recorded_by="sw"
    )
    assert escalation["referral"]["made_to"] == "SCRA duty" and events[0][0] == "escalation.referral_made.v1"
    with pytest.raises(LifecycleError, match="recorded already"):
        esc.record_referral(plan, escalation_id, made_on=TODAY, made_to="x", how=None, today=TODAY, recorded_by="sw")


def test_an_escalation_recorded_before_decisions_were_dated_counts_from_the_day_it_was_recorded():
    plan, escalation_id = escalated("court")
    [old] = plan["escalations"]
    for key in ("decided_on", "conference_id", "referral", "steps"):
        del old[key]
    old["raised_on"] = "2026-11-21"
    with pytest.raises(InvalidStep) as err:
        step(plan, escalation_id, "meeting", date(2026, 11, 20))
    assert "taken on 2026-11-21" in err.value.errors["on"][0]
    _, escalation, events = step(plan, escalation_id, "meeting", TODAY)
    assert [s["step"] for s in escalation["steps"]] == ["meeting"] and events[0][2]["decided_on"] == "2026-11-21"
