"""Families over the plans API: a family of three walked from one strategy
discussion to one conference that decides a plan for two children and none
for the third, each child's deadlines kept by the scheduler from the
events; and what a family step refuses, writing nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cpp_scheduler.app import create_app as create_scheduler_app
from cpp_scheduler.domain.calendar import WorkingCalendar
from tests.helpers import KEY_WORKER_ATTENDS, Pump, bearer, new_child
from tests.services.test_idempotency_http import footprint

ENG = WorkingCalendar("GB", "ENG")
OUTLINE = {
    "key_worker": {"name": "Sam Social", "role": "social worker", "phone": "020 7946 0000"},
    "core_group": [
        {"name": "Sam Social", "role": "social worker", "agency": "Children's services", "is_family_member": False},
    ],
}


@pytest.fixture
def scheduler_ctx(make_settings):
    return create_scheduler_app(make_settings("scheduler")).extensions["cpp"]


@pytest.fixture
def sw(token_for, plans):
    headers = bearer(token_for("social_worker", user="sw-1", name="Sam Social"))
    assert plans.get("/v1/cases", headers=headers).status_code == 200  # in the staff directory
    return headers


@pytest.fixture
def chair(token_for):
    return bearer(token_for("chair", user="chair-1", name="Chris Chair"))


def ok(answer, status=200):
    assert answer.status_code == status, answer.json
    return answer.json


def three_children(plans, sw) -> list[str]:
    return [
        new_child(plans, sw, given_names=name, family_name="Sample", identifiers=[], date_of_birth=born)
        for name, born in (("Amy", "2015-03-01"), ("Ben", "2018-07-12"), ("Cal", "2021-01-30"))
    ]


def a_family(plans, sw, children) -> dict:
    youngest = children[-1]
    body = {
        "name": "Sample family",
        "children": children,
        "people": [
            {
                "name": "Pat Sample",
                "role": "parent",
                "parental_responsibility": True,
                "relationships": [{"child_id": c, "relationship": "mother"} for c in children],
            },
            {
                "name": "Lee Other",
                "role": "parent",
                "parental_responsibility": True,
                "relationships": [{"child_id": youngest, "relationship": "father"}],
            },
        ],
    }
    return ok(plans.post("/v1/families", json=body, headers=sw), 201)


def test_a_family_of_three_from_one_strategy_discussion_to_one_conference(plans, plans_store, scheduler_ctx, sw, chair):
    pump = Pump(plans_store, scheduler_ctx)
    d0 = ENG.on_or_before(date.today() - timedelta(days=30))[0]
    on = lambda days: (d0 + timedelta(days=days)).isoformat()  # noqa: E731
    children = three_children(plans, sw)
    amy, ben, cal = children
    family = a_family(plans, sw, children)
    assert [m["child"]["name"] for m in family["members"]] == ["Amy Sample", "Ben Sample", "Cal Sample"]
    assert family["people"][1]["relationships"] == [{"child_id": cal, "relationship": "father"}]

    cases = ok(plans.post(f"/v1/families/{family['id']}/cases", json={"children": children}, headers=sw), 201)
    case_of = {c["child_id"]: c["id"] for c in cases["items"]}
    assert set(case_of) == set(children) and len(set(case_of.values())) == 3
    # the children were in a family already: no family of one is made for them
    assert plans.get(f"/v1/families?child_id={amy}", headers=sw).json["items"][0]["id"] == family["id"]

    discussion = ok(
        plans.post(
            f"/v1/families/{family['id']}/strategy-discussions",
            json={"children": children, "held_on": on(0), "notes": "All three children discussed."},
            headers=sw,
        ),
        201,
    )
    for child_id in children:  # one discussion, on each child's own case, under one id
        case = ok(plans.get(f"/v1/cases/{case_of[child_id]}", headers=sw))
        assert [d["id"] for d in case["strategy_discussions"]] == [discussion["id"]]
    pump()
    due = ENG.add_working_days(d0, 15).isoformat()
    for child_id in children:
        [icpc] = [
            d
            for d in scheduler_ctx.store.collection("deadlines").find({"case_id": case_of[child_id]})
            if d["rule_id"] == "initial-conference"
        ]
        assert icpc["due_on"] == due and icpc["status"] == "pending"

    ok(
        plans.post(
            f"/v1/families/{family['id']}/enquiry-outcomes",
            json={"completed_on": on(5), "outcomes": [{"child_id": c, "conference_required": True} for c in children]},
            headers=sw,
        )
    )
    group = ok(
        plans.post(
            f"/v1/families/{family['id']}/conferences",
            json={"children": children, "kind": "initial", "scheduled_for": on(12)},
            headers=sw,
        ),
        201,
    )
    assert [m["child_id"] for m in group["children"]] == children
    decisions = [
        {"child_id": amy, "plan_required": True, "outline_plan": {**OUTLINE, "categories": ["neglect"]}},
        {"child_id": ben, "plan_required": True, "outline_plan": {**OUTLINE, "categories": ["emotional_abuse"]}},
        {"child_id": cal, "plan_required": False},
    ]
    held = ok(
        plans.post(
            f"/v1/family-conferences/{group['id']}/outcome",
            json={"held_on": on(12), "decisions": decisions},
            headers=chair,
        )
    )
    assert held["family_conference"]["status"] == "held"
    result = {r["case"]["child_id"]: r for r in held["children"]}
    assert result[amy]["plan"]["categories"] == ["neglect"] and result[amy]["plan"]["initial_categories"] == ["neglect"]
    assert result[ben]["plan"]["categories"] == ["emotional_abuse"]
    assert result[amy]["plan"]["id"] != result[ben]["plan"]["id"]
    assert result[cal]["plan"] is None and result[cal]["case"]["status"] == "child_in_need"
    assert result[cal]["case"]["step_down"]["route"] == "child_in_need_plan"

    handed = pump()
    assert handed.count("conference.held.v1") == 3 and handed.count("plan.created.v1") == 2
    assert handed[-1] == "family_conference.held.v1"  # after each child's own events
    [letter_event] = [
        m.body for m in plans_store.outbox_pending(10_000) if m.routing_key == "family_conference.held.v1"
    ]
    told = {c["child_id"]: c for c in letter_event["data"]["children"]}
    assert told[amy]["plan_id"] == result[amy]["plan"]["id"] and told[amy]["categories"] == ["neglect"]
    assert told[cal]["plan_required"] is False and told[cal]["step_down"] == "child_in_need_plan"
    assert [p["name"] for p in letter_event["data"]["people"]] == ["Pat Sample", "Lee Other"]

    # each child's own deadlines: the initial conference met for all three; a plan's next steps for two
    for child_id in children:
        mine = scheduler_ctx.store.collection("deadlines").find({"case_id": case_of[child_id]})
        assert {d["status"] for d in mine if d["rule_id"] == "initial-conference"} == {"met"}
        plan_deadlines = {d["rule_id"] for d in mine if d.get("plan_id") and d["status"] == "pending"}
        if child_id == cal:
            assert not plan_deadlines
        else:
            assert "first-review-conference" in plan_deadlines, plan_deadlines
    # one core group shared by the two children on a plan; the third has none to meet about
    shared = {"held_on": on(14), "plans": [{"child_id": c, "detailed_plan_agreed": False} for c in (amy, ben)]}
    shared["attendees"] = [KEY_WORKER_ATTENDS, {"name": "Pat Sample", "role": "mother"}]
    meeting = ok(plans.post(f"/v1/families/{family['id']}/core-group-meetings", json=shared, headers=sw), 201)
    assert {m["plan_version"] for m in meeting["meetings"]} == {1} and len(meeting["meetings"]) == 2
    for child_id in (amy, ben):
        [mine] = plans_store.collection("core_group_meetings").find({"plan_id": result[child_id]["plan"]["id"]})
        assert mine["family_meeting_id"] == meeting["id"]
    no_plan = {**shared, "plans": [{"child_id": cal, "detailed_plan_agreed": False}]}
    refused = plans.post(f"/v1/families/{family['id']}/core-group-meetings", json=no_plan, headers=sw)
    assert refused.status_code == 409 and "Cal Sample" in refused.json["message"]
    # each child's events name the child, and the family conference
    held_events = [m.body["data"] for m in plans_store.outbox_pending(10_000) if m.routing_key == "conference.held.v1"]
    assert {e["child_id"] for e in held_events} == set(children)
    assert {e["family_conference_id"] for e in held_events} == {group["id"]}


def test_a_conference_cannot_decide_for_a_child_outside_its_group_and_writes_nothing(plans, plans_store, sw, chair):
    d0 = ENG.on_or_before(date.today() - timedelta(days=30))[0]
    children = three_children(plans, sw)
    amy, ben, cal = children
    family = a_family(plans, sw, children)
    ok(plans.post(f"/v1/families/{family['id']}/cases", json={"children": children}, headers=sw), 201)
    body = {"children": [amy, ben], "held_on": d0.isoformat()}
    ok(plans.post(f"/v1/families/{family['id']}/strategy-discussions", json=body, headers=sw), 201)
    outcomes = [{"child_id": c, "conference_required": True} for c in (amy, ben)]
    body = {"completed_on": d0.isoformat(), "outcomes": outcomes}
    ok(plans.post(f"/v1/families/{family['id']}/enquiry-outcomes", json=body, headers=sw))
    body = {"children": [amy, ben], "kind": "initial", "scheduled_for": d0.isoformat()}
    group = ok(plans.post(f"/v1/families/{family['id']}/conferences", json=body, headers=sw), 201)

    before = footprint(plans_store)
    decisions = [
        {"child_id": amy, "plan_required": False},
        {"child_id": ben, "plan_required": False},
        {"child_id": cal, "plan_required": False},  # in the family, not in this conference
    ]
    refused = plans.post(
        f"/v1/family-conferences/{group['id']}/outcome",
        json={"held_on": d0.isoformat(), "decisions": decisions},
        headers=chair,
    )
    assert refused.status_code == 422, refused.json
    assert (
        "not one of the children this conference is about"
        in refused.json["errors"]["json"]["decisions"]["2"]["child_id"][0]
    )
    missing = plans.post(
        f"/v1/family-conferences/{group['id']}/outcome",
        json={"held_on": d0.isoformat(), "decisions": decisions[:1]},
        headers=chair,
    )
    assert missing.status_code == 422 and "missing" in missing.json["errors"]["json"]["decisions"][0]
    # a bad decision for one child refuses them all, named by its place
    bad = [{"child_id": amy, "plan_required": False}, {"child_id": ben, "plan_required": True}]
    refused_one = plans.post(
        f"/v1/family-conferences/{group['id']}/outcome",
        json={"held_on": d0.isoformat(), "decisions": bad},
        headers=chair,
    )
    assert refused_one.status_code == 422 and "1" in refused_one.json["errors"]["json"]["decisions"]
    assert footprint(plans_store) == before


def test_a_family_core_group_meeting_is_held_with_each_childs_key_worker_or_nothing_is_written(
    plans, plans_store, sw, chair, token_for
):
    kim = bearer(token_for("social_worker", user="sw-2", name="Kim Lee"))
    assert plans.get("/v1/staff/me", headers=kim).status_code == 200  # in the staff directory
    d0 = ENG.on_or_before(date.today() - timedelta(days=30))[0]
    children = three_children(plans, sw)
    amy, ben, _ = children
    family = a_family(plans, sw, children)
    ok(plans.post(f"/v1/families/{family['id']}/cases", json={"children": children}, headers=sw), 201)
    body = {"children": [amy, ben], "held_on": d0.isoformat()}
    ok(plans.post(f"/v1/families/{family['id']}/strategy-discussions", json=body, headers=sw), 201)
    outcomes = [{"child_id": c, "conference_required": True} for c in (amy, ben)]
    ok(
        plans.post(
            f"/v1/families/{family['id']}/enquiry-outcomes",
            json={"completed_on": d0.isoformat(), "outcomes": outcomes},
            headers=sw,
        )
    )
    body = {"children": [amy, ben], "kind": "initial", "scheduled_for": d0.isoformat()}
    group = ok(plans.post(f"/v1/families/{family['id']}/conferences", json=body, headers=sw), 201)
    kims = {**OUTLINE, "key_worker": {"user": "sw-2", "phone": "020 7946 0002"}, "categories": ["neglect"]}
    decisions = [
        {"child_id": amy, "plan_required": True, "outline_plan": {**OUTLINE, "categories": ["neglect"]}},
        {"child_id": ben, "plan_required": True, "outline_plan": kims},
    ]
    body = {"held_on": d0.isoformat(), "decisions": decisions}
    ok(plans.post(f"/v1/family-conferences/{group['id']}/outcome", json=body, headers=chair))

    path = f"/v1/families/{family['id']}/core-group-meetings"
    meeting = {
        "held_on": (d0 + timedelta(days=5)).isoformat(),
        "plans": [{"child_id": c, "detailed_plan_agreed": False} for c in (amy, ben)],
    }
    why = "the key worker, {}, is not among the attendees: a core group meeting is held with the key worker"
    before = footprint(plans_store)
    for attendees, absent in [
        (
            [{"name": "Pat Sample", "role": "mother"}],
            [f"Amy Sample's plan: {why.format('Sam Social')}", f"Ben Sample's plan: {why.format('Kim Lee')}"],
        ),
        ([KEY_WORKER_ATTENDS], [f"Ben Sample's plan: {why.format('Kim Lee')}"]),  # Amy's key worker, not Ben's
    ]:
        refused = plans.post(path, json={**meeting, "attendees": attendees}, headers=sw)
        assert refused.status_code == 422 and refused.json["errors"]["json"] == {"attendees": absent}, refused.json
    assert footprint(plans_store) == before  # nothing written for either child
    held = ok(
        plans.post(path, json={**meeting, "attendees": [KEY_WORKER_ATTENDS, {"name": "kim lee"}]}, headers=sw), 201
    )
    assert len(held["meetings"]) == 2


def test_a_family_step_for_a_child_outside_the_family_is_refused(plans, plans_store, sw):
    children = three_children(plans, sw)
    family = a_family(plans, sw, children[:2])
    before = footprint(plans_store)
    refused = plans.post(f"/v1/families/{family['id']}/cases", json={"children": children}, headers=sw)
    assert refused.status_code == 422 and "2" in refused.json["errors"]["json"]["children"]
    wrong_person = plans.put(
        f"/v1/families/{family['id']}",
        json={
            "name": "Sample family",
            "children": children[:2],
            "people": [
                {
                    "name": "Pat",
                    "role": "parent",
                    "parental_responsibility": True,
                    "relationships": [{"child_id": children[2], "relationship": "mother"}],
                }
            ],
        },
        headers={**sw, "If-Match": f'"{family["version"]}"'},
    )
    assert wrong_person.status_code == 422
    assert "not one of this family's children" in str(wrong_person.json["errors"]["json"]["people"])
    assert footprint(plans_store) == before


def test_a_child_is_in_one_open_case_at_a_time(plans, plans_store, sw):
    [child_id] = [new_child(plans, sw, identifiers=[])]
    first = ok(plans.post("/v1/cases", json={"child_id": child_id}, headers=sw), 201)
    before = footprint(plans_store)
    again = plans.post("/v1/cases", json={"child_id": child_id}, headers=sw)
    assert again.status_code == 409 and first["id"] in again.json["message"]
    assert footprint(plans_store) == before
    # once the enquiries step the child down, the case is over: a new referral opens a new case
    d0 = ENG.on_or_before(date.today() - timedelta(days=5))[0].isoformat()
    ok(plans.post(f"/v1/cases/{first['id']}/strategy-discussions", json={"held_on": d0}, headers=sw), 201)
    body = {"completed_on": d0, "conference_required": False}
    ok(plans.post(f"/v1/cases/{first['id']}/enquiry-outcome", json=body, headers=sw))
    ok(plans.post("/v1/cases", json={"child_id": child_id}, headers=sw), 201)


def test_two_open_cases_of_one_child_are_refused_by_the_store_too(plans_store):
    """The check before opening reads; two requests at once could both pass it: the store's unique open key
    refuses the second."""
    from cpp_shared.store import DuplicateKey

    case = {"_id": "c-1", "authority": "ENG", "child_id": "k-1", "status": "enquiries", "open_key": "ENG:k-1"}
    plans_store.collection("cases").insert_one(case)
    with pytest.raises(DuplicateKey):
        plans_store.collection("cases").insert_one({**case, "_id": "c-2"})
    closed = {k: v for k, v in case.items() if k != "open_key"} | {"status": "closed"}
    for n in (3, 4):  # a case no longer open has no open key: a child has as many of those as it had
        plans_store.collection("cases").insert_one({**closed, "_id": f"c-{n}"})


def test_two_cases_opened_for_one_child_at_the_same_moment_are_one_and_a_409(
    plans_app, plans_store, token_for, monkeypatch
):
    """Both requests pass the check before either commits: the second's commit is refused by the open key."""
    import threading

    from cpp_plans.service_layer import cases as case_steps

    sw = bearer(token_for("social_worker", user="sw-1"))
    client = plans_app.test_client()
    child_id = new_child(client, sw, identifiers=[])
    both_checked = threading.Barrier(2, timeout=30)
    check = case_steps.open_case_of

    def checked_then_wait(deps, child):
        found = check(deps, child)
        both_checked.wait()
        return found

    monkeypatch.setattr(case_steps, "open_case_of", checked_then_wait)
    answers = []
    threads = [
        threading.Thread(
            target=lambda: answers.append(
                plans_app.test_client().post("/v1/cases", json={"child_id": child_id}, headers=sw)
            )
        )
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(a.status_code for a in answers) == [201, 409], [a.json for a in answers]
    assert plans_store.collection("cases").count_documents({"child_id": child_id}) == 1


def test_a_family_conference_moves_and_is_cancelled_with_each_childs_conference(plans, plans_store, sw, chair):
    d0 = ENG.on_or_before(date.today() - timedelta(days=30))[0]
    on = lambda days: (d0 + timedelta(days=days)).isoformat()  # noqa: E731
    children = three_children(plans, sw)[:2]
    family = a_family(plans, sw, children)
    ok(plans.post(f"/v1/families/{family['id']}/cases", json={"children": children}, headers=sw), 201)
    ok(
        plans.post(
            f"/v1/families/{family['id']}/strategy-discussions",
            json={"children": children, "held_on": on(0)},
            headers=sw,
        ),
        201,
    )
    outcomes = [{"child_id": c, "conference_required": True} for c in children]
    ok(
        plans.post(
            f"/v1/families/{family['id']}/enquiry-outcomes",
            json={"completed_on": on(1), "outcomes": outcomes},
            headers=sw,
        )
    )
    body = {"children": children, "kind": "initial", "scheduled_for": on(9)}
    group = ok(plans.post(f"/v1/families/{family['id']}/conferences", json=body, headers=sw), 201)
    member = group["children"][0]["conference_id"]

    # one child's conference alone is neither moved, cancelled nor held: the family conference is
    tag = plans.get(f"/v1/conferences/{member}", headers=sw).headers["ETag"]
    alone = plans.patch(
        f"/v1/conferences/{member}", json={"scheduled_for": on(8), "reason": "x"}, headers={**sw, "If-Match": tag}
    )
    assert alone.status_code == 409 and group["id"] in alone.json["message"]
    assert plans.post(f"/v1/conferences/{member}/cancellation", json={"reason": "x"}, headers=sw).status_code == 409
    held_alone = plans.post(
        f"/v1/conferences/{member}/outcome", json={"held_on": on(9), "plan_required": False}, headers=chair
    )
    assert held_alone.status_code == 409

    tag = plans.get(f"/v1/family-conferences/{group['id']}", headers=sw).headers["ETag"]
    moved = plans.patch(
        f"/v1/family-conferences/{group['id']}",
        json={"scheduled_for": on(8), "reason": "The chair is away on the 9th."},
        headers={**sw, "If-Match": tag},
    )
    assert moved.status_code == 200, moved.json
    assert moved.json["scheduled_for"] == on(8) and moved.json["reschedules"][0]["from"] == on(9)
    for m in group["children"]:
        assert ok(plans.get(f"/v1/conferences/{m['conference_id']}", headers=sw))["scheduled_for"] == on(8)
    stale = plans.patch(
        f"/v1/family-conferences/{group['id']}",
        json={"scheduled_for": on(7), "reason": "x"},
        headers={**sw, "If-Match": tag},
    )
    assert stale.status_code == 412
    events = [
        m.body["data"] for m in plans_store.outbox_pending(10_000) if m.routing_key == "conference.rescheduled.v1"
    ]
    assert sorted(e["child_id"] for e in events) == sorted(children)
    assert {e["family_conference_id"] for e in events} == {group["id"]}

    cancelled = ok(
        plans.post(f"/v1/family-conferences/{group['id']}/cancellation", json={"reason": "Family moved."}, headers=sw)
    )
    assert cancelled["status"] == "cancelled"
    for m in group["children"]:
        assert ok(plans.get(f"/v1/conferences/{m['conference_id']}", headers=sw))["status"] == "cancelled"
    again = plans.post(f"/v1/families/{family['id']}/conferences", json=body, headers=sw)  # another in its place
    assert again.status_code == 201, again.json


def test_one_report_to_a_family_conference_is_each_childs_report(plans, plans_store, sw, token_for):
    d0 = ENG.on_or_before(date.today() - timedelta(days=30))[0]
    on = lambda days: (d0 + timedelta(days=days)).isoformat()  # noqa: E731
    children = three_children(plans, sw)
    amy, ben, cal = children
    family = a_family(plans, sw, children)
    ok(plans.post(f"/v1/families/{family['id']}/cases", json={"children": children}, headers=sw), 201)
    body = {"children": [amy, ben], "held_on": on(0)}
    ok(plans.post(f"/v1/families/{family['id']}/strategy-discussions", json=body, headers=sw), 201)
    outcomes = [{"child_id": c, "conference_required": True} for c in (amy, ben)]
    body = {"completed_on": on(1), "outcomes": outcomes}
    ok(plans.post(f"/v1/families/{family['id']}/enquiry-outcomes", json=body, headers=sw))
    body = {"children": [amy, ben], "kind": "initial", "scheduled_for": on(12)}
    group = ok(plans.post(f"/v1/families/{family['id']}/conferences", json=body, headers=sw), 201)

    report = {
        "findings": "Both children were left alone at night.",
        "family_views": "Their mother disagrees.",
        "drafted_on": on(5),
        "children": [
            {"child_id": amy, "child_seen": [{"on": on(2), "alone": True}], "childs_views": "Amy wants to stay."},
            {"child_id": ben, "child_seen": [{"on": on(2), "alone": False}]},
        ],
    }
    before = footprint(plans_store)
    outside = {**report, "children": [*report["children"], {"child_id": cal}]}
    refused = plans.post(f"/v1/family-conferences/{group['id']}/reports", json=outside, headers=sw)
    assert refused.status_code == 422 and "2" in refused.json["errors"]["json"]["children"]
    assert footprint(plans_store) == before
    drafted = ok(plans.post(f"/v1/family-conferences/{group['id']}/reports", json=report, headers=sw), 201)
    amy_report, ben_report = drafted["reports"]
    assert amy_report["child_id"] == amy and ben_report["child_id"] == ben
    assert amy_report["content"]["findings"] == ben_report["content"]["findings"] == report["findings"]
    assert amy_report["content"]["childs_views"] == "Amy wants to stay." and "childs_views" not in ben_report["content"]
    assert ben_report["content"]["child_seen"] == [{"on": on(2), "alone": False}]
    for mine in drafted["reports"]:  # each child's own report, to their own conference, taking its own steps
        stored = plans_store.collection("reports").find_one({"_id": mine["id"]})
        assert stored["family_report_id"] == drafted["id"] and stored["status"] == "draft"
    submitted = plans.post(f"/v1/reports/{amy_report['id']}/submit", json={"on": on(6)}, headers=sw)
    assert submitted.status_code == 200, submitted.json
    drafted_events = [
        m.body["data"] for m in plans_store.outbox_pending(10_000) if m.routing_key == "report.drafted.v1"
    ]
    assert sorted(e["child_id"] for e in drafted_events) == sorted([amy, ben])
