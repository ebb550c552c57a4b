"""The partner lookup: "is this child subject of a child protection plan?"

GET /v1/lookup?nhs_number=... is the partners' own route (the ``partner``
role only; staff use the children and plans resources). The answer is the
minimum a health visitor, a teacher or a police officer needs to act: whether
the child is subject of a plan (outline or active), since when, under which
categories, and whom to call (the council's team and the key worker's name).
Never the child's or family's names, address, the plan's content or the
case's details.

An unknown child, a child without a plan and a child whose plan has ended get
the same answer in the same shape, so the lookup does not tell whether the
council knows the child.

Every lookup is in the audit log and publishes ``lookup.performed.v1`` in the
same unit of work, so that the notify service tells the key worker who
looked (as CP-IS does). The audit log, inside the system of record, names
the number looked up; the event, which leaves the service, never carries it:
its subject is the child's id, or for an unknown child the lookup's own id
(a hash of the number would not hide it: there are only about 10^9 valid
NHS numbers).

Lean on purpose: two indexed reads (the child by its NHS key, the child's plan
in force by child_id) and one commit, shared with the other lookups and reads
being committed at the same moment (group_commit.py): the answer still goes
out only once this lookup's audit entry and event are on disk.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, ValidationError, fields

from cpp_shared import limits
from cpp_shared.auth import current_principal, requires_role
from cpp_shared.store import Store

from .. import audit, group_commit
from ..domain import identifiers
from . import children

blp = Blueprint("lookup", __name__, url_prefix="/v1/lookup",
                description="Partner agencies: is this child subject of a child protection plan?")

EVENT = "lookup.performed.v1"
IN_FORCE = ["outline", "active"]  # a plan in these states makes the child "subject of a plan"

# Looking numbers up one after another is how a list of children on plans
# would be drawn out: each partner, and each address, gets a budget.
PER_PRINCIPAL = limits.Rule("lookup_per_principal", "RATE_LIMIT_LOOKUP_PER_PRINCIPAL", "60/minute",
                            limits.by_principal, "partner lookups by this user")
PER_ADDRESS = limits.Rule("lookup_per_address", "RATE_LIMIT_LOOKUP_PER_ADDRESS", "300/minute",
                          limits.by_address, "partner lookups from this address")


class NhsNumber(fields.String):
    """An NHS number in any usual writing, loaded as its 10 digits."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return identifiers.nhs_number(text)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class LookupQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    nhs_number = NhsNumber(required=True, metadata={"description": "9434765919, 943 476 5919 or 943-476-5919"})


class ContactSchema(Schema):
    team = fields.String(metadata={"description": "the council's children's services"})
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    key_worker = fields.String(allow_none=True, metadata={"description": "the key worker's name, when on a plan"})


class LookupSchema(Schema):
    nhs_number = fields.String(metadata={"description": "as normalised: 10 digits"})
    subject_of_plan = fields.Boolean()
    plan_status = fields.String(allow_none=True, metadata={"description": "outline or active; null when not on a plan"})
    since = fields.String(allow_none=True, metadata={"format": "date", "description": "the day the plan began"})
    categories = fields.List(fields.String(), metadata={"description": "categories of abuse or neglect; [] when not on a plan"})
    contact = fields.Nested(ContactSchema)


def setup_store(store: Store) -> None:
    """The indexes the lookup reads by (idempotent)."""
    children.setup_store(store)  # children.nhs_key (unique)
    store.collection("plans").create_index("child_id")


def _first(contacts: list[dict[str, Any]], key: str) -> str | None:
    return next((c[key] for c in contacts if c.get(key)), None)


@blp.route("")
class Lookup(MethodView):
    @limits.limited(PER_PRINCIPAL, PER_ADDRESS)
    @requires_role("partner")
    @blp.arguments(LookupQuerySchema(), location="query", unknown=RAISE)  # an instance: not built per request
    @blp.response(200, LookupSchema)
    @blp.alt_response(429, description="too many lookups by this user or from this address; see Retry-After")
    def get(self, query):
        """Whether a child is subject of a child protection plan, and whom to contact"""
        ctx = current_app.extensions["cpp"]
        principal = current_principal()
        authority = ctx.authority
        code = authority["code"]
        nhs = query["nhs_number"]

        child = ctx.store.collection(children.COLLECTION).find_one(
            {"nhs_key": children._nhs_key(code, nhs), "authority": code})
        child_id = child["_id"] if child else None
        plan = None
        if child_id is not None:
            found = ctx.store.collection("plans").find(
                {"child_id": child_id, "authority": code, "status": {"$in": IN_FORCE}},
                sort=[("created_on", -1)], limit=1)
            plan = found[0] if found else None
        key_worker = None
        if plan is not None:
            key_worker = plan.get("key_worker") or (plan.get("content") or {}).get("key_worker", {}).get("name")

        lookup_id = uuid.uuid4().hex
        subject_of_plan = plan is not None
        with group_commit.unit_of_work(ctx.store) as uow:
            audit.record_write(uow, "lookup", "child" if child_id else "lookup", child_id or lookup_id,
                               child_id=child_id,
                               detail={"lookup_id": lookup_id, "nhs_number": nhs,
                                       "subject_of_plan": subject_of_plan, "plan_id": plan["_id"] if plan else None})
            ctx.publish(uow, EVENT, subject=child_id or lookup_id, data={
                "lookup_id": lookup_id,
                "performed_at": datetime.now(timezone.utc).isoformat(),
                "partner": principal.user,
                "partner_role": principal.role,
                "authority": code,
                "child_id": child_id,
                "plan_id": plan["_id"] if plan else None,
                "key_worker": key_worker,
                "subject_of_plan": subject_of_plan,
            })

        contacts = authority.get("contacts") or []
        return {
            "nhs_number": nhs,
            "subject_of_plan": subject_of_plan,
            "plan_status": plan["status"] if plan else None,
            "since": plan["created_on"] if plan else None,
            "categories": list(plan.get("categories") or []) if plan else [],
            "contact": {
                "team": authority["name"],
                "phone": _first(contacts, "phone"),
                "email": _first(contacts, "email"),
                "key_worker": key_worker,
            },
        }
