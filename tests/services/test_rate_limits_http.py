"""Rate limits over HTTP (Flask test client, real SQLite stores): the partner
lookup, the calendar feed's keys and bearer-token failures. Small limits are
set through the settings; the client address is set in the WSGI environment
(no traffic leaves the test)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cpp_docs.app import create_app as create_docs_app
from cpp_notify.app import create_app as create_notify_app
from cpp_plans.app import create_app as create_plans_app
from cpp_scheduler.app import create_app as create_scheduler_app
from tests.helpers import bearer
from tests.services.test_lookup_http import NHS, NHS_UNKNOWN, put_on_plan, register

ERROR_KEYS = {"code", "status", "message"}
HERE, ELSEWHERE = "127.0.0.1", "127.0.0.2"


def at(address: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": address}}


def lookup(client, headers, nhs=NHS_UNKNOWN, address=HERE, **kw):
    return client.get("/v1/lookup", query_string={"nhs_number": nhs}, headers=headers, **at(address), **kw)


def assert_limited(resp, limit: str):
    assert resp.status_code == 429, resp.json
    assert set(resp.json) == ERROR_KEYS
    assert resp.json["code"] == 429 and resp.json["status"] == "Too Many Requests"
    assert f"limit {limit}:" in resp.json["message"]
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    assert resp.mimetype == "application/json"


def rate_limited_metric(client, limit: str) -> float:
    for line in client.get("/metrics").get_data(as_text=True).splitlines():
        if line.startswith("cpp_rate_limited_total{") and f'limit="{limit}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.fixture
def partner(token_for):
    return bearer(token_for("partner", user="hv-jones"))


@pytest.fixture
def other_partner(token_for):
    return bearer(token_for("partner", user="gp-smith"))


@pytest.fixture
def plans_with(make_settings):
    def make(**env):
        return create_plans_app(make_settings("plans", **env)).test_client()

    return make


# --- the partner lookup ---------------------------------------------------------------


def test_lookups_past_the_per_principal_limit_get_429_and_another_partner_does_not(
    plans_with, token_for, partner, other_partner
):
    client = plans_with(CPP_RATE_LIMIT_LOOKUP_PER_PRINCIPAL="3/minute")
    sw, chair = bearer(token_for("social_worker")), bearer(token_for("chair", user="chair-1"))
    _, plan = put_on_plan(client, sw, chair, register(client, sw, NHS), date.today() - timedelta(days=3))

    for _ in range(3):
        answer = lookup(client, partner, NHS)
        assert answer.status_code == 200 and answer.json["subject_of_plan"] is True
    refused = lookup(client, partner, NHS)
    assert_limited(refused, "lookup_per_principal")
    assert "partner lookups by this user" in refused.json["message"]
    assert "subject_of_plan" not in refused.json  # nothing about the child
    assert_limited(lookup(client, partner, NHS_UNKNOWN, address=ELSEWHERE), "lookup_per_principal")  # any address

    assert lookup(client, other_partner, NHS).status_code == 200
    assert rate_limited_metric(client, "lookup_per_principal") == 2


def test_a_head_request_is_a_lookup_and_counts_as_one(plans_with, partner):
    client = plans_with(CPP_RATE_LIMIT_LOOKUP_PER_PRINCIPAL="2/minute")
    assert client.head("/v1/lookup", query_string={"nhs_number": NHS_UNKNOWN}, headers=partner).status_code == 200
    assert lookup(client, partner).status_code == 200
    assert client.head("/v1/lookup", query_string={"nhs_number": NHS_UNKNOWN}, headers=partner).status_code == 429
    assert lookup(client, partner).status_code == 429


def test_a_refused_lookup_is_neither_audited_nor_published(plans_with, partner):
    client = plans_with(CPP_RATE_LIMIT_LOOKUP_PER_PRINCIPAL="1/minute")
    store = client.application.extensions["cpp"].store
    assert lookup(client, partner).status_code == 200
    assert lookup(client, partner).status_code == 429
    assert len(store.read_log("audit")) == 1
    assert len([m for m in store.outbox_pending(100) if m.routing_key == "lookup.performed.v1"]) == 1


def test_lookups_past_the_per_address_limit_get_429_whoever_asks(plans_with, partner, other_partner):
    client = plans_with(CPP_RATE_LIMIT_LOOKUP_PER_ADDRESS="3/minute")
    assert [lookup(client, p).status_code for p in (partner, other_partner, partner)] == [200, 200, 200]
    refused = lookup(client, other_partner)
    assert_limited(refused, "lookup_per_address")
    assert "partner lookups from this address" in refused.json["message"]
    assert lookup(client, other_partner, address=ELSEWHERE).status_code == 200


def test_a_forwarded_address_is_believed_only_behind_trusted_proxies(plans_with, partner):
    def via(forwarded_for):
        return {**partner, "X-Forwarded-For": forwarded_for}

    spoofing = plans_with(CPP_RATE_LIMIT_LOOKUP_PER_ADDRESS="1/minute")
    assert lookup(spoofing, via("127.0.0.5")).status_code == 200
    assert lookup(spoofing, via("127.0.0.6")).status_code == 429  # same peer

    proxied = plans_with(CPP_RATE_LIMIT_LOOKUP_PER_ADDRESS="1/minute", CPP_TRUSTED_PROXIES="1")
    assert lookup(proxied, via("127.0.0.5")).status_code == 200
    assert lookup(proxied, via("127.0.0.6")).status_code == 200
    assert lookup(proxied, via("127.0.0.5")).status_code == 429


def test_a_limit_set_to_off_is_lifted(plans_with, partner):
    client = plans_with(
        CPP_RATE_LIMIT_LOOKUP_PER_PRINCIPAL="off",
        CPP_RATE_LIMIT_LOOKUP_PER_ADDRESS="2/minute",
        CPP_PLANS_RATE_LIMIT_LOOKUP_PER_ADDRESS="off",
    )  # the service's own setting wins
    assert {lookup(client, partner).status_code for _ in range(5)} == {200}


def test_the_lookup_documents_its_429(plans_with, partner):
    doc = plans_with().get("/openapi.json", headers=partner).json
    assert "429" in doc["paths"]["/v1/lookup"]["get"]["responses"]


# --- the calendar feed's keys -----------------------------------------------------------


@pytest.fixture
def scheduler(make_settings):
    return create_scheduler_app(make_settings("scheduler", CPP_RATE_LIMIT_FEED_KEY_FAILURES="3/minute")).test_client()


def test_feed_key_guesses_past_the_limit_get_429(scheduler, token_for):
    feed = "/v1/plans/plan-1/calendar.ics"
    assert [scheduler.get(f"{feed}?key=guess-{i}", **at(HERE)).status_code for i in range(3)] == [401] * 3
    assert_limited(scheduler.get(f"{feed}?key=guess-3", **at(HERE)), "feed_key_failures")
    assert_limited(scheduler.get(feed, **at(HERE)), "feed_key_failures")  # no key at all is a wrong key too
    assert scheduler.get(f"{feed}?key=guess-4", **at(ELSEWHERE)).status_code == 401  # another address: its own count
    assert rate_limited_metric(scheduler, "feed_key_failures") == 2

    # a request with a bearer token does not ask with a key: not limited by key failures
    worker = bearer(token_for("social_worker"))
    assert scheduler.get(feed, headers=worker, **at(HERE)).status_code == 404  # no such plan known to the scheduler


def test_a_good_feed_key_does_not_count_as_a_failure(scheduler, token_for):
    from tests.services.test_scheduler_http import PLAN, hold_initial, start_case

    ctx = scheduler.application.extensions["cpp"]
    start_case(ctx)
    hold_initial(ctx)
    made = scheduler.post(f"/v1/plans/{PLAN}/calendar-feeds", headers=bearer(token_for("social_worker")))
    assert made.status_code == 201, made.json
    feed = f"/v1/plans/{PLAN}/calendar.ics?key={made.json['key']}"
    assert {scheduler.get(feed, **at(HERE)).status_code for _ in range(5)} == {200}


# --- bearer-token failures, on every service --------------------------------------------

SERVICES = {
    "plans": create_plans_app,
    "scheduler": create_scheduler_app,
    "notify": create_notify_app,
    "docs": create_docs_app,
}
PATHS = {
    "plans": "/v1/plans",
    "scheduler": "/v1/rules",
    "notify": "/v1/subscriptions",
    "docs": "/v1/plans/p-1/documents",
}


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_token_failures_past_the_limit_get_429_before_the_token_is_verified(service, make_settings, token_for):
    app = SERVICES[service](make_settings(service, CPP_RATE_LIMIT_TOKEN_FAILURES="3/minute"))
    client = app.test_client()
    verifier = app.extensions["cpp"].verifier
    path = PATHS[service]
    refusals = [
        client.get(path, **at(HERE)),  # no token
        client.get(path, headers={"Authorization": "Bearer not-a-token"}, **at(HERE)),
        client.get(path, headers=bearer(token_for("admin", ttl=-60)), **at(HERE)),
    ]  # expired
    assert [r.status_code for r in refusals] == [401, 401, 401]

    verified = []
    real_verify = verifier.verify
    verifier.verify = lambda token: verified.append(token) or real_verify(token)
    good = bearer(token_for("admin", user="admin-1"))
    refused = client.get(path, headers=good, **at(HERE))
    assert_limited(refused, "token_failures")
    assert "bearer token" in refused.json["message"]
    assert verified == []  # refused before its token was looked at

    assert client.get(path, headers=good, **at(ELSEWHERE)).status_code != 429
    assert verified  # another address's token is verified as usual
    assert client.get("/healthz", **at(HERE)).status_code == 200  # probes stay open
    assert rate_limited_metric(client, "token_failures") == 1


def test_a_good_token_and_a_forbidden_one_are_not_failures(make_settings, token_for):
    client = create_plans_app(make_settings("plans", CPP_RATE_LIMIT_TOKEN_FAILURES="2/minute")).test_client()
    other_authority = bearer(token_for("social_worker", authority="XYZ"))
    assert {client.get("/v1/plans", headers=other_authority, **at(HERE)).status_code for _ in range(3)} == {403}
    sw = bearer(token_for("social_worker"))
    assert {client.get("/v1/plans", headers=sw, **at(HERE)).status_code for _ in range(3)} == {200}
