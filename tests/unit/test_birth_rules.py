"""The rules of an unborn child's record and of its birth (domain/children.py): when a conference is a pre-birth
conference, which dates of birth are plausible, and the record keeping both dates once the birth is recorded."""

from __future__ import annotations

from datetime import date, timedelta

from cpp_plans.domain import children as rules

DUE = date(2026, 6, 1)
UNBORN = {"given_names": "Baby", "family_name": "Jones", "expected_date_of_birth": DUE.isoformat()}
TODAY = date(2026, 5, 20)


def test_an_unborn_child_makes_a_pre_birth_conference_and_a_born_one_does_not():
    assert rules.is_unborn(UNBORN)
    assert rules.pre_birth(UNBORN) == {"pre_birth": True, "expected_date_of_birth": "2026-06-01"}
    born = {**UNBORN, "date_of_birth": "2026-05-18", "born_on_record": {"by": "sw-1", "at": "2026-05-19T10:00"}}
    assert not rules.is_unborn(born) and rules.pre_birth(born) == {}
    assert rules.pre_birth({"date_of_birth": "2020-01-02"}) == {}


def test_a_birth_is_not_in_the_future():
    assert rules.birth_errors(UNBORN, TODAY, TODAY) == {}
    assert rules.birth_errors(UNBORN, TODAY + timedelta(days=1), TODAY) == {
        "date_of_birth": ["Must not be in the future."]
    }


def test_a_birth_is_not_more_than_24_weeks_before_the_expected_date():
    earliest = DUE - timedelta(weeks=24)
    assert rules.birth_errors(UNBORN, earliest, TODAY) == {}
    [message] = rules.birth_errors(UNBORN, earliest - timedelta(days=1), TODAY)["date_of_birth"]
    assert "24 weeks before the expected date of birth (2026-06-01)" in message and earliest.isoformat() in message


def test_a_child_born_on_record_keeps_the_expected_date_beside_the_real_one():
    both = {"date_of_birth": "2026-05-18", "expected_date_of_birth": "2026-06-01"}
    assert set(rules.date_of_birth_errors(both)) == {"date_of_birth", "expected_date_of_birth"}  # typed both
    recorded = {**both, "born_on_record": {"by": "sw-1", "at": "2026-05-19T10:00"}}
    assert rules.date_of_birth_errors(recorded) == {}
    without = {k: v for k, v in recorded.items() if k != "date_of_birth"}
    assert "not removed" in rules.date_of_birth_errors(without)["date_of_birth"][0]
