"""The exchanges, queues and bindings of the platform, declared identically
by every publisher and consumer.

Publishers declare the consumers' queues too: a message published before its
consumer ever started must wait in that consumer's durable queue, not vanish.
Anything published that no queue is bound for goes to the alternate exchange
and waits in ``cpp.unrouted``, so nothing is dropped silently.

Per consuming service ``S``:
* ``S``            durable queue bound to ``cpp.events`` by the patterns of S's
  event handlers (``SUBSCRIPTIONS``, derived from each installed service's
  ``Handlers``: what a service consumes is written once, where it is handled);
* ``S.retry.<N>ms`` one durable delay queue per configured retry delay: a
  failed message is republished there and, when its TTL expires, dead-lettered
  through the default exchange back into ``S`` (only S, not every service
  bound to its routing key);
* ``S.parked``     durable queue where messages that are malformed or keep
  failing wait, with the reason in their headers, for an operator.
"""
from __future__ import annotations

import threading
from collections.abc import Mapping

from kombu import Connection, Exchange, Queue, binding

EXCHANGE_NAME = "cpp.events"
UNROUTED_NAME = "cpp.unrouted"


def binding_key(pattern: str) -> str:
    """A handler's event type pattern (fnmatch: ``case.*``, ``*``, ``staff.updated.v1``) as a topic binding
    key that routes every type it matches (``case.#``, ``#``, ``staff.updated.v1``): a word with a wildcard,
    and every word after it, becomes ``#`` (fnmatch's ``*`` crosses dots). The handlers match again, so a key
    wider than its pattern costs only the deliveries no handler takes."""
    words = pattern.split(".")
    for i, word in enumerate(words):
        if any(ch in word for ch in "*?["):
            return ".".join([*words[:i], "#"])
    return pattern


def _covers(wide: str, key: str) -> bool:
    return wide != key and (wide == "#" or (wide.endswith(".#") and key.startswith(wide[:-1])))


def bindings_of(patterns) -> tuple[str, ...]:
    """The binding keys for handlers' patterns, once each, without keys a wider one already routes."""
    keys = tuple(dict.fromkeys(binding_key(p) for p in patterns))
    return tuple(k for k in keys if not any(_covers(w, k) for w in keys))


#: What queues were bound to before bindings were derived from the handlers: a consumer unbinds those it no
#: longer has when it declares its queue, so an existing broker stops routing it what no handler takes.
RETIRED_BINDINGS: dict[str, tuple[str, ...]] = {
    "plans": ("deadline.#", "audit.#"),
    "scheduler": ("case.#", "strategy_discussion.#", "enquiry.#", "conference.#", "plan.#", "core_group.#",
                  "visit.#", "report.#", "escalation.#", "resource_panel.#", "child_in_need_plan.#", "audit.#",
                  "access.#", "staff.#", "child.registered.*", "child.updated.*"),
    "notify": ("#",),
    "docs": ("case.#", "conference.#", "plan.#", "core_group.#", "report.#", "deadline.#", "audit.#", "access.#",
             "child.restriction_set.*", "child.restriction_lifted.*", "child.registered.*", "child.updated.*",
             "staff.#"),
}


class _Subscriptions(Mapping):
    """What each consuming service's queue is bound to: derived from the event handlers of every installed
    service (``cpp.services`` entry points; a service with no handlers consumes nothing), read once."""

    def __init__(self) -> None:
        self._found: dict[str, tuple[str, ...]] | None = None
        self._lock = threading.Lock()

    def _load(self) -> dict[str, tuple[str, ...]]:
        if self._found is None:
            with self._lock:
                if self._found is None:
                    from ..services import installed_services, load_service  # services name this module

                    found = {}
                    for name in installed_services():
                        handlers = load_service(name).handlers
                        if handlers is not None and len(handlers):
                            found[name] = bindings_of(handlers.patterns())
                    self._found = found
        return self._found

    def __getitem__(self, service: str) -> tuple[str, ...]:
        return self._load()[service]

    def __iter__(self):
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


#: Each consuming service's binding keys, by service (derived from its handlers; see ``_Subscriptions``).
SUBSCRIPTIONS: Mapping[str, tuple[str, ...]] = _Subscriptions()

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
    """Declare one consumer's queues: main, retry delays and parked; and unbind its main queue from the keys
    it no longer has (``RETIRED_BINDINGS``; unbinding a key that is not bound does nothing)."""
    declare_all(channel)
    for queue in (*retry_queues(service, delays), parked_queue(service)):
        queue(channel).declare()
    current = set(SUBSCRIPTIONS.get(service, ()))
    for key in RETIRED_BINDINGS.get(service, ()):
        if key not in current:
            channel.queue_unbind(queue=service, exchange=EXCHANGE_NAME, routing_key=key)
