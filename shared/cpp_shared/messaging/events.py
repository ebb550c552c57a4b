"""The event envelope: CloudEvents 1.0 in structured JSON mode.

Event types are versioned dotted names, ``<aggregate>.<what happened>.v<N>``
(``case.opened.v1``); the type is also the AMQP routing key, so a service
binds ``case.#`` to hear every case event. Extensions: ``authority`` (the
authority code of the deployment) and ``correlationid`` (the HTTP request id
that caused the event, to follow it across services in the logs).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from ..contracts.topology import TYPE_PATTERN

CONTENT_TYPE = JSONFormat.CONTENT_TYPE  # application/cloudevents+json
_FORMAT = JSONFormat()
REQUIRED = ("specversion", "id", "source", "type")


class MalformedEvent(ValueError):
    """A message that is not a valid event of ours: parked at once, never retried."""


def new_event(
    type: str,
    *,
    source: str,
    subject: str,
    data: dict[str, Any],
    authority: str,
    correlation_id: str | None = None,
    event_id: str | None = None,
    time: datetime | None = None,
) -> dict[str, Any]:
    """Build and validate an event; returns its structured JSON form."""
    if not TYPE_PATTERN.match(type):
        raise ValueError(f"event type {type!r} must look like 'aggregate.happened.v1'")
    attributes: dict[str, Any] = {
        "id": event_id or str(uuid.uuid4()),
        "source": source,
        "type": type,
        "subject": subject,
        "time": time or datetime.now(UTC),
        "datacontenttype": "application/json",
        "authority": authority,
    }
    if correlation_id:
        attributes["correlationid"] = correlation_id
    event = CloudEvent(attributes, data)  # validates the attributes
    return json.loads(_FORMAT.write(event))


def parse_event(body: bytes | str | dict) -> dict[str, Any]:
    """Validate a received message body; raise MalformedEvent when it is not
    a CloudEvent 1.0 of our shape. Returns the event as it was sent."""
    try:
        if isinstance(body, dict):
            event = body
        else:
            event = json.loads(body)
        if not isinstance(event, dict):
            raise ValueError("the body is not a JSON object")
        # The library would fill in a missing id or specversion: a received event must bring its own.
        missing = [name for name in REQUIRED if name not in event]
        if missing:
            raise ValueError(f"missing required attributes: {', '.join(missing)}")
        attributes = {k: v for k, v in event.items() if k != "data"}
        if "time" in attributes:
            attributes["time"] = datetime.fromisoformat(str(attributes["time"]).replace("Z", "+00:00"))
        CloudEvent(attributes, event.get("data"))  # the library's validation of every attribute
    except (BaseCloudEventException, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise MalformedEvent(f"not a CloudEvent: {type(exc).__name__}: {exc}") from None
    if event.get("specversion") != "1.0":
        raise MalformedEvent(f"unsupported specversion {event.get('specversion')!r}")
    if not TYPE_PATTERN.match(event["type"]):
        raise MalformedEvent(f"event type {event['type']!r} is not 'aggregate.happened.vN'")
    if not isinstance(event.get("data"), dict):
        raise MalformedEvent("the event's data must be a JSON object")
    return event
