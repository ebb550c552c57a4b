"""A case's steps before its conferences: opening it, giving it to other
staff, the strategy discussion and the enquiry outcome."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from cpp_shared import staff
from cpp_shared.auth import Principal

from ..domain import lifecycle as lc
from ..domain import referral as rf
from ..domain.lifecycle import InvalidStep
from ..store import CASES, CHILDREN
from .common import Deployment, commit_step, load, mark_pre_birth, saved

SOCIAL_WORKERS = ("social_worker", "team_manager")  # a team manager may hold a case themself


def _staff_member(deps: Deployment, user: str, field: str, roles: tuple[str, ...]) -> dict:
    """A reference to a member of staff who may hold the case in this way, or a 422."""
    found = staff.entry(deps.store, user)
    if found is None:
        raise InvalidStep(
            {field: [f"no member of staff has the user id {user!r}; an admin adds them (PUT /v1/staff/{{user}})"]},
            message="no such member of staff",
        )
    held = staff.roles_of(found)
    if not any(r in roles for r in held):
        raise InvalidStep(
            {
                field: [
                    f"{found.get('name')} is a {' and '.join(r.replace('_', ' ') for r in held) or 'person with no role'}; "
                    f"a case's {field.replace('_', ' ')} is a {' or '.join(r.replace('_', ' ') for r in roles)}"
                ]
            },
            message="not a role that holds a case this way",
        )
    return {"user": found["user"], "name": found.get("name") or staff.UNNAMED}


def _default_team_manager(
    deps: Deployment, actor: Principal, social_worker: dict | None, team: str | None
) -> dict | None:
    """The one opening the case, when a team manager; else the social
    worker's manager; else the one team manager of their team."""
    if actor.holds("team_manager"):
        return staff.ref(deps.store, actor.user)
    people = deps.store.collection(staff.COLLECTION)
    manager = (staff.entry(deps.store, social_worker["user"]) or {}).get("manager") if social_worker else None
    found = people.find_one({"user": manager, **staff.holding("team_manager")}) if manager else None
    if found is None and team:
        managers = people.find({"team": team, **staff.holding("team_manager")}, limit=2)
        found = managers[0] if len(managers) == 1 else None
    return {"user": found["user"], "name": found.get("name") or staff.UNNAMED} if found else None


def _allocation(deps: Deployment, actor: Principal, given: dict[str, Any]) -> dict:
    social_worker = (
        _staff_member(deps, given["social_worker"], "social_worker", SOCIAL_WORKERS)
        if "social_worker" in given
        else staff.ref(deps.store, actor.user)
        if actor.holds("social_worker")
        else None
    )
    team = given.get("team")
    if team is None and social_worker is not None:
        team = (staff.entry(deps.store, social_worker["user"]) or {}).get("team")
    team = team or actor.team
    team_manager = (
        _staff_member(deps, given["team_manager"], "team_manager", ("team_manager",))
        if "team_manager" in given
        else _default_team_manager(deps, actor, social_worker, team)
    )
    return {"social_worker": social_worker, "team_manager": team_manager, "team": team}


def open_case(deps: Deployment, child_id: str, *, now: datetime, actor: Principal, **given: Any) -> dict:
    """A new case of a registered child, held by the social worker, team
    manager and team ``given`` (user ids; each left out defaults from who
    opens it). Returns the case as saved."""
    if deps.store.collection(CHILDREN).find_one({"_id": child_id}) is None:
        raise InvalidStep(
            {"child_id": ["no child with this id is registered with this authority; register the child first"]},
            message="no such child",
        )
    case, events = lc.open_case(
        uuid.uuid4().hex,
        child_id,
        deps.authority["code"],
        now.isoformat(),
        actor.user,
        **_allocation(deps, actor, given),
    )
    commit_step(
        deps, actor, "create", "case", case["_id"], child_id=case["child_id"], events=events, inserts=[(CASES, case)]
    )
    return saved(case)


def _save_case(deps: Deployment, actor: Principal, before: dict, after: dict, events, action: str) -> dict:
    commit_step(
        deps,
        actor,
        action,
        "case",
        after["_id"],
        child_id=after["child_id"],
        events=events,
        replaces=[(CASES, after, before)],
    )
    return saved(after, before)


def allocate_case(deps: Deployment, case_id: str, *, expected_version: int, actor: Principal, **given: Any) -> dict:
    """Give the case to another social worker, team manager or team: each
    ``given`` (a user id, or None for nobody) replaces the case's; one left
    out stays. A VersionConflict when the case is no longer at
    ``expected_version``."""
    case = load(deps, CASES, case_id, "case", at=expected_version)

    def person(field: str, roles: tuple[str, ...]) -> dict | None:
        if field not in given:
            return case.get(field)
        return _staff_member(deps, given[field], field, roles) if given[field] else None

    people: dict[str, Any] = {
        "social_worker": person("social_worker", SOCIAL_WORKERS),
        "team_manager": person("team_manager", ("team_manager",)),
        "team": given["team"] if "team" in given else case.get("team"),
    }
    after, events = lc.allocate_case(case, **people)
    return _save_case(deps, actor, case, after, events, "allocate_case")


def record_strategy_discussion(
    deps: Deployment,
    case_id: str,
    *,
    held_on: date,
    initiated_enquiries: bool,
    attendees: list[dict],
    notes: str | None,
    today: date,
    actor: Principal,
) -> dict:
    """Returns the discussion as recorded (after the referral's decision to
    hold one, or its assessment, when the case has a referral)."""
    case = load(deps, CASES, case_id, "case")
    rf.check_strategy_discussion_may_follow(case)
    after, discussion, events = lc.record_strategy_discussion(
        case,
        held_on=held_on,
        today=today,
        initiated_enquiries=initiated_enquiries,
        attendees=attendees,
        notes=notes,
        recorded_by=actor.user,
    )
    mark_pre_birth(deps, case["child_id"], events, "strategy_discussion.held.v1")  # a pre-birth timescale may follow
    _save_case(deps, actor, case, after, events, "record_strategy_discussion")
    return discussion


def record_enquiry_outcome(
    deps: Deployment,
    case_id: str,
    *,
    completed_on: date,
    conference_required: bool,
    summary: str | None,
    today: date,
    actor: Principal,
) -> dict:
    """Returns the case as saved."""
    case = load(deps, CASES, case_id, "case")
    after, events = lc.record_enquiry_outcome(
        case,
        completed_on=completed_on,
        conference_required=conference_required,
        today=today,
        summary=summary,
        recorded_by=actor.user,
    )
    return _save_case(deps, actor, case, after, events, "record_enquiry_outcome")
