"""A Scottish deployment (``CPP_PLUGINS=scotland``) over HTTP, with the scheduler following the plans service's
events, for Appendix D's timescales:

- a significant change in the child's circumstances, recorded on the plan, gives the core group 3 calendar days to
  tell the chair (para 3.137), met when the chair is told, late when told after;
- a child protection planning meeting (CPPM) gets 5 calendar days' notice, an inquorate meeting reconvened within
  10 working days, and its record issued within 10 working days; each fires from its event, falls on the Scottish
  working day, and is met by its own event.

Expected dates are counted by hand in the comments from Scotland's bank holidays (St Andrew's Day, a Sunday in
2025, moved to Monday 1 December; Christmas Day and Boxing Day 2025, Thursday and Friday; New Year's Day and
2 January 2026, Thursday and Friday), never with the calendar under test."""

from __future__ import annotations

import pytest

from cpp_plans.app import create_app as create_plans_app
from cpp_scheduler.app import create_app as create_scheduler_app
from tests.helpers import QUORATE, Pump, bearer, ensure_child
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
    body = {"held_on": "2026-02-02", "plan_required": True, "outline_plan": SCOTTISH_OUTLINE, "attendees": QUORATE}
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


def deadlines_by_rule(scheduler, case_id: str, rule_id: str) -> list[dict]:
    found = scheduler.store.collection("deadlines").find({"case_id": case_id, "rule_id": rule_id})
    return sorted(found, key=lambda d: d["created_at"])


def test_a_cppm_gets_its_notice_its_reconvening_and_its_record_on_scottish_working_days(scotland):
    plans, pump, scheduler, people = scotland
    sw, chair = people["social_worker"], people["chair"]
    case_id = plans.post("/v1/cases", json={"child_id": ensure_child(plans, "child-s1")}, headers=sw).json["id"]
    held = plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": "2025-11-10"}, headers=sw)
    assert held.status_code == 201, held.json
    body = {"completed_on": "2025-11-17", "conference_required": True}
    assert plans.post(f"/v1/cases/{case_id}/enquiry-outcome", json=body, headers=sw).status_code == 200
    scheduled = plans.post(
        f"/v1/cases/{case_id}/conferences", json={"kind": "initial", "scheduled_for": "2025-11-28"}, headers=sw
    )
    assert scheduled.status_code == 201, scheduled.json
    conf_id = scheduled.json["id"]
    pump()

    # Notice: Fri 28 Nov 2025 less 5 calendar days is Sun 23 Nov, a closed day: back to Fri 21 Nov.
    [notice] = deadlines_by_rule(scheduler, case_id, "cppm-notice")
    assert (notice["status"], notice["due_on"], notice["key"]) == ("pending", "2025-11-21", conf_id)
    sent = plans.post(f"/v1/conferences/{conf_id}/invitations", json={"sent_on": "2025-11-24"}, headers=sw)
    assert sent.status_code == 201, sent.json
    assert sent.json["invitations"][0]["notice_days"] == 4
    pump()
    [notice] = deadlines_by_rule(scheduler, case_id, "cppm-notice")
    assert notice["status"] == "met" and (notice["met"]["on"], notice["met"]["late"]) == ("2025-11-24", True)

    # The meeting on Fri 28 Nov is not quorate and is reconvened for Wed 17 Dec.
    inquorate = {"met_on": "2025-11-28", "reason": "No police or health representative.", "scheduled_for": "2025-12-17"}
    moved = plans.post(
        f"/v1/conferences/{conf_id}/inquorate-meetings",
        json=inquorate,
        headers={**sw, "If-Match": sent.headers["ETag"]},
    )
    assert moved.status_code == 200, moved.json
    pump()
    # Fri 28 Nov 2025 + 10 working days: St Andrew's Day (substitute) Mon 1 Dec skipped, Tue 2 - Fri 5 Dec (4),
    # 8-12 Dec (9), Mon 15 Dec (10).
    [reconvene] = deadlines_by_rule(scheduler, case_id, "inquorate-reconvened")
    assert (reconvene["status"], reconvene["due_on"], reconvene["key"]) == ("pending", "2025-12-15", conf_id)
    assert reconvene["source"].startswith("National Guidance for Child Protection in Scotland")
    # The invitations already went for this meeting: the move asks for no more notice.
    assert [d["status"] for d in deadlines_by_rule(scheduler, case_id, "cppm-notice")] == ["met"]

    outcome = {"held_on": "2025-12-17", "plan_required": True, "outline_plan": OUTLINE}
    two = [{"name": "Morag Social", "agency": "Social work"}, {"name": "Dr Iain Bell", "agency": "NHS Lothian"}]
    inquorate = plans.post(f"/v1/conferences/{conf_id}/outcome", json={**outcome, "attendees": two}, headers=chair)
    assert inquorate.status_code == 422, inquorate.json
    assert "inquorate-meetings" in inquorate.json["errors"]["json"]["attendees"][0]
    three = [*two, {"name": "DC Ross Kerr", "agency": "Police Scotland"}]
    decided = plans.post(f"/v1/conferences/{conf_id}/outcome", json={**outcome, "attendees": three}, headers=chair)
    assert decided.status_code == 200, decided.json
    pump()
    [reconvene] = deadlines_by_rule(scheduler, case_id, "inquorate-reconvened")
    # Reconvened on Wed 17 Dec: late by Tue 16 and Wed 17.
    assert (reconvene["status"], reconvene["met"]["late"], reconvene["met"]["working_days_late"]) == ("met", True, 2)

    # The record: Wed 17 Dec 2025 + 10 working days: Thu 18, Fri 19 (2), 22-24 Dec (5), Christmas Day and Boxing
    # Day skipped, 29-31 Dec (8), New Year's Day and 2 January skipped, Mon 5 Jan (9), Tue 6 Jan 2026 (10).
    [record] = deadlines_by_rule(scheduler, case_id, "cppm-record")
    assert (record["status"], record["due_on"], record["key"]) == ("pending", "2026-01-06", conf_id)
    issued = plans.post(f"/v1/conferences/{conf_id}/record-issue", json={"issued_on": "2026-01-06"}, headers=chair)
    assert issued.status_code == 201, issued.json
    pump()
    [record] = deadlines_by_rule(scheduler, case_id, "cppm-record")
    assert (record["status"], record["met"]["on"], record["met"]["late"]) == ("met", "2026-01-06", False)


def test_a_cancelled_cppm_needs_no_notice_and_no_reconvening(scotland):
    plans, pump, scheduler, people = scotland
    sw = people["social_worker"]
    case_id = plans.post("/v1/cases", json={"child_id": ensure_child(plans, "child-s2")}, headers=sw).json["id"]
    plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": "2025-11-10"}, headers=sw)
    body = {"completed_on": "2025-11-17", "conference_required": True}
    plans.post(f"/v1/cases/{case_id}/enquiry-outcome", json=body, headers=sw)
    conf = plans.post(
        f"/v1/cases/{case_id}/conferences", json={"kind": "initial", "scheduled_for": "2025-11-28"}, headers=sw
    )
    inquorate = {"met_on": "2025-11-28", "reason": "No police.", "scheduled_for": "2025-12-05"}
    moved = plans.post(
        f"/v1/conferences/{conf.json['id']}/inquorate-meetings",
        json=inquorate,
        headers={**sw, "If-Match": conf.headers["ETag"]},
    )
    assert moved.status_code == 200, moved.json
    pump()
    # Moved before its invitations went: the notice is asked for the new day, Fri 5 Dec less 5 days, Sun 30 Nov,
    # back over the weekend to Fri 28 Nov.
    notices = deadlines_by_rule(scheduler, case_id, "cppm-notice")
    assert [(d["status"], d["due_on"]) for d in notices] == [("superseded", "2025-11-21"), ("pending", "2025-11-28")]
    cancelled = plans.post(
        f"/v1/conferences/{conf.json['id']}/cancellation", json={"reason": "The family moved away."}, headers=sw
    )
    assert cancelled.status_code == 200, cancelled.json
    pump()
    assert deadlines_by_rule(scheduler, case_id, "cppm-notice")[-1]["status"] == "cancelled"
    assert [d["status"] for d in deadlines_by_rule(scheduler, case_id, "inquorate-reconvened")] == ["cancelled"]
