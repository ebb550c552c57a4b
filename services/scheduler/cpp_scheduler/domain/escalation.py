"""An overdue step escalates: to the case's team manager after a grace
period, then to a service manager after a second one.

The periods are working days, from the authority plugin's
``overdue_escalation_working_days`` (``{"team_manager": 2,
"service_manager": 5}``: the first counted from the day the tick found the
step overdue, when its people were told, the second from the first
escalation); the platform's default,
when the plugin says nothing, is the same 2 and 5. No national guidance
sets these figures: they are the platform's, and a council states its own.

Who is told at each level:

- ``team_manager``: the case's team manager, else the team manager of the
  person who must act (their ``manager`` in the staff directory);
- ``service_manager``: the manager of that team manager in the staff
  directory (a team manager's ``manager`` is their service manager).

Nobody found is still an escalation: the event names nobody, and the
notify service reports that nobody could be told.

The deadline keeps each escalation (``escalations``, every one, oldest
first), the levels reached since it last went overdue (``escalated_to``:
a step given a new date and overdue again starts at the team manager) and
the day of the next (``escalate_on``), which is also the day the tick next
looks at it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from .calendar import WorkingCalendar

SETTING = "overdue_escalation_working_days"
LEVELS = ("team_manager", "service_manager")
DEFAULT = {"team_manager": 2, "service_manager": 5}


def periods(authority: dict[str, Any]) -> dict[str, int]:
    """The grace periods, in working days, for each level: the plugin's
    (checked as the plugins load: ``cpp_shared.contracts.hook_answers``),
    else the platform's default."""
    given = authority.get(SETTING) or {}
    return {level: given.get(level, DEFAULT[level]) for level in LEVELS}


def schedule_first(doc: dict[str, Any], today: date, cal: WorkingCalendar, grace: dict[str, int]) -> None:
    """A step found overdue today: the day it escalates to the team manager."""
    doc["escalations"] = list(doc.get("escalations") or [])
    doc["escalated_to"] = []
    doc["escalate_on"] = cal.add_working_days(today, grace["team_manager"]).isoformat()
    doc["next_check_on"] = doc["escalate_on"]


def due(doc: dict[str, Any], today: date) -> str | None:
    """The level an overdue step escalates to today, or None."""
    if doc["status"] != "overdue" or not doc.get("escalate_on") or today.isoformat() < doc["escalate_on"]:
        return None
    done = len(doc.get("escalated_to") or [])
    return LEVELS[done] if done < len(LEVELS) else None


def escalate(
    doc: dict[str, Any],
    level: str,
    to: dict[str, Any] | None,
    today: date,
    cal: WorkingCalendar,
    grace: dict[str, int],
    now: str,
) -> dict[str, Any]:
    """The deadline escalated to ``level`` (to the person ``to``, or nobody
    found), with the day of the next level, if any."""
    new = {**doc, "changed_at": now}
    step = {"level": level, "to": to, "on": today.isoformat(), "grace_working_days": grace[level], "at": now}
    new["escalations"] = [*(doc.get("escalations") or []), step]
    new["escalated_to"] = [*(doc.get("escalated_to") or []), level]
    later = LEVELS[len(new["escalated_to"])] if len(new["escalated_to"]) < len(LEVELS) else None
    new["escalate_on"] = cal.add_working_days(today, grace[later]).isoformat() if later else None
    new["next_check_on"] = new["escalate_on"]
    return new


def person(level: str, case: dict[str, Any] | None, assignee: dict[str, Any] | None, directory) -> dict | None:
    """Who an escalation to ``level`` goes to (a ``{user, name}``), or None.
    ``directory(user)`` is the staff directory's entry for a user id."""
    team_manager = (case or {}).get("team_manager")
    if not team_manager and assignee and assignee.get("user"):
        team_manager = _ref((directory(assignee["user"]) or {}).get("manager"), directory)
    if level == "team_manager":
        return team_manager
    if not team_manager:
        return None
    return _ref((directory(team_manager["user"]) or {}).get("manager"), directory)


def _ref(user: str | None, directory) -> dict[str, Any] | None:
    if not user:
        return None
    return {"user": user, "name": (directory(user) or {}).get("name") or None}
