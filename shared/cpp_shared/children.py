"""Who each child is, as the consuming services last heard.

Every event about a child carries ``child`` (name, date of birth, NHS
number: see the event catalogue's ``ChildNamed``), so a service names the
child from the event in hand. A message or document whose event does not
(a break-glass notice, a job re-run later) names them from this small
record per child, kept from those events. A child's own events and its
cases' events reach a service in no set order, so an event older (by its
time) than the one the record was taken from does not undo it.
"""

from __future__ import annotations

from typing import Any

COLLECTION = "children"
FIELDS = ("name", "date_of_birth", "nhs_number")


def of_event(data: dict[str, Any]) -> dict[str, Any] | None:
    """Who the child is, as an event's data says; None when it does not."""
    child = data.get("child")
    if not isinstance(child, dict) or not child.get("name"):
        return None
    return {k: child.get(k) for k in FIELDS}


def updated(stored: dict[str, Any] | None, event: dict[str, Any]) -> dict[str, Any] | None:
    """The child's record after ``event``; None when it changes nothing."""
    data = event.get("data") or {}
    child = of_event(data)
    if child is None or not data.get("child_id"):
        return None
    time = event.get("time") or ""
    if stored is not None and (stored.get("as_of") or "") > time:
        return None
    if stored is not None and all(stored.get(k) == v for k, v in child.items()):
        return None
    return {"_id": data["child_id"], **child, "as_of": time}


def keep(event: dict[str, Any], ctx) -> None:
    """A consumer's handler (``handlers.on(*PATTERNS)(children.keep)``)."""
    data = event.get("data") or {}
    if not data.get("child_id"):
        return
    after = updated(ctx.store.collection(COLLECTION).find_one({"_id": data["child_id"]}), event)
    if after is not None:
        ctx.uow.update(
            COLLECTION, {"_id": after["_id"]}, {"$set": {k: v for k, v in after.items() if k != "_id"}}, upsert=True
        )


def named(store, child_id: str | None) -> dict[str, Any] | None:
    """Who the child is as the service last heard (None when not heard of)."""
    row = store.collection(COLLECTION).find_one({"_id": child_id}) if child_id else None
    if row is None or not row.get("name"):
        return None
    return {k: row.get(k) for k in FIELDS}


def of(event: dict[str, Any], store) -> dict[str, Any] | None:
    """Who the child of ``event`` is: as the event says, else as last heard."""
    data = event.get("data") or {}
    return of_event(data) or named(store, data.get("child_id"))
