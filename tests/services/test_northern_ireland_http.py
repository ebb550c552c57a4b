"""A Northern Ireland deployment (CPP_PLUGINS=northern_ireland) over HTTP: its categories of abuse at GET
/v1/categories (exploitation among them), a case walked over the plans API with the scheduler following its
events, each deadline on the Northern Irish working day and the unverified ones waiting for a date, and its
timetable as `cpp rules` prints it.

Days closed in Northern Ireland in 2026 used below: St Patrick's Day, Tuesday 17 March; the Twelfth, Sunday 12
July, given in lieu on Monday 13 July."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cpp_plans.app import create_app as create_plans_app
from cpp_scheduler.app import create_app as create_scheduler_app
from cpp_shared.cli import main
from tests.helpers import Pump, bearer, ensure_child
from tests.services.test_plans_lifecycle_http import OUTLINE
from tests.unit.test_rules_command import _rows

NI = "northern_ireland"


@pytest.fixture
def ni(make_settings, token_for):
    plans_app = create_plans_app(make_settings("plans", CPP_PLUGINS=NI))
    scheduler_app = create_scheduler_app(make_settings("scheduler", CPP_PLUGINS=NI))
    who = {
        role: bearer(token_for(role, authority="NIR", user=user))
        for role, user in (("social_worker", "sw-1"), ("team_manager", "tm-1"), ("chair", "chair-1"))
    }
    pump = Pump(plans_app.extensions["cpp"].store, scheduler_app.extensions["cpp"])
    yield plans_app.test_client(), scheduler_app.test_client(), pump, who
    for app in (plans_app, scheduler_app):
        app.extensions["cpp"].store.close()


def ok(answer, status=200):
    assert answer.status_code == status, answer.json
    return answer


def test_a_northern_ireland_deployment_lists_its_categories_of_abuse_with_exploitation(ni):
    plans, _, _, who = ni
    listed = ok(plans.get("/v1/categories", headers=who["social_worker"])).json["items"]
    assert [(c["id"], c["name"]) for c in listed] == [
        ("physical_abuse", "Physical abuse"),
        ("emotional_abuse", "Emotional abuse"),
        ("sexual_abuse", "Sexual abuse"),
        ("neglect", "Neglect"),
        ("exploitation", "Exploitation"),
    ]
    assert not any(c.get("census_code") for c in listed)


def _case_to_conference(plans, who, child_id, categories):
    """A referral on Monday 16 March 2026 decided for a strategy discussion, held on Wednesday 18 March, and an
    initial child protection case conference on Monday 13 April 2026: the conference's answer."""
    sw, tm, chair = who["social_worker"], who["team_manager"], who["chair"]
    opened = ok(plans.post("/v1/cases", json={"child_id": ensure_child(plans, child_id)}, headers=sw), 201)
    case_id, etag = opened.json["id"], opened.headers["ETag"]
    referral = {"received_on": "2026-03-16", "source": "police"}
    etag = ok(plans.post(f"/v1/cases/{case_id}/referral", json=referral, headers={**sw, "If-Match": etag})).headers[
        "ETag"
    ]
    decision = {"decided_on": "2026-03-16", "decision": "strategy_discussion", "reason": "a disclosure at school"}
    ok(plans.post(f"/v1/cases/{case_id}/referral/decision", json=decision, headers={**tm, "If-Match": etag}))
    ok(plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": "2026-03-18"}, headers=sw), 201)
    outcome = {"completed_on": "2026-04-01", "conference_required": True}
    ok(plans.post(f"/v1/cases/{case_id}/enquiry-outcome", json=outcome, headers=sw))
    conference = {"kind": "initial", "scheduled_for": "2026-04-13"}
    conf = ok(plans.post(f"/v1/cases/{case_id}/conferences", json=conference, headers=sw), 201).json
    body = {"held_on": "2026-04-13", "plan_required": True, "outline_plan": {**OUTLINE, "categories": categories}}
    return case_id, plans.post(f"/v1/conferences/{conf['id']}/outcome", json=body, headers=chair)


def test_a_plan_under_exploitation_is_agreed_and_a_welsh_category_is_refused(ni):
    plans, _, _, who = ni
    _, refused = _case_to_conference(plans, who, "child-w", ["financial_abuse"])
    assert refused.status_code == 422
    message = refused.json["errors"]["json"]["outline_plan"]["categories"]["0"][0]
    assert message == "Must be one of: physical_abuse, emotional_abuse, sexual_abuse, neglect, exploitation."
    _, made = _case_to_conference(plans, who, "child-x", ["exploitation", "neglect"])
    assert ok(made).json["plan"]["categories"] == ["exploitation", "neglect"]


def test_a_case_walked_over_the_api_gets_each_deadline_on_the_northern_irish_working_day(ni):
    plans, scheduler, pump, who = ni
    sw = who["social_worker"]
    case_id, held = _case_to_conference(plans, who, "child-n", ["neglect"])
    plan = ok(held).json["plan"]
    visit = {"visited_on": "2026-06-15", "announced": False, "child_seen": True, "seen_alone": True, "by": "Sam"}
    ok(plans.post(f"/v1/plans/{plan['id']}/visits", json=visit, headers=sw), 201)
    pump()

    items = ok(scheduler.get("/v1/deadlines", query_string={"case_id": case_id}, headers=sw)).json["items"]
    got = {}
    for d in items:
        got.setdefault(d["rule_id"], []).append((d["status"], d["due_on"], d["needs_date"]))
    assert got == {
        # 24 hours from Monday 16 March: Tuesday 17 March is St Patrick's Day; held on the Wednesday, on time.
        "strategy-discussion": [("met", "2026-03-18", False)],
        # The child seen within 24 hours of Monday 16 March: Tuesday 17 March is St Patrick's Day, so back to the
        # Monday itself; no visit before the plan was recorded.
        "child-seen-after-referral": [("pending", "2026-03-16", False)],
        # 10 working days from Monday 16 March, St Patrick's Day not counted: Wed 18 .. Fri 20 (3), Mon 23 ..
        # Fri 27 (8), Mon 30 (9), Tue 31 March (10).
        "initial-assessment": [("pending", "2026-03-31", False)],
        # Graded U: no date until a manager (or a Trust's plugin) gives one; met by the conference all the same.
        "initial-conference": [("met", None, True)],
        "first-core-group": [("pending", None, True)],
        # Three months from Monday 13 April is Monday 13 July, the Twelfth in lieu: Friday 10 July.
        "first-review-conference": [("pending", "2026-07-10", False)],
        # Four weeks from the conference (Monday 11 May), met by the visit of Monday 15 June, late; four weeks from
        # the visit is Monday 13 July, the Twelfth in lieu: Friday 10 July.
        "child-seen": [("met", "2026-05-11", False), ("pending", "2026-07-10", False)],
    }
    [core_group] = [d for d in items if d["rule_id"] == "first-core-group"]
    detail = ok(scheduler.get(f"/v1/deadlines/{core_group['id']}", headers=sw)).json
    assert "no timescale" in detail["explanation"]["summary"]
    assert "(U)" in detail["explanation"]["rule"]["source"]

    # The first review, on time on Friday 10 July, continues the plan: the next is due six months on, Sunday 10
    # January 2027, so back to Friday 8 January.
    review = {"kind": "review", "scheduled_for": "2026-07-10"}
    conf = ok(plans.post(f"/v1/cases/{case_id}/conferences", json=review, headers=sw), 201).json
    held = {"held_on": "2026-07-10", "decision": "continue"}
    ok(plans.post(f"/v1/conferences/{conf['id']}/outcome", json=held, headers=who["chair"]))
    pump()
    items = ok(scheduler.get("/v1/deadlines", query_string={"case_id": case_id}, headers=sw)).json["items"]
    reviews = {d["rule_id"]: (d["status"], d["due_on"]) for d in items if d["rule_id"].endswith("review-conference")}
    assert reviews == {
        "first-review-conference": ("met", "2026-07-10"),
        "later-review-conference": ("pending", "2027-01-08"),
    }


def _referral_for_a_strategy_discussion(plans, who, child_id, received_on):
    sw, tm = who["social_worker"], who["team_manager"]
    opened = ok(plans.post("/v1/cases", json={"child_id": ensure_child(plans, child_id)}, headers=sw), 201)
    case_id, etag = opened.json["id"], opened.headers["ETag"]
    referral = {"received_on": received_on, "source": "health"}
    etag = ok(plans.post(f"/v1/cases/{case_id}/referral", json=referral, headers={**sw, "If-Match": etag})).headers[
        "ETag"
    ]
    decision = {"decided_on": received_on, "decision": "strategy_discussion", "reason": "an injury seen at A&E"}
    ok(plans.post(f"/v1/cases/{case_id}/referral/decision", json=decision, headers={**tm, "If-Match": etag}))
    return case_id


def _child_seen_deadline(scheduler, case_id, who):
    items = ok(scheduler.get("/v1/deadlines", query_string={"case_id": case_id}, headers=who["social_worker"]))
    [deadline] = [d for d in items.json["items"] if d["rule_id"] == "child-seen-after-referral"]
    return deadline


def test_the_child_is_seen_within_24_hours_of_a_referral_by_a_visit_that_saw_them(ni):
    plans, scheduler, pump, who = ni
    sw = who["social_worker"]
    # A referral on Wednesday 18 March 2026: due the next calendar day, Thursday 19 March (a working day).
    case_id = _referral_for_a_strategy_discussion(plans, who, "child-24h", "2026-03-18")
    pump()
    deadline = _child_seen_deadline(scheduler, case_id, who)
    assert (deadline["status"], deadline["due_on"]) == ("pending", "2026-03-19")

    # A visit on the Wednesday at which the child was not seen does not meet it.
    visit = {"visited_on": "2026-03-18", "announced": False, "child_seen": False, "seen_alone": False, "by": "Sam"}
    ok(plans.post(f"/v1/cases/{case_id}/visits", json=visit, headers=sw), 201)
    pump()
    assert _child_seen_deadline(scheduler, case_id, who)["status"] == "pending"

    # The child seen on the Thursday: met, on time.
    visit = {**visit, "visited_on": "2026-03-19", "child_seen": True}
    ok(plans.post(f"/v1/cases/{case_id}/visits", json=visit, headers=sw), 201)
    pump()
    deadline = _child_seen_deadline(scheduler, case_id, who)
    assert (deadline["status"], deadline["met"]["on"], deadline["met"]["late"]) == ("met", "2026-03-19", False)


def test_a_visit_before_the_referral_came_in_is_refused_naming_its_day(ni):
    plans, _, _, who = ni
    case_id = _referral_for_a_strategy_discussion(plans, who, "child-early", "2026-03-18")
    visit = {"visited_on": "2026-03-17", "announced": False, "child_seen": True, "seen_alone": False, "by": "Sam"}
    refused = plans.post(f"/v1/cases/{case_id}/visits", json=visit, headers=who["social_worker"])
    assert refused.status_code == 422
    assert refused.json["errors"]["json"]["visited_on"] == [
        "is before the case began on 2026-03-18 (its referral was received)"
    ]


def test_cpp_rules_prints_the_northern_ireland_timetable_in_its_terms():
    result = CliRunner().invoke(main, ["rules", "--plugins", NI])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "Timescales of Northern Ireland" in flat and "public holidays of Northern Ireland" in flat
    steps = {row["Step"]: row for row in _rows(result.output)}
    assert set(steps) == {
        "Strategy discussion after a referral with child protection concerns",
        "Child seen after a referral with child protection concerns",
        "Initial assessment",
        "Initial child protection case conference (timescale unverified: a date is needed)",
        "First core group meeting (timescale unverified: a date is needed)",
        "First review child protection case conference",
        "Review child protection case conference",
        "Child seen by the social worker (at least every four weeks)",
    }
    unverified = steps["Initial child protection case conference (timescale unverified: a date is needed)"]
    assert unverified["Source"].startswith("Source (grade U; from the northern_ireland plugin)")
    assert "on the Register" in steps["First review child protection case conference"]["Source"]
