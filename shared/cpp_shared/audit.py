"""Every service's audit log: who read or changed what about a child, when,
and under which request.

Entries go to the store's append-only, hash-chained log ``audit`` (see
``store/chain.py``; its head is checkpointed outside the database by
``audit_checkpoints``). A write's entry is appended in the unit of work of
the write; a read's entry is committed before the answer is sent, so there
is no answer about a child without its entry.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import g, has_request_context

from .auth import Principal, current_principal
from .store import Store, UnitOfWork

LOG = "audit"


def entry(
    action: str,
    record_type: str,
    record_id: str,
    *,
    child_id: str | None = None,
    detail: dict[str, Any] | None = None,
    principal: Principal | None = None,
) -> dict[str, Any]:
    """An audit entry for the request's principal (or ``principal``: a
    calendar feed's owner, when the feed's key is the credential)."""
    principal = principal or current_principal()
    in_request = has_request_context()
    return {
        "at": datetime.now(UTC).isoformat(),
        "actor": principal.user,
        "role": principal.role,
        **({"roles": list(principal.roles)} if len(principal.roles) > 1 else {}),
        "authority": principal.authority,
        "action": action,
        "record_type": record_type,
        "record_id": record_id,
        "child_id": child_id,
        "request_id": g.get("request_id") if in_request else None,
        "client_request_id": g.get("client_request_id") if in_request else None,
        "detail": detail or {},
    }


def record_write(uow: UnitOfWork, action: str, record_type: str, record_id: str, **kw: Any) -> None:
    """Append the entry of a write to the write's own unit of work."""
    uow.append(LOG, entry(action, record_type, record_id, **kw))


def record_read(store: Store, record_type: str, record_id: str, *, action: str = "read", **kw: Any) -> None:
    """Commit the entry of a read (``action`` "read" or "list"); returns once
    it is durable, so call it before answering."""
    with store.unit_of_work() as uow:
        uow.append(LOG, entry(action, record_type, record_id, **kw))
