"""The plans service's event handlers: the audit checkpoints it keeps
(deadline.* handlers arrive with the scheduler's events)."""

from __future__ import annotations

from cpp_shared import audit_checkpoints
from cpp_shared.messaging.consumer import Handlers

handlers = Handlers()
handlers.on(audit_checkpoints.EVENT_TYPE)(audit_checkpoints.keep_checkpoint)
