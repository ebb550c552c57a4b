"""The delivery log: every delivery owed to a subscription and every
attempt at it (when, the status code, how long), and redelivery by hand."""

from __future__ import annotations

import time
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from cpp_shared import audit
from cpp_shared.auth import current_principal, requires_role
from cpp_shared.paging import LongPaging, Page

from .. import store as st
from .common import MANAGERS, ctx, owner_of

blp = Blueprint(
    "deliveries",
    __name__,
    url_prefix="/v1/deliveries",
    description="The webhook delivery log, attempt by attempt, and redelivery",
)
STATES = ("ready", "queued", "delivered", "failed")


class AttemptSchema(Schema):
    at = fields.Float(metadata={"description": "unix seconds"})
    status_code = fields.Integer(allow_none=True)
    latency_ms = fields.Float()
    error = fields.String(allow_none=True)


class DeliverySchema(Schema):
    id = fields.String(attribute="_id", metadata={"description": "the webhook-id, the same at every attempt"})
    subscription_id = fields.String()
    event_id = fields.String()
    event_type = fields.String()
    state = fields.String(metadata={"description": ", ".join(STATES)})
    next_attempt_at = fields.Float(allow_none=True)
    attempt_count = fields.Integer()
    attempts = fields.List(fields.Nested(AttemptSchema))
    created_at = fields.Float()
    delivered_at = fields.Float(allow_none=True)
    gave_up_at = fields.Float(allow_none=True)
    redeliveries = fields.List(fields.Dict())


class DeliveryPageSchema(Page):
    items = fields.List(fields.Nested(DeliverySchema))


class DeliveryQuerySchema(LongPaging):
    subscription_id = fields.String(validate=validate.Length(min=1, max=100))
    event_id = fields.String(validate=validate.Length(min=1, max=100))
    state = fields.String(validate=validate.OneOf(STATES))


def _scope() -> dict[str, Any]:
    principal = current_principal()
    query: dict[str, Any] = {"authority": principal.authority}
    if not principal.holds("admin"):
        query["owner"] = owner_of(principal)
    return query


@blp.route("")
class Deliveries(MethodView):
    @blp.arguments(DeliveryQuerySchema, location="query")
    @blp.response(200, DeliveryPageSchema)
    @requires_role(*MANAGERS)
    def get(self, args):
        """Deliveries, newest first, each with its attempts (a partner sees its own)."""
        query = _scope()
        for name in ("subscription_id", "event_id", "state"):
            if name in args:
                query[name] = args[name]
        coll = ctx().store.collection(st.DELIVERIES)
        size = args["page_size"]
        items = coll.find(query, sort=[("created_at", -1)], skip=(args["page"] - 1) * size, limit=size)
        total = coll.count_documents(query)
        audit.record_read(
            ctx().store,
            "deliveries",
            args.get("subscription_id") or args.get("event_id") or "query",
            action="list",
            detail={"count": len(items), "deliveries": [d["_id"] for d in items]},
        )
        return {"items": items, "page": args["page"], "page_size": size, "total": total}


def _load(delivery_id: str) -> dict[str, Any]:
    doc = ctx().store.collection(st.DELIVERIES).find_one({"_id": delivery_id, **_scope()})
    if doc is None:
        abort(404, message=f"no delivery {delivery_id}")
    return doc


@blp.route("/<delivery_id>")
class DeliveryById(MethodView):
    @blp.response(200, DeliverySchema)
    @requires_role(*MANAGERS)
    def get(self, delivery_id):
        doc = _load(delivery_id)
        audit.record_read(ctx().store, "delivery", delivery_id, detail={"event_id": doc.get("event_id")})
        return doc


@blp.route("/<delivery_id>/redeliver")
class Redeliver(MethodView):
    @blp.doc(operationId="redeliverDelivery")
    @blp.response(202, DeliverySchema)
    @requires_role(*MANAGERS)
    def post(self, delivery_id):
        """Send a delivered or failed delivery again now, with the same
        webhook-id (outside its plan's order: it is a repeat by request)."""
        doc = _load(delivery_id)
        if doc["state"] not in ("delivered", "failed"):
            abort(409, message=f"the delivery is {doc['state']}: it will be sent in its turn")
        now = time.time()
        new = {
            **doc,
            "state": "ready",
            "next_attempt_at": now,
            "attempt_count": 0,
            "in_chain": False,
            "redeliveries": [*doc["redeliveries"], {"at": now, "by": current_principal().user}],
        }
        with ctx().store.unit_of_work() as uow:
            version = uow.replace(st.DELIVERIES, new, expected_version=doc["version"])
        ctx().extensions["notify"].wake()
        return {**new, "version": version}
