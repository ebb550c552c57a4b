"""When a child's records are due for erasure (cpp_plans.domain.retention): never before the rule's day, never
while a legal hold is in force, never while a case is open or a plan in force, never without a rule or the date
it needs; and the erasure's id the same on every retry."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from cpp_plans.domain import retention as r

DAYS = st.dates(min_value=date(1950, 1, 1), max_value=date(2080, 12, 31))
YEARS = st.integers(min_value=0, max_value=60)
RULES = st.builds(
    r.Rule,
    id=st.just("rule"),
    record_type=st.sampled_from([r.CHILD_PROTECTION, r.REFERRAL]),
    until_age=st.none() | YEARS,
    years_after_last_entry=st.none() | YEARS,
).filter(lambda rule: rule.until_age is not None or rule.years_after_last_entry is not None)
HOLDS = st.builds(r.Hold, id=st.uuids().map(lambda u: u.hex), until=st.none() | DAYS, lifted=st.booleans())
RECORDS = st.builds(
    r.Record,
    child_id=st.just("child"),
    record_type=st.sampled_from([r.CHILD_PROTECTION, r.REFERRAL]),
    born_on=st.none() | DAYS,
    last_entry_on=st.none() | DAYS,
    in_force=st.booleans(),
    holds=st.lists(HOLDS, max_size=3).map(tuple),
)


@given(rule=RULES, record=RECORDS, today=DAYS)
def test_never_due_before_the_rules_day(rule, record, today):
    decision = r.decide([rule], record, today)
    if decision.due:
        assert decision.due_on is not None and today >= decision.due_on
        if rule.until_age is not None:
            assert record.born_on is not None and today >= r.anniversary(record.born_on, rule.until_age)
            assert (today.year - record.born_on.year) >= rule.until_age
        if rule.years_after_last_entry is not None:
            assert record.last_entry_on is not None
            assert today >= r.anniversary(record.last_entry_on, rule.years_after_last_entry)


@given(rule=RULES, record=RECORDS, today=DAYS, hold=HOLDS)
def test_a_hold_in_force_always_wins(rule, record, today, hold):
    held = r.Record(**{**record.__dict__, "holds": (*record.holds, r.Hold(hold.id, None, False))})
    decision = r.decide([rule], held, today)
    assert not decision.due
    if decision.why == r.HELD:
        assert hold.id in decision.holds


@given(rule=RULES, record=RECORDS, today=DAYS)
def test_an_open_case_or_a_plan_in_force_is_never_due(rule, record, today):
    assert not r.decide([rule], r.Record(**{**record.__dict__, "in_force": True}), today).due


@given(rule=RULES, record=RECORDS)
def test_once_due_always_due_later_unless_something_changes(rule, record):
    """Nothing held, nothing in force: due from the rule's day on, not the day before."""
    clear = r.Record(**{**record.__dict__, "holds": (), "in_force": False, "record_type": rule.record_type})
    when = r.due_on(rule, clear)
    if when is None:
        assert r.decide([rule], clear, date(2999, 1, 1)).why == r.NO_DATE
        return
    assert r.decide([rule], clear, when).due
    assert r.decide([rule], clear, when + timedelta(days=4000)).due
    assert not r.decide([rule], clear, when - timedelta(days=1)).due


def test_no_rule_for_the_record_type_is_never_due():
    record = r.Record("c", r.REFERRAL, date(1900, 1, 1), date(1901, 1, 1), False)
    assert r.decide([r.Rule("cp", r.CHILD_PROTECTION, years_after_last_entry=1)], record, date(2026, 1, 1)).why == (
        r.NO_RULE
    )


def test_both_bases_keep_until_the_later():
    rule = r.Rule("referral", r.REFERRAL, until_age=21, years_after_last_entry=3)
    young = r.Record("c", r.REFERRAL, date(2010, 6, 1), date(2012, 1, 1), False)
    assert r.due_on(rule, young) == date(2031, 6, 1)  # the 21st birthday is later
    late = r.Record("c", r.REFERRAL, date(2010, 6, 1), date(2030, 1, 1), False)
    assert r.due_on(rule, late) == date(2033, 1, 1)  # three years after the last entry is later


def test_a_birthday_on_29_february_falls_on_1_march():
    assert r.anniversary(date(2008, 2, 29), 25) == date(2033, 3, 1)
    assert r.anniversary(date(2008, 2, 29), 24) == date(2032, 2, 29)


def test_a_hold_ends_after_its_last_day_or_when_lifted():
    hold = r.Hold("h", until=date(2030, 1, 1))
    assert hold.in_force(date(2030, 1, 1)) and not hold.in_force(date(2030, 1, 2))
    assert not r.Hold("h", lifted=True).in_force(date(2000, 1, 1))


def test_child_protection_records_are_those_that_reached_enquiries():
    referral_only = {"strategy_discussions": [], "conferences": [], "plan_id": None, "referral": {"x": 1}}
    assert r.record_type_of([referral_only], []) == r.REFERRAL
    assert r.record_type_of([], []) == r.REFERRAL
    assert r.record_type_of([{**referral_only, "strategy_discussions": [{"held_on": "2026-01-01"}]}], []) == (
        r.CHILD_PROTECTION
    )
    assert r.record_type_of([], [{"_id": "p"}]) == r.CHILD_PROTECTION


@given(child=st.uuids().map(lambda u: u.hex), rule=st.sampled_from(["a", "b"]), day=DAYS)
def test_the_erasure_id_is_the_same_on_every_retry_and_differs_otherwise(child, rule, day):
    assert r.erasure_id(child, rule, day) == r.erasure_id(child, rule, day)
    assert r.erasure_id(child, rule, day) != r.erasure_id(child, rule, day + timedelta(days=1))
    assert r.erasure_id(child, rule, day) != r.erasure_id(child + "x", rule, day)


def test_the_last_entry_is_the_latest_date_recorded_up_to_today():
    docs = [
        [{"created_at": "2020-01-02T10:00:00+00:00", "steps": [{"on": "2021-05-06"}], "date_of_birth": "2019-01-01"}],
        [{"review_on": "2099-01-01", "held_on": "2022-03-04", "notes": "2023-01-01"}],
    ]
    assert r.last_entry_on(docs, not_after=date(2026, 1, 1)) == date(2022, 3, 4)
    assert r.last_entry_on([], not_after=date(2026, 1, 1)) is None
