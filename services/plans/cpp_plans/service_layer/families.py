"""A family's steps: recording the family, and the steps taken for several
of its children at once (opening their cases, one strategy discussion, the
enquiries' outcomes, one conference deciding for each child).

A family step is the same step on each child's own case, committed together
(all of them or none): each child keeps their own case, conference, plan,
deadlines, audit entries and events, as if the step had been taken for the
child alone; the family's step id ties them together.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

from cpp_shared.auth import Principal

from ..domain import children as children_rules
from ..domain import families as rules
from ..domain.governance import NotIndependent
from ..domain.lifecycle import InvalidStep, LifecycleError
from ..store import CHILDREN, CONFERENCES, FAMILIES, FAMILY_CONFERENCES, PLANS
from . import cases, conferences
from . import plans as plan_steps
from . import reports as report_steps
from .common import Deployment, Step, commit_steps, load, named, saved

Taken = TypeVar("Taken")  # what a family step takes for each child (its step, and what it returns of it)


def _check_registered(deps: Deployment, children: list[str], field: str = "children") -> None:
    found = {c["_id"] for c in deps.store.collection(CHILDREN).find({"_id": {"$in": list(children)}})}
    missing = {i: [f"no child {c} is registered with this authority"] for i, c in enumerate(children) if c not in found}
    if missing:
        raise InvalidStep({field: missing}, message="a child of the family is not registered")


def _steps(family: dict, action: str, events: list) -> list[Step]:
    """A change to the family record: audited for each of its children (a child's audit trail shows it)."""
    return [
        Step(action, "family", family["_id"], child_id, events if i == 0 else [])
        for i, child_id in enumerate(family["children"])
    ]


def record_family(
    deps: Deployment, *, name: str, children: list[str], people: list[dict], now: datetime, actor: Principal
) -> dict:
    """A new family of registered children and the people around them. Returns it as saved."""
    _check_registered(deps, children)
    family, events = rules.new_family(
        uuid.uuid4().hex,
        deps.authority["code"],
        name=name,
        children=children,
        people=people,
        created_at=now.isoformat(),
        created_by=actor.user,
    )
    steps = _steps(family, "create", events)
    steps[0].inserts.append((FAMILIES, family))
    commit_steps(deps, actor, steps)
    return saved(family)


def change_family(
    deps: Deployment,
    family_id: str,
    *,
    expected_version: int,
    name: str,
    children: list[str],
    people: list[dict],
    actor: Principal,
) -> dict:
    """The family as it is now (its name, children and people replace the
    recorded ones). A VersionConflict when it is no longer at ``expected_version``."""
    family = load(deps, FAMILIES, family_id, "family", at=expected_version)
    _check_registered(deps, children)
    after, events = rules.change_family(family, name=name, children=children, people=people)
    steps = _steps({**after, "children": list(dict.fromkeys(family["children"] + after["children"]))}, "update", events)
    steps[0].replaces.append((FAMILIES, after, family))
    commit_steps(deps, actor, steps)
    return saved(after, family)


def families_of(deps: Deployment, child_id: str) -> list[dict]:
    """The families a child is in (a child may live in two households)."""
    return deps.store.collection(FAMILIES).find({"authority": deps.authority["code"], "children": child_id})


def _per_child(
    deps: Deployment,
    family: dict,
    children: list[str],
    take: Callable[[int, str], Taken],
    field: str = "children",
) -> list[Taken]:
    """``take`` for each child of the step (each of the family), in order;
    a refusal is named as ``_each`` names it."""
    rules.check_group(family, children, field)
    return _each(deps, children, take, field)


def _each(deps: Deployment, children: list[str], take: Callable[[int, str], Taken], field: str) -> list[Taken]:
    """``take`` for each child, in order; a refusal for one child is named
    under that child's place in ``field`` (a 422), or by the child's name (a 409)."""
    done = []
    for i, child_id in enumerate(children):
        try:
            done.append(take(i, child_id))
        except InvalidStep as refused:
            raise InvalidStep({field: {i: refused.errors}}, message=refused.message) from refused
        except LifecycleError as refused:
            raise LifecycleError(f"{_name(deps, child_id)}: {refused}") from refused
        except NotIndependent as refused:
            raise NotIndependent(f"{_name(deps, child_id)}: {refused}") from refused
    return done


def _name(deps: Deployment, child_id: str) -> str:
    child = deps.store.collection(CHILDREN).find_one({"_id": child_id})
    return (named(child)["name"] or child_id) if child else child_id


def _unborn(deps: Deployment, child_id: str) -> bool:
    child = deps.store.collection(CHILDREN).find_one({"_id": child_id})
    return child is not None and children_rules.is_unborn(child)


def _open_case(deps: Deployment, child_id: str) -> dict:
    case = cases.open_case_of(deps, child_id)
    if case is None:
        raise LifecycleError("has no open case; open one first")
    return case


def open_cases(
    deps: Deployment, family_id: str, *, children: list[str], now: datetime, actor: Principal, **given: Any
) -> list[dict]:
    """A case for each of ``children``, held by the same people (``given``
    as for one case), opened together. Returns the cases as saved."""
    family = load(deps, FAMILIES, family_id, "family")
    done = _per_child(
        deps, family, children, lambda i, child_id: cases.opening(deps, child_id, now=now, actor=actor, **given)
    )
    cases.commit_openings(deps, actor, [step for step, _ in done])
    return [saved(case) for _, case in done]


def record_strategy_discussion(
    deps: Deployment, family_id: str, *, children: list[str], today: date, actor: Principal, **discussion: Any
) -> dict:
    """One strategy discussion about ``children`` (each in an open case at
    the enquiries stage): recorded on each child's case under one id.
    Returns the discussion, with the cases it is recorded on."""
    family = load(deps, FAMILIES, family_id, "family")
    discussion_id = uuid.uuid4().hex
    done = _per_child(
        deps,
        family,
        children,
        lambda i, child_id: cases.discussing(
            deps, _open_case(deps, child_id), today=today, actor=actor, discussion_id=discussion_id, **discussion
        ),
    )
    commit_steps(deps, actor, [step for step, _ in done])
    first = done[0][1]
    return {**first, "children": children, "case_ids": [step.record_id for step, _ in done]}


def record_enquiry_outcomes(
    deps: Deployment,
    family_id: str,
    *,
    completed_on: date,
    outcomes: list[dict],
    summary: str | None,
    today: date,
    actor: Principal,
) -> list[dict]:
    """The enquiries' outcome for each child (``outcomes``: child_id and
    conference_required), recorded together. Returns the cases as saved."""
    family = load(deps, FAMILIES, family_id, "family")
    wanted = {o["child_id"]: o["conference_required"] for o in outcomes}
    children = [o["child_id"] for o in outcomes]

    def take(i: int, child_id: str) -> tuple[Step, dict]:
        case = _open_case(deps, child_id)
        step, after = cases.concluding(
            case,
            completed_on=completed_on,
            conference_required=wanted[child_id],
            summary=summary,
            today=today,
            actor=actor,
        )
        return step, saved(after, case)

    done = _per_child(deps, family, children, take, "outcomes")
    commit_steps(deps, actor, [step for step, _ in done])
    return [case for _, case in done]


def record_core_group_meeting(
    deps: Deployment,
    family_id: str,
    *,
    held_on: date,
    attendees: list[dict],
    notes: str | None,
    plans: list[dict],
    today: date,
    actor: Principal,
) -> dict:
    """One core group meeting shared by several children of the family, each
    on a plan (``plans``: child_id, detailed_plan_agreed and, when it agrees
    a detailed plan of its own, plan): the meeting recorded on each child's
    plan under one id, together. Returns the meeting, with each child's record of it.
    Each child's plan's key worker is among the attendees: a 422 on
    ``attendees`` naming each child whose plan's is not (the rule is the
    step's last, so a child's other refusals come first, under their place in ``plans``)."""
    family = load(deps, FAMILIES, family_id, "family")
    meeting_id = uuid.uuid4().hex
    given = {p["child_id"]: p for p in plans}
    absent: list[str] = []

    def take(i: int, child_id: str) -> tuple[Step, dict] | None:
        case = cases.open_case_of(deps, child_id)
        if case is None or not case.get("plan_id"):
            raise LifecycleError("has no plan in force: a core group meets about a plan")
        try:
            return plan_steps.meeting_step(
                deps,
                load(deps, PLANS, case["plan_id"], "plan"),
                held_on=held_on,
                attendees=attendees,
                notes=notes,
                detailed_plan_agreed=given[child_id]["detailed_plan_agreed"],
                plan=given[child_id].get("plan"),
                today=today,
                actor=actor,
                family_meeting_id=meeting_id,
            )
        except InvalidStep as refused:
            if set(refused.errors) != {"attendees"}:
                raise
            absent.extend(f"{_name(deps, child_id)}'s plan: {why}" for why in refused.errors["attendees"])
            return None

    done = _per_child(deps, family, list(given), take, "plans")
    if absent:
        raise InvalidStep({"attendees": absent})
    taken = [d for d in done if d is not None]
    commit_steps(deps, actor, [step for step, _ in taken])
    return {"id": meeting_id, "held_on": held_on.isoformat(), "meetings": [saved(m) for _, m in taken]}


def schedule_conference(
    deps: Deployment,
    family_id: str,
    *,
    children: list[str],
    kind: str,
    scheduled_for: date,
    chair: str | None = None,
    mother_unfit_to_attend: bool = False,
    invitees: list[dict] | None = None,
    today: date,
    actor: Principal,
) -> dict:
    """One conference about ``children``: each child's own conference of
    ``kind``, scheduled together as a family conference. Returns the family
    conference as saved."""
    family = load(deps, FAMILIES, family_id, "family")
    group_id = uuid.uuid4().hex
    done = _per_child(
        deps,
        family,
        children,
        lambda i, child_id: conferences.scheduling(
            deps,
            _open_case(deps, child_id),
            kind=kind,
            scheduled_for=scheduled_for,
            chair=chair,
            today=today,
            actor=actor,
            mother_unfit_to_attend=mother_unfit_to_attend and _unborn(deps, child_id),  # a pre-birth conference's
            family_conference_id=group_id,
            invitees=invitees,
        ),
    )
    group = {
        "_id": group_id,
        "authority": deps.authority["code"],
        "family_id": family_id,
        "kind": kind,
        "status": "scheduled",
        "scheduled_for": scheduled_for.isoformat(),
        "scheduled_by": actor.user,
        "scheduled_on": today.isoformat(),
        "children": [{"child_id": c["child_id"], "case_id": c["case_id"], "conference_id": c["_id"]} for _, c in done],
        "outcome": None,
    }
    steps = [step for step, _ in done]
    steps[0].inserts.append((FAMILY_CONFERENCES, group))
    commit_steps(deps, actor, steps)
    return saved(group)


def _scheduled_group(deps: Deployment, group_id: str, doing: str, at: int | None = None) -> dict:
    """The family conference while it is scheduled (at version ``at``, when given), or a 409."""
    group = load(deps, FAMILY_CONFERENCES, group_id, "family conference", at=at)
    if group["status"] != "scheduled":
        raise LifecycleError(f"the family conference is {group['status']}: only a scheduled one is {doing}")
    return group


def _members_of(deps: Deployment, group: dict) -> list[dict]:
    return [load(deps, CONFERENCES, m["conference_id"], "conference") for m in group["children"]]


def reschedule_conference(
    deps: Deployment,
    family_conference_id: str,
    *,
    scheduled_for: date,
    reason: str,
    expected_version: int,
    today: date,
    actor: Principal,
) -> dict:
    """Move the family conference, and each child's conference with it, to
    another date, with the reason. A VersionConflict when the family
    conference is no longer at ``expected_version``."""
    group = _scheduled_group(deps, family_conference_id, "moved", at=expected_version)
    steps = []
    for conference in _members_of(deps, group):
        step, _ = conferences.rescheduling(
            deps, conference, scheduled_for=scheduled_for, reason=reason, today=today, actor=actor
        )
        steps.append(step)
    after = {**group, "scheduled_for": scheduled_for.isoformat()}
    after.setdefault("reschedules", []).append(
        {
            "from": group["scheduled_for"],
            "to": after["scheduled_for"],
            "reason": reason,
            "by": actor.user,
            "on": today.isoformat(),
        }
    )
    steps[0].replaces.append((FAMILY_CONFERENCES, after, group))
    commit_steps(deps, actor, steps)
    return saved(after, group)


def cancel_conference(
    deps: Deployment, family_conference_id: str, *, reason: str, today: date, actor: Principal
) -> dict:
    """Cancel the family conference and each child's conference with it;
    another can then be scheduled. Returns the family conference as saved."""
    group = _scheduled_group(deps, family_conference_id, "cancelled")
    steps = [
        conferences.cancelling(deps, conference, reason=reason, today=today, actor=actor)[0]
        for conference in _members_of(deps, group)
    ]
    after = {
        **group,
        "status": "cancelled",
        "cancellation": {"reason": reason, "by": actor.user, "on": today.isoformat()},
    }
    steps[0].replaces.append((FAMILY_CONFERENCES, after, group))
    commit_steps(deps, actor, steps)
    return saved(after, group)


def draft_report(
    deps: Deployment,
    family_conference_id: str,
    *,
    content: dict,
    children: list[dict],
    on: date,
    today: date,
    actor: Principal,
) -> dict:
    """One report to the family conference: each child's report to their own
    conference drafted together, sharing ``content`` (the findings and the
    family's views, as stored), each with the child's own part (``children``:
    child_id, and child_seen, childs_views and plan as for one report), tied
    by one id. Each child's report then takes its own steps (submitted,
    countersigned, shared). Returns the reports."""
    group = _scheduled_group(deps, family_conference_id, "reported on")
    members = {c["child_id"]: c for c in group["children"]}
    rules.check_decisions(list(members), children, field="children")
    report_id = uuid.uuid4().hex
    parts = {part["child_id"]: part for part in children}

    def take(i: int, child_id: str) -> tuple[Step, dict]:
        part = parts[child_id]
        own = {k: part[k] for k in ("child_seen", "childs_views") if k in part}
        return report_steps.drafting(
            deps,
            load(deps, CONFERENCES, members[child_id]["conference_id"], "conference"),
            content={**content, **own},
            plan=part.get("plan"),
            on=on,
            today=today,
            actor=actor,
            family_report_id=report_id,
        )

    done = _each(deps, list(parts), take, "children")
    commit_steps(deps, actor, [step for step, _ in done])
    return {"id": report_id, "family_conference_id": group["_id"], "reports": [saved(r) for _, r in done]}


def record_conference_outcome(
    deps: Deployment,
    family_conference_id: str,
    *,
    held_on: date,
    attendees: list[dict],
    decisions: list[dict],
    today: date,
    actor: Principal,
    agency_views: list[dict] | None = None,
    exclusions: list[dict] | None = None,
) -> dict:
    """The family conference's outcome: a decision for each of its children
    (``decisions``: child_id, and as for one child's conference,
    plan_required and outline_plan, or decision, plan and reason), recorded
    together; a decision for a child outside the conference is refused.
    Each agency's view and any exclusion are kept with every child's
    conference; a child's participation with their decision. Returns the
    family conference as saved, and each child's conference, case and plan."""
    group = _scheduled_group(deps, family_conference_id, "held")
    members = {c["child_id"]: c for c in group["children"]}
    rules.check_decisions(list(members), decisions)
    family = load(deps, FAMILIES, group["family_id"], "family")
    given = {d["child_id"]: {k: v for k, v in d.items() if k != "child_id"} for d in decisions}

    def take(i: int, child_id: str) -> tuple[Step, dict]:
        conference = load(deps, CONFERENCES, members[child_id]["conference_id"], "conference")
        return conferences.holding(
            deps,
            conference,
            held_on=held_on,
            attendees=attendees,
            today=today,
            actor=actor,
            agency_views=agency_views,
            exclusions=exclusions,
            **given[child_id],
        )

    done = _each(deps, list(given), take, "decisions")
    outcome = {
        "held_on": held_on.isoformat(),
        "decided_by": actor.user,
        "children": [_decided(d, result) for d, (_, result) in zip(decisions, done, strict=True)],
    }
    after = {**group, "status": "held", "outcome": outcome}
    event = ("family_conference.held.v1", group["_id"], _held_event(deps, family, after, done))
    steps = [step for step, _ in done]
    steps[0].replaces.append((FAMILY_CONFERENCES, after, group))
    commit_steps(deps, actor, steps, events=[event])
    return {"family_conference": saved(after, group), "children": [result for _, result in done]}


def _decided(decision: dict, result: dict) -> dict:
    plan = result["plan"]
    return {
        "child_id": decision["child_id"],
        "plan_required": decision.get("plan_required"),
        "decision": decision.get("decision"),
        "plan_id": plan["_id"] if plan else None,
        "case_status": result["case"]["status"],
    }


def _held_event(deps: Deployment, family: dict, group: dict, done: list[tuple[Step, dict]]) -> dict:
    """What the family's letters need: the people around the children, and
    for each child what was decided, with the plan's categories, key worker
    and first core group."""
    children = []
    for (step, result), decided in zip(done, group["outcome"]["children"], strict=True):
        plan, case = result["plan"], result["case"]
        content = (plan or {}).get("content") or {}
        key_worker = content.get("key_worker") or {}
        child = deps.store.collection(CHILDREN).find_one({"_id": step.child_id})
        entry: dict[str, Any] = {
            "child_id": step.child_id,
            "child": named(child) if child else None,
            "case_id": case["_id"],
            "conference_id": result["conference"]["_id"],
            "plan_id": decided["plan_id"],
            "categories": list(content.get("categories") or []),
            "first_core_group_on": content.get("first_core_group_on") if plan and group["kind"] == "initial" else None,
            "key_worker": {"user": key_worker["user"], "name": key_worker.get("name")}
            if plan and plan.get("status") != "ended" and key_worker.get("user")
            else None,
            "step_down": (case.get("step_down") or {}).get("route")
            if case["status"] in ("child_in_need", "plan_ended")
            else None,
        }
        if group["kind"] == "initial":
            entry["plan_required"] = bool(decided["plan_required"])
        else:
            entry["decision"] = decided["decision"]
        children.append(entry)
    return {
        "family_id": family["_id"],
        "family_conference_id": group["_id"],
        "family_name": family["name"],
        "kind": group["kind"],
        "held_on": group["outcome"]["held_on"],
        "people": family["people"],
        "children": children,
    }
