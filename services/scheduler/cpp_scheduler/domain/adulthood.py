"""A plan ends when its child is 18: the platform's own deadline asking the
team manager to confirm it.

No council's rule says when a child is 18, and no event arrives on the
birthday, so the tick asks: for each plan in force whose child (as the
children projection knows them) is 18 today or earlier, one deadline
``plan-ends-at-18``, owned by the team manager and due on the birthday. The
manager confirms by ending the plan (``reason: reached_18``), whose
``plan.ended.v1`` meets it like any rule's deadline.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from .calendar import WorkingCalendar
from .deadlines import Scope, new_deadline, schedule
from .rules import Rule

RULE_ID = "plan-ends-at-18"
IN_FORCE = ("outline", "active")

AGE_RULE = Rule(
    id=RULE_ID,
    name="Confirm the plan ends: the child is 18",
    triggers=(),
    when={},
    anchor="child.date_of_birth",
    key=None,
    offset=None,
    deadline="plan_ends_at_18",
    owner="team_manager",
    met_by=("plan.ended.v1",),
    met_when={},
    met_on="ended.on",
    cancelled_by=(),
    recurrence=None,
    reminder_days=0,
    source="A child protection plan ends when the child reaches 18: the team manager ends it (reason reached_18).",
    plugin="platform",
)


def eighteenth_birthday(born: date) -> date:
    """The day a child turns 18 (1 March for a child born on 29 February)."""
    try:
        return born.replace(year=born.year + 18)
    except ValueError:
        return date(born.year + 18, 3, 1)


def adult_on(child: dict[str, Any] | None) -> date | None:
    """The child's 18th birthday, from the projection's date of birth; None when not known."""
    born = (child or {}).get("date_of_birth")
    try:
        return eighteenth_birthday(date.fromisoformat(born[:10])) if isinstance(born, str) else None
    except ValueError:
        return None


def confirmation(
    scope: Scope, birthday: date, cal: WorkingCalendar, *, created_at: str, today: date
) -> dict[str, Any] | None:
    """The deadline asking the manager to end the plan of a child who is 18
    on ``birthday``; None before that day."""
    if birthday > today:
        return None
    doc = new_deadline(
        AGE_RULE,
        scope,
        cal,
        anchor=birthday,
        key=None,
        trigger={"event_id": None, "type": "tick", "time": created_at},
        occurrence=1,
        created_at=created_at,
    )
    doc["explanation"] = {"timescale": "on the child's 18th birthday", "computations": []}
    schedule(doc, 0, cal, birthday, birthday)
    # One per plan, whoever makes it: a second tick (another replica, a lease that lapsed) makes the same id,
    # which the store refuses as a duplicate.
    doc["_id"] = uuid.uuid5(uuid.NAMESPACE_URL, f"cpp:{RULE_ID}:{scope.plan_id}").hex
    return doc
