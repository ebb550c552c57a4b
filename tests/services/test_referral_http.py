"""The referral and the assessment over the plans API: each step on the case
at the revision its If-Match names, its event in the outbox, and England's
two timescales counted by the scheduler from those events and met by them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cpp_scheduler.app import create_app as create_scheduler_app
from cpp_scheduler.domain.calendar import WorkingCalendar
from tests.helpers import Pump, bearer, ensure_child

ENG = WorkingCalendar("GB", "ENG")
# Christmas Eve 2025 is a Wednesday: Christmas Day and Boxing Day are not
# counted, nor the weekend, so one working day later is Monday 29 December.
CHRISTMAS_EVE = date(2025, 12, 24)


@pytest.fixture
def scheduler_ctx(make_settings):
    return create_scheduler_app(make_settings("scheduler")).extensions["cpp"]


@pytest.fixture
def tm(token_for, plans):
    headers = bearer(token_for("team_manager", user="tm-1", name="Terry Manager"))
    assert plans.get("/v1/cases", headers=headers).status_code == 200  # now in the staff directory
    return headers


def new_case(plans, sw, child_id="child-r1"):
    answer = plans.post("/v1/cases", json={"child_id": ensure_child(plans, child_id)}, headers=sw)
    assert answer.status_code == 201, answer.json
    return answer.json["id"], answer.headers["ETag"]


def step(plans, headers, case_id, path, body, etag, key=None):
    extra = {"If-Match": etag} if etag else {}
    if key:
        extra["Idempotency-Key"] = key
    return plans.post(f"/v1/cases/{case_id}/{path}", json=body, headers={**headers, **extra})


def ok(answer):
    assert answer.status_code == 200, answer.json
    assert answer.headers["ETag"] == f'"{answer.json["version"]}"'
    return answer.headers["ETag"]


def walk(plans, sw, tm, case_id, etag, received_on, *, decided_on=None):
    etag = ok(step(plans, sw, case_id, "referral", {"received_on": received_on.isoformat(), "source": "school"}, etag))
    body = {"decided_on": (decided_on or received_on).isoformat(), "decision": "assessment", "reason": "a bruise"}
    etag = ok(step(plans, tm, case_id, "referral/decision", body, etag))
    body = {"started_on": (decided_on or received_on).isoformat(), "factors": ["domestic_abuse"]}
    return ok(step(plans, sw, case_id, "assessment", body, etag))


def deadlines(ctx, case_id):
    return {d["rule_id"]: d for d in ctx.store.collection("deadlines").find({"case_id": case_id})}


def test_a_referral_and_an_assessment_produce_their_deadlines_and_meet_them(plans, plans_store, sw, tm, scheduler_ctx):
    pump = Pump(plans_store, scheduler_ctx)
    case_id, etag = new_case(plans, sw)
    etag = ok(
        step(plans, sw, case_id, "referral", {"received_on": "2025-12-24", "source": "police", "summary": "x"}, etag)
    )
    assert pump() == ["case.opened.v1", "family.recorded.v1", "referral.received.v1"]
    decision = deadlines(scheduler_ctx, case_id)["referral-decision"]
    assert (decision["status"], decision["due_on"], decision["owner"]) == ("pending", "2025-12-29", "team_manager")

    body = {"decided_on": "2025-12-29", "decision": "strategy_discussion", "reason": "injury to a baby"}
    decided = step(plans, tm, case_id, "referral/decision", body, etag)
    etag = ok(decided)
    assert decided.json["referral"]["decision"] | {"decided_by": "tm-1"} == decided.json["referral"]["decision"]
    assert pump() == ["referral.decided.v1"]
    now = deadlines(scheduler_ctx, case_id)
    assert now["referral-decision"]["status"] == "met"
    assert (now["referral-decision"]["met"]["on"], now["referral-decision"]["met"]["late"]) == ("2025-12-29", False)
    assessment = now["child-and-family-assessment"]
    assert assessment["due_on"] == ENG.add_working_days(CHRISTMAS_EVE, 45).isoformat() == "2026-03-02"

    body = {"started_on": "2025-12-29", "factors": ["physical_abuse", "parenting_capacity"], "other_factors": "dog"}
    started = step(plans, sw, case_id, "assessment", body, etag)
    etag = ok(started)
    assert started.json["assessment"]["factors"] == ["physical_abuse", "parenting_capacity"]
    body = {"completed_on": "2026-02-27", "outcome": "strategy_discussion", "authorised_by": "tm-1"}
    completed = step(plans, sw, case_id, "assessment/completion", body, etag)
    ok(completed)
    assert completed.json["assessment"]["completion"]["authorised_by"] == {"user": "tm-1", "name": "Terry Manager"}
    assert pump() == ["assessment.started.v1", "assessment.completed.v1"]
    met = deadlines(scheduler_ctx, case_id)["child-and-family-assessment"]
    assert (met["status"], met["met"]["on"], met["met"]["late"]) == ("met", "2026-02-27", False)

    events = {m.routing_key: m.body["data"] for m in plans_store.outbox_pending(1000)}
    assert events["referral.received.v1"]["child"]["name"]  # who the child is, as other events about them
    assert events["assessment.completed.v1"]["received_on"] == "2025-12-24"
    # the decision was a strategy discussion: it follows now
    held = plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": "2026-02-27"}, headers=sw)
    assert held.status_code == 201, held.json


def test_a_decision_for_no_further_action_starts_no_assessment_deadline(plans, plans_store, sw, tm, scheduler_ctx):
    pump = Pump(plans_store, scheduler_ctx)
    case_id, etag = new_case(plans, sw)
    etag = ok(step(plans, sw, case_id, "referral", {"received_on": "2026-11-02", "source": "anonymous"}, etag))
    body = {"decided_on": "2026-11-03", "decision": "no_further_action", "reason": "no concern found"}
    etag = ok(step(plans, tm, case_id, "referral/decision", body, etag))
    pump()
    assert set(deadlines(scheduler_ctx, case_id)) == {"referral-decision"}
    refused = step(plans, sw, case_id, "assessment", {"started_on": "2026-11-03"}, etag)
    assert refused.status_code == 409 and "no assessment follows" in refused.json["message"]
    discussion = plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": "2026-11-04"}, headers=sw)
    assert discussion.status_code == 409 and "decided as no further action" in discussion.json["message"]


def test_each_step_needs_if_match_naming_the_cases_revision(plans, sw):
    case_id, etag = new_case(plans, sw)
    body = {"received_on": "2026-11-02", "source": "school"}
    assert step(plans, sw, case_id, "referral", body, None).status_code == 428
    stale = step(plans, sw, case_id, "referral", body, '"7"')
    assert stale.status_code == 412 and "revision 1" in stale.json["message"]
    ok(step(plans, sw, case_id, "referral", body, etag))
    assert step(plans, sw, case_id, "referral", body, etag).status_code == 412  # the case moved on


def test_a_step_sent_again_with_its_key_is_answered_again(plans, plans_store, sw):
    case_id, etag = new_case(plans, sw)
    body = {"received_on": "2026-11-02", "source": "health"}
    first = step(plans, sw, case_id, "referral", body, etag, key="ref-key-1")
    again = step(plans, sw, case_id, "referral", body, etag, key="ref-key-1")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json == first.json
    assert [m.routing_key for m in plans_store.outbox_pending(1000)].count("referral.received.v1") == 1


def test_steps_out_of_order_are_409s(plans, sw, tm):
    case_id, etag = new_case(plans, sw)
    body = {"decided_on": "2026-11-02", "decision": "assessment", "reason": "r"}
    refused = step(plans, tm, case_id, "referral/decision", body, etag)
    assert refused.status_code == 409 and "record the referral first" in refused.json["message"]
    body = {"completed_on": "2026-11-02", "outcome": "early_help", "authorised_by": "tm-1"}
    refused = step(plans, sw, case_id, "assessment/completion", body, etag)
    assert refused.status_code == 409 and "start the assessment first" in refused.json["message"]
    etag = walk(plans, sw, tm, case_id, etag, date(2026, 11, 2))
    again = step(plans, sw, case_id, "assessment", {"started_on": "2026-11-03"}, etag)
    assert again.status_code == 409 and "started on 2026-11-02" in again.json["message"]


def test_field_level_422s(plans, sw, tm):
    case_id, etag = new_case(plans, sw)
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    bad = step(plans, sw, case_id, "referral", {"received_on": "2026-11-02", "source": "rumour"}, etag)
    assert bad.status_code == 422 and list(bad.json["errors"]["json"]) == ["source"]
    bad = step(plans, sw, case_id, "referral", {"received_on": tomorrow, "source": "school"}, etag)
    assert bad.status_code == 422 and "in the future" in bad.json["errors"]["json"]["received_on"][0]
    etag = walk(plans, sw, tm, case_id, etag, date(2026, 11, 2))
    body = {"completed_on": "2026-11-01", "outcome": "early_help", "authorised_by": "tm-1"}
    bad = step(plans, sw, case_id, "assessment/completion", body, etag)
    assert bad.status_code == 422 and "before the referral" in bad.json["errors"]["json"]["completed_on"][0]
    body = {"completed_on": "2026-11-20", "outcome": "early_help", "authorised_by": "sw-1"}
    bad = step(plans, sw, case_id, "assessment/completion", body, etag)
    assert bad.status_code == 422 and list(bad.json["errors"]["json"]) == ["authorised_by"]
    body = {"completed_on": "2026-11-20", "outcome": "early_help"}
    bad = step(plans, sw, case_id, "assessment/completion", body, etag)
    assert bad.status_code == 422 and list(bad.json["errors"]["json"]) == ["authorised_by"]


def test_a_case_without_a_referral_still_goes_straight_to_the_strategy_discussion(plans, sw):
    case_id, _ = new_case(plans, sw)
    held = plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": "2026-11-02"}, headers=sw)
    assert held.status_code == 201, held.json
    case = plans.get(f"/v1/cases/{case_id}", headers=sw).json
    assert (case.get("referral"), case.get("assessment")) == (None, None)
