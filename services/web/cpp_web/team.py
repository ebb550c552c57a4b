"""A team manager's pages: the team's overdue and due-soon steps by worker,
the team's cases, plans open longer than the deployment's flag, and the
approvals queue (reports to countersign, resource panel requests).

The manager's team is the one the plans service's staff directory holds for
them (``GET /v1/staff/me``); the services decide what they may see.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, render_template

from .app import _int_setting
from .client import NotFound
from .views import _conf, _days_between, api, is_overdue, signed_in

bp = Blueprint("team", __name__)

DUE_SOON_DAYS = 7
MAX_PAGES = 10  # a team's lists are read a page at a time, up to this many pages
NO_ONE = "No one yet"


@bp.record_once
def _settings(state) -> None:
    """CPP_WEB_LONG_PLAN_MONTHS (default 24): a plan open longer than this is
    flagged on the Team page. Read at start, so a bad value stops the start."""
    conf = state.app.extensions["cpp_web"]
    conf["long_plan_months"] = _int_setting(conf["settings"], "LONG_PLAN_MONTHS", 24)


def months_before(day: date, months: int) -> date:
    """The same day of the month ``months`` earlier (the month's last day when
    that month is shorter)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover - February has 28 days


def months_between(earlier: date, later: date) -> int:
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    return months - (1 if later.day < earlier.day else 0)


def _pages(service: str, path: str, **params) -> list[dict]:
    items: list[dict] = []
    for page in range(1, MAX_PAGES + 1):
        answer = api(service, path, page=page, **params)
        items.extend(answer["items"])
        if len(items) >= answer.get("total", 0) or not answer["items"]:
            break
    return items


def steps_by_worker(deadlines: list[dict], today: date) -> list[dict]:
    """Overdue and due-soon steps grouped by the person who must act, the
    groups by name, each group's steps most overdue first."""
    soon = (today + timedelta(days=DUE_SOON_DAYS)).isoformat()
    groups: dict[str, dict] = {}
    for d in deadlines:
        if not d.get("due_on"):
            continue
        overdue = is_overdue(d, today)
        if not overdue and d["due_on"] > soon:
            continue
        who = d.get("assignee") or {}
        key = who.get("user") or ""
        group = groups.setdefault(key, {"name": who.get("name") or NO_ONE, "steps": [], "overdue": 0})
        days = _days_between(d.get("latest_on") or d["due_on"], today) if overdue else 0
        group["steps"].append({**d, "overdue": overdue, "days_overdue": days})
        group["overdue"] += overdue
    for group in groups.values():
        group["steps"].sort(key=lambda d: (d["due_on"], d.get("name") or ""))
    return sorted(groups.values(), key=lambda g: (g["name"] == NO_ONE, g["name"].casefold()))


def long_plans(months: int, today: date) -> list[dict]:
    """The team's plans in force that were made more than ``months`` ago, the
    longest open first. Only cases opened before then can hold one, so only
    their plans are read."""
    cutoff = months_before(today, months).isoformat()
    found = []
    for case in _pages("plans", "/v1/cases", team="mine", status="on_plan", page_size=100):
        if not case.get("plan_id") or (case.get("opened_at") or "")[:10] > cutoff:
            continue
        try:
            plan = api("plans", f"/v1/plans/{case['plan_id']}")
        except NotFound:
            continue
        created = (plan.get("created_on") or "")[:10]
        if plan.get("status") == "ended" or not created or created > cutoff:
            continue
        found.append(
            {
                "case": case,
                "plan": plan,
                "created_on": created,
                "months": months_between(date.fromisoformat(created), today),
            }
        )
    return sorted(found, key=lambda p: p["created_on"])


@bp.get("/team")
@signed_in("team_manager")
def team():
    me = api("plans", "/v1/staff/me")
    team_name = me.get("team")
    months = _conf()["long_plan_months"]
    if not team_name:
        return render_template("team/team.html", team_name=None, months=months)
    today = date.today()
    soon = (today + timedelta(days=DUE_SOON_DAYS)).isoformat()
    deadlines = _pages("scheduler", "/v1/deadlines", team=team_name, status="open", due_before=soon, page_size=200)
    cases = api("plans", "/v1/cases", team="mine", page_size=100)
    return render_template(
        "team/team.html",
        team_name=team_name,
        groups=steps_by_worker(deadlines, today),
        cases=cases["items"],
        cases_total=cases.get("total", 0),
        long_plans=long_plans(months, today),
        months=months,
        soon_days=DUE_SOON_DAYS,
    )


KINDS = {"report_countersigning": "Report to countersign", "resource_panel": "Resource panel request"}


@bp.get("/approvals")
@signed_in("team_manager")
def approvals():
    items = api("plans", "/v1/approvals")
    return render_template("team/approvals.html", items=items, kinds=KINDS)
