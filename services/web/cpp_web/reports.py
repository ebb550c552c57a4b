"""Reports to conference, from the case page's conferences: draft, change
(If-Match), submit, countersign or return with a reason (a team manager),
share with the family, send to the chair; each step with its deadline.

The plans service decides every step (who may take it, in what order); a
step it refuses is shown on the report's page with its reason in words.
"""

from __future__ import annotations

import time
import uuid
from datetime import date

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from govuk_frontend_wtf.main import wtforms_errors
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovDateInput,
    GovRadioInput,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    RadioField,
    SelectChoice,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from .client import ChangedSinceRead, Forbidden, Invalid, NotFound, Refused
from .lifecycle_forms import DayField
from .views import _conf, api, changed_since_read, child_name, services, signed_in
from .words import fill, term

bp = Blueprint("reports", __name__)

AUTHORS = ("social_worker", "team_manager")
SEEN_ROWS = 3
STATUS_WORDS = {
    "draft": "Draft",
    "submitted": "Waiting for countersigning",
    "countersigned": "Countersigned",
    "shared": "Shared with the family",
    "sent_to_chair": "Sent to the chair",
}
KIND_WORDS = {"enquiry_report": "Enquiry report", "review_report": "Review report"}
# Each step of a report: its record's name in the report's steps, the event
# that meets its deadline, and the words for it ({conference}: the deployment's).
STEPS = (
    ("drafted", "report.drafted.v1", "Drafted"),
    ("submitted", "report.submitted.v1", "Submitted for countersigning"),
    ("countersigned", "report.countersigned.v1", "Countersigned by a team manager"),
    ("shared", "report.shared.v1", "Shared with the family"),
    ("sent_to_chair", "report.sent_to_chair.v1", "Sent to the {conference} chair"),
)
SHARE_WAYS = [
    SelectChoice("in_person", "In person"),
    SelectChoice("post", "By post"),
    SelectChoice("email", "By email"),
]
YES_NO = [SelectChoice("yes", "Yes"), SelectChoice("no", "No")]
RULES_FOR_SECONDS = 300


# --- forms ---


class DateInput(GovDateInput):
    """GOV.UK's day, month and year boxes; a date left out of the form
    entirely is shown empty (govuk-frontend-wtf expects its three parts)."""

    def map_gov_params(self, field, **kwargs):
        if field.raw_data is not None and len(field.raw_data) != 3:
            field.raw_data = None
        return super().map_gov_params(field, **kwargs)


def _text(label: str, required: str | None = None, hint: str | None = None, max_length: int = 20_000):
    validators = [InputRequired(message=required)] if required else [Optional()]
    return TextAreaField(
        label,
        description=hint,
        widget=GovTextArea(),
        validators=[*validators, Length(max=max_length, message=f"Keep it under {max_length:,} characters")],
    )


class ReportForm(FlaskForm):
    """A report's content. The days the child was seen are rows of a day and
    whether they were seen alone."""

    findings = _text(
        "What the enquiries found",
        "Enter what the enquiries found",
        "The concerns, what you found and what you think needs to happen",
    )
    childs_views = _text("The child's views", hint="In the child's own words where you can")
    family_views = _text("The family's views")
    etag = HiddenField()
    idempotency_key = HiddenField()
    submit = SubmitField("Save the draft", widget=GovSubmitInput())


for _n in range(1, SEEN_ROWS + 1):
    setattr(
        ReportForm,
        f"seen_on_{_n}",
        DateField(
            f"Day the child was seen ({_n} of {SEEN_ROWS})",
            format="%d %m %Y",
            widget=DateInput(),
            validators=[Optional()],
            description="For example, 27 3 2026" if _n == 1 else None,
        ),
    )
    setattr(ReportForm, f"seen_alone_{_n}", BooleanField("The child was seen alone", widget=GovCheckboxInput()))


def seen_rows(form: ReportForm) -> list[tuple]:
    return [(getattr(form, f"seen_on_{n}"), getattr(form, f"seen_alone_{n}")) for n in range(1, SEEN_ROWS + 1)]


def check_seen(form: ReportForm) -> bool:
    """Each row's day is a real day, and a row marked "alone" has its day."""
    ok = True
    for on, alone in seen_rows(form):
        typed = any((part or "").strip() for part in on.raw_data or [])
        if typed and on.data is None:
            on.errors = ["Enter a real day the child was seen, for example 27 3 2026"]
            ok = False
        elif alone.data and on.data is None:
            on.errors = ["Enter the day the child was seen alone"]
            ok = False
    return ok


def report_body(form: ReportForm) -> dict:
    return {
        "findings": form.findings.data,
        "child_seen": [
            {"on": on.data.isoformat(), "alone": bool(alone.data)}
            for on, alone in seen_rows(form)
            if on.data is not None
        ],
        "childs_views": form.childs_views.data or "",
        "family_views": form.family_views.data or "",
    }


def fill_report_form(form: ReportForm, report: dict) -> None:
    content = report.get("content") or {}
    form.findings.data = content.get("findings")
    form.childs_views.data = content.get("childs_views")
    form.family_views.data = content.get("family_views")
    for (on, alone), seen in zip(seen_rows(form), content.get("child_seen") or []):
        on.data = date.fromisoformat(seen["on"][:10])
        alone.data = bool(seen.get("alone"))


# --- a review report: progress against the plan, and the plan as updated for the review ---

ACTION_STATUSES = [
    SelectChoice("not_started", "Not started"),
    SelectChoice("in_progress", "In progress"),
    SelectChoice("done", "Done"),
    SelectChoice("not_done", "Not done"),
]
# The plan's sections (the plans service's plan content): what an updated plan carries over.
PLAN_SECTIONS = (
    "key_worker",
    "core_group",
    "first_core_group_on",
    "categories",
    "concerns",
    "causes_of_harm",
    "childs_needs",
    "parents_needs",
    "outcomes",
    "actions",
    "interventions",
    "monitoring",
    "further_assessments",
    "review_arrangements",
    "contingency_plan",
    "childs_views",
    "familys_views",
    "accessibility",
)


class ReviewReportForm(ReportForm):
    """The review report: progress against the plan (the report's findings),
    the days the child was seen, the child's and the family's views, and the
    plan as updated for the review: its concerns, each action's progress, the
    contingency plan and the review arrangements (the other sections carry
    over from the plan as they are)."""

    findings = _text(
        "Progress against the plan",
        "Enter the progress against the plan",
        "What has changed for the child since the plan was agreed or last reviewed, outcome by outcome",
    )
    plan_concerns = _text("Concerns", hint="The concerns and the main causes of harm as they are now", max_length=4000)
    contingency_plan = _text("Contingency plan", hint="What happens if the plan is not working", max_length=4000)
    contingency_triggers = _text(
        "What triggers the contingency plan", hint="One circumstance on each line", max_length=4000
    )
    next_review_on = DayField("Next review", description="The date of the next review, for example, 27 9 2026")
    how_progress_judged = _text("How progress is judged", max_length=4000)


ACTION_FIELDS: dict[int, type] = {}


def review_form_class(actions: int) -> type:
    """A review report form with a status and notes for each of the plan's ``actions``."""
    if actions not in ACTION_FIELDS:
        fields = {}
        for n in range(1, actions + 1):
            fields[f"action_id_{n}"] = HiddenField()
            fields[f"action_status_{n}"] = RadioField(
                "Where is this action now?", choices=ACTION_STATUSES, widget=GovRadioInput(), validators=[Optional()]
            )
            fields[f"action_notes_{n}"] = _text("Progress notes (optional)", max_length=4000)
        ACTION_FIELDS[actions] = type(f"ReviewReportForm{actions}", (ReviewReportForm,), fields)
    return ACTION_FIELDS[actions]


def report_form(conference: dict, plan: dict | None) -> ReportForm:
    """The form for a conference's report: an enquiry report, or a review
    report with a row for each action of the plan it updates."""
    if conference.get("kind") != "review":
        form = ReportForm()
        form.findings.label.text = f"What the {term('enquiries')} found"
        return form
    return review_form_class(len((plan or {}).get("actions") or []))()


def plan_sections(content: dict | None) -> dict:
    """A plan's content with only the sections a plan holds (what the plans service accepts back)."""
    return {k: v for k, v in (content or {}).items() if k in PLAN_SECTIONS and v not in (None, [], {})}


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def updated_plan(form: ReviewReportForm, base: dict) -> dict:
    """The plan as updated for the review: ``base`` (the plan in force, or the
    draft's updated plan) with the form's sections and each action's progress."""
    plan = plan_sections(base)
    text = (form.plan_concerns.data or "").strip()
    if text:
        plan["concerns"] = text
    else:
        plan.pop("concerns", None)
    contingency, triggers = (form.contingency_plan.data or "").strip(), _lines(form.contingency_triggers.data)
    if contingency or triggers:
        plan["contingency_plan"] = {"plan": contingency, "triggers": triggers}
    else:
        plan.pop("contingency_plan", None)
    judged = (form.how_progress_judged.data or "").strip()
    if form.next_review_on.data or judged:
        plan["review_arrangements"] = {
            "next_review_date": form.next_review_on.data.isoformat() if form.next_review_on.data else None,
            "how_progress_judged": judged,
        }
        if plan["review_arrangements"]["next_review_date"] is None:
            del plan["review_arrangements"]["next_review_date"]
    else:
        plan.pop("review_arrangements", None)
    by_id = {a.get("id"): a for a in plan.get("actions") or []}
    n = 1
    while hasattr(form, f"action_id_{n}"):
        action = by_id.get(getattr(form, f"action_id_{n}").data)
        if action is not None:
            status, notes = (
                getattr(form, f"action_status_{n}").data,
                (getattr(form, f"action_notes_{n}").data or "").strip(),
            )
            if status:
                action["status"] = status
            if notes:
                action["notes"] = notes
            else:
                action.pop("notes", None)
        n += 1
    return plan


def fill_review_plan(form: ReviewReportForm, plan: dict) -> None:
    """The updated plan's sections in the form (from the plan in force for a new report)."""
    form.plan_concerns.data = plan.get("concerns") or ""
    contingency = plan.get("contingency_plan") or {}
    form.contingency_plan.data = contingency.get("plan") or ""
    form.contingency_triggers.data = "\n".join(contingency.get("triggers") or [])
    review = plan.get("review_arrangements") or {}
    form.next_review_on.data = (
        date.fromisoformat(review["next_review_date"]) if review.get("next_review_date") else None
    )
    form.how_progress_judged.data = review.get("how_progress_judged") or ""
    for n, action in enumerate(plan.get("actions") or [], start=1):
        if hasattr(form, f"action_id_{n}"):
            getattr(form, f"action_id_{n}").data = action.get("id")
            getattr(form, f"action_status_{n}").data = action.get("status") or "not_started"
            getattr(form, f"action_notes_{n}").data = action.get("notes") or ""


def review_field(name: str) -> str | None:
    """A plans field of the updated plan ("plan.actions.0.status") as the form's field."""
    parts = name.split(".")
    if parts[0] != "plan":
        return report_field(name)
    rest = parts[1:]
    if not rest:
        return "plan_concerns"
    if rest[0] == "actions" and len(rest) >= 2 and rest[1].isdigit():
        which = "status" if rest[2:3] == ["status"] else "notes"
        return f"action_{which}_{int(rest[1]) + 1}"
    if rest[0] == "contingency_plan":
        return "contingency_triggers" if rest[1:2] == ["triggers"] else "contingency_plan"
    if rest[0] == "review_arrangements":
        return "how_progress_judged" if rest[1:2] == ["how_progress_judged"] else "next_review_on"
    return {"concerns": "plan_concerns"}.get(rest[0])


def plan_in_force(conference: dict) -> dict | None:
    """The content of the plan a review conference reviews (the case's plan)."""
    case = api("plans", f"/v1/cases/{conference['case_id']}")
    if not case.get("plan_id"):
        return None
    try:
        return api("plans", f"/v1/plans/{case['plan_id']}").get("content") or {}
    except NotFound:
        return None


class StepForm(FlaskForm):
    """A step with nothing to fill in: the button, and the CSRF token."""

    submit = SubmitField("Continue", widget=GovSubmitInput())


class ReturnForm(FlaskForm):
    reason = _text(
        "Why are you returning the report?",
        "Enter why you are returning the report",
        "The author reads this and changes the report before submitting it again",
        4000,
    )
    submit = SubmitField("Return the report", widget=GovSubmitInput())


class ShareForm(FlaskForm):
    name_1 = StringField(
        "Full name",
        validators=[InputRequired(message="Enter the name of the person the report was shared with"), Length(max=200)],
        widget=GovTextInput(),
    )
    relationship_1 = StringField(
        "Relationship to the child",
        description="For example, mother, father or carer",
        validators=[InputRequired(message="Enter their relationship to the child"), Length(max=200)],
        widget=GovTextInput(),
    )
    how_1 = RadioField(
        "How was it shared?",
        choices=SHARE_WAYS,
        widget=GovRadioInput(),
        validators=[InputRequired(message="Select how the report was shared")],
    )
    interpreter_1 = RadioField(
        "Was an interpreter used?",
        choices=YES_NO,
        widget=GovRadioInput(),
        validators=[InputRequired(message="Select yes if an interpreter was used")],
    )
    name_2 = StringField("Full name (optional)", validators=[Optional(), Length(max=200)], widget=GovTextInput())
    relationship_2 = StringField(
        "Relationship to the child", validators=[Optional(), Length(max=200)], widget=GovTextInput()
    )
    how_2 = RadioField("How was it shared?", choices=SHARE_WAYS, widget=GovRadioInput(), validators=[Optional()])
    interpreter_2 = RadioField(
        "Was an interpreter used?", choices=YES_NO, widget=GovRadioInput(), validators=[Optional()]
    )
    child_included = RadioField(
        "Did the child see the report too?",
        choices=YES_NO,
        widget=GovRadioInput(),
        validators=[InputRequired(message="Select yes if the child saw the report")],
    )
    submit = SubmitField("Record the sharing", widget=GovSubmitInput())

    def validate(self, extra_validators=None) -> bool:
        """A second person, when named, needs all their details (their fields
        are optional, so the check is the form's)."""
        ok = super().validate(extra_validators)
        second = (self.name_2, self.relationship_2, self.how_2, self.interpreter_2)
        if any(f.data for f in second):
            for f, message in zip(
                second,
                (
                    "Enter the second person's name, or leave their details empty",
                    "Enter the second person's relationship to the child",
                    "Select how the report was shared with the second person",
                    "Select yes if an interpreter was used with the second person",
                ),
            ):
                if not f.data and not f.errors:
                    f.errors = [*f.errors, message]
                    ok = False
        return ok

    def body(self) -> dict:
        people = []
        for n in (1, 2):
            name = getattr(self, f"name_{n}").data
            if name:
                people.append(
                    {
                        "name": name,
                        "relationship": getattr(self, f"relationship_{n}").data,
                        "how": getattr(self, f"how_{n}").data,
                        "interpreter_used": getattr(self, f"interpreter_{n}").data == "yes",
                    }
                )
        return {"with": people, "child_included": self.child_included.data == "yes"}


# --- the services' field errors on the form's fields ---


def report_field(name: str) -> str | None:
    """A plans field ("child_seen.0.on") as the form's field ("seen_on_1")."""
    parts = name.split(".")
    if parts[0] == "child_seen" and len(parts) >= 3 and parts[1].isdigit():
        return f"seen_{'alone' if parts[2] == 'alone' else 'on'}_{int(parts[1]) + 1}"
    return parts[0] if parts[0] in ("findings", "childs_views", "family_views") else None


def share_field(name: str) -> str | None:
    parts = name.split(".")
    if parts[0] == "with" and len(parts) >= 3 and parts[1].isdigit():
        field = {"interpreter_used": "interpreter"}.get(parts[2], parts[2])
        return f"{field}_{int(parts[1]) + 1}"
    if parts[0] == "with":
        return "name_1"
    return {"child_included": "child_included", "reason": "reason"}.get(parts[0])


def show_invalid(form: FlaskForm, exc: Invalid, to_field) -> list[str]:
    """Put a 422's messages on the matching fields; the rest are returned,
    for the error summary on their own."""
    rest: list[str] = []
    for name, messages in exc.fields.items():
        target = to_field(name)
        field = getattr(form, target, None) if target else None
        if field is None:
            rest.extend(
                f"{name.replace('_', ' ').replace('.', ' ')}: {m}" if name != "_schema" else m for m in messages
            )
        else:
            field.errors = [*field.errors, *messages]
    return rest or ([exc.message] if not exc.fields and exc.message else [])


@bp.app_template_global()
def error_summary(form: FlaskForm | None, extra: list[str] | None = None) -> dict | None:
    """The GOV.UK error summary for a form's errors (a date input's link goes
    to its day box), and messages that belong to no field."""
    items = []
    if form is not None and form.errors:
        items = wtforms_errors(form)["errorList"]
        for item in items:
            field = getattr(form, item["href"].lstrip("#"), None)
            if field is not None and isinstance(field.widget, GovDateInput):
                item["href"] += "-day"
    items += [{"text": m} for m in extra or []]
    return {"titleText": "There is a problem", "errorList": items} if items else None


# --- reading a report ---


def _token() -> dict:
    return {"token": session.get("token"), "request_id": g.get("request_id")}


def rules() -> list[dict]:
    """The deployment's timescale rules (kept a few minutes: they change with a deployment)."""
    conf = _conf()
    cached = conf.get("rules")
    if cached is None or time.monotonic() - cached[0] > RULES_FOR_SECONDS:
        cached = conf["rules"] = (time.monotonic(), api("scheduler", "/v1/rules").get("rules") or [])
    return cached[1]


def _of_this_conference(deadline: dict, rule: dict, conference: dict) -> bool:
    """A deadline counted from a conference's day (a rule keyed by the
    conference) belongs to this report's conference when it counts from its
    day: a case's earlier review had its own."""
    if rule.get("key") != "conference_id":
        return True
    anchor = deadline.get("anchor") or {}
    day = conference.get(anchor.get("field") or "") if anchor.get("field") == "scheduled_for" else None
    return not (day and anchor.get("date") and anchor["date"][:10] != day[:10])


def step_deadlines(report: dict, conference: dict, deadlines: list[dict], rule_list: list[dict]) -> dict[str, dict]:
    """Each step's deadline: one of the case's deadlines whose rule the step's
    event meets (a rule for this kind of conference and report)."""
    by_rule = {r["id"]: r for r in rule_list}
    found: dict[str, dict] = {}
    for step, event, _ in STEPS:
        candidates = []
        for d in deadlines:
            rule = by_rule.get(d.get("rule_id")) or {}
            if event not in (rule.get("met_by") or []) or d.get("status") in ("superseded", "cancelled"):
                continue
            if (rule.get("when") or {}).get("kind") not in (None, conference.get("kind")):
                continue
            if (rule.get("met_when") or {}).get("report_kind") not in (None, report.get("kind")):
                continue
            if not _of_this_conference(d, rule, conference):
                continue
            candidates.append(d)
        if candidates:  # the latest: a later conference's, when the case has had several
            found[step] = max(candidates, key=lambda d: (d.get("due_on") or "", d.get("created_at") or ""))
    return found


def staff_names(users) -> dict[str, str]:
    names = {}
    for user in {u for u in users if u}:
        if user == (session.get("user") or {}).get("user"):
            names[user] = session["user"]["name"]
            continue
        try:
            names[user] = api("plans", f"/v1/staff/{user}").get("name") or "a member of staff"
        except NotFound:
            names[user] = "a member of staff"
    return names


def read_report(report_id: str) -> tuple[dict, str | None]:
    answer = services().call("plans", "GET", f"/v1/reports/{report_id}", **_token())
    return answer.body, answer.etag


def report_context(report: dict) -> dict:
    conference = api("plans", f"/v1/conferences/{report['conference_id']}")
    child = api("plans", f"/v1/children/{report['child_id']}")
    deadlines = api("scheduler", "/v1/deadlines", case_id=report["case_id"], page_size=200)["items"]
    dues = step_deadlines(report, conference, deadlines, rules())
    records = report.get("steps") or []
    names = staff_names([r.get("by") for r in records] + [report.get("author")])
    steps = []
    for step, _, words in STEPS:
        done = next((r for r in reversed(records) if r.get("step") == step), None)
        steps.append({"step": step, "words": fill(words), "done": done, "deadline": dues.get(step)})
    returns = [r for r in records if r.get("step") == "returned"]
    signed = report.get("status") not in ("draft", "submitted")
    return {
        "documents": report_documents(report["id"]) if signed else [],
        "signed": signed,
        "plan": report.get("plan") or {},
        "conference_words": term(f"{conference.get('kind')}_conference"),
        "report": report,
        "conference": conference,
        "child": child,
        "child_name": child_name(child),
        "steps": steps,
        "returns": returns,
        "names": names,
        "status_words": STATUS_WORDS,
        "kind_words": KIND_WORDS,
    }


def report_documents(report_id: str) -> list[dict]:
    """The documents made when the report was countersigned (none yet: the docs service answers 404)."""
    from .plan import document_rows

    try:
        return document_rows(api("docs", f"/v1/reports/{report_id}/documents")["documents"])
    except NotFound:
        return []


def render_report(report_id: str, *, problems: list[str] | None = None, status: int = 200):
    report, _ = read_report(report_id)
    return render_template(
        "team/report.html", step_form=StepForm(), problems=problems or [], **report_context(report)
    ), status


@bp.get("/reports/<report_id>")
@signed_in()
def report(report_id: str):
    return render_report(report_id)


@bp.get("/conferences/<conference_id>/report")
@signed_in()
def conference_report(conference_id: str):
    """The conference's report, or a new one when it has none yet."""
    reports = api("plans", f"/v1/conferences/{conference_id}/reports")
    if reports:
        return redirect(url_for("reports.report", report_id=reports[-1]["id"]))
    return redirect(url_for("reports.new_report", conference_id=conference_id))


# --- drafting and changing ---


def _form_page(form: ReportForm, problems: list[str], conference: dict, child: dict, plan: dict | None, **kw):
    review = isinstance(form, ReviewReportForm)
    return render_template(
        "team/report_form.html",
        form=form,
        problems=problems,
        conference=conference,
        child_name=child_name(child),
        review=review,
        plan=plan or {},
        actions=list(enumerate((plan or {}).get("actions") or [], start=1)),
        **kw,
    ), (400 if form.errors or problems else 200)


def _body(form: ReportForm, base_plan: dict | None) -> dict:
    body = report_body(form)
    if isinstance(form, ReviewReportForm):
        body["plan"] = updated_plan(form, base_plan or {})
    return body


@bp.route("/conferences/<conference_id>/reports/new", methods=["GET", "POST"])
@signed_in(*AUTHORS)
def new_report(conference_id: str):
    conference = api("plans", f"/v1/conferences/{conference_id}")
    child = api("plans", f"/v1/children/{conference['child_id']}")
    plan = plan_in_force(conference) if conference.get("kind") == "review" else None
    form = report_form(conference, plan)
    to_field = review_field if isinstance(form, ReviewReportForm) else report_field
    problems: list[str] = []
    if request.method == "GET":
        form.idempotency_key.data = uuid.uuid4().hex
        if isinstance(form, ReviewReportForm):
            fill_review_plan(form, plan or {})
    elif form.validate_on_submit() & check_seen(form):
        try:
            answer = services().create(
                "plans",
                f"/v1/conferences/{conference_id}/reports",
                _body(form, plan),
                idempotency_key=form.idempotency_key.data or None,
                **_token(),
            )
        except Invalid as exc:
            problems = show_invalid(form, exc, to_field)
        except (Refused, Forbidden) as exc:
            problems = [exc.message or "The report cannot be drafted now."]
        else:
            flash("The draft report is saved.", "success")
            return redirect(url_for("reports.report", report_id=answer.body["id"]))
    return _form_page(
        form,
        problems,
        conference,
        child,
        plan,
        drafting=True,
        title_words=f"Draft the report to the {term('review_conference')}"
        if conference.get("kind") == "review"
        else "Draft the report to conference",
    )


@bp.route("/reports/<report_id>/edit", methods=["GET", "POST"])
@signed_in(*AUTHORS)
def edit_report(report_id: str):
    record, etag = read_report(report_id)
    conference = api("plans", f"/v1/conferences/{record['conference_id']}")
    child = api("plans", f"/v1/children/{record['child_id']}")
    plan = (record.get("plan") or plan_in_force(conference)) if conference.get("kind") == "review" else None
    form = report_form(conference, plan)
    to_field = review_field if isinstance(form, ReviewReportForm) else report_field
    problems: list[str] = []
    if request.method == "GET":
        fill_report_form(form, record)
        if isinstance(form, ReviewReportForm):
            fill_review_plan(form, plan or {})
        form.etag.data = etag
    elif form.validate_on_submit() & check_seen(form):
        try:
            services().call(
                "plans",
                "PATCH",
                f"/v1/reports/{report_id}",
                json=_body(form, plan),
                headers={"If-Match": form.etag.data or "*"},
                **_token(),
            )
        except ChangedSinceRead:
            return changed_since_read(
                "Someone changed this report since you opened it",
                ["Your changes were not saved, so nothing of theirs was overwritten."],
                [
                    (
                        url_for("reports.report", report_id=record["id"]),
                        "Read the report as it is now",
                        ", then change it again.",
                    )
                ],
            )
        except Invalid as exc:
            problems = show_invalid(form, exc, to_field)
        except (Refused, Forbidden) as exc:
            problems = [exc.message or "The report cannot be changed now."]
        else:
            flash("Your changes to the draft are saved.", "success")
            return redirect(url_for("reports.report", report_id=report_id))
    form.submit.label.text = "Save the changes"
    return _form_page(
        form, problems, conference, child, plan, report=record, drafting=False, title_words="Change the draft report"
    )


# --- the steps ---

DONE = {
    "submit": "The report is submitted for countersigning.",
    "countersign": "The report is countersigned.",
    "send-to-chair": "The report is recorded as sent to the chair.",
}


@bp.post("/reports/<report_id>/<any(submit, countersign, 'send-to-chair'):step>")
@signed_in(*AUTHORS)
def take_step(report_id: str, step: str):
    form = StepForm()
    if not form.validate_on_submit():
        return render_report(report_id, problems=["Your form could not be sent. Try again."], status=400)
    try:
        services().call("plans", "POST", f"/v1/reports/{report_id}/{step}", json={}, **_token())
    except (Refused, Forbidden) as exc:
        return render_report(
            report_id, problems=[exc.message or "This step cannot be taken now."], status=exc.status or 409
        )
    except Invalid as exc:
        return render_report(
            report_id, problems=[m for ms in exc.fields.values() for m in ms] or [exc.message], status=422
        )
    flash(DONE[step], "success")
    if step == "countersign":
        return redirect(url_for("team.approvals"))
    return redirect(url_for("reports.report", report_id=report_id))


def _step_form_page(
    report_id: str,
    form: FlaskForm,
    path: str,
    body: dict | None,
    to_field,
    template: str,
    done: str,
    after: str | None = None,
):
    record, _ = read_report(report_id)
    problems: list[str] = []
    if body is not None:
        try:
            services().call("plans", "POST", f"/v1/reports/{report_id}/{path}", json=body, **_token())
        except Invalid as exc:
            problems = show_invalid(form, exc, to_field)
        except (Refused, Forbidden) as exc:
            problems = [exc.message or "This step cannot be taken now."]
        else:
            flash(done, "success")
            return redirect(after or url_for("reports.report", report_id=report_id))
    child = api("plans", f"/v1/children/{record['child_id']}")
    return render_template(template, form=form, problems=problems, report=record, child_name=child_name(child)), (
        400 if form.errors or problems else 200
    )


@bp.route("/reports/<report_id>/return", methods=["GET", "POST"])
@signed_in("team_manager")
def return_report(report_id: str):
    form = ReturnForm()
    body = {"reason": form.reason.data} if form.validate_on_submit() else None
    return _step_form_page(
        report_id,
        form,
        "return",
        body,
        share_field,
        "team/return.html",
        "The report is returned to its author with your reason.",
        url_for("team.approvals"),
    )


@bp.route("/reports/<report_id>/share", methods=["GET", "POST"])
@signed_in(*AUTHORS)
def share_report(report_id: str):
    form = ShareForm()
    body = form.body() if form.validate_on_submit() else None
    return _step_form_page(
        report_id, form, "share", body, share_field, "team/share.html", "The sharing with the family is recorded."
    )
