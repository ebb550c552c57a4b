"""MongoDB adapter of the store port (also runs over ``mongomock`` for tests).

A unit of work is one multi-document transaction
(``ClientSession.with_transaction``, which retries transient errors such as
write conflicts). Outbox rows live in the ``outbox`` collection.

The outbox has no document every publisher writes. A publishing transaction
inserts its message with ``seq: null`` and touches nothing shared, so
concurrent publishers commit in parallel (a counter incremented in every
transaction made them abort one another with WriteConflict and re-run one at
a time). The seq is given after the commit by a sequencer step that only the
relay runs (``outbox_pending``, under the relay's lease): it reads the
unsequenced messages with the majority read concern, oldest ``created_at``
first (then ``position``, the publish's place in its unit, then ``_id``),
reserves as many numbers at once from the
``outbox_seq`` counter (written by that one reader, outside any transaction,
so it is not hot) and sets each message's seq with a conditional update
(``seq: null``), then returns the pending messages by seq. Why this keeps the
port's contract:

* nothing is skipped: the relay pages by "not sent yet", never by a
  high-water mark, and a message is numbered only once the relay has seen
  it, so one committed late always gets a seq above every seq already given,
  and is sent on the next pass;
* seq follows commit order wherever order can matter: a transaction whose
  commit (majority-acknowledged) returned before another began is before it
  in the oplog, hence visible to a majority read no later than it, so it is
  numbered in the same pass or an earlier one; within a pass ``created_at``
  (the writer's clock when its transaction began) orders such pairs, across
  hosts up to their clock skew. Transactions that overlapped have no order
  to keep;
* ``outbox_mark_sent`` still takes seqs: every message ``outbox_pending``
  returns has one. Two sequencers at once (a lease taken over) cannot number
  a message twice (the update requires ``seq: null``); the numbers the loser
  reserved are gaps, which the port allows.

The append-only logs work the same way: one ``log_entries`` collection for
every log, and one head document per log in ``log_heads``
(``{_id: log, seq, hash}``) that each appending transaction writes (claims)
before it reads the previous hash from it, and writes again with the new seq
and hash once it appended all it appends. Appenders to one log therefore
conflict on the head and commit one after the other, so seqs follow commit
order and never fork or skip. So that concurrent audited requests (every
read of a child's record appends to ``audit``) do not each pay a conflict
and a retry, the group commit batches a process's concurrent units into one
transaction (``commit_batch``): one head claim and one head write per
batch; only other processes' batches can conflict with it. An entry's ``_id`` is ``"<log>:<seq>"`` (log names cannot
contain ':'), so the unique ``_id`` index is a second guard against a fork;
the (log, seq) index only serves ``read_log``, and is not unique because
mongomock checks unique indexes by scanning the collection on every insert.
Nothing in the adapter deletes a log entry, and the only update is a
redaction (``UnitOfWork.redact``, see ``chain.py``): the entry replaced
by its marker, in the transaction that appends the redaction's entry.

Transactions need a replica set or a sharded cluster (MongoDB 4.4 or later).
A standalone server is refused; mongomock, which has no transactions, gets a
fallback described at ``MongoStore._commit``.

On a real replica set (see README, Store):

* every pymongo error leaves the adapter as one of the store's own
  (``map_error``): unreachable, timed out, not primary, or labelled
  transient is ``StoreUnavailable`` (nothing written); a commit whose result
  never came back is ``CommitOutcomeUnknown``; a duplicate key
  ``DuplicateKey``; anything else a ``StoreError`` with the server's code
  and message;
* every operation, unit of work and GridFS call runs inside
  ``pymongo.timeout(timeout_seconds)`` (``CPP_STORE_TIMEOUT_SECONDS``,
  default 10), so no request waits on an unavailable majority for ever;
* transactions run on the primary whatever the URL's read preference, and
  commit with a majority write concern; the relay's outbox reads use the
  majority read concern, so it never publishes a change a failover could
  roll back;
* collections, indexes, the outbox counter and each log's head are created
  outside transactions, before first use (``prepare``, tolerating another
  replica doing the same at the same time): a transaction never creates a
  collection nor upserts a counter or a head. A service's own upsert that
  meets a document inserted since its transaction's snapshot (a duplicate
  key, which the server does not label transient) runs the transaction
  again, a few times, instead of failing as a conflict;
* leases are taken and renewed by one atomic ``find_one_and_update`` whose
  filter and update pipeline read the server's clock (``$$NOW``), never
  the replicas', and count their takes (the fencing token); a mark of the
  outbox with a fence runs in one transaction with a write to the lease's
  document, so a take committing meanwhile conflicts with it. mongomock
  knows no ``$$NOW``: ``evaluate_now`` stands in for the server there.

Documents are stored as given, with a string ``_id``. Filters, updates and
documents are checked against the same portable subset as the SQLite adapter
(see ``cpp_shared.store.sqlite``), so a service passing its tests here also
runs on SQLite and the other way round.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import json
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import pymongo
from bson.errors import BSONError
from pymongo import ReadPreference, ReturnDocument, UpdateOne
from pymongo.errors import ConnectionFailure, DuplicateKeyError, OperationFailure, PyMongoError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from .chain import GENESIS, REDACTION, entry_hash, is_redaction_marker, redaction_entry, redaction_marker
from .documents import (
    RESERVED_COLLECTIONS,
    BufferedUnitOfWork,
    check_collection_name,
    check_filter,
    check_log_page,
    check_update,
    checked_document,
    new_id,
    sort_with_tiebreak,
    split_path,
    upsert_defaults,
)
from .port import (
    AlreadyProcessed,
    Collection,
    CommitOutcomeUnknown,
    CorruptLogRecord,
    DuplicateKey,
    LogRecord,
    OutboxMessage,
    OutboxStats,
    Store,
    StoreError,
    StoreUnavailable,
    UnitOfWork,
    VersionConflict,
)

STANDALONE_ERROR = (
    "MongoDB must run as a replica set (a single-node replica set is enough): the outbox needs transactions"
)

# mongomock is neither transactional nor thread-safe. Every operation of a
# mongomock-backed store holds this one process-wide lock, reads included, so
# a unit of work applied operation by operation (and undone if one fails) is
# never observed half-done, not even through another store on the same client.
_MOCK_LOCK = threading.RLock()

_DUPLICATE_CODES = (11000, 11001, 12582)

#: How long one operation or unit of work may take, retries included, unless
#: the store is given another (``CPP_STORE_TIMEOUT_SECONDS``).
DEFAULT_TIMEOUT_SECONDS = 10.0

#: The server is stepping down, shutting down or not (or no longer) primary:
#: NotWritablePrimary, NotPrimaryNoSecondaryOk, NotPrimaryOrSecondary,
#: InterruptedDueToReplStateChange, InterruptedAtShutdown, PrimarySteppedDown,
#: ShutdownInProgress, LegacyNotPrimary.
NOT_PRIMARY_CODES = frozenset({10107, 13435, 13436, 11602, 11600, 189, 91, 10058})

#: Worth trying again later, nothing having been written: the above, and
#: HostUnreachable, HostNotFound, NetworkTimeout, SocketException, LockTimeout,
#: MaxTimeMSExpired, WriteConcernFailed (wtimeout), ExceededTimeLimit,
#: NetworkInterfaceExceededTimeLimit, FailedToSatisfyReadPreference,
#: ReadConcernMajorityNotAvailableYet, SnapshotUnavailable.
UNAVAILABLE_CODES = NOT_PRIMARY_CODES | frozenset({6, 7, 89, 9001, 24, 50, 64, 262, 202, 133, 134, 246})

#: Another replica is creating the same collection or index at the same time.
_NAMESPACE_EXISTS = 48
_INDEX_RACE_NAMES = frozenset({"IndexAlreadyExists", "IndexBuildAlreadyInProgress", "NamespaceExists"})

#: An upsert inside a transaction that meets a document inserted since the
#: transaction's snapshot fails with a duplicate key; run again, its snapshot
#: sees the document and it updates it. Only so many times, so that a real
#: duplicate (a unique field of another document) is still reported.
_UPSERT_RETRIES = 3

#: How many newly committed outbox messages the relay's sequencer numbers
#: in one pass (the rest wait for the next pass).
SEQUENCE_BATCH = 500

#: The reserved collections, created (with their indexes) by ``prepare``.
_OWN_COLLECTIONS = ("outbox", "outbox_seq", "processed_events", "leases", "log_entries", "log_heads")

# (collection name, _id, document before the write or None if there was none)
_Undo = list[tuple[str, Any, "dict[str, Any] | None"]]


#: A released lease's expiry: long past, whatever the server's clock says.
_RELEASED = datetime.datetime(1970, 1, 1)


def evaluate_now(value: Any, now: datetime.datetime | None = None) -> Any:
    """``value`` (a filter, an update pipeline) with ``$$NOW`` replaced by a
    date and ``{"$add": [date, milliseconds...]}`` folded into one, for
    mongomock, which knows neither (``$$NOW`` reads as missing there, and
    its ``$add`` takes numbers only). mongomock runs in this process, so
    this process's clock is its server's. ``now``: naive UTC, to the
    millisecond as BSON keeps dates; the current time by default."""
    if now is None:
        t = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        now = t.replace(microsecond=t.microsecond // 1000 * 1000)
    if value == "$$NOW":
        return now
    if isinstance(value, list):
        return [evaluate_now(v, now) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: evaluate_now(v, now) for k, v in value.items()}
    terms = out.get("$add")
    if len(out) == 1 and isinstance(terms, list) and any(isinstance(t, datetime.datetime) for t in terms):
        dates = [t for t in terms if isinstance(t, datetime.datetime)]
        numbers = [t for t in terms if not isinstance(t, datetime.datetime)]
        if len(dates) == 1 and all(isinstance(n, int | float) and not isinstance(n, bool) for n in numbers):
            return dates[0] + datetime.timedelta(milliseconds=sum(numbers))
    return out


def is_mongomock(client: Any) -> bool:
    return type(client).__module__.startswith("mongomock")


def _out(doc: dict[str, Any]) -> dict[str, Any]:
    # Documents written by this adapter always have a string _id; one written
    # by other tools may not, and the port promises strings.
    if not isinstance(doc.get("_id"), str):
        doc["_id"] = str(doc["_id"])
    return doc


def _with_upsert_defaults(filter: dict[str, Any], update: dict[str, Any], upsert: bool) -> dict[str, Any]:
    if not upsert:
        return update
    extra = upsert_defaults(filter, update)
    if not extra:
        return update
    update = copy.deepcopy(update)
    update.setdefault("$setOnInsert", {}).update(extra)
    return update


def _duplicate(where: str, exc: OperationFailure) -> DuplicateKey:
    details = exc.details or {}
    error = DuplicateKey(f"{where}: {details.get('errmsg') or exc}")
    error.code = exc.code
    return error


#: What pymongo raises: its own errors, and BSON's (DocumentTooLarge is an
#: InvalidDocument, not a PyMongoError).
DRIVER_ERRORS = (PyMongoError, BSONError)


def _labelled(exc: BaseException, label: str) -> bool:
    return isinstance(exc, PyMongoError) and exc.has_error_label(label)


def _unavailable(exc: BaseException) -> bool:
    return (
        isinstance(exc, ConnectionFailure)  # includes NetworkTimeout, AutoReconnect, ServerSelectionTimeoutError
        or bool(getattr(exc, "timeout", False))  # ExecutionTimeout, WTimeoutError, a pymongo.timeout() spent
        or getattr(exc, "code", None) in UNAVAILABLE_CODES
    )


def map_error(exc: BaseException, *, committing: bool = False) -> StoreError:
    """The store's error for a pymongo error. ``committing``: raised once
    the unit's writes were all sent, so by the commit itself.

    * labelled ``UnknownTransactionCommitResult`` (pymongo gives it to a
      commit that timed out or lost its connection, after its own retries),
      or unreachable or timed out while committing: ``CommitOutcomeUnknown``;
    * labelled ``TransientTransactionError`` (the transaction was aborted:
      write conflicts, a failover...), unreachable, timed out, not primary,
      a lock or write-concern timeout: ``StoreUnavailable``;
    * a duplicate key: ``DuplicateKey``;
    * anything else (a document over 16 MB, conflicting index options, an
      update through an array path, a transaction over its time limit...):
      ``StoreError`` with the server's code and message.

    The error's ``code`` is the server's code, when it gave one."""
    code = getattr(exc, "code", None)
    details = getattr(exc, "details", None)
    details = details if isinstance(details, dict) else {}
    name = details.get("codeName")
    said = details.get("errmsg") or str(exc) or type(exc).__name__
    what = type(exc).__name__ + (f" {code}" if code is not None else "") + (f" {name}" if name else "")
    error: StoreError
    if _labelled(exc, "UnknownTransactionCommitResult") or (
        committing and not _labelled(exc, "TransientTransactionError") and _unavailable(exc)
    ):
        error = CommitOutcomeUnknown(f"MongoDB did not say whether the commit was written ({what}: {said})")
    elif _labelled(exc, "TransientTransactionError") or _unavailable(exc):
        error = StoreUnavailable(f"MongoDB is unavailable; nothing was written ({what}: {said})")
    elif isinstance(exc, DuplicateKeyError) or code in _DUPLICATE_CODES:
        error = DuplicateKey(f"duplicate key: {said}")
    else:
        error = StoreError(f"MongoDB refused the operation ({what}: {said})")
    error.code = code if isinstance(code, int) else None
    return error


def _tolerated_race(exc: OperationFailure) -> bool:
    """Another replica created the same collection or index meanwhile."""
    details = exc.details if isinstance(exc.details, dict) else {}
    return exc.code in (_NAMESPACE_EXISTS, 68) or details.get("codeName") in _INDEX_RACE_NAMES


class _UnitFailed(Exception):
    """One unit of a batch failed on its own (``commit_batch``); not a
    PyMongoError, so ``with_transaction`` aborts without retrying."""

    def __init__(self, index: int, error: BaseException):
        super().__init__(f"unit {index}: {error}")
        self.index, self.error = index, error


def _copy_error(exc: StoreError) -> StoreError:
    """The same error for another caller (one object raised in several
    threads would mix their tracebacks)."""
    other = type(exc).__new__(type(exc))
    other.__dict__.update(exc.__dict__)
    other.args = exc.args
    other.__cause__ = exc
    return other


def _log_record(log: str, doc: dict[str, Any]) -> LogRecord:
    try:
        record = LogRecord(
            seq=doc["seq"],
            prev_hash=doc["prev_hash"],
            hash=doc["hash"],
            entry=doc["entry"],
            committed_at=doc["committed_at"],
        )
    except KeyError as exc:
        raise CorruptLogRecord(log, doc.get("seq"), f"the stored record has no {exc.args[0]!r}") from None
    if not isinstance(record.entry, dict):
        raise CorruptLogRecord(log, record.seq, f"entry is a {type(record.entry).__name__}, not an object")
    return record


class MongoStore(Store):
    """The store in one MongoDB database.

    ``owns_client``: ``close()`` also closes the client (``open_store`` sets
    it; a client passed in by the caller is left open by default).
    """

    def __init__(
        self,
        client: Any,
        database_name: str,
        *,
        owns_client: bool = False,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ):
        if not isinstance(database_name, str) or not database_name:
            raise ValueError("MongoStore needs a database name")
        if isinstance(timeout_seconds, bool) or not isinstance(timeout_seconds, int | float) or timeout_seconds <= 0:
            raise ValueError(f"timeout_seconds must be a positive number of seconds; got {timeout_seconds!r}")
        self.client = client
        self.db = client[database_name]
        self.timeout_seconds = float(timeout_seconds)
        self._owns_client = owns_client
        self._mock = is_mongomock(client)
        self._guard: contextlib.AbstractContextManager[Any] = _MOCK_LOCK if self._mock else contextlib.nullcontext()
        self._topology_checked = self._mock
        self._prepared = False
        self._indexes: set[tuple[str, str, bool]] = set()
        self._collections: set[str] = set()  # known to exist (created outside any transaction)
        self._heads: set[str] = set()  # logs whose head document is known to exist
        #: Transactions run again after a transient error (a WriteConflict
        #: above all): what contention costs, for benchmarks and metrics.
        self.transaction_retries = 0
        self._retries_lock = threading.Lock()
        # Majority, journaled, with its own wait bounded (the transaction's
        # time limit bounds it too): a commit a failover could roll back
        # must not be reported, nor relayed.
        # The URL's wTimeoutMS, when it gives one, is kept.
        given = None if self._mock else getattr(getattr(client, "write_concern", None), "document", {}).get("wtimeout")
        wtimeout = given if isinstance(given, int) and given > 0 else int(self.timeout_seconds * 1000)
        self._majority = WriteConcern("majority", wtimeout=wtimeout, j=True)
        if not self._mock:
            try:
                self._check_topology()
            except StoreUnavailable:
                pass  # unreachable for now: checked on first use instead, so the service can start and report 503

    def __repr__(self) -> str:
        return f"MongoStore({self.db.name!r}{', mongomock' if self._mock else ''})"

    # -- plumbing --
    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except DRIVER_ERRORS as exc:
            raise map_error(exc) from exc

    def _check_topology(self) -> None:
        with self._errors():
            try:
                hello = self.client.admin.command("hello")
            except OperationFailure:  # servers older than 4.4.2
                hello = self.client.admin.command("isMaster")
        if "setName" not in hello and hello.get("msg") != "isdbgrid":
            raise StoreError(STANDALONE_ERROR)
        self._topology_checked = True

    @contextlib.contextmanager
    def _op(self) -> Iterator[None]:
        """Every public operation: mongomock lock, error mapping, time limit,
        first-use setup."""
        with self._guard, self._errors(), pymongo.timeout(self.timeout_seconds):
            if not self._topology_checked:
                self._check_topology()
            if not self._prepared:
                self._prepare()
            yield

    def prepare(self) -> None:
        """Create the store's own collections, indexes and outbox counter now
        (as ``setup_store`` hooks do for a service's collections); otherwise
        done on first use. Idempotent, and safe with replicas doing the same
        at the same time."""
        with self._op():
            pass

    def _prepare(self) -> None:
        self._ensure_collections(_OWN_COLLECTIONS)
        for name, keys, index in (
            ("outbox", [("sent_at", 1), ("seq", 1)], "pending"),
            ("outbox", [("seq", 1), ("created_at", 1), ("position", 1), ("_id", 1)], "unsequenced"),
            ("log_entries", [("log", 1), ("seq", 1)], "log_seq"),
        ):
            try:
                self.db[name].create_index(keys, name=index)
            except OperationFailure as exc:
                if not _tolerated_race(exc):
                    raise
        # The sequencer's counter exists before the relay first reserves seqs.
        self._insert_if_absent("outbox_seq", {"_id": "outbox", "value": 0})
        self._prepared = True

    def _insert_if_absent(self, name: str, doc: dict[str, Any]) -> None:
        try:
            self.db[name].insert_one(doc)
        except DuplicateKeyError:
            pass  # there already, or another replica's meanwhile

    def _ensure_collections(self, names: Iterable[str]) -> None:
        """Create the collections not known to exist, outside any transaction:
        created inside one, two first writers conflict, and a transaction
        whose snapshot predates the collection fails."""
        missing = [n for n in dict.fromkeys(names) if n not in self._collections]
        if not missing:
            return
        existing = set(self.db.list_collection_names())
        for name in missing:
            if name not in existing:
                try:
                    self.db.create_collection(name)
                except OperationFailure as exc:
                    if not _tolerated_race(exc):
                        raise
                except Exception as exc:  # mongomock's CollectionInvalid for an existing one
                    if type(exc).__name__ != "CollectionInvalid":
                        raise
            self._collections.add(name)

    def _prepare_unit(self, ops: list[tuple[Any, ...]]) -> None:
        """Before a unit's transaction: its collections and its logs' heads."""
        names: list[str] = []
        logs: list[str] = []
        for op in ops:
            kind = op[0]
            if kind == "mark":
                names.append("processed_events")
            elif kind == "publish":
                names.append("outbox")
            elif kind in ("append", "redact"):  # a redaction appends its confirming entry
                names += ["log_heads", "log_entries"]
                logs.append(op[1])
            elif kind in ("forget_sent", "forget_mentioning"):
                names.append("outbox")
            else:
                names.append(op[1])
        self._ensure_collections(names)
        for log in dict.fromkeys(logs):
            if log not in self._heads:
                self._insert_if_absent("log_heads", {"_id": log, "seq": 0, "hash": GENESIS})
                self._heads.add(log)

    @contextlib.contextmanager
    def database(self) -> Iterator[Any]:
        """The pymongo ``Database``, for what the port does not cover (the
        docs service's GridFS bucket). Inside the block it is used as the
        store's own operations use it: an unreachable server raises
        ``StoreUnavailable``, a standalone one ``StoreError``, a duplicate-key
        error left uncaught becomes ``DuplicateKey``; and on mongomock the
        store's lock is held, so keep the block short."""
        with self._op():
            yield self.db

    # -- port --
    def collection(self, name: str) -> MongoCollection:
        check_collection_name(name)
        return MongoCollection(self, name)

    @contextlib.contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        uow = BufferedUnitOfWork()
        try:
            yield uow
        except BaseException:
            uow.closed = True
            raise
        uow.closed = True
        ops = uow.ordered_ops()
        if ops:
            self._commit(ops)

    def begin(self) -> UnitOfWork:
        return BufferedUnitOfWork()

    def commit_all(self, units: list[UnitOfWork]) -> list[StoreError | None]:
        """One transaction per unit: MongoDB's journal commit is already
        grouped by the server, so sharing a transaction would gain little.
        Every unit gets an outcome, whatever fails: a unit's error (any
        ``StoreError``, unavailability and unknown commits included) is its
        outcome, and the units after it are still tried."""
        outcomes: list[StoreError | None] = []
        for uow in units:
            uow.closed = True  # type: ignore[attr-defined]
            ops = uow.ordered_ops()  # type: ignore[attr-defined]
            try:
                if ops:
                    self._commit(ops)
                outcomes.append(None)
            except StoreError as exc:
                outcomes.append(exc)
        return outcomes

    def commit_batch(self, units: list[UnitOfWork]) -> list[BaseException | None]:
        """Group commit on MongoDB (``group_commit`` calls it): the units in
        one transaction, each still atomic on its own, and each log's head
        written once for them all. An audited read is a unit that appends
        to ``audit``, and each log has one head document, so concurrent
        audited reads committed one transaction each would all write that
        document and abort one another with WriteConflict, to run again one
        at a time; batched, this process's requests make one transaction
        (and one head write) per batch, and only other processes' batches
        can conflict with it.

        A unit failing on its own (``VersionConflict``, ``DuplicateKey``,
        ``AlreadyProcessed``, a refused document, a ``ValueError`` of a
        redaction) gets that error as its outcome and the transaction runs
        again without it, so the others are not held back by it. An error
        of the transaction itself (unavailable, commit outcome unknown, any
        other) is every remaining unit's outcome, each its own copy.
        mongomock, which has no transactions, commits unit by unit."""
        if self._mock:
            return list(self.commit_all(units))
        outcomes: list[BaseException | None] = [None] * len(units)
        live: list[tuple[int, list[tuple[Any, ...]]]] = []
        for index, uow in enumerate(units):
            uow.closed = True  # type: ignore[attr-defined]
            ops = uow.ordered_ops()  # type: ignore[attr-defined]
            if ops:
                live.append((index, ops))
        while live:
            try:
                with self._op():
                    self._prepare_unit([op for _, ops in live for op in ops])
                    self._transaction([], batch=[ops for _, ops in live])
                return outcomes
            except _UnitFailed as failed:
                index, _ = live.pop(failed.index)
                outcomes[index] = failed.error
            except StoreError as exc:
                for n, (index, _) in enumerate(live):
                    outcomes[index] = exc if n == 0 else _copy_error(exc)
                return outcomes
        return outcomes

    def _commit(self, ops: list[tuple[Any, ...]]) -> None:
        with self._op():
            self._prepare_unit(ops)
            if not self._mock:
                self._transaction(ops)
                return
            # mongomock: apply one by one, recording what each write replaced,
            # and put it all back if any step fails (version, processed mark,
            # unique index, anything). The lock held by _op() keeps every other
            # reader and writer of mongomock out meanwhile, so this is as
            # atomic and isolated as the transaction above, and, unlike
            # pre-checks, it needs no second implementation of the rules.
            undo: _Undo = []
            try:
                self._apply(ops, None, undo, retry_upserts=False)
            except BaseException:
                for name, _id, before in reversed(undo):
                    if before is None:
                        self.db[name].delete_one({"_id": _id})
                    else:
                        self.db[name].replace_one({"_id": _id}, before, upsert=True)
                raise

    def _transaction(self, ops: list[tuple[Any, ...]], *, batch: list[list[tuple[Any, ...]]] | None = None) -> None:
        """One transaction (inside ``_op``: its time limit bounds every retry
        of ``with_transaction``, whose own limit is 120 s). An error raised
        once every write was sent comes from the commit: see ``map_error``.

        ``batch``: several units in this one transaction instead of ``ops``
        (``commit_batch``), their appends continuing one another's and each
        log's head written once at the end; a unit failing on its own
        (a version, a duplicate, a refused document...) raises
        ``_UnitFailed`` naming it, and nothing is written."""
        state = {"attempts": 0, "sent": False}

        def run(session: Any) -> None:
            state["attempts"] += 1
            state["sent"] = False
            retry_upserts = state["attempts"] < _UPSERT_RETRIES
            if batch is None:
                self._apply(ops, session, None, retry_upserts=retry_upserts)
            else:
                heads: dict[str, list[Any]] = {}
                for index, unit in enumerate(batch):
                    try:
                        self._apply(unit, session, None, retry_upserts=retry_upserts, heads=heads)
                    except DRIVER_ERRORS as exc:
                        if _labelled(exc, "TransientTransactionError") or _unavailable(exc):
                            raise  # the transaction's, not the unit's: retried, or every unit's outcome
                        raise _UnitFailed(index, map_error(exc)) from exc
                    except (StoreError, ValueError, TypeError) as exc:
                        raise _UnitFailed(index, exc) from exc
                self._write_heads(heads, session)
            state["sent"] = True

        try:
            self._with_transaction(run, state)
        finally:
            if state["attempts"] > 1:
                with self._retries_lock:
                    self.transaction_retries += state["attempts"] - 1

    def _with_transaction(self, run: Any, state: dict[str, Any]) -> Any:
        """``run(session)`` in one transaction, retried by the driver on a transient error; a driver error mapped
        (``state["sent"]`` set: every write was sent, so an error comes from the commit and its outcome is
        unknown). On the primary whatever the URL's readPreference (a transaction reading from a secondary fails),
        and committed by a majority: an event must not be relayed for a state change that a failover could roll
        back."""
        try:
            with self.client.start_session() as session:
                return session.with_transaction(
                    run,
                    read_concern=ReadConcern("majority"),
                    write_concern=self._majority,
                    read_preference=ReadPreference.PRIMARY,
                )
        except DRIVER_ERRORS as exc:
            raise map_error(exc, committing=bool(state["sent"])) from exc

    def _apply(
        self,
        ops: list[tuple[Any, ...]],
        session: Any,
        undo: _Undo | None,
        *,
        retry_upserts: bool,
        heads: dict[str, list[Any]] | None = None,
    ) -> None:
        """Run the buffered ops (inside a transaction when ``session`` is set).
        May run several times: with_transaction retries it on transient errors.
        ``heads``: the logs' heads as the transaction's earlier units left them
        (a group commit's batch), whose caller then writes them
        (``_write_heads``); without it, this unit's are written here."""
        db, now = self.db, time.time()

        def remember(name: str, _id: Any, before: dict[str, Any] | None) -> None:
            if undo is not None:
                undo.append((name, _id, before))

        def snapshot(name: str, filter: dict[str, Any]) -> dict[str, Any] | None:
            return db[name].find_one(filter) if undo is not None else None

        own_heads = heads is None
        if heads is None:
            heads = {}

        def append(log: str, entry: dict[str, Any]) -> None:
            assert heads is not None
            head = heads.get(log)
            if head is None:
                before = snapshot("log_heads", {"_id": log})
                # Write the head first: from here until the commit this
                # transaction owns it, and a concurrent appender to the
                # same log gets a write conflict (with_transaction retries
                # it once this one committed, when it reads the new head).
                # The head was created by _prepare_unit, outside the
                # transaction. It is written once more when the transaction
                # (a unit, or a group commit's batch) has appended all it
                # appends (_write_heads): two writes per log per
                # transaction, however many entries.
                found = db["log_heads"].find_one_and_update(
                    {"_id": log},
                    {"$set": {"claimed_at": now}},
                    return_document=ReturnDocument.BEFORE,
                    session=session,
                )
                if found is None:
                    raise StoreError(f"the head of log {log!r} (log_heads/{log}) is missing")
                remember("log_heads", log, before)
                head = heads[log] = [found["seq"], found.get("hash") or GENESIS]
            seq = head[0] + 1
            prev_hash = head[1]
            digest = entry_hash(seq, prev_hash, entry)
            entry_id = f"{log}:{seq}"  # unique per (log, seq): log names cannot contain ':'
            db["log_entries"].insert_one(
                {
                    "_id": entry_id,
                    "log": log,
                    "seq": seq,
                    "prev_hash": prev_hash,
                    "hash": digest,
                    "entry": entry,
                    "committed_at": now,
                },
                session=session,
            )
            remember("log_entries", entry_id, None)
            head[0], head[1] = seq, digest

        published = 0
        for op in ops:
            kind = op[0]
            try:
                if kind == "mark":
                    _, event_id, consumer = op
                    key = {"consumer": consumer, "event_id": event_id}
                    try:
                        db["processed_events"].insert_one({"_id": key, "processed_at": now}, session=session)
                    except DuplicateKeyError as exc:
                        if exc.has_error_label("TransientTransactionError"):
                            raise
                        raise AlreadyProcessed(event_id) from None
                    remember("processed_events", key, None)
                elif kind == "insert":
                    _, name, doc = op
                    db[name].insert_one(dict(doc), session=session)
                    remember(name, doc["_id"], None)
                elif kind == "replace":
                    _, name, doc, expected = op
                    before = snapshot(name, {"_id": doc["_id"]})
                    result = db[name].replace_one({"_id": doc["_id"], "version": expected}, doc, session=session)
                    if result.matched_count == 0:
                        current = db[name].find_one({"_id": doc["_id"]}, {"version": 1}, session=session)
                        actual = None if current is None else current.get("version")
                        raise VersionConflict(name, doc["_id"], expected, actual)
                    remember(name, doc["_id"], before)
                elif kind == "update":
                    _, name, filter, update, upsert = op
                    before = snapshot(name, filter)
                    try:
                        result = db[name].update_one(
                            filter, _with_upsert_defaults(filter, update, upsert), upsert=upsert, session=session
                        )
                    except DuplicateKeyError as exc:
                        if upsert and session is not None and retry_upserts:
                            # Most likely inserted since this transaction's
                            # snapshot: run it again (see _UPSERT_RETRIES).
                            exc._add_error_label("TransientTransactionError")
                        raise
                    if result.upserted_id is not None:
                        remember(name, result.upserted_id, None)
                    elif before is not None:
                        remember(name, before["_id"], before)
                elif kind == "remove":
                    _, name, doc_id, expected = op
                    before = snapshot(name, {"_id": doc_id})
                    result = db[name].delete_one({"_id": doc_id, "version": expected}, session=session)
                    if result.deleted_count == 0:
                        current = db[name].find_one({"_id": doc_id}, {"version": 1}, session=session)
                        actual = None if current is None else current.get("version")
                        raise VersionConflict(name, doc_id, expected, actual)
                    remember(name, doc_id, before)
                elif kind == "forget_mentioning":
                    # Read on the server's side of the transaction and matched here: the port's filters have no
                    # "mentions anywhere", and an erasure is rare enough for a scan of the messages sent.
                    for message in db["outbox"].find({"sent_at": {"$ne": None}}, session=session):
                        if op[1] in json.dumps(message["body"], default=str):
                            db["outbox"].delete_one({"_id": message["_id"]}, session=session)
                            remember("outbox", message["_id"], message)
                elif kind == "publish":
                    _, message_id, routing_key, body, headers = op
                    published += 1
                    # No seq here: the relay's sequencer numbers it after the
                    # commit (see the module's description), so publishers
                    # share no document and do not conflict.
                    try:
                        db["outbox"].insert_one(
                            {
                                "_id": message_id,
                                "seq": None,
                                "position": published,  # call order within the unit, for the sequencer
                                "message_id": message_id,
                                "routing_key": routing_key,
                                "body": body,
                                "headers": headers,
                                "created_at": now,
                                "sent_at": None,
                            },
                            session=session,
                        )
                    except DuplicateKeyError as exc:
                        if exc.has_error_label("TransientTransactionError"):
                            raise
                        raise DuplicateKey(f"outbox: message_id {message_id!r} was already published") from None
                    remember("outbox", message_id, None)
                elif kind == "append":
                    _, log, entry = op
                    append(log, entry)
                elif kind == "delete":
                    _, name, filter = op
                    if undo is not None:
                        for gone in db[name].find(filter):
                            remember(name, gone["_id"], gone)
                    db[name].delete_many(filter, session=session)
                elif kind == "forget_sent":
                    _, filter = op
                    query = {"sent_at": {"$ne": None}, **{f"body.{k}": v for k, v in filter.items()}}
                    if undo is not None:
                        for gone in db["outbox"].find(query):
                            remember("outbox", gone["_id"], gone)
                    db["outbox"].delete_many(query, session=session)
                elif kind == "redact":
                    _, log, seqs, erasure_id, note = op
                    redacted = []
                    for seq in seqs:
                        entry_id = f"{log}:{seq}"
                        record = db["log_entries"].find_one({"_id": entry_id}, session=session)
                        if record is None:
                            raise ValueError(f"log {log!r} has no seq {seq} to redact")
                        if is_redaction_marker(record.get("entry")):
                            continue
                        if isinstance(record.get("entry"), dict) and REDACTION in record["entry"]:
                            raise ValueError(f"log {log!r}, seq {seq}: a redaction entry cannot be redacted")
                        remember("log_entries", entry_id, record if undo is not None else None)
                        db["log_entries"].update_one(
                            {"_id": entry_id}, {"$set": {"entry": redaction_marker(erasure_id)}}, session=session
                        )
                        redacted.append((seq, record["hash"]))
                    append(log, redaction_entry(erasure_id, redacted, note))
            except DuplicateKeyError as exc:
                if exc.has_error_label("TransientTransactionError"):
                    raise  # with_transaction retries it
                raise _duplicate(op[1], exc) from exc
        if own_heads:
            self._write_heads(heads, session)

    def _write_heads(self, heads: dict[str, list[Any]], session: Any) -> None:
        """The logs' new heads, once the transaction appended all it appends."""
        for log, (seq, digest) in heads.items():
            self.db["log_heads"].update_one({"_id": log}, {"$set": {"seq": seq, "hash": digest}}, session=session)

    def ping(self) -> None:
        with self._op():
            self.client.admin.command("ping")

    def outbox_pending(self, limit: int = 100, *, authority: str | None = None) -> list[OutboxMessage]:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        query: dict[str, Any] = {"sent_at": None}
        if authority is not None:
            query["body.authority"] = authority
        with self._op():
            self._sequence()
            # Majority: never relay a change a failover could still roll back.
            outbox = self.db.get_collection("outbox", read_concern=ReadConcern("majority"))
            query["seq"] = {"$ne": None}
            docs = list(outbox.find(query, sort=[("seq", 1)], limit=int(limit)))
        return [
            OutboxMessage(
                seq=d["seq"],
                message_id=d["message_id"],
                routing_key=d["routing_key"],
                body=d["body"],
                headers=d.get("headers") or {},
                created_at=d["created_at"],
            )
            for d in docs
        ]

    def _sequence(self) -> int:
        """The sequencer (see the module's description): number the messages
        committed since the last pass, oldest first, up to
        ``SEQUENCE_BATCH`` of them; returns how many it numbered. Outside any
        transaction; only the relay calls it, so the counter is not hot."""
        # Majority: a message a failover could roll back is not numbered.
        outbox = self.db.get_collection("outbox", read_concern=ReadConcern("majority"))
        fresh = [
            d["_id"]
            for d in outbox.find(
                {"seq": None, "sent_at": None},
                {"_id": 1},
                sort=[("created_at", 1), ("position", 1), ("_id", 1)],
                limit=SEQUENCE_BATCH,
            )
        ]
        if not fresh:
            return 0
        counters = self.db.get_collection("outbox_seq", write_concern=self._majority)
        counter = counters.find_one_and_update(
            {"_id": "outbox"}, {"$inc": {"value": len(fresh)}}, return_document=ReturnDocument.AFTER
        )
        if counter is None:
            raise StoreError("the outbox counter (outbox_seq/outbox) is missing")
        first = counter["value"] - len(fresh) + 1
        numbered = self.db.get_collection("outbox", write_concern=self._majority)
        updates = [({"_id": _id, "seq": None}, {"$set": {"seq": first + i}}) for i, _id in enumerate(fresh)]
        if not isinstance(self.client, pymongo.MongoClient):
            # mongomock (and the tests' clients over it): its bulk_write does
            # not take pymongo 4.20's UpdateOne.
            for filter, update in updates:
                numbered.update_one(filter, update)
        else:
            numbered.bulk_write([UpdateOne(f, u) for f, u in updates], ordered=True)
        return len(fresh)

    def outbox_mark_sent(self, seqs: list[int], *, fence: tuple[str, int] | None = None) -> bool:
        seqs = [int(s) for s in seqs]
        if not seqs:
            return True
        query = {"seq": {"$in": seqs}, "sent_at": None}
        with self._op():
            if fence is None:
                self.db["outbox"].update_many(query, {"$set": {"sent_at": time.time()}})
                return True
            name, token = fence[0], int(fence[1])
            if self._mock:
                # The lock held by _op() keeps every other writer out between
                # the check and the marks.
                if self.db["leases"].find_one({"_id": name, "token": token}) is None:
                    return False
                self.db["outbox"].update_many(query, {"$set": {"sent_at": time.time()}})
                return True
            return self._fenced_mark(query, name, token)

    def _fenced_mark(self, query: dict[str, Any], name: str, token: int) -> bool:
        """The marks, in one transaction with a write to the lease's document
        that only matches while its token is ``token``. A write, not a read:
        a take committing meanwhile conflicts with it (a snapshot read alone
        would not see the take), so one of the two is retried and the mark
        then sees the new token."""
        state = {"sent": False}

        def run(session: Any) -> bool:
            state["sent"] = False
            held = self.db["leases"].update_one(
                {"_id": name, "token": token}, {"$inc": {"fenced_marks": 1}}, session=session
            )
            if held.matched_count == 0:
                state["sent"] = True
                return False
            self.db["outbox"].update_many(query, {"$set": {"sent_at": time.time()}}, session=session)
            state["sent"] = True
            return True

        return bool(self._with_transaction(run, state))

    def outbox_stats(self, *, authority: str | None = None) -> OutboxStats:
        query: dict[str, Any] = {"sent_at": None}
        if authority is not None:
            query["body.authority"] = authority
        with self._op():
            pending = self.db["outbox"].count_documents(query)
            oldest = self.db["outbox"].find_one(query, sort=[("created_at", 1)])
        return OutboxStats(pending=pending, oldest_created_at=None if oldest is None else oldest["created_at"])

    def read_log(self, log: str, *, after_seq: int = 0, limit: int = 1000) -> list[LogRecord]:
        check_collection_name(log)
        check_log_page(after_seq, limit)
        with self._op():
            docs = list(
                self.db["log_entries"].find({"log": log, "seq": {"$gt": after_seq}}, sort=[("seq", 1)], limit=limit)
            )
        return [_log_record(log, d) for d in docs]

    def is_processed(self, event_id: str, consumer: str) -> bool:
        with self._op():
            key = {"consumer": consumer, "event_id": event_id}
            return self.db["processed_events"].find_one({"_id": key}) is not None

    def acquire_lease(self, name: str, holder: str, seconds: float) -> int | None:
        # On the server's clock: $$NOW, the same instant throughout this one
        # atomic update; a date plus a number adds milliseconds.
        mine = {"$eq": ["$holder", holder]}
        filter = {"_id": name, "$expr": {"$or": [mine, {"$lte": ["$expires_at", "$$NOW"]}]}}
        pipeline = [
            {
                "$set": {  # every expression reads the document as it was before this stage
                    "token": {
                        "$cond": [
                            {"$and": [mine, {"$gt": ["$token", 0]}]},
                            "$token",  # a renewal keeps it; a take gets the next
                            {"$add": [{"$ifNull": ["$token", 0]}, 1]},
                        ]
                    },
                    "holder": holder,
                    "expires_at": {"$add": ["$$NOW", round(seconds * 1000)]},
                }
            }
        ]
        with self._op():
            leases = self.db["leases"]
            if self._mock:
                filter, pipeline = evaluate_now(filter), evaluate_now(pipeline)
            else:
                # Majority: a take a failover rolls back must not let two hold it.
                leases = self.db.get_collection("leases", write_concern=self._majority)
            try:
                # Matches when free to take (ours, or expired); otherwise the
                # upsert tries to insert a second document with this _id and
                # the unique _id index refuses: someone else holds the lease.
                doc = leases.find_one_and_update(
                    filter, pipeline, upsert=True, return_document=ReturnDocument.AFTER, projection={"token": 1}
                )
            except DuplicateKeyError:
                return None
        return int(doc["token"])

    def release_lease(self, name: str, holder: str) -> None:
        # The document stays, with its token, so that the next take's is greater.
        with self._op():
            self.db["leases"].update_one(
                {"_id": name, "holder": holder}, {"$set": {"holder": None, "expires_at": _RELEASED}}
            )

    def collection_names(self) -> list[str]:
        with self._op():
            names = self.db.list_collection_names()
        # Not records: the store's own bookkeeping, and GridFS's files and chunks.
        return sorted(
            n
            for n in names
            if n not in RESERVED_COLLECTIONS and not n.startswith("system.") and not n.endswith((".files", ".chunks"))
        )

    def close(self) -> None:
        if self._owns_client:
            self.client.close()


class MongoCollection(Collection):
    def __init__(self, store: MongoStore, name: str):
        self.store, self.name = store, name
        self._c = store.db[name]

    def __repr__(self) -> str:
        return f"<MongoCollection {self.name!r} of {self.store!r}>"

    def find_one(self, filter: dict[str, Any] | None = None) -> dict[str, Any] | None:
        found = self.find(filter, limit=1)
        return found[0] if found else None

    def find(
        self,
        filter: dict[str, Any] | None = None,
        *,
        sort: list[tuple[str, int]] | None = None,
        skip: int = 0,
        limit: int = 0,
    ) -> list[dict[str, Any]]:
        if skip < 0 or limit < 0:
            raise ValueError("skip and limit must not be negative")
        filter = check_filter(filter)
        keys = sort_with_tiebreak(sort)
        with self.store._op():
            return [_out(d) for d in self._c.find(filter, sort=keys, skip=int(skip), limit=int(limit))]

    def count_documents(self, filter: dict[str, Any] | None = None) -> int:
        filter = check_filter(filter)
        with self.store._op():
            return self._c.count_documents(filter)

    def create_index(self, field: str, *, unique: bool = False) -> None:
        split_path(field)
        if field == "_id" or (self.name, field, unique) in self.store._indexes:
            return
        if unique:
            # sparse: documents without the field are not constrained (the
            # SQLite adapter behaves the same).
            keys, name, options = [(field, 1)], f"{field}_unique", {"unique": True, "sparse": True}
        else:
            # _id second, for the sort tie-break (see sort_with_tiebreak).
            keys, name, options = [(field, 1), ("_id", 1)], f"{field}_1__id_1", {}
        with self.store._op():
            # Checked first because mongomock re-validates an existing unique
            # index when asked to create it again.
            if name not in self._c.index_information():
                try:
                    self._c.create_index(keys, name=name, **options)
                except OperationFailure as exc:
                    if not _tolerated_race(exc):  # another replica building it at the same time
                        raise
        self.store._indexes.add((self.name, field, unique))
        self.store._collections.add(self.name)

    def insert_one(self, doc: dict[str, Any]) -> str:
        new = checked_document(doc)
        new.setdefault("_id", new_id())
        new.setdefault("version", 1)
        with self.store._op():
            try:
                self._c.insert_one(new)
            except DuplicateKeyError as exc:
                raise _duplicate(self.name, exc) from exc
        return new["_id"]

    def update_one(self, filter: dict[str, Any], update: dict[str, Any], *, upsert: bool = False) -> int:
        check_filter(filter)
        check_update(update)
        with self.store._op():
            try:
                result = self._c.update_one(filter, _with_upsert_defaults(filter, update, upsert), upsert=upsert)
            except DuplicateKeyError as exc:
                raise _duplicate(self.name, exc) from exc
        return result.matched_count

    def delete_one(self, filter: dict[str, Any]) -> int:
        check_filter(filter)
        with self.store._op():
            return self._c.delete_one(filter).deleted_count
