"""The contract between the code and the event catalogue: a case walked
over the plans API through every step (and a conference moved and
cancelled, a lookup, a child registered and changed, its record restricted,
glass broken and the restriction lifted, a child's records erased), its events handed to
the scheduler and a tick run, then every event both services published
checked against the AsyncAPI document they serve and against the
catalogue's schemas. An event type missing from the catalogue, a field the
catalogue does not list or a field of the wrong shape fails here, so the
catalogue cannot drift from the code."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import jsonschema_rs
import pytest

from cpp_notify.app import create_app as create_notify_app
from cpp_notify.dispatcher import Dispatcher
from cpp_notify.runtime import runtime as notify_runtime
from cpp_plans.app import create_app as create_plans_app
from cpp_scheduler.app import create_app as create_scheduler_app
from cpp_scheduler.tick import Ticker
from cpp_shared.audit_checkpoints import Checkpointer
from cpp_shared.auth import issue_dev_token
from cpp_shared.contracts.catalogue import CATALOGUE, validate_event
from tests.helpers import KEY_WORKER_ATTENDS, QUORATE, bearer, deliver_event, ensure_child, ok
from tests.receivers import Receiver
from tests.services.test_children_http import NHS, full_child
from tests.services.test_lookup_http import NHS_UNKNOWN
from tests.services.test_plans_lifecycle_http import DETAILED, OUTLINE
from tests.services.test_plans_to_scheduler import ENG, Pump

DRAFT7 = "http://json-schema.org/draft-07/schema#"


@pytest.fixture
def scheduler_app(make_settings):
    return create_scheduler_app(make_settings("scheduler"))


@pytest.fixture
def notify_app(make_settings):
    return create_notify_app(make_settings("notify"))


# The walk's people as their tokens name them (the social worker is the plans' key worker).
NAMES = {"social_worker": "Sam Social", "team_manager": "Pat Manager", "chair": "Chris Chair"}


@pytest.fixture
def who(token_for):
    return {
        role: bearer(token_for(role, user=f"{role}-1", name=NAMES.get(role), team="North"))
        for role in ("social_worker", "team_manager", "chair", "partner", "auditor", "admin")
    }


def walk_nobody_told(notify_app):
    """A deadline overdue on a case notify knows nobody of: reported, not dropped."""
    data = {
        "deadline_id": "d-nobody",
        "case_id": "case-nobody",
        "plan_id": None,
        "child_id": None,
        "rule_id": "initial-conference",
        "kind": "initial_conference",
        "name": "Initial child protection conference",
        "owner": "social_worker",
        "assignee": None,
        "status": "overdue",
        "due_on": "2026-11-16",
        "latest_on": "2026-11-16",
        "needs_date": False,
        "source": "Working Together",
        "met": None,
        "closed_by": None,
        "superseded_by": None,
    }
    deliver_event(notify_app.extensions["cpp"], "deadline.overdue.v1", data, subject="case-nobody")


def walk_subscriptions(notify_app, who):
    """A subscription through its life: created, paused, resumed, its
    secret rotated, its scope changed, removed; another disabled by a
    receiver that answers 410 Gone."""
    api, admin = notify_app.test_client(), who["admin"]
    ctx = notify_app.extensions["cpp"]
    receiver = Receiver(respond=lambda r: 410).start()
    convenor = Receiver().start()
    try:
        sub = ok(
            api.post(
                "/v1/subscriptions",
                headers=admin,
                json={"url": receiver.url, "event_types": ["plan.*"], "owner": "nhs-trust", "allow_private": True},
            ),
            201,
        )
        for path in ("pause", "resume", "secret"):
            ok(api.post(f"/v1/subscriptions/{sub['id']}/{path}", headers=admin))
        ok(
            api.put(
                f"/v1/subscriptions/{sub['id']}/scope",
                headers=admin,
                json={"scope": {"classes": ["identifier", "status"]}},
            )
        )
        gone = ok(
            api.post(
                "/v1/subscriptions",
                headers=admin,
                json={"url": receiver.url, "event_types": ["plan.*"], "owner": "school", "allow_private": True},
            ),
            201,
        )
        assert api.delete(f"/v1/subscriptions/{sub['id']}", headers=admin).status_code == 204
        ok(
            api.post(
                "/v1/subscriptions",
                headers=admin,
                json={
                    "url": convenor.url,
                    "event_types": ["escalation.raised.v1"],
                    "owner": "childrens_convenor",
                    "allow_private": True,
                },
            ),
            201,
        )
        deliver_event(ctx, "plan.created.v1", {"plan_id": "p-9", "case_id": "c-9", "child_id": "k-9"}, subject="p-9")
        deliver_event(
            ctx,
            "escalation.raised.v1",
            {
                "escalation_id": "e-9",
                "plan_id": "p-9",
                "case_id": "c-9",
                "child_id": "k-9",
                "route": "childrens_convenor",
                "name": "Refer to the Children's Convenor",
                "recipient": {"name": "Children's Convenor", "kind": "external"},
                "raised_on": "2026-11-23",
                "key_worker": "Sam Social",
            },
            subject="p-9",
        )
        dispatcher = Dispatcher(ctx, box=notify_runtime(ctx).box)
        dispatcher.run_once()
        dispatcher.sender.close()
        assert ok(api.get(f"/v1/subscriptions/{gone['id']}", headers=admin))["status"] == "disabled"
        assert len(convenor.received) == 1
    finally:
        receiver.stop()
        convenor.stop()


def walk_referral(plans, who, child_id, on):
    """A case that begins with a referral: its decision, then the assessment
    started and completed (authorised by the team manager)."""
    sw, tm = who["social_worker"], who["team_manager"]
    opened = plans.post("/v1/cases", json={"child_id": child_id}, headers=sw)
    case_id, tag = ok(opened, 201)["id"], opened.headers["ETag"]
    for path, body, headers in (
        (
            "referral",
            {"received_on": on(-10), "source": "school", "source_code": "2A", "summary": "A bruise seen at school."},
            sw,
        ),
        ("referral/decision", {"decided_on": on(-9), "decision": "assessment", "reason": "Needs assessing."}, tm),
        ("assessment", {"started_on": on(-9), "factors": ["domestic_abuse"], "other_factors": None}, sw),
        (
            "assessment/completion",
            {"completed_on": on(-2), "outcome": "early_help", "authorised_by": "team_manager-1"},
            sw,
        ),
    ):
        answer = plans.post(f"/v1/cases/{case_id}/{path}", json=body, headers={**headers, "If-Match": tag})
        tag = f'"{ok(answer)["version"]}"'
        if path == "assessment":  # a visit during the assessment, before any plan
            visit = {"visited_on": on(-8), "announced": True, "child_seen": True, "seen_alone": False, "by": "Sam"}
            ok(plans.post(f"/v1/cases/{case_id}/visits", json=visit, headers=sw), 201)


def walk_closure(plans, who, on):
    """A case closed by its closure step, with the census's reason."""
    sw = who["social_worker"]
    case_id = ok(plans.post("/v1/cases", json={"child_id": ensure_child(plans, "child-closed")}, headers=sw), 201)["id"]
    held = ok(plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": on(0)}, headers=sw), 201)
    assert held["held_on"] == on(0)
    body = {"closed_on": on(1), "reason": "RC7", "notes": "No longer in need."}
    ok(plans.post(f"/v1/cases/{case_id}/closure", json=body, headers={**sw, "If-Match": '"2"'}))


def walk_family(plans, who, on):
    """Two children of a family: their cases opened together, one strategy
    discussion, their outcomes, one conference: a plan for one, none for the other."""
    sw, chair = who["social_worker"], who["chair"]
    children = [
        ok(plans.post("/v1/children", json={**full_child(), "given_names": name, "identifiers": []}, headers=sw), 201)[
            "id"
        ]
        for name in ("Dee", "Eli")
    ]
    person = {"name": "Pat Parent", "role": "parent", "parental_responsibility": True, "relationships": []}
    created = plans.post("/v1/families", json={"name": "A family", "children": children[:1], "people": []}, headers=sw)
    family = ok(created, 201)["id"]
    person["relationships"] = [{"child_id": c, "relationship": "mother"} for c in children]
    changed = {"name": "A family", "children": children, "people": [person]}
    ok(plans.put(f"/v1/families/{family}", json=changed, headers={**sw, "If-Match": created.headers["ETag"]}))
    ok(plans.get(f"/v1/families/{family}", headers=sw))
    ok(plans.get(f"/v1/families?child_id={children[0]}", headers=sw))
    ok(plans.post(f"/v1/families/{family}/cases", json={"children": children}, headers=sw), 201)
    body = {"children": children, "held_on": on(0)}
    ok(plans.post(f"/v1/families/{family}/strategy-discussions", json=body, headers=sw), 201)
    outcomes = [{"child_id": c, "conference_required": True} for c in children]
    ok(
        plans.post(
            f"/v1/families/{family}/enquiry-outcomes", json={"completed_on": on(1), "outcomes": outcomes}, headers=sw
        )
    )
    body = {"children": children, "kind": "initial", "scheduled_for": on(2)}
    first = ok(plans.post(f"/v1/families/{family}/conferences", json=body, headers=sw), 201)["id"]
    ok(plans.post(f"/v1/family-conferences/{first}/cancellation", json={"reason": "Chair ill."}, headers=sw))
    body = {"children": children, "kind": "initial", "scheduled_for": on(3)}
    group = ok(plans.post(f"/v1/families/{family}/conferences", json=body, headers=sw), 201)["id"]
    tag = plans.get(f"/v1/family-conferences/{group}", headers=sw).headers["ETag"]
    moved = {"scheduled_for": on(2), "reason": "A room came free."}
    ok(plans.patch(f"/v1/family-conferences/{group}", json=moved, headers={**sw, "If-Match": tag}))
    report = {"findings": "Found.", "children": [{"child_id": c} for c in children]}
    ok(plans.post(f"/v1/family-conferences/{group}/reports", json=report, headers=sw), 201)
    decisions = [
        {"child_id": children[0], "plan_required": True, "outline_plan": OUTLINE},
        {"child_id": children[1], "plan_required": False},
    ]
    body = {"held_on": on(2), "decisions": decisions}
    ok(plans.post(f"/v1/family-conferences/{group}/outcome", json=body, headers=chair))
    body = {"held_on": on(3), "plans": [{"child_id": children[0], "detailed_plan_agreed": False}]}
    body["attendees"] = [KEY_WORKER_ATTENDS]
    ok(plans.post(f"/v1/families/{family}/core-group-meetings", json=body, headers=sw), 201)


def walk(plans, who, pump, ticker, scheduler_store):
    """Every step the plans service publishes an event for, with the
    scheduler following; returns nothing: the outboxes are the result."""
    sw, chair, partner = who["social_worker"], who["chair"], who["partner"]
    d0 = ENG.on_or_before(date.today() - timedelta(days=60))[0]
    on = lambda days: (d0 + timedelta(days=days)).isoformat()  # noqa: E731

    created = plans.post("/v1/children", json=full_child(), headers=sw)
    child_id = ok(created, 201)["id"]
    ok(
        plans.patch(
            f"/v1/children/{child_id}",
            json={"preferred_name": "Amy"},
            headers={**sw, "If-Match": created.headers["ETag"]},
        )
    )
    expected = (date.today() + timedelta(days=30)).isoformat()
    unborn = {**full_child(), "date_of_birth": None, "expected_date_of_birth": expected, "identifiers": []}
    baby = ok(plans.post("/v1/children", json=unborn, headers=sw), 201)
    ok(
        plans.post(
            f"/v1/children/{baby['id']}/birth",
            json={"date_of_birth": on(59), "given_names": "Lena"},
            headers={**sw, "If-Match": '"1"'},
        )
    )

    walk_referral(plans, who, child_id, on)
    walk_closure(plans, who, on)
    walk_family(plans, who, on)
    case_id = ok(plans.post("/v1/cases", json={"child_id": ensure_child(plans, child_id)}, headers=sw), 201)["id"]
    ok(plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": on(0)}, headers=sw), 201)
    # Recorded late, an earlier discussion brings the initial conference's deadline forward: the first is superseded.
    ok(
        plans.post(
            f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": on(-3), "notes": "By phone."}, headers=sw
        ),
        201,
    )
    ok(
        plans.post(
            f"/v1/cases/{case_id}/enquiry-outcome",
            headers=sw,
            json={"completed_on": on(1), "conference_required": True, "summary": "Concerns substantiated."},
        )
    )
    first = ok(
        plans.post(f"/v1/cases/{case_id}/conferences", json={"kind": "initial", "scheduled_for": on(10)}, headers=sw),
        201,
    )
    tag = plans.get(f"/v1/conferences/{first['id']}", headers=sw).headers["ETag"]
    ok(
        plans.patch(
            f"/v1/conferences/{first['id']}",
            json={"scheduled_for": on(11), "reason": "The chair is away."},
            headers={**sw, "If-Match": tag},
        )
    )
    tag = plans.get(f"/v1/conferences/{first['id']}", headers=sw).headers["ETag"]
    inquorate = {"met_on": on(11), "reason": "Police could not attend.", "scheduled_for": on(13)}
    ok(plans.post(f"/v1/conferences/{first['id']}/inquorate-meetings", json=inquorate, headers={**sw, "If-Match": tag}))
    ok(
        plans.post(
            f"/v1/conferences/{first['id']}/cancellation", json={"reason": "The family moved house."}, headers=sw
        )
    )
    conf = ok(
        plans.post(f"/v1/cases/{case_id}/conferences", json={"kind": "initial", "scheduled_for": on(12)}, headers=sw),
        201,
    )
    ok(plans.post(f"/v1/conferences/{conf['id']}/invitations", json={"sent_on": on(7)}, headers=sw), 201)
    decided = ok(
        plans.post(
            f"/v1/conferences/{conf['id']}/outcome",
            headers=chair,
            json={
                "held_on": on(12),
                "plan_required": True,
                "outline_plan": {**OUTLINE, "first_core_group_on": on(20)},
                "attendees": [{"name": "Sam Social", "role": "social worker", "agency": "Children's services"}],
                "agency_views": [{"agency": "Police", "view": "A plan is not needed yet.", "dissents": True}],
                "exclusions": [
                    {"person": "Alex Parent", "reason": "threats to staff", "decided_by": "the chair", "part": "all"}
                ],
                "child_participation": {"how": "views_shared", "wishes_and_feelings": "wants to stay at school"},
            },
        )
    )
    ok(plans.post(f"/v1/conferences/{conf['id']}/record-issue", json={"issued_on": on(15)}, headers=chair), 201)
    plan_id = decided["plan"]["id"]
    pump()

    # The tick: a deadline's reminder day, then long after every deadline.
    [soonest] = scheduler_store.collection("deadlines").find(
        {"case_id": case_id, "status": "pending"}, sort=[("remind_on", 1)], limit=1
    )
    assert ticker.run_once(date.fromisoformat(soonest["remind_on"])).approaching >= 1
    assert ticker.run_once(date.today() + timedelta(days=400)).overdue >= 1
    assert ticker.run_once(date.today() + timedelta(days=410)).escalated >= 1  # to the team manager

    assert ok(plans.get(f"/v1/lookup?nhs_number={NHS}", headers=partner))["subject_of_plan"] is True
    assert ok(plans.get(f"/v1/lookup?nhs_number={NHS_UNKNOWN}", headers=partner))["subject_of_plan"] is False

    ok(
        plans.post(
            f"/v1/plans/{plan_id}/core-group-meetings",
            headers=sw,
            json={
                "held_on": on(20),
                "detailed_plan_agreed": True,
                "attendees": [{"name": "Alex Parent"}, KEY_WORKER_ATTENDS],
                "plan": DETAILED,
                "notes": "Everyone agreed.",
            },
        ),
        201,
    )
    ok(
        plans.post(
            f"/v1/plans/{plan_id}/visits",
            headers=sw,
            json={
                "visited_on": on(21),
                "announced": False,
                "child_seen": True,
                "seen_alone": True,
                "by": "Sam Social",
                "notes": "Kitchen clean.",
            },
        ),
        201,
    )
    change = {"noticed_on": on(22), "description": "Mother's new partner moved in."}
    change_id = ok(plans.post(f"/v1/plans/{plan_id}/significant-changes", headers=sw, json=change), 201)["id"]
    told = {"told_on": on(23)}
    ok(plans.post(f"/v1/plans/{plan_id}/significant-changes/{change_id}/referral", headers=sw, json=told))
    for days in (22, 23, 24):  # three visits in a row without the child seen alone: England flags the third
        visit = {"visited_on": on(days), "announced": True, "child_seen": True, "seen_alone": False, "by": "Sam Social"}
        ok(plans.post(f"/v1/plans/{plan_id}/visits", headers=sw, json=visit), 201)
    tag = plans.get(f"/v1/plans/{plan_id}", headers=sw).headers["ETag"]
    ok(
        plans.patch(
            f"/v1/plans/{plan_id}", json={"childs_views": "Ana likes her new bed."}, headers={**sw, "If-Match": tag}
        )
    )
    ok(
        plans.post(
            f"/v1/plans/{plan_id}/escalations",
            headers=sw,
            json={"route": "early_review_conference", "reason": "Home conditions worse again.", "decided_on": on(21)},
        ),
        201,
    )
    legal = ok(
        plans.post(
            f"/v1/plans/{plan_id}/escalations",
            headers=sw,
            json={"route": "legal_planning", "reason": "The plan has not made Ana safe.", "decided_on": on(21)},
        ),
        201,
    )
    step = {"step": "legal_planning_meeting", "on": on(22), "notes": "Threshold met."}
    ok(plans.post(f"/v1/plans/{plan_id}/escalations/{legal['id']}/steps", headers=sw, json=step), 201)
    for days, outcome in [
        (25, {"decision": "continue"}),
        (30, {"decision": "revise", "plan": {**DETAILED, "categories": ["neglect", "emotional_abuse"]}}),
        (35, {"decision": "end"}),
    ]:
        review = ok(
            plans.post(
                f"/v1/cases/{case_id}/conferences", json={"kind": "review", "scheduled_for": on(days)}, headers=sw
            ),
            201,
        )
        ok(plans.post(f"/v1/conferences/{review['id']}/outcome", headers=chair, json={"held_on": on(days), **outcome}))

    # An initial conference that decides on no plan; enquiries that find no conference needed.
    no_plan = ok(plans.post("/v1/cases", json={"child_id": ensure_child(plans, "child-2")}, headers=sw), 201)["id"]
    ok(plans.post(f"/v1/cases/{no_plan}/strategy-discussions", json={"held_on": on(0)}, headers=sw), 201)
    ok(
        plans.post(
            f"/v1/cases/{no_plan}/enquiry-outcome",
            headers=sw,
            json={"completed_on": on(1), "conference_required": True},
        )
    )
    conf = ok(
        plans.post(f"/v1/cases/{no_plan}/conferences", json={"kind": "initial", "scheduled_for": on(5)}, headers=sw),
        201,
    )
    ok(
        plans.post(
            f"/v1/conferences/{conf['id']}/outcome", headers=chair, json={"held_on": on(5), "plan_required": False}
        )
    )
    step_down = ok(plans.post("/v1/cases", json={"child_id": ensure_child(plans, "child-3")}, headers=sw), 201)["id"]
    ok(plans.post(f"/v1/cases/{step_down}/strategy-discussions", json={"held_on": on(0)}, headers=sw), 201)
    ok(
        plans.post(
            f"/v1/cases/{step_down}/enquiry-outcome",
            headers=sw,
            json={"completed_on": on(2), "conference_required": False},
        )
    )
    ok(
        plans.post(
            f"/v1/cases/{step_down}/child-in-need-plans",
            headers=sw,
            json={
                "key_worker": {"name": "Sam Social"},
                "needs": "Help with routines.",
                "review_on": on(40),
                "created_on": on(4),
            },
        ),
        201,
    )
    walk_reports(plans, who, on)
    walk_transfers(plans, who, on)
    walk_restriction(plans, who, child_id)
    walk_legal_hold(plans, who, child_id)
    walk_staff(plans, who, no_plan, plan_id)
    pump()


def walk_transfers(plans, who, on):
    """A family on a plan moving to another council (the move recorded, its package made), and a child who moved
    here, notified without a package, to the transfer-in conference and its history."""
    sw, chair = who["social_worker"], who["chair"]
    case_id = ok(plans.post("/v1/cases", json={"child_id": ensure_child(plans, "child-5")}, headers=sw), 201)["id"]
    ok(plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": on(0)}, headers=sw), 201)
    ok(
        plans.post(
            f"/v1/cases/{case_id}/enquiry-outcome",
            headers=sw,
            json={"completed_on": on(1), "conference_required": True},
        )
    )
    conf = ok(
        plans.post(f"/v1/cases/{case_id}/conferences", json={"kind": "initial", "scheduled_for": on(6)}, headers=sw),
        201,
    )
    held = {"held_on": on(6), "plan_required": True, "outline_plan": OUTLINE}
    ok(plans.post(f"/v1/conferences/{conf['id']}/outcome", headers=chair, json=held))
    moving = {"receiving_council": "Leeds City Council", "notified_on": on(8)}
    ok(plans.post(f"/v1/cases/{case_id}/transfer-out", json=moving, headers=sw))
    package = plans.get(f"/v1/cases/{case_id}/transfer-package", headers=sw)
    assert package.status_code == 200 and package.mimetype == "application/jose", package.get_data(as_text=True)
    child = {**full_child(), "given_names": "Zara", "identifiers": []}
    notice = {"from_council": "Leeds City Council", "notified_on": on(9), "child": child}
    moved = ok(plans.post("/v1/transfers/in", json={"notification": notice}, headers=sw), 201)
    conf = ok(
        plans.post(
            f"/v1/cases/{moved['id']}/conferences", json={"kind": "transfer_in", "scheduled_for": on(20)}, headers=sw
        ),
        201,
    )
    ok(plans.post(f"/v1/conferences/{conf['id']}/outcome", headers=chair, json={"held_on": on(20), **held}))
    ok(plans.get(f"/v1/children/{moved['child_id']}/transfer-history", headers=sw))


def walk_staff(plans, who, case_id, plan_id):
    """The staff directory: an admin adds someone, the case is given to them, the lists a worker reads, and a
    plan made before key workers were staff (its key worker a name only) linked by name."""
    admin, tm, sw = who["admin"], who["team_manager"], who["social_worker"]
    ok(
        plans.post(
            "/v1/staff",
            headers=admin,
            json={"user": "kim-1", "name": "Kim Older", "role": "social_worker", "team": "North"},
        ),
        201,
    )
    ok(
        plans.put(
            "/v1/staff/kim-1",
            headers=admin,
            json={"name": "Kim Older", "role": "social_worker", "team": "North", "phone": "020 7946 0009"},
        )
    )
    ok(plans.get("/v1/staff?team=North", headers=sw))
    ok(plans.get("/v1/staff/me", headers=sw))
    ok(plans.get("/v1/staff/kim-1", headers=sw))
    ok(plans.get("/v1/cases?worker=me", headers=sw))
    ok(plans.get("/v1/cases?team=mine&status=enquiries", headers=tm))
    tag = f'"{ok(plans.get(f"/v1/cases/{case_id}", headers=sw))["version"]}"'
    ok(plans.put(f"/v1/cases/{case_id}/allocation", json={"social_worker": "kim-1"}, headers={**tm, "If-Match": tag}))
    store = plans.application.extensions["cpp"].store
    old = store.collection("plans").find_one({"_id": plan_id})
    old["content"]["key_worker"].pop("user")
    old.pop("key_worker_user")
    with store.unit_of_work() as uow:  # as a plan made by an earlier version was stored
        uow.replace("plans", old, expected_version=old.pop("version"))
    assert ok(plans.get("/v1/staff/key-worker-links", headers=admin))["unlinked"]
    assert ok(plans.post("/v1/staff/key-worker-links/by-name", headers=admin))["plans_linked"] == 1
    ok(plans.post("/v1/staff/key-worker-links", headers=admin, json={"plan_id": plan_id, "user": "social_worker-1"}))


def walk_restriction(plans, who, child_id):
    """The child's record restricted, glass broken by someone not on its list, the restriction lifted."""
    ok(
        plans.put(
            f"/v1/children/{child_id}/restriction",
            headers=who["team_manager"],
            json={
                "reason": "The child of a member of staff.",
                "access_list": ["social_worker-1", "team_manager-1"],
                "manager": {"user": "team_manager-1", "email": "tm@council.example", "name": "Pat Manager"},
            },
        )
    )
    ok(
        plans.post(
            f"/v1/children/{child_id}/break-glass",
            headers=who["chair"],
            json={"reason": "The conference is this morning."},
        ),
        201,
    )
    ok(
        plans.delete(
            f"/v1/children/{child_id}/restriction",
            headers=who["team_manager"],
            json={"reason": "The member of staff has left."},
        )
    )


def walk_reports(plans, who, on):
    """A report through every step (returned once), and a resource panel request decided."""
    sw, tm, chair = who["social_worker"], who["team_manager"], who["chair"]
    case_id = ok(plans.post("/v1/cases", json={"child_id": ensure_child(plans, "child-4")}, headers=sw), 201)["id"]
    ok(plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": on(0)}, headers=sw), 201)
    ok(
        plans.post(
            f"/v1/cases/{case_id}/enquiry-outcome",
            headers=sw,
            json={"completed_on": on(1), "conference_required": True},
        )
    )
    conf = ok(
        plans.post(f"/v1/cases/{case_id}/conferences", json={"kind": "initial", "scheduled_for": on(14)}, headers=sw),
        201,
    )
    report = ok(
        plans.post(
            f"/v1/conferences/{conf['id']}/reports",
            headers=sw,
            json={"findings": "Findings.", "child_seen": [{"on": on(2), "alone": True}], "drafted_on": on(8)},
        ),
        201,
    )
    for step, body, who_ in (
        ("submit", {"on": on(9)}, sw),
        ("return", {"reason": "Add the school.", "on": on(9)}, tm),
        ("submit", {"on": on(10)}, sw),
        ("countersign", {"on": on(10)}, tm),
        (
            "share",
            {
                "with": [{"name": "Alex Parent", "relationship": "mother", "how": "post"}],
                "child_included": False,
                "on": on(11),
            },
            sw,
        ),
        ("send-to-chair", {"on": on(13)}, sw),
    ):
        ok(plans.post(f"/v1/reports/{report['id']}/{step}", json=body, headers=who_))
    plan_id = ok(
        plans.post(
            f"/v1/conferences/{conf['id']}/outcome",
            headers=chair,
            json={"held_on": on(14), "plan_required": True, "outline_plan": OUTLINE},
        )
    )["plan"]["id"]
    panel = ok(
        plans.post(
            f"/v1/plans/{plan_id}/resource-panel-requests",
            headers=sw,
            json={"reason": "Support at home.", "services": ["family support"], "requested_on": on(15)},
        ),
        201,
    )
    ok(
        plans.post(
            f"/v1/resource-panel-requests/{panel['id']}/decision",
            headers=tm,
            json={"decision": "approved", "decided_on": on(16)},
        )
    )


def walk_revocations(plans, who):
    """A user's tokens revoked, and one token of another's."""
    ok(
        plans.post("/v1/revocations", json={"user": "someone-1", "reason": "Left the council."}, headers=who["admin"]),
        201,
    )
    ok(
        plans.post(
            "/v1/revocations",
            json={
                "jti": "0" * 32,
                "expires_at": (date.today() + timedelta(days=1)).isoformat() + "T00:00:00+00:00",
                "reason": "Seen in a log.",
            },
            headers=who["admin"],
        ),
        201,
    )


def walk_legal_hold(plans, who, child_id):
    """A legal hold placed on the child's records, listed and lifted (no event: the plans service's alone)."""
    body = {"reason": "Disclosure ordered in care proceedings.", "set_by": "Family Court"}
    hold = ok(plans.post(f"/v1/children/{child_id}/legal-holds", json=body, headers=who["team_manager"]), 201)
    ok(plans.get(f"/v1/children/{child_id}/legal-holds", headers=who["auditor"]))
    ok(plans.get("/v1/retention/due", headers=who["admin"]))
    lift = {"reason": "The proceedings ended."}
    ok(plans.delete(f"/v1/children/{child_id}/legal-holds/{hold['id']}", json=lift, headers=who["admin"]))


def walk_erasure(plans):
    """The child whose case was closed (walk_closure), erased at the end of their records' retention: on a day
    long after it, as ``cpp retention run`` would."""
    from cpp_plans.service_layer import retention
    from cpp_shared.auth import Principal

    app = plans.application
    operator = Principal(user="operator:walk", role="operator", authority="ENG")
    with app.app_context():
        erased = retention.erase(app.extensions["cpp"], "child-closed", today=date(2100, 1, 1), actor=operator)
    assert erased is not None and erased.rule == "child_protection"


def walk_convenor_referral(make_settings, data_dir):
    """Guernsey's referral to the Children's Convenor, made and recorded (no English route has a recipient outside
    the council), in a deployment of its own; returns its plans service's store."""
    settings = make_settings("plans", CPP_PLUGINS="guernsey", CPP_DATA_DIR=str(data_dir / "gsy"))
    app = create_plans_app(settings)
    plans = app.test_client()

    def token_for(role, **claims):
        return issue_dev_token(settings, role=role, authority="GSY", user=f"{role}-1", **claims)

    sw, chair = bearer(token_for("social_worker", name="Sam Social")), bearer(token_for("chair", name="Chris Chair"))
    on = date.today().isoformat()
    case_id = ok(plans.post("/v1/cases", json={"child_id": ensure_child(plans, "child-g")}, headers=sw), 201)["id"]
    ok(plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": on}, headers=sw), 201)
    ok(
        plans.post(
            f"/v1/cases/{case_id}/enquiry-outcome", json={"completed_on": on, "conference_required": True}, headers=sw
        )
    )
    conf = ok(
        plans.post(f"/v1/cases/{case_id}/conferences", json={"kind": "initial", "scheduled_for": on}, headers=sw), 201
    )
    held = {"held_on": on, "plan_required": True, "outline_plan": OUTLINE, "attendees": QUORATE}
    plan_id = ok(plans.post(f"/v1/conferences/{conf['id']}/outcome", headers=chair, json=held))["plan"]["id"]
    body = {"route": "childrens_convenor", "reason": "Not working.", "decided_on": on, "conference_id": conf["id"]}
    esc = ok(plans.post(f"/v1/plans/{plan_id}/escalations", headers=sw, json=body), 201)
    referral = {"made_on": on, "made_to": "Children's Convenor", "how": "Secure email"}
    ok(plans.post(f"/v1/plans/{plan_id}/escalations/{esc['id']}/referral", headers=sw, json=referral), 201)
    return app.extensions["cpp"].store


def test_every_event_published_is_in_the_catalogue_and_matches_it(
    plans_app, plans, plans_store, scheduler_app, notify_app, who, make_settings, tmp_path
):
    scheduler_ctx = scheduler_app.extensions["cpp"]
    walk(plans, who, Pump(plans_store, scheduler_ctx), Ticker(scheduler_ctx), scheduler_ctx.store)
    walk_subscriptions(notify_app, who)
    walk_nobody_told(notify_app)
    walk_revocations(plans, who)
    walk_erasure(plans)
    guernsey_store = walk_convenor_referral(make_settings, tmp_path)
    Checkpointer(plans_store, plans_app.extensions["cpp"].settings, "ENG").take()  # the audit log's head, signed
    stores = (plans_store, scheduler_ctx.store, notify_app.extensions["cpp"].store, guernsey_store)
    events = [m.body for store in stores for m in store.outbox_pending(100_000)]
    published = Counter(e["type"] for e in events)

    missing = sorted(set(published) - set(CATALOGUE))
    assert not missing, f"published but not in the catalogue: {missing}"
    assert set(published) == set(CATALOGUE), f"not exercised here: {sorted(set(CATALOGUE) - set(published))}"

    # The document as served, by both services alike.
    document = ok(plans.get("/asyncapi.json", headers=who["auditor"]))
    assert ok(scheduler_app.test_client().get("/asyncapi.json", headers=who["partner"])) == document
    validators = {
        t: jsonschema_rs.validator_for(
            {
                "$schema": DRAFT7,
                **document["components"]["messages"][t]["payload"],
                "components": {"schemas": document["components"]["schemas"]},
            },
            validate_formats=True,
        )
        for t in published
    }
    failures = []
    for event in events:
        errors = [
            f"/{'/'.join(map(str, e.instance_path))}: {e.message}" for e in validators[event["type"]].iter_errors(event)
        ]
        try:
            validate_event(event)
        except Exception as exc:  # noqa: BLE001 - every kind of mismatch is reported together
            errors.append(f"catalogue: {exc}")
        if errors:
            failures.append((event["type"], event["data"], errors))
    assert not failures, "\n".join(f"{t}: {errs}\n  data: {data}" for t, data, errs in failures)


def test_the_document_needs_a_token_as_the_openapi_document_does(plans, who):
    for path in ("/asyncapi.json", "/openapi.json"):
        assert plans.get(path).status_code == 401
        assert plans.get(path, headers={"Authorization": "Bearer nonsense"}).status_code == 401
    served = plans.get("/asyncapi.json", headers=who["partner"])
    assert served.status_code == 200 and served.mimetype == "application/json"
    assert served.json["asyncapi"] == "3.0.0" and set(CATALOGUE) < set(served.json["channels"])
    # Served beside the API, not part of it: the OpenAPI document (and the fuzzing that reads it) is unchanged.
    assert "/asyncapi.json" not in plans.get("/openapi.json", headers=who["auditor"]).json["paths"]
