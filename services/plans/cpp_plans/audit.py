"""The audit log: every read and write of a child's record, append-only and
hash-chained (the store's log, so a tampered, removed or reordered entry
breaks the chain where it happened).

A write's entry is appended in the same unit of work as the write itself, so
there is never a write without its entry nor an entry for a write that was
undone; a read's entry is committed before the record is returned (in a
commit it may share with other requests' units: see cpp_shared.store.group_commit).

An entry about a restricted child whose record the request reached under a
break-glass grant carries ``{"break_glass": <grant id>}`` in its detail
(see access.py), so that every read under a grant can be told apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cpp_shared import audit as shared_audit
from cpp_shared.store import Store, UnitOfWork, group_commit

from . import access

LOG = shared_audit.LOG


def entry(
    action: str,
    record_type: str,
    record_id: str,
    *,
    child_id: str | None = None,
    detail: dict[str, Any] | None = None,
    **kw: Any,
) -> dict[str, Any]:
    """An audit entry for the request's principal; one about a child reached
    under a break-glass grant names the grant."""
    grant = access.grant_in_use(child_id)
    if grant is not None and "break_glass" not in (detail or {}):
        detail = {**(detail or {}), "break_glass": grant}
    return shared_audit.entry(action, record_type, record_id, child_id=child_id, detail=detail, **kw)


def record_write(uow: UnitOfWork, action: str, record_type: str, record_id: str, **kw: Any) -> None:
    """Append the entry of a write to the write's own unit of work."""
    uow.append(LOG, entry(action, record_type, record_id, **kw))


def record_reads(store: Store, records: Iterable[tuple[str, str, str | None]]) -> None:
    """Commit a read entry for each ``(record_type, record_id, child_id)``
    (a listing's records) in one unit; returns once they are durable (in a
    commit shared with other requests' units, as ``record_read``)."""
    records = list(records)
    if not records:
        return
    with group_commit.unit_of_work(store) as uow:
        for record_type, record_id, child_id in records:
            uow.append(LOG, entry("read", record_type, record_id, child_id=child_id))


def record_read(store: Store, record_type: str, record_id: str, *, action: str = "read", **kw: Any) -> None:
    """Commit the entry of a read; returns once it is durable (in a commit
    shared with other requests' units: see cpp_shared.store.group_commit)."""
    with group_commit.unit_of_work(store) as uow:
        uow.append(LOG, entry(action, record_type, record_id, **kw))


SCAN_PAGE = 1000


class EntriesAbout:
    """The records of the audit log about some children, oldest first, from
    one scan of the whole log (it has no index by child), caught up with what
    was appended since at each ``of``: a retention run erasing many children
    reads the log once, yet redacts a lookup made mid-run."""

    def __init__(self, store: Store, child_ids: Iterable[str]):
        self.store, self.wanted = store, set(child_ids)
        self.found: dict[str, list[Any]] = {child_id: [] for child_id in self.wanted}
        self.after = 0

    def of(self, child_id: str) -> list[Any]:
        if child_id not in self.wanted:
            raise KeyError(f"{child_id}: not among the children this scan looks for")
        while True:
            page = self.store.read_log(LOG, after_seq=self.after, limit=SCAN_PAGE)
            for record in page:
                about = record.entry.get("child_id")
                if about in self.wanted:
                    self.found[about].append(record)
            if page:
                self.after = page[-1].seq
            if len(page) < SCAN_PAGE:
                return list(self.found[child_id])


def entries_about(store: Store, child_id: str) -> list[Any]:
    """Every record of the audit log about the child, oldest first: a scan of
    the whole log."""
    return EntriesAbout(store, [child_id]).of(child_id)
