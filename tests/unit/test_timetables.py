"""Timetables: whole cases walked through the scheduler, deployment by deployment.

Each test builds a scheduler app in-process with a real plugin set, hands it
the plans service's events as its worker would (``deliver_event``), and reads
the deadlines it stored. Expected dates are worked out by hand in the
comments (the working days counted, and each weekend, holiday or closure
skipped), never with the calendar under test.

Working-day facts used below (python-holidays):
- England (GB, ENG), 2025: Early May bank holiday Mon 5 May, Spring bank
  holiday Mon 26 May, Summer bank holiday Mon 25 Aug, Christmas Thu 25 Dec,
  Boxing Day Fri 26 Dec. Liberation Day is not a holiday in England.
- Guernsey (GG), 2025: May Day bank holiday Mon 5 May, Liberation Day Fri 9
  May, Spring bank holiday Mon 26 May, Summer bank holiday Mon 25 Aug.
- Guernsey (GG), 2026/27: Christmas Day Fri 25 Dec 2026, Boxing Day Sat 26
  Dec 2026 with its substitute day Mon 28 Dec 2026, New Year's Day Fri 1 Jan
  2027.
"""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import pytest

from cpp_scheduler.app import create_app
from cpp_shared.store import AlreadyProcessed
from tests.helpers import deliver_event

OPEN = ("pending", "approaching", "overdue")
BEFORE_INITIAL_CONFERENCE = (
    "draft-plan-in-report",
    "report-to-manager",
    "report-shared-with-family",
    "report-to-chair",
)
REPORT_EVENT = {
    "draft-plan-in-report": "report.drafted.v1",
    "report-to-manager": "report.submitted.v1",
    "report-shared-with-family": "report.shared.v1",
    "report-to-chair": "report.sent_to_chair.v1",
}


# --- the scheduler, in-process ------------------------------------------


@pytest.fixture
def scheduler(make_settings, tmp_path):
    """scheduler("england,bromley") -> the ServiceContext of a scheduler app
    with those plugins, each with its own database."""
    made = []
    numbers = itertools.count(1)

    def make(plugins: str):
        data_dir = tmp_path / f"scheduler-{next(numbers)}"
        ctx = create_app(make_settings("scheduler", CPP_PLUGINS=plugins, CPP_DATA_DIR=str(data_dir))).extensions["cpp"]
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.store.close()


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


class Case:
    """One child's case, told to the scheduler as the plans service (and the
    later reports work) would tell it: one method per event."""

    _numbers = itertools.count(1)

    def __init__(self, ctx, name: str | None = None):
        n = next(self._numbers)
        self.ctx = ctx
        self.case_id = name or f"case-{n}"
        self.child_id = f"child-{n}"
        self.plan_id: str | None = None
        self.created_on: date | None = None  # the plan's
        self.conferences: dict[str, dict[str, Any]] = {}
        self.initial_conference_id: str | None = None
        self.review_ids: list[str] = []
        self._ids = itertools.count(1)

    def _id(self, prefix: str) -> str:
        return f"{prefix}-{self.case_id}-{next(self._ids)}"

    def send(self, etype: str, data: dict[str, Any], *, event_id: str | None = None) -> dict:
        data = {"case_id": self.case_id, "child_id": self.child_id, **{k: _iso(v) for k, v in data.items()}}
        return deliver_event(self.ctx, etype, data, event_id=event_id)

    # the plans service's events
    def strategy_discussion(self, held_on: date, *, initiated: bool = True) -> None:
        self.send(
            "strategy_discussion.held.v1",
            {"strategy_discussion_id": self._id("sd"), "held_on": held_on, "initiated_enquiries": initiated},
        )

    def enquiries_completed(self, on: date, *, conference_required: bool = True) -> None:
        self.send("enquiry.completed.v1", {"completed_on": on, "conference_required": conference_required})

    def schedule_conference(self, on: date, *, kind: str = "initial") -> str:
        conference_id = self._id("conf")
        self.conferences[conference_id] = {"kind": kind, "scheduled_for": on}
        self.send(
            "conference.scheduled.v1",
            {"conference_id": conference_id, "kind": kind, "scheduled_for": on, "plan_id": self.plan_id},
        )
        return conference_id

    def reschedule_conference(self, conference_id: str, on: date) -> None:
        conf = self.conferences[conference_id]
        previous, conf["scheduled_for"] = conf["scheduled_for"], on
        self.send(
            "conference.rescheduled.v1",
            {
                "conference_id": conference_id,
                "kind": conf["kind"],
                "scheduled_for": on,
                "previous_scheduled_for": previous,
                "reason": "chair unavailable",
                "plan_id": self.plan_id,
            },
        )

    def cancel_conference(self, conference_id: str) -> None:
        conf = self.conferences[conference_id]
        self.send(
            "conference.cancelled.v1",
            {
                "conference_id": conference_id,
                "kind": conf["kind"],
                "scheduled_for": conf["scheduled_for"],
                "reason": "no longer needed",
                "plan_id": self.plan_id,
            },
        )

    def hold_initial_conference(self, conference_id: str, on: date, *, plan_required: bool = True) -> None:
        """conference.held.v1, then plan.created.v1 when it decides on a plan."""
        plan_id = self._id("plan") if plan_required else None
        self.send(
            "conference.held.v1",
            {
                "conference_id": conference_id,
                "kind": "initial",
                "held_on": on,
                "plan_required": plan_required,
                "plan_id": plan_id,
            },
        )
        if plan_required:
            self.plan_id = plan_id
            self.created_on = on
            self.send("plan.created.v1", self._snapshot(status="outline", created_on=on, ended=None))

    def core_group(self, on: date, *, detailed_plan_agreed: bool = False) -> None:
        self.send(
            "core_group.held.v1",
            {
                "meeting_id": self._id("cg"),
                "plan_id": self.plan_id,
                "held_on": on,
                "detailed_plan_agreed": detailed_plan_agreed,
            },
        )

    def hold_review(self, conference_id: str, on: date, *, decision: str = "continue") -> None:
        """conference.held.v1 (review), then plan.ended.v1 when it ends the plan."""
        self.send(
            "conference.held.v1",
            {
                "conference_id": conference_id,
                "kind": "review",
                "held_on": on,
                "decision": decision,
                "plan_id": self.plan_id,
            },
        )
        if decision == "end":
            self.send(
                "plan.ended.v1",
                self._snapshot(
                    status="ended",
                    created_on=self.created_on,
                    ended={"on": on, "conference_id": conference_id, "step_down": "child_in_need_plan"},
                ),
            )

    def _snapshot(self, *, status: str, created_on: date, ended: dict | None) -> dict[str, Any]:
        return {
            "plan_id": self.plan_id,
            "status": status,
            "plan_version": 1,
            "created_on": _iso(created_on),
            "activated_on": None,
            "ended": ended and {k: _iso(v) for k, v in ended.items()},
            "agreed": None,
            "content": {},
        }

    def escalate(self, route: str, on: date, *, raised_on: date | None = None) -> str:
        """An escalation decided ``on`` a day, typed in on ``raised_on`` (the same day unless given)."""
        escalation_id = self._id("esc")
        self.send(
            "escalation.raised.v1",
            {
                "escalation_id": escalation_id,
                "plan_id": self.plan_id,
                "route": route,
                "decided_on": on,
                "raised_on": raised_on or on,
            },
        )
        return escalation_id

    def referral_made(self, escalation_id: str, route: str, decided_on: date, on: date) -> None:
        self.send(
            "escalation.referral_made.v1",
            {
                "escalation_id": escalation_id,
                "plan_id": self.plan_id,
                "route": route,
                "decided_on": decided_on,
                "made_on": on,
                "made_to": "Children's Convenor",
            },
        )

    # events the later reports work will publish
    def report(self, etype: str, conference_id: str, on: date, *, kind: str = "enquiry_report") -> None:
        self.send(
            etype, {"report_id": self._id("rep"), "conference_id": conference_id, "report_kind": kind, "done_on": on}
        )

    def resource_panel_requested(self, on: date) -> str:
        request_id = self._id("panel")
        self.send(
            "resource_panel.requested.v1", {"request_id": request_id, "plan_id": self.plan_id, "requested_on": on}
        )
        return request_id

    def resource_panel_decided(self, request_id: str, on: date) -> None:
        self.send("resource_panel.decided.v1", {"request_id": request_id, "plan_id": self.plan_id, "decided_on": on})

    def child_in_need_plan(self, on: date) -> None:
        self.send("child_in_need_plan.created.v1", {"created_on": on})

    def escalation_delivered(self, escalation_id: str, on: date) -> None:
        self.send("escalation.delivered.v1", {"escalation_id": escalation_id, "delivered_on": on})

    # what the scheduler stored
    def deadlines(self, rule_id: str | None = None, *, status: str | tuple[str, ...] | None = None) -> list[dict]:
        query: dict[str, Any] = {"case_id": self.case_id}
        if rule_id:
            query["rule_id"] = rule_id
        if isinstance(status, str):
            query["status"] = status
        elif status:
            query["status"] = {"$in": list(status)}
        docs = self.ctx.store.collection("deadlines").find(query)
        return sorted(docs, key=lambda d: (d["occurrence"], d["created_at"], d["due_on"] or ""))

    def one(self, rule_id: str, *, status: str | tuple[str, ...] | None = None) -> dict:
        docs = self.deadlines(rule_id, status=status)
        assert len(docs) == 1, f"expected one {rule_id} deadline ({status}), found {_summary(docs)}"
        return docs[0]

    def open(self) -> list[dict]:
        return self.deadlines(status=OPEN)


def _summary(docs: list[dict]) -> list[tuple]:
    return [(d["rule_id"], d["status"], d["due_on"], d["latest_on"]) for d in docs]


def walk(
    case: Case,
    *,
    discussion: date,
    enquiries: date | None = None,
    conference: date | None = None,
    held: date | None = None,
    core_groups: tuple[date, ...] = (),
    reviews: tuple[tuple[date, str], ...] = (),
) -> Case:
    """A case's timetable, as far as the dates given: the strategy discussion
    that starts the enquiries, their outcome (a conference needed when a
    conference date is given), the initial conference scheduled for
    ``conference`` and held on ``held`` (that day by default) deciding on a
    plan, its core group meetings, then review conferences (date, decision),
    each scheduled for the day it is held; a decision "end" ends the plan."""
    case.strategy_discussion(discussion)
    if enquiries is None:
        return case
    case.enquiries_completed(enquiries, conference_required=conference is not None)
    if conference is None:
        return case
    case.initial_conference_id = case.schedule_conference(conference)
    if held is None and not core_groups and not reviews:
        return case
    case.hold_initial_conference(case.initial_conference_id, held or conference)
    for on in core_groups:
        case.core_group(on)
    for on, decision in reviews:
        conference_id = case.schedule_conference(on, kind="review")
        case.review_ids.append(conference_id)
        case.hold_review(conference_id, on, decision=decision)
    return case


# --- 1. the same case under Bromley and under Greenwich -----------------------


@pytest.mark.parametrize(
    "held, bromley_due, greenwich_due",
    [
        # Held Tue 20 May 2025.
        # Bromley, 10 working days: Wed 21, Thu 22, Fri 23 (3); Sat 24, Sun 25 and the Spring
        # bank holiday Mon 26 May skipped; Tue 27 .. Fri 30 (7); Sat 31 May, Sun 1 Jun skipped;
        # Mon 2, Tue 3, Wed 4 Jun (10) -> Wed 4 Jun.
        # Greenwich, 14 calendar days: Tue 3 Jun 2025, a working day.
        (date(2025, 5, 20), date(2025, 6, 4), date(2025, 6, 3)),
        # Held Mon 12 May 2025.
        # Bromley: Tue 13 .. Fri 16 (4); weekend; Mon 19 .. Fri 23 (9); weekend and the Spring bank
        # holiday Mon 26 May skipped; Tue 27 May (10).
        # Greenwich: 14 days is Mon 26 May, the Spring bank holiday: brought back to Fri 23 May.
        (date(2025, 5, 12), date(2025, 5, 27), date(2025, 5, 23)),
    ],
)
def test_first_core_group_bromley_working_days_greenwich_two_weeks(scheduler, held, bromley_due, greenwich_due):
    for plugins, council, code, due in (
        ("england,bromley", "bromley", "BRM", bromley_due),
        ("england,greenwich", "greenwich", "GRN", greenwich_due),
    ):
        case = walk(
            Case(scheduler(plugins)),
            discussion=date(2025, 4, 28),
            enquiries=date(2025, 5, 6),
            conference=held,
            held=held,
        )
        first = case.one("first-core-group")
        assert (first["status"], first["due_on"], first["latest_on"]) == ("pending", due.isoformat(), due.isoformat())
        assert first["plugin"] == council
        assert council.capitalize() in first["source"]
        assert first["authority"] == code
        assert first["plan_id"] == case.plan_id
        assert first["anchor"] == {"field": "held_on", "date": held.isoformat()}


# --- 2. Greenwich: core groups every six to nine weeks -----------------------


def test_greenwich_core_groups_recur_every_six_to_nine_weeks(scheduler):
    case = walk(
        Case(scheduler("england,greenwich")),
        discussion=date(2025, 4, 28),
        enquiries=date(2025, 5, 6),
        conference=date(2025, 5, 20),
        held=date(2025, 5, 20),
    )
    # Conference Tue 20 May 2025: first core group within 14 days, Tue 3 Jun.
    meetings = [
        date(2025, 6, 2),  # Mon 2 Jun: on time (due Tue 3 Jun)
        date(2025, 7, 14),  # Mon 14 Jul: 6 weeks after 2 Jun, the earliest
        date(2025, 9, 4),  # Thu 4 Sep: 7.5 weeks after 14 Jul, inside the window
    ]
    for on in meetings:
        case.core_group(on)

    docs = case.deadlines("first-core-group")
    assert [(d["occurrence"], d["status"], d["due_on"], d["latest_on"]) for d in docs] == [
        (1, "met", "2025-06-03", "2025-06-03"),
        # From Mon 2 Jun: +6 weeks Mon 14 Jul, +9 weeks Mon 4 Aug (both working days).
        (2, "met", "2025-07-14", "2025-08-04"),
        # From Mon 14 Jul: +6 weeks is Mon 25 Aug, the Summer bank holiday, brought back to
        # Fri 22 Aug; +9 weeks Mon 15 Sep.
        (3, "met", "2025-08-22", "2025-09-15"),
        # From Thu 4 Sep: +6 weeks Thu 16 Oct, +9 weeks Thu 6 Nov.
        (4, "pending", "2025-10-16", "2025-11-06"),
    ]
    assert [d["met"]["on"] for d in docs[:3]] == [m.isoformat() for m in meetings]
    assert [d["met"]["late"] for d in docs[:3]] == [False, False, False]
    assert docs[3]["anchor"] == {"field": "held_on", "date": "2025-09-04"}

    # Ten weeks after the last: Thu 13 Nov, after the latest date Thu 6 Nov. Late by the
    # working days after 6 Nov up to 13 Nov: Fri 7, Mon 10, Tue 11, Wed 12, Thu 13 = 5.
    case.core_group(date(2025, 11, 13))
    docs = case.deadlines("first-core-group")
    late = docs[3]
    assert late["status"] == "met"
    assert (late["met"]["on"], late["met"]["late"], late["met"]["working_days_late"]) == ("2025-11-13", True, 5)
    # The next from Thu 13 Nov: +6 weeks Thu 25 Dec (Christmas Day) brought back to Wed 24 Dec;
    # +9 weeks Thu 15 Jan 2026.
    assert [(d["occurrence"], d["status"], d["due_on"], d["latest_on"]) for d in docs[4:]] == [
        (5, "pending", "2025-12-24", "2026-01-15")
    ]


def test_greenwich_a_core_group_recorded_late_does_not_restart_the_cycle(scheduler):
    case = walk(
        Case(scheduler("england,greenwich")),
        discussion=date(2025, 4, 28),
        enquiries=date(2025, 5, 6),
        conference=date(2025, 5, 20),
        held=date(2025, 5, 20),
    )
    case.core_group(date(2025, 6, 2))  # meets the first; the next is due 14 Jul, at the latest 4 Aug
    case.core_group(date(2025, 7, 14))  # meets the second; the third counts from 14 Jul
    case.core_group(date(2025, 6, 30))  # an earlier meeting recorded afterwards: history, not the third
    docs = case.deadlines("first-core-group")
    assert [(d["occurrence"], d["status"], d["due_on"]) for d in docs] == [
        (1, "met", "2025-06-03"),
        (2, "met", "2025-07-14"),
        (3, "pending", "2025-08-22"),
    ]


# --- 3. Guernsey, row by row ---------------------------------------------

GSY_DISCUSSION = date(2025, 4, 28)  # Mon 28 Apr 2025
GSY_CONFERENCE = date(2025, 5, 13)  # Tue 13 May 2025, the week after Liberation Day


@pytest.mark.parametrize(
    "plugins, due",
    [
        # From Mon 28 Apr 2025, 15 working days.
        # Guernsey: Tue 29, Wed 30 Apr, Thu 1, Fri 2 May (4); weekend; May Day Mon 5 May skipped;
        # Tue 6, Wed 7, Thu 8 (7); Liberation Day Fri 9 May skipped; weekend; Mon 12 .. Fri 16
        # (12); weekend; Mon 19, Tue 20, Wed 21 (15) -> Wed 21 May.
        ("guernsey", date(2025, 5, 21)),
        # England: the same but Fri 9 May is a working day (8 by then): Mon 12 .. Fri 16 (13);
        # Mon 19, Tue 20 (15) -> Tue 20 May, a day earlier.
        ("england", date(2025, 5, 20)),
    ],
)
def test_initial_conference_15_working_days_across_liberation_day(scheduler, plugins, due):
    case = Case(scheduler(plugins))
    case.strategy_discussion(GSY_DISCUSSION)
    initial = case.one("initial-conference")
    assert (initial["status"], initial["due_on"]) == ("pending", due.isoformat())
    assert initial["plugin"] == plugins


@pytest.mark.parametrize(
    "plugins, due",
    [
        # Conference held Fri 2 May 2025, first core group 10 working days after.
        # Guernsey: weekend; May Day Mon 5 May skipped; Tue 6, Wed 7, Thu 8 (3); Liberation Day
        # Fri 9 skipped; weekend; Mon 12 .. Fri 16 (8); weekend; Mon 19, Tue 20 (10) -> Tue 20 May.
        ("guernsey", date(2025, 5, 20)),
        # England: Fri 9 May counts: Tue 6 .. Fri 9 (4); Mon 12 .. Fri 16 (9); Mon 19 (10).
        ("england", date(2025, 5, 19)),
    ],
)
def test_first_core_group_across_liberation_day_guernsey_and_england(scheduler, plugins, due):
    held = date(2025, 5, 2)
    case = walk(
        Case(scheduler(plugins)), discussion=date(2025, 4, 14), enquiries=date(2025, 4, 24), conference=held, held=held
    )
    assert case.one("first-core-group")["due_on"] == due.isoformat()


def test_guernsey_enquiries_complete_10_working_days_after_the_strategy_discussion(scheduler):
    case = Case(scheduler("guernsey"))
    case.strategy_discussion(GSY_DISCUSSION)
    # Mon 28 Apr: Tue 29, Wed 30 Apr, Thu 1, Fri 2 May (4); weekend and May Day Mon 5 May
    # skipped; Tue 6, Wed 7, Thu 8 (7); Liberation Day Fri 9 and the weekend skipped;
    # Mon 12, Tue 13, Wed 14 (10) -> Wed 14 May.
    doc = case.one("enquiries-complete")
    assert (doc["status"], doc["due_on"], doc["owner"]) == ("pending", "2025-05-14", "social_worker")
    skipped = doc["explanation"]["computations"][0]["skipped"]
    assert {"date": "2025-05-05", "reason": "May Day Bank Holiday"} in skipped
    assert {"date": "2025-05-09", "reason": "Liberation Day"} in skipped

    case.enquiries_completed(date(2025, 5, 14))  # on the last day
    doc = case.one("enquiries-complete")
    assert doc["status"] == "met"
    assert (doc["met"]["on"], doc["met"]["late"]) == ("2025-05-14", False)


def test_guernsey_child_in_need_plan_when_no_conference(scheduler):
    case = Case(scheduler("guernsey"))
    case.strategy_discussion(GSY_DISCUSSION)
    case.enquiries_completed(date(2025, 5, 7), conference_required=False)
    # Decision Wed 7 May, 7 working days: Thu 8 May (1); Liberation Day Fri 9 and the weekend
    # skipped; Mon 12 .. Fri 16 (6); weekend; Mon 19 May (7).
    cin = case.one("child-in-need-after-enquiries")
    assert (cin["status"], cin["due_on"]) == ("pending", "2025-05-19")
    initial = case.one("initial-conference")
    assert initial["status"] == "cancelled"
    assert initial["cancelled"]["type"] == "enquiry.completed.v1"
    assert case.one("enquiries-complete")["status"] == "met"
    assert sorted(d["rule_id"] for d in case.open()) == ["child-in-need-after-enquiries"]

    case.child_in_need_plan(date(2025, 5, 16))
    cin = case.one("child-in-need-after-enquiries")
    assert (cin["status"], cin["met"]["on"], cin["met"]["late"]) == ("met", "2025-05-16", False)
    assert case.open() == []


# Conference Tue 13 May 2025, counting back:
#   Mon 12 May (1); Sun 11, Sat 10 and Liberation Day Fri 9 May skipped; Thu 8 (2);
#   Wed 7 (3); Tue 6 May (4).
LIBERATION_WEEK = {
    "draft-plan-in-report": "2025-05-06",  # 4 working days before
    "report-to-manager": "2025-05-07",  # 3
    "report-shared-with-family": "2025-05-08",  # 2
    "report-to-chair": "2025-05-12",  # 1
}
# Conference Mon 4 Jan 2027, counting back:
#   Sun 3, Sat 2 Jan and New Year's Day Fri 1 Jan skipped; Thu 31 Dec (1); Wed 30 (2);
#   Tue 29 (3); the Boxing Day substitute Mon 28, Sun 27, Boxing Day Sat 26 and Christmas
#   Day Fri 25 Dec skipped; Thu 24 Dec 2026 (4).
NEW_YEAR = {
    "draft-plan-in-report": "2026-12-24",
    "report-to-manager": "2026-12-29",
    "report-shared-with-family": "2026-12-30",
    "report-to-chair": "2026-12-31",
}


@pytest.mark.parametrize("rule_id", BEFORE_INITIAL_CONFERENCE)
@pytest.mark.parametrize(
    "discussion, conference, expected",
    [
        (GSY_DISCUSSION, GSY_CONFERENCE, LIBERATION_WEEK),
        (date(2026, 12, 10), date(2027, 1, 4), NEW_YEAR),
    ],
    ids=["liberation-day", "christmas"],
)
def test_guernsey_report_steps_before_the_initial_conference(scheduler, rule_id, discussion, conference, expected):
    case = walk(Case(scheduler("guernsey")), discussion=discussion, enquiries=discussion, conference=conference)
    doc = case.one(rule_id)
    assert (doc["status"], doc["due_on"], doc["latest_on"]) == ("pending", expected[rule_id], expected[rule_id])
    assert doc["key"] == case.initial_conference_id
    assert doc["anchor"] == {"field": "scheduled_for", "date": conference.isoformat()}
    assert doc["owner"] == "social_worker"


def test_guernsey_report_count_names_the_days_skipped(scheduler):
    case = walk(
        Case(scheduler("guernsey")), discussion=GSY_DISCUSSION, enquiries=date(2025, 5, 1), conference=GSY_CONFERENCE
    )
    computation = case.one("draft-plan-in-report")["explanation"]["computations"][0]
    assert (computation["counted"], computation["direction"], computation["due"]) == (4, "before", "2025-05-06")
    assert computation["skipped"] == [
        {"date": "2025-05-11", "reason": "Sunday"},
        {"date": "2025-05-10", "reason": "Saturday"},
        {"date": "2025-05-09", "reason": "Liberation Day"},
    ]
    christmas = walk(
        Case(case.ctx), discussion=date(2026, 12, 10), enquiries=date(2026, 12, 10), conference=date(2027, 1, 4)
    )
    skipped = christmas.one("draft-plan-in-report")["explanation"]["computations"][0]["skipped"]
    assert [s["date"] for s in skipped] == [
        "2027-01-03",
        "2027-01-02",
        "2027-01-01",
        "2026-12-28",
        "2026-12-27",
        "2026-12-26",
        "2026-12-25",
    ]
    assert {"date": "2026-12-28", "reason": "Boxing Day (substitute day)"} in skipped


def test_guernsey_initial_conference_across_christmas(scheduler):
    case = Case(scheduler("guernsey"))
    case.strategy_discussion(date(2026, 12, 10))
    # Thu 10 Dec 2026, 15 working days: Fri 11 (1); Mon 14 .. Fri 18 (6); Mon 21 .. Thu 24 (10);
    # Christmas Fri 25, Boxing Day Sat 26, Sun 27 and the substitute Mon 28 skipped;
    # Tue 29 .. Thu 31 (13); New Year's Day Fri 1 Jan and the weekend skipped; Mon 4,
    # Tue 5 Jan 2027 (15).
    assert case.one("initial-conference")["due_on"] == "2027-01-05"


def test_guernsey_resource_panel_needs_a_date(scheduler):
    case = walk(
        Case(scheduler("guernsey")),
        discussion=GSY_DISCUSSION,
        enquiries=date(2025, 5, 1),
        conference=GSY_CONFERENCE,
        held=GSY_CONFERENCE,
    )
    request_id = case.resource_panel_requested(date(2025, 5, 20))
    doc = case.one("resource-panel")
    assert doc["status"] == "pending"
    assert doc["needs_date"] is True
    assert (doc["due_on"], doc["latest_on"], doc["remind_on"], doc["overdue_on"]) == (None, None, None, None)
    assert doc["key"] == request_id
    assert doc["explanation"] is None

    case.resource_panel_decided(request_id, date(2025, 6, 3))
    doc = case.one("resource-panel")
    assert doc["status"] == "met"
    assert (doc["met"]["on"], doc["met"]["late"], doc["met"]["working_days_late"]) == ("2025-06-03", False, 0)


def test_guernsey_first_core_group_10_working_days_and_no_further_timescale(scheduler):
    case = walk(
        Case(scheduler("guernsey")),
        discussion=GSY_DISCUSSION,
        enquiries=date(2025, 5, 1),
        conference=GSY_CONFERENCE,
        held=GSY_CONFERENCE,
    )
    # Conference Tue 13 May 2025: Wed 14 .. Fri 16 (3); weekend; Mon 19 .. Fri 23 (8); weekend
    # and the Spring bank holiday Mon 26 May skipped; Tue 27, Wed 28 May (10).
    doc = case.one("first-core-group")
    assert (doc["status"], doc["due_on"], doc["plan_id"]) == ("pending", "2025-05-28", case.plan_id)

    case.core_group(date(2025, 5, 27))
    doc = case.one("first-core-group")
    assert (doc["status"], doc["met"]["on"], doc["met"]["late"]) == ("met", "2025-05-27", False)
    # Further core groups and visits: "within timescale specified within child protection plan", so
    # a plan that states no rhythm opens no further core group, and its visits need a date.
    case.core_group(date(2025, 7, 1))
    assert len(case.deadlines("first-core-group")) == 1
    assert sorted(d["rule_id"] for d in case.open()) == sorted(
        [*BEFORE_INITIAL_CONFERENCE, "first-review-conference", "child-visit"]
    )
    assert case.one("child-visit")["needs_date"] is True


def test_guernsey_first_review_three_months_then_six_monthly(scheduler):
    case = walk(
        Case(scheduler("guernsey")),
        discussion=GSY_DISCUSSION,
        enquiries=date(2025, 5, 1),
        conference=GSY_CONFERENCE,
        held=GSY_CONFERENCE,
    )
    # Tue 13 May 2025 + 3 months: Wed 13 Aug 2025, a working day.
    first = case.one("first-review-conference")
    assert (first["status"], first["due_on"], first["owner"]) == ("pending", "2025-08-13", "chair")

    # First review held Tue 12 Aug 2025, the plan continues: + 6 months Thu 12 Feb 2026.
    review_1 = case.schedule_conference(date(2025, 8, 12), kind="review")
    case.hold_review(review_1, date(2025, 8, 12), decision="continue")
    first = case.one("first-review-conference")
    assert (first["status"], first["met"]["on"], first["met"]["late"]) == ("met", "2025-08-12", False)
    later = case.one("later-review-conference")
    assert (later["status"], later["due_on"]) == ("pending", "2026-02-12")

    # Second review Tue 10 Feb 2026, revised: + 6 months Mon 10 Aug 2026.
    review_2 = case.schedule_conference(date(2026, 2, 10), kind="review")
    case.hold_review(review_2, date(2026, 2, 10), decision="revise")
    docs = case.deadlines("later-review-conference")
    assert [(d["status"], d["due_on"]) for d in docs] == [("met", "2026-02-12"), ("pending", "2026-08-10")]
    assert (docs[0]["met"]["on"], docs[0]["met"]["late"]) == ("2026-02-10", False)


def test_guernsey_plan_updated_5_working_days_before_the_review(scheduler):
    case = walk(
        Case(scheduler("guernsey")),
        discussion=GSY_DISCUSSION,
        enquiries=date(2025, 5, 1),
        conference=GSY_CONFERENCE,
        held=GSY_CONFERENCE,
    )
    # Review conference Thu 28 Aug 2025, counting back: Wed 27 (1), Tue 26 (2); the Summer bank
    # holiday Mon 25 Aug and the weekend skipped; Fri 22 (3), Thu 21 (4), Wed 20 Aug (5).
    review = case.schedule_conference(date(2025, 8, 28), kind="review")
    doc = case.one("plan-updated-for-review")
    assert (doc["status"], doc["due_on"], doc["key"]) == ("pending", "2025-08-20", review)
    # The initial conference's report steps do not meet it; the review report does.
    case.report("report.submitted.v1", review, date(2025, 8, 19), kind="enquiry_report")
    assert case.one("plan-updated-for-review")["status"] == "pending"
    case.report("report.submitted.v1", review, date(2025, 8, 19), kind="review_report")
    doc = case.one("plan-updated-for-review")
    assert (doc["status"], doc["met"]["on"], doc["met"]["late"]) == ("met", "2025-08-19", False)


def test_guernsey_child_in_need_plan_7_working_days_after_the_ending_conference(scheduler):
    case = walk(
        Case(scheduler("guernsey")),
        discussion=GSY_DISCUSSION,
        enquiries=date(2025, 5, 1),
        conference=GSY_CONFERENCE,
        core_groups=(date(2025, 5, 27),),
        reviews=((date(2025, 8, 22), "end"),),
    )
    # Ended at the review Fri 22 Aug 2025: weekend and the Summer bank holiday Mon 25 Aug
    # skipped; Tue 26 .. Fri 29 (4); weekend; Mon 1, Tue 2, Wed 3 Sep (7).
    cin = case.one("child-in-need-after-plan")
    assert (cin["status"], cin["due_on"]) == ("pending", "2025-09-03")
    assert cin["anchor"] == {"field": "ended.on", "date": "2025-08-22"}
    # The review itself was due Wed 13 Aug: held Fri 22 Aug, late by Thu 14, Fri 15,
    # Mon 18 .. Fri 22 = 7 working days.
    review = case.one("first-review-conference")
    assert (review["status"], review["met"]["late"], review["met"]["working_days_late"]) == ("met", True, 7)

    case.child_in_need_plan(date(2025, 9, 3))
    cin = case.one("child-in-need-after-plan")
    assert (cin["status"], cin["met"]["late"]) == ("met", False)


def test_guernsey_convenor_referral_2_working_days_after_the_decision_met_by_the_referral_made(scheduler):
    case = walk(
        Case(scheduler("guernsey")),
        discussion=GSY_DISCUSSION,
        enquiries=date(2025, 5, 1),
        conference=GSY_CONFERENCE,
        held=GSY_CONFERENCE,
    )
    # Decided Fri 22 Aug 2025, typed in a week later: counted from the decision. The weekend and the Summer bank
    # holiday Mon 25 Aug skipped; Tue 26 (1), Wed 27 Aug (2).
    escalation_id = case.escalate("childrens_convenor", date(2025, 8, 22), raised_on=date(2025, 8, 29))
    doc = case.one("convenor-referral")
    assert (doc["status"], doc["due_on"], doc["key"]) == ("pending", "2025-08-27", escalation_id)
    assert doc["anchor"] == {"field": "decided_on", "date": "2025-08-22"}
    # Another route opens no referral deadline.
    case.escalate("legal_threshold_meeting", date(2025, 8, 22))
    assert len(case.deadlines("convenor-referral")) == 1

    # A webhook's delivery receipt is not the referral: the deadline stays open.
    case.escalation_delivered(escalation_id, date(2025, 8, 26))
    assert case.one("convenor-referral")["status"] == "pending"
    case.referral_made(escalation_id, "childrens_convenor", date(2025, 8, 22), date(2025, 8, 26))
    doc = case.one("convenor-referral")
    assert (doc["status"], doc["met"]["on"], doc["met"]["late"]) == ("met", "2025-08-26", False)


# --- 4. a conference moved, then cancelled --------------------------------


def test_rescheduled_conference_moves_its_report_steps_and_a_cancelled_one_drops_them(scheduler):
    case = walk(
        Case(scheduler("guernsey")), discussion=GSY_DISCUSSION, enquiries=date(2025, 5, 1), conference=GSY_CONFERENCE
    )
    conference_id = case.initial_conference_id
    old = {rule: case.one(rule) for rule in BEFORE_INITIAL_CONFERENCE}
    assert {rule: d["due_on"] for rule, d in old.items()} == LIBERATION_WEEK

    # Moved a week, Tue 13 May -> Tue 20 May 2025. Counting back from Tue 20 May:
    # Mon 19 (1); weekend; Fri 16 (2), Thu 15 (3), Wed 14 May (4). By working days, so the
    # first three move 8 calendar days (Liberation Day is no longer in the count), the last 7.
    case.reschedule_conference(conference_id, date(2025, 5, 20))
    moved = {
        "draft-plan-in-report": "2025-05-14",
        "report-to-manager": "2025-05-15",
        "report-shared-with-family": "2025-05-16",
        "report-to-chair": "2025-05-19",
    }
    for rule in BEFORE_INITIAL_CONFERENCE:
        before = case.one(rule, status="superseded")
        after = case.one(rule, status=OPEN)
        assert before["_id"] == old[rule]["_id"]
        assert before["due_on"] == LIBERATION_WEEK[rule]
        assert before["superseded_by"] == after["_id"]
        assert after["supersedes"] == before["_id"]
        assert (after["status"], after["due_on"], after["key"]) == ("pending", moved[rule], conference_id)
        assert after["trigger"]["type"] == "conference.rescheduled.v1"

    # Cancelling another conference leaves this one's steps alone.
    case.send(
        "conference.cancelled.v1",
        {
            "conference_id": "another-conference",
            "kind": "initial",
            "scheduled_for": date(2025, 5, 20),
            "reason": "x",
            "plan_id": None,
        },
    )
    assert len(case.deadlines(status=OPEN)) == 4 + 1  # the four steps and the initial conference

    case.cancel_conference(conference_id)
    for rule in BEFORE_INITIAL_CONFERENCE:
        assert case.one(rule, status="superseded")["_id"] == old[rule]["_id"]
        cancelled = case.one(rule, status="cancelled")
        assert cancelled["due_on"] == moved[rule]
        assert cancelled["cancelled"]["type"] == "conference.cancelled.v1"
    # The initial conference's own timescale (from the strategy discussion) stands.
    initial = case.one("initial-conference")
    assert (initial["status"], initial["due_on"]) == ("pending", "2025-05-21")


def test_a_step_done_before_the_conference_moved_is_not_asked_for_again(scheduler):
    case = walk(
        Case(scheduler("guernsey")), discussion=GSY_DISCUSSION, enquiries=date(2025, 5, 1), conference=GSY_CONFERENCE
    )
    case.report("report.drafted.v1", case.initial_conference_id, date(2025, 5, 6))  # due Tue 6 May: on time
    case.reschedule_conference(case.initial_conference_id, date(2025, 5, 20))
    # The steps still to do move (to Thu 15 May, see above) ...
    assert case.one("report-to-manager", status=OPEN)["due_on"] == "2025-05-15"
    # ... the one done stays done, and is not asked for again.
    assert [(d["status"], d["due_on"]) for d in case.deadlines("draft-plan-in-report")] == [("met", "2025-05-06")]


def test_rescheduled_review_conference_moves_the_plan_update(scheduler):
    case = walk(
        Case(scheduler("guernsey")),
        discussion=GSY_DISCUSSION,
        enquiries=date(2025, 5, 1),
        conference=GSY_CONFERENCE,
        held=GSY_CONFERENCE,
    )
    review = case.schedule_conference(date(2025, 8, 28), kind="review")  # due Wed 20 Aug (see above)
    # Moved to Thu 4 Sep 2025, counting back: Wed 3 (1), Tue 2 (2), Mon 1 Sep (3); weekend;
    # Fri 29 (4), Thu 28 Aug (5).
    case.reschedule_conference(review, date(2025, 9, 4))
    before = case.one("plan-updated-for-review", status="superseded")
    after = case.one("plan-updated-for-review", status=OPEN)
    assert (before["due_on"], before["superseded_by"]) == ("2025-08-20", after["_id"])
    assert after["due_on"] == "2025-08-28"


# --- 5. on time, and late ------------------------------------------------


@pytest.mark.parametrize(
    "rule_id, done_on, late, working_days_late",
    [
        # Report to the manager due Wed 7 May 2025 (3 working days before Tue 13 May).
        ("report-to-manager", date(2025, 5, 7), False, 0),
        ("report-to-manager", date(2025, 5, 6), False, 0),
        ("report-to-manager", date(2025, 5, 8), True, 1),  # Thu 8 May, a day after
        # Shared with the family due Thu 8 May, done Mon 12 May: late by the working days after
        # 8 May up to 12 May: Liberation Day Fri 9 and the weekend do not count, Mon 12 does (1).
        ("report-shared-with-family", date(2025, 5, 12), True, 1),
        # Sent to the chair due Mon 12 May: done on the day of the conference, Tue 13 May.
        ("report-to-chair", date(2025, 5, 13), True, 1),
        ("report-to-chair", date(2025, 5, 12), False, 0),
    ],
)
def test_guernsey_report_step_on_time_or_late(scheduler, rule_id, done_on, late, working_days_late):
    case = walk(
        Case(scheduler("guernsey")), discussion=GSY_DISCUSSION, enquiries=date(2025, 5, 1), conference=GSY_CONFERENCE
    )
    case.report(REPORT_EVENT[rule_id], case.initial_conference_id, done_on)
    doc = case.one(rule_id)
    assert doc["status"] == "met"
    assert doc["met"]["on"] == done_on.isoformat()
    assert (doc["met"]["late"], doc["met"]["working_days_late"]) == (late, working_days_late)
    assert doc["met"]["type"] == REPORT_EVENT[rule_id]
    # The other steps are not met by it.
    others = [r for r in BEFORE_INITIAL_CONFERENCE if r != rule_id]
    assert [case.one(r)["status"] for r in others] == ["pending"] * 3


def test_guernsey_report_for_another_conference_meets_nothing(scheduler):
    case = walk(
        Case(scheduler("guernsey")), discussion=GSY_DISCUSSION, enquiries=date(2025, 5, 1), conference=GSY_CONFERENCE
    )
    case.report("report.drafted.v1", "another-conference", date(2025, 5, 6))
    assert case.one("draft-plan-in-report")["status"] == "pending"


# --- 6. the plan ends ------------------------------------------------------


def test_guernsey_plan_end_cancels_the_case_open_deadlines_but_not_the_child_in_need_plan(scheduler):
    case = walk(
        Case(scheduler("guernsey")),
        discussion=GSY_DISCUSSION,
        enquiries=date(2025, 5, 1),
        conference=GSY_CONFERENCE,
        held=GSY_CONFERENCE,
    )
    case.resource_panel_requested(date(2025, 5, 20))
    case.escalate("childrens_convenor", date(2025, 8, 7))
    review = case.schedule_conference(date(2025, 8, 12), kind="review")
    # Open before the review: the report steps of the initial conference (never done), the
    # first core group, the first review, the resource panel, the referral, the plan update.
    assert sorted(d["rule_id"] for d in case.open()) == sorted(
        [
            *BEFORE_INITIAL_CONFERENCE,
            "first-core-group",
            "first-review-conference",
            "child-visit",
            "resource-panel",
            "convenor-referral",
            "plan-updated-for-review",
        ]
    )
    was_open = {d["_id"] for d in case.open()}

    case.hold_review(review, date(2025, 8, 12), decision="end")  # conference.held.v1, then plan.ended.v1

    assert case.one("first-review-conference")["status"] == "met"  # met by the conference held
    for d in case.deadlines():
        if d["_id"] in was_open and d["rule_id"] != "first-review-conference":
            assert d["status"] == "cancelled", _summary([d])
            assert d["cancelled"]["type"] == "plan.ended.v1"
    # Ended Tue 12 Aug 2025, 7 working days: Wed 13 .. Fri 15 (3); Mon 18 .. Thu 21 Aug (7).
    assert [(d["rule_id"], d["status"], d["due_on"]) for d in case.open()] == [
        ("child-in-need-after-plan", "pending", "2025-08-21")
    ]


def test_greenwich_plan_end_meets_the_two_year_flag_and_cancels_the_rest(scheduler):
    case = walk(
        Case(scheduler("england,greenwich")),
        discussion=date(2025, 4, 28),
        enquiries=date(2025, 5, 6),
        conference=date(2025, 5, 20),
        core_groups=(date(2025, 6, 2),),
    )
    # Plan created Tue 20 May 2025: + 24 months Thu 20 May 2027, a working day.
    flag = case.one("plan-two-years")
    assert (flag["status"], flag["due_on"], flag["owner"]) == ("pending", "2027-05-20", "team_manager")
    assert sorted(d["rule_id"] for d in case.open()) == [
        "child-visit",
        "first-core-group",
        "first-review-conference",
        "plan-two-years",
    ]
    core_group = case.one("first-core-group", status=OPEN)
    assert core_group["occurrence"] == 2

    review = case.schedule_conference(date(2025, 8, 19), kind="review")
    case.hold_review(review, date(2025, 8, 19), decision="end")

    flag = case.one("plan-two-years")
    assert flag["status"] == "met"
    assert (flag["met"]["on"], flag["met"]["late"], flag["met"]["type"]) == ("2025-08-19", False, "plan.ended.v1")
    assert flag["cancelled"] is None
    core_group = case.one("first-core-group", status="cancelled")
    assert core_group["occurrence"] == 2
    assert core_group["cancelled"]["type"] == "plan.ended.v1"
    assert case.one("first-review-conference")["status"] == "met"
    assert case.open() == []  # england opens no child in need deadline, and no further core group


# --- 7. a second strategy discussion ---------------------------------------


def test_england_second_strategy_discussion_never_moves_the_initial_conference_later(scheduler):
    case = Case(scheduler("england"))
    # Mon 2 Jun 2025, 15 working days: Tue 3 .. Fri 6 (4); Mon 9 .. Fri 13 (9);
    # Mon 16 .. Fri 20 (14); Mon 23 Jun (15).
    case.strategy_discussion(date(2025, 6, 2))
    first = case.one("initial-conference")
    assert first["due_on"] == "2025-06-23"

    # A later one (Thu 5 Jun, which alone would give Thu 26 Jun) changes nothing.
    case.strategy_discussion(date(2025, 6, 5))
    # Nor does one that did not initiate enquiries.
    case.strategy_discussion(date(2025, 6, 4), initiated=False)
    [doc] = case.deadlines("initial-conference")
    assert (doc["_id"], doc["status"], doc["due_on"]) == (first["_id"], "pending", "2025-06-23")

    # One held earlier (Thu 29 May, recorded late) brings it forward: Fri 30 May (1);
    # Mon 2 .. Fri 6 Jun (6); Mon 9 .. Fri 13 (11); Mon 16 .. Thu 19 Jun (15).
    case.strategy_discussion(date(2025, 5, 29))
    earlier = case.one("initial-conference", status=OPEN)
    assert earlier["due_on"] == "2025-06-19"
    superseded = case.one("initial-conference", status="superseded")
    assert (superseded["_id"], superseded["superseded_by"]) == (first["_id"], earlier["_id"])


# --- the same event twice ---------------------------------------------------


def test_the_same_event_delivered_twice_is_refused_and_creates_nothing_twice(scheduler):
    ctx = scheduler("england")
    case = Case(ctx)
    data = {"strategy_discussion_id": "sd-1", "held_on": date(2025, 6, 2), "initiated_enquiries": True}
    case.send("strategy_discussion.held.v1", data, event_id="event-1")
    deadlines = case.deadlines()
    outbox = ctx.store.outbox_pending(limit=1000)
    assert [d["rule_id"] for d in deadlines] == ["initial-conference"]

    with pytest.raises(AlreadyProcessed):
        case.send("strategy_discussion.held.v1", data, event_id="event-1")
    assert case.deadlines() == deadlines
    assert [m.message_id for m in ctx.store.outbox_pending(limit=1000)] == [m.message_id for m in outbox]
    assert ctx.store.is_processed("event-1", "scheduler")
