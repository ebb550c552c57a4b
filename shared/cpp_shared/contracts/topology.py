"""The names of the broker topology every publisher and consumer agrees on: the exchanges, the queues of each
consuming service, and how an event type routes.

An event type is a versioned dotted name, ``<aggregate>.<what happened>.v<N>`` (``case.opened.v1``, ``TYPE_PATTERN``),
and is also its routing key on the topic exchange ``cpp.events``. Anything published that no queue is bound for goes
to the alternate exchange ``cpp.unrouted`` and waits in the queue of that name.

Per consuming service ``S``:
* ``S``            durable queue bound to ``cpp.events`` by the patterns of S's event handlers (``SUBSCRIPTIONS``,
  derived from each installed service's ``Handlers``: what a service consumes is written once, where it is handled);
* ``S.retry.<N>ms`` one durable delay queue per configured retry delay;
* ``S.parked``     durable queue where messages that are malformed or keep failing wait for an operator.

Declaring these on a broker connection is ``cpp_shared.messaging.topology``'s.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Mapping

EXCHANGE_NAME = "cpp.events"
UNROUTED_NAME = "cpp.unrouted"
TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+\.v[0-9]+$")

#: How each consuming service's main queue is declared: it outlives broker restarts and its consumers.
MAIN_QUEUE_OPTIONS = {"durable": True, "exclusive": False, "auto_delete": False}


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


def bindings_of(patterns: Iterable[str]) -> tuple[str, ...]:
    """The binding keys for handlers' patterns, once each, without keys a wider one already routes."""
    keys = tuple(dict.fromkeys(binding_key(p) for p in patterns))
    return tuple(k for k in keys if not any(_covers(w, k) for w in keys))


def _topic_matches(pattern: list[str], words: list[str]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_topic_matches(rest, words[i:]) for i in range(len(words) + 1))
    return bool(words) and head in ("*", words[0]) and _topic_matches(rest, words[1:])


def routes(key: str, event_type: str) -> bool:
    """Whether a binding key routes an event type, as AMQP topic matching does: ``*`` is one word, ``#`` zero
    or more."""
    return _topic_matches(key.split("."), event_type.split("."))


class _Subscriptions(Mapping[str, tuple[str, ...]]):
    """What each consuming service's queue is bound to: derived from the event handlers of every installed
    service (``cpp.services`` entry points; a service with no handlers consumes nothing), read once, when
    first asked (reading them loads the services)."""

    def __init__(self) -> None:
        self._found: dict[str, tuple[str, ...]] | None = None
        self._lock = threading.Lock()

    def _load(self) -> dict[str, tuple[str, ...]]:
        if self._found is None:
            with self._lock:
                if self._found is None:
                    from ..services import installed_services, load_service  # the services' runtime

                    found = {}
                    for name in installed_services():
                        handlers = load_service(name).handlers
                        if handlers is not None and len(handlers):
                            found[name] = bindings_of(handlers.patterns())
                    self._found = found
        return self._found

    def __getitem__(self, service: str) -> tuple[str, ...]:
        return self._load()[service]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


#: Each consuming service's binding keys, by service (derived from its handlers; see ``_Subscriptions``).
SUBSCRIPTIONS: Mapping[str, tuple[str, ...]] = _Subscriptions()


def main_queue_name(service: str) -> str:
    return service


def retry_queue_name(service: str, delay_seconds: float) -> str:
    # Named by delay: changing the configured delays creates new queues
    # instead of clashing with the arguments of existing ones.
    return f"{service}.retry.{int(round(delay_seconds * 1000))}ms"


def parked_queue_name(service: str) -> str:
    return f"{service}.parked"
