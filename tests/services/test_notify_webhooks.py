"""Partner subscriptions and signed webhook deliveries, over HTTP, with real
receivers on loopback that verify each delivery with the standardwebhooks
library. The dispatcher's passes are run by the test (``run_once``), with a
short retry schedule, so back-off and disabling happen in seconds."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from cpp_notify.app import create_app
from cpp_notify.dispatcher import Dispatcher
from cpp_notify.runtime import runtime
from cpp_shared.contracts.catalogue import validate_event
from tests.helpers import bearer, deliver_event, wait_for
from tests.receivers import Receiver

SNAPSHOT = {
    "plan_id": "plan-1",
    "case_id": "case-1",
    "child_id": "child-1",
    "status": "active",
    "plan_version": 2,
    "created_on": "2026-11-02",
    "activated_on": "2026-11-16",
    "ended": None,
    "agreed": {"by": "sw-1", "on": "2026-11-16", "at": "core_group_meeting"},
    "key_worker": {
        "name": "Sam Social",
        "role": "social worker",
        "team": None,
        "phone": "020 7946 0000",
        "email": None,
    },
    "categories": ["neglect"],
    "content": {
        "key_worker": {"name": "Sam Social", "phone": "020 7946 0000"},
        "categories": ["neglect"],
        "concerns": "Home conditions and missed health appointments.",
        "childs_views": "Ana says she likes her new bed.",
    },
}


@pytest.fixture
def notify_app(make_settings):
    return create_app(
        make_settings("notify", CPP_NOTIFY_RETRY_SCHEDULE="0.05,0.1,0.2", CPP_NOTIFY_DISABLE_AFTER_SECONDS="0.3")
    )


@pytest.fixture
def nctx(notify_app):
    return notify_app.extensions["cpp"]


@pytest.fixture
def api(notify_app):
    return notify_app.test_client()


@pytest.fixture
def dispatcher(nctx):
    d = Dispatcher(nctx, box=runtime(nctx).box)
    yield d
    d.sender.close()


@pytest.fixture
def receivers():
    started = []

    def make(**kw) -> Receiver:
        r = Receiver(**kw).start()
        started.append(r)
        return r

    yield make
    for r in started:
        r.stop()


def partner(token_for, user="nurse-1"):
    # A partner organisation's token may carry its "org"; dev tokens name the user, which then owns.
    return bearer(token_for("partner", user=user))


@pytest.fixture
def admin(token_for):
    return bearer(token_for("admin", user="admin-1"))


def subscribe(api, headers, url, types=("plan.*",), **extra):
    r = api.post("/v1/subscriptions", json={"url": url, "event_types": list(types), **extra}, headers=headers)
    assert r.status_code == 201, r.json
    return r.json


def drain(dispatcher, *, until=lambda: True, timeout=10.0):
    """Run dispatcher passes until ``until()`` holds (a bound on waiting, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dispatcher.run_once()
        if until():
            return
        time.sleep(0.02)
    raise AssertionError("deliveries did not settle in time")


# --- subscriptions ---------------------------------------------------------


def test_a_partner_may_not_subscribe_a_loopback_or_private_address(api, token_for, admin):
    p = partner(token_for)
    for url in (
        "http://127.0.0.1:9/hook",
        "https://127.0.0.1/hook",
        "https://10.0.0.5/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/x",
        "https://localhost/hook",
        "ftp://example.org/x",
        "https://user:pw@example.org/x",
    ):
        r = api.post("/v1/subscriptions", json={"url": url, "event_types": ["plan.*"]}, headers=p)
        assert r.status_code == 422, (url, r.json)
        assert "url" in r.json["errors"]["json"]
    r = api.post(
        "/v1/subscriptions",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["plan.*"], "allow_private": True},
        headers=p,
    )
    assert r.status_code == 403  # a partner never may
    r = api.post(
        "/v1/subscriptions",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["plan.*"], "allow_private": True},
        headers=admin,
    )
    assert r.status_code == 201
    assert r.json["secret"].startswith("whsec_")
    assert api.get("/v1/subscriptions", headers=p).json["items"] == []


def test_receivers_on_ipv6_forms_of_ipv4_or_other_ports_are_refused_at_subscription(api, token_for, nctx):
    p = partner(token_for)
    for url, why in (
        ("https://[2002:7f00:1::]/hook", "6to4"),
        ("https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/h", "Teredo"),
        ("https://[64:ff9b::7f00:1]/hook", "NAT64"),
        ("https://[::127.0.0.1]/hook", "IPv4-compatible"),
        ("https://93.184.216.34:22/hook", "port 22"),
        ("https://93.184.216.34:6379/hook", "port 6379"),
    ):
        r = api.post("/v1/subscriptions", json={"url": url, "event_types": ["plan.*"]}, headers=p)
        assert r.status_code == 422, (url, r.json)
        assert why in r.json["errors"]["json"]["url"][0]
    assert nctx.store.collection("subscriptions").count_documents({}) == 0
    for url in ("https://93.184.216.34/hook", "https://93.184.216.34:8443/hook"):  # nothing is sent on subscribing
        r = api.post("/v1/subscriptions", json={"url": url, "event_types": ["plan.*"]}, headers=p)
        assert r.status_code == 201, (url, r.json)


def test_a_deployment_may_allow_receivers_on_other_ports(make_settings, token_for):
    app = create_app(make_settings("notify", CPP_NOTIFY_RECEIVER_PORTS="443,8443,9443"))
    r = app.test_client().post(
        "/v1/subscriptions",
        json={"url": "https://93.184.216.34:9443/hook", "event_types": ["plan.*"]},
        headers=partner(token_for),
    )
    assert r.status_code == 201, r.json


def test_a_partner_sees_and_manages_only_its_own(api, token_for, admin, nctx):
    a, b = partner(token_for, user="trust-a"), partner(token_for, user="school-b")
    sub = subscribe(api, admin, "http://127.0.0.1:9/a", owner="trust-a", allow_private=True)
    assert [s["id"] for s in api.get("/v1/subscriptions", headers=a).json["items"]] == [sub["id"]]
    assert api.get("/v1/subscriptions", headers=b).json["items"] == []
    for method, path in (("get", ""), ("delete", ""), ("post", "/pause"), ("post", "/secret")):
        assert getattr(api, method)(f"/v1/subscriptions/{sub['id']}{path}", headers=b).status_code == 404
    assert (
        api.put(
            f"/v1/subscriptions/{sub['id']}/scope", json={"scope": {"classes": ["narrative"]}}, headers=a
        ).status_code
        == 403
    )
    stored = nctx.store.collection("subscriptions").find_one({"_id": sub["id"]})
    assert sub["secret"] not in json.dumps(stored)  # sealed at rest
    assert "secret" not in api.get(f"/v1/subscriptions/{sub['id']}", headers=a).json


def test_a_partner_cannot_subscribe_to_what_partners_never_receive(api, token_for, admin):
    p = partner(token_for)
    for types in (["lookup.performed.v1"], ["deadline.*"], ["*"], ["child.*"], ["subscription.*"]):
        r = api.post("/v1/subscriptions", json={"url": "https://example.org/h", "event_types": types}, headers=p)
        assert r.status_code == 422, (types, r.json)
    r = api.post(
        "/v1/subscriptions", json={"url": "https://example.org/h", "event_types": ["not a pattern!"]}, headers=p
    )
    assert r.status_code == 422


# --- deliveries ------------------------------------------------------------


def test_every_delivery_verifies_and_a_tampered_or_replayed_one_does_not(api, nctx, dispatcher, receivers, admin):
    rx = receivers()
    sub = subscribe(api, admin, rx.url, owner="nhs-trust", allow_private=True)
    rx.secret = sub["secret"]
    deliver_event(nctx, "plan.activated.v1", SNAPSHOT, subject="plan-1")
    drain(dispatcher, until=lambda: len(rx.received) == 1)
    got = rx.received[0]
    assert got.verified, got.error
    assert got.headers["content-type"].startswith("application/cloudevents+json")
    event = got.event
    assert event["type"] == "plan.activated.v1" and event["specversion"] == "1.0"
    wh = Webhook(sub["secret"])
    tampered = got.body.replace(b"active", b"ended")
    with pytest.raises(WebhookVerificationError):
        wh.verify(tampered, got.headers)
    old = datetime.now(UTC) - timedelta(minutes=10)
    replay = {
        **got.headers,
        "webhook-timestamp": str(int(old.timestamp())),
        "webhook-signature": wh.sign(got.headers["webhook-id"], old, got.body.decode()),
    }
    with pytest.raises(WebhookVerificationError, match="too old"):
        wh.verify(got.body, replay)
    log = api.get("/v1/deliveries", query_string={"subscription_id": sub["id"]}, headers=admin).json["items"]
    assert [(d["state"], d["attempts"][0]["status_code"]) for d in log] == [("delivered", 200)]
    assert log[0]["id"] == got.headers["webhook-id"]


def test_a_partner_receives_no_field_outside_its_scope(api, nctx, dispatcher, receivers, admin):
    narrow, wide = receivers(), receivers()
    subscribe(api, admin, narrow.url, owner="school", allow_private=True)
    w = subscribe(api, admin, wide.url, owner="police", allow_private=True)
    r = api.put(
        f"/v1/subscriptions/{w['id']}/scope",
        headers=admin,
        json={"scope": {"classes": ["identifier", "status", "date", "contact", "narrative"]}},
    )
    assert r.status_code == 200
    deliver_event(nctx, "plan.activated.v1", SNAPSHOT, subject="plan-1")
    drain(dispatcher, until=lambda: len(narrow.received) == 1 and len(wide.received) == 1)
    data = narrow.events()[0]["data"]
    assert data["plan_id"] == "plan-1" and data["status"] == "active" and data["activated_on"] == "2026-11-16"
    assert data["key_worker"]["phone"] == "020 7946 0000" and data["categories"] == ["neglect"]
    assert "content" not in data
    assert "concerns" not in json.dumps(data) and "Ana says" not in json.dumps(data)
    assert "Home conditions" in json.dumps(wide.events()[0]["data"])


def test_a_receiver_down_for_a_while_gets_everything_in_order_per_plan(api, nctx, dispatcher, receivers, admin):
    rx = receivers()
    sub = subscribe(api, admin, rx.url, types=("plan.*", "core_group.*"), owner="nhs-trust", allow_private=True)
    rx.secret = sub["secret"]
    port = rx._port
    rx.stop()  # down
    for plan in ("plan-1", "plan-2"):
        for i, etype in enumerate(("plan.created.v1", "plan.activated.v1", "plan.version_agreed.v1")):
            deliver_event(nctx, etype, {**SNAPSHOT, "plan_id": plan, "plan_version": i + 1}, subject=plan)
    dispatcher.run_once()  # the heads fail: connection refused
    time.sleep(0.1)
    dispatcher.run_once()
    log = api.get("/v1/deliveries", query_string={"subscription_id": sub["id"]}, headers=admin).json["items"]
    assert {d["state"] for d in log} == {"ready", "queued"}
    assert all(d["attempts"] and d["attempts"][-1]["status_code"] is None for d in log if d["state"] == "ready")
    rx.start(port)  # back
    drain(dispatcher, until=lambda: len({r.headers["webhook-id"] for r in rx.received}) == 6)
    assert all(r.verified for r in rx.received)
    for plan in ("plan-1", "plan-2"):
        versions = [e["data"]["plan_version"] for e in rx.events() if e["data"]["plan_id"] == plan]
        assert versions == [1, 2, 3]
    ids = [r.headers["webhook-id"] for r in rx.received]
    assert len(ids) == len(set(ids)) == 6  # each once once back up
    log = api.get("/v1/deliveries", query_string={"subscription_id": sub["id"]}, headers=admin).json["items"]
    assert {d["state"] for d in log} == {"delivered"}
    heads = [d for d in log if d["attempt_count"] > 1]
    assert len(heads) == 2  # the two heads were retried with the same webhook-id; the others went once


def test_a_receiver_that_always_fails_is_disabled_and_the_admin_told(api, nctx, dispatcher, receivers, admin):
    rx = receivers(respond=lambda r: 500)
    sub = subscribe(api, admin, rx.url, owner="nhs-trust", allow_private=True)
    deliver_event(nctx, "plan.created.v1", SNAPSHOT, subject="plan-1")
    deliver_event(nctx, "plan.activated.v1", SNAPSHOT, subject="plan-1")
    drain(
        dispatcher, until=lambda: api.get(f"/v1/subscriptions/{sub['id']}", headers=admin).json["status"] == "disabled"
    )
    got = api.get(f"/v1/subscriptions/{sub['id']}", headers=admin).json
    assert "failed" in got["disabled"]["reason"]
    assert len(rx.received) >= 2  # tried, and tried again
    log = api.get("/v1/deliveries", query_string={"subscription_id": sub["id"]}, headers=admin).json["items"]
    assert len(log) == 2 and all(d["state"] in ("ready", "queued", "failed") for d in log)  # nothing lost
    attempts = next(d for d in log if d["attempt_count"])["attempts"]
    assert all(a["status_code"] == 500 for a in attempts)
    assert all(b["at"] - a["at"] >= 0.04 for a, b in zip(attempts, attempts[1:]))  # backed off per the schedule
    outbox = [m for m in nctx.store.outbox_pending(100) if m.routing_key == "subscription.disabled.v1"]
    assert len(outbox) == 1 and outbox[0].body["data"]["subscription_id"] == sub["id"]
    # Back up and resumed: what waited is delivered, in order.
    rx.respond = lambda r: 200
    assert api.post(f"/v1/subscriptions/{sub['id']}/resume", headers=admin).json["status"] == "active"
    drain(
        dispatcher,
        until=lambda: all(
            d["state"] in ("delivered", "failed")
            for d in api.get("/v1/deliveries", query_string={"subscription_id": sub["id"]}, headers=admin).json["items"]
        ),
    )


def test_410_gone_disables_at_once(api, nctx, dispatcher, receivers, admin):
    rx = receivers(respond=lambda r: 410)
    sub = subscribe(api, admin, rx.url, owner="nhs-trust", allow_private=True)
    deliver_event(nctx, "plan.created.v1", SNAPSHOT, subject="plan-1")
    drain(dispatcher, until=lambda: len(rx.received) == 1)
    wait_for(
        lambda: api.get(f"/v1/subscriptions/{sub['id']}", headers=admin).json["status"] == "disabled",
        timeout=5,
        what="the subscription to be disabled",
    )
    assert "410" in api.get(f"/v1/subscriptions/{sub['id']}", headers=admin).json["disabled"]["reason"]


def test_a_rotated_secret_signs_with_both_for_a_day(api, nctx, dispatcher, receivers, admin):
    rx = receivers()
    sub = subscribe(api, admin, rx.url, owner="nhs-trust", allow_private=True)
    rotated = api.post(f"/v1/subscriptions/{sub['id']}/secret", headers=admin).json
    assert rotated["secret"] != sub["secret"]
    deliver_event(nctx, "plan.created.v1", SNAPSHOT, subject="plan-1")
    drain(dispatcher, until=lambda: len(rx.received) == 1)
    got = rx.received[0]
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    Webhook(sub["secret"]).verify(got.body, got.headers)
    Webhook(rotated["secret"]).verify(got.body, got.headers)


def test_paused_deliveries_wait_and_a_redelivery_sends_the_same_webhook_id(
    api, nctx, dispatcher, receivers, admin, token_for
):
    rx = receivers()
    sub = subscribe(api, admin, rx.url, owner="nhs-trust", allow_private=True)
    api.post(f"/v1/subscriptions/{sub['id']}/pause", headers=admin)
    deliver_event(nctx, "plan.created.v1", SNAPSHOT, subject="plan-1")
    dispatcher.run_once()
    assert rx.received == []
    api.post(f"/v1/subscriptions/{sub['id']}/resume", headers=admin)
    drain(dispatcher, until=lambda: len(rx.received) == 1)
    [d] = api.get("/v1/deliveries", query_string={"subscription_id": sub["id"]}, headers=admin).json["items"]
    r = api.post(f"/v1/deliveries/{d['id']}/redeliver", headers=admin)
    assert r.status_code == 202
    drain(dispatcher, until=lambda: len(rx.received) == 2)
    assert rx.received[0].headers["webhook-id"] == rx.received[1].headers["webhook-id"] == d["id"]
    other = partner(token_for, user="school-b")
    assert api.post(f"/v1/deliveries/{d['id']}/redeliver", headers=other).status_code == 404
    assert api.get(f"/v1/deliveries/{d['id']}", headers=other).status_code == 404
    owner = partner(token_for, user="nhs-trust")
    assert api.get(f"/v1/deliveries/{d['id']}", headers=owner).json["attempt_count"] == 1


@pytest.fixture
def gsy(make_settings, token_for):
    """Guernsey's deployment: its route to the Children's Convenor has a recipient outside the council."""
    app = create_app(make_settings("notify", CPP_PLUGINS="guernsey", CPP_NOTIFY_RETRY_SCHEDULE="0.05,0.1,0.2"))
    ctx = app.extensions["cpp"]
    d = Dispatcher(ctx, box=runtime(ctx).box)
    yield app.test_client(), ctx, d, bearer(token_for("admin", authority="GSY", user="admin-1"))
    d.sender.close()


def escalation(escalation_id, route, recipient):
    return {
        "escalation_id": escalation_id,
        "plan_id": "plan-1",
        "case_id": "case-1",
        "child_id": "child-1",
        "route": route,
        "name": "Refer to the Children's Convenor",
        "recipient": recipient,
        "raised_on": "2026-11-23",
        "key_worker": "Sam Social",
        "child": {"name": "Ana Jones", "date_of_birth": "2019-04-02", "nhs_number": "9434765919"},
    }


CONVENOR = {"name": "Children's Convenor", "kind": "external"}


def test_an_escalation_outside_the_council_goes_to_the_recipient_its_route_names(gsy, receivers, token_for):
    api, nctx, dispatcher, admin = gsy
    convenor, by_route_id, internal = receivers(), receivers(), receivers()
    # The Convenor's own organisation, made the route's recipient by an admin; and a subscription owned by the
    # route's id, as the route names its recipient by default.
    sub = subscribe(
        api,
        admin,
        convenor.url,
        types=("escalation.raised.v1",),
        owner="convenor-office",
        escalation_routes=["childrens_convenor"],
        allow_private=True,
    )
    assert sub["escalation_routes"] == ["childrens_convenor"]
    assert subscribe(
        api, admin, by_route_id.url, types=("escalation.raised.v1",), owner="childrens_convenor", allow_private=True
    )["escalation_routes"] == ["childrens_convenor"]
    subscribe(api, admin, internal.url, types=("escalation.*",), allow_private=True)  # the council's own
    # A partner that no route names is refused escalations when it subscribes, not accepted and sent none.
    trust = bearer(token_for("partner", authority="GSY", user="nhs-trust"))
    refused = api.post(
        "/v1/subscriptions",
        json={"url": "https://93.184.216.34/hook", "event_types": ["plan.*", "escalation.raised.v1"]},
        headers=trust,
    )
    assert refused.status_code == 422, refused.json
    assert "childrens_convenor" in refused.json["errors"]["json"]["event_types"][0]
    assert (
        api.post(
            "/v1/subscriptions",
            json={
                "url": "https://93.184.216.34/hook",
                "event_types": ["plan.*"],
                "escalation_routes": ["childrens_convenor"],
            },
            headers=trust,
        ).status_code
        == 403
    )  # only an admin names a route's recipient
    wrong = api.post(
        "/v1/subscriptions",
        json={
            "url": convenor.url,
            "event_types": ["escalation.raised.v1"],
            "owner": "a-school",
            "escalation_routes": ["early_review_conference"],
            "allow_private": True,
        },
        headers=admin,
    )
    assert wrong.status_code == 422 and "escalation_routes" in wrong.json["errors"]["json"]  # within the council

    raised = deliver_event(
        nctx, "escalation.raised.v1", escalation("esc-1", "childrens_convenor", CONVENOR), subject="plan-1"
    )
    validate_event(raised)
    deliver_event(nctx, "escalation.raised.v1", escalation("esc-2", "early_review_conference", None), subject="plan-1")
    drain(
        dispatcher,
        until=lambda: len(convenor.received) == 1 and len(by_route_id.received) == 1 and len(internal.received) == 2,
    )
    [got] = convenor.events()
    assert got["data"]["escalation_id"] == "esc-1" and got["data"]["recipient"] == CONVENOR
    assert "child" not in got["data"]  # the default scope: neither the name nor the child's identifiers
    assert [e["data"]["escalation_id"] for e in by_route_id.events()] == ["esc-1"]
    assert sorted(e["data"]["escalation_id"] for e in internal.events() if e["type"] == "escalation.raised.v1") == [
        "esc-1",
        "esc-2",
    ]
    # Reaching the Convenor is itself an event: the scheduler's timescale for the referral is met by it.
    delivered = [m for m in nctx.store.outbox_pending(100) if m.routing_key == "escalation.delivered.v1"]
    assert sorted(m.body["data"]["recipient"] for m in delivered) == ["childrens_convenor", "convenor-office"]
    for m in delivered:
        validate_event(m.body)
        assert m.body["data"]["escalation_id"] == "esc-1" and m.body["data"]["child"]["name"] == "Ana Jones"


def test_a_subscription_with_identifier_scope_receives_the_nhs_number_never_the_name(
    api, nctx, dispatcher, receivers, admin
):
    gp = receivers()
    sub = subscribe(api, admin, gp.url, owner="gp-practice-7", allow_private=True)
    child = {"name": "Ana Jones", "date_of_birth": "2019-04-02", "nhs_number": "9434765919"}
    snapshot = {**SNAPSHOT, "child": child}
    deliver_event(nctx, "plan.created.v1", snapshot, subject="plan-1")
    drain(dispatcher, until=lambda: len(gp.received) == 1)
    assert "child" not in gp.events()[0]["data"]  # the default scope: no identifiers of the child

    r = api.put(
        f"/v1/subscriptions/{sub['id']}/scope",
        headers=admin,
        json={"scope": {"classes": ["identifier", "status", "date", "contact", "personal_identifier"]}},
    )
    assert r.status_code == 200, r.json
    assert "personal_identifier" in r.json["scope"]["classes"]
    deliver_event(nctx, "plan.activated.v1", snapshot, subject="plan-1")
    drain(dispatcher, until=lambda: len(gp.received) == 2)
    data = gp.events()[1]["data"]
    assert data["child"] == {"nhs_number": "9434765919", "date_of_birth": "2019-04-02"}  # never the name
    assert "content" not in data and "Ana" not in json.dumps(data)

    api.put(
        f"/v1/subscriptions/{sub['id']}/scope",
        headers=admin,
        json={"scope": {"classes": ["identifier", "personal_identifier", "narrative"]}},
    )
    deliver_event(nctx, "plan.reviewed.v1", snapshot, subject="plan-1")
    drain(dispatcher, until=lambda: len(gp.received) == 3)
    assert gp.events()[2]["data"]["child"] == child  # narrative too: the name as well


def test_a_scope_change_with_if_match_is_made_only_to_the_version_read(api, admin):
    sub = subscribe(api, admin, "http://127.0.0.1:9/a", owner="trust-a", allow_private=True)
    read = api.get(f"/v1/subscriptions/{sub['id']}", headers=admin)
    assert read.headers["ETag"] == '"1"'
    changed = api.put(
        f"/v1/subscriptions/{sub['id']}/scope",
        json={"scope": {"classes": ["identifier"]}},
        headers={**admin, "If-Match": read.headers["ETag"]},
    )
    assert changed.status_code == 200 and changed.headers["ETag"] == '"2"'
    stale = api.put(
        f"/v1/subscriptions/{sub['id']}/scope",
        json={"scope": {"classes": ["narrative"]}},
        headers={**admin, "If-Match": read.headers["ETag"]},
    )
    assert stale.status_code == 412 and "changed since you read it" in stale.json["message"]
    assert api.get(f"/v1/subscriptions/{sub['id']}", headers=admin).json["scope"] == {"classes": ["identifier"]}
    assert (
        api.put(
            f"/v1/subscriptions/{sub['id']}/scope",
            json={"scope": {"classes": ["status"]}},
            headers={**admin, "If-Match": '"1", "2"'},
        ).status_code
        == 400
    )  # one ETag only
    # Without If-Match the change is made as before.
    assert (
        api.put(
            f"/v1/subscriptions/{sub['id']}/scope", json={"scope": {"classes": ["status"]}}, headers=admin
        ).status_code
        == 200
    )
