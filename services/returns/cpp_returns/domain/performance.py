"""The figures managers are judged by, for a period, with the children behind each.

* initial conferences within 15 working days: each initial conference held
  in the period after section 47 enquiries, on time when held by its
  target (the scheduler's due day: the deployment's 15 working days);
* reviews on time and visits on time: each review conference and each
  visit the scheduler made due in the period, on time when met by its due
  day (by its latest day, where the rule gives a window); one still open
  after its day is late; one not yet due is not counted;
* plans open over two years: plans in force at the period's end that began
  two years or more before it;
* repeat plans within two years: of the plans begun in the period, those
  whose child had a plan end in the two years before.

Each figure is broken down by the team and the social worker holding the
case, and lists its items (child, case, plan, the day it counts on, on time
or not) so that a manager sees the children behind a number.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from .census import day, section47s

FIGURES = {
    "initial_conferences_in_time": "Initial conferences within 15 working days",
    "reviews_on_time": "Reviews on time",
    "visits_on_time": "Visits on time",
    "plans_open_over_two_years": "Plans open over two years",
    "repeat_plans_within_two_years": "Repeat plans within two years",
}
COUNTS_ONLY = ("plans_open_over_two_years",)
SCHEDULED = {"reviews_on_time": "review_conference", "visits_on_time": "child_visit"}
CLOSED = ("cancelled", "superseded")


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    def overlaps(self, begun: date | None, ended: date | None) -> bool:
        return begun is not None and begun <= self.end and (ended is None or ended >= self.start)

    def holds(self, on: date | None) -> bool:
        return on is not None and self.start <= on <= self.end


def years_before(on: date, years: int) -> date:
    try:
        return on.replace(year=on.year - years)
    except ValueError:  # 29 February
        return on.replace(year=on.year - years, day=28)


def _item(child: dict, case: dict, *, on: date, ok: bool | None, detail: str, plan_id: str | None = None) -> dict:
    worker = case.get("social_worker") or None
    return {
        "child_id": child["child_id"],
        "name": child["child"].get("name"),
        "case_id": case["case_id"],
        "plan_id": plan_id,
        "team": case.get("team"),
        "worker": {"user": worker.get("user"), "name": worker.get("name")} if worker else None,
        "on": on.isoformat(),
        "ok": ok,
        "detail": detail,
    }


def _initial_conferences(child: dict, case: dict, period: Period) -> list[dict]:
    out = []
    for s47 in section47s(case, period):
        held, target = s47["held"], s47["target"]
        if not period.holds(held):
            continue
        ok = held <= target if target else None
        detail = f"enquiries began {s47['start']}; held {held}" + (f", due by {target}" if target else ", no target")
        out.append(_item(child, case, on=held, ok=ok, detail=detail))
    return out


def _scheduled(child: dict, case: dict, period: Period, kind: str, today: date) -> list[dict]:
    out = []
    for deadline in case["deadlines"].values():
        due = day(deadline.get("due_on"))
        if deadline.get("kind") != kind or deadline.get("status") in CLOSED or not period.holds(due):
            continue
        assert due is not None
        latest = day(deadline.get("latest_on")) or due
        met_on = day(deadline.get("met_on"))
        if deadline.get("status") == "met" and met_on:
            ok = not deadline.get("late") and met_on <= latest
            detail = f"due {due}; done {met_on}" + ("" if ok else " (late)")
        elif latest < today:
            ok, detail = False, f"due {due}; not done"
        else:
            continue  # not yet due: not counted
        out.append(_item(child, case, on=due, ok=ok, detail=detail, plan_id=deadline.get("plan_id")))
    return out


def _plans(child: dict) -> list[tuple[dict, dict]]:
    return [(case, plan) for case in child["cases"].values() for plan in case["plans"].values()]


def _open_over_two_years(child: dict, period: Period) -> list[dict]:
    out = []
    for case, plan in _plans(child):
        begun, ended = day(plan["created_on"]), day((plan.get("ended") or {}).get("on"))
        if begun and begun <= years_before(period.end, 2) and (ended is None or ended > period.end):
            out.append(_item(child, case, on=begun, ok=None, detail=f"began {begun}", plan_id=plan["plan_id"]))
    return out


def _repeats(child: dict, period: Period) -> list[dict]:
    out = []
    plans = _plans(child)
    for case, plan in plans:
        begun = day(plan["created_on"])
        if not period.holds(begun):
            continue
        assert begun is not None
        ends = [
            day((other.get("ended") or {}).get("on"))
            for _, other in plans
            if other["plan_id"] != plan["plan_id"] and (other.get("ended") or {}).get("on")
        ]
        earlier = [e for e in ends if e and years_before(begun, 2) <= e <= begun]
        detail = f"began {begun}" + (
            f"; a plan ended {max(earlier)}" if earlier else "; no plan ended in the two years before"
        )
        out.append(_item(child, case, on=begun, ok=bool(earlier), detail=detail, plan_id=plan["plan_id"]))
    return out


def items(children: Iterable[dict[str, Any]], period: Period, today: date) -> dict[str, list[dict]]:
    """Every figure's items, each figure's by day; one pass over ``children``."""
    out: dict[str, list[dict]] = {key: [] for key in FIGURES}
    for child in children:
        for case in sorted(child["cases"].values(), key=lambda c: c["case_id"]):
            out["initial_conferences_in_time"] += _initial_conferences(child, case, period)
            for key, kind in SCHEDULED.items():
                out[key] += _scheduled(child, case, period, kind, today)
        out["plans_open_over_two_years"] += _open_over_two_years(child, period)
        out["repeat_plans_within_two_years"] += _repeats(child, period)
    for key in out:
        out[key].sort(key=lambda i: (i["on"], i["child_id"], i["case_id"]))
    return out


def summary(key: str, found: list[dict]) -> dict[str, Any]:
    if key in COUNTS_ONLY:
        return {"count": len(found), "met": None, "percent": None}
    judged = [i for i in found if i["ok"] is not None]
    met = sum(1 for i in judged if i["ok"])
    return {"count": len(judged), "met": met, "percent": round(100 * met / len(judged), 1) if judged else None}


def _grouped(found: dict[str, list[dict]], by) -> list[tuple[Any, dict[str, Any]]]:
    groups: dict[Any, dict[str, list[dict]]] = {}
    for key, listed in found.items():
        for item in listed:
            groups.setdefault(by(item), {k: [] for k in FIGURES})[key].append(item)
    return [(group, {k: summary(k, v) for k, v in figures.items()}) for group, figures in groups.items()]


def figures(
    children: Iterable[dict[str, Any]],
    period: Period,
    *,
    today: date,
    team: str | None = None,
    worker: str | None = None,
) -> dict[str, Any]:
    """The period's figures (of one team's or one worker's cases, when asked), with their items, by team
    and by worker."""
    found = items(children, period, today)
    if team is not None:
        found = {k: [i for i in v if i["team"] == team] for k, v in found.items()}
    if worker is not None:
        found = {k: [i for i in v if (i["worker"] or {}).get("user") == worker] for k, v in found.items()}
    by_team = _grouped(found, lambda i: i["team"] or "")
    by_worker = _grouped(found, lambda i: ((i["worker"] or {}).get("user") or "", (i["worker"] or {}).get("name")))
    return {
        "figures": {k: {"label": FIGURES[k], **summary(k, v), "children": v} for k, v in found.items()},
        "by_team": [{"team": t or None, "figures": f} for t, f in sorted(by_team, key=lambda g: g[0])],
        "by_worker": [
            {"worker": {"user": u, "name": n} if u else None, "figures": f}
            for (u, n), f in sorted(by_worker, key=lambda g: g[0][0])
        ],
    }
