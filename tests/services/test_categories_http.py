"""The deployment's categories of harm over HTTP (cpp_categories): listed at GET /v1/categories, the only ones a
plan's content accepts, in the OpenAPI document; a plan's initial and latest categories; repeat plans."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cpp_plans.app import create_app
from tests.helpers import QUORATE, bearer, ensure_child
from tests.services.test_plans_lifecycle_http import OUTLINE

D0 = date.today() - timedelta(days=60)


def held(plans, sw, chair, child_id, outline, *, on=D0):
    """Open a case for the child and hold its initial conference with ``outline``: the outcome's response."""
    case_id = plans.post("/v1/cases", json={"child_id": ensure_child(plans, child_id)}, headers=sw).json["id"]
    plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": on.isoformat()}, headers=sw)
    plans.post(
        f"/v1/cases/{case_id}/enquiry-outcome",
        json={"completed_on": on.isoformat(), "conference_required": True},
        headers=sw,
    )
    conf = plans.post(
        f"/v1/cases/{case_id}/conferences", json={"kind": "initial", "scheduled_for": on.isoformat()}, headers=sw
    ).json
    body = {"held_on": on.isoformat(), "plan_required": True, "outline_plan": outline, "attendees": QUORATE}
    return plans.post(f"/v1/conferences/{conf['id']}/outcome", json=body, headers=chair)


def review(plans, sw, chair, of_plan, on, **outcome):
    conf = plans.post(
        f"/v1/cases/{of_plan['case_id']}/conferences",
        json={"kind": "review", "scheduled_for": on.isoformat()},
        headers=sw,
    ).json
    answer = plans.post(
        f"/v1/conferences/{conf['id']}/outcome",
        json={"held_on": on.isoformat(), "attendees": QUORATE, **outcome},
        headers=chair,
    )
    assert answer.status_code == 200, answer.json
    return answer.json["plan"]


@pytest.fixture
def people(token_for):
    return bearer(token_for("social_worker", user="sw-1")), bearer(token_for("chair", user="chair-1"))


def test_england_lists_its_four_categories_with_their_census_codes(plans, people):
    sw, _ = people
    listed = plans.get("/v1/categories", headers=sw)
    assert listed.status_code == 200
    assert listed.json["items"] == [
        {"id": "physical_abuse", "name": "Physical abuse", "census_code": "PHY"},
        {"id": "sexual_abuse", "name": "Sexual abuse", "census_code": "SAB"},
        {"id": "emotional_abuse", "name": "Emotional abuse", "census_code": "EMO"},
        {"id": "neglect", "name": "Neglect", "census_code": "NEG"},
    ]
    assert plans.get("/v1/categories").status_code == 401


def test_a_scottish_concern_in_england_is_a_422_naming_the_allowed_ids(plans, people):
    sw, chair = people
    refused = held(plans, sw, chair, "child-1", {**OUTLINE, "categories": ["domestic_abuse"]})
    assert refused.status_code == 422
    message = refused.json["errors"]["json"]["outline_plan"]["categories"]["0"][0]
    assert message == "Must be one of: physical_abuse, sexual_abuse, emotional_abuse, neglect."


def test_a_scottish_deployment_offers_and_accepts_its_areas_of_concern_only(make_settings, token_for):
    app = create_app(make_settings("plans", CPP_PLUGINS="scotland"))
    plans = app.test_client()
    sw = bearer(token_for("social_worker", user="sw-1", authority="SCT"))
    chair = bearer(token_for("chair", user="chair-1", authority="SCT"))
    offered = [c["id"] for c in plans.get("/v1/categories", headers=sw).json["items"]]
    assert "domestic_abuse" in offered and "sexual_abuse" not in offered

    refused = held(plans, sw, chair, "child-1", {**OUTLINE, "categories": ["sexual_abuse"]})
    assert refused.status_code == 422
    assert "domestic_abuse" in refused.json["errors"]["json"]["outline_plan"]["categories"]["0"][0]
    made = held(plans, sw, chair, "child-2", {**OUTLINE, "categories": ["domestic_abuse", "child_sexual_abuse"]})
    assert made.status_code == 200, made.json
    assert made.json["plan"]["categories"] == ["domestic_abuse", "child_sexual_abuse"]

    document = app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    field = document["components"]["schemas"]["PlanContent"]["properties"]["categories"]
    assert field["items"]["enum"] == offered and "Domestic abuse" in field["description"]


def test_a_plan_keeps_its_initial_categories_when_a_review_revises_them(plans, plans_store, people):
    sw, chair = people
    plan = held(plans, sw, chair, "child-1", OUTLINE).json["plan"]
    assert plan["initial_categories"] == plan["categories"] == ["neglect"]
    revised = review(
        plans,
        sw,
        chair,
        plan,
        D0 + timedelta(days=30),
        decision="revise",
        plan={**OUTLINE, "categories": ["emotional_abuse"]},
    )
    assert revised["categories"] == ["emotional_abuse"] and revised["initial_categories"] == ["neglect"]
    snapshot = [m.body["data"] for m in plans_store.outbox_pending(1000) if m.routing_key == "plan.version_agreed.v1"][
        -1
    ]
    assert snapshot["initial_categories"] == ["neglect"] and snapshot["categories"] == ["emotional_abuse"]


def test_a_second_plan_for_the_same_child_records_the_first(plans, plans_store, people):
    sw, chair = people
    first = held(plans, sw, chair, "child-1", OUTLINE).json["plan"]
    assert first["previous_plan_ids"] == [] and first["previous_plans"] == 0
    review(plans, sw, chair, first, D0 + timedelta(days=20), decision="end", reason="Safe at home now")

    second = held(plans, sw, chair, "child-1", OUTLINE, on=D0 + timedelta(days=40))
    assert second.status_code == 200, second.json
    plan = plans.get(f"/v1/plans/{second.json['plan']['id']}", headers=sw).json
    assert plan["previous_plan_ids"] == [first["id"]] and plan["previous_plans"] == 1
    created = [m.body["data"] for m in plans_store.outbox_pending(1000) if m.routing_key == "plan.created.v1"][-1]
    assert created["previous_plan_ids"] == [first["id"]] and created["previous_plans"] == 1


def test_a_stored_plan_whose_category_is_no_longer_offered_stays_readable_and_changeable(plans, plans_store, people):
    sw, chair = people
    plan = held(plans, sw, chair, "child-1", OUTLINE).json["plan"]
    stored = plans_store.collection("plans").find_one({"_id": plan["id"]})
    withdrawn = {**stored["content"], "categories": ["financial_abuse"]}
    with plans_store.unit_of_work() as uow:  # as a deployment that offered it once stored it
        uow.replace(
            "plans",
            {**stored, "content": withdrawn, "categories": ["financial_abuse"]},
            expected_version=stored["version"],
        )

    got = plans.get(f"/v1/plans/{plan['id']}", headers=sw)
    assert got.status_code == 200 and got.json["content"]["categories"] == ["financial_abuse"]
    changed = plans.patch(
        f"/v1/plans/{plan['id']}",
        json={"childs_views": "Ana says she feels safer."},
        headers={**sw, "If-Match": got.headers["ETag"]},
    )
    assert changed.status_code == 200, changed.json
    assert changed.json["categories"] == ["financial_abuse"] and changed.json["initial_categories"] == ["neglect"]


def test_a_partner_reads_the_categories_and_nothing_else_it_could_not(plans, people, token_for):
    sw, chair = people
    partner = bearer(token_for("partner", user="police-1"))
    listed = plans.get("/v1/categories", headers=partner)
    assert listed.status_code == 200, listed.json
    assert listed.json == plans.get("/v1/categories", headers=sw).json
    answer = held(plans, sw, chair, "child-p", OUTLINE)
    assert answer.status_code == 200, answer.json
    plan, case_id, child_id = answer.json["plan"], answer.json["case"]["id"], answer.json["plan"]["child_id"]
    for path in (
        "/v1/children",
        f"/v1/children/{child_id}",
        f"/v1/children/{child_id}/chronology",
        "/v1/cases",
        f"/v1/cases/{case_id}",
        "/v1/plans",
        f"/v1/plans/{plan['id']}",
        f"/v1/plans/{plan['id']}/versions",
        "/v1/staff",
        "/v1/approvals",
        "/v1/audit",
    ):
        assert plans.get(path, headers=partner).status_code == 403, path
    assert plans.post("/v1/cases", json={"child_id": child_id}, headers=partner).status_code == 403
