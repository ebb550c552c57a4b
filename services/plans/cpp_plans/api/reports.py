"""Reports to conference and their steps, the resource panel, child in need
plans after a step-down, and a manager's list of what waits for them.

Every step is an action by the right role with who and when, committed with
its audit entry and its event (see domain/reports.py); a step out of order
is a 409 naming the step missing; refusals write nothing.
"""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from cpp_shared import staff as directory
from cpp_shared.auth import current_principal, requires_role
from cpp_shared.idempotency import idempotent

from .. import access, audit
from ..domain import reports as rp
from ..service_layer import reports as sl
from ..service_layer.common import named
from ..store import (
    CASES,
    CHILD_IN_NEED_PLANS,
    CHILDREN,
    CONFERENCES,
    PLANS,
    REPORT_VERSIONS,
    REPORTS,
    RESOURCE_PANEL_REQUESTS,
)
from .common import READERS, check_if_match, ctx, etag, load, requires_if_match, today
from .fields import IsoDate, StrictBoolean
from .plan_schemas import PlanContentSchema

blp = Blueprint(
    "reports",
    __name__,
    url_prefix="/v1",
    description="Reports to conference and their steps; the resource panel; child in need plans",
)

AUTHORS = ("social_worker", "team_manager")
MANAGERS = ("team_manager",)
STEP_TAKERS = ("social_worker", "team_manager")
TEXT = validate.Length(min=1, max=20_000)
REPORT_ETAG = {"ETag": {"description": "the report's revision, for If-Match", "schema": {"type": "string"}}}
# What a create answers with (set for every create: etag_answers.py).
CREATED_ETAG = {"ETag": {"description": 'the new record\'s revision, "1", for If-Match', "schema": {"type": "string"}}}


def _on(body: dict, field: str):
    return body.get(field) or today()


def _forbid(exc: rp.NotAllowed):
    abort(403, message=str(exc))


# --- schemas ------------------------------------------------------------------


class SeenSchema(Schema):
    on = IsoDate(required=True)
    alone = StrictBoolean(required=True, metadata={"description": "whether the child was seen alone"})


class ReportContentSchema(Schema):
    findings = fields.String(
        required=True, validate=TEXT, metadata={"description": "what the enquiries (or the plan's work) found"}
    )
    child_seen = fields.List(
        fields.Nested(SeenSchema),
        load_default=list,
        validate=validate.Length(max=100),
        metadata={"description": "the days the child was seen during the enquiries, and whether alone"},
    )
    childs_views = fields.String(validate=validate.Length(max=20_000))
    family_views = fields.String(validate=validate.Length(max=20_000))


class ReportCreateSchema(ReportContentSchema):
    plan = fields.Nested(
        PlanContentSchema,
        metadata={
            "description": "the draft plan (initial conference) or the plan as updated for the review (required then)"
        },
    )
    drafted_on = IsoDate(metadata={"description": "default today"})


class ReportChangeSchema(Schema):
    findings = fields.String(validate=TEXT)
    child_seen = fields.List(fields.Nested(SeenSchema), validate=validate.Length(max=100))
    childs_views = fields.String(validate=validate.Length(max=20_000))
    family_views = fields.String(validate=validate.Length(max=20_000))
    plan = fields.Nested(PlanContentSchema)


class StepSchema(Schema):
    on = IsoDate(metadata={"description": "the day the step was done (default today)"})


class ReturnSchema(StepSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class SharedWithSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    relationship = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "mother, father, carer, the child..."},
    )
    how = fields.String(required=True, validate=validate.OneOf(rp.SHARE_WAYS))
    interpreter_used = StrictBoolean(load_default=False)


class ShareSchema(StepSchema):
    with_ = fields.List(
        fields.Nested(SharedWithSchema), data_key="with", required=True, validate=validate.Length(min=1, max=20)
    )
    child_included = StrictBoolean(required=True, metadata={"description": "whether the child saw it too"})


class ReportStepSchema(Schema):
    step = fields.String()
    on = fields.String()
    by = fields.String()
    reason = fields.String()


class ReportSchema(Schema):
    id = fields.String(attribute="_id")
    conference_id = fields.String()
    case_id = fields.String()
    child_id = fields.String()
    plan_id = fields.String(allow_none=True)
    kind = fields.String(metadata={"description": "enquiry_report or review_report"})
    status = fields.String(metadata={"description": ", ".join(rp.STEPS)})
    author = fields.String()
    content = fields.Nested(ReportContentSchema)
    plan = fields.Nested(PlanContentSchema, allow_none=True)
    report_version = fields.Integer()
    steps = fields.List(fields.Nested(ReportStepSchema))
    shared_with = fields.Dict(allow_none=True)
    version = fields.Integer()


class ReportVersionSchema(Schema):
    number = fields.Integer()
    status = fields.String()
    content = fields.Nested(ReportContentSchema)
    plan = fields.Nested(PlanContentSchema, allow_none=True)


class ReportVersionListSchema(Schema):
    report_id = fields.String()
    versions = fields.List(fields.Nested(ReportVersionSchema))


def _content(body: dict) -> dict:
    return {k: body[k] for k in ("findings", "child_seen", "childs_views", "family_views") if k in body}


def _dump_content(content: dict) -> dict:
    return ReportContentSchema().dump(content)


def _plan(body: dict) -> dict | None:
    """The plan a report proposes, as stored."""
    return PlanContentSchema().dump(body["plan"]) if "plan" in body else None


# --- reports --------------------------------------------------------------------


@blp.route("/conferences/<conference_id>/reports")
class ConferenceReports(MethodView):
    @idempotent
    @blp.arguments(ReportCreateSchema)
    @blp.response(201, ReportSchema, headers=CREATED_ETAG)
    @requires_role(*AUTHORS)
    def post(self, body, conference_id):
        """Draft the report to a conference (section 47/35 enquiry report, or review report)."""
        load(CONFERENCES, conference_id, "conference")
        return sl.draft_report(
            ctx(),
            conference_id,
            content=_dump_content(_content(body)),
            plan=_plan(body),
            on=_on(body, "drafted_on"),
            today=today(),
            actor=current_principal(),
        )

    @blp.response(200, ReportSchema(many=True))
    @requires_role(*READERS)
    def get(self, conference_id):
        conference = load(CONFERENCES, conference_id, "conference")
        audit.record_read(ctx().store, "conference_reports", conference_id, child_id=conference["child_id"])
        return (
            ctx().store.collection(REPORTS).find({"conference_id": conference_id, "authority": ctx().authority["code"]})
        )


@blp.route("/reports/<report_id>")
class ReportById(MethodView):
    @blp.response(200, ReportSchema, headers=REPORT_ETAG)
    @requires_role(*READERS)
    def get(self, report_id):
        report = load(REPORTS, report_id, "report")
        audit.record_read(ctx().store, "report", report_id, child_id=report["child_id"])
        return report, {"ETag": etag(report["version"])}

    @requires_role(*AUTHORS)
    @requires_if_match
    @blp.arguments(ReportChangeSchema)
    @blp.response(200, ReportSchema, headers=REPORT_ETAG)
    @blp.alt_response(412, description="the report changed since the If-Match ETag was read")
    @blp.alt_response(428, description="If-Match is missing")
    def patch(self, body, report_id):
        """Change a draft (its author only): a new numbered version of the report."""
        report = load(REPORTS, report_id, "report")
        check_if_match(report, "report")
        try:
            changed = sl.change_report(
                ctx(),
                report_id,
                content=_dump_content(_content(body)),
                plan=_plan(body),
                expected_version=report["version"],
                actor=current_principal(),
            )
        except rp.NotAllowed as exc:
            _forbid(exc)
        return changed, {"ETag": etag(changed["version"])}


@blp.route("/reports/<report_id>/versions")
class ReportVersions(MethodView):
    @blp.response(200, ReportVersionListSchema)
    @requires_role(*READERS)
    def get(self, report_id):
        report = load(REPORTS, report_id, "report")
        audit.record_read(ctx().store, "report_versions", report_id, child_id=report["child_id"])
        versions = ctx().store.collection(REPORT_VERSIONS).find({"report_id": report_id}, sort=[("number", 1)])
        return {"report_id": report_id, "versions": versions}


def _take_step(step, report_id: str, body: dict, **kw):
    load(REPORTS, report_id, "report")
    try:
        stepped = step(ctx(), report_id, on=_on(body, "on"), today=today(), actor=current_principal(), **kw)
    except rp.NotAllowed as exc:
        _forbid(exc)
    return stepped, {"ETag": etag(stepped["version"])}


@blp.route("/reports/<report_id>/submit")
class Submit(MethodView):
    @blp.doc(operationId="submitReport")
    @blp.arguments(StepSchema)
    @blp.response(200, ReportSchema, headers=REPORT_ETAG)
    @requires_role(*AUTHORS)
    def post(self, body, report_id):
        """Pass the report to a team manager for countersigning (its author)."""
        return _take_step(sl.submit_report, report_id, body)


@blp.route("/reports/<report_id>/countersign")
class Countersign(MethodView):
    @blp.doc(operationId="countersignReport")
    @blp.arguments(StepSchema)
    @blp.response(200, ReportSchema, headers=REPORT_ETAG)
    @requires_role(*STEP_TAKERS)
    def post(self, body, report_id):
        """Countersign a submitted report (a team manager, not its author)."""
        return _take_step(sl.countersign_report, report_id, body)


@blp.route("/reports/<report_id>/return")
class Return(MethodView):
    @blp.doc(operationId="returnReport")
    @blp.arguments(ReturnSchema)
    @blp.response(200, ReportSchema, headers=REPORT_ETAG)
    @requires_role(*STEP_TAKERS)
    def post(self, body, report_id):
        """Return a submitted report to its author for changes, with the reason (a team manager)."""
        return _take_step(sl.return_report, report_id, body, reason=body["reason"])


@blp.route("/reports/<report_id>/share")
class Share(MethodView):
    @blp.doc(operationId="shareReport")
    @blp.arguments(ShareSchema)
    @blp.response(200, ReportSchema, headers=REPORT_ETAG)
    @requires_role(*AUTHORS)
    def post(self, body, report_id):
        """Record that the countersigned report was shared with the parents (and the child where appropriate)."""
        return _take_step(sl.share_report, report_id, body, with_=body["with_"], child_included=body["child_included"])


@blp.route("/reports/<report_id>/send-to-chair")
class SendToChair(MethodView):
    @blp.doc(operationId="sendReportToChair")
    @blp.arguments(StepSchema)
    @blp.response(200, ReportSchema, headers=REPORT_ETAG)
    @requires_role(*AUTHORS)
    def post(self, body, report_id):
        """Record that the shared report was sent to the conference chair."""
        return _take_step(sl.send_report_to_chair, report_id, body)


# --- the resource panel -------------------------------------------------------------


class PanelRequestSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    services = fields.List(
        fields.String(validate=validate.Length(min=1, max=300)),
        required=True,
        validate=validate.Length(min=1, max=50),
        metadata={"description": "the services requested"},
    )
    requested_on = IsoDate(metadata={"description": "default today"})


class PanelDecisionSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(rp.PANEL_DECISIONS))
    conditions = fields.String(validate=validate.Length(max=4000))
    decided_on = IsoDate(metadata={"description": "default today"})


class PanelSchema(Schema):
    id = fields.String(attribute="_id")
    plan_id = fields.String()
    case_id = fields.String()
    reason = fields.String()
    services = fields.List(fields.String())
    requested_on = fields.String()
    requested_by = fields.String()
    status = fields.String(metadata={"description": "waiting, approved or declined (deferred stays waiting)"})
    decision = fields.Dict(allow_none=True)
    history = fields.List(fields.Dict())
    version = fields.Integer()


@blp.route("/plans/<plan_id>/resource-panel-requests")
class PanelRequests(MethodView):
    @blp.response(200, PanelSchema(many=True))
    @requires_role(*READERS)
    def get(self, plan_id):
        """The plan's resource panel requests with their decisions, oldest first."""
        plan = load(PLANS, plan_id, "plan")
        audit.record_read(ctx().store, "resource_panel_requests", plan_id, action="list", child_id=plan["child_id"])
        found = (
            ctx()
            .store.collection(RESOURCE_PANEL_REQUESTS)
            .find({"plan_id": plan_id, "authority": ctx().authority["code"]})
        )
        return sorted(found, key=lambda r: (r["requested_on"], r["_id"]))

    @idempotent
    @blp.arguments(PanelRequestSchema)
    @blp.response(201, PanelSchema, headers=CREATED_ETAG)
    @requires_role(*AUTHORS)
    def post(self, body, plan_id):
        """Take the plan to the resource panel for approval of services."""
        load(PLANS, plan_id, "plan")
        return sl.request_resource_panel(
            ctx(),
            plan_id,
            reason=body["reason"],
            services=body["services"],
            on=_on(body, "requested_on"),
            today=today(),
            actor=current_principal(),
        )


PANEL_ETAG = {
    "ETag": {"description": "the request's revision, for If-Match on its decision", "schema": {"type": "string"}}
}


@blp.route("/resource-panel-requests/<request_id>")
class PanelRequestById(MethodView):
    @blp.response(200, PanelSchema, headers=PANEL_ETAG)
    @requires_role(*READERS)
    def get(self, request_id):
        """A resource panel request, with its decision and every decision before it (a deferral, then another)."""
        req = load(RESOURCE_PANEL_REQUESTS, request_id, "resource panel request")
        audit.record_read(ctx().store, "resource_panel_request", request_id, child_id=req["child_id"])
        return req, {"ETag": etag(req["version"])}


@blp.route("/resource-panel-requests/<request_id>/decision")
class PanelDecision(MethodView):
    @blp.doc(operationId="decidePanelRequest")
    @blp.arguments(PanelDecisionSchema)
    @blp.response(200, PanelSchema, headers=PANEL_ETAG)
    @blp.alt_response(412, description="If-Match was given and the request changed since that ETag was read")
    @requires_role(*STEP_TAKERS)
    def post(self, body, request_id):
        """Record the panel's decision (a team manager): approved, declined or deferred, with conditions. With
        If-Match (the ETag of the request as read), a request decided by someone else meanwhile is a 412."""
        req = load(RESOURCE_PANEL_REQUESTS, request_id, "resource panel request")
        expected = None
        if request.headers.get("If-Match"):
            check_if_match(req, "resource panel request", "deciding it")
            expected = req["version"]
        try:
            decided = sl.decide_resource_panel(
                ctx(),
                request_id,
                decision=body["decision"],
                conditions=body.get("conditions"),
                on=_on(body, "decided_on"),
                today=today(),
                actor=current_principal(),
                expected_version=expected,
            )
        except rp.NotAllowed as exc:
            _forbid(exc)
        return decided, {"ETag": etag(decided["version"])}


# --- child in need plans --------------------------------------------------------------


class ChildInNeedKeyWorkerSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    phone = fields.String(validate=validate.Length(max=50))
    email = fields.Email()


class ChildInNeedPlanCreateSchema(Schema):
    key_worker = fields.Nested(ChildInNeedKeyWorkerSchema, required=True)
    needs = fields.String(required=True, validate=TEXT, metadata={"description": "a summary of the child's needs"})
    services = fields.List(
        fields.String(validate=validate.Length(min=1, max=300)), load_default=list, validate=validate.Length(max=50)
    )
    review_on = IsoDate(required=True)
    created_on = IsoDate(metadata={"description": "default today"})


class ChildInNeedPlanSchema(Schema):
    id = fields.String(attribute="_id")
    case_id = fields.String()
    child_id = fields.String()
    key_worker = fields.Nested(ChildInNeedKeyWorkerSchema)
    needs = fields.String()
    services = fields.List(fields.String())
    review_on = fields.String()
    created_on = fields.String()
    created_by = fields.String()
    version = fields.Integer(metadata={"description": "the record's revision, as in its ETag"})


@blp.route("/cases/<case_id>/child-in-need-plans")
class ChildInNeedPlans(MethodView):
    @idempotent
    @blp.arguments(ChildInNeedPlanCreateSchema)
    @blp.response(201, ChildInNeedPlanSchema, headers=CREATED_ETAG)
    @requires_role(*STEP_TAKERS)
    def post(self, body, case_id):
        """The child in need plan that follows a step-down (the child protection plan's history stays)."""
        load(CASES, case_id, "case")
        return sl.create_child_in_need_plan(
            ctx(),
            case_id,
            key_worker=body["key_worker"],
            needs=body["needs"],
            services=body["services"],
            review_on=body["review_on"],
            on=_on(body, "created_on"),
            today=today(),
            actor=current_principal(),
        )

    @blp.response(200, ChildInNeedPlanSchema(many=True))
    @requires_role(*READERS)
    def get(self, case_id):
        case = load(CASES, case_id, "case")
        audit.record_read(ctx().store, "child_in_need_plans", case_id, child_id=case["child_id"])
        return ctx().store.collection(CHILD_IN_NEED_PLANS).find({"case_id": case_id}, sort=[("created_on", 1)])


# --- what waits for a manager ---------------------------------------------------------


class ApprovalSchema(Schema):
    kind = fields.String(metadata={"description": "report_countersigning or resource_panel"})
    id = fields.String()
    case_id = fields.String()
    child_id = fields.String()
    child_name = fields.String(
        metadata={
            "description": "the child's name as the record holds it now (the "
            "preferred name, else the given names, and the family name)"
        }
    )
    conference_id = fields.String(allow_none=True)
    conference_kind = fields.String(
        allow_none=True, metadata={"description": "initial or review; null for a resource panel request"}
    )
    conference_date = fields.String(
        allow_none=True,
        metadata={
            "format": "date",
            "description": "the day of the conference the report is for (held, else scheduled)",
        },
    )
    since = fields.String(metadata={"description": "the day it started waiting (submitted, or requested)"})
    waiting_days = fields.Integer(metadata={"description": "how many days it has waited, since then"})
    by = fields.String(metadata={"description": "who asked (user id)"})
    by_name = fields.String(metadata={"description": "who asked, by name"})
    summary = fields.String(metadata={"description": "in words, naming the child and the conference's day"})


UNNAMED = "a child not named in the record"
UNKNOWN_STAFF = directory.UNNAMED


def _child_names(child_ids) -> dict[str, str]:
    """The children's names as their records hold them now."""
    wanted = sorted(c for c in child_ids if c)
    if not wanted:
        return {}
    found = ctx().store.collection(CHILDREN).find({"_id": {"$in": wanted}})
    return {c["_id"]: named(c)["name"] or UNNAMED for c in found}


class ApprovalQuerySchema(Schema):
    status = fields.String(load_default="waiting", validate=validate.OneOf(["waiting"]))


@blp.route("/approvals")
class Approvals(MethodView):
    @blp.arguments(ApprovalQuerySchema, location="query")
    @blp.response(200, ApprovalSchema(many=True))
    @requires_role(*MANAGERS)
    def get(self, args):
        """What waits for a team manager, oldest first: reports to countersign, resource panel requests, each
        naming the child, the conference's day and how many days it has waited."""
        store, code = ctx().store, ctx().authority["code"]
        # Restricted children the manager may not see are left out (access.py).
        reports = store.collection(REPORTS).find(access.exclude_hidden({"authority": code, "status": "submitted"}))
        requests = store.collection(RESOURCE_PANEL_REQUESTS).find(
            access.exclude_hidden({"authority": code, "status": "waiting"})
        )
        child_names = _child_names({r["child_id"] for r in reports + requests})
        conferences = (
            {
                c["_id"]: c
                for c in store.collection(CONFERENCES).find(
                    {"_id": {"$in": sorted({r["conference_id"] for r in reports})}, "authority": code}
                )
            }
            if reports
            else {}
        )
        submitted_by = {
            r["_id"]: next(s for s in reversed(r["steps"]) if s["step"] == "submitted")["by"] for r in reports
        }
        by_names = directory.names(store, [*submitted_by.values(), *(q["requested_by"] for q in requests)])
        day = today()
        items = []
        for r in reports:
            items.append(
                rp.report_awaiting(
                    r,
                    child_name=child_names.get(r["child_id"], UNNAMED),
                    conference=conferences.get(r["conference_id"]),
                    by_name=by_names.get(submitted_by[r["_id"]], UNKNOWN_STAFF),
                    today=day,
                )
            )
        for q in requests:
            items.append(
                rp.panel_awaiting(
                    q,
                    child_name=child_names.get(q["child_id"], UNNAMED),
                    by_name=by_names.get(q["requested_by"], UNKNOWN_STAFF),
                    today=day,
                )
            )
        items.sort(key=lambda i: (i["since"], i["id"]))
        audit.record_read(
            store,
            "approvals",
            args["status"],
            action="list",
            detail={"count": len(items), "children": sorted({i["child_id"] for i in items})},
        )
        return items
