"""A plan's, a case's and a report's documents, and each document's file.

Documents are as sensitive as the record: the plans service's readers may
read them (partners may not), a document of another authority is a 404, a
restricted child's documents are a 403 to anyone without need to know
(access.py), and every list and read is appended to the service's
hash-chained audit log (``audit``) and committed before the answer; one made
under a break-glass grant names it (``{"break_glass": <grant id>}``).
"""

from __future__ import annotations

from typing import Any

from flask import Response, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from cpp_shared.auth import current_principal, requires_role

from .. import access
from .. import store as st
from ..domain.documents import FORMATS, KINDS, PLAN_KINDS
from ..files import FileMissing
from ..render import file_store
from .common import READERS, audit, ctx

# A document's file: a PDF or an HTML page (its format), its SHA-256 as ETag, and its name.
FILE_ANSWER = "the document's file (text/html or application/pdf); ETag: its sha256"
FILE_HEADERS = {
    "ETag": {"description": "the file's SHA-256", "schema": {"type": "string"}},
    "Content-Disposition": {
        "description": 'inline; filename="<kind>-v<version>-<language>.<format>"',
        "schema": {"type": "string"},
    },
}
IF_NONE_MATCH = {
    "in": "header",
    "name": "If-None-Match",
    "required": False,
    "schema": {"type": "string"},
    "description": "the ETag of the file already held: a 304 without the file when it is the same",
}

blp = Blueprint(
    "documents",
    __name__,
    url_prefix="/v1",
    description="A plan's documents: professional and family versions, meeting records, HTML and PDF",
)


class DocumentSchema(Schema):
    id = fields.String(attribute="_id")
    kind = fields.String(metadata={"enum": list(KINDS)})
    plan_version = fields.Integer(
        allow_none=True, metadata={"description": "the plan's version; null for a report's documents"}
    )
    report_id = fields.String(allow_none=True, metadata={"description": "a report's documents: the report"})
    report_version = fields.Integer(allow_none=True, metadata={"description": "a report's documents: its version"})
    meeting_id = fields.String(allow_none=True)
    family_conference_id = fields.String(
        allow_none=True, metadata={"description": "a family letter: the family conference it tells of"}
    )
    child_name = fields.String(
        allow_none=True, metadata={"description": "the child the document names, as it named them when it was made"}
    )
    format = fields.String(metadata={"enum": list(FORMATS)})
    language = fields.String(metadata={"description": "BCP 47 tag"})
    large_print = fields.Boolean()
    content_type = fields.String()
    sha256 = fields.String()
    size = fields.Integer()
    created_at = fields.String()
    readability = fields.Dict(
        metadata={
            "description": "family versions in English: Flesch-Kincaid grade and "
            "Flesch reading ease of the visible text"
        }
    )
    url = fields.String()


class DocumentListSchema(Schema):
    plan_id = fields.String()
    documents = fields.List(fields.Nested(DocumentSchema))


class ReportDocumentListSchema(Schema):
    report_id = fields.String()
    documents = fields.List(fields.Nested(DocumentSchema))


class DocumentQuery(Schema):
    kind = fields.String(metadata={"enum": list(KINDS)})
    version = fields.Integer(metadata={"description": "the plan's version (a plan's documents) or the report's"})
    format = fields.String(metadata={"enum": list(FORMATS)})


def _listing(owner: str, owner_id: str, query: dict[str, Any]) -> list[dict[str, Any]]:
    """The documents of a plan (``plan_id``: its own kinds), of a report
    (``report_id``), of a case (``case_id``: all of them, and the family
    letters about its child that the caller may read) or of a family
    (``family_id``: its letters), of the caller's authority; newest version
    first (a case's: newest made first). The listing is audited."""
    principal = current_principal()
    documents = ctx().store.collection(st.DOCUMENTS)
    rows = documents.find({owner: owner_id, "authority": principal.authority})
    if owner == "plan_id":  # a report's are listed with the report; a conference's with the case
        rows = [r for r in rows if r["kind"] in PLAN_KINDS]
    if owner == "case_id":  # a letter about several children is each child's, unless another is restricted
        letters = documents.find({"case_ids": owner_id, "authority": principal.authority})
        rows += [r for r in letters if access.may_read(r["child_ids"])]
    if not rows:
        abort(404, message=f"no documents for {owner.removesuffix('_id')} {owner_id}")
    grants = {child: access.check(child) for child in _children(rows)}
    grant = next((g for g in grants.values() if g), None)
    version = "report_version" if owner == "report_id" else "plan_version"
    if "kind" in query:
        rows = [r for r in rows if r["kind"] == query["kind"]]
    if "version" in query:
        rows = [r for r in rows if r.get(version) == query["version"]]
    if "format" in query:
        rows = [r for r in rows if r["format"] == query["format"]]
    rows.sort(
        key=lambda r: (
            -(r.get(version) or 0),
            KINDS.index(r["kind"]),
            r.get("meeting_id") or "",
            r["language"],
            r["large_print"],
            r["format"],
        )
    )
    if owner in ("case_id", "family_id"):
        rows.sort(key=lambda r: r["created_at"], reverse=True)  # stable: ties keep the order above
    audit(
        "list",
        f"{owner.removesuffix('_id')}_documents",
        owner_id,
        child_id=rows[0]["child_id"] if rows else None,
        detail={"count": len(rows), **({"break_glass": grant} if grant else {})},
    )
    for r in rows:
        r["url"] = url_for("documents.Document", doc_id=r["_id"])
    return rows


def _children(rows: list[dict[str, Any]]) -> set[str | None]:
    """The children the documents are about: a plan's or a case's child, a family letter's children."""
    return {r.get("child_id") for r in rows} | {child for r in rows for child in r.get("child_ids") or []}


@blp.route("/plans/<plan_id>/documents")
class PlanDocuments(MethodView):
    @blp.arguments(DocumentQuery, location="query")
    @blp.response(200, DocumentListSchema)
    @requires_role(*READERS)
    def get(self, query: dict[str, Any], plan_id: str):
        """Every document made of a plan, by kind, version, language and format (newest version first)."""
        return {"plan_id": plan_id, "documents": _listing("plan_id", plan_id, query)}


class CaseDocumentListSchema(Schema):
    case_id = fields.String()
    documents = fields.List(fields.Nested(DocumentSchema))


@blp.route("/cases/<case_id>/documents")
class CaseDocuments(MethodView):
    @blp.arguments(DocumentQuery, location="query")
    @blp.response(200, CaseDocumentListSchema)
    @requires_role(*READERS)
    def get(self, query: dict[str, Any], case_id: str):
        """Every document of a case: its conferences' records, its reports' and its plan's documents (newest
        first; ``version`` filters by the plan's version)."""
        return {"case_id": case_id, "documents": _listing("case_id", case_id, query)}


@blp.route("/reports/<report_id>/documents")
class ReportDocuments(MethodView):
    @blp.arguments(DocumentQuery, location="query")
    @blp.response(200, ReportDocumentListSchema)
    @requires_role(*READERS)
    def get(self, query: dict[str, Any], report_id: str):
        """A report to conference's documents (made when it is countersigned): the professional report and
        the family's version, by version, language and format (newest version first)."""
        return {"report_id": report_id, "documents": _listing("report_id", report_id, query)}


class FamilyDocumentListSchema(Schema):
    family_id = fields.String()
    documents = fields.List(fields.Nested(DocumentSchema))


@blp.route("/families/<family_id>/documents")
class FamilyDocuments(MethodView):
    @blp.arguments(DocumentQuery, location="query")
    @blp.response(200, FamilyDocumentListSchema)
    @requires_role(*READERS)
    def get(self, query: dict[str, Any], family_id: str):
        """A family's letters, one for each family conference (in each language and print size, HTML and PDF),
        newest first; a family with a restricted child is listed only to those who may read that child's."""
        return {"family_id": family_id, "documents": _listing("family_id", family_id, query)}


@blp.route("/documents/<doc_id>")
class Document(MethodView):
    @blp.response(
        200,
        {"type": "string", "format": "binary"},
        content_type="application/pdf",
        description=FILE_ANSWER,
        headers=FILE_HEADERS,
    )
    @blp.alt_response(200, schema={"type": "string"}, content_type="text/html", description=FILE_ANSWER, success=True)
    @blp.alt_response(304, description="the file is the one If-None-Match names")
    @blp.doc(parameters=[IF_NONE_MATCH])
    @requires_role(*READERS)
    def get(self, doc_id: str):
        """A document's file, with its content type; the ETag is its SHA-256."""
        principal = current_principal()
        row = ctx().store.collection(st.DOCUMENTS).find_one({"_id": doc_id})
        if row is None or row.get("authority") != principal.authority:
            abort(404, message=f"no document {doc_id}")
        grant = next((g for g in map(access.check, sorted(_children([row]), key=str)) if g), None)
        try:
            data = file_store(ctx()).read(row["sha256"])
        except FileMissing as exc:
            abort(503, message=f"the document's file is unavailable: {exc}")
        audit(
            "read",
            "document",
            doc_id,
            child_id=row.get("child_id"),
            detail={
                "plan_id": row["plan_id"],
                "report_id": row.get("report_id"),
                "kind": row["kind"],
                "plan_version": row["plan_version"],
                "report_version": row.get("report_version"),
                "format": row["format"],
                "sha256": row["sha256"],
                **({"break_glass": grant} if grant else {}),
            },
        )
        ext = row["format"]
        version = row.get("report_version") or row.get("plan_version") or 1
        name = f"{row['kind']}-v{version}-{row['language']}{'-large' if row['large_print'] else ''}.{ext}"
        response = Response(data, content_type=row["content_type"])
        response.set_etag(row["sha256"])
        response.headers["Content-Disposition"] = f'inline; filename="{name}"'
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.make_conditional(request)
        if ext == "html":
            # A document shows itself and loads nothing: no script, no fetch.
            response.headers["Content-Security-Policy"] = (
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
            )
        return response
