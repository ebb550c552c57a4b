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

from collections.abc import Iterable
from typing import Any

from .auth import Principal
from .claims import STAFF_ROLES

COLLECTION = "staff"
EVENT_TYPE = "staff.updated.v1"
#: ``role`` is the first of ``roles`` (everyone holds one role at least; some hold several).
FIELDS = ("name", "email", "team", "role", "roles", "manager", "phone")


def setup_store(store) -> None:
    people = store.collection(COLLECTION)
    people.create_index("user")
    people.create_index("team")
    people.create_index("roles")
    # Entries kept before people could hold several roles have ``role`` alone: each is given its ``roles``
    # (found by ``holding``). Safe to repeat; nothing else changes.
    for found in people.find({"roles": {"$exists": False}}):
        if found.get("role"):
            people.update_one({"user": found["user"]}, {"$set": {"roles": [found["role"]]}})


def with_roles(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry with ``roles`` every staff role it holds (in STAFF_ROLES order) and ``role`` the first."""
    held = [r for r in STAFF_ROLES if r in (entry.get("roles") or ()) or r == entry.get("role")]
    return {**entry, "roles": held, "role": held[0]} if held else entry


def from_principal(principal: Principal) -> dict[str, Any] | None:
    """The directory entry a token's claims make; None for a partner."""
    if not principal.holds(*STAFF_ROLES):
        return None
    return {
        "user": principal.user,
        "name": principal.given_name,
        "email": principal.email,
        "team": principal.team,
        "role": principal.role,
        "roles": list(principal.roles),
        "manager": principal.manager,
    }


def roles_of(found: dict[str, Any] | None) -> list[str]:
    """The roles of a directory entry (one kept before people held several has ``role`` alone)."""
    if not found:
        return []
    return list(found.get("roles") or ([found["role"]] if found.get("role") else []))


def holding(role: str) -> dict[str, Any]:
    """A query of the directory for the people holding ``role``."""
    return {"roles": role}


def differs(stored: dict[str, Any] | None, seen: dict[str, Any]) -> bool:
    """Whether ``seen`` (claims, or an admin's edit) changes the stored entry.
    A field the claims leave out (no phone in a token) changes nothing."""
    if stored is None:
        return True
    return any(seen.get(f) is not None and seen.get(f) != stored.get(f) for f in FIELDS)


def merged(stored: dict[str, Any] | None, seen: dict[str, Any]) -> dict[str, Any]:
    """``seen`` over ``stored``; a ``role`` seen without ``roles`` is the only role held."""
    out = dict(stored or {})
    if seen.get("role") and not seen.get("roles"):
        out["roles"] = [seen["role"]]
    out.update({k: v for k, v in seen.items() if v is not None or k not in out})
    for f in FIELDS:
        out.setdefault(f, None)
    return with_roles(out)


def event_data(entry: dict[str, Any]) -> dict[str, Any]:
    """What ``staff.updated.v1`` carries: the entry after the change."""
    return {"user": entry["user"], **{f: entry.get(f) for f in FIELDS}}


def keep(event: dict[str, Any], ctx) -> None:
    """A consumer's handler of ``staff.updated.v1``: keep the directory
    (``handlers.on(staff.EVENT_TYPE)(staff.keep)``)."""
    data = event.get("data") or {}
    if not data.get("user"):
        return
    entry = with_roles({f: data.get(f) for f in FIELDS if f != "roles" or data.get(f)})
    ctx.uow.update(COLLECTION, {"user": data["user"]}, {"$set": {f: entry.get(f) for f in FIELDS}}, upsert=True)


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
