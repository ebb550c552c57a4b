"""The staff directory (see ``cpp_shared.staff``): the plans service records
each member of staff from their token's claims, and an admin adds people
who have not signed in yet (a key worker named on a plan before their
first sign-in) or gives their direct phone number. Every change is a
``staff.updated.v1`` event, so the other services keep the same directory.
"""
from __future__ import annotations

import threading
from typing import Any

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from cpp_shared import staff as directory
from cpp_shared.logs import get_logger
from cpp_shared.auth import current_principal, requires_role

from .. import audit
from .common import READERS, ctx

blp = Blueprint("staff", __name__, url_prefix="/v1/staff", description="The staff directory")

_SEEN_LOCK = threading.Lock()
log = get_logger(__name__)


def _record(uow, entry: dict[str, Any], action: str | None) -> None:
    """Store an entry and publish it; an admin's change (``action``) is audited,
    the claims of a caller's own token are not (they are the identity
    provider's record, not ours)."""
    uow.update(directory.COLLECTION, {"_id": entry["user"]},
               {"$set": {k: v for k, v in entry.items() if k != "_id"}}, upsert=True)
    if action:
        audit.record_write(uow, action, "staff", entry["user"])
    ctx().publish(uow, directory.EVENT_TYPE, subject=entry["user"], data=directory.event_data(entry))


def remember_caller(response):
    """After each authenticated request that succeeded: record the caller in
    the directory when their claims are new or changed (a process remembers
    what it last saw of each user, so a request whose claims are known
    writes nothing, and a refused request writes nothing at all). A store
    that fails here fails nobody's request: the next one tries again."""
    principal = g.get("principal")
    if principal is None or response.status_code >= 400:
        return response
    seen = directory.from_principal(principal)
    if seen is None:
        return response
    cache: dict[str, tuple] = ctx().extensions.setdefault("staff_seen", {})
    key = tuple(seen.get(f) for f in directory.FIELDS)
    if cache.get(principal.user) == key:
        return response
    try:
        stored = directory.entry(ctx().store, principal.user)
        if directory.differs(stored, seen):
            with ctx().store.unit_of_work() as uow:
                _record(uow, directory.merged(stored, seen), None)
    except Exception:  # noqa: BLE001 - the answer is already made; the directory catches up next time
        log.warning("staff_directory_not_updated", user=principal.user, exc_info=True)
        return response
    with _SEEN_LOCK:
        cache[principal.user] = key
    return response


class StaffSchema(Schema):
    user = fields.String(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(load_default=None, allow_none=True)
    team = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    role = fields.String(required=True, validate=validate.OneOf(directory.STAFF_ROLES))
    manager = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200),
                            metadata={"description": "the user id of their manager"})
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=50),
                          metadata={"description": "their direct phone number (partners' lookups give it)"})


class StaffQuerySchema(Schema):
    team = fields.String(metadata={"description": "only this team's members"})
    role = fields.String(validate=validate.OneOf(directory.STAFF_ROLES))
    name = fields.String(metadata={"description": "names containing this (any case)"})


class StaffListSchema(Schema):
    items = fields.List(fields.Nested(StaffSchema))


@blp.route("")
class StaffList(MethodView):
    @blp.arguments(StaffQuerySchema, location="query")
    @blp.response(200, StaffListSchema)
    @requires_role(*READERS)
    def get(self, args):
        """The staff directory (to choose a key worker, a social worker or a chair)"""
        query = {k: args[k] for k in ("team", "role") if k in args}
        people = ctx().store.collection(directory.COLLECTION).find(query, sort=[("name", 1)])
        if "name" in args:
            people = [p for p in people if args["name"].casefold() in (p.get("name") or "").casefold()]
        return {"items": people}


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, StaffSchema)
    @requires_role(*directory.STAFF_ROLES)
    def get(self):
        """Who the directory says you are"""
        return directory.entry(ctx().store, current_principal().user)


@blp.route("/<user>")
class StaffMember(MethodView):
    @blp.response(200, StaffSchema)
    @requires_role(*READERS)
    def get(self, user):
        """One member of staff"""
        found = directory.entry(ctx().store, user)
        if found is None:
            abort(404, message=f"no member of staff {user}")
        return found

    @blp.arguments(StaffSchema)
    @blp.response(200, StaffSchema)
    @requires_role("admin")
    def put(self, body, user):
        """Add a member of staff, or change their details (admin)"""
        stored = directory.entry(ctx().store, user)
        entry = {**directory.merged(stored, {}), **body, "_id": user, "user": user}
        with ctx().store.unit_of_work() as uow:
            _record(uow, entry, "create" if stored is None else "update")
        return entry
