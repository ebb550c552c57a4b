"""Plans: read a plan (with its ETag) and every agreed version of it."""
from __future__ import annotations

from typing import Any

from flask import make_response
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from cpp_shared.auth import requires_role

from .. import audit
from .common import READERS, ctx, load
from .plan_schemas import PlanContentSchema

blp = Blueprint("plans", __name__, url_prefix="/v1/plans", description="Child protection plans and their versions")


class AgreedSchema(Schema):
    by = fields.String()
    on = fields.String()
    at = fields.String()


class PlanSchema(Schema):
    id = fields.String(attribute="_id", dump_only=True)
    case_id = fields.String()
    child_id = fields.String()
    status = fields.String(metadata={"description": "outline, active or ended"})
    plan_version = fields.Integer(metadata={"description": "the number of the agreed version in force"})
    created_on = fields.String()
    activated_on = fields.String(allow_none=True)
    last_reviewed_on = fields.String(allow_none=True)
    ended = fields.Dict(allow_none=True)
    agreed = fields.Nested(AgreedSchema)
    key_worker = fields.String(allow_none=True)
    categories = fields.List(fields.String())
    content = fields.Nested(PlanContentSchema)
    version = fields.Integer(metadata={"description": "the record's revision, as in its ETag"})


class PlanVersionSchema(Schema):
    plan_id = fields.String()
    number = fields.Integer()
    status = fields.String()
    content = fields.Nested(PlanContentSchema)
    agreed = fields.Nested(AgreedSchema)


class PlanVersionListSchema(Schema):
    plan_id = fields.String()
    versions = fields.List(fields.Nested(PlanVersionSchema))


def etag(doc: dict[str, Any]) -> str:
    return f'"{doc["version"]}"'


def plan_response(plan: dict[str, Any]) -> dict[str, Any]:
    return plan


@blp.route("/<plan_id>")
class PlanById(MethodView):
    @blp.response(200, PlanSchema, headers={"ETag": {"description": "the plan's revision, for If-Match",
                                                      "schema": {"type": "string"}}})
    @requires_role(*READERS)
    def get(self, plan_id):
        plan = load("plans", plan_id, "plan")
        audit.record_read(ctx().store, "plan", plan_id, child_id=plan["child_id"])
        response = make_response(PlanSchema().dump(plan_response(plan)))
        response.headers["ETag"] = etag(plan)
        return response


@blp.route("/<plan_id>/versions")
class PlanVersions(MethodView):
    @blp.response(200, PlanVersionListSchema)
    @requires_role(*READERS)
    def get(self, plan_id):
        plan = load("plans", plan_id, "plan")
        versions = ctx().store.collection("plan_versions").find({"plan_id": plan_id}, sort=[("number", 1)])
        audit.record_read(ctx().store, "plan_versions", plan_id, child_id=plan["child_id"])
        return {"plan_id": plan_id, "versions": versions}


@blp.route("/<plan_id>/versions/<int:number>")
class PlanVersionByNumber(MethodView):
    @blp.response(200, PlanVersionSchema)
    @requires_role(*READERS)
    def get(self, plan_id, number):
        plan = load("plans", plan_id, "plan")
        version = ctx().store.collection("plan_versions").find_one({"plan_id": plan_id, "number": number})
        if version is None:
            abort(404, message=f"plan {plan_id} has no version {number}")
        audit.record_read(ctx().store, "plan_version", f"{plan_id}:{number}", child_id=plan["child_id"])
        return version
