"""The outbox relay: publishes committed events to RabbitMQ.

Events are written to the outbox in the same commit as the state change
(see ``UnitOfWork.publish``); this relay sends them in commit order with
publisher confirms and persistent delivery, and marks them sent only after
the broker confirmed them. A crash between the confirm and the mark sends an
event twice, never zero times; consumers are idempotent on the event id.

Several replicas of a service may run a relay each: a lease in the store
lets one publish at a time, which keeps the commit order on the wire.
"""
from __future__ import annotations

import json
import os
import socket
import threading
import uuid

from kombu import Connection, Producer

from ..logs import get_logger
from ..store import Store, StoreError
from .events import CONTENT_TYPE
from .topology import declare_all, events_exchange

log = get_logger("cpp.relay")
LEASE = "outbox-relay"


class OutboxRelay:
    def __init__(self, store: Store, broker_url: str, *, batch: int = 200, idle_sleep: float = 0.05,
                 lease_seconds: float = 15.0, max_backoff: float = 5.0):
        self.store = store
        self.broker_url = broker_url
        self.batch = batch
        self.idle_sleep = idle_sleep
        self.lease_seconds = lease_seconds
        self.max_backoff = max_backoff
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._connection: Connection | None = None
        self._producer: Producer | None = None
        self.wakeup = threading.Event()

    # --- connection ---
    def _connect(self) -> Producer:
        if self._producer is None:
            conn = Connection(self.broker_url, transport_options={"confirm_publish": True}, connect_timeout=5)
            conn.ensure_connection(max_retries=1)
            channel = conn.channel()
            declare_all(channel)
            self._connection, self._producer = conn, Producer(channel, exchange=events_exchange)
            log.info("relay connected", broker=conn.as_uri())
        return self._producer

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.release()
            except Exception:  # closing a broken connection may fail; it is gone either way
                pass
        self._connection = self._producer = None

    # --- work ---
    def publish_pending(self) -> int:
        """Publish one batch; returns how many were sent. Raises on broker
        or store errors (nothing is marked sent that was not confirmed)."""
        pending = self.store.outbox_pending(self.batch)
        if not pending:
            return 0
        producer = self._connect()
        sent: list[int] = []
        try:
            for msg in pending:
                producer.publish(
                    json.dumps(msg.body, separators=(",", ":")),
                    routing_key=msg.routing_key,
                    message_id=msg.message_id,
                    content_type=CONTENT_TYPE,
                    content_encoding="utf-8",
                    delivery_mode=2,
                    headers=dict(msg.headers),
                    retry=False,
                )
                sent.append(msg.seq)
        finally:
            # Whatever the broker confirmed is marked, even if a later publish failed.
            if sent:
                self.store.outbox_mark_sent(sent)
                log.debug("events published", count=len(sent), last_event_id=pending[len(sent) - 1].message_id)
        return len(sent)

    def run(self, stop: threading.Event) -> None:
        backoff = 0.2
        while not stop.is_set():
            try:
                if not self.store.acquire_lease(LEASE, self.holder, self.lease_seconds):
                    stop.wait(min(self.lease_seconds / 3, 2.0))
                    continue
                sent = self.publish_pending()
                backoff = 0.2
                if sent == 0:
                    self.wakeup.wait(self.idle_sleep)
                    self.wakeup.clear()
            except StoreError as exc:
                log.warning("relay cannot read the outbox", error=str(exc), retry_in=backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)
            except Exception as exc:  # broker down, connection reset, channel closed...
                log.warning("relay cannot publish; events stay in the outbox", error=f"{type(exc).__name__}: {exc}",
                            retry_in=backoff)
                self.close()
                stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)
        try:
            self.store.release_lease(LEASE, self.holder)
        except StoreError:
            pass
        self.close()
