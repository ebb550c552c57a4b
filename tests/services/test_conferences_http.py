"""Conferences over HTTP beyond scheduling and holding them: moving one to
another date (If-Match), cancelling one, the first core group date the
outline plan sets, and the case a visit event names."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.helpers import bearer, ensure_child

OUTLINE = {
    "key_worker": {"name": "Sam Social", "role": "social worker", "phone": "020 7946 0000"},
    "categories": ["neglect"],
    "core_group": [
        {"name": "Sam Social", "role": "social worker", "agency": "Children's services", "is_family_member": False},
        {"name": "Alex Parent", "role": "parent", "agency": "family", "is_family_member": True},
    ],
}
D0 = date.today() - timedelta(days=20)  # the strategy discussion


@pytest.fixture
def chair(token_for):
    return bearer(token_for("chair", user="chair-1"))


def iso(days: int) -> str:
    return (D0 + timedelta(days=days)).isoformat()


def pending_case(plans, sw, child_id="child-1") -> str:
    case_id = plans.post("/v1/cases", json={"child_id": ensure_child(plans, child_id)}, headers=sw).json["id"]
    assert (
        plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": iso(0)}, headers=sw).status_code == 201
    )
    assert (
        plans.post(
            f"/v1/cases/{case_id}/enquiry-outcome",
            headers=sw,
            json={"completed_on": iso(5), "conference_required": True},
        ).status_code
        == 200
    )
    return case_id


def schedule(plans, sw, case_id, kind="initial", on=10):
    resp = plans.post(f"/v1/cases/{case_id}/conferences", json={"kind": kind, "scheduled_for": iso(on)}, headers=sw)
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


CHILD = {"name": "Sam Jones", "date_of_birth": "2020-01-02", "nhs_number": None}  # child-1 as the record holds it


def events_of(store):
    return [
        (m.routing_key, m.body["subject"], m.body["data"])
        for m in store.outbox_pending(1000)
        if m.routing_key != "staff.updated.v1"
    ]


def audit_actions(plans, token_for):
    page = plans.get("/v1/audit?limit=1000", headers=bearer(token_for("auditor"))).json
    return [r["entry"]["action"] for r in page["records"]]


def written(store):
    """What a refused request must leave as it was: the outbox and the audit log."""
    return store.outbox_stats().pending, len(store.read_log("audit"))


# --- rescheduling ---------------------------------------------------------


def test_a_conference_moves_with_its_etag_and_the_event_names_the_previous_date(plans, plans_store, sw, token_for):
    case_id = pending_case(plans, sw)
    conf_id = schedule(plans, sw, case_id, on=10)
    got = plans.get(f"/v1/conferences/{conf_id}", headers=sw)
    assert got.status_code == 200 and got.headers["ETag"] == '"1"'

    move = {"scheduled_for": iso(12), "reason": "The chair is unwell"}
    before = written(plans_store)
    missing = plans.patch(f"/v1/conferences/{conf_id}", json=move, headers=sw)
    assert missing.status_code == 428 and "If-Match" in missing.json["message"]
    assert written(plans_store) == before

    tm = bearer(token_for("team_manager", user="tm-1"))
    moved = plans.patch(f"/v1/conferences/{conf_id}", json=move, headers={**tm, "If-Match": got.headers["ETag"]})
    assert moved.status_code == 200, moved.json
    assert moved.headers["ETag"] == '"2"' and moved.json["version"] == 2
    assert moved.json["scheduled_for"] == iso(12) and moved.json["status"] == "scheduled"
    assert moved.json["reschedules"] == [
        {"from": iso(10), "to": iso(12), "reason": "The chair is unwell", "by": "tm-1", "on": date.today().isoformat()}
    ]
    assert plans.get(f"/v1/conferences/{conf_id}", headers=sw).json == moved.json

    before = written(plans_store)
    stale = plans.patch(
        f"/v1/conferences/{conf_id}",
        json={"scheduled_for": iso(14), "reason": "again"},
        headers={**sw, "If-Match": got.headers["ETag"]},
    )
    assert stale.status_code == 412
    assert written(plans_store) == before
    assert plans.get(f"/v1/conferences/{conf_id}", headers=sw).json["scheduled_for"] == iso(12)

    type_, subject, data = events_of(plans_store)[-1]
    assert type_ == "conference.rescheduled.v1" and subject == case_id
    assert data == {
        "conference_id": conf_id,
        "case_id": case_id,
        "child_id": "child-1",
        "kind": "initial",
        "scheduled_for": iso(12),
        "previous_scheduled_for": iso(10),
        "reason": "The chair is unwell",
        "plan_id": None,
        "chair": None,
        "child": CHILD,
    }
    assert audit_actions(plans, token_for).count("reschedule_conference") == 1
    assert plans_store.verify_log("audit").ok


def test_a_conference_move_naming_several_etags_is_400_and_nothing_written(plans, plans_store, sw):
    case_id = pending_case(plans, sw)
    conf_id = schedule(plans, sw, case_id, on=10)
    before = written(plans_store)
    resp = plans.patch(
        f"/v1/conferences/{conf_id}",
        json={"scheduled_for": iso(12), "reason": "late"},
        headers={**sw, "If-Match": '"0","1","2","3"'},
    )
    assert resp.status_code == 400
    assert resp.json["errors"] == {"headers": {"If-Match": ["If-Match must name exactly one ETag, as returned by GET"]}}
    assert written(plans_store) == before
    assert plans.get(f"/v1/conferences/{conf_id}", headers=sw).json["scheduled_for"] == iso(10)


def test_a_held_conference_does_not_move(plans, plans_store, sw, chair):
    case_id = pending_case(plans, sw)
    conf_id = schedule(plans, sw, case_id, on=10)
    held = plans.post(
        f"/v1/conferences/{conf_id}/outcome",
        headers=chair,
        json={"held_on": iso(10), "plan_required": True, "outline_plan": OUTLINE},
    )
    assert held.status_code == 200, held.json
    etag = plans.get(f"/v1/conferences/{conf_id}", headers=sw).headers["ETag"]
    before = written(plans_store)
    resp = plans.patch(
        f"/v1/conferences/{conf_id}",
        json={"scheduled_for": iso(12), "reason": "late"},
        headers={**sw, "If-Match": etag},
    )
    assert resp.status_code == 409 and "held" in resp.json["message"]
    assert written(plans_store) == before


def test_a_bad_new_date_is_422_with_the_field_and_nothing_written(plans, plans_store, sw):
    case_id = pending_case(plans, sw)
    conf_id = schedule(plans, sw, case_id, on=10)
    headers = {**sw, "If-Match": '"1"'}
    before = written(plans_store)
    for body, field, says in [
        ({"scheduled_for": iso(-1), "reason": "earlier"}, "scheduled_for", "before the strategy discussion"),
        ({"scheduled_for": iso(10), "reason": "same day"}, "scheduled_for", "already scheduled for"),
        ({"scheduled_for": "12/01/2026", "reason": "x"}, "scheduled_for", ""),
        ({"scheduled_for": iso(12)}, "reason", ""),
        ({"scheduled_for": iso(12), "reason": "   "}, "reason", ""),
        ({"scheduled_for": iso(12), "reason": "x", "colour": "red"}, "colour", ""),
    ]:
        resp = plans.patch(f"/v1/conferences/{conf_id}", json=body, headers=headers)
        assert resp.status_code == 422, (body, resp.json)
        assert says in resp.json["errors"]["json"][field][0], resp.json
    assert written(plans_store) == before
    got = plans.get(f"/v1/conferences/{conf_id}", headers=sw)
    assert got.headers["ETag"] == '"1"' and got.json["scheduled_for"] == iso(10) and "reschedules" not in got.json


def test_a_review_conference_does_not_move_before_the_plan_began(plans, sw, chair):
    case_id = pending_case(plans, sw)
    conf_id = schedule(plans, sw, case_id, on=10)
    plans.post(
        f"/v1/conferences/{conf_id}/outcome",
        headers=chair,
        json={"held_on": iso(10), "plan_required": True, "outline_plan": OUTLINE},
    )
    review_id = schedule(plans, sw, case_id, kind="review", on=15)
    early = plans.patch(
        f"/v1/conferences/{review_id}", json={"scheduled_for": iso(9), "reason": "x"}, headers={**sw, "If-Match": '"1"'}
    )
    assert early.status_code == 422 and "plan began" in early.json["errors"]["json"]["scheduled_for"][0]
    later = plans.patch(
        f"/v1/conferences/{review_id}",
        json={"scheduled_for": iso(18), "reason": "x"},
        headers={**chair, "If-Match": '"1"'},
    )
    assert later.status_code == 200 and later.json["scheduled_for"] == iso(18)


# --- cancelling -----------------------------------------------------------


def test_a_cancelled_initial_conference_makes_way_for_another(plans, plans_store, sw, chair, token_for):
    case_id = pending_case(plans, sw)
    conf_id = schedule(plans, sw, case_id, on=10)
    assert (
        plans.post(
            f"/v1/cases/{case_id}/conferences", headers=sw, json={"kind": "initial", "scheduled_for": iso(11)}
        ).status_code
        == 409
    )

    resp = plans.post(f"/v1/conferences/{conf_id}/cancellation", json={"reason": "Family moved area"}, headers=chair)
    assert resp.status_code == 200, resp.json
    assert resp.json["conference"]["status"] == "cancelled" and resp.json["conference"]["version"] == 2
    assert resp.json["conference"]["cancellation"] == {
        "reason": "Family moved area",
        "by": "chair-1",
        "on": date.today().isoformat(),
    }
    assert resp.json["case"]["conferences"] == [{"id": conf_id, "kind": "initial", "status": "cancelled"}]
    assert plans.get(f"/v1/cases/{case_id}", headers=sw).json["conferences"][0]["status"] == "cancelled"
    type_, subject, data = events_of(plans_store)[-1]
    assert type_ == "conference.cancelled.v1" and subject == case_id
    assert data == {
        "conference_id": conf_id,
        "case_id": case_id,
        "child_id": "child-1",
        "kind": "initial",
        "scheduled_for": iso(10),
        "reason": "Family moved area",
        "plan_id": None,
        "chair": None,
        "child": CHILD,
    }

    before = written(plans_store)
    assert (
        plans.post(f"/v1/conferences/{conf_id}/cancellation", json={"reason": "again"}, headers=sw).status_code == 409
    )
    assert (
        plans.patch(
            f"/v1/conferences/{conf_id}",
            json={"scheduled_for": iso(12), "reason": "x"},
            headers={**sw, "If-Match": '"2"'},
        ).status_code
        == 409
    )
    assert (
        plans.post(
            f"/v1/conferences/{conf_id}/outcome", headers=chair, json={"held_on": iso(10), "plan_required": False}
        ).status_code
        == 409
    )
    assert plans.post(f"/v1/conferences/{conf_id}/cancellation", json={}, headers=sw).status_code == 422
    assert written(plans_store) == before

    second = schedule(plans, sw, case_id, on=12)
    held = plans.post(
        f"/v1/conferences/{second}/outcome",
        headers=chair,
        json={"held_on": iso(12), "plan_required": True, "outline_plan": OUTLINE},
    )
    assert held.status_code == 200 and held.json["case"]["status"] == "on_plan"
    assert [c["status"] for c in held.json["case"]["conferences"]] == ["cancelled", "held"]
    assert audit_actions(plans, token_for).count("cancel_conference") == 1


# --- who and whose --------------------------------------------------------


def test_another_authoritys_conference_is_not_found(plans, plans_store, sw):
    plans_store.inner.collection("cases").insert_one(
        {
            "_id": "their-case",
            "authority": "BRO",
            "child_id": "x",
            "status": "conference_pending",
            "conferences": [],
            "plan_id": None,
            "strategy_discussions": [],
        }
    )
    plans_store.inner.collection("conferences").insert_one(
        {
            "_id": "theirs",
            "authority": "BRO",
            "case_id": "their-case",
            "child_id": "x",
            "kind": "initial",
            "status": "scheduled",
            "scheduled_for": iso(10),
            "outcome": None,
        }
    )
    before = written(plans_store)
    assert plans.get("/v1/conferences/theirs", headers=sw).status_code == 404
    assert (
        plans.patch(
            "/v1/conferences/theirs", json={"scheduled_for": iso(12), "reason": "x"}, headers={**sw, "If-Match": '"1"'}
        ).status_code
        == 404
    )
    assert plans.post("/v1/conferences/theirs/cancellation", json={"reason": "x"}, headers=sw).status_code == 404
    assert written(plans_store) == before
    assert plans_store.inner.collection("conferences").find_one({"_id": "theirs"})["status"] == "scheduled"


@pytest.mark.parametrize("role", ["partner", "auditor"])
def test_only_schedulers_move_or_cancel_a_conference(plans, plans_store, sw, token_for, role):
    case_id = pending_case(plans, sw)
    conf_id = schedule(plans, sw, case_id, on=10)
    other = bearer(token_for(role))
    before = written(plans_store)
    assert (
        plans.patch(
            f"/v1/conferences/{conf_id}",
            json={"scheduled_for": iso(12), "reason": "x"},
            headers={**other, "If-Match": '"1"'},
        ).status_code
        == 403
    )
    assert plans.post(f"/v1/conferences/{conf_id}/cancellation", json={"reason": "x"}, headers=other).status_code == 403
    assert written(plans_store) == before


def test_the_new_endpoints_are_in_the_openapi_document(plans, sw):
    doc = plans.get("/openapi.json", headers=sw).json
    assert {"get", "patch"} <= set(doc["paths"]["/v1/conferences/{conference_id}"])
    assert "post" in doc["paths"]["/v1/conferences/{conference_id}/cancellation"]
    assert "first_core_group_on" in doc["components"]["schemas"]["PlanContent"]["properties"]


# --- the first core group date; the visit's case ----------------------------


def test_the_outline_plan_sets_the_first_core_group_date(plans, plans_store, sw, chair):
    case_id = pending_case(plans, sw)
    conf_id = schedule(plans, sw, case_id, on=10)
    before = written(plans_store)
    early = plans.post(
        f"/v1/conferences/{conf_id}/outcome",
        headers=chair,
        json={"held_on": iso(10), "plan_required": True, "outline_plan": {**OUTLINE, "first_core_group_on": iso(9)}},
    )
    assert early.status_code == 422
    assert "first_core_group_on" in early.json["errors"]["json"]["outline_plan"], early.json
    assert written(plans_store) == before and plans_store.collection("plans").count_documents({}) == 0

    held = plans.post(
        f"/v1/conferences/{conf_id}/outcome",
        headers=chair,
        json={"held_on": iso(10), "plan_required": True, "outline_plan": {**OUTLINE, "first_core_group_on": iso(17)}},
    )
    assert held.status_code == 200, held.json
    assert held.json["plan"]["content"]["first_core_group_on"] == iso(17)
    event = next(e for e in events_of(plans_store) if e[0] == "conference.held.v1")
    assert event[2]["first_core_group_on"] == iso(17) and event[2]["plan_id"] == held.json["plan"]["id"]

    # A review that revises the plan keeps the date the initial conference set.
    review_id = schedule(plans, sw, case_id, kind="review", on=18)
    revised = {**held.json["plan"]["content"], "categories": ["neglect", "emotional_abuse"]}
    rev = plans.post(
        f"/v1/conferences/{review_id}/outcome",
        headers=chair,
        json={"held_on": iso(18), "decision": "revise", "plan": revised},
    )
    assert rev.status_code == 200, rev.json
    assert rev.json["plan"]["content"]["first_core_group_on"] == iso(17)


def test_an_outline_plan_without_a_first_core_group_date_is_accepted(plans, plans_store, sw, chair):
    case_id = pending_case(plans, sw)
    conf_id = schedule(plans, sw, case_id, on=10)
    held = plans.post(
        f"/v1/conferences/{conf_id}/outcome",
        headers=chair,
        json={"held_on": iso(10), "plan_required": True, "outline_plan": OUTLINE},
    )
    assert held.status_code == 200, held.json
    event = next(e for e in events_of(plans_store) if e[0] == "conference.held.v1")
    assert "first_core_group_on" in event[2] and event[2]["first_core_group_on"] is None


def test_a_visit_event_names_the_case(plans, plans_store, sw, chair):
    case_id = pending_case(plans, sw)
    conf_id = schedule(plans, sw, case_id, on=10)
    plan_id = plans.post(
        f"/v1/conferences/{conf_id}/outcome",
        headers=chair,
        json={"held_on": iso(10), "plan_required": True, "outline_plan": OUTLINE},
    ).json["plan"]["id"]
    visit = plans.post(
        f"/v1/plans/{plan_id}/visits",
        headers=sw,
        json={"visited_on": iso(11), "announced": True, "child_seen": True, "seen_alone": False, "by": "Sam Social"},
    )
    assert visit.status_code == 201, visit.json
    type_, subject, data = events_of(plans_store)[-1]
    assert type_ == "visit.recorded.v1" and subject == plan_id
    assert data["case_id"] == case_id and data["plan_id"] == plan_id and data["visit_id"] == visit.json["id"]
