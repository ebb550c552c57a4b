"""The scheduler's own deadline for a child of 18: one per plan, whichever
tick (or replica) makes it."""

from __future__ import annotations

from datetime import date

from cpp_scheduler.domain import adulthood
from cpp_scheduler.domain.calendar import WorkingCalendar
from cpp_scheduler.domain.deadlines import Scope

ENGLAND = WorkingCalendar("GB", "ENG")


def test_the_confirmation_of_one_plan_has_one_id_whoever_makes_it():
    scope = Scope("ENG", "case-1", "plan-1", "child-1")
    made = [
        adulthood.confirmation(scope, date(2026, 12, 4), ENGLAND, created_at=at, today=date(2026, 12, 7))
        for at in ("2026-12-07T06:00:00+00:00", "2026-12-07T06:00:05+00:00")
    ]
    assert made[0] is not None and made[1] is not None
    assert made[0]["_id"] == made[1]["_id"]
    other = adulthood.confirmation(
        Scope("ENG", "case-2", "plan-2", "child-2"), date(2026, 12, 4), ENGLAND, created_at="x", today=date(2026, 12, 7)
    )
    assert other is not None and other["_id"] != made[0]["_id"]


def test_nothing_is_asked_before_the_birthday():
    scope = Scope("ENG", "case-1", "plan-1", "child-1")
    assert adulthood.confirmation(scope, date(2026, 12, 8), ENGLAND, created_at="x", today=date(2026, 12, 7)) is None
