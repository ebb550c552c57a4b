"""The scheduler's HTTP API: the effective rules, the deadlines with their
explanations, a manager's date for a deadline whose source set none, and a
plan's calendar as an iCalendar feed."""
from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from flask import Response, current_app, g, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from cpp_shared import audit, limits, revocations, staff
from cpp_shared.auth import Principal, current_principal, requires_role
from cpp_shared.idempotency import idempotent
from cpp_shared.config import ConfigError, Settings
from cpp_shared.logs import get_logger
from cpp_shared.paging import Page, paged
from cpp_shared.store import DuplicateKey
from cpp_shared.web import ServiceContext

from . import ics, people, words
from . import store as st
from .deadlines import OPEN, STATUSES, event_data, set_due_date
from .runtime import Runtime, runtime

log = get_logger("cpp.scheduler")

READERS = ("social_worker", "team_manager", "chair", "auditor", "admin")
MANAGERS = ("team_manager", "admin")
FEED_MAKERS = ("social_worker", "team_manager", "chair")


PUBLIC_URL = "public_url"
FEED_KEY_DAYS = "feed_key_days"
DEFAULT_FEED_KEY_DAYS, MOST_FEED_KEY_DAYS = 90, 3650


def ctx() -> ServiceContext:
    return current_app.extensions["cpp"]


def public_url(settings: Settings) -> str:
    """Where people reach this service (a calendar feed's address starts
    with it): CPP_SCHEDULER_PUBLIC_URL, then CPP_PUBLIC_URL; in development
    http://127.0.0.1:<port>. Production without one, or one that is not an
    http(s) address, stops start-up."""
    value = settings.setting("PUBLIC_URL")
    if value is None:
        if not settings.is_development:
            raise ConfigError("production mode needs CPP_SCHEDULER_PUBLIC_URL (or CPP_PUBLIC_URL): the https address "
                              "people reach the scheduler at, which calendar feed addresses start with")
        return f"http://127.0.0.1:{settings.port}"
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 - a malformed port raises here
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.username \
            or parts.password or parts.query or parts.fragment or value.strip().endswith(("?", "#")):
        raise ConfigError(f"CPP_SCHEDULER_PUBLIC_URL (or CPP_PUBLIC_URL) must be an http or https address such as "
                          f"https://cpp.example.org, without user, query or fragment; got {value!r}")
    return value.strip().rstrip("/")


def feed_key_days(settings: Settings) -> int:
    """How many days a calendar feed's key works (CPP_SCHEDULER_FEED_KEY_DAYS,
    default 90): the most a feed's creation may ask for. Anything but a whole
    number of days from 1 to 3650 stops start-up."""
    text = settings.setting("FEED_KEY_DAYS", str(DEFAULT_FEED_KEY_DAYS))
    try:
        days = int(text)
    except ValueError:
        days = 0
    if not 1 <= days <= MOST_FEED_KEY_DAYS:
        raise ConfigError(f"CPP_SCHEDULER_FEED_KEY_DAYS must be a whole number of days from 1 to "
                          f"{MOST_FEED_KEY_DAYS}; got {text!r}")
    return days


def rt() -> Runtime:
    return runtime(ctx())


def _clock() -> datetime:
    return datetime.now(timezone.utc)


def _now() -> str:
    return _clock().isoformat()


def _load(record_id: str) -> dict[str, Any]:
    doc = ctx().store.collection(st.DEADLINES).find_one({"_id": record_id})
    if doc is None or doc.get("authority") != current_principal().authority:
        abort(404, message=f"no deadline {record_id}")
    return doc


# --- rules ----------------------------------------------------------------

rules_blp = Blueprint("rules", __name__, url_prefix="/v1/rules", description="The deployment's timescale rules")


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
        "calendar": {"country": cal.country, "subdiv": cal.subdiv, "timezone": str(r.timezone),
                     "closure_days": [{"date": d.isoformat(), "name": n} for d, n in sorted(cal.extra.items())]},
        "rules": [rule.as_dict() for rule in r.rules],
    }


@rules_blp.route("")
class Rules(MethodView):
    @rules_blp.response(200, TimetableSchema)
    @requires_role(*READERS)
    def get(self):
        """The effective timetable: every rule in force, with its source and the plugin it comes from."""
        return timetable(ctx())


# --- deadlines --------------------------------------------------------------

deadlines_blp = Blueprint("deadlines", __name__, url_prefix="/v1/deadlines",
                          description="Deadlines from the timescale rules, per case and plan")


class MetSchema(Schema):
    on = fields.String()
    late = fields.Boolean()
    working_days_late = fields.Integer()
    event_id = fields.String()
    type = fields.String()


class StaffRefSchema(Schema):
    user = fields.String()
    name = fields.String(metadata={"description": "their name as the staff directory holds it now"})


class ChildSchema(Schema):
    name = fields.String(metadata={"description": "the child's name as the record holds it now"})
    date_of_birth = fields.String(allow_none=True)
    nhs_number = fields.String(allow_none=True)


class DeadlineSchema(Schema):
    id = fields.String(attribute="_id")
    case_id = fields.String()
    plan_id = fields.String(allow_none=True)
    child_id = fields.String(allow_none=True)
    rule_id = fields.String()
    kind = fields.String()
    name = fields.String()
    owner = fields.String(metadata={"description": "the role that must act"})
    assignee = fields.Nested(StaffRefSchema, allow_none=True, metadata={
        "description": "the person who must act: the case's holder of the owner's role (the key worker, else the "
                       "social worker; the team manager; the conference's chair); null when nobody holds it yet"})
    team = fields.String(allow_none=True, metadata={"description": "the team that holds the case"})
    child = fields.Nested(ChildSchema, allow_none=True, metadata={"description": "who the child is; null when the "
                                                                  "scheduler has not heard"})
    source = fields.String()
    status = fields.String(metadata={"description": ", ".join(STATUSES)})
    needs_date = fields.Boolean(metadata={"description": "the source sets no timescale: a manager gives a date"})
    due_on = fields.String(allow_none=True)
    latest_on = fields.String(allow_none=True, metadata={"description": "overdue after this day (a range rule's latest)"})
    remind_on = fields.String(allow_none=True)
    overdue_on = fields.String(allow_none=True)
    anchor = fields.Dict()
    occurrence = fields.Integer()
    met = fields.Nested(MetSchema, allow_none=True)
    cancelled = fields.Dict(allow_none=True)
    superseded_by = fields.String(allow_none=True)
    superseded = fields.Dict(allow_none=True, metadata={"description": "when, and the event that superseded it"})
    supersedes = fields.String(allow_none=True)
    due_date_set = fields.Dict(allow_none=True)
    created_at = fields.String()
    version = fields.Integer()


class DeadlinePageSchema(Page):
    items = fields.List(fields.Nested(DeadlineSchema))


class ExplanationSchema(Schema):
    rule = fields.Nested(RuleSchema, allow_none=True)
    timescale = fields.String()
    anchor = fields.Dict()
    computations = fields.List(fields.Dict(), metadata={
        "description": "each count: the anchor, the days counted, the due date, and every day skipped by name"})
    summary = fields.String()


class DeadlineDetailSchema(DeadlineSchema):
    explanation = fields.Nested(ExplanationSchema)


class DeadlineQuerySchema(paged(50, 200, 100_000)):
    plan_id = fields.String(validate=validate.Length(min=1, max=100))
    case_id = fields.String(validate=validate.Length(min=1, max=100))
    status = fields.String(validate=validate.OneOf(STATUSES + ("open",)))
    owner = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "the role that must act"})
    assignee = fields.String(validate=validate.Length(min=1, max=200), metadata={
        "description": "the person who must act: a user id, or me for the caller"})
    team = fields.String(validate=validate.Length(min=1, max=200), metadata={"description": "the case's team"})
    child_id = fields.String(validate=validate.Length(min=1, max=100))
    due_before = fields.Date(metadata={"description": "due on or before this day"})


def named(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Deadlines as people read them: the child as the record holds them now
    and the assignee by the name the staff directory holds now (each kept in
    the deadline as it was, when the scheduler has heard nothing newer)."""
    store = ctx().store
    child_ids = sorted({d["child_id"] for d in docs if d.get("child_id")})
    children = {c["_id"]: people.child_ref(c) for c in store.collection(people.CHILDREN).find(
        {"_id": {"$in": child_ids}})} if child_ids else {}
    users = [(d.get("assignee") or {}).get("user") for d in docs]
    known = {e["user"]: e.get("name") for e in store.collection(staff.COLLECTION).find(
        {"user": {"$in": sorted({u for u in users if u})}})} if any(users) else {}
    out = []
    for d in docs:
        d = {**d, "child": children.get(d.get("child_id")) or d.get("child")}
        who = d.get("assignee")
        if who:
            d["assignee"] = {"user": who["user"], "name": known.get(who["user"]) or who.get("name")
                             or "a member of staff"}
        out.append(d)
    return out


@deadlines_blp.route("")
class Deadlines(MethodView):
    @deadlines_blp.arguments(DeadlineQuerySchema, location="query")
    @deadlines_blp.response(200, DeadlinePageSchema)
    @requires_role(*READERS)
    def get(self, args):
        """Deadlines, earliest due first; ``status=open`` for pending, approaching and overdue;
        ``assignee=me`` for the caller's own. Each names the child and the person who must act."""
        principal = current_principal()
        query: dict[str, Any] = {"authority": principal.authority}
        for name in ("plan_id", "case_id", "child_id", "owner", "team"):
            if name in args:
                query[name] = args[name]
        if "assignee" in args:
            query["assignee.user"] = principal.user if args["assignee"] == "me" else args["assignee"]
        if "status" in args:
            query["status"] = {"$in": list(OPEN)} if args["status"] == "open" else args["status"]
        if "due_before" in args:
            query["due_on"] = {"$lte": args["due_before"].isoformat()}
        coll = ctx().store.collection(st.DEADLINES)
        size = args["page_size"]
        items = coll.find(query, sort=[("due_on", 1)], skip=(args["page"] - 1) * size, limit=size)
        total = coll.count_documents(query)
        items = named(items)
        children = sorted({d["child_id"] for d in items if d.get("child_id")})
        audit.record_read(ctx().store, "deadlines", args.get("plan_id") or args.get("case_id") or "query",
                          action="list", child_id=children[0] if len(children) == 1 else None,
                          detail={"query": {k: str(v) for k, v in args.items()}, "count": len(items),
                                  "children": children})
        return {"items": items, "page": args["page"], "page_size": size, "total": total}


def explanation(doc: dict[str, Any]) -> dict[str, Any]:
    rule = rt().rule(doc["rule_id"])
    stored = doc.get("explanation") or {}
    computations = stored.get("computations") or []
    if doc.get("due_date_set"):
        set_ = doc["due_date_set"]
        summary = (f"Due on {words.day(doc['due_on'])}: set by {staff.name_of(ctx().store, set_['by'])} on "
                   f"{words.day(set_['at'])} ({set_['reason']}).")
    elif doc["needs_date"]:
        summary = "The source sets no timescale for this step: a manager gives it a date."
    else:
        summary = ". ".join(words.computation(c) for c in computations) + "."
        summary = summary[0].upper() + summary[1:]
    return {
        "rule": rule.as_dict() if rule else None,
        # the rule's words now (an explanation stored by an older scheduler named the data field counted from)
        "timescale": (rule.timescale() if doc.get("occurrence", 1) == 1 else rule.recurrence_text()) if rule
        else stored.get("timescale") or "",
        "anchor": doc["anchor"],
        "computations": computations,
        "summary": summary,
    }


@deadlines_blp.route("/<deadline_id>")
class DeadlineOne(MethodView):
    @deadlines_blp.response(200, DeadlineDetailSchema)
    @requires_role(*READERS)
    def get(self, deadline_id: str):
        """One deadline, with how its date was reached: the rule, the anchor,
        the days counted and the weekends, holidays and closures skipped."""
        doc = _load(deadline_id)
        audit.record_read(ctx().store, "deadline", deadline_id, child_id=doc.get("child_id"))
        return {**named([doc])[0], "explanation": explanation(doc)}


class DueDateSchema(Schema):
    due_on = fields.Date(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))


@deadlines_blp.route("/<deadline_id>/due-date")
class DeadlineDueDate(MethodView):
    @deadlines_blp.doc(operationId="changeDeadlineDueDate")
    @deadlines_blp.arguments(DueDateSchema)
    @deadlines_blp.response(200, DeadlineSchema)
    @requires_role(*MANAGERS)
    def post(self, args, deadline_id: str):
        """Give a date to a deadline whose source sets none (the resource
        panel's "timescale required"), or move an open one by decision, with
        the reason; who and when are recorded."""
        doc = _load(deadline_id)
        r = rt()
        due: date = args["due_on"]
        if doc["status"] not in OPEN:
            abort(409, message=f"the deadline is {doc['status']}; only an open deadline takes a new date")
        closed = r.calendar.closure(due)
        if closed:
            abort(422, message="not a working day", errors={"json": {"due_on": [f"{due.isoformat()} is {closed}"]}})
        if due < r.today():
            abort(422, message="in the past", errors={"json": {"due_on": [f"{due.isoformat()} has passed"]}})
        rule = r.rule(doc["rule_id"])
        principal = current_principal()
        new = set_due_date(doc, rule.reminder_days if rule else 0, r.calendar, due=due, reason=args["reason"],
                           by=principal.user, now=_now())
        with ctx().store.unit_of_work() as uow:
            uow.replace(st.DEADLINES, new, expected_version=doc["version"])
            audit.record_write(uow, "set_due_date", "deadline", deadline_id, child_id=doc.get("child_id"),
                               detail={"due_on": due.isoformat(), "reason": args["reason"]})
            ctx().publish(uow, "deadline.scheduled.v1", subject=doc["case_id"], data=event_data(new))
        new["version"] = doc["version"] + 1
        return named([new])[0]


# --- calendar feeds -------------------------------------------------------------

calendar_blp = Blueprint("calendar", __name__, url_prefix="/v1",
                         description="A plan's meetings and deadlines as an iCalendar feed")


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# Feed keys are guessed by asking: each address gets a few wrong keys a
# minute (a request with a bearer token is not asking with a key).
FEED_KEY_FAILURES = limits.Rule("feed_key_failures", "RATE_LIMIT_FEED_KEY_FAILURES", "10/minute", limits.by_address,
                                "requests with a wrong calendar feed key from this address", counts=limits.refused,
                                exempt=lambda: "principal" in g)


def _plan(plan_id: str) -> dict[str, Any]:
    plan = ctx().store.collection(st.PLANS).find_one({"_id": plan_id})
    if plan is None:
        abort(404, message=f"no plan {plan_id} known to the scheduler")
    return plan


def expires_at(feed: dict[str, Any]) -> datetime:
    """When a feed's key stops working (a feed made before keys expired:
    the longest a key works after its creation)."""
    if feed.get("expires_at"):
        return datetime.fromisoformat(feed["expires_at"])
    return datetime.fromisoformat(feed["created_at"]) + timedelta(days=ctx().extensions[FEED_KEY_DAYS])


def _maker_revoked(feed: dict[str, Any]) -> bool:
    """Whether the token that made the feed is revoked now (its user's tokens
    of that time, or that token itself): a feed works no longer than the
    access it was made with. A feed made before feeds recorded their token
    stops at any revocation of its owner's tokens."""
    return revocations.refuses(ctx().store, {"sub": feed["user"], "iat": feed.get("token_iat"),
                                             "jti": feed.get("token_jti")})


def _feed_principal(plan_id: str) -> Principal:
    """The feed's owner, for a key that works: the plan's, not revoked, not
    expired, and its owner's access not revoked since it was made. Any other
    key is refused alike."""
    key = request.args.get("key", "")
    feed = ctx().store.collection(st.FEEDS).find_one({"key_hash": _hash(key)}) if key else None
    if feed is None or feed["plan_id"] != plan_id or feed.get("revoked_at") or expires_at(feed) <= _clock() \
            or _maker_revoked(feed):
        abort(401, message="a bearer token or a valid calendar feed key is required")
    return Principal(user=feed["user"], role=feed["role"], authority=feed["authority"])


def feeds_follow_their_owners_role() -> None:
    """Before every request with a bearer token: a user seen with a role that
    may not make feeds (an auditor now, say) loses the feeds they made. One
    read on the feeds' indexed ``user``, and only for such roles."""
    principal = g.get("principal")
    if principal is None or principal.holds(*FEED_MAKERS):
        return
    store = ctx().store
    live = store.collection(st.FEEDS).find({"user": principal.user, "revoked_at": None})
    if not live:
        return
    now, because = _now(), f"its owner is now {principal.role}, a role that may not make calendar feeds"
    with store.unit_of_work() as uow:
        for feed in live:
            uow.update(st.FEEDS, {"_id": feed["_id"], "revoked_at": None},
                       {"$set": {"revoked_at": now, "revoked_because": because}})
    log.info("calendar feeds revoked", owner=principal.user, role=principal.role, feeds=len(live))


class FeedCreateSchema(Schema):
    days = fields.Integer(strict=True, validate=validate.Range(min=1), metadata={
        "description": "how many days the key works (default and most: the deployment's CPP_SCHEDULER_FEED_KEY_DAYS, "
                       "90 unless set)"})


class FeedSchema(Schema):
    id = fields.String(attribute="_id")
    plan_id = fields.String()
    user = fields.String()
    created_at = fields.String()
    expires_at = fields.String(metadata={"format": "date-time", "description": "when the key stops working"})
    revoked_at = fields.String(allow_none=True)
    url = fields.String(metadata={"description": "the address to subscribe to; it holds the key"})
    key = fields.String(metadata={"description": "shown once, when the feed is created"})


FEED_STATUSES = ("active", "expired", "revoked")


class FeedListedSchema(Schema):
    """A feed as its owner lists it: never its key or its address (they were shown once)."""
    id = fields.String(attribute="_id")
    plan_id = fields.String()
    created_at = fields.String(metadata={"format": "date-time"})
    expires_at = fields.String(metadata={"format": "date-time", "description": "when the key stops working"})
    revoked_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    status = fields.String(metadata={"description": "active (its address works), expired or revoked",
                                     "enum": list(FEED_STATUSES)})


class FeedListSchema(Schema):
    items = fields.List(fields.Nested(FeedListedSchema), metadata={"description": "newest first"})


def feed_status(feed: dict[str, Any], now: datetime) -> str:
    if feed.get("revoked_at") or _maker_revoked(feed):
        return "revoked"
    return "expired" if expires_at(feed) <= now else "active"


@calendar_blp.route("/plans/<plan_id>/calendar.ics")
class PlanCalendar(MethodView):
    @limits.limited(FEED_KEY_FAILURES)
    @calendar_blp.response(200, {"type": "string"}, content_type="text/calendar",
                           description="the plan's conferences, core group meetings and deadlines (RFC 5545)")
    @calendar_blp.alt_response(429, description="too many wrong feed keys from this address; see Retry-After")
    def get(self, plan_id: str):
        """The plan's calendar (iCalendar), with a bearer token or a feed
        key (``?key=``) from POST /v1/plans/{plan_id}/calendar-feeds."""
        principal = g.principal if "principal" in g else _feed_principal(plan_id)
        if not principal.holds(*READERS):
            abort(403, message=f"role {principal.role!r} may not read a plan's calendar")
        plan = _plan(plan_id)
        store = ctx().store
        deadlines = store.collection(st.DEADLINES).find(
            {"case_id": plan["case_id"], "status": {"$in": list(OPEN) + ["met"]}, "authority": principal.authority},
            sort=[("due_on", 1)])
        meetings = store.collection(st.MEETINGS).find({"case_id": plan["case_id"], "status": {"$ne": "cancelled"}},
                                                      sort=[("on", 1)])
        case = store.collection(people.CASES).find_one({"_id": plan["case_id"]}) or {}
        chairs = {c["id"]: c["chair"] for c in case.get("conferences") or [] if c.get("chair")}
        names = staff.names(store, [c["user"] for c in chairs.values()])
        meetings = [{**m, "chair": names.get(chairs[m["_id"]]["user"]) if m["_id"] in chairs else None}
                    for m in meetings]
        child = people.child_ref(store.collection(people.CHILDREN).find_one({"_id": plan.get("child_id")})) \
            if plan.get("child_id") else None
        deadlines = named(deadlines)
        child = child or next((d["child"] for d in deadlines if d.get("child")), None)
        body = ics.plan_calendar(plan_id, deadlines, meetings, authority=rt().authority, tz=rt().timezone,
                                 child=child["name"] if child else None)
        # A feed's key is its owner's credential: the read is theirs.
        audit.record_read(store, "plan_calendar", plan_id, child_id=plan.get("child_id"), principal=principal,
                          detail={"via": "bearer token" if "principal" in g else "feed key"})
        return Response(body, mimetype="text/calendar",
                        headers={"Content-Disposition": f'inline; filename="plan-{plan_id}.ics"'})


@calendar_blp.route("/plans/<plan_id>/calendar-feeds")
class PlanCalendarFeeds(MethodView):
    @idempotent
    @requires_role(*FEED_MAKERS)
    @calendar_blp.arguments(FeedCreateSchema)
    @calendar_blp.response(201, FeedSchema)
    def post(self, body, plan_id: str):
        """A private address for the plan's calendar, to subscribe to in a
        calendar program that cannot send a bearer token. The key is shown
        once and works for ``days`` (at most the deployment's limit, 90 days
        unless set); revoke it sooner with DELETE /v1/calendar-feeds/{id}."""
        most = ctx().extensions[FEED_KEY_DAYS]
        days = body.get("days", most)
        if days > most:
            abort(422, message="too long", errors={"json": {"days": [f"A feed's key works for at most {most} days."]}})
        _plan(plan_id)
        principal = current_principal()
        key = secrets.token_urlsafe(32)
        now = _clock()
        feed = {"plan_id": plan_id, "user": principal.user, "role": principal.acting_as(*FEED_MAKERS),
                "authority": principal.authority, "key_hash": _hash(key), "created_at": now.isoformat(),
                "expires_at": (now + timedelta(days=days)).isoformat(), "revoked_at": None,
                # The token it was made with: revoking that token, or its user's tokens of that time, stops it.
                "token_iat": principal.claims.get("iat"), "token_jti": principal.claims.get("jti")}
        try:
            with ctx().store.unit_of_work() as uow:  # the unit an Idempotency-Key's answer commits with
                feed["_id"] = uow.insert(st.FEEDS, feed)
        except DuplicateKey:  # a 256-bit key collided: never in practice
            abort(503, message="try again")
        # The address people subscribe to comes from the deployment's
        # setting, never from the request's Host header.
        path = url_for("calendar.PlanCalendar", plan_id=plan_id, key=key)
        url = ctx().extensions[PUBLIC_URL] + path.removeprefix(request.script_root)
        return {**feed, "url": url, "key": key}

    @requires_role(*FEED_MAKERS)
    @calendar_blp.response(200, FeedListSchema)
    def get(self, plan_id: str):
        """The caller's own feeds of the plan, newest first, each with whether
        its address still works; never a key or an address (shown once, when
        made). Another person's feeds are not listed."""
        _plan(plan_id)
        principal = current_principal()
        feeds = ctx().store.collection(st.FEEDS).find(
            {"user": principal.user, "plan_id": plan_id, "authority": principal.authority},
            sort=[("created_at", -1)])
        now = _clock()
        return {"items": [{**f, "status": feed_status(f, now)} for f in feeds]}


@calendar_blp.route("/calendar-feeds/<feed_id>")
class CalendarFeed(MethodView):
    @calendar_blp.response(204)
    @requires_role(*FEED_MAKERS, "admin")
    def delete(self, feed_id: str):
        """Revoke a calendar feed: its address stops working at once."""
        principal = current_principal()
        coll = ctx().store.collection(st.FEEDS)
        feed = coll.find_one({"_id": feed_id})
        if feed is None or feed["authority"] != principal.authority:
            abort(404, message=f"no calendar feed {feed_id}")
        if feed["user"] != principal.user and not principal.holds(*MANAGERS):
            abort(403, message="only the feed's owner or a manager may revoke it")
        coll.update_one({"_id": feed_id}, {"$set": {"revoked_at": feed.get("revoked_at") or _now()}})
        return None
