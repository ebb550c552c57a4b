"""Restricted (sealed) records: setting and lifting a child's restriction,
breaking glass, and the child's access report.

* ``PUT /v1/children/{id}/restriction`` (a team manager or an admin): the
  child's records become readable and changeable only by the users on the
  access list (access.py enforces it); the manager named is told of every
  break-glass. Once a restriction is in force, only an admin, its manager or
  a team manager on its access list may change or lift it.
* ``DELETE /v1/children/{id}/restriction`` with the reason: lifted.
* ``POST /v1/children/{id}/break-glass`` (a practitioner not on the list),
  with the reason: the caller may read and change the child's records for
  ``CPP_PLANS_BREAK_GLASS_MINUTES`` (default 60); ``access.break_glass.v1``
  tells the restriction's manager at once (the notify service).
* ``GET /v1/children/{id}/access-report`` (the key worker, the
  restriction's manager, team managers, auditors): who read or changed the
  child's record, when, and why (break-glass reasons), newest first, a page
  at a time (``before_seq`` keeps later pages in place while the log grows).

Each change is committed with its audit entry and its event; bad input is a
422 by field and writes nothing.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from cpp_shared import need_to_know as rule
from cpp_shared.auth import Principal, current_principal, requires_role
from cpp_shared.idempotency import idempotent
from cpp_shared.paging import LongPaging, Page
from cpp_shared.store import DuplicateKey

from .. import access, audit
from ..store import CHILDREN, PLANS
from .children import Text
from .common import READERS, child_named, ctx, load

blp = Blueprint(
    "restrictions",
    __name__,
    url_prefix="/v1/children",
    description="Restricted records: need to know, break-glass and the access report",
)

MANAGERS = ("team_manager", "admin")
REPORT_ROLES = ("team_manager", "auditor")  # besides the key worker and the restriction's manager
IN_FORCE = ["outline", "active"]


def _reason(description: str) -> Text:
    return Text(
        rule.REASON_MAX,
        multiline=True,
        required=True,
        validate=validate.Length(min=rule.REASON_MIN),
        metadata={"description": f"{description} ({rule.REASON_MIN} to {rule.REASON_MAX} characters)"},
    )


def _each_once(users: list[str]) -> None:
    if len(set(users)) != len(users):
        raise ValidationError("Name each user once.")


class ManagerSchema(Schema):
    class Meta:
        unknown = RAISE

    user = Text(200, required=True, metadata={"description": "the manager's user id"})
    email = fields.Email(
        required=True,
        validate=validate.Length(max=254),
        metadata={"description": "where the notice of a break-glass goes (email and inbox)"},
    )
    name = Text(200, required=True)


class RestrictionSetSchema(Schema):
    class Meta:
        unknown = RAISE

    reason = _reason("why the record is restricted")
    access_list = fields.List(
        Text(200),
        required=True,
        validate=[validate.Length(min=1, max=rule.ACCESS_LIST_MAX), _each_once],
        metadata={"description": "the user ids who may read and change the child's records"},
    )
    manager = fields.Nested(ManagerSchema, required=True, metadata={"description": "who is told of every break-glass"})


class ReasonSchema(Schema):
    class Meta:
        unknown = RAISE

    reason = _reason("why")


class LiftedSchema(Schema):
    at = fields.String()
    by = fields.String()
    reason = fields.String()


class RestrictionSchema(Schema):
    child_id = fields.String()
    restriction_id = fields.String()
    active = fields.Boolean(metadata={"description": "true while in force; false once lifted"})
    reason = fields.String()
    access_list = fields.List(fields.String())
    manager = fields.Nested(ManagerSchema)
    set_at = fields.String()
    set_by = fields.String()
    lifted = fields.Nested(LiftedSchema, allow_none=True)
    version = fields.Integer()


class GrantSchema(Schema):
    id = fields.String(attribute="_id")
    child_id = fields.String()
    restriction_id = fields.String()
    user = fields.String()
    role = fields.String()
    reason = fields.String()
    granted_at = fields.String()
    expires_at = fields.String(metadata={"description": "after this moment the grant opens nothing"})


class AccessReportQuery(LongPaging):
    before_seq = fields.Integer(
        validate=validate.Range(min=1, max=2**63 - 1),
        metadata={
            "description": "only the entries before this place in the log: the first page's before_seq, so that "
            "later pages stay where they were while the log grows"
        },
    )


class AccessEntrySchema(Schema):
    seq = fields.Integer(metadata={"description": "the entry's place in the audit log"})
    at = fields.String()
    actor = fields.String()
    role = fields.String()
    action = fields.String(metadata={"description": "read, list, update, lookup, break_glass, set_restriction..."})
    record_type = fields.String()
    record_id = fields.String()
    break_glass = fields.String(allow_none=True, metadata={"description": "the grant it was done under, if any"})
    reason = fields.String(
        allow_none=True,
        metadata={
            "description": "the reason given: for breaking glass (and "
            "for every read under that grant), or for "
            "setting or lifting the restriction"
        },
    )
    request_id = fields.String(allow_none=True)


class AccessReportSchema(Page):
    child_id = fields.String()
    items = fields.List(fields.Nested(AccessEntrySchema))
    before_seq = fields.Integer(metadata={"description": "pass it back with the next page"})


# --- who may do what ------------------------------------------------------------


def may_manage(restriction: dict[str, Any] | None, principal: Principal) -> bool:
    """An admin; a team manager while no restriction is in force; then its
    manager, or a team manager on its access list."""
    if principal.holds("admin"):
        return True
    if not principal.holds("team_manager"):
        return False
    if not rule.in_force(restriction):
        return True
    return rule.on_access_list(restriction, principal.user) or restriction["manager"]["user"] == principal.user


def is_key_worker(child_id: str, principal: Principal) -> bool:
    """Whether the caller is the key worker of a plan in force for the child.
    A plan names its key worker by name and contact, not by user id: the
    caller is recognised by the email address the plan gives."""
    email = principal.address
    for plan in ctx().store.collection(PLANS).find({"child_id": child_id, "status": {"$in": IN_FORCE}}):
        key_worker = (plan.get("content") or {}).get("key_worker") or {}
        if key_worker.get("email") and key_worker["email"].lower() == email:
            return True
    return False


def _refuse_unless_manager(restriction: dict[str, Any] | None) -> None:
    if not may_manage(restriction, current_principal()):
        abort(
            403,
            message="only an admin, the restriction's manager or a team manager on its access list may "
            "change or lift a restriction in force",
        )


# --- the restriction ---------------------------------------------------------------


@blp.route("/<child_id>/restriction")
class Restriction(MethodView):
    @requires_role(*READERS)
    @blp.response(200, RestrictionSchema)
    def get(self, child_id):
        """The child's restriction (in force or lifted): to those who may read the child's records or manage it"""
        load(CHILDREN, child_id, "child", need_to_know=False)
        restriction = access.restriction_of(child_id)
        if restriction is None:
            abort(404, message=f"child {child_id}'s record has never been restricted")
        if not may_manage(restriction, current_principal()):
            access.check(child_id)
        audit.record_read(ctx().store, "restriction", child_id, child_id=child_id)
        return restriction

    @requires_role(*MANAGERS)
    @blp.arguments(RestrictionSetSchema)
    @blp.response(200, RestrictionSchema)
    def put(self, body, child_id):
        """Restrict the child's record to an access list, or change the restriction in force"""
        load(CHILDREN, child_id, "child", need_to_know=False)
        before = access.restriction_of(child_id)
        _refuse_unless_manager(before)
        principal = current_principal()
        at = access.now().isoformat()
        after = {
            "_id": child_id,
            "child_id": child_id,
            # A restriction changed while in force keeps its id (and its grants); a new one starts afresh.
            "restriction_id": before["restriction_id"] if rule.in_force(before) else uuid.uuid4().hex,
            "active": True,
            "reason": body["reason"],
            "access_list": body["access_list"],
            "manager": body["manager"],
            "set_at": at,
            "set_by": principal.user,
            "lifted": None,
        }
        try:
            with ctx().store.unit_of_work() as uow:
                if before is None:
                    uow.insert(access.RESTRICTIONS, after)
                else:
                    uow.replace(access.RESTRICTIONS, after, expected_version=before["version"])
                audit.record_write(
                    uow,
                    "set_restriction",
                    "restriction",
                    child_id,
                    child_id=child_id,
                    detail={
                        "restriction_id": after["restriction_id"],
                        "reason": body["reason"],
                        "access_list": body["access_list"],
                        "manager": body["manager"],
                    },
                )
                # The reason stays in the system of record: it is not the other services' to keep.
                ctx().publish(
                    uow,
                    "child.restriction_set.v1",
                    subject=child_id,
                    data={
                        "child_id": child_id,
                        "restriction_id": after["restriction_id"],
                        "access_list": body["access_list"],
                        "manager": body["manager"],
                        "set_by": principal.user,
                        "set_at": at,
                    },
                )
        except DuplicateKey:
            abort(409, message="the child's restriction was set by someone else meanwhile; read it and try again")
        return {**after, "version": before["version"] + 1 if before else 1}

    @requires_role(*MANAGERS)
    @blp.arguments(ReasonSchema)
    @blp.response(200, RestrictionSchema)
    def delete(self, body, child_id):
        """Lift the restriction, with the reason"""
        load(CHILDREN, child_id, "child", need_to_know=False)
        before = access.restriction_of(child_id)
        if not rule.in_force(before):
            abort(409, message=f"child {child_id}'s record is not restricted")
        _refuse_unless_manager(before)
        principal = current_principal()
        at = access.now().isoformat()
        after = {**before, "active": False, "lifted": {"at": at, "by": principal.user, "reason": body["reason"]}}
        after.pop("version")
        with ctx().store.unit_of_work() as uow:
            uow.replace(access.RESTRICTIONS, after, expected_version=before["version"])
            audit.record_write(
                uow,
                "lift_restriction",
                "restriction",
                child_id,
                child_id=child_id,
                detail={"restriction_id": before["restriction_id"], "reason": body["reason"]},
            )
            ctx().publish(
                uow,
                "child.restriction_lifted.v1",
                subject=child_id,
                data={
                    "child_id": child_id,
                    "restriction_id": before["restriction_id"],
                    "lifted_by": principal.user,
                    "lifted_at": at,
                },
            )
        return {**after, "version": before["version"] + 1}


# --- break-glass ------------------------------------------------------------------------


@blp.route("/<child_id>/break-glass")
class BreakGlass(MethodView):
    @idempotent  # a grant sent again is not a second grant, nor a second notice to the manager
    @requires_role(*rule.PRACTITIONERS)
    @blp.arguments(ReasonSchema)
    @blp.response(201, GrantSchema)
    def post(self, body, child_id):
        """Break glass: read and change a restricted child's records for a limited time, with the reason (the
        restriction's manager is told at once)"""
        load(CHILDREN, child_id, "child", need_to_know=False)
        restriction = access.restriction_of(child_id)
        if not rule.in_force(restriction):
            abort(409, message=f"child {child_id}'s record is not restricted: there is no glass to break")
        principal = current_principal()
        if rule.on_access_list(restriction, principal.user):
            abort(409, message=f"you are on the access list of child {child_id}'s record: no need to break glass")
        at = access.now()
        expires = at + timedelta(minutes=ctx().extensions[access.MINUTES_SETTING])
        grant = {
            "_id": uuid.uuid4().hex,
            "child_id": child_id,
            "restriction_id": restriction["restriction_id"],
            "user": principal.user,
            "role": principal.role,
            "reason": body["reason"],
            "granted_at": at.isoformat(),
            "expires_at": expires.isoformat(),
            "expires_ts": expires.timestamp(),
            "manager": restriction["manager"],
        }
        with ctx().store.unit_of_work() as uow:
            uow.insert(access.GRANTS, grant)
            audit.record_write(
                uow,
                "break_glass",
                "break_glass_grant",
                grant["_id"],
                child_id=child_id,
                detail={
                    "break_glass": grant["_id"],
                    "reason": body["reason"],
                    "expires_at": grant["expires_at"],
                    "restriction_id": restriction["restriction_id"],
                },
            )
            ctx().publish(
                uow,
                "access.break_glass.v1",
                subject=child_id,
                data={
                    "grant_id": grant["_id"],
                    "child_id": child_id,
                    "restriction_id": restriction["restriction_id"],
                    "user": principal.user,
                    "role": principal.role,
                    "reason": body["reason"],
                    "granted_at": grant["granted_at"],
                    "expires_at": grant["expires_at"],
                    "manager": restriction["manager"],
                    "child": child_named(child_id),
                    **({"user_name": principal.given_name} if principal.given_name else {}),
                },
            )
        return grant


# --- the access report ----------------------------------------------------------------------


@blp.route("/<child_id>/access-report")
class AccessReport(MethodView):
    @requires_role(*READERS)
    @blp.arguments(AccessReportQuery, location="query")
    @blp.response(200, AccessReportSchema)
    def get(self, query, child_id):
        """Who read or changed the child's record, when and why (break-glass reasons), newest first: for the
        key worker, the restriction's manager, team managers and auditors"""
        load(CHILDREN, child_id, "child", need_to_know=False)
        principal = current_principal()
        restriction = access.restriction_of(child_id)
        allowed = (
            principal.holds(*REPORT_ROLES)
            or (restriction is not None and restriction["manager"]["user"] == principal.user)
            or is_key_worker(child_id, principal)
        )
        if not allowed:
            abort(
                403,
                message="a child's access report is for the child's key worker, the restriction's manager, "
                "team managers and auditors",
            )
        records = audit.entries_about(ctx().store, child_id)
        before = query.get("before_seq") or (records[-1].seq + 1 if records else 1)
        records = [r for r in records if r.seq < before]
        reasons = {
            r.entry["detail"]["break_glass"]: r.entry["detail"].get("reason")
            for r in records
            if r.entry.get("action") == "break_glass" and r.entry.get("detail")
        }
        page, size = query["page"], query["page_size"]
        newest_first = records[::-1][(page - 1) * size : page * size]
        items = []
        for record in newest_first:
            e = record.entry
            detail = e.get("detail") or {}
            grant = detail.get("break_glass")
            items.append(
                {
                    "seq": record.seq,
                    "at": e.get("at"),
                    "actor": e.get("actor"),
                    "role": e.get("role"),
                    "action": e.get("action"),
                    "record_type": e.get("record_type"),
                    "record_id": e.get("record_id"),
                    "break_glass": grant,
                    "reason": detail.get("reason") or (reasons.get(grant) if grant else None),
                    "request_id": e.get("request_id"),
                }
            )
        audit.record_read(
            ctx().store,
            "access_report",
            child_id,
            action="list",
            child_id=child_id,
            detail={"page": page, "count": len(items), "total": len(records)},
        )
        return {
            "child_id": child_id,
            "items": items,
            "page": page,
            "page_size": size,
            "total": len(records),
            "before_seq": before,
        }
