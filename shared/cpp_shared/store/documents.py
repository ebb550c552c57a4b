"""Document rules and the buffered unit of work, common to every adapter.

What a document, a filter and an update may contain, and how updates apply,
are checked here once so that SQLite and MongoDB accept and refuse the same
things; the unit of work buffers writes until the adapter commits them.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from typing import Any

from .chain import REDACTION, canonical_json
from .port import StoreError, UnitOfWork

# ---------------------------------------------------------------------------
# Portable document rules (shared with the Mongo adapter)
# ---------------------------------------------------------------------------

#: Collection names the adapters use for their own bookkeeping (the Mongo
#: adapter stores these as collections next to the services' ones; the
#: append-only logs live in ``log_entries``, their heads in ``log_heads``).
RESERVED_COLLECTIONS = frozenset({"outbox", "outbox_seq", "processed_events", "leases", "log_entries", "log_heads"})

_COLLECTION_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")

FILTER_OPERATORS = frozenset({"$in", "$nin", "$ne", "$gt", "$gte", "$lt", "$lte", "$exists"})
UPDATE_OPERATORS = frozenset({"$set", "$unset", "$inc", "$push", "$setOnInsert"})

# BSON (and SQLite) integers are 64-bit; Python's are not.
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1


def new_id() -> str:
    return uuid.uuid4().hex


def check_collection_name(name: str) -> None:
    if not isinstance(name, str) or not _COLLECTION_NAME.match(name) or name.startswith("system."):
        raise ValueError(
            f"invalid collection name {name!r}: use letters, digits, '_', '.', '-' "
            "(at most 100 characters, not starting with '.', '-' or 'system.')"
        )
    if name in RESERVED_COLLECTIONS:
        raise ValueError(f"collection name {name!r} is reserved for the store's own use")


def split_path(field: str) -> list[str]:
    """Split a dotted path, rejecting what an adapter cannot address."""
    if not isinstance(field, str) or not field:
        raise ValueError(f"invalid field path {field!r}")
    segments = field.split(".")
    for seg in segments:
        # '"' cannot be written inside an SQLite JSON path; '$' would be read
        # as an operator by MongoDB.
        if not seg or seg.startswith("$") or '"' in seg or "\x00" in seg:
            raise ValueError(f"invalid field path {field!r}")
    return segments


class _NotJSON(Exception):
    """Raised deep inside a value; each level adds its step to ``path`` on the
    way out, so the happy path builds no path strings at all."""

    def __init__(self, error: type[Exception], message: str) -> None:
        self.error, self.message = error, message
        self.path: list[str] = []


#: MongoDB's limit on a document's nesting: "no more than 100 levels ... each object or array adds a level"
#: (the document itself being the first), applied by every adapter so that SQLite refuses what MongoDB would.
MAX_NESTING = 100
#: MongoDB's limit on a document's size as BSON (16 MiB).
MAX_BSON_BYTES = 16 * 1024 * 1024


def _json_copy(value: Any, depth: int = 0) -> Any:
    """A copy of a JSON-shaped value (lists for tuples; str, int and float
    subclasses kept as they are, being immutable), or _NotJSON. ``depth`` is
    the number of objects and arrays around ``value``."""
    kind = type(value)
    if kind is str or value is None or kind is bool:
        return value
    if kind is int:
        if not _INT_MIN <= value <= _INT_MAX:
            raise _NotJSON(ValueError, f"integer {value} does not fit in 64 bits")
        return value
    if kind is float:
        if not math.isfinite(value):
            raise _NotJSON(ValueError, f"{value} is not a JSON number")
        return value
    if (kind is dict or kind is list or kind is tuple) and depth >= MAX_NESTING:
        raise _NotJSON(ValueError, f"nested more than {MAX_NESTING} levels deep (MongoDB's limit)")
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                if not isinstance(key, str):
                    raise _NotJSON(TypeError, f"key {key!r} is not a string")
            # Dotted or $-prefixed keys could not be told apart from paths and
            # operators in filters and updates.
            if not key or key[0] == "$" or "." in key or "\x00" in key:
                raise _NotJSON(ValueError, f"invalid key {key!r}")
            try:
                out[key] = _json_copy(item, depth + 1)
            except _NotJSON as bad:
                bad.path.append(f".{key}")
                raise
        return out
    if kind is list or kind is tuple:
        out_list = []
        for i, item in enumerate(value):
            try:
                out_list.append(_json_copy(item, depth + 1))
            except _NotJSON as bad:
                bad.path.append(f"[{i}]")
                raise
        return out_list
    if isinstance(value, bool) or isinstance(value, str):
        return value
    if isinstance(value, int):
        if not _INT_MIN <= value <= _INT_MAX:
            raise _NotJSON(ValueError, f"integer {value} does not fit in 64 bits")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _NotJSON(ValueError, f"{value} is not a JSON number")
        return value
    if isinstance(value, dict):
        return _json_copy(dict(value), depth)
    if isinstance(value, (list, tuple)):
        return _json_copy(list(value), depth)
    raise _NotJSON(TypeError, f"{type(value).__name__} is not JSON-shaped (store dates as ISO-8601 strings)")


def check_encoded_size(doc: dict[str, Any], encoded: str, what: str = "document") -> None:
    """Refuse (StoreError: nothing of the write is kept) a document over MongoDB's 16 MiB as BSON, as MongoDB does:
    its size is known only once an update has been applied, at the commit. ``encoded`` is its JSON text, which an adapter has made
    anyway: BSON is at most about six times longer than JSON (an array of one-digit numbers), so only a document whose
    JSON is over a sixth of the limit is encoded as BSON to measure it."""
    if len(encoded) * 6 <= MAX_BSON_BYTES:
        return
    import bson  # pymongo's, installed with the store's MongoDB adapter

    size = len(bson.encode(doc))
    if size > MAX_BSON_BYTES:
        raise StoreError(f"{what}: {size} bytes as BSON, over MongoDB's limit of {MAX_BSON_BYTES} (16 MiB)")


def plain_copy(value: Any) -> Any:
    """A copy of an already checked JSON-shaped value (a filter, an update,
    a document read back): dicts and lists copied, tuples as lists, the rest
    (immutable) shared. Much cheaper than ``copy.deepcopy``, which keeps a
    memo of every object it meets."""
    kind = type(value)
    if kind is dict:
        return {key: plain_copy(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [plain_copy(item) for item in value]
    return value


def checked_copy(value: Any, where: str) -> Any:
    """A copy of ``value`` to store, checked as it is copied: raise unless it
    is JSON-shaped (and so storable by every adapter), naming where in it the
    fault is (``where.key[2]: ...``). One pass instead of a check and a
    ``copy.deepcopy``: the unit of work copies every document it is given."""
    try:
        return _json_copy(value)
    except _NotJSON as bad:
        raise bad.error(f"{where}{''.join(reversed(bad.path))}: {bad.message}") from None


def check_value(value: Any, where: str) -> None:
    """Raise unless ``value`` is JSON-shaped (and so storable by every adapter)."""
    checked_copy(value, where)


def checked_document(doc: dict[str, Any], what: str = "document") -> dict[str, Any]:
    """The copy of a document to store, checked as it is copied."""
    if not isinstance(doc, dict):
        raise TypeError(f"a {what} must be a dict, not {type(doc).__name__}")
    if "_id" in doc and not isinstance(doc["_id"], str):
        raise TypeError(f"{what}: _id must be a string, not {type(doc['_id']).__name__}")
    return checked_copy(doc, what)


def check_document(doc: dict[str, Any], what: str = "document") -> None:
    checked_document(doc, what)


def check_log_entry(log: str, entry: dict[str, Any]) -> dict[str, Any]:
    """Validate an entry for ``UnitOfWork.append`` and return the copy to
    store: exactly what reading it back will give (tuples become lists), so
    the hash computed at commit is the one recomputed when verifying."""
    check_collection_name(log)  # logs are named like collections
    check_document(entry, "log entry")
    for key in entry:
        # Leading '_' is kept for the store (the Mongo adapter's _id).
        if key.startswith("_"):
            raise ValueError(f"log entry: top-level key {key!r} may not start with '_'")
    # Encoding now raises on what could not be hashed at commit (a lone
    # surrogate in a string, say) while the caller can still see why.
    canonical_json(entry)
    return json.loads(json.dumps(entry, ensure_ascii=False))  # keeps the caller's key order


def check_log_page(after_seq: int, limit: int) -> None:
    """The arguments of ``Store.read_log``."""
    for name, value, low in (("after_seq", after_seq, 0), ("limit", limit, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= _INT_MAX:
            raise ValueError(f"{name} must be an integer >= {low}")


def is_operator_dict(cond: Any) -> bool:
    return isinstance(cond, dict) and any(isinstance(k, str) and k.startswith("$") for k in cond)


def check_filter(filter: dict[str, Any] | None) -> dict[str, Any]:
    """Validate a filter against the portable subset; returns it (``{}`` for None)."""
    if filter is None:
        return {}
    if not isinstance(filter, dict):
        raise TypeError(f"a filter must be a dict, not {type(filter).__name__}")
    for field, cond in filter.items():
        if isinstance(field, str) and field.startswith("$"):
            raise ValueError(f"unsupported filter operator {field!r} (portable: field conditions ANDed)")
        split_path(field)
        if not is_operator_dict(cond):
            check_value(cond, f"filter {field!r}")
            continue
        for op, arg in cond.items():
            if op not in FILTER_OPERATORS:
                raise ValueError(
                    f"unsupported filter operator {op!r} on {field!r}; supported: {sorted(FILTER_OPERATORS)}"
                )
            if op in ("$in", "$nin"):
                if not isinstance(arg, (list, tuple)):
                    raise ValueError(f"{op} on {field!r} needs a list")
                check_value(list(arg), f"filter {field!r} {op}")
            elif op == "$exists":
                if not isinstance(arg, bool):
                    raise ValueError(f"$exists on {field!r} needs true or false")
            elif op == "$ne":
                check_value(arg, f"filter {field!r} $ne")
            elif not isinstance(arg, (bool, int, float, str)):
                # null too: MongoDB implementations disagree on whether
                # {$gte: null} matches missing fields; test for null with equality.
                raise ValueError(f"{op} on {field!r} compares scalars only, not {type(arg).__name__}")
            else:
                check_value(arg, f"filter {field!r} {op}")
    return filter


def check_update(update: dict[str, Any]) -> None:
    if not isinstance(update, dict) or not update:
        raise ValueError("an update must be a non-empty dict of operators")
    seen: list[tuple[str, list[str]]] = []
    for op, fields in update.items():
        if op not in UPDATE_OPERATORS:
            raise ValueError(f"unsupported update operator {op!r}; supported: {sorted(UPDATE_OPERATORS)}")
        if not isinstance(fields, dict) or not fields:
            raise ValueError(f"{op} needs a non-empty dict of field paths")
        for field, value in fields.items():
            segs = split_path(field)
            if segs[0] == "_id" and (op != "$setOnInsert" or len(segs) > 1):
                raise ValueError(f"{op} cannot change _id")
            if op == "$inc" and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise ValueError(f"$inc on {field!r} needs a number")
            if op == "$push" and is_operator_dict(value):
                raise ValueError(f"$push modifiers such as $each are not portable ({field!r})")
            if field == "_id" and not isinstance(value, str):
                raise TypeError("_id must be a string")
            check_value(value, f"{op} {field!r}")
            # MongoDB refuses two operators on one path or on a path and its
            # parent; refuse it everywhere so behaviour does not diverge.
            for other, other_segs in seen:
                n = min(len(segs), len(other_segs))
                if segs[:n] == other_segs[:n]:
                    raise ValueError(f"update paths {other!r} and {field!r} conflict")
            seen.append((field, segs))


def _touched_paths(filter: dict[str, Any], update: dict[str, Any]) -> set[str]:
    """Top-level fields an upsert takes from the filter or the update."""
    roots = {f.split(".", 1)[0] for f, c in filter.items() if not is_operator_dict(c)}
    for fields in update.values():
        roots.update(f.split(".", 1)[0] for f in fields)
    return roots


def upsert_defaults(filter: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Fields an upsert adds to the document it inserts, unless the filter or
    the update already provide them: a string ``_id`` (MongoDB would otherwise
    make an ObjectId) and ``version`` 1, as ``insert_one`` does."""
    touched = _touched_paths(filter, update)
    extra: dict[str, Any] = {}
    if "_id" not in touched:
        extra["_id"] = new_id()
    if "version" not in touched:
        extra["version"] = 1
    return extra


def sort_with_tiebreak(sort: list[tuple[str, int]] | None) -> list[tuple[str, int]] | None:
    """Validate ``sort`` and end it with ``_id`` (in the last key's direction)
    so that equal keys come back in the same order on every adapter and every
    call: skip/limit pages then neither repeat nor lose documents."""
    if not sort:
        return None
    keys = []
    for field, direction in sort:
        split_path(field)
        if direction not in (1, -1) or isinstance(direction, bool):
            raise ValueError(f"sort direction for {field!r} must be 1 or -1")
        keys.append((field, direction))
    if all(f != "_id" for f, _ in keys):
        keys.append(("_id", keys[-1][1]))
    return keys


def path_index(seg: str) -> int | None:
    return int(seg) if seg.isdigit() else None


def _set_path(doc: dict[str, Any], segs: list[str], value: Any) -> None:
    cur: Any = doc
    for seg in segs[:-1]:
        if isinstance(cur, dict):
            nxt = cur.get(seg)
            if nxt is None and seg not in cur:
                nxt = cur[seg] = {}
        elif isinstance(cur, list) and (i := path_index(seg)) is not None:
            if i >= len(cur):
                cur.extend([None] * (i + 1 - len(cur)))
            if cur[i] is None:
                cur[i] = {}
            nxt = cur[i]
        else:
            raise ValueError(f"cannot set {'.'.join(segs)!r}: {seg!r} is inside a {type(cur).__name__}")
        cur = nxt
    last = segs[-1]
    if isinstance(cur, dict):
        cur[last] = value
    elif isinstance(cur, list) and (i := path_index(last)) is not None:
        if i >= len(cur):
            cur.extend([None] * (i + 1 - len(cur)))
        cur[i] = value
    else:
        raise ValueError(f"cannot set {'.'.join(segs)!r} inside a {type(cur).__name__}")


def get_path(doc: Any, segs: list[str]) -> tuple[bool, Any]:
    cur = doc
    for seg in segs:
        if isinstance(cur, dict) and seg in cur:
            cur = cur[seg]
        elif isinstance(cur, list) and (i := path_index(seg)) is not None and i < len(cur):
            cur = cur[i]
        else:
            return False, None
    return True, cur


def _unset_path(doc: dict[str, Any], segs: list[str]) -> None:
    found, parent = get_path(doc, segs[:-1])
    if not found:
        return
    last = segs[-1]
    if isinstance(parent, dict):
        parent.pop(last, None)
    elif isinstance(parent, list) and (i := path_index(last)) is not None and i < len(parent):
        parent[i] = None  # MongoDB keeps array positions: the element becomes null


def apply_update(
    doc: dict[str, Any], update: dict[str, Any], *, inserting: bool, copy_doc: bool = True
) -> dict[str, Any]:
    """Return a copy of ``doc`` with the (already checked) update applied;
    or ``doc`` itself, changed, when the caller owns it (``copy_doc=False``:
    a document just read from the store)."""
    new = plain_copy(doc) if copy_doc else doc
    for op, fields in update.items():
        if op == "$setOnInsert" and not inserting:
            continue
        for field, value in fields.items():
            segs = field.split(".")
            if op in ("$set", "$setOnInsert"):
                _set_path(new, segs, plain_copy(value))
            elif op == "$unset":
                _unset_path(new, segs)
            elif op == "$inc":
                found, current = get_path(new, segs)
                if not found:
                    _set_path(new, segs, value)
                elif isinstance(current, bool) or not isinstance(current, (int, float)):
                    raise ValueError(f"$inc: {field!r} holds a {type(current).__name__}, not a number")
                else:
                    _set_path(new, segs, current + value)
            elif op == "$push":
                found, current = get_path(new, segs)
                if not found:
                    _set_path(new, segs, [plain_copy(value)])
                elif isinstance(current, list):
                    current.append(plain_copy(value))
                else:
                    raise ValueError(f"$push: {field!r} holds a {type(current).__name__}, not an array")
    return new


def seed_from_filter(filter: dict[str, Any]) -> dict[str, Any]:
    """The document an upsert starts from: the filter's equality conditions
    (as MongoDB does; conditions with operators are not copied)."""
    doc: dict[str, Any] = {}
    for field, cond in filter.items():
        if not is_operator_dict(cond):
            _set_path(doc, field.split("."), plain_copy(cond))
    return doc


# ---------------------------------------------------------------------------
# Unit of work buffering (shared with the Mongo adapter)
# ---------------------------------------------------------------------------


class BufferedUnitOfWork(UnitOfWork):
    """Validates and records the writes; the adapter applies them at commit.

    ``ops`` holds tuples, in call order:
    ``("insert", collection, doc)``, ``("replace", collection, doc, expected)``,
    ``("update", collection, filter, update, upsert)``, ``("remove", collection, doc_id, expected)``,
    ``("forget_mentioning", mention)``, ``("publish", message_id, routing_key, body, headers)``,
    ``("mark", event_id, consumer)``, ``("append", log, entry)``,
    ``("delete", collection, filter)``, ``("redact", log, seqs, erasure_id, note)``,
    ``("forget_sent", filter)``.
    Documents are deep-copied so the caller may keep mutating its own.
    """

    def __init__(self) -> None:
        self.ops: list[tuple[Any, ...]] = []
        self.closed = False

    def _add(self, op: tuple[Any, ...]) -> None:
        if self.closed:
            raise RuntimeError("this unit of work has already been committed or abandoned")
        self.ops.append(op)

    def insert(self, collection: str, doc: dict[str, Any]) -> str:
        check_collection_name(collection)
        new = checked_document(doc)
        new.setdefault("_id", new_id())
        new["version"] = 1
        self._add(("insert", collection, new))
        return new["_id"]

    def replace(self, collection: str, doc: dict[str, Any], *, expected_version: int) -> int:
        check_collection_name(collection)
        new = checked_document(doc)
        if "_id" not in doc:
            raise ValueError("replace needs the document's _id")
        if isinstance(expected_version, bool) or not isinstance(expected_version, int):
            raise TypeError("expected_version must be an int")
        new["version"] = expected_version + 1
        self._add(("replace", collection, new, expected_version))
        return expected_version + 1

    def update(self, collection: str, filter: dict[str, Any], update: dict[str, Any], *, upsert: bool = False) -> None:
        check_collection_name(collection)
        check_filter(filter)
        check_update(update)
        self._add(("update", collection, plain_copy(filter), plain_copy(update), bool(upsert)))

    def remove(self, collection: str, doc_id: str, *, expected_version: int) -> None:
        check_collection_name(collection)
        if not isinstance(doc_id, str) or not doc_id:
            raise ValueError("remove needs the document's _id")
        if isinstance(expected_version, bool) or not isinstance(expected_version, int):
            raise TypeError("expected_version must be an int")
        self._add(("remove", collection, doc_id, expected_version))

    def forget_sent_mentioning(self, mention: str) -> None:
        if not isinstance(mention, str) or len(mention.strip()) < 8:
            raise ValueError("mention must be an id of at least 8 characters (a shorter text would match too much)")
        self._add(("forget_mentioning", mention))

    def publish(
        self, routing_key: str, body: dict[str, Any], *, message_id: str, headers: dict[str, Any] | None = None
    ) -> None:
        if not isinstance(routing_key, str) or not routing_key:
            raise ValueError("routing_key must be a non-empty string")
        if not isinstance(message_id, str) or not message_id:
            raise ValueError("message_id must be a non-empty string")
        body = checked_document(body, "message body")
        headers = checked_document(headers or {}, "message headers")
        self._add(("publish", message_id, routing_key, body, headers))

    def mark_processed(self, event_id: str, consumer: str) -> None:
        if not isinstance(event_id, str) or not event_id or not isinstance(consumer, str) or not consumer:
            raise ValueError("event_id and consumer must be non-empty strings")
        self._add(("mark", event_id, consumer))

    def append(self, log: str, entry: dict[str, Any]) -> None:
        self._add(("append", log, check_log_entry(log, entry)))

    def delete(self, collection: str, filter: dict[str, Any]) -> None:
        check_collection_name(collection)
        check_filter(filter)
        self._add(("delete", collection, plain_copy(filter)))

    def forget_sent(self, filter: dict[str, Any]) -> None:
        check_filter(filter)
        self._add(("forget_sent", plain_copy(filter)))

    def redact(self, log: str, seqs: list[int], *, erasure_id: str, note: dict[str, Any] | None = None) -> None:
        check_collection_name(log)
        if not isinstance(erasure_id, str) or not erasure_id:
            raise ValueError("erasure_id must be a non-empty string")
        if isinstance(seqs, (str, bytes)) or not all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in seqs
        ):
            raise ValueError("seqs must be integers >= 1")
        note = check_log_entry(log, note or {})
        if REDACTION in note:
            raise ValueError(f"a redaction's note may not have a {REDACTION!r} key")
        self._add(("redact", log, sorted(set(seqs)), erasure_id, note))

    def ordered_ops(self) -> list[tuple[Any, ...]]:
        """The ops in commit order: processed marks first, so that a
        redelivered event reports AlreadyProcessed (skip it) rather than a
        VersionConflict caused by its own first delivery (retry it)."""
        return [op for op in self.ops if op[0] == "mark"] + [op for op in self.ops if op[0] != "mark"]
