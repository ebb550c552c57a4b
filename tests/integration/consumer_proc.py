"""A consumer process for the crash tests: the docs queue of a vhost, with
one handler that records its effect in a SQLite store.

CRASH_POINT=in_handler: the handler writes a marker file and hangs before
its commit. CRASH_POINT=after_commit: the effect is committed, then the
process hangs before the ack. Either way the test SIGKILLs it there; the
next run (without CRASH_POINT) must give exactly one effect.

PREFETCH (default 1) sets the consumer's prefetch, so its group commit;
HANDLER_SECONDS (default 0) makes each handling take that long, so that a
test can kill the process in the middle of a stream."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from cpp_shared.messaging.consumer import EventConsumer, Handlers
from cpp_shared.store import open_store

store = open_store(sys.argv[1])
broker_url = sys.argv[2]
marker = Path(sys.argv[3])
crash = os.environ.get("CRASH_POINT", "")
prefetch = int(os.environ.get("PREFETCH", "1"))
handler_seconds = float(os.environ.get("HANDLER_SECONDS", "0"))
handlers = Handlers()


@handlers.on("case.*")
def record(event, ctx):
    ctx.uow.insert("effects", {"event_id": event["id"]})
    if handler_seconds:
        time.sleep(handler_seconds)
    if crash == "in_handler":
        marker.write_text("in handler")
        time.sleep(600)


class CrashingConsumer(EventConsumer):
    def _done(self, message, names):  # called after the commit, before the ack
        if crash == "after_commit":
            marker.write_text("committed")
            time.sleep(600)
        super()._done(message, names)


consumer = CrashingConsumer("docs", store, broker_url, handlers, retry_delays=(0.2,), prefetch=prefetch)
consumer.run()
