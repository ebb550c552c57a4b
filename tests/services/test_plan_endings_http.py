"""Every way a plan ends other than at a review conference, over HTTP
(POST /v1/plans/{id}/ending): the plan ends, the case closes,
plan.ended.v1 says how, and, handed to the scheduler, it cancels the
plan's open deadlines with that reason. The birthday: the scheduler's tick
asks the team manager to confirm a plan whose child is 18, and the ending
meets that deadline."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cpp_plans.app import create_app as create_plans_app
from cpp_scheduler.app import create_app as create_scheduler_app
from cpp_scheduler.tick import Ticker
from cpp_shared.plugins import PluginError, Plugins
from tests.helpers import Pump, bearer, child_on_record
from tests.services.test_lookup_http import put_on_plan

TODAY = date.today()
D0 = TODAY - timedelta(days=30)


@pytest.fixture
def sw(token_for):
    return bearer(token_for("social_worker", user="sw-1"))


@pytest.fixture
def tm(token_for):
    return bearer(token_for("team_manager", user="tm-1"))


@pytest.fixture
def chair(token_for):
    return bearer(token_for("chair", user="chair-1"))


@pytest.fixture
def scheduler_ctx(make_settings):
    return create_scheduler_app(make_settings("scheduler")).extensions["cpp"]


def on_plan(plans, plans_store, sw, chair, *, child_id="child-e", born="2012-05-01"):
    child_on_record(plans_store, child_id, date_of_birth=born)
    case_id, plan = put_on_plan(plans, sw, chair, child_id, D0)
    return case_id, plan["id"]


def end(plans, headers, plan_id, body, *, etag=None):
    if etag is None:
        etag = plans.get(f"/v1/plans/{plan_id}", headers=headers).headers["ETag"]
    return plans.post(f"/v1/plans/{plan_id}/ending", json=body, headers={**headers, "If-Match": etag})


WAYS = {
    "reached_18": {},
    "died": {"details": "The child died in hospital."},
    "moved_to_another_council": {
        "receiving_council": "Leeds City Council",
        "transfer_in_conference_on": TODAY.isoformat(),
    },
    "left_the_uk": {"details": "The family moved to Spain."},
    "looked_after": {},
}


@pytest.fixture
def looked_after_ends_plan(monkeypatch):
    """A council whose procedures end a plan when the child becomes looked after (its cpp_authority answer)."""
    real = Plugins.authority
    monkeypatch.setattr(Plugins, "authority", lambda self: {**real(self), "looked_after_ends_plan": True})


@pytest.mark.parametrize("value", ["no", "false", 1, 0, [True], {"answer": False}])
def test_a_looked_after_setting_that_is_not_true_or_false_stops_the_start_naming_it(monkeypatch, make_settings, value):
    real = Plugins.authority
    monkeypatch.setattr(Plugins, "authority", lambda self: {**real(self), "looked_after_ends_plan": value})
    with pytest.raises(PluginError) as stopped:
        create_plans_app(make_settings("plans"))
    assert "'looked_after_ends_plan' must be true or false" in str(stopped.value)
    assert repr(value) in str(stopped.value)


@pytest.mark.parametrize("value", [True, False, None])
def test_a_looked_after_setting_of_true_or_false_or_none_starts(monkeypatch, make_settings, value):
    real = Plugins.authority
    monkeypatch.setattr(Plugins, "authority", lambda self: {**real(self), "looked_after_ends_plan": value})
    assert create_plans_app(make_settings("plans")).extensions["cpp"].authority["code"] == "ENG"


@pytest.mark.parametrize("reason", list(WAYS))
def test_each_way_ends_the_plan_and_cancels_its_deadlines_with_the_reason(
    reason, looked_after_ends_plan, plans_app, plans_store, scheduler_ctx, sw, tm, chair
):
    plans = plans_app.test_client()
    born = "2008-01-15" if reason == "reached_18" else "2012-05-01"
    case_id, plan_id = on_plan(plans, plans_store, sw, chair, born=born)
    pump = Pump(plans_store, scheduler_ctx)
    pump()
    open_before = scheduler_ctx.store.collection("deadlines").find({"case_id": case_id, "status": "pending"})
    assert open_before  # the first core group and the first review conference

    resp = end(plans, tm, plan_id, {"reason": reason, "on": TODAY.isoformat(), **WAYS[reason]})
    assert resp.status_code == 201, resp.json
    assert resp.json["status"] == "ended" and resp.json["ended"]["how"] == reason
    assert resp.json["ended"]["by"] == "tm-1" and resp.headers["ETag"] == f'"{resp.json["version"]}"'
    assert plans.get(f"/v1/cases/{case_id}", headers=tm).json["status"] == "closed"

    [ended] = [m.body for m in plans_store.outbox_pending(1000) if m.routing_key == "plan.ended.v1"]
    assert ended["data"]["ended"]["reason"] == reason and ended["data"]["ended"]["conference_id"] is None
    if reason == "moved_to_another_council":
        assert ended["data"]["ended"]["receiving_council"] == "Leeds City Council"

    assert pump() == ["plan.ended.v1"]
    after = scheduler_ctx.store.collection("deadlines").find({"_id": {"$in": [d["_id"] for d in open_before]}})
    assert {d["status"] for d in after} == {"cancelled"}
    assert {d["cancelled"]["reason"] for d in after} == {reason}
    cancelled = [m.body for m in scheduler_ctx.store.outbox_pending(1000) if m.routing_key == "deadline.cancelled.v1"]
    assert len(cancelled) == len(open_before)
    assert {c["data"]["closed_by"]["reason"] for c in cancelled} == {reason}


def test_an_ended_plan_does_not_end_again(plans, plans_store, sw, tm, chair):
    _, plan_id = on_plan(plans, plans_store, sw, chair)
    assert end(plans, tm, plan_id, {"reason": "died", "on": TODAY.isoformat()}).status_code == 201
    again = end(plans, tm, plan_id, {"reason": "left_the_uk", "on": TODAY.isoformat()})
    assert again.status_code == 409, again.json


def test_the_lists_of_cases_say_when_and_how_a_closed_cases_plan_ended(plans, plans_store, sw, tm, chair):
    case_id, plan_id = on_plan(plans, plans_store, sw, chair)
    [listed] = plans.get("/v1/cases?worker=me", headers=sw).json["items"]
    assert (listed["id"], listed["status"], listed["ended"]) == (case_id, "on_plan", None)
    assert end(plans, tm, plan_id, {"reason": "left_the_uk", "on": TODAY.isoformat()}).status_code == 201
    [listed] = plans.get("/v1/cases?worker=me", headers=sw).json["items"]
    assert (listed["status"], listed["ended"]) == ("closed", {"on": TODAY.isoformat(), "how": "left_the_uk"})
    [closed] = plans.get("/v1/cases?status=closed", headers=tm).json["items"]
    assert closed["ended"]["how"] == "left_the_uk" and closed["key_worker"] is None


def test_a_repeated_request_ends_the_plan_once(plans, plans_store, sw, tm, chair):
    _, plan_id = on_plan(plans, plans_store, sw, chair)
    etag = plans.get(f"/v1/plans/{plan_id}", headers=tm).headers["ETag"]
    headers = {**tm, "If-Match": etag, "Idempotency-Key": "end-once"}
    body = {"reason": "left_the_uk", "on": TODAY.isoformat()}
    first = plans.post(f"/v1/plans/{plan_id}/ending", json=body, headers=headers)
    second = plans.post(f"/v1/plans/{plan_id}/ending", json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 201) and first.json == second.json
    assert [m.routing_key for m in plans_store.outbox_pending(1000)].count("plan.ended.v1") == 1


def test_a_stale_or_missing_if_match_is_refused(plans, plans_store, sw, tm, chair):
    _, plan_id = on_plan(plans, plans_store, sw, chair)
    body = {"reason": "died", "on": TODAY.isoformat()}
    assert end(plans, tm, plan_id, body, etag='"999"').status_code == 412
    assert plans.post(f"/v1/plans/{plan_id}/ending", json=body, headers=tm).status_code == 428
    assert plans.get(f"/v1/plans/{plan_id}", headers=tm).json["status"] != "ended"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"reason": "died", "on": (TODAY + timedelta(days=1)).isoformat()}, "on"),
        ({"reason": "died", "on": (D0 - timedelta(days=1)).isoformat()}, "on"),
        ({"reason": "reached_18", "on": TODAY.isoformat()}, "on"),
        ({"reason": "looked_after", "on": TODAY.isoformat()}, "reason"),
        ({"reason": "moved_to_another_council", "on": TODAY.isoformat()}, "receiving_council"),
        ({"reason": "bored", "on": TODAY.isoformat()}, "reason"),
    ],
)
def test_an_ending_that_breaks_a_rule_is_refused_by_field(plans, plans_store, sw, tm, chair, body, field):
    _, plan_id = on_plan(plans, plans_store, sw, chair)  # a child of 14: not 18
    resp = end(plans, tm, plan_id, body)
    assert resp.status_code == 422, resp.json
    assert field in resp.json["errors"]["json"]
    assert plans.get(f"/v1/plans/{plan_id}", headers=tm).json["status"] != "ended"


def test_only_a_team_manager_ends_a_plan(plans, plans_store, sw, chair):
    _, plan_id = on_plan(plans, plans_store, sw, chair)
    assert end(plans, sw, plan_id, {"reason": "died", "on": TODAY.isoformat()}).status_code == 403


def test_a_child_who_is_18_today_has_their_manager_confirm_the_ending(plans, plans_store, scheduler_ctx, sw, tm, chair):
    born = TODAY.replace(year=TODAY.year - 18) if (TODAY.month, TODAY.day) != (2, 29) else date(TODAY.year - 18, 3, 1)
    assert plans.get("/v1/staff/me", headers=tm).status_code == 200  # the manager, in the staff directory
    case_id, plan_id = on_plan(plans, plans_store, sw, chair, born=born.isoformat())
    etag = f'"{plans.get(f"/v1/cases/{case_id}", headers=tm).json["version"]}"'
    given = plans.put(
        f"/v1/cases/{case_id}/allocation", json={"team_manager": "tm-1"}, headers={**tm, "If-Match": etag}
    )
    assert given.status_code == 200, given.json
    pump = Pump(plans_store, scheduler_ctx)
    pump()
    ticker = Ticker(scheduler_ctx)
    ticker.run_once(TODAY - timedelta(days=1), use_lease=False)  # the day before: not yet
    assert not scheduler_ctx.store.collection("deadlines").find({"rule_id": "plan-ends-at-18"})

    ticker.run_once(TODAY, use_lease=False)
    ticker.run_once(TODAY, use_lease=False)  # asked once
    [asked] = scheduler_ctx.store.collection("deadlines").find({"rule_id": "plan-ends-at-18"})
    assert asked["owner"] == "team_manager" and asked["plan_id"] == plan_id and asked["due_on"] == TODAY.isoformat()
    assert asked["status"] in ("pending", "approaching")
    assert asked["assignee"]["user"] == "tm-1"
    scheduled = [m.body for m in scheduler_ctx.store.outbox_pending(1000) if m.routing_key == "deadline.scheduled.v1"]
    assert [s["data"]["name"] for s in scheduled if s["data"]["rule_id"] == "plan-ends-at-18"] == [
        "Confirm the plan ends: the child is 18"
    ]

    assert end(plans, tm, plan_id, {"reason": "reached_18", "on": TODAY.isoformat()}).status_code == 201
    assert pump() == ["plan.ended.v1"]
    [done] = scheduler_ctx.store.collection("deadlines").find({"rule_id": "plan-ends-at-18"})
    assert done["status"] == "met" and done["met"]["on"] == TODAY.isoformat()
    others = scheduler_ctx.store.collection("deadlines").find({"case_id": case_id, "status": {"$ne": "met"}})
    assert others and {d["status"] for d in others} == {"cancelled"}
    ticker.run_once(TODAY, use_lease=False)  # an ended plan is not asked about again
    assert len(scheduler_ctx.store.collection("deadlines").find({"rule_id": "plan-ends-at-18"})) == 1
