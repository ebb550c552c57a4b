"""An admin's retention page: the deployment's retention rules, the children whose records are due for erasure
(ids only: admins are not entitled to children's records) and those a legal hold keeps, with forms to place a
hold on a child's records and to lift one. The erasure itself is not done here: it is an operator's act at the
plans service's machine (``cpp retention run``), which the page says.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, session, url_for
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextArea, GovTextInput
from wtforms import HiddenField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length

from .client import Invalid, NotFound, Refused
from .lifecycle_forms import DayField, error_summary, show_service_errors
from .views import api, services, signed_in

bp = Blueprint("retention", __name__, url_prefix="/admin/retention")


class HoldForm(FlaskForm):
    child_id = StringField(
        "Child's record id",
        validators=[InputRequired("Enter the id of the child's record"), Length(max=200)],
        widget=GovTextInput(),
        description="As the plans service names the record (the due listing below gives it)",
    )
    reason = TextAreaField(
        "Why must the records be kept?",
        validators=[InputRequired("Say why the records must be kept"), Length(max=2000)],
        widget=GovTextArea(),
    )
    set_by = StringField(
        "Who asked for the hold?",
        validators=[InputRequired("Say who asked for the hold"), Length(max=200)],
        widget=GovTextInput(),
        description="For example a court, the council's legal team or an inquiry",
    )
    until = DayField("Until (optional)", description="The last day it holds; leave it empty to hold until lifted")
    submit = SubmitField("Place the legal hold", widget=GovSubmitInput())


class LiftForm(FlaskForm):
    child_id = HiddenField()
    hold_id = HiddenField()
    reason = TextAreaField(
        "Why is the hold lifted?",
        validators=[InputRequired("Say why the hold is lifted"), Length(max=2000)],
        widget=GovTextArea(),
    )
    submit = SubmitField("Lift the legal hold", widget=GovSubmitInput(), render_kw={"class": "govuk-button--warning"})


def _plans(method: str, path: str, body: Any) -> Any:
    return services().call("plans", method, path, token=session.get("token"), request_id=g.get("request_id"), json=body)


def _basis(rule: dict) -> str:
    """A rule's period in words: 'until the 21st birthday and 3 years after the last entry, whichever is later'."""
    parts = []
    if rule.get("until_age") is not None:
        n = rule["until_age"]
        suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
        parts.append(f"until the {n}{suffix} birthday")
    if rule.get("years_after_last_entry") is not None:
        n = rule["years_after_last_entry"]
        parts.append(f"{n} {'year' if n == 1 else 'years'} after the last entry about the child")
    return " and ".join(parts) + (", whichever is later" if len(parts) == 2 else "")


def _page(hold: HoldForm, problems: list[str], status: int = 200):
    listing = api("plans", "/v1/retention/due")
    rules = {r["id"]: r for r in listing["rules"]}
    has_errors = bool(hold.errors or problems)
    return render_template(
        "admin/retention.html",
        listing=listing,
        rules=rules,
        basis=_basis,
        hold=hold,
        lift=LiftForm(formdata=None),
        summary=error_summary(hold, problems) if has_errors else None,
    ), (400 if has_errors else status)


@bp.get("")
@signed_in("admin")
def page():
    return _page(HoldForm(formdata=None), [])


@bp.post("/holds")
@signed_in("admin")
def place():
    form = HoldForm()
    problems: list[str] = []
    if form.validate_on_submit():
        body = {"reason": form.reason.data.strip(), "set_by": form.set_by.data.strip()}
        if form.until.data:
            body["until"] = form.until.iso
        child_id = form.child_id.data.strip()
        try:
            _plans("POST", f"/v1/children/{child_id}/legal-holds", body)
        except Invalid as exc:
            show_service_errors(form, exc.fields, {k: k for k in ("reason", "set_by", "until")}, problems)
        except NotFound:
            form.child_id.errors = [*form.child_id.errors, "No child's record has this id"]
        except Refused as exc:
            problems.append(exc.message or "The plans service did not allow this now.")
        else:
            flash(
                f"The legal hold is placed: the records of child {child_id} are not erased while it holds.", "success"
            )
            return redirect(url_for("retention.page"))
    return _page(form, problems)


@bp.post("/holds/lift")
@signed_in("admin")
def lift():
    form = LiftForm()
    if form.validate_on_submit():
        try:
            _plans(
                "DELETE",
                f"/v1/children/{form.child_id.data}/legal-holds/{form.hold_id.data}",
                {"reason": form.reason.data.strip()},
            )
        except (NotFound, Refused, Invalid) as exc:
            flash(getattr(exc, "message", None) or "The hold could not be lifted.", "refused")
        else:
            flash(f"The legal hold on the records of child {form.child_id.data} is lifted.", "success")
    else:
        flash("Say why the hold is lifted: it was not lifted.", "refused")
    return redirect(url_for("retention.page"))
