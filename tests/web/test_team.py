"""A team manager's pages and reports to conference, with Flask's test
client and the services played by small HTTP servers on loopback: what the
pages ask the services, how they group and flag, the forms' errors (the
form's own, a 422's on their fields, a 409's reason), Idempotency-Key on a
draft, If-Match on a change and the page a 412 gives."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest

from cpp_shared.auth import load_dev_key
from cpp_shared.config import ConfigError
from cpp_web.app import create_app
from cpp_web.reports import step_deadlines
from cpp_web.team import months_before, months_between, steps_by_worker
from tests.web.test_web_app import csrf_of, make_settings, sign_in

TODAY = date.today()


def day(n: int) -> str:
    return (TODAY + timedelta(days=n)).isoformat()


def app_with(tmp_path, fakes, **env):
    settings = make_settings(tmp_path, fakes, **env)
    load_dev_key(settings.dev_signing_key_file, create=True)
    app = create_app(settings)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def app(tmp_path, fakes):
    return app_with(tmp_path, fakes)


def manager(app):
    client = app.test_client()
    sign_in(client, "demo-tm-1")
    return client


def worker(app):
    client = app.test_client()
    sign_in(client, "demo-sw-1")
    return client


def text_of(resp) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True)))


def deadline(id_, due, who=("demo-sw-1", "Sam Okafor"), child="Rosa Fictional", status="pending", **extra):
    return {
        "id": id_,
        "case_id": "case-1",
        "name": f"Step {id_}",
        "due_on": due,
        "latest_on": due,
        "status": status,
        "assignee": {"user": who[0], "name": who[1]} if who else None,
        "child": {"name": child},
        **extra,
    }


# --- the Team page ---


def team_services(fakes, created_on: str, opened_at: str):
    fakes["plans"].routes[("GET", "/v1/staff/me")] = (
        200,
        {"user": "demo-tm-1", "name": "Priya Shah", "team": "Area North", "role": "team_manager"},
    )
    case = {
        "id": "case-1",
        "child_id": "child-1",
        "child": {"name": "Rosa Fictional"},
        "status": "on_plan",
        "opened_at": opened_at,
        "plan_id": "plan-1",
        "social_worker": {"user": "demo-sw-1", "name": "Sam Okafor"},
        "key_worker": {"user": "demo-sw-1", "name": "Sam Okafor"},
    }
    fakes["plans"].routes[("GET", "/v1/cases")] = (200, {"items": [case], "page": 1, "page_size": 100, "total": 1})
    fakes["plans"].routes[("GET", "/v1/plans/plan-1")] = (
        200,
        {"id": "plan-1", "status": "active", "created_on": created_on},
    )
    fakes["scheduler"].routes[("GET", "/v1/deadlines")] = (
        200,
        {
            "items": [
                deadline("d1", day(-3)),
                deadline("d2", day(2)),
                deadline("d3", day(-10), who=("demo-sw-2", "Ana Lopes")),
                deadline("d4", day(30)),
                deadline("d5", day(1), who=None),
            ],
            "total": 5,
        },
    )


def test_the_team_page_groups_the_teams_steps_by_worker_and_flags_long_plans(app, fakes):
    team_services(fakes, created_on=day(-800), opened_at=day(-810) + "T09:00:00+00:00")
    resp = manager(app).get("/team")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    [asked] = fakes["scheduler"].sent("GET", "/v1/deadlines")
    assert asked["query"]["team"] == ["Area North"] and asked["query"]["status"] == ["open"]
    assert asked["query"]["due_before"] == [day(7)]
    assert [q["query"].get("team") for q in fakes["plans"].sent("GET", "/v1/cases")] == [["mine"], ["mine"]]
    groups = re.findall(r'<h3 class="govuk-heading-s" id="worker-\d">([^<]+)</h3>', html)
    assert groups == ["Ana Lopes – 1 overdue", "Sam Okafor – 1 overdue", "No one yet"]  # by name, no one last
    sam = html.split("Sam Okafor – 1 overdue")[1].split("<h3")[0]
    assert sam.index("Step d1") < sam.index("Step d2") and "Overdue by 3 days" in sam and "Due soon" in sam
    assert "Step d4" not in html  # due after the next 7 days
    long_plans = html.split('id="long-plans"')[1].split('id="cases"')[0]
    assert "Plans open longer than 24 months" in html and "Rosa Fictional" in long_plans and "26 months" in long_plans
    assert "case-1" not in text_of(resp) and "plan-1" not in text_of(resp)  # ids only in links
    assert resp.headers["Cache-Control"] == "no-store"


def test_a_plan_younger_than_the_flag_is_not_flagged_and_the_flag_is_a_setting(tmp_path, fakes):
    team_services(fakes, created_on=day(-400), opened_at=day(-410))
    html = manager(app_with(tmp_path, fakes)).get("/team").get_data(as_text=True)
    assert "No plan of the team's has been open longer than 24 months" in html
    html = manager(app_with(tmp_path, fakes, CPP_WEB_LONG_PLAN_MONTHS="12")).get("/team").get_data(as_text=True)
    assert "Plans open longer than 12 months" in html and "13 months" in html


def listed(status: str, ended: dict | None) -> dict:
    return {
        "id": f"case-{status}",
        "child_id": f"child-{status}",
        "child": {"name": f"Child {status.replace('_', ' ').title()}"},
        "status": status,
        "opened_at": day(-300),
        "plan_id": f"plan-{status}",
        "social_worker": {"user": "demo-sw-1", "name": "Sam Okafor"},
        "key_worker": None,
        "ended": ended,
    }


CLOSED_AND_ENDED = [
    ("closed", {"on": day(-2), "how": "moved_to_another_council"}),
    ("closed", {"on": day(-9), "how": "died"}),
    ("plan_ended", {"on": day(-30), "how": "review_conference"}),
]


def case_rows(html: str, table_id: str) -> list[str]:
    part = html.split(f'id="{table_id}"')[1]
    rows = re.findall(r'<tr class="govuk-table__row">(.*?)</tr>', part, re.S)[1:]
    return [" ".join(re.sub(r"<[^>]+>", " ", r).split()) for r in rows]


def test_closed_cases_are_in_the_teams_and_the_workers_cases_with_how_the_plan_ended(app, fakes):
    team_services(fakes, created_on=day(-40), opened_at=day(-50))
    cases = [listed(status, ended) for status, ended in CLOSED_AND_ENDED]
    cases[1]["id"], cases[1]["child"] = "case-closed-2", {"name": "Child Closed Too"}
    fakes["plans"].routes[("GET", "/v1/cases")] = (200, {"items": cases, "page": 1, "page_size": 100, "total": 3})
    expected = [
        "Child Closed Closed: the child moved to another council Sam Okafor No plan in force",
        "Child Closed Too Closed: the child died Sam Okafor No plan in force",
        "Child Plan Ended Plan ended Sam Okafor No plan in force",
    ]
    assert case_rows(manager(app).get("/team").get_data(as_text=True), "cases") == expected
    mine = case_rows(worker(app).get("/my-work").get_data(as_text=True), "my-cases")
    assert mine == [
        "Child Closed Closed: the child moved to another council No plan in force Sam Okafor",
        "Child Closed Too Closed: the child died No plan in force Sam Okafor",
        "Child Plan Ended Plan ended No plan in force Sam Okafor",
    ]


def test_a_closed_case_whose_ending_is_not_known_says_its_plan_ended(app, fakes):
    team_services(fakes, created_on=day(-40), opened_at=day(-50))
    fakes["plans"].routes[("GET", "/v1/cases")] = (200, {"items": [listed("closed", None)], "total": 1})
    assert case_rows(manager(app).get("/team").get_data(as_text=True), "cases") == [
        "Child Closed Closed: the plan ended Sam Okafor No plan in force"
    ]


def test_a_bad_long_plan_setting_stops_the_start(tmp_path, fakes):
    with pytest.raises(ConfigError, match="LONG_PLAN_MONTHS"):
        app_with(tmp_path, fakes, CPP_WEB_LONG_PLAN_MONTHS="two years")


def test_the_team_pages_are_a_team_managers(app, fakes):
    client = worker(app)
    assert client.get("/team").headers["Location"] == "/home"
    assert client.get("/approvals").headers["Location"] == "/home"
    nav = manager(app).get("/home").get_data(as_text=True)
    assert 'href="/team"' in nav and 'href="/approvals"' in nav


def test_no_team_says_so(app, fakes):
    fakes["plans"].routes[("GET", "/v1/staff/me")] = (200, {"user": "demo-tm-1", "name": "Priya Shah"})
    resp = manager(app).get("/team")
    assert resp.status_code == 200 and "names no team for you" in resp.get_data(as_text=True)


def test_scheduler_down_is_a_page_naming_it(app, fakes):
    team_services(fakes, created_on=day(-10), opened_at=day(-10))
    fakes["scheduler"].routes[("GET", "/v1/deadlines")] = (503, {"message": "down"})
    resp = manager(app).get("/team")
    assert resp.status_code == 503 and "deadlines and timescales" in resp.get_data(as_text=True)


def test_steps_by_worker_and_months():
    groups = steps_by_worker([deadline("a", day(-1)), deadline("b", None)], TODAY)
    assert [(g["name"], [s["id"] for s in g["steps"]]) for g in groups] == [("Sam Okafor", ["a"])]
    assert months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert months_before(date(2026, 5, 15), 24) == date(2024, 5, 15)
    assert months_between(date(2024, 5, 16), date(2026, 5, 15)) == 23


# --- the approvals queue ---

APPROVAL = {
    "kind": "report_countersigning",
    "id": "rep-1",
    "case_id": "case-1",
    "child_id": "child-1",
    "child_name": "Rosa Fictional",
    "conference_id": "conf-1",
    "conference_kind": "initial",
    "conference_date": "2026-06-10",
    "since": "2026-06-05",
    "waiting_days": 4,
    "by": "demo-sw-1",
    "by_name": "Sam Okafor",
    "summary": "Enquiry report for Rosa Fictional's initial conference",
}


def test_the_approvals_queue_names_the_child_the_conference_the_wait_and_who_asked(app, fakes):
    fakes["plans"].routes[("GET", "/v1/approvals")] = (200, [APPROVAL])
    resp = manager(app).get("/approvals")
    text = text_of(resp)
    assert resp.status_code == 200
    assert "Rosa Fictional" in text and "10 June 2026" in text and "4 days, since 5 June 2026" in text
    assert "Sam Okafor" in text and 'href="/reports/rep-1"' in resp.get_data(as_text=True)
    assert "rep-1" not in text


# --- a report ---

REPORT = {
    "id": "rep-1",
    "conference_id": "conf-1",
    "case_id": "case-1",
    "child_id": "child-1",
    "plan_id": None,
    "kind": "enquiry_report",
    "status": "submitted",
    "author": "demo-sw-1",
    "report_version": 2,
    "content": {
        "findings": "Home conditions are poor.",
        "child_seen": [{"on": "2026-06-01", "alone": True}],
        "childs_views": "Wants to stay at school.",
        "family_views": "",
    },
    "steps": [
        {"step": "drafted", "on": "2026-06-02", "by": "demo-sw-1"},
        {"step": "submitted", "on": "2026-06-03", "by": "demo-sw-1"},
        {"step": "returned", "on": "2026-06-04", "by": "demo-tm-1", "reason": "Add the school's view"},
        {"step": "submitted", "on": "2026-06-05", "by": "demo-sw-1"},
    ],
    "shared_with": None,
    "version": 4,
}
RULES = [
    {"id": "report-to-manager", "met_by": ["report.submitted.v1"], "when": {"kind": "initial"}, "met_when": {}},
    {"id": "report-to-chair", "met_by": ["report.sent_to_chair.v1"], "when": {"kind": "initial"}},
    {
        "id": "plan-updated-for-review",
        "met_by": ["report.submitted.v1"],
        "when": {"kind": "review"},
        "met_when": {"report_kind": "review_report"},
    },
]


def report_services(fakes, report=None, etag='"4"'):
    plans, scheduler = fakes["plans"], fakes["scheduler"]
    plans.routes[("GET", "/v1/reports/rep-1")] = (200, report or REPORT, {"ETag": etag})
    plans.routes[("GET", "/v1/conferences/conf-1")] = (
        200,
        {
            "id": "conf-1",
            "case_id": "case-1",
            "child_id": "child-1",
            "kind": "initial",
            "status": "scheduled",
            "scheduled_for": "2026-06-10",
        },
    )
    plans.routes[("GET", "/v1/children/child-1")] = (
        200,
        {"id": "child-1", "given_names": "Rosa", "family_name": "Fictional"},
    )
    plans.routes[("GET", "/v1/staff/demo-sw-1")] = (200, {"user": "demo-sw-1", "name": "Sam Okafor"})
    plans.routes[("GET", "/v1/staff/demo-tm-1")] = (200, {"user": "demo-tm-1", "name": "Priya Shah"})
    scheduler.routes[("GET", "/v1/rules")] = (200, {"rules": RULES})
    scheduler.routes[("GET", "/v1/deadlines")] = (
        200,
        {
            "items": [
                {**deadline("due-submit", "2026-06-05"), "rule_id": "report-to-manager", "status": "met"},
                {**deadline("due-review", "2026-06-04"), "rule_id": "plan-updated-for-review"},
                {**deadline("due-chair", "2026-06-09"), "rule_id": "report-to-chair"},
            ],
            "total": 3,
        },
    )


def test_a_report_shows_each_step_with_its_deadline_and_the_managers_choices(app, fakes):
    report_services(fakes)
    resp = manager(app).get("/reports/rep-1")
    html, text = resp.get_data(as_text=True), text_of(resp)
    assert resp.status_code == 200
    assert "Enquiry report to the initial child protection conference" in text and "Rosa Fictional" in text
    assert "What the section 47 enquiries found" in text and "made when a team manager countersigns it" in text
    assert "Submitted for countersigning 5 June 2026 by Sam Okafor" in text  # the latest submission
    assert 'href="/deadlines/due-submit"' in html and 'href="/deadlines/due-chair"' in html
    assert "due-review" not in html  # a review's rule is not this report's
    assert "4 June 2026, by Priya Shah: Add the school&#39;s view" in html
    assert "Countersign the report" in html and 'href="/reports/rep-1/return"' in html
    assert "rep-1" not in text and "child-1" not in text


def test_the_author_sees_no_countersigning(app, fakes):
    report_services(fakes)
    html = worker(app).get("/reports/rep-1").get_data(as_text=True)
    assert "Countersign the report" not in html and "waits for a team manager" in html


def test_a_refused_countersigning_shows_the_services_reason(app, fakes):
    report_services(fakes)
    fakes["plans"].routes[("POST", "/v1/reports/rep-1/countersign")] = (
        409,
        {"code": 409, "message": "the report is draft: submit it for countersigning first"},
    )
    client = manager(app)
    page = client.get("/reports/rep-1").get_data(as_text=True)
    resp = client.post("/reports/rep-1/countersign", data={"csrf_token": csrf_of(page)})
    assert resp.status_code == 409
    html = resp.get_data(as_text=True)
    assert "There is a problem" in html and "submit it for countersigning first" in html
    assert "<title>Error: " in html


def test_countersigning_goes_back_to_the_queue(app, fakes):
    report_services(fakes)
    fakes["plans"].routes[("POST", "/v1/reports/rep-1/countersign")] = (200, {**REPORT, "status": "countersigned"})
    client = manager(app)
    page = client.get("/reports/rep-1").get_data(as_text=True)
    resp = client.post("/reports/rep-1/countersign", data={"csrf_token": csrf_of(page)})
    assert resp.status_code == 302 and resp.headers["Location"] == "/approvals"
    assert client.post("/reports/rep-1/countersign").status_code == 400  # no CSRF token: refused


def test_returning_needs_a_reason_and_sends_it(app, fakes):
    report_services(fakes)
    fakes["plans"].routes[("POST", "/v1/reports/rep-1/return")] = (200, {**REPORT, "status": "draft"})
    client = manager(app)
    page = client.get("/reports/rep-1/return").get_data(as_text=True)
    assert "Why are you returning the report?" in page
    resp = client.post("/reports/rep-1/return", data={"csrf_token": csrf_of(page), "reason": ""})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and 'href="#reason"' in html and "Enter why you are returning the report" in html
    assert not fakes["plans"].sent("POST", "/v1/reports/rep-1/return")
    resp = client.post("/reports/rep-1/return", data={"csrf_token": csrf_of(page), "reason": "Add the GP's view"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/approvals"
    assert fakes["plans"].sent("POST", "/v1/reports/rep-1/return")[0]["json"] == {"reason": "Add the GP's view"}


# --- drafting, changing, sharing ---


def test_drafting_sends_an_idempotency_key_and_a_422_lands_on_its_field(app, fakes):
    report_services(fakes)
    answers = iter(
        [
            (
                422,
                {
                    "code": 422,
                    "message": "invalid",
                    "errors": {"json": {"child_seen": {"0": {"on": ["is after the conference"]}}}},
                },
            ),
            (201, {**REPORT, "status": "draft"}, {"ETag": '"1"'}),
        ]
    )
    fakes["plans"].routes[("POST", "/v1/conferences/conf-1/reports")] = lambda req: next(answers)
    client = worker(app)
    page = client.get("/conferences/conf-1/reports/new").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', page).group(1)
    form = {
        "csrf_token": csrf_of(page),
        "idempotency_key": key,
        "findings": "Poor home conditions.",
        "seen_on_1": ["1", "6", "2026"],
        "seen_alone_1": "y",
        "childs_views": "",
        "family_views": "Worried.",
    }
    resp = client.post("/conferences/conf-1/reports/new", data=form)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and 'href="#seen_on_1-day"' in html and "is after the conference" in html
    resp = client.post("/conferences/conf-1/reports/new", data=form)
    assert resp.status_code == 302 and resp.headers["Location"] == "/reports/rep-1"
    first, again = fakes["plans"].sent("POST", "/v1/conferences/conf-1/reports")
    assert first["headers"]["Idempotency-Key"] == again["headers"]["Idempotency-Key"] == key
    assert again["json"] == {
        "findings": "Poor home conditions.",
        "child_seen": [{"on": "2026-06-01", "alone": True}],
        "childs_views": "",
        "family_views": "Worried.",
    }


def test_the_drafts_own_errors_are_in_the_summary(app, fakes):
    report_services(fakes)
    client = worker(app)
    page = client.get("/conferences/conf-1/reports/new").get_data(as_text=True)
    resp = client.post(
        "/conferences/conf-1/reports/new",
        data={"csrf_token": csrf_of(page), "findings": "", "seen_on_2": ["31", "2", "2026"], "seen_alone_3": "y"},
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    for href in ("#findings", "#seen_on_2-day", "#seen_on_3-day"):
        assert f'href="{href}"' in html
    assert not fakes["plans"].sent("POST", "/v1/conferences/conf-1/reports")


def test_a_change_sends_if_match_from_when_the_form_was_opened_and_412_says_so(app, fakes):
    report_services(fakes, report={**REPORT, "status": "draft"}, etag='"7"')
    answers = iter([(412, {"code": 412, "message": "changed"}), (200, {**REPORT, "status": "draft"}, {"ETag": '"8"'})])
    fakes["plans"].routes[("PATCH", "/v1/reports/rep-1")] = lambda req: next(answers)
    client = worker(app)
    page = client.get("/reports/rep-1/edit").get_data(as_text=True)
    assert "Home conditions are poor." in page and re.search(r'id="seen_on_1-year"[^>]*value="2026"', page)
    etag = html.unescape(re.search(r'name="etag" type="hidden" value="([^"]+)"', page).group(1))
    form = {"csrf_token": csrf_of(page), "etag": etag, "findings": "Better now."}
    resp = client.post("/reports/rep-1/edit", data=form)
    assert resp.status_code == 412 and "Someone changed this report since you opened it" in resp.get_data(as_text=True)
    assert client.post("/reports/rep-1/edit", data=form).status_code == 302
    assert [r["headers"]["If-Match"] for r in fakes["plans"].sent("PATCH", "/v1/reports/rep-1")] == ['"7"', '"7"']


def test_sharing_sends_whom_how_the_interpreter_and_the_child(app, fakes):
    report_services(fakes, report={**REPORT, "status": "countersigned"})
    fakes["plans"].routes[("POST", "/v1/reports/rep-1/share")] = (
        422,
        {"code": 422, "errors": {"json": {"with": {"0": {"how": ["Must be one of: in_person, post, email."]}}}}},
    )
    client = worker(app)
    page = client.get("/reports/rep-1/share").get_data(as_text=True)
    resp = client.post("/reports/rep-1/share", data={"csrf_token": csrf_of(page), "name_2": "Ali Parent"})
    html = resp.get_data(as_text=True)
    for href in (
        "#name_1",
        "#relationship_1",
        "#how_1",
        "#interpreter_1",
        "#relationship_2",
        "#how_2",
        "#child_included",
    ):
        assert f'href="{href}"' in html, href
    resp = client.post(
        "/reports/rep-1/share",
        data={
            "csrf_token": csrf_of(page),
            "name_1": "Alex Parent",
            "relationship_1": "mother",
            "how_1": "in_person",
            "interpreter_1": "yes",
            "child_included": "no",
        },
    )
    assert resp.status_code == 400 and "Must be one of" in resp.get_data(as_text=True)
    [sent] = fakes["plans"].sent("POST", "/v1/reports/rep-1/share")
    assert sent["json"] == {
        "with": [{"name": "Alex Parent", "relationship": "mother", "how": "in_person", "interpreter_used": True}],
        "child_included": False,
    }


def test_a_conferences_report_link_opens_its_report_or_a_new_one(app, fakes):
    fakes["plans"].routes[("GET", "/v1/conferences/conf-1/reports")] = (200, [REPORT])
    client = worker(app)
    assert client.get("/conferences/conf-1/report").headers["Location"] == "/reports/rep-1"
    fakes["plans"].routes[("GET", "/v1/conferences/conf-1/reports")] = (200, [])
    assert client.get("/conferences/conf-1/report").headers["Location"] == "/conferences/conf-1/reports/new"


def test_step_deadlines_follow_the_rules_met_by():
    found = step_deadlines(
        REPORT,
        {"kind": "initial"},
        [
            {"id": "x", "rule_id": "report-to-manager", "due_on": "2026-06-05"},
            {"id": "y", "rule_id": "plan-updated-for-review", "due_on": "2026-06-04"},
        ],
        RULES,
    )
    assert {k: v["id"] for k, v in found.items()} == {"submitted": "x"}


# --- a review report with its updated plan ---

PLAN_CONTENT = {
    "key_worker": {"user": "demo-sw-1", "name": "Sam Okafor", "role": "social worker", "phone": "020 7946 0000"},
    "categories": ["neglect"],
    "concerns": "Home conditions.",
    "core_group": [
        {"name": "Sam Okafor", "role": "social worker", "agency": "Children's services", "is_family_member": False}
    ],
    "outcomes": [
        {
            "id": "safe-home",
            "description": "Rosa lives in a safe home",
            "term": "short",
            "target_date": "2099-01-31",
            "how_progress_judged": "Home visits",
        }
    ],
    "actions": [
        {
            "id": "clean",
            "what": "Clear the kitchen",
            "why": "Hygiene",
            "status": "not_started",
            "who": {"name": "Alex Fictional", "kind": "family_member", "relationship": "mother"},
            "by_when": "2099-01-15",
            "outcome_id": "safe-home",
        },
        {
            "id": "gp",
            "what": "Book the GP",
            "why": "Missed appointments",
            "status": "in_progress",
            "notes": "Booked once.",
            "who": {"name": "Alex Fictional", "kind": "family_member", "relationship": "mother"},
            "by_when": "2099-01-20",
            "outcome_id": "safe-home",
        },
    ],
    "review_arrangements": {"next_review_date": "2099-02-01", "how_progress_judged": "At the review"},
    "contingency_plan": {"plan": "A legal planning meeting", "triggers": ["Rosa alone at home"]},
    "childs_views": None,
}
REVIEW = {
    **REPORT,
    "kind": "review_report",
    "status": "draft",
    "plan_id": "plan-1",
    "conference_id": "conf-2",
    "plan": PLAN_CONTENT,
    "steps": REPORT["steps"][:1],
}


def review_services(fakes, report=None, etag='"3"'):
    report_services(fakes, report=report or REVIEW, etag=etag)
    plans = fakes["plans"]
    plans.routes[("GET", "/v1/conferences/conf-2")] = (
        200,
        {
            "id": "conf-2",
            "case_id": "case-1",
            "child_id": "child-1",
            "kind": "review",
            "status": "scheduled",
            "scheduled_for": "2026-09-10",
        },
    )
    plans.routes[("GET", "/v1/cases/case-1")] = (200, {"id": "case-1", "child_id": "child-1", "plan_id": "plan-1"})
    plans.routes[("GET", "/v1/plans/plan-1")] = (200, {"id": "plan-1", "status": "active", "content": PLAN_CONTENT})


def review_form(page: str, **changes) -> dict:
    form = {
        "csrf_token": csrf_of(page),
        "findings": "The kitchen is clear; the GP is booked.",
        "plan_concerns": "Home conditions are improving.",
        "contingency_plan": "A legal planning meeting",
        "contingency_triggers": "Rosa alone at home\nThe kitchen is unsafe again",
        "next_review_on": ["1", "3", "2099"],
        "how_progress_judged": "At the review",
        "action_id_1": "clean",
        "action_status_1": "done",
        "action_notes_1": "Cleared in May.",
        "action_id_2": "gp",
        "action_status_2": "in_progress",
        "action_notes_2": "",
    }
    for name in ("idempotency_key", "etag"):
        found = re.search(rf'name="{name}" type="hidden" value="([^"]*)"', page)
        if found:
            form[name] = html.unescape(found.group(1))
    return {**form, **changes}


def test_a_review_reports_form_asks_for_progress_and_the_updated_plan_prefilled_from_the_plan_in_force(app, fakes):
    review_services(fakes)
    page = worker(app).get("/conferences/conf-2/reports/new").get_data(as_text=True)
    assert "Draft the report to the review child protection conference" in page
    assert "Progress against the plan" in page and "The updated plan" in page
    assert "Home conditions.</textarea>" in page and "Rosa alone at home</textarea>" in page
    assert re.search(r'id="next_review_on-year"[^>]*value="2099"', page)
    assert "Clear the kitchen" in page and "Book the GP" in page
    assert re.search(r'name="action_id_2" type="hidden" value="gp"', page)
    assert re.search(r'value="in_progress"[^>]*checked|checked[^>]*value="in_progress"', page)
    assert "Booked once.</textarea>" in page
    assert "Rosa lives in a safe home" in page  # the other sections, as the plan holds them


def test_a_review_report_is_drafted_with_its_updated_plan_and_a_422_on_the_plan_lands_on_its_field(app, fakes):
    review_services(fakes)
    answers = iter(
        [
            (
                422,
                {
                    "code": 422,
                    "errors": {
                        "json": {
                            "plan": {
                                "actions": {
                                    "0": {"status": ["Must be one of: not_started, in_progress, done, not_done."]}
                                },
                                "review_arrangements": {"next_review_date": ["Not a valid date."]},
                            }
                        }
                    },
                },
            ),
            (201, {**REVIEW, "id": "rep-2"}, {"ETag": '"1"'}),
        ]
    )
    fakes["plans"].routes[("POST", "/v1/conferences/conf-2/reports")] = lambda req: next(answers)
    client = worker(app)
    page = client.get("/conferences/conf-2/reports/new").get_data(as_text=True)
    resp = client.post("/conferences/conf-2/reports/new", data=review_form(page))
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert 'href="#action_status_1"' in body and 'href="#next_review_on-day"' in body
    resp = client.post("/conferences/conf-2/reports/new", data=review_form(page))
    assert resp.status_code == 302 and resp.headers["Location"] == "/reports/rep-2"
    first, again = fakes["plans"].sent("POST", "/v1/conferences/conf-2/reports")
    assert first["headers"]["Idempotency-Key"] == again["headers"]["Idempotency-Key"]
    sent = again["json"]
    assert sent["findings"] == "The kitchen is clear; the GP is booked."
    plan = sent["plan"]
    assert plan["concerns"] == "Home conditions are improving."
    assert plan["contingency_plan"] == {
        "plan": "A legal planning meeting",
        "triggers": ["Rosa alone at home", "The kitchen is unsafe again"],
    }
    assert plan["review_arrangements"] == {"next_review_date": "2099-03-01", "how_progress_judged": "At the review"}
    assert [(a["id"], a["status"], a.get("notes")) for a in plan["actions"]] == [
        ("clean", "done", "Cleared in May."),
        ("gp", "in_progress", None),
    ]
    # the sections the form does not change carry over from the plan in force; empty ones are left out
    assert plan["outcomes"] == PLAN_CONTENT["outcomes"] and plan["key_worker"] == PLAN_CONTENT["key_worker"]
    assert "childs_views" not in plan


def test_a_review_reports_own_errors_and_the_progress_required(app, fakes):
    review_services(fakes)
    client = worker(app)
    page = client.get("/conferences/conf-2/reports/new").get_data(as_text=True)
    resp = client.post(
        "/conferences/conf-2/reports/new", data=review_form(page, findings="", next_review_on=["31", "2", "2099"])
    )
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "Enter the progress against the plan" in body
    assert 'href="#findings"' in body and 'href="#next_review_on-day"' in body
    assert not fakes["plans"].sent("POST", "/v1/conferences/conf-2/reports")


def test_changing_a_review_draft_starts_from_its_updated_plan_and_sends_if_match(app, fakes):
    updated = {**PLAN_CONTENT, "concerns": "Improving."}
    review_services(fakes, report={**REVIEW, "plan": updated}, etag='"9"')
    answers = iter([(412, {"code": 412, "message": "changed"}), (200, REVIEW, {"ETag": '"10"'})])
    fakes["plans"].routes[("PATCH", "/v1/reports/rep-1")] = lambda req: next(answers)
    client = worker(app)
    page = client.get("/reports/rep-1/edit").get_data(as_text=True)
    assert "Improving.</textarea>" in page
    form = review_form(page, plan_concerns="Much improved.")
    resp = client.post("/reports/rep-1/edit", data=form)
    assert resp.status_code == 412 and "Someone changed this report since you opened it" in resp.get_data(as_text=True)
    assert client.post("/reports/rep-1/edit", data=form).status_code == 302
    sent = fakes["plans"].sent("PATCH", "/v1/reports/rep-1")
    assert [s["headers"]["If-Match"] for s in sent] == ['"9"', '"9"']
    assert sent[-1]["json"]["plan"]["concerns"] == "Much improved."


def test_a_review_report_shows_its_updated_plan_its_deadline_and_its_documents(app, fakes):
    review_services(
        fakes,
        report={
            **REVIEW,
            "status": "countersigned",
            "steps": [
                {"step": "drafted", "on": "2026-09-01", "by": "demo-sw-1"},
                {"step": "submitted", "on": "2026-09-02", "by": "demo-sw-1"},
                {"step": "countersigned", "on": "2026-09-03", "by": "demo-tm-1"},
            ],
        },
    )
    fakes["scheduler"].routes[("GET", "/v1/deadlines")] = (
        200,
        {
            "items": [
                {
                    **deadline("due-review", "2026-09-03"),
                    "rule_id": "plan-updated-for-review",
                    "status": "met",
                    "anchor": {"field": "scheduled_for", "date": "2026-09-10"},
                },
                {
                    **deadline("due-old-review", "2026-03-03"),
                    "rule_id": "plan-updated-for-review",
                    "status": "met",
                    "anchor": {"field": "scheduled_for", "date": "2026-03-10"},
                    "due_on": "2026-12-31",
                },
            ],
            "total": 2,
        },
    )
    scheduler_rules = [{**r, "key": "conference_id"} if r["id"] == "plan-updated-for-review" else r for r in RULES]
    fakes["scheduler"].routes[("GET", "/v1/rules")] = (200, {"rules": scheduler_rules})
    fakes["docs"].routes[("GET", "/v1/reports/rep-1/documents")] = (
        200,
        {
            "report_id": "rep-1",
            "documents": [
                {
                    "id": "doc-1",
                    "kind": "conference_report",
                    "format": "pdf",
                    "language": "en",
                    "large_print": False,
                    "report_version": 2,
                },
                {
                    "id": "doc-2",
                    "kind": "family_report",
                    "format": "html",
                    "language": "en",
                    "large_print": False,
                    "report_version": 2,
                },
            ],
        },
    )
    resp = manager(app).get("/reports/rep-1")
    page, text = resp.get_data(as_text=True), text_of(resp)
    assert resp.status_code == 200
    assert "Review report to the review child protection conference" in text
    assert "Progress against the plan" in text and "The updated plan" in text
    assert "Clear the kitchen" in text and "Rosa lives in a safe home" in text and "A legal planning meeting" in text
    assert 'href="/deadlines/due-review"' in page and "due-old-review" not in page  # this conference's deadline
    assert 'href="/documents/doc-1"' in page and 'href="/documents/doc-2"' in page
    assert "Report to conference, family version" in text
    assert "doc-1" not in text and "plan-1" not in text


def test_a_countersigned_reports_documents_not_made_yet_say_so(app, fakes):
    review_services(fakes, report={**REVIEW, "status": "countersigned"})
    text = text_of(manager(app).get("/reports/rep-1"))
    assert "The documents are being made from the countersigned report" in text
