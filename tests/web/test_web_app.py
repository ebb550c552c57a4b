"""The web application with Flask's test client, its services played by small
HTTP servers on loopback: the client's error mapping, CSRF, the session
cookie, the headers of every page and the sign-in flow."""

from __future__ import annotations

import re
import threading
import time

import pytest

from cpp_shared.auth import load_dev_key
from cpp_shared.config import ConfigError, Settings
from cpp_web import client as web_client
from cpp_web import people
from cpp_web.app import create_app
from tests.helpers import free_port


def make_settings(tmp_path, fakes, **extra) -> Settings:
    env = {"CPP_MODE": "development", "CPP_DATA_DIR": str(tmp_path), "CPP_LOG_FORMAT": "console", **extra}
    for name, fake in fakes.items():
        env[f"CPP_WEB_{name.upper()}_URL"] = fake.url
    return Settings.from_env("web", env)


@pytest.fixture
def settings(tmp_path, fakes):
    s = make_settings(tmp_path, fakes)
    load_dev_key(s.dev_signing_key_file, create=True)
    return s


@pytest.fixture
def app(settings):
    app = create_app(settings)
    app.config["TESTING"] = True
    return app


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def sign_in(client, user="demo-sw-1"):
    page = client.get("/sign-in")
    return client.post("/sign-in", data={"csrf_token": csrf_of(page.get_data(as_text=True)), "person": user})


# --- the client's error mapping ---


@pytest.mark.parametrize(
    "status,error",
    [
        (401, web_client.SignInAgain),
        (403, web_client.Forbidden),
        (404, web_client.NotFound),
        (409, web_client.Refused),
        (412, web_client.ChangedSinceRead),
        (422, web_client.Invalid),
        (500, web_client.ServiceUnavailable),
        (503, web_client.ServiceUnavailable),
    ],
)
def test_each_answer_becomes_its_error(fakes, status, error):
    fakes["plans"].routes[("GET", "/v1/cases/c1")] = (
        status,
        {"code": status, "message": "the reason", "errors": {"json": {"held_on": ["Not a date."]}}},
    )
    services = web_client.Services({name: fake.url for name, fake in fakes.items()})
    with pytest.raises(error) as caught:
        services.get("plans", "/v1/cases/c1", token="t", request_id="req-1")
    assert caught.value.service == "plans" and caught.value.status == status
    if status == 409:
        assert caught.value.message == "the reason"
    if status == 422:
        assert caught.value.fields == {"held_on": ["Not a date."]}
    sent = fakes["plans"].requests[-1]["headers"]
    assert sent["Authorization"] == "Bearer t" and sent["X-Request-Id"] == "req-1"


def test_no_connection_is_the_service_unavailable_never_a_crash():
    services = web_client.Services({"scheduler": f"http://127.0.0.1:{free_port()}"})
    with pytest.raises(web_client.ServiceUnavailable) as caught:
        services.get("scheduler", "/v1/deadlines", token="t")
    assert caught.value.service == "scheduler" and "deadlines" in caught.value.part


def test_a_create_sends_an_idempotency_key(fakes):
    fakes["plans"].routes[("POST", "/v1/cases")] = (201, {"id": "c1"})
    services = web_client.Services({name: fake.url for name, fake in fakes.items()})
    answer = services.create("plans", "/v1/cases", {"child_id": "x"}, token="t")
    assert answer.status == 201 and answer.body == {"id": "c1"}
    services.create("plans", "/v1/cases", {"child_id": "x"}, token="t", idempotency_key="form-key-1")
    keys = [r["headers"].get("Idempotency-Key") for r in fakes["plans"].requests]
    assert keys[0] and len(keys[0]) >= 16 and keys[1] == "form-key-1"


def test_nested_field_errors_are_flattened():
    assert web_client.flatten_errors({"a": {"b": ["x"]}, "c": [{"d": ["y"]}]}) == {"a.b": ["x"], "c.0.d": ["y"]}


# --- pages, headers and the session ---


def test_every_page_is_no_store_with_a_csp_without_unsafe_inline(app):
    client = app.test_client()
    for path in ("/sign-in", "/no-such-page"):
        resp = client.get(path)
        assert resp.headers["Cache-Control"] == "no-store"
        policy = resp.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
        nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
        html = resp.get_data(as_text=True)
        # every inline script carries this answer's nonce; the rest are files
        assert all(f'nonce="{nonce}"' in tag for tag in re.findall(r"<script(?![^>]*src=)[^>]*>", html))
        assert resp.headers["X-Frame-Options"] == "DENY"
    assert client.get("/no-such-page").status_code == 404


def test_a_worker_that_loses_the_race_to_create_the_sessions_table_still_starts(settings, monkeypatch):
    """gunicorn's workers start at once: on a new sessions file another
    worker can create the table between this one's check and its CREATE.
    The worker tries again (and finds the table), rather than failing to
    boot and taking the whole server down with it."""
    from sqlalchemy import Table
    from sqlalchemy.exc import OperationalError

    create, raced = Table.create, []

    def create_once_too_late(table, bind=None, checkfirst=False):
        if not raced:
            raced.append(table.name)
            create(table, bind=bind, checkfirst=checkfirst)  # the other worker's CREATE
            raise OperationalError("CREATE TABLE web_sessions", {}, Exception("table web_sessions already exists"))
        return create(table, bind=bind, checkfirst=checkfirst)

    monkeypatch.setattr(Table, "create", create_once_too_late)
    app = create_app(settings)
    app.config["TESTING"] = True
    assert raced == ["web_sessions"]
    client = app.test_client()
    assert sign_in(client).status_code == 302
    assert client.get("/home").status_code == 200


def test_sign_in_renews_the_session_and_keeps_the_token_server_side(app):
    client = app.test_client()
    client.get("/sign-in")
    before = client.get_cookie("cpp-session").value
    resp = sign_in(client)
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    cookie = client.get_cookie("cpp-session")
    assert cookie.value != before, "a new session id at sign-in"
    assert cookie.http_only and cookie.same_site == "Lax"
    assert "." not in cookie.value.split(".")[0] and len(cookie.value) < 120  # an id, never the token
    set_cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie
    assert client.get("/").headers["Location"] == "/my-work"


def test_a_form_without_its_csrf_token_is_refused(app):
    client = app.test_client()
    client.get("/sign-in")
    resp = client.post("/sign-in", data={"person": "demo-sw-1"})
    assert resp.status_code == 400 and "Your form could not be sent" in resp.get_data(as_text=True)
    assert client.get("/my-work").status_code == 302  # not signed in


def test_choosing_no_one_shows_the_error_summary(app):
    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    resp = client.post("/sign-in", data={"csrf_token": csrf_of(page)})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "There is a problem" in html and 'href="#person"' in html
    assert "<title>Error: Sign in" in html


def test_no_signing_key_refuses_sign_in_with_the_reason(tmp_path, fakes):
    app = create_app(make_settings(tmp_path, fakes))
    client = app.test_client()
    resp = sign_in(client)
    assert resp.status_code == 400 and "no development signing key" in resp.get_data(as_text=True)


def test_production_without_the_identity_provider_s_client_id_refuses_to_start(tmp_path, fakes):
    # (production's sign-in with a real identity provider: tests/oidc/test_web_sign_in.py)
    with pytest.raises(ConfigError, match="production mode needs CPP_WEB_OIDC_CLIENT_ID"):
        create_app(make_settings(tmp_path, fakes, CPP_MODE="production"))


def test_development_has_no_identity_provider_callback(app):
    assert app.test_client().get("/sign-in/callback?code=x&state=y").status_code == 404


def test_my_work_lists_cases_by_child_and_overdue_first(app, fakes):
    fakes["plans"].routes[("GET", "/v1/cases")] = (
        200,
        {
            "items": [
                {
                    "id": "case-1",
                    "child": {"name": "Ana Parent"},
                    "status": "on_plan",
                    "key_worker": {"name": "Kim Key"},
                    "social_worker": {"user": "demo-sw-1", "name": "Sam Okafor"},
                },
                {
                    "id": "case-2",
                    "child": {"name": "Bo Ended"},
                    "status": "plan_ended",
                    "key_worker": None,
                    "social_worker": {"user": "demo-sw-1", "name": "Sam Okafor"},
                },
                {
                    "id": "case-3",
                    "child": {"name": "Cy New"},
                    "status": "enquiries",
                    "key_worker": None,
                    "social_worker": {"user": "demo-sw-1", "name": "Sam Okafor"},
                },
            ],
            "total": 3,
        },
    )
    fakes["scheduler"].routes[("GET", "/v1/deadlines")] = (
        200,
        {
            "items": [
                {
                    "id": "d-late",
                    "name": "Initial conference",
                    "status": "overdue",
                    "due_on": "2020-01-10",
                    "child": {"name": "Ana Parent"},
                },
                {
                    "id": "d-later",
                    "name": "Core group",
                    "status": "overdue",
                    "due_on": "2020-03-10",
                    "child": {"name": "Ana Parent"},
                },
            ]
        },
    )
    client = app.test_client()
    sign_in(client)
    resp = client.get("/my-work")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200, html
    assert "Ana Parent" in html and "Kim Key" in html and "Child protection plan" in html
    assert html.index("/deadlines/d-late") < html.index("/deadlines/d-later")  # most overdue first
    assert "10 January 2020" in html
    rows = re.findall(r"<tr class=\"govuk-table__row\">(.*?)</tr>", html, re.S)
    ended = next(r for r in rows if "Bo Ended" in r)
    new = next(r for r in rows if "Cy New" in r)
    assert "No plan in force" in ended and "None yet" in new
    sent = [r for r in fakes["plans"].requests if r["path"].startswith("/v1/cases")][-1]
    assert "worker=me" in sent["raw_path"] and sent["headers"]["Authorization"].startswith("Bearer ")
    assert sent["headers"]["X-Request-Id"] == resp.headers["X-Request-Id"]


@pytest.mark.parametrize(
    "user, expected",
    [
        ("demo-sw-1", ["My work", "Find a child", "Sign out"]),
        ("demo-tm-1", ["My work", "Team", "Approvals", "Performance", "Returns", "Find a child", "Sign out"]),
        ("demo-chair-1", ["My work", "Find a child", "Sign out"]),
    ],
)
def test_each_role_sees_its_own_navigation(app, fakes, user, expected):
    fakes["plans"].routes[("GET", "/v1/cases")] = (200, {"items": [], "total": 0})
    fakes["scheduler"].routes[("GET", "/v1/deadlines")] = (200, {"items": []})
    client = app.test_client()
    sign_in(client, user)
    html = client.get("/my-work").get_data(as_text=True)
    nav = html.split('class="govuk-service-navigation__list"')[1].split("</ul>")[0]
    assert re.findall(r'class="govuk-service-navigation__link"[^>]*>\s*(?:<strong[^>]*>)?([^<]+?)\s*<', nav) == expected


def test_a_person_holding_several_roles_has_the_pages_of_each(app, fakes):
    """A social worker who is also a team manager and a chair (an identity provider's roles array): the pages
    of each role, once each, and their roles in words; a partner's or an admin's pages are not theirs."""
    fakes["plans"].routes[("GET", "/v1/cases")] = (200, {"items": [], "total": 0})
    fakes["scheduler"].routes[("GET", "/v1/deadlines")] = (200, {"items": []})
    client = app.test_client()
    sign_in(client, "demo-sw-1")
    with client.session_transaction() as stored:
        stored["user"] = {
            **stored["user"],
            "roles": ["social_worker", "team_manager", "chair"],
            "role_name": people.role_names(["social_worker", "team_manager", "chair"]),
        }
    html = client.get("/my-work").get_data(as_text=True)
    nav = html.split('class="govuk-service-navigation__list"')[1].split("</ul>")[0]
    assert re.findall(r'class="govuk-service-navigation__link"[^>]*>\s*(?:<strong[^>]*>)?([^<]+?)\s*<', nav) == [
        "My work",
        "Team",
        "Approvals",
        "Performance",
        "Returns",
        "Find a child",
        "Sign out",
    ]
    assert "Sam Okafor, social worker, team manager and conference chair" in html
    assert client.get("/lookup").status_code == 302  # not a partner: sent home
    assert people.role_names(["auditor"]) == "Auditor"


def test_my_work_asks_for_the_cases_and_the_deadlines_at_once(app, fakes):
    """Each service answers only once the other has been asked: one after
    the other, the first would wait in vain."""
    both = threading.Barrier(2, timeout=5)

    def answer(body):
        def route(request):
            both.wait()
            return 200, body

        return route

    fakes["plans"].routes[("GET", "/v1/cases")] = answer(
        {"items": [{"id": "case-1", "child": {"name": "Ana Parent"}, "status": "on_plan"}], "total": 1}
    )
    fakes["scheduler"].routes[("GET", "/v1/deadlines")] = answer(
        {
            "items": [
                {
                    "id": "d-late",
                    "name": "Initial conference",
                    "status": "overdue",
                    "due_on": "2020-01-10",
                    "child": {"name": "Ana Parent"},
                }
            ]
        }
    )
    client = app.test_client()
    sign_in(client)
    resp = client.get("/my-work")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200, html
    assert "Ana Parent" in html and "/deadlines/d-late" in html
    for service, path in (("plans", "/v1/cases"), ("scheduler", "/v1/deadlines")):
        [sent] = fakes[service].sent("GET", path)
        assert sent["headers"]["Authorization"].startswith("Bearer ")
        assert sent["headers"]["X-Request-Id"] == resp.headers["X-Request-Id"]


def test_a_refusal_among_calls_made_at_once_is_shown_once_all_have_finished(app, fakes):
    fakes["plans"].routes[("GET", "/v1/cases")] = (500, {"code": 500, "message": "broken"})
    fakes["scheduler"].routes[("GET", "/v1/deadlines")] = (401, {"code": 401, "message": "token expired"})
    client = app.test_client()
    sign_in(client)
    resp = client.get("/my-work")  # the first in order decides, as one after the other
    assert resp.status_code == 503 and "case records" in resp.get_data(as_text=True)
    assert fakes["scheduler"].sent("GET", "/v1/deadlines")


def test_a_service_down_is_a_503_naming_it(app, fakes):
    fakes["plans"].routes[("GET", "/v1/cases")] = (200, {"items": [], "total": 0})
    fakes["scheduler"].stop()
    client = app.test_client()
    sign_in(client)
    resp = client.get("/my-work")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 503 and "deadlines and timescales" in html and "scheduler service" in html
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["checks"]["scheduler"].startswith("unavailable")
    fakes["scheduler"].start()  # for the fixture's stop


def test_a_refused_token_ends_the_session(app, fakes):
    fakes["plans"].routes[("GET", "/v1/cases")] = (401, {"code": 401, "message": "token expired"})
    client = app.test_client()
    sign_in(client)
    resp = client.get("/my-work")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/sign-in?next=/my-work")
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Your session has ended" in page and "govuk-notification-banner" in page
    assert client.get("/my-work").status_code == 302


def test_an_idle_session_ends(app, fakes, monkeypatch):
    client = app.test_client()
    sign_in(client)
    later = time.time() + 31 * 60
    monkeypatch.setattr(time, "time", lambda: later)
    resp = client.get("/my-work")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/sign-in")
    assert "Your session has ended" in client.get("/sign-in").get_data(as_text=True)


def test_sign_out_forgets_the_session(app, fakes):
    client = app.test_client()
    sign_in(client)
    resp = client.get("/sign-out")
    assert resp.status_code == 302
    assert "You have signed out" in client.get("/sign-in").get_data(as_text=True)
    assert client.get("/my-work").status_code == 302


def test_health_metrics_and_readiness(app):
    client = app.test_client()
    assert client.get("/healthz").get_json() == {"status": "ok", "service": "web"}
    assert client.get("/readyz").status_code == 200
    assert b"cpp_http_requests" in client.get("/metrics").data


def test_cpp_serve_web_in_production_without_a_client_id_says_so_before_starting(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("CPP_")}
    env.update(
        {
            "CPP_MODE": "production",
            "CPP_DATA_DIR": str(tmp_path),
            "CPP_OIDC_ISSUER": "https://idp.example",
            "CPP_OIDC_JWKS_URL": "https://idp.example/jwks",
        }
    )  # (checked, never fetched: it refuses first)
    done = subprocess.run(
        [sys.executable, "-m", "cpp_shared.cli", "serve", "web"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "cpp: web: production mode needs CPP_WEB_OIDC_CLIENT_ID" in done.stderr
    assert "Traceback" not in done.stderr
