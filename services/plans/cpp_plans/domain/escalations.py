"""An escalation's own work once it is raised (``lifecycle.escalate``): the
referral made to the recipient outside the council its route names (the
Children's Convenor, the Principal Reporter), and the steps its route
declares (England's pre-proceedings under the Public Law Outline: the legal
planning meeting, its decision, the letter before proceedings, the
pre-proceedings meeting), recorded one by one in the route's order.

Each is dated: not in the future and not before the decision to escalate.
Plain Python over the plan document, as the rest of the lifecycle: each
returns the new plan, the escalation as it now is and the events.
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from .lifecycle import Event, InvalidStep, LifecycleError, _iso, _not_in_future, _plan_in_force


def find(plan: dict, escalation_id: str) -> dict | None:
    """The plan's escalation of that id, or None."""
    return next((e for e in plan["escalations"] if e["id"] == escalation_id), None)


def _escalation(plan: dict, escalation_id: str) -> dict:
    escalation = find(plan, escalation_id)
    assert escalation is not None, "the service layer finds the escalation first"
    return escalation


def decided_on(escalation: dict) -> str:
    """The day the decision to escalate was taken; for an escalation recorded before that day was, the day it was
    recorded (the only day it has)."""
    return escalation.get("decided_on") or escalation["raised_on"]


def _not_before_decision(field: str, on: date, escalation: dict) -> None:
    if on < date.fromisoformat(decided_on(escalation)):
        raise InvalidStep({field: [f"is before the decision to escalate, taken on {decided_on(escalation)}"]})


def _about(plan: dict, escalation: dict) -> dict[str, Any]:
    """What every event of an escalation's work says it is about."""
    return {
        "escalation_id": escalation["id"],
        "plan_id": plan["_id"],
        "case_id": plan["case_id"],
        "child_id": plan["child_id"],
        "route": escalation["route"],
        "decided_on": decided_on(escalation),
    }


def record_referral(
    plan: dict,
    escalation_id: str,
    *,
    made_on: date,
    made_to: str,
    how: str | None,
    today: date,
    recorded_by: str,
) -> tuple[dict, dict, list[Event]]:
    """The referral made to the recipient the escalation's route names: to
    whom (``made_to``), when and how. Once per escalation, and only for a
    route with a recipient outside the council."""
    _plan_in_force(plan, "referral")
    escalation = _escalation(plan, escalation_id)
    if not escalation.get("recipient"):
        raise LifecycleError(
            f"the route {escalation['route']!r} has no recipient outside the council: there is no referral to record"
        )
    if escalation.get("referral"):
        raise LifecycleError(f"the referral was recorded already: made on {escalation['referral']['made_on']}")
    _not_in_future("made_on", made_on, today)
    _not_before_decision("made_on", made_on, escalation)
    new = copy.deepcopy(plan)
    changed = _escalation(new, escalation_id)
    changed["referral"] = {"made_on": _iso(made_on), "made_to": made_to, "how": how, "recorded_by": recorded_by}
    event = (
        "escalation.referral_made.v1",
        plan["_id"],
        {**_about(plan, escalation), "made_on": _iso(made_on), "made_to": made_to},
    )
    return new, changed, [event]


def _route_steps(route: dict | None, escalation: dict) -> list[dict]:
    steps = (route or {}).get("steps") or []
    if not steps:
        raise InvalidStep({"step": [f"the route {escalation['route']!r} records no steps"]})
    return steps


def _check_order(steps: list[dict], at: int, escalation: dict) -> None:
    """The step at ``at`` comes after every one before it, each recorded,
    and no earlier decision closed the way to it."""
    recorded = {s["step"]: s for s in escalation.get("steps") or []}
    step = steps[at]
    if step["id"] in recorded:
        raise LifecycleError(f"{step['name']} was recorded already, on {recorded[step['id']]['on']}")
    for before in steps[:at]:
        done = recorded.get(before["id"])
        if done is None:
            raise LifecycleError(f"{before['name']} comes before {step['name']}: record it first")
        carries_on = before.get("continues_on")
        if carries_on and done.get("outcome") != carries_on:
            raise LifecycleError(
                f"{before['name']} decided {done.get('outcome')!r}: the route's steps end there, "
                f"{step['name']} follows only {carries_on!r}"
            )


def _check_outcome(step: dict, outcome: str | None) -> None:
    outcomes = [o["id"] for o in step.get("outcomes") or []]
    if outcomes and outcome not in outcomes:
        raise InvalidStep({"outcome": [f"{step['name']} needs its outcome: one of {', '.join(outcomes)}"]})
    if not outcomes and outcome is not None:
        raise InvalidStep({"outcome": [f"{step['name']} has no outcome"]})


def record_step(
    plan: dict,
    escalation_id: str,
    *,
    step: str,
    on: date,
    outcome: str | None,
    notes: str | None,
    routes: list[dict],
    today: date,
    recorded_by: str,
) -> tuple[dict, dict, list[Event]]:
    """One of the steps the escalation's route declares (``routes``: the
    deployment's), in the route's order: each after the one before it, on
    a day not in the future, not before the decision to escalate and not
    before the step it follows."""
    _plan_in_force(plan, "escalation step")
    escalation = _escalation(plan, escalation_id)
    route = next((r for r in routes if r["id"] == escalation["route"]), None)
    steps = _route_steps(route, escalation)
    ids = [s["id"] for s in steps]
    if step not in ids:
        raise InvalidStep({"step": [f"the route {escalation['route']!r} has the steps {', '.join(ids)}, not {step!r}"]})
    at = ids.index(step)
    _check_order(steps, at, escalation)
    _check_outcome(steps[at], outcome)
    _not_in_future("on", on, today)
    _not_before_decision("on", on, escalation)
    if at and escalation.get("steps"):
        last = max(s["on"] for s in escalation["steps"])
        if _iso(on) < last:
            raise InvalidStep({"on": [f"is before the step it follows, recorded on {last}"]})
    record = {
        "step": step,
        "name": steps[at]["name"],
        "on": _iso(on),
        "outcome": outcome,
        "notes": notes,
        "recorded_by": recorded_by,
    }
    new = copy.deepcopy(plan)
    changed = _escalation(new, escalation_id)
    changed.setdefault("steps", []).append(record)
    event = (
        "escalation.step_recorded.v1",
        plan["_id"],
        {**_about(plan, escalation), "step": step, "name": record["name"], "on": record["on"], "outcome": outcome},
    )
    return new, changed, [event]
