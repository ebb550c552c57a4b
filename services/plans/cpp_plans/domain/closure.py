"""Closing a case: the day the council's work with the child ended, and why,
in the census's words (census.CLOSURE_REASONS, RC1-RC9).

A case is closed once, by a social worker or team manager, on a day not in
the future and not before the case's latest recorded step (its referral,
the decision and the assessment, a strategy discussion, the enquiries'
outcome, a conference held, the plan's start and end, the step-down, a child
in need plan). It is refused while a plan is in force (end the plan first)
or a conference is scheduled (hold it or cancel it first). A closed case is
no longer open: every other step on it is refused (``check_not_closed``),
and the child's next referral opens a new case.

A case also closes without this step: a referral decided with no enquiries,
an assessment that leads to none, a plan ended otherwise than at a review.
Those closures keep their own reason (referral_<decision>,
assessment_<outcome>) or none (the plan's ending says how).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import date
from typing import Any

from .census import CLOSURE_REASONS
from .lifecycle import Event, InvalidStep, LifecycleError, Person


def check_not_closed(case: dict) -> None:
    """A LifecycleError (409) for a step on a case closed by its closure step
    (a case closed otherwise is refused by each step's own rules, which say
    why: the referral's decision, the plan's ending)."""
    closure = case.get("closure") or {}
    if case.get("status") == "closed" and closure.get("by"):
        label = CLOSURE_REASONS.get(closure.get("reason") or "", closure.get("reason"))
        raise LifecycleError(
            f"the case was closed on {closure['on']} ({closure.get('reason')}: {label}): a closed case takes no "
            "more steps; the child's next referral opens a new case"
        )


def latest_step(
    case: dict,
    *,
    conferences: Iterable[dict] = (),
    plan: dict | None = None,
    child_in_need_plans: Iterable[dict] = (),
) -> tuple[str, str] | None:
    """The day of the case's latest recorded step and what it was, or None for a case with none."""
    steps: list[tuple[str | None, str]] = []
    referral = case.get("referral") or {}
    steps.append((referral.get("received_on"), "the referral was received"))
    steps.append(((referral.get("decision") or {}).get("decided_on"), "the referral was decided on"))
    assessment = case.get("assessment") or {}
    steps.append((assessment.get("started_on"), "the assessment started"))
    steps.append(((assessment.get("completion") or {}).get("completed_on"), "the assessment was completed"))
    steps += [(d.get("held_on"), "a strategy discussion was held") for d in case.get("strategy_discussions") or []]
    steps.append(((case.get("enquiry_outcome") or {}).get("completed_on"), "the enquiries were completed"))
    steps += [
        ((c.get("outcome") or {}).get("held_on"), "a conference was held") for c in conferences if c["status"] == "held"
    ]
    if plan is not None:
        steps.append((plan.get("created_on"), "the plan began"))
        steps.append(((plan.get("ended") or {}).get("on"), "the plan ended"))
    steps.append(((case.get("step_down") or {}).get("decided_on"), "the step-down was decided"))
    steps += [(c.get("created_on"), "a child in need plan was made") for c in child_in_need_plans]
    steps.append(((case.get("transfer_in") or {}).get("notified_on"), "the move here was notified"))
    dated = [(on, what) for on, what in steps if on]
    return max(dated, key=lambda s: s[0]) if dated else None


def close_case(
    case: dict,
    *,
    closed_on: date,
    reason: str,
    notes: str | None,
    today: date,
    by: Person,
    plan: dict | None = None,
    conferences: Iterable[dict] = (),
    child_in_need_plans: Iterable[dict] = (),
) -> tuple[dict, list[Event]]:
    """Close the case ``closed_on`` for the census's ``reason`` (RC1-RC9).
    ``plan`` is the case's plan (if any), ``conferences`` its conferences and
    ``child_in_need_plans`` its child in need plans, as stored. Returns the
    case and ``case.closed.v1``."""
    conferences = list(conferences)
    check_not_closed(case)
    if case["status"] == "closed":
        on = (case.get("closure") or {}).get("on")
        raise LifecycleError(f"the case was closed on {on}" if on else "the case is closed: its plan ended")
    if plan is not None and plan.get("status") != "ended":
        raise LifecycleError(
            f"the case has a plan in force (since {plan.get('created_on')}): end the plan before closing the case"
        )
    scheduled = [c for c in conferences if c.get("status") == "scheduled"]
    if scheduled or any(c.get("status") == "scheduled" for c in case.get("conferences") or []):
        when = f" for {scheduled[0]['scheduled_for']}" if scheduled and scheduled[0].get("scheduled_for") else ""
        raise LifecycleError(f"a conference is scheduled{when}: hold it or cancel it before closing the case")
    if reason not in CLOSURE_REASONS:
        raise InvalidStep({"reason": [f"must be one of {', '.join(CLOSURE_REASONS)}"]})
    if closed_on > today:
        raise InvalidStep({"closed_on": [f"{closed_on.isoformat()} is in the future; close the case once it ends"]})
    latest = latest_step(case, conferences=conferences, plan=plan, child_in_need_plans=child_in_need_plans)
    if latest is not None and closed_on.isoformat() < latest[0]:
        raise InvalidStep({"closed_on": [f"is before the case's latest step: {latest[1]} on {latest[0]}"]})
    cleaned = notes.strip() if isinstance(notes, str) else None
    new: dict[str, Any] = copy.deepcopy(case)
    new["status"] = "closed"
    new["closure"] = {"on": closed_on.isoformat(), "reason": reason, "notes": cleaned or None, "by": by}
    data = {
        "case_id": case["_id"],
        "child_id": case["child_id"],
        "closed_on": closed_on.isoformat(),
        "reason": reason,
        "by": by,
    }
    return new, [("case.closed.v1", case["_id"], data)]
