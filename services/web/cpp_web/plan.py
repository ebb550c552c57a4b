"""The plan and its documents: the version in force, a change to its text
sections (with the ETag read when the form was opened, and a page for a
change someone else made first), every agreed version and the difference
between any two, a core group meeting, a visit and a significant change
(and the day the chair was told of it) recorded from the plan,
its escalations (each raised with the day its decision was taken, then the
referral made to its route's recipient and the steps its route declares),
and every document of the plan and its case, opened through this
application (the file is fetched from the docs service with the signed-in
person's token and streamed; no token is ever in a URL).

The difference between two versions is Python's ``difflib`` on each
section's text, line by line (``plan_text`` writes each section as lines).
"""

from __future__ import annotations

import difflib
import uuid
from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovDateInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from markupsafe import Markup
from wtforms import (
    DateField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from . import rhythm
from .client import ChangedSinceRead, Forbidden, Invalid, NotFound, Refused
from .views import api, api_at_once, child_name, day, holds, plugins, services, signed_in, words_of
from .words import Phrases, Worded, term

bp = Blueprint("plan", __name__)

TEXT_MAX = 4000
STATUSES = {"outline": "Outline plan", "active": "Active", "ended": "Ended"}
AGREED_AT = Phrases(
    {
        "initial_conference": "At the {initial_conference}",
        "core_group_meeting": "At a {core_group} meeting",
        "review_conference": "At a review {conference}",
        "change": "As an agreed change",
    }
)
ACTION_STATUSES = {"not_started": "Not started", "in_progress": "In progress", "done": "Done", "not_done": "Not done"}
DOCUMENT_KINDS = Phrases(
    {
        "outline_plan": "Outline {plan}",
        "professional_plan": "{Plan}",
        "family_plan": "{Plan}, family version",
        "core_group_record": "{Core_group} meeting record",
        "conference_record": "{Conference} record",
        "conference_report": "Report to {conference}",
        "family_report": "Report to {conference}, family version",
        "family_letter": "Letter to the family about the {conference}",
    }
)
FAMILY_KINDS = ("family_plan", "family_report", "family_letter")
# The sections a change form holds, in the plan's order.
CHANGEABLE = ("concerns", "childs_views", "familys_views", "contingency_plan")
SECTION_TITLES = Phrases(
    {
        "key_worker": "Key worker",
        "categories": "{Categories}",
        "concerns": "Concerns",
        "causes_of_harm": "Causes of harm",
        "childs_needs": "The child's needs",
        "parents_needs": "The parents' needs",
        "outcomes": "Outcomes",
        "actions": "Actions",
        "interventions": "Interventions",
        "monitoring": "Monitoring",
        "further_assessments": "Further assessments",
        "review_arrangements": "Review arrangements",
        "contingency_plan": "Contingency plan",
        "core_group": "{Core_group}",
        "first_core_group_on": "First {core_group} meeting",
        "childs_views": "The child's views",
        "familys_views": "The family's views",
        "accessibility": "Language and accessibility",
        "rhythm": "Visits and {core_group} meetings",
    }
)


# --- words ---

ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")


def ordinal(n: int) -> str:
    """1 -> "first", ..., 10 -> "tenth", then "11th", "21st"..."""
    if 1 <= n <= len(ORDINALS):
        return ORDINALS[n - 1]
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def nth_plan(plan: dict) -> str | None:
    """ "This is the child's third child protection plan." from the plan's number of earlier plans; None for a
    plan made before they were counted."""
    previous = plan.get("previous_plans")
    if not isinstance(previous, int):
        return None
    return f"This is the child's {ordinal(previous + 1)} {term('plan')}."


def category_names(answer: Any) -> dict[str, str]:
    """The deployment's categories by id (GET /v1/categories); {} when they could not be read, so that the
    page names each by its id in words."""
    return {c["id"]: c["name"] for c in answer["items"]} if isinstance(answer, dict) else {}


def frequency(value: Any) -> str:
    if isinstance(value, dict):
        every, unit = value.get("every"), value.get("unit", "")
        return f"Every {unit.rstrip('s')}" if every == 1 else f"Every {every} {unit}"
    return str(value or "")


def paragraphs(text: str | None) -> Markup:
    """Free text as GOV.UK paragraphs, one for each line (escaped)."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return Markup("").join(Markup('<p class="govuk-body">{}</p>').format(line) for line in lines)


for _name, _filter in (("frequency", frequency), ("paragraphs", paragraphs)):
    bp.add_app_template_filter(_filter, _name)


def staff_name(user: str | None, entry: Any = None) -> str:
    """A member of staff's name from the staff directory (never their id);
    ``entry`` is their entry (or the error) when it was read already."""
    if not user:
        return "Not recorded"
    names = g.setdefault("staff_names", {})
    if user not in names:
        if entry is None:
            try:
                entry = api("plans", f"/v1/staff/{user}")
            except (NotFound, Forbidden) as exc:
                entry = exc
        names[user] = (
            "A member of staff" if isinstance(entry, Exception) else (entry.get("name") or "A member of staff")
        )
    return names[user]


def agreed_words(agreed: dict | None) -> dict:
    agreed = agreed or {}
    return {
        "by": staff_name(agreed.get("by")),
        "on": day(agreed.get("on")) or "Not recorded",
        "at": AGREED_AT.get(agreed.get("at") or "", words_of(agreed.get("at")) or "Not recorded"),
    }


# --- the plan as text, section by section (the difference view's lines) ---


def _person(p: dict) -> str:
    parts = [p.get("name"), p.get("role") or p.get("relationship"), p.get("agency")]
    text = ", ".join(x for x in parts if x)
    if p.get("is_family_member"):
        text += " (family member)"
    contact = "; ".join(x for x in (p.get("phone"), p.get("email")) if x)
    return f"{text} – {contact}" if contact else text


def plan_text(content: dict) -> list[tuple[str, list[str]]]:
    """Each section of a plan's content as its title and lines of text, in the plan's order."""
    c = content or {}
    out: list[tuple[str, list[str]]] = []

    def add(key: str, lines: list[str]) -> None:
        out.append((SECTION_TITLES[key], [line for line in lines if line]))

    kw = c.get("key_worker") or {}
    add("key_worker", [_person({**kw, "agency": kw.get("team")})] if kw else [])
    add("categories", [words_of(x) for x in c.get("categories") or []])
    add("concerns", (c.get("concerns") or "").splitlines())
    add("causes_of_harm", list(c.get("causes_of_harm") or []))
    add("childs_needs", [f"{n['need']}: {n['how_met']}" for n in c.get("childs_needs") or []])
    add("parents_needs", [f"{n['need']}: {n['how_met']}" for n in c.get("parents_needs") or []])
    outcomes = {o.get("id"): o for o in c.get("outcomes") or []}
    add(
        "outcomes",
        [
            f"{o['description']} ({words_of(o.get('term'))} term, by {day(o.get('target_date'))}). "
            f"Progress judged by: {o.get('how_progress_judged')}"
            for o in outcomes.values()
        ],
    )
    add(
        "actions",
        [
            f"{a['what']} – {_person(a.get('who') or {})}, by {day(a.get('by_when'))} "
            f"({ACTION_STATUSES.get(a.get('status'), words_of(a.get('status')))}). Why: {a.get('why')}. "
            f"Towards: {(outcomes.get(a.get('outcome_id')) or {}).get('description', 'an outcome')}"
            + (f". Notes: {a['notes']}" if a.get("notes") else "")
            for a in c.get("actions") or []
        ],
    )
    add("interventions", [f"{words_of(i['kind'])}: {i['description']}" for i in c.get("interventions") or []])
    add(
        "monitoring",
        [
            f"{m['who']} ({m['agency']}): {m['what']} – {words_of(m.get('contact_type'))}, "
            f"{frequency(m.get('frequency')).lower()}"
            for m in c.get("monitoring") or []
        ],
    )
    add(
        "further_assessments",
        [
            f"{a['assessment']} – {a['by_whom']}" + (f", by {day(a['by_when'])}" if a.get("by_when") else "")
            for a in c.get("further_assessments") or []
        ],
    )
    review = c.get("review_arrangements") or {}
    add(
        "review_arrangements",
        [
            f"Next review: {day(review.get('next_review_date'))}",
            f"Progress judged by: {review.get('how_progress_judged')}",
        ]
        if review
        else [],
    )
    contingency = c.get("contingency_plan") or {}
    add(
        "contingency_plan",
        (contingency.get("plan") or "").splitlines() + [f"Trigger: {t}" for t in contingency.get("triggers") or []],
    )
    add("core_group", [_person(m) for m in c.get("core_group") or []])
    add("first_core_group_on", [day(c.get("first_core_group_on"))])
    add("rhythm", rhythm.lines(c.get("rhythm")))
    add("childs_views", (c.get("childs_views") or "").splitlines())
    add("familys_views", (c.get("familys_views") or "").splitlines())
    acc = c.get("accessibility") or {}
    add(
        "accessibility",
        [
            f"First language: {acc['first_language']}" if acc.get("first_language") else "",
            f"Interpreter: {acc.get('interpreter_language') or 'needed'}" if acc.get("interpreter_needed") else "",
            ("Formats: " + ", ".join(words_of(f) for f in acc["accessible_formats"]))
            if acc.get("accessible_formats")
            else "",
            acc.get("cultural_considerations") or "",
            acc.get("disability_adjustments") or "",
        ],
    )
    return out


def difference(old: dict, new: dict) -> list[dict]:
    """Each section whose text differs between two contents, with its lines
    marked ``same``, ``removed`` or ``added`` (difflib's opcodes)."""
    changed = []
    for (title, a), (_, b) in zip(plan_text(old), plan_text(new)):
        if a == b:
            continue
        lines = []
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
            if tag == "equal":
                lines += [("same", line) for line in a[i1:i2]]
            else:
                lines += [("removed", line) for line in a[i1:i2]] + [("added", line) for line in b[j1:j2]]
        changed.append({"title": title, "lines": lines})
    return changed


# --- reading ---


def read_plan(plan_id: str) -> tuple[dict, str | None]:
    answer = services().call(
        "plans", "GET", f"/v1/plans/{plan_id}", token=session.get("token"), request_id=g.get("request_id")
    )
    return answer.body, answer.etag


def child_of(plan: dict) -> str:
    try:
        return child_name(api("plans", f"/v1/children/{plan['child_id']}"))
    except NotFound:
        return "Unnamed child"


def documents_of(path: str) -> list[dict]:
    """A listing of the docs service; none yet is an empty list (the service answers 404)."""
    try:
        return api("docs", path)["documents"]
    except NotFound:
        return []


@bp.get("/plans/<plan_id>")
@signed_in()
def plan(plan_id: str):
    record, _ = read_plan(plan_id)
    content = record.get("content") or {}
    outcomes = {o.get("id"): o for o in content.get("outcomes") or []}
    agreed_by = (record.get("agreed") or {}).get("by")
    # The child and the person who agreed the version: two reads at once.
    child, by, categories, changes = api_at_once(
        ("plans", f"/v1/children/{record['child_id']}"),
        ("plans", f"/v1/staff/{agreed_by}") if agreed_by else None,
        ("plans", "/v1/categories"),
        ("plans", f"/v1/plans/{plan_id}/significant-changes"),
        keep=(NotFound, Forbidden),
    )
    if isinstance(child, Forbidden):
        raise child
    if isinstance(changes, (NotFound, Forbidden)):  # kept only for the child's answer
        raise changes
    staff_name(agreed_by, by)
    return render_template(
        "plan/plan.html",
        plan=record,
        content=content,
        outcomes=outcomes,
        child_name="Unnamed child" if isinstance(child, NotFound) else child_name(child),
        status=STATUSES.get(record.get("status", ""), record.get("status")),
        agreed=agreed_words(record.get("agreed")),
        action_statuses=ACTION_STATUSES,
        can_change=holds("social_worker", "team_manager") and record.get("status") != "ended",
        category_names=category_names(categories),
        nth_plan=nth_plan(record),
        significant_changes=changes["items"],
        can_record=holds("social_worker", "team_manager"),
        escalations=escalation_rows(record),
        rhythm_lines=rhythm.lines(content.get("rhythm")),
    )


# --- changing the plan ---


class PlanChangeForm(FlaskForm):
    etag = HiddenField()
    base_version = HiddenField()
    concerns = TextAreaField(
        "Concerns",
        validators=[Optional(), Length(max=TEXT_MAX)],
        widget=GovTextArea(),
        description="The concerns and the main causes of harm, and why the work needs to happen",
    )
    childs_views = TextAreaField(
        "The child's views", validators=[Optional(), Length(max=TEXT_MAX)], widget=GovTextArea()
    )
    familys_views = TextAreaField(
        "The family's views", validators=[Optional(), Length(max=TEXT_MAX)], widget=GovTextArea()
    )
    contingency_plan = TextAreaField(
        "Contingency plan",
        validators=[Optional(), Length(max=TEXT_MAX)],
        widget=GovTextArea(),
        description="What happens if the plan is not working",
    )
    triggers = TextAreaField(
        "What triggers the contingency plan",
        validators=[Optional(), Length(max=TEXT_MAX)],
        widget=GovTextArea(),
        description="One circumstance on each line",
    )
    submit = SubmitField("Save the change", widget=GovSubmitInput())


def _clean(text: str | None) -> str | None:
    text = (text or "").replace("\r\n", "\n").strip()
    return text or None


def sections_of(content: dict) -> dict:
    """The changeable sections of a plan's content, as the form compares them."""
    contingency = content.get("contingency_plan")
    return {
        "concerns": _clean(content.get("concerns")),
        "childs_views": _clean(content.get("childs_views")),
        "familys_views": _clean(content.get("familys_views")),
        "contingency_plan": {
            "plan": _clean(contingency.get("plan")),
            "triggers": [t.strip() for t in contingency.get("triggers") or [] if t.strip()],
        }
        if contingency
        else None,
    }


def sections_typed(form: PlanChangeForm) -> dict:
    """The changeable sections as the form holds them."""
    plan_text_, triggers = (
        _clean(form.contingency_plan.data),
        [t.strip() for t in (form.triggers.data or "").splitlines() if t.strip()],
    )
    return {
        "concerns": _clean(form.concerns.data),
        "childs_views": _clean(form.childs_views.data),
        "familys_views": _clean(form.familys_views.data),
        "contingency_plan": {"plan": plan_text_, "triggers": triggers} if plan_text_ or triggers else None,
    }


def fill(form: PlanChangeForm, sections: dict, etag: str | None, version: Any) -> None:
    contingency = sections.get("contingency_plan") or {}
    form.concerns.data = sections.get("concerns") or ""
    form.childs_views.data = sections.get("childs_views") or ""
    form.familys_views.data = sections.get("familys_views") or ""
    form.contingency_plan.data = contingency.get("plan") or ""
    form.triggers.data = "\n".join(contingency.get("triggers") or [])
    form.etag.data, form.base_version.data = etag or "", str(version or "")


def content_of_version(plan_id: str, number: Any) -> dict | None:
    try:
        return api("plans", f"/v1/plans/{plan_id}/versions/{int(number)}").get("content") or {}
    except (NotFound, ValueError, TypeError):
        return None


CHANGE_FIELDS = {
    "concerns": "concerns",
    "childs_views": "childs_views",
    "familys_views": "familys_views",
    "contingency_plan.plan": "contingency_plan",
    "contingency_plan.triggers": "triggers",
    "contingency_plan": "contingency_plan",
}


def show_service_errors(form: FlaskForm, fields: dict[str, list[str]], mapping: dict[str, str], fallback: str) -> None:
    """A service's field errors (``Invalid.fields``) on the matching form
    fields: the longest mapped prefix of each error's name decides."""
    for name, messages in fields.items():
        target = next(
            (mapping[k] for k in sorted(mapping, key=len, reverse=True) if name == k or name.startswith(k + ".")),
            fallback,
        )
        getattr(form, target).errors = list(getattr(form, target).errors) + list(messages)


@bp.route("/plans/<plan_id>/change", methods=["GET", "POST"])
@signed_in("social_worker", "team_manager")
def change(plan_id: str):
    form = PlanChangeForm()
    if request.method == "GET":
        record, etag = read_plan(plan_id)
        fill(form, sections_of(record.get("content") or {}), etag, record.get("plan_version"))
        return render_template("plan/change.html", form=form, plan=record, child_name=child_of(record))
    if not form.validate_on_submit():
        record, _ = read_plan(plan_id)
        return render_template("plan/change.html", form=form, plan=record, child_name=child_of(record)), 400
    typed = sections_typed(form)
    base = content_of_version(plan_id, form.base_version.data)
    base_sections = sections_of(base) if base is not None else None
    changes = {k: v for k, v in typed.items() if base_sections is None or v != base_sections[k]}
    if not changes:
        flash("You did not change anything, so the plan is as it was.", "success")
        return redirect(url_for("plan.plan", plan_id=plan_id))
    try:
        answer = services().call(
            "plans",
            "PATCH",
            f"/v1/plans/{plan_id}",
            json=changes,
            headers={"If-Match": form.etag.data},
            token=session.get("token"),
            request_id=g.get("request_id"),
        )
    except ChangedSinceRead:
        return conflict(plan_id, typed, base_sections)
    except Invalid as exc:
        show_service_errors(form, exc.fields, CHANGE_FIELDS, "concerns")
    except Refused as exc:
        form.concerns.errors = [*form.concerns.errors, f"This change cannot be made now: {exc.message}"]
    else:
        flash(f"The change is saved: this is version {answer.body.get('plan_version')} of the plan.", "success")
        return redirect(url_for("plan.plan", plan_id=plan_id))
    record, _ = read_plan(plan_id)
    return render_template("plan/change.html", form=form, plan=record, child_name=child_of(record)), 422


def conflict(plan_id: str, typed: dict, base: dict | None):
    """Someone changed the plan since the form was opened: theirs as it is now
    beside yours as you typed it, and a form holding yours on top of theirs
    (with their ETag) to save again."""
    theirs_record, theirs_etag = read_plan(plan_id)
    theirs = sections_of(theirs_record.get("content") or {})
    rows = []
    for key in CHANGEABLE:
        mine_changed = base is None or typed[key] != base[key]
        theirs_changed = base is not None and theirs[key] != base[key]
        rows.append(
            {
                "key": key,
                "title": SECTION_TITLES[key],
                "theirs": theirs[key],
                "mine": typed[key],
                "mine_changed": mine_changed and typed[key] != theirs[key],
                "theirs_changed": theirs_changed,
                "both": mine_changed and theirs_changed and typed[key] != theirs[key],
            }
        )
    merged = {r["key"]: (r["mine"] if r["mine_changed"] else r["theirs"]) for r in rows}
    form = PlanChangeForm(formdata=None)
    fill(form, merged, theirs_etag, theirs_record.get("plan_version"))
    return render_template(
        "plan/conflict.html",
        form=form,
        plan=theirs_record,
        rows=rows,
        child_name=child_of(theirs_record),
        agreed=agreed_words(theirs_record.get("agreed")),
    ), 409


# --- versions ---


def versions_of(plan_id: str) -> list[dict]:
    return api("plans", f"/v1/plans/{plan_id}/versions").get("versions") or []


class CompareForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form that changes nothing

    old = SelectField("Earlier version", widget=GovSelect())
    new = SelectField("Later version", widget=GovSelect())
    submit = SubmitField("Show the difference", widget=GovSubmitInput())


def compare_form(versions: list[dict], old: int | None = None, new: int | None = None) -> CompareForm:
    form = CompareForm(formdata=None)
    choices = [SelectChoice(str(v["number"]), f"Version {v['number']}") for v in versions]
    form.old.choices = form.new.choices = choices
    if versions:
        form.new.data = str(new or versions[-1]["number"])
        form.old.data = str(old or versions[max(len(versions) - 2, 0)]["number"])
    return form


@bp.get("/plans/<plan_id>/versions")
@signed_in()
def versions(plan_id: str):
    record, _ = read_plan(plan_id)
    listed = versions_of(plan_id)
    for v in listed:
        v["agreed_words"] = agreed_words(v.get("agreed"))
    return render_template(
        "plan/versions.html",
        plan=record,
        versions=listed,
        child_name=child_of(record),
        form=compare_form(listed),
        statuses=STATUSES,
    )


@bp.get("/plans/<plan_id>/versions/difference")
@signed_in()
def version_difference(plan_id: str):
    record, _ = read_plan(plan_id)
    listed = {v["number"]: v for v in versions_of(plan_id)}
    try:
        old, new = int(request.args.get("old", "")), int(request.args.get("new", ""))
    except ValueError:
        abort(404)
    if old not in listed or new not in listed:
        abort(404)
    if old > new:
        old, new = new, old
    form = compare_form(list(listed.values()), old, new)
    return render_template(
        "plan/difference.html",
        plan=record,
        child_name=child_of(record),
        old=listed[old],
        new=listed[new],
        old_agreed=agreed_words(listed[old].get("agreed")),
        new_agreed=agreed_words(listed[new].get("agreed")),
        form=form,
        changes=difference(listed[old].get("content") or {}, listed[new].get("content") or {}),
    )


# --- recording a core group meeting and a visit ---

YES_NO = [SelectChoice("yes", "Yes"), SelectChoice("no", "No")]


def yes_or_no(label: str, message: str) -> RadioField:
    """A yes-or-no question; no answer, or one not offered, is ``message``."""
    return RadioField(
        label,
        choices=YES_NO,
        widget=GovRadioInput(),
        invalid_choice_message=message,
        validators=[InputRequired(message=message)],
    )


class DayMonthYearField(DateField):
    """A GOV.UK date input's three boxes (day, month, year) as a date; all
    three empty is no date (for InputRequired to name)."""

    def process_formdata(self, valuelist):
        parts = [v.strip() for v in [*valuelist, "", "", ""]][:3]
        self.raw_data = parts
        self.data = None
        if not any(parts):
            return
        try:
            self.data = date(int(parts[2]), int(parts[1]), int(parts[0]))
        except ValueError:
            raise ValueError("Enter a real date, with the day, month and year as numbers") from None


CONTACT_TYPES = ("home_visit", "school", "health_visitor", "gp", "phone")  # how a monitoring arrangement sees the child


class CoreGroupMeetingFields:
    """A core group meeting's own questions: when, who attended, whether it
    agreed the detailed plan, notes. On one plan's meeting form, and on the
    family's meeting form (families.py: the agreement asked for each child)."""

    held_on = DayMonthYearField(
        "When was the meeting held?",
        widget=GovDateInput(),
        validators=[InputRequired(message="Enter the date the meeting was held")],
        description="For example, 27 3 2026",
    )
    attendees = TextAreaField(
        "Who attended?",
        widget=GovTextArea(),
        validators=[Optional(), Length(max=TEXT_MAX)],
        description="One person on each line: their name, then their role and agency, "
        "separated by commas. For example, Alex Parent, mother",
    )
    detailed_plan_agreed = yes_or_no(
        "Did the meeting agree the detailed plan?", "Select yes if the meeting agreed the detailed plan"
    )
    notes = TextAreaField("Notes", widget=GovTextArea(), validators=[Optional(), Length(max=TEXT_MAX)])


class DetailedPlanFields(rhythm.RhythmFields):
    """The detailed plan a core group meeting agrees: an outcome, an action, a
    monitoring arrangement added to the plan's own; the review arrangements,
    the contingency plan and the plan's rhythm (visits, core group meetings)
    as they are now (``prefill_detailed``). Read
    back with ``detailed_plan``; the plans service's errors on them by
    ``DETAILED_FIELDS``."""

    outcome = TextAreaField(
        "Outcome for the child",
        widget=GovTextArea(),
        validators=[Optional(), Length(max=TEXT_MAX)],
        description="What will be different for the child, for example, Rosa lives in a safe, clean home",
    )
    outcome_term = SelectField(
        "Short or long term",
        widget=GovSelect(),
        choices=[SelectChoice("short", "Short term"), SelectChoice("long", "Long term")],
        validate_choice=False,
    )
    outcome_on = DayMonthYearField(
        "When is the outcome reviewed?",
        widget=GovDateInput(),
        validators=[Optional()],
        description="For example, 27 9 2026",
    )
    outcome_judged = StringField(
        "How progress towards the outcome is judged",
        widget=GovTextInput(),
        validators=[Optional(), Length(max=TEXT_MAX)],
    )
    action_what = StringField("What will be done", widget=GovTextInput(), validators=[Optional(), Length(max=TEXT_MAX)])
    action_why = StringField("Why", widget=GovTextInput(), validators=[Optional(), Length(max=TEXT_MAX)])
    action_who = StringField("Who will do it", widget=GovTextInput(), validators=[Optional(), Length(max=200)])
    action_who_kind = RadioField(
        "Is this person a professional or a family member?",
        widget=GovRadioInput(),
        choices=[SelectChoice("professional", "A professional"), SelectChoice("family_member", "A family member")],
        validators=[Optional()],
        validate_choice=False,
    )
    action_by = DayMonthYearField(
        "By when", widget=GovDateInput(), validators=[Optional()], description="For example, 27 4 2026"
    )
    monitoring_who = StringField(
        "Who monitors the plan", widget=GovTextInput(), validators=[Optional(), Length(max=200)]
    )
    monitoring_agency = StringField("Their agency", widget=GovTextInput(), validators=[Optional(), Length(max=200)])
    monitoring_what = StringField(
        "What they do",
        widget=GovTextInput(),
        validators=[Optional(), Length(max=TEXT_MAX)],
        description="For example, sees Rosa at home",
    )
    monitoring_contact = SelectField(
        "How", widget=GovSelect(), choices=[SelectChoice(k, words_of(k)) for k in CONTACT_TYPES], validate_choice=False
    )
    monitoring_every = StringField(
        "How often: every",
        widget=GovTextInput(),
        validators=[Optional(), Length(max=3)],
        description="A number, for example, 2",
    )
    monitoring_unit = SelectField(
        "Days, weeks or months",
        widget=GovSelect(),
        choices=[SelectChoice("weeks", "Weeks"), SelectChoice("days", "Days"), SelectChoice("months", "Months")],
        validate_choice=False,
    )
    next_review_on = DayMonthYearField(
        "Date of the next review", widget=GovDateInput(), validators=[Optional()], description="For example, 27 6 2026"
    )
    review_judged = StringField(
        "How progress is judged at the review", widget=GovTextInput(), validators=[Optional(), Length(max=TEXT_MAX)]
    )
    contingency_plan = TextAreaField(
        "Contingency plan",
        widget=GovTextArea(),
        validators=[Optional(), Length(max=TEXT_MAX)],
        description="What happens if the plan is not working",
    )
    triggers = TextAreaField(
        "What triggers the contingency plan",
        widget=GovTextArea(),
        validators=[Optional(), Length(max=TEXT_MAX)],
        description="One circumstance on each line",
    )


class CoreGroupMeetingForm(CoreGroupMeetingFields, DetailedPlanFields, FlaskForm):
    idempotency_key = HiddenField()
    submit = SubmitField("Record the meeting", widget=GovSubmitInput())


DETAILED_FIELDS = {
    "plan.outcomes": "outcome",
    "plan.actions": "action_what",
    "plan.monitoring": "monitoring_who",
    "plan.review_arrangements": "next_review_on",
    "plan.contingency_plan": "contingency_plan",
    **rhythm.error_fields("plan"),
}


def prefill_detailed(form: DetailedPlanFields, content: dict) -> None:
    """The review arrangements and the contingency plan as the plan has them."""
    review, contingency = content.get("review_arrangements") or {}, content.get("contingency_plan") or {}
    if review.get("next_review_date"):
        form.next_review_on.data = date.fromisoformat(review["next_review_date"])
    form.review_judged.data = review.get("how_progress_judged") or ""
    form.contingency_plan.data = contingency.get("plan") or ""
    form.triggers.data = "\n".join(contingency.get("triggers") or [])
    rhythm.prefill(form, content.get("rhythm"))


def detailed_plan(form: DetailedPlanFields, content: dict) -> dict | None:
    """The plan as the meeting agrees it: the plan's content with what the form adds and changes; None when
    the form adds and changes nothing."""
    plan, changed = dict(content), False
    outcomes, actions = list(content.get("outcomes") or []), list(content.get("actions") or [])
    if _clean(form.outcome.data) or form.outcome_on.data or _clean(form.outcome_judged.data):
        taken = {o.get("id") for o in outcomes}
        outcome_id = next(f"outcome-{n}" for n in range(1, len(taken) + 2) if f"outcome-{n}" not in taken)
        outcomes.append(
            {
                "id": outcome_id,
                "description": _clean(form.outcome.data),
                "term": form.outcome_term.data or "short",
                "target_date": form.outcome_on.data.isoformat() if form.outcome_on.data else None,
                "how_progress_judged": _clean(form.outcome_judged.data),
            }
        )
        plan["outcomes"], changed = outcomes, True
    if _clean(form.action_what.data) or _clean(form.action_who.data) or form.action_by.data:
        taken = {a.get("id") for a in actions}
        action_id = next(f"action-{n}" for n in range(1, len(taken) + 2) if f"action-{n}" not in taken)
        actions.append(
            {
                "id": action_id,
                "what": _clean(form.action_what.data),
                "why": _clean(form.action_why.data),
                "who": {"name": _clean(form.action_who.data), "kind": form.action_who_kind.data or None},
                "by_when": form.action_by.data.isoformat() if form.action_by.data else None,
                "outcome_id": outcomes[-1]["id"] if outcomes else None,
            }
        )
        plan["actions"], changed = actions, True
    if _clean(form.monitoring_who.data) or _clean(form.monitoring_what.data):
        every = (form.monitoring_every.data or "").strip()
        plan["monitoring"] = [
            *(content.get("monitoring") or []),
            {
                "who": _clean(form.monitoring_who.data),
                "agency": _clean(form.monitoring_agency.data),
                "what": _clean(form.monitoring_what.data),
                "contact_type": form.monitoring_contact.data or CONTACT_TYPES[0],
                "frequency": {
                    "every": int(every) if every.isdigit() else every or None,
                    "unit": form.monitoring_unit.data or "weeks",
                },
            },
        ]
        changed = True
    review = {
        "next_review_date": form.next_review_on.data.isoformat() if form.next_review_on.data else None,
        "how_progress_judged": _clean(form.review_judged.data),
    }
    if any(review.values()) and review != content.get("review_arrangements"):
        plan["review_arrangements"], changed = review, True
    contingency = {
        "plan": _clean(form.contingency_plan.data),
        "triggers": [t.strip() for t in (form.triggers.data or "").splitlines() if t.strip()],
    }
    if (contingency["plan"] or contingency["triggers"]) and contingency != content.get("contingency_plan"):
        plan["contingency_plan"], changed = contingency, True
    stated = rhythm.rhythm_of(form)
    if stated != (content.get("rhythm") or {}):
        plan["rhythm"], changed = stated, True
    return plan if changed else None


class VisitForm(FlaskForm):
    idempotency_key = HiddenField()
    visited_on = DayMonthYearField(
        "When was the visit?",
        widget=GovDateInput(),
        validators=[InputRequired(message="Enter the date of the visit")],
        description="For example, 27 3 2026",
    )
    announced = yes_or_no("Was the visit announced?", "Select yes if the visit was announced")
    child_seen = yes_or_no("Was the child seen?", "Select yes if the child was seen")
    seen_alone = yes_or_no("Was the child seen alone?", "Select yes if the child was seen alone")
    by = StringField(
        "Who visited?", widget=GovTextInput(), validators=[InputRequired(message="Enter who visited"), Length(max=200)]
    )
    notes = TextAreaField("Notes", widget=GovTextArea(), validators=[Optional(), Length(max=TEXT_MAX)])
    submit = SubmitField("Record the visit", widget=GovSubmitInput())


def key_worker_line(content: dict) -> str | None:
    """The plan's key worker as a line of the attendees box ("Sam Jones, key worker"): a core group meeting
    is held with the key worker; None when the plan names none."""
    name = " ".join(((content.get("key_worker") or {}).get("name") or "").split())
    return f"{name}, key worker" if name else None


def key_worker_lines(contents: list[dict]) -> str:
    """The attendees box as a core group meeting's form first shows it: the key worker of each plan the
    meeting is about, once each."""
    return "\n".join(dict.fromkeys(line for line in map(key_worker_line, contents) if line))


def attendees_of(text: str | None) -> list[dict]:
    people = []
    for line in (text or "").splitlines():
        parts = [p.strip() for p in line.split(",")]
        if not parts[0]:
            continue
        person = {"name": parts[0]}
        if len(parts) > 1 and parts[1]:
            person["role"] = parts[1]
        if len(parts) > 2 and any(parts[2:]):
            person["agency"] = ", ".join(p for p in parts[2:] if p)
        people.append(person)
    return people


def record(
    plan_id: str,
    form: FlaskForm,
    template: str,
    path: str,
    body: dict | None,
    mapping: dict[str, str],
    fallback: str,
    done: str,
    prefill=None,
    **context,
):
    """Show the form (with ``context``); on a valid post, create the record
    (its Idempotency-Key kept in the form, so a repeated post records it once)."""
    if request.method == "GET":
        form.idempotency_key.data = uuid.uuid4().hex
        if prefill:
            prefill(form)
    elif body is not None:  # the form is valid
        try:
            services().create(
                "plans",
                f"/v1/plans/{plan_id}/{path}",
                body,
                idempotency_key=form.idempotency_key.data or None,
                token=session.get("token"),
                request_id=g.get("request_id"),
            )
        except Invalid as exc:
            show_service_errors(form, exc.fields, mapping, fallback)
        except Refused as exc:
            getattr(form, fallback).errors = [
                *getattr(form, fallback).errors,
                f"This cannot be recorded now: {exc.message}",
            ]
        else:
            flash(done, "success")
            return redirect(url_for("plan.plan", plan_id=plan_id))
    record_, _ = read_plan(plan_id)
    return render_template(template, form=form, plan=record_, child_name=child_of(record_), **context), (
        422 if request.method == "POST" else 200
    )


@bp.route("/plans/<plan_id>/core-group-meetings/new", methods=["GET", "POST"])
@signed_in("social_worker", "team_manager")
def new_core_group_meeting(plan_id: str):
    form = CoreGroupMeetingForm()
    body = None
    if form.validate_on_submit():
        body = {
            "held_on": form.held_on.data.isoformat(),
            "attendees": attendees_of(form.attendees.data),
            "detailed_plan_agreed": form.detailed_plan_agreed.data == "yes",
            "notes": _clean(form.notes.data),
        }
        if body["detailed_plan_agreed"]:
            plan = detailed_plan(form, read_plan(plan_id)[0].get("content") or {})
            if plan is not None:
                body["plan"] = plan
    return record(
        plan_id,
        form,
        "plan/core_group_meeting.html",
        "core-group-meetings",
        body,
        {
            "held_on": "held_on",
            "attendees": "attendees",
            "detailed_plan_agreed": "detailed_plan_agreed",
            "plan": "detailed_plan_agreed",
            "notes": "notes",
            **DETAILED_FIELDS,
        },
        "detailed_plan_agreed",
        "The core group meeting is recorded.",
        prefill=lambda f: _prefill_meeting(f, read_plan(plan_id)[0].get("content") or {}),
    )


def _prefill_meeting(form: CoreGroupMeetingForm, content: dict) -> None:
    form.attendees.data = key_worker_lines([content])
    prefill_detailed(form, content)


@bp.route("/plans/<plan_id>/visits/new", methods=["GET", "POST"])
@signed_in("social_worker", "team_manager")
def new_visit(plan_id: str):
    form = VisitForm()
    if request.method == "GET":
        form.by.data = session["user"]["name"]
    body = None
    if form.validate_on_submit():
        body = {
            "visited_on": form.visited_on.data.isoformat(),
            "announced": form.announced.data == "yes",
            "child_seen": form.child_seen.data == "yes",
            "seen_alone": form.seen_alone.data == "yes",
            "by": form.by.data.strip(),
            "notes": _clean(form.notes.data),
        }
    return record(
        plan_id,
        form,
        "plan/visit.html",
        "visits",
        body,
        {k: k for k in ("visited_on", "announced", "child_seen", "seen_alone", "by", "notes")},
        "visited_on",
        "The visit is recorded.",
    )


# --- a significant change, and the chair told of it ---


class SignificantChangeForm(Worded, FlaskForm):
    idempotency_key = HiddenField()
    noticed_on = DayMonthYearField(
        "When did the {core_group} notice the change?",
        widget=GovDateInput(),
        validators=[InputRequired(message="Enter the date the change was noticed")],
        description="For example, 27 3 2026",
    )
    description = TextAreaField(
        "What changed in the child's circumstances?",
        widget=GovTextArea(),
        validators=[InputRequired(message="Enter what changed"), Length(max=TEXT_MAX)],
    )
    chair_told_on = DayMonthYearField(
        "When was the conference chair told? (optional)",
        widget=GovDateInput(),
        validators=[Optional()],
        description="Leave it empty if the chair has not been told yet",
    )
    submit = SubmitField("Record the significant change", widget=GovSubmitInput())


class ChairToldForm(FlaskForm):
    idempotency_key = HiddenField()
    told_on = DayMonthYearField(
        "When was the conference chair told?",
        widget=GovDateInput(),
        validators=[InputRequired(message="Enter the date the chair was told")],
        description="For example, 27 3 2026",
    )
    submit = SubmitField("Record that the chair was told", widget=GovSubmitInput())


@bp.route("/plans/<plan_id>/significant-changes/new", methods=["GET", "POST"])
@signed_in("social_worker", "team_manager")
def new_significant_change(plan_id: str):
    form = SignificantChangeForm()
    body = None
    if form.validate_on_submit():
        body = {"noticed_on": form.noticed_on.data.isoformat(), "description": form.description.data.strip()}
        if form.chair_told_on.data:
            body["chair_told_on"] = form.chair_told_on.data.isoformat()
    return record(
        plan_id,
        form,
        "plan/significant_change.html",
        "significant-changes",
        body,
        {k: k for k in ("noticed_on", "description", "chair_told_on")},
        "description",
        "The significant change is recorded.",
    )


@bp.route("/plans/<plan_id>/significant-changes/<change_id>/referral", methods=["GET", "POST"])
@signed_in("social_worker", "team_manager")
def chair_told(plan_id: str, change_id: str):
    changes = api("plans", f"/v1/plans/{plan_id}/significant-changes")["items"]
    change = next((c for c in changes if c["id"] == change_id), None)
    if change is None:
        abort(404)
    form = ChairToldForm()
    body = {"told_on": form.told_on.data.isoformat()} if form.validate_on_submit() else None
    return record(
        plan_id,
        form,
        "plan/chair_told.html",
        f"significant-changes/{change_id}/referral",
        body,
        {"told_on": "told_on"},
        "told_on",
        "The day the chair was told is recorded.",
        change=change,
    )


# --- escalations ---


def escalation_routes() -> dict[str, dict]:
    """The deployment's escalation routes (its plugins'), by id."""
    return {r["id"]: r for r in plugins().layered("cpp_escalation_routes") if not r.get("disabled")}


def next_step(route: dict, escalation: dict) -> dict | None:
    """The route's next step to record for this escalation: None when every step is recorded, or when a decision
    recorded closed the way to the rest."""
    recorded = {s["step"]: s for s in escalation.get("steps") or []}
    for step in route.get("steps") or []:
        done = recorded.get(step["id"])
        if done is None:
            return step
        if step.get("continues_on") and done.get("outcome") != step["continues_on"]:
            return None
    return None


def outcome_name(route: dict, step_id: str, outcome: str | None) -> str:
    """What a recorded step decided, in the route's words."""
    step: dict = next((s for s in route.get("steps") or [] if s["id"] == step_id), {})
    named = {o["id"]: o["name"] for o in step.get("outcomes") or []}
    return named.get(outcome, words_of(outcome)) if outcome else ""


def escalation_rows(record: dict) -> list[dict]:
    """Each escalation of the plan as the page shows it: its decision, its referral and its steps, with what can
    be recorded next."""
    routes, open_plan = escalation_routes(), record.get("status") != "ended"
    rows = []
    for esc in record.get("escalations") or []:
        route = routes.get(esc.get("route"), {})
        nxt = next_step(route, esc) if open_plan else None
        rows.append(
            {
                **esc,
                "steps": [
                    {**s, "outcome_name": outcome_name(route, s["step"], s.get("outcome"))}
                    for s in esc.get("steps") or []
                ],
                "can_refer": open_plan and bool(esc.get("recipient")) and not esc.get("referral"),
                "next_step": nxt,
                "has_steps": bool(route.get("steps")),
            }
        )
    return rows


class EscalationForm(FlaskForm):
    idempotency_key = HiddenField()
    route = RadioField(
        "How is it escalated?",
        widget=GovRadioInput(),
        validators=[InputRequired(message="Select how it is escalated")],
        invalid_choice_message="Select how it is escalated",
    )
    decided_on = DayMonthYearField(
        "When was the decision to escalate taken?",
        widget=GovDateInput(),
        validators=[InputRequired(message="Enter the date the decision was taken")],
        description="The date of the conference or meeting that decided it, for example, 27 3 2026. Its timescales "
        "count from this date",
    )
    conference_id = SelectField(
        "Which conference decided it?",
        widget=GovSelect(),
        validate_choice=False,
        description="The decision's date is then that conference's or later",
    )
    reason = TextAreaField(
        "Why is the plan not working?",
        widget=GovTextArea(),
        validators=[InputRequired(message="Enter why the plan is escalated"), Length(max=TEXT_MAX)],
    )
    submit = SubmitField("Escalate", widget=GovSubmitInput())


class ReferralForm(FlaskForm):
    idempotency_key = HiddenField()
    made_on = DayMonthYearField(
        "When was the referral made?",
        widget=GovDateInput(),
        validators=[InputRequired(message="Enter the date the referral was made")],
        description="For example, 27 3 2026",
    )
    made_to = StringField(
        "Who was it made to?",
        widget=GovTextInput(),
        validators=[InputRequired(message="Enter who the referral was made to"), Length(max=200)],
        description="The person or office that received it",
    )
    how = StringField(
        "How was it made?",
        widget=GovTextInput(),
        validators=[Optional(), Length(max=200)],
        description="For example, secure email",
    )
    submit = SubmitField("Record the referral", widget=GovSubmitInput())


class EscalationStepForm(FlaskForm):
    idempotency_key = HiddenField()
    step = SelectField("Step", widget=GovSelect(), validators=[InputRequired(message="Select the step")])
    on = DayMonthYearField(
        "When was it taken?",
        widget=GovDateInput(),
        validators=[InputRequired(message="Enter the date of the step")],
        description="For example, 27 3 2026",
    )
    outcome = SelectField(
        "What was decided?",
        widget=GovSelect(),
        validate_choice=False,
        description="Only for a step that decides, such as the legal planning meeting's decision",
    )
    notes = TextAreaField("Notes", widget=GovTextArea(), validators=[Optional(), Length(max=TEXT_MAX)])
    submit = SubmitField("Record the step", widget=GovSubmitInput())


def the_escalation(plan_id: str, escalation_id: str) -> tuple[dict, dict]:
    """The escalation of the plan, and its route (404 when the plan has no such escalation)."""
    record_, _ = read_plan(plan_id)
    esc = next((e for e in record_.get("escalations") or [] if e["id"] == escalation_id), None)
    if esc is None:
        abort(404)
    return esc, escalation_routes().get(esc["route"], {})


def held_conferences(plan_id: str) -> list[SelectChoice]:
    """The held conferences of the plan's case, each with its kind and date, for the decision to name."""
    case = api("plans", f"/v1/cases/{read_plan(plan_id)[0]['case_id']}")
    choices = []
    for ref in case.get("conferences") or []:
        if ref.get("status") == "held":
            held_on = (api("plans", f"/v1/conferences/{ref['id']}").get("outcome") or {}).get("held_on")
            choices.append(SelectChoice(ref["id"], f"{words_of(ref.get('kind'))} conference held on {day(held_on)}"))
    return choices


@bp.route("/plans/<plan_id>/escalations/new", methods=["GET", "POST"])
@signed_in("social_worker", "team_manager")
def new_escalation(plan_id: str):
    form = EscalationForm()
    form.route.choices = [SelectChoice(r["id"], r["name"]) for r in escalation_routes().values()]
    form.conference_id.choices = [SelectChoice("", "None: no conference decided it"), *held_conferences(plan_id)]
    body = None
    if form.validate_on_submit():
        body = {
            "route": form.route.data,
            "reason": _clean(form.reason.data),
            "decided_on": form.decided_on.data.isoformat(),
        }
        if form.conference_id.data:
            body["conference_id"] = form.conference_id.data
    return record(
        plan_id,
        form,
        "plan/escalation.html",
        "escalations",
        body,
        {"route": "route", "reason": "reason", "decided_on": "decided_on", "conference_id": "conference_id"},
        "route",
        "The escalation is recorded.",
    )


@bp.route("/plans/<plan_id>/escalations/<escalation_id>/referral/new", methods=["GET", "POST"])
@signed_in("social_worker", "team_manager")
def new_escalation_referral(plan_id: str, escalation_id: str):
    esc, _ = the_escalation(plan_id, escalation_id)
    form = ReferralForm()
    if request.method == "GET":
        form.made_to.data = (esc.get("recipient") or {}).get("name")
    body = None
    if form.validate_on_submit():
        body = {
            "made_on": form.made_on.data.isoformat(),
            "made_to": form.made_to.data.strip(),
            "how": _clean(form.how.data),
        }
    return record(
        plan_id,
        form,
        "plan/escalation_referral.html",
        f"escalations/{escalation_id}/referral",
        body,
        {"made_on": "made_on", "made_to": "made_to", "how": "how"},
        "made_on",
        "The referral made is recorded.",
        escalation=esc,
    )


@bp.route("/plans/<plan_id>/escalations/<escalation_id>/steps/new", methods=["GET", "POST"])
@signed_in("social_worker", "team_manager")
def new_escalation_step(plan_id: str, escalation_id: str):
    esc, route = the_escalation(plan_id, escalation_id)
    steps = route.get("steps") or []
    form = EscalationStepForm()
    form.step.choices = [SelectChoice(s["id"], s["name"]) for s in steps]
    form.outcome.choices = [SelectChoice("", "Nothing: this step decides nothing")] + [
        SelectChoice(o["id"], f"{s['name']}: {o['name']}") for s in steps for o in s.get("outcomes") or []
    ]
    if request.method == "GET" and (nxt := next_step(route, esc)):
        form.step.data = nxt["id"]
    body = None
    if form.validate_on_submit():
        body = {
            "step": form.step.data,
            "on": form.on.data.isoformat(),
            "outcome": form.outcome.data or None,
            "notes": _clean(form.notes.data),
        }
    return record(
        plan_id,
        form,
        "plan/escalation_step.html",
        f"escalations/{escalation_id}/steps",
        body,
        {"step": "step", "on": "on", "outcome": "outcome", "notes": "notes"},
        "step",
        "The step is recorded.",
        escalation=esc,
    )


# --- documents ---


def document_rows(documents: list[dict]) -> list[dict]:
    return [
        {
            **d,
            "title": DOCUMENT_KINDS.get(d.get("kind", ""), words_of(d.get("kind"))),
            "audience": "The family" if d.get("kind") in FAMILY_KINDS else "Professionals",
        }
        for d in documents
    ]


@bp.get("/plans/<plan_id>/documents")
@signed_in()
def documents(plan_id: str):
    record_, _ = read_plan(plan_id)
    of_plan = documents_of(f"/v1/plans/{plan_id}/documents")
    listed = {d["id"] for d in of_plan}
    of_case = [d for d in documents_of(f"/v1/cases/{record_['case_id']}/documents") if d["id"] not in listed]
    return render_template(
        "plan/documents.html",
        plan=record_,
        child_name=child_of(record_),
        of_plan=document_rows(of_plan),
        of_case=document_rows(of_case),
    )


# A document's HTML shows itself and loads nothing (the docs service's policy), in a sandbox: no script runs
# and it has no access to this site's cookies or pages.
DOCUMENT_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; sandbox"


@bp.get("/documents/<doc_id>")
@signed_in()
def document(doc_id: str):
    """The document's file from the docs service, fetched with the signed-in
    person's token and streamed as it comes."""
    upstream = services().download(
        "docs", f"/v1/documents/{doc_id}", token=session.get("token"), request_id=g.get("request_id")
    )
    content_type = upstream.headers.get("Content-Type", "application/octet-stream")
    response = Response(upstream.iter_content(64 * 1024), content_type=content_type)
    response.call_on_close(upstream.close)
    for name in ("Content-Disposition", "ETag"):
        if name in upstream.headers:
            response.headers[name] = upstream.headers[name]
    response.headers["X-Content-Type-Options"] = "nosniff"
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = DOCUMENT_POLICY
    return response
