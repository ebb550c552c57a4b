"""The notify service's collections, their indexes, the projection it keeps
of who is on each plan, and what it has heard, as the rules of who is told
what ask for it (``domain/people.py``)."""

from __future__ import annotations

from typing import Any

from cpp_shared import case_events, children, erasure, staff
from cpp_shared.store import Store, UnitOfWork

from .domain.people import OVERDUE, case_people, plan_people

SUBSCRIPTIONS = "subscriptions"
DELIVERIES = "deliveries"
PEOPLE = "plan_people"  # per plan: its key worker and core group, from the plan's events
CASE_PEOPLE = "case_people"  # per case: its social worker, team manager, team and latest chair
MESSAGES = "messages"  # what people are told: email, inbox, plugin channels
CHAINS = "delivery_chains"  # per (subscription, plan): how many wait, the next sequence number
CHILDREN = children.COLLECTION  # per child: who they are, as the latest event about them said


def setup_store(store: Store) -> None:
    case_events.setup_store(store)
    staff.setup_store(store)  # the staff directory, found by user id
    erasure.setup_store(store)
    store.collection(PEOPLE).create_index("child_id")
    store.collection(CASE_PEOPLE).create_index("child_id")
    subs = store.collection(SUBSCRIPTIONS)
    for field in ("authority", "owner", "status"):
        subs.create_index(field)
    deliveries = store.collection(DELIVERIES)
    for field in ("subscription_id", "event_id", "chain", "state", "next_attempt_at", "created_at", "seq"):
        deliveries.create_index(field)
    messages = store.collection(MESSAGES)
    for field in (
        "recipient.email",
        "recipient.user",
        "state",
        "next_attempt_at",
        "channel",
        "event_id",
        "deadline_id",
    ):
        messages.create_index(field)


def update_people(uow: UnitOfWork, event: dict[str, Any]) -> None:
    """Keep who is on each plan (key worker, core group) from its events."""
    data = event.get("data") or {}
    people = plan_people(event)
    if people is not None:
        uow.update(PEOPLE, {"_id": data["plan_id"]}, {"$set": people}, upsert=True)


def update_case_people(store: Store, uow: UnitOfWork, event: dict[str, Any]) -> dict[str, Any] | None:
    """Keep who holds each case from its events; returns the case's people
    as they stand after the event (None when notify has heard of nobody)."""
    case_id = (event.get("data") or {}).get("case_id")
    if not case_id:
        return None
    stored = store.collection(CASE_PEOPLE).find_one({"_id": case_id})
    record = case_people(event, stored)
    if record is None:
        return stored
    uow.update(CASE_PEOPLE, {"_id": case_id}, {"$set": record}, upsert=True)
    return record


class Heard:
    """What the service has heard, from its store: the staff directory, the
    children, and the notices already sent."""

    def __init__(self, store: Store):
        self.store = store

    def staff(self, user: str) -> dict[str, Any] | None:
        return staff.entry(self.store, user)

    def child(self, child_id: str | None) -> dict[str, Any] | None:
        return children.named(self.store, child_id)

    def overdue_notices(self, deadline_id: str) -> list[dict[str, Any]]:
        return self.store.collection(MESSAGES).find(
            {"event_type": OVERDUE, "deadline_id": deadline_id}, sort=[("created_at", 1)]
        )
