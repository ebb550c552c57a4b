"""GET /v1/rules: the deployment's timescale rules in force, with the
working-day calendar they count on."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from cpp_shared.auth import requires_role
from cpp_shared.web import ServiceContext

from ..domain import words
from ..runtime import runtime
from .common import READERS, ctx

blp = Blueprint("rules", __name__, url_prefix="/v1/rules", description="The deployment's timescale rules")


class RuleSchema(Schema):
    id = fields.String()
    name = fields.String()
    deadline = fields.String()
    trigger = fields.List(fields.String())
    when = fields.Dict()
    anchor = fields.String()
    key = fields.String(allow_none=True)
    offset = fields.Dict(allow_none=True)
    timescale = fields.String(metadata={"description": "the rule in words"})
    owner = fields.String()
    met_by = fields.List(fields.String())
    met_when = fields.Dict()
    met_on = fields.String()
    cancelled_by = fields.List(fields.Dict())
    recurrence = fields.Dict(allow_none=True)
    reminder_days = fields.Integer()
    source = fields.String(metadata={"description": "where the timescale comes from, and how firmly"})
    plugin = fields.String(metadata={"description": "the plugin whose rule is in force"})
    earliest_of = fields.List(
        fields.Dict(),
        metadata={"description": "other counts ({anchor, offset}) the deadline must not fall after; often empty"},
    )


class TimetableSchema(Schema):
    authority = fields.String()
    plugins = fields.List(fields.String())
    calendar = fields.Dict()
    rules = fields.List(fields.Nested(RuleSchema))


def timetable(context: ServiceContext) -> dict[str, Any]:
    r = runtime(context)
    cal = r.calendar
    return {
        "authority": r.authority,
        "plugins": list(context.plugins.order),
        "calendar": {
            "country": cal.country,
            "subdiv": cal.subdiv,
            "timezone": str(r.timezone),
            "closure_days": [{**c.as_dict(), "description": words.closure(c)} for c in cal.closures],
        },
        "rules": [rule.as_dict() for rule in r.rules],
    }


@blp.route("")
class Rules(MethodView):
    @blp.response(200, TimetableSchema)
    @requires_role(*READERS)
    def get(self):
        """The effective timetable: every rule in force, with its source and the plugin it comes from."""
        return timetable(ctx())
