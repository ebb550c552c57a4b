"""A case's conferences: scheduling one, moving it, cancelling it, its
invitations, a meeting that was not quorate, recording its outcome (which
creates, continues, revises or ends the plan), and issuing its record."""

from __future__ import annotations

from datetime import date
from typing import Any

from cpp_shared import staff
from cpp_shared.auth import Principal

from ..domain import conference_steps, governance, plan_content
from ..domain import lifecycle as lc
from ..domain.lifecycle import InvalidStep
from ..store import CASES, CONFERENCES, PLANS, plans_of_child
from .common import (
    Deployment,
    Step,
    commit_steps,
    council_checks,
    link_key_worker,
    load,
    load_case,
    mark_pre_birth,
    plan_version_inserts,
    saved,
)


def _chair(deps: Deployment, user: str) -> dict:
    """A reference to the chair named, or a 422: conferences are chaired by a chair in the staff directory."""
    found = staff.entry(deps.store, user)
    if found is None or "chair" not in staff.roles_of(found):
        why = (
            "no member of staff has this user id"
            if found is None
            else (
                f"{found.get('name')} is not a chair (they are a "
                f"{' and '.join(r.replace('_', ' ') for r in staff.roles_of(found))})"
            )
        )
        raise InvalidStep({"chair": [why]}, message="the conference's chair must be a chair")
    return {"user": found["user"], "name": found.get("name") or staff.UNNAMED}


def _plan_of(deps: Deployment, case: dict) -> dict | None:
    return load(deps, PLANS, case["plan_id"], "plan") if case["plan_id"] else None


def _of_family(conference: dict, events: list) -> None:
    """A conference that is part of a family conference says so in each of its events."""
    if conference.get("family_conference_id"):
        for type_, _subject, data in events:
            if type_.startswith("conference."):
                data["family_conference_id"] = conference["family_conference_id"]


def schedule_conference(
    deps: Deployment,
    case_id: str,
    *,
    kind: str,
    scheduled_for: date,
    chair: str | None = None,
    mother_unfit_to_attend: bool = False,
    invitees: list[dict] | None = None,
    today: date,
    actor: Principal,
) -> dict:
    """An initial, review or transfer-in conference for the case, chaired by
    ``chair`` (a chair's user id) when given, inviting ``invitees``. A pre-birth conference records
    whether the mother is expected to be unfit to attend after the birth (the
    birth's event carries it, for the first review's timescale). Returns the
    conference as saved."""
    case = load_case(deps, case_id)
    step, conference = scheduling(
        deps,
        case,
        kind=kind,
        scheduled_for=scheduled_for,
        chair=chair,
        mother_unfit_to_attend=mother_unfit_to_attend,
        invitees=invitees,
        today=today,
        actor=actor,
    )
    commit_steps(deps, actor, [step])
    return saved(conference)


def scheduling(
    deps: Deployment,
    case: dict,
    *,
    kind: str,
    scheduled_for: date,
    chair: str | None,
    today: date,
    actor: Principal,
    mother_unfit_to_attend: bool = False,
    family_conference_id: str | None = None,
    invitees: list[dict] | None = None,
) -> tuple[Step, dict]:
    """The step that schedules a conference for the case (part of the family
    conference ``family_conference_id``, when one), and the conference."""
    plan = _plan_of(deps, case)
    chair_ref = _chair(deps, chair) if chair is not None else None
    after, conference, events = lc.schedule_conference(
        case,
        plan,
        kind=kind,
        scheduled_for=scheduled_for,
        today=today,
        scheduled_by=actor.user,
        chair=chair_ref,
        invitees=invitees,
    )
    if kind == "initial":  # an initial conference about an unborn child is a pre-birth conference
        conference.update(mark_pre_birth(deps, case["child_id"], events, "conference.scheduled.v1"))
    if conference.get("pre_birth"):
        conference["mother_unfit_to_attend"] = mother_unfit_to_attend
    elif mother_unfit_to_attend:
        raise InvalidStep(
            {
                "mother_unfit_to_attend": [
                    "only a pre-birth conference (an initial conference about an unborn child) records it"
                ]
            }
        )
    if family_conference_id is not None:
        conference["family_conference_id"] = family_conference_id
    _of_family(conference, events)
    step = Step(
        "schedule_conference",
        "conference",
        conference["_id"],
        case["child_id"],
        events,
        inserts=[(CONFERENCES, conference)],
        replaces=[(CASES, after, case)],
    )
    return step, conference


def reschedule_conference(
    deps: Deployment,
    conference_id: str,
    *,
    scheduled_for: date,
    reason: str,
    expected_version: int,
    today: date,
    actor: Principal,
) -> dict:
    """Move a scheduled conference to another date, with the reason. A
    VersionConflict when the conference is no longer at ``expected_version``."""
    conference = load(deps, CONFERENCES, conference_id, "conference", at=expected_version)
    _not_alone(conference, "moved")
    step, after = rescheduling(deps, conference, scheduled_for=scheduled_for, reason=reason, today=today, actor=actor)
    commit_steps(deps, actor, [step])
    return saved(after, conference)


def _not_alone(conference: dict, doing: str) -> None:
    """A child's conference that is part of a family conference is moved, cancelled and held with it."""
    if conference.get("family_conference_id"):
        raise lc.LifecycleError(
            f"the conference is part of the family conference {conference['family_conference_id']}: it is {doing} "
            "with the family conference (/v1/family-conferences/{id})"
        )


def rescheduling(
    deps: Deployment, conference: dict, *, scheduled_for: date, reason: str, today: date, actor: Principal
) -> tuple[Step, dict]:
    """The step that moves a scheduled conference to another date, and the conference after it."""
    case = load(deps, CASES, conference["case_id"], "case")
    after, events = lc.reschedule_conference(
        case,
        conference,
        scheduled_for=scheduled_for,
        reason=reason,
        today=today,
        rescheduled_by=actor.user,
        plan=_plan_of(deps, case),
    )
    _of_family(conference, events)
    step = Step(
        "reschedule_conference",
        "conference",
        conference["_id"],
        case["child_id"],
        events,
        replaces=[(CONFERENCES, after, conference)],
    )
    return step, after


def cancel_conference(deps: Deployment, conference_id: str, *, reason: str, today: date, actor: Principal) -> dict:
    """Cancel a scheduled conference; another can then be scheduled in its
    place. Returns the conference and the case as saved."""
    conference = load(deps, CONFERENCES, conference_id, "conference")
    _not_alone(conference, "cancelled")
    step, result = cancelling(deps, conference, reason=reason, today=today, actor=actor)
    commit_steps(deps, actor, [step])
    return result


def cancelling(deps: Deployment, conference: dict, *, reason: str, today: date, actor: Principal) -> tuple[Step, dict]:
    """The step that cancels a scheduled conference, and the conference and case as it saves them."""
    case = load(deps, CASES, conference["case_id"], "case")
    case_after, conf_after, events = lc.cancel_conference(
        case, conference, reason=reason, today=today, cancelled_by=actor.user
    )
    _of_family(conference, events)
    step = Step(
        "cancel_conference",
        "conference",
        conference["_id"],
        case["child_id"],
        events,
        replaces=[(CASES, case_after, case), (CONFERENCES, conf_after, conference)],
    )
    return step, {"conference": saved(conf_after, conference), "case": saved(case_after, case)}


def _agreed_content(
    deps: Deployment, content: dict, *, held_on: date, field: str, stage: str, plan_began: str | None = None
) -> dict:
    """Plan content a conference agrees (as stored), checked: no date before
    the conference (a revision's first core group date, kept from the
    initial conference, not before the plan began), the key worker linked,
    the council's own rules."""
    plan_content.check(content, held_on, field=field, first_core_group_not_before=plan_began)
    linked = link_key_worker(deps, content, field)
    council_checks(deps, linked, stage, field)
    return linked


def record_conference_outcome(
    deps: Deployment,
    conference_id: str,
    *,
    held_on: date,
    attendees: list[dict],
    plan_required: bool | None = None,
    outline_plan: dict | None = None,
    decision: str | None = None,
    plan: dict | None = None,
    reason: str | None = None,
    today: date,
    actor: Principal,
    **recorded: Any,
) -> dict:
    """An initial conference decides whether a plan is required (and agrees
    its ``outline_plan``); a review conference continues, revises (``plan``)
    or ends the plan (``reason``). Plan content is as stored (dates as ISO
    text). ``recorded``: how it was run (``governance.RECORDED``). Returns
    the conference, the case and the plan (or None) as saved."""
    conference = load(deps, CONFERENCES, conference_id, "conference")
    _not_alone(conference, "held")
    step, outcome = holding(
        deps,
        conference,
        held_on=held_on,
        attendees=attendees,
        plan_required=plan_required,
        outline_plan=outline_plan,
        decision=decision,
        plan=plan,
        reason=reason,
        today=today,
        actor=actor,
        **recorded,
    )
    commit_steps(deps, actor, [step])
    return outcome


def holding(
    deps: Deployment,
    conference: dict,
    *,
    held_on: date,
    attendees: list[dict],
    plan_required: bool | None = None,
    outline_plan: dict | None = None,
    decision: str | None = None,
    plan: dict | None = None,
    reason: str | None = None,
    today: date,
    actor: Principal,
    agency_views: list[dict] | None = None,
    exclusions: list[dict] | None = None,
    child_participation: dict | None = None,
) -> tuple[Step, dict]:
    """The step that records a conference's outcome, and the conference,
    the case and the plan (or None) as it saves them. Refused (a 403) when
    the person recording it manages the case, and (a 422 on ``attendees``)
    when the agencies that attended are fewer than the deployment's quorum."""
    case = load(deps, CASES, conference["case_id"], "case")
    governance.check_independent(case, actor.user)
    given = {"agency_views": agency_views, "exclusions": exclusions, "child_participation": child_participation}
    governance.check_recorded(given)
    quorum = governance.quorum_of(attendees, quorum_rule(deps))
    plan_before = _plan_of(deps, case) if conference["kind"] == "review" else None
    if outline_plan is not None:
        outline_plan = _agreed_content(deps, outline_plan, held_on=held_on, field="outline_plan", stage="outline")
    if plan is not None:
        plan = _agreed_content(
            deps,
            plan,
            held_on=held_on,
            field="plan",
            stage="revision",
            plan_began=plan_before["created_on"] if plan_before else None,
        )
    lc.check_outcome_decides(conference, plan_required=plan_required, decision=decision)
    common: dict[str, Any] = dict(
        held_on=held_on,
        today=today,
        decided_by=actor.user,
        attendees=attendees,
        chair=staff.ref(deps.store, actor.user) if actor.holds("chair") else None,
        recorded=governance.recorded(given, attendees, quorum),
    )
    if conference["kind"] in lc.INITIAL_KINDS:
        case_after, conf_after, plan_after, events = lc.hold_initial_conference(
            case,
            conference,
            plan_required=plan_required,
            plan_content=outline_plan,
            previous_plan_ids=[p["_id"] for p in plans_of_child(deps.store, case["authority"], case["child_id"])],
            **common,
        )
    else:
        if plan_before is None:
            plan_before = load(deps, PLANS, case["plan_id"], "plan")
        case_after, conf_after, plan_after, events = lc.hold_review_conference(
            case, conference, plan_before, decision=decision, plan_content=plan, reason=reason, **common
        )
    if conference["kind"] == "initial":  # pre-birth when the child is still unborn on the day it is recorded
        conf_after = {k: v for k, v in conf_after.items() if k not in ("pre_birth", "expected_date_of_birth")}
        conf_after.update(mark_pre_birth(deps, case["child_id"], events, "conference.held.v1"))
    _of_family(conference, events)
    step = Step(
        "record_conference_outcome",
        "conference",
        conference["_id"],
        case["child_id"],
        events,
        replaces=[(CASES, case_after, case), (CONFERENCES, conf_after, conference)],
    )
    if plan_after is not None:
        if plan_before is None:
            step.inserts.append((PLANS, plan_after))
        else:
            step.replaces.append((PLANS, plan_after, plan_before))
        step.inserts += plan_version_inserts(plan_after, plan_before)
    return step, {
        "conference": saved(conf_after, conference),
        "case": saved(case_after, case),
        "plan": saved(plan_after, plan_before) if plan_after else None,
    }


def quorum_rule(deps: Deployment) -> dict | None:
    """The deployment's quorum for a conference (``cpp_conference_quorum``, the last plugin that answers), or
    None: no quorum rule."""
    answers = deps.plugins.answers("cpp_conference_quorum")
    return answers[-1][1] if answers else None


def _commit_conference_step(
    deps: Deployment, actor: Principal, action: str, conference: dict, after: dict, events: list
) -> dict:
    """Commit a step that changes only the conference; returns it as saved."""
    _of_family(conference, events)
    step = Step(action, "conference", conference["_id"], conference["child_id"], events)
    step.replaces.append((CONFERENCES, after, conference))
    commit_steps(deps, actor, [step])
    return saved(after, conference)


def record_invitations(deps: Deployment, conference_id: str, *, sent_on: date, today: date, actor: Principal) -> dict:
    """The invitations to a scheduled conference went out; returns the conference as saved."""
    conference = load(deps, CONFERENCES, conference_id, "conference")
    after, events = conference_steps.record_invitations(
        conference, sent_on=sent_on, today=today, recorded_by=actor.user
    )
    return _commit_conference_step(deps, actor, "record_invitations", conference, after, events)


def record_inquorate_meeting(
    deps: Deployment,
    conference_id: str,
    *,
    met_on: date,
    reason: str,
    scheduled_for: date,
    expected_version: int,
    today: date,
    actor: Principal,
) -> dict:
    """The conference met but was not quorate, and is reconvened on ``scheduled_for``. A VersionConflict when
    the conference is no longer at ``expected_version``."""
    conference = load(deps, CONFERENCES, conference_id, "conference", at=expected_version)
    _not_alone(conference, "reconvened")
    case = load(deps, CASES, conference["case_id"], "case")
    after, events = conference_steps.record_inquorate_meeting(
        case,
        conference,
        met_on=met_on,
        reason=reason,
        scheduled_for=scheduled_for,
        today=today,
        recorded_by=actor.user,
        plan=_plan_of(deps, case),
    )
    return _commit_conference_step(deps, actor, "record_inquorate_meeting", conference, after, events)


def issue_record(deps: Deployment, conference_id: str, *, issued_on: date, today: date, actor: Principal) -> dict:
    """The held conference's record was issued to those invited; returns the conference as saved."""
    conference = load(deps, CONFERENCES, conference_id, "conference")
    after, events = conference_steps.issue_record(conference, issued_on=issued_on, today=today, recorded_by=actor.user)
    return _commit_conference_step(deps, actor, "issue_conference_record", conference, after, events)
