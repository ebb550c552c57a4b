"""The in-app inbox: what the platform told each user, to read and mark read.

A user's messages are those addressed to their user id (the token's
``sub``), and those addressed to their email address (the ``email`` claim,
else the user id itself: ``Principal.address``) with no user id: messages
stored before the inbox was kept by user id, and messages to a core group
member known only by address. So a key worker reads here what was also
emailed, and what could not be emailed.
"""

from __future__ import annotations

import time
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from cpp_shared import audit
from cpp_shared.auth import Principal, current_principal, requires_role
from cpp_shared.paging import LongPaging

from .. import store as st
from .common import ctx

blp = Blueprint("inbox", __name__, url_prefix="/v1/inbox", description="Each user's messages from the platform")
USERS = ("social_worker", "team_manager", "chair", "auditor", "admin")


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


class InboxQuerySchema(LongPaging):
    unread = fields.Boolean(metadata={"description": "only the messages not yet read"})


def _queries(principal: Principal) -> list[dict[str, Any]]:
    """The caller's messages, as queries the store answers (it has no $or):
    by user id, and by address for messages that name no user."""
    base = {"authority": principal.authority, "channel": "inbox"}
    return [
        {**base, "recipient.user": principal.user},
        {**base, "recipient.email": principal.address, "recipient.user": None},
    ]


def _is_mine(message: dict[str, Any], principal: Principal) -> bool:
    r = message.get("recipient") or {}
    if message.get("authority") != principal.authority or message.get("channel") != "inbox":
        return False
    if r.get("user"):
        return r["user"] == principal.user
    return (r.get("email") or "") == principal.address


@blp.route("")
class Inbox(MethodView):
    @blp.arguments(InboxQuerySchema, location="query")
    @blp.response(200, InboxSchema)
    @requires_role(*USERS)
    def get(self, args):
        """The caller's messages, newest first."""
        coll = ctx().store.collection(st.MESSAGES)
        queries = _queries(current_principal())
        unread = sum(coll.count_documents({**q, "read_at": None}) for q in queries)
        if args.get("unread"):
            queries = [{**q, "read_at": None} for q in queries]
        size = args["page_size"]
        skip = (args["page"] - 1) * size
        # Each query's newest skip+size are enough to make this page of their union.
        found = {m["_id"]: m for q in queries for m in coll.find(q, sort=[("created_at", -1)], limit=skip + size)}
        items = sorted(found.values(), key=lambda m: (-m["created_at"], m["_id"]))[skip : skip + size]
        audit.record_read(
            ctx().store,
            "inbox",
            current_principal().user,
            action="list",
            detail={"count": len(items), "messages": [m["_id"] for m in items]},
        )
        return {"items": items, "unread": unread, "page": args["page"], "page_size": size}


@blp.route("/<message_id>/read")
class MarkRead(MethodView):
    @blp.doc(operationId="markMessageRead")
    @blp.response(200, MessageSchema)
    @requires_role(*USERS)
    def post(self, message_id):
        """Mark a message read (again is harmless)."""
        coll = ctx().store.collection(st.MESSAGES)
        message = coll.find_one({"_id": message_id})
        if message is None or not _is_mine(message, current_principal()):
            abort(404, message=f"no message {message_id} in your inbox")
        if message["read_at"] is None:
            coll.update_one({"_id": message_id, "read_at": None}, {"$set": {"read_at": time.time()}})
        return coll.find_one({"_id": message_id})
