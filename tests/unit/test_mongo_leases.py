"""The MongoDB adapter's leases on the server's clock, and the fenced marks
of the outbox, on the paths a real replica set takes (the fake client:
mongomock underneath, ``$$NOW`` evaluated as the server would, transactions
emulated as pymongo runs them) and on plain mongomock."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import mongomock
import pytest
from pymongo import ReadPreference
from pymongo.errors import DuplicateKeyError

from cpp_shared.store import OutboxMessage, StoreUnavailable
from cpp_shared.store import mongo as mongo_module
from cpp_shared.store.mongo import MongoStore, evaluate_now
from cpp_shared.testing.faulty_mongo import REAL_ERRORS, FaultyCollection, FaultyMongoClient, real_error


def a_store(kind: str) -> tuple[MongoStore, FaultyMongoClient | None]:
    name = f"db{uuid.uuid4().hex[:8]}"
    if kind == "mongomock":
        return MongoStore(mongomock.MongoClient(), name), None
    client = FaultyMongoClient()
    return MongoStore(client, name), client


def one_pending(store: MongoStore) -> OutboxMessage:
    """One event published and numbered, pending for the relay."""
    with store.unit_of_work() as uow:
        uow.publish("x", {}, message_id="m1")
    (message,) = store.outbox_pending()
    return message


@pytest.fixture(params=["fake replica set", "mongomock"])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


def test_the_lease_is_one_update_on_the_server_s_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    store, client = a_store("fake replica set")
    assert client is not None
    calls = []  # the lease's operations as the adapter sends them, before $$NOW is evaluated
    real_getattr = FaultyCollection.__getattr__

    def spy(self: FaultyCollection, operation: str) -> Any:
        target = real_getattr(self, operation)
        if self.name != "leases" or not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            calls.append((operation, args, kwargs))
            return target(*args, **kwargs)

        return call

    store.prepare()
    monkeypatch.setattr(FaultyCollection, "__getattr__", spy)
    assert store.acquire_lease("relay", "A", 1.5) == 1
    ((operation, (filter, pipeline), kwargs),) = calls
    assert operation == "find_one_and_update" and kwargs["upsert"] is True
    assert "$$NOW" in repr(filter["$expr"])
    assert pipeline[0]["$set"]["expires_at"] == {"$add": ["$$NOW", 1500]}


@pytest.mark.parametrize("skew", [3600.0, -3600.0])
def test_a_replica_s_own_clock_does_not_matter(kind: str, skew: float, monkeypatch: pytest.MonkeyPatch) -> None:
    """An hour ahead or behind, a replica neither takes a live lease nor
    keeps one that lapsed: only the server's clock is read."""
    store, _ = a_store(kind)
    assert store.acquire_lease("relay", "A", 60)
    real = mongo_module.time.time
    monkeypatch.setattr(mongo_module.time, "time", lambda: real() + skew)
    assert store.acquire_lease("relay", "B", 60) is None, "A's lease is live on the server"
    assert store.acquire_lease("relay", "A", 0) == 1, "A renews; its lease lapses at once"
    assert store.acquire_lease("relay", "B", 60) == 2, "lapsed on the server, whatever B's clock says"


def test_a_duplicate_key_on_the_upsert_race_is_not_taken() -> None:
    store, client = a_store("fake replica set")
    assert client is not None
    store.prepare()
    client.faults.fail(
        "find_one_and_update",
        lambda: DuplicateKeyError("E11000 duplicate key error collection: leases index: _id_", 11000),
        collection="leases",
    )
    assert store.acquire_lease("relay", "B", 60) is None
    assert store.acquire_lease("relay", "B", 60) == 1


def test_the_fenced_mark_is_one_majority_transaction_on_the_primary_with_a_write_to_the_lease() -> None:
    store, client = a_store("fake replica set")
    assert client is not None
    message = one_pending(store)
    token = store.acquire_lease("relay", "A", 60)
    assert token is not None
    client.calls.clear()
    client.transactions.clear()
    assert store.outbox_mark_sent([message.seq], fence=("relay", token)) is True
    assert store.outbox_pending() == []
    written = [(c.operation, c.collection) for c in client.calls if c.in_transaction]
    assert written == [("update_one", "leases"), ("update_many", "outbox")]
    (options,) = client.transactions
    assert options["write_concern"].document["w"] == "majority"
    assert options["read_preference"] == ReadPreference.PRIMARY


def test_a_stale_token_marks_nothing_on_a_replica_set(kind: str) -> None:
    store, _ = a_store(kind)
    message = one_pending(store)
    stale = store.acquire_lease("relay", "A", 0)
    assert stale is not None and store.acquire_lease("relay", "B", 60) == stale + 1
    assert store.outbox_mark_sent([message.seq], fence=("relay", stale)) is False
    assert [m.seq for m in store.outbox_pending()] == [message.seq]


def test_a_fenced_mark_conflicting_with_a_take_is_retried_and_then_refused() -> None:
    """On a replica set a take committing during the mark's transaction makes
    a write conflict on the lease's document; the transaction runs again and
    sees the new token."""
    store, client = a_store("fake replica set")
    assert client is not None
    message = one_pending(store)
    token = store.acquire_lease("relay", "A", 0)
    assert token is not None

    def taken_meanwhile() -> BaseException:
        assert store.db["leases"].find_one_and_update(  # B's take, committed by the server meanwhile
            {"_id": "relay"}, {"$set": {"holder": "B"}, "$inc": {"token": 1}}
        )
        return REAL_ERRORS["write conflict (transient) 112"]()

    client.faults.fail("update_one", taken_meanwhile, collection="leases")
    assert store.outbox_mark_sent([message.seq], fence=("relay", token)) is False
    assert [m.seq for m in store.outbox_pending()] == [message.seq]


def test_a_fenced_mark_the_server_cannot_make_is_unavailable() -> None:
    store, client = a_store("fake replica set")
    assert client is not None
    message = one_pending(store)
    token = store.acquire_lease("relay", "A", 60)
    assert token is not None
    client.faults.fail("update_one", lambda: real_error(91, "ShutdownInProgress", "shutting down"), collection="leases")
    with pytest.raises(StoreUnavailable):
        store.outbox_mark_sent([message.seq], fence=("relay", token))
    assert [m.seq for m in store.outbox_pending()] == [message.seq]


def test_evaluate_now_folds_the_server_s_date_arithmetic() -> None:
    now = datetime.datetime(2026, 12, 7, 8, 30)
    assert evaluate_now({"a": "$$NOW", "b": ["$$NOW", "$x"]}, now) == {"a": now, "b": [now, "$x"]}
    assert evaluate_now({"$add": ["$$NOW", 1500]}, now) == now + datetime.timedelta(seconds=1.5)
    assert evaluate_now({"$add": ["$n", 1]}, now) == {"$add": ["$n", 1]}, "numbers alone are left to mongomock"
    later = evaluate_now("$$NOW")
    assert isinstance(later, datetime.datetime) and later.microsecond % 1000 == 0 and later.tzinfo is None
