"""Form pieces the lifecycle pages share: the GOV.UK date input as a WTForms
field, yes/no radios, and the service's 422 field errors put on the form's
fields so the error summary links each to its input."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from govuk_frontend_wtf.wtforms_widgets import GovCheckboxInput, GovDateInput, GovRadioInput, GovTextArea, GovTextInput
from wtforms import (
    BooleanField,
    DateField,
    Field,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectChoice,
    StringField,
    TextAreaField,
)
from wtforms.validators import Optional, ValidationError

YES_NO = [SelectChoice("yes", "Yes"), SelectChoice("no", "No")]
ATTENDEE_ROWS = 4


class AttendeeForm(Form):
    """One row of a meeting's attendees (rows left empty are not sent)."""

    name = StringField("Name", [Optional()], widget=GovTextInput())
    role = StringField(
        "Role", [Optional()], widget=GovTextInput(), description="For example, health visitor, teacher, mother"
    )
    agency = StringField("Agency (optional)", [Optional()], widget=GovTextInput())


def attendees_of(rows: Iterable[Any]) -> list[dict]:
    """The attendees rows that name someone, as the plans service takes them."""
    people = []
    for row in rows:
        name = (row.form.name.data or "").strip()
        if name:
            people.append(
                {
                    k: v
                    for k, v in {
                        "name": name,
                        "role": (row.form.role.data or "").strip() or None,
                        "agency": (row.form.agency.data or "").strip() or None,
                    }.items()
                    if v
                }
            )
    return people


class DayField(DateField):
    """A date as the GOV.UK date input's three boxes (day, month, year, all
    named after the field). All three empty is no date; anything else that
    is not a real date is an error in GOV.UK's words."""

    def __init__(self, label: str = "", validators: Any = None, **kwargs: Any):
        kwargs.setdefault("widget", GovDateInput())
        super().__init__(label, validators, format="%d %m %Y", **kwargs)

    raw_data: list[str] | None

    def process(self, formdata: Any, data: Any = None, **kwargs: Any) -> None:
        super().process(formdata, data, **kwargs)
        if self.raw_data is not None and len(self.raw_data) != 3:
            self.raw_data = None  # the widget shows three boxes, or the date held

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist or not any(v.strip() for v in valuelist):
            self.data = None
            return
        if len(valuelist) != 3 or not all(v.strip() for v in valuelist):
            self.data = None
            missing = [
                part for part, v in zip(("day", "month", "year"), list(valuelist) + ["", "", ""]) if not v.strip()
            ]
            raise ValueError(f"{self.label.text} must include a {' and '.join(missing)}")
        try:
            day, month, year = (int(v.strip()) for v in valuelist)
            if year < 1000:
                raise ValueError
            self.data = date(year, month, day)
        except ValueError:
            self.data = None
            raise ValueError(f"{self.label.text} must be a real date") from None

    def _value(self) -> str:
        return ""

    @property
    def iso(self) -> str | None:
        return self.data.isoformat() if self.data else None


class DayRequired:
    """The date must be given (after the field's own check that it is real)."""

    def __init__(self, message: str):
        self.message = message
        self.field_flags = {"required": True}

    def __call__(self, form: Any, field: Field) -> None:
        if field.data is None and not field.errors:
            raise ValidationError(self.message)


def yes_no(label: str, message: str, **kwargs: Any) -> RadioField:
    from wtforms.validators import InputRequired

    return RadioField(
        label, choices=YES_NO, validators=[InputRequired(message=message)], widget=GovRadioInput(), **kwargs
    )


class KeyField(HiddenField):
    """The form's Idempotency-Key: made when the form is opened and sent back
    with it, so a form posted twice creates one record."""

    data: str | None

    def process(self, formdata: Any, data: Any = None, **kwargs: Any) -> None:
        super().process(formdata, data, **kwargs)
        if not self.data:
            self.data = uuid.uuid4().hex


# --- the error summary ---


def _leaves(field: Field) -> Iterable[Field]:
    if isinstance(field, FormField):
        for sub in field:
            yield from _leaves(sub)
    elif isinstance(field, FieldList):
        for entry in field:
            yield from _leaves(entry)
    else:
        yield field


def anchor(field: Field) -> str:
    """Where the summary's link for a field goes: its first input."""
    if isinstance(field.widget, GovDateInput):
        return f"#{field.name}-day"
    return f"#{field.id}"


def error_summary(form: Any, problems: list[str] | None = None) -> dict:
    """The params of govukErrorSummary: each field's first error, in the
    form's order, linked to its input; then problems that belong to no field."""
    errors = []
    for field in form:
        for leaf in _leaves(field):
            if leaf.errors and not isinstance(leaf.errors, dict):
                errors.append({"text": leaf.errors[0], "href": anchor(leaf)})
    errors += [{"text": text} for text in problems or []]
    return {"titleText": "There is a problem", "errorList": errors}


def _descend(field: Field, rest: list[str]) -> Field:
    for part in rest:
        try:
            if isinstance(field, FieldList) and part.isdigit():
                field = field[int(part)]
            elif isinstance(field, FormField):
                field = field[part]
            else:
                break
        except (IndexError, KeyError):
            break
    if isinstance(field, (FormField, FieldList)):
        field = next(iter(_leaves(field)), field)
    return field


def show_service_errors(form: Any, fields: dict[str, list[str]], mapping: dict[str, str], problems: list[str]) -> None:
    """A 422's field errors (``{"address.lines.0": [...]}``) on the form's
    fields: the longest prefix of each path found in ``mapping`` names the
    form field, the rest of the path descends into its rows; errors on no
    field of the form are added to ``problems`` (shown in the summary)."""
    for path, messages in fields.items():
        parts = path.split(".")
        target = None
        for n in range(len(parts), 0, -1):
            name = mapping.get(".".join(parts[:n]))
            if name is not None and name in form:
                target = _descend(form[name], parts[n:])
                break
        if target is None:
            problems.extend(_sentence(m) for m in messages)
            continue
        if not isinstance(target.errors, list):
            target.errors = list(target.errors or ())
        target.errors.extend(_sentence(m) for m in messages)


def _sentence(message: str) -> str:
    message = message.strip()
    return message[:1].upper() + message[1:] if message else message


def from_iso(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value[:10]).date()
    except ValueError:
        return None


# --- how a conference was run: each agency's view, exclusions, the child's participation ---

VIEW_ROWS = 3
EXCLUSION_ROWS = 2
PARTICIPATION = [
    SelectChoice("attended", "The child attended"),
    SelectChoice("views_shared", "The child's views were brought to the {conference}"),
    SelectChoice("advocate", "An advocate spoke for the child"),
    SelectChoice("not_participating", "The child did not take part"),
]


class AgencyViewForm(Form):
    """One agency's view of the decision (a row left empty is not sent)."""

    agency = StringField("Agency", [Optional()], widget=GovTextInput())
    view = TextAreaField("Their view", [Optional()], widget=GovTextArea(), description="Record any dissent in full")
    dissents = BooleanField("This agency dissents from the decision", widget=GovCheckboxInput())


class ExclusionForm(Form):
    """A parent or carer excluded from part of the conference (a row left empty is not sent)."""

    person = StringField("Who was excluded", [Optional()], widget=GovTextInput())
    part = StringField(
        "From which part", [Optional()], widget=GovTextInput(), description="For example, the police's report"
    )
    reason = TextAreaField("Why", [Optional()], widget=GovTextArea())
    decided_by = StringField("Who decided", [Optional()], widget=GovTextInput())


class ViewsAndExclusions:
    """Each agency's view and any exclusion, for a conference's outcome form to mix in (a family conference's
    are one for all its children)."""

    agency_views = FieldList(FormField(AgencyViewForm), min_entries=VIEW_ROWS, max_entries=VIEW_ROWS)
    exclusions = FieldList(FormField(ExclusionForm), min_entries=EXCLUSION_ROWS, max_entries=EXCLUSION_ROWS)


class GovernanceFields(ViewsAndExclusions):
    """The outcome's fields for how the conference was run, for one child's conference outcome form to mix in."""

    participation = RadioField(
        "How did the child take part?", [Optional()], choices=PARTICIPATION, widget=GovRadioInput()
    )
    wishes_and_feelings = TextAreaField("The child's wishes and feelings", [Optional()], widget=GovTextArea())
    advocate_name = StringField("Advocate's name", [Optional()], widget=GovTextInput())
    advocate_organisation = StringField("Advocate's organisation", [Optional()], widget=GovTextInput())


#: The plans service's names of the governance fields, to the form's (for a 422's errors).
GOVERNANCE_FIELDS = {
    "agency_views": "agency_views",
    "exclusions": "exclusions",
    "child_participation": "participation",
    "child_participation.how": "participation",
    "child_participation.wishes_and_feelings": "wishes_and_feelings",
    "child_participation.advocate": "advocate_name",
    "child_participation.advocate.name": "advocate_name",
    "child_participation.advocate.organisation": "advocate_organisation",
}


def _typed(row: Any, names: Iterable[str]) -> dict[str, str]:
    return {name: (row.form[name].data or "").strip() for name in names}


def agency_views_of(rows: Iterable[Any]) -> list[dict]:
    """The rows that name an agency or give a view, as the plans service takes them."""
    views = []
    for row in rows:
        typed = _typed(row, ("agency", "view"))
        if any(typed.values()):
            views.append({**typed, "dissents": bool(row.form.dissents.data)})
    return views


def exclusions_of(rows: Iterable[Any]) -> list[dict]:
    """The rows that say anything of an exclusion, as the plans service takes them."""
    return [typed for row in rows if any((typed := _typed(row, ("person", "part", "reason", "decided_by"))).values())]


def participation_of(form: Any) -> dict | None:
    """The child's participation as the plans service takes it; None when the form says nothing of it."""
    advocate = {
        "name": (form.advocate_name.data or "").strip(),
        "organisation": (form.advocate_organisation.data or "").strip(),
    }
    wishes = (form.wishes_and_feelings.data or "").strip()
    if not form.participation.data and not wishes and not any(advocate.values()):
        return None
    taking_part: dict[str, Any] = {"how": form.participation.data or ""}
    if wishes:
        taking_part["wishes_and_feelings"] = wishes
    if any(advocate.values()):
        taking_part["advocate"] = advocate
    return taking_part


def governance_of(form: ViewsAndExclusions) -> dict:
    """The outcome's governance fields given on the form, as the plans service takes them (the child's
    participation from a form with its fields)."""
    body: dict[str, Any] = {}
    if views := agency_views_of(form.agency_views):
        body["agency_views"] = views
    if excluded := exclusions_of(form.exclusions):
        body["exclusions"] = excluded
    if isinstance(form, GovernanceFields) and (taking_part := participation_of(form)) is not None:
        body["child_participation"] = taking_part
    return body
