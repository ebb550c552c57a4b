"""Small helpers for tests at every level."""
from __future__ import annotations

import socket
import time
from typing import Callable, TypeVar

T = TypeVar("T")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def deliver_event(service_ctx, type: str, data: dict, *, subject: str | None = None, event_id: str | None = None):
    """Hand one event, built here, to a service's handlers; returns it."""
    from cpp_shared.messaging.events import new_event

    event = new_event(type, source="/services/plans", subject=subject or data.get("case_id") or data.get("plan_id"),
                      data=data, authority=service_ctx.authority["code"], event_id=event_id)
    return hand_over(service_ctx, event)


def hand_over(service_ctx, event: dict):
    """Hand one event to a service's handlers as its worker would (one unit
    of work, marked processed), without a broker; returns the event."""
    from cpp_shared.messaging.consumer import HandlerContext

    store = service_ctx.store
    uow = store.begin()
    hctx = HandlerContext(service=service_ctx.spec.name, store=store, uow=uow, attempt=1, app=service_ctx)
    for _, fn in service_ctx.spec.handlers.for_type(event["type"]):
        fn(event, hctx)
    uow.mark_processed(event["id"], service_ctx.spec.name)
    [outcome] = store.commit_all([uow])
    if outcome is not None:
        raise outcome
    return event
