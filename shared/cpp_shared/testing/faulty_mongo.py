"""A pymongo client for tests: mongomock underneath, transactions emulated
as pymongo runs them, and faults injected at a chosen operation.

No MongoDB server runs where ``make test`` runs, and mongomock raises none of
the errors a replica set does. ``FaultyMongoClient`` lets the Mongo adapter
take its real-server paths (sessions, ``with_transaction``) over mongomock,
and raises, where a test says, each real error with its real code, message
and labels (``real_error``), as pymongo would hand it over:

* ``with_transaction`` runs the callback, retries it on an error labelled
  ``TransientTransactionError`` and retries the commit on one labelled
  ``UnknownTransactionCommitResult`` (a few times, standing for pymongo's
  time limit), then raises; an error at the commit is labelled as pymongo's
  ``commit_transaction`` labels it (a lost connection, a write-concern
  timeout or a retryable code: ``UnknownTransactionCommitResult``);
* a transaction that fails is undone, one whose commit result is unknown is
  kept (``FaultyMongoClient.unknown_commits_apply``: it may have happened,
  and the adapter must not say otherwise);
* like MongoDB before 4.4 (and as concurrent first writers see it after),
  a write inside a transaction to a collection that does not exist yet is
  refused (code 263), so a path that relies on creating one there fails;
* ``$$NOW`` in a filter or an update pipeline is evaluated as the server
  would (``cpp_shared.store.mongo.evaluate_now``: mongomock knows it not);
* every operation is recorded (``calls``: its name, collection, whether in a
  transaction, its read concern, its kwargs and the ``pymongo.timeout`` in
  force), as are ``with_transaction``'s options (``transactions``).

Faults: ``client.faults.fail("insert_one", error, collection="plans")``
raises ``error`` (a copy; or the result of calling it) at the next matching
call; ``times`` for more than one, ``when`` to match only calls whose
keyword arguments include those items (``{"upsert": True}``). The operation
``commitTransaction`` is the commit of a transaction.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import mongomock
from pymongo import _csot
from pymongo.errors import (
    AutoReconnect,
    ConnectionFailure,
    DocumentTooLarge,
    DuplicateKeyError,
    ExecutionTimeout,
    NetworkTimeout,
    NotPrimaryError,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
    WTimeoutError,
)
from pymongo.write_concern import WriteConcern

from ..store.mongo import evaluate_now

__all__ = ["REAL_ERRORS", "Call", "Faults", "FaultyMongoClient", "real_error"]

#: Codes after which pymongo cannot tell whether a commit happened (its
#: ``_UNKNOWN_COMMIT_ERROR_CODES``: the retryable codes, 64 and 50).
UNKNOWN_COMMIT_CODES = frozenset({64, 50, 6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436})
_RETRIES = 3  # stands for with_transaction's 120 s (or pymongo.timeout's) window


def real_error(
    code: int,
    code_name: str,
    message: str,
    *,
    labels: tuple[str, ...] = (),
    cls: type[OperationFailure] = OperationFailure,
    **extra: Any,
) -> OperationFailure:
    """A server error as pymongo raises it: ``cls(message, code, details)``
    with the reply's ``errmsg``, ``code``, ``codeName`` and ``errorLabels``."""
    details: dict[str, Any] = {"ok": 0.0, "errmsg": message, "code": code, "codeName": code_name, **extra}
    if labels:
        details["errorLabels"] = list(labels)
    return cls(message, code, details)


def _labelled(exc: PyMongoError, *labels: str) -> PyMongoError:
    for label in labels:
        exc._add_error_label(label)
    return exc


#: Each error a replica set gives, made as pymongo makes it, by a name the
#: tests use; with the store error each must become.
REAL_ERRORS: dict[str, Callable[[], Exception]] = {
    "connection refused": lambda: AutoReconnect("localhost:27017: [Errno 111] Connection refused"),
    "no server selected": lambda: ServerSelectionTimeoutError(
        'No replica set members match selector "Primary()", Timeout: 3.0s'
    ),
    "network timeout": lambda: NetworkTimeout("localhost:27017: timed out (configured timeouts: socketTimeoutMS)"),
    "not primary (closed)": lambda: NotPrimaryError(
        "not primary", {"ok": 0.0, "errmsg": "not primary", "code": 10107, "codeName": "NotWritablePrimary"}
    ),
    "execution timeout 50": lambda: real_error(
        50, "MaxTimeMSExpired", "operation exceeded time limit", cls=ExecutionTimeout
    ),
    "write concern timeout 64": lambda: real_error(
        64,
        "WriteConcernFailed",
        "waiting for replication timed out",
        cls=WTimeoutError,
        errInfo={"wtimeout": True},
    ),
    "not writable primary 10107": lambda: real_error(10107, "NotWritablePrimary", "not primary"),
    "not primary no secondary ok 13435": lambda: real_error(
        13435, "NotPrimaryNoSecondaryOk", "not master and slaveOk=false"
    ),
    "interrupted by repl state change 11602": lambda: real_error(
        11602, "InterruptedDueToReplStateChange", "operation was interrupted"
    ),
    "primary stepped down 189": lambda: real_error(189, "PrimarySteppedDown", "primary stepped down"),
    "shutdown in progress 91": lambda: real_error(91, "ShutdownInProgress", "The server is in quiesce mode"),
    "lock timeout 24": lambda: real_error(24, "LockTimeout", "Unable to acquire IX lock on '{...}' within 5ms"),
    "write conflict (transient) 112": lambda: real_error(
        112,
        "WriteConflict",
        "Caused by :: Write conflict during plan execution and yielding is disabled.",
        labels=("TransientTransactionError",),
    ),
    "no such transaction 251": lambda: real_error(
        251,
        "NoSuchTransaction",
        "Transaction with { txnNumber: 3 } has been aborted.",
        labels=("TransientTransactionError",),
    ),
    "snapshot unavailable 246": lambda: real_error(
        246,
        "SnapshotUnavailable",
        "Unable to read from a snapshot due to pending collection catalog changes",
        labels=("TransientTransactionError",),
    ),
    "unknown commit result": lambda: _labelled(
        NetworkTimeout("localhost:27017: timed out"), "UnknownTransactionCommitResult"
    ),
    "duplicate key 11000": lambda: real_error(
        11000,
        "DuplicateKey",
        'E11000 duplicate key error collection: db.plans index: _id_ dup key: { _id: "p1" }',
        cls=DuplicateKeyError,
        keyPattern={"_id": 1},
        keyValue={"_id": "p1"},
    ),
    "document too large": lambda: DocumentTooLarge(
        "BSON document too large (16793600 bytes) - the connected server supports BSON document sizes up to "
        "16777216 bytes."
    ),
    "index options conflict 85": lambda: real_error(
        85, "IndexOptionsConflict", "An existing index has the same name as the requested index"
    ),
    "index key specs conflict 86": lambda: real_error(
        86, "IndexKeySpecsConflict", "An existing index has the same name but different key specs"
    ),
    "update through array path 28": lambda: real_error(
        28, "PathNotViable", "Cannot create field 'x' in element {a: [ 1, 2 ]}"
    ),
    "transaction too long 290": lambda: real_error(
        290, "TransactionExceededLifetimeLimitSeconds", "Aborting transaction with txnNumber 7 ... 60 seconds"
    ),
    "write conflict outside a transaction 112": lambda: real_error(
        112, "WriteConflict", "Write conflict during plan execution"
    ),
}


@dataclass
class Call:
    operation: str
    collection: str | None
    in_transaction: bool
    read_concern: str | None
    kwargs: dict[str, Any]
    timeout: float | None  # the pymongo.timeout() in force, if any


@dataclass
class _Fault:
    operation: str
    error: Any
    times: int
    collection: str | None
    when: dict[str, Any]


@dataclass
class Faults:
    plans: list[_Fault] = field(default_factory=list)

    def fail(
        self,
        operation: str,
        error: BaseException | Callable[[], BaseException],
        *,
        times: int = 1,
        collection: str | None = None,
        when: dict[str, Any] | None = None,
    ) -> None:
        self.plans.append(_Fault(operation, error, times, collection, dict(when or {})))

    def pending(self) -> int:
        """How many planned raises have not happened yet."""
        return sum(p.times for p in self.plans)

    def check(self, operation: str, collection: str | None, kwargs: dict[str, Any]) -> None:
        for plan in self.plans:
            if plan.times <= 0 or plan.operation != operation:
                continue
            if plan.collection is not None and plan.collection != collection:
                continue
            if any(kwargs.get(k) != v for k, v in plan.when.items()):
                continue
            plan.times -= 1
            error = plan.error
            raise copy.deepcopy(error) if isinstance(error, BaseException) else error()


class FaultyMongoClient:
    """See the module's description."""

    def __init__(self, inner: Any = None) -> None:
        self.inner = inner if inner is not None else mongomock.MongoClient()
        self.faults = Faults()
        self.calls: list[Call] = []
        self.transactions: list[dict[str, Any]] = []
        self.unknown_commits_apply = True
        self.write_concern = WriteConcern()
        self.lock = threading.RLock()
        self.admin = _Admin(self)

    def __getitem__(self, name: str) -> FaultyDatabase:
        return FaultyDatabase(self, self.inner[name])

    def get_database(self, name: str, **_: Any) -> FaultyDatabase:
        return self[name]

    def start_session(self, **_: Any) -> FaultySession:
        return FaultySession(self)

    def close(self) -> None:
        pass

    def record(self, operation: str, collection: str | None, session: Any, read_concern: Any, kwargs: dict) -> bool:
        in_txn = isinstance(session, FaultySession) and session.in_transaction
        level = getattr(read_concern, "level", None)
        self.calls.append(Call(operation, collection, in_txn, level, dict(kwargs), _csot.get_timeout()))
        self.faults.check(operation, collection, kwargs)
        return in_txn


class _Admin:
    def __init__(self, client: FaultyMongoClient) -> None:
        self.client = client

    def command(self, name: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self.client.record("command", name, None, None, kwargs)
        if name in ("hello", "isMaster"):
            return {"ok": 1.0, "isWritablePrimary": True, "setName": "rs0", "hosts": ["localhost:27017"]}
        return {"ok": 1.0}


class FaultyDatabase:
    def __init__(self, client: FaultyMongoClient, inner: Any) -> None:
        self.client, self.inner = client, inner
        self.name = inner.name

    def __getitem__(self, name: str) -> FaultyCollection:
        return FaultyCollection(self, self.inner[name], None)

    def get_collection(self, name: str, read_concern: Any = None, **_: Any) -> FaultyCollection:
        return FaultyCollection(self, self.inner[name], read_concern)

    def list_collection_names(self, **kwargs: Any) -> list[str]:
        with self.client.lock:
            self.client.record("list_collection_names", None, kwargs.pop("session", None), None, kwargs)
            return list(self.inner.list_collection_names())

    def create_collection(self, name: str, **kwargs: Any) -> FaultyCollection:
        with self.client.lock:
            session = kwargs.pop("session", None)
            if self.client.record("create_collection", name, session, None, kwargs):
                raise real_error(263, "OperationNotSupportedInTransaction", "Cannot create namespace in a transaction")
            if name in self.inner.list_collection_names():
                raise real_error(48, "NamespaceExists", f"Collection {self.name}.{name} already exists.")
            self.inner.create_collection(name)
            return self[name]

    def command(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self.client.admin.command(*args, **kwargs)


_WRITES = frozenset({"insert_one", "replace_one", "update_one", "update_many", "find_one_and_update", "delete_one"})


class FaultyCollection:
    def __init__(self, db: FaultyDatabase, inner: Any, read_concern: Any) -> None:
        self.db, self.inner, self.read_concern = db, inner, read_concern
        self.name = inner.name

    def with_options(self, read_concern: Any = None, **_: Any) -> FaultyCollection:
        return FaultyCollection(self.db, self.inner, read_concern or self.read_concern)

    def __getattr__(self, operation: str) -> Any:
        target = getattr(self.inner, operation)
        if not callable(target):
            return target
        client = self.db.client

        def call(*args: Any, **kwargs: Any) -> Any:
            session = kwargs.pop("session", None)
            with client.lock:
                in_txn = client.record(operation, self.name, session, self.read_concern, kwargs)
                # $$NOW, which mongomock does not know, as the server evaluates it
                # (recorded above as sent). Only then copied: mongomock sets an
                # inserted document's _id in the caller's dict, as pymongo does.
                if "$$NOW" in repr((args, kwargs)):
                    args, kwargs = tuple(evaluate_now(list(args))), evaluate_now(kwargs)
                if in_txn and operation in _WRITES:
                    if self.name not in self.db.inner.list_collection_names():
                        raise real_error(
                            263,
                            "OperationNotSupportedInTransaction",
                            f"Cannot create namespace {self.db.name}.{self.name} in multi-document transaction.",
                        )
                    session.remember(self.inner, operation, args)
                return target(*args, **kwargs)

        return call


class FaultySession:
    def __init__(self, client: FaultyMongoClient) -> None:
        self.client = client
        self.in_transaction = False
        self._undo: list[tuple[Any, Any, dict[str, Any] | None]] = []

    def __enter__(self) -> FaultySession:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.in_transaction = False

    def remember(self, coll: Any, operation: str, args: tuple[Any, ...]) -> None:
        """What a write is about to change, to undo it if the transaction fails."""
        if operation == "insert_one":
            self._undo.append((coll, args[0].get("_id"), None))
            return
        for doc in coll.find(args[0]) if operation == "update_many" else [coll.find_one(args[0])]:
            if doc is not None:
                self._undo.append((coll, doc["_id"], copy.deepcopy(doc)))
        if operation in ("update_one", "update_many", "find_one_and_update", "replace_one"):
            ids = {d["_id"] for d in coll.find({}, {"_id": 1})}
            self._undo.append((coll, ("__new_since__", frozenset(ids)), None))

    def _abort(self) -> None:
        for coll, key, before in reversed(self._undo):
            if isinstance(key, tuple) and key and key[0] == "__new_since__":
                for doc in list(coll.find({}, {"_id": 1})):
                    if doc["_id"] not in key[1]:
                        coll.delete_one({"_id": doc["_id"]})
            elif before is None:
                coll.delete_one({"_id": key})
            else:
                coll.replace_one({"_id": key}, before, upsert=True)
        self._undo = []

    @staticmethod
    def _commit_error(exc: PyMongoError) -> PyMongoError:
        """As pymongo's commit_transaction labels what the commit raised."""
        if isinstance(exc, ConnectionFailure):
            exc._remove_error_label("TransientTransactionError")
            exc._add_error_label("UnknownTransactionCommitResult")
        elif isinstance(exc, WTimeoutError) or getattr(exc, "code", None) in UNKNOWN_COMMIT_CODES:
            exc._add_error_label("UnknownTransactionCommitResult")
        return exc

    def with_transaction(
        self,
        callback: Callable[[FaultySession], Any],
        read_concern: Any = None,
        write_concern: Any = None,
        read_preference: Any = None,
        max_commit_time_ms: Any = None,
    ) -> Any:
        self.client.transactions.append(
            {"read_concern": read_concern, "write_concern": write_concern, "read_preference": read_preference}
        )
        with self.client.lock:
            for attempt in range(1, _RETRIES + 1):
                self._undo, self.in_transaction = [], True
                try:
                    result = callback(self)
                except BaseException as exc:
                    self._abort()
                    self.in_transaction = False
                    if (
                        isinstance(exc, PyMongoError)
                        and exc.has_error_label("TransientTransactionError")
                        and attempt < _RETRIES
                    ):
                        continue
                    raise
                self.in_transaction = False
                retry_whole = False
                for commit_attempt in range(1, _RETRIES + 1):
                    try:
                        self.client.record("commitTransaction", None, None, None, {})
                    except PyMongoError as raw:
                        failed = self._commit_error(raw)
                        if failed.has_error_label("UnknownTransactionCommitResult"):
                            if commit_attempt < _RETRIES:
                                continue
                            if not self.client.unknown_commits_apply:
                                self._abort()
                            raise failed from None
                        self._abort()
                        if failed.has_error_label("TransientTransactionError") and attempt < _RETRIES:
                            retry_whole = True
                            break
                        raise failed from None
                    self._undo = []
                    return result
                if retry_whole:
                    continue
        raise AssertionError("unreachable")  # pragma: no cover

    def transaction_calls(self) -> Iterator[Call]:  # pragma: no cover - a convenience for debugging
        return (c for c in self.client.calls if c.in_transaction)
