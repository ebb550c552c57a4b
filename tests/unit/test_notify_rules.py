"""The notify service's rules, alone: the receiver address policy, the retry
schedule and disabling, and data minimisation."""

from __future__ import annotations

import random
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cpp_notify import urls
from cpp_notify.domain.deliveries import DEFAULT_SCHEDULE, Outcome, next_delay, record_attempt, track_subscription
from cpp_notify.domain.minimise import DEFAULT_CLASSES, minimise, partner_may_receive
from cpp_notify.runtime import EVENT_CATALOGUE
from cpp_notify.sender import Sender
from cpp_shared.config import ConfigError
from cpp_shared.contracts.catalogue import FIELD_CLASSES


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/x",
        "https://127.1.2.3/x",
        "https://10.1.2.3/x",
        "https://172.16.0.1/x",
        "https://192.168.1.1/x",
        "https://169.254.169.254/latest",
        "https://100.64.0.1/x",
        "https://0.0.0.0/x",
        "https://[::1]/x",
        "https://[fe80::1]/x",
        "https://[fc00::1]/x",
        "https://[::ffff:10.0.0.1]/x",
        "https://224.0.0.1/x",
        "https://localhost/x",
    ],
)
def test_non_public_addresses_are_refused_unless_allowed(url):
    with pytest.raises(urls.UrlRefused, match="not a public address"):
        urls.resolve(url, allow_private=False)
    assert urls.resolve(url.replace("https", "http"), allow_private=True).address


@pytest.mark.parametrize(
    "url, why",
    [
        ("http://93.184.216.34/x", "https"),
        ("ftp://93.184.216.34/x", "https"),
        ("https://u:p@93.184.216.34/x", "user"),
        ("https://93.184.216.34/x#frag", "fragment"),
        ("https:///x", "host"),
        ("https://[zz]/x", "valid"),
        ("", "URL"),
        ("https://93.184.216.34:99999/x", "valid"),
    ],
)
def test_malformed_or_unsafe_urls_are_refused_with_the_reason(url, why):
    with pytest.raises(urls.UrlRefused, match=why):
        urls.resolve(url, allow_private=False)


def test_a_public_literal_address_passes_and_keeps_its_path():
    t = urls.resolve("https://93.184.216.34:8443/hooks/cpp?x=1", allow_private=False)
    assert (t.scheme, t.host, t.port, t.path, t.address) == (
        "https",
        "93.184.216.34",
        8443,
        "/hooks/cpp?x=1",
        "93.184.216.34",
    )


@pytest.mark.parametrize(
    "url, why",
    [
        ("https://[2002:7f00:1::]/x", "6to4"),  # 127.0.0.1 wrapped
        ("https://[2002:5db8:d822::1]/x", "6to4"),  # even a public IPv4 address: the relay is not ours to trust
        ("https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/x", "Teredo"),  # Teredo, client 127.0.0.1
        ("https://[2001:0:5db8:d822::1]/x", "Teredo"),
        ("https://[::ffff:127.0.0.1]/x", "IPv4-mapped"),
        ("https://[::ffff:93.184.216.34]/x", "IPv4-mapped"),
        ("https://[::127.0.0.1]/x", "IPv4-compatible"),
        ("https://[::93.184.216.34]/x", "IPv4-compatible"),
        ("https://[64:ff9b::7f00:1]/x", "NAT64"),
        ("https://[64:ff9b::5db8:d822]/x", "NAT64"),
        ("https://[64:ff9b:1::5db8:d822]/x", "NAT64"),
    ],
)
def test_ipv6_addresses_that_carry_an_ipv4_address_are_refused(url, why):
    with pytest.raises(urls.UrlRefused, match=f"not a public address.*{why}"):
        urls.resolve(url, allow_private=False)


def test_a_public_ipv6_address_passes():
    assert (
        urls.resolve("https://[2606:2800:220:1:248:1893:25c8:1946]/x", allow_private=False).address
        == "2606:2800:220:1:248:1893:25c8:1946"
    )


@pytest.mark.parametrize("port", [22, 25, 80, 5001, 6379, 8080, 9443])
def test_a_public_receiver_on_another_port_is_refused(port):
    with pytest.raises(urls.UrlRefused, match=f"port {port}.*443, 8443"):
        urls.resolve(f"https://93.184.216.34:{port}/x", allow_private=False)


def test_the_deployment_may_allow_other_ports(make_settings):
    ports = urls.receiver_ports(make_settings("notify", CPP_NOTIFY_RECEIVER_PORTS="443, 8443,9443"))
    assert ports == (443, 8443, 9443)
    assert urls.resolve("https://93.184.216.34:9443/x", allow_private=False, ports=ports).port == 9443
    assert urls.receiver_ports(make_settings("notify")) == (443, 8443)
    assert urls.receiver_ports(make_settings("notify", CPP_RECEIVER_PORTS="8443")) == (8443,)


@pytest.mark.parametrize("text", ["", "https", "443,x", "0", "70000", "443,-1"])
def test_a_wrong_port_setting_stops_start_up(make_settings, text):
    with pytest.raises(ConfigError, match="CPP_NOTIFY_RECEIVER_PORTS"):
        urls.receiver_ports(make_settings("notify", CPP_NOTIFY_RECEIVER_PORTS=text or " "))


def test_the_check_runs_again_at_delivery_after_dns(monkeypatch):
    """A host that resolved to a public address when subscribed and resolves
    to a 6to4 wrapping of loopback at delivery is refused, unconnected."""
    answers = {"receiver.example": "2002:7f00:1::"}

    def getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (answers[host], port, 0, 0))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    sender = Sender()
    try:
        outcome = sender.send(
            "https://receiver.example/hook",
            allow_private=False,
            msg_id="msg_1",
            body="{}",
            secrets=["whsec_" + "A" * 32],
        )
        assert outcome.status is None and "refused by the address policy" in outcome.error
        assert "6to4" in outcome.error
        outcome = Sender(ports=(443,)).send(
            "https://93.184.216.34:8443/hook",
            allow_private=False,
            msg_id="msg_2",
            body="{}",
            secrets=["whsec_" + "A" * 32],
        )
        assert outcome.status is None and "port 8443" in outcome.error
        assert sender._pools == {}  # nothing was connected
    finally:
        sender.close()


@given(attempts=st.integers(min_value=1, max_value=len(DEFAULT_SCHEDULE)), seed=st.integers())
def test_delays_follow_the_schedule_within_the_jitter(attempts, seed):
    d = next_delay(attempts, Outcome(500, 1.0), DEFAULT_SCHEDULE, random.Random(seed))
    base = DEFAULT_SCHEDULE[attempts - 1]
    assert 0.8 * base <= d <= 1.2 * base


def test_retry_after_is_heard_within_twice_the_delay_and_the_schedule_ends():
    rng = random.Random(1)
    assert next_delay(1, Outcome(429, 1.0, retry_after=8.0), (5.0,), rng) == 8.0
    assert next_delay(1, Outcome(503, 1.0, retry_after=3600.0), (5.0,), rng) == 10.0
    assert next_delay(2, Outcome(500, 1.0), (5.0,), rng) is None
    d = {"attempts": [], "attempt_count": 0, "state": "ready", "next_attempt_at": 0.0}
    d = record_attempt(d, Outcome(500, 2.0, "HTTP 500"), now=100.0, schedule=(5.0,), rng=rng)
    assert d["state"] == "ready" and 104.0 <= d["next_attempt_at"] <= 106.0
    d = record_attempt(d, Outcome(None, 2.0, "refused"), now=110.0, schedule=(5.0,), rng=rng)
    assert d["state"] == "failed" and d["gave_up_at"] == 110.0
    assert [a["status_code"] for a in d["attempts"]] == [500, None]
    gone = record_attempt({"attempts": [], "attempt_count": 0}, Outcome(410, 1.0), now=1.0, schedule=(5.0,), rng=rng)
    assert gone["state"] == "failed"


def test_only_failures_for_the_whole_window_disable_and_a_success_forgives():
    sub = {"failing_since": None, "status": "active"}
    s, why = track_subscription(sub, Outcome(500, 1.0), now=0.0, disable_after=100.0)
    assert s["failing_since"] == 0.0 and why is None
    s, why = track_subscription(s, Outcome(500, 1.0), now=99.0, disable_after=100.0)
    assert why is None
    ok, why = track_subscription(s, Outcome(204, 1.0), now=99.5, disable_after=100.0)
    assert ok["failing_since"] is None and why is None
    s, why = track_subscription(s, Outcome(None, 1.0, "timeout"), now=100.0, disable_after=100.0)
    assert why and "failed" in why
    _, why = track_subscription({"failing_since": None}, Outcome(410, 1.0), now=0.0, disable_after=1e9)
    assert "410" in why


def test_minimising_keeps_identifiers_status_dates_and_contacts_only():
    kw = {"name": "Sam", "role": "social worker", "team": None, "phone": "020 7946 0000", "email": None}
    event = {
        "id": "e1",
        "type": "plan.version_agreed.v1",
        "subject": "p1",
        "data": {
            "plan_id": "p1",
            "case_id": "c1",
            "child_id": "k1",
            "status": "active",
            "plan_version": 3,
            "created_on": "2026-11-02",
            "activated_on": "2026-11-16",
            "ended": {"on": "2026-12-01", "conference_id": "f1", "step_down": "child_in_need_plan"},
            "agreed": {"by": "sw-1", "on": "2026-11-16", "at": "core_group_meeting"},
            "key_worker": kw,
            "categories": ["neglect"],
            "content": {"key_worker": kw, "categories": ["neglect"], "concerns": "text"},
            "unclassed": "anything the catalogue does not know",
        },
    }
    data = minimise(event, DEFAULT_CLASSES, EVENT_CATALOGUE)["data"]
    assert data == {
        "plan_id": "p1",
        "case_id": "c1",
        "child_id": "k1",
        "status": "active",
        "plan_version": 3,
        "created_on": "2026-11-02",
        "activated_on": "2026-11-16",
        "ended": {"on": "2026-12-01", "conference_id": "f1", "step_down": "child_in_need_plan"},
        "agreed": {"by": "sw-1", "on": "2026-11-16", "at": "core_group_meeting"},
        "key_worker": kw,
        "categories": ["neglect"],
    }
    assert minimise(event, ("identifier",), EVENT_CATALOGUE)["data"] == {
        "plan_id": "p1",
        "case_id": "c1",
        "child_id": "k1",
        "ended": {"conference_id": "f1"},
        "agreed": {"by": "sw-1"},
    }
    assert minimise(event, FIELD_CLASSES, EVENT_CATALOGUE)["data"] == event["data"]
    unclassed = {k: v for k, v in event["data"].items() if k != "unclassed"}
    all_but_personal_identifiers = ("identifier", "status", "date", "contact", "narrative")
    assert minimise(event, all_but_personal_identifiers, EVENT_CATALOGUE)["data"] == unclassed
    assert minimise({**event, "type": "something.new.v1"}, DEFAULT_CLASSES, EVENT_CATALOGUE)["data"] == {}


def test_the_childs_identifiers_go_only_with_identifier_scope_and_the_name_only_with_narrative():
    assert "personal_identifier" in FIELD_CLASSES and "personal_identifier" not in DEFAULT_CLASSES
    child = {"name": "Ana Jones", "date_of_birth": "2019-04-02", "nhs_number": "9434765919"}
    event = {
        "id": "e1",
        "type": "conference.scheduled.v1",
        "subject": "c1",
        "data": {
            "conference_id": "f1",
            "case_id": "c1",
            "child_id": "k1",
            "kind": "initial",
            "scheduled_for": "2027-01-05",
            "plan_id": None,
            "chair": {"user": "chair-1", "name": "Chris Chair"},
            "child": child,
        },
    }
    assert "child" not in minimise(event, DEFAULT_CLASSES, EVENT_CATALOGUE)["data"]
    assert minimise(event, (*DEFAULT_CLASSES, "personal_identifier"), EVENT_CATALOGUE)["data"]["child"] == {
        "date_of_birth": "2019-04-02",
        "nhs_number": "9434765919",
    }
    assert minimise(event, ("identifier", "narrative"), EVENT_CATALOGUE)["data"]["child"] == {"name": "Ana Jones"}
    assert minimise(event, ("personal_identifier", "narrative"), EVENT_CATALOGUE)["data"] == {"child": child}
    assert (
        minimise(
            {**event, "data": {**event["data"], "child": None}},
            (*DEFAULT_CLASSES, "personal_identifier"),
            EVENT_CATALOGUE,
        )["data"].get("child")
        is None
    )


@pytest.mark.parametrize(
    "pattern, ok",
    [
        ("plan.*", True),
        ("plan.created.v1", True),
        ("conference.*", True),
        ("escalation.raised.v1", True),
        ("*", False),
        ("lookup.*", False),
        ("deadline.*", False),
        ("child.*", False),
        ("case.*", False),
        ("visit.recorded.v1", False),
        ("subscription.disabled.v1", False),
        ("*.v1", False),
        ("plan.secret.v9", False),
    ],
)
def test_partners_receive_only_partner_event_types(pattern, ok):
    assert partner_may_receive(pattern, EVENT_CATALOGUE) is ok


def test_the_census_fields_of_a_childs_record_never_reach_a_partner():
    """child.registered.v1 and child.updated.v1 carry the child's coded gender, ethnicity, disabilities, dates
    and UPN for the platform's own services: no partner subscribes to them, whatever the pattern, and were one
    to, the default scope would drop every census field (personal identifiers and special category data)."""
    census = ("date_of_birth", "expected_date_of_birth", "gender", "ethnicity", "disabilities", "upn")
    for type_ in ("child.registered.v1", "child.updated.v1"):
        assert not partner_may_receive(type_, EVENT_CATALOGUE)
        classes = EVENT_CATALOGUE.fields_of(type_)
        assert {classes[f] for f in census} <= {"personal_identifier", "narrative"}
        assert not {classes[f] for f in census} & set(DEFAULT_CLASSES)
    for pattern in ("child.*", "child.#", "*.updated.v1", "#"):
        assert not partner_may_receive(pattern, EVENT_CATALOGUE)
    data = {"child_id": "k1", "version": 2, "gender": "2", "ethnicity": "WBRI", "disabilities": ["NONE"], "upn": None}
    event = {"id": "e1", "type": "child.updated.v1", "subject": "k1", "data": data}
    assert minimise(event, DEFAULT_CLASSES, EVENT_CATALOGUE)["data"] == {"child_id": "k1", "version": 2}
