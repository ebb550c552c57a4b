"""A conference's steps around the meeting itself: the invitations sent (the
notice those invited were given), a meeting that could not decide because it
was not quorate (reconvened on a new date), and the conference's record (its
decisions, and the outline plan where it made one) issued to those invited.

Scotland's National Guidance times each of these (Appendix D: 5 calendar
days' notice, an inquorate meeting reconvened and the record issued within
10 working days each), and Wales's procedures the outline plan and decisions
circulated within 5 working days; the platform records them for every
deployment, and a deployment's rules decide which are timed.

Plain functions over plain documents, as ``lifecycle``: each returns the
conference as it becomes and the events to publish.
"""

from __future__ import annotations

import copy
from datetime import date

from .lifecycle import Event, InvalidStep, LifecycleError, _check_still_scheduled, _not_in_future, reschedule_conference


def _base(conference: dict) -> dict:
    """What every conference event carries about the conference (the service adds its family conference)."""
    return {
        "conference_id": conference["_id"],
        "case_id": conference["case_id"],
        "child_id": conference["child_id"],
        "kind": conference["kind"],
        "chair": conference.get("chair"),
    }


def record_invitations(conference: dict, *, sent_on: date, today: date, recorded_by: str) -> tuple[dict, list[Event]]:
    """The invitations to a scheduled conference went out on ``sent_on``. A conference moved after its
    invitations went gets them again: each sending is kept, with the date it invited people to."""
    _check_still_scheduled(conference, "given its invitations")
    _not_in_future("sent_on", sent_on, today)
    if sent_on.isoformat() > conference["scheduled_for"]:
        raise InvalidStep({"sent_on": [f"is after the day of the conference, {conference['scheduled_for']}"]})
    notice_days = (date.fromisoformat(conference["scheduled_for"]) - sent_on).days
    sending = {
        "sent_on": sent_on.isoformat(),
        "for": conference["scheduled_for"],
        "notice_days": notice_days,
        "by": recorded_by,
        "recorded_on": today.isoformat(),
    }
    new = copy.deepcopy(conference)
    new.setdefault("invitations", []).append(sending)
    data = {
        **_base(conference),
        "scheduled_for": conference["scheduled_for"],
        "sent_on": sending["sent_on"],
        "notice_days": notice_days,
    }
    return new, [("conference.invitations_sent.v1", conference["case_id"], data)]


def record_inquorate_meeting(
    case: dict,
    conference: dict,
    *,
    met_on: date,
    reason: str,
    scheduled_for: date,
    today: date,
    recorded_by: str,
    plan: dict | None = None,
) -> tuple[dict, list[Event]]:
    """The conference met on ``met_on`` but was not quorate, so it decided nothing; it is reconvened on
    ``scheduled_for`` (a move, with the same date rules as any). The meeting is kept in ``inquorate``."""
    _check_still_scheduled(conference, "recorded as not quorate")
    _not_in_future("met_on", met_on, today)
    if scheduled_for <= met_on:
        raise InvalidStep({"scheduled_for": [f"must be after the meeting that was not quorate, on {met_on}"]})
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidStep({"reason": ["say why the meeting was not quorate (who could not attend)"]})
    moved, moves = reschedule_conference(
        case,
        conference,
        scheduled_for=scheduled_for,
        reason=f"not quorate on {met_on.isoformat()}: {reason}",
        today=today,
        rescheduled_by=recorded_by,
        plan=plan,
    )
    meeting = {
        "met_on": met_on.isoformat(),
        "reason": reason,
        "reconvened_for": scheduled_for.isoformat(),
        "by": recorded_by,
        "recorded_on": today.isoformat(),
    }
    moved.setdefault("inquorate", []).append(meeting)
    data = {
        **_base(conference),
        "met_on": meeting["met_on"],
        "reason": reason,
        "scheduled_for": meeting["reconvened_for"],
        "plan_id": case["plan_id"],
    }
    return moved, [("conference.inquorate.v1", case["_id"], data), *moves]


def issue_record(conference: dict, *, issued_on: date, today: date, recorded_by: str) -> tuple[dict, list[Event]]:
    """The held conference's record (its decisions, and the outline plan where it made one) was issued to
    those invited on ``issued_on``. Issued once."""
    if conference["status"] != "held":
        raise LifecycleError(f"the conference is {conference['status']}: its record is issued once it has been held")
    if conference.get("record_issued"):
        raise LifecycleError(f"the conference's record was issued on {conference['record_issued']['on']}")
    _not_in_future("issued_on", issued_on, today)
    held_on = conference["outcome"]["held_on"]
    if issued_on.isoformat() < held_on:
        raise InvalidStep({"issued_on": [f"is before the conference was held, on {held_on}"]})
    new = copy.deepcopy(conference)
    new["record_issued"] = {"on": issued_on.isoformat(), "by": recorded_by, "recorded_on": today.isoformat()}
    data = {
        **_base(conference),
        "held_on": held_on,
        "issued_on": issued_on.isoformat(),
        "plan_id": conference["outcome"].get("plan_id"),
    }
    return new, [("conference.record_issued.v1", conference["case_id"], data)]
