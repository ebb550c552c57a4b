"""What the scheduler writes for people, in the deployment's words (``cpp_terminology``): ``cpp rules``, a
deadline's timescale and a plan's calendar. Scotland holds child protection planning meetings after a child
protection investigation, Wales keeps care and support protection plans, Northern Ireland holds child protection
case conferences; England keeps its short forms ("the initial conference")."""

from __future__ import annotations

from datetime import UTC

import pytest
from icalendar import Calendar

from cpp_scheduler.domain import ics, words
from cpp_scheduler.domain.rules import effective_rules
from cpp_shared.plugins import Plugins
from cpp_shared.terminology import terminology
from tests.unit.test_rules_command import _literals, _rows, _table


def _when(plugins: str) -> dict[str, str]:
    """Each step's "When" cell, by step (a line wrapped after a hyphen joined back: "transfer-in")."""
    return {row["Step"]: row["When"].replace("transfer- in", "transfer-in") for row in _rows(_table(plugins))}


def test_scotlands_table_says_planning_meetings_the_investigation_and_the_core_group_in_its_words():
    output = _table("scotland")
    when = _when("scotland")
    initial = when["Initial child protection planning meeting (CPPM)"]
    assert "Not needed when the child protection investigation is completed with no child protection planning " in (
        initial
    )
    assert "Starts when a strategy discussion is held that starts a child protection investigation about" in initial
    first_core_group = when["First child protection core group meeting"]
    assert first_core_group.startswith(
        "15 working days after the initial or transfer-in child protection planning meeting."
    )
    assert "Done when a child protection core group meeting is held." in first_core_group
    review = when["Review child protection planning meeting"]
    assert review.startswith("6 months after the review child protection planning meeting. Starts when a review ")
    text = " ".join(output.split())
    assert "section 47" not in text and "child protection conference" not in text and "enquiries" not in text
    assert "conference" not in text.lower(), "Scotland holds meetings: no step, role or trigger says conference"
    whom = {row["Step"]: row["By whom"] for row in _rows(output)}
    assert whom["Review child protection planning meeting"] == "Child protection planning meeting chair"
    assert _literals(output) == []


def test_northern_irelands_table_says_child_protection_case_conferences_after_an_investigation():
    when = _when("northern_ireland")
    initial = when["Initial child protection case conference (timescale unverified: a date is needed)"]
    assert "Starts when a strategy discussion is held that starts a child protection investigation." in initial
    assert "Done when an initial child protection case conference is held." in initial
    review = when["First review child protection case conference"]
    assert review.startswith("3 months after the initial or transfer-in child protection case conference.")
    text = " ".join(_table("northern_ireland").split())
    assert "section 47" not in text and "child protection conference" not in text
    assert "Starts when a strategy discussion is held that starts enquiries" not in text


def test_wales_table_names_the_care_and_support_protection_plan():
    when = _when("wales")
    review = when["First review child protection conference"]
    assert "held that decides the child needs a care and support protection plan." in review
    assert "needs a plan." not in " ".join(when.values())


@pytest.mark.parametrize(
    "deployment, event, when, said",
    [
        ("wales", "plan.created.v1", {}, "a care and support protection plan begins"),
        ("wales", "plan.ended.v1", {}, "the care and support protection plan ends"),
        ("scotland", "conference.held.v1", {"kind": "initial"}, "an initial child protection planning meeting is held"),
        ("scotland", "core_group.held.v1", {}, "a child protection core group meeting is held"),
        ("scotland", "enquiry.completed.v1", {}, "the child protection investigation is completed"),
        (
            "northern_ireland",
            "conference.held.v1",
            {"kind": "review"},
            "a review child protection case conference is held",
        ),
        ("guernsey", "enquiry.completed.v1", {}, "the section 35 enquiries are completed"),
        ("england", "conference.held.v1", {"kind": "initial"}, "an initial conference is held"),
        ("england", "plan.created.v1", {}, "a plan begins"),
        ("england", "enquiry.completed.v1", {}, "the enquiries are completed"),
        ("england", "core_group.held.v1", {}, "a core group meeting is held"),
    ],
)
def test_an_event_is_said_in_the_deployments_words(deployment, event, when, said):
    assert words.happening(event, when, terms=terminology(Plugins([deployment]))) == said


def test_a_scottish_deadlines_timescale_counts_from_the_planning_meeting():
    rules = {r.id: r for r in effective_rules(Plugins(["scotland"]))}
    assert rules["first-core-group"].timescale() == (
        "15 working days after the initial or transfer-in child protection planning meeting"
    )
    england = {r.id: r for r in effective_rules(Plugins(["england"]))}
    assert england["first-review-conference"].timescale() == "3 months after the initial or transfer-in conference"


def _calendar(deployment: str) -> Calendar:
    meetings = [
        {"_id": "m1", "kind": "initial_conference", "on": "2026-05-18", "status": "held"},
        {"_id": "m2", "kind": "core_group", "on": "2026-06-01"},
    ]
    body = ics.plan_calendar(
        "plan-1", [], meetings, authority="X", tz=UTC, child="Ana", terms=terminology(Plugins([deployment]))
    )
    return Calendar.from_ical(body)


def test_a_plans_calendar_names_its_meetings_and_the_plan_in_the_deployments_words():
    scotland = _calendar("scotland")
    summaries = [str(e["summary"]) for e in scotland.walk("VEVENT")]
    assert summaries == [
        "Initial child protection planning meeting: Ana (held)",
        "Child protection core group meeting: Ana",
    ]
    assert str(_calendar("wales")["x-wr-calname"]) == "Care and support protection plan for Ana (X)"
    england = _calendar("england")
    assert str(england["x-wr-calname"]) == "Child protection plan for Ana (X)"
    assert [str(e["summary"]) for e in england.walk("VEVENT")] == [
        "Initial child protection conference: Ana (held)",
        "Core group meeting: Ana",
    ]
