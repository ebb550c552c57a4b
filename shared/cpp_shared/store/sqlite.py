"""SQLite adapter of the store port: one database file per service.

Layout of the file:

* one table per collection, ``c_<name> (_id TEXT PRIMARY KEY, doc TEXT)``,
  where ``doc`` is the document as JSON without its ``_id``;
* ``_outbox``, ``_processed`` and ``_leases`` for the outbox, the consumers'
  processed-event marks and the relay leases;
* ``_log`` for every append-only log, keyed by (log, seq). Its head is the
  row with the highest seq, read inside the write transaction; triggers
  refuse UPDATE and DELETE on it (a guard against accidents, not against
  someone who can drop them: the hash chain is what shows tampering).

Concurrency model: WAL mode, so readers never block the writer nor each
other; every write transaction starts with ``BEGIN IMMEDIATE``, so writers
queue on the database lock (up to ``busy_timeout``) *before* reading what they
are about to change. That makes read-check-write sequences (version checks,
update operators applied in Python, lease checks) serializable without any
retry logic. Connections are per thread and per process.

Writers take turns before they begin (``_WriteTurns``): the threads of a
process on a lock of the store, the processes on an exclusive ``flock`` of a
file beside the database (``<database>-write-turn``), each a blocking wait
woken as soon as the holder lets go. SQLite's own wait for its write lock
polls, with sleeps growing to 100 ms: under load one process's back-to-back
transactions starved another's for as long (measured on the plans service:
a closed-loop p99 of half a second, 32 ms with turns). The turns only order
the writers that take them; SQLite's lock still excludes every writer.

Values follow MongoDB's semantics, which the contract suite checks on both
adapters: a field is indexed, filtered and sorted through one expression,
its key (``_key``), which orders values as MongoDB orders BSON (null, numbers,
strings, objects, arrays, booleans), so one index answers all three; a sort
on a field holding arrays goes by their least or greatest element.

The portable document rules every adapter enforces (names, paths, filters,
updates) and the buffered unit of work live in ``documents.py``; this module
compiles filters to SQL and runs the transactions.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any, cast

try:
    import fcntl as _fcntl
except ImportError:  # not a POSIX system: writers wait on SQLite's lock alone
    _fcntl = None  # type: ignore[assignment]

from .chain import GENESIS, REDACTION, entry_hash, is_redaction_marker, redaction_entry, redaction_marker
from .documents import (
    BufferedUnitOfWork,
    apply_update,
    check_collection_name,
    check_document,
    check_encoded_size,
    check_filter,
    check_log_page,
    check_update,
    checked_document,
    get_path,
    is_operator_dict,
    new_id,
    path_index,
    seed_from_filter,
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

# ---------------------------------------------------------------------------
# Filters compiled to SQL
# ---------------------------------------------------------------------------


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _json_path(segs: list[str]) -> str:
    return "$" + "".join(f'."{s}"' for s in segs)


class _Node:
    """A JSON path into ``doc``: a literal (so expression indexes match it
    textually) or, inside ``json_each`` over an array, built from the
    element's ``fullkey``."""

    def __init__(self, literal: str | None = None, expr: str | None = None):
        self.literal, self.expr = literal, expr

    @property
    def sql(self) -> str:
        return _lit(self.literal) if self.literal is not None else self.expr  # type: ignore[return-value]

    def child(self, segs: list[str]) -> _Node:
        if not segs:
            return self
        suffix = "".join(f'."{s}"' for s in segs)
        if self.literal is not None:
            return _Node(literal=self.literal + suffix)
        return _Node(expr=f"({self.expr} || {_lit(suffix)})")

    def item(self, i: int) -> _Node:
        if self.literal is not None:
            return _Node(literal=f"{self.literal}[{i}]")
        return _Node(expr=f"({self.expr} || '[{i}]')")


def _key(v: str, t: str) -> str:
    """One SQLite value that orders as MongoDB orders BSON values, given SQL
    for a value as ``json_extract`` returns it and for its ``json_type``.

    SQLite's own order of storage classes gives the first three ranks: NULL
    (null and missing, which MongoDB sorts alike) before numbers (integers and
    reals compared by value) before strings (compared byte by byte, as
    MongoDB's simple collation does). Objects, arrays and booleans become
    BLOBs, which SQLite orders after every string, led by a byte that ranks
    them: objects, then arrays, then false, then true. A boolean is thus never
    equal to the number 1, as ``json_extract`` alone would make it. Objects
    and arrays compare by their JSON text after that byte; MongoDB compares
    them field by field, so their order among themselves may differ (only
    equality, which agrees, is used on them).

    The same expression is the collection's index on a field, the left side
    of every filter on it and its sort key, so one index answers all three.
    """
    return (
        f"CASE {t} WHEN 'true' THEN x'0601' WHEN 'false' THEN x'0600'"
        f" WHEN 'object' THEN CAST(x'04' || {v} AS BLOB) WHEN 'array' THEN CAST(x'05' || {v} AS BLOB)"
        f" ELSE {v} END"
    )


def _doc_key(path: str) -> str:
    """The key (``_key``) of the value at a JSON path literal of ``doc``."""
    return _key(f"json_extract(doc, {path})", f"json_type(doc, {path})")


# The bounds of each rank of ``_key`` values: every number is below the empty
# string, every string below the empty BLOB, every BLOB above both.
_BOOLEANS = "x'0600' AND x'0601'"


class _Matcher:
    """A predicate on one candidate value, given SQL for its key (``_key``)
    and its JSON type (as ``json_type`` names it, NULL when the path is
    missing). ``missing`` says whether a missing field satisfies it (equality
    to null does)."""

    def __init__(self, sql: Callable[[str, str], str], missing: bool = False, elements: bool = True):
        self.sql, self.missing, self.elements = sql, missing, elements


class _FilterCompiler:
    """Turns a filter into an SQL condition with named parameters.

    Values are compared with MongoDB's semantics, which the contract suite
    checks on both adapters: a condition on a field holding an array matches
    when the array itself or one of its elements matches; a dotted path
    traverses arrays of sub-documents; comparisons only match values of the
    same type (a number never compares with a string, nor a boolean with a
    number); equality to null matches null and missing fields. Each
    condition is on the value's key (``_key``), so that it is answered from
    the field's index.
    """

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}
        self._aliases = 0

    def param(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return ":" + name

    def compile(self, filter: dict[str, Any]) -> str:
        parts: list[str] = []
        for field, cond in filter.items():
            segs = field.split(".")
            if is_operator_dict(cond):
                parts.extend(self._condition(segs, op, arg) for op, arg in cond.items())
            else:
                parts.append(self._condition(segs, "$eq", cond))
        return " AND ".join(parts) if parts else "1"

    def _condition(self, segs: list[str], op: str, arg: Any) -> str:
        if op == "$eq":
            return self._any(segs, self._eq(arg))
        if op == "$ne":
            return f"({self._any(segs, self._eq(arg))}) IS NOT 1"
        if op == "$in":
            return self._any(segs, self._in(arg))
        if op == "$nin":
            return f"({self._any(segs, self._in(arg))}) IS NOT 1"
        if op == "$exists":
            exists = self._any(segs, _Matcher(lambda k, t: f"{t} IS NOT NULL", elements=False))
            return exists if arg else f"({exists}) IS NOT 1"
        return self._any(segs, self._compare(op, arg))

    # -- matchers --
    def _key_of(self, value: Any) -> str:
        """SQL for the key (``_key``) of a value given in a filter."""
        if isinstance(value, bool):
            return "x'0601'" if value else "x'0600'"
        if isinstance(value, (dict, list)):
            # json() renders the value as json_extract renders the stored one.
            rank = "x'04'" if isinstance(value, dict) else "x'05'"
            return f"CAST({rank} || json({self.param(_dumps(value))}) AS BLOB)"
        return self.param(value)

    def _eq(self, value: Any) -> _Matcher:
        if value is None:
            return _Matcher(lambda k, t: f"{t} = 'null'", missing=True)
        key = self._key_of(value)
        return _Matcher(lambda k, t: f"{k} = {key}")

    def _in(self, values: list[Any]) -> _Matcher:
        keys = [self._key_of(x) for x in values if x is not None]
        null = [self._eq(None)] if any(x is None for x in values) else []

        def sql(k: str, t: str) -> str:
            terms = [f"{k} IN ({', '.join(keys)})"] if keys else []
            terms.extend(m.sql(k, t) for m in null)
            return "(" + " OR ".join(terms) + ")" if terms else "0"

        return _Matcher(sql, missing=bool(null))

    def _compare(self, op: str, value: Any) -> _Matcher:
        """A range within the value's own rank of keys (MongoDB compares only
        values of one type): each bound is on the key, so an index on the
        field answers it as a range."""
        sym = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}[op]
        upward = sym.startswith(">")
        if isinstance(value, bool):
            p = self._key_of(value)
            return _Matcher(lambda k, t: f"({k} {sym} {p} AND {k} BETWEEN {_BOOLEANS})")
        p = self.param(value)
        if isinstance(value, (int, float)):
            # Below a number lie only numbers (NULL compares with nothing).
            return _Matcher(lambda k, t: f"({k} {sym} {p} AND {k} < '')" if upward else f"{k} {sym} {p}")
        # Strings lie between the empty string and the empty BLOB.
        return _Matcher(lambda k, t: f"({k} {sym} {p} AND {k} < x'')" if upward else f"({k} {sym} {p} AND {k} >= '')")

    # -- paths --
    def _any(self, segs: list[str], m: _Matcher) -> str:
        if segs == ["_id"]:
            return m.sql("_id", "'text'")  # a string, its own key
        return self._any_at(_Node(literal="$"), segs, m)

    def _alias(self) -> str:
        self._aliases += 1
        return f"j{self._aliases}"

    def _any_at(self, base: _Node, segs: list[str], m: _Matcher) -> str:
        """SQL true when some value reached from ``base`` by ``segs`` matches.

        Each OR term below stays indexable on its own (an expression index on
        the value, partial indexes on "is an array"), which lets SQLite answer
        equality and range filters on indexed fields with a MULTI-INDEX OR
        instead of a scan.
        """
        full = base.child(segs)
        v, t = f"json_extract(doc, {full.sql})", f"json_type(doc, {full.sql})"
        prefixes = [base.child(segs[:k]) for k in range(1, len(segs))]
        terms = [m.sql(_key(v, t), t)]
        if m.missing:
            # Missing counts only when no step of the path is an array: across
            # an array, the elements decide (handled by the prefix terms).
            guard = "".join(f" AND json_type(doc, {p.sql}) IS NOT 'array'" for p in prefixes)
            terms.append(f"({v} IS NULL{guard})")
        if m.elements:
            j = self._alias()
            terms.append(
                f"({t} = 'array' AND EXISTS (SELECT 1 FROM json_each(doc, {full.sql}) AS {j}"
                f" WHERE {m.sql(_key(f'{j}.value', f'{j}.type'), f'{j}.type')}))"
            )
        for k, prefix in enumerate(prefixes, start=1):
            rest = segs[k:]
            j = self._alias()
            inner = self._any_at(_Node(expr=f"{j}.fullkey"), rest, m)
            terms.append(
                f"(json_type(doc, {prefix.sql}) = 'array' AND EXISTS (SELECT 1 FROM json_each(doc, {prefix.sql})"
                f" AS {j} WHERE {j}.type = 'object' AND {inner}))"
            )
            position = path_index(rest[0])
            if position is not None:  # "a.0.b": b of the first element of the array a
                inner = self._any_at(prefix.item(position), rest[1:], m)
                terms.append(f"(json_type(doc, {prefix.sql}) = 'array' AND {inner})")
        return "(" + " OR ".join(terms) + ")"


def _order_by(
    sort: list[tuple[str, int]] | None, filter: dict[str, Any] | None = None, arrays: Iterable[str] = ()
) -> str:
    """The ORDER BY of a find, in MongoDB's order of values (``_key``).

    A field the filter also tests is sorted after filtering, never by
    walking its index: the filter's test of a field is "the value matches
    OR an array element matches" (MongoDB's meaning), and SQLite, asked to
    return that OR in the order of one of its indexes, walks the whole index
    in order and tests every row (measured: 262 ms for 12 matches of
    100,000, against 0.4 ms for the filter alone). The unary ``+`` makes the
    term unlike the index expression, so SQLite answers the filter from the
    indexes (MULTI-INDEX OR) and sorts what matched. A sort on a field the
    filter does not test still walks that field's index (a listing's first
    page stops early).

    A field in ``arrays`` may hold arrays (at its end or on its way), which
    MongoDB sorts by their elements: it is sorted by ``_array_sort_term``,
    which no index answers."""
    keys = sort_with_tiebreak(sort)
    if not keys:
        return ""
    tested, arrays = set(filter or ()), set(arrays)
    parts = []
    for field, direction in keys:
        way = "ASC" if direction == 1 else "DESC"
        if field == "_id":
            parts.append(f"_id {way}")
        elif field in arrays:
            parts.append(f"{_array_sort_term(split_path(field), direction)} {way}")
        else:
            expr = _doc_key(_lit(_json_path(split_path(field))))
            parts.append(f"{'+' if field in tested else ''}{expr} {way}")
    return " ORDER BY " + ", ".join(parts)


def _sorts_a_field(sort: list[tuple[str, int]] | None) -> bool:
    return any(field != "_id" for field, _ in sort or ())


def _array_sort_term(segs: list[str], direction: int) -> str:
    """The ORDER BY term of MongoDB's sort on a path that may reach arrays.

    MongoDB sorts a document by the values the path reaches: each element of
    an array at its end, and across an array of sub-documents on the way each
    one's value (null for one without it); ascending by the least of them,
    descending by the greatest. Null and missing are the least values, and
    an empty array is less still (it sorts before null). So here null and
    missing are minus infinity (which no JSON document holds: it has no
    infinities), below every number, and the empty array, which reaches no
    value, is NULL, below them."""
    selects = []
    for froms, key, conds in _sort_candidates(_Node(literal="$"), segs, itertools.count(1)):
        source = f" FROM {', '.join(froms)}" if froms else ""
        selects.append(f"SELECT coalesce({key}, {_NULL_KEY}) AS k{source} WHERE {' AND '.join(conds)}")
    # A document with no array on the path has one value: its key, without the subquery.
    arrays = " OR ".join(f"json_type(doc, {_lit(_json_path(segs[:k]))}) = 'array'" for k in range(1, len(segs) + 1))
    least = "min(k)" if direction == 1 else "max(k)"
    return (
        f"CASE WHEN {arrays} THEN (SELECT {least} FROM ({' UNION ALL '.join(selects)}))"
        f" ELSE coalesce({_doc_key(_lit(_json_path(segs)))}, {_NULL_KEY}) END"
    )


#: Null's (and missing's) key where an empty array must sort below it: minus infinity.
_NULL_KEY = "-9e999"


def _sort_candidates(base: _Node, segs: list[str], aliases: Iterator[int]) -> list[tuple[list[str], str, list[str]]]:
    """(FROM items, key, conditions) giving each value a sort on ``segs``
    reaches from ``base`` in ``doc`` (see ``_array_sort_term``)."""
    full = base.child(segs).sql
    v, t = f"json_extract(doc, {full})", f"json_type(doc, {full})"
    element = f"s{next(aliases)}"
    found = [
        ([], _key(v, t), [f"{t} IS NOT NULL", f"{t} IS NOT 'array'"]),
        ([f"json_each(doc, {full}) AS {element}"], _key(f"{element}.value", f"{element}.type"), [f"{t} = 'array'"]),
    ]
    for k in range(1, len(segs)):
        prefix, rest = base.child(segs[:k]).sql, segs[k:]
        item = f"s{next(aliases)}"
        across, at = [f"json_each(doc, {prefix}) AS {item}"], _Node(expr=f"{item}.fullkey")
        is_array = f"json_type(doc, {prefix}) = 'array'"
        for froms, key, conds in _sort_candidates(at, rest, aliases):
            found.append(([*across, *froms], key, [is_array, f"{item}.type = 'object'", *conds]))
        # An element without the rest of the path (and no array on its way
        # there), or not a sub-document at all, gives null.
        lacks = f"json_type(doc, {at.child(rest).sql}) IS NULL" + "".join(
            f" AND json_type(doc, {at.child(rest[:r]).sql}) IS NOT 'array'" for r in range(1, len(rest))
        )
        found.append((across, "NULL", [is_array, f"({item}.type IS NOT 'object' OR ({lacks}))"]))
    return found


# ---------------------------------------------------------------------------
# The store
# ---------------------------------------------------------------------------


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _load(_id: str, text: str) -> dict[str, Any]:
    doc = json.loads(text)
    return {"_id": _id, **doc}


def path_from_url(url: str) -> str:
    """``sqlite:///relative/path.db`` -> ``relative/path.db``;
    ``sqlite:////abs/path.db`` -> ``/abs/path.db``."""
    from urllib.parse import unquote

    prefix = "sqlite:///"
    if not url.startswith(prefix):
        raise ValueError(f"not an SQLite URL (expected sqlite:///relative.db or sqlite:////absolute.db): {url!r}")
    path = unquote(url[len(prefix) :].split("?", 1)[0])
    if not path or path.endswith("/"):
        raise ValueError(f"SQLite URL {url!r} names no file")
    return path


# SQLite primary result codes meaning "the file cannot be used right now".
_UNAVAILABLE_CODES = {
    3,  # SQLITE_PERM
    5,  # SQLITE_BUSY: still locked after busy_timeout
    6,  # SQLITE_LOCKED
    8,  # SQLITE_READONLY
    10,  # SQLITE_IOERR
    11,  # SQLITE_CORRUPT
    13,  # SQLITE_FULL
    14,  # SQLITE_CANTOPEN
    15,  # SQLITE_PROTOCOL
    26,  # SQLITE_NOTADB
}
_UNAVAILABLE_WORDS = (
    "unable to open",
    "disk i/o",
    "readonly",
    "read-only",
    "locked",
    "not a database",
    "disk is full",
    "malformed",
)

# Connections inherited through fork(). Dropping them would let the garbage
# collector close them in the child, which may touch the parent's locks and
# WAL; they are kept referenced (and unused) until the process exits.
_INHERITED: list[sqlite3.Connection] = []

_STORES: weakref.WeakSet[SQLiteStore] = weakref.WeakSet()


class _WriteTurns:
    """Turns to write (see the module's description): a lock for the threads
    of this process, then an exclusive ``flock`` of the turn file for the
    processes. Each process opens the file itself (a descriptor inherited
    through fork() would share its lock with the parent). Where the file
    cannot be used, writers go on without the processes' turns."""

    def __init__(self, path: str):
        self.path = path
        self.usable = _fcntl is not None
        self._after_fork()

    def _after_fork(self) -> None:
        # A lock another thread held at fork() time would stay locked forever
        # in the child, where that thread does not exist.
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._pid = os.getpid()

    def _descriptor(self) -> int | None:
        if self._pid != os.getpid():
            self._after_fork()
        if self._fd is None and self.usable:
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
            except OSError:
                self.usable = False
        return self._fd

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        if self._pid != os.getpid():
            self._after_fork()
        with self._threads:
            fd = self._descriptor()
            locked = False
            if fd is not None:
                try:
                    _fcntl.flock(fd, _fcntl.LOCK_EX)
                    locked = True
                except OSError:
                    self.usable = False
            try:
                yield
            finally:
                if locked and fd is not None:
                    _fcntl.flock(fd, _fcntl.LOCK_UN)


def _after_fork_in_child() -> None:
    # A lock another thread held at fork() time would stay locked forever in
    # the child, where that thread does not exist.
    for store in list(_STORES):
        store._lock = threading.Lock()
        store._turns._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _unavailable(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in _UNAVAILABLE_CODES
    text = str(exc).lower()
    return any(word in text for word in _UNAVAILABLE_WORDS)


class SQLiteStore(Store):
    """The store in one SQLite file. Nothing touches the file until first use,
    so a service starts (and answers 503) even when its volume is missing."""

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 10.0):
        path = os.fspath(path)
        if not path or path == ":memory:" or path.startswith("file:"):
            raise ValueError("SQLiteStore needs a file path (each thread opens its own connection)")
        # Absolute, so a later chdir() cannot point new connections elsewhere.
        self.path = os.path.abspath(path)
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._generation = 0
        self._connections: list[sqlite3.Connection] = []  # this process's, for close()
        self._schema_ready = False
        self._tables: set[str] = set()
        self._indexes: dict[str, tuple[str, ...]] = {}  # collection -> its indexes' names
        self._turns = _WriteTurns(f"{self.path}-write-turn")
        _STORES.add(self)

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    # -- connections --
    def _connection(self) -> sqlite3.Connection:
        local, pid = self._local, os.getpid()
        conn = getattr(local, "conn", None)
        if conn is not None and local.pid == pid and local.generation == self._generation:
            return conn
        with self._lock:
            if self._pid != pid:
                # First use in a forked child (e.g. a gunicorn worker after
                # the app was loaded in the master): never reuse the parent's.
                _INHERITED.extend(self._connections)
                self._connections, self._pid = [], pid
            conn = self._open()
            if not self._schema_ready:
                try:
                    self._create_schema(conn)
                except BaseException:
                    conn.close()
                    raise
                self._schema_ready = True
            self._connections.append(conn)
            local.conn, local.pid, local.generation = conn, pid, self._generation
        return conn

    def _open(self) -> sqlite3.Connection:
        try:
            parent = os.path.dirname(self.path)
            os.makedirs(parent, exist_ok=True)
            # isolation_level=None: no implicit transactions; we issue BEGIN
            # IMMEDIATE ourselves. check_same_thread=False only so close() may
            # close every connection; each is used by a single thread.
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False)
        except OSError as exc:
            raise StoreUnavailable(f"cannot use SQLite database {self.path}: {exc}") from exc
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open SQLite database {self.path}: {exc}") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            # Reading the schema fails now, not later, on a file that is not
            # a database or cannot be read.
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            conn.close()
            if _unavailable(exc):
                raise StoreUnavailable(f"cannot use SQLite database {self.path}: {exc}") from exc
            raise
        return conn

    def _create_schema(self, conn: sqlite3.Connection) -> None:
        statements = [
            """CREATE TABLE IF NOT EXISTS _outbox (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                message_id TEXT NOT NULL UNIQUE,
                routing_key TEXT NOT NULL,
                body TEXT NOT NULL,
                headers TEXT NOT NULL,
                created_at REAL NOT NULL,
                sent_at REAL
            )""",
            "CREATE INDEX IF NOT EXISTS _outbox_pending ON _outbox (seq) WHERE sent_at IS NULL",
            """CREATE TABLE IF NOT EXISTS _processed (
                consumer TEXT NOT NULL,
                event_id TEXT NOT NULL,
                processed_at REAL NOT NULL,
                PRIMARY KEY (consumer, event_id)
            ) WITHOUT ROWID""",
            """CREATE TABLE IF NOT EXISTS _leases (
                name TEXT PRIMARY KEY,
                holder TEXT NOT NULL,
                expires_at REAL NOT NULL,
                token INTEGER NOT NULL DEFAULT 0
            ) WITHOUT ROWID""",
            # entry is the JSON as stored (compact, the caller's key order);
            # the hash is over its canonical form (see chain.py).
            """CREATE TABLE IF NOT EXISTS _log (
                log TEXT NOT NULL,
                seq INTEGER NOT NULL,
                prev_hash TEXT NOT NULL,
                hash TEXT NOT NULL,
                entry TEXT NOT NULL,
                committed_at REAL NOT NULL,
                PRIMARY KEY (log, seq)
            ) WITHOUT ROWID""",
            # Append-only, but for a redaction (UnitOfWork.redact): the entry,
            # and nothing else, replaced by a marker. (The trigger of a file
            # made before redactions refuses every update: replaced below.)
            """CREATE TRIGGER IF NOT EXISTS _log_no_update BEFORE UPDATE ON _log
                WHEN NEW.log IS NOT OLD.log OR NEW.seq IS NOT OLD.seq OR NEW.prev_hash IS NOT OLD.prev_hash
                    OR NEW.hash IS NOT OLD.hash OR NEW.committed_at IS NOT OLD.committed_at
                    OR json_valid(NEW.entry) IS NOT 1 OR json_type(NEW.entry, '$.redacted') IS NOT 'text'
                    OR NEW.entry IS NOT json_object('redacted', json_extract(NEW.entry, '$.redacted'))
                BEGIN SELECT RAISE(ABORT, '_log is append-only: an entry can only be redacted'); END""",
            """CREATE TRIGGER IF NOT EXISTS _log_no_delete BEFORE DELETE ON _log
                BEGIN SELECT RAISE(ABORT, '_log is append-only'); END""",
        ]
        with self._translate():
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = '_log_no_update'")
                found = row.fetchone()
                if found is not None and "redacted" not in found[0]:
                    conn.execute("DROP TRIGGER _log_no_update")
                for statement in statements:
                    conn.execute(statement)
                # A file made before leases had fencing tokens.
                columns = {row[1] for row in conn.execute("PRAGMA table_info(_leases)")}
                if columns and "token" not in columns:
                    conn.execute("ALTER TABLE _leases ADD COLUMN token INTEGER NOT NULL DEFAULT 0")
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise

    @contextlib.contextmanager
    def _translate(self, collection: str | None = None) -> Iterator[None]:
        try:
            yield
        except sqlite3.IntegrityError as exc:
            where = f"{collection}: " if collection else ""
            raise DuplicateKey(f"{where}{exc}") from exc
        except sqlite3.Error as exc:
            if _unavailable(exc):
                raise StoreUnavailable(f"SQLite database {self.path} is unusable: {exc}") from exc
            raise

    @contextlib.contextmanager
    def _write(self, collection: str | None = None) -> Iterator[sqlite3.Connection]:
        """One write transaction. IMMEDIATE takes the write lock at BEGIN, so
        what the transaction reads cannot change before it commits."""
        with self._translate(collection):
            conn = self._connection()
            with self._turns.turn():
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    _rollback(conn)
                    raise

    def _read(self, sql: str, params: dict[str, Any] | tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._translate():
            return self._connection().execute(sql, params).fetchall()

    @contextlib.contextmanager
    def _snapshot(self, needed: bool = True) -> Iterator[Callable[..., list[tuple[Any, ...]]]]:
        """Reads that see one state of the database: a read transaction (WAL mode: it waits for no writer), or,
        when not ``needed`` or already in one, plain reads."""
        with self._translate():
            conn = self._connection()
            begun = needed and not conn.in_transaction
            if begun:
                conn.execute("BEGIN DEFERRED")
        try:
            yield self._read
        finally:
            if begun:
                _rollback(conn)

    def _table(self, collection: str) -> str:
        """The quoted table of a collection, created on first use."""
        check_collection_name(collection)
        table = _ident("c_" + collection)
        if collection not in self._tables:
            with self._translate():
                self._connection().execute(
                    f"CREATE TABLE IF NOT EXISTS {table} (_id TEXT PRIMARY KEY NOT NULL, doc TEXT NOT NULL)"
                )
            self._tables.add(collection)
        return table

    def _indexed(self, collection: str, kind: str) -> tuple[str, ...]:
        """The fields (or paths) of the collection's indexes of a kind (``ux``, unique; ``ix``, plain; ``ixarray``,
        "this step is an array"), from the schema, cached until create_index."""
        if collection not in self._indexes:
            rows = self._read(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", ("c_" + collection,)
            )
            self._indexes[collection] = tuple(sorted(r[0] for r in rows))
        prefix = f"{kind}:c_{collection}:"
        return tuple(name[len(prefix) :] for name in self._indexes[collection] if name.startswith(prefix))

    def _unique_fields(self, collection: str) -> tuple[str, ...]:
        return self._indexed(collection, "ux")

    # -- port --
    def collection(self, name: str) -> SQLiteCollection:
        check_collection_name(name)
        return SQLiteCollection(self, name)

    @contextlib.contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        uow = BufferedUnitOfWork()
        try:
            yield uow
        except BaseException:
            uow.closed = True
            raise
        uow.closed = True
        self._commit(uow)

    def _commit(self, uow: BufferedUnitOfWork) -> None:
        if not uow.ordered_ops():
            return
        tables = self._tables_of([uow])
        with self._write() as conn:
            self._apply(conn, uow, tables, time.time())

    def begin(self) -> UnitOfWork:
        return BufferedUnitOfWork()

    def commit_all(self, units: list[UnitOfWork]) -> list[StoreError | None]:
        outcomes: list[StoreError | None] = [None] * len(units)
        buffered = [cast(BufferedUnitOfWork, uow) for uow in units]  # what begin() gives
        for uow in buffered:
            uow.closed = True
        work = [(i, u) for i, u in enumerate(buffered) if u.ordered_ops()]
        if not work:
            return outcomes
        tables = self._tables_of([u for _, u in work])
        with self._write() as conn:
            now = time.time()
            for i, uow in work:
                conn.execute("SAVEPOINT unit")
                try:
                    with self._translate():
                        self._apply(conn, uow, tables, now)
                except StoreUnavailable:
                    raise
                except StoreError as exc:  # a conflict, a duplicate, a document too large...: this unit's outcome
                    conn.execute("ROLLBACK TO unit")  # undoes this unit alone
                    outcomes[i] = exc
                conn.execute("RELEASE unit")
        return outcomes

    def _tables_of(self, units: list[BufferedUnitOfWork]) -> dict[str, str]:
        # Create tables before the transaction: a CREATE inside it would be
        # rolled back with a failed commit while the cache said it exists.
        return {
            op[1]: self._table(op[1])
            for uow in units
            for op in uow.ordered_ops()
            if op[0] in ("insert", "replace", "update", "delete", "remove")
        }

    def _apply(self, conn: sqlite3.Connection, uow: BufferedUnitOfWork, tables: dict[str, str], now: float) -> None:
        # Heads of the logs this unit appends to, read from _log on the
        # unit's first append to each. The cache lives for this one unit: in
        # commit_all, a unit rolled back to its savepoint takes its cache with
        # it and the next unit reads the head again, so it continues from the
        # last entry that is really in the transaction (no gap, no fork).
        heads: dict[str, tuple[int, str]] = {}
        for op in uow.ordered_ops():
            kind = op[0]
            if kind == "mark":
                _, event_id, consumer = op
                try:
                    conn.execute(
                        "INSERT INTO _processed (consumer, event_id, processed_at) VALUES (?, ?, ?)",
                        (consumer, event_id, now),
                    )
                except sqlite3.IntegrityError:
                    raise AlreadyProcessed(event_id) from None
            elif kind == "insert":
                _, name, doc = op
                with self._translate(name):
                    _insert(conn, tables[name], doc, self._unique_fields(name))
            elif kind == "replace":
                _, name, doc, expected = op
                row = conn.execute(
                    f"SELECT json_extract(doc, '$.version') FROM {tables[name]} WHERE _id = ?", (doc["_id"],)
                ).fetchone()
                if row is None or row[0] != expected:
                    raise VersionConflict(name, doc["_id"], expected, None if row is None else row[0])
                body = {k: v for k, v in doc.items() if k != "_id"}
                text = _dumps(body)
                check_encoded_size(doc, text)
                with self._translate(name):
                    conn.execute(f"UPDATE {tables[name]} SET doc = ? WHERE _id = ?", (text, doc["_id"]))
                    _check_unique_elements(conn, tables[name], doc, self._unique_fields(name))
            elif kind == "update":
                _, name, filter, update, upsert = op
                with self._translate(name):
                    _update(conn, tables[name], filter, update, upsert, self._unique_fields(name))
            elif kind == "remove":
                _, name, doc_id, expected = op
                row = conn.execute(
                    f"SELECT json_extract(doc, '$.version') FROM {tables[name]} WHERE _id = ?", (doc_id,)
                ).fetchone()
                if row is None or row[0] != expected:
                    raise VersionConflict(name, doc_id, expected, None if row is None else row[0])
                conn.execute(f"DELETE FROM {tables[name]} WHERE _id = ?", (doc_id,))
            elif kind == "forget_mentioning":
                # The body as stored is JSON text: the id appears in it as written (ids need no escaping).
                conn.execute("DELETE FROM _outbox WHERE sent_at IS NOT NULL AND instr(body, ?) > 0", (op[1],))
            elif kind == "publish":
                _, message_id, routing_key, body, headers = op
                try:
                    conn.execute(
                        "INSERT INTO _outbox (message_id, routing_key, body, headers, created_at)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (message_id, routing_key, _dumps(body), _dumps(headers), now),
                    )
                except sqlite3.IntegrityError:
                    raise DuplicateKey(f"outbox: message_id {message_id!r} was already published") from None
            elif kind == "append":
                self._apply_append(conn, heads, op, now)
            elif kind == "delete":
                _, name, filter = op
                compiler = _FilterCompiler()
                where = compiler.compile(filter)
                conn.execute(f"DELETE FROM {tables[name]} WHERE {where}", compiler.params)
            elif kind == "forget_sent":
                _, filter = op
                compiler = _FilterCompiler()
                where = compiler.compile(filter)  # over ``doc``: the body, named so below
                conn.execute(
                    "DELETE FROM _outbox WHERE seq IN (SELECT seq FROM (SELECT seq, body AS doc FROM _outbox"
                    f" WHERE sent_at IS NOT NULL) WHERE {where})",
                    compiler.params,
                )
            elif kind == "redact":
                _, log, seqs, erasure_id, note = op
                redacted = []
                for seq in seqs:
                    row = conn.execute("SELECT hash, entry FROM _log WHERE log = ? AND seq = ?", (log, seq)).fetchone()
                    if row is None:
                        raise ValueError(f"log {log!r} has no seq {seq} to redact")
                    entry = json.loads(row[1])
                    if is_redaction_marker(entry):
                        continue
                    if isinstance(entry, dict) and REDACTION in entry:
                        raise ValueError(f"log {log!r}, seq {seq}: a redaction entry cannot be redacted")
                    conn.execute(
                        "UPDATE _log SET entry = ? WHERE log = ? AND seq = ?",
                        (_dumps(redaction_marker(erasure_id)), log, seq),
                    )
                    redacted.append((seq, row[0]))
                # The entry confirming the redaction, appended as ``append`` does.
                uow_append = ("append", log, redaction_entry(erasure_id, redacted, note))
                self._apply_append(conn, heads, uow_append, now)

    @staticmethod
    def _apply_append(
        conn: sqlite3.Connection, heads: dict[str, tuple[int, str]], op: tuple[Any, ...], now: float
    ) -> None:
        _, log, entry = op
        if log not in heads:
            # The transaction began IMMEDIATE, so no other writer (thread
            # or process) can append between this read and the commit.
            # (typeof: a seq edited into text outside the store sorts
            # above every number; verify_log reports it, appends go on.)
            row = conn.execute(
                "SELECT seq, hash FROM _log WHERE log = ? AND typeof(seq) = 'integer' ORDER BY seq DESC LIMIT 1",
                (log,),
            ).fetchone()
            heads[log] = (0, GENESIS) if row is None else (row[0], row[1])
        seq, prev_hash = heads[log][0] + 1, heads[log][1]
        digest = entry_hash(seq, prev_hash, entry)
        conn.execute(
            "INSERT INTO _log (log, seq, prev_hash, hash, entry, committed_at) VALUES (?, ?, ?, ?, ?, ?)",
            (log, seq, prev_hash, digest, _dumps(entry), now),
        )
        heads[log] = (seq, digest)

    def ping(self) -> None:
        self._read("SELECT 1")

    def outbox_pending(self, limit: int = 100, *, authority: str | None = None) -> list[OutboxMessage]:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if authority is None:
            rows = self._read(
                "SELECT seq, message_id, routing_key, body, headers, created_at FROM _outbox"
                " WHERE sent_at IS NULL ORDER BY seq LIMIT ?",
                (int(limit),),
            )
        else:
            rows = self._read(
                "SELECT seq, message_id, routing_key, body, headers, created_at FROM _outbox"
                " WHERE sent_at IS NULL AND json_extract(body, '$.authority') = ? ORDER BY seq LIMIT ?",
                (authority, int(limit)),
            )
        return [
            OutboxMessage(seq=s, message_id=m, routing_key=r, body=json.loads(b), headers=json.loads(h), created_at=c)
            for s, m, r, b, h, c in rows
        ]

    def outbox_mark_sent(self, seqs: list[int], *, fence: tuple[str, int] | None = None) -> bool:
        seqs = [int(s) for s in seqs]
        if not seqs:
            return True
        with self._write() as conn:
            # The write lock is held from BEGIN IMMEDIATE: no take of the
            # lease can come between this check and the marks.
            if fence is not None:
                name, token = fence
                if (
                    conn.execute("SELECT 1 FROM _leases WHERE name = ? AND token = ?", (name, int(token))).fetchone()
                    is None
                ):
                    return False
            now = time.time()
            # Chunks keep the statement under SQLite's parameter limit.
            for i in range(0, len(seqs), 500):
                chunk = seqs[i : i + 500]
                conn.execute(
                    f"UPDATE _outbox SET sent_at = ? WHERE sent_at IS NULL AND seq IN ({', '.join('?' * len(chunk))})",
                    (now, *chunk),
                )
        return True

    def outbox_stats(self, *, authority: str | None = None) -> OutboxStats:
        if authority is None:
            ((count, oldest),) = self._read("SELECT count(*), min(created_at) FROM _outbox WHERE sent_at IS NULL")
        else:
            ((count, oldest),) = self._read(
                "SELECT count(*), min(created_at) FROM _outbox WHERE sent_at IS NULL"
                " AND json_extract(body, '$.authority') = ?",
                (authority,),
            )
        return OutboxStats(pending=count, oldest_created_at=oldest)

    def read_log(self, log: str, *, after_seq: int = 0, limit: int = 1000) -> list[LogRecord]:
        check_collection_name(log)
        check_log_page(after_seq, limit)
        rows = self._read(
            "SELECT seq, prev_hash, hash, entry, committed_at FROM _log WHERE log = ? AND seq > ? ORDER BY seq LIMIT ?",
            (log, after_seq, limit),
        )
        records = []
        for seq, prev_hash, digest, text, committed_at in rows:
            try:
                entry = json.loads(text)
            except (TypeError, ValueError):
                raise CorruptLogRecord(log, seq, "entry is not valid JSON") from None
            if not isinstance(entry, dict):
                raise CorruptLogRecord(log, seq, f"entry is a JSON {type(entry).__name__}, not an object")
            records.append(LogRecord(seq=seq, prev_hash=prev_hash, hash=digest, entry=entry, committed_at=committed_at))
        return records

    def is_processed(self, event_id: str, consumer: str) -> bool:
        return bool(self._read("SELECT 1 FROM _processed WHERE consumer = ? AND event_id = ?", (consumer, event_id)))

    def acquire_lease(self, name: str, holder: str, seconds: float) -> int | None:
        # One host: its clock is the server's, as MongoDB's $$NOW is there.
        with self._write() as conn:
            now = time.time()
            row = conn.execute("SELECT holder, expires_at, token FROM _leases WHERE name = ?", (name,)).fetchone()
            if row is not None and row[0] != holder and row[1] > now:
                return None
            # A renewal keeps the token; a take (free, expired, released or
            # another's; or one from before tokens, 0) gets the next one.
            previous = 0 if row is None else int(row[2])
            token = previous if row is not None and row[0] == holder and previous > 0 else previous + 1
            conn.execute(
                "INSERT INTO _leases (name, holder, expires_at, token) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,"
                " token = excluded.token",
                (name, holder, now + seconds, token),
            )
            return token

    def release_lease(self, name: str, holder: str) -> None:
        # The row stays, with its token, so that the next take's is greater.
        with self._write() as conn:
            conn.execute("UPDATE _leases SET holder = '', expires_at = 0 WHERE name = ? AND holder = ?", (name, holder))

    def collection_names(self) -> list[str]:
        rows = self._read("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'c\\_%' ESCAPE '\\'")
        return sorted(name[2:] for (name,) in rows)

    def close(self) -> None:
        """Close this process's connections. Call it when no other thread is
        using the store; a later call reconnects."""
        with self._lock:
            if self._pid == os.getpid():
                for conn in self._connections:
                    with contextlib.suppress(sqlite3.Error):
                        conn.close()
            self._connections = []
            self._generation += 1


def _rollback(conn: sqlite3.Connection) -> None:
    # A failing ROLLBACK (e.g. the disk went away) must not hide the error
    # that caused it; SQLite rolls back on its own in that case.
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


def _insert(conn: sqlite3.Connection, table: str, doc: dict[str, Any], unique: tuple[str, ...] = ()) -> None:
    body = {k: v for k, v in doc.items() if k != "_id"}
    text = _dumps(body)
    check_encoded_size(doc, text)
    conn.execute(f"INSERT INTO {table} (_id, doc) VALUES (?, ?)", (doc["_id"], text))
    _check_unique_elements(conn, table, doc, unique)


def _values_at(value: Any, segs: list[str]) -> list[Any]:
    """The values an index on the path ``segs`` holds for ``value``: each element of an array at the end, and across
    an array of sub-documents on the way, each one's (MongoDB's multikey index)."""
    if not segs:
        return list(value) if isinstance(value, list) else [value]
    if isinstance(value, dict):
        return _values_at(value[segs[0]], segs[1:]) if segs[0] in value else []
    if isinstance(value, list):
        return [v for item in value if isinstance(item, dict) for v in _values_at(item, segs)]
    return []


def _check_unique_elements(conn: sqlite3.Connection, table: str, doc: dict[str, Any], unique: tuple[str, ...]) -> None:
    """MongoDB's unique index on a field holding arrays is on each element: two documents may not share an element
    (nor one's element equal another's value), though one document may repeat its own. SQLite's unique index on the
    field sees a whole array as one value, so the written document is checked here, in its transaction, for each
    unique field where either side holds an array (a partial index finds the documents with one)."""
    for field in unique:
        segs = split_path(field)
        values = _values_at(doc, segs)
        if not values:
            continue
        path = _lit(_json_path(segs))
        if len(values) == 1 and not isinstance(get_path(doc, segs)[1], list):
            arrays = conn.execute(f"SELECT 1 FROM {table} WHERE json_type(doc, {path}) = 'array' LIMIT 1").fetchone()
            if arrays is None:
                continue  # scalars only: the unique index itself decides
        for element in dict.fromkeys(_dumps(v) for v in values):
            compiler = _FilterCompiler()
            where = compiler.compile({field: json.loads(element)})
            other = conn.execute(
                f"SELECT _id FROM {table} WHERE ({where}) AND _id <> :self_id LIMIT 1",
                {**compiler.params, "self_id": doc["_id"]},
            ).fetchone()
            if other is not None:
                raise sqlite3.IntegrityError(
                    f"unique index on {field}: {element} is already held by document {other[0]!r}"
                )


def _update(
    conn: sqlite3.Connection,
    table: str,
    filter: dict[str, Any],
    update: dict[str, Any],
    upsert: bool,
    unique: tuple[str, ...] = (),
) -> int:
    """Read-modify-write of one document; the caller holds the write lock."""
    compiler = _FilterCompiler()
    where = compiler.compile(filter)
    row = conn.execute(f"SELECT _id, doc FROM {table} WHERE {where} LIMIT 1", compiler.params).fetchone()
    if row is not None:
        new = checked_document(apply_update(_load(*row), update, inserting=False, copy_doc=False))
        body = {k: v for k, v in new.items() if k != "_id"}
        text = _dumps(body)
        check_encoded_size(new, text)
        conn.execute(f"UPDATE {table} SET doc = ? WHERE _id = ?", (text, row[0]))
        _check_unique_elements(conn, table, new, unique)
        return 1
    if upsert:
        defaults = upsert_defaults(filter, update)
        new = apply_update(seed_from_filter(filter), update, inserting=True)
        for key, value in defaults.items():
            new.setdefault(key, value)
        check_document(new)
        _insert(conn, table, new, unique)
    return 0


class SQLiteCollection(Collection):
    def __init__(self, store: SQLiteStore, name: str):
        self.store, self.name = store, name

    def __repr__(self) -> str:
        return f"<SQLiteCollection {self.name!r} of {self.store!r}>"

    def _select(self, what: str, filter: dict[str, Any] | None, tail: str = "") -> tuple[str, dict[str, Any]]:
        table = self.store._table(self.name)
        compiler = _FilterCompiler()
        where = compiler.compile(check_filter(filter))
        return f"SELECT {what} FROM {table} WHERE {where}{tail}", compiler.params

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
        # LIMIT -1 is SQLite's "no limit", the meaning of limit=0 in the port.
        tail = f" LIMIT {int(limit) or -1} OFFSET {int(skip)}"
        self.store._table(self.name)  # created before the snapshot, which only reads
        with self.store._snapshot(_sorts_a_field(sort)) as read:
            sql, params = self._select("_id, doc", filter, self._order_by(read, sort, filter) + tail)
            return [_load(_id, doc) for _id, doc in read(sql, params)]

    def explain(self, filter: dict[str, Any] | None = None, *, sort: list[tuple[str, int]] | None = None) -> list[str]:
        """SQLite's query plan for a find (to check that an index is used)."""
        self.store._table(self.name)
        with self.store._snapshot(_sorts_a_field(sort)) as read:
            sql, params = self._select("_id, doc", filter, self._order_by(read, sort, filter))
            return [row[-1] for row in read("EXPLAIN QUERY PLAN " + sql, params)]

    def _order_by(
        self,
        read: Callable[..., list[tuple[Any, ...]]],
        sort: list[tuple[str, int]] | None,
        filter: dict[str, Any] | None,
    ) -> str:
        """The ORDER BY of a find, knowing which sorted fields may hold arrays (in the snapshot the find reads).

        An indexed field has a partial index on "is an array" for each step of its path, which answers at once
        whether any document holds one there; while none does, the field's index gives the sort. An unindexed
        field is sorted row by row in any case, so it is sorted as one that may hold arrays."""
        arrays = []
        array_steps = set(self.store._indexed(self.name, "ixarray"))
        table = self.store._table(self.name)
        for field, _ in sort_with_tiebreak(sort) or ():
            if field == "_id":
                continue
            segs = split_path(field)
            steps = [".".join(segs[:k]) for k in range(1, len(segs) + 1)]
            if not all(step in array_steps for step in steps):
                arrays.append(field)
                continue
            probes = " OR ".join(
                f"EXISTS (SELECT 1 FROM {table} WHERE json_type(doc, {path}) = 'array')"
                for path in (_lit(_json_path(step.split("."))) for step in steps)
            )
            if read(f"SELECT {probes}")[0][0]:
                arrays.append(field)
        return _order_by(sort, filter, arrays)

    def count_documents(self, filter: dict[str, Any] | None = None) -> int:
        sql, params = self._select("count(*)", filter)
        return self.store._read(sql, params)[0][0]

    def create_index(self, field: str, *, unique: bool = False) -> None:
        segs = split_path(field)
        if segs == ["_id"]:
            return  # the primary key
        table = self.store._table(self.name)
        raw_table = "c_" + self.name
        path = _lit(_json_path(segs))
        statements = []
        key = _doc_key(path)
        if unique:
            name = f"ux:{raw_table}:{field}"
            statements.append(f"CREATE UNIQUE INDEX IF NOT EXISTS {_ident(name)} ON {table} ({key})")
            # A NULL key (JSON null, or missing) may repeat in a UNIQUE index;
            # MongoDB indexes null, so two nulls collide there. This partial
            # index allows at most one null the same way.
            statements.append(
                f"CREATE UNIQUE INDEX IF NOT EXISTS {_ident(f'uxnull:{raw_table}:{field}')}"
                f" ON {table} (json_type(doc, {path})) WHERE json_type(doc, {path}) = 'null'"
            )
        else:
            # _id second: ORDER BY field, _id (the sort tie-break) is then
            # read straight from the index.
            name = f"ix:{raw_table}:{field}"
            statements.append(f"CREATE INDEX IF NOT EXISTS {_ident(name)} ON {table} ({key}, _id)")
        # Tiny partial indexes on "this step of the path is an array" keep
        # every OR term of a compiled filter indexable (see _any_at).
        for k in range(1, len(segs) + 1):
            step = _lit(_json_path(segs[:k]))
            statements.append(
                f"CREATE INDEX IF NOT EXISTS {_ident(f'ixarray:{raw_table}:' + '.'.join(segs[:k]))}"
                f" ON {table} (json_type(doc, {step})) WHERE json_type(doc, {step}) = 'array'"
            )
        with self.store._write(self.name) as conn:
            # An index made before the key (``_key``) was on json_extract alone, which neither the filters nor the
            # sorts use now: it is made anew (what it held unique, the key holds unique too).
            older = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", (name,))
            found = older.fetchone()
            if found is not None and key not in found[0]:
                conn.execute(f"DROP INDEX {_ident(name)}")
            for statement in statements:
                conn.execute(statement)
        self.store._indexes.pop(self.name, None)

    def insert_one(self, doc: dict[str, Any]) -> str:
        new = checked_document(doc)
        new.setdefault("_id", new_id())
        new.setdefault("version", 1)
        table = self.store._table(self.name)
        unique = self.store._unique_fields(self.name)
        with self.store._write(self.name) as conn:
            _insert(conn, table, new, unique)
        return new["_id"]

    def update_one(self, filter: dict[str, Any], update: dict[str, Any], *, upsert: bool = False) -> int:
        check_filter(filter)
        check_update(update)
        table = self.store._table(self.name)
        unique = self.store._unique_fields(self.name)
        with self.store._write(self.name) as conn:
            return _update(conn, table, filter, update, upsert, unique)

    def delete_one(self, filter: dict[str, Any]) -> int:
        sql, params = self._select("_id", filter, " LIMIT 1")
        table = self.store._table(self.name)
        with self.store._write(self.name) as conn:
            return conn.execute(f"DELETE FROM {table} WHERE _id IN ({sql})", params).rowcount
