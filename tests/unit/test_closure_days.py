"""A council's own closure days, as its plugin gives them (``cpp_extra_closure_days``): dated or yearly ("every
24 December"), whole days or half days, checked as the plugins load and counted by the working-day calendar.

Expected dates are worked by hand over England's bank holidays (Christmas Day Fri 25 Dec 2026, Boxing Day's
substitute Mon 28 Dec 2026, New Year's Day Fri 1 Jan 2027; Christmas Day and Boxing Day's substitutes Mon 27 and
Tue 28 Dec 2027, New Year's Day 2028 on a Saturday, its substitute Mon 3 Jan 2028)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from cpp_scheduler.domain import words
from cpp_scheduler.domain.calendar import WorkingCalendar
from cpp_shared.contracts.timescales import Closure, closure_days
from cpp_shared.hookspecs import PluginError, hookimpl
from cpp_shared.plugins import Plugins

ENGLAND = {"code": "ENG", "calendar": {"country": "GB", "subdiv": "ENG"}}


class Council:
    def __init__(self, *closures: dict[str, Any]):
        self.closures = list(closures)

    @hookimpl
    def cpp_extra_closure_days(self):
        return self.closures


def calendar(*closures: dict[str, Any]) -> WorkingCalendar:
    plugins = Plugins(["england"], extra=[("council", Council(*closures))])
    return WorkingCalendar.for_authority(ENGLAND, closure_days(plugins))


CHRISTMAS_EVE = {"yearly": "12-24", "name": "Council closure (Christmas Eve)"}


def test_a_yearly_closure_closes_the_day_every_year():
    cal = calendar(CHRISTMAS_EVE)
    for year in (2025, 2026, 2027, 2030):
        assert cal.closure(date(year, 12, 24)) in ("Council closure (Christmas Eve)", "Saturday", "Sunday")
    assert cal.closure(date(2026, 12, 24)) == "Council closure (Christmas Eve)"  # a Thursday
    assert cal.closure(date(2027, 12, 24)) == "Council closure (Christmas Eve)"  # a Friday
    assert cal.is_working_day(date(2026, 12, 23))


def test_working_days_skip_a_yearly_closure_in_each_year_and_name_it():
    cal = calendar(CHRISTMAS_EVE)
    # From Tue 22 Dec 2026, 5 working days: Wed 23 (1); Thu 24 the council's closure, Fri 25 Christmas Day, the
    # weekend, Mon 28 Boxing Day's substitute; Tue 29 (2), Wed 30 (3), Thu 31 (4); Fri 1 Jan New Year's Day, the
    # weekend; Mon 4 Jan 2027 (5).
    due = cal.due_date(date(2026, 12, 22), 5, "working_days")
    assert due.due == date(2027, 1, 4)
    assert (date(2026, 12, 24), "Council closure (Christmas Eve)") in [(s.day, s.reason) for s in due.skipped]
    # A year on, from Wed 22 Dec 2027: Thu 23 (1); Fri 24 the closure, the weekend, Mon 27 and Tue 28 the
    # substitutes for Christmas Day and Boxing Day; Wed 29 (2), Thu 30 (3), Fri 31 (4), the weekend, Mon 3 Jan 2028
    # New Year's Day's substitute; Tue 4 Jan 2028 (5).
    assert cal.due_date(date(2027, 12, 22), 5, "working_days").due == date(2028, 1, 4)
    # Without the closure, the first count ends a day sooner: Thu 24 Dec 2026 is counted.
    assert WorkingCalendar("GB", "ENG").due_date(date(2026, 12, 22), 5, "working_days").due == date(2026, 12, 31)


def test_a_calendar_count_landing_on_a_yearly_closure_comes_back_to_the_day_before():
    cal = calendar(CHRISTMAS_EVE)
    # Thu 24 Sep 2026 + 3 months = Thu 24 Dec 2026, the closure: back to Wed 23 Dec.
    due = cal.due_date(date(2026, 9, 24), 3, "months")
    assert (due.due, due.rolled_back_from) == (date(2026, 12, 23), date(2026, 12, 24))


def test_a_yearly_29_february_closes_only_in_leap_years():
    cal = calendar({"yearly": "02-29", "name": "Leap day closure"})
    assert cal.closure(date(2028, 2, 29)) == "Leap day closure"  # a Tuesday
    assert cal.is_working_day(date(2027, 3, 1)) and cal.is_working_day(date(2027, 2, 26))


def test_a_half_day_is_still_a_working_day_unless_the_plugin_counts_it_lost():
    half = {"date": "2026-12-23", "name": "Offices close at noon", "half_day": True}
    cal = calendar(half)
    assert cal.is_working_day(date(2026, 12, 23))
    assert cal.half_day(date(2026, 12, 23)) == "Offices close at noon"
    # From Mon 21 Dec 2026, 3 working days: Tue 22 (1), Wed 23 the half day, counted (2), Thu 24 (3).
    assert cal.due_date(date(2026, 12, 21), 3, "working_days").due == date(2026, 12, 24)

    lost = calendar({**half, "day_lost": True})
    assert lost.closure(date(2026, 12, 23)) == "Offices close at noon" and lost.half_day(date(2026, 12, 23)) is None
    # The half day counted as a day lost: Tue 22 (1), Wed 23 skipped, Thu 24 (2); Fri 25 Christmas Day, the
    # weekend, Mon 28 Boxing Day's substitute; Tue 29 Dec (3).
    assert lost.due_date(date(2026, 12, 21), 3, "working_days").due == date(2026, 12, 29)


def test_a_yearly_half_day_recurs_as_a_half_day():
    cal = calendar({"yearly": "12-23", "name": "Offices close at noon", "half_day": True})
    assert cal.half_day(date(2026, 12, 23)) == cal.half_day(date(2027, 12, 23)) == "Offices close at noon"
    assert cal.is_working_day(date(2027, 12, 23))


def test_the_closures_are_kept_in_order_and_said_in_words():
    days = closure_days(
        Plugins(
            ["england"],
            extra=[
                (
                    "council",
                    Council(
                        CHRISTMAS_EVE,
                        {"date": "2026-12-29", "name": "Stocktake"},
                        {"date": "2026-12-23", "name": "Offices close at noon", "half_day": True},
                    ),
                )
            ],
        )
    )
    assert days == [
        Closure("Council closure (Christmas Eve)", yearly=(12, 24)),
        Closure("Stocktake", on=date(2026, 12, 29)),
        Closure("Offices close at noon", on=date(2026, 12, 23), half_day=True, day_lost=False),
    ]
    assert [words.closure(c) for c in days] == [
        "every 24 December",
        "29 December 2026",
        "23 December 2026, a half day counted as worked",
    ]
    assert days[0].as_dict() == {
        "name": "Council closure (Christmas Eve)",
        "date": None,
        "yearly": "12-24",
        "half_day": False,
        "day_lost": True,
    }


@pytest.mark.parametrize(
    "closure, problem",
    [
        ({"yearly": "24-12", "name": "Christmas Eve"}, "a yearly day MM-DD"),
        ({"yearly": "12/24", "name": "Christmas Eve"}, "a yearly day MM-DD"),
        ({"yearly": "02-30", "name": "No such day"}, "a yearly day MM-DD"),
        ({"date": "24/12/2026", "name": "Christmas Eve"}, "a date is YYYY-MM-DD"),
        ({"date": "2026-12-24", "yearly": "12-24", "name": "Christmas Eve"}, "either a date"),
        ({"name": "Christmas Eve"}, "either a date"),
        ({"yearly": "12-24"}, "needs a name"),
        ({"yearly": "12-24", "name": "Christmas Eve", "every": "year"}, "'every' is not a closure field"),
        ({"yearly": "12-24", "name": "Christmas Eve", "half_day": "yes"}, "half_day must be true or false"),
        ({"yearly": "12-24", "name": "Christmas Eve", "day_lost": True}, "day_lost is said only of a half day"),
        ("2026-12-24", "must be a dict"),
    ],
)
def test_a_closure_that_could_not_be_applied_stops_the_plugins_loading_naming_it(closure, problem):
    with pytest.raises(PluginError, match="plugin 'council': closure day") as caught:
        Plugins(["england"], extra=[("council", Council(closure))])
    assert problem in str(caught.value)


def test_the_timetable_the_api_gives_lists_each_closure_with_its_words():
    from types import SimpleNamespace
    from zoneinfo import ZoneInfo

    from cpp_scheduler.api.rules import timetable
    from cpp_scheduler.runtime import Runtime

    cal = calendar(CHRISTMAS_EVE, {"date": "2026-12-23", "name": "Offices close at noon", "half_day": True})
    context = SimpleNamespace(
        extensions={"scheduler": Runtime((), cal, ZoneInfo("Europe/London"), "ENG")},
        plugins=SimpleNamespace(order=["england", "council"]),
    )
    assert timetable(context)["calendar"]["closure_days"] == [
        {
            "name": "Council closure (Christmas Eve)",
            "date": None,
            "yearly": "12-24",
            "half_day": False,
            "day_lost": True,
            "description": "every 24 December",
        },
        {
            "name": "Offices close at noon",
            "date": "2026-12-23",
            "yearly": None,
            "half_day": True,
            "day_lost": False,
            "description": "23 December 2026, a half day counted as worked",
        },
    ]
