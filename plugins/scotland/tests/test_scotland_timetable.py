"""Scotland's timetable walked through the scheduler, row by row of the platform's timescales research
(TIMESCALES.md section 2, the National Guidance's Appendix D), on dates that cross Scotland's own bank holidays:
St Andrew's Day, 2 January, and the English bank holidays Scotland does not keep (Easter Monday, the last Monday
of August).

Expected dates are counted here from a hand-written list of Scotland's bank holidays (gov.uk's list for
Scotland), never with the calendar library the scheduler uses."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

from cpp_scheduler.app import create_app
from cpp_shared.testing import deliver_event, rules_of
from cpp_shared.testing.hand_count import HandCount

SCOTLAND = ("scotland",)  # CPP_PLUGINS

# Scotland's bank holidays, 2025-2026, with the days given in lieu of those at a weekend.
HOLIDAYS = {
    date(2025, 1, 1),  # New Year's Day
    date(2025, 1, 2),  # 2 January
    date(2025, 4, 18),  # Good Friday (Easter Monday is not a bank holiday in Scotland)
    date(2025, 5, 5),  # Early May bank holiday
    date(2025, 5, 26),  # Spring bank holiday
    date(2025, 8, 4),  # Summer bank holiday, the first Monday of August
    date(2025, 12, 1),  # St Andrew's Day (Sun 30 November): Monday 1 December in lieu
    date(2025, 12, 25),  # Christmas Day
    date(2025, 12, 26),  # Boxing Day
    date(2026, 1, 1),  # New Year's Day
    date(2026, 1, 2),  # 2 January
    date(2026, 4, 3),  # Good Friday
    date(2026, 5, 4),  # Early May bank holiday
    date(2026, 5, 25),  # Spring bank holiday
    date(2026, 8, 3),  # Summer bank holiday
    date(2026, 11, 30),  # St Andrew's Day (Mon)
    date(2026, 12, 25),  # Christmas Day
    date(2026, 12, 28),  # Boxing Day (Sat 26 December): Monday 28 in lieu
}


HAND = HandCount(HOLIDAYS)
_working_days_after, _back_to_working_day = HAND.working_days_after, HAND.back_to_working_day
_on_or_after, _months_after = HAND.on_or_after, HAND.months_after


# --- the events each row starts from ------------------------------------------


def _discussion(day: date, **unborn) -> list[tuple[str, dict]]:
    data = {"strategy_discussion_id": "sd-1", "held_on": day.isoformat(), "initiated_enquiries": True, **unborn}
    return [("strategy_discussion.held.v1", data)]


def _unborn(expected: date):
    return lambda day: _discussion(day, pre_birth=True, expected_date_of_birth=expected.isoformat())


def _held(kind: str, **more):
    def events(day: date) -> list[tuple[str, dict]]:
        data = {"conference_id": "k1", "kind": kind, "held_on": day.isoformat(), "plan_id": "p1", **more}
        if kind == "initial":
            data.setdefault("plan_required", True)
        return [("conference.held.v1", data)]

    return events


def _scheduled(day: date) -> list[tuple[str, dict]]:
    data = {"conference_id": "k1", "kind": "initial", "scheduled_for": day.isoformat(), "plan_id": None}
    return [("conference.scheduled.v1", data)]


def _inquorate(day: date) -> list[tuple[str, dict]]:
    data = {"conference_id": "k1", "kind": "initial", "met_on": day.isoformat(), "reason": "No police."}
    return [("conference.inquorate.v1", {**data, "scheduled_for": (day + timedelta(days=7)).isoformat()})]


def _change(day: date) -> list[tuple[str, dict]]:
    return [("significant_change.recorded.v1", {"change_id": "g1", "plan_id": "p1", "noticed_on": day.isoformat()})]


def _escalation(day: date) -> list[tuple[str, dict]]:
    # Decided at the CPPM on ``day``, typed in a week later: the referral counts from the decision.
    data = {
        "escalation_id": "x1",
        "plan_id": "p1",
        "route": "childrens_reporter",
        "decided_on": day.isoformat(),
        "raised_on": (day + timedelta(days=7)).isoformat(),
    }
    return [("escalation.raised.v1", data)]


# Each rule, from TIMESCALES.md section 2 (Scotland), row by row: (its row, the rule, the events that start it,
# the day they happen, the day it is due worked out by hand).
TIMETABLE = [
    (
        "Initial CPPM: 28 calendar days unless the IRD decides none is needed (V, Appendix D)",
        "initial-conference",
        _discussion,
        date(2025, 11, 3),  # + 28 days is Mon 1 Dec 2025, St Andrew's Day in lieu: back to Fri 28 Nov
        _back_to_working_day(date(2025, 11, 3) + timedelta(days=28)),
    ),
    (
        "Pre-birth CPPM: 28 calendar days of the concern (V, Appendix D; para 3.142)",
        "pre-birth-conference",
        _unborn(date(2026, 6, 1)),
        date(2025, 12, 5),  # + 28 days is Fri 2 Jan 2026 and 1 January is closed too: back to Wed 31 Dec 2025
        _back_to_working_day(date(2025, 12, 5) + timedelta(days=28)),
    ),
    (
        "Pre-birth CPPM: always within 28 weeks of gestation (V, Appendix D; para 3.142)",
        "pre-birth-conference",
        _unborn(date(2026, 3, 20)),
        # 12 weeks before the expected birth is Fri 26 Dec 2025, Boxing Day, and Christmas Day before it: Wed 24
        # Dec, before the 28 days (Mon 29 Dec).
        date(2025, 12, 1),
        min(
            _back_to_working_day(date(2025, 12, 1) + timedelta(days=28)),
            _back_to_working_day(date(2026, 3, 20) - timedelta(weeks=12)),
        ),
    ),
    (
        "Notice to participants: 5 calendar days, where possible (V, Appendix D; para 3.131)",
        "cppm-notice",
        _scheduled,
        date(2026, 1, 7),  # less 5 days is Fri 2 Jan 2026, then 1 January: back to Wed 31 Dec 2025
        _back_to_working_day(date(2026, 1, 7) - timedelta(days=5)),
    ),
    (
        "Inquorate CPPM reconvened: 10 working days (V, Appendix D)",
        "inquorate-reconvened",
        _inquorate,
        date(2025, 11, 28),  # St Andrew's Day in lieu, Mon 1 Dec, skipped: Mon 15 Dec
        _working_days_after(date(2025, 11, 28), 10),
    ),
    (
        "CPPM record issued: 10 working days (V, Appendix D)",
        "cppm-record",
        _held("initial"),
        date(2025, 12, 17),  # Christmas, Boxing Day, 1 and 2 January skipped: Tue 6 Jan 2026
        _working_days_after(date(2025, 12, 17), 10),
    ),
    (
        "First core group: 15 working days (V, Appendix D 2023)",
        "first-core-group",
        _held("initial"),
        date(2025, 11, 24),  # St Andrew's Day in lieu skipped: Tue 16 Dec 2025
        _working_days_after(date(2025, 11, 24), 15),
    ),
    (
        "First core group: 15 working days, across Easter, whose Monday Scotland works (V, Appendix D 2023)",
        "first-core-group",
        _held("initial"),
        date(2026, 3, 25),  # Good Friday 3 Apr skipped, Easter Monday 6 Apr counted: Thu 16 Apr 2026
        _working_days_after(date(2026, 3, 25), 15),
    ),
    (
        "Review CPPM: within 6 months of the CPPM (V2)",
        "first-review-conference",
        _held("initial"),
        date(2025, 7, 2),  # + 6 months is Fri 2 Jan 2026, then 1 January: back to Wed 31 Dec 2025
        _months_after(date(2025, 7, 2), 6),
    ),
    (
        "Review CPPM: thereafter six-monthly (V2)",
        "later-review-conference",
        _held("review", decision="continue"),
        date(2026, 5, 30),  # + 6 months is Mon 30 Nov 2026, St Andrew's Day: back to Fri 27 Nov
        _months_after(date(2026, 5, 30), 6),
    ),
    (
        "Pre-birth review: may be held within 3 months of the previous CPPM (V, para 3.143)",
        "pre-birth-review-conference",
        _held("initial", pre_birth=True, expected_date_of_birth="2026-12-20"),
        date(2026, 8, 31),  # + 3 months is 30 Nov 2026 (November has no 31st), St Andrew's Day: back to Fri 27 Nov
        _months_after(date(2026, 8, 31), 3),
    ),
    (
        "Core group refers a significant change to the chair: 3 calendar days (V, Appendix D; para 3.137)",
        "significant-change-to-chair",
        _change,
        date(2025, 12, 30),  # + 3 days is Fri 2 Jan 2026, then 1 January: back to Wed 31 Dec 2025
        _back_to_working_day(date(2025, 12, 30) + timedelta(days=3)),
    ),
    (
        "Referral to the Principal Reporter: actioned straight away (V, para 3.133)",
        "reporter-referral",
        _escalation,
        date(2025, 12, 1),  # decided on St Andrew's Day in lieu: the first working day is Tue 2 Dec
        _on_or_after(date(2025, 12, 1)),
    ),
]

CASES = itertools.count(1)


@pytest.fixture
def scheduler(make_settings, tmp_path):
    """The scheduler of a CPP_PLUGINS=scotland deployment, in-process."""
    app = create_app(make_settings("scheduler", CPP_PLUGINS="scotland", CPP_DATA_DIR=str(tmp_path)))
    ctx = app.extensions["cpp"]
    yield ctx
    ctx.store.close()


def _deliver(ctx, events: list[tuple[str, dict]]) -> str:
    n = next(CASES)
    case_id = f"case-{n}"
    for event_type, data in events:
        deliver_event(ctx, event_type, {"case_id": case_id, "child_id": f"child-{n}", **data})
    return case_id


def test_the_timetable_covers_every_rule():
    assert {rule_id for _, rule_id, *_ in TIMETABLE} == set(rules_of(*SCOTLAND))


def test_the_hand_worked_dates_are_the_ones_the_comments_say():
    assert [expected for *_, expected in TIMETABLE] == [
        date(2025, 11, 28),
        date(2025, 12, 31),
        date(2025, 12, 24),
        date(2025, 12, 31),
        date(2025, 12, 15),
        date(2026, 1, 6),
        date(2025, 12, 16),
        date(2026, 4, 16),
        date(2025, 12, 31),
        date(2026, 11, 27),
        date(2026, 11, 27),
        date(2025, 12, 31),
        date(2025, 12, 2),
    ]


@pytest.mark.parametrize("row, rule_id, events, day, expected", TIMETABLE, ids=[f"{r[1]}-{r[3]}" for r in TIMETABLE])
def test_each_rule_falls_due_on_the_scottish_working_day_its_row_gives(scheduler, row, rule_id, events, day, expected):
    case_id = _deliver(scheduler, events(day))
    [deadline] = scheduler.store.collection("deadlines").find({"case_id": case_id, "rule_id": rule_id})
    assert deadline["status"] == "pending", row
    assert deadline["due_on"] == expected.isoformat(), row
    assert deadline["plugin"] == "scotland"
    assert deadline["source"].startswith("National Guidance for Child Protection in Scotland"), row
