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
from cpp_shared.auth import current_principal, requires_role
from cpp_shared.idempotency import idempotent
from cpp_shared.logs import get_logger

from .. import audit, migrations
from ..domain import lifecycle as lc
from ..store import PLANS
from .common import READERS, child_named, ctx

blp = Blueprint("staff", __name__, url_prefix="/v1/staff", description="The staff directory")

_SEEN_LOCK = threading.Lock()
log = get_logger(__name__)


def _record(uow, entry: dict[str, Any], action: str | None) -> None:
    """Store an entry and publish it; an admin's change (``action``) is audited,
    the claims of a caller's own token are not (they are the identity
    provider's record, not ours)."""
    uow.update(
        directory.COLLECTION,
        {"user": entry["user"]},
        {"$set": {k: v for k, v in entry.items() if k not in ("_id", "user", "authority", "version")}},
        upsert=True,
    )
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
    role = fields.String(
        required=True,
        validate=validate.OneOf(directory.STAFF_ROLES),
        metadata={"description": "their role; with several, the first of them"},
    )
    roles = fields.List(
        fields.String(validate=validate.OneOf(directory.STAFF_ROLES)),
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1),
        metadata={"description": "every role they hold (role among them); default [role]"},
    )
    manager = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=200),
        metadata={
            "description": "the user id of their manager (a team manager's is their service manager, to whom an "
            "overdue step escalates after the team manager)"
        },
    )
    phone = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=50),
        metadata={"description": "their direct phone number (partners' lookups give it)"},
    )


class StaffEntrySchema(StaffSchema):
    name = fields.String(allow_none=True, metadata={"description": "null while their tokens name nobody"})


class StaffQuerySchema(Schema):
    team = fields.String(metadata={"description": "only this team's members"})
    role = fields.String(validate=validate.OneOf(directory.STAFF_ROLES))
    name = fields.String(metadata={"description": "names containing this (any case)"})


class StaffListSchema(Schema):
    items = fields.List(fields.Nested(StaffEntrySchema))


@blp.route("")
class StaffList(MethodView):
    @blp.arguments(StaffQuerySchema, location="query")
    @blp.response(200, StaffListSchema)
    @requires_role(*READERS)
    def get(self, args):
        """The staff directory (to choose a key worker, a social worker or a chair)"""
        query = {k: args[k] for k in ("team",) if k in args}
        if "role" in args:
            query.update(directory.holding(args["role"]))
        people = ctx().store.collection(directory.COLLECTION).find(query, sort=[("name", 1)])
        if "name" in args:
            people = [p for p in people if args["name"].casefold() in (p.get("name") or "").casefold()]
        return {"items": people}


class NewStaffSchema(StaffSchema):
    user = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "their user id: the sub of their identity tokens"},
    )


@blp.route("", endpoint="add_staff", methods=["POST"])
class AddStaff(MethodView):
    @idempotent
    @blp.arguments(NewStaffSchema)
    @blp.response(201, StaffEntrySchema)
    @requires_role("admin")
    def post(self, body):
        """Add a member of staff who has not signed in yet, e.g. a key worker to name on a plan (admin)"""
        if directory.entry(ctx().store, body["user"]) is not None:
            abort(409, message=f"{body['user']} is already in the staff directory; change them with PUT")
        entry = directory.merged(None, body)
        with ctx().store.unit_of_work() as uow:
            _record(uow, entry, "create")
        return entry


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, StaffEntrySchema)
    @requires_role(*directory.STAFF_ROLES)
    def get(self):
        """Who the directory says you are (on a first sign-in: who your token says you are, as it is recorded)"""
        principal = current_principal()
        stored = directory.entry(ctx().store, principal.user)
        seen = directory.from_principal(principal)
        return directory.merged(stored, seen) if directory.differs(stored, seen) else stored


@blp.route("/<user>")
class StaffMember(MethodView):
    @blp.response(200, StaffEntrySchema)
    @requires_role(*READERS)
    def get(self, user):
        """One member of staff"""
        found = directory.entry(ctx().store, user)
        if found is None:
            abort(404, message=f"no member of staff {user}")
        return found

    @blp.arguments(StaffSchema)
    @blp.response(200, StaffEntrySchema)
    @requires_role("admin")
    def put(self, body, user):
        """Change a member of staff's details (admin)"""
        stored = directory.entry(ctx().store, user)
        if stored is None:
            abort(404, message=f"no member of staff {user}; add them with POST /v1/staff")
        entry = directory.with_roles(
            {**directory.merged(stored, {}), **body, "roles": body["roles"] or [body["role"]], "user": user}
        )
        with ctx().store.unit_of_work() as uow:
            _record(uow, entry, "update")
        return entry


# --- carrying records made before key workers were staff over ----------------


class UnlinkedSchema(Schema):
    plan_id = fields.String()
    status = fields.String()
    key_worker = fields.String(metadata={"description": "the key worker's name as the plan recorded it"})
    child = fields.String(allow_none=True, metadata={"description": "the child's name"})
    reason = fields.String()


class LinkReportSchema(Schema):
    plans_linked = fields.Integer()
    cases_allocated = fields.Integer()
    unlinked = fields.List(fields.Nested(UnlinkedSchema), metadata={"description": "what an admin links by hand"})


class KeyWorkerLinkSchema(Schema):
    plan_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    user = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "the member of staff who is the plan's key worker"},
    )


def link_everyone() -> migrations.Report:
    return migrations.link_people(ctx().store, ctx().publish, lc.plan_snapshot, child_named)


@blp.route("/key-worker-links")
class KeyWorkerLinks(MethodView):
    @blp.response(200, LinkReportSchema)
    @requires_role("admin")
    def get(self):
        """Plans whose key worker is still a name only, with why (admin)"""
        store = ctx().store
        return {
            "plans_linked": 0,
            "cases_allocated": 0,
            "unlinked": [
                migrations._unlinked(store, p, len(migrations.staff_named(store, p["key_worker"])))
                for p in migrations.unlinked_plans(store)
            ],
        }

    @blp.doc(operationId="linkKeyWorker")
    @blp.arguments(KeyWorkerLinkSchema)
    @blp.response(200, LinkReportSchema)
    @requires_role("admin")
    def post(self, body):
        """Link one plan's key worker to the member of staff named (admin)"""
        plan = ctx().store.collection(PLANS).find_one({"_id": body["plan_id"]})
        if plan is None:
            abort(404, message=f"no plan {body['plan_id']}")
        if plan.get("key_worker_user") and plan["key_worker_user"] != body["user"]:
            abort(
                409,
                message="the plan's key worker is already a member of staff; a new key worker is agreed as "
                "a change to the plan (PATCH /v1/plans/{plan_id})",
            )
        person = directory.entry(ctx().store, body["user"])
        if person is None:
            abort(
                422,
                message="no such member of staff",
                errors={"json": {"user": [f"no member of staff has the user id {body['user']!r}"]}},
            )
        after = migrations.linked(plan, person)
        with ctx().store.unit_of_work() as uow:
            uow.replace(PLANS, after, expected_version=plan["version"])
            audit.record_write(
                uow, "link_key_worker", "plan", plan["_id"], child_id=plan["child_id"], detail={"user": person["user"]}
            )
            ctx().publish(
                uow,
                migrations.LINKED,
                subject=plan["_id"],
                data={**lc.plan_snapshot(after), "child": child_named(plan["child_id"])},
            )
        return {"plans_linked": 1, "cases_allocated": 0, "unlinked": []}


@blp.route("/key-worker-links/by-name")
class KeyWorkerLinksByName(MethodView):
    @blp.doc(operationId="linkKeyWorkersByName")
    @blp.response(200, LinkReportSchema)
    @requires_role("admin")
    def post(self):
        """Link every plan whose key worker's name is exactly one member of staff's, and give each case with no
        social worker the social worker who opened it (admin; as `cpp migrate`; safe to repeat)"""
        return link_everyone().as_dict()
