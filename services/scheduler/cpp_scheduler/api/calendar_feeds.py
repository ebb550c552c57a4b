"""A plan's calendar as an iCalendar feed, and the private feed addresses
(keys) that calendar programs subscribe to; with the deployment's settings
for them: the address people reach the service at, and how long a key
works."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Response, g, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from cpp_shared import audit, limits, revocations, staff
from cpp_shared.auth import Principal, current_principal, requires_role
from cpp_shared.config import ConfigError, Settings
from cpp_shared.idempotency import idempotent
from cpp_shared.logs import get_logger
from cpp_shared.store import DuplicateKey

from .. import store as st
from ..domain import ics, people
from ..domain.deadlines import OPEN
from . import common
from .common import FEED_MAKERS, MANAGERS, READERS, ctx, named, rt

log = get_logger("cpp.scheduler")

PUBLIC_URL = "public_url"
FEED_KEY_DAYS = "feed_key_days"
DEFAULT_FEED_KEY_DAYS, MOST_FEED_KEY_DAYS = 90, 3650


def public_url(settings: Settings) -> str:
    """Where people reach this service (a calendar feed's address starts
    with it): CPP_SCHEDULER_PUBLIC_URL, then CPP_PUBLIC_URL; in development
    http://127.0.0.1:<port>. Production without one, or one that is not an
    http(s) address, stops start-up."""
    value = settings.setting("PUBLIC_URL")
    if value is None:
        if not settings.is_development:
            raise ConfigError(
                "production mode needs CPP_SCHEDULER_PUBLIC_URL (or CPP_PUBLIC_URL): the https address "
                "people reach the scheduler at, which calendar feed addresses start with"
            )
        return f"http://127.0.0.1:{settings.port}"
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 - a malformed port raises here
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username
        or parts.password
        or parts.query
        or parts.fragment
        or value.strip().endswith(("?", "#"))
    ):
        raise ConfigError(
            f"CPP_SCHEDULER_PUBLIC_URL (or CPP_PUBLIC_URL) must be an http or https address such as "
            f"https://cpp.example.org, without user, query or fragment; got {value!r}"
        )
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
        raise ConfigError(
            f"CPP_SCHEDULER_FEED_KEY_DAYS must be a whole number of days from 1 to {MOST_FEED_KEY_DAYS}; got {text!r}"
        )
    return days


blp = Blueprint(
    "calendar", __name__, url_prefix="/v1", description="A plan's meetings and deadlines as an iCalendar feed"
)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# Feed keys are guessed by asking: each address gets a few wrong keys a
# minute (a request with a bearer token is not asking with a key).
FEED_KEY_FAILURES = limits.Rule(
    "feed_key_failures",
    "RATE_LIMIT_FEED_KEY_FAILURES",
    "10/minute",
    limits.by_address,
    "requests with a wrong calendar feed key from this address",
    counts=limits.refused,
    exempt=lambda: "principal" in g,
)


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
    return revocations.refuses(
        ctx().store, {"sub": feed["user"], "iat": feed.get("token_iat"), "jti": feed.get("token_jti")}
    )


def _feed_principal(plan_id: str) -> Principal:
    """The feed's owner, for a key that works: the plan's, not revoked, not
    expired, and its owner's access not revoked since it was made. Any other
    key is refused alike."""
    key = request.args.get("key", "")
    feed = ctx().store.collection(st.FEEDS).find_one({"key_hash": _hash(key)}) if key else None
    if (
        feed is None
        or feed["plan_id"] != plan_id
        or feed.get("revoked_at")
        or expires_at(feed) <= common.clock()
        or _maker_revoked(feed)
    ):
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
    now, because = common.now(), f"its owner is now {principal.role}, a role that may not make calendar feeds"
    with store.unit_of_work() as uow:
        for feed in live:
            uow.update(
                st.FEEDS,
                {"_id": feed["_id"], "revoked_at": None},
                {"$set": {"revoked_at": now, "revoked_because": because}},
            )
    log.info("calendar feeds revoked", owner=principal.user, role=principal.role, feeds=len(live))


class FeedCreateSchema(Schema):
    days = fields.Integer(
        strict=True,
        validate=validate.Range(min=1),
        metadata={
            "description": "how many days the key works (default and most: the deployment's CPP_SCHEDULER_FEED_KEY_DAYS, "
            "90 unless set)"
        },
    )


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
    status = fields.String(
        metadata={"description": "active (its address works), expired or revoked", "enum": list(FEED_STATUSES)}
    )


class FeedListSchema(Schema):
    items = fields.List(fields.Nested(FeedListedSchema), metadata={"description": "newest first"})


def feed_status(feed: dict[str, Any], now: datetime) -> str:
    if feed.get("revoked_at") or _maker_revoked(feed):
        return "revoked"
    return "expired" if expires_at(feed) <= now else "active"


@blp.route("/plans/<plan_id>/calendar.ics")
class PlanCalendar(MethodView):
    @limits.limited(FEED_KEY_FAILURES)
    @blp.response(
        200,
        {"type": "string"},
        content_type="text/calendar",
        description="the plan's conferences, core group meetings and deadlines (RFC 5545)",
    )
    @blp.alt_response(429, description="too many wrong feed keys from this address; see Retry-After")
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
            sort=[("due_on", 1)],
        )
        meetings = store.collection(st.MEETINGS).find(
            {"case_id": plan["case_id"], "status": {"$ne": "cancelled"}}, sort=[("on", 1)]
        )
        case = store.collection(st.CASE_PEOPLE).find_one({"_id": plan["case_id"]}) or {}
        chairs = {c["id"]: c["chair"] for c in case.get("conferences") or [] if c.get("chair")}
        names = staff.names(store, [c["user"] for c in chairs.values()])
        meetings = [
            {**m, "chair": names.get(chairs[m["_id"]]["user"]) if m["_id"] in chairs else None} for m in meetings
        ]
        child = (
            people.child_ref(store.collection(st.CHILDREN).find_one({"_id": plan.get("child_id")}))
            if plan.get("child_id")
            else None
        )
        deadlines = named(deadlines)
        child = child or next((d["child"] for d in deadlines if d.get("child")), None)
        body = ics.plan_calendar(
            plan_id,
            deadlines,
            meetings,
            authority=rt().authority,
            tz=rt().timezone,
            child=child["name"] if child else None,
            terms=rt().terms,
        )
        # A feed's key is its owner's credential: the read is theirs.
        audit.record_read(
            store,
            "plan_calendar",
            plan_id,
            child_id=plan.get("child_id"),
            principal=principal,
            detail={"via": "bearer token" if "principal" in g else "feed key"},
        )
        return Response(
            body, mimetype="text/calendar", headers={"Content-Disposition": f'inline; filename="plan-{plan_id}.ics"'}
        )


@blp.route("/plans/<plan_id>/calendar-feeds")
class PlanCalendarFeeds(MethodView):
    @idempotent
    @requires_role(*FEED_MAKERS)
    @blp.arguments(FeedCreateSchema)
    @blp.response(201, FeedSchema)
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
        now = common.clock()
        feed = {
            "plan_id": plan_id,
            "user": principal.user,
            "role": principal.acting_as(*FEED_MAKERS),
            "authority": principal.authority,
            "key_hash": _hash(key),
            "created_at": now.isoformat(),
            "expires_at": (now + timedelta(days=days)).isoformat(),
            "revoked_at": None,
            # The token it was made with: revoking that token, or its user's tokens of that time, stops it.
            "token_iat": principal.claims.get("iat"),
            "token_jti": principal.claims.get("jti"),
        }
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
    @blp.response(200, FeedListSchema)
    def get(self, plan_id: str):
        """The caller's own feeds of the plan, newest first, each with whether
        its address still works; never a key or an address (shown once, when
        made). Another person's feeds are not listed."""
        _plan(plan_id)
        principal = current_principal()
        feeds = (
            ctx()
            .store.collection(st.FEEDS)
            .find(
                {"user": principal.user, "plan_id": plan_id, "authority": principal.authority},
                sort=[("created_at", -1)],
            )
        )
        now = common.clock()
        return {"items": [{**f, "status": feed_status(f, now)} for f in feeds]}


@blp.route("/calendar-feeds/<feed_id>")
class CalendarFeed(MethodView):
    @blp.response(204)
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
        coll.update_one({"_id": feed_id}, {"$set": {"revoked_at": feed.get("revoked_at") or common.now()}})
        return None
