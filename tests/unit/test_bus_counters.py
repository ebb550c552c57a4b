"""The consumer's outcome counts live in the store, committed with the work
they count: a message's count commits with its processed mark or not at
all, and an outcome that commits nothing else is counted in a unit of its
own, once per key."""

from __future__ import annotations

import uuid

import pytest

from cpp_shared.metrics import BUS_STATS, BusCounters, ServiceMetrics, bus_counts
from cpp_shared.store import AlreadyProcessed, open_store
from cpp_shared.store.scoped import ScopedStore


@pytest.fixture(params=["sqlite", "mongomock"])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = open_store(f"sqlite:///{tmp_path / 'docs.db'}")
    else:
        s = open_store(f"mongomock://counters_{uuid.uuid4().hex}")
    yield s
    s.close()


def test_a_count_added_to_a_unit_commits_with_its_processed_mark_or_not_at_all(store):
    counters = BusCounters(store)
    units = []
    for event_id in ("e1", "e2", "e1"):  # the second e1 is a redelivery: its unit fails whole
        uow = store.begin()
        uow.mark_processed(event_id, "docs")
        counters.add(uow, "consumed", "render")
        units.append(uow)
    outcomes = store.commit_all(units)
    assert outcomes[:2] == [None, None] and isinstance(outcomes[2], AlreadyProcessed)
    assert bus_counts(store) == {("consumed", "render"): 2}
    assert store.is_processed("e1", "docs") and store.is_processed("e2", "docs")


def test_an_outcome_committed_alone_is_counted_once_per_key(store):
    counters = BusCounters(store)
    counters.commit("retried", "render", once="docs|e1|1|retried")
    counters.commit("retried", "render", once="docs|e1|1|retried")  # settled again after a crash
    counters.commit("retried", "render", once="docs|e1|2|retried")  # the next attempt
    counters.commit("duplicate", "-")
    counters.commit("duplicate", "-")  # without a key, every call counts
    assert bus_counts(store) == {("retried", "render"): 2, ("duplicate", "-"): 2}


def test_counts_of_every_slot_and_of_rows_from_before_slots_are_summed(store):
    # A row as counted before each process had its slot: "<kind>|<handler>".
    store.collection(BUS_STATS).insert_one({"_id": "consumed|render", "kind": "consumed", "handler": "render", "n": 5})
    for slot in (0, 3, 3):
        with store.unit_of_work() as uow:
            BusCounters(store, slot=slot).add(uow, "consumed", "render")
    assert bus_counts(store) == {("consumed", "render"): 8}
    assert store.collection(BUS_STATS).count_documents({}) == 3
    text = ServiceMetrics("docs", store).render().decode()
    assert 'cpp_messages_total{handler="render",outcome="consumed",service="docs"} 8.0' in text


def test_two_authorities_sharing_a_database_count_apart(store):
    eng, gg = ScopedStore(store, "ENG"), ScopedStore(store, "GG")
    for view, times in ((eng, 2), (gg, 3)):
        counters = BusCounters(view, slot=1)  # the same slot: their rows must still differ
        for i in range(times):
            uow = view.begin()
            uow.mark_processed(f"{view.authority}-{i}", "docs")
            counters.add(uow, "consumed", "render")
            assert view.commit_all([uow]) == [None]
        counters.commit("parked", "render", once=f"docs|{view.authority}-x|1|parked")
    assert bus_counts(eng) == {("consumed", "render"): 2, ("parked", "render"): 1}
    assert bus_counts(gg) == {("consumed", "render"): 3, ("parked", "render"): 1}


def test_once_its_row_is_stored_a_count_is_a_bare_increment(store):
    counters = BusCounters(store, slot=2)
    updates = []

    class Spy:
        def __init__(self, uow):
            self.uow = uow

        def update(self, collection, filter, update, *, upsert=False):
            updates.append(update)
            self.uow.update(collection, filter, update, upsert=upsert)

    for _ in range(3):
        with store.unit_of_work() as uow:
            counters.add(Spy(uow), "ignored", "-")
    assert "$setOnInsert" in updates[0] and updates[1:] == [{"$inc": {"n": 1}}] * 2
    [row] = store.collection(BUS_STATS).find({})
    assert (row["kind"], row["handler"], row["n"]) == ("ignored", "-", 3)
