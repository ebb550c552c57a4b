"""Closing a case over the plans API (POST /v1/cases/{id}/closure) with the
Children in Need census's reason, the scheduler cancelling its deadlines on
case.closed.v1, and a referral's census source (source_code)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cpp_scheduler.app import create_app as create_scheduler_app
from tests.helpers import Pump, bearer, ensure_child
from tests.services.test_lookup_http import end_plan, put_on_plan

TODAY = date.today()
D0 = TODAY - timedelta(days=30)


def day(n: int) -> str:
    return (D0 + timedelta(days=n)).isoformat()


@pytest.fixture
def tm(token_for, plans):
    headers = bearer(token_for("team_manager", user="tm-1", name="Terry Manager"))
    assert plans.get("/v1/cases", headers=headers).status_code == 200  # now in the staff directory
    return headers


@pytest.fixture
def chair(token_for):
    return bearer(token_for("chair", user="chair-1"))


@pytest.fixture
def scheduler_ctx(make_settings):
    return create_scheduler_app(make_settings("scheduler")).extensions["cpp"]


def etag_of(plans, headers, case_id):
    return f'"{plans.get(f"/v1/cases/{case_id}", headers=headers).json["version"]}"'


def close(plans, headers, case_id, body, etag=None):
    etag = etag or etag_of(plans, headers, case_id)
    return plans.post(f"/v1/cases/{case_id}/closure", json=body, headers={**headers, "If-Match": etag})


def published(store, type_):
    return [m.body["data"] for m in store.outbox_pending(10_000) if m.routing_key == type_]


def in_enquiries(plans, sw, child_id="child-c1"):
    case_id = plans.post("/v1/cases", json={"child_id": ensure_child(plans, child_id)}, headers=sw).json["id"]
    held = plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": day(0)}, headers=sw)
    assert held.status_code == 201, held.json
    return case_id


def test_a_case_closes_with_the_census_reason_and_its_deadlines_are_cancelled(
    plans, plans_store, sw, tm, scheduler_ctx
):
    pump = Pump(plans_store, scheduler_ctx)
    case_id = in_enquiries(plans, sw)
    pump()
    deadlines = scheduler_ctx.store.collection("deadlines")
    assert deadlines.find({"case_id": case_id, "status": {"$in": ["pending", "approaching", "overdue"]}})

    answer = close(plans, tm, case_id, {"closed_on": day(2), "reason": "RC7", "notes": " No longer in need. "})
    assert answer.status_code == 200, answer.json
    assert answer.headers["ETag"] == f'"{answer.json["version"]}"'
    assert answer.json["status"] == "closed"
    assert answer.json["closure"] == {
        "on": day(2),
        "reason": "RC7",
        "notes": "No longer in need.",
        "by": {"user": "tm-1", "name": "Terry Manager"},
    }
    [event] = published(plans_store, "case.closed.v1")
    assert {k: event[k] for k in ("case_id", "closed_on", "reason", "by")} == {
        "case_id": case_id,
        "closed_on": day(2),
        "reason": "RC7",
        "by": {"user": "tm-1", "name": "Terry Manager"},
    }
    assert event["child"]["name"]  # who the child is, as other events about them

    pump()
    left = deadlines.find({"case_id": case_id, "status": {"$in": ["pending", "approaching", "overdue"]}})
    assert left == []
    cancelled = deadlines.find({"case_id": case_id, "status": "cancelled"})
    assert cancelled and all(d["cancelled"]["type"] == "case.closed.v1" for d in cancelled)
    told = [
        m.body["data"] for m in scheduler_ctx.store.outbox_pending(10_000) if m.routing_key == "deadline.cancelled.v1"
    ]
    assert {d["deadline_id"] for d in told} == {d["_id"] for d in cancelled}

    again = close(plans, sw, case_id, {"closed_on": day(3), "reason": "RC7"})
    assert again.status_code == 409 and f"closed on {day(2)}" in again.json["message"]
    assert len(published(plans_store, "case.closed.v1")) == 1


def test_a_closed_case_takes_no_more_steps_and_the_child_may_have_a_new_case(plans, plans_store, sw, tm):
    case_id = in_enquiries(plans, sw, "child-c2")
    closed = close(plans, sw, case_id, {"closed_on": day(1), "reason": "RC8"})
    assert closed.status_code == 200, closed.json
    version = closed.json["version"]
    etag = closed.headers["ETag"]
    refused = [
        plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": day(2)}, headers=sw),
        plans.post(
            f"/v1/cases/{case_id}/enquiry-outcome",
            json={"completed_on": day(2), "conference_required": True},
            headers=sw,
        ),
        plans.post(f"/v1/cases/{case_id}/conferences", json={"kind": "initial", "scheduled_for": day(3)}, headers=sw),
        plans.post(
            f"/v1/cases/{case_id}/referral",
            json={"received_on": day(2), "source": "police"},
            headers={**sw, "If-Match": etag},
        ),
        plans.post(
            f"/v1/cases/{case_id}/visits",
            json={"visited_on": day(2), "announced": True, "child_seen": True, "seen_alone": True, "by": "Sam"},
            headers=sw,
        ),
        plans.post(
            f"/v1/cases/{case_id}/child-in-need-plans",
            json={"key_worker": {"name": "Sam"}, "needs": "Support.", "review_on": day(40), "created_on": day(2)},
            headers=sw,
        ),
        plans.put(f"/v1/cases/{case_id}/allocation", json={"team": "Area South"}, headers={**tm, "If-Match": etag}),
    ]
    for answer in refused:
        assert answer.status_code == 409, answer.json
        assert f"the case was closed on {day(1)}" in answer.json["message"], answer.json
    assert plans.get(f"/v1/cases/{case_id}", headers=sw).json["version"] == version  # nothing written

    chronology = plans.get("/v1/children/child-c2/chronology", headers=sw).json["entries"]
    [entry] = [e for e in chronology if e["type"] == "case_closed"]
    assert (entry["on"], entry["case_id"], entry["detail"]) == (day(1), case_id, {"reason": "RC8"})

    reopened = plans.post("/v1/cases", json={"child_id": "child-c2"}, headers=sw)
    assert reopened.status_code == 201, reopened.json
    assert reopened.json["id"] != case_id and reopened.json["status"] == "enquiries"


def test_not_while_a_plan_is_in_force_then_after_it_ended(plans, plans_store, sw, tm, chair):
    case_id, plan = put_on_plan(plans, sw, chair, "child-c3", D0)
    before = plans.get(f"/v1/cases/{case_id}", headers=sw).json
    refused = close(plans, sw, case_id, {"closed_on": TODAY.isoformat(), "reason": "RC7"})
    assert refused.status_code == 409 and "plan in force" in refused.json["message"]
    assert plans.get(f"/v1/cases/{case_id}", headers=sw).json == before
    assert published(plans_store, "case.closed.v1") == []

    end_plan(plans, sw, chair, case_id, D0 + timedelta(days=10))
    assert plans.get(f"/v1/cases/{case_id}", headers=sw).json["status"] == "plan_ended"
    early = close(plans, sw, case_id, {"closed_on": day(9), "reason": "RC7"})
    assert early.status_code == 422
    [message] = early.json["errors"]["json"]["closed_on"]
    assert message.startswith("is before the case's latest step: ") and message.endswith(f" on {day(10)}")
    done = close(plans, sw, case_id, {"closed_on": day(10), "reason": "RC7"})
    assert done.status_code == 200 and done.json["status"] == "closed", done.json


def test_not_while_a_conference_is_scheduled(plans, sw):
    case_id = in_enquiries(plans, sw, "child-c4")
    outcome = {"completed_on": day(1), "conference_required": True}
    assert plans.post(f"/v1/cases/{case_id}/enquiry-outcome", json=outcome, headers=sw).status_code == 200
    body = {"kind": "initial", "scheduled_for": (TODAY + timedelta(days=5)).isoformat()}
    conference = plans.post(f"/v1/cases/{case_id}/conferences", json=body, headers=sw)
    assert conference.status_code == 201, conference.json
    refused = close(plans, sw, case_id, {"closed_on": day(2), "reason": "RC7"})
    assert refused.status_code == 409 and "conference is scheduled" in refused.json["message"]
    cancel = plans.post(f"/v1/conferences/{conference.json['id']}/cancellation", json={"reason": "Moved."}, headers=sw)
    assert cancel.status_code == 200, cancel.json
    assert close(plans, sw, case_id, {"closed_on": day(2), "reason": "RC7"}).status_code == 200


@pytest.mark.parametrize(
    "body, field",
    [
        ({"closed_on": "2026-01-01", "reason": "RC10"}, "reason"),
        ({"closed_on": "2026-01-01", "reason": "closed"}, "reason"),
        ({"closed_on": (TODAY + timedelta(days=1)).isoformat(), "reason": "RC7"}, "closed_on"),
        ({"reason": "RC7"}, "closed_on"),
        ({"closed_on": day(5)}, "reason"),
    ],
)
def test_a_bad_reason_or_day_is_refused_by_field_and_nothing_is_written(plans, plans_store, sw, body, field):
    case_id = in_enquiries(plans, sw, "child-c5")
    before = plans.get(f"/v1/cases/{case_id}", headers=sw).json
    answer = close(plans, sw, case_id, body)
    assert answer.status_code == 422, answer.json
    assert field in answer.json["errors"]["json"]
    assert plans.get(f"/v1/cases/{case_id}", headers=sw).json == before
    assert published(plans_store, "case.closed.v1") == []


def test_closing_needs_if_match_and_a_social_worker_or_team_manager(plans, sw, chair, token_for):
    case_id = in_enquiries(plans, sw, "child-c6")
    body = {"closed_on": day(1), "reason": "RC7"}
    assert plans.post(f"/v1/cases/{case_id}/closure", json=body, headers=sw).status_code == 428
    assert close(plans, sw, case_id, body, etag='"99"').status_code == 412
    assert close(plans, chair, case_id, body, etag='"2"').status_code == 403
    auditor = bearer(token_for("auditor", user="au-1"))
    assert close(plans, auditor, case_id, body, etag='"2"').status_code == 403


# --- a referral's census source -------------------------------------------------


def referral(plans, sw, child_id, body):
    opened = plans.post("/v1/cases", json={"child_id": ensure_child(plans, child_id)}, headers=sw)
    case_id = opened.json["id"]
    answer = plans.post(f"/v1/cases/{case_id}/referral", json=body, headers={**sw, "If-Match": opened.headers["ETag"]})
    return case_id, answer


def test_a_referrals_census_source_is_kept_and_carried(plans, plans_store, sw):
    case_id, answer = referral(plans, sw, "child-s1", {"received_on": day(0), "source": "health", "source_code": "3B"})
    assert answer.status_code == 200, answer.json
    assert answer.json["referral"]["source_code"] == "3B"
    _, without = referral(plans, sw, "child-s2", {"received_on": day(0), "source": "police"})
    assert without.status_code == 200 and without.json["referral"]["source_code"] is None
    events = {e["case_id"]: e for e in published(plans_store, "referral.received.v1")}
    assert events[case_id]["source_code"] == "3B" and events[case_id]["source"] == "health"
    assert events[without.json["id"]]["source_code"] is None


@pytest.mark.parametrize(
    "source, code, allowed",
    [("health", "2A", "3A, 3B, 3C, 3D, 3E, 3F"), ("police", "9", "6"), ("other_agency", "3A", "4, 5A, 5B, 5C, 5D, 7")],
)
def test_a_census_source_the_source_does_not_allow_is_refused(plans, plans_store, sw, source, code, allowed):
    case_id, answer = referral(plans, sw, "child-s3", {"received_on": day(0), "source": source, "source_code": code})
    assert answer.status_code == 422, answer.json
    [message] = answer.json["errors"]["json"]["source_code"]
    assert message.endswith(f"it is one of {allowed}")
    assert plans.get(f"/v1/cases/{case_id}", headers=sw).json.get("referral") is None
    assert published(plans_store, "referral.received.v1") == []


def test_a_census_source_that_is_no_census_code_is_refused(plans, sw):
    _, answer = referral(plans, sw, "child-s4", {"received_on": day(0), "source": "health", "source_code": "3G"})
    assert answer.status_code == 422 and "source_code" in answer.json["errors"]["json"]
