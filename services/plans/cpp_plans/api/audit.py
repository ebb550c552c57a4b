"""GET /v1/audit: the audit log, for auditors."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from cpp_shared.auth import requires_role

from .. import audit

blp = Blueprint("audit", __name__, url_prefix="/v1/audit", description="The audit log of every read and write")


class AuditQuerySchema(Schema):
    after_seq = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**63 - 1))  # the store's integers
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class AuditRecordSchema(Schema):
    seq = fields.Integer()
    prev_hash = fields.String()
    hash = fields.String()
    entry = fields.Dict()
    committed_at = fields.Float()


class AuditPageSchema(Schema):
    records = fields.List(fields.Nested(AuditRecordSchema))
    next_after_seq = fields.Integer(allow_none=True)


@blp.route("")
class AuditLog(MethodView):
    @blp.arguments(AuditQuerySchema, location="query")
    @blp.response(200, AuditPageSchema)
    @requires_role("auditor")
    def get(self, query):
        store = current_app.extensions["cpp"].store
        records = store.read_log(audit.LOG, after_seq=query["after_seq"], limit=query["limit"])
        # Reading the log is itself recorded (after the page was read: the
        # page never holds its own entry).
        audit.record_read(
            store,
            "audit_log",
            str(query["after_seq"]),
            action="list",
            detail={"count": len(records), "last_seq": records[-1].seq if records else None},
        )
        return {"records": records, "next_after_seq": records[-1].seq if len(records) == query["limit"] else None}
