"""A case over HTTP from its strategy discussion to the end of its plan:
each state, version and event (the whole lifecycle test grows with the
plans resource: core groups, visits and escalations come next)."""
from __future__ import annotations

from datetime import date, timedelta

from tests.helpers import bearer

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
    return [(m.routing_key, m.body["subject"], m.body["data"]) for m in store.outbox_pending(1000)]


def test_a_case_from_strategy_discussion_to_the_end_of_its_plan(plans, plans_store, token_for):
    sw = bearer(token_for("social_worker", user="sw-1"))
    chair = bearer(token_for("chair", user="chair-1"))
    d0 = date.today() - timedelta(days=40)

    case = plans.post("/v1/cases", json={"child_id": "child-1"}, headers=sw).json
    case_id = case["id"]
    assert case["status"] == "enquiries"

    sd = plans.post(f"/v1/cases/{case_id}/strategy-discussions", headers=sw,
                    json={"held_on": d0.isoformat(), "attendees": [{"name": "PC Lane", "agency": "police"}]})
    assert sd.status_code == 201, sd.json

    # No conference before the enquiry outcome says one is needed.
    early = plans.post(f"/v1/cases/{case_id}/conferences", json={"kind": "initial", "scheduled_for": d0.isoformat()},
                       headers=sw)
    assert early.status_code == 409

    out = plans.post(f"/v1/cases/{case_id}/enquiry-outcome", headers=sw,
                     json={"completed_on": (d0 + timedelta(days=7)).isoformat(), "conference_required": True})
    assert out.status_code == 200 and out.json["status"] == "conference_pending" and out.json["version"] == 3

    conf = plans.post(f"/v1/cases/{case_id}/conferences", headers=sw,
                      json={"kind": "initial", "scheduled_for": (d0 + timedelta(days=14)).isoformat()})
    assert conf.status_code == 201, conf.json
    again = plans.post(f"/v1/cases/{case_id}/conferences", headers=sw,
                       json={"kind": "initial", "scheduled_for": (d0 + timedelta(days=15)).isoformat()})
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

    review = plans.post(f"/v1/cases/{case_id}/conferences", headers=sw,
                        json={"kind": "review", "scheduled_for": (d0 + timedelta(days=30)).isoformat()})
    assert review.status_code == 201
    revised = {**OUTLINE, "categories": ["neglect", "emotional_abuse"]}
    rev = plans.post(f"/v1/conferences/{review.json['id']}/outcome", headers=chair,
                     json={"held_on": (d0 + timedelta(days=30)).isoformat(), "decision": "revise", "plan": revised})
    assert rev.status_code == 200, rev.json
    assert rev.json["plan"]["plan_version"] == 2 and rev.json["plan"]["version"] == 2
    assert plans.get(f"/v1/plans/{plan['id']}/versions/1", headers=sw).json["content"]["categories"] == ["neglect"]
    assert plans.get(f"/v1/plans/{plan['id']}/versions/2", headers=sw).json["content"]["categories"] == [
        "neglect", "emotional_abuse"]
    assert plans.get(f"/v1/plans/{plan['id']}/versions/3", headers=sw).status_code == 404

    final = plans.post(f"/v1/cases/{case_id}/conferences", headers=sw,
                       json={"kind": "review", "scheduled_for": (d0 + timedelta(days=35)).isoformat()})
    ended = plans.post(f"/v1/conferences/{final.json['id']}/outcome", headers=chair,
                       json={"held_on": (d0 + timedelta(days=35)).isoformat(), "decision": "end"})
    assert ended.status_code == 200, ended.json
    assert ended.json["plan"]["status"] == "ended" and ended.json["plan"]["ended"]["step_down"] == "child_in_need_plan"
    assert ended.json["case"]["status"] == "plan_ended"

    assert [e[0] for e in events_of(plans_store)] == [
        "case.opened.v1", "strategy_discussion.held.v1", "enquiry.completed.v1", "conference.scheduled.v1",
        "conference.held.v1", "plan.created.v1", "conference.scheduled.v1", "conference.held.v1",
        "plan.version_agreed.v1", "conference.scheduled.v1", "conference.held.v1", "plan.ended.v1"]
    created = next(e for e in events_of(plans_store) if e[0] == "plan.created.v1")
    assert created[1] == plan["id"] and created[2]["content"]["key_worker"]["name"] == "Sam Social"
    assert plans_store.verify_log("audit").ok


def test_bad_steps_are_422_with_the_field_and_nothing_written(plans, plans_store, token_for):
    sw = bearer(token_for())
    case_id = plans.post("/v1/cases", json={"child_id": "child-1"}, headers=sw).json["id"]
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
    assert plans.post("/v1/cases/nope/strategy-discussions", json={"held_on": "2026-01-01"}, headers=sw).status_code == 404


def a_plan_to_conference(plans, sw, d0):
    case_id = plans.post("/v1/cases", json={"child_id": "child-2"}, headers=sw).json["id"]
    plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": d0.isoformat()}, headers=sw)
    plans.post(f"/v1/cases/{case_id}/enquiry-outcome", headers=sw,
               json={"completed_on": d0.isoformat(), "conference_required": True})
    return plans.post(f"/v1/cases/{case_id}/conferences", headers=sw,
                      json={"kind": "initial", "scheduled_for": d0.isoformat()}).json["id"]


FULL_OUTLINE = {
    **OUTLINE,
    "outcomes": [{"id": "safe-home", "description": "Ana lives in a safe, clean home", "term": "short",
                  "target_date": "2099-01-31", "how_progress_judged": "Home visits find the home safe"}],
    "actions": [{"id": "clean", "what": "Clear the kitchen", "why": "Hygiene risk",
                 "who": {"name": "Alex Parent", "kind": "family_member", "relationship": "mother"},
                 "by_when": "2099-01-15", "outcome_id": "safe-home"}],
    "review_arrangements": {"next_review_date": "2099-02-01", "how_progress_judged": "At the review conference"},
}


def test_an_outline_plan_with_dates_is_stored_as_json_and_dates_are_not_before_the_conference(plans, plans_store,
                                                                                             token_for):
    sw, chair = bearer(token_for()), bearer(token_for("chair"))
    d0 = date.today() - timedelta(days=5)
    conf_id = a_plan_to_conference(plans, sw, d0)
    early = {**FULL_OUTLINE, "actions": [{**FULL_OUTLINE["actions"][0], "by_when": (d0 - timedelta(days=1)).isoformat()}]}
    bad = plans.post(f"/v1/conferences/{conf_id}/outcome", headers=chair,
                     json={"held_on": d0.isoformat(), "plan_required": True, "outline_plan": early})
    assert bad.status_code == 422
    assert "by_when" in bad.json["errors"]["json"]["outline_plan"]["actions"]["0"]
    assert plans_store.collection("plans").count_documents({}) == 0

    good = plans.post(f"/v1/conferences/{conf_id}/outcome", headers=chair,
                      json={"held_on": d0.isoformat(), "plan_required": True, "outline_plan": FULL_OUTLINE})
    assert good.status_code == 200, good.json
    stored = plans_store.collection("plans").find_one({"_id": good.json["plan"]["id"]})
    assert stored["content"]["actions"][0]["by_when"] == "2099-01-15"
    assert stored["content"]["outcomes"][0]["target_date"] == "2099-01-31"
