"""Consuming events: idempotent handlers, ack after commit, delayed retries,
and a parked queue for what keeps failing.

A service declares its handlers on a ``Handlers`` registry; the framework,
not the handler, owns acks, retries and connection recovery:

* each message is parsed as a CloudEvent; a malformed one is parked at once;
* the handlers for its type run inside one unit of work that also marks the
  event id processed, so the effect and the mark commit together;
* the message is acked only after that commit; a consumer killed before the
  ack gets the message redelivered and the processed mark turns the second
  delivery into a no-op;
* a handler that raises is retried after a growing delay (the message goes
  to a delay queue that dead-letters it back after its TTL); after the last
  retry, or at once for a ``PermanentFailure``, it is parked in
  ``<service>.parked`` with the error in its headers.
"""
from __future__ import annotations

import fnmatch
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable

from kombu import Connection, Producer
from kombu.mixins import ConsumerMixin

from .. import metrics
from ..logs import bind_context, clear_context, get_logger
from ..store import AlreadyProcessed, Store, StoreUnavailable, UnitOfWork
from .events import MalformedEvent, parse_event
from .topology import declare_service, main_queue, parked_queue_name, retry_queue_name

log = get_logger("cpp.consumer")

ATTEMPT_HEADER = "x-cpp-attempt"
ERROR_HEADER = "x-cpp-error"
HANDLER_HEADER = "x-cpp-handler"
ROUTING_KEY_HEADER = "x-cpp-routing-key"
PARKED_AT_HEADER = "x-cpp-parked-at"


class PermanentFailure(Exception):
    """Raised by a handler for an event it can never handle: parked at once."""


@dataclass(frozen=True)
class HandlerContext:
    service: str
    store: Store
    uow: UnitOfWork
    attempt: int


Handler = Callable[[dict[str, Any], HandlerContext], None]


class Handlers:
    """A service's event handlers, by event type pattern (fnmatch: ``case.*``)."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, str, Handler]] = []

    def on(self, *patterns: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            for pattern in patterns:
                self._routes.append((pattern, fn.__name__, fn))
            return fn

        return register

    def for_type(self, event_type: str) -> list[tuple[str, Handler]]:
        return [(name, fn) for pattern, name, fn in self._routes if fnmatch.fnmatchcase(event_type, pattern)]

    def __len__(self) -> int:
        return len(self._routes)


class EventConsumer(ConsumerMixin):
    def __init__(self, service: str, store: Store, broker_url: str, handlers: Handlers, *,
                 retry_delays: tuple[float, ...], prefetch: int = 50):
        self.service = service
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

    # --- kombu ConsumerMixin ---
    def get_consumers(self, Consumer, channel):
        declare_service(channel, self.service, self.retry_delays)
        return [Consumer(queues=[main_queue(self.service)], on_message=self.on_message,
                         prefetch_count=self.prefetch, no_ack=False)]

    def on_consume_ready(self, connection, channel, consumers, **kwargs):
        log.info("consumer ready", queue=self.service)
        self.ready.set()

    def on_connection_error(self, exc, interval):
        self.ready.clear()
        log.warning("broker unreachable; reconnecting", error=str(exc), retry_in=interval)

    def stop(self) -> None:
        self.should_stop = True

    # --- message handling ---
    def on_message(self, message) -> None:
        headers = message.headers or {}
        attempt = _int(headers.get(ATTEMPT_HEADER), 1)
        routing_key = headers.get(ROUTING_KEY_HEADER) or message.delivery_info.get("routing_key", "")
        clear_context(self.service)
        try:
            event = parse_event(message.body)
        except MalformedEvent as exc:
            self._park(message, routing_key, reason=str(exc), handler="-")
            message.ack()
            return
        bind_context(event_id=event["id"], event_type=event["type"], correlation_id=event.get("correlationid"))
        try:
            handled = self._dispatch(event, attempt)
            log.info("event handled", handlers=handled, attempt=attempt)
        except AlreadyProcessed:
            log.info("duplicate event ignored")
            metrics.count(self.store, "duplicate", "-")
        except StoreUnavailable as exc:
            # Not the event's fault: hold it back and try again, without
            # spending one of its attempts.
            log.warning("store unavailable; requeueing", error=str(exc))
            time.sleep(1.0)
            message.requeue()
            return
        except PermanentFailure as exc:
            self._park(message, routing_key, reason=f"PermanentFailure: {exc}", handler=self._names(event))
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            if attempt < self.max_attempts:
                delay = self.retry_delays[attempt - 1]
                log.warning("handler failed; will retry", error=reason, attempt=attempt, retry_in=delay,
                            trace=traceback.format_exc(limit=5))
                self._republish(message, retry_queue_name(self.service, delay), routing_key,
                                {ATTEMPT_HEADER: attempt + 1, ERROR_HEADER: reason[:1000]})
                metrics.count(self.store, "retried", self._names(event))
            else:
                log.error("handler failed for the last time; parking", error=reason, attempt=attempt)
                self._park(message, routing_key, reason=reason, handler=self._names(event))
        message.ack()

    def _names(self, event: dict[str, Any]) -> str:
        return ",".join(name for name, _ in self.handlers.for_type(event["type"])) or "-"

    def _dispatch(self, event: dict[str, Any], attempt: int) -> str:
        if self.store.is_processed(event["id"], self.service):
            raise AlreadyProcessed(event["id"])
        matched = self.handlers.for_type(event["type"])
        with self.store.unit_of_work() as uow:
            ctx = HandlerContext(service=self.service, store=self.store, uow=uow, attempt=attempt)
            for _, fn in matched:
                fn(event, ctx)
            uow.mark_processed(event["id"], self.service)
            names = ",".join(name for name, _ in matched) or "-"
            metrics.count(self.store, "consumed" if matched else "ignored", names, uow=uow)
        return names

    def _park(self, message, routing_key: str, *, reason: str, handler: str) -> None:
        log.error("message parked", reason=reason, handler=handler)
        self._republish(message, parked_queue_name(self.service), routing_key,
                        {ERROR_HEADER: reason[:2000], HANDLER_HEADER: handler, PARKED_AT_HEADER: time.time()})
        metrics.count(self.store, "parked", handler)

    def _republish(self, message, queue: str, routing_key: str, extra_headers: dict[str, Any]) -> None:
        """Publish a copy (confirmed) before the original is acked: at worst a
        duplicate, which the processed mark absorbs; never a loss."""
        headers = {**(message.headers or {}), ROUTING_KEY_HEADER: routing_key, **extra_headers}
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


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
