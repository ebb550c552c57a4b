"""Deadlines: what an event does to a case's deadlines, and when each falls.

Plain Python over plain documents, like the plans service's lifecycle: the
handler reads a case's open deadlines, calls ``on_event`` and stores what it
returns. For one event, in this order:

1. **met**: each open deadline whose rule the event meets is met, on time or
   late (by the date in the event, not the day it arrived); a recurring rule
   then opens its next occurrence from that date, due at its earliest (or
   its norm: a calendar month) and overdue after its latest (or its limit:
   6 weeks);
2. **cancelled**: an ended plan cancels every open deadline of its case
   (recording how it ended, the event's ``ended.reason``), and so does a
   case closed (``case.closed.v1``: nothing is due on it any more); a
   rule's own ``cancelled_by`` events cancel its deadlines (a cancelled
   conference, enquiries that found no conference needed);
3. **re-dated**: a plan's event whose content states another frequency for a
   step the plan sets (``plan_sets``: its visits, its core groups)
   supersedes that step's open occurrence, counted again from the same date
   at the new frequency (a plan that stops stating one goes back to the
   rule's recurrence);
4. **triggered**: each rule the event triggers opens a deadline. A rule with
   a ``key`` (a conference's id) supersedes its open deadline for the same
   key and recalculates it: a conference moved moves its deadlines (a step
   already done for it stays done). A rule
   without a key keeps the earliest: a second trigger never pushes a
   deadline later.

A deadline is ``pending`` until its reminder date, then ``approaching``,
then ``overdue`` on the first working day after its latest date (the tick
does those two, see ``tick.py``); ``met``, ``cancelled`` or ``superseded``
end it.

For the plan's calendar each deadline keeps when it last changed
(``changed_at``, stamped by whoever stores the change) and how many times
its due date moved (``sequence``). A deadline that supersedes another
carries on its calendar event (``calendar_id``, the first one's id), so a
calendar program moves the event rather than dropping it for a new one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .calendar import Computation, WorkingCalendar
from .rules import Rule, anchor_date, lookup

OPEN = ("pending", "approaching", "overdue")
CLOSED = ("met", "cancelled", "superseded")
STATUSES = OPEN + CLOSED
PLAN_ENDED = "plan.ended.v1"
CASE_CLOSED = "case.closed.v1"
#: The events that cancel every open deadline of their case.
ENDS_THE_CASE = (PLAN_ENDED, CASE_CLOSED)


@dataclass
class Changes:
    """What to store: new deadlines, changed ones (with the version read),
    and the events to publish."""

    inserts: list[dict[str, Any]] = field(default_factory=list)
    replaces: list[tuple[dict[str, Any], int]] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (type, data)

    def __bool__(self) -> bool:
        return bool(self.inserts or self.replaces)


@dataclass(frozen=True)
class Scope:
    authority: str
    case_id: str
    plan_id: str | None
    child_id: str | None


def event_data(doc: dict[str, Any]) -> dict[str, Any]:
    """What deadline events carry: enough for notify and partners to act
    without reading the scheduler: who must act, the team, and who the child
    is (the child's name is narrative, for staff; a partner's scope decides
    what it receives)."""
    return {
        "deadline_id": doc["_id"],
        "case_id": doc["case_id"],
        "plan_id": doc["plan_id"],
        "child_id": doc["child_id"],
        "rule_id": doc["rule_id"],
        "kind": doc["kind"],
        "name": doc["name"],
        "owner": doc["owner"],
        "assignee": doc.get("assignee"),
        "team": doc.get("team"),
        "child": doc.get("child"),
        "status": doc["status"],
        "due_on": doc["due_on"],
        "latest_on": doc["latest_on"],
        "needs_date": doc["needs_date"],
        "source": doc["source"],
        "met": doc["met"],
        "closed_by": _closed_by(doc),
        "superseded_by": doc.get("superseded_by"),
    }


def _closed_by(doc: dict[str, Any]) -> dict[str, Any] | None:
    closed = doc.get("cancelled") if doc["status"] == "cancelled" else doc.get("superseded")
    if doc["status"] not in ("cancelled", "superseded") or not closed:
        return None
    out = {"on": closed["on"], "event_id": closed["event_id"], "type": closed["type"], "time": closed.get("time")}
    if closed.get("reason"):
        out["reason"] = closed["reason"]
    return out


def schedule(
    doc: dict[str, Any], rule_reminder_days: int, cal: WorkingCalendar, due: date | None, latest: date | None
) -> None:
    """Set a deadline's dates, and the day the tick must next look at it."""
    if due is None:
        doc.update(due_on=None, latest_on=None, remind_on=None, overdue_on=None, next_check_on=None, needs_date=True)
        return
    latest = latest or due
    remind = cal.add_working_days(due, -rule_reminder_days) if rule_reminder_days else due
    overdue = cal.next_working_day(latest)
    doc.update(
        due_on=due.isoformat(),
        latest_on=latest.isoformat(),
        remind_on=remind.isoformat(),
        overdue_on=overdue.isoformat(),
        needs_date=False,
    )
    doc["next_check_on"] = (
        doc["remind_on"]
        if doc["status"] == "pending"
        else (doc["overdue_on"] if doc["status"] == "approaching" else None)
    )


#: The plan's events that carry its content (and so its rhythm).
PLAN_SNAPSHOTS = ("plan.created.v1", "plan.activated.v1", "plan.version_agreed.v1", "plan.reviewed.v1")
#: A plan's frequency units as the rules count them.
RHYTHM_UNITS = {"working_days": "working_days", "days": "calendar_days", "weeks": "weeks", "months": "months"}


def plan_frequency(rule: Rule, rhythm: dict[str, Any] | None) -> tuple[int, str] | None:
    """The frequency the plan states for the step ``rule`` counts (amount, unit), or None: the rule does not let
    the plan set it, or the plan states none."""
    stated = (rhythm or {}).get(rule.plan_sets) if rule.plan_sets else None
    if not isinstance(stated, dict) or stated.get("unit") not in RHYTHM_UNITS:
        return None
    return stated["every"], RHYTHM_UNITS[stated["unit"]]


def _at_frequency(rule: Rule, occurrence: int) -> bool:
    """Whether this occurrence counts at the plan's frequency (where it states one)."""
    return occurrence > 1 or rule.first_counts_at_plan_frequency()


def _recurs(rule: Rule, frequency: tuple[int, str] | None) -> bool:
    return rule.recurrence is not None or frequency is not None


def _frequency_words(frequency: tuple[int, str]) -> str:
    amount, unit = frequency
    unit = unit.replace("_", " ")
    return f"every {amount} {unit.rstrip('s') if amount == 1 else unit}, as the plan states"


def new_deadline(
    rule: Rule,
    scope: Scope,
    cal: WorkingCalendar,
    *,
    anchor: date,
    key: Any,
    trigger: dict[str, Any],
    occurrence: int,
    created_at: str,
    data: dict[str, Any] | None = None,
    frequency: tuple[int, str] | None = None,
) -> dict[str, Any]:
    """A deadline of ``rule`` counted from ``anchor`` (``data``: the
    trigger's, for a rule's other counts, ``earliest_of``; ``frequency``:
    the plan's, for a step the plan sets)."""
    frequency = frequency if _at_frequency(rule, occurrence) else None
    doc: dict[str, Any] = {
        "_id": uuid.uuid4().hex,
        "authority": scope.authority,
        "case_id": scope.case_id,
        "plan_id": scope.plan_id,
        "child_id": scope.child_id,
        "rule_id": rule.id,
        "plugin": rule.plugin,
        "kind": rule.deadline,
        "name": _name(rule, occurrence, frequency),
        "owner": rule.owner,
        "assignee": None,  # who holds the owner's role, the team and the child: set by the handler (people.py)
        "team": None,
        "child": None,
        "source": rule.source,
        "key": key,
        "occurrence": occurrence,
        "trigger": trigger,
        "anchor": {"field": rule.anchor if occurrence == 1 else rule.met_on, "date": anchor.isoformat()},
        "frequency": None if frequency is None else {"amount": frequency[0], "unit": frequency[1]},
        "status": "pending",
        "met": None,
        "cancelled": None,
        "superseded_by": None,
        "superseded": None,
        "supersedes": None,
        "due_date_set": None,
        "notified": {"approaching": None, "overdue": None},
        "explanation": None,
        "created_at": created_at,
        "changed_at": created_at,
        "calendar_id": None,  # its own id, unless it carries on a superseded deadline's event
        "sequence": 0,
    }
    if frequency is not None:
        computations = [cal.due_date(anchor, *frequency)]
        due = latest = computations[0].due
    elif (rule.offset if occurrence == 1 else rule.recurrence) is None:
        schedule(doc, rule.reminder_days, cal, None, None)  # neither the source nor the plan sets a timescale
        return doc
    elif occurrence == 1:
        assert rule.offset is not None
        first = cal.due_date(anchor, rule.offset.amount, rule.offset.unit, rule.offset.direction)
        computations = [first, *_other_counts(rule, cal, data or {})]
        due = latest = min(c.due for c in computations)
    else:
        assert rule.recurrence is not None, "a later occurrence is of a recurring rule"
        computations = [cal.due_date(anchor, amount, unit) for amount, unit in rule.recurrence.counts()]
        due, latest = computations[0].due, max(computations[0].due, computations[1].due)
    doc["explanation"] = explain(rule, computations, occurrence, frequency)
    schedule(doc, rule.reminder_days, cal, due, latest)
    return doc


def _name(rule: Rule, occurrence: int, frequency: tuple[int, str] | None) -> str:
    if frequency is not None:
        return rule.name if occurrence == 1 else f"{rule.name} ({_frequency_words(frequency)}, #{occurrence})"
    if occurrence == 1 or rule.recurrence is None:
        return rule.name
    return f"{rule.name} ({rule.recurrence.describe()}, #{occurrence})"


def _other_counts(rule: Rule, cal: WorkingCalendar, data: dict[str, Any]) -> list[Computation]:
    """The rule's other counts (``earliest_of``) whose anchor the trigger's data has."""
    counts = []
    for limit in rule.earliest_of:
        other = anchor_date(data, limit.anchor)
        if other is not None:
            counts.append(cal.due_date(other, limit.offset.amount, limit.offset.unit, limit.offset.direction))
    return counts


def explain(
    rule: Rule, computations: list[Computation], occurrence: int, frequency: tuple[int, str] | None = None
) -> dict[str, Any]:
    if frequency is not None:
        timescale = f"{_frequency_words(frequency)}, after {rule.frequency_anchor_text(occurrence)}"
    elif occurrence == 1:
        timescale = rule.timescale()
    else:
        timescale = rule.recurrence_text()
    return {"timescale": timescale, "computations": [c.as_dict() for c in computations]}


def _met_date(rule: Rule, data: dict[str, Any], event_time: str) -> date:
    return anchor_date(data, rule.met_on) or date.fromisoformat(event_time[:10])


def _key_matches(rule: Rule, doc: dict[str, Any], data: dict[str, Any]) -> bool:
    if rule.key is None:
        return True
    value = lookup(data, rule.key)
    return value is None or value == doc["key"]


def on_event(
    event: dict[str, Any],
    scope: Scope,
    rules: list[Rule],
    open_deadlines: list[dict[str, Any]],
    cal: WorkingCalendar,
    *,
    now: str,
    rhythm: dict[str, Any] | None = None,
) -> Changes:
    """The changes one event makes to its case's deadlines (see the module
    docstring). ``open_deadlines`` are the case's deadlines in an open
    status, and its met ones (a step done is not asked for again when its
    anchor moves); ``rhythm`` is the plan's (its content's), as it is after
    the event."""
    etype, data = event["type"], event.get("data") or {}
    by_rule = {r.id: r for r in rules}
    changes = Changes()
    current = {d["_id"]: (d, d["version"]) for d in open_deadlines}
    changed: dict[str, dict[str, Any]] = {}

    def doc_of(d_id: str) -> dict[str, Any]:
        if d_id not in changed:
            changed[d_id] = {**current[d_id][0]}
        return changed[d_id]

    def still_open() -> list[dict[str, Any]]:
        docs = [changed.get(i, d) for i, (d, _) in current.items()]
        return [d for d in docs if d["status"] in OPEN]

    ref = {"event_id": event["id"], "type": etype, "time": event.get("time")}

    # 1. met
    for rule in rules:
        if not rule.is_met_by(etype, data):
            continue
        met_on = _met_date(rule, data, event.get("time") or now)
        # A recurring step's next occurrence counts from the last meeting: a
        # meeting dated before that (recorded late) is history, not the next one.
        candidates = [
            d
            for d in still_open()
            if d["rule_id"] == rule.id
            and _key_matches(rule, d, data)
            and not (d["occurrence"] > 1 and met_on.isoformat() <= d["anchor"]["date"])
        ]
        if not candidates:
            continue
        doc = doc_of(min(candidates, key=lambda d: (d["due_on"] is None, d["due_on"] or "", d["created_at"]))["_id"])
        late = doc["latest_on"] is not None and met_on.isoformat() > doc["latest_on"]
        working_days_late = cal.working_days_between(date.fromisoformat(doc["latest_on"]), met_on) if late else 0
        doc.update(
            status="met",
            next_check_on=None,
            met={"on": met_on.isoformat(), "late": late, "working_days_late": working_days_late, **ref},
        )
        changes.events.append(("deadline.met.v1", doc))
        frequency = plan_frequency(rule, rhythm)
        if _recurs(rule, frequency):
            nxt = new_deadline(
                rule,
                scope,
                cal,
                anchor=met_on,
                key=doc["key"],
                trigger=ref,
                occurrence=doc["occurrence"] + 1,
                created_at=now,
                frequency=frequency,
            )
            changes.inserts.append(nxt)
            changes.events.append(("deadline.scheduled.v1", nxt))

    # 2. cancelled (by an ended plan, with how it ended; by a closed case)
    ending = {"reason": (data.get("ended") or {}).get("reason") or "review_conference"} if etype == PLAN_ENDED else {}
    for doc in still_open():
        found = by_rule.get(doc["rule_id"])
        ended = etype in ENDS_THE_CASE
        by_rule_event = found is not None and found.is_cancelled_by(etype, data) and _key_matches(found, doc, data)
        if ended or by_rule_event:
            d = doc_of(doc["_id"])
            d.update(status="cancelled", next_check_on=None, cancelled={"on": now[:10], **ref, **ending})
            changes.events.append(("deadline.cancelled.v1", d))
    for nxt in list(changes.inserts):  # a recurrence opened by an event that also ends the plan or the case
        if etype in ENDS_THE_CASE:
            changes.inserts.remove(nxt)
            changes.events = [(t, d) for t, d in changes.events if d is not nxt]

    # 3. re-dated: a new agreed version that changes a frequency the plan sets
    if etype in PLAN_SNAPSHOTS:
        for doc in still_open():
            found = by_rule.get(doc["rule_id"])
            if found is None or found.plan_sets is None or not _at_frequency(found, doc["occurrence"]):
                continue
            frequency = plan_frequency(found, rhythm)
            stored = doc.get("frequency")
            if (stored and (stored["amount"], stored["unit"])) == frequency:
                continue
            fresh = new_deadline(
                found,
                scope,
                cal,
                anchor=date.fromisoformat(doc["anchor"]["date"]),
                key=doc["key"],
                trigger=doc["trigger"],
                occurrence=doc["occurrence"],
                created_at=now,
                frequency=frequency,
            )
            fresh["anchor"] = doc["anchor"]
            fresh["supersedes"] = doc["_id"]
            old = doc_of(doc["_id"])
            old.update(
                status="superseded", next_check_on=None, superseded_by=fresh["_id"], superseded={"on": now[:10], **ref}
            )
            carry_on(old, fresh)
            changes.events.append(("deadline.superseded.v1", old))
            changes.inserts.append(fresh)
            changes.events.append(("deadline.scheduled.v1", fresh))

    # 4. triggered
    for rule in rules:
        if not rule.triggered_by(etype, data):
            continue
        anchor = anchor_date(data, rule.anchor)
        if anchor is None:
            continue  # the event lacks the anchor date: nothing to count from (logged by the handler)
        key = lookup(data, rule.key) if rule.key else None
        if rule.key and any(
            d["rule_id"] == rule.id and d["key"] == key and d["status"] == "met" for d, _ in current.values()
        ):
            continue  # done already: a conference moved after its report was drafted keeps it drafted
        fresh = new_deadline(
            rule,
            scope,
            cal,
            anchor=anchor,
            key=key,
            trigger=ref,
            occurrence=1,
            created_at=now,
            data=data,
            frequency=plan_frequency(rule, rhythm),
        )
        same = [d for d in still_open() if d["rule_id"] == rule.id and d["key"] == key]
        same += [d for d in changes.inserts if d["rule_id"] == rule.id and d["key"] == key and d["status"] in OPEN]
        if same and rule.key is None:
            earliest = min(same, key=lambda d: d["due_on"] or "9999")
            if fresh["due_on"] is None or (earliest["due_on"] is not None and earliest["due_on"] <= fresh["due_on"]):
                continue  # keep the earlier deadline: a second trigger never moves one later
        for old in same:
            target = old if old in changes.inserts else doc_of(old["_id"])
            target.update(
                status="superseded", next_check_on=None, superseded_by=fresh["_id"], superseded={"on": now[:10], **ref}
            )
            fresh["supersedes"] = old["_id"]
            if old in changes.inserts:
                changes.inserts.remove(old)
                changes.events = [(t, d) for t, d in changes.events if d is not old]
            else:
                carry_on(old, fresh)
                changes.events.append(("deadline.superseded.v1", target))
        changes.inserts.append(fresh)
        changes.events.append(("deadline.scheduled.v1", fresh))

    changes.replaces = [(doc, current[d_id][1]) for d_id, doc in changed.items()]
    return changes


def carry_on(old: dict[str, Any], new: dict[str, Any]) -> None:
    """``new`` replaces ``old`` in the calendar: the same event, one more in
    its sequence when the due date moved."""
    new["calendar_id"] = old.get("calendar_id") or old["_id"]
    new["sequence"] = (old.get("sequence") or 0) + (1 if new["due_on"] != old["due_on"] else 0)


def set_due_date(
    doc: dict[str, Any], rule_reminder_days: int, cal: WorkingCalendar, *, due: date, reason: str, by: str, now: str
) -> dict[str, Any]:
    """A manager gives a date to a deadline whose source set none (or moves
    one by decision, recorded with the reason)."""
    new = {**doc}
    if new["status"] not in OPEN:
        raise ValueError(f"the deadline is {new['status']}")
    new["status"] = "pending"
    new["notified"] = {"approaching": None, "overdue": None}
    schedule(new, rule_reminder_days, cal, due, due)
    new["due_date_set"] = {"due_on": due.isoformat(), "reason": reason, "by": by, "at": now}
    new["sequence"] = (doc.get("sequence") or 0) + (1 if new["due_on"] != doc["due_on"] else 0)
    new["changed_at"] = now
    return new


def tick_transition(doc: dict[str, Any], today: date) -> str | None:
    """What the tick does to a deadline today: 'approaching', 'overdue' or
    nothing. A deadline first seen after its overdue day goes straight to
    overdue: a reminder for a date already passed would only mislead."""
    if doc["status"] not in ("pending", "approaching") or doc["needs_date"]:
        return None
    t = today.isoformat()
    if t >= doc["overdue_on"]:
        return "overdue"
    if doc["status"] == "pending" and t >= doc["remind_on"]:
        return "approaching"
    return None


def apply_transition(doc: dict[str, Any], transition: str, now: str) -> dict[str, Any]:
    new = {**doc, "status": transition, "notified": {**doc["notified"], transition: now}, "changed_at": now}
    new["next_check_on"] = new["overdue_on"] if transition == "approaching" else None
    return new
