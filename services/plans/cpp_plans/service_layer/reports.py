"""Reports to conference and their steps, the resource panel, and the child
in need plan after a step-down. A step the person may not take is the
domain's ``NotAllowed`` (an HTTP 403)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from cpp_shared.auth import Principal

from ..domain import plan_content
from ..domain import reports as rp
from ..store import CASES, CHILD_IN_NEED_PLANS, CONFERENCES, PLANS, REPORT_VERSIONS, REPORTS, RESOURCE_PANEL_REQUESTS
from .common import Deployment, Step, commit_step, commit_steps, council_checks, load, load_case, saved


def _checked_plan(deps: Deployment, plan: dict | None, conference: dict) -> dict | None:
    """The plan a report proposes (content as stored): the plan's own rules
    and the council's, as for the conference it goes to."""
    if plan is None:
        return None
    plan_content.check(plan, None, field="plan")
    council_checks(deps, plan, "outline" if conference["kind"] == "initial" else "revision", "plan")
    return plan


def _commit(deps: Deployment, actor: Principal, action: str, before: dict | None, after: dict, events) -> dict:
    """The report, a version record when its content changed, the audit entry and the events."""
    inserts = [(REPORTS, after)] if before is None else []
    if before is None or after["report_version"] != before["report_version"]:
        inserts.append((REPORT_VERSIONS, rp.version_record(after)))
    replaces = [(REPORTS, after, before)] if before else []
    commit_step(
        deps,
        actor,
        action,
        "report",
        after["_id"],
        child_id=after["child_id"],
        events=events,
        inserts=inserts,
        replaces=replaces,
    )
    return saved(after, before)


def draft_report(
    deps: Deployment, conference_id: str, *, content: dict, plan: dict | None, on: date, today: date, actor: Principal
) -> dict:
    """Draft the report to a conference (``content`` and ``plan`` as stored)."""
    conference = load(deps, CONFERENCES, conference_id, "conference")
    step, report = drafting(deps, conference, content=content, plan=plan, on=on, today=today, actor=actor)
    commit_steps(deps, actor, [step])
    return saved(report)


def drafting(
    deps: Deployment,
    conference: dict,
    *,
    content: dict,
    plan: dict | None,
    on: date,
    today: date,
    actor: Principal,
    family_report_id: str | None = None,
) -> tuple[Step, dict]:
    """The step that drafts a report to the conference (one child's part of
    the family's report ``family_report_id``, when one), and the report."""
    case = load(deps, CASES, conference["case_id"], "case")
    plan = _checked_plan(deps, plan, conference)
    report, events = rp.draft_report(
        conference, case, content=content, plan_content=plan, on=on, today=today, author=actor.user
    )
    if family_report_id is not None:
        report["family_report_id"] = family_report_id
    step = Step(
        "draft_report",
        "report",
        report["_id"],
        report["child_id"],
        events,
        inserts=[(REPORTS, report), (REPORT_VERSIONS, rp.version_record(report))],
    )
    return step, report


def change_report(
    deps: Deployment, report_id: str, *, content: dict, plan: dict | None, expected_version: int, actor: Principal
) -> dict:
    """Change a draft (its author only): ``content`` (the items given)
    replaces the report's, ``plan`` its plan; a new numbered version."""
    report = load(deps, REPORTS, report_id, "report", at=expected_version)
    conference = load(deps, CONFERENCES, report["conference_id"], "conference")
    plan = _checked_plan(deps, plan, conference)
    after = rp.revise_report(
        report, content={**report["content"], **content} if content else None, plan_content=plan, by=actor.user
    )
    return _commit(deps, actor, "change_report", report, after, [])


def _take_step(
    deps: Deployment, report_id: str, action: str, step: Callable, *, on: date, today: date, actor: Principal, **kw: Any
) -> dict:
    report = load(deps, REPORTS, report_id, "report")
    conference = load(deps, CONFERENCES, report["conference_id"], "conference")
    after, events = step(report, conference, on=on, today=today, by=actor.user, **kw)
    return _commit(deps, actor, action, report, after, events)


def submit_report(deps: Deployment, report_id: str, *, on: date, today: date, actor: Principal) -> dict:
    """Pass the report to a team manager for countersigning (its author)."""
    return _take_step(deps, report_id, "submit_report", rp.submit, on=on, today=today, actor=actor)


def countersign_report(deps: Deployment, report_id: str, *, on: date, today: date, actor: Principal) -> dict:
    """Countersign a submitted report (a team manager, not its author)."""
    return _take_step(
        deps,
        report_id,
        "countersign_report",
        rp.countersign,
        on=on,
        today=today,
        actor=actor,
        role=actor.acting_as("team_manager"),
    )


def return_report(deps: Deployment, report_id: str, *, reason: str, on: date, today: date, actor: Principal) -> dict:
    """Return a submitted report to its author for changes, with the reason (a team manager)."""
    return _take_step(
        deps,
        report_id,
        "return_report",
        rp.return_report,
        on=on,
        today=today,
        actor=actor,
        reason=reason,
        role=actor.acting_as("team_manager"),
    )


def share_report(
    deps: Deployment,
    report_id: str,
    *,
    with_: list[dict],
    child_included: bool,
    on: date,
    today: date,
    actor: Principal,
) -> dict:
    """The countersigned report shared with the parents (and the child where appropriate)."""
    return _take_step(
        deps,
        report_id,
        "share_report",
        rp.share,
        on=on,
        today=today,
        actor=actor,
        with_=with_,
        child_included=child_included,
    )


def send_report_to_chair(deps: Deployment, report_id: str, *, on: date, today: date, actor: Principal) -> dict:
    """The shared report sent to the conference chair."""
    return _take_step(deps, report_id, "send_report_to_chair", rp.send_to_chair, on=on, today=today, actor=actor)


def request_resource_panel(
    deps: Deployment, plan_id: str, *, reason: str, services: list[str], on: date, today: date, actor: Principal
) -> dict:
    """Take the plan to the resource panel for approval of services."""
    plan = load(deps, PLANS, plan_id, "plan")
    req, events = rp.request_panel(plan, reason=reason, services=services, on=on, today=today, by=actor.user)
    commit_step(
        deps,
        actor,
        "request_resource_panel",
        "resource_panel_request",
        req["_id"],
        child_id=plan["child_id"],
        events=events,
        inserts=[(RESOURCE_PANEL_REQUESTS, req)],
    )
    return saved(req)


def decide_resource_panel(
    deps: Deployment,
    request_id: str,
    *,
    decision: str,
    conditions: str | None,
    on: date,
    today: date,
    actor: Principal,
    expected_version: int | None = None,
) -> dict:
    """The panel's decision (a team manager); with ``expected_version``, a
    VersionConflict when the request is no longer at it."""
    req = load(deps, RESOURCE_PANEL_REQUESTS, request_id, "resource panel request", at=expected_version)
    after, events = rp.decide_panel(
        req,
        decision=decision,
        conditions=conditions,
        on=on,
        today=today,
        by=actor.user,
        role=actor.acting_as("team_manager"),
    )
    commit_step(
        deps,
        actor,
        "decide_resource_panel",
        "resource_panel_request",
        request_id,
        child_id=req["child_id"],
        events=events,
        replaces=[(RESOURCE_PANEL_REQUESTS, after, req)],
    )
    return saved(after, req)


def create_child_in_need_plan(
    deps: Deployment,
    case_id: str,
    *,
    key_worker: dict,
    needs: str,
    services: list[str],
    review_on: date,
    on: date,
    today: date,
    actor: Principal,
) -> dict:
    """The child in need plan that follows a step-down."""
    case = load_case(deps, case_id)
    cin, events = rp.create_child_in_need_plan(
        case,
        key_worker=key_worker,
        needs=needs,
        services=services,
        review_on=review_on,
        on=on,
        today=today,
        by=actor.user,
    )
    commit_step(
        deps,
        actor,
        "create_child_in_need_plan",
        "child_in_need_plan",
        cin["_id"],
        child_id=case["child_id"],
        events=events,
        inserts=[(CHILD_IN_NEED_PLANS, cin)],
    )
    return saved(cin)
