"""A plan's rhythm: how often the child is visited (and seen alone) and the core group meets. The contract's checks
of the rules the plan sets (``plan_sets``, ``seen_alone_within``), the deployment's defaults and limits as the
plans service reads them, a stated rhythm checked against them, the scheduler's recurrence at the plan's frequency
from the last visit at which the child was seen, and the run of visits without the child seen alone."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from cpp_plans.api.plan_schemas import PlanContentSchema
from cpp_plans.domain import plan_content
from cpp_plans.domain.lifecycle import not_alone_run
from cpp_scheduler.domain.calendar import WorkingCalendar
from cpp_scheduler.domain.deadlines import Scope, on_event
from cpp_scheduler.domain.rules import effective_rules
from cpp_shared.contracts.timescales import RuleError, looser_than, parse_rule, timescale_rules
from cpp_shared.plugins import Plugins

ENG = WorkingCalendar("GB", "ENG")
VISITS = {
    "id": "child-visit",
    "plugin": "test",
    "name": "Child seen on a visit",
    "trigger": "plan.created.v1",
    "anchor": "created_on",
    "offset": {"amount": 10, "unit": "working_days"},
    "deadline": "child_visit",
    "owner": "social_worker",
    "met_by": "visit.recorded.v1",
    "met_when": {"child_seen": True},
    "met_on": "visited_on",
    "recurrence": {"every": {"min": 10, "max": 10, "unit": "working_days"}},
    "plan_sets": "visits",
    "source": "test (U)",
}


# --- the contract ---


@pytest.mark.parametrize(
    "changes, field, problem",
    [
        ({"plan_sets": "reviews"}, "plan_sets", "must be one of visits, core_group"),
        ({"seen_alone_within": 0}, "seen_alone_within", ">= 1"),
        ({"plan_sets": "core_group", "seen_alone_within": 3}, "seen_alone_within", "plan_sets: visits"),
        (
            {"trigger": "conference.held.v1", "anchor": "held_on", "offset": None, "recurrence": None},
            "offset",
            "needs a first timescale",
        ),
    ],
)
def test_a_rule_the_plan_sets_that_could_not_be_applied_is_refused_naming_the_field(changes, field, problem):
    with pytest.raises(RuleError, match=f"timescale rule 'child-visit', field '{field}'") as caught:
        parse_rule({**VISITS, **changes})
    assert problem in str(caught.value)


def test_a_step_the_plans_own_event_starts_may_leave_its_frequency_to_the_plan():
    rule = parse_rule({**VISITS, "offset": None, "recurrence": None})
    assert rule.first_counts_at_plan_frequency() and rule.loosest() is None


@pytest.mark.parametrize(
    "count, limit, looser",
    [
        ((10, "working_days"), (10, "working_days"), False),
        ((11, "working_days"), (10, "working_days"), True),
        ((2, "weeks"), (10, "working_days"), True),  # 14 days can hold 10 working days and a bank holiday
        ((1, "weeks"), (10, "working_days"), False),
        ((1, "months"), (6, "weeks"), False),
        ((7, "weeks"), (6, "weeks"), True),
        ((2, "months"), (9, "weeks"), False),  # at most 62 days, never after 63
        ((3, "months"), (12, "weeks"), True),
    ],
)
def test_a_frequency_is_looser_than_a_limit_when_it_can_fall_after_it(count, limit, looser):
    assert looser_than(count, limit) is looser


# --- the deployment's defaults and limits ---


def rhythm_of(*plugins: str) -> dict[str, Any]:
    return plan_content.rules_rhythm(timescale_rules(Plugins(list(plugins))))


def test_each_deployment_gives_its_defaults_and_limits_with_their_sources():
    england = rhythm_of("england")
    assert england["visits"]["default"] == england["visits"]["limit"] == {"every": 10, "unit": "working_days"}
    assert (england["core_group"]["default"], england["core_group"]["limit"]) == (
        {"every": 4, "unit": "weeks"},
        {"every": 6, "unit": "weeks"},
    )
    assert england["seen_alone"]["limit"] == {"every": 3, "unit": "visits"}
    assert rhythm_of("england", "bromley")["seen_alone"]["limit"] == {"every": 2, "unit": "visits"}
    greenwich = rhythm_of("england", "greenwich")["core_group"]
    assert (greenwich["default"], greenwich["limit"]) == ({"every": 6, "unit": "weeks"}, {"every": 9, "unit": "weeks"})
    wales = rhythm_of("wales")["core_group"]
    assert (wales["default"], wales["limit"]) == ({"every": 1, "unit": "months"}, {"every": 6, "unit": "weeks"})
    guernsey = rhythm_of("guernsey")
    assert guernsey["visits"]["limit"] is None and guernsey["core_group"]["limit"] is None  # as the plan specifies
    assert "seen_alone" not in guernsey


def limits(*plugins: str) -> dict[str, Any]:
    return {item: {**d["limit"], "source": d["source"]} for item, d in rhythm_of(*plugins).items() if d["limit"]}


def errors(rhythm: dict[str, Any], limits: dict[str, Any]) -> dict[str, Any]:
    return plan_content.rhythm_errors(rhythm, limits, looser_than)


def test_a_rhythm_within_the_limits_passes_and_one_looser_names_the_limit_and_its_source():
    wales = limits("wales")
    assert errors({"core_group": {"every": 1, "unit": "months"}}, wales) == {}
    assert errors({"core_group": {"every": 42, "unit": "days"}}, wales) == {}
    [message] = errors({"core_group": {"every": 2, "unit": "months"}}, wales)["core_group"]
    assert message.startswith("Every 2 months is looser than the limit, every 6 weeks (source: ")
    assert "no more than at 6 weekly intervals" in message
    england = limits("england")
    assert errors({"seen_alone": {"every": 3, "unit": "visits"}}, england) == {}
    assert set(errors({"seen_alone": {"every": 4, "unit": "visits"}}, england)) == {"seen_alone"}
    assert errors({"visits": {"every": 3, "unit": "weeks"}}, limits("guernsey")) == {}


def test_the_plan_content_holds_a_rhythm_in_its_own_shape():
    rhythm = {
        "visits": {"every": 10, "unit": "working_days"},
        "seen_alone": {"every": 2, "unit": "visits"},
        "core_group": {"every": 6, "unit": "weeks"},
    }
    assert PlanContentSchema().load({"rhythm": rhythm})["rhythm"] == rhythm
    for bad, field in [
        ({"visits": {"every": 10, "unit": "fortnights"}}, "unit"),
        ({"visits": {"every": 0, "unit": "weeks"}}, "every"),
        ({"seen_alone": {"every": 2, "unit": "weeks"}}, "unit"),
        ({"reviews": {"every": 2, "unit": "weeks"}}, None),
    ]:
        with pytest.raises(ValidationError) as caught:
            PlanContentSchema().load({"rhythm": bad})
        [item] = caught.value.messages["rhythm"]
        assert field is None or field in caught.value.messages["rhythm"][item]


# --- the scheduler: the plan's frequency from the last visit at which the child was seen ---


class Case:
    """One England case's visits, each event through the scheduler's ``on_event``."""

    def __init__(self, rhythm: dict[str, Any]):
        self.rules = [r for r in effective_rules(Plugins(["england"])) if r.id == "child-visit"]
        self.rhythm, self.deadlines, self.sent = rhythm, {}, 0

    def send(self, etype: str, **data: Any) -> None:
        self.sent += 1
        event = {"id": f"e{self.sent}", "type": etype, "time": "2026-01-05T09:00:00Z", "data": data}
        if "content" in data:
            self.rhythm = data["content"].get("rhythm") or {}
        changes = on_event(
            event,
            Scope("ENG", "c1", "p1", "child-1"),
            self.rules,
            list(self.deadlines.values()),
            ENG,
            now="2026-01-05T09:00:00Z",
            rhythm=self.rhythm,
        )
        for doc in changes.inserts:
            self.deadlines[doc["_id"]] = {**doc, "version": 1}
        for doc, version in changes.replaces:
            self.deadlines[doc["_id"]] = {**doc, "version": version + 1}

    def open(self) -> dict[str, Any]:
        [doc] = [d for d in self.deadlines.values() if d["status"] in ("pending", "approaching", "overdue")]
        return doc


FREQUENCIES = st.sampled_from(
    [(5, "working_days"), (10, "working_days"), (1, "weeks"), (2, "weeks"), (14, "days"), (1, "months")]
)
UNITS = {"days": "calendar_days"}


@settings(max_examples=60, deadline=None)
@given(
    start=st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31)),
    frequency=FREQUENCIES,
    visits=st.lists(st.tuples(st.integers(min_value=1, max_value=40), st.booleans()), min_size=1, max_size=6),
)
def test_each_next_visit_is_due_one_frequency_after_the_last_visit_at_which_the_child_was_seen(
    start, frequency, visits
):
    every, unit = frequency
    case = Case({"visits": {"every": every, "unit": unit}})
    case.send("plan.created.v1", plan_id="p1", created_on=start.isoformat(), content={"rhythm": case.rhythm})
    counted = UNITS.get(unit, unit)
    assert case.open()["due_on"] == ENG.due_date(start, every, counted).due.isoformat()
    last_seen, day = start, start
    for gap, seen in visits:
        day += timedelta(days=gap)
        case.send("visit.recorded.v1", visit_id=f"v{gap}", visited_on=day.isoformat(), child_seen=seen)
        if seen:
            last_seen = day
        doc = case.open()
        assert doc["anchor"]["date"] == last_seen.isoformat()
        assert doc["due_on"] == doc["latest_on"] == ENG.due_date(last_seen, every, counted).due.isoformat()


def test_without_a_stated_frequency_the_rules_default_counts_and_a_stated_one_re_dates_the_open_visit():
    case = Case({})
    case.send("plan.created.v1", plan_id="p1", created_on="2026-05-18", content={})
    # Mon 18 May 2026 + 10 working days, the Spring bank holiday (25 May) skipped: Tue 2 June.
    first = case.open()
    assert (first["due_on"], first["frequency"]) == ("2026-06-02", None)
    case.send("plan.activated.v1", plan_id="p1", content={"rhythm": {"visits": {"every": 5, "unit": "working_days"}}})
    # + 5 working days: Tue 26 May.
    redated = case.open()
    assert (redated["due_on"], redated["supersedes"], redated["sequence"]) == ("2026-05-26", first["_id"], 1)
    assert case.deadlines[first["_id"]]["status"] == "superseded"
    case.send(
        "plan.version_agreed.v1", plan_id="p1", content={"rhythm": {"visits": {"every": 5, "unit": "working_days"}}}
    )
    assert case.open()["_id"] == redated["_id"]  # the same frequency: nothing moves
    case.send("plan.version_agreed.v1", plan_id="p1", content={})  # none stated again: the rule's default
    assert case.open()["due_on"] == "2026-06-02"


# --- seen alone ---


def visit(on: str, alone: bool) -> dict[str, Any]:
    return {"visited_on": on, "seen_alone": alone}


def test_the_run_without_the_child_seen_alone_is_counted_back_from_the_latest_visit_by_date():
    visits = [visit("2026-05-01", False), visit("2026-05-08", True), visit("2026-05-15", False)]
    assert not_alone_run(visits) == [visits[2]]
    late = visit("2026-05-10", False)  # recorded late, for a day after the last seen alone
    assert not_alone_run([*visits, late]) == [late, visits[2]]
    assert not_alone_run([*visits, visit("2026-05-20", True)]) == []


def test_an_ended_plan_cancels_its_open_visit_and_opens_no_next_one():
    case = Case({"visits": {"every": 5, "unit": "working_days"}})
    case.send("plan.created.v1", plan_id="p1", created_on="2026-05-18", content={"rhythm": case.rhythm})
    visit = case.open()
    case.send("plan.ended.v1", plan_id="p1", ended={"on": "2026-05-20", "reason": "review_conference"})
    assert case.deadlines[visit["_id"]]["status"] == "cancelled"
    case.send("visit.recorded.v1", visit_id="v1", visited_on="2026-05-21", child_seen=True)
    assert [d for d in case.deadlines.values() if d["status"] in ("pending", "approaching", "overdue")] == []


def test_a_guernsey_plan_that_stops_stating_its_core_groups_leaves_the_next_one_needing_a_date():
    case = Case({"core_group": {"every": 4, "unit": "weeks"}})
    case.rules = [r for r in effective_rules(Plugins(["guernsey"])) if r.id == "first-core-group"]
    case.send("conference.held.v1", kind="initial", plan_required=True, held_on="2026-05-18")
    case.send("core_group.held.v1", held_on="2026-05-26")
    # Tue 26 May 2026 + 4 weeks: Tue 23 June.
    assert (case.open()["occurrence"], case.open()["due_on"]) == (2, "2026-06-23")
    case.send("plan.version_agreed.v1", plan_id="p1", content={})
    later = case.open()
    assert (later["occurrence"], later["needs_date"], later["due_on"]) == (2, True, None)
