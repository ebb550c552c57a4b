"""The consumer's batch commit meets any error of the store: its loop goes on,
and no message is acked unless its handling committed (the ones whose commit
failed, or whose outcome is unknown, go back to the queue unacked; their
processed marks make a repeat of a unit that did commit a duplicate)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from cpp_shared.messaging import consumer as consumer_module
from cpp_shared.messaging.consumer import EventConsumer, Handlers
from cpp_shared.messaging.events import new_event
from cpp_shared.store import CommitOutcomeUnknown, StoreError, StoreUnavailable, UnitOfWork, open_store
from cpp_shared.store.mongo import MongoStore


class Message:
    def __init__(self, event: dict[str, Any]) -> None:
        self.body = event
        self.headers: dict[str, Any] = {}
        self.delivery_info: dict[str, Any] = {"redelivered": False, "routing_key": event["type"]}
        self.properties = {"message_id": event["id"]}
        self.content_type, self.content_encoding = "application/json", "utf-8"
        self.settled: list[str] = []

    def ack(self) -> None:
        self.settled.append("ack")

    def requeue(self) -> None:
        self.settled.append("requeue")


class FailingStore(MongoStore):
    """A store whose ``commit_all`` raises, or gives the outcomes it is told."""

    raises: BaseException | None = None
    outcomes: list[StoreError | None] | None = None

    def commit_all(self, units: list[UnitOfWork]) -> list[StoreError | None]:
        if self.raises is not None:
            raise self.raises
        if self.outcomes is not None:
            done = super().commit_all([u for u, o in zip(units, self.outcomes) if o is None])
            assert done == [None] * len(done)
            return list(self.outcomes)
        return super().commit_all(units)


@pytest.fixture
def setup(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(consumer_module.time, "sleep", lambda _: None)
    base = open_store(f"mongomock://consumer{uuid.uuid4().hex[:8]}")
    assert isinstance(base, MongoStore)
    store = FailingStore(base.client, base.db.name)
    handlers = Handlers()

    @handlers.on("case.*")
    def note(event: dict[str, Any], ctx: Any) -> None:
        ctx.uow.insert("notes", {"_id": event["id"]})

    consumer = EventConsumer("plans", store, "memory://", handlers, retry_delays=(1.0,))

    def messages(n: int) -> list[Message]:
        return [
            Message(new_event("case.opened.v1", source="/t", subject=f"case-{k}", data={}, authority="ENG"))
            for k in range(n)
        ]

    def flush(batch: list[Message]) -> None:
        for m in batch:
            consumer._batch.append((m, m.body))
        consumer._flush()

    return store, consumer, messages, flush


@pytest.mark.parametrize(
    "error",
    [StoreError("MongoDB refused the operation (290)"), StoreUnavailable("down"), CommitOutcomeUnknown("unknown")],
)
def test_a_batch_whose_commit_raises_any_store_error_goes_back_unacked(setup, error: StoreError) -> None:
    store, consumer, messages, flush = setup
    store.raises = error
    batch = messages(3)
    flush(batch)  # does not raise: the loop goes on
    assert [m.settled for m in batch] == [["requeue"]] * 3
    store.raises = None
    again = messages(1)
    flush(again)
    assert again[0].settled == ["ack"]


def test_units_whose_commit_is_unknown_or_unavailable_go_back_and_the_others_are_acked(setup) -> None:
    store, consumer, messages, flush = setup
    store.outcomes = [None, CommitOutcomeUnknown("unknown"), StoreUnavailable("down"), None]
    batch = messages(4)
    flush(batch)
    assert [m.settled for m in batch] == [["ack"], ["requeue"], ["requeue"], ["ack"]]
    assert store.collection("notes").count_documents({}) == 2
