"""The event envelope: CloudEvents 1.0 in structured JSON mode.

Event types are versioned dotted names, ``<aggregate>.<what happened>.v<N>``
(``case.opened.v1``); the type is also the AMQP routing key, so a service
binds ``case.#`` to hear every case event. Extensions: ``authority`` (the
authority code of the deployment) and ``correlationid`` (the HTTP request id
that caused the event, to follow it across services in the logs).
"""
from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone
from typing import Any

from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

CONTENT_TYPE = JSONFormat.CONTENT_TYPE  # application/cloudevents+json
TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+\.v[0-9]+$")
_FORMAT = JSONFormat()


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
        "time": time or datetime.now(timezone.utc),
        "datacontenttype": "application/json",
        "authority": authority,
    }
    if correlation_id:
        attributes["correlationid"] = correlation_id
    event = CloudEvent(attributes, data)  # validates the attributes
    return json.loads(_FORMAT.write(event))


def parse_event(body: bytes | str | dict) -> dict[str, Any]:
    """Validate a received message body; raise MalformedEvent when it is not
    a CloudEvent 1.0 of a known shape."""
    try:
        if isinstance(body, dict):
            raw = json.dumps(body)
        else:
            raw = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else body
        event = _FORMAT.read(None, raw)
    except (BaseCloudEventException, ValueError, TypeError, UnicodeDecodeError, AttributeError) as exc:
        raise MalformedEvent(f"not a CloudEvent: {type(exc).__name__}: {exc}") from None
    attributes = event.get_attributes()
    if attributes.get("specversion") != "1.0":
        raise MalformedEvent(f"unsupported specversion {attributes.get('specversion')!r}")
    if not TYPE_PATTERN.match(attributes["type"]):
        raise MalformedEvent(f"event type {attributes['type']!r} is not 'aggregate.happened.vN'")
    data = event.get_data()
    if not isinstance(data, dict):
        raise MalformedEvent("the event's data must be a JSON object")
    structured = json.loads(_FORMAT.write(event))
    return structured
