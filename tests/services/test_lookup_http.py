"""The partner lookup over HTTP (Flask test client, real SQLite store)."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest

from cpp_plans.api import lookup
from cpp_plans.app import create_app as create_plans_app
from cpp_shared import revocations
from cpp_shared.plugins import PluginError, Plugins
from tests.helpers import bearer, ensure_child

NHS = "9434765919"  # the standard NHS test number
NHS_NO_PLAN = "9434765870"
NHS_UNKNOWN = "4010232137"
BAD_CHECKSUM = "9434765918"

TOP_KEYS = {
    "nhs_number",
    "status",
    "summary",
    "subject_of_plan",
    "plan_status",
    "since",
    "ended_on",
    "ended_plans_told_for_months",
    "categories",
    "contact",
}
CONTACT_KEYS = {"team", "phone", "email", "out_of_hours_phone", "key_worker", "key_worker_phone"}
EVENT_KEYS = {
    "lookup_id",
    "performed_at",
    "partner",
    "partner_role",
    "authority",
    "child_id",
    "child",
    "plan_id",
    "plan_status",
    "key_worker",
    "key_worker_user",
    "subject_of_plan",
}

OUTLINE = {
    "key_worker": {
        "name": "Sam Social",
        "role": "social worker",
        "phone": "020 7946 0000",
        "email": "sam.social@example.org",
    },
    "categories": ["neglect", "emotional_abuse"],
    "core_group": [
        {"name": "Sam Social", "role": "social worker", "agency": "Children's services", "is_family_member": False},
        {"name": "Hana Visitor", "role": "health visitor", "agency": "NHS", "is_family_member": False},
        {"name": "Alex Parent", "role": "parent", "agency": "family", "is_family_member": True},
    ],
    "concerns": "Home conditions and missed health appointments.",
}


@pytest.fixture
def chair(token_for):
    return bearer(token_for("chair", user="chair-1"))


@pytest.fixture
def partner(token_for):
    return bearer(token_for("partner", user="hv-jones"))


def child_body(nhs, **overrides):
    body = {
        "given_names": "Amira Grace",
        "family_name": "Okafor-Smith",
        "date_of_birth": "2019-05-31",
        "identifiers": [{"scheme": "nhs_number", "value": nhs}],
        "gender": "2",
        "ethnicity": "MWBA",
        "first_language": "English",
        "interpreter_needed": False,
        "address": {"lines": ["Flat 2", "14 Garden Row", "London"], "postcode": "SE1 7PB"},
        "school_or_nursery": {"name": "Garden Row Primary"},
        "people_with_parental_responsibility": [{"name": "Ngozi Okafor", "relationship": "mother"}],
    }
    body.update(overrides)
    return body


def register(client, sw, nhs):
    resp = client.post("/v1/children", json=child_body(nhs), headers=sw)
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


def put_on_plan(client, sw, chair, child_id, d0):
    """A case from its strategy discussion to an outline plan at the initial conference."""
    case_id = client.post("/v1/cases", json={"child_id": ensure_child(client, child_id)}, headers=sw).json["id"]
    assert (
        client.post(
            f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": d0.isoformat()}, headers=sw
        ).status_code
        == 201
    )
    assert (
        client.post(
            f"/v1/cases/{case_id}/enquiry-outcome",
            headers=sw,
            json={"completed_on": d0.isoformat(), "conference_required": True},
        ).status_code
        == 200
    )
    conf = client.post(
        f"/v1/cases/{case_id}/conferences", headers=sw, json={"kind": "initial", "scheduled_for": d0.isoformat()}
    )
    assert conf.status_code == 201, conf.json
    held = client.post(
        f"/v1/conferences/{conf.json['id']}/outcome",
        headers=chair,
        json={"held_on": d0.isoformat(), "plan_required": True, "outline_plan": OUTLINE},
    )
    assert held.status_code == 200, held.json
    return case_id, held.json["plan"]


def end_plan(client, sw, chair, case_id, on):
    review = client.post(
        f"/v1/cases/{case_id}/conferences", headers=sw, json={"kind": "review", "scheduled_for": on.isoformat()}
    )
    assert review.status_code == 201, review.json
    ended = client.post(
        f"/v1/conferences/{review.json['id']}/outcome",
        headers=chair,
        json={"held_on": on.isoformat(), "decision": "end"},
    )
    assert ended.status_code == 200 and ended.json["plan"]["status"] == "ended", ended.json


def look_up(client, headers, nhs):
    resp = client.get("/v1/lookup", query_string={"nhs_number": nhs}, headers=headers)
    assert resp.status_code == 200, resp.json
    assert set(resp.json) == TOP_KEYS
    assert set(resp.json["contact"]) == CONTACT_KEYS
    return resp.json


def lookup_events(store):
    return [m.body for m in store.outbox_pending(1000) if m.routing_key == "lookup.performed.v1"]


def words(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def not_on_plan(nhs):
    return {
        "nhs_number": nhs,
        "status": "none",
        "summary": "No child protection plan",
        "subject_of_plan": False,
        "plan_status": None,
        "since": None,
        "ended_on": None,
        "ended_plans_told_for_months": 12,
        "categories": [],
        "contact": {
            "team": "England (Working Together defaults)",
            "phone": None,
            "email": None,
            "out_of_hours_phone": None,
            "key_worker": None,
            "key_worker_phone": None,
        },
    }


@pytest.fixture
def authority(app):
    """The deployment's authority dict, restored after the test."""
    authority = app.extensions["cpp"].authority
    kept = dict(authority)
    yield authority
    authority.clear()
    authority.update(kept)


def test_a_partner_gets_only_the_minimal_answer_for_a_child_on_a_plan(client, store, sw, chair, partner):
    child_id = register(client, sw, NHS)
    d0 = date.today() - timedelta(days=10)
    _, plan = put_on_plan(client, sw, chair, child_id, d0)

    answer = look_up(client, partner, "943 476 5919")
    assert answer == {
        "nhs_number": NHS,
        "status": "in_force",
        "summary": f"Child protection plan in force since {words(d0)}",
        "subject_of_plan": True,
        "plan_status": "outline",
        "since": d0.isoformat(),
        "ended_on": None,
        "ended_plans_told_for_months": 12,
        "categories": ["neglect", "emotional_abuse"],
        "contact": {
            "team": "England (Working Together defaults)",
            "phone": None,
            "email": None,
            "out_of_hours_phone": None,
            "key_worker": "Sam Social",
            "key_worker_phone": "020 7946 0000",
        },  # the plan's, the directory having none
    }
    # Nothing of the child, the family, the plan's narrative or the key worker's email.
    text = json.dumps(answer)
    for secret in (
        "Amira",
        "Okafor",
        "Garden Row",
        "SE1",
        "Ngozi",
        "Home conditions",
        "sam.social@example.org",
        child_id,
        plan["id"],
    ):
        assert secret not in text

    # An active plan (after the first core group: no endpoint yet, so set in the store) is a plan too.
    store.collection("plans").update_one({"_id": plan["id"]}, {"$set": {"status": "active"}})
    assert look_up(client, partner, NHS)["plan_status"] == "active"


def test_an_unknown_child_and_a_child_without_a_plan_get_the_same_answer(client, sw, partner):
    register(client, sw, NHS_NO_PLAN)
    assert look_up(client, partner, NHS_UNKNOWN) == not_on_plan(NHS_UNKNOWN)
    assert look_up(client, partner, "943-476-5870") == not_on_plan(NHS_NO_PLAN)


def test_a_partners_lookup_of_a_child_whose_plan_ended_is_told_so(client, store, sw, chair, partner):
    child_id = register(client, sw, NHS)
    d0 = date.today() - timedelta(days=30)
    case_id, plan = put_on_plan(client, sw, chair, child_id, d0)
    ended_on = d0 + timedelta(days=20)
    end_plan(client, sw, chair, case_id, ended_on)

    answer = look_up(client, partner, NHS)
    assert answer == {
        "nhs_number": NHS,
        "status": "ended",
        "summary": f"Child protection plan from {words(d0)}, ended on {words(ended_on)}",
        "subject_of_plan": False,
        "plan_status": None,
        "since": d0.isoformat(),
        "ended_on": ended_on.isoformat(),
        "ended_plans_told_for_months": 12,
        "categories": [],
        "contact": {
            "team": "England (Working Together defaults)",
            "phone": None,
            "email": None,
            "out_of_hours_phone": None,
            "key_worker": "Sam Social",
            "key_worker_phone": "020 7946 0000",
        },
    }
    [event] = lookup_events(store)
    assert event["data"] == {
        **event["data"],
        "plan_status": "ended",
        "subject_of_plan": False,
        "plan_id": plan["id"],
        "key_worker": "Sam Social",
    }


def test_a_plan_ended_longer_ago_than_the_authority_tells_of_is_no_plan(client, store, sw, chair, partner, authority):
    child_id = register(client, sw, NHS)
    d0 = date.today() - timedelta(days=60)
    case_id, plan = put_on_plan(client, sw, chair, child_id, d0)
    end_plan(client, sw, chair, case_id, d0 + timedelta(days=20))
    # Ended 13 months ago (moved back in the store): beyond the default 12 months.
    long_ago = (date.today() - timedelta(days=400)).isoformat()
    store.collection("plans").update_one(
        {"_id": plan["id"]},
        {"$set": {"ended": {**store.collection("plans").find_one({"_id": plan["id"]})["ended"], "on": long_ago}}},
    )
    assert look_up(client, partner, NHS) == not_on_plan(NHS)

    authority[lookup.ENDED_MONTHS] = 24  # a council that tells of plans ended in the last two years
    answer = look_up(client, partner, NHS)
    assert (answer["status"], answer["ended_on"], answer["ended_plans_told_for_months"]) == ("ended", long_ago, 24)

    authority[lookup.ENDED_MONTHS] = 0  # one that tells of plans in force only
    assert look_up(client, partner, NHS) == {**not_on_plan(NHS), "ended_plans_told_for_months": 0}
    assert [e["data"]["plan_status"] for e in lookup_events(store)] == ["none", "ended", "none"]
    assert [e["data"]["key_worker"] for e in lookup_events(store)] == [None, "Sam Social", None]


def test_a_new_plan_after_an_ended_one_is_in_force(client, sw, chair, partner):
    child_id = register(client, sw, NHS)
    d0 = date.today() - timedelta(days=90)
    case_id, _ = put_on_plan(client, sw, chair, child_id, d0)
    end_plan(client, sw, chair, case_id, d0 + timedelta(days=20))
    again = date.today() - timedelta(days=5)
    put_on_plan(client, sw, chair, child_id, again)
    answer = look_up(client, partner, NHS)
    assert (answer["status"], answer["since"], answer["ended_on"]) == ("in_force", again.isoformat(), None)


def test_the_key_worker_linked_to_the_directory_is_named_with_their_direct_phone(
    client, store, sw, chair, partner, token_for
):
    child_id = register(client, sw, NHS)
    _, plan = put_on_plan(client, sw, chair, child_id, date.today() - timedelta(days=3))
    stored = store.collection("plans").find_one({"_id": plan["id"]})
    store.collection("plans").update_one(
        {"_id": plan["id"]},
        {"$set": {"content": {**stored["content"], "key_worker": {**stored["content"]["key_worker"], "user": "sw-7"}}}},
    )
    admin = bearer(token_for("admin", user="admin-1"))
    put = client.post(
        "/v1/staff",
        headers=admin,
        json={"user": "sw-7", "name": "Samira Social", "role": "social_worker", "phone": "020 7946 0123"},
    )
    assert put.status_code == 201, put.json

    contact = look_up(client, partner, NHS)["contact"]
    assert (contact["key_worker"], contact["key_worker_phone"]) == ("Samira Social", "020 7946 0123")
    [event] = lookup_events(store)
    assert (event["data"]["key_worker"], event["data"]["key_worker_user"]) == ("Samira Social", "sw-7")

    # Without a direct number in the directory, the plan's number is given.
    client.put("/v1/staff/sw-7", headers=admin, json={"name": "Samira Social", "role": "social_worker", "phone": None})
    assert look_up(client, partner, NHS)["contact"]["key_worker_phone"] == "020 7946 0000"


def test_the_team_contacts_and_out_of_hours_number_are_the_authoritys(client, partner, authority):
    authority["contacts"] = [
        {"name": "Duty desk", "role": "front door"},
        {"name": "MASH", "phone": "020 7946 0999", "email": "mash@example.gov.uk"},
    ]
    authority[lookup.OUT_OF_HOURS] = "020 7946 0888"
    contact = look_up(client, partner, NHS_UNKNOWN)["contact"]
    assert contact == {
        "team": authority["name"],
        "phone": "020 7946 0999",
        "email": "mash@example.gov.uk",
        "out_of_hours_phone": "020 7946 0888",
        "key_worker": None,
        "key_worker_phone": None,
    }


@pytest.mark.parametrize(
    "query, field",
    [
        ({"nhs_number": BAD_CHECKSUM}, "nhs_number"),
        ({"nhs_number": "94347659"}, "nhs_number"),
        ({"nhs_number": ""}, "nhs_number"),
        ({}, "nhs_number"),
        ({"nhs_number": NHS, "family_name": "Okafor-Smith"}, "family_name"),
    ],
)
def test_bad_queries_are_422_on_the_field_and_nothing_is_recorded(client, store, partner, query, field):
    resp = client.get("/v1/lookup", query_string=query, headers=partner)
    assert resp.status_code == 422, resp.json
    assert field in resp.json["errors"]["query"], resp.json
    assert lookup_events(store) == [] and store.read_log("audit") == []


@pytest.mark.parametrize("role", ["social_worker", "team_manager", "chair", "auditor", "admin"])
def test_only_partners_use_the_lookup(client, store, token_for, role):
    resp = client.get("/v1/lookup", query_string={"nhs_number": NHS}, headers=bearer(token_for(role)))
    assert resp.status_code == 403, resp.json
    # The role is checked before the query: a bad query from a non-partner is a 403 too.
    resp = client.get("/v1/lookup", query_string={"nhs_number": BAD_CHECKSUM}, headers=bearer(token_for(role)))
    assert resp.status_code == 403, resp.json
    assert lookup_events(store) == [] and store.read_log("audit") == []


def test_a_lookup_needs_a_token_of_this_authority(client, token_for):
    assert client.get("/v1/lookup", query_string={"nhs_number": NHS}).status_code == 401
    other = bearer(token_for("partner", authority="WLS"))
    assert client.get("/v1/lookup", query_string={"nhs_number": NHS}, headers=other).status_code == 403


def test_each_lookup_is_audited_and_tells_the_key_worker_without_the_nhs_number(client, store, sw, chair, partner):
    child_id = register(client, sw, NHS)
    _, plan = put_on_plan(client, sw, chair, child_id, date.today() - timedelta(days=3))
    audit_before = len(store.read_log("audit"))
    assert lookup_events(store) == []

    look_up(client, partner, NHS)
    look_up(client, partner, NHS_UNKNOWN)

    events = lookup_events(store)
    assert len(events) == 2
    known, unknown = events
    assert known["subject"] == child_id
    assert set(known["data"]) == EVENT_KEYS
    assert known["data"] == {
        **known["data"],
        "partner": "hv-jones",
        "partner_role": "partner",
        "authority": "ENG",
        "child_id": child_id,
        "plan_id": plan["id"],
        "plan_status": "in_force",
        "key_worker": "Sam Social",
        "key_worker_user": "sw-1",
        "subject_of_plan": True,
    }
    # A known child is named as in every event about them (their identifiers go only where scope allows).
    assert known["data"]["child"] == {
        "name": "Amira Grace Okafor-Smith",
        "date_of_birth": "2019-05-31",
        "nhs_number": NHS,
    }
    assert unknown["subject"] == unknown["data"]["lookup_id"], "an unknown child's number is not the subject"
    assert set(unknown["data"]) == EVENT_KEYS
    assert unknown["data"] == {
        **unknown["data"],
        "partner": "hv-jones",
        "child_id": None,
        "child": None,
        "plan_id": None,
        "plan_status": "none",
        "key_worker": None,
        "key_worker_user": None,
        "subject_of_plan": False,
    }
    assert known["data"]["lookup_id"] != unknown["data"]["lookup_id"]
    for event in events:
        text = json.dumps({**event, "data": {k: v for k, v in event["data"].items() if k != "child"}})
        for nhs in (NHS, NHS_UNKNOWN, "943 476 5919"):
            assert nhs not in text
    assert NHS_UNKNOWN not in json.dumps(unknown)

    entries = [r.entry for r in store.read_log("audit")[audit_before:]]
    assert len(entries) == 2
    assert [(e["action"], e["record_type"], e["actor"], e["role"]) for e in entries] == [
        ("lookup", "child", "hv-jones", "partner"),
        ("lookup", "lookup", "hv-jones", "partner"),
    ]
    assert entries[0]["record_id"] == child_id and entries[0]["child_id"] == child_id
    assert entries[0]["detail"]["lookup_id"] == known["data"]["lookup_id"]
    assert entries[1]["record_id"] == unknown["data"]["lookup_id"] and entries[1]["child_id"] is None
    # The audit log, inside the system of record, says which number was looked up.
    assert [e["detail"]["nhs_number"] for e in entries] == [NHS, NHS_UNKNOWN]
    assert store.verify_log("audit").ok


def test_a_lookup_makes_three_indexed_reads(client, store, sw, chair, partner, monkeypatch):
    child_id = register(client, sw, NHS)
    put_on_plan(client, sw, chair, child_id, date.today())
    reads = []
    real_read = store.inner._read
    monkeypatch.setattr(store.inner, "_read", lambda sql, params: reads.append(sql) or real_read(sql, params))
    monkeypatch.setattr(revocations, "_clock", lambda: 1000.0)  # the token's kept answer does not expire here
    assert look_up(client, partner, NHS)["subject_of_plan"] is True
    # The token's first request also reads its revocations (one indexed read, kept a few seconds); the plan's key
    # worker is a member of staff: one more read, of the directory by its user index, for their direct phone.
    assert len(reads) == 4 and sum("c_revocations" in sql for sql in reads) == 1, reads
    reads.clear()
    assert look_up(client, partner, NHS)["contact"]["key_worker"] == "Sam Social"
    assert len(reads) == 3 and "c_staff" in reads[2], reads
    assert len(lookup_events(store)) == 2  # and each lookup's one commit happened
    staff_plan = store.collection("staff").explain({"user": "sw-1"})
    assert not any(re.match(r"SCAN c_staff\b", step) for step in staff_plan), staff_plan

    children_plan = store.collection("children").explain({"nhs_key": f"ENG:{NHS}", "authority": "ENG"})
    plans_plan = store.collection("plans").explain(
        {"child_id": child_id, "authority": "ENG", "status": {"$in": lookup.TOLD}}, sort=[("created_on", -1)]
    )
    assert any("c_children USING INDEX ux:c_children:nhs_key" in step for step in children_plan), children_plan
    assert any("c_plans USING INDEX ix:c_plans:child_id" in step for step in plans_plan), plans_plan
    assert not any(re.match(r"SCAN c_(children|plans)\b", step) for step in children_plan + plans_plan)


def test_the_service_does_not_start_with_a_wrong_lookup_setting(make_settings, monkeypatch):
    real = Plugins.authority
    monkeypatch.setattr(Plugins, "authority", lambda self: {**real(self), lookup.ENDED_MONTHS: "twelve"})
    with pytest.raises(PluginError, match=lookup.ENDED_MONTHS):
        create_plans_app(make_settings("plans"))
