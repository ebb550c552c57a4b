"""Partner subscriptions: who receives which events, at which address,
signed with which secret, and which fields of them.

A partner (health, a school, the police, the Children's Convenor) manages
only its own subscriptions (its organisation, from the token's ``org``
claim, else its user); an admin manages every subscription of the
authority and alone may widen a subscription's scope or let it reach a
private address.

An escalation outside the council (``escalation.raised.v1`` by a route
whose recipient is external, such as the referral to the Children's
Convenor) goes only to the subscriptions of that recipient: those whose
``escalation_routes`` name the route (an admin sets them), or whose owner
is the route's id. A partner that subscribes to escalations but is no
route's recipient is refused, rather than accepted and never sent any.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate, validates

from cpp_shared.auth import current_principal, requires_role
from cpp_shared.contracts.catalogue import FIELD_CLASSES
from cpp_shared.etags import if_match_version
from cpp_shared.idempotency import idempotent

from .. import store as st
from .. import urls
from ..domain.minimise import DEFAULT_CLASSES, partner_may_receive
from ..domain.subscriptions import (
    ESCALATION,
    PATTERN,
    ROTATION_OVERLAP,
    external_routes,
    matches,
    new_secret,
    public_view,
)
from ..runtime import EVENT_CATALOGUE, runtime
from .common import MANAGERS, ctx, owner_of

blp = Blueprint(
    "subscriptions",
    __name__,
    url_prefix="/v1/subscriptions",
    description="Partner agencies' subscriptions to plan events, delivered as signed webhooks",
)


class ScopeSchema(Schema):
    classes = fields.List(
        fields.String(validate=validate.OneOf(FIELD_CLASSES)),
        required=True,
        validate=validate.Length(min=1),
        metadata={"description": "the kinds of event fields delivered: " + ", ".join(FIELD_CLASSES)},
    )


class SubscriptionCreateSchema(Schema):
    url = fields.String(required=True, validate=validate.Length(min=1, max=urls.MAX_URL))
    event_types = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)),
        required=True,
        validate=validate.Length(min=1, max=50),
        metadata={"description": "patterns such as plan.* or conference.held.v1"},
    )
    description = fields.String(load_default="", validate=validate.Length(max=500))
    owner = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "admin only: the partner organisation it is for"},
    )
    allow_private = fields.Boolean(load_default=False, metadata={"description": "admin only: an internal receiver"})
    scope = fields.Nested(ScopeSchema, metadata={"description": "admin only: the fields delivered"})
    escalation_routes = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)),
        validate=validate.Length(max=20),
        metadata={
            "description": "admin only: the escalation routes (with a recipient outside the council) whose escalations "
            "this subscription receives as their recipient; by default the route whose id is the owner"
        },
    )

    @validates("event_types")
    def _patterns(self, value, **kwargs):
        bad = [p for p in value if not PATTERN.match(p)]
        if bad:
            raise ValidationError(f"not an event type pattern: {', '.join(bad)} (e.g. plan.* or plan.created.v1)")


class SecretSchema(Schema):
    created_at = fields.Float()
    expires_at = fields.Float(allow_none=True)


class SubscriptionSchema(Schema):
    id = fields.String(attribute="_id")
    owner = fields.String()
    url = fields.String()
    event_types = fields.List(fields.String())
    description = fields.String()
    status = fields.String(metadata={"description": "active, paused or disabled"})
    allow_private = fields.Boolean()
    audience = fields.String(metadata={"description": "partner (held to what partners may receive) or internal"})
    scope = fields.Nested(ScopeSchema)
    escalation_routes = fields.List(
        fields.String(),
        metadata={"description": "the escalation routes whose escalations it receives as their recipient"},
    )
    created_by = fields.String()
    created_at = fields.Float()
    failing_since = fields.Float(allow_none=True)
    disabled = fields.Dict(allow_none=True)
    secrets = fields.List(
        fields.Nested(SecretSchema), metadata={"description": "when each secret was made; never the secret"}
    )
    version = fields.Integer()


class SubscriptionCreatedSchema(SubscriptionSchema):
    secret = fields.String(metadata={"description": "the signing secret (whsec_...), shown this once"})


class SubscriptionListSchema(Schema):
    items = fields.List(fields.Nested(SubscriptionSchema))


class ScopeChangeSchema(Schema):
    scope = fields.Nested(ScopeSchema, required=True)


def _load(subscription_id: str) -> dict[str, Any]:
    principal = current_principal()
    doc = ctx().store.collection(st.SUBSCRIPTIONS).find_one({"_id": subscription_id})
    if (
        doc is None
        or doc["authority"] != principal.authority
        or doc["status"] == "removed"
        or (not principal.holds("admin") and doc["owner"] != owner_of(principal))
    ):
        abort(404, message=f"no subscription {subscription_id}")
    return doc


def _save(doc: dict[str, Any], *, event: str | None = None) -> dict[str, Any]:
    c = ctx()
    with c.store.unit_of_work() as uow:
        version = uow.replace(st.SUBSCRIPTIONS, doc, expected_version=doc["version"])
        if event:
            c.publish(uow, event, subject=doc["_id"], data=public_view(doc))
    return {**doc, "version": version}


@blp.route("")
class Subscriptions(MethodView):
    @idempotent
    @blp.arguments(SubscriptionCreateSchema)
    @blp.response(201, SubscriptionCreatedSchema)
    @requires_role(*MANAGERS)
    def post(self, body):
        """Subscribe to events; the response gives the signing secret once."""
        principal = current_principal()
        admin = principal.holds("admin")
        for field in ("owner", "allow_private", "scope", "escalation_routes"):
            if not admin and body.get(field) not in (None, False):
                abort(403, message=f"only an admin may set {field}")
        partner = not admin or bool(body.get("owner"))
        bad = [p for p in body["event_types"] if partner and not partner_may_receive(p, EVENT_CATALOGUE)]
        if bad:
            abort(
                422,
                message="not events a partner receives",
                errors={"json": {"event_types": [f"{', '.join(bad)}: not delivered to partners"]}},
            )
        c = ctx()
        owner = body.get("owner") or owner_of(principal)
        external = external_routes(c.plugins)
        routes = body.get("escalation_routes")
        unknown = [r for r in routes or [] if r not in external]
        if unknown:
            abort(
                422,
                message="not an escalation route with a recipient outside the council",
                errors={
                    "json": {
                        "escalation_routes": [
                            f"{', '.join(unknown)}: this authority's routes with a "
                            f"recipient outside it: {', '.join(external) or 'none'}"
                        ]
                    }
                },
            )
        if routes is None:
            routes = [owner] if owner in external else []
        if not admin and matches(body["event_types"], ESCALATION) and not routes:
            abort(
                422,
                message="escalations go only to the recipient a route names",
                errors={
                    "json": {
                        "event_types": [
                            f"{ESCALATION}: this subscription is not the recipient of an escalation route; an admin makes "
                            f"the recipient's subscription with escalation_routes (this authority's routes with a recipient "
                            f"outside it: {', '.join(external) or 'none'})"
                        ]
                    }
                },
            )
        try:
            urls.resolve(body["url"], allow_private=body["allow_private"], ports=runtime(c).receiver_ports)
        except urls.UrlRefused as exc:
            abort(422, message="receiver address refused", errors={"json": {"url": [str(exc)]}})
        secret = new_secret()
        now = time.time()
        doc = {
            "_id": "sub_" + uuid.uuid4().hex,
            "authority": principal.authority,
            "owner": owner,
            "url": body["url"],
            "event_types": body["event_types"],
            "description": body["description"],
            "status": "active",
            "allow_private": body["allow_private"],
            # A partner's own, or one an admin makes for a partner, is held to what partners may receive.
            "audience": "partner" if (not admin or body.get("owner")) else "internal",
            "scope": body.get("scope") or {"classes": list(DEFAULT_CLASSES)},
            "escalation_routes": routes,
            "secrets": [{"sealed": runtime(c).box.seal(secret), "created_at": now, "expires_at": None}],
            "created_by": principal.user,
            "created_at": now,
            "failing_since": None,
            "disabled": None,
        }
        with c.store.unit_of_work() as uow:
            uow.insert(st.SUBSCRIPTIONS, doc)
            c.publish(uow, "subscription.created.v1", subject=doc["_id"], data=public_view(doc))
        return {**doc, "version": 1, "secret": secret}

    @blp.response(200, SubscriptionListSchema)
    @requires_role(*MANAGERS)
    def get(self):
        """The caller's subscriptions (an admin: every subscription of the authority)."""
        principal = current_principal()
        query: dict[str, Any] = {"authority": principal.authority, "status": {"$ne": "removed"}}
        if not principal.holds("admin"):
            query["owner"] = owner_of(principal)
        return {"items": ctx().store.collection(st.SUBSCRIPTIONS).find(query, sort=[("created_at", 1)])}


def etag(doc: dict[str, Any]) -> dict[str, str]:
    """The subscription's ETag (its version), for a later change's If-Match."""
    return {"ETag": f'"{doc["version"]}"'}


def check_if_match(doc: dict[str, Any]) -> None:
    """A change that brings If-Match is made only to the version it names
    (412 otherwise); one without it is made as before."""
    header = request.headers.get("If-Match")
    if header is not None and if_match_version(header, doc["version"]) != doc["version"]:
        abort(
            412,
            message=f"the subscription changed since you read it (it is now version {doc['version']}); read it again",
        )


@blp.route("/<subscription_id>")
class SubscriptionById(MethodView):
    @blp.response(
        200,
        SubscriptionSchema,
        headers={"ETag": {"description": "its version, for If-Match", "schema": {"type": "string"}}},
    )
    @requires_role(*MANAGERS)
    def get(self, subscription_id):
        doc = _load(subscription_id)
        return doc, 200, etag(doc)

    @blp.response(204)
    @requires_role(*MANAGERS)
    def delete(self, subscription_id):
        """Remove a subscription: nothing more is delivered to it; its
        record and delivery log stay for the audit trail."""
        doc = _load(subscription_id)
        _save(
            {**doc, "status": "removed", "removed": {"at": time.time(), "by": current_principal().user}},
            event="subscription.removed.v1",
        )
        return None


def _status_change(subscription_id: str, status: str, event: str) -> dict[str, Any]:
    doc = _load(subscription_id)
    if status == "paused" and doc["status"] == "disabled":
        abort(409, message="the subscription is disabled; resume it instead")
    doc = {**doc, "status": status}
    if status == "active":
        doc.update(disabled=None, failing_since=None)
    saved = _save(doc, event=event)
    if status == "active":  # what waited is due now
        deliveries = ctx().store.collection(st.DELIVERIES)
        now = time.time()
        for d in deliveries.find({"subscription_id": doc["_id"], "state": "ready"}):
            deliveries.update_one({"_id": d["_id"], "state": "ready"}, {"$set": {"next_attempt_at": now}})
        ctx().extensions["notify"].wake()
    return saved


@blp.route("/<subscription_id>/pause")
class Pause(MethodView):
    @blp.doc(operationId="pauseSubscription")
    @blp.response(200, SubscriptionSchema)
    @requires_role(*MANAGERS)
    def post(self, subscription_id):
        """Hold deliveries (they wait, in order, nothing lost) until resumed."""
        return _status_change(subscription_id, "paused", "subscription.paused.v1")


@blp.route("/<subscription_id>/resume")
class Resume(MethodView):
    @blp.doc(operationId="resumeSubscription")
    @blp.response(200, SubscriptionSchema)
    @requires_role(*MANAGERS)
    def post(self, subscription_id):
        """Resume a paused or disabled subscription: what waited is delivered, in order."""
        return _status_change(subscription_id, "active", "subscription.resumed.v1")


@blp.route("/<subscription_id>/secret")
class RotateSecret(MethodView):
    @blp.doc(operationId="rotateSubscriptionSecret")
    @blp.response(200, SubscriptionCreatedSchema)
    @requires_role(*MANAGERS)
    def post(self, subscription_id):
        """Rotate the signing secret: the new one is shown once; the old one
        still signs (both signatures are sent) for 24 hours."""
        doc = _load(subscription_id)
        now = time.time()
        box = runtime(ctx()).box
        secret = new_secret()
        kept = [s for s in doc["secrets"] if s.get("expires_at") is None or s["expires_at"] > now]
        kept = [{**s, "expires_at": s.get("expires_at") or now + ROTATION_OVERLAP} for s in kept]
        doc = {**doc, "secrets": [{"sealed": box.seal(secret), "created_at": now, "expires_at": None}, *kept]}
        saved = _save(doc, event="subscription.secret_rotated.v1")
        return {**saved, "secret": secret}


@blp.route("/<subscription_id>/scope")
class Scope(MethodView):
    @blp.arguments(ScopeChangeSchema)
    @blp.response(200, SubscriptionSchema)
    @blp.alt_response(412, description="If-Match named a version that is no longer the subscription's")
    @requires_role("admin")
    def put(self, body, subscription_id):
        """Set which kinds of fields the subscription receives (admin only). With If-Match (the ETag of
        GET /v1/subscriptions/{id}), only if the subscription is still that version."""
        doc = _load(subscription_id)
        check_if_match(doc)
        saved = _save({**doc, "scope": body["scope"]}, event="subscription.scope_changed.v1")
        return saved, 200, etag(saved)
