"""The staff directory: who the platform's users are as people.

A user's id, display name, email, team and manager come from their
identity token's claims (``sub``, ``name``, ``email`` and the platform's
``team`` and ``manager`` claims, see ``cpp_shared.auth.Principal``). The
plans service keeps the directory: it records a user the first time their
token reaches it, again whenever their claims change, and when an admin
adds someone who has not signed in yet; each change is a
``staff.updated.v1`` event. Every other service keeps the same directory
from those events (``keep``), so that each can name people without asking
the plans service.

Entries are found by their ``user`` field (a user id is unique within an
authority, not across the authorities that may share a database), never by
``_id``.

Records name people by reference: ``{"user": id, "name": name}``, the name
as it was when the record was made (``ref``). What a person reads shows
the name; the id is kept for machines.
"""
from __future__ import annotations

from typing import Any, Iterable

from .auth import Principal

COLLECTION = "staff"
EVENT_TYPE = "staff.updated.v1"
#: The roles of the council's own staff (partners are not staff).
STAFF_ROLES = ("social_worker", "team_manager", "chair", "auditor", "admin")
FIELDS = ("name", "email", "team", "role", "manager", "phone")


def setup_store(store) -> None:
    store.collection(COLLECTION).create_index("user")
    store.collection(COLLECTION).create_index("team")


def from_principal(principal: Principal) -> dict[str, Any] | None:
    """The directory entry a token's claims make; None for a partner."""
    if principal.role not in STAFF_ROLES:
        return None
    return {"user": principal.user, "name": principal.claims.get("name") or None,
            "email": principal.email,
            "team": principal.team, "role": principal.role, "manager": principal.manager}


def differs(stored: dict[str, Any] | None, seen: dict[str, Any]) -> bool:
    """Whether ``seen`` (claims, or an admin's edit) changes the stored entry.
    A field the claims leave out (no phone in a token) changes nothing."""
    if stored is None:
        return True
    return any(seen.get(f) is not None and seen.get(f) != stored.get(f) for f in FIELDS)


def merged(stored: dict[str, Any] | None, seen: dict[str, Any]) -> dict[str, Any]:
    out = dict(stored or {})
    out.update({k: v for k, v in seen.items() if v is not None or k not in out})
    for f in FIELDS:
        out.setdefault(f, None)
    return out


def event_data(entry: dict[str, Any]) -> dict[str, Any]:
    """What ``staff.updated.v1`` carries: the entry after the change."""
    return {"user": entry["user"], **{f: entry.get(f) for f in FIELDS}}


def keep(event: dict[str, Any], ctx) -> None:
    """A consumer's handler of ``staff.updated.v1``: keep the directory
    (``handlers.on(staff.EVENT_TYPE)(staff.keep)``)."""
    data = event.get("data") or {}
    if not data.get("user"):
        return
    ctx.uow.update(COLLECTION, {"user": data["user"]}, {"$set": {f: data.get(f) for f in FIELDS}}, upsert=True)


def entry(store, user: str | None) -> dict[str, Any] | None:
    if not user:
        return None
    return store.collection(COLLECTION).find_one({"user": user})


UNNAMED = "a member of staff"


def ref(store, user: str | None) -> dict[str, Any] | None:
    """A reference to a member of staff, with their name as it is now (kept
    in the record it is put in: the name as it was then); "a member of
    staff" for someone whose token named nobody, never their user id."""
    if not user:
        return None
    found = entry(store, user)
    return {"user": user, "name": (found or {}).get("name") or UNNAMED}


def name_of(store, user: str | None, default: str = "") -> str:
    """A user's display name, for what people read; ``default`` for nobody,
    and "a member of staff" for someone the directory does not know (never
    their user id)."""
    if not user:
        return default
    found = entry(store, user)
    return (found or {}).get("name") or UNNAMED


def names(store, users: Iterable[str | None]) -> dict[str, str]:
    wanted = sorted({u for u in users if u})
    if not wanted:
        return {}
    found = {d["user"]: d.get("name") for d in store.collection(COLLECTION).find({"user": {"$in": wanted}})}
    return {u: found.get(u) or UNNAMED for u in wanted}
