"""Cases: one child protection episode of a child, from the strategy
discussion to the enquiry outcome (conferences and plans have their own
resources)."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from cpp_shared import staff
from cpp_shared.auth import current_principal, requires_role
from cpp_shared.idempotency import idempotent
from cpp_shared.paging import Page, paged

from .. import access, audit
from ..domain import lifecycle as lc
from ..store import CASES, CHILDREN, PLANS
from .common import (READERS, WRITERS, PersonSchema, check_if_match, commit_step, ctx, etag, load, named,
                     requires_if_match, saved, today)
from .fields import IsoDate

blp = Blueprint("cases", __name__, url_prefix="/v1/cases", description="Child protection cases")
SOCIAL_WORKERS = ("social_worker", "team_manager")  # a team manager may hold a case themself


USER_ID = dict(validate=validate.Length(min=1, max=200))


class CaseCreateSchema(Schema):
    child_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    social_worker = fields.String(**USER_ID, metadata={
        "description": "the user id of the case's social worker (default: the caller, when a social worker)"})
    team_manager = fields.String(**USER_ID, metadata={
        "description": "the user id of the case's team manager (default: the caller, when a team manager; else "
                       "the social worker's manager; else the one team manager of their team)"})
    team = fields.String(validate=validate.Length(min=1, max=200), metadata={
        "description": "the team that holds the case (default: the social worker's)"})


class AllocationSchema(Schema):
    social_worker = fields.String(allow_none=True, **USER_ID, metadata={
        "description": "the new social worker's user id; null for none; left out: unchanged"})
    team_manager = fields.String(allow_none=True, **USER_ID, metadata={
        "description": "the new team manager's user id; null for none; left out: unchanged"})
    team = fields.String(allow_none=True, validate=validate.Length(min=1, max=200))


class StaffRefSchema(Schema):
    user = fields.String()
    name = fields.String(metadata={"description": "their name when they were given the case"})


class ChildRefSchema(Schema):
    name = fields.String()
    date_of_birth = fields.String(allow_none=True)


class StrategyDiscussionSchema(Schema):
    id = fields.String(dump_only=True)
    held_on = IsoDate(required=True)
    initiated_enquiries = fields.Boolean(load_default=True, metadata={
        "description": "whether the enquiries (section 47, or the local equivalent) started at this discussion"})
    attendees = fields.List(fields.Nested(PersonSchema), load_default=list, validate=validate.Length(max=50))
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=4000))
    recorded_by = fields.String(dump_only=True)


class EnquiryOutcomeSchema(Schema):
    completed_on = IsoDate(required=True)
    conference_required = fields.Boolean(required=True)
    summary = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=4000))
    recorded_by = fields.String(dump_only=True)


class StepDownSchema(Schema):
    route = fields.String()
    decided_on = fields.String()
    by = fields.String()


class ConferenceRefSchema(Schema):
    id = fields.String()
    kind = fields.String()
    status = fields.String()


class CaseSchema(Schema):
    id = fields.String(attribute="_id", dump_only=True)
    child_id = fields.String()
    status = fields.String(metadata={"description": "enquiries, conference_pending, child_in_need, on_plan, plan_ended"})
    opened_at = fields.String()
    opened_by = fields.String()
    strategy_discussions = fields.List(fields.Nested(StrategyDiscussionSchema))
    enquiry_outcome = fields.Nested(EnquiryOutcomeSchema, allow_none=True)
    conferences = fields.List(fields.Nested(ConferenceRefSchema))
    plan_id = fields.String(allow_none=True)
    step_down = fields.Nested(StepDownSchema, allow_none=True)
    social_worker = fields.Nested(StaffRefSchema, allow_none=True)
    team_manager = fields.Nested(StaffRefSchema, allow_none=True)
    team = fields.String(allow_none=True)
    version = fields.Integer()


class CaseSummarySchema(Schema):
    id = fields.String(attribute="_id")
    child_id = fields.String()
    child = fields.Nested(ChildRefSchema, allow_none=True, metadata={"description": "who the child is, as the "
                                                                                   "record holds it now"})
    status = fields.String()
    opened_at = fields.String()
    social_worker = fields.Nested(StaffRefSchema, allow_none=True)
    team_manager = fields.Nested(StaffRefSchema, allow_none=True)
    team = fields.String(allow_none=True)
    plan_id = fields.String(allow_none=True)
    key_worker = fields.Nested(StaffRefSchema, allow_none=True, metadata={"description": "the plan's key worker"})
    version = fields.Integer()


class CaseQuerySchema(paged()):
    worker = fields.String(validate=validate.Length(min=1, max=200), metadata={
        "description": "cases a person holds as social worker, team manager or key worker of the plan in force: "
                       "a user id, or me"})
    team = fields.String(validate=validate.Length(min=1, max=200), metadata={
        "description": "the team's cases: a team's name, or mine (the caller's team)"})
    status = fields.String(validate=validate.OneOf(
        ["enquiries", "conference_pending", "child_in_need", "on_plan", "plan_ended"]))
    child_id = fields.String(validate=validate.Length(min=1, max=100))


class CasePageSchema(Page):
    items = fields.List(fields.Nested(CaseSummarySchema))


def _staff_member(user: str, field: str, roles: tuple[str, ...]) -> dict:
    """A reference to a member of staff who may hold the case in this way, or a 422."""
    found = staff.entry(ctx().store, user)
    if found is None:
        abort(422, message="no such member of staff", errors={"json": {field: [
            f"no member of staff has the user id {user!r}; an admin adds them (PUT /v1/staff/{{user}})"]}})
    held = staff.roles_of(found)
    if not any(r in roles for r in held):
        abort(422, message="not a role that holds a case this way", errors={"json": {field: [
            f"{found.get('name')} is a {' and '.join(r.replace('_', ' ') for r in held) or 'person with no role'}; "
            f"a case's {field.replace('_', ' ')} is a {' or '.join(r.replace('_', ' ') for r in roles)}"]}})
    return {"user": found["user"], "name": found.get("name") or staff.UNNAMED}


def _default_team_manager(social_worker: dict | None, team: str | None) -> dict | None:
    me = current_principal()
    if me.holds("team_manager"):
        return staff.ref(ctx().store, me.user)
    people = ctx().store.collection(staff.COLLECTION)
    manager = (staff.entry(ctx().store, social_worker["user"]) or {}).get("manager") if social_worker else None
    found = people.find_one({"user": manager, **staff.holding("team_manager")}) if manager else None
    if found is None and team:
        managers = people.find({"team": team, **staff.holding("team_manager")}, limit=2)
        found = managers[0] if len(managers) == 1 else None
    return {"user": found["user"], "name": found.get("name") or staff.UNNAMED} if found else None


def _allocation(body: dict) -> dict:
    me = current_principal()
    social_worker = (_staff_member(body["social_worker"], "social_worker", SOCIAL_WORKERS) if "social_worker" in body
                     else staff.ref(ctx().store, me.user) if me.holds("social_worker") else None)
    team = body.get("team")
    if team is None and social_worker is not None:
        team = (staff.entry(ctx().store, social_worker["user"]) or {}).get("team")
    team = team or me.team
    team_manager = (_staff_member(body["team_manager"], "team_manager", ("team_manager",)) if "team_manager" in body
                    else _default_team_manager(social_worker, team))
    return {"social_worker": social_worker, "team_manager": team_manager, "team": team}


# A case as the OpenAPI document shows it: the child's id is all a social worker opening it gives.
CASE_EXAMPLE = {"child_id": "5b1e0c7d9a8f4e2b8c3d6a1f0e9b7c24"}


@blp.route("")
class Cases(MethodView):
    @idempotent
    @blp.arguments(CaseCreateSchema, example=CASE_EXAMPLE)
    @blp.response(201, CaseSchema)
    @requires_role(*WRITERS)
    def post(self, body):
        if ctx().store.collection(CHILDREN).find_one({"_id": body["child_id"]}) is None:
            abort(422, message="no such child", errors={"json": {"child_id": [
                "no child with this id is registered with this authority; register the child first"]}})
        access.check(body["child_id"])  # a restricted child's case is opened only by someone with need to know
        case, events = lc.open_case(uuid.uuid4().hex, body["child_id"], ctx().authority["code"],
                                    datetime.now(timezone.utc).isoformat(), current_principal().user,
                                    **_allocation(body))
        commit_step("create", "case", case["_id"], child_id=case["child_id"], events=events, inserts=[(CASES, case)])
        return saved(case), {"ETag": etag(1)}

    @blp.arguments(CaseQuerySchema, location="query")
    @blp.response(200, CasePageSchema)
    @requires_role(*READERS)
    def get(self, query):
        """Cases: a person's (worker=me), a team's (team=mine), by stage or child; newest first."""
        me = current_principal()
        cases, plans = ctx().store.collection(CASES), ctx().store.collection(PLANS)
        filter_: dict = {k: query[k] for k in ("status", "child_id") if k in query}
        if "team" in query:
            filter_["team"] = (me.team or (staff.entry(ctx().store, me.user) or {}).get("team")
                               if query["team"] == "mine" else query["team"])
            if filter_["team"] is None:
                abort(422, message="you have no team", errors={"query": {"team": [
                    "your sign-in names no team; give the team's name"]}})
        if "worker" in query:
            user = me.user if query["worker"] == "me" else query["worker"]
            held = {c["_id"] for field in ("social_worker.user", "team_manager.user") for c in cases.find({field: user})}
            held |= {p["case_id"] for p in plans.find({"key_worker_user": user, "status": {"$in": ["outline", "active"]}})}
            filter_["_id"] = {"$in": sorted(held)}
        filter_ = access.exclude_hidden(filter_)  # restricted children the caller may not see are left out
        page, size = query["page"], query["page_size"]
        items = cases.find(filter_, sort=[("opened_at", -1)], skip=(page - 1) * size, limit=size)
        children = {c["_id"]: c for c in ctx().store.collection(CHILDREN).find(
            {"_id": {"$in": sorted({c["child_id"] for c in items})}})}
        plan_of = {p["_id"]: p for p in plans.find({"_id": {"$in": sorted({c["plan_id"] for c in items if c.get("plan_id")})}})}
        audit.record_reads(ctx().store, [("case", case["_id"], case["child_id"]) for case in items])
        out = []
        for case in items:
            child, plan = children.get(case["child_id"]), plan_of.get(case.get("plan_id"))
            in_force = plan is not None and plan["status"] != "ended"
            out.append({**case, "child": named(child) if child else None,
                        "key_worker": {"user": plan.get("key_worker_user"), "name": plan.get("key_worker")}
                        if in_force and plan.get("key_worker") else None})
        return {"items": out, "page": page, "page_size": size, "total": cases.count_documents(filter_)}


@blp.route("/<case_id>")
class CaseById(MethodView):
    @blp.response(200, CaseSchema)
    @requires_role(*READERS)
    def get(self, case_id):
        case = load(CASES, case_id, "case")
        audit.record_read(ctx().store, "case", case_id, child_id=case["child_id"])
        return case


@blp.route("/<case_id>/allocation")
class Allocation(MethodView):
    @blp.arguments(AllocationSchema)
    @blp.response(200, CaseSchema)
    @blp.alt_response(412, description="the case changed since the If-Match ETag was read")
    @blp.alt_response(428, description="If-Match is missing")
    @requires_role("team_manager")
    @requires_if_match
    def put(self, body, case_id):
        """Give the case to another social worker, team manager or team (a team manager's decision)."""
        case = load(CASES, case_id, "case")
        check_if_match(case, "case", "allocating it")
        people = {
            "social_worker": case.get("social_worker") if "social_worker" not in body else
            (_staff_member(body["social_worker"], "social_worker", SOCIAL_WORKERS) if body["social_worker"] else None),
            "team_manager": case.get("team_manager") if "team_manager" not in body else
            (_staff_member(body["team_manager"], "team_manager", ("team_manager",)) if body["team_manager"] else None),
            "team": case.get("team") if "team" not in body else body["team"],
        }
        after, events = lc.allocate_case(case, **people)
        return _save_case(case, after, events, "allocate_case"), {"ETag": etag(case["version"] + 1)}


def _save_case(before: dict, after: dict, events, action: str) -> dict:
    commit_step(action, "case", after["_id"], child_id=after["child_id"], events=events,
                replaces=[(CASES, after, before)])
    return saved(after, before)


@blp.route("/<case_id>/strategy-discussions")
class StrategyDiscussions(MethodView):
    @idempotent
    @blp.arguments(StrategyDiscussionSchema)
    @blp.response(201, StrategyDiscussionSchema)
    @requires_role(*WRITERS)
    def post(self, body, case_id):
        case = load(CASES, case_id, "case")
        after, discussion, events = lc.record_strategy_discussion(case, today=today(), recorded_by=current_principal().user,
                                                                  **body)
        _save_case(case, after, events, "record_strategy_discussion")
        return discussion


@blp.route("/<case_id>/enquiry-outcome")
class EnquiryOutcome(MethodView):
    @blp.doc(operationId="recordEnquiryOutcome")
    @blp.arguments(EnquiryOutcomeSchema)
    @blp.response(200, CaseSchema)
    @requires_role(*WRITERS)
    def post(self, body, case_id):
        case = load(CASES, case_id, "case")
        after, events = lc.record_enquiry_outcome(case, today=today(), recorded_by=current_principal().user, **body)
        return _save_case(case, after, events, "record_enquiry_outcome")
