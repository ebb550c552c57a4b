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

Redaction (erasing personal data from a log without breaking its chain)
-----------------------------------------------------------------------
A record's ``entry`` may be replaced by the marker ``{"redacted": <erasure
id>}`` (``UnitOfWork.redact``), its ``seq``, ``prev_hash`` and ``hash``
kept as they were: the record after it still links to it, and the chain's
heads (checkpoints, backups' manifests) stay valid. The marker no longer
hashes to ``hash``, so a redacted record is accepted only when a LATER
record of the same log is the redaction's own entry::

    {"redaction": {"erasure_id": <erasure id>,
                   "records": [{"seq": <seq>, "hash": <the record's hash>}, ...]},
     ...whatever else the caller notes (never the erased data)}

naming that seq, with the hash the record still carries and the same erasure
id as its marker. ``UnitOfWork.redact`` appends that entry in the same commit
as it redacts, so a log whose writer only uses the store always verifies.
An edit made behind the store's back cannot pass for a redaction: the
confirming entry must itself be in the chain, hashed and linked, which means
appending at the tail, which the heads kept elsewhere show (as for any
rewrite of the tail). What a redaction does not hide: that a record existed
at that seq, its hash, when it was committed and which erasure removed it.
A chain without redactions verifies exactly as before (this format is
backward compatible: a redaction marker whose hash does match is an ordinary
entry).
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
    #: Redacted records met whose redaction entry has not been met yet, as
    #: (seq, prev_hash, hash, erasure id): only ever non-empty in a report of
    #: ``verify_chain(..., final=False)``, to pass on to the next page.
    unconfirmed: tuple[tuple[int, str, str, str], ...] = ()


#: The key of a redacted record's marker entry, and of the entry confirming it.
REDACTED = "redacted"
REDACTION = "redaction"


def redaction_marker(erasure_id: str) -> dict[str, Any]:
    """What a redacted record's entry becomes."""
    return {REDACTED: erasure_id}


def is_redaction_marker(entry: Any) -> bool:
    return (
        isinstance(entry, dict) and len(entry) == 1 and isinstance(entry.get(REDACTED), str) and bool(entry[REDACTED])
    )


def redaction_entry(
    erasure_id: str, records: list[tuple[int, str]], note: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The entry appended with a redaction, naming each record redacted by its seq and hash."""
    body = {REDACTION: {"erasure_id": erasure_id, "records": [{"seq": s, "hash": h} for s, h in records]}}
    return {**(note or {}), **body}


def _confirmed(entry: dict[str, Any]) -> tuple[str, set[tuple[int, str]]] | None:
    """The erasure id and (seq, hash) pairs a redaction entry names; None when ``entry`` is not one."""
    body = entry.get(REDACTION)
    if not isinstance(body, dict) or not isinstance(body.get("erasure_id"), str):
        return None
    named = set()
    for item in body.get("records") or []:
        if isinstance(item, dict) and _is_int(item.get("seq")) and isinstance(item.get("hash"), str):
            named.add((item["seq"], item["hash"]))
    return body["erasure_id"], named


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _problem(record: LogRecord, seq: int, prev_hash: str) -> str | None:
    """Why ``record`` cannot be record ``seq`` following ``prev_hash``, or None
    (or ``REDACTED``: a redaction marker, good if a later entry confirms it)."""
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
        if is_redaction_marker(record.entry) and isinstance(record.hash, str):
            return REDACTED
        return "hash does not match the record's content"
    return None


def verify_chain(
    records: Iterable[LogRecord],
    *,
    after_seq: int = 0,
    prev_hash: str = GENESIS,
    unconfirmed: Iterable[tuple[int, str, str, str]] = (),
    final: bool = True,
) -> ChainReport:
    """Check records given oldest first: each hash recomputed, each prev_hash
    linked to the record before, seqs running on without gaps, each redacted
    record confirmed by a later redaction entry (see the module's docstring).

    By default the records must start the log (seq 1 after ``GENESIS``); to
    check a log page by page in constant memory, pass the previous page's
    ``last_seq``, ``last_hash`` and ``unconfirmed`` as ``after_seq``,
    ``prev_hash`` and ``unconfirmed``, and ``final=False`` for every page but
    the last (a redaction's entry may be on a later page than the record).
    Stops at the first bad record; a redacted record never confirmed is bad
    too, reported once every record was read (when no other record is bad).
    Records are only read, so any objects with the ``LogRecord`` attributes
    will do."""
    if not _is_int(after_seq) or after_seq < 0:
        raise ValueError("after_seq must be an integer >= 0")
    if not isinstance(prev_hash, str):
        raise TypeError("prev_hash must be a string")
    start = after_seq
    pending = {item[0]: item for item in unconfirmed}
    last_seq, last_hash, checked = after_seq, prev_hash, 0
    for record in records:
        problem = _problem(record, last_seq + 1, last_hash)
        if problem == REDACTED:
            pending[record.seq] = (record.seq, record.prev_hash, record.hash, record.entry[REDACTED])
        elif problem is not None:
            return ChainReport(False, checked, last_seq + 1, f"seq {last_seq + 1}: {problem}", last_seq, last_hash)
        elif pending and (named := _confirmed(record.entry)) is not None:
            erasure_id, pairs = named
            for seq, _, digest, marker in list(pending.values()):
                if marker == erasure_id and (seq, digest) in pairs:
                    del pending[seq]
        last_seq, last_hash, checked = last_seq + 1, record.hash, checked + 1
    report = ChainReport(True, checked, None, None, last_seq, last_hash, tuple(sorted(pending.values())))
    return finish(report, start) if final else report


def finish(report: ChainReport, after_seq: int = 0) -> ChainReport:
    """The report of a whole check once every record is read: a redacted
    record still unconfirmed makes it fail there. ``after_seq``: where the
    check whose ``checked`` the report counts began."""
    if not report.ok or not report.unconfirmed:
        return report
    seq, prev_hash, _, erasure_id = report.unconfirmed[0]
    reason = f"seq {seq}: redacted (erasure {erasure_id}) without a later redaction entry naming it and its hash"
    return ChainReport(False, max(0, seq - 1 - after_seq), seq, reason, seq - 1, prev_hash)
