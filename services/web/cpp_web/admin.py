"""An admin's pages: the authority's partner subscriptions and their scopes
(notify), the messages each service parked (the bus's, and the docs
service's parked render jobs), and the effective timetable (the
scheduler's rules).

Admins are not entitled to children's records: these pages show ids, types,
reasons and settings, never an event's narrative. The services decide what
an admin may do; a service that does not answer is named on the page.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, session, url_for
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovCheckboxesInput, GovSubmitInput
from wtforms import HiddenField, SelectChoice, SelectMultipleField, SubmitField
from wtforms.validators import InputRequired

from .client import Answer, ChangedSinceRead, Invalid, NotFound, Refused, ServiceUnavailable
from .lifecycle_forms import error_summary, show_service_errors
from .people import ROLE_NAMES
from .views import api, changed_since_read, services, signed_in, words_of

bp = Blueprint("admin", __name__, url_prefix="/admin")

# The kinds of event fields a subscription's scope names (the event catalogue's classes), in plain words.
FIELD_CLASSES = {
    "identifier": ("Identifiers", "The ids of the case, plan, conference and the staff involved"),
    "status": ("Status", "A plan's or meeting's status, decisions and categories"),
    "date": ("Dates", "When things happened or are due"),
    "contact": ("Contacts", "The key worker's and other staff's names and how to reach them"),
    "personal_identifier": (
        "Personal identifiers",
        "The child's NHS number and date of birth, to match the child "
        "to the partner's own record (only with a sharing agreement)",
    ),
    "narrative": ("Narrative", "Free text and the child's name: the plan's content, reasons and notes"),
}
SUBSCRIPTION_STATUS = {
    "active": ("Active", "govuk-tag--green"),
    "paused": ("Paused", "govuk-tag--yellow"),
    "disabled": ("Disabled after failing", "govuk-tag--red"),
}
PARKED_SERVICES = ("plans", "scheduler", "notify", "docs")
SERVICE_WORDS = {
    "plans": "Plans (case records)",
    "scheduler": "Scheduler (deadlines)",
    "notify": "Notify (notifications and partners)",
    "docs": "Docs (documents)",
}
# How firmly a rule's figure is established, as its source grades it (see the plugins' rules).
SOURCE_GRADES = {"V": "V: primary source seen", "V2": "V2: only a local restatement seen", "U": "U: unverified"}
UNITS = {
    "working_days": ("working day", "working days"),
    "days": ("day", "days"),
    "calendar_days": ("calendar day", "calendar days"),
    "weeks": ("week", "weeks"),
    "months": ("month", "months"),
}


def _condition(when: dict | None) -> str:
    """A rule's condition on an event's data in words: 'kind is initial and plan required is yes'."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "yes" if v else "no"
        if isinstance(v, list):
            return " or ".join(value(x) for x in v)
        return str(v).replace("_", " ")

    return " and ".join(f"{words_of(k).lower()} is {value(v)}" for k, v in (when or {}).items())


def _moment(value: Any) -> str:
    """A time (ISO text or epoch seconds) as '5 January 2026 at 09:00 UTC'."""
    if value in (None, ""):
        return ""
    try:
        if isinstance(value, (int, float)):
            moment = datetime.fromtimestamp(value, UTC)
        else:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"{moment.day} {moment:%B %Y at %H:%M} UTC"


bp.add_app_template_filter(_moment, "moment")
bp.add_app_template_filter(_condition, "condition")


def navigation(endpoint: str) -> list[dict]:
    """An admin's menu items."""
    return [
        {
            "href": url_for("admin.subscriptions"),
            "text": "Subscriptions",
            "active": endpoint.startswith("admin.subscription") or endpoint == "admin.scope",
        },
        {"href": url_for("admin.parked"), "text": "Parked messages", "active": endpoint == "admin.parked"},
        {"href": url_for("admin.timetable"), "text": "Timetable", "active": endpoint == "admin.timetable"},
        {
            "href": url_for("lifecycle.children_to_code"),
            "text": "Children to code",
            "active": endpoint == "lifecycle.children_to_code",
        },
        {"href": url_for("retention.page"), "text": "Retention", "active": endpoint.startswith("retention.")},
    ]


def _notify(method: str, path: str, body: Any = None, *, etag: str | None = None) -> Answer:
    return services().call(
        "notify",
        method,
        path,
        token=session.get("token"),
        request_id=g.get("request_id"),
        json=body,
        headers={"If-Match": etag} if etag else None,
    )


# --- subscriptions ---


class ActionForm(FlaskForm):
    """Pause or resume: the CSRF token only."""


@bp.get("/subscriptions")
@signed_in("admin")
def subscriptions():
    items = api("notify", "/v1/subscriptions")["items"]
    return render_template(
        "admin/subscriptions.html",
        items=items,
        classes=FIELD_CLASSES,
        statuses=SUBSCRIPTION_STATUS,
        action=ActionForm(),
    )


@bp.post("/subscriptions/<subscription_id>/<any(pause, resume):action>")
@signed_in("admin")
def subscription_status(subscription_id: str, action: str):
    form = ActionForm()
    if form.validate_on_submit():
        try:
            saved = _notify("POST", f"/v1/subscriptions/{subscription_id}/{action}").body
        except Refused as exc:
            flash(_sentence(exc.message or "Notify did not allow this now"), "refused")
        else:
            flash(
                f"The subscription for {saved.get('owner')} is {'paused' if action == 'pause' else 'resumed'}.",
                "success",
            )
    return redirect(url_for("admin.subscriptions"))


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


class ScopeForm(FlaskForm):
    etag = HiddenField()  # the subscription's ETag when the form was opened: sent back as If-Match
    classes = SelectMultipleField(
        "Which kinds of fields does this subscription receive?",
        choices=[SelectChoice(key, label) for key, (label, _) in FIELD_CLASSES.items()],
        validators=[InputRequired(message="Select at least one kind of field")],
        widget=GovCheckboxesInput(),
        description="Each field of an event is one of these kinds in the event catalogue. A field of a kind not "
        "selected is never sent.",
    )
    submit = SubmitField("Save the scope", widget=GovSubmitInput())


@bp.route("/subscriptions/<subscription_id>/scope", methods=["GET", "POST"])
@signed_in("admin")
def scope(subscription_id: str):
    read = _notify("GET", f"/v1/subscriptions/{subscription_id}")
    current = read.body
    form = ScopeForm()
    problems: list[str] = []
    if not form.is_submitted():
        form.etag.data = read.etag or ""
        form.classes.data = list((current.get("scope") or {}).get("classes") or [])
    elif form.validate():
        try:
            _notify(
                "PUT",
                f"/v1/subscriptions/{subscription_id}/scope",
                {"scope": {"classes": form.classes.data}},
                etag=form.etag.data or None,
            )
        except Invalid as exc:
            show_service_errors(form, exc.fields, {"scope.classes": "classes", "scope": "classes"}, problems)
        except ChangedSinceRead:
            return changed_since_read(
                "Someone changed this subscription since you opened it",
                ["Your change was not saved, so nothing of theirs was overwritten."],
                [
                    (
                        url_for("admin.scope", subscription_id=current["id"]),
                        "Open the scope as it is now",
                        ", then change it again.",
                    )
                ],
            )
        except Refused as exc:
            problems.append(_sentence(exc.message or "Notify did not allow this change now"))
        else:
            flash(f"The scope of the subscription for {current.get('owner')} is saved.", "success")
            return redirect(url_for("admin.subscriptions"))
    has_errors = bool(form.errors or problems)
    return render_template(
        "admin/scope.html",
        form=form,
        subscription=current,
        classes=FIELD_CLASSES,
        summary=error_summary(form, problems) if has_errors else None,
    ), (400 if has_errors else 200)


# --- parked messages ---


def _read(service: str, path: str, what: str, **params: Any) -> tuple[Any, str | None]:
    """The service's answer, or None and why it could not be read."""
    try:
        return api(service, path, **params), None
    except ServiceUnavailable as exc:
        if exc.status == 503 and "broker" in (exc.message or ""):
            return None, "The message broker cannot be reached, so its parked messages cannot be read now."
        return None, f"The {service} service cannot be reached at the moment."
    except NotFound:
        return None, f"The {service} service does not list its {what} (it may be an older version)."


@bp.get("/parked")
@signed_in("admin")
def parked():
    queues = []
    for service in PARKED_SERVICES:
        answer, problem = _read(service, "/v1/admin/parked-messages", "parked messages")
        queues.append({"service": service, "words": SERVICE_WORDS[service], "answer": answer, "problem": problem})
    jobs, jobs_problem = _read("docs", "/v1/jobs", "render jobs", status="parked")
    return render_template("admin/parked.html", queues=queues, jobs=jobs, jobs_problem=jobs_problem)


# --- the timetable ---


def offset_words(offset: dict | None) -> str:
    if not offset:
        return "No fixed offset"
    amount, unit = offset.get("amount"), offset.get("unit") or ""
    one, many = UNITS.get(unit, (unit.replace("_", " "), unit.replace("_", " ")))
    direction = {"after": "after", "before": "before"}.get(offset.get("direction") or "after", offset.get("direction"))
    return f"{amount} {one if amount == 1 else many} {direction}"


def counting(offset: dict | None) -> str:
    unit = (offset or {}).get("unit") or ""
    if unit == "working_days":
        return "Working days (weekends, bank holidays and closures skipped)"
    if unit:
        return "Calendar days"
    return "Not counted"


GRADE = re.compile(r"\b(V2|V|U)(?=:)")


def grades(source: str | None) -> list[str]:
    """The grades a rule's source gives (V, V2, U), in the order it gives them."""
    found: list[str] = []
    for g_ in GRADE.findall(source or ""):
        if g_ not in found:
            found.append(g_)
    return found


@bp.get("/timetable")
@signed_in("admin")
def timetable():
    rules = api("scheduler", "/v1/rules")
    return render_template(
        "admin/timetable.html",
        timetable=rules,
        offset_words=offset_words,
        counting=counting,
        grades=grades,
        grade_words=SOURCE_GRADES,
        roles=ROLE_NAMES,
    )
