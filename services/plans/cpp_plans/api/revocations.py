"""Revocations: an admin withdraws access before tokens expire.

``POST /v1/revocations`` revokes a user's tokens (every token of the user
issued before now is refused; a token issued afterwards works) or one token
by its ``jti``, with the reason. In one commit the revocation is stored, its
audit entry appended and ``access.revoked.v1`` put in the outbox; this
service refuses the tokens from that commit on (the process that made it at
once, its other processes once their kept answers expire: see
``cpp_shared.revocations``), every other service once it keeps the event.
``GET /v1/revocations`` lists them for admins and auditors.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from cpp_shared import revocations
from cpp_shared.auth import Principal, current_principal, requires_role
from cpp_shared.idempotency import after_commit, idempotent
from cpp_shared.paging import LongPaging, Page
from cpp_shared.store import Store

from .. import audit
from .common import ctx

blp = Blueprint(
    "revocations",
    __name__,
    url_prefix="/v1/revocations",
    description="Admins: revoke a user's tokens, or one token, before they expire",
)

ACTION = "revoke_access"


def _now() -> datetime:
    return datetime.now(UTC)


class RevocationCreateSchema(Schema):
    class Meta:
        unknown = RAISE

    user = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "the user (the tokens' sub): every token of theirs issued before now is refused"},
    )
    jti = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "one token (its jti claim): that token alone is refused"},
    )
    expires_at = fields.AwareDateTime(metadata={"description": "with jti: when that token expires (its exp)"})
    reason = fields.String(
        required=True,
        validate=validate.Length(min=1, max=1000),
        metadata={"description": "why, for the audit log and the event"},
    )

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _a_user_or_a_token(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        """Every problem at once, from what was sent (a field may have failed its own checks)."""
        sent = set(original) if isinstance(original, dict) else set()
        errors: dict[str, list[str]] = {}
        if {"user", "jti"} <= sent:
            errors["jti"] = ["Revoke a user's tokens or one token, not both: leave out user or jti."]
        elif not sent & {"user", "jti"}:
            errors["user"] = errors["jti"] = ["Give user (every token of the user) or jti (one token)."]
        elif "user" in sent and "expires_at" in sent:
            errors["expires_at"] = ["Only with jti: a user's revocation covers every token issued before it."]
        elif "jti" in sent and "expires_at" not in sent:
            errors["expires_at"] = ["Missing data for required field (with jti: when the token expires)."]
        elif "jti" in sent and "expires_at" in data and data["expires_at"] <= _now():
            errors["expires_at"] = ["Has passed: the token is refused as expired already."]
        if isinstance(data.get("reason"), str) and not data["reason"].strip():
            errors["reason"] = ["Say why the access is revoked."]
        if errors:
            raise ValidationError(errors)


class RevocationSchema(Schema):
    id = fields.String(attribute="_id")
    user = fields.String(allow_none=True)
    jti = fields.String(allow_none=True)
    not_before = fields.String(
        allow_none=True,
        metadata={"format": "date-time", "description": "a user's: their tokens issued before this moment are refused"},
    )
    expires_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    revoked_at = fields.String(metadata={"format": "date-time"})
    by = fields.String()
    reason = fields.String()


class RevocationQuerySchema(LongPaging):
    user = fields.String(validate=validate.Length(min=1, max=200))


class RevocationPageSchema(Page):
    items = fields.List(fields.Nested(RevocationSchema))


def revoke(
    store: Store,
    principal: Principal,
    *,
    reason: str,
    user: str | None = None,
    jti: str | None = None,
    expires_at: datetime | None = None,
) -> dict[str, Any]:
    """Store the revocation, its audit entry and its event in one commit;
    returns it as stored. (The caller has checked the request.)"""
    now = _now()
    revocation_id = uuid.uuid4().hex
    doc = revocations.record(
        revocation_id=revocation_id,
        user=user,
        jti=jti,
        not_before=now.isoformat() if user is not None else None,
        expires_at=expires_at.astimezone(UTC).isoformat() if expires_at is not None else None,
        revoked_at=now.isoformat(),
        by=principal.user,
    )
    doc["reason"] = reason
    event = {k: doc[k] for k in ("user", "jti", "not_before", "expires_at", "revoked_at", "by", "reason")}
    with store.unit_of_work() as uow:
        uow.insert(revocations.COLLECTION, doc)
        audit.record_write(uow, ACTION, "revocation", revocation_id, detail=event)
        ctx().publish(
            uow,
            revocations.EVENT_TYPE,
            subject=user or str(jti),  # one of the two, checked above
            data={"revocation_id": revocation_id, **event},
        )
    # This process refuses the tokens from the commit on, not after its kept answers.
    kept = ctx().verifier.revocations
    if kept is not None:
        after_commit(kept.forget)
    return doc


@blp.route("")
class Revocations(MethodView):
    @idempotent
    @requires_role("admin")  # before the body is read: a non-admin learns nothing from a 422
    @blp.arguments(RevocationCreateSchema)
    @blp.response(201, RevocationSchema)
    def post(self, body):
        """Revoke a user's tokens (``user``) or one token (``jti`` with its
        ``expires_at``), with the reason: refused by this service at once,
        by the others when the event reaches them."""
        return revoke(ctx().store, current_principal(), **body)

    @requires_role("admin", "auditor")
    @blp.arguments(RevocationQuerySchema, location="query")
    @blp.response(200, RevocationPageSchema)
    def get(self, query):
        """The revocations, newest first (``user``: of that user's tokens)."""
        filter_ = {"user": query["user"]} if "user" in query else {}
        coll = ctx().store.collection(revocations.COLLECTION)
        size = query["page_size"]
        items = coll.find(filter_, sort=[("revoked_at", -1)], skip=(query["page"] - 1) * size, limit=size)
        return {"items": items, "page": query["page"], "page_size": size, "total": coll.count_documents(filter_)}
