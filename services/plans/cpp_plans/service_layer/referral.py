"""A case's steps before its strategy discussion: the referral, its
decision, and the assessment's start and completion. Each changes the case
at the version its caller read (a VersionConflict otherwise)."""

from __future__ import annotations

from datetime import date

from cpp_shared import staff
from cpp_shared.auth import Principal

from ..domain import referral as rf
from .cases import _save_case
from .common import Deployment, load_case


def record_referral(
    deps: Deployment,
    case_id: str,
    *,
    received_on: date,
    source: str,
    summary: str | None,
    expected_version: int,
    today: date,
    actor: Principal,
    source_code: str | None = None,
) -> dict:
    """Returns the case as saved."""
    case = load_case(deps, case_id, at=expected_version)
    after, events = rf.record_referral(
        case,
        received_on=received_on,
        source=source,
        source_code=source_code,
        summary=summary,
        today=today,
        recorded_by=actor.user,
    )
    return _save_case(deps, actor, case, after, events, "record_referral")


def decide_referral(
    deps: Deployment,
    case_id: str,
    *,
    decided_on: date,
    decision: str,
    reason: str,
    expected_version: int,
    today: date,
    actor: Principal,
) -> dict:
    """Returns the case as saved."""
    case = load_case(deps, case_id, at=expected_version)
    after, events = rf.decide_referral(
        case, decided_on=decided_on, decision=decision, reason=reason, today=today, decided_by=actor.user
    )
    return _save_case(deps, actor, case, after, events, "decide_referral")


def start_assessment(
    deps: Deployment,
    case_id: str,
    *,
    started_on: date,
    factors: list[str],
    other_factors: str | None,
    expected_version: int,
    today: date,
    actor: Principal,
) -> dict:
    """Returns the case as saved."""
    case = load_case(deps, case_id, at=expected_version)
    after, events = rf.start_assessment(
        case, started_on=started_on, factors=factors, other_factors=other_factors, today=today, started_by=actor.user
    )
    return _save_case(deps, actor, case, after, events, "start_assessment")


def complete_assessment(
    deps: Deployment,
    case_id: str,
    *,
    completed_on: date,
    outcome: str,
    summary: str | None,
    authorised_by: str,
    expected_version: int,
    today: date,
    actor: Principal,
) -> dict:
    """The completion, authorised by the team manager ``authorised_by`` (a
    user id in the staff directory). Returns the case as saved."""
    case = load_case(deps, case_id, at=expected_version)
    found = staff.entry(deps.store, authorised_by)
    after, events = rf.complete_assessment(
        case,
        completed_on=completed_on,
        outcome=outcome,
        summary=summary,
        authoriser={"user": found["user"], "name": found.get("name") or staff.UNNAMED} if found else None,
        authoriser_roles=staff.roles_of(found),
        today=today,
        recorded_by=actor.user,
    )
    return _save_case(deps, actor, case, after, events, "complete_assessment")
