"""The docs service's collections, their indexes, and the projections it
keeps of other services' events.

* ``documents``: one metadata row per file made (the bytes are in
  ``files.FileStore``), unique by ``key``: plan, kind, version (or meeting),
  language, large print and format; so a plan version's document is made
  once, whatever is redelivered.
* ``jobs``: what is to be rendered, written by the event handlers in the
  event's unit of work (with its processed mark) and rendered by the
  worker's renderer loop (``render.py``); its ``_id`` is the document's key
  without the format, so an event seen twice asks for nothing twice.
* ``snapshots``: each plan event's snapshot of the plan, stored once (by
  the event's id) and named by the jobs that render it and by ``plans``;
* ``plans``: which snapshot is each plan's latest (a core group record shows
  the plan in force at the meeting).
* ``deadlines`` and ``meetings``: per case, the scheduler's deadlines and
  the conferences scheduled, for the upcoming deadlines of the professional
  plan and the next meetings of the family version.
* ``children``: who each child is (name and date of birth), from
  ``child.registered`` and ``child.updated`` and from the ``child`` every
  event about a child carries, the latest by the event's time; a document
  names the child as the job that makes it found them (``child_named``);
* ``child_languages``: each child's first language as their record holds
  it, from ``child.registered`` and ``child.updated`` (the family's
  documents are written in it where a phrase set answers for it);
* ``staff``: the staff directory (``cpp_shared.staff``), from
  ``staff.updated``, so that documents name people, not user ids;
* ``restrictions`` and ``grants``: which children's records are restricted,
  to whom, and the break-glass grants given, from the plans service's
  ``child.restriction_*`` and ``access.break_glass`` events (access.py);
* the append-only log ``audit``: every list and read of a document;
* ``erasures`` and ``file_sweeps``: the children erased here, and the files
  of their documents waiting to be removed (``erasure.py``).
"""

from __future__ import annotations

from typing import Any

from cpp_shared import case_events, children, erasure, staff
from cpp_shared.store import Store, UnitOfWork

DOCUMENTS = "documents"
JOBS = "jobs"
PLANS = "plans"
SNAPSHOTS = "snapshots"
DEADLINES = "deadlines"
MEETINGS = "meetings"
AUDIT = "audit"
RESTRICTIONS = "restrictions"
CHILDREN = children.COLLECTION
GRANTS = "grants"
CHILD_LANGUAGES = "child_languages"

OPEN_DEADLINES = ("pending", "approaching", "overdue")


def setup_store(store: Store) -> None:
    case_events.setup_store(store)
    staff.setup_store(store)  # the staff directory, found by user id
    erasure.setup_store(store)
    documents = store.collection(DOCUMENTS)
    documents.create_index("child_id")
    documents.create_index("sha256")
    store.collection(JOBS).create_index("child_id")
    store.collection(SNAPSHOTS).create_index("snapshot.child_id")
    store.collection(SNAPSHOTS).create_index("plan_id")
    documents.create_index("key", unique=True)
    documents.create_index("plan_id")
    documents.create_index("case_id")
    documents.create_index("report_id")
    documents.create_index("family_id")
    store.collection(JOBS).create_index("status")
    store.collection(DEADLINES).create_index("case_id")
    store.collection(MEETINGS).create_index("case_id")
    store.collection(GRANTS).create_index("child_id")


def update_projections(uow: UnitOfWork, event: dict[str, Any]) -> None:
    etype, data = event["type"], event.get("data") or {}
    if etype.startswith("plan.") and data.get("plan_id"):
        uow.insert(SNAPSHOTS, {"_id": event["id"], "plan_id": data["plan_id"], "snapshot": data})
        uow.update(
            PLANS,
            {"_id": data["plan_id"]},
            {"$set": {"snapshot_id": event["id"], "authority": event.get("authority")}, "$unset": {"snapshot": ""}},
            upsert=True,
        )
    elif etype.startswith("deadline.") and data.get("deadline_id"):
        uow.update(
            DEADLINES,
            {"_id": data["deadline_id"]},
            {
                "$set": {
                    "case_id": data.get("case_id"),
                    "child_id": data.get("child_id"),
                    "plan_id": data.get("plan_id"),
                    "name": data.get("name"),
                    "kind": data.get("kind"),
                    "owner": data.get("owner"),
                    "status": data.get("status"),
                    "due_on": data.get("due_on"),
                    "latest_on": data.get("latest_on"),
                    "needs_date": data.get("needs_date", False),
                    "assignee": data.get("assignee"),
                    "team": data.get("team"),
                }
            },
            upsert=True,
        )
    elif etype.startswith("conference.") and data.get("conference_id"):
        fields: dict[str, Any] = {"case_id": data.get("case_id"), "kind": data.get("kind")}
        fields.update(case_events.conference_state(etype, data))
        if data.get("chair"):
            fields["chair"] = data["chair"]
        uow.update(MEETINGS, {"_id": data["conference_id"]}, {"$set": fields}, upsert=True)


def keep_first_language(uow: UnitOfWork, event: dict[str, Any]) -> None:
    """The child's recorded first language, from their record's events (one
    made before the events carried it changes nothing)."""
    data = event.get("data") or {}
    if data.get("child_id") and "first_language" in data:
        uow.update(
            CHILD_LANGUAGES,
            {"_id": data["child_id"]},
            {"$set": {"first_language": data["first_language"]}},
            upsert=True,
        )


def first_language(store: Store, child_id: str | None) -> str | None:
    """The child's first language as their record holds it; None when not heard of."""
    row = store.collection(CHILD_LANGUAGES).find_one({"_id": child_id}) if child_id else None
    return (row or {}).get("first_language")


def child_named(store: Store, child_id: str | None) -> dict[str, Any] | None:
    """Who the child is as the service last heard: name and date of birth (None when not heard of)."""
    child = children.named(store, child_id)
    return {"name": child["name"], "date_of_birth": child["date_of_birth"]} if child else None


def snapshot(store: Store, snapshot_id: str | None) -> dict[str, Any] | None:
    row = store.collection(SNAPSHOTS).find_one({"_id": snapshot_id}) if snapshot_id else None
    return row["snapshot"] if row else None


def latest_plan(store: Store, plan_id: str | None) -> tuple[str | None, dict[str, Any] | None]:
    """The plan's latest snapshot and its id (None, None for a plan not heard
    of; a row kept from before snapshots were stored once holds its own)."""
    row = store.collection(PLANS).find_one({"_id": plan_id}) if plan_id else None
    if row is None:
        return None, None
    if "snapshot_id" in row:
        return row["snapshot_id"], snapshot(store, row["snapshot_id"])
    return None, row.get("snapshot")


def upcoming(store: Store, case_id: str | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The case's open deadlines (earliest first, undated last) and its
    scheduled conferences (earliest first)."""
    if not case_id:
        return [], []
    deadlines = store.collection(DEADLINES).find({"case_id": case_id, "status": {"$in": list(OPEN_DEADLINES)}})
    deadlines.sort(key=lambda d: (d.get("due_on") is None, d.get("due_on") or "", d.get("name") or ""))
    meetings = store.collection(MEETINGS).find({"case_id": case_id, "status": "scheduled"})
    meetings.sort(key=lambda m: m.get("on") or "")
    return deadlines, meetings
