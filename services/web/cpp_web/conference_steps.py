"""A conference's steps around the meeting, as forms: the invitations sent,
a meeting that was not quorate (reconvened on a new date), and the record
of a held conference issued to those invited.

Each posts to the plans service as the signed-in person, as the case's other
steps do (``lifecycle.Step``): the invitations and the record carry the
Idempotency-Key made when the form was opened; a meeting that was not quorate
moves the conference, so it carries the ETag read when the form was opened,
and a 412 gives the page saying someone changed it meanwhile.
"""

from __future__ import annotations

from flask import Blueprint, request, url_for
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovTextArea
from wtforms import HiddenField, TextAreaField
from wtforms.validators import InputRequired, Length

from .client import ChangedSinceRead
from .lifecycle import Step, _changed, _conference, _done, _submit, kinds_of, to_family_conference
from .lifecycle_forms import DayField, DayRequired, KeyField
from .views import child_name, day, signed_in
from .words import Worded

bp = Blueprint("conference_steps", __name__)

SCHEDULERS = ("social_worker", "team_manager", "chair")
EXAMPLE = "For example, 27 3 2026"


class InvitationsForm(Worded, FlaskForm):
    key = KeyField()
    sent_on = DayField(
        "When did the invitations go out?",
        [DayRequired("Enter the date the invitations went out")],
        description=EXAMPLE,
    )
    submit = _submit("Save the invitations")


def _dated_step(conference_id: str, form, path: str, field: str, done: str, template: str):
    """A step that records one day on the conference (``field``), created once with the form's key."""
    record, _etag, case, kid = _conference(conference_id)
    step = Step(form)
    if form.validate_on_submit() and step.send(
        "POST", f"/v1/conferences/{conference_id}/{path}", {field: form[field].iso}, {field: field}, key=form.key.data
    ):
        return _done(
            done.format(day=day(form[field].iso)), url_for("lifecycle.conference", conference_id=conference_id)
        )
    return step.page(template, conference=record, case=case, child_name=child_name(kid), kinds=kinds_of(record))


@bp.route("/conferences/<conference_id>/invitations", methods=["GET", "POST"])
@signed_in(*SCHEDULERS)
def invitations(conference_id: str):
    return _dated_step(
        conference_id,
        InvitationsForm(),
        "invitations",
        "sent_on",
        "The invitations sent on {day} are recorded.",
        "lifecycle/invitations.html",
    )


class InquorateMeetingForm(Worded, FlaskForm):
    etag = HiddenField()
    met_on = DayField(
        "When did the conference meet?", [DayRequired("Enter the date the conference met")], description=EXAMPLE
    )
    reason = TextAreaField(
        "Why was it not quorate?",
        description="For example, which agencies could not attend",
        widget=GovTextArea(),
        validators=[
            InputRequired("Enter why the conference was not quorate"),
            Length(max=4000, message="The reason must be 4,000 characters or fewer"),
        ],
    )
    scheduled_for = DayField(
        "When is it reconvened?", [DayRequired("Enter the date the conference is reconvened")], description=EXAMPLE
    )
    submit = _submit("Save and reconvene the conference")


@bp.route("/conferences/<conference_id>/inquorate", methods=["GET", "POST"])
@signed_in(*SCHEDULERS)
def inquorate_meeting(conference_id: str):
    record, etag, case, kid = _conference(conference_id)
    if elsewhere := to_family_conference(record):
        return elsewhere
    form = InquorateMeetingForm()
    if request.method == "GET":
        form.etag.data = etag  # the version this person saw: a move made meanwhile is a 412
    step = Step(form)
    if form.validate_on_submit():
        body = {"met_on": form.met_on.iso, "reason": form.reason.data, "scheduled_for": form.scheduled_for.iso}
        try:
            moved = step.send(
                "POST",
                f"/v1/conferences/{conference_id}/inquorate-meetings",
                body,
                {k: k for k in body},
                etag=form.etag.data or None,
            )
        except ChangedSinceRead:
            return _changed(record, case, kid)
        if moved:
            return _done(
                f"The meeting that was not quorate is recorded, and the conference is reconvened for "
                f"{day(form.scheduled_for.iso)}.",
                url_for("lifecycle.conference", conference_id=conference_id),
            )
    return step.page(
        "lifecycle/inquorate_meeting.html",
        conference=record,
        case=case,
        child_name=child_name(kid),
        kinds=kinds_of(record),
    )


class RecordIssueForm(Worded, FlaskForm):
    key = KeyField()
    issued_on = DayField(
        "When was the record issued?", [DayRequired("Enter the date the record was issued")], description=EXAMPLE
    )
    submit = _submit("Save")


@bp.route("/conferences/<conference_id>/record-issue", methods=["GET", "POST"])
@signed_in(*SCHEDULERS)
def record_issue(conference_id: str):
    return _dated_step(
        conference_id,
        RecordIssueForm(),
        "record-issue",
        "issued_on",
        "The record issued on {day} is recorded.",
        "lifecycle/record_issue.html",
    )
