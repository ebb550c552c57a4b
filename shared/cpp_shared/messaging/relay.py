"""The outbox relay: publishes committed events to RabbitMQ.

Events are written to the outbox in the same commit as the state change
(see ``UnitOfWork.publish``); this relay sends them in commit order with
publisher confirms and persistent delivery, and marks them sent only after
the broker confirmed them. A crash between the confirm and the mark sends an
event twice, never zero times; consumers are idempotent on the event id.

Several replicas of a service may run a relay each: a lease in the store
lets one publish at a time, which keeps the commit order on the wire.

The lease (``CPP_RELAY_LEASE_SECONDS``, default 1.5 s) is short so that a
relay that dies without giving it up (SIGKILL, a lost machine) is replaced
quickly: its holder renews it every third of its length (0.5 s), a standby
tries to take it every tenth (0.15 s), so a standby publishes at most
``lease + lease/10`` (1.65 s) after the holder's last renewal, hence after
it died. A relay that stops cleanly gives the lease up at once.

The holder publishes only within two thirds of the lease (1 s) of the start
of its last successful renewal, checked on its own monotonic clock before
every message: a relay that was paused (SIGSTOP, a stalled VM) and wakes up
after its lease could have been taken stops before its next message, and
reads the outbox again under a fresh lease rather than going on with a
batch another relay may have sent meanwhile. What remains is the message
being handed to the broker when the pause began: it may be sent after the
successor started, a duplicate that consumers ignore by event id, possibly
ahead of an older event the successor sends (as a retry can be).

The lease's expiry is written and compared on the database server's clock
(``Store.acquire_lease``: ``$$NOW`` on MongoDB, the one host's clock on
SQLite), never on the replicas' own: their clock skew no longer matters.
The relay's windows above are measured on its own monotonic clock, from
before each renewal was sent, so they end no later than the lease does.

Fencing: each take of the lease gets a token greater than every earlier
take's (a renewal keeps it). The relay reads each batch under the token it
held then, and marks what it sent with ``outbox_mark_sent(..., fence=(lease,
token))``, which the store refuses, in the same atomic write, once anyone
has taken the lease since. A relay paused past its lease (GC, SIGSTOP, a
stalled VM) and overtaken therefore marks nothing when it wakes: what it
sent stays the successor's to send and mark (duplicates at most, which
consumers ignore by event id), and it gives up its batch and reads again.
A renewal that finds another take (the lease was lost and taken back
meanwhile) ends the batch read under the old token the same way.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable

from kombu import Connection, Producer

from ..logs import get_logger
from ..store import Store, StoreError
from .events import CONTENT_TYPE
from .topology import declare_all, events_exchange

log = get_logger("cpp.relay")
LEASE = "outbox-relay"
LEASE_SECONDS = 1.5


class OutboxRelay:
    def __init__(
        self,
        store: Store,
        broker_url: str,
        *,
        batch: int = 200,
        idle_sleep: float = 0.05,
        lease_seconds: float = LEASE_SECONDS,
        max_backoff: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.store = store
        self.broker_url = broker_url
        self.batch = batch
        self.idle_sleep = idle_sleep
        self.lease_seconds = lease_seconds
        self.renew_every = lease_seconds / 3  # the holder renews this long after its last renewal began
        self.publish_window = lease_seconds * 2 / 3  # ...and publishes this long after it began, no longer
        self.standby_poll = lease_seconds / 10  # a relay without the lease tries to take it this often
        self.max_backoff = max_backoff
        self.clock = clock
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._renewed_at: float | None = None  # when the last successful renewal began (clock); None: not held
        self._taken_at: float | None = None  # when this relay last took the lease, until its first batch
        self._token: int | None = None  # the fencing token of this relay's take of the lease, while held
        self._started_at = clock()
        self._connection: Connection | None = None
        self._producer: Producer | None = None
        self.wakeup = threading.Event()

    # --- the lease ---
    def hold_lease(self) -> bool:
        """Take the lease, or renew it when a third of it has passed; True
        while this relay may publish. A store write only when renewing."""
        now = self.clock()
        if self._renewed_at is not None and now - self._renewed_at < self.renew_every:
            return True
        return self._acquire(now)

    def _acquire(self, started: float) -> bool:
        token = self.store.acquire_lease(LEASE, self.holder, self.lease_seconds)
        if token is not None and (self._renewed_at is None or token != self._token):
            self._taken_at = started
            log.info(
                "relay took the lease",
                holder=self.holder,
                token=token,
                waited_seconds=round(started - self._started_at, 3),
            )
        elif token is None and self._renewed_at is not None:
            log.warning("relay lost the lease", holder=self.holder)
        self._renewed_at = started if token is not None else None
        self._token = token
        # A renewal that took longer than the window gives no time to publish.
        return token is not None and self.clock() - started < self.publish_window

    def _may_send(self, token: int) -> bool:
        """Checked before each message of a batch read under ``token``:
        within the window of the last renewal, renewing when due. Past the
        window the lease may have lapsed (the relay was paused): the batch
        stops, and the next one is read again under a lease taken afresh;
        so it does when a renewal finds a take other than ``token``'s."""
        now = self.clock()
        if self._renewed_at is None or now - self._renewed_at >= self.publish_window:
            if self._renewed_at is not None:
                # Paused (or a publish was that slow): the lease may have lapsed.
                log.warning("relay outlived its lease window; reading the outbox again", holder=self.holder)
            self._renewed_at = None
            return False
        if now - self._renewed_at >= self.renew_every:
            return self._acquire(now) and self._token == token
        return True

    def release(self) -> None:
        self._renewed_at = self._token = None
        self.store.release_lease(LEASE, self.holder)

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
        """Publish one batch under the lease; returns how many were sent (0
        when another relay holds the lease). Raises on broker or store
        errors (nothing is marked sent that was not confirmed)."""
        if not self.hold_lease() or self._token is None:
            return 0
        token = self._token  # the take this batch is read, sent and marked under
        pending = self.store.outbox_pending(self.batch)
        if not pending:
            return 0
        producer = self._connect()
        sent: list[int] = []
        try:
            for msg in pending:
                if not self._may_send(token):
                    break
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
            if sent and not self.store.outbox_mark_sent(sent, fence=(LEASE, token)):
                # Overtaken (paused past the lease, say): the successor owns
                # these events now and sends them again; this relay stops.
                log.warning(
                    "relay was overtaken; its last events are left for the lease's holder",
                    holder=self.holder,
                    token=token,
                    count=len(sent),
                )
                if self._token == token:
                    self._renewed_at = self._token = None
                sent = []
            elif sent:
                if self._taken_at is not None:
                    log.info(
                        "relay published its first events under the lease",
                        holder=self.holder,
                        count=len(sent),
                        seconds_since_taking=round(self.clock() - self._taken_at, 3),
                    )
                    self._taken_at = None
                log.debug("events published", count=len(sent), last_event_id=pending[len(sent) - 1].message_id)
        return len(sent)

    def run(self, stop: threading.Event) -> None:
        self._started_at = self.clock()
        log.info("relay started", holder=self.holder, lease_seconds=self.lease_seconds)
        try:
            self._loop(stop)
        finally:
            try:  # a clean stop gives the lease up at once: a standby takes over without waiting
                self.release()
            except StoreError:
                pass
            self.close()

    def _loop(self, stop: threading.Event) -> None:
        backoff = 0.2
        while not stop.is_set():
            try:
                if not self.hold_lease():
                    stop.wait(self.standby_poll)
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
                log.warning(
                    "relay cannot publish; events stay in the outbox",
                    error=f"{type(exc).__name__}: {exc}",
                    retry_in=backoff,
                )
                self.close()
                stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)
