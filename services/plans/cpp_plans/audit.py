"""The audit log: every read and write of a child's record, append-only and
hash-chained (the store's log, so a tampered, removed or reordered entry
breaks the chain where it happened).

A write's entry is appended in the same unit of work as the write itself, so
there is never a write without its entry nor an entry for a write that was
undone; a read's entry is committed before the record is returned (in a
commit it may share with other requests' units: see group_commit.py).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flask import g

from cpp_shared.auth import current_principal
from cpp_shared.store import Store, UnitOfWork

from . import group_commit

LOG = "audit"


def entry(action: str, record_type: str, record_id: str, *, child_id: str | None = None,
          detail: dict[str, Any] | None = None) -> dict[str, Any]:
    principal = current_principal()
    return {
        "at": datetime.now(timezone.utc).isoformat(),
        "actor": principal.user,
        "role": principal.role,
        "authority": principal.authority,
        "action": action,
        "record_type": record_type,
        "record_id": record_id,
        "child_id": child_id,
        "request_id": g.get("request_id"),
        "client_request_id": g.get("client_request_id"),
        "detail": detail or {},
    }


def record_write(uow: UnitOfWork, action: str, record_type: str, record_id: str, **kw: Any) -> None:
    uow.append(LOG, entry(action, record_type, record_id, **kw))


def record_read(store: Store, record_type: str, record_id: str, **kw: Any) -> None:
    """Commit the entry of a read; returns once it is durable."""
    with group_commit.unit_of_work(store) as uow:
        uow.append(LOG, entry("read", record_type, record_id, **kw))
