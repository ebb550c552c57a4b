"""The plans service over HTTP (Flask test client, real SQLite store)."""

import time

import pytest

from cpp_shared.store import StoreUnavailable
from tests.helpers import bearer, new_child


def nothing_written(store):
    return store.collection("cases").count_documents({}) == 0 and store.outbox_stats().pending == 0


def test_opening_a_case_stores_it_and_its_event_together(plans, plans_store, token_for):
    sw = bearer(token_for("social_worker", user="sw-1"))
    child_id = new_child(plans, sw)
    before = len(plans_store.outbox_pending())
    resp = plans.post("/v1/cases", json={"child_id": child_id}, headers=sw)
    assert resp.status_code == 201, resp.json
    case = resp.json
    assert case["child_id"] == child_id and case["status"] == "enquiries" and case["version"] == 1
    assert case["opened_by"] == "sw-1"
    stored = plans_store.collection("cases").find_one({"_id": case["id"]})
    assert stored["child_id"] == child_id and stored["authority"] == "ENG"
    event, family = plans_store.outbox_pending()[before:]
    assert event.routing_key == "case.opened.v1"
    # a child in no family is given a family of one with the case
    assert family.routing_key == "family.recorded.v1" and family.body["data"]["children"] == [child_id]
    assert event.body["subject"] == case["id"] and event.body["data"]["child_id"] == child_id
    assert event.body["authority"] == "ENG" and event.body["source"] == "/services/plans"
    assert event.body["correlationid"] == resp.headers["X-Request-Id"]
    got = plans.get(f"/v1/cases/{case['id']}", headers=bearer(token_for("auditor")))
    assert got.status_code == 200 and got.json["id"] == case["id"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Bearer "},
    ],
)
def test_missing_or_bad_token_is_401_and_nothing_is_written(plans, plans_store, headers):
    resp = plans.post("/v1/cases", json={"child_id": "child-1"}, headers=headers)
    assert resp.status_code == 401
    assert resp.json["code"] == 401 and resp.json["message"]
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert nothing_written(plans_store)


def test_expired_token_is_401_and_nothing_is_written(plans, plans_store, token_for):
    expired = token_for(now=time.time() - 3600, ttl=60)
    resp = plans.post("/v1/cases", json={"child_id": "child-1"}, headers=bearer(expired))
    assert resp.status_code == 401 and "expired" in resp.json["message"]
    assert nothing_written(plans_store)


def test_a_partner_may_not_open_a_case(plans, plans_store, token_for):
    resp = plans.post("/v1/cases", json={"child_id": "child-1"}, headers=bearer(token_for("partner")))
    assert resp.status_code == 403
    assert nothing_written(plans_store)


def test_a_token_for_another_authority_is_403(plans, plans_store, token_for):
    resp = plans.post("/v1/cases", json={"child_id": "child-1"}, headers=bearer(token_for(authority="GG")))
    assert resp.status_code == 403 and "'GG'" in resp.json["message"]
    assert nothing_written(plans_store)


@pytest.mark.parametrize(
    "body,field",
    [
        ({}, "child_id"),
        ({"child_id": ""}, "child_id"),
        ({"child_id": 12}, "child_id"),
        ({"child_id": "c", "extra": 1}, "extra"),
    ],
)
def test_bad_input_is_422_with_field_errors_and_nothing_written(plans, plans_store, token_for, body, field):
    resp = plans.post("/v1/cases", json=body, headers=bearer(token_for()))
    assert resp.status_code == 422
    assert field in resp.json["errors"]["json"]
    assert nothing_written(plans_store)


def test_a_case_is_opened_only_for_a_child_of_the_authority(plans, plans_store, token_for):
    sw = bearer(token_for())
    plans_store.inner.collection("children").insert_one({"_id": "theirs", "authority": "GG", "family_name": "Le Page"})
    for child_id in ("theirs", "no-such-child"):
        resp = plans.post("/v1/cases", json={"child_id": child_id}, headers=sw)
        assert resp.status_code == 422, resp.json
        assert "registered with this authority" in resp.json["errors"]["json"]["child_id"][0]
    assert nothing_written(plans_store)


def test_unknown_case_is_a_json_404(plans, token_for):
    resp = plans.get("/v1/cases/nope", headers=bearer(token_for()))
    assert resp.status_code == 404 and resp.json["code"] == 404


def test_unknown_route_is_a_json_404(plans):
    resp = plans.get("/v1/nowhere")
    assert resp.status_code == 404 and resp.is_json


def test_store_failure_is_a_503_and_nothing_is_written(plans, plans_app, plans_store, token_for, monkeypatch):
    def broken():
        raise StoreUnavailable("disk I/O error")

    child_id = new_child(plans, bearer(token_for()))
    pending = plans_store.outbox_stats().pending
    monkeypatch.setattr(plans_store, "unit_of_work", broken)
    resp = plans.post("/v1/cases", json={"child_id": child_id}, headers=bearer(token_for()))
    assert resp.status_code == 503 and resp.headers["Retry-After"]
    monkeypatch.undo()
    assert plans_store.collection("cases").count_documents({}) == 0 and plans_store.outbox_stats().pending == pending


def test_health_is_public_and_readiness_reports_the_broker(plans):
    assert plans.get("/healthz").json == {"status": "ok", "service": "plans"}
    ready = plans.get("/readyz")
    assert ready.status_code == 503  # the test settings point at a closed broker port
    assert ready.json["checks"]["store"] == "ok"
    assert ready.json["checks"]["broker"].startswith("unavailable")


def test_openapi_document_needs_a_token_and_lists_the_routes(plans, token_for):
    assert plans.get("/openapi.json").status_code == 401
    doc = plans.get("/openapi.json", headers=bearer(token_for())).json
    assert "/v1/cases" in doc["paths"] and "/v1/cases/{case_id}" in doc["paths"]
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "CaseCreate" in doc["components"]["schemas"]


def test_metrics_show_requests_and_outbox_backlog(plans, plans_store, token_for):
    children = [
        new_child(plans, bearer(token_for()), given_names=name, identifiers=[]) for name in ("Ann", "Ben", "Cy")
    ]
    before = len(plans_store.outbox_pending())  # the caller in the staff directory, and each child registered
    for child_id in children:  # a case each: a child has one open case at a time
        assert plans.post("/v1/cases", json={"child_id": child_id}, headers=bearer(token_for())).status_code == 201
    text = plans.get("/metrics").get_data(as_text=True)
    # each case two events: case.opened, and the child's family of one
    assert f'cpp_outbox_backlog{{service="plans"}} {before + 6}.0' in text
    assert 'cpp_http_requests_total{method="POST",route="/v1/cases",service="plans",status="201"} 3.0' in text


def test_readiness_goes_unready_when_the_store_is_unusable(plans, plans_store, monkeypatch):
    def unusable():
        raise StoreUnavailable("unable to open database file")

    monkeypatch.setattr(plans_store, "ping", unusable)
    ready = plans.get("/readyz")
    assert ready.status_code == 503
    assert ready.json["status"] == "unready"
    assert ready.json["checks"]["store"] == "unavailable: unable to open database file"


def test_an_oversize_body_is_a_json_413_and_nothing_is_written(plans, plans_store, token_for):
    body = '{"child_id": "' + "x" * (2 * 1024 * 1024) + '"}'
    resp = plans.post("/v1/cases", data=body, content_type="application/json", headers=bearer(token_for()))
    assert resp.status_code == 413 and resp.is_json and resp.json["code"] == 413
    assert nothing_written(plans_store)
