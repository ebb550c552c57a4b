"""What the scheduler's resources share: the service's context and
runtime, who may read and who manages, the clock, and deadlines named as
people read them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import current_app

from cpp_shared.web import ServiceContext

from .. import store as st
from ..domain import people
from ..runtime import Runtime, runtime

READERS = ("social_worker", "team_manager", "chair", "auditor", "admin")
MANAGERS = ("team_manager", "admin")
FEED_MAKERS = ("social_worker", "team_manager", "chair")


def ctx() -> ServiceContext:
    return current_app.extensions["cpp"]


def rt() -> Runtime:
    return runtime(ctx())


def clock() -> datetime:
    return datetime.now(UTC)


def now() -> str:
    return clock().isoformat()


def named(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Deadlines as people read them: the child as the record holds them now
    and the assignee by the name the staff directory holds now (each kept in
    the deadline as it was, when the scheduler has heard nothing newer)."""
    store = ctx().store
    child_ids = sorted({d["child_id"] for d in docs if d.get("child_id")})
    children = (
        {c["_id"]: people.child_ref(c) for c in store.collection(st.CHILDREN).find({"_id": {"$in": child_ids}})}
        if child_ids
        else {}
    )
    users = [(d.get("assignee") or {}).get("user") for d in docs]
    known = (
        {
            e["user"]: e.get("name")
            for e in store.collection(st.STAFF).find({"user": {"$in": sorted({u for u in users if u})}})
        }
        if any(users)
        else {}
    )
    out = []
    for d in docs:
        d = {**d, "child": children.get(d.get("child_id")) or d.get("child")}
        who = d.get("assignee")
        if who:
            d["assignee"] = {
                "user": who["user"],
                "name": known.get(who["user"]) or who.get("name") or "a member of staff",
            }
        out.append(d)
    return out
