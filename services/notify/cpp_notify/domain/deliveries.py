"""Webhook deliveries: what is owed to whom, in what order, and what
happened at each attempt.

One delivery per (subscription, event), created in the same commit as the
consumer's processed mark, so an event is owed to every matching
subscription or to none (never lost between the two). Its body is the
CloudEvent as the subscription may see it (minimised by its scope),
serialised once: every attempt sends the same bytes with the same
``webhook-id``, so a receiver recognises a retry.

Order per plan: the deliveries of one subscription about one plan (or one
case, for events before a plan exists) form a chain. Only a chain's head is
``ready``; the rest are ``queued`` behind it, and the next is promoted when
the head is delivered or given up. A slow or failing receiver delays its own
chains, never another subscription's.

States: ``ready`` (head of its chain; sent when ``next_attempt_at`` comes),
``queued`` (behind the head), ``delivered`` (2xx), ``failed`` (retries
exhausted: kept, and redeliverable by hand).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

# Seconds after each failed attempt (Svix's schedule): about 27 hours in all.
DEFAULT_SCHEDULE = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
JITTER = 0.2
THROTTLE_CODES = {429, 502, 503, 504}
GONE = 410
DEFAULT_DISABLE_AFTER = 5 * 24 * 3600.0  # only failures for five days disable a subscription


def chain_key(event: dict[str, Any]) -> str:
    """What order is kept by: the plan an event is about, else its subject."""
    data = event.get("data") or {}
    return str(data.get("plan_id") or event.get("subject") or event["id"])


def new_delivery(
    *, delivery_id: str, subscription: dict[str, Any], event: dict[str, Any], body: str, head: bool, now: float
) -> dict[str, Any]:
    return {
        "_id": delivery_id,
        "authority": subscription["authority"],
        "subscription_id": subscription["_id"],
        "owner": subscription["owner"],
        "event_id": event["id"],
        "event_type": event["type"],
        "chain": f"{subscription['_id']}:{chain_key(event)}",
        "body": body,
        "state": "ready" if head else "queued",
        "in_chain": True,  # counted in its chain until settled (a redelivery by hand is not)
        "next_attempt_at": now if head else None,
        "attempt_count": 0,
        "attempts": [],
        "created_at": now,
        "delivered_at": None,
        "gave_up_at": None,
        "redeliveries": [],
    }


@dataclass(frozen=True)
class Outcome:
    """One attempt: a status code, or an error before any answer."""

    status: int | None
    latency_ms: float
    error: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def next_delay(attempt_count: int, outcome: Outcome, schedule: tuple[float, ...], rng: random.Random) -> float | None:
    """Seconds until the next attempt after ``attempt_count`` failed ones,
    or None when the schedule is spent. A receiver that asks to slow down
    (429, 502, 503, 504 with Retry-After) is heard, within twice the
    scheduled delay so it cannot park a delivery for ever."""
    if attempt_count > len(schedule):
        return None
    base = schedule[attempt_count - 1]
    delay = base * (1 + rng.uniform(-JITTER, JITTER))
    if outcome.status in THROTTLE_CODES and outcome.retry_after is not None:
        delay = min(max(delay, outcome.retry_after), 2 * base)
    return delay


def record_attempt(
    delivery: dict[str, Any], outcome: Outcome, *, now: float, schedule: tuple[float, ...], rng: random.Random
) -> dict[str, Any]:
    """The delivery after one attempt."""
    new = {
        **delivery,
        "attempts": [
            *delivery["attempts"],
            {
                "at": now,
                "status_code": outcome.status,
                "latency_ms": round(outcome.latency_ms, 1),
                "error": outcome.error,
            },
        ],
        "attempt_count": delivery["attempt_count"] + 1,
    }
    if outcome.ok:
        new.update(state="delivered", delivered_at=now, next_attempt_at=None)
        return new
    delay = next_delay(new["attempt_count"], outcome, schedule, rng)
    if delay is None or outcome.status == GONE:
        new.update(state="failed", gave_up_at=now, next_attempt_at=None)
    else:
        new["next_attempt_at"] = now + delay
    return new


def track_subscription(
    subscription: dict[str, Any], outcome: Outcome, *, now: float, disable_after: float
) -> tuple[dict[str, Any], str | None]:
    """The subscription after an attempt, and the reason to disable it, if
    any: a 410 Gone at once; otherwise only failures for ``disable_after``
    seconds (any success forgives)."""
    new = dict(subscription)
    if outcome.ok:
        new["failing_since"] = None
        return new, None
    if subscription.get("failing_since") is None:
        new["failing_since"] = now
    if outcome.status == GONE:
        return new, "the receiver answered 410 Gone"
    if now - new["failing_since"] >= disable_after:
        hours = (now - new["failing_since"]) / 3600
        return new, f"every delivery failed for {hours:.1f} hours"
    return new, None
