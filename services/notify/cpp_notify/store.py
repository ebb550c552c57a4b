"""The notify service's collections and their indexes."""
from __future__ import annotations

from cpp_shared import case_events
from cpp_shared.store import Store

SUBSCRIPTIONS = "subscriptions"
DELIVERIES = "deliveries"
CHAINS = "delivery_chains"  # per (subscription, plan): how many wait, the next sequence number


def setup_store(store: Store) -> None:
    case_events.setup_store(store)
    subs = store.collection(SUBSCRIPTIONS)
    for field in ("authority", "owner", "status"):
        subs.create_index(field)
    deliveries = store.collection(DELIVERIES)
    for field in ("subscription_id", "event_id", "chain", "state", "next_attempt_at", "created_at", "seq"):
        deliveries.create_index(field)
