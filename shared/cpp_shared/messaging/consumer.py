"""Consuming events: idempotent handlers, ack after commit, delayed retries,
and a parked queue for what keeps failing.

A service declares its handlers on a ``Handlers`` registry; the framework,
not the handler, owns acks, retries and connection recovery:

* each message is parsed as a CloudEvent; a malformed one is parked at once;
* the handlers for its type run inside one unit of work that also marks the
  event id processed, so the effect and the mark commit together; the units
  of the messages already delivered are committed together (group commit,
  a savepoint each), never two of one subject in the same commit;
* the message is acked only after that commit; a consumer killed before the
  ack gets the message redelivered and the processed mark turns the second
  delivery into a no-op;
* the outcome is counted (``BusCounters``) in that same unit of work, or,
  for a duplicate, a retry or a parked message, which commit nothing else,
  in a small unit of its own before the ack: the counts survive any crash;
* handlers write only through their unit of work (``ctx.uow``): work with
  effects outside the store is published as an event and done by its own
  consumer, so that a redelivery can never repeat it;
* a handler that raises is retried after a growing delay (the message goes
  to a delay queue that dead-letters it back after its TTL); after the last
  retry, or at once for a ``PermanentFailure``, it is parked in
  ``<service>.parked`` with the error in its headers;
* a handler that kills its process (a crash, memory exhausted) raises
  nothing, and the broker redelivers the message forever: so a message the
  broker marks redelivered is handled alone, after a count of the handlings
  begun is committed (``bus_redeliveries``); one found with ``crash_limit``
  begun is parked instead. First deliveries pay nothing for this.
"""

from __future__ import annotations

import fnmatch
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kombu import Connection, Producer
from kombu.mixins import ConsumerMixin

from ..contracts.topology import parked_queue_name, retry_queue_name
from ..logs import bind_context, clear_context, get_logger
from ..metrics import BusCounters
from ..store import AlreadyProcessed, CommitOutcomeUnknown, Store, StoreError, StoreUnavailable, UnitOfWork
from .events import MalformedEvent, parse_event
from .topology import declare_service, main_queue

log = get_logger("cpp.consumer")

ATTEMPT_HEADER = "x-cpp-attempt"
ERROR_HEADER = "x-cpp-error"
HANDLER_HEADER = "x-cpp-handler"
ROUTING_KEY_HEADER = "x-cpp-routing-key"
PARKED_AT_HEADER = "x-cpp-parked-at"
REDELIVERIES = "bus_redeliveries"  # {_id: "<service>:<event id>", begun, last_begun_at}


class PermanentFailure(Exception):
    """Raised by a handler for an event it can never handle: parked at once."""


@dataclass(frozen=True)
class HandlerContext:
    service: str
    store: Store
    uow: UnitOfWork
    attempt: int
    app: Any = None  # the service's context (settings, plugins, authority) when run by its worker


Handler = Callable[[dict[str, Any], HandlerContext], None]


def run_handlers(
    handlers: Handlers, event: dict[str, Any], *, service: str, store: Store, attempt: int = 1, app: Any = None
) -> tuple[UnitOfWork, list[str]]:
    """Run an event's handlers into a new unit of work, marked processed and not committed: the one way a
    service applies an event (its worker's consumer, and ``cpp_shared.testing.hand_over``). Returns the unit
    and the names of the handlers that ran."""
    matched = handlers.for_type(event["type"])
    uow = store.begin()
    ctx = HandlerContext(service=service, store=store, uow=uow, attempt=attempt, app=app)
    for _, fn in matched:
        fn(event, ctx)
    uow.mark_processed(event["id"], service)
    return uow, [name for name, _ in matched]


def _not_the_events_fault(exc: BaseException) -> bool:
    """The store could not take the commit, or did not say whether it did:
    the message goes back to the queue, no attempt spent. Safe when the
    commit did happen: the processed mark makes the redelivery a duplicate."""
    return isinstance(exc, StoreUnavailable | CommitOutcomeUnknown)


def by_subject(event: dict[str, Any]) -> str:
    return event.get("subject") or event["id"]


class Handlers:
    """A service's event handlers, by event type pattern (fnmatch: ``case.*``).

    ``ordering_key`` names what the handlers' effects hang on: two events
    with the same key are never committed in one batch, so each one's
    handlers see the effects of the one before. The default is the event's
    subject; a service whose state spans subjects (the scheduler files a
    plan's events under its case) gives its own.
    """

    def __init__(self, ordering_key: Callable[[dict[str, Any]], str] = by_subject) -> None:
        self._routes: list[tuple[str, str, Handler]] = []
        self.ordering_key = ordering_key

    def on(self, *patterns: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            for pattern in patterns:
                self._routes.append((pattern, fn.__name__, fn))
            return fn

        return register

    def patterns(self) -> list[str]:
        """Every event type pattern a handler is registered for, in registration order, once each."""
        return list(dict.fromkeys(pattern for pattern, _, _ in self._routes))

    def for_type(self, event_type: str) -> list[tuple[str, Handler]]:
        return [(name, fn) for pattern, name, fn in self._routes if fnmatch.fnmatchcase(event_type, pattern)]

    def __len__(self) -> int:
        return len(self._routes)


class EventConsumer(ConsumerMixin):
    def __init__(
        self,
        service: str,
        store: Store,
        broker_url: str,
        handlers: Handlers,
        *,
        retry_delays: tuple[float, ...],
        prefetch: int = 50,
        app: Any = None,
        crash_limit: int = 3,
    ):
        self.service = service
        self.crash_limit = crash_limit
        self.app = app
        self.store = store
        self.handlers = handlers
        self.retry_delays = retry_delays
        self.max_attempts = len(retry_delays) + 1
        self.prefetch = prefetch
        self.connection = Connection(broker_url, heartbeat=30)
        # Retries and parking are published on a connection of their own with
        # confirms: waiting for a confirm on the consuming connection would
        # dispatch deliveries re-entrantly into on_message.
        self._republish_url = broker_url
        self._republisher: Producer | None = None
        self._republish_conn: Connection | None = None
        self.ready = threading.Event()
        self.counters = BusCounters(store)
        self.batch_size = max(1, min(prefetch, 100))
        self._batch: list[tuple[Any, dict[str, Any]]] = []
        self._batch_keys: set[str] = set()

    # --- kombu ConsumerMixin ---
    def get_consumers(self, Consumer, channel):
        declare_service(channel, self.service, self.retry_delays)
        return [
            Consumer(
                queues=[main_queue(self.service)],
                on_message=self.on_message,
                prefetch_count=self.prefetch,
                no_ack=False,
            )
        ]

    def on_consume_ready(self, connection, channel, consumers, **kwargs):
        log.info("consumer ready", queue=self.service)
        self.ready.set()

    def on_connection_error(self, exc, interval):
        self.ready.clear()
        log.warning("broker unreachable; reconnecting", error=str(exc), retry_in=interval)

    def stop(self) -> None:
        self.should_stop = True

    # --- the loop: kombu's, with group commit ---
    def consume(self, limit=None, timeout=None, safety_interval=1, **kwargs):
        """kombu's consume loop, gathering the messages already delivered into
        a batch that is committed when nothing more is waiting (a drain with
        no timeout finds nothing) or the batch is full: one durable commit for
        many messages instead of one each. Unacked messages of a batch that
        is cut off by a lost connection go back to the queue."""
        with self.consumer_context(**kwargs) as (conn, channel, consumers):
            try:
                while True:
                    if self.should_stop:
                        self._flush()
                        break
                    try:
                        conn.drain_events(timeout=0 if self._batch else safety_interval)
                    except TimeoutError:
                        if self._batch:
                            self._flush()
                        else:
                            conn.heartbeat_check()
                    except OSError:
                        if not self.should_stop:
                            raise
                    else:
                        yield
            finally:
                self._batch, self._batch_keys = [], set()

    def on_message(self, message) -> None:
        clear_context(self.service)
        try:
            event = parse_event(message.body)
        except MalformedEvent as exc:
            if self._park(message, reason=str(exc), handler="-", once=_malformed_key(self.service, message)):
                message.ack()
            return
        if message.delivery_info.get("redelivered"):
            self._flush()
            self._handle_redelivered(message, event)
            return
        # Events about one subject (a case, a plan) are never committed in the
        # same batch: each one's handlers see the effects of the one before.
        key = self.handlers.ordering_key(event)
        if key in self._batch_keys:
            self._flush()
        self._batch.append((message, event))
        self._batch_keys.add(key)
        if len(self._batch) >= self.batch_size:
            self._flush()

    def _flush(self) -> None:
        batch, self._batch, self._batch_keys = self._batch, [], set()
        prepared = []
        for message, event in batch:
            self._bind(event)
            try:
                prepared.append((message, event, *self._run_handlers(message, event)))
            except Exception as exc:
                self._settle_failure(message, event, exc)
        if not prepared:
            return
        try:
            outcomes = self.store.commit_all([uow for _, _, uow, _ in prepared])
            if len(outcomes) != len(prepared):
                raise StoreError(f"commit_all answered {len(outcomes)} outcomes for {len(prepared)} units")
        except StoreError as exc:
            # Whatever the store raised, the loop goes on: the batch goes
            # back to the queue unacked (handled again, and its processed
            # marks make any unit that did commit a duplicate).
            self._hold_back([m for m, *_ in prepared], exc)
            return
        held: list[tuple[Any, StoreError]] = []
        for (message, event, _, names), outcome in zip(prepared, outcomes):
            self._bind(event)
            if outcome is None:
                self._done(message, names)
            elif isinstance(outcome, AlreadyProcessed):
                self._settle_failure(message, event, outcome)
            elif _not_the_events_fault(outcome):
                held.append((message, outcome))  # requeued together below, after one pause
            else:
                # A conflict with another event of the batch: run it again on
                # its own, now that the batch's effects are committed (or, for
                # another error of the store, to be retried or parked by it).
                self._handle_alone(message, event)
        if held:
            self._hold_back([m for m, _ in held], held[0][1])

    def _handle_redelivered(self, message, event: dict[str, Any]) -> None:
        """A message delivered before to a consumer that did not ack it (it
        lost its connection, or died handling it): handled alone, each
        handling begun counted and committed first, so that the handling
        that kills the process is the one counted; parked once
        ``crash_limit`` handlings were begun."""
        self._bind(event)
        key = f"{self.service}:{event['id']}"
        try:
            if self.store.is_processed(event["id"], self.service):
                raise AlreadyProcessed(event["id"])
            counts = self.store.collection(REDELIVERIES)
            begun = (counts.find_one({"_id": key}) or {}).get("begun", 0)
            if begun >= self.crash_limit:
                raise PermanentFailure(f"the worker died {begun} times handling it (redelivered each time)")
            counts.update_one({"_id": key}, {"$inc": {"begun": 1}, "$set": {"last_begun_at": time.time()}}, upsert=True)
        except Exception as exc:
            self._settle_failure(message, event, exc)
            return
        self._handle_alone(message, event)

    def _handle_alone(self, message, event: dict[str, Any]) -> None:
        try:
            uow, names = self._run_handlers(message, event)
            [outcome] = self.store.commit_all([uow])
            if outcome is not None:
                raise outcome
        except Exception as exc:
            if _not_the_events_fault(exc):
                self._hold_back([message], exc)
            else:
                self._settle_failure(message, event, exc)
        else:
            self._done(message, names)

    def _run_handlers(self, message, event: dict[str, Any]) -> tuple[UnitOfWork, str]:
        """Run the event's handlers into a new unit of work (not committed)."""
        attempt = _int((message.headers or {}).get(ATTEMPT_HEADER), 1)
        # A redelivery is recognised at commit by its processed mark; when the
        # broker says it is one, it is looked up first so that the handlers
        # do not even run on an event known to be done.
        if attempt > 1 or message.delivery_info.get("redelivered"):
            if self.store.is_processed(event["id"], self.service):
                raise AlreadyProcessed(event["id"])
        served = getattr(self.store, "authority", None)
        if served is not None and event.get("authority") != served:
            # A broker shared by deployments, or a misrouted message: another
            # authority's event is never applied to this one's records.
            raise PermanentFailure(
                f"the event is for authority {event.get('authority')!r}; this deployment serves {served!r}"
            )
        uow, matched = run_handlers(
            self.handlers, event, service=self.service, store=self.store, attempt=attempt, app=self.app
        )
        names = ",".join(matched) or "-"
        self.counters.add(uow, "consumed" if matched else "ignored", names)
        return uow, names

    def _done(self, message, names: str) -> None:
        message.ack()
        log.info("event handled", handlers=names)

    def _hold_back(self, messages: list, exc: Exception) -> None:
        # Not the events' fault: back to the queue without spending an attempt.
        log.warning("store unavailable; requeueing", error=f"{type(exc).__name__}: {exc}", count=len(messages))
        time.sleep(1.0)
        for message in messages:
            message.requeue()

    def _settle_failure(self, message, event: dict[str, Any], exc: Exception) -> None:
        """Retry later, park, or drop a duplicate; then ack the original."""
        attempt = _int((message.headers or {}).get(ATTEMPT_HEADER), 1)
        if _not_the_events_fault(exc):
            self._hold_back([message], exc)
            return
        once = f"{self.service}|{event['id']}|{attempt}"  # this attempt's outcome is counted once
        if isinstance(exc, AlreadyProcessed):
            log.info("duplicate event ignored")
            counted = self._count(message, "duplicate", "-")
        elif isinstance(exc, PermanentFailure):
            counted = self._park(message, reason=f"PermanentFailure: {exc}", handler=self._names(event), once=once)
        elif attempt < self.max_attempts:
            reason = f"{type(exc).__name__}: {exc}"
            delay = self.retry_delays[attempt - 1]
            log.warning(
                "handler failed; will retry",
                error=reason,
                attempt=attempt,
                retry_in=delay,
                trace="".join(traceback.format_exception(exc, limit=5)),
            )
            self._republish(
                message,
                retry_queue_name(self.service, delay),
                {ATTEMPT_HEADER: attempt + 1, ERROR_HEADER: reason[:1000]},
            )
            counted = self._count(message, "retried", self._names(event), once=once)
        else:
            reason = f"{type(exc).__name__}: {exc}"
            log.error("handler failed for the last time; parking", error=reason, attempt=attempt)
            counted = self._park(message, reason=reason, handler=self._names(event), once=once)
        if counted:
            message.ack()

    def _count(self, message, kind: str, handler: str, once: str | None = None) -> bool:
        """Commit the count of an outcome that commits nothing else, before
        the ack; with ``once`` (the event and its attempt), that attempt's
        outcome is counted once however often a crash before the ack makes
        the consumer settle it again. When the store cannot take the count,
        the message goes back to the queue unacked (False): its outcome is
        settled again, and counted, on the next delivery."""
        try:
            self.counters.commit(kind, handler, once=None if once is None else f"{once}|{kind}")
        except StoreError as exc:
            self._hold_back([message], exc)
            return False
        return True

    def _bind(self, event: dict[str, Any]) -> None:
        clear_context(self.service)
        bind_context(event_id=event["id"], event_type=event["type"], correlation_id=event.get("correlationid"))

    def _names(self, event: dict[str, Any]) -> str:
        return ",".join(name for name, _ in self.handlers.for_type(event["type"])) or "-"

    def _park(self, message, *, reason: str, handler: str, once: str | None) -> bool:
        """Park a copy, then count it; False when the count could not be
        committed (the original is back in the queue, see ``_count``)."""
        log.error("message parked", reason=reason, handler=handler)
        self._republish(
            message,
            parked_queue_name(self.service),
            {ERROR_HEADER: reason[:2000], HANDLER_HEADER: handler, PARKED_AT_HEADER: time.time()},
        )
        return self._count(message, "parked", handler, once=once)

    def _republish(self, message, queue: str, extra_headers: dict[str, Any]) -> None:
        """Publish a copy (confirmed) before the original is acked: at worst a
        duplicate, which the processed mark absorbs; never a loss."""
        original = message.headers or {}
        routing_key = original.get(ROUTING_KEY_HEADER) or message.delivery_info.get("routing_key", "")
        headers = {**original, ROUTING_KEY_HEADER: routing_key, **extra_headers}
        for attempt in (1, 2):
            try:
                producer = self._producer()
                producer.publish(
                    message.body,
                    exchange="",
                    routing_key=queue,
                    headers=headers,
                    content_type=message.content_type or "application/octet-stream",
                    content_encoding=message.content_encoding or "binary",
                    delivery_mode=2,
                    message_id=message.properties.get("message_id"),
                    retry=False,
                )
                return
            except Exception:
                self._close_republisher()
                if attempt == 2:
                    raise  # the original stays unacked and is redelivered

    def _producer(self) -> Producer:
        if self._republisher is None:
            conn = Connection(self._republish_url, transport_options={"confirm_publish": True}, connect_timeout=5)
            conn.ensure_connection(max_retries=1)
            self._republish_conn, self._republisher = conn, Producer(conn.channel())
        return self._republisher

    def _close_republisher(self) -> None:
        if self._republish_conn is not None:
            try:
                self._republish_conn.release()
            except Exception:
                pass
        self._republish_conn = self._republisher = None

    def close(self) -> None:
        self._close_republisher()
        try:
            self.connection.release()
        except Exception:
            pass


def _malformed_key(service: str, message) -> str | None:
    """A malformed message's outcome key, from its ``message_id`` when it has
    one (the relay always sets it); without one, it may be counted again
    after a crash between its count and its ack."""
    message_id = message.properties.get("message_id")
    return f"{service}|{message_id}|malformed" if isinstance(message_id, str) and message_id else None


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
