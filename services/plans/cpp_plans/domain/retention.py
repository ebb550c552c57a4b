"""When a child's records are due for erasure: the deployment's retention rules (``cpp_retention_rules``), the
dates of the child's record, its legal holds and today. Plain data in, a decision out; the store is read and
written elsewhere (service_layer/retention.py).

A child's records are due on the day their rule's period ends: the birthday the rule names (``until_age``, from
the date of birth, or the expected date of birth of a child not yet born), or so many years after the last entry
about the child (``years_after_last_entry``), or the later of the two when the rule gives both. They are never due
while a legal hold is in force, nor while a case is open or a plan in force, nor without a rule for their record
type, nor when a date the rule needs is not known. A hold, an open case or a missing date keeps the records: the
decision errs towards keeping them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

CHILD_PROTECTION = "child_protection"
REFERRAL = "referral"

# Why a child's records are, or are not, due.
DUE = "due"
HELD = "held"
IN_FORCE = "in_force"  # a case open or a plan in force
NOT_YET = "not_yet"
NO_RULE = "no_rule"
NO_DATE = "no_date"


@dataclass(frozen=True)
class Rule:
    id: str
    record_type: str
    until_age: int | None = None
    years_after_last_entry: int | None = None
    name: str = ""

    @classmethod
    def from_plugin(cls, rule: Mapping[str, Any]) -> Rule:
        return cls(
            id=rule["id"],
            record_type=rule["record_type"],
            until_age=rule.get("until_age"),
            years_after_last_entry=rule.get("years_after_last_entry"),
            name=rule.get("name", ""),
        )


@dataclass(frozen=True)
class Hold:
    id: str
    until: date | None = None  # None: until it is lifted
    lifted: bool = False

    def in_force(self, today: date) -> bool:
        return not self.lifted and (self.until is None or today <= self.until)


@dataclass(frozen=True)
class Record:
    """What the decision needs of a child's records."""

    child_id: str
    record_type: str  # CHILD_PROTECTION or REFERRAL (record_type_of)
    born_on: date | None  # the date of birth, else the expected date of birth
    last_entry_on: date | None  # the latest date of any entry about the child
    in_force: bool  # a case open or a plan in force
    holds: tuple[Hold, ...] = ()


@dataclass(frozen=True)
class Decision:
    due: bool
    why: str  # DUE, HELD, IN_FORCE, NOT_YET, NO_RULE or NO_DATE
    rule: str | None = None  # the rule that applies
    due_on: date | None = None  # when the records are (or will be) due under it
    holds: tuple[str, ...] = ()  # the holds in force


def anniversary(day: date, years: int) -> date:
    """``day`` ``years`` years on; 29 February becomes 1 March in a year without one (the later day: a record is
    never due early)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


def due_on(rule: Rule, record: Record) -> date | None:
    """The day the records are due under ``rule``; None when a date it needs is not known."""
    ends: list[date] = []
    if rule.until_age is not None:
        if record.born_on is None:
            return None
        ends.append(anniversary(record.born_on, rule.until_age))
    if rule.years_after_last_entry is not None:
        if record.last_entry_on is None:
            return None
        ends.append(anniversary(record.last_entry_on, rule.years_after_last_entry))
    return max(ends) if ends else None


def decide(rules: Iterable[Rule], record: Record, today: date) -> Decision:
    """Whether the child's records are due for erasure today, under which rule and since when."""
    rule = next((r for r in rules if r.record_type == record.record_type), None)
    if rule is None:
        return Decision(False, NO_RULE)
    when = due_on(rule, record)
    held = tuple(h.id for h in record.holds if h.in_force(today))
    if when is None:
        return Decision(False, NO_DATE, rule.id, None, held)
    if held:
        return Decision(False, HELD, rule.id, when, held)
    if record.in_force:
        return Decision(False, IN_FORCE, rule.id, when)
    if today < when:
        return Decision(False, NOT_YET, rule.id, when)
    return Decision(True, DUE, rule.id, when)


def record_type_of(cases: Iterable[Mapping[str, Any]], plans: Iterable[Mapping[str, Any]]) -> str:
    """A child's records are child protection records once any case reached child protection enquiries (a
    strategy discussion), a conference or a plan; otherwise they are referral records (referrals and assessments
    only, or none at all)."""
    if any(plans):
        return CHILD_PROTECTION
    for case in cases:
        if case.get("strategy_discussions") or case.get("conferences") or case.get("plan_id"):
            return CHILD_PROTECTION
    return REFERRAL


def erasure_id(child_id: str, rule: str, due: date) -> str:
    """The erasure's id: the same for the same child, rule and due day, so a run interrupted and run again erases
    and publishes under the id it began with."""
    return hashlib.sha256(f"erase:{child_id}:{rule}:{due.isoformat()}".encode()).hexdigest()[:32]


def last_entry_on(documents: Iterable[Any], *, not_after: date) -> date | None:
    """The latest day any document about the child records: every value of a field named ``*_on`` or ``*_at``
    (at any depth) that reads as a date, up to ``not_after`` (a day planned ahead, a review due, is not an entry)."""
    latest: date | None = None
    for value in _dates(documents):
        if value <= not_after and (latest is None or value > latest):
            latest = value
    return latest


def _dates(value: Any, key: str = "") -> Iterable[date]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _dates(v, str(k))
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _dates(v, key)
    elif isinstance(value, str) and (key.endswith(("_on", "_at")) or key in ("on", "at")):
        try:
            yield date.fromisoformat(value[:10])
        except ValueError:
            return
