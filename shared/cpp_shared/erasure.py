"""A consuming service's side of a child's erasure (``child.erased.v1``).

The plans service erases a child's records when their retention ends and
publishes ``child.erased.v1`` (child id, erasure id, rule, due on, erased
at; no personal data). Every other service then erases or anonymises its own
copy: each service's handler says what it holds about the child, and this
module does the rest the same way everywhere, in the event's one unit of work:

* ``Erasure.delete(collection, filter)`` removes the documents the filter
  matches and counts them (the documents are read first, so the count is
  exactly what is removed);
* ``Erasure.redact(log, seqs)`` redacts a hash-chained log's records about
  the child (``UnitOfWork.redact``: the chain stays verifiable);
* ``Erasure.finish()`` forgets the events about the child that the service
  published and has sent (``UnitOfWork.forget_sent``: the outbox keeps sent
  events, whole), appends the audit entry (action ``erase``, record type
  ``child``, the child's id; detail: the erasure id, the rule, the day it was
  due and the counts per collection, never the erased data) and keeps a
  small record of the erasure in ``erasures`` (``_id`` the erasure id), so
  a second delivery of the same erasure, even under another event id, finds
  it done and changes nothing: no second audit entry, no second redaction.

``is_erased`` tells a handler that a child was erased here, so an event
about them that arrives later (published before the erasure reached its
sender) does not bring their records back.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import audit
from .auth import Principal
from .logs import get_logger
from .messaging.consumer import HandlerContext
from .store import Store

log = get_logger("cpp.erasure")

EVENT_TYPE = "child.erased.v1"
COLLECTION = "erasures"  # {_id: erasure id, child_id, rule, due_on, erased_at, counts}: ids and counts only


def setup_store(store: Store) -> None:
    store.collection(COLLECTION).create_index("child_id")


def is_erased(store: Store, child_id: str | None) -> bool:
    """Whether this service erased the child's records."""
    return bool(child_id) and store.collection(COLLECTION).find_one({"child_id": child_id}) is not None


class Erasure:
    """One child's erasure in one service, in the event's unit of work."""

    def __init__(self, ctx: HandlerContext, event: dict[str, Any]):
        data = event.get("data") or {}
        self.ctx, self.event = ctx, event
        self.child_id: str = data["child_id"]
        self.erasure_id: str = data["erasure_id"]
        self.rule: str = data.get("rule") or ""
        self.due_on: str | None = data.get("due_on")
        self.counts: dict[str, int] = {}

    @property
    def done_before(self) -> bool:
        """This erasure was already carried out here (a redelivery under another event id)."""
        return self.ctx.store.collection(COLLECTION).find_one({"_id": self.erasure_id}) is not None

    def find(self, collection: str, filter: dict[str, Any]) -> list[dict[str, Any]]:
        return self.ctx.store.collection(collection).find(filter)

    def delete(self, collection: str, filter: dict[str, Any]) -> list[dict[str, Any]]:
        """Remove what ``filter`` matches in ``collection``; returns the documents removed."""
        docs = self.find(collection, filter)
        self.delete_ids(collection, [d["_id"] for d in docs])
        return docs

    def delete_ids(self, collection: str, ids: Iterable[str]) -> None:
        ids = sorted(set(ids))
        if ids:
            self.ctx.uow.delete(collection, {"_id": {"$in": ids}})
        self.counts[collection] = self.counts.get(collection, 0) + len(ids)

    def redact(self, log_name: str, seqs: list[int]) -> None:
        """Redact the records ``seqs`` of a hash-chained log; its redaction
        entry names the erasure and the rule (and nothing of what is erased)."""
        self.ctx.uow.redact(
            log_name,
            seqs,
            erasure_id=self.erasure_id,
            note={"child_id": self.child_id, "rule": self.rule, "records": len(seqs)},
        )
        self.counts[log_name] = self.counts.get(log_name, 0) + len(seqs)

    def finish(self) -> None:
        """The events about the child that this service published and sent, forgotten (unsent ones are still
        owed); the audit entry and the record of the erasure; all in the same unit of work."""
        self.ctx.uow.forget_sent({"data.child_id": self.child_id})
        self.ctx.uow.forget_sent({"data.children.child_id": self.child_id})  # a family's events
        authority = self.event.get("authority") or ""
        principal = Principal(user=f"service:{self.ctx.service}", role="operator", authority=authority)
        counts = dict(sorted(self.counts.items()))
        detail = {"erasure_id": self.erasure_id, "rule": self.rule, "due_on": self.due_on, "counts": counts}
        audit.record_write(
            self.ctx.uow, "erase", "child", self.child_id, child_id=self.child_id, detail=detail, principal=principal
        )
        self.ctx.uow.insert(
            COLLECTION,
            {
                "_id": self.erasure_id,
                "child_id": self.child_id,
                "rule": self.rule,
                "due_on": self.due_on,
                "erased_at": (self.event.get("data") or {}).get("erased_at"),
                "event_id": self.event.get("id"),
                "counts": counts,
            },
        )
        log.info("child erased", child_id=self.child_id, erasure_id=self.erasure_id, counts=counts)
