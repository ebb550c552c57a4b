"""Two steps over HTTP in any deployment: a significant change in the child's circumstances that a plan's core
group notices and tells the conference's chair of (recorded, listed, the chair told once), and a visit to the
child before any plan, on an open case (a case on a plan records its visits on the plan). Each refusal names its
field or says why, and writes nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.helpers import bearer, ensure_child
from tests.services.test_plans_lifecycle_http import OUTLINE, events_of
from tests.services.test_referral_http import ok, step

D0 = date.today() - timedelta(days=40)
PLAN_BEGAN = D0 + timedelta(days=14)


def iso(days_after_the_plan: int) -> str:
    return (PLAN_BEGAN + timedelta(days=days_after_the_plan)).isoformat()


@pytest.fixture
def people(token_for):
    return {
        role: bearer(token_for(role, user=user))
        for role, user in (("social_worker", "sw-1"), ("chair", "chair-1"), ("team_manager", "tm-1"))
    }


def a_plan(plans, people, child_id: str = "child-sc") -> dict:
    """A plan that began at an initial conference 26 days ago: the conference's answer."""
    sw = people["social_worker"]
    case_id = plans.post("/v1/cases", json={"child_id": ensure_child(plans, child_id)}, headers=sw).json["id"]
    plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": D0.isoformat()}, headers=sw)
    body = {"completed_on": D0.isoformat(), "conference_required": True}
    assert plans.post(f"/v1/cases/{case_id}/enquiry-outcome", json=body, headers=sw).status_code == 200
    body = {"kind": "initial", "scheduled_for": PLAN_BEGAN.isoformat()}
    conference = plans.post(f"/v1/cases/{case_id}/conferences", json=body, headers=sw).json
    body = {"held_on": PLAN_BEGAN.isoformat(), "plan_required": True, "outline_plan": OUTLINE}
    decided = plans.post(f"/v1/conferences/{conference['id']}/outcome", json=body, headers=people["chair"])
    assert decided.status_code == 200, decided.json
    return decided.json["plan"]


def written(store) -> tuple[int, int, int]:
    """What a refused step must leave as it was: events waiting, significant changes, visits."""
    return (
        store.outbox_stats().pending,
        len(store.collection("significant_changes").find({})),
        len(store.collection("visits").find({})),
    )


# --- significant changes ---------------------------------------------------


def test_a_significant_change_is_recorded_listed_and_the_chair_told_once(plans, plans_store, people, token_for):
    sw = people["social_worker"]
    plan = a_plan(plans, people)
    path = f"/v1/plans/{plan['id']}/significant-changes"
    before = len(events_of(plans_store))
    body = {"noticed_on": iso(5), "description": "Mother's new partner has moved into the home"}
    made = plans.post(path, json=body, headers=sw)
    assert made.status_code == 201, made.json
    change = made.json
    assert (change["noticed_on"], change["chair_told"], change["recorded_by"]) == (iso(5), None, "sw-1")
    [recorded] = events_of(plans_store)[before:]
    assert recorded[:2] == ("significant_change.recorded.v1", plan["id"])
    assert {k: v for k, v in recorded[2].items() if k != "child"} == {
        "change_id": change["id"],
        "plan_id": plan["id"],
        "case_id": plan["case_id"],
        "child_id": plan["child_id"],
        "noticed_on": iso(5),
    }, "no description: what changed stays with the plan"

    later = {"noticed_on": iso(6), "description": "The child stopped going to school"}
    later_id = plans.post(path, json=later, headers=sw).json["id"]
    listed = plans.get(path, headers=people["chair"])
    assert listed.status_code == 200, listed.json
    assert [(c["id"], c["description"]) for c in listed.json["items"]] == [
        (later_id, later["description"]),
        (change["id"], body["description"]),
    ], "newest noticed first"
    log = plans.get("/v1/audit?limit=1000", headers=bearer(token_for("auditor"))).json["records"]
    assert any(
        r["entry"]["record_type"] == "significant_changes" and r["entry"]["record_id"] == plan["id"] for r in log
    )

    told = plans.post(f"{path}/{change['id']}/referral", json={"told_on": iso(7)}, headers=sw)
    assert told.status_code == 200, told.json
    assert told.json["chair_told"] == {"on": iso(7), "by": "sw-1"} and told.json["version"] == 2
    referred = events_of(plans_store)[-1]
    assert referred[0] == "significant_change.referred.v1"
    assert (referred[2]["change_id"], referred[2]["noticed_on"], referred[2]["told_on"]) == (
        change["id"],
        iso(5),
        iso(7),
    )

    state = written(plans_store)
    again = plans.post(f"{path}/{change['id']}/referral", json={"told_on": iso(8)}, headers=sw)
    assert again.status_code == 409 and iso(7) in again.json["message"]
    assert written(plans_store) == state
    assert plans.get(path, headers=sw).json["items"][1]["chair_told"]["on"] == iso(7)


def test_a_change_recorded_with_the_day_the_chair_was_told_publishes_both_events_in_one_step(
    plans, plans_store, people
):
    plan = a_plan(plans, people)
    before = len(events_of(plans_store))
    body = {"noticed_on": iso(3), "description": "The child was excluded from school", "chair_told_on": iso(4)}
    made = plans.post(f"/v1/plans/{plan['id']}/significant-changes", json=body, headers=people["social_worker"])
    assert made.status_code == 201, made.json
    assert made.json["chair_told"] == {"on": iso(4), "by": "sw-1"}
    assert [(t, d["told_on"] if "told_on" in d else None) for t, _, d in events_of(plans_store)[before:]] == [
        ("significant_change.recorded.v1", None),
        ("significant_change.referred.v1", iso(4)),
    ]
    told = plans.post(
        f"/v1/plans/{plan['id']}/significant-changes/{made.json['id']}/referral",
        json={"told_on": iso(5)},
        headers=people["social_worker"],
    )
    assert told.status_code == 409


TOMORROW = (date.today() + timedelta(days=1)).isoformat()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"noticed_on": TOMORROW, "description": "x"}, "noticed_on"),
        ({"noticed_on": iso(-1), "description": "x"}, "noticed_on"),  # before the plan began
        ({"noticed_on": "not a date", "description": "x"}, "noticed_on"),
        ({"description": "x"}, "noticed_on"),
        ({"noticed_on": iso(1), "description": "   "}, "description"),
        ({"noticed_on": iso(1), "description": ""}, "description"),
        ({"noticed_on": iso(1), "description": "x" * 4001}, "description"),
        ({"noticed_on": iso(1)}, "description"),
        ({"noticed_on": iso(2), "description": "x", "chair_told_on": iso(1)}, "chair_told_on"),
        ({"noticed_on": iso(2), "description": "x", "chair_told_on": TOMORROW}, "chair_told_on"),
        ({"noticed_on": iso(2), "description": "x", "colour": "red"}, "colour"),
    ],
)
def test_a_bad_significant_change_is_422_naming_the_field_and_nothing_is_written(
    plans, plans_store, people, body, field
):
    plan = a_plan(plans, people)
    state = written(plans_store)
    refused = plans.post(f"/v1/plans/{plan['id']}/significant-changes", json=body, headers=people["social_worker"])
    assert refused.status_code == 422, refused.json
    assert field in refused.json["errors"]["json"], refused.json
    assert written(plans_store) == state


def test_telling_the_chair_is_refused_before_the_change_or_in_the_future_and_for_no_such_change(
    plans, plans_store, people
):
    sw = people["social_worker"]
    plan = a_plan(plans, people)
    path = f"/v1/plans/{plan['id']}/significant-changes"
    change = plans.post(path, json={"noticed_on": iso(5), "description": "A new baby"}, headers=sw).json
    other = a_plan(plans, people, "child-other")
    state = written(plans_store)
    for told_on in (iso(4), TOMORROW, "soon"):
        refused = plans.post(f"{path}/{change['id']}/referral", json={"told_on": told_on}, headers=sw)
        assert refused.status_code == 422 and "told_on" in refused.json["errors"]["json"], refused.json
    assert plans.post(f"{path}/no-such-change/referral", json={"told_on": iso(6)}, headers=sw).status_code == 404
    moved = plans.post(
        f"/v1/plans/{other['id']}/significant-changes/{change['id']}/referral", json={"told_on": iso(6)}, headers=sw
    )
    assert moved.status_code == 404, "a change is told through its own plan"
    assert written(plans_store) == state


def test_only_writers_record_a_change_and_an_ended_plan_takes_none(plans, plans_store, people, token_for):
    plan = a_plan(plans, people)
    path = f"/v1/plans/{plan['id']}/significant-changes"
    body = {"noticed_on": iso(1), "description": "Father released from prison"}
    assert plans.post(path, json=body, headers=people["chair"]).status_code == 403
    assert plans.get(path, headers=bearer(token_for("auditor"))).status_code == 200
    plan_now = plans.get(f"/v1/plans/{plan['id']}", headers=people["social_worker"])
    ending = {"reason": "left_the_uk", "on": iso(2)}
    ended = plans.post(
        f"/v1/plans/{plan['id']}/ending",
        json=ending,
        headers={**people["team_manager"], "If-Match": plan_now.headers["ETag"]},
    )
    assert ended.status_code == 201, ended.json
    state = written(plans_store)
    refused = plans.post(path, json=body, headers=people["social_worker"])
    assert refused.status_code == 409 and "ended" in refused.json["message"]
    assert written(plans_store) == state


# --- a visit before any plan -------------------------------------------------

VISIT = {"announced": False, "child_seen": True, "seen_alone": True, "by": "Sam Social"}


def test_a_visit_during_the_enquiries_is_recorded_on_the_case_with_the_plans_visits(plans, plans_store, people):
    sw = people["social_worker"]
    case_id = plans.post("/v1/cases", json={"child_id": ensure_child(plans, "child-v")}, headers=sw).json["id"]
    before = len(events_of(plans_store))
    today = date.today().isoformat()
    made = plans.post(f"/v1/cases/{case_id}/visits", json={**VISIT, "visited_on": today}, headers=sw)
    assert made.status_code == 201, made.json
    assert (made.json["visited_on"], made.json["child_seen"], made.json["recorded_by"]) == (today, True, "sw-1")
    stored = plans_store.collection("visits").find_one({"_id": made.json["id"]})
    assert (stored["case_id"], stored["plan_id"], stored["child_id"]) == (case_id, None, "child-v")
    [(etype, subject, data)] = events_of(plans_store)[before:]
    assert (etype, subject) == ("case_visit.recorded.v1", case_id)
    assert {k: v for k, v in data.items() if k != "child"} == {
        "visit_id": made.json["id"],
        "case_id": case_id,
        "child_id": "child-v",
        "visited_on": today,
        "announced": False,
        "child_seen": True,
        "seen_alone": True,
    }
    entries = plans.get("/v1/children/child-v/chronology", headers=sw).json["entries"]
    [visit] = [e for e in entries if e["type"] == "visit_recorded"]
    assert (visit["case_id"], visit["plan_id"], visit["detail"]["child_seen"]) == (case_id, None, True)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"visited_on": TOMORROW}, "visited_on"),
        ({"visited_on": (date.today() - timedelta(days=1)).isoformat()}, "visited_on"),  # before the case opened
        ({"child_seen": False, "seen_alone": True}, "seen_alone"),
        ({"by": ""}, "by"),
        ({"announced": "yes"}, "announced"),
    ],
)
def test_a_bad_visit_before_a_plan_is_422_naming_the_field_and_nothing_is_written(
    plans, plans_store, people, change, field
):
    sw = people["social_worker"]
    case_id = plans.post("/v1/cases", json={"child_id": ensure_child(plans, "child-v")}, headers=sw).json["id"]
    state = written(plans_store)
    body = {**VISIT, "visited_on": date.today().isoformat(), **change}
    refused = plans.post(f"/v1/cases/{case_id}/visits", json=body, headers=sw)
    assert refused.status_code == 422, refused.json
    assert field in refused.json["errors"]["json"], refused.json
    assert written(plans_store) == state


def test_a_case_on_a_plan_records_its_visits_on_the_plan_and_a_closed_case_none(plans, plans_store, people):
    sw, tm = people["social_worker"], people["team_manager"]
    plan = a_plan(plans, people)
    body = {**VISIT, "visited_on": date.today().isoformat()}
    state = written(plans_store)
    on_plan = plans.post(f"/v1/cases/{plan['case_id']}/visits", json=body, headers=sw)
    assert on_plan.status_code == 409 and f"/v1/plans/{plan['id']}/visits" in on_plan.json["message"]

    opened = plans.post("/v1/cases", json={"child_id": ensure_child(plans, "child-nfa")}, headers=sw)
    case_id, etag = opened.json["id"], opened.headers["ETag"]
    today = date.today().isoformat()
    etag = ok(step(plans, sw, case_id, "referral", {"received_on": today, "source": "school"}, etag))
    decision = {"decided_on": today, "decision": "no_further_action", "reason": "a misunderstanding"}
    ok(step(plans, tm, case_id, "referral/decision", decision, etag))
    state = written(plans_store)
    closed = plans.post(f"/v1/cases/{case_id}/visits", json=body, headers=sw)
    assert closed.status_code == 409 and "closed" in closed.json["message"]
    assert written(plans_store) == state
    assert plans.post("/v1/cases/no-such-case/visits", json=body, headers=sw).status_code == 404
    assert plans.post(f"/v1/cases/{case_id}/visits", json=body, headers=people["chair"]).status_code == 403
