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
the indexed ``key`` field (``user:<sub>`` or ``jti:<jti>``), whose answer
each process keeps for ``CPP_REVOCATION_CACHE_SECONDS`` (default 2, at most
10; 0 keeps nothing) so that a client sending many requests with one token
pays for the read once in that time. So a revocation takes effect in every
process of a service at most that long after its store has it (at once in
the process that made it: ``forget``).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

from .config import ConfigError, Settings
from .messaging.consumer import PermanentFailure
from .store import Store

#: The event that carries a revocation to every service.
EVENT_TYPE = "access.revoked.v1"
#: Where every service keeps the revocations.
COLLECTION = "revocations"
USER, TOKEN = "user", "jti"
DEFAULT_CACHE_SECONDS, MOST_CACHE_SECONDS = 2.0, 10.0
CACHE_ENTRIES = 10_000  # the most tokens whose answers a process keeps at once


def key(kind: str, value: str) -> str:
    return f"{kind}:{value}"


def record(
    *,
    revocation_id: str,
    user: str | None,
    jti: str | None,
    not_before: str | None,
    expires_at: str | None,
    revoked_at: str,
    by: str,
) -> dict[str, Any]:
    """The record a service keeps of a revocation: of ``user``'s tokens
    issued before ``not_before`` (ISO-8601), or of the one token ``jti``
    (needed until ``expires_at``, when the token expires)."""
    if (user is None) == (jti is None):
        raise ValueError("a revocation names a user or a token's jti, not both")
    doc: dict[str, Any] = {
        "_id": revocation_id,
        "user": user,
        "jti": jti,
        "not_before": not_before,
        "expires_at": expires_at,
        "revoked_at": revoked_at,
        "by": by,
    }
    if user is not None:
        if not_before is None:
            raise ValueError("a user's revocation needs not_before")
        doc["key"] = key(USER, user)
        # What the check compares a token's iat with (unix seconds).
        doc["iat_before"] = datetime.fromisoformat(not_before).astimezone(UTC).timestamp()
    else:
        assert jti is not None  # a user or a token, checked above
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


def cache_seconds(settings: Settings) -> float:
    """CPP_REVOCATION_CACHE_SECONDS: how long a process keeps the answer for a
    token (0 to 10 seconds); anything else stops start-up."""
    text = settings.setting("REVOCATION_CACHE_SECONDS", str(DEFAULT_CACHE_SECONDS))
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= MOST_CACHE_SECONDS:
        raise ConfigError(
            f"CPP_REVOCATION_CACHE_SECONDS must be a number of seconds from 0 to {MOST_CACHE_SECONDS:g}, got {text!r}"
        )
    return seconds


def _clock() -> float:
    return time.monotonic()


class RevocationList:
    """The revocations a service's store holds, as its token check asks for
    them: one indexed read per token, its answer kept ``seconds``."""

    def __init__(self, store: Store, seconds: float = DEFAULT_CACHE_SECONDS):
        self.store, self.seconds = store, seconds
        self._kept: dict[tuple[str, Any], tuple[float, list[dict[str, Any]]]] = {}
        self._lock = threading.Lock()  # a web process's request threads share the kept answers
        setup_store(store)

    def refuses(self, claims: dict[str, Any]) -> bool:
        if self.seconds <= 0:
            return refuses(self.store, claims)
        jti = claims.get("jti")
        token = (str(claims.get("sub")), jti if isinstance(jti, str) else None)
        now = _clock()
        kept = self._kept.get(token)
        if kept is None or kept[0] <= now:
            kept = (now + self.seconds, find(self.store, claims))
            with self._lock:
                if len(self._kept) >= CACHE_ENTRIES:
                    self._kept = {t: k for t, k in self._kept.items() if k[0] > now}
                    if len(self._kept) >= CACHE_ENTRIES:
                        self._kept = {}
                self._kept[token] = kept
        return bool(kept[1]) and refused(kept[1], claims)

    def forget(self) -> None:
        """Drop every kept answer: this process made a revocation, which it
        applies at once."""
        with self._lock:
            self._kept = {}


def find(store: Store, claims: dict[str, Any]) -> list[dict[str, Any]]:
    """The revocations of the token's user or of its jti: one indexed read."""
    keys = [key(USER, str(claims.get("sub")))]
    jti = claims.get("jti")
    if isinstance(jti, str) and jti:
        keys.append(key(TOKEN, jti))
    return store.collection(COLLECTION).find({"key": {"$in": keys}})


def refuses(store: Store, claims: dict[str, Any]) -> bool:
    """Whether the revocations ``store`` holds now refuse a token with these
    claims (``sub``, ``iat``, ``jti``)."""
    docs = find(store, claims)
    return bool(docs) and refused(docs, claims)


def keep_revocation(event: dict[str, Any], ctx: Any) -> None:
    """Handler of ``access.revoked.v1`` in every service that hears it: keep
    the revocation, once (by its id), so that its tokens are refused from
    this commit on."""
    data = event.get("data") or {}
    try:
        doc = record(
            revocation_id=data["revocation_id"],
            user=data.get("user"),
            jti=data.get("jti"),
            not_before=data.get("not_before"),
            expires_at=data.get("expires_at"),
            revoked_at=data["revoked_at"],
            by=data["by"],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentFailure(f"not a revocation: {exc!r}") from None
    doc.pop("_id")
    ctx.uow.update(
        COLLECTION,
        {"_id": data["revocation_id"]},
        {"$setOnInsert": {**doc, "event_id": event["id"], "received_at": datetime.now(UTC).isoformat()}},
        upsert=True,
    )
