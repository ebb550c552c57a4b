"""MongoDB adapter of the store port (also runs over ``mongomock`` for tests).

A unit of work is one multi-document transaction
(``ClientSession.with_transaction``, which retries transient errors such as
write conflicts). Outbox rows live in the ``outbox`` collection, numbered by a
counter document in ``outbox_seq`` that every publishing transaction
increments: concurrent publishers therefore conflict on that document and
commit one after the other, so ``seq`` order is commit order and the relay
never sees seq N+1 before seq N is committed.

The append-only logs work the same way: one ``log_entries`` collection for
every log, and one head document per log in ``log_heads``
(``{_id: log, seq, hash}``) that each appending transaction writes before it
reads the previous hash from it. Appenders to one log therefore conflict on
the head and commit one after the other, so seqs follow commit order and
never fork or skip. An entry's ``_id`` is ``"<log>:<seq>"`` (log names cannot
contain ':'), so the unique ``_id`` index is a second guard against a fork;
the (log, seq) index only serves ``read_log``, and is not unique because
mongomock checks unique indexes by scanning the collection on every insert.
Nothing in the adapter deletes a log entry, and the only update is a
redaction (``UnitOfWork.redact``, see ``chain.py``): the entry replaced
by its marker, in the transaction that appends the redaction's entry.

Transactions need a replica set or a sharded cluster (MongoDB 4.4 or later,
which also creates collections inside transactions). A standalone server is
refused; mongomock, which has no transactions, gets a fallback described at
``MongoStore._commit``.

Documents are stored as given, with a string ``_id``. Filters, updates and
documents are checked against the same portable subset as the SQLite adapter
(see ``cpp_shared.store.sqlite``), so a service passing its tests here also
runs on SQLite and the other way round.
"""

from __future__ import annotations

import contextlib
import copy
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import ConnectionFailure, DuplicateKeyError, OperationFailure
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

# (collection name, _id, document before the write or None if there was none)
_Undo = list[tuple[str, Any, "dict[str, Any] | None"]]


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
    return DuplicateKey(f"{where}: {details.get('errmsg') or exc}")


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

    def __init__(self, client: Any, database_name: str, *, owns_client: bool = False):
        if not isinstance(database_name, str) or not database_name:
            raise ValueError("MongoStore needs a database name")
        self.client = client
        self.db = client[database_name]
        self._owns_client = owns_client
        self._mock = is_mongomock(client)
        self._guard: contextlib.AbstractContextManager[Any] = _MOCK_LOCK if self._mock else contextlib.nullcontext()
        self._topology_checked = self._mock
        self._prepared = False
        self._indexes: set[tuple[str, str, bool]] = set()
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
        except OperationFailure as exc:
            if exc.code in _DUPLICATE_CODES:
                raise _duplicate("duplicate key", exc) from exc
            raise
        except ConnectionFailure as exc:  # includes ServerSelectionTimeoutError
            raise StoreUnavailable(f"MongoDB is unreachable: {exc}") from exc

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
        """Every public operation: mongomock lock, error mapping, first-use setup."""
        with self._guard, self._errors():
            if not self._topology_checked:
                self._check_topology()
            if not self._prepared:
                self.db["outbox"].create_index([("sent_at", 1), ("seq", 1)], name="pending")
                self.db["log_entries"].create_index([("log", 1), ("seq", 1)], name="log_seq")
                self._prepared = True
            yield

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
        grouped by the server, so sharing a transaction would gain little."""
        outcomes: list[StoreError | None] = []
        for uow in units:
            uow.closed = True  # type: ignore[attr-defined]
            ops = uow.ordered_ops()  # type: ignore[attr-defined]
            try:
                if ops:
                    self._commit(ops)
                outcomes.append(None)
            except (VersionConflict, DuplicateKey, AlreadyProcessed) as exc:
                outcomes.append(exc)
        return outcomes

    def _commit(self, ops: list[tuple[Any, ...]]) -> None:
        with self._op():
            if not self._mock:
                with self.client.start_session() as session:
                    # Majority: an event must not be relayed for a state change
                    # that a failover could roll back.
                    session.with_transaction(
                        lambda s: self._apply(ops, s, None), write_concern=WriteConcern("majority")
                    )
                return
            # mongomock: apply one by one, recording what each write replaced,
            # and put it all back if any step fails (version, processed mark,
            # unique index, anything). The lock held by _op() keeps every other
            # reader and writer of mongomock out meanwhile, so this is as
            # atomic and isolated as the transaction above, and, unlike
            # pre-checks, it needs no second implementation of the rules.
            undo: _Undo = []
            try:
                self._apply(ops, None, undo)
            except BaseException:
                for name, _id, before in reversed(undo):
                    if before is None:
                        self.db[name].delete_one({"_id": _id})
                    else:
                        self.db[name].replace_one({"_id": _id}, before, upsert=True)
                raise

    def _apply(self, ops: list[tuple[Any, ...]], session: Any, undo: _Undo | None) -> None:
        """Run the buffered ops (inside a transaction when ``session`` is set).
        May run several times: with_transaction retries it on transient errors."""
        db, now = self.db, time.time()

        def remember(name: str, _id: Any, before: dict[str, Any] | None) -> None:
            if undo is not None:
                undo.append((name, _id, before))

        def snapshot(name: str, filter: dict[str, Any]) -> dict[str, Any] | None:
            return db[name].find_one(filter) if undo is not None else None

        def append(log: str, entry: dict[str, Any]) -> None:
            before = snapshot("log_heads", {"_id": log})
            # Write the head first: from here until the commit this
            # transaction owns it, and a concurrent appender to the
            # same log gets a write conflict (with_transaction retries
            # it once this one committed, when it reads the new head).
            head = db["log_heads"].find_one_and_update(
                {"_id": log},
                {"$inc": {"seq": 1}},
                upsert=True,
                return_document=ReturnDocument.BEFORE,
                session=session,
            )
            remember("log_heads", log, before)
            seq = 1 if head is None else head["seq"] + 1
            prev_hash = GENESIS if head is None else head["hash"]
            digest = entry_hash(seq, prev_hash, entry)
            db["log_heads"].update_one({"_id": log}, {"$set": {"hash": digest}}, session=session)
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
                    result = db[name].update_one(
                        filter, _with_upsert_defaults(filter, update, upsert), upsert=upsert, session=session
                    )
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
                    before = snapshot("outbox_seq", {"_id": "outbox"})
                    counter = db["outbox_seq"].find_one_and_update(
                        {"_id": "outbox"},
                        {"$inc": {"value": 1}},
                        upsert=True,
                        return_document=ReturnDocument.AFTER,
                        session=session,
                    )
                    remember("outbox_seq", "outbox", before)
                    try:
                        db["outbox"].insert_one(
                            {
                                "_id": message_id,
                                "seq": counter["value"],
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
            docs = list(self.db["outbox"].find(query, sort=[("seq", 1)], limit=int(limit)))
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

    def outbox_mark_sent(self, seqs: list[int]) -> None:
        seqs = [int(s) for s in seqs]
        if not seqs:
            return
        with self._op():
            self.db["outbox"].update_many({"seq": {"$in": seqs}, "sent_at": None}, {"$set": {"sent_at": time.time()}})

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

    def acquire_lease(self, name: str, holder: str, seconds: float) -> bool:
        now = time.time()
        with self._op():
            try:
                # Matches when free to take (ours, or expired); otherwise the
                # upsert tries to insert a second document with this _id and
                # the unique _id index refuses: someone else holds the lease.
                self.db["leases"].update_one(
                    {"_id": name, "$or": [{"holder": holder}, {"expires_at": {"$lte": now}}]},
                    {"$set": {"holder": holder, "expires_at": now + seconds}},
                    upsert=True,
                )
            except DuplicateKeyError:
                return False
        return True

    def release_lease(self, name: str, holder: str) -> None:
        with self._op():
            self.db["leases"].delete_one({"_id": name, "holder": holder})

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
                self._c.create_index(keys, name=name, **options)
        self.store._indexes.add((self.name, field, unique))

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
