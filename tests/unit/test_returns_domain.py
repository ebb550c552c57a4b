"""The returns' domain: a child's history folded from events in any order the bus may deliver them, the
census's episodes, closures and codes, and the checks made before it is sent."""

from __future__ import annotations

from datetime import date

import holidays
from cpp_returns.domain.census import Deployment, Year, category_code, closure, episodes_in, section47s
from cpp_returns.domain.history import empty, fold
from cpp_returns.domain.quality import check, working_days_after
from hypothesis import given, settings
from hypothesis import strategies as st

CODES = {"neglect": "NEG", "physical_abuse": "PHY", "emotional_abuse": "EMO", "financial_abuse": None}
BRM = Deployment(la_number="305", category_codes=CODES)


def ev(etype: str, time: str, **data) -> dict:
    return {"id": f"{etype}-{time}", "type": etype, "time": time, "data": {"child_id": "c1", "case_id": "k1", **data}}


def plan_event(version: int, status: str, time: str, **more) -> dict:
    etype = "plan.ended.v1" if status == "ended" else "plan.version_agreed.v1"
    return ev(
        etype,
        time,
        plan_id="p1",
        plan_version=version,
        status=status,
        created_on="2025-05-28",
        categories=["neglect"] if version < 3 else ["neglect", "emotional_abuse"],
        initial_categories=["neglect"],
        previous_plans=0,
        ended={"on": "2025-12-01", "reason": "review_conference", "step_down": None} if status == "ended" else None,
        **more,
    )


PLAN_EVENTS = [
    plan_event(1, "outline", "2026-01-01T10:00:00Z"),
    plan_event(2, "active", "2026-01-02T10:00:00Z"),
    plan_event(3, "active", "2026-01-03T10:00:00Z"),
    plan_event(3, "ended", "2026-01-04T10:00:00Z"),
]
DEADLINE_EVENTS = [
    ev(
        "deadline.scheduled.v1",
        "2026-01-01T10:00:01Z",
        deadline_id="d1",
        kind="initial_conference",
        status="pending",
        due_on="2025-05-28",
    ),
    ev(
        "deadline.approaching.v1",
        "2026-01-01T10:00:02Z",
        deadline_id="d1",
        kind="initial_conference",
        status="approaching",
        due_on="2025-05-28",
    ),
    ev(
        "deadline.met.v1",
        "2026-01-01T10:00:03Z",
        deadline_id="d1",
        kind="initial_conference",
        status="met",
        due_on="2025-05-28",
        met={"on": "2025-05-27", "late": False},
    ),
]


@settings(max_examples=60, deadline=None)
@given(st.permutations(PLAN_EVENTS + DEADLINE_EVENTS))
def test_a_plan_and_a_deadline_end_as_their_latest_state_whatever_order_they_arrive_in(events):
    state = empty("c1", "BRM")
    for event in events:
        fold(state, event)
    plan = state["cases"]["k1"]["plans"]["p1"]
    assert plan["status"] == "ended" and plan["categories"] == ["neglect", "emotional_abuse"]
    assert plan["initial_categories"] == ["neglect"]
    deadline = state["cases"]["k1"]["deadlines"]["d1"]
    assert (deadline["status"], deadline["met_on"]) == ("met", "2025-05-27")


def test_the_collection_year_is_the_twelve_months_to_31_march():
    year = Year(2026)
    assert (year.start, year.end) == (date(2025, 4, 1), date(2026, 3, 31))
    assert year.overlaps(date(2024, 1, 1), None)  # open all year
    assert year.overlaps(date(2024, 1, 1), date(2025, 4, 1))  # closed on its first day
    assert not year.overlaps(date(2024, 1, 1), date(2025, 3, 31))
    assert not year.overlaps(date(2026, 4, 1), None)
    assert not year.overlaps(None, None)


def test_one_category_has_its_code_several_are_multiple_and_one_without_a_code_is_none():
    assert category_code(["neglect"], CODES) == "NEG"
    assert category_code(["neglect", "physical_abuse"], CODES) == "MUL"
    assert category_code(["financial_abuse"], CODES) is None
    assert category_code([], CODES) is None


def case_with(**parts) -> dict:
    state = empty("c1", "BRM")
    fold(state, ev("case.opened.v1", "2026-01-01T00:00:00Z", opened_at="2025-06-01T09:00:00Z"))
    state["cases"]["k1"].update(parts)
    return state["cases"]["k1"]


def test_how_an_episode_closes():
    assert closure(case_with()) is None
    nfa = {"received_on": "2025-06-01", "decided_on": "2025-06-02", "decision": "no_further_action"}
    assert closure(case_with(referral=nfa)) == (date(2025, 6, 2), "RC8")
    assert closure(case_with(referral={**nfa, "decision": "early_help"})) == (date(2025, 6, 2), "RC9")
    assessed = {"2025-06-03": {"started_on": "2025-06-03", "completed_on": "2025-06-20", "outcome": "early_help"}}
    assert closure(case_with(assessments=assessed)) == (date(2025, 6, 20), "RC9")
    ended = {"p1": {"plan_id": "p1", "created_on": "2025-07-01", "ended": {"on": "2025-09-01", "reason": "died"}}}
    assert closure(case_with(plans=ended)) == (date(2025, 9, 1), "RC2")
    stepped = {
        "p1": {
            **ended["p1"],
            "ended": {"on": "2025-09-01", "reason": "review_conference", "step_down": "child_in_need_plan"},
        }
    }
    assert closure(case_with(plans=stepped)) is None  # still a child in need
    # A case closed with its reason says so, whatever came before.
    assert closure(case_with(plans=stepped, closed={"on": "2025-12-01", "reason": "RC7"})) == (date(2025, 12, 1), "RC7")


def test_a_second_enquiry_pairs_with_its_own_target_and_conference():
    case = case_with(
        strategy_discussions={
            "s1": {"held_on": "2025-06-02", "initiated_enquiries": True},
            "s2": {"held_on": "2025-09-01", "initiated_enquiries": True},
            "s0": {"held_on": "2025-05-01", "initiated_enquiries": False},
        },
        deadlines={
            "d1": {"kind": "initial_conference", "status": "met", "due_on": "2025-06-23"},
            "d2": {"kind": "initial_conference", "status": "pending", "due_on": "2025-09-22"},
            "d0": {"kind": "initial_conference", "status": "superseded", "due_on": "2025-06-20"},
        },
        conferences={"c1": {"kind": "initial", "status": "held", "held_on": "2025-06-20"}},
    )
    found = section47s(case, Year(2026))
    assert [(s["start"], s["target"], s["held"], s["not_required"]) for s in found] == [
        (date(2025, 6, 2), date(2025, 6, 23), date(2025, 6, 20), False),
        (date(2025, 9, 1), date(2025, 9, 22), None, False),
    ]


def test_working_days_skip_weekends_and_bank_holidays():
    eng = holidays.country_holidays("GB", subdiv="ENG", years=[2025])
    assert working_days_after(date(2025, 5, 2), 1, eng) == date(2025, 5, 6)  # Friday; Monday 5 May a bank holiday
    assert working_days_after(date(2025, 5, 7), 15, eng) == date(2025, 5, 29)  # 26 May a bank holiday


def test_the_checks_report_what_cannot_be_coded_and_never_guess():
    state = empty("c1", "BRM")
    for event in (
        ev("case.opened.v1", "2026-01-01T00:00:00Z", opened_at="2025-06-01T09:00:00Z"),
        ev("referral.received.v1", "2026-01-01T00:00:01Z", received_on="2025-06-01", source="health"),
        ev(
            "plan.created.v1",
            "2026-01-01T00:00:02Z",
            plan_id="p1",
            plan_version=1,
            status="outline",
            created_on="2025-06-20",
            categories=["financial_abuse"],
            initial_categories=["financial_abuse"],
            previous_plans=2,
        ),
    ):
        fold(state, event)
    problems = {(p.severity, p.element) for p in check([state], Year(2026), Deployment(None, CODES))}
    assert problems == {
        ("error", "LEA"),
        ("error", "PersonBirthDate"),
        ("warning", "GenderCurrent"),
        ("warning", "Ethnicity"),
        ("error", "ReferralSource"),
        ("error", "InitialCategoryOfAbuse"),
        ("error", "LatestCategoryOfAbuse"),
    }
    assert [e["start"] for e in episodes_in(state, Year(2026))] == [date(2025, 6, 1)]
