"""The render jobs that did not make their documents, for admins: parked
(the worker died rendering them), failed (their render kept raising an
error) or still pending."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from cpp_shared.auth import requires_role

from .. import store as st
from ..domain.documents import KINDS
from .common import audit, ctx

JOB_STATUSES = ("parked", "failed", "pending")
MAX_JOBS_LISTED = 500

blp = Blueprint("jobs", __name__, url_prefix="/v1", description="The render jobs that did not make their documents")


class JobSchema(Schema):
    id = fields.String(attribute="_id")
    status = fields.String(metadata={"enum": list(JOB_STATUSES)})
    kind = fields.String(metadata={"enum": list(KINDS)})
    plan_id = fields.String(allow_none=True)
    case_id = fields.String(allow_none=True)
    plan_version = fields.Integer(allow_none=True)
    report_id = fields.String(allow_none=True)
    report_version = fields.Integer(allow_none=True)
    meeting_id = fields.String(allow_none=True)
    language = fields.String()
    large_print = fields.Boolean()
    attempts = fields.Integer(metadata={"description": "renders begun"})
    failures = fields.Integer(metadata={"description": "renders that ended in an error"})
    error = fields.String(
        allow_none=True,
        metadata={"description": "why it is parked (the worker died rendering it) or failed (the last error)"},
    )
    started_at = fields.String(allow_none=True, metadata={"description": "when its last render began"})
    parked_at = fields.String(allow_none=True)
    created_at = fields.String()
    event_id = fields.String(metadata={"description": "the event that asked for the document"})
    event_type = fields.String()


class JobListSchema(Schema):
    status = fields.String()
    count = fields.Integer(
        metadata={"description": f"how many jobs have the status (at most {MAX_JOBS_LISTED} are listed)"}
    )
    jobs = fields.List(fields.Nested(JobSchema))


class JobQuery(Schema):
    status = fields.String(load_default="parked", validate=validate.OneOf(JOB_STATUSES))


@blp.route("/jobs")
class Jobs(MethodView):
    @blp.arguments(JobQuery, location="query")
    @blp.response(200, JobListSchema)
    @requires_role("admin")
    def get(self, query: dict[str, Any]):
        """Render jobs by status, oldest first: ``parked`` (the default: the worker died rendering them, so
        they are not tried again), ``failed`` (their render kept raising an error) or ``pending``."""
        jobs = ctx().store.collection(st.JOBS)
        rows = jobs.find({"status": query["status"]}, sort=[("created_at", 1)], limit=MAX_JOBS_LISTED)
        count = len(rows) if len(rows) < MAX_JOBS_LISTED else jobs.count_documents({"status": query["status"]})
        audit("list", "render_jobs", query["status"], detail={"count": count})
        return {"status": query["status"], "count": count, "jobs": rows}
