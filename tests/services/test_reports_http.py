"""Reports to conference, the resource panel and the child in need plan,
over the plans API, with the scheduler following the real events: a
Guernsey case walked through every row of its timetable."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from cpp_plans.app import create_app as create_plans_app
from cpp_scheduler.app import create_app as create_scheduler_app
from cpp_scheduler.domain.calendar import WorkingCalendar
from tests.helpers import KEY_WORKER_ATTENDS, QUORATE, a_child, bearer, ensure_child, ok
from tests.services.test_event_catalogue import NAMES
from tests.services.test_plans_lifecycle_http import DETAILED, OUTLINE
from tests.services.test_plans_to_scheduler import Pump

GG = WorkingCalendar("GG")
SHARED_WITH = [{"name": "Alex Parent", "relationship": "mother", "how": "in_person", "interpreter_used": False}]


@pytest.fixture
def gsy(make_settings, token_for):
    plans_app = create_plans_app(make_settings("plans", CPP_PLUGINS="guernsey"))
    scheduler = create_scheduler_app(make_settings("scheduler", CPP_PLUGINS="guernsey")).extensions["cpp"]
    who = {
        role: bearer(token_for(role, authority="GSY", user=f"{role}-1", name=NAMES.get(role)))
        for role in ("social_worker", "team_manager", "chair", "partner")
    }
    who["other_manager"] = bearer(token_for("team_manager", authority="GSY", user="team_manager-2"))
    return plans_app.test_client(), Pump(plans_app.extensions["cpp"].store, scheduler), scheduler, who


def deadlines(scheduler, case_id):
    return {
        d["rule_id"]: d
        for d in scheduler.store.collection("deadlines").find({"case_id": case_id})
        if d["status"] != "superseded"
    }


def wd(day: date, n: int) -> str:
    return GG.add_working_days(day, n).isoformat()


def test_a_guernsey_case_meets_every_row_of_its_timetable(gsy):
    plans, pump, scheduler, who = gsy
    sw, tm, chair = who["social_worker"], who["team_manager"], who["chair"]
    d0 = GG.on_or_before(date.today() - timedelta(days=150))[0]  # the strategy discussion
    conference_on = date.fromisoformat(wd(d0, 12))

    case_id = ok(plans.post("/v1/cases", json={"child_id": ensure_child(plans, "child-g")}, headers=sw), 201)["id"]
    ok(plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": d0.isoformat()}, headers=sw), 201)
    ok(
        plans.post(
            f"/v1/cases/{case_id}/enquiry-outcome",
            headers=sw,
            json={"completed_on": wd(d0, 8), "conference_required": True},
        )
    )
    conf = ok(
        plans.post(
            f"/v1/cases/{case_id}/conferences",
            headers=sw,
            json={"kind": "initial", "scheduled_for": conference_on.isoformat()},
        ),
        201,
    )
    pump()

    # The section 35 report's four steps, each on its day (one a day late).
    report = ok(
        plans.post(
            f"/v1/conferences/{conf['id']}/reports",
            headers=sw,
            json={
                "findings": "Home conditions are poor; the child missed two health appointments.",
                "child_seen": [{"on": wd(d0, 1), "alone": True}],
                "plan": OUTLINE,
                "drafted_on": wd(conference_on, -4),
            },
        ),
        201,
    )
    assert report["kind"] == "enquiry_report" and report["status"] == "draft"
    early = plans.post(
        f"/v1/reports/{report['id']}/share", headers=sw, json={"with": SHARED_WITH, "child_included": False}
    )
    assert early.status_code == 409 and "countersigned" in early.json["message"]
    ok(plans.post(f"/v1/reports/{report['id']}/submit", json={"on": wd(conference_on, -3)}, headers=sw))
    assert plans.post(f"/v1/reports/{report['id']}/countersign", json={}, headers=sw).status_code == 403
    approvals = ok(plans.get("/v1/approvals", headers=tm))
    assert [(a["kind"], a["id"]) for a in approvals] == [("report_countersigning", report["id"])]
    [waiting] = approvals
    submitted_on = date.fromisoformat(wd(conference_on, -3))
    assert (waiting["child_name"], waiting["conference_date"], waiting["since"], waiting["waiting_days"]) == (
        "Sam Jones",
        conference_on.isoformat(),
        submitted_on.isoformat(),
        (date.today() - submitted_on).days,
    )
    ok(plans.post(f"/v1/reports/{report['id']}/countersign", json={"on": wd(conference_on, -3)}, headers=tm))
    late_share = wd(conference_on, -1)  # due 2 working days before: a day late
    shared = ok(
        plans.post(
            f"/v1/reports/{report['id']}/share",
            headers=sw,
            json={"with": SHARED_WITH, "child_included": False, "on": late_share},
        )
    )
    assert shared["shared_with"]["people"][0]["how"] == "in_person"
    ok(plans.post(f"/v1/reports/{report['id']}/send-to-chair", json={"on": wd(conference_on, -1)}, headers=sw))
    pump()

    held = ok(
        plans.post(
            f"/v1/conferences/{conf['id']}/outcome",
            headers=chair,
            json={
                "held_on": conference_on.isoformat(),
                "plan_required": True,
                "outline_plan": OUTLINE,
                "attendees": QUORATE,
            },
        )
    )
    plan_id = held["plan"]["id"]
    after_share = plans.post(f"/v1/reports/{report['id']}/send-to-chair", json={}, headers=sw)
    assert after_share.status_code == 409  # already sent
    ok(
        plans.post(
            f"/v1/plans/{plan_id}/core-group-meetings",
            headers=sw,
            json={
                "held_on": wd(conference_on, 9),
                "detailed_plan_agreed": True,
                "attendees": [KEY_WORKER_ATTENDS],
                "plan": DETAILED,
            },
        ),
        201,
    )
    panel = ok(
        plans.post(
            f"/v1/plans/{plan_id}/resource-panel-requests",
            headers=sw,
            json={
                "reason": "Family support worker",
                "services": ["family support, 6 hours a week"],
                "requested_on": wd(conference_on, 10),
            },
        ),
        201,
    )
    pump()
    assert deadlines(scheduler, case_id)["resource-panel"]["needs_date"] is True
    ok(
        plans.post(
            f"/v1/resource-panel-requests/{panel['id']}/decision",
            headers=tm,
            json={"decision": "approved", "conditions": "Review after 12 weeks", "decided_on": wd(conference_on, 15)},
        )
    )

    review_on = date.fromisoformat(wd(conference_on, 50))
    review = ok(
        plans.post(
            f"/v1/cases/{case_id}/conferences",
            headers=sw,
            json={"kind": "review", "scheduled_for": review_on.isoformat()},
        ),
        201,
    )
    pump()
    review_report = ok(
        plans.post(
            f"/v1/conferences/{review['id']}/reports",
            headers=sw,
            json={"findings": "Home conditions have improved.", "plan": DETAILED, "drafted_on": wd(review_on, -6)},
        ),
        201,
    )
    assert review_report["kind"] == "review_report" and review_report["plan_id"] == plan_id
    ok(plans.post(f"/v1/reports/{review_report['id']}/submit", json={"on": wd(review_on, -5)}, headers=sw))
    ok(
        plans.post(
            f"/v1/conferences/{review['id']}/outcome",
            headers=chair,
            json={"held_on": review_on.isoformat(), "decision": "end", "attendees": QUORATE},
        )
    )
    cin = ok(
        plans.post(
            f"/v1/cases/{case_id}/child-in-need-plans",
            headers=sw,
            json={
                "key_worker": {"name": "Sam Social", "phone": "01481 000000"},
                "needs": "Support with routines.",
                "services": ["family support"],
                "review_on": wd(review_on, 40),
                "created_on": wd(review_on, 7),
            },
        ),
        201,
    )
    assert cin["created_on"] == wd(review_on, 7)
    pump()

    final = deadlines(scheduler, case_id)
    expected_met = {
        "enquiries-complete": False,
        "initial-conference": False,
        "draft-plan-in-report": False,
        "report-to-manager": False,
        "report-shared-with-family": True,
        "report-to-chair": False,
        "first-core-group": False,
        "resource-panel": False,
        "first-review-conference": False,
        "plan-updated-for-review": False,
        "child-in-need-after-plan": False,
    }
    assert {
        rule: (d["status"], d["met"] and d["met"]["late"]) for rule, d in final.items() if rule in expected_met
    } == {rule: ("met", late) for rule, late in expected_met.items()}
    assert final["report-shared-with-family"]["met"]["working_days_late"] == 1
    # The plan's history stays readable after the step-down.
    assert ok(plans.get(f"/v1/plans/{plan_id}", headers=sw))["status"] == "ended"
    assert len(ok(plans.get(f"/v1/reports/{report['id']}/versions", headers=sw))["versions"]) == 1
    assert plans.get(f"/v1/reports/{report['id']}", headers=who["partner"]).status_code == 403


def test_an_author_cannot_countersign_their_own_report_and_a_returned_one_is_redrafted(gsy):
    plans, pump, scheduler, who = gsy
    tm, other = who["team_manager"], who["other_manager"]
    d0 = GG.on_or_before(date.today() - timedelta(days=30))[0]
    case_id = ok(plans.post("/v1/cases", json={"child_id": ensure_child(plans, "child-h")}, headers=tm), 201)["id"]
    ok(plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": d0.isoformat()}, headers=tm), 201)
    ok(
        plans.post(
            f"/v1/cases/{case_id}/enquiry-outcome",
            headers=tm,
            json={"completed_on": d0.isoformat(), "conference_required": True},
        )
    )
    conf = ok(
        plans.post(
            f"/v1/cases/{case_id}/conferences",
            headers=tm,
            json={"kind": "initial", "scheduled_for": (date.today() + timedelta(days=10)).isoformat()},
        ),
        201,
    )
    report = ok(plans.post(f"/v1/conferences/{conf['id']}/reports", headers=tm, json={"findings": "First draft."}), 201)
    ok(plans.post(f"/v1/reports/{report['id']}/submit", json={}, headers=tm))
    own = plans.post(f"/v1/reports/{report['id']}/countersign", json={}, headers=tm)
    assert own.status_code == 403 and "author" in own.json["message"]
    back = ok(
        plans.post(f"/v1/reports/{report['id']}/return", json={"reason": "Add the school's view."}, headers=other)
    )
    assert back["status"] == "draft" and back["steps"][-1]["reason"] == "Add the school's view."
    current = plans.get(f"/v1/reports/{report['id']}", headers=tm)
    changed = ok(
        plans.patch(
            f"/v1/reports/{report['id']}",
            json={"findings": "Second draft, with the school."},
            headers={**tm, "If-Match": current.headers["ETag"]},
        )
    )
    assert changed["report_version"] == 2
    stale = plans.patch(
        f"/v1/reports/{report['id']}", json={"findings": "x"}, headers={**tm, "If-Match": current.headers["ETag"]}
    )
    assert stale.status_code == 412
    versions = ok(plans.get(f"/v1/reports/{report['id']}/versions", headers=tm))["versions"]
    assert [v["content"]["findings"] for v in versions] == ["First draft.", "Second draft, with the school."]
    pump()
    types = [m.routing_key for m in pump.plans_store.outbox_pending(1000)]
    assert types.count("report.returned.v1") == 1 and types.count("report.submitted.v1") == 1


def test_dates_out_of_order_are_refused_by_field_and_nothing_is_written(gsy):
    plans, pump, scheduler, who = gsy
    sw, tm, chair = who["social_worker"], who["team_manager"], who["chair"]
    d0 = GG.on_or_before(date.today() - timedelta(days=40))[0]
    case_id = ok(plans.post("/v1/cases", json={"child_id": ensure_child(plans, "child-i")}, headers=sw), 201)["id"]
    ok(plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": d0.isoformat()}, headers=sw), 201)
    ok(
        plans.post(
            f"/v1/cases/{case_id}/enquiry-outcome",
            headers=sw,
            json={"completed_on": d0.isoformat(), "conference_required": True},
        )
    )
    conf_on = d0 + timedelta(days=14)
    conf = ok(
        plans.post(
            f"/v1/cases/{case_id}/conferences",
            headers=sw,
            json={"kind": "initial", "scheduled_for": conf_on.isoformat()},
        ),
        201,
    )
    report = ok(
        plans.post(
            f"/v1/conferences/{conf['id']}/reports",
            headers=sw,
            json={"findings": "Findings.", "drafted_on": (conf_on - timedelta(days=6)).isoformat()},
        ),
        201,
    )
    ok(
        plans.post(
            f"/v1/reports/{report['id']}/submit", json={"on": (conf_on - timedelta(days=5)).isoformat()}, headers=sw
        )
    )
    ok(
        plans.post(
            f"/v1/reports/{report['id']}/countersign",
            json={"on": (conf_on - timedelta(days=4)).isoformat()},
            headers=tm,
        )
    )
    ok(
        plans.post(
            f"/v1/conferences/{conf['id']}/outcome",
            headers=chair,
            json={"held_on": conf_on.isoformat(), "plan_required": False, "attendees": QUORATE},
        )
    )
    after = plans.post(
        f"/v1/reports/{report['id']}/share",
        headers=sw,
        json={"with": SHARED_WITH, "child_included": False, "on": (conf_on + timedelta(days=1)).isoformat()},
    )
    assert after.status_code == 422 and "shared_on" in after.json["errors"]["json"]
    before = plans.post(
        f"/v1/reports/{report['id']}/share",
        headers=sw,
        json={"with": SHARED_WITH, "child_included": False, "on": (conf_on - timedelta(days=5)).isoformat()},
    )
    assert before.status_code == 422 and "countersigned" in before.json["errors"]["json"]["shared_on"][0]
    assert ok(plans.get(f"/v1/reports/{report['id']}", headers=sw))["status"] == "countersigned"


def test_under_england_the_report_steps_exist_and_no_deadline_is_invented(plans, plans_store, make_settings, token_for):
    scheduler = create_scheduler_app(make_settings("scheduler")).extensions["cpp"]
    pump = Pump(plans_store, scheduler)
    sw, tm = bearer(token_for("social_worker")), bearer(token_for("team_manager", user="tm-1"))
    d0 = date.today() - timedelta(days=20)
    case_id = ok(plans.post("/v1/cases", json={"child_id": ensure_child(plans, "child-e")}, headers=sw), 201)["id"]
    ok(plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": d0.isoformat()}, headers=sw), 201)
    ok(
        plans.post(
            f"/v1/cases/{case_id}/enquiry-outcome",
            headers=sw,
            json={"completed_on": d0.isoformat(), "conference_required": True},
        )
    )
    conf = ok(
        plans.post(
            f"/v1/cases/{case_id}/conferences",
            headers=sw,
            json={"kind": "initial", "scheduled_for": (d0 + timedelta(days=19)).isoformat()},
        ),
        201,
    )
    report = ok(plans.post(f"/v1/conferences/{conf['id']}/reports", headers=sw, json={"findings": "Section 47."}), 201)
    ok(plans.post(f"/v1/reports/{report['id']}/submit", json={}, headers=sw))
    ok(plans.post(f"/v1/reports/{report['id']}/countersign", json={}, headers=tm))
    pump()
    rules = {d["rule_id"] for d in scheduler.store.collection("deadlines").find({"case_id": case_id})}
    assert rules == {"initial-conference"}


HEX_ID = re.compile(r"\b[0-9a-f]{32}\b|\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")


def test_a_managers_approvals_name_the_child_the_conference_day_and_how_long_each_has_waited(plans, token_for):
    sw = bearer(token_for("social_worker", user="sw-1", name="Sam Social"))
    tm = bearer(token_for("team_manager", user="tm-1", name="Terry Manager"))
    child_id = ok(
        plans.post(
            "/v1/children",
            headers=sw,
            json=a_child(given_names="Amira Grace", family_name="Okafor-Smith", preferred_name="Amy"),
        ),
        201,
    )["id"]
    d0 = date.today() - timedelta(days=12)
    case_id = ok(plans.post("/v1/cases", json={"child_id": child_id}, headers=sw), 201)["id"]
    ok(plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": d0.isoformat()}, headers=sw), 201)
    ok(
        plans.post(
            f"/v1/cases/{case_id}/enquiry-outcome",
            headers=sw,
            json={"completed_on": d0.isoformat(), "conference_required": True},
        )
    )
    conference_on = date.today() + timedelta(days=3)
    conf = ok(
        plans.post(
            f"/v1/cases/{case_id}/conferences",
            headers=sw,
            json={"kind": "initial", "scheduled_for": conference_on.isoformat()},
        ),
        201,
    )
    report = ok(
        plans.post(
            f"/v1/conferences/{conf['id']}/reports",
            headers=sw,
            json={"findings": "Section 47.", "drafted_on": (d0 + timedelta(days=1)).isoformat()},
        ),
        201,
    )
    submitted_on = date.today() - timedelta(days=4)
    ok(plans.post(f"/v1/reports/{report['id']}/submit", json={"on": submitted_on.isoformat()}, headers=sw))

    [item] = ok(plans.get("/v1/approvals", headers=tm))
    assert item == {
        "kind": "report_countersigning",
        "id": report["id"],
        "case_id": case_id,
        "child_id": child_id,
        "child_name": "Amy Okafor-Smith",
        "conference_id": conf["id"],
        "conference_kind": "initial",
        "conference_date": conference_on.isoformat(),
        "since": submitted_on.isoformat(),
        "waiting_days": 4,
        "by": "sw-1",
        "by_name": "Sam Social",
        "summary": f"Enquiry report for Amy Okafor-Smith's initial conference on "
        f"{conference_on.day} {conference_on:%B %Y}",
    }
    assert not HEX_ID.search(item["summary"])

    # The child's name as the record holds it now.
    current = plans.get(f"/v1/children/{child_id}", headers=sw)
    ok(
        plans.patch(
            f"/v1/children/{child_id}",
            json={"preferred_name": None},
            headers={**sw, "If-Match": current.headers["ETag"]},
        )
    )
    [item] = ok(plans.get("/v1/approvals", headers=tm))
    assert item["child_name"] == "Amira Grace Okafor-Smith"

    # Countersigned: no longer waiting.
    ok(plans.post(f"/v1/reports/{report['id']}/countersign", json={}, headers=tm))
    assert ok(plans.get("/v1/approvals", headers=tm)) == []


def test_a_resource_panel_request_waiting_names_the_child_and_its_days(plans, plans_store, token_for):
    sw = bearer(token_for("social_worker", user="sw-1", name="Sam Social"))
    tm = bearer(token_for("team_manager", user="tm-1"))
    chair = bearer(token_for("chair", user="chair-1"))
    child_id = ok(plans.post("/v1/children", headers=sw, json=a_child()), 201)["id"]
    d0 = date.today() - timedelta(days=30)
    case_id = ok(plans.post("/v1/cases", json={"child_id": child_id}, headers=sw), 201)["id"]
    ok(plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": d0.isoformat()}, headers=sw), 201)
    ok(
        plans.post(
            f"/v1/cases/{case_id}/enquiry-outcome",
            headers=sw,
            json={"completed_on": d0.isoformat(), "conference_required": True},
        )
    )
    conf = ok(
        plans.post(
            f"/v1/cases/{case_id}/conferences", headers=sw, json={"kind": "initial", "scheduled_for": d0.isoformat()}
        ),
        201,
    )
    held = ok(
        plans.post(
            f"/v1/conferences/{conf['id']}/outcome",
            headers=chair,
            json={"held_on": d0.isoformat(), "plan_required": True, "outline_plan": OUTLINE},
        )
    )
    requested_on = date.today() - timedelta(days=9)
    panel = ok(
        plans.post(
            f"/v1/plans/{held['plan']['id']}/resource-panel-requests",
            headers=sw,
            json={
                "reason": "Support at home.",
                "services": ["family support"],
                "requested_on": requested_on.isoformat(),
            },
        ),
        201,
    )
    [item] = ok(plans.get("/v1/approvals", headers=tm))
    assert {
        k: item[k]
        for k in ("kind", "id", "child_name", "conference_date", "since", "waiting_days", "by_name", "summary")
    } == {
        "kind": "resource_panel",
        "id": panel["id"],
        "child_name": "Sam Jones",
        "conference_date": None,
        "since": requested_on.isoformat(),
        "waiting_days": 9,
        "by_name": "Sam Social",
        "summary": "Resource panel request for Sam Jones: family support",
    }


def test_a_plans_panel_requests_are_listed_and_read_and_a_decision_honours_if_match(plans, token_for):
    sw = bearer(token_for("social_worker", user="sw-1", name="Sam Social"))
    tm = bearer(token_for("team_manager", user="tm-1"))
    other = bearer(token_for("team_manager", user="tm-2"))
    chair = bearer(token_for("chair", user="chair-1"))
    child_id = ok(plans.post("/v1/children", headers=sw, json=a_child()), 201)["id"]
    d0 = date.today() - timedelta(days=30)
    case_id = ok(plans.post("/v1/cases", json={"child_id": child_id}, headers=sw), 201)["id"]
    ok(plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": d0.isoformat()}, headers=sw), 201)
    ok(
        plans.post(
            f"/v1/cases/{case_id}/enquiry-outcome",
            headers=sw,
            json={"completed_on": d0.isoformat(), "conference_required": True},
        )
    )
    conf = ok(
        plans.post(
            f"/v1/cases/{case_id}/conferences", headers=sw, json={"kind": "initial", "scheduled_for": d0.isoformat()}
        ),
        201,
    )
    plan_id = ok(
        plans.post(
            f"/v1/conferences/{conf['id']}/outcome",
            headers=chair,
            json={"held_on": d0.isoformat(), "plan_required": True, "outline_plan": OUTLINE},
        )
    )["plan"]["id"]
    assert ok(plans.get(f"/v1/plans/{plan_id}/resource-panel-requests", headers=sw)) == []
    first = ok(
        plans.post(
            f"/v1/plans/{plan_id}/resource-panel-requests",
            headers=sw,
            json={
                "reason": "Support at home.",
                "services": ["family support"],
                "requested_on": (d0 + timedelta(days=2)).isoformat(),
            },
        ),
        201,
    )
    second = ok(
        plans.post(
            f"/v1/plans/{plan_id}/resource-panel-requests",
            headers=sw,
            json={"reason": "Nursery place.", "services": ["nursery", "transport"]},
        ),
        201,
    )

    listed = ok(plans.get(f"/v1/plans/{plan_id}/resource-panel-requests", headers=tm))
    assert [r["id"] for r in listed] == [first["id"], second["id"]]  # oldest first
    read = plans.get(f"/v1/resource-panel-requests/{second['id']}", headers=sw)
    assert read.status_code == 200 and read.headers["ETag"] == '"1"'
    assert read.json["services"] == ["nursery", "transport"] and read.json["status"] == "waiting"
    assert plans.get("/v1/resource-panel-requests/no-such", headers=sw).status_code == 404
    assert plans.get("/v1/plans/no-such/resource-panel-requests", headers=sw).status_code == 404

    # Deferred with conditions: still waiting, at revision 2; a decision with the old ETag is a 412.
    deferred = plans.post(
        f"/v1/resource-panel-requests/{second['id']}/decision",
        headers={**tm, "If-Match": '"1"'},
        json={"decision": "deferred", "conditions": "Bring the nursery's costs."},
    )
    assert deferred.status_code == 200 and deferred.headers["ETag"] == '"2"'
    assert deferred.json["status"] == "waiting"
    stale = plans.post(
        f"/v1/resource-panel-requests/{second['id']}/decision",
        headers={**other, "If-Match": '"1"'},
        json={"decision": "declined"},
    )
    assert stale.status_code == 412
    approved = ok(
        plans.post(
            f"/v1/resource-panel-requests/{second['id']}/decision",
            headers={**tm, "If-Match": '"2"'},
            json={"decision": "approved", "conditions": "For 6 months."},
        )
    )
    assert approved["status"] == "approved"
    assert [(h["decision"], h["conditions"]) for h in approved["history"]] == [
        ("deferred", "Bring the nursery's costs."),
        ("approved", "For 6 months."),
    ]
    again = plans.post(
        f"/v1/resource-panel-requests/{second['id']}/decision", headers=tm, json={"decision": "declined"}
    )
    assert again.status_code == 409 and "already approved" in again.json["message"]
    bad = plans.post(f"/v1/resource-panel-requests/{first['id']}/decision", headers=tm, json={"decision": "maybe"})
    assert bad.status_code == 422 and "decision" in bad.json["errors"]["json"]
    assert (
        ok(plans.get(f"/v1/resource-panel-requests/{second['id']}", headers=sw))["decision"]["conditions"]
        == "For 6 months."
    )
