"""Closing a case (domain/closure.py): with its plan, conferences and child
in need plans as stored, at the version its caller read."""

from __future__ import annotations

from datetime import date

from cpp_shared import staff
from cpp_shared.auth import Principal

from ..domain import closure
from ..store import CASES, CHILD_IN_NEED_PLANS, CONFERENCES, PLANS
from .cases import _save_case
from .common import Deployment, load


def close_case(
    deps: Deployment,
    case_id: str,
    *,
    closed_on: date,
    reason: str,
    notes: str | None,
    expected_version: int,
    today: date,
    actor: Principal,
) -> dict:
    """Returns the case as saved."""
    case = load(deps, CASES, case_id, "case", at=expected_version)
    plan = deps.store.collection(PLANS).find_one({"_id": case["plan_id"]}) if case.get("plan_id") else None
    after, events = closure.close_case(
        case,
        closed_on=closed_on,
        reason=reason,
        notes=notes,
        today=today,
        by=staff.ref(deps.store, actor.user) or {"user": actor.user, "name": staff.UNNAMED},
        plan=plan,
        conferences=deps.store.collection(CONFERENCES).find({"case_id": case_id}),
        child_in_need_plans=deps.store.collection(CHILD_IN_NEED_PLANS).find({"case_id": case_id}),
    )
    return _save_case(deps, actor, case, after, events, "close_case")
