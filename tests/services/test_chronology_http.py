"""A child's chronology over HTTP: every case's history, newest first, each
step with its day and who took it by name; read as the child is read
(another authority's child is a 404, a restricted one a 403 to anyone
without need to know), and itself a read on the audit log."""

from __future__ import annotations

from datetime import date, timedelta

from tests.helpers import bearer
from tests.services.test_lookup_http import NHS, OUTLINE, register
from tests.services.test_need_to_know import RESTRICTION

D0 = date.today() - timedelta(days=30)


def iso(days: int) -> str:
    return (D0 + timedelta(days=days)).isoformat()


def ok(resp, status=(200, 201)):
    assert resp.status_code in status, resp.json
    return resp.json


def walk(plans, sw, chair, tm, child_id):
    """A case from its strategy discussion to a plan ended at a review, then a child in need plan."""
    case_id = ok(plans.post("/v1/cases", json={"child_id": child_id}, headers=sw))["id"]
    ok(plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": iso(0)}, headers=sw))
    ok(
        plans.post(
            f"/v1/cases/{case_id}/enquiry-outcome",
            headers=sw,
            json={"completed_on": iso(2), "conference_required": True},
        )
    )
    conf = ok(
        plans.post(f"/v1/cases/{case_id}/conferences", headers=sw, json={"kind": "initial", "scheduled_for": iso(9)})
    )
    tag = plans.get(f"/v1/conferences/{conf['id']}", headers=sw).headers["ETag"]
    ok(
        plans.patch(
            f"/v1/conferences/{conf['id']}",
            headers={**tm, "If-Match": tag},
            json={"scheduled_for": iso(10), "reason": "The chair is unwell"},
        )
    )
    plan = ok(
        plans.post(
            f"/v1/conferences/{conf['id']}/outcome",
            headers=chair,
            json={"held_on": iso(10), "plan_required": True, "outline_plan": OUTLINE},
        )
    )["plan"]
    review = ok(
        plans.post(f"/v1/cases/{case_id}/conferences", headers=sw, json={"kind": "review", "scheduled_for": iso(20)})
    )
    kept = plans.post(
        f"/v1/conferences/{review['id']}/outcome",
        headers=chair,
        json={"held_on": iso(20), "decision": "continue", "reason": "Home conditions are good."},
    )
    assert kept.status_code == 422 and "reason" in kept.json["errors"]["json"]  # a reason only ends a plan
    ended = ok(
        plans.post(
            f"/v1/conferences/{review['id']}/outcome",
            headers=chair,
            json={"held_on": iso(20), "decision": "end", "reason": "Home conditions are good."},
        )
    )
    assert ended["plan"]["ended"]["reason"] == "Home conditions are good." and ended["plan"]["ended"]["by"] == "chair-1"
    ok(
        plans.post(
            f"/v1/cases/{case_id}/child-in-need-plans",
            headers=sw,
            json={
                "key_worker": {"name": "Sam Social"},
                "needs": "Support at home.",
                "review_on": iso(60),
                "created_on": iso(21),
            },
        )
    )
    return case_id, plan["id"], conf["id"], review["id"]


def test_every_step_of_every_case_newest_first_with_who_by_name(plans, token_for):
    sw = bearer(token_for("social_worker", user="sw-1", name="Sam Social"))
    chair = bearer(token_for("chair", user="chair-1", name="Morgan Chair"))
    tm = bearer(token_for("team_manager", user="tm-1", name="Priya Manager"))
    child_id = register(plans, sw, NHS)
    case_id, plan_id, initial_id, review_id = walk(plans, sw, chair, tm, child_id)

    resp = plans.get(f"/v1/children/{child_id}/chronology", headers=chair)
    assert resp.status_code == 200, resp.json
    entries = resp.json["entries"]
    today = date.today().isoformat()  # the walk backdates what happened; it scheduled and moved today
    assert [(e["type"], e["on"]) for e in entries] == [
        ("conference_moved", today),
        ("conference_scheduled", today),  # the review (the later conference first)
        ("conference_scheduled", today),  # the initial conference
        ("case_opened", today),
        ("child_in_need_plan_created", iso(21)),
        ("plan_ended", iso(20)),
        ("conference_held", iso(20)),
        ("plan_created", iso(10)),
        ("conference_held", iso(10)),
        ("enquiries_completed", iso(2)),
        ("strategy_discussion_held", iso(0)),
    ]
    by_type = {}
    for e in entries:
        by_type.setdefault(e["type"], e)
        assert e["case_id"] == case_id
    assert by_type["plan_ended"]["by"] == {"user": "chair-1", "name": "Morgan Chair"}
    assert by_type["plan_ended"]["plan_id"] == plan_id and by_type["plan_ended"]["conference_id"] == review_id
    assert by_type["plan_ended"]["detail"] == {
        "step_down": "child_in_need_plan",
        "reason": "Home conditions are good.",
        "how": "review_conference",
    }
    assert by_type["conference_held"]["detail"] == {
        "kind": "review",
        "decision": "end",
        "reason": "Home conditions are good.",
    }
    moved = by_type["conference_moved"]
    assert moved["by"]["name"] == "Priya Manager" and moved["conference_id"] == initial_id
    assert moved["detail"] == {
        "kind": "initial",
        "moved_from": iso(9),
        "moved_to": iso(10),
        "reason": "The chair is unwell",
    }
    initial = [e for e in entries if e["type"] == "conference_scheduled"][1]
    assert initial["conference_id"] == initial_id and initial["by"]["name"] == "Sam Social"
    assert initial["detail"]["scheduled_for"] == iso(9)  # the date it was first scheduled for
    assert by_type["strategy_discussion_held"]["by"]["name"] == "Sam Social"
    assert by_type["child_in_need_plan_created"]["detail"] == {"review_on": iso(60), "key_worker": "Sam Social"}
    # A read of the child's record, on the audit log.
    log = plans.get("/v1/audit?limit=1000", headers=bearer(token_for("auditor"))).json["records"]
    assert any(r["entry"]["record_type"] == "chronology" and r["entry"]["child_id"] == child_id for r in log)


def test_a_child_with_no_case_has_an_empty_chronology_and_an_unknown_child_is_404(plans, sw):
    child_id = register(plans, sw, NHS)
    assert plans.get(f"/v1/children/{child_id}/chronology", headers=sw).json == {"child_id": child_id, "entries": []}
    assert plans.get("/v1/children/no-such-child/chronology", headers=sw).status_code == 404


def test_a_partner_may_not_read_it_and_a_restricted_child_is_403_without_need_to_know(plans, token_for):
    sw = bearer(token_for("social_worker", user="sw-1"))
    tm = bearer(token_for("team_manager", user="tm-1"))
    child_id = register(plans, sw, NHS)
    walk(plans, sw, bearer(token_for("chair", user="chair-1")), tm, child_id)
    assert plans.get(f"/v1/children/{child_id}/chronology", headers=bearer(token_for("partner"))).status_code == 403
    ok(plans.put(f"/v1/children/{child_id}/restriction", json=RESTRICTION, headers=tm))
    other = plans.get(f"/v1/children/{child_id}/chronology", headers=bearer(token_for("social_worker", user="sw-2")))
    assert other.status_code == 403 and "restricted" in other.json["message"]
    assert plans.get(f"/v1/children/{child_id}/chronology", headers=sw).status_code == 200


def test_the_chronology_is_in_the_openapi_document(plans, sw):
    doc = plans.get("/openapi.json", headers=sw).json
    assert "get" in doc["paths"]["/v1/children/{child_id}/chronology"]
    assert "entries" in doc["components"]["schemas"]["Chronology"]["properties"]


def test_the_referral_its_decision_and_the_assessment_are_entries_in_their_order(plans, token_for):
    sw = bearer(token_for("social_worker", user="sw-1", name="Sam Social"))
    tm = bearer(token_for("team_manager", user="tm-1", name="Priya Manager"))
    assert plans.get("/v1/staff/me", headers=tm).status_code == 200  # in the staff directory, to authorise
    child_id = register(plans, sw, NHS)
    opened = plans.post("/v1/cases", json={"child_id": child_id}, headers=sw)
    case_id, etag = opened.json["id"], opened.headers["ETag"]
    steps = [
        (sw, "referral", {"received_on": iso(-3), "source": "school", "summary": "A bruise seen at school."}),
        (tm, "referral/decision", {"decided_on": iso(-2), "decision": "assessment", "reason": "A bruise on a baby"}),
        (sw, "assessment", {"started_on": iso(-2), "factors": ["physical_abuse"], "other_factors": "A new partner"}),
        (
            sw,
            "assessment/completion",
            {"completed_on": iso(-1), "outcome": "strategy_discussion", "authorised_by": "tm-1"},
        ),
    ]
    for headers, path, body in steps:
        answer = plans.post(f"/v1/cases/{case_id}/{path}", json=body, headers={**headers, "If-Match": etag})
        assert answer.status_code == 200, answer.json
        etag = answer.headers["ETag"]
    ok(plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": iso(0)}, headers=sw))

    entries = ok(plans.get(f"/v1/children/{child_id}/chronology", headers=sw))["entries"]
    assert [(e["type"], e["on"], e["by"]["name"]) for e in entries] == [
        ("case_opened", date.today().isoformat(), "Sam Social"),
        ("strategy_discussion_held", iso(0), "Sam Social"),
        ("assessment_completed", iso(-1), "Sam Social"),
        ("assessment_started", iso(-2), "Sam Social"),  # the same day as the decision, and after it
        ("referral_decided", iso(-2), "Priya Manager"),
        ("referral_received", iso(-3), "Sam Social"),
    ]
    detail = {e["type"]: e["detail"] for e in entries}
    assert detail["referral_received"] == {"source": "school"}
    assert detail["referral_decided"] == {"decision": "assessment", "reason": "A bruise on a baby"}
    assert detail["assessment_started"] == {"factors": ["physical_abuse"], "other_factors": "A new partner"}
    assert detail["assessment_completed"] == {"outcome": "strategy_discussion", "authorised_by": "Priya Manager"}
    assert all(e["case_id"] == case_id for e in entries)


def test_a_referral_not_yet_decided_is_the_only_one_of_its_entries(plans, sw):
    child_id = register(plans, sw, NHS)
    opened = plans.post("/v1/cases", json={"child_id": child_id}, headers=sw)
    body = {"received_on": iso(0), "source": "anonymous"}
    headers = {**sw, "If-Match": opened.headers["ETag"]}
    assert plans.post(f"/v1/cases/{opened.json['id']}/referral", json=body, headers=headers).status_code == 200
    entries = ok(plans.get(f"/v1/children/{child_id}/chronology", headers=sw))["entries"]
    assert [e["type"] for e in entries] == ["case_opened", "referral_received"]
