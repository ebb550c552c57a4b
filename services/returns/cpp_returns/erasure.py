"""The returns' copy of a child, erased on ``child.erased.v1`` (see ``cpp_shared.erasure``).

The returns keep every event about a child, whole (names, dates of birth,
census fields), in the hash-chained ``returns_history`` log, and the child's
history folded from it in ``return_children`` (one document per
generation). On the erasure, in one unit of work:

* each record of the log about the child (by the event's ``child_id``, as
  the returns file them) is redacted (``UnitOfWork.redact``): its entry
  becomes a marker, its place and hash stay, and an entry naming each
  record redacted is appended, so the log still verifies and a rebuild
  (which skips both) gives every other child's return unchanged;
* the child's history is deleted from every generation, the one read and
  the one being built;
* the projection's record is written again (its version moves on), so a
  fold begun before the erasure, holding the child's records as they were,
  fails its commit and folds again from the redacted log.

Events about the child that arrive after it (a deadline's, published by the
scheduler before it heard of the erasure) are not kept (``handlers.keep``).
"""

from __future__ import annotations

from typing import Any

from cpp_shared.erasure import Erasure
from cpp_shared.messaging.consumer import HandlerContext

from .domain.history import child_of
from .projection import projection
from .store import CHILDREN, HISTORY, PROJECTION

PAGE = 1000


def records_about(ctx: HandlerContext, child_id: str) -> list[int]:
    """The seqs of the log's records about the child (read a page at a time)."""
    seqs, after = [], 0
    while True:
        page = ctx.store.read_log(HISTORY, after_seq=after, limit=PAGE)
        for record in page:
            event = record.entry.get("event")
            if isinstance(event, dict) and child_of(event) == child_id:
                seqs.append(record.seq)
        if len(page) < PAGE:
            return seqs
        after = page[-1].seq


def erase_child(event: dict[str, Any], ctx: HandlerContext) -> None:
    erasure = Erasure(ctx, event)
    if erasure.done_before:
        return
    erasure.redact(HISTORY, records_about(ctx, erasure.child_id))
    erasure.delete(CHILDREN, {"child_id": erasure.child_id})
    state = projection(ctx.store)
    ctx.uow.replace(PROJECTION, state, expected_version=state["version"])
    erasure.finish()
