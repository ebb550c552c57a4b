"""Every service's edge, over HTTP: the request id, JSON bodies that cannot
be stored, odd bytes in paths and query strings, and the headers of every
answer (walked over each service's OpenAPI document)."""

from __future__ import annotations

import re

import pytest

from cpp_docs.app import create_app as create_docs_app
from cpp_notify.app import create_app as create_notify_app
from cpp_plans.app import create_app as create_plans_app
from cpp_scheduler.app import create_app as create_scheduler_app
from tests.helpers import bearer, deliver_event

FACTORIES = {
    "plans": create_plans_app,
    "scheduler": create_scheduler_app,
    "notify": create_notify_app,
    "docs": create_docs_app,
}
SERVICES = list(FACTORIES)
HEX32 = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def apps(make_settings):
    """Each service's app, built once per test on demand."""
    built = {}

    def get(name):
        if name not in built:
            built[name] = FACTORIES[name](make_settings(name))
        return built[name]

    return get


@pytest.fixture
def roles(token_for):
    return {
        role: bearer(token_for(role, user=f"{role}-1"))
        for role in ("social_worker", "team_manager", "chair", "partner", "auditor", "admin")
    }


def child(**overrides):
    return {
        "given_names": "Sam",
        "family_name": "Jones",
        "date_of_birth": "2020-01-02",
        "gender": "1",
        "ethnicity": "WBRI",
        "first_language": "English",
        "interpreter_needed": False,
        "address": {"lines": ["1 High Street"]},
        **overrides,
    }


# --- request ids ---------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_the_server_gives_every_request_its_own_id_and_keeps_the_clients_apart(apps, roles, service):
    client = apps(service).test_client()
    plain = client.get("/healthz")
    assert HEX32.fullmatch(plain.headers["X-Request-Id"])
    given = client.get("/healthz", headers={"X-Request-Id": "trace-1.a:b_c-d"})
    assert given.status_code == 200
    assert HEX32.fullmatch(given.headers["X-Request-Id"]) and given.headers["X-Request-Id"] != "trace-1.a:b_c-d"
    assert given.headers["X-Request-Id"] != plain.headers["X-Request-Id"]


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("value", ["x" * 5000, "x" * 129, "a b", "id;drop", "ü", "<script>", "a/b", "a\tb"])
def test_a_client_request_id_that_is_not_a_short_token_is_400_naming_the_header(apps, roles, service, value):
    resp = apps(service).test_client().get("/openapi.json", headers={**roles["auditor"], "X-Request-Id": value})
    assert resp.status_code == 400
    assert resp.json["code"] == 400 and resp.json["status"] == "Bad Request"
    assert "X-Request-Id" in resp.json["message"]
    assert list(resp.json["errors"]["headers"]) == ["X-Request-Id"]
    assert HEX32.fullmatch(resp.headers["X-Request-Id"])


def test_a_write_with_a_bad_client_request_id_writes_nothing(apps, roles):
    app = apps("plans")
    store = app.extensions["cpp"].store
    resp = app.test_client().post(
        "/v1/children", json=child(), headers={**roles["social_worker"], "X-Request-Id": "x" * 5000}
    )
    assert resp.status_code == 400
    assert store.collection("children").count_documents({}) == 0
    assert store.read_log("audit") == [] and store.outbox_stats().pending == 0


def test_the_audit_entry_and_the_logs_keep_the_clients_id_apart(apps, roles, capsys):
    app = apps("plans")
    store = app.extensions["cpp"].store
    client = app.test_client()
    resp = client.post("/v1/children", json=child(), headers={**roles["social_worker"], "X-Request-Id": "case-42:7"})
    assert resp.status_code == 201, resp.json
    server_id = resp.headers["X-Request-Id"]
    [entry] = [r.entry for r in store.read_log("audit")]
    assert entry["request_id"] == server_id and entry["client_request_id"] == "case-42:7"
    [event] = [m for m in store.outbox_pending(10) if m.routing_key != "staff.updated.v1"]
    assert event.body["correlationid"] == server_id
    assert "client_request_id=case-42:7" in capsys.readouterr().err
    resp = client.get(f"/v1/children/{resp.json['id']}", headers=roles["social_worker"])
    assert [r.entry["client_request_id"] for r in store.read_log("audit")] == ["case-42:7", None]


def test_a_document_read_is_audited_with_both_ids(apps, roles):
    app = apps("docs")
    ctx = app.extensions["cpp"]
    doc_id = _document(ctx)
    resp = app.test_client().get(f"/v1/documents/{doc_id}", headers={**roles["social_worker"], "X-Request-Id": "r-1"})
    assert resp.status_code == 200
    [entry] = [r.entry for r in ctx.store.read_log("audit")]
    assert (entry["request_id"], entry["client_request_id"]) == (resp.headers["X-Request-Id"], "r-1")


# --- JSON bodies that cannot be stored --------------------------------------------


def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


def test_a_lone_surrogate_in_a_childs_name_is_422_by_field_and_nothing_written(apps, roles):
    app = apps("plans")
    store = app.extensions["cpp"].store
    client = app.test_client()
    body = (
        b'{"given_names": "Sam\\ud800", "family_name": "Jones", "date_of_birth": "2020-01-02", '
        b'"gender": "1", "ethnicity": "WBRI", "first_language": "English", '
        b'"interpreter_needed": false, "address": {"lines": ["1 High Street", "\\udfff"]}, '
        b'"people_with_parental_responsibility": [{"name": "A", "\\ud83d": "x"}]}'
    )
    resp = client.post("/v1/children", data=body, content_type="application/json", headers=roles["social_worker"])
    assert resp.status_code == 422, resp.json
    errors = resp.json["errors"]["json"]
    assert "lone surrogate" in errors["given_names"][0] and "\\ud800" in errors["given_names"][0]
    assert "lone surrogate" in errors["address"]["lines"]["1"][0]
    assert errors["people_with_parental_responsibility"]["0"]["\\ud83d"][0].startswith("This key is not valid text")
    assert resp.json["code"] == 422 and resp.json["status"] == "Unprocessable Entity"
    assert store.collection("children").count_documents({}) == 0
    assert store.read_log("audit") == [] and store.outbox_stats().pending == 0


def test_a_surrogate_pair_is_text_and_is_stored(apps, roles):
    client = apps("plans").test_client()
    body = child(given_names="Sam \U0001f600")
    resp = client.post("/v1/children", json=body, headers=roles["social_worker"])
    assert resp.status_code == 201, resp.json
    assert resp.json["given_names"] == "Sam \U0001f600"


@pytest.mark.parametrize(
    "service, path",
    [
        ("plans", "/v1/children"),
        ("plans", "/v1/cases"),
        ("scheduler", "/v1/plans/p/calendar-feeds"),
        ("notify", "/v1/subscriptions"),
        ("notify", "/v1/inbox/x/read"),
    ],
)
def test_json_nested_thousands_deep_is_422_not_a_500(apps, roles, service, path):
    role = "admin" if service == "notify" else "social_worker"
    client = apps(service).test_client()
    for body in (nested(5000), '{"child_id": ' + nested(5000) + "}", '{"a": ' + nested(65) + "}"):
        resp = client.post(path, data=body, content_type="application/json", headers=roles[role])
        assert resp.status_code == 422, (body[:20], resp.json)
        [(field, messages)] = resp.json["errors"]["json"].items()
        assert field in ("_schema", "child_id", "a") and "deeper than 64" in messages[0]


def test_nesting_up_to_the_limit_is_left_to_the_schema(apps, roles):
    client = apps("plans").test_client()
    resp = client.post(
        "/v1/cases",
        data='{"child_id": ' + nested(63) + "}",
        content_type="application/json",
        headers=roles["social_worker"],
    )
    assert resp.status_code == 422 and "deeper" not in str(resp.json)
    assert resp.json["errors"]["json"]["child_id"]  # the schema's own message: not a string


@pytest.mark.parametrize("service", SERVICES)
def test_odd_bytes_in_paths_and_query_strings_are_never_a_500(apps, roles, service):
    app = apps(service)
    client = app.test_client()
    doc = client.get("/openapi.json", headers=roles["auditor"]).json
    odd = ["%ED%A0%80", "%FF%FE", "%00", "%C0%AF", "%F4%90%80%80"]
    for path, item in doc["paths"].items():
        if "get" not in item or item["get"].get("security") == []:
            continue  # the probes take nothing, and /readyz is a 503 by design with no broker
        params = [p["name"] for p in item["get"].get("parameters", []) if p.get("in") == "query"]
        for value in odd:
            url = re.sub(r"\{[^}]+\}", value, path)
            query = "&".join(f"{name}={value}" for name in params or ["x"])
            for role in ("social_worker", "admin", "partner"):
                resp = client.get(f"{url}?{query}", headers=roles[role])
                assert resp.status_code < 500, (url, query, resp.status_code, resp.json)


# --- the headers of every answer --------------------------------------------------

EXPECTED = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}


def check_headers(resp, what, cache="no-store", policy="default-src 'none'; frame-ancestors 'none'"):
    for name, value in EXPECTED.items():
        assert resp.headers.get(name) == value, (what, name, resp.headers.get(name))
    assert resp.headers.get("Cache-Control") == cache, (what, resp.headers.get("Cache-Control"))
    assert resp.headers.get("Content-Security-Policy") == policy, (what, resp.headers.get("Content-Security-Policy"))


@pytest.mark.parametrize("service", SERVICES)
def test_every_route_of_every_service_answers_with_the_security_headers(apps, roles, service):
    client = apps(service).test_client()
    doc = client.get("/openapi.json", headers=roles["auditor"]).json
    assert doc["paths"]
    walked = 0
    for path, item in doc["paths"].items():
        url = re.sub(r"\{[^}]+\}", "nothing", path)
        for method in ("get", "post", "put", "patch", "delete"):
            if method not in item:
                continue
            for headers in ({}, roles["admin"], roles["social_worker"], roles["partner"]):
                resp = client.open(url, method=method.upper(), headers=headers, json={})
                check_headers(resp, (service, method, path, resp.status_code))
                walked += 1
    assert walked >= 4 * len(doc["paths"])
    for url in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/asyncapi.json", "/no-such-route"):
        check_headers(client.get(url, headers=roles["auditor"]), (service, url))
    check_headers(client.delete("/healthz"), (service, "405"))
    check_headers(client.get("/healthz", headers={"X-Request-Id": "x" * 200}), (service, "400"))


def _document(ctx, fmt="html"):
    """A stored document, as the renderer leaves it."""
    from cpp_docs.render import file_store

    data = b'<!DOCTYPE html><html lang="en-GB"><head><style>p { color: #000; }</style></head><body><p>Plan</p></body></html>'
    digest = file_store(ctx).put(data)
    ctx.store.collection("documents").insert_one(
        {
            "_id": f"doc-{fmt}",
            "authority": "ENG",
            "plan_id": "plan-1",
            "case_id": "case-1",
            "child_id": "child-1",
            "report_id": None,
            "kind": "professional_plan",
            "plan_version": 2,
            "report_version": None,
            "language": "en-GB",
            "large_print": False,
            "format": fmt,
            "sha256": digest,
            "size": len(data),
            "content_type": "text/html; charset=utf-8" if fmt == "html" else "application/pdf",
        }
    )
    return f"doc-{fmt}"


def test_a_documents_file_keeps_its_inline_styles_and_is_never_framed_or_kept(apps, roles):
    app = apps("docs")
    doc_id = _document(app.extensions["cpp"])
    resp = app.test_client().get(f"/v1/documents/{doc_id}", headers=roles["social_worker"])
    assert resp.status_code == 200
    check_headers(
        resp,
        "document",
        cache="private, no-store",
        policy="default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    )


def test_a_plans_calendar_is_never_kept(apps, roles):
    app = apps("scheduler")
    ctx = app.extensions["cpp"]
    deliver_event(
        ctx,
        "conference.held.v1",
        {
            "conference_id": "conf-1",
            "case_id": "case-1",
            "child_id": "child-1",
            "kind": "initial",
            "held_on": "2027-01-06",
            "plan_required": True,
            "plan_id": "plan-1",
        },
    )
    deliver_event(
        ctx,
        "plan.created.v1",
        {
            "plan_id": "plan-1",
            "case_id": "case-1",
            "child_id": "child-1",
            "status": "outline",
            "created_on": "2027-01-06",
        },
        subject="plan-1",
    )
    client = app.test_client()
    resp = client.get("/v1/plans/plan-1/calendar.ics", headers=roles["social_worker"])
    assert resp.status_code == 200 and resp.mimetype == "text/calendar"
    check_headers(resp, "calendar")
    feed = client.post("/v1/plans/plan-1/calendar-feeds", headers=roles["social_worker"]).json
    resp = client.get(f"/v1/plans/plan-1/calendar.ics?key={feed['key']}")
    assert resp.status_code == 200
    check_headers(resp, "calendar by key")
