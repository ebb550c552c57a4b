"""A service's worker process: its outbox relay and its event consumer.

Run apart from the web processes (``cpp worker SERVICE``) so that web and
message handling scale separately; several workers of one service compete
on its queue, and a lease lets one of them relay the outbox at a time.
"""

from __future__ import annotations

import signal
import threading

from . import audit_checkpoints, heartbeat, idempotency
from .logs import get_logger
from .messaging.consumer import EventConsumer
from .messaging.relay import OutboxRelay
from .web import ServiceContext

log = get_logger("cpp.worker")


class Worker:
    def __init__(self, ctx: ServiceContext):
        self.ctx = ctx
        s = ctx.settings
        self.stop_event = threading.Event()
        self.relay = OutboxRelay(ctx.store, s.broker_url, batch=s.relay_batch, lease_seconds=s.relay_lease_seconds)
        self.consumer = (
            EventConsumer(
                ctx.spec.name,
                ctx.store,
                s.broker_url,
                ctx.spec.handlers,
                retry_delays=s.retry_delays,
                prefetch=s.prefetch,
                app=ctx,
            )
            if ctx.spec.handlers is not None
            else None
        )
        self._relay_thread = threading.Thread(
            target=self.relay.run, args=(self.stop_event,), name="outbox-relay", daemon=True
        )
        # Beside the service's own loops, the signed checkpoints of its audit
        # log (a key that cannot be loaded stops the worker here: ConfigError)
        # and the sweep of expired idempotency keys.
        self._background = [
            threading.Thread(target=loop, args=(self.stop_event,), name=name, daemon=True)
            for name, loop in [
                *(ctx.spec.background(ctx) if ctx.spec.background else []),
                *audit_checkpoints.background(ctx),
                *idempotency.background(ctx),
            ]
        ]
        # Its sign of life for a container's healthcheck (`cpp worker-health`).
        self._heartbeat_thread = threading.Thread(
            target=heartbeat.run,
            name="heartbeat",
            args=(heartbeat.heartbeat_path(s), lambda: [self._relay_thread, *self._background], self.stop_event),
            daemon=True,
        )

    def stop(self, *_: object) -> None:
        if not self.stop_event.is_set():
            log.info("worker stopping")
        self.stop_event.set()
        if self.consumer is not None:
            self.consumer.stop()

    def run(self, install_signals: bool = True) -> None:
        if install_signals:
            signal.signal(signal.SIGTERM, self.stop)
            signal.signal(signal.SIGINT, self.stop)
        log.info("worker starting", service=self.ctx.spec.name, broker=self.ctx.settings.broker_url.rsplit("@", 1)[-1])
        self._relay_thread.start()
        for thread in self._background:
            thread.start()
        self._heartbeat_thread.start()
        try:
            if self.consumer is not None:
                self.consumer.run()
            else:
                self.stop_event.wait()
        finally:
            self.stop()
            self._relay_thread.join(timeout=10)
            for thread in (*self._background, self._heartbeat_thread):
                thread.join(timeout=10)
            if self.consumer is not None:
                self.consumer.close()
            log.info("worker stopped")
