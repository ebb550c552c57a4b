"""A family's move to another council: the rules of both ends.

Transfer out (the council the family leaves): a case whose plan is in force
records the move (``start_transfer_out``: the receiving council and the day
it was told). The case stays open with its plan in force until the
receiving council has held its transfer-in conference; the plan then ends
as ``moved_to_another_council`` (lifecycle.end_plan). ``package`` gathers
the records the receiving council is sent (docs/transfer-package.md).

Transfer in (the council the family moves to): a signed package, or a
notification without one, opens a case at ``transfer_in_pending``
(``open_transferred_case``), waiting for its transfer-in conference, which is
scheduled and held like an initial conference (lifecycle); a package that
follows a notification joins it (``attach_package``). The previous
council's records are kept apart, read-only, as the child's history
(``history_record``); until the conference is held a partner's lookup tells
of the child as on a plan (``pending_plan``).
"""

from __future__ import annotations

import copy
import uuid
from datetime import date
from typing import Any

from .lifecycle import Event, InvalidStep, LifecycleError, Person, open_case

FORMAT = "cpp-transfer-package/1"
#: The stage of a case opened by a transfer in, until its transfer-in conference is held.
PENDING = "transfer_in_pending"
#: The conference a transferred-in case waits for.
CONFERENCE_KIND = "transfer_in"
#: What a package leaves out of every record: the store's bookkeeping, and
#: the keys the sending council finds records by.
NOT_SENT = ("version", "nhs_key", "family_name_key")


def _text(field: str, value: str | None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidStep({field: ["give it"]})
    return value.strip()


def _not_in_future(field: str, value: date, today: date) -> None:
    if value > today:
        raise InvalidStep({field: [f"{value.isoformat()} is in the future; record it once it has happened"]})


# --- transfer out ----------------------------------------------------------


def start_transfer_out(
    case: dict, plan: dict | None, *, receiving_council: str, notified_on: date, today: date, by: str
) -> tuple[dict, list[Event]]:
    """Record that the family is moving for good to ``receiving_council``,
    told of it on ``notified_on``. Only a case whose plan is in force moves
    this way, once; it stays open with its plan in force."""
    if case["status"] != "on_plan" or plan is None or plan["status"] == "ended":
        raise LifecycleError(f"the case is {case['status']}: a transfer out moves a case whose plan is in force")
    if case.get("transfer_out"):
        moving = case["transfer_out"]
        raise LifecycleError(f"the move to {moving['receiving_council']} is already recorded ({moving['started_on']})")
    council = _text("receiving_council", receiving_council)
    _not_in_future("notified_on", notified_on, today)
    if notified_on < date.fromisoformat(plan["created_on"]):
        raise InvalidStep({"notified_on": [f"is before the plan began on {plan['created_on']}"]})
    moving = {
        "receiving_council": council,
        "notified_on": notified_on.isoformat(),
        "started_on": today.isoformat(),
        "by": by,
    }
    new = {**copy.deepcopy(case), "transfer_out": moving}
    data = {"case_id": case["_id"], "child_id": case["child_id"], "plan_id": plan["_id"], **moving}
    return new, [("transfer.out_started.v1", case["_id"], data)]


def _sent(record: dict) -> dict:
    return {k: copy.deepcopy(v) for k, v in record.items() if k not in NOT_SENT}


def package(
    *,
    authority: dict[str, Any],
    child: dict,
    case: dict,
    conferences: list[dict],
    plans: list[tuple[dict, list[dict]]],
    core_group_meetings: list[dict],
    visits: list[dict],
    reports: list[tuple[dict, list[dict]]],
    chronology: list[dict],
    made_at: str,
    package_id: str | None = None,
) -> dict[str, Any]:
    """The package's payload (FORMAT) for a case whose move is recorded:
    every record as the council holds it, each plan with its versions and
    each report with its versions, oldest first."""
    moving = case.get("transfer_out")
    if not moving:
        raise LifecycleError("record the move first (POST /v1/cases/{id}/transfer-out): it names the receiving council")
    return {
        "format": FORMAT,
        "package_id": package_id or uuid.uuid4().hex,
        "made_at": made_at,
        "sending_authority": {"code": authority["code"], "name": authority["name"]},
        "receiving_council": moving["receiving_council"],
        "notified_on": moving["notified_on"],
        "child": _sent(child),
        "case": _sent(case),
        "conferences": [_sent(c) for c in conferences],
        "plans": [{**_sent(p), "versions": [_sent(v) for v in versions]} for p, versions in plans],
        "core_group_meetings": [_sent(m) for m in core_group_meetings],
        "visits": [_sent(v) for v in visits],
        "reports": [{**_sent(r), "versions": [_sent(v) for v in versions]} for r, versions in reports],
        "chronology": copy.deepcopy(chronology),
    }


# --- transfer in -------------------------------------------------------------


def history_record(
    *,
    authority: str,
    child_id: str,
    case_id: str,
    from_council: dict[str, Any],
    notified_on: str,
    received_at: str,
    received_by: str,
    payload: dict | None,
    signed_by: str | None,
) -> dict[str, Any]:
    """The previous council's records, kept read-only with the child: the
    package's payload as it arrived (None for a notification without one)."""
    return {
        "_id": uuid.uuid4().hex,
        "authority": authority,
        "child_id": child_id,
        "case_id": case_id,
        "from_council": copy.deepcopy(from_council),
        "notified_on": notified_on,
        "received_at": received_at,
        "received_by": received_by,
        "signed_by": signed_by,
        "package_id": payload["package_id"] if payload else None,
        "package": copy.deepcopy(payload),
    }


def open_transferred_case(
    case_id: str,
    child_id: str,
    authority: str,
    opened_at: str,
    opened_by: str,
    *,
    history: dict[str, Any],
    social_worker: Person | None = None,
    team_manager: Person | None = None,
    team: str | None = None,
) -> tuple[dict, list[Event]]:
    """A case opened by a transfer in: it waits for its transfer-in
    conference (``PENDING``), and names where the child came from."""
    case, events = open_case(
        case_id,
        child_id,
        authority,
        opened_at,
        opened_by,
        social_worker=social_worker,
        team_manager=team_manager,
        team=team,
    )
    case["status"] = PENDING
    case["transfer_in"] = {
        "from_council": copy.deepcopy(history["from_council"]),
        "notified_on": history["notified_on"],
        "history_id": history["_id"],
        "received_at": history["received_at"],
        "received_by": opened_by,
        **_from_package(history),
    }
    events.append(
        (
            "transfer.received.v1",
            case_id,
            {
                "case_id": case_id,
                "child_id": child_id,
                "from_council": copy.deepcopy(history["from_council"]),
                "notified_on": history["notified_on"],
                "with_package": history["package"] is not None,
                "package_id": history["package_id"],
                "history_id": history["_id"],
            },
        )
    )
    return case, events


def _from_package(history: dict[str, Any]) -> dict[str, Any]:
    """What a case transferred in keeps of the previous council's package: its id, and the day its latest plan
    began with its categories (what a lookup tells until the transfer-in conference)."""
    previous_plan = latest_plan(history.get("package"))
    return {
        "package_id": history["package_id"],
        "previous_plan_since": previous_plan["created_on"] if previous_plan else None,
        "previous_categories": list(previous_plan.get("categories") or []) if previous_plan else [],
    }


def attach_package(
    case: dict, history: dict, payload: dict[str, Any], *, signed_by: str | None, today: date
) -> tuple[dict, dict]:
    """The package that follows a notification, kept with the history the
    notification began, while the case still waits for its transfer-in
    conference (its timescale still counts from the notification).
    Returns (case, history)."""
    if case["status"] != PENDING or history.get("package") is not None:
        raise LifecycleError(
            f"the child is already in an open case here ({case['_id']}, {case['status']}); "
            "a package is added only to a case notified without one, before its transfer-in conference"
        )
    new_history = {
        **copy.deepcopy(history),
        "from_council": copy.deepcopy(payload["sending_authority"]),
        "package_id": payload["package_id"],
        "package": copy.deepcopy(payload),
        "signed_by": signed_by,
        "package_received_on": today.isoformat(),
    }
    moved = {**case["transfer_in"], "from_council": copy.deepcopy(payload["sending_authority"])}
    new_case = {**copy.deepcopy(case), "transfer_in": {**moved, **_from_package(new_history)}}
    return new_case, new_history


def latest_plan(payload: dict | None) -> dict | None:
    """The previous council's latest plan in a package (None without one)."""
    plans = (payload or {}).get("plans") or []
    return max(plans, key=lambda p: (p.get("created_on") or "", p.get("_id") or ""), default=None)


def pending_plan(case: dict | None) -> dict[str, Any] | None:
    """What a partner's lookup tells of a child whose case waits for its
    transfer-in conference: a plan in force (the previous council's, since
    the day it began, else since the notification), pending that conference;
    None for any other case."""
    if case is None or case.get("status") != PENDING:
        return None
    moved = case["transfer_in"]
    return {
        "since": moved.get("previous_plan_since") or moved["notified_on"],
        "categories": list(moved.get("previous_categories") or []),
        "from_council": moved["from_council"],
        "social_worker": case.get("social_worker"),
    }
