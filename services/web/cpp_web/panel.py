"""The resource panel: a plan taken to the panel for approval of services
(a social worker or a team manager, from the plan), the panel's decision
recorded by a team manager from the approvals queue (approved, declined or
deferred, with conditions), and every request of a plan with its decisions.

A request is created with the Idempotency-Key made when the form was
opened; a decision carries the request's ETag read when its page was opened
(If-Match), so a request someone else decided meanwhile gives the page that
says so. A 422's field errors go on the fields, a 409's reason (the request
is already decided, the plan has ended) to the error summary.
"""

from __future__ import annotations

from flask import Blueprint, render_template, session, url_for
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovTextArea
from wtforms import HiddenField, RadioField, SelectChoice, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from .client import ChangedSinceRead, NotFound
from .lifecycle import Step, _done, _submit
from .lifecycle_forms import DayField, KeyField
from .views import api, changed_since_read, child_name, holds, services, signed_in
from .words import term

bp = Blueprint("panel", __name__)

ASKERS = ("social_worker", "team_manager")
DECISIONS = {"approved": "Approved", "declined": "Declined", "deferred": "Deferred"}
STATUS = {"waiting": "Waiting for a decision", "approved": "Approved", "declined": "Declined"}
TEXT_MAX = 4000


def _area(label: str, *validators, **kwargs) -> TextAreaField:
    return TextAreaField(
        label,
        validators=[*validators, Length(max=TEXT_MAX, message=f"{label} must be 4,000 characters or fewer")],
        widget=GovTextArea(),
        **kwargs,
    )


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class PanelRequestForm(FlaskForm):
    key = KeyField()
    services = _area(
        "What services are you asking the panel for?",
        InputRequired(message="Enter the services you are asking the panel for"),
        description="One service on each line, for example, family support worker 2 days a week",
    )
    reason = _area(
        "Why does the plan need them?",
        InputRequired(message="Enter why the plan needs these services"),
        description="What the services will do towards the plan's outcomes",
    )
    requested_on = DayField(
        "When was the plan taken to the panel? (optional)",
        description="Leave this empty for today. For example, 27 3 2026",
    )
    submit = _submit("Send to the resource panel")

    def validate_services(self, field) -> None:
        if len(_lines(field.data)) > 50:
            raise ValidationError("Ask for 50 services or fewer")


class PanelDecisionForm(FlaskForm):
    etag = HiddenField()
    decision = RadioField(
        "What did the panel decide?",
        choices=[SelectChoice(k, v) for k, v in DECISIONS.items()],
        widget=GovRadioInput(),
        validators=[InputRequired(message="Select what the panel decided")],
        invalid_choice_message="Select what the panel decided",
    )
    conditions = _area(
        "Conditions (optional)",
        Optional(),
        description="What the approval depends on, or what the panel wants before it decides again",
    )
    decided_on = DayField(
        "When did the panel decide? (optional)", description="Leave this empty for today. For example, 27 3 2026"
    )
    submit = _submit("Record the decision")


REQUEST_FIELDS = {"services": "services", "reason": "reason", "requested_on": "requested_on"}
DECISION_FIELDS = {"decision": "decision", "conditions": "conditions", "decided_on": "decided_on"}


# --- reading ---


def _plan(plan_id: str) -> tuple[dict, str]:
    plan = api("plans", f"/v1/plans/{plan_id}")
    try:
        name = child_name(api("plans", f"/v1/children/{plan['child_id']}"))
    except NotFound:
        name = "Unnamed child"
    return plan, name


def _names(users) -> dict[str, str]:
    from .plan import staff_name

    return {u: staff_name(u) for u in {u for u in users if u}}


def _people_of(requests: list[dict]) -> dict[str, str]:
    users = []
    for r in requests:
        users.append(r.get("requested_by"))
        users.extend(d.get("by") for d in r.get("history") or ([r["decision"]] if r.get("decision") else []))
    return _names(users)


def decisions_of(request: dict) -> list[dict]:
    """Every decision the panel made on a request, oldest first (a deferral, then the next)."""
    return list(request.get("history") or ([request["decision"]] if request.get("decision") else []))


def _read_request(request_id: str) -> tuple[dict, str | None]:
    answer = services().call("plans", "GET", f"/v1/resource-panel-requests/{request_id}", token=session.get("token"))
    return answer.body, answer.etag


# --- a plan's requests ---


@bp.get("/plans/<plan_id>/resource-panel")
@signed_in()
def requests_of_plan(plan_id: str):
    plan, name = _plan(plan_id)
    listed = api("plans", f"/v1/plans/{plan_id}/resource-panel-requests")
    for r in listed:
        r["decisions"] = decisions_of(r)
    return render_template(
        "panel/requests.html",
        plan=plan,
        child_name=name,
        requests=listed,
        names=_people_of(listed),
        decisions=DECISIONS,
        statuses=STATUS,
        can_ask=holds(*ASKERS) and plan.get("status") != "ended",
    )


@bp.route("/plans/<plan_id>/resource-panel/new", methods=["GET", "POST"])
@signed_in(*ASKERS)
def new_request(plan_id: str):
    plan, name = _plan(plan_id)
    form = PanelRequestForm()
    step = Step(form)
    if form.validate_on_submit():
        body = {"services": _lines(form.services.data), "reason": form.reason.data.strip()}
        if form.requested_on.iso:
            body["requested_on"] = form.requested_on.iso
        if step.send("POST", f"/v1/plans/{plan_id}/resource-panel-requests", body, REQUEST_FIELDS, key=form.key.data):
            return _done(
                "The plan is sent to the resource panel. A team manager records the panel's decision.",
                url_for("panel.requests_of_plan", plan_id=plan_id),
            )
    return step.page("panel/new_request.html", plan=plan, child_name=name, title="Take the plan to the resource panel")


# --- one request, and its decision ---


@bp.route("/resource-panel-requests/<request_id>", methods=["GET", "POST"])
@signed_in()
def request_page(request_id: str):
    record, etag = _read_request(request_id)
    plan, name = _plan(record["plan_id"])
    can_decide = holds("team_manager") and record.get("status") == "waiting"
    form = PanelDecisionForm()
    step = Step(form)
    if form.is_submitted() and not can_decide:
        if record.get("status") != "waiting":
            step.problems.append(
                f"This request is already decided: {STATUS.get(record.get('status', ''), 'decided').lower()}."
            )
        else:
            step.problems.append("Only a team manager records the panel's decision.")
        step.refused = True
    elif form.validate_on_submit():
        body = {"decision": form.decision.data}
        if (form.conditions.data or "").strip():
            body["conditions"] = form.conditions.data.strip()
        if form.decided_on.iso:
            body["decided_on"] = form.decided_on.iso
        try:
            answer = step.send(
                "POST",
                f"/v1/resource-panel-requests/{request_id}/decision",
                body,
                DECISION_FIELDS,
                etag=form.etag.data or None,
            )
        except ChangedSinceRead:
            return changed_since_read(
                "Someone decided this request since you opened it",
                ["Your decision was not recorded, so theirs is not lost."],
                [
                    (
                        url_for("panel.request_page", request_id=record["id"]),
                        "Read the request as it is now",
                        ", then record your decision again if it still needs one.",
                    )
                ],
                child_name=name,
            )
        if answer is not None:
            decided = DECISIONS[form.decision.data].lower()
            return _done(
                f"The panel's decision is recorded: {decided}.",
                url_for("team.approvals")
                if holds("team_manager")
                else url_for("panel.request_page", request_id=request_id),
            )
    if not form.is_submitted():
        form.etag.data = etag or ""
    names = _people_of([record])
    return step.page(
        "panel/request.html",
        req=record,
        plan=plan,
        child_name=name,
        names=names,
        decisions=DECISIONS,
        statuses=STATUS,
        history=decisions_of(record),
        can_decide=can_decide,
        title=f"Resource panel request for {name}",
        plan_words=term("plan"),
    )
