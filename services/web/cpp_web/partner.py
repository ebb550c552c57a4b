"""A partner agency's pages: the NHS-number lookup, its webhook
subscriptions and their deliveries.

* The lookup asks the plans service (``GET /v1/lookup``) as CP-IS does and
  shows only its minimal answer: no plan, a plan in force since a day, or a
  plan that ended on a day; whom to call (the key worker, the team, the
  out-of-hours number). The form is posted (with CSRF), so the number is in
  no URL and no other site can make a lookup in the partner's name; the
  answer is shown at once, never kept. The service tells the key worker of
  every lookup, and the page says so. Its rate limit (429) is a page in
  plain words.
* Subscriptions and deliveries are the notify service's
  (``/v1/subscriptions``, ``/v1/deliveries``): a partner sees and manages
  its organisation's own. A subscription's signing secret is shown once, on
  the page that answers its creation or a rotation, and kept nowhere here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovTextArea
from wtforms import TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from .client import Answer, Invalid, Refused, ServiceError
from .lifecycle import _refused_words, _submit, _text
from .lifecycle_forms import KeyField, error_summary, show_service_errors
from .views import api, services, signed_in

bp = Blueprint("partner", __name__)

LONDON = ZoneInfo("Europe/London")
HEADINGS = {
    "none": "No child protection plan",
    "in_force": "Child protection plan in force",
    "ended": "Child protection plan ended",
}
SUBSCRIPTION_STATUS = {"active": "Active", "paused": "Paused", "disabled": "Stopped after failures"}
DELIVERY_STATE = {
    "ready": "Waiting to be sent",
    "queued": "Queued behind an earlier delivery",
    "delivered": "Delivered",
    "failed": "Failed",
}
PAGE_SIZE = 25


def moment(ts: float | None) -> str:
    """Unix seconds as '7 December 2026 at 2:05pm' (UK time)."""
    if ts is None:
        return ""
    at = datetime.fromtimestamp(ts, LONDON)
    return f"{at.day} {at:%B %Y} at {at.hour % 12 or 12}:{at:%M}{'am' if at.hour < 12 else 'pm'}"


bp.add_app_template_filter(moment, "moment")


def _token() -> dict:
    return {"token": session.get("token"), "request_id": g.get("request_id")}


def _notify(method: str, path: str, body: Any = None, *, key: str | None = None) -> Answer:
    return services().call("notify", method, path, json=body, idempotency_key=key, **_token())


# --- the lookup ---


def nhs_digits(text: str | None) -> str:
    return "".join(ch for ch in text or "" if ch.isdigit())


def nhs_words(digits: str | None) -> str:
    """9434765919 as 943 476 5919 (how NHS numbers are read)."""
    d = digits or ""
    return f"{d[:3]} {d[3:6]} {d[6:]}" if len(d) == 10 else d


def _ten_digits(form: FlaskForm, field: Any) -> None:
    text = (field.data or "").strip()
    if any(ch not in "0123456789 -" for ch in text) or len(nhs_digits(text)) != 10:
        raise ValidationError("Enter an NHS number in the correct format, like 943 476 5919")


class LookupForm(FlaskForm):
    nhs_number = _text(
        "NHS number",
        InputRequired("Enter the child's NHS number"),
        _ten_digits,
        description="It's 10 digits, like 943 476 5919",
    )
    submit = _submit("Look up")


@bp.route("/lookup", methods=["GET", "POST"])
@signed_in("partner")
def lookup():
    form = LookupForm()
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            answer = (
                services()
                .call("plans", "GET", "/v1/lookup", params={"nhs_number": nhs_digits(form.nhs_number.data)}, **_token())
                .body
            )
        except Invalid as exc:
            show_service_errors(
                form,
                exc.fields,
                {"nhs_number": "nhs_number", "query.nhs_number": "nhs_number", "query": "nhs_number"},
                problems,
            )
        except ServiceError as exc:
            if exc.status != 429:
                raise
            return render_template("partner/too_many.html"), 429
        else:
            return render_template(
                "partner/answer.html",
                answer=answer,
                heading=HEADINGS.get(answer.get("status"), "Answer"),
                contact=answer.get("contact") or {},
                nhs=nhs_words(answer.get("nhs_number")),
            )
    has_errors = bool(form.errors or problems)
    return render_template(
        "partner/lookup.html", form=form, summary=error_summary(form, problems) if has_errors else None
    ), (400 if has_errors else 200)


# --- subscriptions ---


def _patterns(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").replace(",", "\n").splitlines() if p.strip()]


def _some_patterns(form: FlaskForm, field: Any) -> None:
    patterns = _patterns(field.data)
    if not patterns:
        raise ValidationError("Enter at least one event type")
    if len(patterns) > 50:
        raise ValidationError("Enter 50 event types or fewer")


def _https(form: FlaskForm, field: Any) -> None:
    if not (field.data or "").strip().lower().startswith("https://"):
        raise ValidationError("Enter the receiver's address starting with https://")


class SubscriptionForm(FlaskForm):
    key = KeyField()
    url = _text(
        "Receiver address",
        InputRequired("Enter the receiver's address"),
        _https,
        Length(max=2000, message="The receiver's address must be 2,000 characters or fewer"),
        description="The https address your system receives events at, like https://hooks.example.org/child-protection",
    )
    event_types = TextAreaField(
        "Event types",
        widget=GovTextArea(),
        validators=[_some_patterns],
        description="One on each line. A * stands for any part, like plan.* for every "
        "plan event, or conference.held.v1 for one kind only",
    )
    description = _text(
        "Description (optional)",
        Optional(),
        Length(max=500, message="The description must be 500 characters or fewer"),
        description="What the subscription is for, so your colleagues know it",
    )
    submit = _submit("Create subscription")


SUBSCRIPTION_FIELDS = {"url": "url", "event_types": "event_types", "description": "description"}


class ActionForm(FlaskForm):
    """A button that changes something: CSRF only."""


def _subscription(subscription_id: str) -> dict:
    return api("notify", f"/v1/subscriptions/{subscription_id}")


@bp.get("/subscriptions")
@signed_in("partner")
def subscriptions():
    items = api("notify", "/v1/subscriptions")["items"]
    return render_template("partner/subscriptions.html", items=items, statuses=SUBSCRIPTION_STATUS)


@bp.route("/subscriptions/new", methods=["GET", "POST"])
@signed_in("partner")
def new_subscription():
    form = SubscriptionForm()
    problems: list[str] = []
    refused = False
    if request.method == "GET" and not form.event_types.data:
        form.event_types.data = "plan.*\nconference.*"
    if form.validate_on_submit():
        body = {
            "url": form.url.data.strip(),
            "event_types": _patterns(form.event_types.data),
            "description": (form.description.data or "").strip(),
        }
        try:
            answer = _notify("POST", "/v1/subscriptions", body, key=form.key.data)
        except Invalid as exc:
            show_service_errors(form, exc.fields, SUBSCRIPTION_FIELDS, problems)
        except Refused as exc:
            problems.append(_refused_words(exc))
            refused = True
        else:
            return render_template(
                "partner/secret.html", subscription=answer.body, secret=answer.body["secret"], created=True
            )
    has_errors = bool(form.errors or problems)
    return render_template(
        "partner/new_subscription.html", form=form, summary=error_summary(form, problems) if has_errors else None
    ), (409 if refused else 400 if has_errors else 200)


@bp.get("/subscriptions/<subscription_id>")
@signed_in("partner")
def subscription(subscription_id: str):
    return _subscription_page(_subscription(subscription_id))


def problem_summary(problems: list[str] | None) -> dict | None:
    """The error summary for problems that belong to no field (a refusal's reason)."""
    return {"titleText": "There is a problem", "errorList": [{"text": p} for p in problems]} if problems else None


def _subscription_page(record: dict, problems: list[str] | None = None, status: int = 200):
    summary = problem_summary(problems)
    return render_template(
        "partner/subscription.html",
        subscription=record,
        statuses=SUBSCRIPTION_STATUS,
        action=ActionForm(),
        summary=summary,
    ), status


@bp.post("/subscriptions/<subscription_id>/<any(pause, resume):change>")
@signed_in("partner")
def pause_or_resume(subscription_id: str, change: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        _notify("POST", f"/v1/subscriptions/{subscription_id}/{change}")
    except Refused as exc:
        return _subscription_page(_subscription(subscription_id), [_refused_words(exc)], 409)
    flash(
        "The subscription is paused. Events wait, in order, until you resume it."
        if change == "pause"
        else "The subscription is resumed. Events that waited are sent now, in order.",
        "success",
    )
    return redirect(url_for("partner.subscription", subscription_id=subscription_id))


@bp.route("/subscriptions/<subscription_id>/secret", methods=["GET", "POST"])
@signed_in("partner")
def rotate_secret(subscription_id: str):
    form = ActionForm()
    if form.validate_on_submit():
        answer = _notify("POST", f"/v1/subscriptions/{subscription_id}/secret")
        return render_template(
            "partner/secret.html", subscription=answer.body, secret=answer.body["secret"], created=False
        )
    return render_template("partner/rotate.html", subscription=_subscription(subscription_id), form=form)


@bp.route("/subscriptions/<subscription_id>/delete", methods=["GET", "POST"])
@signed_in("partner")
def delete_subscription(subscription_id: str):
    record = _subscription(subscription_id)
    form = ActionForm()
    if form.validate_on_submit():
        _notify("DELETE", f"/v1/subscriptions/{subscription_id}")
        flash(f"The subscription to {record['url']} is deleted. Nothing more is sent to it.", "success")
        return redirect(url_for("partner.subscriptions"))
    return render_template("partner/delete.html", subscription=record, form=form)


# --- deliveries ---


def _page_number() -> int:
    try:
        return max(1, min(int(request.args.get("page", "1")), 100_000))
    except ValueError:
        return 1


@bp.get("/deliveries")
@signed_in("partner")
def deliveries():
    return _deliveries_page()


def _deliveries_page(problems: list[str] | None = None, status: int = 200):
    page = _page_number()
    listing = api("notify", "/v1/deliveries", page=page, page_size=PAGE_SIZE)
    receivers = {s["id"]: s["url"] for s in api("notify", "/v1/subscriptions")["items"]}
    pages = max(1, -(-int(listing.get("total") or 0) // PAGE_SIZE))
    return render_template(
        "partner/deliveries.html",
        items=listing["items"],
        receivers=receivers,
        page=page,
        pages=pages,
        total=listing.get("total") or 0,
        states=DELIVERY_STATE,
        action=ActionForm(),
        summary=problem_summary(problems),
    ), status


@bp.post("/deliveries/<delivery_id>/redeliver")
@signed_in("partner")
def redeliver(delivery_id: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        _notify("POST", f"/v1/deliveries/{delivery_id}/redeliver")
    except Refused as exc:
        return _deliveries_page([_refused_words(exc)], 409)
    flash("The delivery is being sent again, with the same webhook-id.", "success")
    return redirect(url_for("partner.deliveries", page=request.args.get("page") or None))
