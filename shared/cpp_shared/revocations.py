"""Revoked tokens: what every service refuses before a token expires.

Two kinds of revocation, both made by an admin in the plans service
(``POST /v1/revocations``) and published as ``access.revoked.v1``:

* a user's: every token of the user (its ``sub``) issued before the
  revocation's moment (its ``iat`` earlier than ``not_before``) is refused;
  tokens issued after it work. A token without ``iat`` cannot show when it
  was issued, so a revoked user's token without one is refused. ``iat`` is
  whole seconds in most tokens: one issued in the very second of the
  revocation is refused too (the user asks for another a second later);
* one token's, by its ``jti``: that token alone is refused, the user's
  others still work. A token without a ``jti`` can only be revoked with its
  user's.

Every service keeps the revocations in its own store (``revocations``, one
record per revocation, by its id): the plans service in the commit that
makes the revocation, every other service in the commit of the event's
handler (``keep_revocation``). ``RevocationList.refuses`` is asked for every
authenticated request, after the token's signature is checked: one read on
the indexed ``key`` field (``user:<sub>`` or ``jti:<jti>``) with no cache,
so a revocation takes effect in every process of a service as soon as its
store has it.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .messaging.consumer import PermanentFailure
from .store import Store

#: The event that carries a revocation to every service.
EVENT_TYPE = "access.revoked.v1"
#: Where every service keeps the revocations.
COLLECTION = "revocations"
USER, TOKEN = "user", "jti"


def key(kind: str, value: str) -> str:
    return f"{kind}:{value}"


def record(*, revocation_id: str, user: str | None, jti: str | None, not_before: str | None,
           expires_at: str | None, revoked_at: str, by: str) -> dict[str, Any]:
    """The record a service keeps of a revocation: of ``user``'s tokens
    issued before ``not_before`` (ISO-8601), or of the one token ``jti``
    (needed until ``expires_at``, when the token expires)."""
    if (user is None) == (jti is None):
        raise ValueError("a revocation names a user or a token's jti, not both")
    doc: dict[str, Any] = {"_id": revocation_id, "user": user, "jti": jti, "not_before": not_before,
                           "expires_at": expires_at, "revoked_at": revoked_at, "by": by}
    if user is not None:
        if not_before is None:
            raise ValueError("a user's revocation needs not_before")
        doc["key"] = key(USER, user)
        # What the check compares a token's iat with (unix seconds).
        doc["iat_before"] = datetime.fromisoformat(not_before).astimezone(timezone.utc).timestamp()
    else:
        doc["key"] = key(TOKEN, jti)
        doc["iat_before"] = None
    return doc


def setup_store(store: Store) -> None:
    store.collection(COLLECTION).create_index("key")


def refused(docs: list[dict[str, Any]], claims: dict[str, Any]) -> bool:
    """Whether these revocations (of the token's user or jti) refuse it."""
    iat = claims.get("iat")
    issued = iat if isinstance(iat, (int, float)) and not isinstance(iat, bool) else None
    for doc in docs:
        if doc.get("jti") is not None:
            if doc["jti"] == claims.get("jti"):
                return True
        elif doc.get("user") == str(claims.get("sub")):
            if issued is None or issued < doc["iat_before"]:
                return True
    return False


class RevocationList:
    """The revocations a service's store holds, as its token check asks for
    them: one indexed read per token."""

    def __init__(self, store: Store):
        self.store = store
        setup_store(store)

    def refuses(self, claims: dict[str, Any]) -> bool:
        return refuses(self.store, claims)


def refuses(store: Store, claims: dict[str, Any]) -> bool:
    """Whether the revocations ``store`` holds refuse a token with these
    claims (``sub``, ``iat``, ``jti``): one read on the indexed key."""
    keys = [key(USER, str(claims.get("sub")))]
    jti = claims.get("jti")
    if isinstance(jti, str) and jti:
        keys.append(key(TOKEN, jti))
    docs = store.collection(COLLECTION).find({"key": {"$in": keys}})
    return bool(docs) and refused(docs, claims)


def keep_revocation(event: dict[str, Any], ctx: Any) -> None:
    """Handler of ``access.revoked.v1`` in every service that hears it: keep
    the revocation, once (by its id), so that its tokens are refused from
    this commit on."""
    data = event.get("data") or {}
    try:
        doc = record(revocation_id=data["revocation_id"], user=data.get("user"), jti=data.get("jti"),
                     not_before=data.get("not_before"), expires_at=data.get("expires_at"),
                     revoked_at=data["revoked_at"], by=data["by"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentFailure(f"not a revocation: {exc!r}") from None
    doc.pop("_id")
    ctx.uow.update(COLLECTION, {"_id": data["revocation_id"]}, {"$setOnInsert": {
        **doc, "event_id": event["id"], "received_at": datetime.now(timezone.utc).isoformat()}}, upsert=True)
