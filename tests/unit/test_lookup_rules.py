"""What the partner lookup tells of a child's latest plan, and the
authority plugin's settings for it."""

from __future__ import annotations

from datetime import date

import pytest

from cpp_plans.api import lookup
from cpp_shared.plugins import PluginError

TODAY = date(2026, 12, 6)


def plan(status, created_on="2025-01-10", ended_on=None):
    return {
        "_id": "p1",
        "status": status,
        "created_on": created_on,
        "ended": {"on": ended_on, "conference_id": "c1"} if ended_on else None,
    }


@pytest.mark.parametrize(
    "day, months, expected",
    [
        (date(2026, 12, 6), 12, date(2025, 12, 6)),
        (date(2026, 12, 6), 0, date(2026, 12, 6)),
        (date(2026, 3, 31), 1, date(2026, 2, 28)),  # a shorter month: its last day
        (date(2028, 5, 31), 3, date(2028, 2, 29)),  # a leap year's February
        (date(2026, 1, 15), 13, date(2024, 12, 15)),  # across two year ends
        (date(2026, 12, 6), 120, date(2016, 12, 6)),
    ],
)
def test_months_before_counts_calendar_months(day, months, expected):
    assert lookup.months_before(day, months) == expected


@pytest.mark.parametrize("status", ["outline", "active"])
def test_a_plan_in_force_is_told_as_in_force(status):
    assert lookup.told_plan(plan(status), today=TODAY, months=12) == ("in_force", plan(status))


def test_no_plan_is_none():
    assert lookup.told_plan(None, today=TODAY, months=12) == ("none", None)


@pytest.mark.parametrize(
    "ended_on, months, told",
    [
        ("2026-11-30", 12, "ended"),
        ("2025-12-06", 12, "ended"),  # exactly twelve months ago: still told
        ("2025-12-05", 12, "none"),  # a day more: no plan
        ("2025-12-05", 13, "ended"),
        ("2026-12-06", 0, "none"),  # a council that tells of plans in force only
    ],
)
def test_an_ended_plan_is_told_within_the_months_only(ended_on, months, told):
    status, told_of = lookup.told_plan(plan("ended", ended_on=ended_on), today=TODAY, months=months)
    assert status == told and (told_of is not None) == (told == "ended")


def test_the_summary_says_which_in_words():
    assert lookup.summary("none", None) == "No child protection plan"
    assert (
        lookup.summary("in_force", plan("active", "2026-05-14")) == "Child protection plan in force since 14 May 2026"
    )
    assert (
        lookup.summary("ended", plan("ended", "2025-05-14", "2026-11-03"))
        == "Child protection plan from 14 May 2025, ended on 3 November 2026"
    )


def test_the_settings_default_when_the_plugin_gives_none():
    authority = {"code": "ENG", "name": "England"}
    lookup.check_authority(authority)
    assert lookup.ended_months(authority) == 12


@pytest.mark.parametrize(
    "key, value",
    [
        (lookup.ENDED_MONTHS, -1),
        (lookup.ENDED_MONTHS, 121),
        (lookup.ENDED_MONTHS, "12"),
        (lookup.ENDED_MONTHS, 1.5),
        (lookup.ENDED_MONTHS, True),
        (lookup.OUT_OF_HOURS, ""),
        (lookup.OUT_OF_HOURS, 1234),
        (lookup.OUT_OF_HOURS, "0" * 51),
    ],
)
def test_a_wrong_setting_stops_the_service_naming_the_key(key, value):
    with pytest.raises(PluginError) as raised:
        lookup.check_authority({"code": "ENG", "name": "England", key: value})
    assert key in str(raised.value)


def test_good_settings_pass():
    lookup.check_authority(
        {"code": "ENG", "name": "England", lookup.ENDED_MONTHS: 0, lookup.OUT_OF_HOURS: "020 7946 0888"}
    )


class Directory:
    """A store holding the staff directory only."""

    def __init__(self, entries):
        self.entries = entries

    def collection(self, name):
        assert name == "staff"
        entries = self.entries

        class Staff:
            @staticmethod
            def find_one(query):
                return entries.get(query["user"])

        return Staff()


@pytest.mark.parametrize(
    "plan, expected",
    [
        # A free-text key worker: their name and the plan's number.
        (
            {"key_worker": "Sam Social", "content": {"key_worker": {"name": "Sam Social", "phone": "020 7946 0000"}}},
            {"user": None, "name": "Sam Social", "phone": "020 7946 0000"},
        ),
        # Linked to the directory: its name and direct number.
        (
            {
                "key_worker": "Sam Social",
                "content": {"key_worker": {"name": "Sam Social", "phone": "020 7946 0000", "user": "sw-1"}},
            },
            {"user": "sw-1", "name": "Samira Social", "phone": "020 7946 0123"},
        ),
        # The plan's own key worker's user id (kept beside the name).
        (
            {"key_worker": "Sam Social", "key_worker_user": "sw-1", "content": {"key_worker": {"name": "Sam Social"}}},
            {"user": "sw-1", "name": "Samira Social", "phone": "020 7946 0123"},
        ),
        # Linked to someone the directory does not know: the plan's name and number.
        (
            {"key_worker": "Kim Key", "content": {"key_worker": {"name": "Kim Key", "phone": "01", "user": "sw-9"}}},
            {"user": "sw-9", "name": "Kim Key", "phone": "01"},
        ),
    ],
)
def test_the_key_worker_is_named_with_the_directorys_phone_else_the_plans(plan, expected):
    store = Directory({"sw-1": {"user": "sw-1", "name": "Samira Social", "phone": "020 7946 0123"}})
    assert lookup.key_worker_of(store, plan) == expected
    assert lookup.key_worker_of(store, None) == {"user": None, "name": None, "phone": None}
