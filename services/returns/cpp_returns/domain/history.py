"""A child's history as the returns need it, folded from the events about them.

Each child has one record, made only from events (the returns never ask
another service): who they are (the latest ``child.*`` event's census
fields, else the ``child`` block every event carries), and each case with
its referral, assessments, strategy discussions, enquiries, conferences,
plans, child in need plans, visits and deadlines.

``fold`` is deterministic and mostly indifferent to order: events from the
plans service and the scheduler arrive in any interleaving, so each fact is
kept under its own id (a plan by its id, a deadline by its id) and later
facts about it replace earlier ones only when they are newer by the
source's own order (a plan snapshot by its ``plan_version``... or, between
equals, the event's time). The same events in the same order always give
the same record, which is what makes a rebuilt return byte-identical.
"""

from __future__ import annotations

import copy
from typing import Any

#: The event types the returns keep: every other is ignored (and never stored).
KEPT = (
    "child.*",
    "case.*",
    "referral.*",
    "assessment.*",
    "strategy_discussion.*",
    "enquiry.*",
    "conference.*",
    "plan.*",
    "child_in_need_plan.*",
    "transfer.*",
    "visit.*",
    "deadline.*",
)

CHILD_FIELDS = (
    "date_of_birth",
    "expected_date_of_birth",
    "gender",
    "ethnicity",
    "disabilities",
    "upn",
    "date_of_death",
)


def child_of(event: dict[str, Any]) -> str | None:
    """The child an event is about: what the returns are filed under."""
    data = event.get("data") or {}
    return data.get("child_id") or None


def empty(child_id: str, authority: str | None) -> dict[str, Any]:
    return {"child_id": child_id, "authority": authority, "child": {}, "cases": {}, "last_event": None}


def _case(state: dict[str, Any], case_id: str) -> dict[str, Any]:
    return state["cases"].setdefault(
        case_id,
        {
            "case_id": case_id,
            "opened_on": None,
            "team": None,
            "social_worker": None,
            "referral": None,
            "assessments": {},
            "strategy_discussions": {},
            "enquiry": None,
            "conferences": {},
            "plans": {},
            "child_in_need_plans": {},
            "transfer_out": None,
            "transfer_in": None,
            "visits": {},
            "deadlines": {},
            "closed": None,
        },
    )


def _newer(stored: dict[str, Any] | None, order: tuple) -> bool:
    """Whether a fact ordered by ``order`` replaces the stored one (kept with its ``_order``)."""
    return stored is None or tuple(stored.get("_order") or ()) <= order


def _child(state: dict[str, Any], event: dict[str, Any]) -> None:
    data = event.get("data") or {}
    child = state["child"]
    named = data.get("child") or {}
    if event["type"].startswith("child."):
        version = data.get("version")
        order = (version if isinstance(version, int) else 0, event.get("time") or "")
        if _newer(child, order):
            for key in CHILD_FIELDS:
                if key in data:
                    child[key] = copy.deepcopy(data[key])
            child["_order"] = list(order)
    # Every event names the child: the date of birth it gives fills in what no child event has given.
    if named.get("date_of_birth") and not child.get("date_of_birth") and not child.get("expected_date_of_birth"):
        child["named_date_of_birth"] = named["date_of_birth"]
    if named.get("name"):
        child["name"] = named["name"]


def fold(state: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """The child's record after ``event`` (``state`` is changed and returned)."""
    etype, data = event["type"], event.get("data") or {}
    state["last_event"] = {"id": event.get("id"), "time": event.get("time"), "type": etype}
    _child(state, event)
    case_id = data.get("case_id")
    if not case_id:
        return state
    case = _case(state, case_id)
    handler = _HANDLERS.get(etype) or _PREFIX_HANDLERS.get(etype.split(".", 1)[0])
    if handler is not None:
        handler(case, data, event)
    return state


def _opened(case, data, event) -> None:
    at = data.get("opened_at") or event.get("time") or ""
    case["opened_on"] = case["opened_on"] or at[:10] or None
    _people(case, data)


def _people(case, data, event=None) -> None:
    if "team" in data:
        case["team"] = data.get("team")
    if "social_worker" in data:
        case["social_worker"] = copy.deepcopy(data.get("social_worker"))


def _closed(case, data, event) -> None:
    case["closed"] = {"on": data.get("closed_on"), "reason": data.get("reason")}


def _referral(case, data, event) -> None:
    referral = case["referral"] or {}
    for key in ("received_on", "source", "source_code", "decided_on", "decision"):
        if data.get(key) is not None:
            referral[key] = data[key]
    case["referral"] = referral


def _assessment(case, data, event) -> None:
    started = data.get("started_on")
    if not started:
        return
    record = case["assessments"].setdefault(started, {"started_on": started})
    for key in ("completed_on", "outcome", "primary_need", "factors"):
        if data.get(key) is not None:
            record[key] = copy.deepcopy(data[key])


def _strategy(case, data, event) -> None:
    sid = data.get("strategy_discussion_id") or data.get("held_on")
    case["strategy_discussions"][sid] = {
        "held_on": data.get("held_on"),
        "initiated_enquiries": bool(data.get("initiated_enquiries", True)),
    }


def _enquiry(case, data, event) -> None:
    case["enquiry"] = {"completed_on": data.get("completed_on"), "conference_required": data.get("conference_required")}


def _conference(case, data, event) -> None:
    cid = data.get("conference_id")
    if not cid:
        return
    conf = case["conferences"].setdefault(cid, {"kind": data.get("kind"), "status": None})
    etype = event["type"]
    if data.get("kind"):
        conf["kind"] = data["kind"]
    if data.get("plan_id"):
        conf["plan_id"] = data["plan_id"]
    if data.get("scheduled_for") and etype in ("conference.scheduled.v1", "conference.rescheduled.v1"):
        conf["scheduled_for"] = data["scheduled_for"]
    if etype == "conference.held.v1":
        conf["status"] = "held"
        conf["held_on"] = data.get("held_on")
        conf["plan_required"] = data.get("plan_required")
        conf["decision"] = data.get("decision")
    elif etype == "conference.cancelled.v1" and conf.get("status") != "held":
        conf["status"] = "cancelled"


def _plan(case, data, event) -> None:
    pid = data.get("plan_id")
    if not pid or "created_on" not in data:
        return
    order = (data.get("plan_version") or 0, 1 if data.get("status") == "ended" else 0, event.get("time") or "")
    stored = case["plans"].get(pid)
    if not _newer(stored, order):
        return
    case["plans"][pid] = {
        "plan_id": pid,
        "created_on": data.get("created_on"),
        "status": data.get("status"),
        "ended": copy.deepcopy(data.get("ended")),
        "categories": list(data.get("categories") or []),
        "initial_categories": list(data.get("initial_categories") or data.get("categories") or []),
        "previous_plans": data.get("previous_plans"),
        "key_worker_user": (data.get("key_worker") or {}).get("user"),
        "_order": list(order),
    }


def _cin_plan(case, data, event) -> None:
    pid = data.get("child_in_need_plan_id")
    if pid:
        case["child_in_need_plans"][pid] = {"created_on": data.get("created_on")}


def _transfer(case, data, event) -> None:
    if event["type"] == "transfer.out_started.v1":
        case["transfer_out"] = {"started_on": data.get("started_on"), "notified_on": data.get("notified_on")}
    elif event["type"] == "transfer.received.v1":
        case["transfer_in"] = {"notified_on": data.get("notified_on")}


def _visit(case, data, event) -> None:
    vid = data.get("visit_id")
    if vid and event["type"] == "visit.recorded.v1":
        case["visits"][vid] = {
            "visited_on": data.get("visited_on"),
            "child_seen": data.get("child_seen"),
            "seen_alone": data.get("seen_alone"),
            "plan_id": data.get("plan_id"),
        }


DEADLINE_ORDER = {"pending": 0, "approaching": 1, "overdue": 2, "met": 3, "cancelled": 3, "superseded": 3}


def _deadline(case, data, event) -> None:
    did = data.get("deadline_id")
    if not did or "status" not in data:
        return
    status = data["status"]
    order = (DEADLINE_ORDER.get(status, 0), event.get("time") or "")
    stored = case["deadlines"].get(did)
    if not _newer(stored, order):
        return
    met = data.get("met") or {}
    case["deadlines"][did] = {
        "rule_id": data.get("rule_id"),
        "kind": data.get("kind"),
        "status": status,
        "due_on": data.get("due_on"),
        "latest_on": data.get("latest_on"),
        "plan_id": data.get("plan_id"),
        "met_on": met.get("on"),
        "late": met.get("late"),
        "team": data.get("team"),
        "assignee": copy.deepcopy(data.get("assignee")),
        "_order": list(order),
    }


_HANDLERS = {
    "case.opened.v1": _opened,
    "case.allocated.v1": _people,
    "case.closed.v1": _closed,
    "strategy_discussion.held.v1": _strategy,
    "enquiry.completed.v1": _enquiry,
}
_PREFIX_HANDLERS = {
    "referral": _referral,
    "assessment": _assessment,
    "conference": _conference,
    "plan": _plan,
    "child_in_need_plan": _cin_plan,
    "transfer": _transfer,
    "visit": _visit,
    "deadline": _deadline,
}
