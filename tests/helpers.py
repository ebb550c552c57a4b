"""Small helpers for tests at every level."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from cpp_shared.testing import deliver_event, free_port, hand_over  # noqa: F401 - the tests' names for them

T = TypeVar("T")


def ok(resp, status=200):
    """The test client's JSON answer, once its status is the one expected."""
    assert resp.status_code == status, resp.json
    return resp.json


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def topic_matches(pattern: str, key: str) -> bool:
    """RabbitMQ's topic matching, written for the tests: ``*`` one word, ``#`` zero or more."""

    def match(p: list[str], k: list[str]) -> bool:
        if not p:
            return not k
        if p[0] == "#":
            return any(match(p[1:], k[i:]) for i in range(len(k) + 1))
        return bool(k) and p[0] in ("*", k[0]) and match(p[1:], k[1:])

    return match(pattern.split("."), key.split("."))


def wait_for(probe: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.1, what: str = "condition") -> T:
    """Poll until probe() returns something truthy; fail with `what` on timeout.
    (A bound on waiting for asynchronous work, not a timing assertion.)"""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


def a_child(**overrides) -> dict:
    """The least a child's registration needs."""
    body = {
        "given_names": "Sam",
        "family_name": "Jones",
        "date_of_birth": "2020-01-02",
        "gender": "1",
        "ethnicity": "WBRI",
        "first_language": "English",
        "interpreter_needed": False,
        "address": {"lines": ["1 High Street"]},
    }
    body.update(overrides)
    return body


def new_child(client, headers, **overrides) -> str:
    """Register a child through a plans test client; its id (a case is opened only for a registered child)."""
    resp = client.post("/v1/children", json=a_child(**overrides), headers=headers)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def new_child_over_http(plans_url: str, headers, **overrides) -> str:
    """As ``new_child``, against a running plans service."""
    import requests

    resp = requests.post(f"{plans_url}/v1/children", json=a_child(**overrides), headers=headers, timeout=20)
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def child_on_record(store, child_id: str = "child-1", **fields) -> str:
    """A child already on the deployment's record, written straight to the
    plans store (no audit entry, no event), for tests about what follows."""
    doc = {"_id": child_id, "given_names": "Sam", "family_name": "Jones", "date_of_birth": "2020-01-02"}
    doc.update(fields)
    store.collection("children").insert_one(doc)
    return child_id


def ensure_child(client, child_id: str) -> str:
    """``child_id``, on the record of the plans app behind ``client`` (a
    Flask test client): a case is opened only for a registered child."""
    store = client.application.extensions["cpp"].store
    if store.collection("children").find_one({"_id": child_id}) is None:
        child_on_record(store, child_id)
    return child_id


class Pump:
    """Hands every event the plans service has committed, once, to a
    consuming service; returns the types handed, but for the staff
    directory's (each caller's first request adds one)."""

    def __init__(self, plans_store, service_ctx):
        self.plans_store, self.service, self.seen = plans_store, service_ctx, set()

    def __call__(self) -> list[str]:
        handed = []
        for m in self.plans_store.outbox_pending(10_000):
            if m.message_id not in self.seen:
                self.seen.add(m.message_id)
                hand_over(self.service, m.body)
                if not m.routing_key.startswith("staff."):
                    handed.append(m.routing_key)
        return handed


#: The key worker of the tests' plans (their content names Sam Social) among a core group meeting's attendees:
#: a core group meeting is held with the plan's key worker.
KEY_WORKER_ATTENDS = {"name": "Sam Social", "role": "key worker", "agency": "Children's services"}

#: A conference's attendees from three agencies: quorate wherever the deployment's quorum is three agencies
#: (Guernsey's and Scotland's sets, cpp_conference_quorum).
QUORATE = [
    {"name": "Sam Social", "role": "social worker", "agency": "Children's services"},
    {"name": "Dr Hana Example", "role": "GP", "agency": "Health"},
    {"name": "PC Lee", "role": "officer", "agency": "Police"},
]


def cli_environment(monkeypatch, settings) -> None:
    """The environment a ``cpp`` command run in a test reads: development mode, the test's data folder (its store
    and signing key), England's plugins and the test's broker address."""
    for name, value in {
        "CPP_MODE": "development",
        "CPP_DATA_DIR": str(settings.data_dir),
        "CPP_PLUGINS": "england",
        "CPP_BROKER_URL": settings.broker_url,
    }.items():
        monkeypatch.setenv(name, value)
