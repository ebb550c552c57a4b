"""The in-app inbox: what the platform told each user, to read and mark read.

A user's messages are those addressed to the email address in their token
(the ``email`` claim, else the user name itself), so a key worker reads
here what was also emailed, and what could not be emailed.
"""
from __future__ import annotations

import time
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from cpp_shared import audit
from cpp_shared.auth import current_principal, requires_role

from . import store as st
from .subscriptions import ctx

blp = Blueprint("inbox", __name__, url_prefix="/v1/inbox", description="Each user's messages from the platform")
USERS = ("social_worker", "team_manager", "chair", "auditor", "admin")


def address() -> str:
    principal = current_principal()
    return str((principal.claims or {}).get("email") or principal.user).lower()


class MessageSchema(Schema):
    id = fields.String(attribute="_id")
    event_id = fields.String()
    event_type = fields.String()
    subject = fields.String()
    body = fields.String()
    recipient = fields.Dict()
    created_at = fields.Float()
    read_at = fields.Float(allow_none=True)
    has_invitation = fields.Function(lambda m: bool(m.get("ics")))


class InboxSchema(Schema):
    items = fields.List(fields.Nested(MessageSchema))
    unread = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


class InboxQuerySchema(Schema):
    unread = fields.Boolean(metadata={"description": "only the messages not yet read"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


def _mine() -> dict[str, Any]:
    return {"authority": current_principal().authority, "channel": "inbox", "recipient.email": address()}


@blp.route("")
class Inbox(MethodView):
    @blp.arguments(InboxQuerySchema, location="query")
    @blp.response(200, InboxSchema)
    @requires_role(*USERS)
    def get(self, args):
        """The caller's messages, newest first."""
        coll = ctx().store.collection(st.MESSAGES)
        query = _mine()
        unread = coll.count_documents({**query, "read_at": None})
        if args.get("unread"):
            query["read_at"] = None
        size = args["page_size"]
        items = coll.find(query, sort=[("created_at", -1)], skip=(args["page"] - 1) * size, limit=size)
        audit.record_read(ctx().store, "inbox", current_principal().user, action="list",
                          detail={"count": len(items), "messages": [m["_id"] for m in items]})
        return {"items": items, "unread": unread, "page": args["page"], "page_size": size}


@blp.route("/<message_id>/read")
class MarkRead(MethodView):
    @blp.response(200, MessageSchema)
    @requires_role(*USERS)
    def post(self, message_id):
        """Mark a message read (again is harmless)."""
        coll = ctx().store.collection(st.MESSAGES)
        message = coll.find_one({"_id": message_id, **_mine()})
        if message is None:
            abort(404, message=f"no message {message_id} in your inbox")
        if message["read_at"] is None:
            coll.update_one({"_id": message_id, "read_at": None}, {"$set": {"read_at": time.time()}})
        return coll.find_one({"_id": message_id})
