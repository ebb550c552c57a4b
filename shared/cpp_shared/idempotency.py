"""Idempotent creates: a create sent again with the same ``Idempotency-Key``
gets the first request's answer instead of making a second record.

A client whose request was cut off (a web worker that died, a connection
that dropped) cannot know whether the create committed. With a key of its
own choosing (a UUID) on the request, it sends the same request again:

* the first request's answer (status, body, ``ETag`` and ``Location``) is
  kept with the key, for the caller alone (the authority, through the
  store's view, and the token's ``sub``), for ``CPP_IDEMPOTENCY_HOURS``
  (default 24);
* the same key with the same request (method, path, the caller's role and
  the body's canonical JSON) within that time answers the kept answer again, with
  ``Idempotent-Replayed: true``, and writes nothing but, where the create
  was audited, an audit entry saying the answer was shown again;
* the same key with another request is a 422 naming the header, and a key
  that is not 1 to 255 printable ASCII characters a 400; nothing is written.

The kept answer commits in the same unit of work as the create itself, so
there is never a record without its key nor a key without its record. The
views decorated with ``idempotent`` commit as usual (``with
store.unit_of_work()``); while such a request is under way its unit is held
at the end of the ``with`` block instead of committed (``HoldingStore``),
the view builds its answer, and the decorator adds the answer to that unit
and commits it. If that commit fails, nothing of it is written:

* a concurrent request with the same key committed first (the key's record
  is unique by ``_id``): its answer is given, as to any retry;
* the view's own writes conflicted (a version changed, a unique field taken):
  the view runs again with its commit failing the same way at the end of its
  ``with`` block, so the client gets the answer the view gives to that
  failure (a 409 naming the child with that NHS number, say), and nothing is
  written.

Only an answer that was committed is kept: a refused request (4xx) writes
nothing, so the same key may be sent again once the request is put right.

When the database does not confirm the commit (``CommitOutcomeUnknown``:
the connection dropped or the time ran out while it committed), the key's
record is looked for: found, its answer is given; otherwise the answer is a
503 saying the change may have been saved and to send the same key again.
That retry is safe either way: the record commits with the write, so it is
there (and replayed) if the write happened, and the request runs anew if not.

Kept answers are sealed (AES-GCM) with a key derived from the
``Idempotency-Key``, which is itself never stored (the record's ``_id`` is
a hash of it): the records hold no readable copy of what the answers show (a
child's details, a subscription's signing secret, a calendar feed's key,
each of which the services otherwise keep only sealed or hashed), and the
answer can only be opened by a request bringing the key. A key as hard to
guess as a UUID keeps it so.

Records past their time are ignored and removed when their key comes again,
and by the worker's sweep (``background``).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import wraps
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Response, current_app, g, has_request_context, request
from flask_smorest import abort
from flask_smorest.error_handler import ErrorSchema

from . import audit, logs
from .auth import current_principal
from .config import ConfigError, Settings
from .store import CommitOutcomeUnknown, Store, StoreError, StoreUnavailable, UnitOfWork
from .store.scoped import ScopedStore

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
COLLECTION = "idempotency_keys"
KEPT_HEADERS = ("ETag", "Location")
MAX_KEY = 255
DEFAULT_HOURS = 24
MOST_HOURS = 720
SWEEP_SECONDS = 600.0
SWEEP_BATCH = 500

BAD_KEY = (
    f"{HEADER} must be 1 to {MAX_KEY} printable ASCII characters (letters, digits, punctuation, spaces); "
    "a new UUID for each new request is best"
)
OTHER_REQUEST = (
    f"This {HEADER} was already used for another request (another method, path, body or role) "
    "within the time keys are kept; send a new key with a new request"
)

_G = "cpp_idempotent_request"
_INFO = b"cpp idempotency v1"
log = logs.get_logger("cpp.idempotency")


def now() -> float:
    """The clock of key expiry (unix seconds)."""
    return time.time()


def hours_setting(settings: Settings) -> int:
    """How long a kept answer is replayed (CPP_IDEMPOTENCY_HOURS, default 24);
    anything but a whole number of hours from 1 to 720 stops start-up."""
    text = settings.setting("IDEMPOTENCY_HOURS", str(DEFAULT_HOURS))
    try:
        hours = int(text)
    except ValueError:
        hours = 0
    if not 1 <= hours <= MOST_HOURS:
        raise ConfigError(f"CPP_IDEMPOTENCY_HOURS must be a whole number of hours from 1 to {MOST_HOURS}; got {text!r}")
    return hours


# --- the store view that holds an idempotent request's unit of work ---


class HoldingStore(ScopedStore):
    """The authority's view (``ScopedStore``) whose ``unit_of_work``, while an
    ``idempotent`` view is handling the request of this thread, holds the
    unit at the end of its ``with`` block for the decorator to commit with
    the answer. Everywhere else it commits as the view always does.

    So an idempotent view writes in one unit of work (a second one is a
    ``RuntimeError``) and does not read its own writes back before it
    answers; what must wait for the commit goes to ``after_commit``. Units
    begun with ``begin`` (the plans service's group commit of audited reads)
    are never held."""

    def __init__(self, inner: Store, authority: str, *, keep_hours: int = DEFAULT_HOURS):
        super().__init__(inner, authority)
        self.keep_hours = keep_hours

    @contextlib.contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        pending = g.get(_G) if has_request_context() else None
        if pending is None or pending.store is not self:
            with super().unit_of_work() as uow:
                yield uow
            return
        with pending.unit() as uow:
            yield uow


class _HeldUnit(UnitOfWork):
    """A unit of work that passes every call on to ``inner``, noting whether
    anything was written and the first audit entry (what a replay audits)."""

    def __init__(self, inner: UnitOfWork):
        self.inner = inner
        self.wrote = False
        self.audited: dict[str, Any] | None = None

    def insert(self, collection: str, doc: dict[str, Any]) -> str:
        self.wrote = True
        return self.inner.insert(collection, doc)

    def replace(self, collection: str, doc: dict[str, Any], *, expected_version: int) -> int:
        self.wrote = True
        return self.inner.replace(collection, doc, expected_version=expected_version)

    def update(self, collection: str, filter: dict[str, Any], update: dict[str, Any], *, upsert: bool = False) -> None:
        self.wrote = True
        self.inner.update(collection, filter, update, upsert=upsert)

    def forget_sent_mentioning(self, mention: str) -> None:
        self.wrote = True
        self.inner.forget_sent_mentioning(mention)

    def remove(self, collection: str, doc_id: str, *, expected_version: int) -> None:
        self.wrote = True
        self.inner.remove(collection, doc_id, expected_version=expected_version)

    def publish(
        self, routing_key: str, body: dict[str, Any], *, message_id: str, headers: dict[str, Any] | None = None
    ) -> None:
        self.wrote = True
        self.inner.publish(routing_key, body, message_id=message_id, headers=headers)

    def mark_processed(self, event_id: str, consumer: str) -> None:
        self.wrote = True
        self.inner.mark_processed(event_id, consumer)

    def append(self, log_name: str, entry: dict[str, Any]) -> None:
        self.wrote = True
        self.inner.append(log_name, entry)
        if log_name == audit.LOG and self.audited is None:
            self.audited = {k: entry.get(k) for k in ("record_type", "record_id", "child_id")}

    def delete(self, collection: str, filter: dict[str, Any]) -> None:
        self.wrote = True
        self.inner.delete(collection, filter)

    def forget_sent(self, filter: dict[str, Any]) -> None:
        self.wrote = True
        self.inner.forget_sent(filter)

    def redact(self, log: str, seqs: list[int], *, erasure_id: str, note: dict[str, Any] | None = None) -> None:
        self.wrote = True
        self.inner.redact(log, seqs, erasure_id=erasure_id, note=note)


# --- one idempotent request ---


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode("ascii"))


def _derive(key: str, salt: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=_INFO).derive(key.encode("ascii"))


def _canonical_body() -> str:
    data = request.get_data(cache=True)
    try:
        parsed = json.loads(data) if data else None
    except ValueError:
        return "bytes:" + hashlib.sha256(data).hexdigest()
    return json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _key_from_request() -> str | None:
    """The request's key; None without one; a 400 naming the header for a
    key that is not 1 to 255 printable ASCII characters."""
    sent = request.headers.get(HEADER)
    if sent is None:
        return None
    key = sent.strip()
    if not 1 <= len(key) <= MAX_KEY or any(not " " <= c <= "~" for c in key):
        abort(400, message=BAD_KEY, errors={"headers": {HEADER: [BAD_KEY]}})
    return key


class _Pending:
    """An idempotent request under way: its key's record and what the view
    committed (held until its answer is known)."""

    def __init__(self, store: HoldingStore, key: str):
        principal = current_principal()
        self.store, self.key, self.principal = store, key, principal
        scope = "\0".join(("cpp idempotency", store.authority, principal.user, key))
        self.record_id = hashlib.sha256(scope.encode("utf-8")).hexdigest()
        self.fingerprint = hashlib.sha256(
            json.dumps(
                [
                    request.method,
                    request.path,
                    request.query_string.decode("latin-1"),
                    " ".join(principal.roles),
                    _canonical_body(),
                ]
            ).encode("ascii")
        ).hexdigest()
        self.held: _HeldUnit | None = None
        self.after: list[Callable[[], None]] = []  # what waits for the held unit's commit
        self.failure: StoreError | None = None  # set when the view runs again to answer its commit's failure

    # -- the view's unit of work --
    @contextlib.contextmanager
    def unit(self) -> Iterator[UnitOfWork]:
        if self.failure is not None:
            # Running again after the commit failed: the block's writes go
            # nowhere and it fails as the commit did, for the view to answer.
            yield _HeldUnit(self.store.begin())
            raise self.failure
        if self.held is not None:
            raise RuntimeError("an idempotent view commits its writes in one unit of work")
        unit = _HeldUnit(self.store.begin())
        yield unit  # an exception in the block discards the unit, as ever
        if unit.wrote:
            self.held = unit

    # -- the key's record --
    def find(self) -> dict[str, Any] | None:
        """The kept answer of this key, opened; None when there is none (an
        expired one is removed). A record that this request cannot open
        (only another key would) counts as another request's."""
        coll = self.store.collection(COLLECTION)
        record = coll.find_one({"_id": self.record_id})
        if record is None:
            return None
        at = now()
        if record["expires_at"] <= at:
            coll.delete_one({"_id": self.record_id, "expires_at": {"$lte": at}})
            return None
        try:
            _, salt, nonce, sealed = record["sealed"].split(".")
            opened = AESGCM(_derive(self.key, _unb64(salt))).decrypt(
                _unb64(nonce), _unb64(sealed), self.record_id.encode("ascii")
            )
            return json.loads(opened)
        except (InvalidTag, ValueError, KeyError):
            return {"fingerprint": None}

    def record(self, response: Response) -> dict[str, Any]:
        kept = {
            "fingerprint": self.fingerprint,
            "status": response.status_code,
            "mimetype": response.mimetype,
            "headers": {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers},
            "body": response.get_data(as_text=True),
            "audit": self.held.audited if self.held else None,
            "request_id": g.get("request_id"),
        }
        salt, nonce = os.urandom(16), os.urandom(12)
        sealed = AESGCM(_derive(self.key, salt)).encrypt(
            nonce, json.dumps(kept).encode("utf-8"), self.record_id.encode("ascii")
        )
        created = now()
        return {
            "_id": self.record_id,
            "created_at": datetime.fromtimestamp(created, UTC).isoformat(),
            "expires_at": created + self.store.keep_hours * 3600.0,
            "sealed": ".".join(("v1", _b64(salt), _b64(nonce), _b64(sealed))),
        }

    def commit(self, response: Response) -> StoreError | None:
        """Commit the held unit with the answer; the error that undid it, if any."""
        assert self.held is not None
        self.held.inner.insert(COLLECTION, self.record(response))
        return commit_held(self.store, self.held.inner)

    # -- answers --
    def replay(self, kept: dict[str, Any]) -> Response:
        """The kept answer again; a 422 naming the header when the key was
        used for another request."""
        if kept.get("fingerprint") != self.fingerprint:
            abort(422, message=OTHER_REQUEST, errors={"headers": {HEADER: [OTHER_REQUEST]}})
        if kept.get("audit"):
            # It shows the record again: audited as the create was.
            shown = kept["audit"]
            with ScopedStore.unit_of_work(self.store) as uow:  # committed now, never held
                audit.record_write(
                    uow,
                    "replay",
                    shown["record_type"],
                    shown["record_id"],
                    child_id=shown.get("child_id"),
                    detail={"replayed_request_id": kept.get("request_id")},
                )
        log.info("idempotent replay", replayed_request_id=kept.get("request_id"))
        response = current_app.response_class(kept["body"], status=kept["status"], mimetype=kept["mimetype"])
        for name, value in kept["headers"].items():
            response.headers[name] = value
        response.headers[REPLAYED] = "true"
        return response


def after_commit(then: Callable[[], None]) -> None:
    """Do ``then`` once the request's writes are committed: at once, or,
    while an idempotent request's unit is held, when it commits with its
    answer (never, if that commit fails)."""
    pending = g.get(_G) if has_request_context() else None
    if pending is None or pending.held is None:
        then()
    else:
        pending.after.append(then)


def commit_held(store: Store, uow: UnitOfWork) -> StoreError | None:
    """Commit an idempotent request's unit with its kept answer."""
    [outcome] = store.commit_all([uow])
    return outcome


# --- the decorator ---

PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "description": (
        "A key of the client's choosing (a new UUID for each new request) that makes this create safe to send "
        "again: within CPP_IDEMPOTENCY_HOURS (24 unless set) the same key with the same request gets the first "
        "request's answer again, with Idempotent-Replayed: true, and makes nothing new; the same key with another "
        "request is a 422. Keys are each user's own. Only an answer that was committed is kept: after a 4xx the "
        "same key may be sent with the request put right."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY, "pattern": "^[ -~]+$"},
}


def idempotent(view: Callable) -> Callable:
    """Make a create view take an ``Idempotency-Key`` (see the module's
    description). Put it above the view's other decorators, so that it sees
    the whole answer; its OpenAPI document gains the header, the replay
    header and the 400 and 422 answers."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = _key_from_request()
        if key is None:
            return view(*args, **kwargs)
        store = current_app.extensions["cpp"].store
        if not isinstance(store, HoldingStore):
            raise RuntimeError("an idempotent view needs the app factory's HoldingStore")
        pending = _Pending(store, key)
        kept = pending.find()
        if kept is not None:
            return pending.replay(kept)
        setattr(g, _G, pending)
        try:
            try:
                response = current_app.make_response(view(*args, **kwargs))
            except Exception:
                # Refused: if a request with the same key committed meanwhile, its answer is this one's.
                g.pop(_G, None)
                kept = pending.find()
                if kept is not None and kept.get("fingerprint") == pending.fingerprint:
                    return pending.replay(kept)
                raise
            if pending.held is None:
                return response  # nothing was written: nothing to keep
            failure = pending.commit(response)
            if failure is None:
                for then in pending.after:
                    then()
                return response
            pending.held = None
            if isinstance(failure, CommitOutcomeUnknown | StoreUnavailable):
                # The database did not answer: if the write (and the kept
                # answer with it) was saved after all, this is its answer;
                # otherwise a 503, and the client sends the same key again.
                try:
                    kept = pending.find()
                except StoreError:
                    kept = None
                if kept is not None and kept.get("fingerprint") == pending.fingerprint:
                    return pending.replay(kept)
                raise failure
            kept = pending.find()
            if kept is not None:
                return pending.replay(kept)  # a request with the same key committed first
            pending.failure = failure
            return current_app.make_response(view(*args, **kwargs))
        finally:
            g.pop(_G, None)

    wrapper._apidoc = _documented(getattr(view, "_apidoc", {}))  # type: ignore[attr-defined]
    return wrapper


def _documented(apidoc: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(apidoc)
    doc.setdefault("arguments", {}).setdefault("parameters", []).append(dict(PARAMETER))
    responses = doc.setdefault("response", {}).setdefault("responses", {})
    for code in doc.get("success_status_codes", []):
        for answer in responses.get(code, []):
            if isinstance(answer, dict):
                answer.setdefault("headers", {})[REPLAYED] = {
                    "description": f"true when this is the kept answer of an earlier request with the same {HEADER}",
                    "schema": {"type": "string", "enum": ["true"]},
                }
    responses.setdefault(400, []).append(
        {
            "schema": ErrorSchema(),
            "content_type": None,
            "description": f"a header is malformed: {HEADER} not 1 to {MAX_KEY} printable ASCII characters "
            "(errors.headers names it)",
        }
    )
    responses.setdefault(422, []).append(
        {
            "schema": ErrorSchema(),
            "content_type": None,
            "description": f"the body is invalid (errors.json, by field), or the {HEADER} was used for another "
            "request (errors.headers)",
        }
    )
    return doc


# --- expired keys ---


def remove_expired(store: Store, *, batch: int = SWEEP_BATCH) -> int:
    """Remove the authority's expired keys; how many went."""
    coll = store.collection(COLLECTION)
    removed, at = 0, now()
    while True:
        rows = coll.find({"expires_at": {"$lte": at}}, limit=batch)
        for row in rows:
            removed += coll.delete_one({"_id": row["_id"], "expires_at": {"$lte": at}})
        if len(rows) < batch:
            return removed


def background(ctx: Any) -> list[tuple[str, Callable[[threading.Event], None]]]:
    """The worker's sweep of expired keys (every 10 minutes)."""

    def sweep(stop: threading.Event) -> None:
        ctx.store.collection(COLLECTION).create_index("expires_at")
        while True:
            try:
                removed = remove_expired(ctx.store)
                if removed:
                    log.info("expired idempotency keys removed", count=removed)
            except StoreError as exc:
                log.warning(
                    "expired idempotency keys not removed; will try again", error=f"{type(exc).__name__}: {exc}"
                )
            if stop.wait(SWEEP_SECONDS):
                return

    return [("idempotency-sweep", sweep)]
