"""A recurrence with a norm and a limit ("monthly, and no more than 6-weekly"): the contract's checks, the
deadlines the scheduler gives each later occurrence (due at the norm, overdue only after the limit) and the
words people read.

Expected dates are worked by hand, over England's bank holidays of 2026 (Spring bank holiday Mon 25 May, Summer
bank holiday Mon 31 Aug, Christmas Day Fri 25 Dec, Boxing Day's substitute Mon 28 Dec)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from cpp_scheduler.domain.calendar import WorkingCalendar
from cpp_scheduler.domain.deadlines import Scope, on_event
from cpp_scheduler.domain.rules import heard
from cpp_shared.contracts.timescales import NormAndLimit, RuleError, parse_rule

ENG = WorkingCalendar("GB", "ENG")
MONTHLY_NO_MORE_THAN_6_WEEKLY = {"norm": {"amount": 1, "unit": "months"}, "limit": {"amount": 6, "unit": "weeks"}}
RULE = {
    "id": "core-group",
    "plugin": "test",
    "name": "Core group meeting",
    "trigger": "conference.held.v1",
    "when": {"kind": "initial"},
    "anchor": "held_on",
    "offset": {"amount": 10, "unit": "working_days"},
    "deadline": "core_group",
    "owner": "social_worker",
    "met_by": "core_group.held.v1",
    "recurrence": MONTHLY_NO_MORE_THAN_6_WEEKLY,
    "source": "test (V: test)",
}


def parsed(**changes: Any):
    return heard(parse_rule({**RULE, **changes}))


def test_the_contract_keeps_the_norm_and_the_limit_each_in_its_own_unit():
    rule = parsed()
    assert rule.recurrence == NormAndLimit(1, "months", 6, "weeks")
    assert rule.as_dict()["recurrence"] == {
        "norm": {"amount": 1, "unit": "months"},
        "limit": {"amount": 6, "unit": "weeks"},
        "description": "monthly, and no more than 6-weekly",
    }


@pytest.mark.parametrize(
    "recurrence, field, problem",
    [
        # 4 weeks can come before a calendar month: 31 March + 4 weeks is 28 April, + 1 month is 30 April.
        (
            {"norm": {"amount": 1, "unit": "months"}, "limit": {"amount": 4, "unit": "weeks"}},
            "recurrence.limit",
            "can fall before the norm",
        ),
        (
            {"norm": {"amount": 6, "unit": "weeks"}, "limit": {"amount": 4, "unit": "weeks"}},
            "recurrence.limit",
            "can fall before the norm",
        ),
        (
            {"norm": {"amount": 1, "unit": "fortnights"}, "limit": {"amount": 6, "unit": "weeks"}},
            "recurrence.norm.unit",
            "must be one of",
        ),
        (
            {"norm": {"amount": 0, "unit": "months"}, "limit": {"amount": 6, "unit": "weeks"}},
            "recurrence.norm.amount",
            ">= 1",
        ),
        ({"norm": {"amount": 1, "unit": "months"}, "limit": 6}, "recurrence.limit", "must be {amount, unit}"),
        ({"norm": {"amount": 1, "unit": "months"}}, "recurrence", "must be"),
        ({**MONTHLY_NO_MORE_THAN_6_WEEKLY, "every": {"min": 4, "max": 6, "unit": "weeks"}}, "recurrence", "must be"),
    ],
)
def test_a_norm_and_limit_that_could_not_be_applied_is_refused_naming_the_field(recurrence, field, problem):
    with pytest.raises(RuleError, match=f"plugin 'test', timescale rule 'core-group', field '{field}'") as caught:
        parse_rule({**RULE, "recurrence": recurrence})
    assert problem in str(caught.value)


def test_a_norm_and_limit_in_the_same_unit_is_a_range():
    rule = parsed(recurrence={"norm": {"amount": 4, "unit": "weeks"}, "limit": {"amount": 6, "unit": "weeks"}})
    assert rule.recurrence is not None and rule.recurrence.describe() == "4-weekly, and no more than 6-weekly"


class Case:
    """One case's deadlines under the rule, each event through the scheduler's ``on_event``."""

    def __init__(self):
        self.rules = [parsed()]
        self.deadlines: dict[str, dict[str, Any]] = {}
        self.sent = 0

    def send(self, etype: str, **data: Any) -> None:
        self.sent += 1
        event = {"id": f"e{self.sent}", "type": etype, "time": "2026-05-01T09:00:00Z", "data": data}
        changes = on_event(
            event, Scope("ENG", "c1", "p1", "child-1"), self.rules, list(self.deadlines.values()), ENG, now="2026-05-01"
        )
        for doc in changes.inserts:
            self.deadlines[doc["_id"]] = {**doc, "version": 1}
        for doc, version in changes.replaces:
            self.deadlines[doc["_id"]] = {**doc, "version": version + 1}

    def pending(self) -> dict[str, Any]:
        [doc] = [d for d in self.deadlines.values() if d["status"] == "pending"]
        return doc


@pytest.mark.parametrize(
    "held, due, latest",
    [
        # Mon 18 May 2026 + 1 month = Thu 18 Jun; + 6 weeks = Mon 29 Jun. No closed day in the way.
        (date(2026, 5, 18), date(2026, 6, 18), date(2026, 6, 29)),
        # Wed 25 Nov 2026 + 1 month = Christmas Day, Fri 25 Dec: back to Thu 24 Dec. + 6 weeks = Wed 6 Jan 2027.
        (date(2026, 11, 25), date(2026, 12, 24), date(2027, 1, 6)),
        # Fri 31 Jul 2026 + 1 month = Mon 31 Aug, the Summer bank holiday: back over the weekend to Fri 28 Aug.
        # + 6 weeks = Fri 11 Sep.
        (date(2026, 7, 31), date(2026, 8, 28), date(2026, 9, 11)),
        # Sat 31 Jan 2026 (a meeting on a Saturday) + 1 month = 28 Feb, a Saturday: back to Fri 27 Feb.
        # + 6 weeks = Sat 14 Mar: back to Fri 13 Mar.
        (date(2026, 1, 31), date(2026, 2, 27), date(2026, 3, 13)),
    ],
)
def test_each_later_meeting_is_due_at_the_norm_and_overdue_only_after_the_limit(held, due, latest):
    case = Case()
    case.send("conference.held.v1", kind="initial", held_on="2026-01-05")
    assert case.pending()["occurrence"] == 1
    case.send("core_group.held.v1", held_on=held.isoformat())
    doc = case.pending()
    assert doc["occurrence"] == 2
    assert (doc["due_on"], doc["latest_on"]) == (due.isoformat(), latest.isoformat())
    # overdue on the first working day after the limit
    assert doc["overdue_on"] == ENG.next_working_day(latest).isoformat()
    assert doc["name"] == "Core group meeting (monthly, and no more than 6-weekly, #2)"
    assert doc["explanation"]["timescale"] == (
        "monthly, and no more than 6-weekly, counted from the last core group meeting"
    )
    norm, limit = doc["explanation"]["computations"]
    assert (norm["amount"], norm["unit"], limit["amount"], limit["unit"]) == (1, "months", 6, "weeks")


def test_a_meeting_held_between_the_norm_and_the_limit_is_on_time():
    case = Case()
    case.send("conference.held.v1", kind="initial", held_on="2026-01-05")
    case.send("core_group.held.v1", held_on="2026-05-18")
    # due Thu 18 Jun, overdue after Mon 29 Jun: a meeting on Fri 26 Jun is after the norm, within the limit.
    case.send("core_group.held.v1", held_on="2026-06-26")
    met = [d for d in case.deadlines.values() if d["occurrence"] == 2][0]
    assert met["status"] == "met" and met["met"]["late"] is False
    case.send("core_group.held.v1", held_on="2026-08-10")
    # the third was due Sun 26 Jul (back to Fri 24 Jul), latest Fri 7 Aug: Mon 10 Aug is late by 1 working day.
    late = [d for d in case.deadlines.values() if d["occurrence"] == 3][0]
    assert (late["due_on"], late["latest_on"]) == ("2026-07-24", "2026-08-07")
    assert late["met"]["late"] is True and late["met"]["working_days_late"] == 1
