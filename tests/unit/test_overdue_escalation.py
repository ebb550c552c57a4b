"""An overdue step's escalation, day by day: to the team manager after the
authority's grace period counted from the day the tick found it overdue,
then to the service manager (the team manager's manager), then no more;
England's periods are the platform's default, stated in its plugin."""

from __future__ import annotations

from datetime import date

from cpp_scheduler.domain import escalation
from cpp_scheduler.domain.calendar import WorkingCalendar
from cpp_shared.plugins import Plugins

ENG = WorkingCalendar("GB", "ENG")
DIRECTORY = {
    "sw-1": {"name": "Sam Social", "manager": "tm-2"},
    "tm-1": {"name": "Terry Manager", "manager": "sm-1"},
    "tm-2": {"name": "Tia Manager", "manager": None},
    "sm-1": {"name": "Val Service"},
}


def test_england_states_the_platforms_default_and_a_council_may_state_its_own():
    authority = Plugins(["england"]).authority()
    assert escalation.periods(authority) == {"team_manager": 2, "service_manager": 5} == escalation.DEFAULT
    assert "(U)" in authority["overdue_escalation_working_days"]["source"]
    assert escalation.periods({"overdue_escalation_working_days": {"team_manager": 1}}) == {
        "team_manager": 1,
        "service_manager": 5,
    }
    assert escalation.periods({}) == escalation.DEFAULT


def test_team_manager_after_the_grace_period_then_service_manager_then_no_more():
    grace = {"team_manager": 2, "service_manager": 5}
    found_overdue = date(2026, 12, 24)  # Thursday: Christmas and Boxing Day (its Monday substitute) are not counted
    doc = {"status": "overdue", "overdue_on": "2026-12-01"}
    escalation.schedule_first(doc, found_overdue, ENG, grace)
    assert doc["escalate_on"] == "2026-12-30" == doc["next_check_on"] and doc["escalations"] == []
    assert escalation.due(doc, date(2026, 12, 29)) is None
    assert escalation.due(doc, date(2026, 12, 30)) == "team_manager"
    first = escalation.escalate(
        doc, "team_manager", {"user": "tm-1", "name": "Terry Manager"}, date(2026, 12, 30), ENG, grace, "t1"
    )
    assert first["escalate_on"] == "2027-01-07"  # five working days on, New Year's Day not counted
    assert escalation.due(first, date(2027, 1, 6)) is None
    assert escalation.due(first, date(2027, 1, 7)) == "service_manager"
    second = escalation.escalate(first, "service_manager", None, date(2027, 1, 7), ENG, grace, "t2")
    assert [s["level"] for s in second["escalations"]] == ["team_manager", "service_manager"]
    assert second["escalate_on"] is None and second["next_check_on"] is None
    assert escalation.due(second, date(2027, 6, 1)) is None
    assert escalation.due({**first, "status": "met"}, date(2027, 1, 7)) is None  # done: no escalation
    # Given a new date and overdue again: the team manager first again, the earlier escalations kept.
    again = {**second, "status": "overdue"}
    escalation.schedule_first(again, date(2027, 2, 1), ENG, grace)
    assert escalation.due(again, date(2027, 2, 3)) == "team_manager" and len(again["escalations"]) == 2


def test_the_people_are_the_case_team_manager_and_their_manager():
    def directory(user):
        return DIRECTORY.get(user)

    case = {"team_manager": {"user": "tm-1", "name": "Terry Manager"}}
    assignee = {"user": "sw-1", "name": "Sam Social"}
    assert escalation.person("team_manager", case, assignee, directory) == {"user": "tm-1", "name": "Terry Manager"}
    assert escalation.person("service_manager", case, assignee, directory) == {"user": "sm-1", "name": "Val Service"}
    # A case with no team manager: the assignee's manager; nobody above them: nobody.
    assert escalation.person("team_manager", {}, assignee, directory) == {"user": "tm-2", "name": "Tia Manager"}
    assert escalation.person("service_manager", {}, assignee, directory) is None
    assert escalation.person("team_manager", {}, None, directory) is None
