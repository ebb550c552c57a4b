"""A Scottish deployment (``CPP_PLUGINS=scotland``) over HTTP: a significant change in the child's circumstances,
recorded on the plan, gives the core group 3 calendar days to tell the chair (Appendix D, para 3.137), met when the
chair is told, late when told after.

Expected dates are counted by hand in the comments, never with the calendar under test."""

from __future__ import annotations

import pytest

from cpp_plans.app import create_app as create_plans_app
from cpp_scheduler.app import create_app as create_scheduler_app
from tests.helpers import Pump, bearer, ensure_child
from tests.services.test_plans_lifecycle_http import OUTLINE

SCOTTISH_OUTLINE = {**OUTLINE, "categories": ["neglect"]}


@pytest.fixture
def scotland(make_settings, token_for):
    """The plans service and the scheduler of a Scottish deployment, the plans service's events handed to the
    scheduler by ``pump``, and the people who act."""
    plans_app = create_plans_app(make_settings("plans", CPP_PLUGINS="scotland"))
    scheduler_app = create_scheduler_app(make_settings("scheduler", CPP_PLUGINS="scotland"))
    scheduler = scheduler_app.extensions["cpp"]
    plans = plans_app.test_client()
    people = {
        role: bearer(token_for(role, user=user, authority="SCT"))
        for role, user in (("social_worker", "sw-1"), ("chair", "chair-1"), ("team_manager", "tm-1"))
    }
    yield plans, Pump(plans_app.extensions["cpp"].store, scheduler), scheduler, people
    for app in (plans_app, scheduler_app):
        app.extensions["cpp"].store.close()


def a_plan(plans, people) -> dict:
    """A CPPM on Monday 2 February 2026 that put the child on the register: its plan."""
    sw = people["social_worker"]
    case_id = plans.post("/v1/cases", json={"child_id": ensure_child(plans, "child-s1")}, headers=sw).json["id"]
    plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": "2026-01-12"}, headers=sw)
    body = {"completed_on": "2026-01-20", "conference_required": True}
    assert plans.post(f"/v1/cases/{case_id}/enquiry-outcome", json=body, headers=sw).status_code == 200
    body = {"kind": "initial", "scheduled_for": "2026-02-02"}
    conference = plans.post(f"/v1/cases/{case_id}/conferences", json=body, headers=sw).json
    body = {"held_on": "2026-02-02", "plan_required": True, "outline_plan": SCOTTISH_OUTLINE}
    decided = plans.post(f"/v1/conferences/{conference['id']}/outcome", json=body, headers=people["chair"])
    assert decided.status_code == 200, decided.json
    return decided.json["plan"]


def deadlines_of(scheduler, case_id: str) -> dict[str, dict]:
    """The case's significant change deadlines, by change."""
    found = scheduler.store.collection("deadlines").find({"case_id": case_id, "rule_id": "significant-change-to-chair"})
    return {d["key"]: d for d in found}


def test_a_significant_change_is_due_with_the_chair_3_calendar_days_on_met_when_told_and_late_after(scotland):
    plans, pump, scheduler, people = scotland
    sw = people["social_worker"]
    plan = a_plan(plans, people)
    path = f"/v1/plans/{plan['id']}/significant-changes"
    # Noticed on Monday 2 March 2026: Tuesday 3, Wednesday 4, Thursday 5 March (a working day): due Thursday 5.
    on_time = plans.post(path, json={"noticed_on": "2026-03-02", "description": "A new adult in the home"}, headers=sw)
    # Noticed on Thursday 5 March 2026: Friday 6, Saturday 7, Sunday 8 March, a closed day: back to Friday 6.
    late = plans.post(path, json={"noticed_on": "2026-03-05", "description": "The child went missing"}, headers=sw)
    assert on_time.status_code == late.status_code == 201, (on_time.json, late.json)
    pump()

    due = deadlines_of(scheduler, plan["case_id"])
    first, second = due[on_time.json["id"]], due[late.json["id"]]
    assert (first["status"], first["due_on"], first["plugin"]) == ("pending", "2026-03-05", "scotland")
    assert (second["status"], second["due_on"]) == ("pending", "2026-03-06")
    assert "3.137" in first["source"] and first["owner"] == "social_worker"

    # The chair told on Thursday 5 March, the last day, of the first; on Monday 9 March of the second: late.
    for change, told_on in ((on_time, "2026-03-05"), (late, "2026-03-09")):
        told = plans.post(f"{path}/{change.json['id']}/referral", json={"told_on": told_on}, headers=sw)
        assert told.status_code == 200, told.json
    pump()

    due = deadlines_of(scheduler, plan["case_id"])
    first, second = due[on_time.json["id"]], due[late.json["id"]]
    assert (first["status"], first["met"]["on"], first["met"]["late"]) == ("met", "2026-03-05", False)
    # Friday 6 March was the last day: Monday 9 March is 1 working day late.
    assert (second["status"], second["met"]["on"], second["met"]["late"]) == ("met", "2026-03-09", True)
    assert second["met"]["working_days_late"] == 1


def test_a_change_recorded_with_the_chair_already_told_is_met_at_once(scotland):
    plans, pump, scheduler, people = scotland
    plan = a_plan(plans, people)
    body = {"noticed_on": "2026-03-02", "description": "Father released from prison", "chair_told_on": "2026-03-03"}
    made = plans.post(f"/v1/plans/{plan['id']}/significant-changes", json=body, headers=people["social_worker"])
    assert made.status_code == 201, made.json
    pump()
    deadline = deadlines_of(scheduler, plan["case_id"])[made.json["id"]]
    # Due Thursday 5 March 2026 (2 March + 3 days); told on Tuesday 3 March.
    assert (deadline["due_on"], deadline["status"], deadline["met"]["on"]) == ("2026-03-05", "met", "2026-03-03")
