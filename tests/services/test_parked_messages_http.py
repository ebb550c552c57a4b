"""GET /v1/admin/parked-messages on every service with an event consumer:
admin only, the parked events of the admin's own authority described
without their narrative, read without taking them off the queue, and a 503
naming the broker when it cannot be reached. The bus is kombu's in-memory
transport here; tests/integration/test_parked_messages_broker.py reads a
real RabbitMQ."""

from __future__ import annotations

import json
import uuid

import pytest
from kombu import Connection, Producer

from cpp_docs.app import create_app as create_docs_app
from cpp_notify.app import create_app as create_notify_app
from cpp_plans.app import create_app as create_plans_app
from cpp_scheduler.app import create_app as create_scheduler_app
from cpp_shared.contracts.topology import parked_queue_name
from cpp_shared.messaging.consumer import (
    ATTEMPT_HEADER,
    ERROR_HEADER,
    HANDLER_HEADER,
    PARKED_AT_HEADER,
    ROUTING_KEY_HEADER,
)
from cpp_shared.messaging.events import new_event
from cpp_shared.messaging.topology import parked_queue
from tests.helpers import bearer

FACTORIES = {
    "plans": create_plans_app,
    "scheduler": create_scheduler_app,
    "notify": create_notify_app,
    "docs": create_docs_app,
}
PATH = "/v1/admin/parked-messages"


def case_opened(authority: str = "ENG", case_id: str | None = None) -> dict:
    case_id = case_id or f"case-{uuid.uuid4().hex[:8]}"
    return new_event(
        "case.opened.v1",
        source="/services/plans",
        subject=case_id,
        authority=authority,
        data={
            "case_id": case_id,
            "child_id": "child-1",
            "opened_at": "2026-01-05T09:00:00+00:00",
            "child": {"name": "Rosa Fictional", "date_of_birth": "2019-04-01", "nhs_number": "9434765919"},
            "social_worker": {"user": "sw-1", "name": "Sam Social"},
            "team_manager": None,
            "team": "North",
        },
    )


def park(
    url: str,
    service: str,
    body,
    *,
    error: str = "KeyError: 'plan_id'",
    attempts: int = 6,
    parked_at: float = 1767603600.0,
    message_id: str | None = None,
) -> None:
    """A message as the consumer parks it: the body as it came, the reason in the headers."""
    raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
    with Connection(url) as conn:
        channel = conn.channel()
        parked_queue(service)(channel).declare()
        Producer(channel).publish(
            raw,
            exchange="",
            routing_key=parked_queue_name(service),
            delivery_mode=2,
            content_type="application/cloudevents+json",
            content_encoding="utf-8",
            message_id=message_id or (body.get("id") if isinstance(body, dict) else None),
            headers={
                ERROR_HEADER: error,
                HANDLER_HEADER: "on_case_opened",
                ATTEMPT_HEADER: attempts,
                PARKED_AT_HEADER: parked_at,
                ROUTING_KEY_HEADER: body.get("type") if isinstance(body, dict) else "",
            },
        )


def drain(url: str, service: str) -> list[dict]:
    """Every message of the parked queue, taken off it (what an operator's tool would do)."""
    taken = []
    with Connection(url) as conn:
        channel = conn.channel()
        while (message := channel.basic_get(queue=parked_queue_name(service), no_ack=True)) is not None:
            taken.append(json.loads(message.body))
    return taken


@pytest.fixture
def memory_bus():
    url = f"memory://parked-{uuid.uuid4().hex[:8]}/"
    yield url
    with Connection(
        url
    ) as conn:  # the in-memory transport's queues are the process's, whatever the address: empty them
        channel = conn.channel()
        for service in FACTORIES:
            channel.queue_purge(parked_queue_name(service))  # (a queue without bindings is not deleted)


def admin(token_for, authority="ENG"):
    return bearer(token_for("admin", authority=authority, user="admin-1"))


@pytest.mark.parametrize("service", sorted(FACTORIES))
def test_only_an_admin_reads_the_parked_messages_and_a_broker_that_is_down_is_a_503(service, make_settings, token_for):
    client = FACTORIES[service](make_settings(service)).test_client()  # its broker's port is closed
    for role in ("social_worker", "team_manager", "chair", "partner", "auditor"):
        assert client.get(PATH, headers=bearer(token_for(role))).status_code == 403
    assert client.get(PATH).status_code == 401
    resp = client.get(PATH, headers=admin(token_for))
    assert resp.status_code == 503
    assert "message broker cannot be reached" in resp.json["message"]
    doc = client.get("/openapi.json", headers=admin(token_for)).json
    assert set(doc["paths"][PATH]["get"]["responses"]) >= {"200", "503"}


def test_the_parked_events_of_the_admins_authority_without_their_narrative(make_settings, token_for, memory_bus):
    first, second, brm = case_opened(), case_opened(), case_opened("BRM")
    park(memory_bus, "scheduler", first, attempts=6)
    park(memory_bus, "scheduler", brm)
    park(memory_bus, "scheduler", b"{not json", error="MalformedEvent: not a CloudEvent", attempts=1, message_id="m-1")
    park(memory_bus, "scheduler", second, error="x" * 3000)
    client = create_scheduler_app(make_settings("scheduler", CPP_BROKER_URL=memory_bus)).test_client()

    resp = client.get(PATH, headers=admin(token_for))
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert (body["service"], body["queue"], body["total"], body["read"]) == ("scheduler", "scheduler.parked", 4, 4)
    assert (body["other_authorities"], body["unreadable"]) == (1, 1)
    assert [m["id"] for m in body["items"]] == [first["id"], second["id"]]  # oldest first, ENG's only
    item = body["items"][0]
    assert item["type"] == "case.opened.v1" and item["subject"] == first["subject"]
    assert item["identifiers"] == {"case_id": first["subject"], "child_id": "child-1", "social_worker.user": "sw-1"}
    assert (item["error"], item["handler"], item["attempts"]) == ("KeyError: 'plan_id'", "on_case_opened", 6)
    assert item["parked_at"].startswith("2026-01-05T09:00:00") and item["routing_key"] == "case.opened.v1"
    assert len(body["items"][1]["error"]) == 500
    text = resp.get_data(as_text=True)
    for secret in ("Rosa Fictional", "9434765919", "2019-04-01", "Sam Social", brm["id"], brm["subject"]):
        assert secret not in text

    # Bromley's deployment on the same bus: its admin sees Bromley's only.
    brm_app = create_scheduler_app(make_settings("scheduler", CPP_BROKER_URL=memory_bus, CPP_PLUGINS="england,bromley"))
    brm_body = brm_app.test_client().get(PATH, headers=admin(token_for, "BRM")).json
    assert [m["id"] for m in brm_body["items"]] == [brm["id"]] and brm_body["other_authorities"] == 2
    # A second read gives the same; nothing was taken off the queue.
    assert client.get(PATH, headers=admin(token_for)).json == body
    limited = client.get(PATH, query_string={"limit": 1}, headers=admin(token_for)).json
    assert (limited["read"], limited["total"]) == (1, 4)  # (the in-memory bus requeues at the back: no order here)
    assert client.get(PATH, query_string={"limit": 0}, headers=admin(token_for)).status_code == 422
    with Connection(memory_bus) as conn:
        taken = []
        channel = conn.channel()
        while (message := channel.basic_get(queue="scheduler.parked", no_ack=True)) is not None:
            taken.append(message.body)
    assert len(taken) == 4


def test_a_service_whose_parked_queue_was_never_declared_has_none(make_settings, token_for, memory_bus):
    client = create_docs_app(make_settings("docs", CPP_BROKER_URL=memory_bus)).test_client()
    resp = client.get(PATH, headers=admin(token_for))
    assert resp.status_code == 200, resp.json
    assert (resp.json["total"], resp.json["items"]) == (0, [])
