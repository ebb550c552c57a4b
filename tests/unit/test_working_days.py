"""Working-day arithmetic on real calendars (python-holidays), with
properties checked over many dates by hypothesis."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cpp_scheduler.domain.calendar import WorkingCalendar

ENGLAND = WorkingCalendar("GB", "ENG")
GUERNSEY = WorkingCalendar("GG")
SCOTLAND = WorkingCalendar("GB", "SCT")
WITH_CLOSURE = WorkingCalendar("GB", "ENG", {date(2026, 12, 24): "Council closure (Christmas Eve)"})

CALENDARS = st.sampled_from([ENGLAND, GUERNSEY, SCOTLAND, WITH_CLOSURE])
DAYS = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
COUNTS = st.integers(min_value=0, max_value=60)


def working(cal: WorkingCalendar, day: date) -> date:
    return cal.on_or_before(day)[0]


@settings(max_examples=300, deadline=None)
@given(cal=CALENDARS, start=DAYS, n=COUNTS)
def test_adding_then_counting_back_gives_the_start(cal, start, n):
    start = working(cal, start)
    assert cal.add_working_days(cal.add_working_days(start, n), -n) == start
    assert cal.working_days_between(start, cal.add_working_days(start, n)) == n


@settings(max_examples=300, deadline=None)
@given(
    cal=CALENDARS,
    start=DAYS,
    n=st.integers(min_value=1, max_value=60),
    unit=st.sampled_from(["working_days", "calendar_days", "weeks", "months"]),
    direction=st.sampled_from(["after", "before"]),
)
def test_a_due_date_is_a_working_day_unless_every_day_from_its_anchor_to_it_is_closed(cal, start, n, unit, direction):
    c = cal.due_date(start, n, unit, direction)
    if cal.closure(c.due) is not None:  # a count too short to come back to a working day since its anchor
        assert direction == "after" and c.rolled_back_from is None
        assert all(cal.closure(start + timedelta(days=i)) for i in range((c.due - start).days + 1))
        return
    assert c.due.weekday() < 5


@settings(max_examples=300, deadline=None)
@given(cal=CALENDARS, a=DAYS, b=DAYS, n=COUNTS, unit=st.sampled_from(["working_days", "calendar_days", "months"]))
def test_ordering_is_preserved(cal, a, b, n, unit):
    a, b = sorted((a, b))
    assert cal.due_date(a, n, unit).due <= cal.due_date(b, n, unit).due


@settings(max_examples=200, deadline=None)
@given(cal=CALENDARS, start=DAYS, n=st.integers(min_value=1, max_value=40))
def test_every_skipped_day_is_named_and_the_count_adds_up(cal, start, n):
    c = cal.due_date(start, n, "working_days")
    span = (c.due - start).days
    assert span == n + len(c.skipped)
    for s in c.skipped:
        assert s.reason and cal.closure(s.day) == s.reason


def test_england_christmas_and_new_year_are_skipped_by_name():
    c = ENGLAND.due_date(date(2026, 12, 21), 5, "working_days")
    # Tue 22, Wed 23, Thu 24, Tue 29, Wed 30: 25 Christmas, 26 Boxing Day (a Saturday), 28 its substitute.
    assert c.due == date(2026, 12, 30)
    reasons = {s.day: s.reason for s in c.skipped}
    assert reasons[date(2026, 12, 25)] == "Christmas Day"
    assert reasons[date(2026, 12, 26)] == "Boxing Day"
    assert "Boxing Day" in reasons[date(2026, 12, 28)]
    assert reasons[date(2026, 12, 27)] == "Sunday"


def test_a_council_closure_day_is_skipped_and_named():
    assert ENGLAND.add_working_days(date(2026, 12, 23), 1) == date(2026, 12, 24)
    c = WITH_CLOSURE.due_date(date(2026, 12, 23), 1, "working_days")
    assert c.due == date(2026, 12, 29)
    assert c.skipped[0].reason == "Council closure (Christmas Eve)"


def test_guernsey_liberation_day_is_closed_and_has_no_substitute():
    assert GUERNSEY.closure(date(2025, 5, 9)) == "Liberation Day"
    assert ENGLAND.closure(date(2025, 5, 9)) is None
    # 2026: Liberation Day is a Saturday; the Monday after is a working day.
    assert GUERNSEY.is_working_day(date(2026, 5, 11))


def test_scotland_has_its_own_holidays():
    assert "Andrew" in SCOTLAND.closure(date(2026, 11, 30))
    assert ENGLAND.is_working_day(date(2026, 11, 30))
    assert SCOTLAND.is_working_day(date(2026, 4, 6))  # no Easter Monday in Scotland
    assert ENGLAND.closure(date(2026, 4, 6)) == "Easter Monday"


def test_a_calendar_offset_on_a_closed_day_comes_back_to_the_working_day_before():
    # 14 days after Friday 4 December 2026 is Friday 18th (a working day); 14 after Saturday 12th is Saturday 26th
    # (Boxing Day), which comes back over Christmas Day to Thursday 24th.
    assert ENGLAND.due_date(date(2026, 12, 4), 14, "calendar_days").due == date(2026, 12, 18)
    c = ENGLAND.due_date(date(2026, 12, 12), 14, "calendar_days")
    assert c.due == date(2026, 12, 24)
    assert c.rolled_back_from == date(2026, 12, 26)
    assert [s.reason for s in c.skipped] == ["Boxing Day", "Christmas Day"]


def test_a_short_calendar_count_from_a_closed_day_is_never_due_before_its_anchor():
    # 1 day after Saturday 5 December 2026 is Sunday 6th: the working day before it, Friday 4th, is before the
    # Saturday, so it stays on the Sunday. From Friday 4th, Saturday 5th comes back to the Friday itself; from
    # Christmas Eve (Thursday), 3 days is Sunday 27th, back over Boxing Day and Christmas Day to the 24th.
    c = ENGLAND.due_date(date(2026, 12, 5), 1, "calendar_days")
    assert (c.due, c.rolled_back_from, c.skipped) == (date(2026, 12, 6), None, ())
    assert ENGLAND.due_date(date(2026, 12, 4), 1, "calendar_days").due == date(2026, 12, 4)
    assert ENGLAND.due_date(date(2026, 12, 24), 3, "calendar_days").due == date(2026, 12, 24)
    # Good Friday 3 April 2026: a day on is Saturday 4th; Thursday 2nd would be before it.
    assert ENGLAND.due_date(date(2026, 4, 3), 1, "calendar_days").due == date(2026, 4, 4)


def test_months_clamp_to_the_end_of_a_shorter_month():
    # 3 months after 30 November 2026 is 28 February 2027 (a Sunday) -> Friday 26th.
    assert ENGLAND.due_date(date(2026, 11, 30), 3, "months").due == date(2027, 2, 26)


def test_before_counts_back_in_working_days():
    # 4 working days before Wednesday 6 January 2027: Tue 5, Mon 4, Thu 31 Dec, Wed 30 Dec (1 January is closed).
    c = ENGLAND.due_date(date(2027, 1, 6), 4, "working_days", "before")
    assert c.due == date(2026, 12, 30)
    assert "New Year's Day" in [s.reason for s in c.skipped]


def test_nothing_to_count_on_a_closed_day_is_due_the_next_working_day():
    # "straight away" (0 working days) from a Saturday: the Monday, not the Friday before.
    assert ENGLAND.due_date(date(2026, 12, 5), 0, "working_days").due == date(2026, 12, 7)
    assert ENGLAND.due_date(date(2026, 12, 4), 0, "working_days").due == date(2026, 12, 4)


def test_an_unknown_calendar_is_refused_with_its_name():
    with pytest.raises(ValueError, match="XX"):
        WorkingCalendar("XX")


def test_working_days_between_is_signed():
    a, b = date(2026, 12, 1), date(2026, 12, 15)
    assert ENGLAND.working_days_between(a, b) == 10
    assert ENGLAND.working_days_between(b, a) == -10
    assert ENGLAND.working_days_between(a, a) == 0
    assert ENGLAND.working_days_between(a, a + timedelta(days=6)) == 4  # Tuesday 1st to Monday 7th: Wed-Fri, Mon


def test_a_councils_closure_days_come_from_its_plugin():
    from cpp_scheduler.domain.rules import closure_days
    from cpp_shared.hookspecs import hookimpl
    from cpp_shared.plugins import PluginError, Plugins

    class Closures:
        @hookimpl
        def cpp_extra_closure_days(self):
            return [{"date": "2026-12-24", "name": "Council closure (Christmas Eve)"}]

    days = closure_days(Plugins(["england"], extra=[("closures", Closures())]))
    cal = WorkingCalendar.for_authority({"code": "ENG", "calendar": {"country": "GB", "subdiv": "ENG"}}, days)
    assert cal.closure(date(2026, 12, 24)) == "Council closure (Christmas Eve)"

    class Broken:
        @hookimpl
        def cpp_extra_closure_days(self):
            return [{"date": "24/12/2026", "name": "Christmas Eve"}]

    with pytest.raises(PluginError, match="broken"):
        closure_days(Plugins(["england"], extra=[("broken", Broken())]))
