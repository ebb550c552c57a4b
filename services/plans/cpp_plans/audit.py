"""The audit log: every read and write of a child's record, append-only and
hash-chained (the store's log, so a tampered, removed or reordered entry
breaks the chain where it happened).

A write's entry is appended in the same unit of work as the write itself, so
there is never a write without its entry nor an entry for a write that was
undone; a read's entry is committed before the record is returned (in a
commit it may share with other requests' units: see group_commit.py).
"""
from __future__ import annotations

from typing import Any

from cpp_shared import audit as shared_audit
from cpp_shared.store import Store

from . import group_commit

LOG = shared_audit.LOG
entry = shared_audit.entry
record_write = shared_audit.record_write


def record_read(store: Store, record_type: str, record_id: str, *, action: str = "read", **kw: Any) -> None:
    """Commit the entry of a read; returns once it is durable (in a commit
    shared with other requests' units: see group_commit.py)."""
    with group_commit.unit_of_work(store) as uow:
        uow.append(LOG, entry(action, record_type, record_id, **kw))
