"""ETags over the plans API: every create answers with the new record's
ETag, and a 428 shows the record's own ETag, never one it does not have."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from tests.helpers import KEY_WORKER_ATTENDS, a_child, bearer, ok
from tests.services.test_need_to_know import RESTRICTION
from tests.services.test_plans_lifecycle_http import OUTLINE

FORM_ONLY = 'If-Match: "<version>"'


def created(resp):
    """A create's answer: 201 with the record's ETag, "1" for a new record."""
    assert resp.status_code == 201, resp.json
    assert resp.headers.get("ETag") == f'"{resp.json["version"]}"' == '"1"', dict(resp.headers)
    return resp.json


@pytest.fixture
def tm(token_for):
    return bearer(token_for("team_manager", user="tm-1"))


@pytest.fixture
def chair(token_for):
    return bearer(token_for("chair", user="chair-1"))


def open_case(plans, sw, d0, conference_required=True):
    child = created(plans.post("/v1/children", json=a_child(), headers=sw))
    case = created(plans.post("/v1/cases", json={"child_id": child["id"]}, headers=sw))
    ok(plans.post(f"/v1/cases/{case['id']}/strategy-discussions", json={"held_on": d0.isoformat()}, headers=sw), 201)
    ok(
        plans.post(
            f"/v1/cases/{case['id']}/enquiry-outcome",
            headers=sw,
            json={"completed_on": d0.isoformat(), "conference_required": conference_required},
        )
    )
    return child, case


def test_every_create_answers_with_the_new_records_etag(plans, sw, tm, chair):
    d0 = date.today() - timedelta(days=20)
    child, case = open_case(plans, sw, d0)
    conference = created(
        plans.post(
            f"/v1/cases/{case['id']}/conferences",
            headers=sw,
            json={"kind": "initial", "scheduled_for": (d0 + timedelta(days=10)).isoformat()},
        )
    )
    assert plans.get(f"/v1/conferences/{conference['id']}", headers=sw).headers["ETag"] == '"1"'

    report = created(
        plans.post(
            f"/v1/conferences/{conference['id']}/reports",
            headers=sw,
            json={"findings": "Section 47.", "drafted_on": d0.isoformat()},
        )
    )
    assert plans.get(f"/v1/reports/{report['id']}", headers=sw).headers["ETag"] == '"1"'
    # The create's ETag is one to change the record with, without reading it again.
    resp = plans.post(f"/v1/conferences/{conference['id']}/reports", headers=sw, json={"findings": "Another."})
    changed = plans.patch(
        f"/v1/reports/{resp.json['id']}",
        json={"findings": "Changed."},
        headers={**sw, "If-Match": resp.headers["ETag"]},
    )
    assert changed.status_code == 200 and changed.headers["ETag"] == '"2"', changed.json

    held = ok(
        plans.post(
            f"/v1/conferences/{conference['id']}/outcome",
            headers=chair,
            json={"held_on": (d0 + timedelta(days=10)).isoformat(), "plan_required": True, "outline_plan": OUTLINE},
        )
    )
    panel = created(
        plans.post(
            f"/v1/plans/{held['plan']['id']}/resource-panel-requests",
            headers=sw,
            json={"reason": "Support at home.", "services": ["family support"]},
        )
    )
    assert panel["status"] == "waiting"
    plan_id = held["plan"]["id"]
    created(
        plans.post(
            f"/v1/plans/{plan_id}/visits",
            headers=sw,
            json={
                "visited_on": (d0 + timedelta(days=11)).isoformat(),
                "announced": True,
                "child_seen": True,
                "seen_alone": False,
                "by": "Sam Social",
            },
        )
    )
    created(
        plans.post(
            f"/v1/plans/{plan_id}/core-group-meetings",
            headers=sw,
            json={
                "held_on": (d0 + timedelta(days=12)).isoformat(),
                "detailed_plan_agreed": False,
                "attendees": [KEY_WORKER_ATTENDS],
            },
        )
    )

    _, stepped_down = open_case(plans, sw, d0, conference_required=False)
    created(
        plans.post(
            f"/v1/cases/{stepped_down['id']}/child-in-need-plans",
            headers=sw,
            json={
                "key_worker": {"name": "Sam Social"},
                "needs": "Support with routines.",
                "review_on": (date.today() + timedelta(days=60)).isoformat(),
            },
        )
    )


def test_a_create_sent_again_answers_with_the_same_etag(plans, sw):
    child = created(plans.post("/v1/children", json=a_child(), headers=sw))
    headers = {**sw, "Idempotency-Key": "open-case-1"}
    first = created(plans.post("/v1/cases", json={"child_id": child["id"]}, headers=headers))
    again = plans.post("/v1/cases", json={"child_id": child["id"]}, headers=headers)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert created(again)["id"] == first["id"]


def test_a_refused_create_has_no_etag(plans, sw):
    resp = plans.post("/v1/cases", json={"child_id": "no-such-child"}, headers=sw)
    assert resp.status_code == 422 and "ETag" not in resp.headers


def missing_if_match(resp):
    assert resp.status_code == 428, resp.json
    return resp.json["message"]


def test_a_428_shows_the_records_own_etag(plans, sw, tm, chair):
    d0 = date.today() - timedelta(days=20)
    child, case = open_case(plans, sw, d0)

    ok(
        plans.patch(
            f"/v1/children/{child['id']}", json={"family_name": "Jones-Smith"}, headers={**sw, "If-Match": '"1"'}
        )
    )
    message = missing_if_match(plans.patch(f"/v1/children/{child['id']}", json={"family_name": "Smith"}, headers=sw))
    assert 'If-Match: "2"' in message and FORM_ONLY not in message

    conference = created(
        plans.post(
            f"/v1/cases/{case['id']}/conferences",
            headers=sw,
            json={"kind": "initial", "scheduled_for": (d0 + timedelta(days=10)).isoformat()},
        )
    )
    moved_to = (d0 + timedelta(days=12)).isoformat()
    ok(
        plans.patch(
            f"/v1/conferences/{conference['id']}",
            headers={**sw, "If-Match": '"1"'},
            json={"scheduled_for": moved_to, "reason": "The chair is ill."},
        )
    )
    message = missing_if_match(
        plans.patch(
            f"/v1/conferences/{conference['id']}", headers=sw, json={"scheduled_for": moved_to, "reason": "Again."}
        )
    )
    assert 'If-Match: "2"' in message

    report = created(
        plans.post(
            f"/v1/conferences/{conference['id']}/reports",
            headers=sw,
            json={"findings": "Section 47.", "drafted_on": d0.isoformat()},
        )
    )
    # Each step answers with the report's new ETag.
    assert plans.post(f"/v1/reports/{report['id']}/submit", json={}, headers=sw).headers["ETag"] == '"2"'
    returned = plans.post(f"/v1/reports/{report['id']}/return", json={"reason": "Add the school's view."}, headers=tm)
    assert returned.status_code == 200 and returned.headers["ETag"] == '"3"', returned.json
    now = plans.get(f"/v1/reports/{report['id']}", headers=sw).headers["ETag"]
    assert now == '"3"'
    message = missing_if_match(plans.patch(f"/v1/reports/{report['id']}", json={"findings": "x"}, headers=sw))
    assert f"If-Match: {now}" in message
    assert re.findall(r'If-Match: "(\d+)"', message) == ["3"], "only the record's own version is shown"

    held = ok(
        plans.post(
            f"/v1/conferences/{conference['id']}/outcome",
            headers=chair,
            json={"held_on": moved_to, "plan_required": True, "outline_plan": OUTLINE},
        )
    )
    plan_etag = plans.get(f"/v1/plans/{held['plan']['id']}", headers=sw).headers["ETag"]
    message = missing_if_match(plans.patch(f"/v1/plans/{held['plan']['id']}", json={"concerns": "x"}, headers=sw))
    assert f"If-Match: {plan_etag}" in message
    # "*" is no ETag either: the same answer.
    message = missing_if_match(
        plans.patch(f"/v1/plans/{held['plan']['id']}", json={"concerns": "x"}, headers={**sw, "If-Match": "*"})
    )
    assert f"If-Match: {plan_etag}" in message


def test_a_428_for_a_record_not_found_shows_the_headers_form_only(plans, sw):
    message = missing_if_match(plans.patch("/v1/reports/no-such-report", json={"findings": "x"}, headers=sw))
    assert FORM_ONLY in message and not re.search(r'If-Match: "\d+"', message)


def test_a_428_tells_nothing_of_a_restricted_childs_record_to_someone_without_need_to_know(plans, sw, tm, token_for):
    child = created(plans.post("/v1/children", json=a_child(), headers=sw))
    ok(plans.put(f"/v1/children/{child['id']}/restriction", json=RESTRICTION, headers=tm))
    outsider = bearer(token_for("social_worker", user="sw-2"))
    message = missing_if_match(
        plans.patch(f"/v1/children/{child['id']}", json={"family_name": "Smith"}, headers=outsider)
    )
    assert FORM_ONLY in message and not re.search(r'If-Match: "\d+"', message)
    # Someone on the access list is shown the record's own.
    message = missing_if_match(plans.patch(f"/v1/children/{child['id']}", json={"family_name": "Smith"}, headers=sw))
    assert 'If-Match: "1"' in message
