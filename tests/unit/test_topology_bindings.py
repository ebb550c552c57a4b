"""What each service's queue is bound to is derived from its event handlers: every event type of the
catalogue reaches a service exactly when one of its handlers takes it (no binding without a handler, as
plans' `deadline.#` was; no handler without a binding)."""

from __future__ import annotations

import pytest

from cpp_shared.contracts.catalogue import CATALOGUE
from cpp_shared.contracts.topology import SUBSCRIPTIONS, binding_key, bindings_of
from cpp_shared.messaging import topology
from cpp_shared.services import load_service
from tests.helpers import topic_matches


@pytest.mark.parametrize("service", ["plans", "scheduler", "notify", "docs", "returns"])
def test_an_event_type_reaches_a_service_exactly_when_a_handler_takes_it(service):
    handlers = load_service(service).handlers
    for event_type in CATALOGUE:
        bound = any(topic_matches(key, event_type) for key in SUBSCRIPTIONS[service])
        handled = bool(handlers.for_type(event_type))
        assert bound == handled, (service, event_type, "bound" if bound else "handled", SUBSCRIPTIONS[service])


def test_the_web_application_consumes_nothing_and_plans_only_the_audit_checkpoints():
    assert "web" not in SUBSCRIPTIONS
    assert SUBSCRIPTIONS["plans"] == ("audit.checkpointed.v1",)


@pytest.mark.parametrize(
    "pattern, key",
    [
        ("case.*", "case.#"),
        ("*", "#"),
        ("staff.updated.v1", "staff.updated.v1"),
        ("child.registered.*", "child.registered.#"),
        ("plan.*ed.v1", "plan.#"),
        ("a.b?.c", "a.#"),
        ("x.[ab].y", "x.#"),
    ],
)
def test_a_handlers_pattern_becomes_a_key_routing_every_type_it_matches(pattern, key):
    assert binding_key(pattern) == key


def test_keys_a_wider_key_routes_are_left_out():
    assert bindings_of(["plan.created.v1", "plan.*", "case.*", "case.opened.v1", "staff.updated.v1"]) == (
        "plan.#",
        "case.#",
        "staff.updated.v1",
    )
    assert bindings_of(["case.*", "*", "staff.updated.v1"]) == ("#",)


def test_every_retired_binding_is_of_a_consuming_service():
    assert set(topology.RETIRED_BINDINGS) <= set(SUBSCRIPTIONS)
