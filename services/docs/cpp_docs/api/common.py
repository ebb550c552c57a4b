"""What the docs service's resources share: the service's context, who may
read, and the audit of a read."""

from __future__ import annotations

from typing import Any

from flask import current_app

from cpp_shared import audit as shared_audit
from cpp_shared.web import ServiceContext

READERS = ("social_worker", "team_manager", "chair", "auditor", "admin")


def ctx() -> ServiceContext:
    return current_app.extensions["cpp"]


def audit(
    action: str, record_type: str, record_id: str, *, child_id: str | None = None, detail: dict[str, Any] | None = None
) -> None:
    """Commit the entry of a read; returns once it is durable."""
    shared_audit.record_read(ctx().store, record_type, record_id, action=action, child_id=child_id, detail=detail)
