"""Structured JSON logs (structlog) with the request id and CloudEvent id.

`bind_context(request_id=..., event_id=...)` puts ids in every line logged
while handling one request or one message, so a single event can be followed
from the HTTP call that caused it, through the outbox relay, to each consumer.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO, cast

import structlog
from structlog.contextvars import bind_contextvars, clear_contextvars

_configured = False


class _CurrentStderr:
    """Whatever ``sys.stderr`` is when a line is written (a test runner or a
    supervisor may swap it after logging was configured)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure(service: str, fmt: str = "json", level: int = logging.INFO) -> None:
    global _configured
    if _configured:
        return
    renderer = structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # One write() per line: processes sharing a log file never interleave
        # inside a line (print() writes the text and the newline apart).
        logger_factory=structlog.WriteLoggerFactory(cast(TextIO, _CurrentStderr())),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    _configured = True


def bind_context(**ids: str | None) -> None:
    bind_contextvars(**{k: v for k, v in ids.items() if v})


def clear_context(service: str | None = None) -> None:
    clear_contextvars()
    if service:
        bind_contextvars(service=service)


def get_logger(name: str | None = None):
    return structlog.get_logger(name)
