"""Finding a child and walking a case through its lifecycle: find and
register a child, the child's record and its cases, open a case, and each
step of the case as a form (a visit before any plan, strategy discussion, enquiry outcome, schedule,
move or cancel a conference, an initial conference's outcome with the
outline plan).

Each form posts to the plans service as the signed-in person: a create
carries the Idempotency-Key made when the form was opened; a change carries
the ETag read when it was opened (If-Match), and a 412 gives the page saying
someone changed it meanwhile. A 422's field errors go on the form's fields; a
409 (a step the case's state does not allow now) shows the service's reason
in the error summary.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovCheckboxInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from cpp_shared import census_codes

from . import rhythm
from .client import Answer, ChangedSinceRead, Forbidden, Invalid, Refused
from .lifecycle_forms import (
    ATTENDEE_ROWS,
    GOVERNANCE_FIELDS,
    AttendeeForm,
    DayField,
    DayRequired,
    GovernanceFields,
    KeyField,
    attendees_of,
    error_summary,
    governance_of,
    show_service_errors,
    yes_no,
)
from .views import api, changed_since_read, child_name, day, holds, plugins, services, signed_in
from .words import Worded, said, term

bp = Blueprint("lifecycle", __name__)

READERS = ("social_worker", "team_manager", "chair", "auditor", "admin")
SCHEME_NAMES = {"nhs_number": "NHS number", "chi_number": "CHI number", "upn": "Unique Pupil Number"}
CORE_GROUP_ROWS = 5
# the terms' keys (words.py); a transfer-in conference only for a case transferred in (see schedule_conference)
KINDS = {"initial": "initial_conference", "review": "review_conference", "transfer_in": "transfer_in_conference"}


def kinds() -> dict[str, str]:
    """Each kind of conference in the deployment's words, as a heading."""
    return {kind: term(key, start=True) for kind, key in KINDS.items()}


def kinds_of(conference: dict) -> dict[str, str]:
    """The kinds as ``kinds()``, an initial conference about an unborn child read as a pre-birth conference."""
    if conference.get("pre_birth"):
        return {**kinds(), "initial": term("pre_birth_conference", start=True)}
    return kinds()


CONFERENCE_STATUS = {"scheduled": "Scheduled", "held": "Held", "cancelled": "Cancelled"}


# --- talking to the plans service ---


def _send(method: str, path: str, body: Any, *, key: str | None = None, etag: str | None = None) -> Answer:
    headers = {"If-Match": etag} if etag else None
    return services().call(
        "plans",
        method,
        path,
        token=session.get("token"),
        request_id=g.get("request_id"),
        json=body,
        headers=headers,
        idempotency_key=key,
    )


def _staff(role: str, none: str) -> list[SelectChoice]:
    """The directory's members of this role, by name, after a first choice meaning none."""
    people = sorted(api("plans", "/v1/staff", role=role)["items"], key=lambda p: (p.get("name") or "").casefold())
    return [SelectChoice("", none)] + [SelectChoice(p["user"], p.get("name") or "Name not known") for p in people]


def _categories() -> list[SelectChoice]:
    """The deployment's categories of harm (the plans service's, from its plugins), by name."""
    return [SelectChoice(c["id"], c["name"]) for c in api("plans", "/v1/categories")["items"]]


def _refused_words(exc: Refused | Forbidden) -> str:
    message = (exc.message or "The service did not allow this step now.").strip()
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def _submit(label: str) -> SubmitField:
    return SubmitField(label, widget=GovSubmitInput())


def _text(label: str, *validators: Any, **kwargs: Any) -> StringField:
    return StringField(label, validators=list(validators), widget=GovTextInput(), **kwargs)


def _area(label: str, **kwargs: Any) -> TextAreaField:
    return TextAreaField(
        label,
        validators=[Optional(), Length(max=4000, message=f"{label} must be 4,000 characters or fewer")],
        widget=GovTextArea(),
        **kwargs,
    )


# --- a child's characteristics, as the Children in Need census codes them ---


def _gender() -> RadioField:
    return RadioField(
        "Gender",
        choices=[SelectChoice(code, label) for code, label in census_codes.GENDER.items()],
        validators=[InputRequired("Select the child's gender")],
        widget=GovRadioInput(),
        description="As the Children in Need census records it: choose “Not recorded or unborn” for an unborn child",
    )


def _ethnicity() -> SelectField:
    return SelectField(
        "Ethnicity",
        choices=[SelectChoice("", "Choose the child's ethnicity")]
        + [SelectChoice(code, label) for code, label in census_codes.ETHNICITY.items()],
        validators=[InputRequired("Select the child's ethnicity")],
        widget=GovSelect(),
        description="As the child or family describe it, in the census's groups",
    )


def _disabilities() -> SelectMultipleField:
    return SelectMultipleField(
        "Disabilities (optional)",
        choices=[SelectChoice(code, label.strip()) for code, label in census_codes.DISABILITY.items()],
        validators=[Optional()],
        widget=GovCheckboxesInput(),
        description="Select all that apply, or “No disability” alone",
    )


CHARACTERISTICS = {"gender": "gender", "ethnicity": "ethnicity", "disabilities": "disabilities"}


def _characteristics(form: Any) -> dict[str, Any]:
    return {
        "gender": form.gender.data,
        "ethnicity": form.ethnicity.data,
        "disabilities": form.disabilities.data or None,
    }


# --- find a child ---


class FindChildForm(FlaskForm):
    class Meta:
        csrf = False  # a search: nothing changes

    name = _text("Name", Optional(), description="Their family name, or their full name")
    date_of_birth = DayField("Date of birth", description="For example, 27 3 2019")
    nhs_number = _text("NHS number", Optional(), description="10 digits, for example 485 777 3456")


def _search(form: FindChildForm) -> list[dict]:
    found: dict[str, dict] = {}
    if form.nhs_number.data:
        for child in api("plans", "/v1/children", nhs_number=form.nhs_number.data, page_size=100)["items"]:
            found[child["id"]] = child
    if form.name.data:
        words = form.name.data.split()
        names = [" ".join(words)] + ([words[-1]] if len(words) > 1 else [])
        for family_name in names:
            for child in api("plans", "/v1/children", family_name=family_name, page_size=100)["items"]:
                given = (child.get("given_names") or "").casefold().split()
                if family_name != names[0] and not all(w.casefold() in given for w in words[:-1]):
                    continue  # the last word was the family name: the first ones must be given names
                found[child["id"]] = child
        if form.nhs_number.data:  # both given: the child must match both
            by_nhs = {c["id"] for c in found.values() if _nhs(c) == _digits(form.nhs_number.data)}
            found = {k: v for k, v in found.items() if k in by_nhs}
    if form.date_of_birth.data and not (form.name.data or form.nhs_number.data):  # the date of birth alone
        for child in api("plans", "/v1/children", date_of_birth=form.date_of_birth.iso, page_size=100)["items"]:
            found[child["id"]] = child
    if form.date_of_birth.data:  # with a name or a number, it narrows what they found (an unborn child's too)
        born = form.date_of_birth.iso
        found = {k: v for k, v in found.items() if born in (v.get("date_of_birth"), v.get("expected_date_of_birth"))}
    return sorted(found.values(), key=lambda c: (child_name(c).casefold(), c.get("date_of_birth") or ""))


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _nhs(child: dict) -> str | None:
    return next((i["value"] for i in child.get("identifiers") or [] if i["scheme"] == "nhs_number"), None)


@bp.get("/children")
@signed_in(*READERS)
def find_child():
    form = FindChildForm(request.args)
    searched = any(request.args.get(k) for k in ("name", "nhs_number")) or any(
        v.strip() for v in request.args.getlist("date_of_birth")
    )
    results, problems = None, []
    if searched and form.validate():
        try:
            results = _search(form)
        except Invalid as exc:
            show_service_errors(
                form,
                exc.fields,
                {
                    "nhs_number": "nhs_number",
                    "query.nhs_number": "nhs_number",
                    "family_name": "name",
                    "query.family_name": "name",
                    "date_of_birth": "date_of_birth",
                    "query.date_of_birth": "date_of_birth",
                },
                problems,
            )
    has_errors = bool(form.errors or problems)
    return render_template(
        "lifecycle/find_child.html",
        form=form,
        results=results,
        nhs=_nhs,
        summary=error_summary(form, problems) if has_errors else None,
        can_register=holds("social_worker", "team_manager"),
    ), (400 if has_errors else 200)


# --- register a child ---


class RegisterChildForm(FlaskForm):
    key = KeyField()
    given_names = _text("First names", InputRequired("Enter the child's first names"))
    family_name = _text("Family name", InputRequired("Enter the child's family name"))
    date_of_birth = DayField(
        "Date of birth", [DayRequired("Enter the child's date of birth")], description="For example, 27 3 2019"
    )
    nhs_number = _text("NHS number (optional)", Optional(), description="10 digits, for example 485 777 3456")
    gender = _gender()
    ethnicity = _ethnicity()
    disabilities = _disabilities()
    first_language = _text("First language", InputRequired("Enter the child's first language"))
    interpreter_needed = yes_no("Does the child need an interpreter?", "Select yes if the child needs an interpreter")
    address_line_1 = _text("Address line 1", InputRequired("Enter the first line of the address"))
    address_line_2 = _text("Address line 2 (optional)", Optional())
    address_town = _text("Town or city (optional)", Optional())
    postcode = _text("Postcode (optional)", Optional())
    submit = _submit("Register child")


REGISTER_FIELDS = {
    "given_names": "given_names",
    "family_name": "family_name",
    "date_of_birth": "date_of_birth",
    "expected_date_of_birth": "date_of_birth",
    "identifiers": "nhs_number",
    **CHARACTERISTICS,
    "first_language": "first_language",
    "interpreter_needed": "interpreter_needed",
    "address": "address_line_1",
    "address.lines": "address_line_1",
    "address.lines.0": "address_line_1",
    "address.lines.1": "address_line_2",
    "address.lines.2": "address_town",
    "address.postcode": "postcode",
}


def _child_body(form: RegisterChildForm) -> dict:
    lines = [
        v.strip()
        for v in (form.address_line_1.data, form.address_line_2.data, form.address_town.data)
        if v and v.strip()
    ]
    body = {
        "given_names": form.given_names.data,
        "family_name": form.family_name.data,
        "date_of_birth": form.date_of_birth.iso,
        **{k: v for k, v in _characteristics(form).items() if v is not None},
        "first_language": form.first_language.data,
        "interpreter_needed": form.interpreter_needed.data == "yes",
        "address": {"lines": lines, "postcode": (form.postcode.data or "").strip() or None},
    }
    if form.nhs_number.data and form.nhs_number.data.strip():
        body["identifiers"] = [{"scheme": "nhs_number", "value": form.nhs_number.data.strip()}]
    return body


@bp.route("/children/new", methods=["GET", "POST"])
@signed_in("social_worker", "team_manager")
def register_child():
    form = RegisterChildForm()
    problems: list[str] = []
    existing = None
    if form.validate_on_submit():
        try:
            answer = services().create(
                "plans",
                "/v1/children",
                _child_body(form),
                idempotency_key=form.key.data,
                token=session.get("token"),
                request_id=g.get("request_id"),
            )
        except Invalid as exc:
            show_service_errors(form, exc.fields, REGISTER_FIELDS, problems)
        except Refused as exc:
            existing = (exc.errors or {}).get("existing_child_id")
            if existing:
                form.nhs_number.errors.append("A child with this NHS number is already registered")
            else:
                problems.append(_refused_words(exc))
        else:
            flash(f"{child_name(answer.body)} is registered.", "success")
            return redirect(url_for("lifecycle.child", child_id=answer.body["id"]))
    has_errors = bool(form.errors or problems)
    return render_template(
        "lifecycle/register_child.html",
        form=form,
        existing=existing,
        summary=error_summary(form, problems) if has_errors else None,
    ), (400 if has_errors else 200)


# --- change a child's details ---


class ChildDetailsForm(FlaskForm):
    etag = HiddenField()
    gender = _gender()
    ethnicity = _ethnicity()
    disabilities = _disabilities()
    first_language = _text("First language", InputRequired("Enter the child's first language"))
    interpreter_needed = yes_no("Does the child need an interpreter?", "Select yes if the child needs an interpreter")
    submit = _submit("Save changes")


DETAILS_FIELDS = {**CHARACTERISTICS, "first_language": "first_language", "interpreter_needed": "interpreter_needed"}
UNCODED_NAMES = {"gender": "Gender", "ethnicity": "Ethnicity", "disabilities": "Disabilities"}


@bp.route("/children/<child_id>/details", methods=["GET", "POST"])
@signed_in("social_worker", "team_manager")
def change_child(child_id: str):
    answer = services().call(
        "plans", "GET", f"/v1/children/{child_id}", token=session.get("token"), request_id=g.get("request_id")
    )
    record = answer.body
    form = ChildDetailsForm()
    if request.method == "GET":
        form.etag.data = answer.etag  # the record this person saw: a change made meanwhile is a 412
        form.gender.data = record.get("gender")
        form.ethnicity.data = record.get("ethnicity") or ""
        form.disabilities.data = list(record.get("disabilities") or [])
        form.first_language.data = record.get("first_language")
        form.interpreter_needed.data = "yes" if record.get("interpreter_needed") else "no"
    step = Step(form)
    if form.validate_on_submit():
        body = {
            **_characteristics(form),
            "first_language": form.first_language.data,
            "interpreter_needed": form.interpreter_needed.data == "yes",
        }
        try:
            sent = step.send("PATCH", f"/v1/children/{child_id}", body, DETAILS_FIELDS, etag=form.etag.data or None)
        except ChangedSinceRead:
            return changed_since_read(
                "Someone changed this child's record since you opened it",
                [f"Your changes to {child_name(record)}'s details were not saved, so that theirs are not lost."],
                [(url_for("lifecycle.change_child", child_id=child_id), "Open the form again", " and make them.")],
                child_name=child_name(record),
            )
        if sent:
            return _done("The child's details are saved.", url_for("lifecycle.child", child_id=child_id))
    return step.page(
        "lifecycle/change_child.html",
        child=record,
        child_name=child_name(record),
        uncoded=[(UNCODED_NAMES.get(k, k), v) for k, v in sorted((record.get("uncoded") or {}).items())],
    )


# --- children whose details are still to code ---


@bp.get("/children/to-code")
@signed_in("team_manager", "admin")
def children_to_code():
    found = api("plans", "/v1/children", uncoded="true", page_size=100)
    rows = [
        (child, [(UNCODED_NAMES.get(k, k), v) for k, v in sorted((child.get("uncoded") or {}).items())])
        for child in found["items"]
    ]
    return render_template(
        "lifecycle/children_to_code.html",
        rows=rows,
        total=found.get("total", len(rows)),
        child_name=child_name,
        can_change=holds("social_worker", "team_manager"),
    )


# --- the child's record ---


class OpenCaseForm(FlaskForm):
    key = KeyField()
    submit = _submit("Open a case")


@bp.get("/children/<child_id>")
@signed_in(*READERS)
def child(child_id: str):
    record = api("plans", f"/v1/children/{child_id}")
    cases = api("plans", "/v1/cases", child_id=child_id, page_size=100)["items"]
    # The plan in force: the one of a case on a plan (a child has at most one case open at a time).
    on_plan = next((c for c in cases if c.get("status") == "on_plan" and c.get("plan_id")), None)
    in_force = api("plans", f"/v1/plans/{on_plan['plan_id']}") if on_plan else None
    from .families import families_of  # families.py builds on this module's forms
    from .transfers import history_of  # what the councils the child moved from sent

    return render_template(
        "lifecycle/child.html",
        previous_councils=history_of(child_id),
        families=families_of(child_id),
        child=record,
        child_name=child_name(record),
        cases=cases,
        plan=in_force,
        plan_statuses={"outline": "Outline plan", "active": "Active"},
        schemes=SCHEME_NAMES,
        uncoded=[(UNCODED_NAMES.get(k, k), v) for k, v in sorted((record.get("uncoded") or {}).items())],
        can_change=holds("social_worker", "team_manager"),
        open_form=OpenCaseForm(),
        can_open=holds("social_worker", "team_manager"),
        can_record_birth=holds("social_worker", "team_manager")
        and bool(record.get("expected_date_of_birth"))
        and not record.get("date_of_birth"),
    )


@bp.post("/children/<child_id>/cases")
@signed_in("social_worker", "team_manager")
def open_case(child_id: str):
    form = OpenCaseForm()
    if not form.validate_on_submit():
        abort(400)
    answer = services().create(
        "plans",
        "/v1/cases",
        {"child_id": child_id},
        idempotency_key=form.key.data,
        token=session.get("token"),
        request_id=g.get("request_id"),
    )
    flash("The case is open. Record the strategy discussion when it has been held.", "success")
    return redirect(url_for("web.case", case_id=answer.body["id"]))


class BirthForm(FlaskForm):
    key = KeyField()
    etag = HiddenField()
    date_of_birth = DayField(
        "What is the date of birth?", [DayRequired("Enter the date of birth")], description="For example, 27 3 2026"
    )
    given_names = _text(
        "Given names (optional)",
        Optional(),
        Length(max=200, message="Given names must be 200 characters or fewer"),
        description="When they have been chosen",
    )
    submit = _submit("Record the birth")


@bp.route("/children/<child_id>/birth", methods=["GET", "POST"])
@signed_in("social_worker", "team_manager")
def record_birth(child_id: str):
    answer = services().call(
        "plans", "GET", f"/v1/children/{child_id}", token=session.get("token"), request_id=g.get("request_id")
    )
    record = answer.body
    form = BirthForm()
    if request.method == "GET":
        form.etag.data = answer.etag  # the record this person saw: a change made meanwhile is a 412
    step = Step(form)
    if form.validate_on_submit():
        body = {"date_of_birth": form.date_of_birth.iso}
        if form.given_names.data:
            body["given_names"] = form.given_names.data
        try:
            sent = step.send(
                "POST",
                f"/v1/children/{child_id}/birth",
                body,
                {"date_of_birth": "date_of_birth", "given_names": "given_names"},
                key=form.key.data,
                etag=form.etag.data or None,
            )
        except ChangedSinceRead:
            return changed_since_read(
                "Someone changed this child's record since you opened it",
                [f"The birth of {child_name(record)} was not recorded, so that their change is not lost."],
                [(url_for("lifecycle.record_birth", child_id=child_id), "Open the form again", " and record it.")],
                child_name=child_name(record),
            )
        if sent:
            return _done("The birth is recorded.", url_for("lifecycle.child", child_id=child_id))
    return step.page("lifecycle/birth.html", child=record, child_name=child_name(record))


# --- the case's steps ---


def _case_and_child(case_id: str) -> tuple[dict, dict]:
    case = api("plans", f"/v1/cases/{case_id}")
    return case, api("plans", f"/v1/children/{case['child_id']}")


class Step:
    """One case step's form sent to the plans service: a 422's field errors go
    on the form's fields (``fields`` maps the service's names to them), a
    refusal's reason to the error summary (the page is then a 409)."""

    def __init__(self, form: FlaskForm, *, refused: str | None = None):
        self.form, self.problems, self.refused = form, [refused] if refused else [], bool(refused)

    def send(
        self,
        method: str,
        path: str,
        body: Any,
        fields: dict[str, str],
        *,
        key: str | None = None,
        etag: str | None = None,
    ) -> Answer | None:
        """The service's answer, or None when it did not take the step."""
        try:
            return _send(method, path, body, key=key, etag=etag)
        except Invalid as exc:
            show_service_errors(self.form, self.paths(exc.fields), fields, self.problems)
        except Refused as exc:
            self.problems.append(_refused_words(exc))
            self.refused = True
        return None

    def paths(self, errors: dict[str, list[str]]) -> dict[str, list[str]]:
        """The service's field errors by the paths ``fields`` maps (a family step renames some)."""
        return errors

    def page(self, template: str, **context: Any):
        # From every field, rows' too: the form's own errors leave out those a 422 put on a row's fields.
        summary = error_summary(self.form, self.problems)
        has_errors = bool(summary["errorList"])
        status = 409 if self.refused else (400 if has_errors else 200)
        return render_template(template, form=self.form, summary=summary if has_errors else None, **context), status


class OutcomeStep(Step):
    """A conference outcome's form: the service's 403 (the person recording it manages the case, and a
    conference is chaired independently) goes to the error summary as a refusal's reason does, on a 403 page."""

    def __init__(self, form: FlaskForm, *, refused: str | None = None):
        super().__init__(form, refused=refused)
        self.forbidden = False

    def send(self, method: str, path: str, body: Any, fields: dict[str, str], **kwargs: Any) -> Answer | None:
        try:
            return super().send(method, path, body, {**fields, **GOVERNANCE_FIELDS}, **kwargs)
        except Forbidden as exc:
            self.problems.append(_refused_words(exc))
            self.forbidden = True
        return None

    def page(self, template: str, **context: Any):
        page, status = super().page(template, **context)
        return page, 403 if self.forbidden else status


def _done(message: str, to: str):
    flash(message, "success")
    return redirect(to)


# The stages of a case at which a visit is recorded on the case itself: open, and before any plan.
VISITED_BEFORE_A_PLAN = ("enquiries", "conference_pending", "transfer_in_pending")


class CaseVisitForm(Worded, FlaskForm):
    key = KeyField()
    visited_on = DayField(
        "When was the visit?", [DayRequired("Enter the date of the visit")], description="For example, 27 3 2026"
    )
    announced = yes_no("Was the visit announced?", "Select yes if the visit was announced")
    child_seen = yes_no("Was the child seen?", "Select yes if the child was seen")
    seen_alone = yes_no("Was the child seen alone?", "Select yes if the child was seen alone")
    by = _text("Who visited?", InputRequired(message="Enter who visited"), Length(max=200))
    notes = _area("Notes (optional)")
    submit = _submit("Record the visit")


@bp.route("/cases/<case_id>/visits/new", methods=["GET", "POST"])
@signed_in("social_worker", "team_manager")
def case_visit(case_id: str):
    """A visit during the referral, the assessment or the enquiries: before any plan."""
    case, kid = _case_and_child(case_id)
    form = CaseVisitForm()
    if request.method == "GET":
        form.by.data = session["user"]["name"]
    step = Step(form)
    if form.validate_on_submit():
        body = {
            "visited_on": form.visited_on.iso,
            "announced": form.announced.data == "yes",
            "child_seen": form.child_seen.data == "yes",
            "seen_alone": form.seen_alone.data == "yes",
            "by": form.by.data.strip(),
            "notes": form.notes.data or None,
        }
        fields = {k: k for k in ("visited_on", "announced", "child_seen", "seen_alone", "by", "notes")}
        if step.send("POST", f"/v1/cases/{case_id}/visits", body, fields, key=form.key.data):
            return _done("The visit is recorded.", url_for("web.case", case_id=case_id))
    return step.page("lifecycle/case_visit.html", case=case, child_name=child_name(kid))


class StrategyDiscussionForm(Worded, FlaskForm):
    key = KeyField()
    held_on = DayField(
        "When was the strategy discussion held?",
        [DayRequired("Enter the date of the strategy discussion")],
        description="For example, 27 3 2026",
    )
    initiated_enquiries = yes_no(
        "Did this discussion start the {enquiries}?", "Select yes if this discussion started the {enquiries}"
    )
    notes = _area("Notes (optional)")
    submit = _submit("Save strategy discussion")


@bp.route("/cases/<case_id>/strategy-discussion", methods=["GET", "POST"])
@signed_in("social_worker", "team_manager")
def strategy_discussion(case_id: str):
    case, kid = _case_and_child(case_id)
    form = StrategyDiscussionForm()
    step = Step(form)
    if form.validate_on_submit():
        body = {
            "held_on": form.held_on.iso,
            "initiated_enquiries": form.initiated_enquiries.data == "yes",
            "notes": form.notes.data or None,
        }
        if step.send(
            "POST",
            f"/v1/cases/{case_id}/strategy-discussions",
            body,
            {k: k for k in ("held_on", "initiated_enquiries", "notes")},
            key=form.key.data,
        ):
            return _done("The strategy discussion is recorded.", url_for("web.case", case_id=case_id))
    return step.page("lifecycle/strategy_discussion.html", case=case, child_name=child_name(kid))


class EnquiryOutcomeForm(Worded, FlaskForm):
    completed_on = DayField(
        "When were the {enquiries} completed?",
        [DayRequired("Enter the date the {enquiries} were completed")],
        description="For example, 27 3 2026",
    )
    conference_required = yes_no(
        "Is an {initial_conference} needed?",
        "Select yes if an {initial_conference} is needed",
        description="No means the case steps down to a child in need plan",
    )
    summary = _area("Summary of the {enquiries} (optional)")
    submit = _submit("Save enquiry outcome")


@bp.route("/cases/<case_id>/enquiry-outcome", methods=["GET", "POST"])
@signed_in("social_worker", "team_manager")
def enquiry_outcome(case_id: str):
    case, kid = _case_and_child(case_id)
    form = EnquiryOutcomeForm()
    step = Step(form)
    if form.validate_on_submit():
        body = {
            "completed_on": form.completed_on.iso,
            "conference_required": form.conference_required.data == "yes",
            "summary": form.summary.data or None,
        }
        if step.send(
            "POST",
            f"/v1/cases/{case_id}/enquiry-outcome",
            body,
            {k: k for k in ("completed_on", "conference_required", "summary")},
        ):
            return _done("The enquiry outcome is recorded.", url_for("web.case", case_id=case_id))
    return step.page("lifecycle/enquiry_outcome.html", case=case, child_name=child_name(kid))


# --- conferences ---


class ScheduleConferenceForm(Worded, FlaskForm):
    key = KeyField()
    kind = SelectField(
        "Kind of {conference}",
        choices=[SelectChoice(k, "{" + v.capitalize() + "}") for k, v in KINDS.items()],
        widget=GovSelect(),
        validators=[InputRequired("Select the kind of {conference}")],
    )
    scheduled_for = DayField(
        "Date of the {conference}",
        [DayRequired("Enter the date of the {conference}")],
        description="For example, 27 3 2026",
    )
    chair = SelectField(
        "Chair",
        choices=[],
        widget=GovSelect(),
        validate_choice=True,
        description="A {conference} chair; or leave it to the chair who records the outcome",
    )
    mother_unfit_to_attend = BooleanField(
        "The mother is expected to be unfit to attend a {conference} in the days after the birth",
        widget=GovCheckboxInput(),
        description="For a pre-birth {conference}: the council's procedures then give the first review after the "
        "birth longer",
    )
    submit = _submit("Schedule {conference}")


def _asks_if_mother_unfit(kid: dict) -> bool:
    """Whether scheduling asks if the mother will be unfit to attend: for an
    unborn child, where one of the deployment's timescales reads it."""
    if not kid.get("expected_date_of_birth") or kid.get("date_of_birth"):
        return False
    rules = plugins().layered("cpp_timescales")
    return any("mother_unfit_to_attend" in (rule.get("when") or {}) for rule in rules)


@bp.route("/cases/<case_id>/conferences/new", methods=["GET", "POST"])
@signed_in("social_worker", "team_manager", "chair")
def schedule_conference(case_id: str):
    case, kid = _case_and_child(case_id)
    form = ScheduleConferenceForm()
    if request.method == "GET" and request.args.get("kind") in KINDS:
        form.kind.data = request.args["kind"]
    form.chair.choices = _staff("chair", "The chair who records the outcome")
    asks_if_mother_unfit = _asks_if_mother_unfit(kid)
    if case.get("status") != "transfer_in_pending":
        form.kind.choices = [c for c in form.kind.choices if c.value != "transfer_in"]
    step = Step(form)
    if form.validate_on_submit():
        body = {"kind": form.kind.data, "scheduled_for": form.scheduled_for.iso}
        if form.chair.data:
            body["chair"] = form.chair.data
        if asks_if_mother_unfit and form.kind.data == "initial" and form.mother_unfit_to_attend.data:
            body["mother_unfit_to_attend"] = True
        if step.send(
            "POST",
            f"/v1/cases/{case_id}/conferences",
            body,
            {k: k for k in ("kind", "scheduled_for", "chair", "mother_unfit_to_attend")},
            key=form.key.data,
        ):
            return _done(
                f"The {term(KINDS[form.kind.data])} is scheduled for {day(form.scheduled_for.iso)}.",
                url_for("web.case", case_id=case_id),
            )
    return step.page(
        "lifecycle/schedule_conference.html",
        case=case,
        child_name=child_name(kid),
        asks_if_mother_unfit=asks_if_mother_unfit,
    )


def _conference(conference_id: str) -> tuple[dict, str | None, dict, dict]:
    answer = services().call(
        "plans", "GET", f"/v1/conferences/{conference_id}", token=session.get("token"), request_id=g.get("request_id")
    )
    conference = answer.body
    case, kid = _case_and_child(conference["case_id"])
    return conference, answer.etag, case, kid


def to_family_conference(record: dict):
    """A child's part of a family conference is moved, cancelled and held with
    the others: its steps are the family conference's (None for a child's own
    conference)."""
    if not record.get("family_conference_id"):
        return None
    flash(
        f"This {said('conference')} is part of a {said('conference')} about several children: take this step for all of them.",
        "info",
    )
    return redirect(url_for("families.family_conference", group_id=record["family_conference_id"]))


@bp.get("/conferences/<conference_id>")
@signed_in(*READERS)
def conference(conference_id: str):
    record, _etag, case, kid = _conference(conference_id)
    return render_template(
        "lifecycle/conference.html",
        conference=record,
        case=case,
        child_name=child_name(kid),
        kinds=kinds_of(record),
        statuses=CONFERENCE_STATUS,
    )


class MoveConferenceForm(Worded, FlaskForm):
    etag = HiddenField()
    scheduled_for = DayField(
        "New date", [DayRequired("Enter the new date of the {conference}")], description="For example, 27 3 2026"
    )
    reason = TextAreaField(
        "Why is the {conference} moving?",
        widget=GovTextArea(),
        validators=[
            InputRequired("Enter why the {conference} is moving"),
            Length(max=4000, message="The reason must be 4,000 characters or fewer"),
        ],
    )
    submit = _submit("Move {conference}")


def _changed(record: dict, case: dict, kid: dict):
    kind = kinds_of(record).get(record.get("kind", ""), "conference").lower()
    return changed_since_read(
        f"Someone changed this {said('conference')} since you opened it",
        [
            f"Your change to the {kind} for {child_name(kid)} was not saved, so that theirs is not lost.",
            f"It is now scheduled for {day(record.get('scheduled_for'))}.",
        ],
        [
            (
                url_for("lifecycle.move_conference", conference_id=record["id"]),
                f"Open the {said('conference')} again",
                " to see it as it is now and make your change.",
            )
        ],
    )


@bp.route("/conferences/<conference_id>/move", methods=["GET", "POST"])
@signed_in("social_worker", "team_manager", "chair")
def move_conference(conference_id: str):
    record, etag, case, kid = _conference(conference_id)
    if elsewhere := to_family_conference(record):
        return elsewhere
    form = MoveConferenceForm()
    if request.method == "GET":
        form.etag.data = etag  # the version this person saw: a move made meanwhile is a 412
    step = Step(form)
    if form.validate_on_submit():
        try:
            moved = step.send(
                "PATCH",
                f"/v1/conferences/{conference_id}",
                {"scheduled_for": form.scheduled_for.iso, "reason": form.reason.data},
                {"scheduled_for": "scheduled_for", "reason": "reason"},
                etag=form.etag.data or None,
            )
        except ChangedSinceRead:
            return _changed(record, case, kid)
        if moved:
            return _done(
                f"The {said('conference')} is moved to {day(form.scheduled_for.iso)}.",
                url_for("lifecycle.conference", conference_id=conference_id),
            )
    return step.page(
        "lifecycle/move_conference.html",
        conference=record,
        case=case,
        child_name=child_name(kid),
        kinds=kinds_of(record),
    )


class CancelConferenceForm(Worded, FlaskForm):
    reason = TextAreaField(
        "Why is the {conference} cancelled?",
        widget=GovTextArea(),
        validators=[
            InputRequired("Enter why the {conference} is cancelled"),
            Length(max=4000, message="The reason must be 4,000 characters or fewer"),
        ],
    )
    submit = _submit("Cancel {conference}")


@bp.route("/conferences/<conference_id>/cancel", methods=["GET", "POST"])
@signed_in("social_worker", "team_manager", "chair")
def cancel_conference(conference_id: str):
    record, _etag, case, kid = _conference(conference_id)
    if elsewhere := to_family_conference(record):
        return elsewhere
    form = CancelConferenceForm()
    step = Step(form)
    if form.validate_on_submit() and step.send(
        "POST", f"/v1/conferences/{conference_id}/cancellation", {"reason": form.reason.data}, {"reason": "reason"}
    ):
        return _done(
            f"The {said('conference')} is cancelled. You can schedule another in its place.",
            url_for("web.case", case_id=case["id"]),
        )
    return step.page(
        "lifecycle/cancel_conference.html",
        conference=record,
        case=case,
        child_name=child_name(kid),
        kinds=kinds_of(record),
    )


class CoreGroupMemberForm(Form):
    name = _text("Name", Optional())
    role = _text("Role", Optional(), description="For example, health visitor, teacher, mother")
    agency = _text("Agency", Optional(), description="Needed for a professional")
    email = _text("Email address", Optional())
    is_family_member = BooleanField("This person is a family member", widget=GovCheckboxInput())

    def blank(self) -> bool:
        return not any((f.data or "").strip() for f in (self.name, self.role, self.agency, self.email))


class OutlinePlanFields(rhythm.RhythmFields):
    """The outline plan's fields, as an initial conference's outcome asks for
    them: on one child's outcome form, and on each child's row of a family
    conference's (families.py). Set ``key_worker.choices`` and
    ``categories.choices`` (``_staff``, ``_categories``) before validating."""

    key_worker = SelectField(
        "Key worker",
        choices=[],
        widget=GovSelect(),
        validate_choice=False,
        description="The social worker who leads the plan",
    )
    categories = SelectMultipleField(
        "{Categories}", choices=[], widget=GovCheckboxesInput(), description="Select all that apply"
    )
    core_group = FieldList(FormField(CoreGroupMemberForm), min_entries=CORE_GROUP_ROWS, max_entries=CORE_GROUP_ROWS)
    first_core_group_on = DayField("Date of the first {core_group} meeting", description="For example, 27 3 2026")
    concerns = _area("Concerns", description="The concerns, the main causes of harm, and why the work needs to happen")


class ConferenceOutcomeForm(Worded, OutlinePlanFields, GovernanceFields, FlaskForm):
    key = KeyField()
    held_on = DayField(
        "When was the {conference} held?",
        [DayRequired("Enter the date the {conference} was held")],
        description="For example, 27 3 2026",
    )
    plan_required = yes_no(
        "Does the child need a {plan}?",
        "Select yes if the child needs a {plan}",
        description="No means the case steps down to a child in need plan",
    )
    attendees = FieldList(FormField(AttendeeForm), min_entries=ATTENDEE_ROWS, max_entries=ATTENDEE_ROWS)
    submit = _submit("Save {conference} outcome")


OUTCOME_FIELDS = {
    "held_on": "held_on",
    "plan_required": "plan_required",
    "outline_plan": "key_worker",
    "outline_plan.key_worker": "key_worker",
    "outline_plan.categories": "categories",
    "outline_plan.core_group": "core_group",
    "outline_plan.first_core_group_on": "first_core_group_on",
    "outline_plan.concerns": "concerns",
    **rhythm.error_fields("outline_plan"),
    "attendees": "attendees",
}


def outline_plan(form: OutlinePlanFields) -> dict:
    """The outline plan as the plans service takes it, from its fields (blank core group rows left out)."""
    plan: dict[str, Any] = {}
    if form.key_worker.data:
        plan["key_worker"] = {"user": form.key_worker.data}
    if form.categories.data:
        plan["categories"] = list(form.categories.data)
    members = []
    for row in form.core_group:
        member = row.form
        if member.blank():
            continue
        members.append(
            {
                k: v
                for k, v in {
                    "name": (member.name.data or "").strip(),
                    "role": (member.role.data or "").strip(),
                    "agency": (member.agency.data or "").strip() or None,
                    "email": (member.email.data or "").strip() or None,
                    "is_family_member": bool(member.is_family_member.data),
                }.items()
                if v is not None
            }
        )
    if members:
        plan["core_group"] = members
    if form.first_core_group_on.data:
        plan["first_core_group_on"] = form.first_core_group_on.iso
    if form.concerns.data and form.concerns.data.strip():
        plan["concerns"] = form.concerns.data
    if stated := rhythm.rhythm_of(form):
        plan["rhythm"] = stated
    return plan


@bp.route("/conferences/<conference_id>/outcome", methods=["GET", "POST"])
@signed_in("chair", "team_manager")
def conference_outcome(conference_id: str):
    record, _etag, case, kid = _conference(conference_id)
    if elsewhere := to_family_conference(record):
        return elsewhere
    if record.get("kind") == "review":  # a review's outcome has its own form (continue, revise or end the plan)
        return redirect(url_for("journey.review_outcome", conference_id=conference_id))
    form = ConferenceOutcomeForm()
    form.key_worker.choices = _staff("social_worker", "Choose the key worker")
    form.categories.choices = _categories()
    step = OutcomeStep(form)
    if form.validate_on_submit():
        body: dict[str, Any] = {
            "held_on": form.held_on.iso,
            "plan_required": form.plan_required.data == "yes",
            "attendees": attendees_of(form.attendees),
            **governance_of(form),
        }
        if body["plan_required"]:
            body["outline_plan"] = outline_plan(form)
        answer = step.send("POST", f"/v1/conferences/{conference_id}/outcome", body, OUTCOME_FIELDS, key=form.key.data)
        if answer:
            plan = (answer.body or {}).get("plan")
            return _done(
                f"The {said('conference')} outcome is recorded"
                + (": the outline plan is agreed." if plan else ": the case steps down to a child in need plan."),
                url_for("web.case", case_id=case["id"]),
            )
    return step.page(
        "lifecycle/conference_outcome.html",
        conference=record,
        case=case,
        child_name=child_name(kid),
        kinds=kinds_of(record),
    )


# --- the case page's task list: each step links to its form ---


def link_steps(case: dict, steps: list[dict]) -> list[dict]:
    """The task list's links: each step the case's stage may take next opens
    its form (the service still decides, and a refusal shows its reason)."""
    scheduled = [
        c for c in case.get("conferences") or [] if c.get("kind") == "initial" and c.get("status") == "scheduled"
    ]
    held = any(c.get("kind") == "initial" and c.get("status") == "held" for c in case.get("conferences") or [])
    outcome = case.get("enquiry_outcome")
    writer, decider = holds("social_worker", "team_manager"), holds("chair", "team_manager")
    links = {}
    if case.get("status") == "enquiries" and writer:
        links["strategy_discussion"] = url_for("lifecycle.strategy_discussion", case_id=case["id"])
        if case.get("strategy_discussions"):
            links["enquiry_outcome"] = url_for("lifecycle.enquiry_outcome", case_id=case["id"])
    if scheduled:
        links["initial_conference"] = url_for("lifecycle.conference", conference_id=scheduled[0]["id"])
        if decider:
            links["initial_outcome"] = url_for("lifecycle.conference_outcome", conference_id=scheduled[0]["id"])
    elif outcome and outcome.get("conference_required") and not held:
        links["initial_conference"] = url_for("lifecycle.schedule_conference", case_id=case["id"], kind="initial")
    for s in steps:
        if s["key"] in links:
            s["href"] = links[s["key"]]
            if s["status"] == "Cannot start yet":  # its conference is scheduled: the outcome can be recorded
                s["status"] = "Not yet started"
    return steps
