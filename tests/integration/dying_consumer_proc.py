"""A consumer process for the poison message test: the docs queue of a
vhost, one handler that records its effect in a SQLite store, and that
kills its own process (SIGKILL: no exception, no ack) on an event whose
data says ``poison``."""

from __future__ import annotations

import os
import signal
import sys

from cpp_shared.messaging.consumer import EventConsumer, Handlers
from cpp_shared.store import open_store

store = open_store(sys.argv[1])
handlers = Handlers()


@handlers.on("case.*")
def record(event, ctx):
    if event["data"].get("poison"):
        os.kill(os.getpid(), signal.SIGKILL)
    ctx.uow.insert("effects", {"event_id": event["id"]})


EventConsumer("docs", store, sys.argv[2], handlers, retry_delays=(0.2,), prefetch=10).run()
