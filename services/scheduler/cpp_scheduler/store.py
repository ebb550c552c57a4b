"""The scheduler's collections, their indexes, and the projections it keeps
of the plans service's events (which plan belongs to which case; the
meetings a plan's calendar shows). Who is who (each case's people, each
child) is worked out by ``domain/people.py`` and kept here; the staff
directory is ``cpp_shared.staff``'s."""

from __future__ import annotations

from typing import Any

from cpp_shared import case_events, children, erasure, staff
from cpp_shared.store import Store, UnitOfWork

DEADLINES = "deadlines"
PLANS = "plans"
MEETINGS = "meetings"
FEEDS = "calendar_feeds"
CASE_PEOPLE = "case_people"  # per case: its people and conferences (domain/people.py)
CHILDREN = children.COLLECTION  # per child: who they are, as the latest event about them said
STAFF = staff.COLLECTION  # the staff directory (cpp_shared.staff), found by user id


def setup_store(store: Store) -> None:
    case_events.setup_store(store)
    staff.setup_store(store)  # the staff directory, found by user id
    erasure.setup_store(store)
    store.collection(CASE_PEOPLE).create_index("child_id")
    store.collection(PLANS).create_index("child_id")
    deadlines = store.collection(DEADLINES)
    for field in (
        "case_id",
        "plan_id",
        "child_id",
        "status",
        "owner",
        "assignee.user",
        "team",
        "due_on",
        "next_check_on",
    ):
        deadlines.create_index(field)
    store.collection(PLANS).create_index("case_id")
    store.collection(MEETINGS).create_index("case_id")
    store.collection(FEEDS).create_index("key_hash", unique=True)
    store.collection(FEEDS).create_index("user")


def update_projections(store: Store, uow: UnitOfWork, event: dict[str, Any], now: str) -> None:
    etype, data = event["type"], event.get("data") or {}
    if etype.startswith("plan.") and data.get("plan_id") and data.get("case_id"):
        plan = {"case_id": data["case_id"], "child_id": data.get("child_id"), "status": data.get("status")}
        if isinstance(data.get("content"), dict):
            plan["rhythm"] = plan_rhythm(data)
        uow.update(PLANS, {"_id": data["plan_id"]}, {"$set": plan}, upsert=True)
    elif etype.startswith("conference.") and data.get("conference_id"):
        fields: dict[str, Any] = {"case_id": data.get("case_id"), "kind": f"{data.get('kind', '')}_conference"}
        if data.get("plan_id"):
            fields["plan_id"] = data["plan_id"]
        fields.update(case_events.conference_state(etype, data))
        keep_meeting(store, uow, data["conference_id"], fields, now)
    elif etype == "core_group.held.v1" and data.get("meeting_id"):
        keep_meeting(
            store,
            uow,
            data["meeting_id"],
            {
                "case_id": data.get("case_id"),
                "plan_id": data.get("plan_id"),
                "kind": "core_group",
                "status": "held",
                "on": data.get("held_on"),
            },
            now,
        )


def plan_rhythm(data: dict[str, Any]) -> dict[str, Any]:
    """How often the plan says its child is visited and its core group meets (its content's ``rhythm``)."""
    return dict((data.get("content") or {}).get("rhythm") or {})


def keep_meeting(store: Store, uow: UnitOfWork, meeting_id: str, fields: dict[str, Any], now: str) -> None:
    """A meeting's new state, for the plan's calendar: a change is stamped
    (``changed_at``) and a new day counts one more ``sequence``, which is
    how a calendar program tells that its copy of the meeting is out of
    date. An event that changes nothing leaves both as they were."""
    stored = store.collection(MEETINGS).find_one({"_id": meeting_id}) or {}
    if stored and all(stored.get(k) == v for k, v in fields.items()):
        return
    fields = {**fields, "changed_at": now}
    if stored.get("on") and fields.get("on", stored["on"]) != stored["on"]:
        fields["sequence"] = (stored.get("sequence") or 0) + 1
    uow.update(MEETINGS, {"_id": meeting_id}, {"$set": fields}, upsert=True)
