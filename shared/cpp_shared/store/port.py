"""The store port: the small document-store API every service uses.

It is the subset of pymongo's Collection API the services need, plus three
things pymongo leaves to the application and every service must get right:

* optimistic concurrency: each aggregate carries ``version``; a write that
  expects a version other than the stored one fails with ``VersionConflict``;
* the transactional outbox: events published in a unit of work are stored in
  the same atomic commit as the state change, and a relay later sends them;
* consumer idempotency: a consumer marks the event id it handled in the same
  commit as its effect, so a redelivered event is recognised and skipped;
* append-only, hash-chained logs (audit trails): an entry appended in a unit
  of work is stored in the same atomic commit as the writes it records, with
  a gap-free ``seq`` and a hash linking it to the entry before (see
  ``chain.py``); there is no API to change or remove an entry, except to
  redact it (``UnitOfWork.redact``: its content erased, its place in the
  chain kept, a later entry saying so).

Documents are JSON-shaped dicts (str, int, float, bool, None, list, dict) with
a string ``_id``. Dates are stored as ISO-8601 strings.

Filters understood by every adapter (the contract suite checks each):
equality on a field or a dotted path, and the operators ``$in``, ``$nin``,
``$ne``, ``$gt``, ``$gte``, ``$lt``, ``$lte``, ``$exists``; several fields in
one filter, and several operators on one field, are ANDed. Matching follows
MongoDB: a condition on a field holding an array matches when the array or
one of its elements matches; a dotted path goes through arrays of
sub-documents (``"members.person_id"``) and a numeric step picks a position
(``"members.0.role"``); ``None`` equals null and missing fields, ``$ne`` and
``$nin`` match missing fields; range operators only compare values of the same
kind (numbers with numbers, strings with strings) and refuse ``None``.
Updates: ``$set``, ``$unset``, ``$inc``, ``$push`` (one value; no ``$each``),
``$setOnInsert``, on dotted paths; two operators may not touch the same path
or a path and its parent, and only ``$setOnInsert`` may set ``_id``.
Anything outside this subset (``$or``, ``$regex``, ...) raises ``ValueError``
on every adapter, so a service that works on one adapter works on all.
Documents that are not JSON-shaped raise ``TypeError``; keys may not contain
``.`` or start with ``$`` (``ValueError``).
"""

from __future__ import annotations

import abc
import contextlib
from dataclasses import dataclass, field, replace
from typing import Any

from .chain import GENESIS, ChainReport, finish, verify_chain


class StoreError(Exception):
    """Base class of the store's own errors.

    ``code`` is the database's own error code when it gave one (MongoDB's
    ``code``: 290 for a transaction over its time limit, say), else None."""

    code: int | None = None


class StoreUnavailable(StoreError):
    """The database cannot be reached or used right now (a 503, not a 500)."""


class CommitOutcomeUnknown(StoreError):
    """The commit was sent but its result never came back (the connection
    dropped or the time limit passed while the database was committing): the
    unit of work may or may not have been written, wholly or not at all,
    never in part. Unlike ``StoreUnavailable``, which promises that nothing
    was written, retrying blindly may repeat it: retry what is idempotent
    (a consumer's event, whose processed mark refuses a second commit; a
    request with the same ``Idempotency-Key``), or read the state first."""


class VersionConflict(StoreError):
    """Another writer changed the aggregate since it was read."""

    def __init__(self, collection: str, doc_id: str, expected: int, actual: int | None):
        self.collection, self.doc_id, self.expected, self.actual = collection, doc_id, expected, actual
        found = "it no longer exists" if actual is None else f"it is at version {actual}"
        super().__init__(f"{collection}/{doc_id}: expected version {expected}, but {found}")


class DuplicateKey(StoreError):
    """An insert or update would break a unique index (or reuse an _id)."""


class AlreadyProcessed(StoreError):
    """The consumer has already committed the effect of this event."""

    def __init__(self, event_id: str):
        self.event_id = event_id
        super().__init__(f"event {event_id} was already processed")


class CorruptLogRecord(StoreError):
    """A stored log record cannot be read back as a record at all (its entry
    is not a JSON object, a field is missing): changed outside the store, or
    damaged. ``Store.verify_log`` reports it as the chain's first bad record."""

    def __init__(self, log: str, seq: Any, problem: str):
        self.log, self.seq, self.problem = log, seq, problem
        super().__init__(f"log {log!r}, seq {seq!r}: {problem}")


@dataclass(frozen=True)
class OutboxMessage:
    """An event waiting in (or sent from) the outbox, in commit order."""

    seq: int  # increases with commit order; may have gaps
    message_id: str
    routing_key: str
    body: dict[str, Any]
    headers: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0  # unix seconds, taken when the unit of work committed


@dataclass(frozen=True)
class LogRecord:
    """One entry of an append-only log, as committed."""

    seq: int  # 1, 2, 3, ... per log, in commit order, without gaps
    prev_hash: str  # the previous record's hash; chain.GENESIS for seq 1
    hash: str  # chain.entry_hash(seq, prev_hash, entry)
    entry: dict[str, Any]
    committed_at: float  # unix seconds of the commit; not covered by the hash


@dataclass(frozen=True)
class OutboxStats:
    pending: int
    oldest_created_at: float | None  # unix seconds of the oldest unsent message


class Collection(abc.ABC):
    """Reads and single-document auto-committed writes on one collection."""

    name: str

    @abc.abstractmethod
    def find_one(self, filter: dict[str, Any] | None = None) -> dict[str, Any] | None: ...

    @abc.abstractmethod
    def find(
        self,
        filter: dict[str, Any] | None = None,
        *,
        sort: list[tuple[str, int]] | None = None,
        skip: int = 0,
        limit: int = 0,
    ) -> list[dict[str, Any]]:
        """``sort`` is ``[(path, 1 or -1), ...]``; equal keys are ordered by
        ``_id`` (in the last key's direction), so pages taken with
        ``skip``/``limit`` are stable. Without ``sort`` the order is
        unspecified. ``limit=0`` means no limit."""

    @abc.abstractmethod
    def count_documents(self, filter: dict[str, Any] | None = None) -> int: ...

    @abc.abstractmethod
    def create_index(self, field: str, *, unique: bool = False) -> None:
        """Idempotent. ``field`` may be a dotted path.

        A unique index ignores documents that lack the field (two explicit
        nulls do collide); it is meant for scalar fields, not arrays. Making
        a field unique while duplicates exist raises ``DuplicateKey``."""

    @abc.abstractmethod
    def insert_one(self, doc: dict[str, Any]) -> str:
        """Insert; returns the _id (a uuid4 hex is generated when missing).
        Sets ``version`` to 1 when the document has none. The caller's dict
        is not modified. ``DuplicateKey`` for a used _id or a unique index."""

    @abc.abstractmethod
    def update_one(self, filter: dict[str, Any], update: dict[str, Any], *, upsert: bool = False) -> int:
        """Returns the number of documents matched (0 or 1), so 0 when an
        upsert inserted. The update does not change ``version``.

        An upsert that inserts builds the document as MongoDB does (the
        filter's equality conditions, then the update with ``$setOnInsert``)
        and, unless the filter or the update set them, gives it a uuid4 hex
        ``_id`` and ``version`` 1, as ``insert_one`` would."""

    @abc.abstractmethod
    def delete_one(self, filter: dict[str, Any]) -> int: ...


class UnitOfWork(abc.ABC):
    """Writes collected and committed atomically when the ``with`` block exits.

    Writes are buffered: reads made through ``Store.collection`` inside the
    block see the committed state, not the pending writes. Version checks,
    unique indexes and the processed-event mark are enforced at commit; when
    any fails nothing at all is written and the error is raised from the
    ``with`` statement. An exception raised inside the block discards the
    buffered writes. Arguments are checked (and documents copied) when the
    method is called, so the caller may keep changing its dicts.

    At commit the processed-event marks are applied first, then the other
    writes in the order they were called (a later ``update`` sees an earlier
    ``insert`` of the same unit). So a redelivered event fails with
    ``AlreadyProcessed`` even when its writes would also conflict.
    """

    @abc.abstractmethod
    def insert(self, collection: str, doc: dict[str, Any]) -> str:
        """Insert a new aggregate at version 1 (whatever ``doc['version']``
        says); returns its _id, generated now when missing. ``DuplicateKey``
        at commit when the _id or a unique field is taken."""

    @abc.abstractmethod
    def replace(self, collection: str, doc: dict[str, Any], *, expected_version: int) -> int:
        """Replace the aggregate ``doc['_id']`` if it is still at
        ``expected_version``; the stored document gets ``expected_version + 1``,
        which is returned. ``VersionConflict`` at commit otherwise."""

    @abc.abstractmethod
    def update(self, collection: str, filter: dict[str, Any], update: dict[str, Any], *, upsert: bool = False) -> None:
        """An unversioned update (counters, indexes of other aggregates)."""

    @abc.abstractmethod
    def remove(self, collection: str, doc_id: str, *, expected_version: int) -> None:
        """Remove the aggregate ``doc_id`` if it is still at ``expected_version``
        (what was read is what goes: an aggregate changed since is kept);
        ``VersionConflict`` at commit otherwise, and when it no longer exists.
        Erasing a record at the end of its retention is the one use."""

    @abc.abstractmethod
    def forget_sent_mentioning(self, mention: str) -> None:
        """Remove from the outbox the messages already sent whose body
        mentions ``mention`` (an id: a child's, whose records are erased), so
        that the outbox keeps no copy of what they said. Messages not yet
        sent stay: they are still to be sent. Erasure is the one use."""

    @abc.abstractmethod
    def publish(
        self, routing_key: str, body: dict[str, Any], *, message_id: str, headers: dict[str, Any] | None = None
    ) -> None:
        """Put an event in the outbox; it is sent only if the commit succeeds.
        ``message_id`` must be unique in the outbox (``DuplicateKey`` at commit)."""

    @abc.abstractmethod
    def mark_processed(self, event_id: str, consumer: str) -> None:
        """Record that ``consumer`` handled ``event_id``; ``AlreadyProcessed``
        at commit (and nothing written) when it already did."""

    @abc.abstractmethod
    def append(self, log: str, entry: dict[str, Any]) -> None:
        """Append ``entry`` to the append-only log ``log`` (named like a
        collection) if, and only if, the unit commits.

        ``entry`` is a JSON-shaped dict (the document rules) whose top-level
        keys do not start with ``_`` (so no ``_id``). At commit the entries get
        the log's next seqs, in commit order across units and in call order
        within one, each chained to the one before by its hash; a unit that
        fails leaves no entry and no gap."""

    @abc.abstractmethod
    def delete(self, collection: str, filter: dict[str, Any]) -> None:
        """Remove every document of ``collection`` that ``filter`` matches
        (the port's filters), at commit; matching none is not an error."""

    @abc.abstractmethod
    def forget_sent(self, filter: dict[str, Any]) -> None:
        """Remove, at commit, the outbox's SENT messages whose body (the
        event) ``filter`` matches (the port's filters, on the body's fields:
        ``{"data.child_id": ...}``): the events kept after sending that hold a
        child's data, when the child's records are erased. A message not sent
        yet is kept, whatever it holds: it is still owed to its consumers."""

    @abc.abstractmethod
    def redact(self, log: str, seqs: list[int], *, erasure_id: str, note: dict[str, Any] | None = None) -> None:
        """Erase the content of the records ``seqs`` of ``log`` at commit,
        keeping the chain verifiable (see ``chain.py``): each one's entry
        becomes ``{"redacted": erasure_id}`` (seq, prev_hash and hash kept),
        and one entry is appended to ``log``, in the same commit, naming every
        record redacted by seq and hash, with ``note``'s fields (the rules of
        an appended entry; never the erased data; no ``redaction`` key).

        A record already redacted is left as it is (and not named again); a
        redaction entry cannot be redacted, nor a seq the log does not have
        (``ValueError`` at commit, and nothing written). The entry is
        appended even when no record was left to redact, so call it once per
        erasure (an erasure id is the caller's key)."""


class Store(abc.ABC):
    """One service's database."""

    @abc.abstractmethod
    def collection(self, name: str) -> Collection: ...

    @abc.abstractmethod
    def unit_of_work(self) -> contextlib.AbstractContextManager[UnitOfWork]: ...

    @abc.abstractmethod
    def begin(self) -> UnitOfWork:
        """A unit of work to be committed later with ``commit_all``."""

    @abc.abstractmethod
    def commit_all(self, units: list[UnitOfWork]) -> list[StoreError | None]:
        """Group commit: commit several independent units of work, each
        atomic on its own, and return each one's outcome (None, or the
        StoreError that undid that unit alone: VersionConflict, DuplicateKey,
        AlreadyProcessed). Adapters may share one durable commit among them
        (SQLite: one transaction with a savepoint per unit, one fsync).
        Raises StoreUnavailable when nothing could be committed. An adapter
        committing each unit on its own (MongoDB) instead gives each unit the
        error of its own commit, whatever it is (``StoreUnavailable``,
        ``CommitOutcomeUnknown``, any ``StoreError``), and still tries the
        units after it."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise ``StoreUnavailable`` when the database cannot be used."""

    # --- outbox, for the relay ---
    @abc.abstractmethod
    def outbox_pending(self, limit: int = 100, *, authority: str | None = None) -> list[OutboxMessage]:
        """Unsent messages, oldest commit first; ``limit`` >= 1. With
        ``authority``, only the events whose body's ``authority`` is that one
        (a store shared by deployments: each relay sends its own)."""

    @abc.abstractmethod
    def outbox_mark_sent(self, seqs: list[int], *, fence: tuple[str, int] | None = None) -> bool:
        """Sent messages leave ``outbox_pending``; unknown or already sent
        seqs are ignored. Sent rows are kept (with their send time).

        ``fence=(lease name, token)``: only while the lease's latest take is
        the one ``acquire_lease`` returned ``token`` for (nobody has taken it
        since), checked in the same atomic write as the marking; otherwise
        nothing is marked and the answer is False. A relay that was paused
        past its lease and overtaken so cannot mark what its successor owns.
        True when the marks were written (or there was nothing to mark)."""

    @abc.abstractmethod
    def outbox_stats(self, *, authority: str | None = None) -> OutboxStats:
        """The unsent messages (of ``authority`` alone, when given)."""

    # --- append-only logs ---
    @abc.abstractmethod
    def read_log(self, log: str, *, after_seq: int = 0, limit: int = 1000) -> list[LogRecord]:
        """Up to ``limit`` (>= 1) records of ``log`` with seq > ``after_seq``,
        oldest first; ``[]`` for a log never appended to. ``CorruptLogRecord``
        when a stored record cannot be read back as one."""

    def verify_log(self, log: str, batch: int = 1000) -> ChainReport:
        """Check the whole chain of ``log`` (see ``chain.verify_chain``),
        reading ``batch`` records at a time, so memory does not grow with
        the log. Records committed meanwhile are checked too when they come
        after the page being read."""
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise ValueError("batch must be an integer >= 1")
        last_seq, last_hash, checked, size = 0, GENESIS, 0, batch
        unconfirmed: tuple[tuple[int, str, str, str], ...] = ()
        while True:
            try:
                page = self.read_log(log, after_seq=last_seq, limit=size)
            except CorruptLogRecord as exc:
                if size > 1:
                    # Records before the unreadable one may be bad too: go on
                    # one record at a time to find the first bad one in order.
                    size = 1
                    continue
                expected = last_seq + 1
                if exc.seq == expected:
                    reason = exc.problem
                else:
                    reason = f"expected seq {expected}, found an unreadable record ({exc})"
                return ChainReport(False, checked, expected, f"seq {expected}: {reason}", last_seq, last_hash)
            report = verify_chain(page, after_seq=last_seq, prev_hash=last_hash, unconfirmed=unconfirmed, final=False)
            checked += report.checked
            if not report.ok or len(page) < size:
                return finish(replace(report, checked=checked))
            last_seq, last_hash, unconfirmed = report.last_seq, report.last_hash, report.unconfirmed

    # --- processed events, for consumers ---
    @abc.abstractmethod
    def is_processed(self, event_id: str, consumer: str) -> bool: ...

    # --- leases, so one relay of many replicas publishes at a time ---
    @abc.abstractmethod
    def acquire_lease(self, name: str, holder: str, seconds: float) -> int | None:
        """Take or renew the named lease for ``holder``: its fencing token
        while ``holder`` holds it, None while another holder's lease is
        unexpired. Taking or renewing sets the expiry to now + ``seconds`` on
        the database server's clock (SQLite: its one host's; MongoDB:
        ``$$NOW``), and compares expiries with that clock alone, so the
        callers' clocks never matter. Each take (the lease was free, expired,
        released or another's) gets a token greater than every earlier take
        of that lease, kept by its renewals; tokens start at 1, so the answer
        is truthy exactly when the lease is held (see ``outbox_mark_sent``'s
        ``fence``)."""

    @abc.abstractmethod
    def release_lease(self, name: str, holder: str) -> None:
        """Give the lease up now; does nothing unless ``holder`` holds it.
        The lease's token is kept: the next take gets a greater one."""

    def collection_names(self) -> list[str]:
        """The collections holding records (not the store's own bookkeeping)."""
        raise NotImplementedError(f"{type(self).__name__} cannot list its collections")

    def close(self) -> None:  # noqa: B027 - a default on purpose, not an abstract method
        """Release connections; adapters that hold none keep this default."""
