"""Need-to-know in the docs service: a restricted child's documents are
served only to the users on the restriction's access list and to those
holding a live break-glass grant (the rule: ``cpp_shared.need_to_know``).

Who those are comes from the plans service's events, kept here as a
projection in the docs store: ``child.restriction_set`` and
``child.restriction_lifted`` (one row per child in ``restrictions``), and
``access.break_glass`` (one row per grant in ``grants``). A document's
listing or file is refused with a 403 to anyone else, before it is read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import current_app
from flask_smorest import abort

from cpp_shared import need_to_know as rule
from cpp_shared.auth import current_principal
from cpp_shared.messaging.consumer import HandlerContext

from . import store as st

RESTRICTION_SET = "child.restriction_set.v1"
RESTRICTION_LIFTED = "child.restriction_lifted.v1"
BREAK_GLASS = "access.break_glass.v1"
EVENTS = (RESTRICTION_SET, RESTRICTION_LIFTED, BREAK_GLASS)


def now() -> datetime:
    """The moment grants are judged at (tests set it)."""
    return datetime.now(UTC)


def _ts(moment: str) -> float:
    return datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp()


def keep(event: dict[str, Any], ctx: HandlerContext) -> None:
    """Keep the projection of restrictions and grants from one event."""
    data = event.get("data") or {}
    child_id = data.get("child_id")
    if not child_id:
        return
    if event["type"] == BREAK_GLASS:
        ctx.uow.update(
            st.GRANTS,
            {"_id": data["grant_id"]},
            {
                "$set": {
                    "child_id": child_id,
                    "restriction_id": data["restriction_id"],
                    "user": data["user"],
                    "expires_at": data["expires_at"],
                    "expires_ts": _ts(data["expires_at"]),
                }
            },
            upsert=True,
        )
        return
    as_of = _ts(data["set_at"] if event["type"] == RESTRICTION_SET else data["lifted_at"])
    current = ctx.store.collection(st.RESTRICTIONS).find_one({"_id": child_id})
    if current is not None and current.get("as_of", 0) > as_of:
        return  # a later change is kept already
    if event["type"] == RESTRICTION_SET:
        fields = {
            "active": True,
            "restriction_id": data["restriction_id"],
            "access_list": data["access_list"],
            "manager": data["manager"],
            "as_of": as_of,
        }
    else:
        fields = {"active": False, "restriction_id": data["restriction_id"], "access_list": [], "as_of": as_of}
    ctx.uow.update(st.RESTRICTIONS, {"_id": child_id}, {"$set": fields}, upsert=True)


def _judge(child_id: str | None) -> tuple[bool, str | None]:
    """Whether the caller may read the child's documents now, and the id of
    the break-glass grant they would read under, if any."""
    if child_id is None:
        return True, None
    store = current_app.extensions["cpp"].store
    restriction = store.collection(st.RESTRICTIONS).find_one({"_id": child_id})
    if not rule.in_force(restriction):
        return True, None
    user = current_principal().user
    if rule.on_access_list(restriction, user):
        return True, None
    grant = rule.live_grant(
        restriction, user, store.collection(st.GRANTS).find({"child_id": child_id, "user": user}), now()
    )
    return grant is not None, grant["_id"] if grant else None


def check(child_id: str | None) -> str | None:
    """Return if the caller may read the child's documents now (the id of
    the break-glass grant they read under, if any); otherwise answer 403,
    saying the record is restricted and how to break glass."""
    allowed, grant = _judge(child_id)
    if not allowed and child_id is not None:
        abort(403, message=rule.refusal(child_id))
    return grant


def may_read(child_ids: list[str]) -> bool:
    """Whether the caller may read a document about all of these children
    (a family letter: a restricted child's only with need to know)."""
    return all(_judge(child_id)[0] for child_id in child_ids)
