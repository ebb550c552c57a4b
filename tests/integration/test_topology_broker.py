"""On a real broker: a consumer's queue declared by an earlier version with bindings no handler takes (plans'
`deadline.#`) loses them when the consumer declares its queues, and keeps what its handlers take."""

from __future__ import annotations

import pytest
from kombu import Connection, Producer, Queue, binding

from cpp_shared.messaging import topology
from tests.helpers import wait_for

pytestmark = [pytest.mark.broker]


def queued(channel, name: str) -> int:
    return channel.queue_declare(queue=name, passive=True).message_count


def test_a_consumer_unbinds_the_keys_its_handlers_no_longer_take(broker_url):
    with Connection(broker_url) as conn:
        channel = conn.channel()
        topology.declare_all(channel)
        old = Queue(
            "plans",
            exchange=topology.events_exchange,
            durable=True,
            bindings=[binding(topology.events_exchange, routing_key=k) for k in ("deadline.#", "audit.#")],
        )
        old(channel).declare()  # as a broker kept it from before
        producer = Producer(channel, exchange=topology.events_exchange)
        producer.publish({"n": 1}, routing_key="deadline.overdue.v1")
        wait_for(lambda: queued(channel, "plans") == 1, timeout=10, what="the old binding routing a deadline")
        channel.queue_purge("plans")

        topology.declare_service(channel, "plans", (1.0,))
        producer.publish({"n": 2}, routing_key="deadline.overdue.v1")
        producer.publish({"n": 3}, routing_key="audit.checkpointed.v1")
        wait_for(lambda: queued(channel, "plans") >= 1, timeout=10, what="the audit checkpoint")
        assert queued(channel, "plans") == 1  # the checkpoint only: no deadline reaches plans now
        message = channel.basic_get("plans", no_ack=True)
        assert '"n": 3' in (message.body if isinstance(message.body, str) else message.body.decode())
