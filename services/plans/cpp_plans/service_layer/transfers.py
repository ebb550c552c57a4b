"""A family's move between councils: recording the move out, the package
the receiving council is sent, and receiving a child who moved here (with
a package or a notification without one)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from cpp_shared.auth import Principal

from ..domain import children as child_rules
from ..domain import transfers as tr
from ..domain.lifecycle import LifecycleError
from ..store import (
    CASES,
    CHILDREN,
    CONFERENCES,
    CORE_GROUP_MEETINGS,
    PLAN_VERSIONS,
    PLANS,
    REPORT_VERSIONS,
    REPORTS,
    TRANSFER_HISTORIES,
    VISITS,
)
from .cases import _allocation, add_family_of_one, commit_openings, open_case_of
from .children import census_fields, new_record
from .common import Deployment, Step, commit_step, load, load_case, named, saved

#: A child in one of these cases is in a case still open (a second one is refused).


def start_transfer_out(
    deps: Deployment,
    case_id: str,
    *,
    receiving_council: str,
    notified_on: date,
    expected_version: int | None = None,
    today: date,
    actor: Principal,
) -> dict:
    """Record that the family moves for good to ``receiving_council``.
    Returns the case as saved."""
    case = load_case(deps, case_id, at=expected_version)
    plan = load(deps, PLANS, case["plan_id"], "plan") if case.get("plan_id") else None
    after, events = tr.start_transfer_out(
        case, plan, receiving_council=receiving_council, notified_on=notified_on, today=today, by=actor.user
    )
    commit_step(
        deps,
        actor,
        "start_transfer_out",
        "case",
        case_id,
        child_id=case["child_id"],
        events=events,
        replaces=[(CASES, after, case)],
    )
    return saved(after, case)


def package_payload(deps: Deployment, case_id: str, *, chronology: list[dict], now: datetime) -> dict[str, Any]:
    """The package of a case whose move is recorded: its records, each plan
    with every version agreed, each report with its versions."""
    case = load(deps, CASES, case_id, "case")
    store, code = deps.store, deps.authority["code"]
    mine = {"case_id": case_id, "authority": code}
    plans = sorted(store.collection(PLANS).find(mine), key=lambda p: (p["created_on"], p["_id"]))
    reports = sorted(store.collection(REPORTS).find(mine), key=lambda r: (r["steps"][0]["on"], r["_id"]))
    plan_ids = [p["_id"] for p in plans]
    by_plan = {"plan_id": {"$in": plan_ids}, "authority": code}
    return tr.package(
        authority=deps.authority,
        child=load(deps, CHILDREN, case["child_id"], "child"),
        case=case,
        conferences=sorted(
            store.collection(CONFERENCES).find(mine), key=lambda c: (c["scheduled_on"], c["scheduled_for"], c["_id"])
        ),
        plans=[(p, store.collection(PLAN_VERSIONS).find({"plan_id": p["_id"]}, sort=[("number", 1)])) for p in plans],
        core_group_meetings=sorted(
            store.collection(CORE_GROUP_MEETINGS).find(by_plan), key=lambda m: (m["held_on"], m["_id"])
        ),
        visits=sorted(store.collection(VISITS).find(by_plan), key=lambda v: (v["visited_on"], v["_id"])),
        reports=[
            (r, store.collection(REPORT_VERSIONS).find({"report_id": r["_id"]}, sort=[("number", 1)])) for r in reports
        ],
        chronology=chronology,
        made_at=now.isoformat(),
    )


# --- transfer in -------------------------------------------------------------


def _child_here(deps: Deployment, details: dict[str, Any], now: datetime, actor: Principal) -> tuple[dict, bool]:
    """The child as registered here: found by NHS number, else a new record
    (not yet stored). Returns (record, whether new)."""
    code = deps.authority["code"]
    nhs = next((i["value"] for i in details.get("identifiers") or [] if i["scheme"] == "nhs_number"), None)
    if nhs is not None:
        found = deps.store.collection(CHILDREN).find_one({"nhs_key": child_rules.nhs_key(code, nhs)})
        if found is not None:
            return found, False
    doc = new_record(deps, details, now=now, actor=actor)
    return doc, True


def receive_transfer(
    deps: Deployment,
    *,
    child: dict[str, Any],
    from_council: dict[str, Any],
    notified_on: date,
    payload: dict[str, Any] | None,
    signed_by: str | None,
    now: datetime,
    actor: Principal,
    **people: Any,
) -> dict:
    """A child who moved here: registered (or found by NHS number), a case
    opened waiting for its transfer-in conference, the previous council's
    package kept as history. All in one commit. Returns the case as saved.
    A package for a child whose case here was opened by a notification and
    still waits for its conference joins that case instead."""
    record, new_child = _child_here(deps, child, now, actor)
    if not new_child:
        open_case = open_case_of(deps, record["_id"])
        if open_case is not None and payload is not None and open_case["status"] == tr.PENDING:
            return _attach(deps, open_case, payload, signed_by, now, actor)
        if open_case is not None:
            raise LifecycleError(
                f"the child is already in an open case here ({open_case['_id']}, {open_case['status']})"
            )
    case_id = uuid.uuid4().hex
    history = tr.history_record(
        authority=deps.authority["code"],
        child_id=record["_id"],
        case_id=case_id,
        from_council=from_council,
        notified_on=notified_on.isoformat(),
        received_at=now.isoformat(),
        received_by=actor.user,
        payload=payload,
        signed_by=signed_by,
    )
    case, events = tr.open_transferred_case(
        case_id,
        record["_id"],
        deps.authority["code"],
        now.isoformat(),
        actor.user,
        history=history,
        **_allocation(deps, actor, people),
    )
    who = named(record)
    if new_child:
        registered = {
            "child_id": record["_id"],
            "first_language": record.get("first_language"),
            **census_fields(record),
        }
        events.insert(0, ("child.registered.v1", record["_id"], registered))
    events = [(t, s, {**d, "child": who}) for t, s, d in events]
    inserts = [(CHILDREN, record)] if new_child else []
    inserts += [(TRANSFER_HISTORIES, history), (CASES, case)]
    step = Step("receive_transfer", "case", case_id, record["_id"], events, inserts=inserts)
    add_family_of_one(deps, step, record, now=now, actor=actor)  # a child in no family here is a family of one
    commit_openings(deps, actor, [step])
    return saved(case)


def _attach(
    deps: Deployment, case: dict, payload: dict[str, Any], signed_by: str | None, now: datetime, actor: Principal
) -> dict:
    """The package that follows a notification, kept with its history; the case as saved."""
    history = load(deps, TRANSFER_HISTORIES, case["transfer_in"]["history_id"], "transfer history")
    case_after, history_after = tr.attach_package(case, history, payload, signed_by=signed_by, today=now.date())
    commit_step(
        deps,
        actor,
        "attach_transfer_package",
        "case",
        case["_id"],
        child_id=case["child_id"],
        replaces=[(CASES, case_after, case), (TRANSFER_HISTORIES, history_after, history)],
    )
    return saved(case_after, case)


def histories_of(deps: Deployment, child_id: str) -> list[dict]:
    """The records of the councils a child moved from, oldest received first."""
    found = deps.store.collection(TRANSFER_HISTORIES).find({"child_id": child_id, "authority": deps.authority["code"]})
    return sorted(found, key=lambda h: (h["received_at"], h["_id"]))


def previous_councils_entries(store: Any, code: str, child_id: str) -> list[dict]:
    """The chronology entries of the councils a child moved from, as each
    sent them, marked with the council (an entry already marked, from a
    council before that one, keeps its mark)."""
    out = []
    for history in store.collection(TRANSFER_HISTORIES).find({"child_id": child_id, "authority": code}):
        council = history["from_council"]
        for entry in (history.get("package") or {}).get("chronology") or []:
            out.append({**entry, "previous_council": entry.get("previous_council") or council})
    return out


def pending_transfer_in(store: Any, code: str, child_id: str) -> dict[str, Any] | None:
    """What a lookup tells of a child whose case here waits for its
    transfer-in conference (domain.transfers.pending_plan); None otherwise."""
    case = store.collection(CASES).find_one({"child_id": child_id, "authority": code, "status": tr.PENDING})
    return tr.pending_plan(case)
