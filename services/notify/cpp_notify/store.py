"""The notify service's collections and their indexes."""
from __future__ import annotations

from cpp_shared import case_events, staff
from cpp_shared.store import Store

SUBSCRIPTIONS = "subscriptions"
DELIVERIES = "deliveries"
PEOPLE = "plan_people"  # per plan: its key worker and core group, from the plan's events
MESSAGES = "messages"  # what people are told: email, inbox, plugin channels
CHAINS = "delivery_chains"  # per (subscription, plan): how many wait, the next sequence number
CHILDREN = "children"  # per child: who they are, as the latest event about them said (cpp_shared.children)


def setup_store(store: Store) -> None:
    case_events.setup_store(store)
    staff.setup_store(store)  # the staff directory, found by user id
    subs = store.collection(SUBSCRIPTIONS)
    for field in ("authority", "owner", "status"):
        subs.create_index(field)
    deliveries = store.collection(DELIVERIES)
    for field in ("subscription_id", "event_id", "chain", "state", "next_attempt_at", "created_at", "seq"):
        deliveries.create_index(field)
    messages = store.collection(MESSAGES)
    for field in ("recipient.email", "recipient.user", "state", "next_attempt_at", "channel", "event_id",
                  "deadline_id"):
        messages.create_index(field)
