"""A timescale due by the earlier of two dates (the contract's ``earliest_of``): its checks, and the deadline the
scheduler gives it (Scotland's pre-birth conference: 28 days from the concern, always by 28 weeks of gestation)."""

from __future__ import annotations

from datetime import date

import pytest

from cpp_scheduler.domain.calendar import WorkingCalendar
from cpp_scheduler.domain.deadlines import Scope, new_deadline
from cpp_scheduler.domain.rules import heard
from cpp_shared.contracts.timescales import Limit, Offset, RuleError, parse_rule

SCT = WorkingCalendar("GB", "SCT")
GESTATION = {"anchor": "expected_date_of_birth", "offset": {"amount": 12, "unit": "weeks", "direction": "before"}}
RULE = {
    "id": "pre-birth",
    "plugin": "test",
    "trigger": "strategy_discussion.held.v1",
    "anchor": "held_on",
    "offset": {"amount": 28, "unit": "calendar_days"},
    "earliest_of": [GESTATION],
    "deadline": "initial_conference",
    "owner": "social_worker",
    "met_by": "conference.held.v1",
    "source": "test (V: test)",
}


def deadline(data):
    rule = heard(parse_rule(RULE))
    scope = Scope("SCT", "c1", None, "child-1")
    anchor = date.fromisoformat(data["held_on"])
    return new_deadline(
        rule, scope, SCT, anchor=anchor, key=None, trigger={}, occurrence=1, created_at="2026-03-02", data=data
    )


def test_the_rule_keeps_its_other_count():
    rule = parse_rule(RULE)
    assert rule.earliest_of == (Limit("expected_date_of_birth", Offset(12, "weeks", "before")),)
    assert rule.as_dict()["earliest_of"] == [{**GESTATION, "offset": {**GESTATION["offset"]}}]
    assert parse_rule({**RULE, "earliest_of": None}).earliest_of == ()
    assert "12 weeks before the expected date of birth if that is earlier" in heard(rule).timescale()


@pytest.mark.parametrize(
    "earliest_of, field",
    [
        ([], "earliest_of"),
        ("expected_date_of_birth", "earliest_of"),
        ([{"anchor": "expected_date_of_birth"}], "earliest_of.0"),
        ([{**GESTATION, "extra": 1}], "earliest_of.0"),
        ([{**GESTATION, "anchor": " "}], "earliest_of.0.anchor"),
        ([{**GESTATION, "offset": None}], "earliest_of.0.offset"),
        ([{**GESTATION, "offset": {"amount": 12, "unit": "fortnights"}}], "earliest_of.0.offset.unit"),
        ([{**GESTATION, "offset": {"amount": -1, "unit": "weeks"}}], "earliest_of.0.offset.amount"),
    ],
)
def test_a_malformed_other_count_is_refused_with_its_field_named(earliest_of, field):
    with pytest.raises(RuleError, match=f"field '{field}'"):
        parse_rule({**RULE, "earliest_of": earliest_of})


def test_a_rule_without_a_timescale_has_no_other_count():
    with pytest.raises(RuleError, match="field 'earliest_of'"):
        parse_rule({**RULE, "offset": None})


def test_the_deadline_falls_on_the_earlier_count():
    # 28 weeks of gestation (12 weeks before 1 June: 9 March) comes before 28 days from 2 March (30 March)
    early = deadline({"held_on": "2026-03-02", "expected_date_of_birth": "2026-06-01"})
    assert early["due_on"] == "2026-03-09"
    assert [c["due"] for c in early["explanation"]["computations"]] == ["2026-03-30", "2026-03-09"]
    # a birth expected later: the 28 days come first
    late = deadline({"held_on": "2026-03-02", "expected_date_of_birth": "2026-09-01"})
    assert late["due_on"] == "2026-03-30"
    # the event lacks the other date: its own count alone
    alone = deadline({"held_on": "2026-03-02"})
    assert alone["due_on"] == "2026-03-30" and len(alone["explanation"]["computations"]) == 1
