"""The rest of a case's journey: a review conference's outcome (continue,
revise or end the plan), the plan's ending, the step-down to a child in
need plan, and the child's chronology (every case's history, newest first).

The forms follow the lifecycle's: a create carries the Idempotency-Key made
when the form was opened; a 422's field errors go on the form's fields and a
409's reason to the error summary (``Step``). A review's outcome changes the
plan: the plan's ETag read when the form was opened is sent back, and a plan
changed meanwhile (a version agreed, a change made) gives the page saying
someone changed it, before anything is decided on what the chair did not see.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, render_template, request, session, url_for
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovTextArea
from wtforms import FieldList, FormField, HiddenField, RadioField, SelectChoice, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from . import referral as referral_words
from .client import NotFound
from .lifecycle import (
    READERS,
    OutcomeStep,
    Step,
    _case_and_child,
    _conference,
    _done,
    _submit,
    _text,
    to_family_conference,
)
from .lifecycle_forms import (
    ATTENDEE_ROWS,
    AttendeeForm,
    DayField,
    DayRequired,
    GovernanceFields,
    KeyField,
    attendees_of,
    governance_of,
)
from .views import STAGES, api, changed_since_read, child_name, holds, services, signed_in
from .words import Worded, said, term

bp = Blueprint("journey", __name__)

DECIDERS = ("chair", "team_manager")
STEP_TAKERS = ("social_worker", "team_manager")


def _decisions() -> list[SelectChoice]:
    return [
        SelectChoice("continue", f"Continue the {term('plan')}"),
        SelectChoice("revise", f"Revise the {term('plan')}"),
        SelectChoice("end", f"End the {term('plan')}"),
    ]


def _named(user: str | None, *, known: dict | None = None) -> str:
    """A member of staff's name (never their id); "a member of staff" when the directory does not know them."""
    if not user:
        return "Not recorded"
    if known and known.get("user") == user and known.get("name"):
        return known["name"]
    try:
        return api("plans", f"/v1/staff/{user}").get("name") or "A member of staff"
    except NotFound:
        return "A member of staff"


# --- a review conference's outcome ---


class ReviewDecisionChecks:
    """A review decision's choices and checks: the decision's choices and the
    reason's label in the deployment's words, a reason to end the plan and
    the concerns of a revised one. On one child's review outcome form, and on
    each child's row of a family review conference's (families.py), with the
    fields ``decision``, ``reason`` and ``concerns`` of ``ReviewOutcomeForm``."""

    decision: Any
    reason: Any

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.decision.choices = _decisions()
        self.reason.label.text = f"Why does the {term('plan')} end?"

    def validate_reason(self, field: Any) -> None:
        if self.decision.data == "end" and not (field.data or "").strip():
            raise ValidationError(f"Enter why the {term('plan')} ends")

    def validate_concerns(self, field: Any) -> None:
        if self.decision.data == "revise" and not (field.data or "").strip():
            raise ValidationError("Enter the revised concerns, as the {conference} agreed them")


class ReviewOutcomeForm(Worded, ReviewDecisionChecks, GovernanceFields, FlaskForm):
    key = KeyField()
    plan_etag = HiddenField()
    held_on = DayField(
        "When was the {conference} held?",
        [DayRequired("Enter the date the {conference} was held")],
        description="For example, 27 3 2026",
    )
    decision = RadioField(
        "What did the {conference} decide?",
        choices=[],
        widget=GovRadioInput(),
        validators=[InputRequired("Select what the {conference} decided")],
    )
    reason = TextAreaField(
        "Why does the plan end?",
        widget=GovTextArea(),
        validators=[Length(max=4000, message="The reason must be 4,000 characters or fewer")],
        description="Only when the {conference} ends the plan: what has changed for the child",
    )
    concerns = TextAreaField(
        "The revised concerns",
        widget=GovTextArea(),
        validators=[Length(max=4000, message="The concerns must be 4,000 characters or fewer")],
        description="Only when the {conference} revises the plan: the concerns as the {conference} "
        "agreed them; the rest of the plan stays as it is",
    )
    attendees = FieldList(FormField(AttendeeForm), min_entries=ATTENDEE_ROWS, max_entries=ATTENDEE_ROWS)
    submit = _submit("Save {conference} outcome")


REVIEW_FIELDS = {
    "held_on": "held_on",
    "decision": "decision",
    "reason": "reason",
    "plan": "concerns",
    "plan.concerns": "concerns",
    "attendees": "attendees",
}


def plan_and_etag(plan_id: str) -> tuple[dict, str | None]:
    answer = services().call(
        "plans", "GET", f"/v1/plans/{plan_id}", token=session.get("token"), request_id=g.get("request_id")
    )
    return answer.body, answer.etag


@bp.route("/conferences/<conference_id>/review-outcome", methods=["GET", "POST"])
@signed_in(*DECIDERS)
def review_outcome(conference_id: str):
    record, _etag, case, kid = _conference(conference_id)
    if elsewhere := to_family_conference(record):
        return elsewhere
    plan, plan_etag = plan_and_etag(case["plan_id"]) if case.get("plan_id") else (None, None)
    form = ReviewOutcomeForm()
    if request.method == "GET":
        form.plan_etag.data = plan_etag  # the plan this person saw: a plan changed meanwhile is a 412
        if plan and not form.concerns.data:
            form.concerns.data = (plan.get("content") or {}).get("concerns")
    refused = None
    if record.get("kind") != "review":
        refused = f"This form records a {term('review_conference')}'s outcome; this is an {term('initial_conference')}."
    elif plan is None:
        refused = f"This case has no {term('plan')} to review."
    step = OutcomeStep(form, refused=refused)
    context = dict(conference=record, case=case, plan=plan, child_name=child_name(kid))
    if refused is None and form.validate_on_submit():
        if form.plan_etag.data and form.plan_etag.data != plan_etag:
            read = (
                [
                    (
                        url_for("plan.plan", plan_id=plan["id"]),
                        f"Read the {term('plan')} as it is now",
                        f" (version {plan.get('plan_version')}).",
                    )
                ]
                if plan
                else []
            )
            return changed_since_read(
                f"Someone changed the {term('plan')} since you opened this form",
                [
                    f"The {term('review_conference')}'s outcome for {child_name(kid)} was not saved, so that nothing "
                    f"is decided on a {term('plan')} you have not seen."
                ],
                read
                + [
                    (
                        url_for("journey.review_outcome", conference_id=record["id"]),
                        "Open the outcome form again",
                        " to record the outcome.",
                    )
                ],
            )
        body: dict[str, Any] = {
            "held_on": form.held_on.iso,
            "decision": form.decision.data,
            "attendees": attendees_of(form.attendees),
            **governance_of(form),
        }
        if form.decision.data == "end":
            body["reason"] = form.reason.data.strip()
        if form.decision.data == "revise" and plan is not None:  # refused above without one
            body["plan"] = {**agreed_content(plan), "concerns": form.concerns.data}
        answer = step.send("POST", f"/v1/conferences/{conference_id}/outcome", body, REVIEW_FIELDS, key=form.key.data)
        if answer:
            said = {
                "continue": f"the {term('plan')} continues.",
                "revise": f"the revised {term('plan')} is agreed.",
                "end": f"the {term('plan')} has ended. Make the child in need plan the child steps down to.",
            }
            return _done(
                f"The {term('review_conference')}'s outcome is recorded: {said[form.decision.data]}",
                url_for("web.case", case_id=case["id"]),
            )
    return step.page("journey/review_outcome.html", **context)


def agreed_content(plan: dict) -> dict:
    """The plan's content as the service takes it back: the key worker by their user id."""
    content = dict(plan.get("content") or {})
    kw = content.get("key_worker")
    if kw and kw.get("user"):
        content["key_worker"] = {k: v for k, v in kw.items() if k in ("user", "role", "phone", "email") and v}
    return content


# --- the step-down: a child in need plan ---


class ChildInNeedPlanForm(FlaskForm):
    key = KeyField()
    key_worker = _text(
        "Key worker",
        InputRequired("Enter the name of the child in need plan's key worker"),
        description="The social worker who leads the child in need plan",
    )
    key_worker_phone = _text("Key worker's phone number (optional)", Optional())
    key_worker_email = _text("Key worker's email address (optional)", Optional())
    needs = TextAreaField(
        "The child's needs",
        widget=GovTextArea(),
        validators=[
            InputRequired("Enter a summary of the child's needs"),
            Length(max=4000, message="The needs must be 4,000 characters or fewer"),
        ],
    )
    services_given = TextAreaField(
        "Services to support the child and family (optional)",
        widget=GovTextArea(),
        validators=[Optional()],
        description="One service on each line",
    )
    created_on = DayField("When was the plan made?", description="For example, 27 3 2026. Leave empty for today")
    review_on = DayField(
        "When will the plan be reviewed?",
        [DayRequired("Enter the date of the plan's review")],
        description="For example, 27 6 2026",
    )
    submit = _submit("Save child in need plan")


CIN_FIELDS = {
    "key_worker": "key_worker",
    "key_worker.name": "key_worker",
    "key_worker.phone": "key_worker_phone",
    "key_worker.email": "key_worker_email",
    "needs": "needs",
    "services": "services_given",
    "review_on": "review_on",
    "created_on": "created_on",
}


@bp.route("/cases/<case_id>/child-in-need-plan", methods=["GET", "POST"])
@signed_in(*STEP_TAKERS)
def child_in_need_plan(case_id: str):
    case, kid = _case_and_child(case_id)
    form = ChildInNeedPlanForm()
    if request.method == "GET" and not form.key_worker.data and case.get("social_worker"):
        form.key_worker.data = case["social_worker"].get("name")
    step = Step(form)
    if form.validate_on_submit():
        worker = {"name": form.key_worker.data.strip()}
        if (form.key_worker_phone.data or "").strip():
            worker["phone"] = form.key_worker_phone.data.strip()
        if (form.key_worker_email.data or "").strip():
            worker["email"] = form.key_worker_email.data.strip()
        body = {
            "key_worker": worker,
            "needs": form.needs.data,
            "services": [s.strip() for s in (form.services_given.data or "").splitlines() if s.strip()],
            "review_on": form.review_on.iso,
        }
        if form.created_on.data:
            body["created_on"] = form.created_on.iso
        if step.send("POST", f"/v1/cases/{case_id}/child-in-need-plans", body, CIN_FIELDS, key=form.key.data):
            return _done("The child in need plan is made.", url_for("web.case", case_id=case_id) + "#child-in-need")
    return step.page(
        "journey/child_in_need_plan.html", case=case, child_name=child_name(kid), ending=case.get("step_down")
    )


# --- the case page: the plan's ending, the child in need plans, the task list's links ---

STEP_DOWN_BY = {
    "enquiry_outcome": "the enquiries found no conference was needed",
    "initial_conference": "the initial conference decided no plan was needed",
    "review_conference": "a review conference ended the plan",
}


#: How a plan ended otherwise than at a review conference (the plans service's ended.how), in words.
ENDED_HOW = {
    "reached_18": "the child reached 18",
    "died": "the child died",
    "moved_to_another_council": "the child moved to another council",
    "left_the_uk": "the child left the UK",
    "looked_after": "the child became looked after",
}


@bp.app_template_filter("stage")
def stage_words(case: dict) -> str:
    """A case's stage in words, as the lists of cases show it: a closed case's
    with how its plan ended ("Closed: the child died")."""
    status = case.get("status") or ""
    how = ENDED_HOW.get((case.get("ended") or {}).get("how") or "")
    if status == "closed" and how:
        return f"Closed: {how}"
    return STAGES.get(status, status)


def case_extras(case: dict, plan: dict | None) -> dict:
    """What the case page shows of the journey's end: how the plan ended
    (why, when, by whom), the step-down and its child in need plans."""
    ending = None
    if plan and plan.get("ended"):
        ended = plan["ended"]
        conference = None
        if ended.get("conference_id"):
            try:
                conference = api("plans", f"/v1/conferences/{ended['conference_id']}")
            except NotFound:
                conference = None
        by = ended.get("by") or ((conference or {}).get("outcome") or {}).get("decided_by")
        ending = {
            "on": ended.get("on"),
            "by": _named(by, known=(conference or {}).get("chair")),
            "reason": ended.get("reason") or ((conference or {}).get("outcome") or {}).get("reason"),
            "conference_id": ended.get("conference_id"),
            "how": ENDED_HOW.get(ended.get("how") or ""),
            "receiving_council": ended.get("receiving_council"),
        }
    cin_plans = []
    if case.get("status") in ("child_in_need", "plan_ended"):
        cin_plans = api("plans", f"/v1/cases/{case['id']}/child-in-need-plans")
        for cin in cin_plans:
            cin["created_by_name"] = _named(cin.get("created_by"))
    return {
        "ending": ending,
        "step_down": case.get("step_down"),
        "step_down_by": STEP_DOWN_BY,
        "cin_plans": cin_plans,
        "can_step_down": holds(*STEP_TAKERS),
    }


def journey_steps(case: dict, plan: dict | None, steps: list[dict], cin_plans: list[dict]) -> list[dict]:
    """The task list's review and ending steps, linked to their forms when
    the case's stage allows them (the service still decides)."""
    reviews = [c for c in case.get("conferences") or [] if c.get("kind") == "review"]
    scheduled = next((c for c in reviews if c.get("status") == "scheduled"), None)
    in_force = case.get("status") == "on_plan" and plan is not None and plan.get("status") != "ended"
    stepped_down = case.get("status") in ("child_in_need", "plan_ended")
    review_href = ending_href = None
    if in_force and scheduled:
        review_href = (
            url_for("journey.review_outcome", conference_id=scheduled["id"])
            if holds(*DECIDERS)
            else url_for("lifecycle.conference", conference_id=scheduled["id"])
        )
        ending_href = url_for("journey.review_outcome", conference_id=scheduled["id"]) if holds(*DECIDERS) else None
    elif in_force and holds("social_worker", "team_manager", "chair"):
        review_href = url_for("lifecycle.schedule_conference", case_id=case["id"], kind="review")
    if stepped_down and not cin_plans and holds(*STEP_TAKERS):
        ending_href = url_for("journey.child_in_need_plan", case_id=case["id"])
    for s in steps:
        if s["key"] == "reviews" and review_href:
            s["href"] = review_href
        elif s["key"] == "ending":
            if stepped_down:
                s["status"] = "Completed" if cin_plans else "Not yet started"
                s["hint"] = "Child in need plan made" if cin_plans else "Make the child in need plan"
            elif in_force and scheduled:
                s["status"], s["hint"] = "Not yet started", f"Decided at the {term('review_conference')}"
            if ending_href:
                s["href"] = ending_href
    return steps


# --- the child's chronology ---

REPORT_KINDS = ("initial_conference", "review_conference")  # the terms' keys (words.py)


def _conference_words(kind: str | None) -> str:
    return term(
        {"review": "review_conference", "transfer_in": "transfer_in_conference"}.get(kind or "", "initial_conference")
    )


def _listed(labels: dict[str, str], key: str | None) -> str:
    return labels.get(key or "", (key or "").replace("_", " "))


def _referral_words(type_: str, d: dict) -> str:
    """The referral, its decision and the assessment, with the words of their forms."""
    if type_ == "referral_received":
        return "Referral received from: " + _listed(referral_words.SOURCES, d.get("source"))
    if type_ == "referral_decided":
        return f"Decision on the referral: {_listed(referral_words.DECISIONS, d.get('decision'))}" + (
            f". Reason: {d['reason']}" if d.get("reason") else ""
        )
    if type_ == "assessment_started":
        factors = [_listed(referral_words.FACTORS, f) for f in d.get("factors") or []]
        factors += [d["other_factors"]] if d.get("other_factors") else []
        return "Assessment started" + (f". Factors identified: {', '.join(factors)}" if factors else "")
    return f"Assessment completed: {_listed(referral_words.OUTCOMES, d.get('outcome'))}" + (
        f", authorised by {d['authorised_by']}" if d.get("authorised_by") else ""
    )


def words(entry: dict) -> str:
    """What happened, in plain words (the deployment's terms)."""
    d, type_ = entry.get("detail") or {}, entry["type"]
    conference = _conference_words(d.get("kind"))
    from .views import day

    if type_ == "case_opened":
        return "Case opened"
    if type_.startswith(("referral_", "assessment_")):
        return _referral_words(type_, d)
    if type_ == "strategy_discussion_held":
        return "Strategy discussion held" + (f": {term('enquiries')} started" if d.get("initiated_enquiries") else "")
    if type_ == "enquiries_completed":
        return (
            term("enquiries", start=True)
            + " completed: "
            + (
                f"an {term('initial_conference')} is needed"
                if d.get("conference_required")
                else f"no {said('conference')} needed, the child steps down to a child in need plan"
            )
        )
    if type_ == "conference_scheduled":
        return f"{conference[:1].upper()}{conference[1:]} scheduled for {day(d.get('scheduled_for'))}"
    if type_ == "conference_moved":
        return (
            f"{conference[:1].upper()}{conference[1:]} moved from {day(d.get('moved_from'))} to "
            f"{day(d.get('moved_to'))}" + (f". Reason: {d['reason']}" if d.get("reason") else "")
        )
    if type_ == "conference_cancelled":
        return f"{conference[:1].upper()}{conference[1:]} cancelled" + (
            f". Reason: {d['reason']}" if d.get("reason") else ""
        )
    if type_ == "conference_held":
        if d.get("kind") == "review":
            decided = {
                "continue": f"the {term('plan')} continues",
                "revise": f"the {term('plan')} is revised",
                "end": f"the {term('plan')} ends",
            }.get(d.get("decision", ""), "decision recorded")
        else:
            decided = (
                f"a {term('plan')} is needed"
                if d.get("plan_required")
                else f"no {term('plan')} needed, the child steps down to a child in need plan"
            )
        return f"{conference[:1].upper()}{conference[1:]} held: {decided}"
    if type_ == "plan_created":
        return f"Outline {term('plan')} agreed"
    if type_ == "plan_activated":
        return f"Detailed {term('plan')} agreed at the first {term('core_group')} meeting: the plan is active"
    if type_ == "plan_version_agreed":
        return f"Version {d.get('version')} of the {term('plan')} agreed"
    if type_ == "core_group_held":
        return f"{term('core_group', start=True)} meeting held"
    if type_ == "visit_recorded":
        seen = (
            "the child was seen alone"
            if d.get("seen_alone")
            else ("the child was seen" if d.get("child_seen") else "the child was not seen")
        )
        return f"Visit by {d['visitor']}: {seen}" if d.get("visitor") else f"Visit: {seen}"
    if type_ == "significant_change_recorded":
        return f"Significant change in the child's circumstances noticed by the {term('core_group')}"
    if type_ == "significant_change_referred":
        return "The conference chair told of a significant change"
    if type_.startswith("report_"):
        kind = d.get("report_kind")
        report = f"Report to the {term(kind) if kind in REPORT_KINDS else 'conference'}"
        done = {
            "report_drafted": "drafted",
            "report_submitted": "submitted for countersigning",
            "report_returned": "returned to its author",
            "report_countersigned": "countersigned",
            "report_shared": "shared with the family",
            "report_sent_to_chair": "sent to the chair",
        }[type_]
        return f"{report} {done}"
    if type_ == "plan_ended" and not d.get("step_down") and d.get("how") in ENDED_HOW:
        return f"{term('plan', start=True)} ended: {ENDED_HOW[d['how']]}, and the case closed" + (
            f". Reason: {d['reason']}" if d.get("reason") else ""
        )
    if type_ == "plan_ended":
        return f"{term('plan', start=True)} ended: the child steps down to a child in need plan" + (
            f". Reason: {d['reason']}" if d.get("reason") else ""
        )
    if type_ == "transfer_out_started":
        return f"Moving to {d.get('receiving_council')}: the family's permanent move is recorded"
    if type_ == "transfer_received":
        return f"Transferred in from {d.get('from_council')}: the {term('transfer_in_conference')} is to be held"
    if type_ == "case_closed":
        return f"Case closed: {referral_words.closure_reason(d.get('reason'))}" + (
            f". Notes: {d['notes']}" if d.get("notes") else ""
        )
    if type_ == "child_in_need_plan_created":
        return "Child in need plan made" + (f", to be reviewed on {day(d['review_on'])}" if d.get("review_on") else "")
    return type_.replace("_", " ").capitalize()


@bp.get("/children/<child_id>/chronology")
@signed_in(*READERS)
def chronology(child_id: str):
    record = api("plans", f"/v1/children/{child_id}")
    found = api("plans", f"/v1/children/{child_id}/chronology")
    cases = {c["id"]: c for c in api("plans", "/v1/cases", child_id=child_id, page_size=100)["items"]}
    entries = [
        {**e, "words": words(e), "who": (e.get("by") or {}).get("name") or "Not recorded"} for e in found["entries"]
    ]
    return render_template(
        "journey/chronology.html",
        child=record,
        child_name=child_name(record),
        entries=entries,
        cases=cases,
        stages=STAGES,
    )
