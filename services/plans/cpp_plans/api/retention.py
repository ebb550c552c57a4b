"""Legal holds and the records due for erasure.

``POST /v1/children/{id}/legal-holds`` (an admin or a team manager) places a legal hold on a child's records, with
the reason, who asked for it and, optionally, until when: while a hold is in force the records are never due for
erasure. ``DELETE .../legal-holds/{hold_id}`` lifts it, with the reason; ``GET`` lists them. Each change is
audited. ``GET /v1/retention/due`` (admins and auditors) lists the children whose records are due today, as
``cpp retention run --dry-run`` does: ids, rules and dates, no names. The erasure itself is the command's, an
operator's act (docs/retention.md).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import RAISE, Schema, ValidationError, fields, validates_schema

from cpp_shared.auth import current_principal, requires_role
from cpp_shared.contracts.retention import retention_rules
from cpp_shared.idempotency import idempotent

from .. import audit
from ..service_layer import retention
from ..store import CHILDREN, LEGAL_HOLDS
from .children import Text
from .common import ctx, load, today

blp = Blueprint(
    "retention",
    __name__,
    url_prefix="/v1",
    description="Retention: legal holds on a child's records, and the records due for erasure",
)

MANAGERS = ("team_manager", "admin")
REASON_MAX = 2000


class HoldCreateSchema(Schema):
    class Meta:
        unknown = RAISE

    reason = Text(REASON_MAX, multiline=True, required=True, metadata={"description": "why the records are kept"})
    set_by = Text(
        required=True,
        metadata={"description": "who asked for the hold (a court, the council's legal team, an inquiry...)"},
    )
    until = fields.Date(metadata={"description": "the last day it holds, if it ends on a day; else until lifted"})

    @validates_schema(skip_on_field_errors=False)
    def _until_ahead(self, data: dict[str, Any], **kwargs: Any) -> None:
        """With the other fields' messages: every problem at once."""
        if isinstance(data.get("until"), date) and data["until"] < today():
            raise ValidationError({"until": ["Has passed: a hold that ended holds nothing."]})


class HoldLiftSchema(Schema):
    class Meta:
        unknown = RAISE

    reason = Text(REASON_MAX, multiline=True, required=True, metadata={"description": "why the hold is lifted"})


class HoldLiftedSchema(Schema):
    at = fields.String(metadata={"format": "date-time"})
    by = fields.String()
    reason = fields.String()


class HoldSchema(Schema):
    id = fields.String(attribute="_id")
    child_id = fields.String()
    reason = fields.String()
    set_by = fields.String()
    placed_by = fields.String(metadata={"description": "the user who recorded it"})
    placed_at = fields.String(metadata={"format": "date-time"})
    until = fields.String(allow_none=True, metadata={"format": "date"})
    in_force = fields.Boolean()
    lifted = fields.Nested(HoldLiftedSchema, allow_none=True)


class HoldListSchema(Schema):
    items = fields.List(fields.Nested(HoldSchema))


class DueSchema(Schema):
    child_id = fields.String()
    record_type = fields.String(metadata={"description": "child_protection or referral"})
    rule = fields.String(allow_none=True, metadata={"description": "the retention rule's id (cpp_retention_rules)"})
    due_on = fields.String(allow_none=True, metadata={"format": "date"})


class HeldSchema(DueSchema):
    holds = fields.List(fields.String(), metadata={"description": "the holds in force"})


class RuleSchema(Schema):
    id = fields.String()
    name = fields.String()
    record_type = fields.String()
    until_age = fields.Integer(allow_none=True, metadata={"description": "kept until this birthday"})
    years_after_last_entry = fields.Integer(
        allow_none=True, metadata={"description": "kept this many years after the last entry about the child"}
    )
    source = fields.String()
    plugin = fields.String(metadata={"description": "the plugin that gave it"})


class DueListSchema(Schema):
    today = fields.String(metadata={"format": "date"})
    rules = fields.List(fields.Nested(RuleSchema), metadata={"description": "the deployment's retention rules"})
    due = fields.List(fields.Nested(DueSchema), metadata={"description": "due for erasure today"})
    held = fields.List(
        fields.Nested(HeldSchema), metadata={"description": "would be due, or will be, but a legal hold is in force"}
    )


def _shown(hold: dict[str, Any]) -> dict[str, Any]:
    return {**hold, "in_force": retention.holds_of([hold])[0].in_force(today())}


@blp.route("/children/<child_id>/legal-holds")
class LegalHolds(MethodView):
    @idempotent  # a form sent again is one hold
    @requires_role(*MANAGERS)
    @blp.arguments(HoldCreateSchema)
    @blp.response(201, HoldSchema)
    def post(self, body, child_id):
        """Place a legal hold on the child's records: never erased while it is in force."""
        load(CHILDREN, child_id, "child", need_to_know=False)
        principal = current_principal()
        hold = {
            "_id": uuid.uuid4().hex,
            "authority": ctx().authority["code"],
            "child_id": child_id,
            "reason": body["reason"],
            "set_by": body["set_by"],
            "placed_by": principal.user,
            "placed_at": datetime.now(UTC).isoformat(),
            "until": body["until"].isoformat() if body.get("until") else None,
            "lifted": None,
        }
        with ctx().store.unit_of_work() as uow:
            uow.insert(LEGAL_HOLDS, hold)
            audit.record_write(
                uow,
                "place_legal_hold",
                "legal_hold",
                hold["_id"],
                child_id=child_id,
                detail={"until": hold["until"]},  # the reason stays with the hold, erased with the records
            )
        return _shown({**hold, "version": 1})

    @requires_role(*MANAGERS, "auditor")
    @blp.response(200, HoldListSchema)
    def get(self, child_id):
        """The child's legal holds, in force or lifted, oldest first."""
        load(CHILDREN, child_id, "child", need_to_know=False)
        found = (
            ctx()
            .store.collection(LEGAL_HOLDS)
            .find({"authority": ctx().authority["code"], "child_id": child_id}, sort=[("placed_at", 1)])
        )
        audit.record_read(ctx().store, "legal_hold", child_id, action="list", child_id=child_id)
        return {"items": [_shown(h) for h in found]}


@blp.route("/children/<child_id>/legal-holds/<hold_id>")
class LegalHold(MethodView):
    @requires_role(*MANAGERS)
    @blp.arguments(HoldLiftSchema)
    @blp.response(200, HoldSchema)
    def delete(self, body, child_id, hold_id):
        """Lift the hold, with the reason: the records are due again once their rule says so."""
        hold = (
            ctx()
            .store.collection(LEGAL_HOLDS)
            .find_one({"_id": hold_id, "authority": ctx().authority["code"], "child_id": child_id})
        )
        if hold is None:
            abort(404, message=f"no legal hold {hold_id} on child {child_id}")
        if hold.get("lifted") is not None:
            abort(409, message=f"the legal hold {hold_id} was lifted already")
        principal = current_principal()
        lifted = {"at": datetime.now(UTC).isoformat(), "by": principal.user, "reason": body["reason"]}
        after = {k: v for k, v in hold.items() if k != "version"} | {"lifted": lifted}
        with ctx().store.unit_of_work() as uow:
            uow.replace(LEGAL_HOLDS, after, expected_version=hold["version"])
            audit.record_write(uow, "lift_legal_hold", "legal_hold", hold_id, child_id=child_id)
        return _shown(after)


@blp.route("/retention/due")
class Due(MethodView):
    @requires_role("admin", "auditor")
    @blp.response(200, DueListSchema)
    def get(self):
        """The children whose records are due for erasure today (ids, rules and dates; no names), and those a
        legal hold keeps: what ``cpp retention run --dry-run`` lists. Erasing is the command's."""
        day = today()
        reviewed = retention.review(ctx(), day)
        audit.record_read(ctx().store, "retention", "due", action="list", detail={"today": day.isoformat()})
        return {
            "today": day.isoformat(),
            "rules": retention_rules(ctx().plugins),
            "due": [r.listing() for r in reviewed if r.decision.due],
            "held": [r.listing() for r in reviewed if r.decision.why == "held"],
        }
