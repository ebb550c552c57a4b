"""The chain's verify rules for redacted records (``cpp_shared.store.chain``), on records built in memory."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from cpp_shared.store.chain import (
    GENESIS,
    ChainReport,
    entry_hash,
    finish,
    redaction_entry,
    redaction_marker,
    verify_chain,
)
from cpp_shared.store.port import LogRecord


def chain(entries: list[dict[str, Any]]) -> list[LogRecord]:
    records, prev = [], GENESIS
    for seq, entry in enumerate(entries, start=1):
        digest = entry_hash(seq, prev, entry)
        records.append(LogRecord(seq=seq, prev_hash=prev, hash=digest, entry=entry, committed_at=0.0))
        prev = digest
    return records


def redact(records: list[LogRecord], seqs: list[int], erasure_id: str) -> list[LogRecord]:
    """What ``UnitOfWork.redact`` leaves: the markers, then the entry naming them appended."""
    out = [replace(r, entry=redaction_marker(erasure_id)) if r.seq in seqs else r for r in records]
    named = [(s, records[s - 1].hash) for s in sorted(seqs)]
    entry = redaction_entry(erasure_id, named, {"rule": "until_25"})
    return out + [_next(out, entry)]


def _next(records: list[LogRecord], entry: dict[str, Any]) -> LogRecord:
    seq, prev = len(records) + 1, records[-1].hash if records else GENESIS
    return LogRecord(seq=seq, prev_hash=prev, hash=entry_hash(seq, prev, entry), entry=entry, committed_at=0.0)


def paged(records: list[LogRecord], size: int) -> ChainReport:
    """As ``Store.verify_log`` checks: page by page, carrying what is unconfirmed."""
    last_seq, last_hash, checked, unconfirmed = 0, GENESIS, 0, ()
    for start in range(0, len(records) + 1, size):
        page = records[start : start + size]
        report = verify_chain(page, after_seq=last_seq, prev_hash=last_hash, unconfirmed=unconfirmed, final=False)
        checked += report.checked
        if not report.ok or len(page) < size:
            return finish(replace(report, checked=checked))
        last_seq, last_hash, unconfirmed = report.last_seq, report.last_hash, report.unconfirmed
    raise AssertionError("unreachable")


ENTRIES = [{"event": {"child_id": f"c{n % 3}", "name": f"Child {n}"}} for n in range(1, 9)]


def test_a_chain_without_redactions_verifies_as_before() -> None:
    records = chain(ENTRIES)
    report = verify_chain(records)
    assert report == ChainReport(ok=True, checked=8, last_seq=8, last_hash=records[-1].hash)
    assert report.unconfirmed == ()


def test_an_ordinary_entry_that_looks_like_a_marker_is_just_an_entry() -> None:
    records = chain([*ENTRIES[:2], {"redacted": "not really"}])
    assert verify_chain(records).ok


def test_redacted_records_verify_with_their_entry_and_keep_the_links() -> None:
    records = redact(chain(ENTRIES), [2, 5, 6], "er-1")
    assert [r.entry for r in records if r.seq in (2, 5, 6)] == [{"redacted": "er-1"}] * 3
    report = verify_chain(records)
    assert report == ChainReport(ok=True, checked=9, last_seq=9, last_hash=records[-1].hash)
    for size in range(1, 11):
        assert paged(records, size) == report


def test_a_marker_without_its_entry_fails_at_the_marker() -> None:
    records = chain(ENTRIES)
    forged = [replace(r, entry=redaction_marker("er-1")) if r.seq == 4 else r for r in records]
    report = verify_chain(forged)
    assert (report.ok, report.first_bad_seq, report.checked, report.last_seq) == (False, 4, 3, 3)
    assert report.last_hash == records[2].hash
    assert "redacted (erasure er-1) without a later redaction entry" in (report.reason or "")
    assert paged(forged, 3) == report
    # the page that ends before any entry could confirm it reports it as pending, not as bad
    partial = verify_chain(forged[:5], final=False)
    assert partial.ok and [u[0] for u in partial.unconfirmed] == [4]


def test_the_entry_must_come_later_name_the_seq_its_hash_and_the_same_erasure() -> None:
    records = chain(ENTRIES)
    marked = [replace(r, entry=redaction_marker("er-1")) if r.seq == 4 else r for r in records]
    wrong = {
        "another seq": redaction_entry("er-1", [(3, records[3].hash)]),
        "another hash": redaction_entry("er-1", [(4, records[2].hash)]),
        "another erasure": redaction_entry("er-2", [(4, records[3].hash)]),
        "not a redaction": {"redactions": {"erasure_id": "er-1", "records": [{"seq": 4, "hash": records[3].hash}]}},
    }
    for why, entry in wrong.items():
        report = verify_chain([*marked, _next(marked, entry)])
        assert (report.ok, report.first_bad_seq) == (False, 4), why
    # an entry before the record cannot confirm it, even naming the hash the marker carries
    head = chain([*ENTRIES[:2], redaction_entry("er-1", [(4, "ab" * 32)])])
    marker = LogRecord(seq=4, prev_hash=head[-1].hash, hash="ab" * 32, entry=redaction_marker("er-1"), committed_at=0)
    tail = [marker]
    for entry in ENTRIES[4:]:
        tail.append(_next([*head, *tail], entry))
    report = verify_chain([*head, *tail])
    assert (report.ok, report.first_bad_seq) == (False, 4)


def test_a_redacted_record_whose_link_was_changed_still_breaks() -> None:
    records = redact(chain(ENTRIES), [3], "er-1")
    cut = [replace(r, prev_hash="0" * 63 + "1") if r.seq == 3 else r for r in records]
    report = verify_chain(cut)
    assert (report.ok, report.first_bad_seq) == (False, 3) and "prev_hash" in (report.reason or "")


def test_a_hard_failure_after_a_marker_is_the_failure_reported() -> None:
    records = redact(chain(ENTRIES), [2], "er-1")
    broken = [replace(r, entry={"edited": True}) if r.seq == 6 else r for r in records]
    report = verify_chain(broken)
    assert (report.ok, report.first_bad_seq) == (False, 6) and "hash does not match" in (report.reason or "")


@given(
    n=st.integers(min_value=1, max_value=12),
    picks=st.sets(st.integers(min_value=1, max_value=12), max_size=6),
    size=st.integers(min_value=1, max_value=14),
    forge=st.one_of(st.none(), st.integers(min_value=1, max_value=12)),
)
def test_redactions_verify_and_forgeries_do_not(n: int, picks: set[int], size: int, forge: int | None) -> None:
    entries = [{"n": k} for k in range(1, n + 1)]
    seqs = sorted(s for s in picks if s <= n)
    records = redact(chain(entries), seqs, "er-1") if seqs else chain(entries)
    assert verify_chain(records).ok and paged(records, size) == verify_chain(records)
    if forge is None or forge > n or forge in seqs:
        return
    forged = [replace(r, entry=redaction_marker("er-1")) if r.seq == forge else r for r in records]
    report = paged(forged, size)
    assert not report.ok and report.first_bad_seq == forge and report.checked == forge - 1
