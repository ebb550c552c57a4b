"""One authority's view of a store: isolation by construction.

Every service reaches its store through ``ScopedStore`` (the app factory and
the worker wrap it), so a record written carries ``authority`` and a record
read, changed or removed is only ever one of the deployment's authority,
whatever the query a view or a handler wrote. Two deployments sharing one
database (a shared host, a mistaken setting) therefore never see each
other's records: another authority's record is not found, exactly like one
that does not exist.

What the view does to each call:

* filters (``find``, ``find_one``, ``count_documents``, ``update_one``,
  ``delete_one``, a unit of work's ``update``) get ``authority: <code>``;
  a filter naming another authority is a programming error (``ValueError``);
* documents inserted or replaced are stamped with the authority; an update
  may not set or unset it;
* a replace is refused (``VersionConflict``, as if the record had gone)
  unless the stored record is the authority's;
* log entries are stamped, and ``read_log`` returns only the authority's
  (a redacted record, whose entry is only its marker, is nobody's: the
  redaction's own entry is stamped); only the authority's records may be
  redacted;
  ``verify_log`` checks the whole chain (it is the database's, not a view's);
* the outbox's relay sends only the authority's events, and leases are the
  authority's own, so each deployment's relay publishes its own events.

Indexes, processed-event marks and the outbox's bookkeeping pass through.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from .port import (
    Collection,
    LogRecord,
    OutboxMessage,
    OutboxStats,
    Store,
    StoreError,
    UnitOfWork,
    VersionConflict,
)

FIELD = "authority"
_CLAIMED = "_scoped_records"  # the view's own bookkeeping: which collections were claimed


class ScopedStore(Store):
    """``inner`` seen as the records of ``authority`` alone."""

    def __init__(self, inner: Store, authority: str):
        if not isinstance(authority, str) or not authority:
            raise ValueError("a scoped store needs an authority code")
        if isinstance(inner, ScopedStore):
            raise ValueError("the store is already scoped")
        self.inner = inner
        self.authority = authority

    def __repr__(self) -> str:
        return f"ScopedStore({self.inner!r}, {self.authority!r})"

    # -- the rules ---------------------------------------------------------
    def scope(self, filter: dict[str, Any] | None) -> dict[str, Any]:
        scoped = dict(filter or {})
        if FIELD in scoped and scoped[FIELD] != self.authority:
            raise ValueError(f"this view holds authority {self.authority!r}'s records only, not {scoped[FIELD]!r}")
        scoped[FIELD] = self.authority
        return scoped

    def stamp(self, doc: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(doc, dict):
            raise TypeError("a document must be a dict")
        if doc.get(FIELD, self.authority) != self.authority:
            raise ValueError(
                f"a record of authority {doc[FIELD]!r} cannot be written through authority {self.authority!r}'s view"
            )
        return {**doc, FIELD: self.authority}

    def check_update(self, update: dict[str, Any]) -> dict[str, Any]:
        for op, fields in (update or {}).items():
            if not isinstance(fields, dict):
                continue
            for path in fields:
                if path == FIELD or path.startswith(FIELD + "."):
                    if op in ("$set", "$setOnInsert") and path == FIELD and fields[path] == self.authority:
                        continue
                    raise ValueError(f"a record's {FIELD!r} cannot be changed ({op} {path})")
        return update

    def owns(self, collection: str, record_id: Any) -> bool:
        return self.inner.collection(collection).find_one({"_id": record_id, FIELD: self.authority}) is not None

    # -- records -----------------------------------------------------------
    def collection(self, name: str) -> ScopedCollection:
        return ScopedCollection(self, self.inner.collection(name))

    @contextlib.contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        with self.inner.unit_of_work() as uow:
            yield ScopedUnitOfWork(self, uow)

    def begin(self) -> UnitOfWork:
        return ScopedUnitOfWork(self, self.inner.begin())

    def commit_all(self, units: list[UnitOfWork]) -> list[StoreError | None]:
        return self.inner.commit_all([u.inner if isinstance(u, ScopedUnitOfWork) else u for u in units])

    def ping(self) -> None:
        self.inner.ping()

    # -- outbox, leases, processed marks -----------------------------------
    def outbox_pending(self, limit: int = 100, *, authority: str | None = None) -> list[OutboxMessage]:
        return self.inner.outbox_pending(limit, authority=self.authority)

    def outbox_mark_sent(self, seqs: list[int], *, fence: tuple[str, int] | None = None) -> bool:
        if fence is not None:
            fence = (f"{fence[0]}@{self.authority}", fence[1])  # the authority's own lease, as acquire_lease names it
        return self.inner.outbox_mark_sent(seqs, fence=fence)

    def outbox_stats(self, *, authority: str | None = None) -> OutboxStats:
        return self.inner.outbox_stats(authority=self.authority)

    def is_processed(self, event_id: str, consumer: str) -> bool:
        return self.inner.is_processed(event_id, consumer)

    def acquire_lease(self, name: str, holder: str, seconds: float) -> int | None:
        return self.inner.acquire_lease(f"{name}@{self.authority}", holder, seconds)

    def release_lease(self, name: str, holder: str) -> None:
        self.inner.release_lease(f"{name}@{self.authority}", holder)

    # -- logs --------------------------------------------------------------
    def read_log(self, log: str, *, after_seq: int = 0, limit: int = 1000) -> list[LogRecord]:
        """The authority's entries with seq > ``after_seq``, up to ``limit``
        of them (pages of the whole chain are read until enough are found)."""
        found: list[LogRecord] = []
        while len(found) < limit:
            page = self.inner.read_log(log, after_seq=after_seq, limit=limit)
            found.extend(r for r in page if r.entry.get(FIELD) == self.authority)
            if len(page) < limit:
                break
            after_seq = page[-1].seq
        return found[:limit]

    def verify_log(self, log: str, batch: int = 1000):
        return self.inner.verify_log(log, batch)

    def collection_names(self) -> list[str]:
        return self.inner.collection_names()

    def close(self) -> None:
        self.inner.close()

    # -- records written before views existed ------------------------------
    def claim_unowned(self, batch: int = 500) -> dict[str, int]:
        """Stamp the authority on the records that carry none (written before
        every store was scoped), once per collection: the deployment that
        first opens a database after the upgrade owns its old records.
        Returns how many records each collection had to claim."""
        claimed: dict[str, int] = {}
        done = self.inner.collection(_CLAIMED)
        for name in self.inner.collection_names():
            if name == _CLAIMED or done.find_one({"_id": name}) is not None:
                continue
            coll = self.inner.collection(name)
            count = 0
            while True:
                rows = coll.find({FIELD: {"$exists": False}}, limit=batch)
                for row in rows:
                    count += coll.update_one(
                        {"_id": row["_id"], FIELD: {"$exists": False}}, {"$set": {FIELD: self.authority}}
                    )
                if len(rows) < batch:
                    break
            done.update_one({"_id": name}, {"$set": {"claimed_by": self.authority, "count": count}}, upsert=True)
            if count:
                claimed[name] = count
        return claimed


class ScopedCollection(Collection):
    def __init__(self, view: ScopedStore, inner: Collection):
        self.view, self.inner, self.name = view, inner, inner.name

    def __repr__(self) -> str:
        return f"ScopedCollection({self.inner!r}, {self.view.authority!r})"

    def find_one(self, filter: dict[str, Any] | None = None) -> dict[str, Any] | None:
        return self.inner.find_one(self.view.scope(filter))

    def find(
        self,
        filter: dict[str, Any] | None = None,
        *,
        sort: list[tuple[str, int]] | None = None,
        skip: int = 0,
        limit: int = 0,
    ) -> list[dict[str, Any]]:
        return self.inner.find(self.view.scope(filter), sort=sort, skip=skip, limit=limit)

    def count_documents(self, filter: dict[str, Any] | None = None) -> int:
        return self.inner.count_documents(self.view.scope(filter))

    def create_index(self, field: str, *, unique: bool = False) -> None:
        self.inner.create_index(field, unique=unique)

    def insert_one(self, doc: dict[str, Any]) -> str:
        return self.inner.insert_one(self.view.stamp(doc))

    def update_one(self, filter: dict[str, Any], update: dict[str, Any], *, upsert: bool = False) -> int:
        return self.inner.update_one(self.view.scope(filter), self.view.check_update(update), upsert=upsert)

    def delete_one(self, filter: dict[str, Any]) -> int:
        return self.inner.delete_one(self.view.scope(filter))

    def explain(self, filter: dict[str, Any] | None = None, *, sort: list[tuple[str, int]] | None = None) -> list[str]:
        return self.inner.explain(self.view.scope(filter), sort=sort)  # type: ignore[attr-defined]


class ScopedUnitOfWork(UnitOfWork):
    def __init__(self, view: ScopedStore, inner: UnitOfWork):
        self.view, self.inner = view, inner

    def insert(self, collection: str, doc: dict[str, Any]) -> str:
        return self.inner.insert(collection, self.view.stamp(doc))

    def replace(self, collection: str, doc: dict[str, Any], *, expected_version: int) -> int:
        stamped = self.view.stamp(doc)
        if not self.view.owns(collection, stamped.get("_id")):
            raise VersionConflict(collection, str(stamped.get("_id")), expected_version, None)
        return self.inner.replace(collection, stamped, expected_version=expected_version)

    def update(self, collection: str, filter: dict[str, Any], update: dict[str, Any], *, upsert: bool = False) -> None:
        self.inner.update(collection, self.view.scope(filter), self.view.check_update(update), upsert=upsert)

    def remove(self, collection: str, doc_id: str, *, expected_version: int) -> None:
        if not self.view.owns(collection, doc_id):
            raise VersionConflict(collection, str(doc_id), expected_version, None)
        self.inner.remove(collection, doc_id, expected_version=expected_version)

    def forget_sent_mentioning(self, mention: str) -> None:
        self.inner.forget_sent_mentioning(mention)  # an id is one authority's: another's messages cannot mention it

    def publish(
        self, routing_key: str, body: dict[str, Any], *, message_id: str, headers: dict[str, Any] | None = None
    ) -> None:
        if body.get(FIELD, self.view.authority) != self.view.authority:
            raise ValueError(
                f"an event of authority {body[FIELD]!r} cannot be published through "
                f"authority {self.view.authority!r}'s view"
            )
        self.inner.publish(routing_key, self.view.stamp(body), message_id=message_id, headers=headers)

    def mark_processed(self, event_id: str, consumer: str) -> None:
        self.inner.mark_processed(event_id, consumer)

    def append(self, log: str, entry: dict[str, Any]) -> None:
        self.inner.append(log, self.view.stamp(entry))

    def delete(self, collection: str, filter: dict[str, Any]) -> None:
        self.inner.delete(collection, self.view.scope(filter))

    def forget_sent(self, filter: dict[str, Any]) -> None:
        self.inner.forget_sent(self.view.scope(filter))  # the body's authority: the authority's own events

    def redact(self, log: str, seqs: list[int], *, erasure_id: str, note: dict[str, Any] | None = None) -> None:
        """Only the authority's own records (a record of another, or one
        already redacted, whose authority cannot be told, is refused)."""
        for seq in seqs:
            found = (
                self.view.inner.read_log(log, after_seq=seq - 1, limit=1) if isinstance(seq, int) and seq > 0 else []
            )
            record = found[0] if found and found[0].seq == seq else None
            if record is not None and record.entry.get(FIELD) != self.view.authority:
                raise ValueError(f"log {log!r}, seq {seq} is not authority {self.view.authority!r}'s to redact")
        self.inner.redact(log, seqs, erasure_id=erasure_id, note=self.view.stamp(note or {}))


def unscoped(store: Store) -> Store:
    """The database behind a view (for what is not records: GridFS's bytes,
    an adapter's own tuning)."""
    return store.inner if isinstance(store, ScopedStore) else store
