"""A Welsh deployment (``CPP_PLUGINS=wales``): its categories over the plans API (financial abuse among them), a
case walked over the API with each deadline the scheduler gives it on a Welsh working day (the initial
conference's, graded U, without a date), a move into Wales's transfer-in conference, and ``cpp rules --plugins wales``
in Wales's words.

Expected dates are counted by hand in the comments (the Welsh bank holidays of 2026: Good Friday 3 April,
Easter Monday 6 April), never with the calendar under test."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cpp_plans.app import create_app as create_plans_app
from cpp_scheduler.app import create_app as create_scheduler_app
from cpp_scheduler.commands import rules
from tests.helpers import KEY_WORKER_ATTENDS, Pump, bearer, ensure_child
from tests.services.test_lookup_http import NHS, child_body
from tests.services.test_plans_lifecycle_http import OUTLINE
from tests.services.test_referral_http import ok, step
from tests.unit.test_rules_command import _literals, _rows

WELSH_CATEGORIES = [
    {"id": "physical_abuse", "name": "Physical abuse", "census_code": None},
    {"id": "emotional_abuse", "name": "Emotional or psychological abuse", "census_code": None},
    {"id": "sexual_abuse", "name": "Sexual abuse", "census_code": None},
    {"id": "financial_abuse", "name": "Financial abuse", "census_code": None},
    {"id": "neglect", "name": "Neglect", "census_code": None},
]


@pytest.fixture
def wales(make_settings, token_for):
    """The plans service and the scheduler of a Welsh deployment, the plans service's events handed to the
    scheduler by ``pump``, and the people who act."""
    plans_app = create_plans_app(make_settings("plans", CPP_PLUGINS="wales"))
    scheduler_app = create_scheduler_app(make_settings("scheduler", CPP_PLUGINS="wales"))
    scheduler = scheduler_app.extensions["cpp"]
    scheduler.test_client = scheduler_app.test_client
    plans = plans_app.test_client()
    people = {
        role: bearer(token_for(role, user=user, authority="WLS"))
        for role, user in (("social_worker", "sw-1"), ("chair", "chair-1"), ("team_manager", "tm-1"))
    }
    assert plans.get("/v1/cases", headers=people["team_manager"]).status_code == 200  # in the staff directory
    yield plans, Pump(plans_app.extensions["cpp"].store, scheduler), scheduler, people
    scheduler.store.close()


def open_deadlines(scheduler, case_id: str) -> dict[str, dict]:
    found = scheduler.store.collection("deadlines").find({"case_id": case_id})
    return {d["rule_id"]: d for d in found if d["status"] in ("pending", "approaching", "overdue")}


def test_a_welsh_deployment_offers_financial_abuse_and_refuses_a_scottish_concern(wales):
    plans, _, _, people = wales
    sw, chair = people["social_worker"], people["chair"]
    listed = plans.get("/v1/categories", headers=sw)
    assert listed.status_code == 200
    assert listed.json["items"] == WELSH_CATEGORIES

    case_id = plans.post("/v1/cases", json={"child_id": ensure_child(plans, "child-w1")}, headers=sw).json["id"]
    plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": "2026-03-02"}, headers=sw)
    plans.post(
        f"/v1/cases/{case_id}/enquiry-outcome",
        json={"completed_on": "2026-03-09", "conference_required": True},
        headers=sw,
    )
    conf = plans.post(
        f"/v1/cases/{case_id}/conferences", json={"kind": "initial", "scheduled_for": "2026-03-20"}, headers=sw
    ).json
    body = {"held_on": "2026-03-20", "plan_required": True}
    refused = plans.post(
        f"/v1/conferences/{conf['id']}/outcome",
        json={**body, "outline_plan": {**OUTLINE, "categories": ["domestic_abuse"]}},
        headers=chair,
    )
    assert refused.status_code == 422
    assert "financial_abuse" in refused.json["errors"]["json"]["outline_plan"]["categories"]["0"][0]
    made = plans.post(
        f"/v1/conferences/{conf['id']}/outcome",
        json={**body, "outline_plan": {**OUTLINE, "categories": ["financial_abuse", "neglect"]}},
        headers=chair,
    )
    assert made.status_code == 200, made.json
    assert made.json["plan"]["categories"] == made.json["plan"]["initial_categories"] == ["financial_abuse", "neglect"]
    plan = plans.get(f"/v1/plans/{made.json['plan']['id']}", headers=sw).json
    assert plan["terminology"]["plan"] == "care and support protection plan"
    assert plan["terminology"]["register"] == "on the child protection register"


def test_a_welsh_case_walked_over_the_api_gets_each_deadline_on_a_welsh_working_day(wales):
    plans, pump, scheduler, people = wales
    sw, chair, tm = people["social_worker"], people["chair"], people["team_manager"]
    answer = plans.post("/v1/cases", json={"child_id": ensure_child(plans, "child-w2")}, headers=sw)
    case_id, etag = answer.json["id"], answer.headers["ETag"]
    etag = ok(step(plans, sw, case_id, "referral", {"received_on": "2026-02-26", "source": "school"}, etag))
    body = {"decided_on": "2026-02-27", "decision": "strategy_discussion", "reason": "an injury"}
    etag = ok(step(plans, tm, case_id, "referral/decision", body, etag))
    etag = ok(step(plans, sw, case_id, "assessment", {"started_on": "2026-02-27", "factors": ["neglect"]}, etag))
    held = plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": "2026-03-02"}, headers=sw)
    assert held.status_code == 201, held.json
    pump()

    deadlines = open_deadlines(scheduler, case_id)
    assert "referral-decision" not in deadlines and "child-and-family-assessment" not in deadlines  # England's
    # The initial conference: no confirmed timescale (U), so no date until a manager gives one.
    initial = deadlines["initial-conference"]
    assert (initial["needs_date"], initial["due_on"]) == (True, None)
    shown = scheduler.test_client().get(f"/v1/deadlines/{initial['_id']}", headers=sw)
    assert shown.status_code == 200, shown.json
    assert shown.json["explanation"]["timescale"] == "no timescale set by the source: a date is needed"
    assert "(U)" in shown.json["source"]
    # The assessment: Mon 2 Mar 2026 + 42 working days, Good Friday and Easter Monday skipped: Fri 1 May.
    assert deadlines["assessment"]["due_on"] == "2026-05-01"

    body = {"completed_on": "2026-03-16", "conference_required": True}
    assert plans.post(f"/v1/cases/{case_id}/enquiry-outcome", json=body, headers=sw).status_code == 200
    conf = plans.post(
        f"/v1/cases/{case_id}/conferences", json={"kind": "initial", "scheduled_for": "2026-03-20"}, headers=sw
    ).json
    body = {"held_on": "2026-03-20", "plan_required": True, "outline_plan": OUTLINE}
    outcome = plans.post(f"/v1/conferences/{conf['id']}/outcome", json=body, headers=chair)
    assert outcome.status_code == 200, outcome.json
    plan_id = outcome.json["plan"]["id"]
    pump()

    deadlines = open_deadlines(scheduler, case_id)
    assert "initial-conference" not in deadlines  # met by the conference held
    # Fri 20 Mar 2026 + 10 working days: 23-27 (5), 30 Mar - 2 Apr (9), Good Friday and Easter Monday, Tue 7 Apr.
    assert deadlines["first-core-group"]["due_on"] == "2026-04-07"
    # Fri 20 Mar + 3 months = Sat 20 Jun: back to Fri 19 Jun.
    assert deadlines["first-review-conference"]["due_on"] == "2026-06-19"
    # The outline plan and decisions circulated: Fri 20 Mar + 5 working days, Mon 23 - Fri 27 Mar.
    assert deadlines["outline-plan-circulated"]["due_on"] == "2026-03-27"
    issued = plans.post(f"/v1/conferences/{conf['id']}/record-issue", json={"issued_on": "2026-03-31"}, headers=chair)
    assert issued.status_code == 201, issued.json

    meeting = {"held_on": "2026-04-07", "detailed_plan_agreed": False, "attendees": [KEY_WORKER_ATTENDS]}
    assert plans.post(f"/v1/plans/{plan_id}/core-group-meetings", json=meeting, headers=sw).status_code == 201
    body = {"completed_on": "2026-04-30", "outcome": "child_in_need_plan", "authorised_by": "tm-1"}
    case = plans.get(f"/v1/cases/{case_id}", headers=sw)
    assert case.status_code == 200, case.json
    etag = f'"{case.json["version"]}"'
    ok(step(plans, sw, case_id, "assessment/completion", body, etag))
    pump()

    deadlines = open_deadlines(scheduler, case_id)
    assert "assessment" not in deadlines
    # The next core group: a calendar month after Tue 7 Apr is Thu 7 May (the norm; the Early May bank holiday,
    # Mon 4 May, is before it), 6 weeks Tue 19 May (the limit).
    core = deadlines["first-core-group"]
    assert (core["occurrence"], core["due_on"], core["latest_on"]) == (2, "2026-05-07", "2026-05-19")
    met = {
        d["rule_id"]: d["met"] for d in scheduler.store.collection("deadlines").find({"case_id": case_id}) if d["met"]
    }
    assert (met["assessment"]["on"], met["assessment"]["late"]) == ("2026-04-30", False)
    assert met["initial-conference"]["on"] == "2026-03-20"
    # Circulated on Tue 31 Mar: late by Mon 30 and Tue 31.
    circulated = met["outline-plan-circulated"]
    assert (circulated["on"], circulated["late"], circulated["working_days_late"]) == ("2026-03-31", True, 2)

    # The first review, held on Thu 25 Jun (due Fri 19 Jun: late by Mon 22 - Thu 25), continues the plan: the next
    # is due 6 months on, Fri 25 Dec 2026, Christmas Day, so back to Thu 24 Dec.
    review = plans.post(
        f"/v1/cases/{case_id}/conferences", json={"kind": "review", "scheduled_for": "2026-06-25"}, headers=sw
    )
    assert review.status_code == 201, review.json
    body = {"held_on": "2026-06-25", "decision": "continue"}
    assert plans.post(f"/v1/conferences/{review.json['id']}/outcome", json=body, headers=chair).status_code == 200
    pump()
    deadlines = open_deadlines(scheduler, case_id)
    assert "first-review-conference" not in deadlines
    assert deadlines["later-review-conference"]["due_on"] == "2026-12-24"
    [first] = scheduler.store.collection("deadlines").find({"case_id": case_id, "rule_id": "first-review-conference"})
    assert (first["met"]["on"], first["met"]["late"], first["met"]["working_days_late"]) == ("2026-06-25", True, 4)


def test_a_move_into_wales_gets_its_transfer_in_conference_15_welsh_working_days_on(wales):
    plans, pump, scheduler, people = wales
    notice = {"from_council": "Bristol City Council", "notified_on": "2026-05-15", "child": child_body(NHS)}
    received = plans.post("/v1/transfers/in", json={"notification": notice}, headers=people["social_worker"])
    assert received.status_code == 201, received.json
    pump()
    # Fri 15 May 2026: 18-22 May (5), the Spring bank holiday Mon 25 May skipped, 26-29 (9), 1-5 Jun (14), Mon 8 Jun.
    due = open_deadlines(scheduler, received.json["id"])["transfer-in-conference"]
    assert due["due_on"] == "2026-06-08" and due["plugin"] == "wales"
    assert "c4-p9" in due["source"]


def test_cpp_rules_lists_the_welsh_timetable_in_its_own_terms():
    result = CliRunner().invoke(rules, ["--plugins", "wales"])
    assert result.exit_code == 0, result.output
    output = result.output
    assert _literals(output) == []
    assert output.startswith("Timescales of Wales (Wales Safeguarding Procedures defaults)")
    flat = " ".join(output.split())
    assert "public holidays of Wales" in flat
    rows = {row["Step"]: row for row in _rows(output)}
    assert len(rows) == 7
    circulated = rows["Outline plan and decisions of the initial child protection conference circulated"]
    assert circulated["When"].startswith("5 working days after the initial conference.")
    assert circulated["By whom"] == "Conference chair" and "c3pt2-p11" in circulated["Source"]
    initial = rows["Initial child protection conference (no confirmed timescale)"]
    assert initial["When"].startswith("No timescale in the source: a manager gives each one a date.")
    assert initial["Source"].startswith("Source (grade U; from the wales plugin): Wales Safeguarding Procedures")
    core = rows["Core group meeting of the care and support protection plan"]
    assert core["When"].startswith("10 working days after the initial or transfer-")
    assert (
        "then monthly, and no more than 6-weekly, counted from the last core group meeting, or as often as the plan "
        "states, no less often." in core["When"]
    )
    assert "monthly but no more than at 6 weekly intervals" in core["Source"]
    assert rows["Assessment completed"]["When"].startswith("42 working days after the strategy discussion.")
    review = rows["Review child protection conference"]
    assert "child protection register" in review["Source"] and review["By whom"] == "Conference chair"
    assert rows["First review child protection conference"]["When"].startswith("3 months after the initial")
    assert rows["Transfer-in child protection conference"]["When"].startswith(
        "15 working days after the notification of the permanent move."
    )
