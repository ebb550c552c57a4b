"""The dispatcher: sends the deliveries that are due, and settles each.

A pass reads the chains' heads whose next attempt is due (an indexed query,
so its cost follows what is due), sends them on a pool of threads, and
settles each outcome in a unit of work of its own: the delivery's attempt,
the chain's next head promoted, the subscription's failure clock, and, when
the policy says so, the subscription disabled with ``subscription.disabled.v1``
published to tell the admin. A lease in the store lets one worker dispatch
at a time; a crash between a send and its settlement sends it again with
the same ``webhook-id``, which receivers recognise.
"""

from __future__ import annotations

import os
import random
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from cpp_shared.logs import get_logger
from cpp_shared.store import StoreError, StoreUnavailable, VersionConflict
from cpp_shared.web import ServiceContext

from . import store as st
from . import urls
from .domain.deliveries import DEFAULT_DISABLE_AFTER, DEFAULT_SCHEDULE, Outcome, record_attempt, track_subscription
from .domain.subscriptions import public_view, signing_secrets
from .secretbox import SecretBox
from .sender import Sender

log = get_logger("cpp.notify.dispatch")
LEASE = "notify-dispatch"
PAUSED_RECHECK = 30.0  # seconds before a delivery of a paused or disabled subscription is looked at again
LOCAL_TIME = ZoneInfo("Europe/London")  # the day a referral reached its recipient, as the timescales count days


def _floats(text: str, name: str) -> tuple[float, ...]:
    try:
        values = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ValueError(f"{name} must be a comma-separated list of seconds, got {text!r}") from None
    if not values or any(v < 0 for v in values):
        raise ValueError(f"{name} must list at least one delay >= 0, got {text!r}")
    return values


@dataclass
class PassResult:
    sent: int = 0
    delivered: int = 0
    failed_attempts: int = 0
    disabled: int = 0


class Dispatcher:
    def __init__(self, ctx: ServiceContext, *, box: SecretBox):
        s = ctx.settings
        self.ctx = ctx
        self.box = box
        self.schedule = _floats(
            s.setting("RETRY_SCHEDULE", ",".join(str(x) for x in DEFAULT_SCHEDULE)), "CPP_NOTIFY_RETRY_SCHEDULE"
        )
        self.disable_after = float(s.setting("DISABLE_AFTER_SECONDS", str(DEFAULT_DISABLE_AFTER)))
        self.threads = int(s.setting("DISPATCH_THREADS", "16"))
        self.batch = int(s.setting("DISPATCH_BATCH", "200"))
        self.idle = float(s.setting("DISPATCH_IDLE_SECONDS", "0.2"))
        self.sender = Sender(
            timeout=float(s.setting("DELIVERY_TIMEOUT_SECONDS", "15")),
            pool_size=self.threads,
            ports=urls.receiver_ports(s),
        )
        self.rng = random.Random()
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.wakeup = threading.Event()
        self._pool: ThreadPoolExecutor | None = None

    # --- one pass ---
    def run_once(self, now: float | None = None, *, use_lease: bool = True) -> PassResult:
        store = self.ctx.store
        result = PassResult()
        if use_lease and not store.acquire_lease(LEASE, self.holder, 60.0):
            return result
        try:
            now = time.time() if now is None else now
            due = store.collection(st.DELIVERIES).find(
                {"state": "ready", "next_attempt_at": {"$lte": now}}, limit=self.batch
            )
            if not due:
                return result
            subs = {
                s["_id"]: s
                for s in store.collection(st.SUBSCRIPTIONS).find(
                    {"_id": {"$in": sorted({d["subscription_id"] for d in due})}}
                )
            }
            sendable = []
            for d in due:
                sub = subs.get(d["subscription_id"])
                if sub is None or sub["status"] != "active":
                    self._hold(d)
                else:
                    sendable.append((d, sub))
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="notify-send")
            futures = [(d, sub, self._pool.submit(self._send, d, sub)) for d, sub in sendable]
            sent = [(d, sub, future.result()) for d, sub, future in futures]
            for _, _, outcome in sent:
                result.sent += 1
                result.delivered += outcome.ok
                result.failed_attempts += not outcome.ok
            result.disabled += self._settle_all(sent)
            return result
        finally:
            if use_lease:
                store.release_lease(LEASE, self.holder)

    def _send(self, delivery: dict[str, Any], sub: dict[str, Any]) -> Outcome:
        try:
            secrets = signing_secrets(sub, self.box, time.time())
        except Exception as exc:  # a secret that cannot be opened: a failed attempt, logged, never a crash
            return Outcome(None, 0.0, f"cannot sign: {exc}")
        return self.sender.send(
            sub["url"],
            allow_private=sub["allow_private"],
            msg_id=delivery["_id"],
            body=delivery["body"],
            secrets=secrets,
        )

    def _hold(self, delivery: dict[str, Any]) -> None:
        """A delivery of a paused or disabled subscription waits; it is
        looked at again later (and at once when the subscription resumes)."""
        try:
            self.ctx.store.collection(st.DELIVERIES).update_one(
                {"_id": delivery["_id"], "state": "ready"}, {"$set": {"next_attempt_at": time.time() + PAUSED_RECHECK}}
            )
        except StoreError as exc:
            log.warning("could not hold a delivery", delivery=delivery["_id"], error=str(exc))

    def _settle_all(self, sent: list[tuple[dict[str, Any], dict[str, Any], Outcome]]) -> int:
        """Record a pass's attempts in one group commit (a savepoint each, one
        disk sync); an attempt whose records changed meanwhile (two of one
        subscription's deliveries failing in a pass both move its failure
        clock) is settled again alone, on fresh reads. Returns how many
        subscriptions the pass disabled."""
        store = self.ctx.store
        units, planned = [], []
        for delivery, sub, outcome in sent:
            uow = store.begin()
            planned.append((delivery, outcome, self._plan(uow, delivery, sub, outcome)))
            units.append(uow)
        disabled = 0
        for (delivery, outcome, reason), error in zip(planned, store.commit_all(units) if units else []):
            if error is None:
                if reason:
                    disabled += 1
                    log.warning("subscription disabled", subscription=delivery["subscription_id"], reason=reason)
            else:
                disabled += self._settle(delivery, outcome)
        return disabled

    def _settle(self, delivery: dict[str, Any], outcome: Outcome) -> int:
        """Record one attempt alone, on fresh reads; returns 1 when it
        disabled the subscription."""
        store = self.ctx.store
        for _ in range(5):  # the chain or the subscription may change under us: read again and retry
            current = store.collection(st.DELIVERIES).find_one({"_id": delivery["_id"]})
            sub = store.collection(st.SUBSCRIPTIONS).find_one({"_id": delivery["subscription_id"]})
            if current is None or current["state"] != "ready" or sub is None:
                return 0  # settled meanwhile (a redelivery by hand)
            try:
                with store.unit_of_work() as uow:
                    reason = self._plan(uow, current, sub, outcome)
            except VersionConflict:
                continue
            if reason:
                log.warning("subscription disabled", subscription=sub["_id"], reason=reason)
            return int(reason is not None)
        log.error("could not settle a delivery after 5 tries", delivery=delivery["_id"])
        return 0

    def _plan(self, uow, current: dict[str, Any], sub: dict[str, Any], outcome: Outcome) -> str | None:
        """Write one attempt's effects into ``uow``: the delivery, its chain's
        next head, the subscription's failure clock, and the events; returns
        the reason when this attempt disables the subscription."""
        now = time.time()
        new = record_attempt(current, outcome, now=now, schedule=self.schedule, rng=self.rng)
        new_sub, reason = track_subscription(sub, outcome, now=now, disable_after=self.disable_after)
        disabling = reason is not None and sub["status"] == "active"
        if disabling:
            new_sub.update(status="disabled", disabled={"at": now, "reason": reason})
        # A delivery that a step waits for (a referral reaching the Convenor) announces itself once.
        announce = current.get("announce") if new["state"] == "delivered" and not current.get("announced") else None
        if announce:
            new["announced"] = True
        settled_in_chain = new["state"] in ("delivered", "failed") and current.get("in_chain", True)
        if settled_in_chain:
            new["in_chain"] = False
        uow.replace(st.DELIVERIES, new, expected_version=current["version"])
        if settled_in_chain:
            self._advance_chain(uow, current)
        if new_sub != sub:
            uow.replace(st.SUBSCRIPTIONS, new_sub, expected_version=sub["version"])
        if disabling:
            self.ctx.publish(
                uow, "subscription.disabled.v1", subject=sub["_id"], data={**public_view(new_sub), "reason": reason}
            )
        if announce:
            self.ctx.publish(
                uow,
                announce["type"],
                subject=announce["subject"],
                data={
                    **announce["data"],
                    "recipient": sub["owner"],
                    "delivered_on": datetime.now(LOCAL_TIME).date().isoformat(),
                },
            )
        return reason if disabling else None

    def _advance_chain(self, uow, head: dict[str, Any]) -> None:
        chain = self.ctx.store.collection(st.CHAINS).find_one({"_id": head["chain"]})
        if chain is None:
            return
        nxt = self.ctx.store.collection(st.DELIVERIES).find(
            {"chain": head["chain"], "state": "queued"}, sort=[("seq", 1)], limit=1
        )
        uow.replace(st.CHAINS, {**chain, "pending": max(0, chain["pending"] - 1)}, expected_version=chain["version"])
        if nxt:
            promoted = {**nxt[0], "state": "ready", "next_attempt_at": time.time()}
            uow.replace(st.DELIVERIES, promoted, expected_version=nxt[0]["version"])

    # --- the loop ---
    def wake(self) -> None:
        self.wakeup.set()

    def loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                result = self.run_once()
            except StoreUnavailable as exc:
                log.warning("dispatch skipped: store unavailable", error=str(exc))
                result = PassResult()
            except Exception:  # a bug must not stop deliveries for good
                log.exception("dispatch pass failed")
                result = PassResult()
            if result.sent == 0:
                self.wakeup.wait(self.idle)
                self.wakeup.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self.sender.close()
