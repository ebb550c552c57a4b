"""GET /v1/returns/cin-census and /v1/returns/cin-census/quality: England's Children in Need census for a
collection year, and the checks to make before it is sent."""

from __future__ import annotations

import io
import json
from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from cpp_shared import audit
from cpp_shared.auth import requires_role

from ..domain import scotland
from ..domain.census import Year, write_census
from ..domain.quality import ERROR, check_counted
from ..domain.scotland import ScottishYear
from ..runtime import deployment
from .common import RETURNERS, authority_histories, ctx

blp = Blueprint("returns", __name__, url_prefix="/v1/returns", description="Statutory returns")


class YearQuerySchema(Schema):
    year = fields.Integer(
        required=True,
        strict=False,
        validate=validate.Range(min=2010, max=2100),
        metadata={"description": "the collection year: 2026 is the twelve months to 31 March 2026"},
    )


class ProblemSchema(Schema):
    severity = fields.String(metadata={"description": "error (fix before sending) or warning"})
    element = fields.String(metadata={"description": "the census element it is about"})
    message = fields.String()
    fix = fields.String(metadata={"description": "how to put it right"})
    child_id = fields.String(allow_none=True)
    case_id = fields.String(allow_none=True)


class QualitySchema(Schema):
    year = fields.Integer()
    period = fields.Dict(metadata={"description": "the first and last day the return covers"})
    as_of = fields.String(allow_none=True, metadata={"description": "the time of the latest event it reflects"})
    children = fields.Integer(metadata={"description": "children in the return"})
    ready = fields.Boolean(metadata={"description": "true when there is no error to fix"})
    errors = fields.Integer()
    warnings = fields.Integer()
    problems = fields.List(fields.Nested(ProblemSchema))


def _audited(what: str, year: Year, children: int) -> None:
    """The read of a return is on the audit log, with how many children it gave, before it is answered."""
    audit.record_read(ctx().store, what, str(year.year), detail={"children": children})


#: The returns each jurisdiction's councils send, as this service makes them.
RETURNS_OF = {
    "england": [
        {
            "id": "cin-census",
            "name": "Children in Need census",
            "to": "the Department for Education",
            "year_ends": "31 March",
        }
    ],
    "scotland": [
        {
            "id": "scotland-child-protection",
            "name": "Child protection figures",
            "to": "the Scottish Government",
            "year_ends": "31 July",
        }
    ],
}


class ReturnSchema(Schema):
    id = fields.String(metadata={"description": "cin-census or scotland-child-protection: the path under /v1/returns"})
    name = fields.String()
    to = fields.String(metadata={"description": "who it is sent to"})
    year_ends = fields.String(metadata={"description": "the day its year ends"})


class ReturnsSchema(Schema):
    jurisdiction = fields.String()
    returns = fields.List(fields.Nested(ReturnSchema))


@blp.route("")
class Returns(MethodView):
    @requires_role(*RETURNERS)
    @blp.response(200, ReturnsSchema)
    def get(self):
        """The returns this deployment makes, by its jurisdiction: none yet for Wales, Northern Ireland and
        Guernsey."""
        jurisdiction = ctx().authority.get("jurisdiction") or "england"
        return {"jurisdiction": jurisdiction, "returns": RETURNS_OF.get(jurisdiction, [])}


@blp.route("/cin-census")
class CinCensus(MethodView):
    @requires_role(*RETURNERS)
    @blp.arguments(YearQuerySchema, location="query")
    @blp.response(200, {"type": "string"}, content_type="application/xml", description="the census (CIN_schema_2024)")
    def get(self, query: dict[str, Any]):
        """The Children in Need census for a collection year, as the DfE's XML, from the events the
        returns hold (their time is the header's DateTime and the ``Returns-As-Of`` header)."""
        children, as_of = authority_histories()
        year = Year(query["year"])
        out = io.BytesIO()
        written = write_census(out, children, year, deployment(ctx()), as_of=as_of)
        _audited("cin_census", year, written)
        return Response(
            out.getvalue(),
            mimetype="application/xml",
            headers={
                "Content-Disposition": f'attachment; filename="cin-census-{year.year}.xml"',
                "Returns-As-Of": as_of or "",
            },
        )


@blp.route("/cin-census/quality")
class CinCensusQuality(MethodView):
    @requires_role(*RETURNERS)
    @blp.arguments(YearQuerySchema, location="query")
    @blp.response(200, QualitySchema)
    def get(self, query: dict[str, Any]):
        """What to fix before the year's census is sent: each problem with its child, element and fix."""
        children, as_of = authority_histories()
        year = Year(query["year"])
        problems, counted = check_counted(children, year, deployment(ctx()))
        _audited("cin_census_quality", year, counted)
        errors = sum(1 for p in problems if p.severity == ERROR)
        return {
            "year": year.year,
            "period": {"from": year.start.isoformat(), "to": year.end.isoformat()},
            "as_of": as_of,
            "children": counted,
            "ready": errors == 0,
            "errors": errors,
            "warnings": len(problems) - errors,
            "problems": [p.as_dict() for p in problems],
        }


class ScottishYearQuerySchema(Schema):
    year = fields.Integer(
        required=True,
        strict=False,
        validate=validate.Range(min=2010, max=2100),
        metadata={"description": "the year: 2026 is the twelve months to 31 July 2026"},
    )
    format = fields.String(
        load_default="csv", validate=validate.OneOf(["csv", "json"]), metadata={"description": "csv, or json totals"}
    )


@blp.route("/scotland-child-protection")
class ScotlandChildProtection(MethodView):
    @requires_role(*RETURNERS)
    @blp.arguments(ScottishYearQuerySchema, location="query")
    @blp.response(200, {"type": "string"}, content_type="text/csv", description="one row per registration")
    def get(self, query: dict[str, Any]):
        """Scotland's child protection figures for the year to 31 July: each registration (a plan) in force in
        the year, with its dates, length and areas of concern, as CSV; ``format=json`` gives the totals."""
        children, as_of = authority_histories()
        year = ScottishYear(query["year"])
        found = scotland.rows(children, year)
        audit.record_read(ctx().store, "scotland_child_protection", str(year.year), detail={"rows": len(found)})
        if query["format"] == "json":
            return Response(
                json.dumps(
                    {
                        "year": year.year,
                        "period": {"from": year.start.isoformat(), "to": year.end.isoformat()},
                        "as_of": as_of,
                        **scotland.summary(found),
                    }
                ),
                mimetype="application/json",
            )
        return Response(
            scotland.as_csv(found),
            mimetype="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="child-protection-scotland-{year.year}.csv"',
                "Returns-As-Of": as_of or "",
            },
        )
