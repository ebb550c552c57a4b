"""Families: a household's children and the people around them, and the
steps taken for several of its children at once.

The family's page shows its children (each with their case's stage and
plan), the people and who they are to each child, its conferences and the
family letters the docs service made of them. A family is recorded from a
child's record (the children chosen from those of the same family name)
and changed with the family's ETag as read when the form was opened
(If-Match). The family steps are the plans service's: cases opened for the
children chosen, one strategy discussion, the enquiries' outcome for each
child, one conference, and its outcome with a decision for each child (the
outline plan's fields as one child's outcome asks for them,
``lifecycle.OutlinePlanFields``; a review's decisions as one child's review
outcome asks for them). The family conference has its own page: moved
(If-Match) or cancelled with each child's conference, one report to it for
the children, its outcome. One core group meeting is recorded about several
children's plans, with the detailed plan's fields for each child
(``plan.DetailedPlanFields``).

As on the case's pages, a 422's field errors go on the form's fields (a
child's on that child's part of the form), a 409's reason in the error
summary, and each create carries the Idempotency-Key made when its form
was opened.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovCheckboxesInput, GovCheckboxInput, GovSelect, GovTextInput
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import InputRequired, Length, Optional

from .client import ChangedSinceRead, NotFound
from .journey import ReviewDecisionChecks, ReviewOutcomeForm, agreed_content, plan_and_etag
from .lifecycle import (
    KINDS,
    READERS,
    CancelConferenceForm,
    MoveConferenceForm,
    OutcomeStep,
    OutlinePlanFields,
    Step,
    _area,
    _categories,
    _staff,
    _submit,
    _text,
    kinds,
    outline_plan,
)
from .lifecycle_forms import (
    ATTENDEE_ROWS,
    AttendeeForm,
    DayField,
    DayRequired,
    KeyField,
    ViewsAndExclusions,
    attendees_of,
    governance_of,
    yes_no,
)
from .plan import (
    DETAILED_FIELDS,
    CoreGroupMeetingFields,
    DetailedPlanFields,
    detailed_plan,
    document_rows,
    documents_of,
    key_worker_lines,
    prefill_detailed,
)
from .plan import attendees_of as meeting_attendees
from .reports import (
    SEEN_ROWS,
    ReportForm,
    ReviewReportForm,
    check_seen,
    fill_review_plan,
    plan_in_force,
    review_field,
    seen_rows,
    updated_plan,
)
from .views import STAGES, api, changed_since_read, child_name, day, holds, services, signed_in
from .words import Worded, fill_fields, said, term

bp = Blueprint("families", __name__)

WRITERS = ("social_worker", "team_manager")
RELATIONSHIPS = {
    "mother": "Mother",
    "father": "Father",
    "parent": "Parent",
    "step_parent": "Step-parent",
    "foster_carer": "Foster carer",
    "kinship_carer": "Kinship carer",
    "grandparent": "Grandparent",
    "other_relative": "Other relative",
    "other": "Other",
}
ROLES = {"parent": "Parent", "carer": "Carer", "other": "Someone else"}
PEOPLE_ROWS = 4
PLAN_STATUSES = {"outline": "Outline plan", "active": "Active", "ended": "Ended"}
CONFERENCE_STATUS = {"scheduled": "Scheduled", "held": "Held", "cancelled": "Cancelled"}


def families_of(child_id: str) -> list[dict]:
    """The families a child is in: none when the plans service shows none."""
    try:
        return api("plans", "/v1/families", child_id=child_id)["items"]
    except NotFound:
        return []


def _family(family_id: str) -> tuple[dict, str | None]:
    answer = services().call(
        "plans", "GET", f"/v1/families/{family_id}", token=session.get("token"), request_id=g.get("request_id")
    )
    return answer.body, answer.etag


def _names(family: dict) -> dict[str, str]:
    """Each child of the family by name."""
    return {m["child_id"]: m["child"].get("name") or "Unnamed child" for m in family.get("members") or []}


def _done(message: str, family_id: str):
    flash(message, "success")
    return redirect(url_for("families.family", family_id=family_id))


class FamilyStep(Step):
    """A family step's form: as a case step's, with the service's error paths
    first renamed to the form's (``renames``: regular expression and
    replacement, e.g. a decision's ``child_id`` onto that child's question)."""

    def __init__(self, form: FlaskForm, renames: tuple[tuple[str, str], ...] = ()):
        super().__init__(form)
        self.renames = renames

    def paths(self, errors: dict[str, list[str]]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for path, messages in errors.items():
            for pattern, replacement in self.renames:
                path = re.sub(pattern, replacement, path)
            out.setdefault(path, []).extend(messages)
        return out


class FamilyOutcomeStep(FamilyStep, OutcomeStep):
    """A family conference's outcome: as a family step, and as a conference outcome the service's 403 (the
    person recording it manages a child's case) shown on the form."""


def _children_field(label: str, message: str, **kwargs: Any) -> SelectMultipleField:
    return SelectMultipleField(
        label, choices=[], widget=GovCheckboxesInput(), validators=[InputRequired(message)], **kwargs
    )


def _choose(family: dict, only: set[str] | None = None) -> list[SelectChoice]:
    """The family's children (or those of ``only``) as choices, by name."""
    names = _names(family)
    return [SelectChoice(c, names.get(c, "Unnamed child")) for c in family["children"] if only is None or c in only]


def _members_in(family: dict, *statuses: str) -> set[str]:
    """The family's children whose case is at one of these stages."""
    return {m["child_id"] for m in family.get("members") or [] if (m.get("case") or {}).get("status") in statuses}


# --- the family's page ---


@bp.get("/families/<family_id>")
@signed_in(*READERS)
def family(family_id: str):
    record, _ = _family(family_id)
    return render_template(
        "families/family.html",
        family=record,
        names=_names(record),
        relationships=RELATIONSHIPS,
        roles=ROLES,
        stages=STAGES,
        plan_statuses=PLAN_STATUSES,
        conference_statuses=CONFERENCE_STATUS,
        kinds=kinds(),
        letters=document_rows(documents_of(f"/v1/families/{family_id}/documents")),
        can_write=holds(*WRITERS),
        can_schedule=holds(*WRITERS, "chair"),
        can_decide=holds("chair", "team_manager"),
    )


# --- record a family, and change it ---


class PersonForm(Form):
    """One person around the children (rows left without a name are not sent)."""

    id = HiddenField()
    name = StringField("Name", [Optional(), Length(max=200)], widget=GovTextInput())
    role = SelectField(
        "Who are they?",
        choices=[SelectChoice("", "Choose"), *(SelectChoice(k, v) for k, v in ROLES.items())],
        widget=GovSelect(),
        validate_choice=False,
    )
    parental_responsibility = BooleanField("They have parental responsibility", widget=GovCheckboxInput())
    first_language = StringField("First language (optional)", [Optional(), Length(max=100)], widget=GovTextInput())
    relationship = SelectField(
        "Who they are to the children",
        choices=[SelectChoice(k, v) for k, v in RELATIONSHIPS.items()],
        widget=GovSelect(),
        validate_choice=False,
    )
    children = SelectMultipleField("Which children?", choices=[], widget=GovCheckboxesInput(), validate_choice=False)


class FamilyForm(FlaskForm):
    key = KeyField()
    etag = HiddenField()
    name = _text(
        "Family name",
        InputRequired("Enter the family's name"),
        Length(max=200, message="The family's name must be 200 characters or fewer"),
        description="What the council calls the family, for example the Sample family",
    )
    children = _children_field(
        "The family's children", "Select the family's children", description="Only registered children are shown"
    )
    people = FieldList(FormField(PersonForm), min_entries=PEOPLE_ROWS, max_entries=PEOPLE_ROWS)
    submit = _submit("Save the family")


FAMILY_FIELDS = {"name": "name", "children": "children", "people": "people"}
# A person's relationships are the children ticked on their row.
FAMILY_RENAMES = ((r"^(people\.\d+)\.relationships(\..*)?$", r"\1.children"),)


def _candidates(child_ids: list[str]) -> list[SelectChoice]:
    """The children to choose from: these, and every registered child of the same family name."""
    found: dict[str, dict] = {}
    for child_id in child_ids:
        child = api("plans", f"/v1/children/{child_id}")
        found[child["id"]] = child
        if child.get("family_name"):
            for other in api("plans", "/v1/children", family_name=child["family_name"], page_size=100)["items"]:
                found.setdefault(other["id"], other)
    ordered = sorted(found.values(), key=lambda c: (c.get("date_of_birth") or "", child_name(c)))
    return [SelectChoice(c["id"], f"{child_name(c)}, born {day(c.get('date_of_birth'))}") for c in ordered]


def _family_body(form: FamilyForm) -> dict:
    people = []
    for row in form.people:
        person = row.form
        name = (person.name.data or "").strip()
        if not name:
            continue
        chosen = [c for c in person.children.data or [] if c in (form.children.data or [])]
        entry = {
            "name": name,
            "role": person.role.data or "other",
            "parental_responsibility": bool(person.parental_responsibility.data),
            "first_language": (person.first_language.data or "").strip() or None,
            "relationships": [{"child_id": c, "relationship": person.relationship.data or "other"} for c in chosen],
        }
        if person.id.data:
            entry["id"] = person.id.data
        people.append(entry)
    return {"name": form.name.data.strip(), "children": list(form.children.data), "people": people}


def _fill(form: FamilyForm, record: dict) -> None:
    """The form as the family is recorded (a person's first relationship stands for all of theirs)."""
    form.name.data, form.children.data = record["name"], list(record["children"])
    for row, person in zip(form.people, record.get("people") or [], strict=False):
        relationships = person.get("relationships") or []
        row.form.id.data, row.form.name.data = person.get("id"), person["name"]
        row.form.role.data = person.get("role")
        row.form.parental_responsibility.data = bool(person.get("parental_responsibility"))
        row.form.first_language.data = person.get("first_language")
        row.form.relationship.data = relationships[0]["relationship"] if relationships else "other"
        row.form.children.data = [r["child_id"] for r in relationships]


def _family_form(form: FamilyForm, choices: list[SelectChoice]) -> None:
    form.children.choices = choices
    for row in form.people:
        row.form.children.choices = choices


@bp.route("/families/new", methods=["GET", "POST"])
@signed_in(*WRITERS)
def record_family():
    child_id = request.args.get("child_id", "")
    if not child_id:  # a family is recorded from one of its children's records
        return redirect(url_for("lifecycle.find_child"))
    form = FamilyForm()
    _family_form(form, _candidates([child_id]))
    if request.method == "GET":
        form.children.data = [child_id]
    step = FamilyStep(form, FAMILY_RENAMES)
    if form.validate_on_submit():
        answer = step.send("POST", "/v1/families", _family_body(form), FAMILY_FIELDS, key=form.key.data)
        if answer:
            return _done(f"The {answer.body['name']} is recorded.", answer.body["id"])
    return step.page("families/family_form.html", title="Record a family", child_id=child_id, family=None)


@bp.route("/families/<family_id>/change", methods=["GET", "POST"])
@signed_in(*WRITERS)
def change_family(family_id: str):
    record, etag = _family(family_id)
    form = FamilyForm()
    _family_form(form, _candidates(record["children"]))
    if request.method == "GET":
        form.etag.data = etag or ""
        _fill(form, record)
    step = FamilyStep(form, FAMILY_RENAMES)
    if form.validate_on_submit():
        try:
            answer = step.send(
                "PUT", f"/v1/families/{family_id}", _family_body(form), FAMILY_FIELDS, etag=form.etag.data or None
            )
        except ChangedSinceRead:
            return changed_since_read(
                "Someone changed this family since you opened it",
                [f"Your change to the {record['name']} was not saved, so that theirs is not lost."],
                [(url_for("families.change_family", family_id=family_id), "Open the family again", " and change it.")],
            )
        if answer:
            return _done(f"The {answer.body['name']} is changed.", family_id)
    return step.page("families/family_form.html", title="Change the family", family=record)


# --- the family steps ---


class FamilyCasesForm(FlaskForm):
    key = KeyField()
    children = _children_field("Open a case for", "Select the children to open a case for")
    submit = _submit("Open the cases")


@bp.route("/families/<family_id>/cases", methods=["GET", "POST"])
@signed_in(*WRITERS)
def open_cases(family_id: str):
    record, _ = _family(family_id)
    form = FamilyCasesForm()
    form.children.choices = _choose(record)
    step = FamilyStep(form)
    if form.validate_on_submit() and step.send(
        "POST",
        f"/v1/families/{family_id}/cases",
        {"children": list(form.children.data)},
        {"children": "children"},
        key=form.key.data,
    ):
        return _done("The cases are open. Record the strategy discussion when it has been held.", family_id)
    return step.page("families/open_cases.html", family=record)


class FamilyDiscussionForm(Worded, FlaskForm):
    key = KeyField()
    children = _children_field("Which children was it about?", "Select the children the discussion was about")
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


@bp.route("/families/<family_id>/strategy-discussion", methods=["GET", "POST"])
@signed_in(*WRITERS)
def strategy_discussion(family_id: str):
    record, _ = _family(family_id)
    form = FamilyDiscussionForm()
    form.children.choices = _choose(record, _members_in(record, "enquiries"))
    step = FamilyStep(form)
    if form.validate_on_submit():
        body = {
            "children": list(form.children.data),
            "held_on": form.held_on.iso,
            "initiated_enquiries": form.initiated_enquiries.data == "yes",
            "notes": form.notes.data or None,
        }
        fields = {k: k for k in ("children", "held_on", "initiated_enquiries", "notes")}
        if step.send("POST", f"/v1/families/{family_id}/strategy-discussions", body, fields, key=form.key.data):
            return _done("The strategy discussion is recorded on each child's case.", family_id)
    return step.page("families/strategy_discussion.html", family=record)


class ChildOutcomeForm(Form):
    """One child's part of the enquiries' outcome (the question names the child: ``_name_rows``)."""

    child_id = HiddenField()
    conference_required = yes_no("Is an {initial_conference} needed?", "Select yes or no for each child")


class FamilyEnquiryOutcomesForm(Worded, FlaskForm):
    completed_on = DayField(
        "When were the {enquiries} completed?",
        [DayRequired("Enter the date the {enquiries} were completed")],
        description="For example, 27 3 2026",
    )
    outcomes = FieldList(FormField(ChildOutcomeForm))
    summary = _area("Summary of the {enquiries} (optional)")
    submit = _submit("Save enquiry outcomes")


def _rows(rows: FieldList, child_ids: list[str]) -> None:
    """One row for each child, in the family's order (a posted form keeps its own)."""
    if not rows.entries:
        for child_id in child_ids:
            rows.append_entry({"child_id": child_id})
        fill_fields(rows.entries)


def _name_rows(rows: FieldList, field: str, names: dict[str, str], question: str) -> None:
    """Each row's question (its ``field``) names its child (``question`` holds ``{name}``)."""
    for row in rows:
        row.form[field].label.text = question.format(name=names.get(row.form.child_id.data, "this child"))


@bp.route("/families/<family_id>/enquiry-outcomes", methods=["GET", "POST"])
@signed_in(*WRITERS)
def enquiry_outcomes(family_id: str):
    record, _ = _family(family_id)
    form = FamilyEnquiryOutcomesForm()
    in_enquiries = _members_in(record, "enquiries")
    _rows(form.outcomes, [c for c in record["children"] if c in in_enquiries])
    _name_rows(
        form.outcomes,
        "conference_required",
        _names(record),
        "Is an " + term("initial_conference") + " needed for {name}?",
    )
    step = FamilyStep(form, ((r"^(outcomes\.\d+)\.child_id$", r"\1.conference_required"),))
    if form.validate_on_submit():
        body = {
            "completed_on": form.completed_on.iso,
            "summary": form.summary.data or None,
            "outcomes": [
                {"child_id": row.form.child_id.data, "conference_required": row.form.conference_required.data == "yes"}
                for row in form.outcomes
            ],
        }
        fields = {k: k for k in ("completed_on", "summary", "outcomes")}
        if step.send("POST", f"/v1/families/{family_id}/enquiry-outcomes", body, fields):
            return _done("The enquiry outcome is recorded for each child.", family_id)
    return step.page("families/enquiry_outcomes.html", family=record)


class FamilyConferenceForm(Worded, FlaskForm):
    key = KeyField()
    children = _children_field("Which children is it about?", "Select the children the {conference} is about")
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
    submit = _submit("Schedule {conference}")


@bp.route("/families/<family_id>/conferences/new", methods=["GET", "POST"])
@signed_in(*WRITERS, "chair")
def schedule_conference(family_id: str):
    record, _ = _family(family_id)
    form = FamilyConferenceForm()
    form.children.choices = _choose(record, _members_in(record, "conference_pending", "on_plan"))
    form.chair.choices = _staff("chair", "The chair who records the outcome")
    step = FamilyStep(form)
    if form.validate_on_submit():
        body = {"children": list(form.children.data), "kind": form.kind.data, "scheduled_for": form.scheduled_for.iso}
        if form.chair.data:
            body["chair"] = form.chair.data
        fields = {k: k for k in ("children", "kind", "scheduled_for", "chair")}
        if step.send("POST", f"/v1/families/{family_id}/conferences", body, fields, key=form.key.data):
            return _done(
                f"The {term(KINDS[form.kind.data])} is scheduled for {day(form.scheduled_for.iso)}.", family_id
            )
    return step.page("families/schedule_conference.html", family=record)


class ChildDecisionForm(OutlinePlanFields, Form):
    """One child's decision at an initial family conference: a plan or not, and the outline plan's fields."""

    child_id = HiddenField()
    plan_required = yes_no(
        "Does the child need a {plan}?",
        "Select yes or no for each child",
        description="No means the case steps down to a child in need plan",
    )


class FamilyOutcomeForm(Worded, ViewsAndExclusions, FlaskForm):
    key = KeyField()
    held_on = DayField(
        "When was the {conference} held?",
        [DayRequired("Enter the date the {conference} was held")],
        description="For example, 27 3 2026",
    )
    decisions = FieldList(FormField(ChildDecisionForm))
    attendees = FieldList(FormField(AttendeeForm), min_entries=ATTENDEE_ROWS, max_entries=ATTENDEE_ROWS)
    submit = _submit("Save {conference} outcome")


# A decision's errors on that child's part: its child onto its question, its outline plan onto its fields.
DECISION_RENAMES = (
    (r"^(decisions\.\d+)\.child_id$", r"\1.plan_required"),
    (r"^(decisions\.\d+)\.outline_plan$", r"\1.key_worker"),
    (r"^(decisions\.\d+)\.outline_plan\.", r"\1."),
)


def _decision(row: ChildDecisionForm) -> dict:
    decision: dict[str, Any] = {"child_id": row.child_id.data, "plan_required": row.plan_required.data == "yes"}
    if decision["plan_required"]:
        decision["outline_plan"] = outline_plan(row)
    return decision


# --- the family conference's page: moved or cancelled with each child's conference ---

SCHEDULERS = (*WRITERS, "chair")


def _group(group_id: str) -> tuple[dict, str | None]:
    answer = services().call(
        "plans",
        "GET",
        f"/v1/family-conferences/{group_id}",
        token=session.get("token"),
        request_id=g.get("request_id"),
    )
    return answer.body, answer.etag


def _back_to_group(message: str, group_id: str):
    flash(message, "success")
    return redirect(url_for("families.family_conference", group_id=group_id))


@bp.get("/family-conferences/<group_id>")
@signed_in(*READERS)
def family_conference(group_id: str):
    group, _ = _group(group_id)
    record, _ = _family(group["family_id"])
    return render_template(
        "families/conference.html",
        group=group,
        family=record,
        names=_names(record),
        kinds=kinds(),
        statuses=CONFERENCE_STATUS,
        can_schedule=holds(*SCHEDULERS),
        can_write=holds(*WRITERS),
        can_decide=holds("chair", "team_manager"),
    )


@bp.route("/family-conferences/<group_id>/move", methods=["GET", "POST"])
@signed_in(*SCHEDULERS)
def move_conference(group_id: str):
    group, etag = _group(group_id)
    record, _ = _family(group["family_id"])
    form = MoveConferenceForm()
    if request.method == "GET":
        form.etag.data = etag  # the version this person saw: a move made meanwhile is a 412
    step = FamilyStep(form)
    if form.validate_on_submit():
        try:
            moved = step.send(
                "PATCH",
                f"/v1/family-conferences/{group_id}",
                {"scheduled_for": form.scheduled_for.iso, "reason": form.reason.data},
                {"scheduled_for": "scheduled_for", "reason": "reason"},
                etag=form.etag.data or None,
            )
        except ChangedSinceRead:
            return changed_since_read(
                f"Someone changed this {said('conference')} since you opened it",
                [
                    f"Your change to the {said('conference')} about the children was not saved, so that theirs is not lost.",
                    f"It is now scheduled for {day(group.get('scheduled_for'))}.",
                ],
                [
                    (
                        url_for("families.move_conference", group_id=group_id),
                        f"Open the {said('conference')} again",
                        " to see it as it is now and make your change.",
                    )
                ],
            )
        if moved:
            return _back_to_group(
                f"The {said('conference')} is moved to {day(form.scheduled_for.iso)}, with each child's {said('conference')}.",
                group_id,
            )
    return step.page("families/move_conference.html", family=record, group=group, kinds=kinds())


@bp.route("/family-conferences/<group_id>/cancel", methods=["GET", "POST"])
@signed_in(*SCHEDULERS)
def cancel_conference(group_id: str):
    group, _ = _group(group_id)
    record, _ = _family(group["family_id"])
    form = CancelConferenceForm()
    step = FamilyStep(form)
    if form.validate_on_submit() and step.send(
        "POST", f"/v1/family-conferences/{group_id}/cancellation", {"reason": form.reason.data}, {"reason": "reason"}
    ):
        return _done(
            f"The {said('conference')} is cancelled, with each child's {said('conference')}. You can schedule another.",
            record["id"],
        )
    return step.page("families/cancel_conference.html", family=record, group=group, kinds=kinds())


@bp.route("/family-conferences/<group_id>/outcome", methods=["GET", "POST"])
@signed_in("chair", "team_manager")
def conference_outcome(group_id: str):
    group = api("plans", f"/v1/family-conferences/{group_id}")
    if group["kind"] == "review":
        return _review_outcome(group)
    record, _ = _family(group["family_id"])
    names = _names(record)
    form = FamilyOutcomeForm()
    _rows(form.decisions, [m["child_id"] for m in group["children"]])
    _name_rows(form.decisions, "plan_required", names, "Does {name} need a " + term("plan") + "?")
    key_workers, categories = _staff("social_worker", "Choose the key worker"), _categories()
    for row in form.decisions:
        row.form.key_worker.choices, row.form.categories.choices = key_workers, categories
    step = FamilyOutcomeStep(form, DECISION_RENAMES)
    if form.validate_on_submit():
        body = {
            "held_on": form.held_on.iso,
            "decisions": [_decision(row.form) for row in form.decisions],
            "attendees": attendees_of(form.attendees),
            **governance_of(form),
        }
        fields = {"held_on": "held_on", "decisions": "decisions", "attendees": "attendees"}
        if step.send("POST", f"/v1/family-conferences/{group_id}/outcome", body, fields, key=form.key.data):
            return _done(f"The {said('conference')} outcome is recorded for each child.", record["id"])
    return step.page("families/conference_outcome.html", family=record, group=group, names=names, kinds=kinds())


# --- a review conference about several children: each child's review decision ---


class ChildReviewForm(ReviewDecisionChecks, Form):
    """One child's review decision: the questions of one child's review outcome form (``journey``), and the
    ETag of the child's plan as read when the form was opened."""

    child_id = HiddenField()
    plan_etag = HiddenField()
    decision = ReviewOutcomeForm.decision
    reason = ReviewOutcomeForm.reason
    concerns = ReviewOutcomeForm.concerns


class FamilyReviewOutcomeForm(Worded, ViewsAndExclusions, FlaskForm):
    key = KeyField()
    held_on = FamilyOutcomeForm.held_on
    decisions = FieldList(FormField(ChildReviewForm))
    attendees = FieldList(FormField(AttendeeForm), min_entries=ATTENDEE_ROWS, max_entries=ATTENDEE_ROWS)
    submit = _submit("Save {conference} outcome")


# A review decision's errors on that child's part: its child onto its question, its revised plan onto its concerns.
REVIEW_RENAMES = (
    (r"^(decisions\.\d+)(\.child_id)?$", r"\1.decision"),
    (r"^(decisions\.\d+)\.plan(\..*)?$", r"\1.concerns"),
)


def _plans_reviewed(group: dict) -> dict[str, tuple[dict | None, str | None]]:
    """Each child's plan in force and its ETag (None for a child whose case has no plan)."""
    found: dict[str, tuple[dict | None, str | None]] = {}
    for member in group["children"]:
        plan_id = api("plans", f"/v1/cases/{member['case_id']}").get("plan_id")
        found[member["child_id"]] = plan_and_etag(plan_id) if plan_id else (None, None)
    return found


def _review_decision(row: ChildReviewForm, plan: dict | None) -> dict:
    decision: dict[str, Any] = {"child_id": row.child_id.data, "decision": row.decision.data}
    if row.decision.data == "end":
        decision["reason"] = row.reason.data.strip()
    if row.decision.data == "revise" and plan is not None:
        decision["plan"] = {**agreed_content(plan), "concerns": row.concerns.data}
    return decision


def _plans_changed(group: dict, names: dict[str, str], changed: list[str]):
    return changed_since_read(
        f"Someone changed a {term('plan')} since you opened this form",
        [
            f"The {term('plan')} of {', '.join(names.get(c, 'a child') for c in changed)} changed. The outcome "
            f"was not saved, so that nothing is decided on a {term('plan')} you have not seen."
        ],
        [
            (
                url_for("families.conference_outcome", group_id=group["id"]),
                "Open the outcome form again",
                " to record the outcome for each child.",
            )
        ],
    )


def _review_outcome(group: dict):
    """The review's outcome: for each child, continue, revise (the concerns as agreed) or end (the reason)
    their plan, the plans' ETags as read when the form was opened checked before anything is sent."""
    record, _ = _family(group["family_id"])
    names, plans = _names(record), _plans_reviewed(group)
    form = FamilyReviewOutcomeForm()
    _rows(form.decisions, [m["child_id"] for m in group["children"]])
    _name_rows(form.decisions, "decision", names, "What did the conference decide for {name}?")
    if request.method == "GET":
        for row in form.decisions:
            plan, etag = plans.get(row.form.child_id.data, (None, None))
            row.form.plan_etag.data = etag
            row.form.concerns.data = ((plan or {}).get("content") or {}).get("concerns")
    step = FamilyOutcomeStep(form, REVIEW_RENAMES)
    if form.validate_on_submit():
        changed = [
            row.form.child_id.data
            for row in form.decisions
            if row.form.plan_etag.data
            and row.form.child_id.data in plans
            and row.form.plan_etag.data != plans[row.form.child_id.data][1]
        ]
        if changed:
            return _plans_changed(group, names, changed)
        body = {
            "held_on": form.held_on.iso,
            "decisions": [
                _review_decision(row.form, plans.get(row.form.child_id.data, (None, None))[0]) for row in form.decisions
            ],
            "attendees": attendees_of(form.attendees),
            **governance_of(form),
        }
        fields = {"held_on": "held_on", "decisions": "decisions", "attendees": "attendees"}
        if step.send("POST", f"/v1/family-conferences/{group['id']}/outcome", body, fields, key=form.key.data):
            return _done(f"The {term('review_conference')}'s outcome is recorded for each child.", record["id"])
    return step.page(
        "families/review_outcome.html", family=record, group=group, names=names, plans=plans, kinds=kinds()
    )


# --- one core group meeting about several children's plans ---


class ChildMeetingForm(DetailedPlanFields, Form):
    """One child's part of the family's core group meeting: whether it agreed their detailed plan, and that
    plan's fields as one plan's meeting form asks for them (``plan``)."""

    child_id = HiddenField()
    detailed_plan_agreed = CoreGroupMeetingFields.detailed_plan_agreed


class FamilyMeetingForm(FlaskForm):
    key = KeyField()
    held_on = CoreGroupMeetingFields.held_on
    attendees = CoreGroupMeetingFields.attendees
    notes = CoreGroupMeetingFields.notes
    plans = FieldList(FormField(ChildMeetingForm))
    submit = _submit("Record the meeting")


# A child's errors on their part: the detailed plan's sections onto their fields, the rest onto the agreement.
MEETING_RENAMES = (
    *((rf"^(plans\.\d+)\.{re.escape(path)}(\..*)?$", rf"\1.{field}") for path, field in DETAILED_FIELDS.items()),
    (r"^(plans\.\d+)(\.child_id|\.plan(\..*)?)?$", r"\1.detailed_plan_agreed"),
)


def _plans_of(record: dict) -> dict[str, dict]:
    """The content of each plan in force of the family's children, by child."""
    return {
        m["child_id"]: api("plans", f"/v1/plans/{m['case']['plan_id']}").get("content") or {}
        for m in record.get("members") or []
        if (m.get("case") or {}).get("plan_id") and m["case"].get("plan_status") in ("outline", "active")
    }


def _meeting_part(row: ChildMeetingForm, content: dict) -> dict:
    part: dict[str, Any] = {
        "child_id": row.child_id.data,
        "detailed_plan_agreed": row.detailed_plan_agreed.data == "yes",
    }
    plan = detailed_plan(row, content) if part["detailed_plan_agreed"] else None
    if plan is not None:
        part["plan"] = plan
    return part


@bp.route("/families/<family_id>/core-group-meeting", methods=["GET", "POST"])
@signed_in(*WRITERS)
def core_group_meeting(family_id: str):
    record, _ = _family(family_id)
    names, contents = _names(record), _plans_of(record)
    form = FamilyMeetingForm()
    _rows(form.plans, [c for c in record["children"] if c in contents])
    _name_rows(form.plans, "detailed_plan_agreed", names, "Did the meeting agree {name}'s detailed plan?")
    if request.method == "GET":
        form.attendees.data = key_worker_lines([contents[row.form.child_id.data] for row in form.plans])
        for row in form.plans:
            prefill_detailed(row.form, contents[row.form.child_id.data])
    step = FamilyStep(form, MEETING_RENAMES)
    if form.validate_on_submit():
        body = {
            "held_on": form.held_on.data.isoformat(),
            "attendees": meeting_attendees(form.attendees.data),
            "notes": (form.notes.data or "").strip() or None,
            "plans": [_meeting_part(row.form, contents.get(row.form.child_id.data) or {}) for row in form.plans],
        }
        fields = {k: k for k in ("held_on", "attendees", "notes", "plans")}
        if step.send("POST", f"/v1/families/{family_id}/core-group-meetings", body, fields, key=form.key.data):
            return _done("The core group meeting is recorded on each child's plan.", family_id)
        if len(form.attendees.errors) > 1:  # each child's plan whose key worker is missing, in the one message shown
            form.attendees.errors = [". ".join(str(e).rstrip(".") for e in form.attendees.errors)]
    return step.page("families/core_group_meeting.html", family=record, names=names)


# --- one report to a family conference: each child's report drafted together ---


class ChildReportForm(Form):
    """One child's part of the family's report: the days they were seen and whether alone, and their views
    (the fields of one child's report form, ``reports.ReportForm``)."""

    child_id = HiddenField()
    childs_views = ReportForm.childs_views


for _n in range(1, SEEN_ROWS + 1):
    setattr(ChildReportForm, f"seen_on_{_n}", getattr(ReportForm, f"seen_on_{_n}"))
    setattr(ChildReportForm, f"seen_alone_{_n}", getattr(ReportForm, f"seen_alone_{_n}"))


class ChildReviewReportForm(ChildReportForm):
    """A review's: the child's plan as updated for the review, in the sections one child's review report
    changes (``reports.ReviewReportForm``); each action's progress is carried over, to be changed on the
    child's own report."""

    plan_concerns = ReviewReportForm.plan_concerns
    contingency_plan = ReviewReportForm.contingency_plan
    contingency_triggers = ReviewReportForm.contingency_triggers
    next_review_on = ReviewReportForm.next_review_on
    how_progress_judged = ReviewReportForm.how_progress_judged


class FamilyReportForm(FlaskForm):
    key = KeyField()
    findings = ReportForm.findings
    family_views = ReportForm.family_views
    children = FieldList(FormField(ChildReportForm))
    submit = _submit("Save the draft reports")


class FamilyReviewReportForm(FamilyReportForm):
    findings = ReviewReportForm.findings
    children = FieldList(FormField(ChildReviewReportForm))


class FamilyReportStep(FamilyStep):
    """A child's errors on their part: each as on one child's report form (``reports.review_field``), a
    child refused as a whole on their views."""

    def paths(self, errors: dict[str, list[str]]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for path, messages in errors.items():
            part = re.fullmatch(r"(children\.\d+)(?:\.(.+))?", path)
            if part:
                path = f"{part[1]}.{(part[2] and review_field(part[2])) or 'childs_views'}"
            out.setdefault(path, []).extend(messages)
        return out


def _report_part(row: ChildReportForm, plan: dict | None) -> dict:
    part: dict[str, Any] = {
        "child_id": row.child_id.data,
        "child_seen": [
            {"on": on.data.isoformat(), "alone": bool(alone.data)}
            for on, alone in seen_rows(row)
            if on.data is not None
        ],
    }
    if (row.childs_views.data or "").strip():
        part["childs_views"] = row.childs_views.data
    if plan is not None:
        part["plan"] = updated_plan(row, plan)
    return part


def _seen_checked(rows: FieldList) -> bool:
    """Each child's days seen are real days (every row checked, so that each shows its errors)."""
    return not [row for row in rows if not check_seen(row.form)]


@bp.route("/family-conferences/<group_id>/report", methods=["GET", "POST"])
@signed_in(*WRITERS)
def conference_report(group_id: str):
    group, _ = _group(group_id)
    record, _ = _family(group["family_id"])
    review = group["kind"] == "review"
    plans = {m["child_id"]: plan_in_force(m) or {} for m in group["children"]} if review else {}
    form = FamilyReviewReportForm() if review else FamilyReportForm()
    if not review:
        form.findings.label.text = f"What the {term('enquiries')} found"
    _rows(form.children, [m["child_id"] for m in group["children"]])
    if request.method == "GET" and review:
        for row in form.children:
            fill_review_plan(row.form, plans[row.form.child_id.data])
    step = FamilyReportStep(form)
    if form.validate_on_submit() & _seen_checked(form.children):
        body = {
            "findings": form.findings.data,
            "family_views": form.family_views.data or "",
            "children": [_report_part(row.form, plans.get(row.form.child_id.data)) for row in form.children],
        }
        fields = {k: k for k in ("findings", "family_views", "children")}
        if step.send("POST", f"/v1/family-conferences/{group_id}/reports", body, fields, key=form.key.data):
            return _back_to_group(
                "Each child's draft report is saved. Each goes on from its own report page.", group_id
            )
    return step.page(
        "families/report.html", family=record, group=group, names=_names(record), review=review, kinds=kinds()
    )
