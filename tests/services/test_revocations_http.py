"""Revoking access: an admin revokes a user's tokens, or one token, in the
plans service; plans refuses them at once, every other service once the
event is handed to it; the revocation is audited and published. A process
that already answered for a token keeps that answer for its few seconds
(CPP_REVOCATION_CACHE_SECONDS): the tests move that clock, never wait."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from cpp_docs.app import create_app as create_docs_app
from cpp_notify.app import create_app as create_notify_app
from cpp_plans.api import revocations as revocations_api
from cpp_plans.app import create_app as create_plans_app
from cpp_scheduler.app import create_app as create_scheduler_app
from cpp_shared import revocations
from cpp_shared.contracts.catalogue import validate_event
from tests.helpers import bearer, hand_over

NOW = time.time()
REVOKED_AT = datetime.fromtimestamp(NOW - 60, UTC)  # the revocation's moment, a minute ago


@pytest.fixture(autouse=True)
def _now_is_this_tests():
    """The moments above are taken again for each test: a test that runs late
    in a long suite must not meet tokens that expired meanwhile."""
    global NOW, REVOKED_AT
    NOW = time.time()
    REVOKED_AT = datetime.fromtimestamp(NOW - 60, UTC)


LATER = (datetime.now(UTC) + timedelta(days=1)).isoformat()


@pytest.fixture(autouse=True)
def revoked_a_minute_ago(monkeypatch):
    """Tokens issued two minutes ago come before the revocation, tokens
    issued now after it, whatever the clock reads during the test."""
    monkeypatch.setattr(revocations_api, "_now", lambda: REVOKED_AT)


@pytest.fixture
def clock(monkeypatch):
    """The clock of each process's kept answers, moved by the test."""

    class Clock:
        now = 1000.0

        @classmethod
        def after_kept_answers(cls):
            cls.now += revocations.DEFAULT_CACHE_SECONDS

    monkeypatch.setattr(revocations, "_clock", lambda: Clock.now)
    return Clock


@pytest.fixture
def admin(token_for):
    return bearer(token_for("admin", user="admin-1"))


def jti_of(token):
    return jwt.decode(token, options={"verify_signature": False})["jti"]


def revoke(plans, admin, **body):
    resp = plans.post("/v1/revocations", json={"reason": "Left the council.", **body}, headers=admin)
    assert resp.status_code == 201, resp.json
    return resp.json


def refused(resp):
    return (
        resp.status_code == 401
        and resp.json["message"] == "the token has been revoked"
        and 'error="invalid_token"' in resp.headers["WWW-Authenticate"]
    )


def published(store, type_="access.revoked.v1"):
    return [m.body for m in store.outbox_pending(1000) if m.routing_key == type_]


def test_a_revoked_users_token_is_refused_by_plans_at_once(plans, admin, token_for):
    old = bearer(token_for("social_worker", user="sw-1", now=NOW - 120))
    colleague = bearer(token_for("social_worker", user="sw-2", now=NOW - 120))
    assert plans.get("/v1/plans", headers=old).status_code == 200
    revocation = revoke(plans, admin, user="sw-1")
    assert revocation["user"] == "sw-1" and revocation["jti"] is None and revocation["by"] == "admin-1"
    assert revocation["not_before"] == REVOKED_AT.isoformat()
    assert refused(plans.get("/v1/plans", headers=old))
    assert plans.get("/v1/plans", headers=colleague).status_code == 200


def test_a_token_issued_after_the_users_revocation_works(plans, admin, token_for):
    revoke(plans, admin, user="sw-1")
    assert (
        plans.get("/v1/plans", headers=bearer(token_for("social_worker", user="sw-1", now=NOW - 30))).status_code == 200
    )
    assert plans.get("/v1/plans", headers=bearer(token_for("social_worker", user="sw-1"))).status_code == 200


def test_a_revoked_jti_is_refused_while_the_users_other_tokens_work(plans, admin, token_for):
    stolen = token_for("social_worker", user="sw-1", now=NOW - 120)
    other = token_for("social_worker", user="sw-1", now=NOW - 120)
    revocation = revoke(plans, admin, jti=jti_of(stolen), expires_at=LATER)
    assert revocation["jti"] == jti_of(stolen) and revocation["user"] is None and revocation["not_before"] is None
    assert refused(plans.get("/v1/plans", headers=bearer(stolen)))
    assert plans.get("/v1/plans", headers=bearer(other)).status_code == 200


def test_a_revocation_is_audited_and_published_in_its_commit(plans, plans_store, admin, token_for):
    revocation = revoke(plans, admin, user="sw-1")
    [record] = plans.get("/v1/audit", headers=bearer(token_for("auditor", user="au-1"))).json["records"]
    entry = record["entry"]
    assert (entry["action"], entry["actor"], entry["role"]) == ("revoke_access", "admin-1", "admin")
    assert (entry["record_type"], entry["record_id"], entry["child_id"]) == ("revocation", revocation["id"], None)
    assert entry["detail"]["user"] == "sw-1" and entry["detail"]["reason"] == "Left the council."
    [event] = published(plans_store)
    validate_event(event)
    assert event["subject"] == "sw-1" and event["data"]["revocation_id"] == revocation["id"]
    assert event["data"]["not_before"] == REVOKED_AT.isoformat() and event["data"]["reason"] == "Left the council."


@pytest.mark.parametrize("role", ["social_worker", "team_manager", "chair", "partner", "auditor"])
def test_only_admins_revoke_and_a_refusal_writes_nothing(plans, plans_store, token_for, role):
    resp = plans.post(
        "/v1/revocations", json={"user": "sw-1", "reason": "Left."}, headers=bearer(token_for(role, user=f"{role}-1"))
    )
    assert resp.status_code == 403
    bad = plans.post("/v1/revocations", json={"user": ""}, headers=bearer(token_for(role, user=f"{role}-1")))
    assert bad.status_code == 403  # the body of a request it may not make is not even read
    assert plans_store.collection("revocations").find({}) == [] and plans_store.read_log("audit") == []
    assert published(plans_store) == []


@pytest.mark.parametrize(
    "body, fields",
    [
        ({}, {"user", "jti", "reason"}),
        ({"reason": "Left."}, {"user", "jti"}),
        ({"user": "sw-1"}, {"reason"}),
        ({"user": "sw-1", "reason": "   "}, {"reason"}),
        ({"user": "", "reason": "Left."}, {"user"}),
        ({"user": "sw-1", "jti": "abc", "reason": "Left."}, {"jti"}),
        ({"user": "sw-1", "expires_at": LATER, "reason": "Left."}, {"expires_at"}),
        ({"jti": "abc", "reason": "Stolen."}, {"expires_at"}),
        ({"jti": "abc", "expires_at": "2020-01-01T00:00:00+00:00", "reason": "Stolen."}, {"expires_at"}),
        ({"jti": "abc", "expires_at": "tomorrow", "reason": "Stolen."}, {"expires_at"}),
        ({"jti": "abc", "expires_at": "2099-01-01T00:00:00", "reason": "Stolen."}, {"expires_at"}),  # no time zone
        ({"user": "sw-1", "reason": "x" * 1001}, {"reason"}),
        ({"user": "sw-1", "reason": "Left.", "not_before": "2020-01-01T00:00:00+00:00"}, {"not_before"}),
        ({"user": ["sw-1"], "reason": "Left."}, {"user"}),
    ],
)
def test_a_bad_body_is_422_by_field_and_writes_nothing(plans, plans_store, admin, body, fields):
    resp = plans.post("/v1/revocations", json=body, headers=admin)
    assert resp.status_code == 422, resp.json
    assert set(resp.json["errors"]["json"]) == fields
    assert plans_store.collection("revocations").find({}) == [] and plans_store.read_log("audit") == []
    assert published(plans_store) == []


def test_admins_and_auditors_list_the_revocations_newest_first(plans, admin, token_for, monkeypatch):
    first = revoke(plans, admin, user="sw-1")
    monkeypatch.setattr(revocations_api, "_now", lambda: REVOKED_AT + timedelta(seconds=10))
    second = revoke(plans, admin, jti="abc", expires_at=LATER, reason="Token seen in a log.")
    for who in (admin, bearer(token_for("auditor", user="au-1"))):
        page = plans.get("/v1/revocations", headers=who).json
        assert [r["id"] for r in page["items"]] == [second["id"], first["id"]] and page["total"] == 2
        assert page["items"][1]["reason"] == "Left the council."
    assert [r["id"] for r in plans.get("/v1/revocations?user=sw-1", headers=admin).json["items"]] == [first["id"]]
    for role in ("social_worker", "team_manager", "chair", "partner"):
        assert plans.get("/v1/revocations", headers=bearer(token_for(role, user=f"{role}-1"))).status_code == 403


@pytest.fixture
def other_services(make_settings):
    return {
        "scheduler": create_scheduler_app(make_settings("scheduler")),
        "notify": create_notify_app(make_settings("notify")),
        "docs": create_docs_app(make_settings("docs")),
    }


def test_every_other_service_refuses_the_users_tokens_once_the_event_is_handed_to_it(
    plans, plans_store, admin, token_for, other_services, clock
):
    old = bearer(token_for("social_worker", user="sw-1", now=NOW - 120))
    new = bearer(token_for("social_worker", user="sw-1"))
    revoke(plans, admin, user="sw-1")
    [event] = published(plans_store)
    for name, app in other_services.items():
        api = app.test_client()
        assert api.get("/asyncapi.json", headers=old).status_code == 200, name  # not heard yet
        hand_over(app.extensions["cpp"], event)
        assert api.get("/asyncapi.json", headers=old).status_code == 200, name  # the answer kept a moment
        clock.after_kept_answers()
        assert refused(api.get("/asyncapi.json", headers=old)), name
        assert api.get("/asyncapi.json", headers=new).status_code == 200, name
        hand_over(app.extensions["cpp"], {**event, "id": "redelivered"})  # kept once
        assert len(app.extensions["cpp"].store.collection("revocations").find({})) == 1, name


def test_every_other_service_refuses_a_revoked_jti_once_the_event_is_handed_to_it(
    plans, plans_store, admin, token_for, other_services
):
    stolen = token_for("social_worker", user="sw-1", now=NOW - 120)
    other = bearer(token_for("social_worker", user="sw-1", now=NOW - 120))
    revoke(plans, admin, jti=jti_of(stolen), expires_at=LATER)
    [event] = published(plans_store)
    for name, app in other_services.items():
        api = app.test_client()
        hand_over(app.extensions["cpp"], event)
        assert refused(api.get("/asyncapi.json", headers=bearer(stolen))), name
        assert api.get("/asyncapi.json", headers=other).status_code == 200, name


def cpp_revoke(data_dir, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPP_")}
    env.update({"CPP_DATA_DIR": str(data_dir), "CPP_MODE": "development", "CPP_LOG_FORMAT": "console"})
    return subprocess.run(
        [sys.executable, "-m", "cpp_shared.cli", "revoke", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_another_plans_process_refuses_the_tokens_once_its_kept_answer_expires(
    plans, admin, token_for, make_settings, clock
):
    old = bearer(token_for("social_worker", user="sw-1", now=NOW - 120))
    other_process = create_plans_app(make_settings("plans")).test_client()  # same store, its own kept answers
    assert other_process.get("/v1/plans", headers=old).status_code == 200
    revoke(plans, admin, user="sw-1")
    assert refused(plans.get("/v1/plans", headers=old))  # the process that made it: at once
    assert other_process.get("/v1/plans", headers=old).status_code == 200
    clock.after_kept_answers()
    assert refused(other_process.get("/v1/plans", headers=old))


def test_an_operator_revokes_a_users_tokens_with_cpp_revoke(plans, plans_store, token_for, data_dir, clock):
    old = bearer(token_for("social_worker", user="sw-1", now=NOW - 120))
    assert plans.get("/v1/plans", headers=old).status_code == 200
    done = cpp_revoke(data_dir, "--user", "sw-1", "--reason", "Left the council.")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["user"] == "sw-1" and json.loads(done.stdout)["by"].startswith("operator:")
    clock.after_kept_answers()  # made by another process
    assert refused(plans.get("/v1/plans", headers=old))
    [record] = plans_store.read_log("audit")
    assert (record.entry["action"], record.entry["role"]) == ("revoke_access", "operator")
    [event] = published(plans_store)
    validate_event(event)


def test_cpp_revoke_refuses_what_the_api_refuses_and_writes_nothing(plans_store, data_dir):
    done = cpp_revoke(data_dir, "--user", "sw-1", "--jti", "abc", "--reason", "Left.")
    assert done.returncode == 2 and "--jti:" in done.stderr, done.stderr
    done = cpp_revoke(data_dir, "--jti", "abc", "--expires-at", "tomorrow", "--reason", "Seen in a log.")
    assert done.returncode == 2 and "--expires-at:" in done.stderr, done.stderr
    assert plans_store.collection("revocations").find({}) == [] and plans_store.read_log("audit") == []
