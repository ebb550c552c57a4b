"""Due dates counted by hand, for a timetable test to check the scheduler against: a jurisdiction's closed days
written out in the test (weekends and the holidays it lists), never the calendar library the scheduler uses."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date, timedelta


class HandCount:
    """Counting on a calendar whose closed days are weekends and ``holidays``."""

    def __init__(self, holidays: Iterable[date]):
        self.holidays = frozenset(holidays)

    def is_open(self, day: date, extra: Iterable[date] = ()) -> bool:
        return day.weekday() < 5 and day not in self.holidays and day not in set(extra)

    def working_days_after(self, anchor: date, amount: int, extra: Iterable[date] = ()) -> date:
        day, closed = anchor, set(extra)
        while amount:
            day += timedelta(days=1)
            amount -= self.is_open(day, closed)
        return day

    def back_to_working_day(self, day: date) -> date:
        """The day itself when open, else the working day before it."""
        while not self.is_open(day):
            day -= timedelta(days=1)
        return day

    def on_or_after(self, day: date) -> date:
        """The day itself when open, else the working day after it."""
        while not self.is_open(day):
            day += timedelta(days=1)
        return day

    def months_after(self, anchor: date, months: int) -> date:
        """The same day of the month ``months`` later (the month's last day when it has no such day), moved back
        off a closed day."""
        year, month = divmod(anchor.month - 1 + months, 12)
        year, month = anchor.year + year, month + 1
        return self.back_to_working_day(date(year, month, min(anchor.day, calendar.monthrange(year, month)[1])))

    def weeks_after(self, anchor: date, weeks: int) -> date:
        return self.back_to_working_day(anchor + timedelta(weeks=weeks))
