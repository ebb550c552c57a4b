"""Before the strategy discussion: the referral, the decision on it, and the
assessment of the child and family, each recorded with a form from the case
page; and, at the end, the case's closure with the Children in Need
census's reason.

Each form changes the case as it was when the form was opened: it carries
the case's ETag (If-Match) and its own Idempotency-Key; a 412 gives the page
saying someone changed the case meanwhile, a 422's field errors go on the
form's fields and a 409's reason into the error summary.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, url_for
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovCheckboxesInput, GovRadioInput, GovSelect, GovTextArea
from wtforms import HiddenField, RadioField, SelectChoice, SelectField, SelectMultipleField, TextAreaField
from wtforms.validators import InputRequired, Length

from cpp_shared import census_codes

from .client import ChangedSinceRead
from .lifecycle import Step, _area, _case_and_child, _done, _staff, _submit
from .lifecycle_forms import DayField, DayRequired, KeyField
from .views import changed_since_read, child_name, signed_in

bp = Blueprint("referral", __name__)

SOURCES = {
    "police": "Police",
    "school": "School or nursery",
    "health": "Health",
    "family": "Family member",
    "self": "The child or young person",
    "other_agency": "Another agency",
    "anonymous": "Anonymous",
    "other": "Other",
}
# The Children in Need census's ReferralSource codes, by the referral's source (the plans service takes a code
# only with the source it belongs to): code -> the census's label.
CENSUS_SOURCES: dict[str, dict[str, str]] = {
    "police": {"6": "Police"},
    "school": {"2A": "Schools", "2B": "Education services"},
    "health": {
        "3A": "Health services – GP",
        "3B": "Health services – health visitor",
        "3C": "Health services – school nurse",
        "3D": "Health services – other primary health services",
        "3E": "Health services – A&E",
        "3F": "Health services – other (for example a hospice)",
    },
    "family": {"1A": "Individual – family member, relative or carer"},
    "self": {"1C": "Individual – self"},
    "other_agency": {
        "4": "Housing – council housing or housing association",
        "5A": "Local authority services – social care (for example adult social care)",
        "5B": "Local authority services – another department (for example youth offending)",
        "5C": "Local authority services – another local authority's",
        "5D": "Local authority services – early help",
        "7": "Other legal agency – courts, probation, immigration, Cafcass or prison",
    },
    "anonymous": {"9": "Anonymous"},
    "other": {
        "1B": "Individual – acquaintance (including neighbours and childminders)",
        "1D": "Individual – other (including strangers)",
        "8": "Other – children's centres, independent agencies or voluntary organisations",
        "10": "Unknown",
    },
}
CENSUS_SOURCE_WORDS = {code: f"{label} ({code})" for codes in CENSUS_SOURCES.values() for code, label in codes.items()}
# Why a case closed, as the Children in Need census says it (RC1-RC9).
CLOSURE_REASONS = dict(census_codes.CLOSURE_REASON)
DECISIONS = {
    "no_further_action": "No further action",
    "early_help": "Early help",
    "assessment": "Child and family assessment",
    "strategy_discussion": "Strategy discussion (section 47 enquiries)",
    "other": "Other",
}
FACTORS = {
    "child_health": "The child's health",
    "child_education": "The child's education",
    "child_emotional_and_behavioural_development": "The child's emotional and behavioural development",
    "child_identity_and_relationships": "The child's identity, family and social relationships",
    "parenting_capacity": "Parenting capacity",
    "domestic_abuse": "Domestic abuse",
    "parental_mental_health": "A parent's or carer's mental health",
    "parental_substance_misuse": "A parent's or carer's drug or alcohol misuse",
    "parental_learning_disability": "A parent's or carer's learning disability",
    "neglect": "Neglect",
    "physical_abuse": "Physical abuse",
    "emotional_abuse": "Emotional abuse",
    "sexual_abuse": "Sexual abuse",
    "child_sexual_exploitation": "Child sexual exploitation",
    "child_criminal_exploitation": "Child criminal exploitation",
    "going_missing": "Going missing",
    "housing": "Housing",
    "family_finances": "Family income and finances",
    "wider_family_and_community": "Wider family and community",
}
OUTCOMES = {
    "no_further_action": "No further action",
    "early_help": "Early help",
    "child_in_need_plan": "Child in need plan",
    "strategy_discussion": "Strategy discussion (section 47 enquiries)",
    "other": "Other",
}
EXAMPLE = "For example, 27 3 2026"


@bp.app_context_processor
def _words() -> dict[str, Any]:
    """The referral's and the assessment's lists in words, for the case page."""
    return {
        "referral_words": {
            "sources": SOURCES,
            "census_sources": CENSUS_SOURCE_WORDS,
            "decisions": DECISIONS,
            "factors": FACTORS,
            "outcomes": OUTCOMES,
        },
        "closure_reason": closure_reason,
    }


def closure_reason(reason: str | None) -> str:
    """Why a case closed, in words: the census's reason, or the referral's decision or the assessment's
    outcome that closed it."""
    reason = reason or ""
    if reason in CLOSURE_REASONS:
        return CLOSURE_REASONS[reason]
    if reason.startswith("referral_"):
        return "The decision on the referral: " + DECISIONS.get(reason[9:], reason[9:].replace("_", " ")).lower()
    if reason.startswith("assessment_"):
        return "The assessment's outcome: " + OUTCOMES.get(reason[11:], reason[11:].replace("_", " ")).lower()
    return reason.replace("_", " ") or "Not recorded"


def _choices(labels: dict[str, str], first: str) -> list[SelectChoice]:
    return [SelectChoice("", first)] + [SelectChoice(k, v) for k, v in labels.items()]


def _select(label: str, labels: dict[str, str], required: str, first: str = "Select one") -> SelectField:
    return SelectField(label, choices=_choices(labels, first), widget=GovSelect(), validators=[InputRequired(required)])


class ReferralForm(FlaskForm):
    key = KeyField()
    etag = HiddenField()
    received_on = DayField(
        "When was the referral received?",
        [DayRequired("Enter the date the referral was received")],
        description=EXAMPLE,
    )
    source = _select("Who made the referral?", SOURCES, "Select who made the referral")
    source_code = SelectField(
        "The referral's source for the Children in Need census (optional)",
        choices=[SelectChoice("", "Not known yet")]
        + [SelectChoice(code, words) for code, words in CENSUS_SOURCE_WORDS.items()],
        widget=GovSelect(),
        default="",
        description="One that matches who made the referral",
    )
    summary = _area("What the referral said (optional)")
    submit = _submit("Save referral")


class DecisionForm(FlaskForm):
    key = KeyField()
    etag = HiddenField()
    decided_on = DayField(
        "When was the decision made?", [DayRequired("Enter the date of the decision")], description=EXAMPLE
    )
    decision = _select("What was decided?", DECISIONS, "Select what was decided")
    reason = TextAreaField(
        "Why?",
        widget=GovTextArea(),
        validators=[
            InputRequired("Enter the reason for the decision"),
            Length(max=4000, message="The reason must be 4,000 characters or fewer"),
        ],
    )
    submit = _submit("Save decision")


class AssessmentForm(FlaskForm):
    key = KeyField()
    etag = HiddenField()
    started_on = DayField(
        "When did the assessment start?", [DayRequired("Enter the date the assessment started")], description=EXAMPLE
    )
    factors = SelectMultipleField(
        "Factors identified",
        choices=[SelectChoice(k, v) for k, v in FACTORS.items()],
        widget=GovCheckboxesInput(),
        description="Select all that apply",
    )
    other_factors = _area("Other factors (optional)", description="Factors the list does not name")
    submit = _submit("Save assessment")


class CompletionForm(FlaskForm):
    key = KeyField()
    etag = HiddenField()
    completed_on = DayField(
        "When was the assessment completed?",
        [DayRequired("Enter the date the assessment was completed")],
        description=EXAMPLE,
    )
    outcome = _select("Outcome", OUTCOMES, "Select the outcome of the assessment")
    authorised_by = SelectField(
        "Authorised by",
        choices=[],
        widget=GovSelect(),
        validators=[InputRequired("Select the team manager who authorised the assessment")],
        description="The team manager who authorised the assessment",
    )
    summary = _area("Summary (optional)")
    submit = _submit("Save completion")


class ClosureForm(FlaskForm):
    key = KeyField()
    etag = HiddenField()
    closed_on = DayField(
        "When did the case close?", [DayRequired("Enter the date the case closed")], description=EXAMPLE
    )
    reason = RadioField(
        "Why did the case close?",
        choices=[SelectChoice(code, f"{label} ({code})") for code, label in CLOSURE_REASONS.items()],
        widget=GovRadioInput(),
        invalid_choice_message="Select why the case closed",
        validators=[InputRequired("Select why the case closed")],
        description="As the Children in Need census records it",
    )
    notes = _area("Notes (optional)")
    submit = _submit("Close the case")


# Each step: its form, the plans service's path under the case, its page's title and what it says when done.
STEPS: dict[str, tuple[type[FlaskForm], str, str, str]] = {
    "referral": (ReferralForm, "referral", "Record the referral", "The referral is recorded."),
    "decision": (DecisionForm, "referral/decision", "Record the decision on the referral", "The decision is recorded."),
    "assessment": (AssessmentForm, "assessment", "Start the assessment", "The assessment is recorded."),
    "completion": (
        CompletionForm,
        "assessment/completion",
        "Record the assessment's completion",
        "The assessment's completion is recorded.",
    ),
    "closure": (ClosureForm, "closure", "Close the case", "The case is closed."),
}
DATES = ("received_on", "decided_on", "started_on", "completed_on", "closed_on")


def _body(form: FlaskForm) -> dict[str, Any]:
    """The form's answers as the plans service takes them."""
    body: dict[str, Any] = {}
    for name, field in form._fields.items():
        if name in ("key", "etag", "submit", "csrf_token"):
            continue
        if name in DATES:
            body[name] = field.iso
        elif isinstance(field.data, str):
            body[name] = field.data.strip() or None
        else:
            body[name] = field.data
    return body


def _changed(case: dict, kid: dict):
    return changed_since_read(
        "Someone changed this case since you opened it",
        [f"Your step for {child_name(kid)} was not saved, so that theirs is not lost."],
        [(url_for("web.case", case_id=case["id"]), "Open the case again", " to see it as it is now.")],
        child_name=child_name(kid),
    )


@bp.route("/cases/<case_id>/<any(referral, decision, assessment, completion, closure):what>", methods=["GET", "POST"])
@signed_in("social_worker", "team_manager")
def record(case_id: str, what: str):
    form_class, path, title, done = STEPS[what]
    case, kid = _case_and_child(case_id)
    form = form_class()
    if what == "completion":
        form.authorised_by.choices = _staff("team_manager", "Select the team manager")
    if not form.etag.data:
        form.etag.data = f'"{case["version"]}"'  # the case as this person saw it: a change meanwhile is a 412
    step = Step(form)
    if form.validate_on_submit():
        body = _body(form)
        try:
            sent = step.send(
                "POST",
                f"/v1/cases/{case_id}/{path}",
                body,
                {k: k for k in body},
                key=form.key.data,
                etag=form.etag.data,
            )
        except ChangedSinceRead:
            return _changed(case, kid)
        if sent:
            return _done(done, url_for("web.case", case_id=case_id))
    return step.page(f"referral/{what}.html", case=case, child_name=child_name(kid), title=title)
