"""The hash chain of the store's append-only logs (``UnitOfWork.append``).

Every record of a log carries ``seq`` (1, 2, 3, ... in commit order),
``prev_hash`` (the previous record's ``hash``, ``GENESIS`` for the first) and
``hash`` = sha256 of the canonical JSON of ``{"seq", "prev_hash", "entry"}``.
Changing, removing, inserting or reordering a record therefore breaks either
its own hash or the link from the record after it, and ``verify_chain`` finds
the first such record.

What the chain does not show on its own: a rewrite of the whole chain from
some record to the end (every hash recomputed), and a cut of the newest
records. Both need the head (``ChainReport.last_seq`` and ``last_hash``)
kept somewhere the writer of the database cannot change, and compared later.
``committed_at`` is not hashed either (the hash covers exactly seq, prev_hash
and entry): put a time in the entry itself when it must be tamper-evident.

The adapters compute hashes here, and ``Store.verify_log`` checks them here,
so that a chain written by one adapter verifies with the same code on any.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .port import LogRecord

#: ``prev_hash`` of a log's first record.
GENESIS = "0" * 64


def canonical_json(obj: Any) -> bytes:
    """The bytes that are hashed: sorted keys, no spaces, UTF-8 (not \\u escapes),
    so the same entry hashes the same whatever the key order it was stored in."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def entry_hash(seq: int, prev_hash: str, entry: dict[str, Any]) -> str:
    """The ``hash`` of the record ``seq`` holding ``entry`` after ``prev_hash``."""
    return hashlib.sha256(canonical_json({"seq": seq, "prev_hash": prev_hash, "entry": entry})).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    """The outcome of checking (part of) a log.

    ``checked`` counts the records found good, before the first bad one if
    any. ``first_bad_seq`` is the seq the first bad record should have had,
    which is the missing seq when a record was removed. ``last_seq`` and
    ``last_hash`` are those of the last good record (0 and ``GENESIS`` when
    there is none): the state to continue checking from, and the head to keep
    elsewhere to detect a rewritten or cut tail later.
    """

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str | None = None
    last_seq: int = 0
    last_hash: str = GENESIS


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _problem(record: LogRecord, seq: int, prev_hash: str) -> str | None:
    """Why ``record`` cannot be record ``seq`` following ``prev_hash``, or None."""
    if not _is_int(record.seq):
        return f"seq {record.seq!r} is not an integer"
    if record.seq != seq:
        # A removed record shows as the next one arriving early; a moved or
        # renumbered one as a seq out of order.
        return f"expected seq {seq}, found seq {record.seq} (a record is missing or out of order)"
    if not isinstance(record.entry, dict):
        return f"entry is a {type(record.entry).__name__}, not an object"
    # The link is checked before the record's own hash so that a record whose
    # hash was recomputed after a change is reported, at the next record, as
    # the broken link it is.
    if record.prev_hash != prev_hash:
        before = "the genesis value" if seq == 1 else f"the hash of seq {seq - 1}"
        return f"prev_hash does not match {before}"
    try:
        expected = entry_hash(seq, prev_hash, record.entry)
    except (TypeError, ValueError) as exc:
        return f"entry cannot be hashed ({exc})"
    if record.hash != expected:
        return "hash does not match the record's content"
    return None


def verify_chain(records: Iterable[LogRecord], *, after_seq: int = 0, prev_hash: str = GENESIS) -> ChainReport:
    """Check records given oldest first: each hash recomputed, each prev_hash
    linked to the record before, seqs running on without gaps.

    By default the records must start the log (seq 1 after ``GENESIS``); to
    check a log page by page in constant memory, pass the previous page's
    ``last_seq`` and ``last_hash`` as ``after_seq`` and ``prev_hash``.
    Stops at the first bad record. Records are only read, so any objects with
    the ``LogRecord`` attributes will do."""
    if not _is_int(after_seq) or after_seq < 0:
        raise ValueError("after_seq must be an integer >= 0")
    if not isinstance(prev_hash, str):
        raise TypeError("prev_hash must be a string")
    last_seq, last_hash, checked = after_seq, prev_hash, 0
    for record in records:
        problem = _problem(record, last_seq + 1, last_hash)
        if problem is not None:
            return ChainReport(False, checked, last_seq + 1, f"seq {last_seq + 1}: {problem}", last_seq, last_hash)
        last_seq, last_hash, checked = last_seq + 1, record.hash, checked + 1
    return ChainReport(True, checked, None, None, last_seq, last_hash)
