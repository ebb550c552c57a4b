"""Working days: the authority's public holidays (python-holidays), its own
closure days (plugins), and weekends.

``due_date`` turns a rule's offset and an anchor date into a due date and
says how: the days counted, and every weekend day, holiday or closure it
skipped, by name, so that a social worker can check the arithmetic.

A due date falls on a working day but for one case below. Counting in
working days lands on one by construction (nothing to count, "straight
away", from a closed day is the next working day); a calendar offset (14 days, 3 months) that lands on a
closed day is brought back to the working day before it: the work is due
before the office closes, never after the timescale. A count so short that
the working day before is before its anchor (1 calendar day from a
Saturday) stays on its own day, closed or not: nothing is due before what it
counts from.

A council's closures (``cpp_shared.contracts.timescales.Closure``) are dated or
yearly (every 24 December); a half-day closure stays a working day, named by
``half_day``, unless its plugin counts it as a day lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

import holidays
from dateutil.relativedelta import relativedelta

from cpp_shared.contracts.timescales import Closure

WEEKEND = {5: "Saturday", 6: "Sunday"}


@dataclass(frozen=True)
class Skipped:
    day: date
    reason: str  # "Saturday", "Sunday", or the holiday's or closure's name

    def as_dict(self) -> dict[str, str]:
        return {"date": self.day.isoformat(), "reason": self.reason}


@dataclass(frozen=True)
class Computation:
    """A due date and how it was reached."""

    anchor: date
    due: date
    counted: int  # working days counted (working-day offsets), else calendar days
    unit: str
    direction: str
    skipped: tuple[Skipped, ...] = ()
    rolled_back_from: date | None = None  # a calendar offset that landed on a closed day
    amount: int | None = None  # the offset in its own unit (3, for 3 months)

    def as_dict(self) -> dict:
        return {
            "anchor": self.anchor.isoformat(),
            "due": self.due.isoformat(),
            "counted": self.counted,
            "unit": self.unit,
            "direction": self.direction,
            "skipped": [s.as_dict() for s in self.skipped],
            "rolled_back_from": self.rolled_back_from.isoformat() if self.rolled_back_from else None,
            "amount": self.amount,
        }


@dataclass
class WorkingCalendar:
    country: str
    subdiv: str | None = None
    extra: dict[date, str] = field(default_factory=dict)  # whole days closed, by date
    closures: tuple[Closure, ...] = ()  # the council's closures: dated or yearly, whole or half days
    _closed: dict[date, str] = field(default_factory=dict, init=False, repr=False)
    _half: dict[date, str] = field(default_factory=dict, init=False, repr=False)
    _years: set[int] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        try:
            holidays.country_holidays(self.country, subdiv=self.subdiv, years=2026)
        except NotImplementedError as exc:
            raise ValueError(
                f"python-holidays has no calendar {self.country!r}"
                f"{' subdivision ' + repr(self.subdiv) if self.subdiv else ''}: {exc}"
            ) from exc

    @classmethod
    def for_authority(cls, authority: dict, closures: Iterable[Closure] = ()) -> WorkingCalendar:
        cal = authority.get("calendar") or {}
        if not cal.get("country"):
            raise ValueError(
                f"authority {authority.get('code')!r} names no calendar country (cpp_authority 'calendar')"
            )
        return cls(cal["country"], cal.get("subdiv"), closures=tuple(closures))

    def _load(self, year: int) -> None:
        # A year at a time, once: membership tests stay plain dict lookups.
        for y in (year - 1, year, year + 1):
            if y in self._years:
                continue
            for day, name in holidays.country_holidays(self.country, subdiv=self.subdiv, years=y).items():
                self._closed.setdefault(day, name)
            for closure in self.closures:
                on = closure.in_year(y)
                if on is not None:
                    (self._closed if closure.closes else self._half).setdefault(on, closure.name)
            self._years.add(y)
        for day, name in self.extra.items():
            self._closed.setdefault(day, name)

    def closure(self, day: date) -> str | None:
        """Why ``day`` is not a working day (None when it is one)."""
        if day.year not in self._years:
            self._load(day.year)
        holiday = self._closed.get(day)
        if holiday is not None:
            return holiday
        return WEEKEND.get(day.weekday())

    def half_day(self, day: date) -> str | None:
        """The name of a half-day closure on ``day`` that still counts as a working day (None when there is none)."""
        if day.year not in self._years:
            self._load(day.year)
        return None if day in self._closed else self._half.get(day)

    def is_working_day(self, day: date) -> bool:
        return self.closure(day) is None

    def holidays_between(self, start: date, end: date) -> list[Skipped]:
        """Public holidays and closures (not weekends) from start to end inclusive."""
        for y in range(start.year, end.year + 1):
            if y not in self._years:
                self._load(y)
        return [Skipped(d, self._closed[d]) for d in sorted(self._closed) if start <= d <= end]

    # --- arithmetic ---
    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after ``start`` (before it when n < 0);
        ``start`` itself is not counted. n = 0 gives ``start``."""
        return self._walk(start, n)[0]

    def _walk(self, start: date, n: int) -> tuple[date, list[Skipped]]:
        step = timedelta(days=1 if n >= 0 else -1)
        day, left, skipped = start, abs(n), []
        while left:
            day += step
            reason = self.closure(day)
            if reason is None:
                left -= 1
            else:
                skipped.append(Skipped(day, reason))
        return day, skipped

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end``
        (negative when end is before start)."""
        if end < start:
            return -self.working_days_between(end, start)
        return sum(1 for i in range(1, (end - start).days + 1) if self.is_working_day(start + timedelta(days=i)))

    def on_or_before(self, day: date) -> tuple[date, list[Skipped]]:
        skipped = []
        while (reason := self.closure(day)) is not None:
            skipped.append(Skipped(day, reason))
            day -= timedelta(days=1)
        return day, skipped

    def next_working_day(self, day: date) -> date:
        return self.add_working_days(day, 1)

    def due_date(self, anchor: date, amount: int, unit: str, direction: str = "after") -> Computation:
        sign = 1 if direction == "after" else -1
        if unit == "working_days":
            if amount == 0:  # "straight away": the anchor, or the first working day after it
                due, skipped = (anchor, []) if self.is_working_day(anchor) else self._walk(anchor, 1)
            else:
                due, skipped = self._walk(anchor, sign * amount)
            return Computation(anchor, due, amount, unit, direction, tuple(skipped), amount=amount)
        if unit == "calendar_days":
            raw = anchor + timedelta(days=sign * amount)
        elif unit == "weeks":
            raw = anchor + timedelta(weeks=sign * amount)
        elif unit == "months":
            raw = anchor + relativedelta(months=sign * amount)
        else:
            raise ValueError(f"unknown unit {unit!r}")
        due, skipped = self.on_or_before(raw)
        if direction == "after" and due < anchor:  # a short count from a closed day: nothing is due before it
            due, skipped = raw, []
        return Computation(
            anchor,
            due,
            abs((raw - anchor).days),
            unit,
            direction,
            tuple(skipped),
            rolled_back_from=raw if due != raw else None,
            amount=amount,
        )
