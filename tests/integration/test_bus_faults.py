"""Failures of the bus on a real broker: crashes, poison messages, outages."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import uuid

import pytest
import requests
from kombu import Connection, Producer, Queue

from cpp_shared.broker import RabbitNode
from cpp_shared.messaging import topology
from cpp_shared.messaging.consumer import ERROR_HEADER, EventConsumer, Handlers
from cpp_shared.messaging.events import new_event
from cpp_shared.metrics import ServiceMetrics, bus_counts
from cpp_shared.store import open_store
from tests.helpers import bearer, new_child_over_http, wait_for
from tests.integration.processes import launch
from tests.integration.test_bus_processes import dev_token, events_seen, metric

pytestmark = pytest.mark.broker


def publish(broker_url, body, routing_key="case.opened.v1", content_type="application/cloudevents+json"):
    with Connection(broker_url, transport_options={"confirm_publish": True}) as conn:
        channel = conn.channel()
        topology.declare_all(channel)
        Producer(channel).publish(
            body,
            exchange=topology.events_exchange,
            routing_key=routing_key,
            content_type=content_type,
            content_encoding="utf-8",
            delivery_mode=2,
            retry=False,
        )


def case_event(type="case.opened.v1", case_id=None):
    case_id = case_id or uuid.uuid4().hex
    return new_event(type, source="/services/plans", subject=case_id, data={"case_id": case_id}, authority="ENG")


def queue_depth(broker_url, name):
    with Connection(broker_url) as conn:
        return Queue(name, durable=True)(conn.channel()).queue_declare(passive=True).message_count


def raw_body(message) -> bytes:
    return message.body if isinstance(message.body, bytes) else message.body.encode("utf-8")


def drain(broker_url, name):
    out = []
    with Connection(broker_url) as conn:
        q = Queue(name, durable=True)(conn.channel())
        while (msg := q.get(no_ack=True)) is not None:
            out.append(msg)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("crash_point", ["in_handler", "after_commit"])
def test_a_consumer_killed_mid_handling_gets_the_message_again_and_the_effect_happens_once(
    tmp_path, broker_url, crash_point
):
    store_url = f"sqlite:///{tmp_path / 'docs.db'}"
    marker = tmp_path / "marker"
    script = os.path.join(os.path.dirname(__file__), "consumer_proc.py")
    env = {**os.environ, "CRASH_POINT": crash_point, "PYTHONPATH": os.getcwd()}
    proc = subprocess.Popen([sys.executable, script, store_url, broker_url, str(marker)], env=env)
    try:
        event = case_event()
        publish(broker_url, json.dumps(event))
        wait_for(marker.exists, timeout=30, what=f"the consumer to reach {crash_point}")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        # The message is back in the queue, unacked by the dead consumer.
        assert wait_for(lambda: queue_depth(broker_url, "docs") == 1, timeout=15, what="redelivery")
        env.pop("CRASH_POINT")
        proc = subprocess.Popen([sys.executable, script, store_url, broker_url, str(marker)], env=env)
        wait_for(lambda: queue_depth(broker_url, "docs") == 0, timeout=30, what="the restarted consumer to ack")
        store = open_store(store_url)
        wait_for(lambda: store.is_processed(event["id"], "docs"), timeout=10, what="processed mark")
        assert store.collection("effects").count_documents({"event_id": event["id"]}) == 1
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.slow
def test_after_sigkills_the_message_counts_equal_the_processed_marks(tmp_path, broker_url):
    """A consumer with group commit, SIGKILLed four times in the middle of a
    stream (in a batch's handlers, between its commit and its acks): after
    each kill, and at the end, ``cpp_messages_total`` read from the store
    equals the consumer's processed marks, since each count commits with
    its mark."""
    store_url = f"sqlite:///{tmp_path / 'docs.db'}"
    script = os.path.join(os.path.dirname(__file__), "consumer_proc.py")
    # 50 a batch, a few ms a message: a batch is in the handlers for ~0.2 s.
    env = {**os.environ, "PYTHONPATH": os.getcwd(), "PREFETCH": "50", "HANDLER_SECONDS": "0.004"}
    events = [case_event() for _ in range(400)]
    with Connection(broker_url, transport_options={"confirm_publish": True}) as conn:
        channel = conn.channel()
        topology.declare_service(channel, "docs", (0.2,))  # the delays consumer_proc.py declares
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
    store = open_store(store_url)
    effects = store.collection("effects")

    def start():
        return subprocess.Popen([sys.executable, script, store_url, broker_url, str(tmp_path / "marker")], env=env)

    def consumed_and_marked():
        consumed = bus_counts(store).get(("consumed", "record"), 0)
        marked = sum(store.is_processed(e["id"], "docs") for e in events)
        return consumed, marked

    for threshold in (60, 140, 220, 300):
        proc = start()
        try:
            wait_for(
                lambda: effects.count_documents({}) >= threshold,
                timeout=60,
                interval=0.01,
                what=f"{threshold} events handled",
            )
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        consumed, marked = consumed_and_marked()
        assert consumed == marked == effects.count_documents({}), f"after the kill at {threshold}"
    proc = start()
    try:
        wait_for(
            lambda: effects.count_documents({}) == len(events) and queue_depth(broker_url, "docs") == 0,
            timeout=60,
            what="every event handled and acked",
        )
    finally:
        proc.kill()
        proc.wait()
    assert consumed_and_marked() == (len(events), len(events))
    text = ServiceMetrics("docs", store).render().decode()
    assert f'cpp_messages_total{{handler="record",outcome="consumed",service="docs"}} {len(events)}.0' in text
    assert effects.count_documents({}) == len(events), "each effect once"


def log_lines(path, event: str, holder_pid: int) -> list[dict]:
    """The JSON log lines of ``event`` written by the relay of process ``holder_pid``."""
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == event and f":{holder_pid}:" in line.get("holder", "")]


@pytest.mark.slow
def test_a_relay_killed_mid_drain_is_replaced_and_its_successor_takes_the_lease_within_2_seconds(tmp_path, broker_url):
    """The plans worker's relay is SIGKILLed while draining a large outbox,
    so it dies holding the lease; a successor is started at once.

    The bound: the dead relay's last renewal began before it was killed, so
    its lease (1.5 s) ends at most 1.5 s after the kill, hence at most 1.5 s
    after the successor's relay started; the successor tries every 0.15 s.
    So it holds the lease at most 1.65 s (plus one store write) after its
    start, measured by its own monotonic clock and logged as
    ``waited_seconds``: lease acquisition, not broker throughput, which on
    a loaded machine varies far more. Then it publishes the rest."""
    from cpp_shared.store.scoped import ScopedStore

    data = tmp_path / "var"
    data.mkdir()
    store = ScopedStore(open_store(f"sqlite:///{data / 'plans.db'}"), "ENG")
    events = [case_event() for _ in range(3000)]
    for i in range(0, len(events), 500):
        with store.unit_of_work() as uow:
            for e in events[i : i + 500]:
                uow.publish(e["type"], e, message_id=e["id"])
    log = data / "plans-worker.log"
    first = launch("plans", data, broker_url, "worker", CPP_RELAY_BATCH="50")
    second = None
    try:
        wait_for(
            lambda: store.outbox_stats().pending <= len(events) - 300,
            timeout=60,
            interval=0.02,
            what="the first relay to be draining",
        )
        killed_pid = first.procs["worker"].pid
        first.kill("worker")  # SIGKILL to its process group: the lease is not given up
        assert store.outbox_stats().pending > 0, "killed mid-drain"
        second = launch("plans", data, broker_url, "worker", CPP_RELAY_BATCH="50")
        pid = second.procs["worker"].pid
        [took] = wait_for(
            lambda: log_lines(log, "relay took the lease", pid), timeout=60, what="the successor to take the lease"
        )
        [published] = wait_for(
            lambda: log_lines(log, "relay published its first events under the lease", pid),
            timeout=60,
            what="the successor's first publish",
        )
        assert took["waited_seconds"] < 2.0, (took, published)
        wait_for(lambda: store.outbox_stats().pending == 0, timeout=60, what="the successor to drain the outbox")
        # Every event reached its queues; those sent but not yet marked when
        # the first relay died were sent again (consumers ignore them by id).
        assert len(events) <= queue_depth(broker_url, "docs") <= len(events) + 50
        assert log_lines(log, "relay took the lease", killed_pid)
    finally:
        first.stop()
        if second is not None:
            second.stop()


def handling_case_opened() -> tuple[Handlers, list[str]]:
    """Handlers whose ``fine`` keeps an effect of each case.opened event, and the ids it handled."""
    handlers = Handlers()
    handled: list[str] = []

    @handlers.on("case.opened.v1")
    def fine(event, ctx):
        ctx.uow.insert("effects", {"event_id": event["id"]})
        handled.append(event["id"])

    return handlers, handled


def test_malformed_and_always_failing_messages_are_parked_with_the_reason_and_others_still_flow(tmp_path, broker_url):
    store = open_store(f"sqlite:///{tmp_path / 'docs.db'}")
    handlers, handled = handling_case_opened()

    @handlers.on("case.closed.v1")
    def always_fails(event, ctx):
        raise RuntimeError("the template is broken")

    consumer = EventConsumer("docs", store, broker_url, handlers, retry_delays=(0.2, 0.4), prefetch=10)
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    try:
        consumer.ready.wait(15)
        publish(broker_url, "{not json", routing_key="case.opened.v1")
        failing = case_event("case.closed.v1")
        publish(broker_url, json.dumps(failing), routing_key="case.closed.v1")
        good = [case_event() for _ in range(5)]
        for e in good:
            publish(broker_url, json.dumps(e))
        wait_for(lambda: len(handled) == 5, timeout=20, what="the good events to be handled")
        wait_for(lambda: queue_depth(broker_url, "docs.parked") == 2, timeout=20, what="two parked messages")
        parked = {m.headers.get("x-cpp-handler"): m for m in drain(broker_url, "docs.parked")}
        assert raw_body(parked["-"]) == b"{not json"  # kept exactly as it came
        assert "not a CloudEvent" in parked["-"].headers[ERROR_HEADER]
        failed = parked["always_fails"]
        assert json.loads(failed.body)["id"] == failing["id"]
        assert failed.headers[ERROR_HEADER] == "RuntimeError: the template is broken"
        assert failed.headers["x-cpp-attempt"] == 3  # the first delivery and two retries
        assert failed.headers["x-cpp-routing-key"] == "case.closed.v1"
        expected = {
            ("parked", "-"): 1,
            ("parked", "always_fails"): 1,
            ("retried", "always_fails"): 2,
            ("consumed", "fine"): 5,
        }

        # Each count is committed before its message is acked, so the last
        # one may still be on its way when the queues look settled.
        wait_for(lambda: bus_counts(store) == expected, timeout=10, what=f"the counts {expected}")
        assert queue_depth(broker_url, "docs") == 0
    finally:
        consumer.stop()
        thread.join(10)
        consumer.close()


@pytest.mark.slow
def test_writes_succeed_while_the_broker_is_down_and_every_event_arrives_once_after(tmp_path):
    node = RabbitNode(tmp_path / "rabbit")
    node.start(owner_pid=os.getpid())
    data = tmp_path / "var"
    services = {}
    try:
        services["plans"] = launch("plans", data, node.amqp_url)
        services["scheduler"] = launch("scheduler", data, node.amqp_url)
        token = dev_token(data)
        plans = services["plans"]

        # a child each, registered while the broker is up: a child is in one open case at a time
        children = [
            new_child_over_http(plans.url, bearer(token), given_names=f"Child{i}", identifiers=[]) for i in range(13)
        ]

        def open_case(i):
            resp = requests.post(
                f"{plans.url}/v1/cases", json={"child_id": children[i]}, headers=bearer(token), timeout=10
            )
            assert resp.status_code == 201, resp.text
            return resp.json()["id"]

        before = [open_case(i) for i in range(3)]
        wait_for(lambda: metric(plans, "cpp_outbox_backlog") == 0.0, timeout=20, what="first events published")

        node.stop()
        during = [open_case(i) for i in range(3, 13)]
        backlog = wait_for(lambda: metric(plans, "cpp_outbox_backlog"), timeout=10, what="backlog to show")
        assert backlog == 20.0, "the events wait in the outbox while the broker is down (each case and its family)"
        assert metric(plans, "cpp_outbox_oldest_age_seconds") > 0
        assert requests.get(f"{plans.url}/readyz", timeout=10).status_code == 503

        node.start(owner_pid=os.getpid())
        wait_for(lambda: metric(plans, "cpp_outbox_backlog") == 0.0, timeout=60, what="the backlog to drain")
        for case_id in before + during:
            seen = wait_for(
                lambda: events_seen(services["scheduler"], case_id, token),
                timeout=60,
                what=f"scheduler to get case {case_id}",
            )
            assert len(seen) == 1
        # The thirteen cases, the children's registrations and the caller's entry in the staff directory (the
        # scheduler does not take the families' events).
        wait_for(
            lambda: metric(services["scheduler"], "cpp_messages_total", outcome="consumed") == 27,
            timeout=20,
            what="27 events consumed",
        )
        for case_id in before + during:
            assert len(events_seen(services["scheduler"], case_id, token)) == 1
    finally:
        for svc in services.values():
            svc.stop()
        node.destroy()


def test_another_authoritys_event_is_parked_at_once_and_never_applied(tmp_path, broker_url):
    """A broker shared by two deployments, or a misrouted message: the
    consumer of an authority's view never applies another's event."""
    from cpp_shared.store.scoped import ScopedStore

    store = ScopedStore(open_store(f"sqlite:///{tmp_path / 'docs.db'}"), "ENG")
    handlers, handled = handling_case_opened()

    consumer = EventConsumer("docs", store, broker_url, handlers, retry_delays=(0.2,), prefetch=10)
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    try:
        consumer.ready.wait(15)
        theirs = new_event(
            "case.opened.v1", source="/services/plans", subject="k", data={"case_id": "k"}, authority="GG"
        )
        ours = case_event()
        publish(broker_url, json.dumps(theirs))
        publish(broker_url, json.dumps(ours))
        wait_for(lambda: handled == [ours["id"]], timeout=20, what="our event to be handled")
        wait_for(lambda: queue_depth(broker_url, "docs.parked") == 1, timeout=20, what="their event parked")
        [parked] = drain(broker_url, "docs.parked")
        assert json.loads(parked.body)["id"] == theirs["id"]
        assert "for authority 'GG'; this deployment serves 'ENG'" in parked.headers[ERROR_HEADER]
        assert parked.headers.get("x-cpp-attempt", 1) == 1  # parked on its first delivery, never retried
        wait_for(
            lambda: store.inner.collection("effects").count_documents({}) == 1, timeout=10, what="its effect committed"
        )
    finally:
        consumer.stop()
        thread.join(10)
        consumer.close()
