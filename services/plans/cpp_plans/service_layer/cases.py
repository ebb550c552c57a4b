"""A case's steps before its conferences: opening it, giving it to other
staff, a visit before any plan, the strategy discussion and the enquiry
outcome."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from cpp_shared import staff
from cpp_shared.auth import Principal
from cpp_shared.store import DuplicateKey

from ..domain import families as family_rules
from ..domain import lifecycle as lc
from ..domain import referral as rf
from ..domain.lifecycle import InvalidStep
from ..store import CASES, CHILDREN, FAMILIES, VISITS
from .common import Deployment, Step, commit_step, commit_steps, load_case, mark_pre_birth, saved

SOCIAL_WORKERS = ("social_worker", "team_manager")
FAMILIES_OF_ONE = uuid.UUID("6c1d5f0e-3a47-4b8e-9d2c-f1a0b7e4c8d3")  # the namespace of a family of one's id


def family_id_of_one(authority: str, child_id: str) -> str:
    """The id of a child's family of one: the same wherever it is made (opening a case, or the migration)."""
    return uuid.uuid5(FAMILIES_OF_ONE, f"{authority}:{child_id}").hex  # a team manager may hold a case themself


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


def open_case_of(deps: Deployment, child_id: str) -> dict | None:
    """The child's open case in this authority (lifecycle.OPEN_STATUSES), or None."""
    return deps.store.collection(CASES).find_one(
        {"authority": deps.authority["code"], "child_id": child_id, "status": {"$in": list(lc.OPEN_STATUSES)}}
    )


def open_case(deps: Deployment, child_id: str, *, now: datetime, actor: Principal, **given: Any) -> dict:
    """A new case of a registered child, held by the social worker, team
    manager and team ``given`` (user ids; each left out defaults from who
    opens it). A child in no family is given a family of one. Returns the
    case as saved."""
    step, case = opening(deps, child_id, now=now, actor=actor, **given)
    commit_openings(deps, actor, [step])
    return saved(case)


def add_family_of_one(deps: Deployment, step: Step, child: dict, *, now: datetime, actor: Principal) -> None:
    """A family of one for the child of a case being opened, in the same step, when the child is in no family."""
    code = deps.authority["code"]
    if deps.store.collection(FAMILIES).find_one({"authority": code, "children": child["_id"]}) is not None:
        return
    family = family_rules.family_of_one(
        family_id_of_one(code, child["_id"]), code, child, created_at=now.isoformat(), created_by=actor.user
    )
    step.inserts.append((FAMILIES, family))
    step.events.append(family_rules.recorded(family))


def commit_openings(deps: Deployment, actor: Principal, steps: list[Step]) -> None:
    """Cases opened together; a 409 when another request opened a case for one of the children at the
    same moment (the store's unique open key, or the same family of one, refuses the second)."""
    try:
        commit_steps(deps, actor, steps)
    except DuplicateKey:
        raise lc.LifecycleError(
            "a case was opened for the child by another request at the same moment: a child is in one open "
            "case at a time; read the child's cases again"
        ) from None


def opening(
    deps: Deployment, child_id: str, *, now: datetime, actor: Principal, field: str = "child_id", **given: Any
) -> tuple[Step, dict]:
    """The step that opens a case for the child (and a family of one, when
    the child is in no family), and the case. A 409 when the child already
    has an open case: a child is in one open case of an authority."""
    child = deps.store.collection(CHILDREN).find_one({"_id": child_id})
    if child is None:
        raise InvalidStep(
            {field: ["no child with this id is registered with this authority; register the child first"]},
            message="no such child",
        )
    already = open_case_of(deps, child_id)
    if already is not None:
        raise lc.LifecycleError(
            f"the child already has an open case ({already['_id']}, {already['status'].replace('_', ' ')}): "
            "a child is in one open case at a time; record this on that case"
        )
    case, events = lc.open_case(
        uuid.uuid4().hex,
        child_id,
        deps.authority["code"],
        now.isoformat(),
        actor.user,
        **_allocation(deps, actor, given),
    )
    step = Step("create", "case", case["_id"], child_id, events, inserts=[(CASES, case)])
    add_family_of_one(deps, step, child, now=now, actor=actor)
    return step, case


def _case_step(before: dict, after: dict, events: list, action: str) -> Step:
    return Step(action, "case", after["_id"], after["child_id"], events, replaces=[(CASES, after, before)])


def _save_case(deps: Deployment, actor: Principal, before: dict, after: dict, events, action: str) -> dict:
    commit_steps(deps, actor, [_case_step(before, after, events, action)])
    return saved(after, before)


def allocate_case(deps: Deployment, case_id: str, *, expected_version: int, actor: Principal, **given: Any) -> dict:
    """Give the case to another social worker, team manager or team: each
    ``given`` (a user id, or None for nobody) replaces the case's; one left
    out stays. A VersionConflict when the case is no longer at
    ``expected_version``."""
    case = load_case(deps, case_id, at=expected_version)

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


def record_case_visit(
    deps: Deployment,
    case_id: str,
    *,
    visited_on: date,
    announced: bool,
    child_seen: bool,
    seen_alone: bool,
    by: str,
    notes: str | None,
    today: date,
    actor: Principal,
) -> dict:
    """A visit before any plan, kept with the plans' visits (its case, no
    plan). Returns the visit as saved."""
    case = load_case(deps, case_id)
    visit, events = lc.record_case_visit(
        case,
        visited_on=visited_on,
        today=today,
        announced=announced,
        child_seen=child_seen,
        seen_alone=seen_alone,
        by=by,
        notes=notes,
        recorded_by=actor.user,
    )
    commit_step(
        deps,
        actor,
        "record_visit",
        "case",
        case_id,
        child_id=case["child_id"],
        events=events,
        inserts=[(VISITS, visit)],
    )
    return saved(visit)


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
    case = load_case(deps, case_id)
    step, discussion = discussing(
        deps,
        case,
        held_on=held_on,
        initiated_enquiries=initiated_enquiries,
        attendees=attendees,
        notes=notes,
        today=today,
        actor=actor,
    )
    commit_steps(deps, actor, [step])
    return discussion


def discussing(
    deps: Deployment,
    case: dict,
    *,
    held_on: date,
    initiated_enquiries: bool,
    attendees: list[dict],
    notes: str | None,
    today: date,
    actor: Principal,
    discussion_id: str | None = None,
) -> tuple[Step, dict]:
    """The step that records a strategy discussion on the case (the family's
    one discussion, ``discussion_id``, when it is about several children)."""
    rf.check_strategy_discussion_may_follow(case)
    after, discussion, events = lc.record_strategy_discussion(
        case,
        held_on=held_on,
        today=today,
        initiated_enquiries=initiated_enquiries,
        attendees=attendees,
        notes=notes,
        recorded_by=actor.user,
        discussion_id=discussion_id,
    )
    mark_pre_birth(deps, case["child_id"], events, "strategy_discussion.held.v1")  # a pre-birth timescale may follow
    return _case_step(case, after, events, "record_strategy_discussion"), discussion


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
    case = load_case(deps, case_id)
    step, after = concluding(
        case,
        completed_on=completed_on,
        conference_required=conference_required,
        summary=summary,
        today=today,
        actor=actor,
    )
    commit_steps(deps, actor, [step])
    return saved(after, case)


def concluding(
    case: dict, *, completed_on: date, conference_required: bool, summary: str | None, today: date, actor: Principal
) -> tuple[Step, dict]:
    """The step that records the enquiries' outcome on the case, and the case after it."""
    after, events = lc.record_enquiry_outcome(
        case,
        completed_on=completed_on,
        conference_required=conference_required,
        today=today,
        summary=summary,
        recorded_by=actor.user,
    )
    return _case_step(case, after, events, "record_enquiry_outcome"), after
