"""A plan's steps once it exists: a change agreed, a core group meeting, a
visit, a significant change told to the chair, an escalation, its ending
otherwise than at a review conference."""

from __future__ import annotations

from datetime import date
from typing import Any

from cpp_shared.auth import Principal
from cpp_shared.contracts import timescales
from cpp_shared.plugins import PluginError

from ..domain import escalations as esc
from ..domain import lifecycle as lc
from ..domain import plan_content
from ..store import CASES, CHILDREN, CONFERENCES, CORE_GROUP_MEETINGS, PLANS, SIGNIFICANT_CHANGES, VISITS
from .common import (
    Deployment,
    NotFound,
    Step,
    commit_step,
    commit_steps,
    council_checks,
    link_key_worker,
    load,
    plan_version_inserts,
    saved,
)


def _save_plan(
    deps: Deployment,
    actor: Principal,
    before: dict,
    after: dict,
    events,
    action: str,
    *,
    extra: tuple[str, dict] | None = None,
) -> dict:
    """Persist a plan step: the plan, a version record when a new version
    was agreed, any other new record, the audit entry and the events."""
    commit_step(
        deps,
        actor,
        action,
        "plan",
        after["_id"],
        child_id=after["child_id"],
        events=events,
        replaces=[(PLANS, after, before)],
        inserts=plan_version_inserts(after, before) + ([extra] if extra else []),
    )
    return saved(after, before)


def change_plan(
    deps: Deployment, plan_id: str, changes: dict[str, Any], *, expected_version: int, today: date, actor: Principal
) -> dict:
    """Agree a change to a plan: ``changes`` (items of content as stored,
    each replacing the plan's whole item) make a new numbered version. A
    VersionConflict when the plan is no longer at ``expected_version``."""
    plan = load(deps, PLANS, plan_id, "plan", at=expected_version)
    lc.check_plan_can_change(plan)
    merged = {**plan["content"], **changes}
    plan_content.check(merged, plan["created_on"])
    if "key_worker" in changes:  # a new key worker is a member of staff (an unchanged one stays as it is)
        merged = link_key_worker(deps, merged)
    council_checks(deps, merged, "change")
    after, events = lc.change_plan(plan, merged, today=today, agreed_by=actor.user)
    return _save_plan(deps, actor, plan, after, events, "change")


def record_core_group_meeting(
    deps: Deployment,
    plan_id: str,
    *,
    held_on: date,
    attendees: list[dict],
    detailed_plan_agreed: bool,
    plan: dict | None,
    notes: str | None,
    today: date,
    actor: Principal,
) -> dict:
    """A core group meeting; one that agrees the detailed plan (``plan``:
    its content as stored, or the plan's own when left out) agrees a new
    version, checked by the council. Returns the meeting as saved."""
    before = load(deps, PLANS, plan_id, "plan")
    step, meeting = meeting_step(
        deps,
        before,
        held_on=held_on,
        attendees=attendees,
        detailed_plan_agreed=detailed_plan_agreed,
        plan=plan,
        notes=notes,
        today=today,
        actor=actor,
    )
    commit_steps(deps, actor, [step])
    return saved(meeting)


def meeting_step(
    deps: Deployment,
    before: dict,
    *,
    held_on: date,
    attendees: list[dict],
    detailed_plan_agreed: bool,
    plan: dict | None,
    notes: str | None,
    today: date,
    actor: Principal,
    family_meeting_id: str | None = None,
) -> tuple[Step, dict]:
    """The step that records a core group meeting on the plan (part of a
    core group shared by a family's children, ``family_meeting_id``, when
    one), and the meeting."""
    content = None
    if plan is not None:
        plan_content.check(plan, before["created_on"], field="plan")
        content = link_key_worker(deps, plan, "plan")
    would_agree = content if content is not None else before["content"]
    if detailed_plan_agreed:
        council_checks(deps, would_agree, "detailed", "plan")
    after, meeting, events = lc.record_core_group_meeting(
        before,
        held_on=held_on,
        today=today,
        attendees=attendees,
        detailed_plan_agreed=detailed_plan_agreed,
        plan_content=content,
        missing_for_agreement=plan_content.missing_for_agreement(would_agree),
        notes=notes,
        recorded_by=actor.user,
    )
    if family_meeting_id is not None:
        meeting["family_meeting_id"] = family_meeting_id
    step = Step(
        "record_core_group_meeting",
        "plan",
        after["_id"],
        after["child_id"],
        events,
        inserts=[*plan_version_inserts(after, before), (CORE_GROUP_MEETINGS, meeting)],
        replaces=[(PLANS, after, before)],
    )
    return step, meeting


def record_visit(
    deps: Deployment,
    plan_id: str,
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
    plan = load(deps, PLANS, plan_id, "plan")
    case = deps.store.collection(CASES).find_one({"_id": plan["case_id"]}) or {}
    visit, events = lc.record_visit(
        plan,
        earlier=list(deps.store.collection(VISITS).find({"plan_id": plan_id})),
        seen_alone_within=seen_alone_within(deps, plan),
        team_manager=case.get("team_manager"),
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
        "plan",
        plan_id,
        child_id=plan["child_id"],
        events=events,
        inserts=[(VISITS, visit)],
    )
    return saved(visit)


def seen_alone_within(deps: Deployment, plan: dict) -> int | None:
    """After how many visits in a row without the child seen alone the plan's visits are flagged: the plan's
    number, else the deployment's (its visits rule's ``seen_alone_within``); None when neither says."""
    stated = ((plan.get("content") or {}).get("rhythm") or {}).get("seen_alone")
    if stated:
        return stated["every"]
    default = (deployment_rhythm(deps).get("seen_alone") or {}).get("default")
    return default["every"] if default else None


#: Where a running plans service keeps its deployment's rhythm (``deployment_rhythm``).
RHYTHM = "rhythm"


def deployment_rhythm(deps: Deployment) -> dict[str, dict]:
    """The deployment's rhythm of a plan, by item (the default, the limit and their source, from its timescale
    rules' ``plan_sets``): worked out once for a running service, kept in its extensions."""
    kept = getattr(deps, "extensions", None)
    if kept is None:
        return plan_content.rules_rhythm(timescales.timescale_rules(deps.plugins))
    if RHYTHM not in kept:
        kept[RHYTHM] = plan_content.rules_rhythm(timescales.timescale_rules(deps.plugins))
    return kept[RHYTHM]


def record_significant_change(
    deps: Deployment,
    plan_id: str,
    *,
    noticed_on: date,
    description: str,
    chair_told_on: date | None = None,
    today: date,
    actor: Principal,
) -> dict:
    """A significant change the core group noticed (and the day it told the
    chair, when given). Returns the change as saved."""
    plan = load(deps, PLANS, plan_id, "plan")
    change, events = lc.record_significant_change(
        plan,
        noticed_on=noticed_on,
        description=description,
        chair_told_on=chair_told_on,
        today=today,
        recorded_by=actor.user,
    )
    commit_step(
        deps,
        actor,
        "record_significant_change",
        "plan",
        plan_id,
        child_id=plan["child_id"],
        events=events,
        inserts=[(SIGNIFICANT_CHANGES, change)],
    )
    return saved(change)


def refer_significant_change(
    deps: Deployment, plan_id: str, change_id: str, *, told_on: date, today: date, actor: Principal
) -> dict:
    """The day the chair was told of one of the plan's significant changes. Returns the change as saved."""
    change = load(deps, SIGNIFICANT_CHANGES, change_id, "significant change")
    if change["plan_id"] != plan_id:
        raise NotFound(f"plan {plan_id} has no significant change {change_id}")
    after, events = lc.refer_significant_change(change, told_on=told_on, today=today, recorded_by=actor.user)
    commit_step(
        deps,
        actor,
        "refer_significant_change",
        "plan",
        plan_id,
        child_id=change["child_id"],
        events=events,
        replaces=[(SIGNIFICANT_CHANGES, after, change)],
    )
    return saved(after, change)


def escalate(
    deps: Deployment,
    plan_id: str,
    *,
    route: str,
    reason: str,
    decided_on: date,
    conference_id: str | None = None,
    today: date,
    actor: Principal,
) -> dict:
    """The plan is not working: escalate by one of the deployment's routes,
    as decided on ``decided_on`` (at the case's conference ``conference_id``,
    when a conference decided it)."""
    plan = load(deps, PLANS, plan_id, "plan")
    conference = None
    if conference_id is not None:
        conference = deps.store.collection(CONFERENCES).find_one(
            {"_id": conference_id, "authority": deps.authority["code"], "case_id": plan["case_id"]}
        )
        if conference is None:
            raise lc.InvalidStep({"conference_id": [f"no conference {conference_id} of this plan's case"]})
    routes = deps.plugins.layered("cpp_escalation_routes")
    after, escalation, events = lc.escalate(
        plan,
        route=route,
        reason=reason,
        routes=routes,
        decided_on=decided_on,
        conference=conference,
        today=today,
        raised_by=actor.user,
    )
    _save_plan(deps, actor, plan, after, events, "escalate")
    return escalation


def _plan_and_escalation(deps: Deployment, plan_id: str, escalation_id: str) -> dict:
    """The plan, or NotFound when it has no escalation of that id."""
    plan = load(deps, PLANS, plan_id, "plan")
    if esc.find(plan, escalation_id) is None:
        raise NotFound(f"no escalation {escalation_id} on plan {plan_id}")
    return plan


def record_referral(
    deps: Deployment,
    plan_id: str,
    escalation_id: str,
    *,
    made_on: date,
    made_to: str,
    how: str | None = None,
    today: date,
    actor: Principal,
) -> dict:
    """The referral an escalation's route asks for, made to its recipient outside the council."""
    plan = _plan_and_escalation(deps, plan_id, escalation_id)
    after, escalation, events = esc.record_referral(
        plan, escalation_id, made_on=made_on, made_to=made_to, how=how, today=today, recorded_by=actor.user
    )
    _save_plan(deps, actor, plan, after, events, "record_escalation_referral")
    return escalation


def record_escalation_step(
    deps: Deployment,
    plan_id: str,
    escalation_id: str,
    *,
    step: str,
    on: date,
    outcome: str | None = None,
    notes: str | None = None,
    today: date,
    actor: Principal,
) -> dict:
    """One of the steps the escalation's route declares, in the route's order."""
    plan = _plan_and_escalation(deps, plan_id, escalation_id)
    after, escalation, events = esc.record_step(
        plan,
        escalation_id,
        step=step,
        on=on,
        outcome=outcome,
        notes=notes,
        routes=deps.plugins.layered("cpp_escalation_routes"),
        today=today,
        recorded_by=actor.user,
    )
    _save_plan(deps, actor, plan, after, events, "record_escalation_step")
    return escalation


#: The authority's setting (cpp_authority) saying its procedures end a plan when the child becomes looked after.
LOOKED_AFTER_ENDS_PLAN = "looked_after_ends_plan"


def check_authority(authority: dict[str, Any]) -> None:
    """The authority plugin's ``looked_after_ends_plan``, checked at start-up:
    true or false (false when not given); anything else stops the service,
    naming the setting, rather than a word such as "no" counting as true."""
    value = authority.get(LOOKED_AFTER_ENDS_PLAN)
    if value is not None and not isinstance(value, bool):
        raise PluginError(
            f"cpp_authority's {LOOKED_AFTER_ENDS_PLAN!r} must be true or false (whether the council's procedures "
            f"end a plan when the child becomes looked after), got {value!r}"
        )


def end_plan(
    deps: Deployment,
    plan_id: str,
    *,
    reason: str,
    on: date,
    details: str | None = None,
    receiving_council: str | None = None,
    transfer_in_conference_on: date | None = None,
    expected_version: int | None = None,
    today: date,
    actor: Principal,
) -> dict:
    """End a plan otherwise than at a review conference (the ways in
    lifecycle.ENDINGS): the plan ends, its case closes, ``plan.ended.v1``
    says how. A VersionConflict when the plan is no longer at
    ``expected_version``. Returns the plan as saved."""
    plan = load(deps, PLANS, plan_id, "plan", at=expected_version)
    case = load(deps, CASES, plan["case_id"], "case")
    child = deps.store.collection(CHILDREN).find_one({"_id": plan["child_id"]}) or {}
    born = child.get("date_of_birth")
    case_after, plan_after, events = lc.end_plan(
        case,
        plan,
        reason=reason,
        on=on,
        today=today,
        ended_by=actor.user,
        details=details,
        date_of_birth=date.fromisoformat(born) if born else None,
        receiving_council=receiving_council,
        transfer_in_conference_on=transfer_in_conference_on,
        looked_after_ends_plan=bool(deps.authority.get(LOOKED_AFTER_ENDS_PLAN)),
    )
    commit_step(
        deps,
        actor,
        "end_plan",
        "plan",
        plan_id,
        child_id=plan["child_id"],
        events=events,
        replaces=[(PLANS, plan_after, plan), (CASES, case_after, case)],
    )
    return saved(plan_after, plan)
