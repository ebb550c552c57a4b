"""The plans service's real events drive the scheduler: a case walked over
the plans API, each event it publishes handed to the scheduler's handlers
as its worker would, and the deadlines checked at each step. This is the
contract between the two services: event names and data fields."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cpp_scheduler.app import create_app as create_scheduler_app
from cpp_scheduler.domain.calendar import WorkingCalendar
from cpp_shared import staff
from tests.helpers import KEY_WORKER_ATTENDS, Pump, bearer, ensure_child
from tests.services.test_plans_lifecycle_http import DETAILED, OUTLINE

ENG = WorkingCalendar("GB", "ENG")


@pytest.fixture
def scheduler_ctx(make_settings):
    return create_scheduler_app(make_settings("scheduler")).extensions["cpp"]


def deadlines(ctx, case_id):
    return {(d["rule_id"], d["status"]): d for d in ctx.store.collection("deadlines").find({"case_id": case_id})}


def test_a_case_walked_over_the_plans_api_keeps_its_deadlines(plans, plans_store, scheduler_ctx, token_for):
    pump = Pump(plans_store, scheduler_ctx)
    sw, chair = bearer(token_for("social_worker", user="sw-1")), bearer(token_for("chair", user="chair-1"))
    d0 = ENG.on_or_before(date.today() - timedelta(days=60))[0]

    case_id = plans.post("/v1/cases", json={"child_id": ensure_child(plans, "child-9")}, headers=sw).json["id"]
    assert (
        plans.post(
            f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": d0.isoformat()}, headers=sw
        ).status_code
        == 201
    )
    assert pump() == ["case.opened.v1", "family.recorded.v1", "strategy_discussion.held.v1"]
    # the staff directory reaches the scheduler from the plans service's staff.updated.v1
    assert staff.name_of(scheduler_ctx.store, "sw-1") == "Sam Social"
    initial = deadlines(scheduler_ctx, case_id)[("initial-conference", "pending")]
    assert initial["due_on"] == ENG.add_working_days(d0, 15).isoformat()
    assert initial["child_id"] == "child-9"

    plans.post(
        f"/v1/cases/{case_id}/enquiry-outcome",
        headers=sw,
        json={"completed_on": d0.isoformat(), "conference_required": True},
    )
    conf = plans.post(
        f"/v1/cases/{case_id}/conferences",
        headers=sw,
        json={"kind": "initial", "scheduled_for": (d0 + timedelta(days=10)).isoformat()},
    ).json
    tag = plans.get(f"/v1/conferences/{conf['id']}", headers=sw).headers["ETag"]
    moved = plans.patch(
        f"/v1/conferences/{conf['id']}",
        headers={**sw, "If-Match": tag},
        json={"scheduled_for": (d0 + timedelta(days=12)).isoformat(), "reason": "chair away"},
    )
    assert moved.status_code == 200, moved.json
    assert pump() == ["enquiry.completed.v1", "conference.scheduled.v1", "conference.rescheduled.v1"]
    meetings = scheduler_ctx.store.collection("meetings").find({"case_id": case_id})
    assert [(m["kind"], m["status"], m["on"]) for m in meetings] == [
        ("initial_conference", "scheduled", (d0 + timedelta(days=12)).isoformat())
    ]

    held_on = (d0 + timedelta(days=12)).isoformat()
    decided = plans.post(
        f"/v1/conferences/{conf['id']}/outcome",
        headers=chair,
        json={"held_on": held_on, "plan_required": True, "outline_plan": OUTLINE},
    )
    assert decided.status_code == 200, decided.json
    plan_id = decided.json["plan"]["id"]
    assert pump() == ["conference.held.v1", "plan.created.v1"]
    now = deadlines(scheduler_ctx, case_id)
    assert now[("initial-conference", "met")]["met"]["on"] == held_on
    first_cg = now[("first-core-group", "pending")]
    assert first_cg["plan_id"] == plan_id
    assert first_cg["due_on"] == ENG.add_working_days(date.fromisoformat(held_on), 10).isoformat()
    assert ("first-review-conference", "pending") in now

    late_cg = ENG.add_working_days(date.fromisoformat(held_on), 11)
    meeting = plans.post(
        f"/v1/plans/{plan_id}/core-group-meetings",
        headers=sw,
        json={
            "held_on": late_cg.isoformat(),
            "detailed_plan_agreed": True,
            "attendees": [{"name": "Alex Parent"}, KEY_WORKER_ATTENDS],
            "plan": DETAILED,
        },
    )
    assert meeting.status_code == 201, meeting.json
    assert pump() == ["core_group.held.v1", "plan.activated.v1"]
    met = deadlines(scheduler_ctx, case_id)[("first-core-group", "met")]["met"]
    assert (met["on"], met["late"], met["working_days_late"]) == (late_cg.isoformat(), True, 1)

    review_on = late_cg + timedelta(days=14)
    review = plans.post(
        f"/v1/cases/{case_id}/conferences", headers=sw, json={"kind": "review", "scheduled_for": review_on.isoformat()}
    ).json
    ended = plans.post(
        f"/v1/conferences/{review['id']}/outcome",
        headers=chair,
        json={"held_on": review_on.isoformat(), "decision": "end"},
    )
    assert ended.status_code == 200, ended.json
    assert pump() == ["conference.scheduled.v1", "conference.held.v1", "plan.ended.v1"]
    final = deadlines(scheduler_ctx, case_id)
    assert final[("first-review-conference", "met")]["met"]["on"] == review_on.isoformat()
    assert not [key for key in final if key[1] in ("pending", "approaching", "overdue")]
    published = [m.routing_key for m in scheduler_ctx.store.outbox_pending(1000)]
    assert published.count("deadline.met.v1") == 3
