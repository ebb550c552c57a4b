"""The tick: deadlines reaching their reminder, their overdue day or the
day an overdue step escalates.

Each deadline stores the day the tick must next look at it
(``next_check_on``: its reminder day while pending, its overdue day while
approaching, its next escalation while overdue, nothing once closed or
escalated to the last level), indexed, so a scan reads the
deadlines due for a change and no others: its cost grows with the number
due, not the number stored.

Exactly once, across replicas: each change is a versioned replace of the
deadline committed with its event in the outbox. Two replicas that scan the
same deadline both try; the store lets one commit and refuses the other
(``VersionConflict``), so ``deadline.approaching.v1`` and
``deadline.overdue.v1`` are published once each. A lease in the store lets
one replica scan at a time, so the others do not even try.

An overdue step escalates (``domain/escalation.py``): after the authority's
grace period the tick publishes ``deadline.escalated.v1`` naming the case's
team manager, and after a second one the team manager's service manager.

Once a day the tick also asks a team manager to confirm the end of each
plan whose child is 18 (``domain/adulthood.py``).
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

from cpp_shared import staff
from cpp_shared.logs import get_logger
from cpp_shared.store import DuplicateKey, StoreError, StoreUnavailable, VersionConflict
from cpp_shared.web import ServiceContext

from . import store as st
from .domain import adulthood, escalation, people
from .domain.deadlines import Scope, apply_transition, event_data, tick_transition
from .runtime import runtime

log = get_logger("cpp.scheduler.tick")
LEASE = "scheduler-tick"


@dataclass
class TickResult:
    approaching: int = 0
    overdue: int = 0
    escalated: int = 0
    conflicts: int = 0  # changed meanwhile by another replica or an event: left to it
    scanned: int = 0
    adults: int = 0  # plans whose child is 18, newly put to their team manager


class Ticker:
    def __init__(
        self, ctx: ServiceContext, *, interval: float | None = None, batch: int = 500, lease_seconds: float = 60.0
    ):
        self.ctx = ctx
        self.interval = interval if interval is not None else float(ctx.settings.setting("TICK_SECONDS", "30"))
        self.batch = batch
        self.lease_seconds = lease_seconds
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.adults_asked_on: date | None = None  # the last day plans were checked for a child of 18

    def run_once(self, today: date | None = None, *, use_lease: bool = True) -> TickResult:
        """One pass over every deadline due for a change today."""
        store = self.ctx.store
        rt = runtime(self.ctx)
        today = today or rt.today()
        result = TickResult()
        if use_lease and not store.acquire_lease(LEASE, self.holder, self.lease_seconds):
            return result
        try:
            if self.adults_asked_on != today:
                self._ask_about_adults(today, result)
                self.adults_asked_on = today
            self._scan(today, result, renew=use_lease)
        finally:
            if use_lease:
                store.release_lease(LEASE, self.holder)
        if result.approaching or result.overdue or result.escalated:
            log.info(
                "tick",
                approaching=result.approaching,
                overdue=result.overdue,
                escalated=result.escalated,
                conflicts=result.conflicts,
            )
        return result

    def _ask_about_adults(self, today: date, result: TickResult) -> None:
        """A deadline for the team manager of each plan in force whose child
        is 18 today or earlier, unless it has one already."""
        store, rt = self.ctx.store, runtime(self.ctx)
        now = datetime.now(UTC).isoformat()
        for plan in store.collection(st.PLANS).find({"status": {"$in": list(adulthood.IN_FORCE)}}):
            child = (
                store.collection(st.CHILDREN).find_one({"_id": plan.get("child_id")}) if plan.get("child_id") else None
            )
            birthday = adulthood.adult_on(child)
            if birthday is None or birthday > today:
                continue
            if store.collection(st.DEADLINES).find_one({"plan_id": plan["_id"], "rule_id": adulthood.RULE_ID}):
                continue
            scope = Scope(rt.authority, plan["case_id"], plan["_id"], plan.get("child_id"))
            doc = adulthood.confirmation(scope, birthday, rt.calendar, created_at=now, today=today)
            if doc is None:
                continue
            case = store.collection(st.CASE_PEOPLE).find_one({"_id": plan["case_id"]})
            people.assign(doc, adulthood.AGE_RULE, case, people.child_ref(child))
            try:
                with store.unit_of_work() as uow:
                    uow.insert(st.DEADLINES, doc)
                    self.ctx.publish(uow, "deadline.scheduled.v1", subject=doc["case_id"], data=event_data(doc))
            except DuplicateKey:  # made meanwhile by another tick: the one deadline stands
                continue
            result.adults += 1

    def _scan(self, today: date, result: TickResult, *, renew: bool) -> None:
        # Batch after batch: a deadline moved leaves the query (its next check
        # is later, or none); one changed meanwhile by someone else is read
        # again, fresh, in the next batch.
        store = self.ctx.store
        while True:
            query: dict = {"next_check_on": {"$lte": today.isoformat()}}
            # Unsorted on purpose: a sort by the range-filtered field makes SQLite
            # walk the whole index in order (every stored deadline) instead of
            # searching the range; a moved deadline leaves the query, so the
            # order of a pass does not matter.
            docs = store.collection(st.DEADLINES).find(query, limit=self.batch)
            result.scanned += len(docs)
            units, moves = [], []
            now = datetime.now(UTC).isoformat()
            for doc in docs:
                moved = self._move(doc, today, now)
                if moved is None:
                    continue
                transition, new, data = moved
                uow = store.begin()
                uow.replace(st.DEADLINES, new, expected_version=doc["version"])
                self.ctx.publish(uow, f"deadline.{transition}.v1", subject=new["case_id"], data=data)
                units.append(uow)
                moves.append(transition)
            if not units:
                break
            outcomes = store.commit_all(units)
            for transition, outcome in zip(moves, outcomes):
                if outcome is None:
                    setattr(result, transition, getattr(result, transition) + 1)
                elif isinstance(outcome, VersionConflict):
                    result.conflicts += 1
                else:
                    raise outcome
            if renew:
                store.acquire_lease(LEASE, self.holder, self.lease_seconds)
            if len(docs) < self.batch:
                break

    def _move(self, doc: dict, today: date, now: str) -> tuple[str, dict, dict] | None:
        """What the tick does to a deadline today: its transition, the
        deadline after it and its event's data; None for nothing."""
        rt = runtime(self.ctx)
        transition = tick_transition(doc, today)
        if transition is not None:
            new = apply_transition(doc, transition, now)
            if transition == "overdue":
                escalation.schedule_first(new, today, rt.calendar, rt.escalation)
            return transition, new, event_data(new)
        level = escalation.due(doc, today)
        if level is None:
            return None
        store = self.ctx.store
        case = store.collection(st.CASE_PEOPLE).find_one({"_id": doc["case_id"]})
        to = escalation.person(level, case, doc.get("assignee"), lambda user: staff.entry(store, user))
        new = escalation.escalate(doc, level, to, today, rt.calendar, rt.escalation, now)
        step = new["escalations"][-1]
        data = {**event_data(new), "escalation": {k: step[k] for k in ("level", "to", "on", "grace_working_days")}}
        return "escalated", new, data

    def loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except StoreUnavailable as exc:
                log.warning("tick skipped: store unavailable", error=str(exc))
            except StoreError as exc:
                log.error("tick failed", error=str(exc))
            except Exception:  # a bug must not stop reminders for good: log it and try again next tick
                log.exception("tick failed")
            stop.wait(self.interval)


def background(ctx: ServiceContext):
    runtime(ctx)  # a broken rule stops the worker at start-up
    return [("scheduler-tick", Ticker(ctx).loop)]
