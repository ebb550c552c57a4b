"""Issue 24, finding 4: on MongoDB no single document is written by every
publishing transaction. The outbox used to number its messages from one
counter document that each publishing transaction incremented, so concurrent
publishers aborted one another with WriteConflict (112) and ran one at a
time; now a message is inserted unnumbered and the relay's sequencer
numbers it after the commit. Run over the fake client (mongomock underneath,
pymongo's transaction paths, real errors), since no server runs here."""

from __future__ import annotations

import time
import uuid
from typing import Any

from cpp_shared.store.mongo import MongoStore
from cpp_shared.testing.faulty_mongo import FaultyMongoClient, FaultySession, real_error


def write_conflict() -> Any:
    return real_error(
        112,
        "WriteConflict",
        "Write conflict during plan execution and yielding is disabled.",
        labels=("TransientTransactionError",),
    )


class _WatchedSession(FaultySession):
    """Records the documents each transaction writes, by (collection, _id)."""

    def __init__(self, client: WatchingClient) -> None:
        super().__init__(client)
        self.written: set[tuple[str, Any]] = set()
        client.written.append(self.written)

    def remember(self, coll: Any, operation: str, args: tuple[Any, ...]) -> None:
        super().remember(coll, operation, args)
        target = args[0] if args else {}
        key = target.get("_id") if isinstance(target, dict) else None
        self.written.add((coll.name, repr(key) if key is not None else repr(target)))


class WatchingClient(FaultyMongoClient):
    def __init__(self) -> None:
        super().__init__()
        self.written: list[set[tuple[str, Any]]] = []

    def start_session(self, **_: Any) -> FaultySession:
        return _WatchedSession(self)


def a_store(client: FaultyMongoClient | None = None) -> tuple[MongoStore, Any]:
    client = client or WatchingClient()
    store = MongoStore(client, f"db{uuid.uuid4().hex[:8]}")
    store.prepare()
    return store, client


def publish(store: MongoStore, *ids: str) -> None:
    with store.unit_of_work() as uow:
        for message_id in ids:
            uow.publish("child.looked_up.v1", {"authority": "x", "id": message_id}, message_id=message_id)


def test_publishing_transactions_share_no_document() -> None:
    """Two transactions that write one document conflict when they overlap:
    a publish writes only its own message."""
    store, client = a_store()
    for n in range(8):
        publish(store, f"m{n}")
    assert len(client.written) == 8
    shared = set.intersection(*client.written)
    assert shared == set()
    assert all(written == {("outbox", repr(f"m{n}"))} for n, written in enumerate(client.written))


def test_a_write_conflict_on_the_old_counter_no_longer_touches_publishers() -> None:
    """The storm: every transaction that writes the counter document meets a
    WriteConflict. Publishers never write it, so none is retried or fails."""
    store, client = a_store()
    client.faults.fail("find_one_and_update", write_conflict, collection="outbox_seq", times=1000)
    client.faults.fail("update_one", write_conflict, collection="outbox_seq", times=1000)
    for n in range(20):
        publish(store, f"m{n}")
    assert client.faults.pending() == 2000  # never met
    assert store.transaction_retries == 0
    assert not [c for c in client.calls if c.in_transaction and c.collection == "outbox_seq"]
    client.faults.plans.clear()
    assert [m.message_id for m in store.outbox_pending(100)] == [f"m{n}" for n in range(20)]


def test_the_adapter_counts_transactions_run_again() -> None:
    """What the benchmark reports: a transient conflict costs a retry."""
    store, client = a_store()
    client.faults.fail("insert_one", write_conflict, collection="outbox", times=2)
    publish(store, "m1")
    assert store.transaction_retries == 2
    assert [m.message_id for m in store.outbox_pending()] == ["m1"]


def test_the_sequencer_numbers_in_commit_order_and_publish_order_within_a_unit() -> None:
    store, _ = a_store()
    publish(store, "c", "b", "a")  # one unit: call order, not id order
    publish(store, "d")
    assert [(m.seq, m.message_id) for m in store.outbox_pending()] == [(1, "c"), (2, "b"), (3, "a"), (4, "d")]


def test_a_message_committed_late_with_an_older_time_is_not_skipped() -> None:
    """A transaction that began first but committed after the relay numbered
    later ones gets a seq above theirs, and is sent on the next pass."""
    store, client = a_store()
    publish(store, "m1", "m2")
    first = store.outbox_pending()
    assert [m.seq for m in first] == [1, 2]
    store.outbox_mark_sent([1, 2])
    # As it lands when its commit is finally acknowledged: unnumbered, and
    # stamped before m1 and m2 were.
    client.inner[store.db.name]["outbox"].insert_one(
        {
            "_id": "late",
            "seq": None,
            "position": 1,
            "message_id": "late",
            "routing_key": "child.looked_up.v1",
            "body": {"authority": "x"},
            "headers": {},
            "created_at": time.time() - 60,
            "sent_at": None,
        }
    )
    publish(store, "m3")
    assert [(m.seq, m.message_id) for m in store.outbox_pending()] == [(3, "late"), (4, "m3")]


def test_numbers_are_given_once_and_by_majority_reads_outside_transactions() -> None:
    store, client = a_store()
    publish(store, "m1")
    assert [m.seq for m in store.outbox_pending()] == [1]
    assert [m.seq for m in store.outbox_pending()] == [1]  # not numbered again
    publish(store, "m2")
    assert [m.seq for m in store.outbox_pending()] == [1, 2]
    sequencing = [c for c in client.calls if c.collection in ("outbox", "outbox_seq") and not c.in_transaction]
    assert not [c for c in client.calls if c.in_transaction and c.collection == "outbox_seq"]
    reads = [c for c in sequencing if c.operation == "find"]
    assert reads and all(c.read_concern == "majority" for c in reads)


def test_unsequenced_messages_count_as_pending_for_the_stats() -> None:
    store, _ = a_store()
    publish(store, "m1", "m2")
    assert store.outbox_stats().pending == 2
    store.outbox_mark_sent([m.seq for m in store.outbox_pending()])
    assert store.outbox_stats().pending == 0


# --- the logs' heads: audited requests batched through the group commit ---------


def audited_units(store: MongoStore, n: int) -> list[Any]:
    units = []
    for k in range(n):
        uow = store.begin()
        uow.append("audit", {"action": "child.read", "k": k})
        uow.publish("child.read.v1", {"authority": "x", "k": k}, message_id=f"m{k}")
        units.append(uow)
    return units


def test_a_batch_of_audited_requests_is_one_transaction_writing_the_head_once() -> None:
    store, client = a_store()
    outcomes = store.commit_batch(audited_units(store, 6))
    assert outcomes == [None] * 6
    assert len(client.transactions) == 1
    [written] = client.written
    assert [key for key in written if key[0] == "log_heads"] == [("log_heads", repr("audit"))]
    head_writes = [c for c in client.calls if c.in_transaction and c.collection == "log_heads"]
    assert len(head_writes) == 2  # claimed first, then its new seq and hash: however many entries
    records = store.read_log("audit")
    assert [r.seq for r in records] == [1, 2, 3, 4, 5, 6]
    assert [r.entry["k"] for r in records] == [0, 1, 2, 3, 4, 5]
    assert store.verify_log("audit").ok
    head = client.inner[store.db.name]["log_heads"].find_one({"_id": "audit"})
    assert (head["seq"], head["hash"]) == (6, records[-1].hash)
    publish(store, "after")  # a later unit on its own continues the chain from the head
    with store.unit_of_work() as uow:
        uow.append("audit", {"action": "child.read", "k": 6})
    assert store.verify_log("audit").ok and store.read_log("audit")[-1].seq == 7


def test_a_unit_failing_alone_is_taken_out_and_the_others_commit_without_a_gap() -> None:
    from cpp_shared.store import VersionConflict

    store, client = a_store()
    store.collection("plans").insert_one({"_id": "p"})
    units = audited_units(store, 4)
    units[1].replace("plans", {"_id": "p"}, expected_version=7)  # stale
    outcomes = store.commit_batch(units)
    assert outcomes[0] is None and outcomes[2] is None and outcomes[3] is None
    assert isinstance(outcomes[1], VersionConflict)
    assert [r.entry["k"] for r in store.read_log("audit")] == [0, 2, 3]
    assert [r.seq for r in store.read_log("audit")] == [1, 2, 3]
    assert store.verify_log("audit").ok
    assert sorted(m.message_id for m in store.outbox_pending()) == ["m0", "m2", "m3"]


def test_a_refused_document_fails_its_unit_alone() -> None:
    store, client = a_store()
    units = audited_units(store, 3)
    units[2].insert("notes", {"_id": "n"})
    client.faults.fail("insert_one", real_error(28, "PathNotViable", "Cannot create field"), collection="notes")
    outcomes = store.commit_batch(units)
    assert outcomes[:2] == [None, None]
    assert type(outcomes[2]).__name__ == "StoreError" and outcomes[2].code == 28
    assert [r.entry["k"] for r in store.read_log("audit")] == [0, 1]


def test_a_batch_the_server_cannot_commit_is_every_units_outcome_and_writes_nothing() -> None:
    from cpp_shared.store import StoreUnavailable

    store, client = a_store()
    client.faults.fail("insert_one", write_conflict, collection="log_entries", times=100)
    outcomes = store.commit_batch(audited_units(store, 3))
    assert all(isinstance(o, StoreUnavailable) for o in outcomes)
    assert len({id(o) for o in outcomes}) == 3  # each caller its own error object
    assert store.read_log("audit") == [] and store.outbox_stats().pending == 0


def test_the_group_commit_batches_concurrent_audited_requests_on_mongodb() -> None:
    import threading

    from cpp_shared.store import group_commit

    store, client = a_store()
    assert group_commit.committer_for(store).groups
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def request(k: int) -> None:
        start.wait()
        try:
            with group_commit.unit_of_work(store) as uow:
                uow.append("audit", {"action": "child.read", "k": k})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=request, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(r.entry["k"] for r in store.read_log("audit")) == list(range(8))
    assert store.verify_log("audit").ok
    assert 1 <= len(client.transactions) <= 8
