"""GET /v1/performance: the figures managers are judged by, for a period, by team and by worker, with the
children behind each figure."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from cpp_shared import audit
from cpp_shared.auth import requires_role

from ..domain.census import Year
from ..domain.performance import Period, figures
from ..runtime import today
from .common import RETURNERS, authority_histories, ctx

blp = Blueprint("performance", __name__, url_prefix="/v1/performance", description="Managers' figures")


class PerformanceQuerySchema(Schema):
    from_ = fields.Date(
        data_key="from",
        metadata={"description": "the period's first day (default: 1 April of the last complete collection year)"},
    )
    to = fields.Date(metadata={"description": "its last day (default: the last 31 March that has passed)"})
    team = fields.String(validate=validate.Length(min=1, max=200), metadata={"description": "one team's cases"})
    worker = fields.String(
        validate=validate.Length(min=1, max=200), metadata={"description": "one social worker's cases (their user id)"}
    )

    @validates_schema
    def _in_order(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "from_" in data and "to" in data and data["to"] < data["from_"]:
            raise ValidationError("must not be before from", field_name="to")


class ItemSchema(Schema):
    child_id = fields.String()
    name = fields.String(allow_none=True)
    case_id = fields.String()
    plan_id = fields.String(allow_none=True)
    team = fields.String(allow_none=True)
    worker = fields.Dict(allow_none=True)
    on = fields.String(metadata={"description": "the day it counts on"})
    ok = fields.Boolean(allow_none=True, metadata={"description": "on time (null: counted, not judged)"})
    detail = fields.String()


class FigureSchema(Schema):
    label = fields.String()
    count = fields.Integer()
    met = fields.Integer(allow_none=True)
    percent = fields.Float(allow_none=True, metadata={"description": "met of count; null when count is 0"})
    children = fields.List(fields.Nested(ItemSchema), metadata={"description": "the items behind the figure"})


class PerformanceSchema(Schema):
    period = fields.Dict()
    as_of = fields.String(allow_none=True)
    team = fields.String(allow_none=True)
    worker = fields.String(allow_none=True)
    figures = fields.Dict(keys=fields.String(), values=fields.Nested(FigureSchema))
    by_team = fields.List(fields.Dict())
    by_worker = fields.List(fields.Dict())


@blp.route("")
class Performance(MethodView):
    @requires_role(*RETURNERS)
    @blp.arguments(PerformanceQuerySchema, location="query")
    @blp.response(200, PerformanceSchema)
    def get(self, query: dict[str, Any]):
        """The period's figures: initial conferences within 15 working days, reviews and visits on time, plans
        open over two years and repeat plans within two years, each with its children, by team and by worker."""
        now = today(ctx())
        last = Year(Year.containing(now).year - 1)  # the last complete collection year
        period = Period(query.get("from_", last.start), query.get("to", last.end))
        if period.end < period.start:  # only one end given, on the wrong side of the default other
            abort(422, errors={"query": {"to": ["must not be before from"]}})
        children, as_of = authority_histories()
        found = figures(children, period, today=now, team=query.get("team"), worker=query.get("worker"))
        shown = sorted({i["child_id"] for v in found["figures"].values() for i in v["children"]})
        audit.record_read(
            ctx().store,
            "performance",
            f"{period.start}..{period.end}",
            action="list",
            detail={"children": len(shown), "team": query.get("team"), "worker": query.get("worker")},
        )
        return {
            "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
            "as_of": as_of,
            "team": query.get("team"),
            "worker": query.get("worker"),
            **found,
        }
