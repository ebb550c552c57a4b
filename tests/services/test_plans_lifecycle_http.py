"""A case over HTTP from its strategy discussion to the end of its plan:
each state, version and event (the whole lifecycle test grows with the
plans resource: core groups, visits and escalations come next)."""

from __future__ import annotations

from datetime import date, timedelta

from cpp_plans.store import CORE_GROUP_MEETINGS
from tests.helpers import KEY_WORKER_ATTENDS, bearer, ensure_child

OUTLINE = {
    "key_worker": {"name": "Sam Social", "role": "social worker", "phone": "020 7946 0000"},
    "categories": ["neglect"],
    "core_group": [
        {"name": "Sam Social", "role": "social worker", "agency": "Children's services", "is_family_member": False},
        {"name": "Hana Visitor", "role": "health visitor", "agency": "NHS", "is_family_member": False},
        {"name": "Alex Parent", "role": "parent", "agency": "family", "is_family_member": True},
    ],
    "concerns": "Home conditions and missed health appointments.",
}


def events_of(store):
    return [
        (m.routing_key, m.body["subject"], m.body["data"])
        for m in store.outbox_pending(1000)
        if m.routing_key != "staff.updated.v1"
    ]


def test_a_case_from_strategy_discussion_to_the_end_of_its_plan(plans, plans_store, token_for):
    sw = bearer(token_for("social_worker", user="sw-1"))
    chair = bearer(token_for("chair", user="chair-1"))
    d0 = date.today() - timedelta(days=40)

    case = plans.post("/v1/cases", json={"child_id": ensure_child(plans, "child-1")}, headers=sw).json
    case_id = case["id"]
    assert case["status"] == "enquiries"

    sd = plans.post(
        f"/v1/cases/{case_id}/strategy-discussions",
        headers=sw,
        json={"held_on": d0.isoformat(), "attendees": [{"name": "PC Lane", "agency": "police"}]},
    )
    assert sd.status_code == 201, sd.json

    # No conference before the enquiry outcome says one is needed.
    early = plans.post(
        f"/v1/cases/{case_id}/conferences", json={"kind": "initial", "scheduled_for": d0.isoformat()}, headers=sw
    )
    assert early.status_code == 409

    out = plans.post(
        f"/v1/cases/{case_id}/enquiry-outcome",
        headers=sw,
        json={"completed_on": (d0 + timedelta(days=7)).isoformat(), "conference_required": True},
    )
    assert out.status_code == 200 and out.json["status"] == "conference_pending" and out.json["version"] == 3

    conf = plans.post(
        f"/v1/cases/{case_id}/conferences",
        headers=sw,
        json={"kind": "initial", "scheduled_for": (d0 + timedelta(days=14)).isoformat()},
    )
    assert conf.status_code == 201, conf.json
    again = plans.post(
        f"/v1/cases/{case_id}/conferences",
        headers=sw,
        json={"kind": "initial", "scheduled_for": (d0 + timedelta(days=15)).isoformat()},
    )
    assert again.status_code == 409 and "already has an initial conference" in again.json["message"]

    # A social worker records but does not decide; the chair does.
    held_on = (d0 + timedelta(days=14)).isoformat()
    outcome = {"held_on": held_on, "plan_required": True, "outline_plan": OUTLINE}
    assert plans.post(f"/v1/conferences/{conf.json['id']}/outcome", json=outcome, headers=sw).status_code == 403
    decided = plans.post(f"/v1/conferences/{conf.json['id']}/outcome", json=outcome, headers=chair)
    assert decided.status_code == 200, decided.json
    plan = decided.json["plan"]
    assert decided.json["case"]["status"] == "on_plan" and decided.json["conference"]["status"] == "held"
    assert plan["status"] == "outline" and plan["plan_version"] == 1 and plan["key_worker"] == "Sam Social"
    assert plans.post(f"/v1/conferences/{conf.json['id']}/outcome", json=outcome, headers=chair).status_code == 409

    got = plans.get(f"/v1/plans/{plan['id']}", headers=sw)
    assert got.status_code == 200 and got.headers["ETag"] == '"1"' and got.json["content"]["categories"] == ["neglect"]
    versions = plans.get(f"/v1/plans/{plan['id']}/versions", headers=sw).json["versions"]
    assert [v["number"] for v in versions] == [1] and versions[0]["agreed"]["by"] == "chair-1"

    review = plans.post(
        f"/v1/cases/{case_id}/conferences",
        headers=sw,
        json={"kind": "review", "scheduled_for": (d0 + timedelta(days=30)).isoformat()},
    )
    assert review.status_code == 201
    revised = {**OUTLINE, "categories": ["neglect", "emotional_abuse"]}
    rev = plans.post(
        f"/v1/conferences/{review.json['id']}/outcome",
        headers=chair,
        json={"held_on": (d0 + timedelta(days=30)).isoformat(), "decision": "revise", "plan": revised},
    )
    assert rev.status_code == 200, rev.json
    assert rev.json["plan"]["plan_version"] == 2 and rev.json["plan"]["version"] == 2
    assert plans.get(f"/v1/plans/{plan['id']}/versions/1", headers=sw).json["content"]["categories"] == ["neglect"]
    assert plans.get(f"/v1/plans/{plan['id']}/versions/2", headers=sw).json["content"]["categories"] == [
        "neglect",
        "emotional_abuse",
    ]
    assert plans.get(f"/v1/plans/{plan['id']}/versions/3", headers=sw).status_code == 404

    final = plans.post(
        f"/v1/cases/{case_id}/conferences",
        headers=sw,
        json={"kind": "review", "scheduled_for": (d0 + timedelta(days=35)).isoformat()},
    )
    ended = plans.post(
        f"/v1/conferences/{final.json['id']}/outcome",
        headers=chair,
        json={"held_on": (d0 + timedelta(days=35)).isoformat(), "decision": "end"},
    )
    assert ended.status_code == 200, ended.json
    assert ended.json["plan"]["status"] == "ended" and ended.json["plan"]["ended"]["step_down"] == "child_in_need_plan"
    assert ended.json["case"]["status"] == "plan_ended"

    assert [e[0] for e in events_of(plans_store)] == [
        "case.opened.v1",
        "family.recorded.v1",
        "strategy_discussion.held.v1",
        "enquiry.completed.v1",
        "conference.scheduled.v1",
        "conference.held.v1",
        "plan.created.v1",
        "conference.scheduled.v1",
        "conference.held.v1",
        "plan.version_agreed.v1",
        "conference.scheduled.v1",
        "conference.held.v1",
        "plan.ended.v1",
    ]
    created = next(e for e in events_of(plans_store) if e[0] == "plan.created.v1")
    assert created[1] == plan["id"] and created[2]["content"]["key_worker"]["name"] == "Sam Social"
    assert plans_store.verify_log("audit").ok


def test_bad_steps_are_422_with_the_field_and_nothing_written(plans, plans_store, token_for):
    sw = bearer(token_for())
    case_id = plans.post("/v1/cases", json={"child_id": ensure_child(plans, "child-1")}, headers=sw).json["id"]
    before = plans_store.outbox_stats().pending
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    for path, body, field in [
        (f"/v1/cases/{case_id}/strategy-discussions", {"held_on": tomorrow}, "held_on"),
        (f"/v1/cases/{case_id}/strategy-discussions", {"held_on": "not a date"}, "held_on"),
        (f"/v1/cases/{case_id}/strategy-discussions", {"held_on": "2026-01-01", "colour": "red"}, "colour"),
        (f"/v1/cases/{case_id}/enquiry-outcome", {"completed_on": "2026-01-01"}, "conference_required"),
        (f"/v1/cases/{case_id}/conferences", {"kind": "final", "scheduled_for": "2026-01-01"}, "kind"),
    ]:
        resp = plans.post(path, json=body, headers=sw)
        assert resp.status_code == 422, (path, body, resp.json)
        assert field in resp.json["errors"]["json"], resp.json
    assert plans_store.outbox_stats().pending == before
    assert plans.get(f"/v1/cases/{case_id}", headers=sw).json["version"] == 1
    assert (
        plans.post("/v1/cases/nope/strategy-discussions", json={"held_on": "2026-01-01"}, headers=sw).status_code == 404
    )


def a_plan_to_conference(plans, sw, d0):
    case_id = plans.post("/v1/cases", json={"child_id": ensure_child(plans, "child-2")}, headers=sw).json["id"]
    plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": d0.isoformat()}, headers=sw)
    plans.post(
        f"/v1/cases/{case_id}/enquiry-outcome",
        headers=sw,
        json={"completed_on": d0.isoformat(), "conference_required": True},
    )
    return plans.post(
        f"/v1/cases/{case_id}/conferences", headers=sw, json={"kind": "initial", "scheduled_for": d0.isoformat()}
    ).json["id"]


FULL_OUTLINE = {
    **OUTLINE,
    "outcomes": [
        {
            "id": "safe-home",
            "description": "Ana lives in a safe, clean home",
            "term": "short",
            "target_date": "2099-01-31",
            "how_progress_judged": "Home visits find the home safe",
        }
    ],
    "actions": [
        {
            "id": "clean",
            "what": "Clear the kitchen",
            "why": "Hygiene risk",
            "who": {"name": "Alex Parent", "kind": "family_member", "relationship": "mother"},
            "by_when": "2099-01-15",
            "outcome_id": "safe-home",
        }
    ],
    "review_arrangements": {"next_review_date": "2099-02-01", "how_progress_judged": "At the review conference"},
}


def test_an_outline_plan_with_dates_is_stored_as_json_and_dates_are_not_before_the_conference(
    plans, plans_store, token_for
):
    sw, chair = bearer(token_for()), bearer(token_for("chair", user="chair-1"))
    d0 = date.today() - timedelta(days=5)
    conf_id = a_plan_to_conference(plans, sw, d0)
    early = {
        **FULL_OUTLINE,
        "actions": [{**FULL_OUTLINE["actions"][0], "by_when": (d0 - timedelta(days=1)).isoformat()}],
    }
    bad = plans.post(
        f"/v1/conferences/{conf_id}/outcome",
        headers=chair,
        json={"held_on": d0.isoformat(), "plan_required": True, "outline_plan": early},
    )
    assert bad.status_code == 422
    assert "by_when" in bad.json["errors"]["json"]["outline_plan"]["actions"]["0"]
    assert plans_store.collection("plans").count_documents({}) == 0

    good = plans.post(
        f"/v1/conferences/{conf_id}/outcome",
        headers=chair,
        json={"held_on": d0.isoformat(), "plan_required": True, "outline_plan": FULL_OUTLINE},
    )
    assert good.status_code == 200, good.json
    stored = plans_store.collection("plans").find_one({"_id": good.json["plan"]["id"]})
    assert stored["content"]["actions"][0]["by_when"] == "2099-01-15"
    assert stored["content"]["outcomes"][0]["target_date"] == "2099-01-31"


DETAILED = {
    **FULL_OUTLINE,
    "monitoring": [
        {
            "who": "Hana Visitor",
            "agency": "NHS",
            "what": "Sees Ana at home",
            "contact_type": "home_visit",
            "frequency": {"every": 2, "unit": "weeks"},
        }
    ],
    "contingency_plan": {"plan": "A legal planning meeting is called", "triggers": ["Ana is found alone at home"]},
}


ABSENT = "the key worker, Sam Social, is not among the attendees: a core group meeting is held with the key worker"


def test_a_core_group_meeting_without_the_key_worker_is_422_on_attendees_and_nothing_written(
    plans, plans_store, token_for
):
    sw, chair = bearer(token_for("social_worker", user="sw-1")), bearer(token_for("chair", user="chair-1"))
    kim = bearer(token_for("social_worker", user="sw-2", name="Kim Lee"))
    assert plans.get("/v1/staff/me", headers=kim).status_code == 200  # in the staff directory
    d0 = date.today() - timedelta(days=20)
    conf_id = a_plan_to_conference(plans, sw, d0)
    plan = plans.post(
        f"/v1/conferences/{conf_id}/outcome",
        headers=chair,
        json={"held_on": d0.isoformat(), "plan_required": True, "outline_plan": OUTLINE},
    ).json["plan"]
    path, held_on = f"/v1/plans/{plan['id']}/core-group-meetings", (d0 + timedelta(days=7)).isoformat()

    def written():
        return (
            plans.get(f"/v1/plans/{plan['id']}", headers=sw).headers["ETag"],
            plans_store.outbox_stats().pending,
            plans_store.collection(CORE_GROUP_MEETINGS).count_documents({}),
            plans.get(f"/v1/children/{plan['child_id']}/chronology", headers=sw).json["entries"],
        )

    before = written()
    handed_over = {**DETAILED, "key_worker": {"user": "sw-2", "phone": "020 7946 0002"}}  # Kim Lee takes over
    for body, why in [
        ({"detailed_plan_agreed": False, "attendees": [{"name": "Alex Parent"}]}, ABSENT),
        ({"detailed_plan_agreed": True, "plan": DETAILED}, ABSENT),  # nobody recorded as attending
        ({"detailed_plan_agreed": False, "attendees": [{"name": "S. Social", "user": "sw-9"}]}, ABSENT),
        (
            {"detailed_plan_agreed": True, "plan": handed_over, "attendees": [{"name": "Alex Parent"}]},
            "neither the key worker, Sam Social, nor the key worker the meeting agrees, Kim Lee, is among the "
            "attendees: a core group meeting is held with the key worker",
        ),
    ]:
        refused = plans.post(path, json={"held_on": held_on, **body}, headers=sw)
        assert refused.status_code == 422 and refused.json["errors"]["json"] == {"attendees": [why]}, refused.json
    assert written() == before  # no meeting, no version, no event (so no deadline met), nothing in the chronology

    # the key worker by name however written, or by their user id; at a hand-over, the new key worker
    for attendees in ([{"name": "  sam   SOCIAL"}], [{"name": "S. Social", "user": "sw-1"}]):
        body = {"held_on": held_on, "detailed_plan_agreed": False, "attendees": attendees}
        assert plans.post(path, json=body, headers=sw).status_code == 201
    body = {"held_on": held_on, "detailed_plan_agreed": True, "plan": handed_over, "attendees": [{"name": "Kim Lee"}]}
    meeting = plans.post(path, json=body, headers=sw)
    assert meeting.status_code == 201, meeting.json
    after = plans.get(f"/v1/plans/{plan['id']}", headers=sw).json
    assert (after["status"], after["key_worker"], after["key_worker_user"]) == ("active", "Kim Lee", "sw-2")
    assert plans_store.collection(CORE_GROUP_MEETINGS).count_documents({}) == 3


def test_every_step_of_a_plan_over_http(plans, plans_store, token_for):
    """Strategy discussion, enquiry outcome, initial conference and outline
    plan, core group agreeing the detailed plan, a visit, an agreed change,
    an escalation, a review that revises, a review that ends the plan."""
    sw, chair = bearer(token_for("social_worker", user="sw-1")), bearer(token_for("chair", user="chair-1"))
    d0 = date.today() - timedelta(days=20)
    conf_id = a_plan_to_conference(plans, sw, d0)
    plan = plans.post(
        f"/v1/conferences/{conf_id}/outcome",
        headers=chair,
        json={"held_on": d0.isoformat(), "plan_required": True, "outline_plan": OUTLINE},
    ).json["plan"]
    plan_id = plan["id"]
    assert plan["terminology"]["enquiries"] == "section 47 enquiries"

    # The outline plan lacks what a detailed plan needs: the core group cannot agree it as it is.
    lacking = plans.post(
        f"/v1/plans/{plan_id}/core-group-meetings",
        headers=sw,
        json={"held_on": d0.isoformat(), "detailed_plan_agreed": True},
    )
    assert lacking.status_code == 422 and "outcomes" in lacking.json["errors"]["json"]["plan"][0]
    meeting = plans.post(
        f"/v1/plans/{plan_id}/core-group-meetings",
        headers=sw,
        json={
            "held_on": (d0 + timedelta(days=7)).isoformat(),
            "detailed_plan_agreed": True,
            "attendees": [{"name": "Alex Parent"}, KEY_WORKER_ATTENDS],
            "plan": DETAILED,
        },
    )
    assert meeting.status_code == 201, meeting.json
    active = plans.get(f"/v1/plans/{plan_id}", headers=sw)
    assert active.json["status"] == "active" and active.json["plan_version"] == 2
    assert active.json["activated_on"] == (d0 + timedelta(days=7)).isoformat()

    visit = plans.post(
        f"/v1/plans/{plan_id}/visits",
        headers=sw,
        json={
            "visited_on": (d0 + timedelta(days=8)).isoformat(),
            "announced": False,
            "child_seen": True,
            "seen_alone": True,
            "by": "Sam Social",
        },
    )
    assert visit.status_code == 201, visit.json

    # Changes need the ETag as read; a stale one is refused.
    change = {"childs_views": "Ana says she likes her new bed."}
    assert plans.patch(f"/v1/plans/{plan_id}", json=change, headers=sw).status_code == 428
    etag = active.headers["ETag"]
    first = plans.patch(f"/v1/plans/{plan_id}", json=change, headers={**sw, "If-Match": etag})
    assert first.status_code == 200, first.json
    assert first.json["plan_version"] == 3 and first.json["content"]["childs_views"].startswith("Ana says")
    assert first.headers["ETag"] != etag
    second = plans.patch(f"/v1/plans/{plan_id}", json={"familys_views": "We agree."}, headers={**sw, "If-Match": etag})
    assert second.status_code == 412
    bad = plans.patch(
        f"/v1/plans/{plan_id}", json={"categories": ["bad"]}, headers={**sw, "If-Match": first.headers["ETag"]}
    )
    assert bad.status_code == 422 and "categories" in bad.json["errors"]["json"]
    versions = plans.get(f"/v1/plans/{plan_id}/versions", headers=sw).json["versions"]
    assert [(v["number"], v["agreed"]["at"]) for v in versions] == [
        (1, "initial_conference"),
        (2, "core_group_meeting"),
        (3, "change"),
    ]

    decided_on = date.today().isoformat()
    unknown = plans.post(
        f"/v1/plans/{plan_id}/escalations",
        headers=sw,
        json={"route": "wishful", "reason": "x", "decided_on": decided_on},
    )
    assert unknown.status_code == 422
    assert "early_review_conference" in unknown.json["errors"]["json"]["route"][0]
    esc = plans.post(
        f"/v1/plans/{plan_id}/escalations",
        headers=sw,
        json={"route": "early_review_conference", "reason": "Home conditions worse again", "decided_on": decided_on},
    )
    assert esc.status_code == 201 and esc.json["name"] == "Convene an early review conference"

    listed = plans.get("/v1/plans?status=active&key_worker=Sam Social", headers=sw).json
    assert [p["id"] for p in listed["items"]] == [plan_id] and listed["total"] == 1
    assert plans.get("/v1/plans?status=ended", headers=sw).json["total"] == 0
    assert plans.get("/v1/plans?status=lost", headers=sw).status_code == 422

    case_id = plans.get(f"/v1/plans/{plan_id}", headers=sw).json["case_id"]
    review = plans.post(
        f"/v1/cases/{case_id}/conferences",
        headers=sw,
        json={"kind": "review", "scheduled_for": (d0 + timedelta(days=10)).isoformat()},
    ).json
    revised = {**DETAILED, "categories": ["neglect", "emotional_abuse"]}
    rev = plans.post(
        f"/v1/conferences/{review['id']}/outcome",
        headers=chair,
        json={"held_on": (d0 + timedelta(days=10)).isoformat(), "decision": "revise", "plan": revised},
    )
    assert rev.status_code == 200 and rev.json["plan"]["plan_version"] == 4 and rev.json["plan"]["status"] == "active"
    final = plans.post(
        f"/v1/cases/{case_id}/conferences",
        headers=sw,
        json={"kind": "review", "scheduled_for": (d0 + timedelta(days=12)).isoformat()},
    ).json
    ended = plans.post(
        f"/v1/conferences/{final['id']}/outcome",
        headers=chair,
        json={"held_on": (d0 + timedelta(days=12)).isoformat(), "decision": "end"},
    )
    assert ended.json["plan"]["status"] == "ended" and ended.json["case"]["status"] == "plan_ended"
    assert ended.json["case"]["step_down"]["route"] == "child_in_need_plan"
    late = plans.post(
        f"/v1/plans/{plan_id}/visits",
        headers=sw,
        json={
            "visited_on": (d0 + timedelta(days=13)).isoformat(),
            "announced": True,
            "child_seen": True,
            "seen_alone": False,
            "by": "Sam Social",
        },
    )
    assert late.status_code == 409 and "no visit on an ended plan" in late.json["message"]
    assert (
        plans.patch(
            f"/v1/plans/{plan_id}",
            json={"familys_views": "x"},
            headers={**sw, "If-Match": plans.get(f"/v1/plans/{plan_id}", headers=sw).headers["ETag"]},
        ).status_code
        == 409
    )

    versions = plans.get(f"/v1/plans/{plan_id}/versions", headers=sw).json["versions"]
    assert [(v["number"], v["agreed"]["at"]) for v in versions] == [
        (1, "initial_conference"),
        (2, "core_group_meeting"),
        (3, "change"),
        (4, "review_conference"),
    ]
    assert [key for key, _, _ in events_of(plans_store)] == [
        "case.opened.v1",
        "family.recorded.v1",
        "strategy_discussion.held.v1",
        "enquiry.completed.v1",
        "conference.scheduled.v1",
        "conference.held.v1",
        "plan.created.v1",
        "core_group.held.v1",
        "plan.activated.v1",
        "visit.recorded.v1",
        "plan.version_agreed.v1",
        "escalation.raised.v1",
        "conference.scheduled.v1",
        "conference.held.v1",
        "plan.version_agreed.v1",
        "conference.scheduled.v1",
        "conference.held.v1",
        "plan.ended.v1",
    ]
    snapshot = plans_store.outbox_pending(1000)[-1].body["data"]
    assert (
        snapshot["status"] == "ended"
        and snapshot["plan_version"] == 4
        and snapshot["content"]["categories"] == ["neglect", "emotional_abuse"]
    )
    assert plans_store.verify_log("audit").ok


def test_two_changes_with_the_same_etag_one_wins(plans_app, token_for):
    """Both requests pass the If-Match check before either commits: the store's
    version check lets one through and the other gets 412."""
    import threading

    client = plans_app.test_client()
    sw, chair = bearer(token_for()), bearer(token_for("chair", user="chair-1"))
    d0 = date.today() - timedelta(days=3)
    conf_id = a_plan_to_conference(client, sw, d0)
    plan = client.post(
        f"/v1/conferences/{conf_id}/outcome",
        headers=chair,
        json={"held_on": d0.isoformat(), "plan_required": True, "outline_plan": OUTLINE},
    ).json["plan"]
    etag = client.get(f"/v1/plans/{plan['id']}", headers=sw).headers["ETag"]
    store = plans_app.extensions["cpp"].store
    real_uow = store.unit_of_work
    both_read = threading.Barrier(2)

    def held_back_uow():  # each request waits for the other before committing
        both_read.wait(timeout=10)
        return real_uow()

    store.unit_of_work = held_back_uow
    results = []

    def change(text):
        results.append(
            plans_app.test_client()
            .patch(f"/v1/plans/{plan['id']}", json={"familys_views": text}, headers={**sw, "If-Match": etag})
            .status_code
        )

    threads = [threading.Thread(target=change, args=(t,)) for t in ("first", "second")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    store.unit_of_work = real_uow
    assert sorted(results) == [200, 412]
    versions = client.get(f"/v1/plans/{plan['id']}/versions", headers=sw).json["versions"]
    assert [v["number"] for v in versions] == [1, 2], "exactly one change was agreed"


def test_a_councils_plugin_can_refuse_a_plan(plans_app, token_for):
    """cpp_validate_plan: e.g. a council that wants a contingency trigger
    in every outline plan and no change that drops the family's views."""
    from cpp_shared.hookspecs import hookimpl
    from cpp_shared.plugins import Plugins

    seen = []

    class Council:
        @hookimpl
        def cpp_validate_plan(self, content, stage):
            seen.append(stage)
            if stage == "outline" and not content.get("contingency_plan"):
                return {"contingency_plan": ["our procedures need a contingency plan from the first conference"]}
            return None

    plans_app.extensions["cpp"].plugins = Plugins(["england"], extra=[("council", Council())])
    client = plans_app.test_client()
    sw, chair = bearer(token_for()), bearer(token_for("chair", user="chair-1"))
    d0 = date.today() - timedelta(days=3)
    conf_id = a_plan_to_conference(client, sw, d0)
    refused = client.post(
        f"/v1/conferences/{conf_id}/outcome",
        headers=chair,
        json={"held_on": d0.isoformat(), "plan_required": True, "outline_plan": OUTLINE},
    )
    assert refused.status_code == 422
    assert "our procedures" in refused.json["errors"]["json"]["outline_plan"]["contingency_plan"][0]
    accepted = client.post(
        f"/v1/conferences/{conf_id}/outcome",
        headers=chair,
        json={
            "held_on": d0.isoformat(),
            "plan_required": True,
            "outline_plan": {**OUTLINE, "contingency_plan": DETAILED["contingency_plan"]},
        },
    )
    assert accepted.status_code == 200, accepted.json
    assert seen == ["outline", "outline"]
