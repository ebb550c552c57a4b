"""The deployment's categories of harm (Scotland: areas of concern), from its plugins (``cpp_categories``): set as
the service starts, so that a plan's content accepts only those and the OpenAPI document lists them, and read by
the web application and partners at ``GET /v1/categories`` rather than kept in a list of their own."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from cpp_shared.auth import requires_role
from cpp_shared.contracts.hook_answers import categories as offered_by

from .common import READERS, ctx
from .plan_schemas import OFFERED

blp = Blueprint(
    "categories", __name__, url_prefix="/v1/categories", description="The categories of harm a plan may record"
)

# Marks the plan content's categories field in the OpenAPI document (its description, plan_schemas._make).
DESCRIBED_AS = "the categories of harm: "


class CategorySchema(Schema):
    id = fields.String(metadata={"description": "what a plan's categories hold"})
    name = fields.String(metadata={"description": "the category's name, shown to people"})
    census_code = fields.String(
        allow_none=True,
        metadata={"description": "England's Children in Need census code (PHY, EMO, SAB, NEG); null elsewhere"},
    )


class CategoryListSchema(Schema):
    items = fields.List(fields.Nested(CategorySchema))


@blp.route("")
class Categories(MethodView):
    @blp.response(200, CategoryListSchema)
    @requires_role(*READERS, "partner")  # a partner reads the category codes a lookup answers with
    def get(self):
        """The categories this deployment's plans record, in its plugins' order (readers and partners)."""
        return {"items": ctx().extensions[OFFERED]}


def install(app: Flask) -> None:
    """Take the deployment's categories from its plugins (none stops the start) and show them in the OpenAPI
    document's plan content."""
    offered = offered_by(app.extensions["cpp"].plugins)
    app.extensions["cpp"].extensions[OFFERED] = offered
    ids = [c["id"] for c in offered]
    api = app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    for schema in api.spec.components.schemas.values():
        field: dict[str, Any] = (schema.get("properties") or {}).get("categories") or {}
        if str(field.get("description", "")).startswith(DESCRIBED_AS):
            field["description"] = DESCRIBED_AS + ", ".join(f"{c['id']} ({c['name']})" for c in offered)
            field["items"] = {**field.get("items", {}), "enum": ids}
