"""Group commit in the consumer keeps each event's handling as if alone."""

from __future__ import annotations

import json
import threading

import pytest
from kombu import Connection, Producer

from cpp_shared.messaging import topology
from cpp_shared.messaging.consumer import EventConsumer, Handlers
from cpp_shared.messaging.events import new_event
from cpp_shared.metrics import bus_counts
from cpp_shared.store import open_store
from tests.helpers import wait_for

pytestmark = pytest.mark.broker


def publish_all(broker_url, events):
    """Publish before the consumer starts, so they arrive as one burst."""
    with Connection(broker_url, transport_options={"confirm_publish": True}) as conn:
        channel = conn.channel()
        topology.declare_service(channel, "docs", (0.2,))
        producer = Producer(channel)
        for e in events:
            producer.publish(
                json.dumps(e),
                exchange="",
                routing_key="docs",
                content_type="application/cloudevents+json",
                content_encoding="utf-8",
                delivery_mode=2,
                retry=False,
            )


def event(type, subject, **data):
    return new_event(type, source="/test", subject=subject, data=data, authority="ENG")


def run_consumer(store, broker_url, handlers, until):
    consumer = EventConsumer("docs", store, broker_url, handlers, retry_delays=(0.2,), prefetch=100)
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    try:
        wait_for(until, timeout=20, what="the events to be handled")
    finally:
        consumer.stop()
        thread.join(10)
        consumer.close()
    return bus_counts(store)


def test_each_event_of_a_subject_sees_the_effect_of_the_one_before(tmp_path, broker_url):
    """Each event appends an entry whose position is the number of entries
    its case already has: a read no version check guards. Were two events of
    one case committed in one batch, the second would read a stale count and
    both would claim the same position, with no conflict to notice it."""
    store = open_store(f"sqlite:///{tmp_path / 'docs.db'}")
    handlers = Handlers()

    @handlers.on("case.*")
    def append(event, ctx):
        position = ctx.store.collection("entries").count_documents({"case": event["subject"]})
        ctx.uow.insert("entries", {"case": event["subject"], "position": position, "i": event["data"]["i"]})

    publish_all(broker_url, [event("case.updated.v1", f"case-{i % 3}", i=i) for i in range(60)])
    entries = store.collection("entries")
    stats = run_consumer(store, broker_url, handlers, lambda: entries.count_documents({}) == 60)
    for k in range(3):
        rows = entries.find({"case": f"case-{k}"}, sort=[("position", 1)])
        assert [r["position"] for r in rows] == list(range(20)), "every position once"
        assert [r["i"] for r in rows] == [i for i in range(60) if i % 3 == k], "in publishing order"
    assert ("retried", "append") not in stats, f"no event needed a delayed retry: {stats}"


def test_a_conflict_between_subjects_in_one_batch_is_rerun_at_once(tmp_path, broker_url):
    """Events of different cases that all update one shared document: the
    batch commit lets one through, the others are re-run alone right away."""
    store = open_store(f"sqlite:///{tmp_path / 'docs.db'}")
    store.collection("totals").insert_one({"_id": "all", "n": 0})
    handlers = Handlers()

    @handlers.on("case.*")
    def total(event, ctx):
        doc = ctx.store.collection("totals").find_one({"_id": "all"})
        ctx.uow.replace("totals", {**doc, "n": doc["n"] + 1}, expected_version=doc["version"])

    publish_all(broker_url, [event("case.opened.v1", f"case-{i}") for i in range(20)])
    totals = store.collection("totals")
    stats = run_consumer(store, broker_url, handlers, lambda: totals.find_one({"_id": "all"})["n"] == 20)
    assert totals.find_one({"_id": "all"})["n"] == 20
    assert ("retried", "total") not in stats
