"""The returns' event handler: every event about a child that the returns read is kept, as it came, in the
service's history log. The children's histories are folded from that log (``projection``), never from the
event in hand, so that a rebuild reads exactly what the live model read."""

from __future__ import annotations

from typing import Any

from cpp_shared import audit_checkpoints, erasure, revocations
from cpp_shared.messaging.consumer import HandlerContext, Handlers

from .domain.history import KEPT, child_of
from .erasure import erase_child
from .store import HISTORY


def _by_child(event: dict[str, Any]) -> str:
    return child_of(event) or event.get("subject") or event["id"]


handlers = Handlers(ordering_key=_by_child)
handlers.on(audit_checkpoints.EVENT_TYPE)(audit_checkpoints.keep_checkpoint)
handlers.on(revocations.EVENT_TYPE)(revocations.keep_revocation)  # a revoked token is refused here too


@handlers.on(*KEPT)
def keep(event: dict[str, Any], ctx: HandlerContext) -> None:
    """Keep the event, unless it is the erasure itself, or about a child erased here (it arrived late)."""
    if event["type"] == erasure.EVENT_TYPE or erasure.is_erased(ctx.store, child_of(event)):
        return
    if child_of(event):
        ctx.uow.append(HISTORY, {"event": event})


handlers.on(erasure.EVENT_TYPE)(erase_child)  # the child's retention ended: their history here goes too
