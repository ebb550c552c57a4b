"""A plan's calendar in Outlook: a private address for the plan's meetings
and deadlines (the scheduler's calendar feed), made from the plan's page.

The address holds the feed's key. It is shown once, on the page that
answers the form (every page is ``Cache-Control: no-store``), and kept
nowhere here: not in the session, not in a flash message, not in a log
(the request log names the path only). Afterwards the person sees their
feeds of the plan as the scheduler lists them, without keys, and can revoke
one behind a confirmation.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, session, url_for
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovTextInput
from wtforms import IntegerField
from wtforms.validators import NumberRange, Optional

from .client import Invalid, NotFound
from .lifecycle import _submit
from .lifecycle_forms import KeyField, error_summary, show_service_errors
from .plan import child_of, read_plan
from .views import api, services, signed_in

bp = Blueprint("calendar", __name__)

FEED_MAKERS = ("social_worker", "team_manager", "chair")
FEED_STATUS = {"active": "Working", "expired": "Expired", "revoked": "Stopped"}


class WholeDays(IntegerField):
    """A number of days, in GOV.UK's words when it is not a whole number."""

    def process_formdata(self, valuelist):
        if valuelist and valuelist[0].strip():
            try:
                self.data = int(valuelist[0].strip())
            except ValueError:
                self.data = None
                raise ValueError("Enter how many days as a whole number, like 90") from None
        else:
            self.data = None


class FeedForm(FlaskForm):
    key = KeyField()
    days = WholeDays(
        "How many days should the address work? (optional)",
        validators=[Optional(), NumberRange(min=1, message="Enter a number of days of 1 or more")],
        description="Leave it empty for the longest your council allows (usually 90 days). You can stop it sooner.",
        widget=GovTextInput(),
    )
    submit = _submit("Create calendar address")


def _feeds(plan_id: str) -> list[dict]:
    return api("scheduler", f"/v1/plans/{plan_id}/calendar-feeds")["items"]


def _plan_and_child(plan_id: str) -> tuple[dict, str]:
    plan, _etag = read_plan(plan_id)
    return plan, child_of(plan)


@bp.route("/plans/<plan_id>/calendar", methods=["GET", "POST"])
@signed_in(*FEED_MAKERS)
def subscribe(plan_id: str):
    plan, child_name = _plan_and_child(plan_id)
    form = FeedForm()
    problems: list[str] = []
    if form.validate_on_submit():
        body = {"days": form.days.data} if form.days.data else {}
        try:
            answer = services().create(
                "scheduler",
                f"/v1/plans/{plan_id}/calendar-feeds",
                body,
                idempotency_key=form.key.data,
                token=session.get("token"),
                request_id=g.get("request_id"),
            )
        except Invalid as exc:
            show_service_errors(form, exc.fields, {"days": "days"}, problems)
        else:  # the address, shown this once
            return render_template(
                "calendar/address.html",
                plan=plan,
                child_name=child_name,
                address=answer.body["url"],
                expires_at=answer.body.get("expires_at"),
            )
    has_errors = bool(form.errors or problems)
    feeds = [f for f in _feeds(plan_id) if f.get("status") == "active"]
    return render_template(
        "calendar/subscribe.html",
        plan=plan,
        child_name=child_name,
        form=form,
        feeds=feeds,
        summary=error_summary(form, problems) if has_errors else None,
    ), (400 if has_errors else 200)


class RevokeForm(FlaskForm):
    submit = _submit("Yes, stop this address")


@bp.route("/plans/<plan_id>/calendar/<feed_id>/revoke", methods=["GET", "POST"])
@signed_in(*FEED_MAKERS)
def revoke(plan_id: str, feed_id: str):
    plan, child_name = _plan_and_child(plan_id)
    feed = next((f for f in _feeds(plan_id) if f["id"] == feed_id), None)
    if feed is None:
        raise NotFound("scheduler", 404, "no such calendar feed of yours")
    form = RevokeForm()
    if form.validate_on_submit():
        services().call(
            "scheduler",
            "DELETE",
            f"/v1/calendar-feeds/{feed_id}",
            token=session.get("token"),
            request_id=g.get("request_id"),
        )
        flash("The calendar address is stopped. Calendars subscribed to it no longer get the plan's dates.", "success")
        return redirect(url_for("calendar.subscribe", plan_id=plan_id))
    if feed.get("status") != "active":
        abort(404)
    return render_template("calendar/revoke.html", plan=plan, child_name=child_name, feed=feed, form=form)
