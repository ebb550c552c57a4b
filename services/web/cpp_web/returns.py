"""Managers' pages on the returns service: the Children in Need census's
checks for a collection year with the census file to download, and the
performance figures for a period, by team and by worker, each figure with
the children behind it.

Team managers, auditors and admins see them (the returns service decides
too); anyone else gets the forbidden page. The census file is fetched with
the signed-in person's token and streamed, as a document is: no token in
any URL.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, g, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSelect, GovTextInput
from wtforms import SelectChoice, SelectField, StringField, ValidationError
from wtforms.validators import Optional

from .client import Forbidden, Invalid, NotFound, ServiceUnavailable
from .lifecycle_forms import DayField, DayRequired, error_summary, show_service_errors
from .views import api, api_at_once, holds, services, signed_in

bp = Blueprint("returns", __name__)

#: Who reads returns and figures: managers, and the auditors and admins who look after the data.
MANAGERS = ("team_manager", "auditor", "admin")
#: The performance figures in the order the page shows them (any other the service adds comes after).
FIGURES = (
    "initial_conferences_in_time",
    "reviews_on_time",
    "visits_on_time",
    "plans_open_over_two_years",
    "repeat_plans_within_two_years",
)
SHORT_ID = 8


def managers_only() -> None:
    """The forbidden page (403) for anyone but a manager, an auditor or an admin."""
    if not holds(*MANAGERS):
        raise Forbidden("returns", 403)


def latest_year(today: date) -> int:
    """The latest collection year whose 31 March has passed (2026 is the twelve months to 31 March 2026)."""
    return today.year if today > date(today.year, 3, 31) else today.year - 1


def short_id(value: str | None) -> str:
    return (value or "")[:SHORT_ID]


def percent_words(value: float | None) -> str:
    if value is None:
        return ""
    rounded = round(float(value), 1)
    return f"{rounded:g}%"


def figure_words(figure: dict | None) -> str:
    """A figure in words: 'No cases', '4' (a count alone) or '3 of 4 (75%)'."""
    figure = figure or {}
    count = figure.get("count") or 0
    if not count:
        return "No cases"
    if figure.get("met") is None:
        return str(count)
    percent = percent_words(figure.get("percent"))
    return f"{figure['met']} of {count}" + (f" ({percent})" if percent else "")


def ok_words(ok: bool | None) -> str:
    return "Yes" if ok is True else "No" if ok is False else "Not applicable"


bp.add_app_template_filter(figure_words, "figure_words")
bp.add_app_template_filter(short_id, "short_id")
bp.add_app_template_filter(ok_words, "ok_words")


def ordered_figures(figures: dict[str, dict]) -> list[tuple[str, dict]]:
    keys = [k for k in FIGURES if k in figures] + [k for k in figures if k not in FIGURES]
    return [(k, figures[k]) for k in keys]


# --- the census's checks and file ---


class YearForm(FlaskForm):
    class Meta:
        csrf = False  # a report: nothing changes

    year = StringField(
        "Collection year",
        widget=GovTextInput(),
        description="The year the return ends on 31 March, for example 2026",
    )

    def validate_year(self, field: StringField) -> None:
        text = (field.data or "").strip()
        if not text:
            raise ValidationError("Enter the collection year")
        if not (text.isdigit() and len(text) == 4):
            raise ValidationError("Enter the collection year as 4 digits, for example 2026")
        field.data = text


def problems_in_order(problems: list[dict]) -> list[dict]:
    """Errors first, then warnings, each kept in the service's order."""
    return sorted(problems, key=lambda p: p.get("severity") != "error")


def latest_scottish_year(today: date) -> int:
    """The latest year to 31 July that has passed (2026 is the twelve months to 31 July 2026)."""
    return today.year if today > date(today.year, 7, 31) else today.year - 1


class ScottishYearForm(YearForm):
    year = StringField(
        "Year",
        widget=GovTextInput(),
        description="The year the figures end on 31 July, for example 2026",
    )


@bp.get("/returns")
@signed_in()
def census():
    """The returns this deployment makes (the returns service says, by its jurisdiction): England's census
    checks and file, Scotland's child protection figures, or a page saying there is none yet."""
    managers_only()
    made = api("returns", "/v1/returns")
    ids = {r.get("id") for r in made.get("returns") or []}
    if "cin-census" not in ids:
        if "scotland-child-protection" in ids:
            return scottish_figures()
        return render_template("returns/none.html", made=made)
    form = YearForm(request.args or None, year=str(latest_year(date.today())))
    quality, problems = None, []
    if form.validate():
        try:
            quality = api("returns", "/v1/returns/cin-census/quality", year=form.year.data)
        except Invalid as exc:
            show_service_errors(form, exc.fields, {"year": "year", "query.year": "year"}, problems)
    has_errors = bool(form.errors or problems)
    if quality is not None:
        quality = {**quality, "problems": problems_in_order(quality.get("problems") or [])}
    return render_template(
        "returns/census.html",
        form=form,
        quality=quality,
        summary=error_summary(form, problems) if has_errors else None,
    ), (400 if has_errors else 200)


@bp.get("/returns/cin-census/<int:year>.xml")
@signed_in()
def census_file(year: int):
    """The census file from the returns service, fetched with the signed-in
    person's token and streamed with the service's file name."""
    return streamed(f"/v1/returns/cin-census?year={year}", year)


def streamed(path: str, year: int):
    """A return's file from the returns service, fetched with the signed-in person's token and streamed with
    the service's file name; a year the service refuses goes back to the form, which says why."""
    managers_only()
    try:
        upstream = services().download("returns", path, token=session.get("token"), request_id=g.get("request_id"))
    except Invalid:
        return redirect(url_for("returns.census", year=year))
    response = Response(upstream.iter_content(64 * 1024), content_type=upstream.headers.get("Content-Type"))
    response.call_on_close(upstream.close)
    for name in ("Content-Disposition", "Returns-As-Of"):
        if name in upstream.headers:
            response.headers[name] = upstream.headers[name]
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def scottish_figures():
    form = ScottishYearForm(request.args or None, year=str(latest_scottish_year(date.today())))
    figures, problems = None, []
    if form.validate():
        try:
            figures = api("returns", "/v1/returns/scotland-child-protection", year=form.year.data, format="json")
        except Invalid as exc:
            show_service_errors(form, exc.fields, {"year": "year", "query.year": "year"}, problems)
    has_errors = bool(form.errors or problems)
    names = {}
    if figures and figures.get("areas_of_concern_at_registration"):
        names = {c["id"]: c["name"] for c in api("plans", "/v1/categories")["items"]}  # the deployment's words
    return render_template(
        "returns/scotland.html",
        form=form,
        figures=figures,
        area_names=names,
        summary=error_summary(form, problems) if has_errors else None,
    ), (400 if has_errors else 200)


@bp.get("/returns/scotland-child-protection/<int:year>.csv")
@signed_in()
def scottish_file(year: int):
    """Scotland's figures as CSV from the returns service, streamed as the census file is."""
    return streamed(f"/v1/returns/scotland-child-protection?year={year}", year)


# --- performance ---


class ChoiceOrText(SelectField):
    """A select of the staff directory's values, or a text input where the directory could not be read."""

    def _value(self) -> str:
        return self.data or ""


class PerformanceForm(FlaskForm):
    class Meta:
        csrf = False  # a report: nothing changes

    start = DayField("From", [DayRequired("Enter the first day of the period")], description="For example, 1 4 2025")
    end = DayField("To", [DayRequired("Enter the last day of the period")], description="For example, 31 3 2026")
    team = ChoiceOrText("Team", [Optional()], choices=[], validate_choice=False, widget=GovSelect())
    worker = ChoiceOrText("Worker", [Optional()], choices=[], validate_choice=False, widget=GovSelect())

    def validate_end(self, field: DayField) -> None:
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError("The last day must be the same as or after the first day")


PERFORMANCE_FIELDS = {
    "from": "start",
    "query.from": "start",
    "to": "end",
    "query.to": "end",
    "team": "team",
    "query.team": "team",
    "worker": "worker",
    "query.worker": "worker",
}


def staff_choices(form: PerformanceForm, staff: list[dict] | None) -> None:
    """The team and worker as selects from the staff directory; free text
    where the directory could not be read."""
    if staff is None:
        form.team.widget = GovTextInput()
        form.worker.widget = GovTextInput()
        form.worker.description = "Their user id"
        return
    teams = sorted({p["team"] for p in staff if p.get("team")}, key=str.casefold)
    workers = sorted(
        (p for p in staff if {"social_worker", "team_manager"} & set(p.get("roles") or [p.get("role")])),
        key=lambda p: (p.get("name") or p.get("user") or "").casefold(),
    )
    form.team.choices = [SelectChoice("", "Every team")] + [SelectChoice(t, t) for t in teams]
    form.worker.choices = [SelectChoice("", "Everyone")] + [
        SelectChoice(p["user"], p.get("name") or p["user"]) for p in workers
    ]
    for field in (form.team, form.worker):  # a value not in the directory (a past team) stays selectable
        if field.data and field.data not in {c.value for c in field.choices}:
            field.choices.append(SelectChoice(field.data, field.data))


@bp.get("/performance")
@signed_in()
def performance():
    managers_only()
    year = latest_year(date.today())
    form = PerformanceForm(request.args or None, start=date(year - 1, 4, 1), end=date(year, 3, 31))
    # The staff directory for the selects; the figures do not need it (free text without it).
    (staff,) = api_at_once(("plans", "/v1/staff"), keep=(Forbidden, NotFound, ServiceUnavailable))
    staff_choices(form, (staff or {}).get("items") or [] if isinstance(staff, dict) else None)
    figures, problems = None, []
    if form.validate():
        try:
            figures = api(
                "returns",
                "/v1/performance",
                **{
                    "from": form.start.iso,
                    "to": form.end.iso,
                    "team": (form.team.data or "").strip() or None,
                    "worker": (form.worker.data or "").strip() or None,
                },
            )
        except Invalid as exc:
            show_service_errors(form, exc.fields, PERFORMANCE_FIELDS, problems)
    has_errors = bool(form.errors or problems)
    return render_template(
        "returns/performance.html",
        form=form,
        result=figures,
        figures=ordered_figures((figures or {}).get("figures") or {}),
        worker_names=_worker_names(figures, staff),
        summary=error_summary(form, problems) if has_errors else None,
    ), (400 if has_errors else 200)


def _worker_names(figures: dict | None, staff: Any) -> dict[str, str]:
    """Worker user ids to names, from the figures' rows and the staff directory."""
    names: dict[str, str] = {}
    if isinstance(staff, dict):
        names.update({p["user"]: p["name"] for p in staff.get("items") or [] if p.get("user") and p.get("name")})
    for row in (figures or {}).get("by_worker") or []:
        who = row.get("worker") or {}
        if who.get("user") and who.get("name"):
            names[who["user"]] = who["name"]
    return names
