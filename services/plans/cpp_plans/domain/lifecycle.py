"""The child protection lifecycle, from the strategy discussion to the plan.

Plain Python over plain documents: each step checks the rules of the seeds
(DOMAIN.md) against the current state, and returns the new state and the
events to publish. Nothing here knows about HTTP or the store, so the rules
are tested fast and alone; the API parses, calls a step and persists.

A case moves:

    enquiries ──(enquiry outcome: no conference)──────────► child_in_need
        │
        └─(enquiry outcome: conference required)─► conference_pending
                │
                └─(initial conference held)─┬─ plan required ─► on_plan ──(review: end)──► plan_ended
                                            │                      └─(ended otherwise)──► closed
                                            └─ no plan ──────► child_in_need

A plan ends at a review conference (the child steps down to a child in need
plan) or otherwise (``end_plan``, the ways in ``ENDINGS``): the child is 18,
has died, has moved for good to another council, has left the UK, or has
become looked after where the council's procedures end the plan; each of
those closes the case, with no step-down.

A case opened by a family's move from another council waits at
``transfer_in_pending`` for its transfer-in conference, which decides as an
initial conference does (``domain/transfers.py``).

A conference is `scheduled` until it is `held`; while scheduled it can move
to another date (its moves kept in `reschedules`) or be `cancelled`, and a
cancelled conference makes way for another of its kind.

A plan is `outline` from the initial conference until the first core group
meeting that agrees the detailed plan, then `active`, then `ended`.
"""

from __future__ import annotations

import copy
import uuid
from datetime import date
from typing import Any

STEP_DOWN_ROUTE = "child_in_need_plan"
# A case is open while the child protection process runs: a child is in at
# most one open case of an authority. A child in need, a plan ended or a
# case closed is over (a new referral opens a new case). A case opened by a
# transfer in waits for its transfer-in conference (domain/transfers.py).
OPEN_STATUSES = ("enquiries", "conference_pending", "on_plan", "transfer_in_pending")


class LifecycleError(Exception):
    """A step that the case's state does not allow now (an HTTP 409)."""


class InvalidStep(Exception):
    """A step whose own data breaks a rule (an HTTP 422), by field;
    ``message`` says what the step is refused for, when more than that."""

    def __init__(self, errors: dict[str, Any], message: str | None = None):
        self.errors = errors
        self.message = message
        super().__init__(
            message or "; ".join(f"{k}: {' '.join(v) if isinstance(v, list) else v}" for k, v in errors.items())
        )


Event = tuple[str, str, dict[str, Any]]  # (type, subject, data)


def _iso(d: date) -> str:
    return d.isoformat()


def _not_in_future(field: str, value: date, today: date) -> None:
    if value > today:
        raise InvalidStep({field: [f"{value.isoformat()} is in the future; record it once it has happened"]})


# --- case ---------------------------------------------------------------


def open_key(authority: str, child_id: str) -> str:
    """What an open case is keyed by, unique in the store: one open case per child and authority."""
    return f"{authority}:{child_id}"


def with_open_key(case: dict) -> dict:
    """The case as stored: with ``open_key`` while it is open, without once it is not."""
    stored = {k: v for k, v in case.items() if k != "open_key"}
    if case["status"] in OPEN_STATUSES:
        stored["open_key"] = open_key(case["authority"], case["child_id"])
    return stored


Person = dict[str, Any]  # a reference to a member of staff: {"user": id, "name": name as it was then}


def open_case(
    case_id: str,
    child_id: str,
    authority: str,
    opened_at: str,
    opened_by: str,
    *,
    social_worker: Person | None = None,
    team_manager: Person | None = None,
    team: str | None = None,
) -> tuple[dict, list[Event]]:
    """A new case, held by its social worker and team manager (references to
    staff) in their team."""
    case: dict[str, Any] = {
        "_id": case_id,
        "authority": authority,
        "child_id": child_id,
        "status": "enquiries",
        "opened_at": opened_at,
        "opened_by": opened_by,
        "strategy_discussions": [],
        "enquiry_outcome": None,
        "conferences": [],  # {id, kind, status}
        "plan_id": None,
        "step_down": None,
        "social_worker": social_worker,
        "team_manager": team_manager,
        "team": team,
    }
    return case, [
        (
            "case.opened.v1",
            case_id,
            {
                "case_id": case_id,
                "child_id": child_id,
                "opened_at": opened_at,
                "social_worker": social_worker,
                "team_manager": team_manager,
                "team": team,
            },
        )
    ]


def allocate_case(
    case: dict, *, social_worker: Person | None, team_manager: Person | None, team: str | None
) -> tuple[dict, list[Event]]:
    """Give the case to another social worker, team manager or team (any
    time before the plan ends: an ended case is not allocated)."""
    if case["status"] in ("plan_ended", "closed"):
        raise LifecycleError("the plan has ended: the case is no longer allocated")
    now = (case.get("social_worker"), case.get("team_manager"), case.get("team"))
    if (social_worker, team_manager, team) == now:
        raise InvalidStep({"social_worker": ["the case is already held by these people in this team"]})
    new = {**copy.deepcopy(case), "social_worker": social_worker, "team_manager": team_manager, "team": team}
    return new, [
        (
            "case.allocated.v1",
            case["_id"],
            {
                "case_id": case["_id"],
                "child_id": case["child_id"],
                "plan_id": case["plan_id"],
                "social_worker": social_worker,
                "team_manager": team_manager,
                "team": team,
            },
        )
    ]


def record_strategy_discussion(
    case: dict,
    *,
    held_on: date,
    today: date,
    initiated_enquiries: bool,
    attendees: list[dict],
    notes: str | None,
    recorded_by: str,
    discussion_id: str | None = None,
) -> tuple[dict, dict, list[Event]]:
    """A strategy discussion (``discussion_id``: the family's one discussion,
    recorded on each child's case under one id)."""
    if case["status"] != "enquiries":
        raise LifecycleError(
            f"the case is {case['status']}: strategy discussions are recorded before the enquiry outcome"
        )
    _not_in_future("held_on", held_on, today)
    discussion = {
        "id": discussion_id or uuid.uuid4().hex,
        "held_on": _iso(held_on),
        "initiated_enquiries": initiated_enquiries,
        "attendees": attendees,
        "notes": notes,
        "recorded_by": recorded_by,
    }
    new = copy.deepcopy(case)
    new["strategy_discussions"].append(discussion)
    event = (
        "strategy_discussion.held.v1",
        case["_id"],
        {
            "case_id": case["_id"],
            "child_id": case["child_id"],
            "strategy_discussion_id": discussion["id"],
            "held_on": discussion["held_on"],
            "initiated_enquiries": initiated_enquiries,
        },
    )
    return new, discussion, [event]


def _enquiries_started_on(case: dict) -> date | None:
    """The strategy discussion at which the enquiries were initiated (the
    anchor of the initial conference's timescale), else the first one."""
    discussions = case["strategy_discussions"]
    initiating = [d for d in discussions if d["initiated_enquiries"]] or discussions
    return min((date.fromisoformat(d["held_on"]) for d in initiating), default=None)


def record_enquiry_outcome(
    case: dict, *, completed_on: date, conference_required: bool, today: date, summary: str | None, recorded_by: str
) -> tuple[dict, list[Event]]:
    if case["status"] != "enquiries":
        raise LifecycleError(f"the case is {case['status']}: its enquiry outcome is already recorded")
    started = _enquiries_started_on(case)
    if started is None:
        raise LifecycleError("record the strategy discussion that started the enquiries first")
    _not_in_future("completed_on", completed_on, today)
    if completed_on < started:
        raise InvalidStep({"completed_on": [f"is before the strategy discussion of {started.isoformat()}"]})
    new = copy.deepcopy(case)
    new["enquiry_outcome"] = {
        "completed_on": _iso(completed_on),
        "conference_required": conference_required,
        "summary": summary,
        "recorded_by": recorded_by,
    }
    if conference_required:
        new["status"] = "conference_pending"
    else:
        new["status"] = "child_in_need"
        new["step_down"] = {"route": STEP_DOWN_ROUTE, "decided_on": _iso(completed_on), "by": "enquiry_outcome"}
    event = (
        "enquiry.completed.v1",
        case["_id"],
        {
            "case_id": case["_id"],
            "child_id": case["child_id"],
            "completed_on": _iso(completed_on),
            "conference_required": conference_required,
        },
    )
    return new, [event]


# --- conferences --------------------------------------------------------


def schedule_conference(
    case: dict,
    plan: dict | None,
    *,
    kind: str,
    scheduled_for: date,
    today: date,
    scheduled_by: str,
    chair: Person | None = None,
    invitees: list[dict] | None = None,
) -> tuple[dict, dict, list[Event]]:
    live = [c for c in case["conferences"] if c["status"] != "cancelled"]
    if kind == "initial":
        if any(c["kind"] == "initial" for c in live):
            raise LifecycleError("the case already has an initial conference; later ones are review conferences")
        if case["status"] != "conference_pending":
            raise LifecycleError(
                f"the case is {case['status']}: an initial conference follows enquiries that found one needed"
            )
    elif kind == "transfer_in":
        if case["status"] != "transfer_in_pending" or any(c["kind"] == "transfer_in" for c in live):
            raise LifecycleError(
                f"the case is {case['status']}: a transfer-in conference is held once, for a case transferred in"
            )
    elif kind == "review":
        _review_has_a_plan(case, plan)
        if any(c["kind"] == "review" and c["status"] == "scheduled" for c in live):
            raise LifecycleError("a review conference is already scheduled for this case")
    else:  # the schema allows only these kinds; this guards direct callers
        raise InvalidStep({"kind": [f"must be initial, review or transfer_in, not {kind!r}"]})
    _check_conference_date(case, plan, kind, scheduled_for)
    conference = {
        "_id": uuid.uuid4().hex,
        "authority": case["authority"],
        "case_id": case["_id"],
        "child_id": case["child_id"],
        "kind": kind,
        "status": "scheduled",
        "scheduled_for": _iso(scheduled_for),
        "scheduled_by": scheduled_by,
        "scheduled_on": _iso(today),
        "chair": chair,
        "invitees": [_invitee(i) for i in invitees or []],
        "outcome": None,
    }
    new = copy.deepcopy(case)
    new["conferences"].append({"id": conference["_id"], "kind": kind, "status": "scheduled"})
    event = (
        "conference.scheduled.v1",
        case["_id"],
        {
            "conference_id": conference["_id"],
            "case_id": case["_id"],
            "child_id": case["child_id"],
            "kind": kind,
            "scheduled_for": conference["scheduled_for"],
            "plan_id": case["plan_id"],
            "chair": chair,
            **invited(conference),
        },
    )
    return new, conference, [event]


def _invitee(given: dict) -> dict:
    """Someone invited, as the conference keeps them."""
    return {
        "name": given["name"].strip(),
        "role": given["role"],
        "agency": given.get("agency") or None,
        "email": given.get("email") or None,
        "is_family_member": bool(given.get("is_family_member")),
    }


def invited(conference: dict) -> dict:
    """Whom a conference's events say it invites: ``invitees`` (the
    professionals) and ``family_invitees`` (the family), each present only
    when someone is."""
    people = conference.get("invitees") or []
    professionals = [
        {k: p.get(k) for k in ("name", "role", "agency", "email")} for p in people if not p["is_family_member"]
    ]
    family = [{k: p.get(k) for k in ("name", "role", "email")} for p in people if p["is_family_member"]]
    return {
        **({"invitees": professionals} if professionals else {}),
        **({"family_invitees": family} if family else {}),
    }


def _review_has_a_plan(case: dict, plan: dict | None) -> None:
    if case["status"] != "on_plan" or plan is None or plan["status"] == "ended":
        raise LifecycleError("a review conference reviews a plan in force; this case has none")


def _check_conference_date(case: dict, plan: dict | None, kind: str, scheduled_for: date) -> None:
    """An initial conference is not before the strategy discussion that
    started the enquiries; a review conference not before its plan began."""
    if kind == "initial":
        started = _enquiries_started_on(case)
        if started and scheduled_for < started:
            raise InvalidStep({"scheduled_for": [f"is before the strategy discussion of {started.isoformat()}"]})
    elif plan is not None and scheduled_for < date.fromisoformat(plan["created_on"]):
        raise InvalidStep({"scheduled_for": [f"is before the plan began on {plan['created_on']}"]})


def _check_still_scheduled(conference: dict, step: str) -> None:
    if conference["status"] != "scheduled":
        raise LifecycleError(f"the conference is {conference['status']}: only a scheduled conference can be {step}")


def _reason(reason: str) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidStep({"reason": ["give the reason"]})
    return reason


def reschedule_conference(
    case: dict,
    conference: dict,
    *,
    scheduled_for: date,
    reason: str,
    today: date,
    rescheduled_by: str,
    plan: dict | None = None,
) -> tuple[dict, list[Event]]:
    """Move a scheduled conference to another date, with the same date rules
    as scheduling it (a review conference needs its ``plan``). The
    conference keeps every move in ``reschedules``. Returns (conference, events)."""
    _check_still_scheduled(conference, "rescheduled")
    if conference["kind"] == "review":
        _review_has_a_plan(case, plan)
    _reason(reason)
    _check_conference_date(case, plan, conference["kind"], scheduled_for)
    previous = conference["scheduled_for"]
    if _iso(scheduled_for) == previous:
        raise InvalidStep({"scheduled_for": [f"is the date the conference is already scheduled for ({previous})"]})
    new = copy.deepcopy(conference)
    new["scheduled_for"] = _iso(scheduled_for)
    new.setdefault("reschedules", []).append(
        {"from": previous, "to": new["scheduled_for"], "reason": reason, "by": rescheduled_by, "on": _iso(today)}
    )
    event = (
        "conference.rescheduled.v1",
        case["_id"],
        {
            "conference_id": conference["_id"],
            "case_id": case["_id"],
            "child_id": case["child_id"],
            "kind": conference["kind"],
            "scheduled_for": new["scheduled_for"],
            "previous_scheduled_for": previous,
            "reason": reason,
            "plan_id": case["plan_id"],
            "chair": conference.get("chair"),
            **invited(conference),
        },
    )
    return new, [event]


def cancel_conference(
    case: dict, conference: dict, *, reason: str, today: date, cancelled_by: str
) -> tuple[dict, dict, list[Event]]:
    """Cancel a scheduled conference. A cancelled conference no longer
    counts: another initial or review conference can be scheduled in its
    place. Returns (case, conference, events)."""
    _check_still_scheduled(conference, "cancelled")
    _reason(reason)
    new_conf = {
        **copy.deepcopy(conference),
        "status": "cancelled",
        "cancellation": {"reason": reason, "by": cancelled_by, "on": _iso(today)},
    }
    new_case = _mark_conference(case, conference["_id"], "cancelled")
    event = (
        "conference.cancelled.v1",
        case["_id"],
        {
            "conference_id": conference["_id"],
            "case_id": case["_id"],
            "child_id": case["child_id"],
            "kind": conference["kind"],
            "scheduled_for": conference["scheduled_for"],
            "reason": reason,
            "plan_id": case["plan_id"],
            "chair": conference.get("chair"),
            **invited(conference),
        },
    )
    return new_case, new_conf, [event]


def _mark_conference(case: dict, conference_id: str, status: str) -> dict:
    new = copy.deepcopy(case)
    for c in new["conferences"]:
        if c["id"] == conference_id:
            c["status"] = status
    return new


def check_outcome_decides(conference: dict, *, plan_required: bool | None, decision: str | None) -> None:
    """An initial (or transfer-in) conference decides whether a plan is
    required; a review conference decides to continue, revise or end the plan."""
    if conference["kind"] in INITIAL_KINDS and plan_required is None:
        raise InvalidStep({"plan_required": ["an initial conference decides whether a plan is required"]})
    if conference["kind"] == "review" and decision is None:
        raise InvalidStep({"decision": ["a review conference decides: continue, revise or end"]})


#: The conferences that decide whether a plan is needed: the initial one, and
#: the receiving council's after a family moved in (a transfer-in conference).
INITIAL_KINDS = ("initial", "transfer_in")


def hold_initial_conference(
    case: dict,
    conference: dict,
    *,
    held_on: date,
    today: date,
    plan_required: bool | None,
    plan_content: dict | None,
    decided_by: str,
    attendees: list[dict],
    plan_id: str | None = None,
    chair: Person | None = None,
    previous_plan_ids: list[str] | None = None,
    recorded: dict[str, Any] | None = None,
) -> tuple[dict, dict, dict | None, list[Event]]:
    """Returns (case, conference, plan or None, events). ``previous_plan_ids``: the child's earlier plans in
    this authority, oldest first, which a new plan records. ``recorded``: how the conference was run (its
    attendees, quorum, agencies' views, exclusions, the child's participation), kept with the outcome and
    carried by its event."""
    check_outcome_decides(conference, plan_required=plan_required, decision=None)
    _check_can_hold(conference, held_on, today)
    if conference["kind"] not in INITIAL_KINDS:
        raise LifecycleError("this is a review conference")
    started = _enquiries_started_on(case)
    if started and held_on < started:
        raise InvalidStep({"held_on": [f"is before the strategy discussion of {started.isoformat()}"]})
    outcome = {
        "held_on": _iso(held_on),
        "plan_required": plan_required,
        "attendees": attendees,
        "decided_by": decided_by,
        **copy.deepcopy(recorded or {}),
    }
    new_conf = {
        **copy.deepcopy(conference),
        "status": "held",
        "outcome": outcome,
        "chair": conference.get("chair") or chair,
    }
    new_case = _mark_conference(case, conference["_id"], "held")
    plan = None
    events: list[Event] = []
    if plan_required:
        if not plan_content:
            raise InvalidStep({"outline_plan": ["a conference that decides on a plan agrees its outline"]})
        missing = [f for f in ("key_worker", "categories", "core_group") if not plan_content.get(f)]
        if missing:
            raise InvalidStep({"outline_plan": [f"the outline plan needs {', '.join(missing)}"]})
        plan = new_plan(
            new_case,
            new_conf,
            plan_content,
            held_on=held_on,
            agreed_by=decided_by,
            plan_id=plan_id,
            previous_plan_ids=previous_plan_ids,
        )
        new_case["status"] = "on_plan"
        new_case["plan_id"] = plan["_id"]
        new_conf["outcome"]["plan_id"] = plan["_id"]
    else:
        new_case["status"] = "child_in_need"
        new_case["step_down"] = {"route": STEP_DOWN_ROUTE, "decided_on": _iso(held_on), "by": "initial_conference"}
    events.append(
        (
            "conference.held.v1",
            case["_id"],
            {
                "conference_id": conference["_id"],
                "case_id": case["_id"],
                "child_id": case["child_id"],
                "kind": conference["kind"],
                "held_on": _iso(held_on),
                "plan_required": plan_required,
                "plan_id": plan["_id"] if plan else None,
                "first_core_group_on": plan["content"].get("first_core_group_on") if plan else None,
                "chair": new_conf["chair"],
                **copy.deepcopy(recorded or {}),
            },
        )
    )
    if plan:
        events.append(("plan.created.v1", plan["_id"], plan_snapshot(plan)))
    return new_case, new_conf, plan, events


REVIEW_DECISIONS = ("continue", "revise", "end")


def hold_review_conference(
    case: dict,
    conference: dict,
    plan: dict,
    *,
    held_on: date,
    today: date,
    decision: str | None,
    plan_content: dict | None,
    decided_by: str,
    attendees: list[dict],
    chair: Person | None = None,
    reason: str | None = None,
    recorded: dict[str, Any] | None = None,
) -> tuple[dict, dict, dict, list[Event]]:
    """A review conference continues the plan, revises it (a new agreed
    version) or ends it (the child steps down to a child in need plan), with
    the reason for ending it when given (kept with the plan's ending).
    ``recorded``: how the conference was run, as for an initial conference."""
    _check_can_hold(conference, held_on, today)
    if conference["kind"] != "review":
        raise LifecycleError("this is an initial conference")
    if plan["status"] == "ended":
        raise LifecycleError("the plan has already ended")
    if held_on < date.fromisoformat(plan["created_on"]):
        raise InvalidStep({"held_on": [f"is before the plan began on {plan['created_on']}"]})
    if decision not in REVIEW_DECISIONS:
        raise InvalidStep({"decision": [f"must be one of {', '.join(REVIEW_DECISIONS)}"]})
    if decision == "revise" and not plan_content:
        raise InvalidStep({"plan": ["a revision agrees the revised plan's content"]})
    if reason is not None and decision != "end":
        raise InvalidStep({"reason": ["a reason is given for ending the plan, and this decision does not end it"]})
    outcome = {
        "held_on": _iso(held_on),
        "decision": decision,
        "attendees": attendees,
        "decided_by": decided_by,
        "plan_id": plan["_id"],
        **copy.deepcopy(recorded or {}),
    }
    if reason is not None:
        outcome["reason"] = reason
    new_conf = {
        **copy.deepcopy(conference),
        "status": "held",
        "outcome": outcome,
        "chair": conference.get("chair") or chair,
    }
    new_case = _mark_conference(case, conference["_id"], "held")
    new_plan_doc = copy.deepcopy(plan)
    new_plan_doc["last_reviewed_on"] = _iso(held_on)
    events: list[Event] = [
        (
            "conference.held.v1",
            case["_id"],
            {
                "conference_id": conference["_id"],
                "case_id": case["_id"],
                "child_id": case["child_id"],
                "kind": "review",
                "held_on": _iso(held_on),
                "decision": decision,
                "plan_id": plan["_id"],
                "chair": new_conf["chair"],
                **copy.deepcopy(recorded or {}),
            },
        )
    ]
    if decision == "end":
        new_plan_doc["status"] = "ended"
        new_plan_doc["ended"] = {
            "on": _iso(held_on),
            "conference_id": conference["_id"],
            "step_down": STEP_DOWN_ROUTE,
            "by": decided_by,
            "reason": reason,
            "how": "review_conference",
        }
        new_case["status"] = "plan_ended"
        new_case["step_down"] = {"route": STEP_DOWN_ROUTE, "decided_on": _iso(held_on), "by": "review_conference"}
        events.append(("plan.ended.v1", plan["_id"], plan_snapshot(new_plan_doc)))
    elif decision == "revise":
        assert plan_content is not None  # refused above without it
        new_plan_doc["content"] = copy.deepcopy(plan_content)
        new_plan_doc["plan_version"] = plan["plan_version"] + 1
        new_plan_doc["agreed"] = {"by": decided_by, "on": _iso(held_on), "at": "review_conference"}
        _set_key_worker(new_plan_doc, plan_content)
        new_plan_doc["categories"] = list(plan_content.get("categories", plan["categories"]))
        events.append(("plan.version_agreed.v1", plan["_id"], plan_snapshot(new_plan_doc)))
    else:
        events.append(("plan.reviewed.v1", plan["_id"], plan_snapshot(new_plan_doc)))
    return new_case, new_conf, new_plan_doc, events


def _check_can_hold(conference: dict, held_on: date, today: date) -> None:
    if conference["status"] != "scheduled":
        raise LifecycleError(f"the conference is {conference['status']}; its outcome is recorded once")
    _not_in_future("held_on", held_on, today)


# --- plans --------------------------------------------------------------


def new_plan(
    case: dict,
    conference: dict,
    content: dict,
    *,
    held_on: date,
    agreed_by: str,
    plan_id: str | None = None,
    previous_plan_ids: list[str] | None = None,
) -> dict:
    """A plan as its initial conference makes it: its categories are also its initial ones, kept as they are
    whatever later versions agree, and it names the child's earlier plans (a repeat plan)."""
    previous = list(previous_plan_ids or [])
    return {
        "_id": plan_id or uuid.uuid4().hex,
        "authority": case["authority"],
        "case_id": case["_id"],
        "child_id": case["child_id"],
        "status": "outline",
        "created_on": _iso(held_on),
        "initial_conference_id": conference["_id"],
        "plan_version": 1,
        "content": copy.deepcopy(content),
        "agreed": {"by": agreed_by, "on": _iso(held_on), "at": "initial_conference"},
        "key_worker": content.get("key_worker", {}).get("name"),
        "key_worker_user": content.get("key_worker", {}).get("user"),
        "categories": list(content.get("categories", [])),
        "initial_categories": list(content.get("categories", [])),
        "previous_plan_ids": previous,
        "previous_plans": len(previous),
        "activated_on": None,
        "ended": None,
        "escalations": [],
    }


def _set_key_worker(plan: dict, content: dict) -> None:
    """The plan's key worker (name and staff user id) from newly agreed content."""
    if content.get("key_worker"):
        plan["key_worker"] = content["key_worker"].get("name", plan["key_worker"])
        plan["key_worker_user"] = content["key_worker"].get("user")


def plan_version_record(plan: dict) -> dict:
    """The numbered, immutable record of one agreed version of a plan."""
    return {
        "_id": f"{plan['_id']}:{plan['plan_version']}",
        "plan_id": plan["_id"],
        "authority": plan["authority"],
        "number": plan["plan_version"],
        "status": plan["status"],
        "content": copy.deepcopy(plan["content"]),
        "agreed": copy.deepcopy(plan["agreed"]),
    }


def plan_snapshot(plan: dict) -> dict:
    """What plan events carry, so that docs and notify never call plans."""
    return {
        "plan_id": plan["_id"],
        "case_id": plan["case_id"],
        "child_id": plan["child_id"],
        "status": plan["status"],
        "plan_version": plan["plan_version"],
        "created_on": plan["created_on"],
        "activated_on": plan["activated_on"],
        # how it ended as the event catalogue names it (who and why in words stay with the plan's record)
        "ended": _ending_of(plan["ended"]) if plan["ended"] else None,
        "agreed": plan["agreed"],
        # Whom to contact and under which categories, apart from the narrative
        # content, so a partner's minimal copy keeps them.
        "key_worker": _contact_of(plan["content"].get("key_worker")),
        "categories": list(plan.get("categories") or []),
        **{k: plan[k] for k in ("initial_categories", "previous_plan_ids", "previous_plans") if k in plan},
        "content": plan["content"],
    }


def _ending_of(ended: dict) -> dict:
    """How a plan ended, as its events carry it: the way (``reason``, one of
    ``ENDINGS`` or ``review_conference``) and what that way records."""
    out = {k: ended.get(k) for k in ("on", "conference_id", "step_down")}
    out["reason"] = ended.get("how") or "review_conference"  # a plan ended before there were other ways
    if ended.get("reason"):
        out["details"] = ended["reason"]
    out.update({k: ended[k] for k in ENDING_FIELDS if ended.get(k) is not None})
    return out


def _contact_of(key_worker: dict | None) -> dict | None:
    if not key_worker:
        return None
    return {k: key_worker.get(k) for k in ("user", "name", "role", "team", "phone", "email")}


def check_plan_can_change(plan: dict) -> None:
    if plan["status"] == "ended":
        raise LifecycleError("the plan has ended; it cannot be changed")


def change_plan(plan: dict, content: dict, *, today: date, agreed_by: str) -> tuple[dict, list[Event]]:
    """Agree a change to a plan in force: ``content`` (the whole content,
    checked) becomes a new numbered version, agreed by whom and when."""
    check_plan_can_change(plan)
    new = {
        **copy.deepcopy(plan),
        "content": copy.deepcopy(content),
        "plan_version": plan["plan_version"] + 1,
        "agreed": {"by": agreed_by, "on": _iso(today), "at": "change"},
        "key_worker": content.get("key_worker", {}).get("name"),
        "key_worker_user": content.get("key_worker", {}).get("user"),
        "categories": list(content.get("categories", [])),
    }
    return new, [("plan.version_agreed.v1", plan["_id"], plan_snapshot(new))]


def _plan_in_force(plan: dict, step: str) -> None:
    if plan["status"] == "ended":
        raise LifecycleError(f"the plan ended on {plan['ended']['on']}: no {step} on an ended plan")


def _not_before_plan(field: str, value: date, plan: dict) -> None:
    if value < date.fromisoformat(plan["created_on"]):
        raise InvalidStep({field: [f"is before the plan began on {plan['created_on']}"]})


def same_name(a: str | None, b: str | None) -> bool:
    """Whether two written names are one name: compared case-insensitively, with
    surrounding and repeated whitespace ignored ("  sam   JONES " is "Sam Jones"); an empty name is nobody's."""
    first, second = " ".join((a or "").split()).casefold(), " ".join((b or "").split()).casefold()
    return bool(first) and first == second


def _key_worker_of(name: str | None, user: str | None) -> dict | None:
    """A key worker as the rule compares them, or None when none is recorded."""
    name = " ".join((name or "").split())
    return {"name": name, "user": user} if name or user else None


def _attends(key_worker: dict, attendees: list[dict]) -> bool:
    """Whether the key worker is among the attendees: by name, or by staff user id when an attendee gives one."""
    return any(
        same_name(a.get("name"), key_worker["name"]) or (key_worker["user"] and a.get("user") == key_worker["user"])
        for a in attendees
    )


def _said(key_worker: dict) -> str:
    return key_worker["name"] or f"staff user {key_worker['user']}"


def key_worker_absent(plan: dict, attendees: list[dict], agreed_content: dict | None = None) -> str | None:
    """Why a core group meeting with these attendees is not held with the plan's key worker, or None when
    it is. A core group meeting is held with the key worker: the plan's key worker is among the attendees,
    or, at a meeting that agrees content naming a different key worker (a hand-over), either the one
    before or the one it agrees is. A plan with no key worker recorded is not held to it."""
    before = _key_worker_of(plan.get("key_worker"), plan.get("key_worker_user"))
    if before is None or _attends(before, attendees):
        return None
    agreed = (agreed_content or {}).get("key_worker") or {}
    after = _key_worker_of(agreed.get("name"), agreed.get("user"))
    handed_over = after is not None and not (
        same_name(after["name"], before["name"]) or (after["user"] and after["user"] == before["user"])
    )
    if handed_over and after is not None:
        if _attends(after, attendees):
            return None
        return (
            f"neither the key worker, {_said(before)}, nor the key worker the meeting agrees, {_said(after)}, "
            "is among the attendees: a core group meeting is held with the key worker"
        )
    return (
        f"the key worker, {_said(before)}, is not among the attendees: a core group meeting is held with the key worker"
    )


def _check_key_worker_attends(plan: dict, attendees: list[dict], agreed_content: dict | None) -> None:
    absent = key_worker_absent(plan, attendees, agreed_content)
    if absent:
        raise InvalidStep({"attendees": [absent]})


def record_core_group_meeting(
    plan: dict,
    *,
    held_on: date,
    today: date,
    attendees: list[dict],
    detailed_plan_agreed: bool,
    plan_content: dict | None,
    missing_for_agreement: list[str],
    notes: str | None,
    recorded_by: str,
) -> tuple[dict, dict, list[Event]]:
    """A core group meeting; the first that agrees the detailed plan makes
    the plan active. ``missing_for_agreement`` is what the content that
    would be agreed still lacks (the API's schema knows the items). It is
    held with the plan's key worker (``key_worker_absent``), checked last: a
    family's meeting names each child whose plan's key worker is missing
    once their part is otherwise in order."""
    _plan_in_force(plan, "core group meeting")
    _not_in_future("held_on", held_on, today)
    _not_before_plan("held_on", held_on, plan)
    if plan_content is not None and not detailed_plan_agreed:
        raise InvalidStep({"plan": ["a plan is recorded here only when the meeting agrees it"]})
    if detailed_plan_agreed and missing_for_agreement:
        raise InvalidStep({"plan": [f"a detailed plan needs {', '.join(missing_for_agreement)} before it is agreed"]})
    _check_key_worker_attends(plan, attendees, plan_content if detailed_plan_agreed else None)
    meeting = {
        "_id": uuid.uuid4().hex,
        "authority": plan["authority"],
        "plan_id": plan["_id"],
        "case_id": plan["case_id"],
        "child_id": plan["child_id"],
        "held_on": _iso(held_on),
        "attendees": attendees,
        "detailed_plan_agreed": detailed_plan_agreed,
        "notes": notes,
        "recorded_by": recorded_by,
    }
    new = copy.deepcopy(plan)
    events: list[Event] = [
        (
            "core_group.held.v1",
            plan["_id"],
            {
                "meeting_id": meeting["_id"],
                "plan_id": plan["_id"],
                "case_id": plan["case_id"],
                "child_id": plan["child_id"],
                "held_on": meeting["held_on"],
                "detailed_plan_agreed": detailed_plan_agreed,
                "attendees": copy.deepcopy(attendees),
                "notes": notes,
            },
        )
    ]
    # A new agreed version when the meeting agrees new content, or agrees the
    # outline as the detailed plan; re-agreeing an active plan unchanged is not a change.
    if detailed_plan_agreed and (plan_content is not None or plan["status"] == "outline"):
        if plan_content is not None:
            new["content"] = copy.deepcopy(plan_content)
            _set_key_worker(new, plan_content)
            new["categories"] = list(plan_content.get("categories", plan["categories"]))
        new["plan_version"] = plan["plan_version"] + 1
        new["agreed"] = {"by": recorded_by, "on": meeting["held_on"], "at": "core_group_meeting"}
        if plan["status"] == "outline":
            new["status"] = "active"
            new["activated_on"] = meeting["held_on"]
            events.append(("plan.activated.v1", plan["_id"], plan_snapshot(new)))
        else:
            events.append(("plan.version_agreed.v1", plan["_id"], plan_snapshot(new)))
    meeting["plan_version"] = new["plan_version"]
    return new, meeting, events


def _new_visit(
    record: dict,
    where: dict,
    *,
    visited_on: date,
    announced: bool,
    child_seen: bool,
    seen_alone: bool,
    by: str,
    notes: str | None,
    recorded_by: str,
) -> dict:
    """A visit to the child of ``record`` (its plan, or its case before a plan: ``where`` says which), checked."""
    if seen_alone and not child_seen:
        raise InvalidStep({"seen_alone": ["a child not seen cannot have been seen alone"]})
    return {
        "_id": uuid.uuid4().hex,
        "authority": record["authority"],
        **where,
        "child_id": record["child_id"],
        "visited_on": _iso(visited_on),
        "announced": announced,
        "child_seen": child_seen,
        "seen_alone": seen_alone,
        "by": by,
        "notes": notes,
        "recorded_by": recorded_by,
    }


def record_visit(
    plan: dict,
    *,
    visited_on: date,
    today: date,
    announced: bool,
    child_seen: bool,
    seen_alone: bool,
    by: str,
    notes: str | None,
    recorded_by: str,
    earlier: list[dict] | None = None,
    seen_alone_within: int | None = None,
    team_manager: Person | None = None,
) -> tuple[dict, list[Event]]:
    """A visit to the child. ``earlier``: the plan's visits already recorded; when this one makes
    ``seen_alone_within`` visits in a row (by their dates) without the child seen alone, the run is flagged
    (``visit.child_not_seen_alone.v1``) to the key worker and ``team_manager``, once per run."""
    _plan_in_force(plan, "visit")
    _not_in_future("visited_on", visited_on, today)
    _not_before_plan("visited_on", visited_on, plan)
    visit = _new_visit(
        plan,
        {"plan_id": plan["_id"]},
        visited_on=visited_on,
        announced=announced,
        child_seen=child_seen,
        seen_alone=seen_alone,
        by=by,
        notes=notes,
        recorded_by=recorded_by,
    )
    event = (
        "visit.recorded.v1",
        plan["_id"],
        {
            "visit_id": visit["_id"],
            "plan_id": plan["_id"],
            "case_id": plan["case_id"],
            "child_id": plan["child_id"],
            "visited_on": visit["visited_on"],
            "announced": announced,
            "child_seen": child_seen,
            "seen_alone": seen_alone,
        },
    )
    run = not_alone_run([*(earlier or []), visit])
    if seen_alone_within is None or len(run) != seen_alone_within or run[-1] is not visit:
        return visit, [event]
    key_worker = (
        {"user": plan["key_worker_user"], "name": plan.get("key_worker")} if plan.get("key_worker_user") else None
    )
    flag = (
        "visit.child_not_seen_alone.v1",
        plan["_id"],
        {
            "plan_id": plan["_id"],
            "case_id": plan["case_id"],
            "child_id": plan["child_id"],
            "visit_id": visit["_id"],
            "visits": len(run),
            "since": run[0]["visited_on"],
            "visited_on": visit["visited_on"],
            "key_worker": key_worker,
            "team_manager": team_manager,
        },
    )
    return visit, [event, flag]


def not_alone_run(visits: list[dict]) -> list[dict]:
    """The latest visits in a row, by their dates, at which the child was not seen alone (oldest first); a visit
    recorded for an earlier day keeps its place among them."""
    ordered = sorted(enumerate(visits), key=lambda iv: (iv[1]["visited_on"], iv[0]))
    run: list[dict] = []
    for _, v in reversed(ordered):
        if v["seen_alone"]:
            break
        run.insert(0, v)
    return run


def record_case_visit(
    case: dict,
    *,
    visited_on: date,
    today: date,
    announced: bool,
    child_seen: bool,
    seen_alone: bool,
    by: str,
    notes: str | None,
    recorded_by: str,
) -> tuple[dict, list[Event]]:
    """A visit before any plan (during the referral, the assessment or the
    enquiries), on an open case, since the case began: a case on a plan
    records it on its plan."""
    if case["status"] == "on_plan":
        raise LifecycleError(
            f"the case is on a plan: record the visit on the plan (/v1/plans/{case['plan_id']}/visits)"
        )
    if case["status"] not in OPEN_STATUSES:
        raise LifecycleError(f"the case is {case['status'].replace('_', ' ')}: visits are recorded on an open case")
    _not_in_future("visited_on", visited_on, today)
    began, how = _case_began(case)
    if _iso(visited_on) < began:
        raise InvalidStep({"visited_on": [f"is before the case began on {began} ({how})"]})
    visit = _new_visit(
        case,
        {"plan_id": None, "case_id": case["_id"]},
        visited_on=visited_on,
        announced=announced,
        child_seen=child_seen,
        seen_alone=seen_alone,
        by=by,
        notes=notes,
        recorded_by=recorded_by,
    )
    data = {k: visit[k] for k in ("case_id", "child_id", "visited_on", "announced", "child_seen", "seen_alone")}
    return visit, [("case_visit.recorded.v1", case["_id"], {"visit_id": visit["_id"], **data})]


def _case_began(case: dict) -> tuple[str, str]:
    """The day a case began, and how: the day it was opened, or the day its
    referral was received when that was earlier (a referral recorded after
    the event: a child seen on the day it came in)."""
    opened_on = case["opened_at"][:10]
    received_on = (case.get("referral") or {}).get("received_on")
    if received_on and received_on < opened_on:
        return received_on, "its referral was received"
    return opened_on, "it was opened"


def _change_event(type_: str, change: dict, **more: str) -> Event:
    """A significant change's event: who and when, never what changed."""
    data = {k: change[k] for k in ("plan_id", "case_id", "child_id", "noticed_on")}
    return (type_, change["plan_id"], {"change_id": change["_id"], **data, **more})


def _told_on(change: dict, told_on: date, today: date, field: str) -> str:
    _not_in_future(field, told_on, today)
    if _iso(told_on) < change["noticed_on"]:
        raise InvalidStep({field: [f"is before the change was noticed on {change['noticed_on']}"]})
    return _iso(told_on)


def record_significant_change(
    plan: dict,
    *,
    noticed_on: date,
    description: str,
    chair_told_on: date | None,
    today: date,
    recorded_by: str,
) -> tuple[dict, list[Event]]:
    """A significant change in the child's circumstances that the core group
    noticed, and, when given, the day it told the conference's chair."""
    _plan_in_force(plan, "significant change")
    _not_in_future("noticed_on", noticed_on, today)
    _not_before_plan("noticed_on", noticed_on, plan)
    if not isinstance(description, str) or not description.strip():
        raise InvalidStep({"description": ["say what changed"]})
    change = {
        "_id": uuid.uuid4().hex,
        "authority": plan["authority"],
        "plan_id": plan["_id"],
        "case_id": plan["case_id"],
        "child_id": plan["child_id"],
        "noticed_on": _iso(noticed_on),
        "description": description,
        "chair_told": None,
        "recorded_by": recorded_by,
    }
    events = [_change_event("significant_change.recorded.v1", change)]
    if chair_told_on is not None:
        change["chair_told"] = {"on": _told_on(change, chair_told_on, today, "chair_told_on"), "by": recorded_by}
        events.append(_change_event("significant_change.referred.v1", change, told_on=change["chair_told"]["on"]))
    return change, events


def refer_significant_change(change: dict, *, told_on: date, today: date, recorded_by: str) -> tuple[dict, list[Event]]:
    """The conference's chair was told of a significant change: once."""
    if change.get("chair_told"):
        raise LifecycleError(f"the chair was told of this change on {change['chair_told']['on']}")
    new = copy.deepcopy(change)
    new["chair_told"] = {"on": _told_on(change, told_on, today, "told_on"), "by": recorded_by}
    return new, [_change_event("significant_change.referred.v1", new, told_on=new["chair_told"]["on"])]


def escalate(
    plan: dict,
    *,
    route: str,
    reason: str,
    routes: list[dict],
    decided_on: date,
    today: date,
    raised_by: str,
    conference: dict | None = None,
) -> tuple[dict, dict, list[Event]]:
    """The plan is not working: escalate by one of the deployment's routes.
    ``decided_on`` is the day the decision to escalate was taken (a
    conference's, when ``conference`` is the held conference of the case
    that took it), which the route's timescales count from: not in the
    future, not before the plan began, not before that conference."""
    _plan_in_force(plan, "escalation")
    by_id = {r["id"]: r for r in routes}
    if route not in by_id:
        raise InvalidStep(
            {"route": [f"unknown route {route!r}; this authority's routes: {', '.join(by_id) or 'none'}"]}
        )
    _not_in_future("decided_on", decided_on, today)
    _not_before_plan("decided_on", decided_on, plan)
    if conference is not None:
        if conference["status"] != "held":
            raise InvalidStep({"conference_id": ["the conference has not been held: record its outcome first"]})
        held_on = conference["outcome"]["held_on"]
        if decided_on < date.fromisoformat(held_on):
            raise InvalidStep({"decided_on": [f"is before the conference that decided it, held on {held_on}"]})
    chosen = by_id[route]
    escalation: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "route": route,
        "name": chosen.get("name"),
        "reason": reason,
        "recipient": chosen.get("recipient"),
        "decided_on": _iso(decided_on),
        "conference_id": conference["_id"] if conference else None,
        "raised_on": _iso(today),
        "raised_by": raised_by,
        "referral": None,
        "steps": [],
    }
    new = copy.deepcopy(plan)
    new["escalations"].append(escalation)
    event = (
        "escalation.raised.v1",
        plan["_id"],
        {
            "escalation_id": escalation["id"],
            "plan_id": plan["_id"],
            "case_id": plan["case_id"],
            "child_id": plan["child_id"],
            "route": route,
            "name": chosen.get("name"),
            "recipient": chosen.get("recipient"),
            "raised_on": escalation["raised_on"],
            "decided_on": escalation["decided_on"],
            "conference_id": escalation["conference_id"],
            "key_worker": plan["key_worker"],
        },
    )
    return new, escalation, [event]


# --- ending a plan otherwise than at a review conference ------------------

#: Each way a plan ends other than by a review conference, and where the
#: child goes next: None, as each of them closes the case (an adult, a child
#: who has died, a child another council or country now protects, a looked
#: after child under their care plan); only a review conference steps down
#: to a child in need plan.
ENDINGS: dict[str, str | None] = {
    "reached_18": None,
    "died": None,
    "moved_to_another_council": None,
    "left_the_uk": None,
    "looked_after": None,
}

#: What a move to another council records (required for that way only).
ENDING_FIELDS = ("receiving_council", "transfer_in_conference_on")

ADULT_AGE = 18


def eighteenth_birthday(date_of_birth: date) -> date:
    """The day a child turns 18 (1 March for a child born on 29 February)."""
    try:
        return date_of_birth.replace(year=date_of_birth.year + ADULT_AGE)
    except ValueError:
        return date(date_of_birth.year + ADULT_AGE, 3, 1)


def end_plan(
    case: dict,
    plan: dict,
    *,
    reason: str,
    on: date,
    today: date,
    ended_by: str,
    details: str | None = None,
    date_of_birth: date | None = None,
    receiving_council: str | None = None,
    transfer_in_conference_on: date | None = None,
    looked_after_ends_plan: bool = False,
) -> tuple[dict, dict, list[Event]]:
    """End a plan in one of the ``ENDINGS`` ways, ``on`` a day since it
    began and not in the future: ``reached_18`` on or after the child's 18th
    birthday (``date_of_birth``); ``moved_to_another_council`` once the
    ``receiving_council`` held its transfer-in conference
    (``transfer_in_conference_on``, which is the day it ends at the
    earliest); ``looked_after`` only where the council's procedures end a
    plan then (``looked_after_ends_plan``, its authority's setting).
    Returns (case, plan, events)."""
    if plan["status"] == "ended":
        raise LifecycleError(f"the plan ended on {plan['ended']['on']}; it ends once")
    if reason not in ENDINGS:
        raise InvalidStep({"reason": [f"must be one of {', '.join(ENDINGS)}"]})
    _not_in_future("on", on, today)
    _not_before_plan("on", on, plan)
    recorded: dict[str, Any] = {}
    if reason == "reached_18":
        if date_of_birth is None:
            raise InvalidStep({"reason": ["the child's date of birth is not recorded: record it first"]})
        adult_on = eighteenth_birthday(date_of_birth)
        if on < adult_on:
            raise InvalidStep({"on": [f"the child is 18 on {adult_on.isoformat()}"]})
    elif reason == "moved_to_another_council":
        missing = {
            field: ["give it for a move to another council"]
            for field, value in (
                ("receiving_council", receiving_council and receiving_council.strip()),
                ("transfer_in_conference_on", transfer_in_conference_on),
            )
            if not value
        }
        if missing:
            raise InvalidStep(missing)
        assert transfer_in_conference_on is not None and receiving_council is not None
        _not_in_future("transfer_in_conference_on", transfer_in_conference_on, today)
        if on < transfer_in_conference_on:
            raise InvalidStep({"on": ["the plan ends once the receiving council's transfer-in conference is held"]})
        recorded = {
            "receiving_council": receiving_council.strip(),
            "transfer_in_conference_on": _iso(transfer_in_conference_on),
        }
    elif reason == "looked_after" and not looked_after_ends_plan:
        raise InvalidStep(
            {
                "reason": [
                    "this council's procedures do not end a plan when the child becomes looked after: "
                    "a review conference decides"
                ]
            }
        )
    if reason != "moved_to_another_council" and (receiving_council or transfer_in_conference_on):
        raise InvalidStep({"receiving_council": ["only a move to another council names one"]})
    new_plan_doc = copy.deepcopy(plan)
    new_plan_doc["status"] = "ended"
    new_plan_doc["ended"] = {
        "on": _iso(on),
        "conference_id": None,
        "step_down": ENDINGS[reason],
        "by": ended_by,
        "reason": details,  # why, in words (as a review conference's reason)
        "how": reason,
        **recorded,
    }
    new_case = copy.deepcopy(case)
    new_case["status"] = "closed"
    return new_case, new_plan_doc, [("plan.ended.v1", plan["_id"], plan_snapshot(new_plan_doc))]
