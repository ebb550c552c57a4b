"""Declaring the platform's exchanges, queues and bindings on a broker connection, identically by every
publisher and consumer. Their names and routing rules moved to ``cpp_shared.contracts.topology`` and are
re-exported here; services' imports are updated separately.

Publishers declare the consumers' queues too: a message published before its consumer ever started must wait in
that consumer's durable queue, not vanish. Anything published that no queue is bound for goes to the alternate
exchange and waits in ``cpp.unrouted``, so nothing is dropped silently. A failed message is republished to a
``S.retry.<N>ms`` queue and, when its TTL expires, dead-lettered through the default exchange back into ``S``
(only S, not every service bound to its routing key).
"""

from __future__ import annotations

from kombu import Connection, Exchange, Queue, binding

from ..contracts.topology import (  # noqa: F401 - the names, re-exported for services' imports
    EXCHANGE_NAME,
    MAIN_QUEUE_OPTIONS,
    SUBSCRIPTIONS,
    UNROUTED_NAME,
    binding_key,
    bindings_of,
    main_queue_name,
    parked_queue_name,
    retry_queue_name,
)

#: What queues were bound to before bindings were derived from the handlers: a consumer unbinds those it no
#: longer has when it declares its queue, so an existing broker stops routing it what no handler takes.
RETIRED_BINDINGS: dict[str, tuple[str, ...]] = {
    "plans": ("deadline.#", "audit.#"),
    "scheduler": (
        "case.#",
        "strategy_discussion.#",
        "enquiry.#",
        "conference.#",
        "plan.#",
        "core_group.#",
        "visit.#",
        "report.#",
        "escalation.#",
        "resource_panel.#",
        "child_in_need_plan.#",
        "audit.#",
        "access.#",
        "staff.#",
        "child.registered.*",
        "child.updated.*",
    ),
    "notify": ("#",),
    "docs": (
        "case.#",
        "conference.#",
        "plan.#",
        "core_group.#",
        "report.#",
        "deadline.#",
        "audit.#",
        "access.#",
        "child.restriction_set.*",
        "child.restriction_lifted.*",
        "child.registered.*",
        "child.updated.*",
        "staff.#",
    ),
}

unrouted_exchange = Exchange(UNROUTED_NAME, type="fanout", durable=True)
events_exchange = Exchange(EXCHANGE_NAME, type="topic", durable=True, arguments={"alternate-exchange": UNROUTED_NAME})
unrouted_queue = Queue(UNROUTED_NAME, exchange=unrouted_exchange, routing_key="", durable=True)


def broker_vhost(broker_url: str) -> str:
    """The virtual host the publishers and consumers use with this broker
    URL, as kombu reads it: ``/`` when the URL names none
    (``amqp://host:5672//``), else its path unquoted (``/cpp``: ``cpp``).
    Nothing is connected."""
    return Connection(broker_url).virtual_host


def main_queue(service: str) -> Queue:
    patterns = SUBSCRIPTIONS[service]
    return Queue(
        main_queue_name(service),
        exchange=events_exchange,
        bindings=[binding(events_exchange, routing_key=p) for p in patterns],
        **MAIN_QUEUE_OPTIONS,
    )


def retry_queues(service: str, delays: tuple[float, ...]) -> list[Queue]:
    return [
        Queue(
            retry_queue_name(service, d),
            durable=True,
            queue_arguments={
                "x-message-ttl": int(round(d * 1000)),
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": main_queue_name(service),
            },
        )
        for d in delays
    ]


def parked_queue(service: str) -> Queue:
    return Queue(parked_queue_name(service), durable=True)


def declare_all(channel) -> None:
    """Declare the exchanges and every consumer's main queue (idempotent):
    what a publisher needs so that no event is published into the void."""
    unrouted_exchange(channel).declare()
    unrouted_queue(channel).declare()
    events_exchange(channel).declare()
    for service in SUBSCRIPTIONS:
        main_queue(service)(channel).declare()


def declare_service(channel, service: str, delays: tuple[float, ...]) -> None:
    """Declare one consumer's queues: main, retry delays and parked; and unbind its main queue from the keys
    it no longer has (``RETIRED_BINDINGS``; unbinding a key that is not bound does nothing)."""
    declare_all(channel)
    for queue in (*retry_queues(service, delays), parked_queue(service)):
        queue(channel).declare()
    current = set(SUBSCRIPTIONS.get(service, ()))
    for key in RETIRED_BINDINGS.get(service, ()):
        if key not in current:
            channel.queue_unbind(queue=main_queue_name(service), exchange=EXCHANGE_NAME, routing_key=key)
