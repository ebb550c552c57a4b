"""Reading a service's parked messages without taking them off the bus.

A message a service's consumer cannot handle (malformed, or still failing
after its last retry) waits in ``<service>.parked`` with the reason in its
headers (see ``consumer.py``). ``read_parked`` lists them for an admin:

* non-destructively: up to ``limit`` messages are fetched on one channel
  without acknowledging them, and the channel is then recovered and closed,
  so the broker puts every one back where it was, in order. Two admins
  reading at the same moment each see the messages the other is not holding
  at that instant; nothing is lost either way;
* without the event's narrative: only the envelope's id, type, subject and
  time, the data's fields the event catalogue classes as ``identifier``
  (case, plan, conference ids...), the routing key, when it was parked, the
  error, the handler and the attempts. Admins are not entitled to children's
  records, so no data field of another class (names, dates of birth, NHS
  numbers, plan content) is ever read out;
* for the admin's own authority only: a bus may carry several authorities'
  events; a message of another authority is skipped, and one whose
  authority cannot be read (a malformed body) is only counted.

``GET /v1/admin/parked-messages`` (admin only), registered by every
service's app factory, answers it; 503 when the broker cannot be reached.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from kombu import Connection
from marshmallow import Schema, fields, validate

from ..auth import current_principal, requires_role
from ..contracts.catalogue import UnknownEventType, field_classes
from ..contracts.topology import parked_queue_name
from ..logs import get_logger
from .consumer import ATTEMPT_HEADER, ERROR_HEADER, HANDLER_HEADER, PARKED_AT_HEADER, ROUTING_KEY_HEADER

log = get_logger("cpp.parked")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
ERROR_CHARS = 500  # the error is shown to the admin as a reason, not as a stack trace
CONNECT_TIMEOUT = 3.0


class BrokerUnavailable(Exception):
    """The broker could not be reached (or dropped the connection while reading)."""


def _identifiers(event_type: str, data: Any) -> dict[str, Any]:
    """The data's fields the catalogue classes as identifiers: their dotted
    path and value (a string, a number or a list of them)."""
    if not isinstance(data, dict):
        return {}
    try:
        classes = field_classes(event_type)
    except UnknownEventType:
        return {}
    found: dict[str, Any] = {}
    for path, cls in classes.items():
        if cls != "identifier":
            continue
        value: Any = data
        for step in path.split("."):
            value = value.get(step) if isinstance(value, dict) else None
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            found[path] = value
        elif isinstance(value, list) and value and all(isinstance(v, (str, int)) for v in value):
            found[path] = list(value)
    return found


def _moment(value: Any) -> str | None:
    try:
        return datetime.fromtimestamp(float(value), UTC).isoformat()
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def describe(message: Any) -> tuple[str | None, dict[str, Any]]:
    """(the event's authority or None, what an admin may see of the message)."""
    headers = message.headers or {}
    try:
        body = message.body
        event = json.loads(body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else body)
    except (ValueError, UnicodeDecodeError, AttributeError, TypeError):
        event = None
    if not isinstance(event, dict):
        event = {}
    authority = event.get("authority") if isinstance(event.get("authority"), str) else None
    event_type = event.get("type") if isinstance(event.get("type"), str) else None
    return authority, {
        "id": str(event.get("id") or message.properties.get("message_id") or ""),
        "type": event_type,
        "subject": event.get("subject") if isinstance(event.get("subject"), str) else None,
        "time": event.get("time") if isinstance(event.get("time"), str) else None,
        "identifiers": _identifiers(event_type, event.get("data")) if event_type else {},
        "routing_key": headers.get(ROUTING_KEY_HEADER) or message.delivery_info.get("routing_key"),
        "parked_at": _moment(headers.get(PARKED_AT_HEADER)),
        "error": str(headers.get(ERROR_HEADER) or "")[:ERROR_CHARS] or None,
        "handler": headers.get(HANDLER_HEADER),
        "attempts": _int(headers.get(ATTEMPT_HEADER), 1),
    }


def read_parked(broker_url: str, service: str, authority: str, limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
    """The first ``limit`` messages of the service's parked queue, oldest
    first, those of ``authority`` described; every one stays on the queue."""
    queue = parked_queue_name(service)
    seen: list[tuple[str | None, dict[str, Any]]] = []
    try:
        with Connection(broker_url, connect_timeout=CONNECT_TIMEOUT) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=CONNECT_TIMEOUT)
            channel = conn.channel()
            try:
                _, total, _ = channel.queue_declare(queue=queue, passive=True)
            except conn.channel_errors:  # no such queue: the service's worker never started on this broker
                return {
                    "service": service,
                    "queue": queue,
                    "total": 0,
                    "read": 0,
                    "items": [],
                    "other_authorities": 0,
                    "unreadable": 0,
                }
            try:
                for _ in range(limit):
                    message = channel.basic_get(queue=queue, no_ack=False)
                    if message is None:
                        break
                    seen.append(describe(message))
            finally:
                # Unacknowledged: recovered, and on closing the channel the broker requeues any still
                # held, each at its place in the queue (RabbitMQ keeps a requeued message's position).
                try:
                    channel.basic_recover(requeue=True)
                finally:
                    channel.close()
    except conn_errors() as exc:
        raise BrokerUnavailable(f"{type(exc).__name__}: {exc}") from None
    mine = [item for owner, item in seen if owner == authority]
    return {
        "service": service,
        "queue": queue,
        "total": total,
        "read": len(seen),
        "items": mine,
        "other_authorities": sum(1 for owner, _ in seen if owner is not None and owner != authority),
        "unreadable": sum(1 for owner, _ in seen if owner is None),
    }


def conn_errors() -> tuple[type[BaseException], ...]:
    """What a lost or refused broker connection raises (kombu's, py-amqp's, the socket's)."""
    errors: tuple[type[BaseException], ...] = (OSError, ConnectionError, TimeoutError)
    try:
        import amqp.exceptions

        errors += (amqp.exceptions.ConnectionError, amqp.exceptions.RecoverableConnectionError)
    except ImportError:  # pragma: no cover - py-amqp is kombu's dependency
        pass
    from kombu.exceptions import OperationalError

    return errors + (OperationalError,)


# --- the endpoint ---

blp = Blueprint(
    "admin_parked",
    __name__,
    url_prefix="/v1/admin",
    description="For admins: what the service's event consumer could not handle",
)


class ParkedQuery(Schema):
    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": "how many messages to read from the front of the queue"},
    )


class ParkedMessageSchema(Schema):
    id = fields.String(metadata={"description": "the event's id"})
    type = fields.String(allow_none=True, metadata={"description": "the event's type (none: not an event)"})
    subject = fields.String(allow_none=True, metadata={"description": "the record the event is about"})
    time = fields.String(allow_none=True, metadata={"description": "when the event happened"})
    identifiers = fields.Dict(
        keys=fields.String(),
        metadata={
            "description": "the event's data fields classed 'identifier' in the event catalogue, by dotted path; "
            "never any other field"
        },
    )
    routing_key = fields.String(allow_none=True)
    parked_at = fields.String(allow_none=True)
    error = fields.String(allow_none=True, metadata={"description": "why it was parked (the handler's last error)"})
    handler = fields.String(allow_none=True, metadata={"description": "the handlers that failed"})
    attempts = fields.Integer(metadata={"description": "the handlings tried"})


class ParkedListSchema(Schema):
    service = fields.String()
    queue = fields.String()
    total = fields.Integer(metadata={"description": "messages on the parked queue, of every authority"})
    read = fields.Integer(metadata={"description": "messages read from its front (at most the limit)"})
    items = fields.List(fields.Nested(ParkedMessageSchema), metadata={"description": "this authority's, oldest first"})
    other_authorities = fields.Integer(metadata={"description": "messages read that are another authority's"})
    unreadable = fields.Integer(metadata={"description": "messages read whose body is not an event (no authority)"})


class BrokerDownSchema(Schema):
    code = fields.Integer()
    status = fields.String()
    message = fields.String()


@blp.route("/parked-messages")
class ParkedMessages(MethodView):
    @blp.arguments(ParkedQuery, location="query")
    @blp.response(200, ParkedListSchema)
    @blp.alt_response(503, schema=BrokerDownSchema, description="the message broker cannot be reached")
    @requires_role("admin")
    def get(self, query: dict[str, Any]):
        """The service's parked messages, read without taking them off the queue: each event's id, type,
        subject and identifiers, when and why it was parked; never its narrative (admin only)."""
        ctx = current_app.extensions["cpp"]
        principal = current_principal()
        try:
            answer = read_parked(ctx.settings.broker_url, ctx.spec.name, principal.authority, query["limit"])
        except BrokerUnavailable as exc:
            log.error("parked messages unreadable: broker unavailable", error=str(exc))
            abort(
                503,
                message="the message broker cannot be reached, so the parked messages cannot be read now; "
                "try again later",
            )
        log.info("parked messages read", count=len(answer["items"]), total=answer["total"])
        return answer
