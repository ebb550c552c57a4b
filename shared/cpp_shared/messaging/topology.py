"""The exchanges, queues and bindings of the platform, declared identically
by every publisher and consumer.

Publishers declare the consumers' queues too: a message published before its
consumer ever started must wait in that consumer's durable queue, not vanish.
Anything published that no queue is bound for goes to the alternate exchange
and waits in ``cpp.unrouted``, so nothing is dropped silently.

Per consuming service ``S``:
* ``S``            durable queue bound to ``cpp.events`` by S's patterns;
* ``S.retry.<N>ms`` one durable delay queue per configured retry delay: a
  failed message is republished there and, when its TTL expires, dead-lettered
  through the default exchange back into ``S`` (only S, not every service
  bound to its routing key);
* ``S.parked``     durable queue where messages that are malformed or keep
  failing wait, with the reason in their headers, for an operator.
"""
from __future__ import annotations

from kombu import Connection, Exchange, Queue, binding

EXCHANGE_NAME = "cpp.events"
UNROUTED_NAME = "cpp.unrouted"

# What each service consumes: the routing-key patterns of its queue. Every
# service keeps the others' audit checkpoints (``audit.#``; notify's ``#``),
# and every service but plans, which makes them, the revocations
# (``access.#``).
SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "plans": ("deadline.#", "audit.#"),
    "scheduler": (
        "case.#", "strategy_discussion.#", "enquiry.#", "conference.#", "plan.#",
        "core_group.#", "visit.#", "report.#", "escalation.#", "resource_panel.#", "child_in_need_plan.#",
        "audit.#", "access.#", "staff.#", "child.registered.*", "child.updated.*",
    ),
    "notify": ("#",),
    # docs also keeps who may read a restricted child's documents.
    "docs": ("case.#", "conference.#", "plan.#", "core_group.#", "report.#", "deadline.#", "audit.#", "access.#",
             "child.restriction_set.*", "child.restriction_lifted.*", "child.registered.*", "child.updated.*",
             "staff.#"),
}

unrouted_exchange = Exchange(UNROUTED_NAME, type="fanout", durable=True)
events_exchange = Exchange(
    EXCHANGE_NAME, type="topic", durable=True, arguments={"alternate-exchange": UNROUTED_NAME}
)
unrouted_queue = Queue(UNROUTED_NAME, exchange=unrouted_exchange, routing_key="", durable=True)


def broker_vhost(broker_url: str) -> str:
    """The virtual host the publishers and consumers use with this broker
    URL, as kombu reads it: ``/`` when the URL names none
    (``amqp://host:5672//``), else its path unquoted (``/cpp``: ``cpp``).
    Nothing is connected."""
    return Connection(broker_url).virtual_host


def retry_queue_name(service: str, delay_seconds: float) -> str:
    # Named by delay: changing the configured delays creates new queues
    # instead of clashing with the arguments of existing ones.
    return f"{service}.retry.{int(round(delay_seconds * 1000))}ms"


def parked_queue_name(service: str) -> str:
    return f"{service}.parked"


def main_queue(service: str) -> Queue:
    patterns = SUBSCRIPTIONS[service]
    return Queue(
        service,
        exchange=events_exchange,
        bindings=[binding(events_exchange, routing_key=p) for p in patterns],
        durable=True,
    )


def retry_queues(service: str, delays: tuple[float, ...]) -> list[Queue]:
    return [
        Queue(
            retry_queue_name(service, d),
            durable=True,
            queue_arguments={
                "x-message-ttl": int(round(d * 1000)),
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": service,
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
    """Declare one consumer's queues: main, retry delays and parked."""
    declare_all(channel)
    for queue in (*retry_queues(service, delays), parked_queue(service)):
        queue(channel).declare()
