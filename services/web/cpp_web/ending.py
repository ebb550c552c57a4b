"""Ending a plan otherwise than at a review conference: a team manager's
form on the plan (the way it ends as radios, the day, why in words, and for
a move to another council the receiving council and its transfer-in
conference), sent with the plan's ETag as read when the form was opened
(If-Match) and the form's Idempotency-Key, so a repeated post ends it once.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovDateInput, GovRadioInput, GovSubmitInput, GovTextArea, GovTextInput
from wtforms import HiddenField, RadioField, SelectChoice, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from .client import ChangedSinceRead, Invalid, Refused
from .plan import TEXT_MAX, DayMonthYearField, _clean, child_of, read_plan, show_service_errors
from .views import services, signed_in

bp = Blueprint("ending", __name__)

#: The ways a plan ends here, in the words of the form and of the ended plan's page.
WAYS = {
    "reached_18": "The child has reached 18",
    "died": "The child has died",
    "moved_to_another_council": "The child has moved to another council, which has held its transfer-in conference",
    "left_the_uk": "The child has left the UK",
    "looked_after": "The child has become looked after and our procedures end the plan",
}


class EndPlanForm(FlaskForm):
    idempotency_key = HiddenField()
    etag = HiddenField()
    reason = RadioField(
        "Why does the plan end?",
        choices=[SelectChoice(value, label) for value, label in WAYS.items()],
        widget=GovRadioInput(),
        invalid_choice_message="Select why the plan ends",
        validators=[InputRequired(message="Select why the plan ends")],
    )
    on = DayMonthYearField(
        "When does the plan end?",
        widget=GovDateInput(),
        validators=[InputRequired(message="Enter the date the plan ends")],
        description="For example, 27 3 2026",
    )
    receiving_council = StringField(
        "Which council has the child moved to?",
        widget=GovTextInput(),
        validators=[Optional(), Length(max=200)],
        description="Only if the child has moved to another council",
    )
    transfer_in_conference_on = DayMonthYearField(
        "When did that council hold its transfer-in conference?",
        widget=GovDateInput(),
        validators=[Optional()],
        description="Only if the child has moved to another council. For example, 27 3 2026",
    )
    details = TextAreaField(
        "Details", widget=GovTextArea(), validators=[Optional(), Length(max=TEXT_MAX)], description="Why, in words"
    )
    submit = SubmitField("End the plan", widget=GovSubmitInput())


FIELDS = {k: k for k in ("reason", "on", "receiving_council", "transfer_in_conference_on", "details")}


def body_of(form: EndPlanForm) -> dict:
    body = {"reason": form.reason.data, "on": form.on.data.isoformat(), "details": _clean(form.details.data)}
    if form.reason.data == "moved_to_another_council":
        body["receiving_council"] = (form.receiving_council.data or "").strip() or None
        when = form.transfer_in_conference_on.data
        body["transfer_in_conference_on"] = when.isoformat() if when else None
    return body


@bp.route("/plans/<plan_id>/ending", methods=["GET", "POST"])
@signed_in("team_manager")
def end_plan(plan_id: str):
    form = EndPlanForm()
    if request.method == "GET":
        _, etag = read_plan(plan_id)
        form.idempotency_key.data, form.etag.data = uuid.uuid4().hex, etag or ""
    elif form.validate_on_submit():
        try:
            services().create(
                "plans",
                f"/v1/plans/{plan_id}/ending",
                body_of(form),
                idempotency_key=form.idempotency_key.data or None,
                headers={"If-Match": form.etag.data},
                token=session.get("token"),
                request_id=g.get("request_id"),
            )
        except Invalid as exc:
            show_service_errors(form, exc.fields, FIELDS, "reason")
        except ChangedSinceRead:
            form.reason.errors = [
                *form.reason.errors,
                "Someone changed the plan since you opened this form: check the plan, then end it again",
            ]
        except Refused as exc:
            form.reason.errors = [*form.reason.errors, f"The plan cannot be ended now: {exc.message}"]
        else:
            flash("The plan has ended and the case is closed.", "success")
            return redirect(url_for("plan.plan", plan_id=plan_id))
    record, _ = read_plan(plan_id)
    page = render_template("plan/end.html", form=form, plan=record, child_name=child_of(record))
    return page, (422 if request.method == "POST" else 200)
