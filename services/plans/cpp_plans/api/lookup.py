"""The partner lookup: "is this child subject of a child protection plan?"

GET /v1/lookup?nhs_number=... is the partners' own route (the ``partner``
role only; staff use the children and plans resources). The answer is the
minimum a health visitor, a teacher or a police officer needs to act, as
CP-IS gives it: one of

* ``none``: no plan (the number is unknown, the child has never been on a
  plan, or their plan ended longer ago than the authority tells of);
* ``in_force``: subject of a plan (outline or active) since a day, under
  which categories;
* ``ended``: their plan ended on a day within the last N months (the
  authority plugin's ``lookup_ended_plan_months``, 12 unless it says);

and whom to call: the key worker by name and direct phone (the staff
directory's number for the key worker, else the one the plan gives), the
council's team and its out-of-hours number (the authority plugin's
``out_of_hours_phone``). Never the child's or family's names, address, the
plan's narrative or the case's details.

An unknown child and a child who has had no plan (or whose plan ended
before the months told of) get the same answer in the same shape, so the
lookup does not tell whether the council knows the child.

Every lookup is in the audit log and publishes ``lookup.performed.v1`` in the
same unit of work, so that the notify service tells the key worker, by
name, who looked (as CP-IS does). The audit log, inside the system of
record, names the number looked up. The event, which leaves the service,
names a known child as every event about a child does (``child``, whose
identifiers reach only those whose scope includes them); for an unknown
child it carries nothing of the number: its subject is the lookup's own id
(a hash of the number would not hide it: there are only about 10^9 valid
NHS numbers).

Lean on purpose: two indexed reads (the child by its NHS key, the child's
latest plan in force or ended by child_id), a third by the staff directory's user index for a key
worker linked to the staff directory, and one commit, shared with the other
lookups and reads being committed at the same moment (cpp_shared.store.group_commit): the
answer still goes out only once this lookup's audit entry and event are on
disk.
"""

from __future__ import annotations

import uuid
from calendar import monthrange
from datetime import UTC, date, datetime
from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, ValidationError, fields

from cpp_shared import limits
from cpp_shared import staff as directory
from cpp_shared.auth import current_principal, requires_role
from cpp_shared.plugins import PluginError
from cpp_shared.store import Store, group_commit
from cpp_shared.terminology import DEFAULTS, capital, said, terminology
from cpp_shared.web import ServiceContext

from .. import audit
from ..domain import children as child_rules
from ..domain import identifiers
from ..service_layer.common import named
from ..service_layer.transfers import pending_transfer_in
from ..store import CHILDREN, PLANS
from .common import today

blp = Blueprint(
    "lookup",
    __name__,
    url_prefix="/v1/lookup",
    description="Partner agencies: is this child subject of a child protection plan?",
)

EVENT = "lookup.performed.v1"
IN_FORCE = ["outline", "active"]  # a plan in these states makes the child "subject of a plan"
TOLD = IN_FORCE + ["ended"]  # the plans a lookup reads: the latest of these answers

# The authority plugin's settings for the lookup (both optional).
ENDED_MONTHS = "lookup_ended_plan_months"  # how long after its end a plan is told of as ended
DEFAULT_ENDED_MONTHS = 12
MOST_ENDED_MONTHS = 120
OUT_OF_HOURS = "out_of_hours_phone"  # the council's emergency duty number
STATUSES = ("none", "in_force", "ended")

# Looking numbers up one after another is how a list of children on plans
# would be drawn out: each partner, and each address, gets a budget.
PER_PRINCIPAL = limits.Rule(
    "lookup_per_principal",
    "RATE_LIMIT_LOOKUP_PER_PRINCIPAL",
    "60/minute",
    limits.by_principal,
    "partner lookups by this user",
)
PER_ADDRESS = limits.Rule(
    "lookup_per_address",
    "RATE_LIMIT_LOOKUP_PER_ADDRESS",
    "300/minute",
    limits.by_address,
    "partner lookups from this address",
)


class NhsNumber(fields.String):
    """An NHS number in any usual writing, loaded as its 10 digits."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return identifiers.nhs_number(text)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class LookupQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    nhs_number = NhsNumber(required=True, metadata={"description": "9434765919, 943 476 5919 or 943-476-5919"})


class ContactSchema(Schema):
    team = fields.String(metadata={"description": "the council's children's services"})
    phone = fields.String(allow_none=True, metadata={"description": "the team's number"})
    email = fields.String(allow_none=True)
    out_of_hours_phone = fields.String(
        allow_none=True,
        metadata={"description": "the council's out-of-hours (emergency duty) number, when the authority gives one"},
    )
    key_worker = fields.String(
        allow_none=True,
        metadata={
            "description": "the key worker's name, when the child is or was on a plan (status in_force or ended)"
        },
    )
    key_worker_phone = fields.String(
        allow_none=True, metadata={"description": "the key worker's direct phone number, when known"}
    )


class LookupSchema(Schema):
    nhs_number = fields.String(metadata={"description": "as normalised: 10 digits"})
    status = fields.String(
        metadata={
            "description": "none (no plan: an unknown child, a child never on a plan, or a "
            "plan ended longer ago than the authority tells of), in_force, "
            "or ended (a plan that ended within the last months told of)",
            "enum": list(STATUSES),
        }
    )
    summary = fields.String(
        metadata={"description": 'the answer in words, e.g. "Child protection plan in force since 14 May 2026"'}
    )
    subject_of_plan = fields.Boolean(metadata={"description": "true only while a plan is in force"})
    plan_status = fields.String(
        allow_none=True,
        metadata={
            "description": "the plan in force's stage, outline or active, or transfer_in_pending (the child moved "
            "here on a plan, and this council's transfer-in conference is not yet held); null when no plan is in force"
        },
    )
    since = fields.String(
        allow_none=True,
        metadata={"format": "date", "description": "the day the plan began (in force or ended); null for none"},
    )
    ended_on = fields.String(
        allow_none=True, metadata={"format": "date", "description": "the day the plan ended (status ended); else null"}
    )
    ended_plans_told_for_months = fields.Integer(
        metadata={"description": "how many months after its end a plan is told of as ended"}
    )
    categories = fields.List(
        fields.String(), metadata={"description": "categories of abuse or neglect of the plan in force; [] otherwise"}
    )
    contact = fields.Nested(ContactSchema)


def _first(contacts: list[dict[str, Any]], key: str) -> str | None:
    return next((c[key] for c in contacts if c.get(key)), None)


def check_authority(authority: dict[str, Any]) -> None:
    """The lookup's settings in the authority plugin's dict, checked at
    start-up: a wrong value stops the service, naming the key."""
    ended_months(authority)
    phone = authority.get(OUT_OF_HOURS)
    if phone is not None and not (isinstance(phone, str) and 0 < len(phone.strip()) <= 50):
        raise PluginError(
            f"cpp_authority's {OUT_OF_HOURS!r} must be a phone number (text of at most 50 characters), got {phone!r}"
        )


def ended_months(authority: dict[str, Any]) -> int:
    """How many months after its end a plan is told of as ended (0: never)."""
    months = authority.get(ENDED_MONTHS)
    if months is None:
        return DEFAULT_ENDED_MONTHS
    if isinstance(months, bool) or not isinstance(months, int) or not 0 <= months <= MOST_ENDED_MONTHS:
        raise PluginError(
            f"cpp_authority's {ENDED_MONTHS!r} must be a whole number of months from 0 to "
            f"{MOST_ENDED_MONTHS}, got {months!r}"
        )
    return months


def months_before(day: date, months: int) -> date:
    """The same day ``months`` calendar months earlier (the month's last day
    when that month is shorter: 31 May less 3 months is 28 or 29 February)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month + 1, min(day.day, monthrange(year, month + 1)[1]))


def told_plan(plan: dict[str, Any] | None, *, today: date, months: int) -> tuple[str, dict[str, Any] | None]:
    """What the lookup tells of the child's latest plan: its status and the
    plan told of (None for ``none``)."""
    if plan is None:
        return "none", None
    if plan["status"] in IN_FORCE:
        return "in_force", plan
    ended_on = (plan.get("ended") or {}).get("on")
    if plan["status"] == "ended" and ended_on and months > 0 and ended_on >= months_before(today, months).isoformat():
        return "ended", plan
    return "none", None


def _words(day: str) -> str:
    d = date.fromisoformat(day)
    return f"{d.day} {d:%B %Y}"


def words_of(ctx: ServiceContext) -> dict[str, str]:
    """The deployment's words (``cpp_terminology``), merged once per process."""
    if "terminology" not in ctx.extensions:
        ctx.extensions["terminology"] = terminology(ctx.plugins)
    return ctx.extensions["terminology"]


def summary(status: str, plan: dict[str, Any] | None, terms: dict[str, str] = DEFAULTS) -> str:
    """The answer in the deployment's words: "Care and support protection plan in force since 14 May 2026"."""
    named = capital(terms["plan"])
    if plan is None:
        return f"No {terms['plan']}"
    if status == "in_force":
        return f"{named} in force since {_words(plan['created_on'])}"
    if status == "ended":
        return f"{named} from {_words(plan['created_on'])}, ended on {_words(plan['ended']['on'])}"
    return f"No {terms['plan']}"


def key_worker_of(store: Store, plan: dict[str, Any] | None) -> dict[str, Any]:
    """The plan's key worker: their user id (when linked to the staff
    directory), name and direct phone (the directory's, else the plan's)."""
    if plan is None:
        return {"user": None, "name": None, "phone": None}
    given = (plan.get("content") or {}).get("key_worker") or {}
    user = given.get("user") or plan.get("key_worker_user")
    entry = directory.entry(store, user) if user else None
    return {
        "user": user,
        "name": (entry or {}).get("name") or given.get("name") or plan.get("key_worker"),
        "phone": (entry or {}).get("phone") or given.get("phone"),
    }


@blp.route("")
class Lookup(MethodView):
    @limits.limited(PER_PRINCIPAL, PER_ADDRESS)
    @requires_role("partner")
    @blp.arguments(LookupQuerySchema(), location="query", unknown=RAISE)  # an instance: not built per request
    @blp.response(200, LookupSchema)
    @blp.alt_response(429, description="too many lookups by this user or from this address; see Retry-After")
    def get(self, query):
        """Whether a child is subject of a child protection plan, and whom to contact"""
        ctx = current_app.extensions["cpp"]
        principal = current_principal()
        authority = ctx.authority
        code = authority["code"]
        nhs = query["nhs_number"]

        child = ctx.store.collection(CHILDREN).find_one({"nhs_key": child_rules.nhs_key(code, nhs), "authority": code})
        child_id = child["_id"] if child else None
        latest = None
        if child_id is not None:
            found = ctx.store.collection(PLANS).find(
                {"child_id": child_id, "authority": code, "status": {"$in": TOLD}}, sort=[("created_on", -1)], limit=1
            )
            latest = found[0] if found else None
        months = ended_months(authority)
        status, plan = told_plan(latest, today=today(), months=months)
        key_worker = key_worker_of(ctx.store, plan)
        # A child who moved here on a plan is told of as on one until the transfer-in conference decides.
        moving = pending_transfer_in(ctx.store, code, child_id) if child_id and status != "in_force" else None
        if moving is not None:
            status, plan = "in_force", None
            key_worker = social_worker_of(ctx.store, moving["social_worker"])

        lookup_id = uuid.uuid4().hex
        subject_of_plan = status == "in_force"
        with group_commit.unit_of_work(ctx.store) as uow:
            audit.record_write(
                uow,
                "lookup",
                "child" if child_id else "lookup",
                child_id or lookup_id,
                child_id=child_id,
                detail={
                    "lookup_id": lookup_id,
                    "nhs_number": nhs,
                    "plan_status": status,
                    "subject_of_plan": subject_of_plan,
                    "plan_id": plan["_id"] if plan else None,
                },
            )
            ctx.publish(
                uow,
                EVENT,
                subject=child_id or lookup_id,
                data={
                    "lookup_id": lookup_id,
                    "performed_at": datetime.now(UTC).isoformat(),
                    "partner": principal.user,
                    "partner_role": principal.role,
                    "authority": code,
                    "child_id": child_id,
                    "child": named(child) if child else None,
                    "plan_id": plan["_id"] if plan else None,
                    "plan_status": status,
                    "key_worker": key_worker["name"],
                    "key_worker_user": key_worker["user"],
                    "subject_of_plan": subject_of_plan,
                },
            )

        contacts = authority.get("contacts") or []
        if moving is not None:
            return {
                "nhs_number": nhs,
                "status": status,
                "summary": transferred_summary(moving, words_of(ctx)),
                "subject_of_plan": True,
                "plan_status": "transfer_in_pending",
                "since": moving["since"],
                "ended_on": None,
                "ended_plans_told_for_months": months,
                "categories": moving["categories"],
                "contact": _contact(authority, contacts, key_worker),
            }
        return {
            "nhs_number": nhs,
            "status": status,
            "summary": summary(status, plan, words_of(ctx)),
            "subject_of_plan": subject_of_plan,
            "plan_status": plan["status"] if subject_of_plan else None,
            "since": plan["created_on"] if plan else None,
            "ended_on": plan["ended"]["on"] if status == "ended" else None,
            "ended_plans_told_for_months": months,
            "categories": list(plan.get("categories") or []) if subject_of_plan else [],
            "contact": _contact(authority, contacts, key_worker),
        }


def _contact(authority: dict[str, Any], contacts: list[dict[str, Any]], key_worker: dict[str, Any]) -> dict:
    return {
        "team": authority["name"],
        "phone": _first(contacts, "phone"),
        "email": _first(contacts, "email"),
        "out_of_hours_phone": authority.get(OUT_OF_HOURS),
        "key_worker": key_worker["name"],
        "key_worker_phone": key_worker["phone"],
    }


def social_worker_of(store: Store, person: dict[str, Any] | None) -> dict[str, Any]:
    """Whom to call about a child waiting for the transfer-in conference: the case's social worker."""
    user = (person or {}).get("user")
    entry = directory.entry(store, user) if user else None
    return {"user": user, "name": (person or {}).get("name"), "phone": (entry or {}).get("phone")}


def transferred_summary(moving: dict[str, Any], terms: dict[str, str] = DEFAULTS) -> str:
    """A child transferred in, waiting for the transfer-in conference, in the deployment's words."""
    return (
        f"{capital(terms['plan'])} in force since {_words(moving['since'])} (transferred in from "
        f"{moving['from_council']['name']}, pending the {said('transfer_in_conference', terms)})"
    )
