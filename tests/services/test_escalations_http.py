"""Escalations as work with their own steps, over the plans API with the scheduler following: the decision's date
(a conference's) that the route's timescales count from, the referral made to the route's recipient (Guernsey's
Children's Convenor, Scotland's Principal Reporter) that meets the referral deadline where a webhook's delivery
receipt does not, and England's pre-proceedings steps under the Public Law Outline, each recorded in order with
its own deadline, undated where no source sets one. Every refusal names its field (or says why, for a 409) and
writes nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cpp_plans.app import create_app as create_plans_app
from cpp_scheduler.app import create_app as create_scheduler_app
from cpp_scheduler.domain.calendar import WorkingCalendar
from tests.helpers import QUORATE, Pump, bearer, deliver_event, ensure_child, ok
from tests.services.test_plans_lifecycle_http import OUTLINE

TODAY = date.today()
CALENDARS = {
    "england": WorkingCalendar("GB", "ENG"),
    "guernsey": WorkingCalendar("GG"),
    "scotland": WorkingCalendar("GB", "SCT"),
}
AUTHORITIES = {"england": "ENG", "guernsey": "GSY", "scotland": "SCT"}


class Deployment:
    """One deployment's plans service and scheduler, the plans service's events handed to the scheduler by
    ``pump``, and a social worker and a chair."""

    def __init__(self, make_settings, token_for, plugins: str):
        plans_app = create_plans_app(make_settings("plans", CPP_PLUGINS=plugins))
        self.scheduler_app = create_scheduler_app(make_settings("scheduler", CPP_PLUGINS=plugins))
        self.scheduler = self.scheduler_app.extensions["cpp"]
        self.store = plans_app.extensions["cpp"].store
        self.plans = plans_app.test_client()
        self.pump = Pump(self.store, self.scheduler)
        self.cal = CALENDARS[plugins]
        authority = AUTHORITIES[plugins]
        self.sw = bearer(token_for("social_worker", user="sw-1", authority=authority))
        self.chair = bearer(token_for("chair", user="chair-1", authority=authority))
        self.reader = bearer(token_for("team_manager", user="tm-1", authority=authority))

    def on_plan(self, child: str, conference_on: date) -> tuple[str, str]:
        """A child on a plan from an initial conference held on ``conference_on``: (plan id, conference id)."""
        plans, sw = self.plans, self.sw
        case_id = ok(plans.post("/v1/cases", json={"child_id": ensure_child(plans, child)}, headers=sw), 201)["id"]
        start = self.cal.add_working_days(conference_on, -10).isoformat()
        ok(plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": start}, headers=sw), 201)
        outcome = {"completed_on": start, "conference_required": True}
        ok(plans.post(f"/v1/cases/{case_id}/enquiry-outcome", json=outcome, headers=sw))
        conf = ok(
            plans.post(
                f"/v1/cases/{case_id}/conferences",
                json={"kind": "initial", "scheduled_for": conference_on.isoformat()},
                headers=sw,
            ),
            201,
        )
        held = {
            "held_on": conference_on.isoformat(),
            "plan_required": True,
            "outline_plan": OUTLINE,
            "attendees": QUORATE,
        }
        decided = ok(plans.post(f"/v1/conferences/{conf['id']}/outcome", json=held, headers=self.chair))
        self.pump()
        return decided["plan"]["id"], conf["id"]

    def escalations_of(self, plan_id: str) -> list[dict]:
        return ok(self.plans.get(f"/v1/plans/{plan_id}", headers=self.sw))["escalations"]

    def published(self, event_type: str) -> list[dict]:
        """The data of each event of that type, but the child it names (added to every event about a child)."""
        return [
            {k: v for k, v in m.body["data"].items() if k != "child"}
            for m in self.store.outbox_pending(10_000)
            if m.routing_key == event_type
        ]

    def deadlines(self, rule_id: str) -> list[dict]:
        found = self.scheduler.store.collection("deadlines").find({"rule_id": rule_id})
        return sorted(found, key=lambda d: d["created_at"])

    def explained(self, deadline_id: str) -> dict:
        scheduler = self.scheduler_app.test_client()
        return ok(scheduler.get(f"/v1/deadlines/{deadline_id}", headers=self.reader))


@pytest.fixture
def deployment(make_settings, token_for):
    made = []

    def make(plugins: str) -> Deployment:
        made.append(Deployment(make_settings, token_for, plugins))
        return made[-1]

    yield make
    for d in made:
        d.scheduler.store.close()


def refused(resp, status: int, field: str | None = None) -> str:
    """The refusal's status, and the field it names (a 422) or its message (a 409)."""
    assert resp.status_code == status, resp.json
    if field is None:
        return resp.json["message"]
    errors = resp.json["errors"]["json"]
    assert field in errors, errors
    return " ".join(errors[field])


# --- the decision's date ----------------------------------------------------------------------------------------


def test_an_escalation_records_the_day_it_was_decided_and_refuses_a_wrong_one(deployment):
    eng = deployment("england")
    conference_on = eng.cal.on_or_before(TODAY - timedelta(days=30))[0]
    plan_id, _ = eng.on_plan("child-e1", conference_on)
    url, sw = f"/v1/plans/{plan_id}/escalations", eng.sw
    route = {"route": "early_review_conference", "reason": "Home conditions worse again."}
    case_id = ok(eng.plans.get(f"/v1/plans/{plan_id}", headers=sw))["case_id"]
    review_on = eng.cal.add_working_days(conference_on, 5).isoformat()
    review = ok(
        eng.plans.post(
            f"/v1/cases/{case_id}/conferences", json={"kind": "review", "scheduled_for": review_on}, headers=sw
        ),
        201,
    )

    assert "required" in refused(eng.plans.post(url, json=route, headers=sw), 422, "decided_on")
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    assert "in the future" in refused(
        eng.plans.post(url, json={**route, "decided_on": tomorrow}, headers=sw), 422, "decided_on"
    )
    before_plan = (conference_on - timedelta(days=1)).isoformat()
    assert "before the plan began" in refused(
        eng.plans.post(url, json={**route, "decided_on": before_plan}, headers=sw), 422, "decided_on"
    )
    assert "no conference" in refused(
        eng.plans.post(url, json={**route, "decided_on": review_on, "conference_id": "nope"}, headers=sw),
        422,
        "conference_id",
    )
    at_review = {**route, "decided_on": review_on, "conference_id": review["id"]}
    assert "not been held" in refused(eng.plans.post(url, json=at_review, headers=sw), 422, "conference_id")
    held = {"held_on": review_on, "decision": "continue"}
    ok(eng.plans.post(f"/v1/conferences/{review['id']}/outcome", json=held, headers=eng.chair))
    earlier = {**at_review, "decided_on": eng.cal.add_working_days(conference_on, 3).isoformat()}
    assert "before the conference that decided it" in refused(
        eng.plans.post(url, json=earlier, headers=sw), 422, "decided_on"
    )
    assert eng.escalations_of(plan_id) == [] and eng.published("escalation.raised.v1") == []

    made = ok(eng.plans.post(url, json=at_review, headers=sw), 201)
    assert (made["decided_on"], made["conference_id"], made["raised_on"]) == (review_on, review["id"], str(TODAY))
    assert (made["referral"], made["steps"]) == (None, [])
    [raised] = eng.published("escalation.raised.v1")
    assert (raised["decided_on"], raised["conference_id"], raised["raised_on"]) == (review_on, review["id"], str(TODAY))


def test_a_referral_is_recorded_only_for_a_route_with_a_recipient_outside_the_council(deployment):
    eng = deployment("england")
    plan_id, _ = eng.on_plan("child-e2", eng.cal.on_or_before(TODAY - timedelta(days=30))[0])
    esc = ok(
        eng.plans.post(
            f"/v1/plans/{plan_id}/escalations",
            json={"route": "early_review_conference", "reason": "Not working.", "decided_on": TODAY.isoformat()},
            headers=eng.sw,
        ),
        201,
    )
    referral = {"made_on": TODAY.isoformat(), "made_to": "Nobody"}
    message = refused(
        eng.plans.post(f"/v1/plans/{plan_id}/escalations/{esc['id']}/referral", json=referral, headers=eng.sw), 409
    )
    assert "no recipient outside the council" in message
    missing = eng.plans.post(f"/v1/plans/{plan_id}/escalations/nope/referral", json=referral, headers=eng.sw)
    assert missing.status_code == 404
    assert eng.escalations_of(plan_id)[0]["referral"] is None
    assert eng.published("escalation.referral_made.v1") == []


# --- the referral made: Guernsey's Convenor, Scotland's Reporter --------------------------------------------------


def test_guernsey_convenor_referral_counts_from_the_conference_and_is_met_by_the_referral_made(deployment):
    gsy = deployment("guernsey")
    # The conference decided to refer two weeks before the escalation is typed in (today).
    conference_on = gsy.cal.on_or_before(TODAY - timedelta(days=14))[0]
    plan_id, conference_id = gsy.on_plan("child-g1", conference_on)
    esc = ok(
        gsy.plans.post(
            f"/v1/plans/{plan_id}/escalations",
            json={
                "route": "childrens_convenor",
                "reason": "The parents do not keep to the plan.",
                "decided_on": conference_on.isoformat(),
                "conference_id": conference_id,
            },
            headers=gsy.sw,
        ),
        201,
    )
    assert esc["recipient"]["name"] == "Children's Convenor"
    gsy.pump()
    [due] = gsy.deadlines("convenor-referral")
    two_working_days = gsy.cal.add_working_days(conference_on, 2)
    assert (due["status"], due["key"], due["due_on"]) == ("pending", esc["id"], two_working_days.isoformat())
    assert due["anchor"] == {"field": "decided_on", "date": conference_on.isoformat()}
    assert due["due_on"] < TODAY.isoformat()  # counted from the conference, not from the day it was typed in

    # A webhook's delivery receipt does not meet it.
    deliver_event(
        gsy.scheduler,
        "escalation.delivered.v1",
        {
            "escalation_id": esc["id"],
            "plan_id": plan_id,
            "case_id": due["case_id"],
            "child_id": due["child_id"],
            "route": "childrens_convenor",
            "recipient": "childrens_convenor",
            "delivered_on": TODAY.isoformat(),
        },
        source="/services/notify",
    )
    assert gsy.deadlines("convenor-referral")[0]["status"] != "met"

    url = f"/v1/plans/{plan_id}/escalations/{esc['id']}/referral"
    made_to = "Children's Convenor, duty officer"
    before = (conference_on - timedelta(days=1)).isoformat()
    assert "before the decision" in refused(
        gsy.plans.post(url, json={"made_on": before, "made_to": made_to}, headers=gsy.sw), 422, "made_on"
    )
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    assert "in the future" in refused(
        gsy.plans.post(url, json={"made_on": tomorrow, "made_to": made_to}, headers=gsy.sw), 422, "made_on"
    )
    refused(gsy.plans.post(url, json={"made_on": TODAY.isoformat()}, headers=gsy.sw), 422, "made_to")
    assert gsy.escalations_of(plan_id)[0]["referral"] is None and gsy.published("escalation.referral_made.v1") == []

    made_on = gsy.cal.add_working_days(conference_on, 3)
    body = {"made_on": made_on.isoformat(), "made_to": made_to, "how": "Secure email"}
    done = ok(gsy.plans.post(url, json=body, headers={**gsy.sw, "Idempotency-Key": "ref-1"}), 201)
    assert done["referral"] == {**body, "recorded_by": "sw-1"}
    replay = gsy.plans.post(url, json=body, headers={**gsy.sw, "Idempotency-Key": "ref-1"})
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert "recorded already" in refused(gsy.plans.post(url, json=body, headers=gsy.sw), 409)
    [event] = gsy.published("escalation.referral_made.v1")
    assert event == {
        "escalation_id": esc["id"],
        "plan_id": plan_id,
        "case_id": due["case_id"],
        "child_id": due["child_id"],
        "route": "childrens_convenor",
        "decided_on": conference_on.isoformat(),
        "made_on": made_on.isoformat(),
        "made_to": made_to,
    }
    gsy.pump()
    [met] = gsy.deadlines("convenor-referral")
    assert met["status"] == "met"
    assert (met["met"]["on"], met["met"]["late"], met["met"]["working_days_late"]) == (made_on.isoformat(), True, 1)
    assert met["met"]["type"] == "escalation.referral_made.v1"


def test_scotland_reporter_referral_counts_from_the_meeting_and_is_met_by_the_referral_made(deployment):
    sct = deployment("scotland")
    meeting_on = sct.cal.on_or_before(TODAY - timedelta(days=14))[0]
    plan_id, conference_id = sct.on_plan("child-s1", meeting_on)
    esc = ok(
        sct.plans.post(
            f"/v1/plans/{plan_id}/escalations",
            json={
                "route": "childrens_reporter",
                "reason": "Compulsory measures of supervision may be needed.",
                "decided_on": meeting_on.isoformat(),
                "conference_id": conference_id,
            },
            headers=sct.sw,
        ),
        201,
    )
    sct.pump()
    [due] = sct.deadlines("reporter-referral")
    # "Straight away": the day of the meeting, a working day.
    assert (due["status"], due["due_on"]) == ("pending", meeting_on.isoformat())
    made_on = sct.cal.add_working_days(meeting_on, 1).isoformat()
    body = {"made_on": made_on, "made_to": "Principal Reporter, Glasgow locality"}
    ok(sct.plans.post(f"/v1/plans/{plan_id}/escalations/{esc['id']}/referral", json=body, headers=sct.sw), 201)
    sct.pump()
    [met] = sct.deadlines("reporter-referral")
    assert (met["status"], met["met"]["on"], met["met"]["late"]) == ("met", made_on, True)


# --- England's pre-proceedings ------------------------------------------------------------------------------------

STEPS = ("legal_planning_meeting", "legal_planning_decision", "letter_before_proceedings", "pre_proceedings_meeting")


def test_englands_pre_proceedings_steps_in_order_each_with_its_undated_deadline(deployment):
    eng = deployment("england")
    conference_on = eng.cal.on_or_before(TODAY - timedelta(days=40))[0]
    plan_id, _ = eng.on_plan("child-e3", conference_on)
    decided_on = eng.cal.add_working_days(conference_on, 5)
    esc = ok(
        eng.plans.post(
            f"/v1/plans/{plan_id}/escalations",
            json={
                "route": "legal_planning",
                "reason": "The plan has not made Ana safe.",
                "decided_on": str(decided_on),
            },
            headers=eng.sw,
        ),
        201,
    )
    eng.pump()
    [meeting_due] = eng.deadlines("plo-legal-planning-meeting")
    assert (meeting_due["status"], meeting_due["due_on"], meeting_due["needs_date"]) == ("pending", None, True)
    assert "No timescale for this step was found" in meeting_due["source"]
    explained = eng.explained(meeting_due["_id"])["explanation"]
    assert explained["summary"] == "The source sets no timescale for this step: a manager gives it a date."
    assert explained["timescale"] == "no timescale set by the source: a date is needed"

    url = f"/v1/plans/{plan_id}/escalations/{esc['id']}/steps"
    step_on = [str(eng.cal.add_working_days(decided_on, n)) for n in (1, 1, 3, 8)]

    def post(step: str, on: str, **more):
        return eng.plans.post(url, json={"step": step, "on": on, **more}, headers=eng.sw)

    named = refused(post("court_hearing", step_on[0]), 422, "step")
    assert all(step in named for step in STEPS)
    assert "comes before" in refused(post("letter_before_proceedings", step_on[0]), 409)
    assert "has no outcome" in refused(
        post("legal_planning_meeting", step_on[0], outcome="pre_proceedings"), 422, "outcome"
    )
    before = str(decided_on - timedelta(days=1))
    assert "before the decision" in refused(post("legal_planning_meeting", before), 422, "on")
    future = str(TODAY + timedelta(days=1))
    assert "in the future" in refused(post("legal_planning_meeting", future), 422, "on")
    assert eng.escalations_of(plan_id)[0]["steps"] == [] and eng.published("escalation.step_recorded.v1") == []

    ok(post("legal_planning_meeting", step_on[0], notes="Threshold met; legal advice taken."), 201)
    assert "recorded already" in refused(post("legal_planning_meeting", step_on[0]), 409)
    assert "one of pre_proceedings" in refused(post("legal_planning_decision", step_on[1]), 422, "outcome")
    earlier = str(eng.cal.add_working_days(decided_on, 0))
    if earlier < step_on[0]:
        assert "before the step it follows" in refused(
            post("legal_planning_decision", earlier, outcome="pre_proceedings"), 422, "on"
        )
    ok(post("legal_planning_decision", step_on[1], outcome="pre_proceedings"), 201)
    eng.pump()
    assert eng.deadlines("plo-legal-planning-meeting")[0]["met"]["on"] == step_on[0]
    [decision] = eng.deadlines("plo-legal-planning-decision")
    assert (decision["status"], decision["met"]["on"]) == ("met", step_on[1])
    [letter_due] = eng.deadlines("plo-letter-before-proceedings")
    assert (letter_due["status"], letter_due["due_on"], letter_due["owner"]) == ("pending", None, "social_worker")

    ok(post("letter_before_proceedings", step_on[2]), 201)
    done = ok(post("pre_proceedings_meeting", step_on[3], notes="Parents and their solicitor attended."), 201)
    assert [(s["step"], s["on"], s["outcome"]) for s in done["steps"]] == [
        ("legal_planning_meeting", step_on[0], None),
        ("legal_planning_decision", step_on[1], "pre_proceedings"),
        ("letter_before_proceedings", step_on[2], None),
        ("pre_proceedings_meeting", step_on[3], None),
    ]
    eng.pump()
    for rule in ("plo-letter-before-proceedings", "plo-pre-proceedings-meeting"):
        [d] = eng.deadlines(rule)
        assert (d["status"], d["due_on"], d["met"]["late"]) == ("met", None, False)
    events = eng.published("escalation.step_recorded.v1")
    assert [e["step"] for e in events] == list(STEPS)
    assert events[1] == {
        "escalation_id": esc["id"],
        "plan_id": plan_id,
        "case_id": decision["case_id"],
        "child_id": decision["child_id"],
        "route": "legal_planning",
        "decided_on": str(decided_on),
        "step": "legal_planning_decision",
        "name": "Decision of the legal planning meeting",
        "on": step_on[1],
        "outcome": "pre_proceedings",
    }


def test_a_decision_against_pre_proceedings_ends_the_steps_and_a_route_without_steps_has_none(deployment):
    eng = deployment("england")
    conference_on = eng.cal.on_or_before(TODAY - timedelta(days=40))[0]
    plan_id, _ = eng.on_plan("child-e4", conference_on)
    on = str(conference_on)

    def escalate(route: str) -> str:
        body = {"route": route, "reason": "Not working.", "decided_on": on}
        return ok(eng.plans.post(f"/v1/plans/{plan_id}/escalations", json=body, headers=eng.sw), 201)["id"]

    legal, review = escalate("legal_planning"), escalate("early_review_conference")
    url = f"/v1/plans/{plan_id}/escalations/{legal}/steps"
    ok(eng.plans.post(url, json={"step": "legal_planning_meeting", "on": on}, headers=eng.sw), 201)
    decision = {"step": "legal_planning_decision", "on": on, "outcome": "no_further_legal_action"}
    ok(eng.plans.post(url, json=decision, headers=eng.sw), 201)
    letter = eng.plans.post(url, json={"step": "letter_before_proceedings", "on": on}, headers=eng.sw)
    assert "follows only 'pre_proceedings'" in refused(letter, 409)
    eng.pump()
    assert eng.deadlines("plo-letter-before-proceedings") == []  # no letter is due after that decision

    other = eng.plans.post(
        f"/v1/plans/{plan_id}/escalations/{review}/steps",
        json={"step": "legal_planning_meeting", "on": on},
        headers=eng.sw,
    )
    assert "records no steps" in refused(other, 422, "step")
