"""Cases: one child protection episode of a child."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from cpp_shared.auth import current_principal, requires_role

from .. import audit

blp = Blueprint("cases", __name__, url_prefix="/v1/cases", description="Child protection cases")

WRITERS = ("social_worker", "team_manager")
READERS = ("social_worker", "team_manager", "chair", "auditor", "admin")


class CaseCreateSchema(Schema):
    child_id = fields.String(required=True, validate=validate.Length(min=1, max=100))


class CaseSchema(Schema):
    id = fields.String(attribute="_id", dump_only=True)
    child_id = fields.String()
    status = fields.String()
    opened_at = fields.String()
    opened_by = fields.String()
    version = fields.Integer()


@blp.route("")
class Cases(MethodView):
    @blp.arguments(CaseCreateSchema)
    @blp.response(201, CaseSchema)
    @requires_role(*WRITERS)
    def post(self, body):
        ctx = current_app.extensions["cpp"]
        case = {
            "_id": uuid.uuid4().hex,
            "authority": ctx.authority["code"],
            "child_id": body["child_id"],
            "status": "open",
            "opened_at": datetime.now(timezone.utc).isoformat(),
            "opened_by": current_principal().user,
        }
        with ctx.store.unit_of_work() as uow:
            uow.insert("cases", case)
            audit.record_write(uow, "create", "case", case["_id"], child_id=case["child_id"])
            ctx.publish(uow, "case.opened.v1", subject=case["_id"],
                        data={"case_id": case["_id"], "child_id": case["child_id"], "opened_at": case["opened_at"]})
        return {**case, "version": 1}


@blp.route("/<case_id>")
class CaseById(MethodView):
    @blp.response(200, CaseSchema)
    @requires_role(*READERS)
    def get(self, case_id):
        ctx = current_app.extensions["cpp"]
        # Another authority's case is "not found", never "forbidden": its existence is not ours to tell.
        case = ctx.store.collection("cases").find_one({"_id": case_id, "authority": ctx.authority["code"]})
        if case is None:
            abort(404, message=f"no case {case_id}")
        audit.record_read(ctx.store, "case", case_id, child_id=case["child_id"])
        return case
