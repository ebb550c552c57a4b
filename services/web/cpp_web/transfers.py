"""Transfers between councils, as pages: on a case whose plan is in force,
"Transfer out" records the family's move (the receiving council and the day
it was told) and offers the signed package to download and send; "Receive a
transfer" takes the package another council sent (a file upload) or, when no
package came, the notification (the council, the day, the child); the case
page says where a transferred case stands, and the child's page shows what
the previous council sent, read-only.

Each form posts to the plans service as the signed-in person, with the
Idempotency-Key made when the form was opened. A package the service
refuses (its signature, a key not trusted, its schema) shows the service's
reasons on the upload field.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, render_template, session, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import GovFileInput, GovTextInput
from wtforms import StringField
from wtforms.validators import InputRequired, Length

from .client import Invalid, NotFound
from .lifecycle import REGISTER_FIELDS, RegisterChildForm, Step, _case_and_child, _child_body, _done, _submit
from .lifecycle_forms import DayField, DayRequired, KeyField, error_summary
from .views import api, child_name, services, signed_in

bp = Blueprint("transfers", __name__)

WRITERS = ("social_worker", "team_manager")
#: The largest package the plans service takes (characters of its compact JWS).
PACKAGE_MAX = 900_000


def _council_field(label: str, message: str) -> StringField:
    return StringField(
        label,
        widget=GovTextInput(),
        validators=[
            InputRequired(message),
            Length(max=200, message="The council's name must be 200 characters or fewer"),
        ],
    )


class TransferOutForm(FlaskForm):
    key = KeyField()
    receiving_council = _council_field(
        "Which council is the family moving to?", "Enter the council the family is moving to"
    )
    notified_on = DayField(
        "When was that council told of the move?",
        [DayRequired("Enter the date the receiving council was told")],
        description="For example, 27 3 2026",
    )
    submit = _submit("Record the move")


@bp.route("/cases/<case_id>/transfer-out", methods=["GET", "POST"])
@signed_in(*WRITERS)
def transfer_out(case_id: str):
    case, kid = _case_and_child(case_id)
    form = TransferOutForm()
    step = Step(form)
    if form.validate_on_submit():
        body = {"receiving_council": form.receiving_council.data.strip(), "notified_on": form.notified_on.iso}
        fields = {"receiving_council": "receiving_council", "notified_on": "notified_on"}
        if step.send("POST", f"/v1/cases/{case_id}/transfer-out", body, fields, key=form.key.data):
            return _done(
                f"The move to {body['receiving_council']} is recorded. Download the transfer package and send it "
                "to that council.",
                url_for("web.case", case_id=case_id),
            )
    return step.page("transfers/transfer_out.html", case=case, child_name=child_name(kid))


@bp.get("/cases/<case_id>/transfer-package")
@signed_in(*WRITERS)
def transfer_package(case_id: str):
    """The signed package from the plans service, fetched with the signed-in person's token, as a file to save."""
    upstream = services().download(
        "plans", f"/v1/cases/{case_id}/transfer-package", token=session.get("token"), request_id=g.get("request_id")
    )
    response = Response(upstream.iter_content(64 * 1024), content_type=upstream.headers.get("Content-Type"))
    response.call_on_close(upstream.close)
    response.headers["Content-Disposition"] = upstream.headers.get(
        "Content-Disposition", f'attachment; filename="transfer-package-{case_id}.jws"'
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- receiving a transfer --------------------------------------------------------


class ReceivePackageForm(FlaskForm):
    key = KeyField()
    package = FileField(
        "Upload the transfer package",
        widget=GovFileInput(),
        validators=[InputRequired("Select the transfer package the other council sent")],
        description="The file the other council sent (it ends in .jws)",
    )
    submit = _submit("Receive the transfer")


def _package_text(form: ReceivePackageForm) -> str | None:
    """The uploaded package as text, or None with the field's error set."""
    data = form.package.data.read(PACKAGE_MAX + 1) if form.package.data else b""
    try:
        text = data.decode("ascii").strip()
    except UnicodeDecodeError:
        text = ""
    if not text or len(text) > PACKAGE_MAX:
        form.package.errors = ["The file is not a transfer package: select the .jws file the other council sent"]
        return None
    return text


def _package_errors(exc: Invalid) -> list[str]:
    """The service's reasons for refusing a package, each with where it is wrong."""
    return [
        f"{field}: {message}" if field not in ("package", "signature") else message
        for field, messages in exc.fields.items()
        for message in messages
    ]


@bp.route("/transfers/in", methods=["GET", "POST"])
@signed_in(*WRITERS)
def receive_package():
    form = ReceivePackageForm()
    problems: list[str] = []
    if form.validate_on_submit():
        text = _package_text(form)
        if text is not None:
            try:
                answer = services().create(
                    "plans",
                    "/v1/transfers/in",
                    {"package": text},
                    idempotency_key=form.key.data,
                    token=session.get("token"),
                    request_id=g.get("request_id"),
                )
            except Invalid as exc:
                form.package.errors = [f"The package was refused ({exc.message}): nothing was recorded"]
                problems = _package_errors(exc)
            else:
                return _received(answer.body)
    has_errors = bool(form.errors or problems)
    summary = error_summary(form, problems) if has_errors else None
    page = render_template("transfers/receive.html", form=form, summary=summary, problems=problems)
    return page, (400 if has_errors else 200)


class NotificationForm(RegisterChildForm):
    from_council = _council_field("Which council did the family move from?", "Enter the council the family moved from")
    notified_on = DayField(
        "When was this council told of the move?",
        [DayRequired("Enter the date this council was told of the move")],
        description="For example, 27 3 2026",
    )
    submit = _submit("Record the notification")


NOTIFICATION_FIELDS = {
    "notification.from_council": "from_council",
    "notification.notified_on": "notified_on",
    **{f"notification.child.{k}": v for k, v in REGISTER_FIELDS.items()},
}


@bp.route("/transfers/in/notification", methods=["GET", "POST"])
@signed_in(*WRITERS)
def receive_notification():
    form = NotificationForm()
    step = Step(form)
    if form.validate_on_submit():
        notice = {
            "from_council": form.from_council.data.strip(),
            "notified_on": form.notified_on.iso,
            "child": _child_body(form),
        }
        answer = step.send("POST", "/v1/transfers/in", {"notification": notice}, NOTIFICATION_FIELDS, key=form.key.data)
        if answer:
            return _received(answer.body)
    return step.page("transfers/notification.html")


def _received(case: dict[str, Any]):
    council = (case.get("transfer_in") or {}).get("from_council") or {}
    return _done(
        f"The transfer from {council.get('name', 'the other council')} is recorded. "
        "Schedule the transfer-in conference.",
        url_for("web.case", case_id=case["id"]),
    )


# --- what the previous councils sent, on the child's page ---------------------------


def history_of(child_id: str) -> list[dict]:
    """The previous councils' records of the child, oldest received first (none from a plans service that
    does not keep them yet, while a deployment is upgraded)."""
    try:
        return api("plans", f"/v1/children/{child_id}/transfer-history")["items"]
    except NotFound:
        return []
