"""Reports to conference and their steps, the resource panel, and the child
in need plan that follows a step-down.

Seed 004 (Guernsey) sets the days around a conference: the draft plan goes
into the report 4 working days before, the manager countersigns 3 days
before, the parents (and the child where appropriate) see it 2 days before,
the chair gets it 1 day before; for a review, the plan is updated in the
review report 5 working days before. Each is a step someone does here, with
who and when, and an event the scheduler meets its deadline with.

A report moves:

    draft ──submit──► submitted ──countersign──► countersigned ──share──► shared ──send to chair──► sent_to_chair
      ▲                   │
      └──────return───────┘  (with the reason: back to draft)

Plain Python over plain documents, like lifecycle.py: LifecycleError is a
409 (a step out of order, naming the step missing), InvalidStep a 422 by
field, NotAllowed a 403 (the author countersigning their own report).
"""

from __future__ import annotations

import copy
import uuid
from datetime import date
from typing import Any

from .lifecycle import Event, InvalidStep, LifecycleError

# A transfer-in conference decides as an initial one does, from the receiving council's enquiry report.
KINDS = {"initial": "enquiry_report", "review": "review_report", "transfer_in": "enquiry_report"}
STEPS = ("draft", "submitted", "countersigned", "shared", "sent_to_chair")
SHARE_WAYS = ("in_person", "post", "email")
PANEL_DECISIONS = ("approved", "declined", "deferred")


class NotAllowed(Exception):
    """The caller may not take this step on this record (a 403)."""


def _iso(d: date) -> str:
    return d.isoformat()


def _check_day(field: str, on: date, today: date, conference: dict) -> None:
    if on > today:
        raise InvalidStep({field: [f"{on.isoformat()} is in the future; record it once it has happened"]})
    held = (conference.get("outcome") or {}).get("held_on")
    if held and on.isoformat() > held:
        raise InvalidStep({field: [f"is after the conference was held on {held}: a report is for before it"]})


def _event(record: dict, step: str, on: date, by: str, **extra: Any) -> Event:
    return (
        f"report.{step}.v1",
        record["case_id"],
        {
            "report_id": record["_id"],
            "conference_id": record["conference_id"],
            "case_id": record["case_id"],
            "child_id": record["child_id"],
            "plan_id": record["plan_id"],
            "report_kind": record["kind"],
            "done_on": _iso(on),
            "by": by,
            **extra,
        },
    )


def report_snapshot(report: dict) -> dict:
    """The report as countersigned: what the docs service renders (the
    professional report, and the family's plain-language version to share).
    A countersigned report no longer changes, so it is the version shared."""
    return {
        "report_version": report["report_version"],
        "author": report["author"],
        "content": copy.deepcopy(report["content"]),
        "plan": copy.deepcopy(report["plan"]),
        "steps": copy.deepcopy(report["steps"]),
    }


def draft_report(
    conference: dict,
    case: dict,
    *,
    content: dict,
    plan_content: dict | None,
    on: date,
    today: date,
    author: str,
    report_id: str | None = None,
) -> tuple[dict, list[Event]]:
    if conference["status"] != "scheduled":
        raise LifecycleError(f"the conference is {conference['status']}: reports are written for a scheduled one")
    _check_day("drafted_on", on, today, conference)
    if conference["kind"] == "review" and not plan_content:
        raise InvalidStep({"plan": ["a review report includes the plan as updated for the review"]})
    report = {
        "_id": report_id or uuid.uuid4().hex,
        "authority": conference["authority"],
        "conference_id": conference["_id"],
        "case_id": conference["case_id"],
        "child_id": conference["child_id"],
        "plan_id": case.get("plan_id") if conference["kind"] == "review" else None,
        "kind": KINDS[conference["kind"]],
        "status": "draft",
        "author": author,
        "content": copy.deepcopy(content),
        "plan": copy.deepcopy(plan_content),
        "report_version": 1,
        "steps": [{"step": "drafted", "on": _iso(on), "by": author}],
        "shared_with": None,
    }
    return report, [_event(report, "drafted", on, author)]


def revise_report(report: dict, *, content: dict | None, plan_content: dict | None, by: str) -> dict:
    """A change to a draft: a new numbered version of the report."""
    if report["status"] != "draft":
        raise LifecycleError(f"the report is {report['status']}: only a draft changes (return it to its author first)")
    if by != report["author"]:
        raise NotAllowed("only the report's author changes its draft")
    new = copy.deepcopy(report)
    if content is not None:
        new["content"] = copy.deepcopy(content)
    if plan_content is not None:
        new["plan"] = copy.deepcopy(plan_content)
    new["report_version"] = report["report_version"] + 1
    return new


def _step(report: dict, *, expected: str, missing: str, to: str, record: dict) -> dict:
    if report["status"] != expected:
        done = STEPS.index(report["status"]) >= STEPS.index(to) if report["status"] in STEPS else False
        if done:
            raise LifecycleError(f"the report is already {report['status']}")
        raise LifecycleError(f"the report is {report['status']}: {missing} first")
    new = copy.deepcopy(report)
    new["status"] = to
    new["steps"].append(record)
    return new


def submit(report: dict, conference: dict, *, on: date, today: date, by: str) -> tuple[dict, list[Event]]:
    if by != report["author"]:
        raise NotAllowed("the report's author submits it for countersigning")
    new = _step(
        report,
        expected="draft",
        missing="draft it",
        to="submitted",
        record={"step": "submitted", "on": _iso(on), "by": by},
    )
    _check_day("submitted_on", on, today, conference)
    return new, [_event(new, "submitted", on, by)]


def countersign(
    report: dict, conference: dict, *, on: date, today: date, by: str, role: str
) -> tuple[dict, list[Event]]:
    if role != "team_manager":
        raise NotAllowed("a team manager countersigns a report")
    if by == report["author"]:
        raise NotAllowed("the author of a report cannot countersign it")
    new = _step(
        report,
        expected="submitted",
        missing="submit it for countersigning",
        to="countersigned",
        record={"step": "countersigned", "on": _iso(on), "by": by},
    )
    _check_day("countersigned_on", on, today, conference)
    return new, [_event(new, "countersigned", on, by, report=report_snapshot(new))]


def return_report(
    report: dict, conference: dict, *, reason: str, on: date, today: date, by: str, role: str
) -> tuple[dict, list[Event]]:
    if role != "team_manager":
        raise NotAllowed("a team manager returns a report for changes")
    new = _step(
        report,
        expected="submitted",
        missing="submit it for countersigning",
        to="draft",
        record={"step": "returned", "on": _iso(on), "by": by, "reason": reason},
    )
    _check_day("returned_on", on, today, conference)
    return new, [_event(new, "returned", on, by, reason=reason)]


def share(
    report: dict, conference: dict, *, with_: list[dict], child_included: bool, on: date, today: date, by: str
) -> tuple[dict, list[Event]]:
    if not with_:
        raise InvalidStep(
            {"with": ["name whom the report was shared with (the parents, or those with parental responsibility)"]}
        )
    new = _step(
        report,
        expected="countersigned",
        missing="have it countersigned by a team manager",
        to="shared",
        record={"step": "shared", "on": _iso(on), "by": by},
    )
    _check_day("shared_on", on, today, conference)
    signed = next((s for s in report["steps"] if s["step"] == "countersigned"), None)
    if signed and on.isoformat() < signed["on"]:
        raise InvalidStep({"shared_on": [f"is before the report was countersigned on {signed['on']}"]})
    new["shared_with"] = {"people": copy.deepcopy(with_), "child_included": child_included, "on": _iso(on)}
    return new, [
        _event(
            new,
            "shared",
            on,
            by,
            child_included=child_included,
            ways=sorted({p["how"] for p in with_}),
            interpreter_used=any(p.get("interpreter_used") for p in with_),
        )
    ]


def send_to_chair(report: dict, conference: dict, *, on: date, today: date, by: str) -> tuple[dict, list[Event]]:
    new = _step(
        report,
        expected="shared",
        missing="share it with the family",
        to="sent_to_chair",
        record={"step": "sent_to_chair", "on": _iso(on), "by": by},
    )
    _check_day("sent_on", on, today, conference)
    shared = next((s for s in report["steps"] if s["step"] == "shared"), None)
    if shared and on.isoformat() < shared["on"]:
        raise InvalidStep({"sent_on": [f"is before the report was shared with the family on {shared['on']}"]})
    return new, [_event(new, "sent_to_chair", on, by)]


def version_record(report: dict) -> dict:
    return {
        "_id": f"{report['_id']}:{report['report_version']}",
        "report_id": report["_id"],
        "authority": report["authority"],
        "number": report["report_version"],
        "content": copy.deepcopy(report["content"]),
        "plan": copy.deepcopy(report["plan"]),
        "status": report["status"],
    }


# --- the resource panel -------------------------------------------------------


def request_panel(
    plan: dict, *, reason: str, services: list[str], on: date, today: date, by: str
) -> tuple[dict, list[Event]]:
    if plan["status"] == "ended":
        raise LifecycleError("the plan has ended")
    if on > today:
        raise InvalidStep({"requested_on": [f"{on.isoformat()} is in the future"]})
    if on.isoformat() < plan["created_on"]:
        raise InvalidStep({"requested_on": [f"is before the plan began on {plan['created_on']}"]})
    request = {
        "_id": uuid.uuid4().hex,
        "authority": plan["authority"],
        "plan_id": plan["_id"],
        "case_id": plan["case_id"],
        "child_id": plan["child_id"],
        "reason": reason,
        "services": list(services),
        "requested_on": _iso(on),
        "requested_by": by,
        "status": "waiting",
        "decision": None,
    }
    return request, [
        (
            "resource_panel.requested.v1",
            plan["_id"],
            {
                "request_id": request["_id"],
                "plan_id": plan["_id"],
                "case_id": plan["case_id"],
                "child_id": plan["child_id"],
                "requested_on": request["requested_on"],
            },
        )
    ]


def decide_panel(
    request: dict, *, decision: str, conditions: str | None, on: date, today: date, by: str, role: str
) -> tuple[dict, list[Event]]:
    if role != "team_manager":
        raise NotAllowed("a team manager records the resource panel's decision")
    if request["status"] != "waiting":
        raise LifecycleError(f"the request is already {request['status']}")
    if decision not in PANEL_DECISIONS:
        raise InvalidStep({"decision": [f"must be one of {', '.join(PANEL_DECISIONS)}"]})
    if on > today or on.isoformat() < request["requested_on"]:
        raise InvalidStep({"decided_on": [f"must be between the request ({request['requested_on']}) and today"]})
    new = copy.deepcopy(request)
    new["status"] = "waiting" if decision == "deferred" else decision
    new["decision"] = {"decision": decision, "conditions": conditions, "on": _iso(on), "by": by}
    new.setdefault("history", []).append(new["decision"])
    return new, [
        (
            "resource_panel.decided.v1",
            request["plan_id"],
            {
                "request_id": request["_id"],
                "plan_id": request["plan_id"],
                "case_id": request["case_id"],
                "child_id": request["child_id"],
                "decision": decision,
                "decided_on": _iso(on),
            },
        )
    ]


# --- the child in need plan after a step-down -----------------------------------


def create_child_in_need_plan(
    case: dict, *, key_worker: dict, needs: str, services: list[str], review_on: date, on: date, today: date, by: str
) -> tuple[dict, list[Event]]:
    if case["status"] not in ("child_in_need", "plan_ended"):
        raise LifecycleError(
            f"the case is {case['status']}: a child in need plan follows a step-down "
            "(no conference needed, no plan, or a plan ended)"
        )
    if on > today:
        raise InvalidStep({"created_on": [f"{on.isoformat()} is in the future"]})
    decided = (case.get("step_down") or {}).get("decided_on")
    if decided and on.isoformat() < decided:
        raise InvalidStep({"created_on": [f"is before the step-down was decided on {decided}"]})
    if review_on <= on:
        raise InvalidStep({"review_on": ["must be after the plan is made"]})
    cin = {
        "_id": uuid.uuid4().hex,
        "authority": case["authority"],
        "case_id": case["_id"],
        "child_id": case["child_id"],
        "key_worker": copy.deepcopy(key_worker),
        "needs": needs,
        "services": list(services),
        "review_on": _iso(review_on),
        "created_on": _iso(on),
        "created_by": by,
    }
    return cin, [
        (
            "child_in_need_plan.created.v1",
            case["_id"],
            {
                "child_in_need_plan_id": cin["_id"],
                "case_id": case["_id"],
                "child_id": case["child_id"],
                "created_on": cin["created_on"],
                "review_on": cin["review_on"],
            },
        )
    ]


# --- what waits for a team manager ----------------------------------------------------


def _words(day: str) -> str:
    d = date.fromisoformat(day)
    return f"{d.day} {d:%B %Y}"


def waited_days(since: str, today: date) -> int:
    """Whole calendar days since ``since`` (0 on the day itself)."""
    return max(0, (today - date.fromisoformat(since[:10])).days)


def conference_date(conference: dict | None) -> str | None:
    """The conference's day: when it was held, else when it is scheduled for."""
    if conference is None:
        return None
    return (conference.get("outcome") or {}).get("held_on") or conference.get("scheduled_for")


def report_awaiting(report: dict, *, child_name: str, conference: dict | None, by_name: str, today: date) -> dict:
    """A submitted report on a team manager's list: the child by name, the
    conference's kind and day, who submitted it and how many days it has
    waited for countersigning. Ids stay in their fields, never in the words."""
    submitted = next(s for s in reversed(report["steps"]) if s["step"] == "submitted")
    day = conference_date(conference)
    kind = (conference or {}).get("kind")
    what = "Enquiry report" if report["kind"] == "enquiry_report" else "Review report"
    meeting = f"{kind} conference" if kind else "conference"
    return {
        "kind": "report_countersigning",
        "id": report["_id"],
        "case_id": report["case_id"],
        "child_id": report["child_id"],
        "child_name": child_name,
        "conference_id": report["conference_id"],
        "conference_kind": kind,
        "conference_date": day,
        "since": submitted["on"],
        "waiting_days": waited_days(submitted["on"], today),
        "by": submitted["by"],
        "by_name": by_name,
        "summary": f"{what} for {child_name}'s {meeting}" + (f" on {_words(day)}" if day else ""),
    }


def panel_awaiting(request: dict, *, child_name: str, by_name: str, today: date) -> dict:
    """A resource panel request waiting for its decision, on a team manager's list."""
    return {
        "kind": "resource_panel",
        "id": request["_id"],
        "case_id": request["case_id"],
        "child_id": request["child_id"],
        "child_name": child_name,
        "conference_id": None,
        "conference_kind": None,
        "conference_date": None,
        "since": request["requested_on"],
        "waiting_days": waited_days(request["requested_on"], today),
        "by": request["requested_by"],
        "by_name": by_name,
        "summary": f"Resource panel request for {child_name}: {', '.join(request['services'])}",
    }
