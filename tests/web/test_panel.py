"""The resource panel's pages with Flask's test client and the services
played on loopback: a plan taken to the panel (the form's own errors, a
422's on their fields, a 409's reason, the Idempotency-Key), a team
manager's decision (If-Match from when the page was opened, the page a 412
gives, a decided request refused), a plan's requests with their decisions,
and the approvals queue opening a request."""

from __future__ import annotations

import html
import re

import pytest

from tests.web.test_team import app, manager, text_of, worker  # noqa: F401 (the app fixture)
from tests.web.test_web_app import csrf_of

PLAN = {
    "id": "plan-1",
    "case_id": "case-1",
    "child_id": "child-1",
    "status": "active",
    "plan_version": 2,
    "created_on": "2026-05-01",
    "content": {},
}
WAITING = {
    "id": "req-1",
    "plan_id": "plan-1",
    "case_id": "case-1",
    "reason": "Support at home after school.",
    "services": ["Family support worker", "Nursery place"],
    "requested_on": "2026-06-01",
    "requested_by": "demo-sw-1",
    "status": "waiting",
    "decision": None,
    "version": 1,
}
DEFERRED = {"decision": "deferred", "conditions": "Bring the nursery's costs.", "on": "2026-06-03", "by": "demo-tm-1"}
APPROVED = {"decision": "approved", "conditions": "For six months.", "on": "2026-06-10", "by": "demo-tm-1"}


def panel_services(fakes, request=None, etag='"1"'):
    plans = fakes["plans"]
    plans.routes[("GET", "/v1/plans/plan-1")] = (200, PLAN, {"ETag": '"3"'})
    plans.routes[("GET", "/v1/plans/plan-1/significant-changes")] = (200, {"plan_id": "plan-1", "items": []})
    plans.routes[("GET", "/v1/children/child-1")] = (
        200,
        {"id": "child-1", "given_names": "Rosa", "family_name": "Fictional"},
    )
    plans.routes[("GET", "/v1/staff/demo-sw-1")] = (200, {"user": "demo-sw-1", "name": "Sam Okafor"})
    plans.routes[("GET", "/v1/staff/demo-tm-1")] = (200, {"user": "demo-tm-1", "name": "Priya Shah"})
    plans.routes[("GET", "/v1/resource-panel-requests/req-1")] = (200, request or WAITING, {"ETag": etag})


def key_of(page: str) -> str:
    return re.search(r'name="key" type="hidden" value="([^"]+)"', page).group(1)


# --- asking the panel ---


def test_the_form_needs_the_services_and_why_and_sends_a_key_and_the_lines(app, fakes):
    panel_services(fakes)
    answers = iter(
        [
            (422, {"code": 422, "errors": {"json": {"requested_on": ["is before the plan began on 2026-05-01"]}}}),
            (201, WAITING, {"ETag": '"1"'}),
        ]
    )
    fakes["plans"].routes[("POST", "/v1/plans/plan-1/resource-panel-requests")] = lambda req: next(answers)
    client = worker(app)
    page = client.get("/plans/plan-1/resource-panel/new").get_data(as_text=True)
    assert '<h1 class="govuk-heading-l">Take the plan to the resource panel</h1>' in page
    assert "Rosa Fictional" in page and "child protection plan" in page
    resp = client.post("/plans/plan-1/resource-panel/new", data={"csrf_token": csrf_of(page), "key": key_of(page)})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "<title>Error: " in body
    assert 'href="#services"' in body and 'href="#reason"' in body
    assert not fakes["plans"].sent("POST", "/v1/plans/plan-1/resource-panel-requests")

    form = {
        "csrf_token": csrf_of(page),
        "key": key_of(page),
        "services": "Family support worker\n\n Nursery place ",
        "reason": "Support at home after school.",
        "requested_on": ["1", "4", "2026"],
    }
    resp = client.post("/plans/plan-1/resource-panel/new", data=form)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400 and 'href="#requested_on-day"' in body and "Is before the plan began" in body
    resp = client.post("/plans/plan-1/resource-panel/new", data=form)
    assert resp.status_code == 302 and resp.headers["Location"] == "/plans/plan-1/resource-panel"
    first, again = fakes["plans"].sent("POST", "/v1/plans/plan-1/resource-panel-requests")
    assert first["headers"]["Idempotency-Key"] == again["headers"]["Idempotency-Key"] == key_of(page)
    assert again["json"] == {
        "services": ["Family support worker", "Nursery place"],
        "reason": "Support at home after school.",
        "requested_on": "2026-04-01",
    }


def test_an_ended_plan_cannot_go_to_the_panel_and_the_reason_is_shown(app, fakes):
    panel_services(fakes)
    fakes["plans"].routes[("POST", "/v1/plans/plan-1/resource-panel-requests")] = (
        409,
        {"code": 409, "message": "the plan has ended"},
    )
    client = worker(app)
    page = client.get("/plans/plan-1/resource-panel/new").get_data(as_text=True)
    resp = client.post(
        "/plans/plan-1/resource-panel/new",
        data={"csrf_token": csrf_of(page), "key": key_of(page), "services": "Respite care", "reason": "Carer breaks."},
    )
    assert resp.status_code == 409 and "The plan has ended." in resp.get_data(as_text=True)


def test_only_staff_who_hold_cases_ask_the_panel(app, fakes):
    from tests.web.test_web_app import sign_in

    client = app.test_client()
    sign_in(client, "demo-chair-1")
    assert client.get("/plans/plan-1/resource-panel/new").headers["Location"] == "/home"


# --- a plan's requests, and the plan page's link ---


def test_a_plans_requests_show_every_decision_by_name(app, fakes):
    panel_services(fakes)
    fakes["plans"].routes[("GET", "/v1/plans/plan-1/resource-panel-requests")] = (
        200,
        [
            {**WAITING, "status": "approved", "decision": APPROVED, "history": [DEFERRED, APPROVED], "version": 3},
            {**WAITING, "id": "req-2", "requested_on": "2026-06-20", "services": ["Respite care"]},
        ],
    )
    resp = worker(app).get("/plans/plan-1/resource-panel")
    text = text_of(resp)
    assert resp.status_code == 200 and "<h1" in resp.get_data(as_text=True)
    assert "Asked on 1 June 2026: approved" in text and "Asked on 20 June 2026: waiting for a decision" in text
    assert "Deferred on 3 June 2026 by Priya Shah Conditions: Bring the nursery's costs." in html.unescape(text)
    assert "Approved on 10 June 2026 by Priya Shah Conditions: For six months." in text
    assert "Asked by Sam Okafor on 1 June 2026" in text
    assert 'href="/plans/plan-1/resource-panel/new"' in resp.get_data(as_text=True)
    assert "req-1" not in text and "plan-1" not in text and "demo-tm-1" not in text


def test_the_plan_page_links_its_resource_panel_requests(app, fakes):
    panel_services(fakes)
    page = worker(app).get("/plans/plan-1").get_data(as_text=True)
    assert 'href="/plans/plan-1/resource-panel"' in page


# --- deciding ---


def test_the_approvals_queue_opens_a_panel_request(app, fakes):
    fakes["plans"].routes[("GET", "/v1/approvals")] = (
        200,
        [
            {
                "kind": "resource_panel",
                "id": "req-1",
                "case_id": "case-1",
                "child_id": "child-1",
                "child_name": "Rosa Fictional",
                "conference_id": None,
                "conference_kind": None,
                "conference_date": None,
                "since": "2026-06-01",
                "waiting_days": 3,
                "by": "demo-sw-1",
                "by_name": "Sam Okafor",
                "summary": "Resource panel request for Rosa Fictional: Nursery place",
            }
        ],
    )
    page = manager(app).get("/approvals").get_data(as_text=True)
    assert 'href="/resource-panel-requests/req-1"' in page and "Resource panel request" in page


def test_a_decision_needs_its_choice_and_sends_if_match_from_when_the_page_was_opened(app, fakes):
    panel_services(fakes, etag='"5"')
    answers = iter([(412, {"code": 412, "message": "changed"}), (200, {**WAITING, "status": "approved"})])
    fakes["plans"].routes[("POST", "/v1/resource-panel-requests/req-1/decision")] = lambda req: next(answers)
    client = manager(app)
    page = client.get("/resource-panel-requests/req-1").get_data(as_text=True)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert "Family support worker" in text and "Support at home after school." in text and "Rosa Fictional" in text
    assert "What did the panel decide?" in page and "req-1" not in text
    assert page.count('id="decision"') == 1  # the summary's link and the label go to the first radio
    etag = html.unescape(re.search(r'name="etag" type="hidden" value="([^"]+)"', page).group(1))
    assert etag == '"5"'
    resp = client.post("/resource-panel-requests/req-1", data={"csrf_token": csrf_of(page), "etag": etag})
    assert resp.status_code == 400 and 'href="#decision"' in resp.get_data(as_text=True)
    assert not fakes["plans"].sent("POST", "/v1/resource-panel-requests/req-1/decision")

    form = {"csrf_token": csrf_of(page), "etag": etag, "decision": "approved", "conditions": " For six months. "}
    resp = client.post("/resource-panel-requests/req-1", data=form)
    assert resp.status_code == 412 and "Someone decided this request since you opened it" in resp.get_data(as_text=True)
    resp = client.post("/resource-panel-requests/req-1", data=form)
    assert resp.status_code == 302 and resp.headers["Location"] == "/approvals"
    sent = fakes["plans"].sent("POST", "/v1/resource-panel-requests/req-1/decision")
    assert [s["headers"]["If-Match"] for s in sent] == ['"5"', '"5"']
    assert sent[-1]["json"] == {"decision": "approved", "conditions": "For six months."}


def test_a_decisions_422_lands_on_its_field_and_a_409_shows_the_reason(app, fakes):
    panel_services(fakes)
    answers = iter(
        [
            (
                422,
                {
                    "code": 422,
                    "errors": {"json": {"decided_on": ["must be between the request (2026-06-01) and today"]}},
                },
            ),
            (409, {"code": 409, "message": "the request is already approved"}),
        ]
    )
    fakes["plans"].routes[("POST", "/v1/resource-panel-requests/req-1/decision")] = lambda req: next(answers)
    client = manager(app)
    page = client.get("/resource-panel-requests/req-1").get_data(as_text=True)
    form = {"csrf_token": csrf_of(page), "etag": '"1"', "decision": "deferred", "decided_on": ["1", "1", "2026"]}
    resp = client.post("/resource-panel-requests/req-1", data=form)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400 and 'href="#decided_on-day"' in body and "Must be between the request" in body
    resp = client.post("/resource-panel-requests/req-1", data=form)
    assert resp.status_code == 409 and "The request is already approved." in resp.get_data(as_text=True)


def test_a_decided_request_shows_no_form_and_a_worker_reads_it(app, fakes):
    panel_services(
        fakes,
        request={
            **WAITING,
            "status": "declined",
            "decision": {"decision": "declined", "conditions": None, "on": "2026-06-04", "by": "demo-tm-1"},
            "version": 2,
        },
    )
    client = manager(app)
    page = client.get("/resource-panel-requests/req-1").get_data(as_text=True)
    assert "What did the panel decide?" not in page and "Declined on 4 June 2026 by Priya Shah" in page
    token = csrf_of(client.get("/plans/plan-1/resource-panel/new").get_data(as_text=True))  # a page from before
    resp = client.post("/resource-panel-requests/req-1", data={"csrf_token": token, "decision": "approved"})
    assert resp.status_code == 409 and "This request is already decided: declined." in resp.get_data(as_text=True)
    assert not fakes["plans"].sent("POST", "/v1/resource-panel-requests/req-1/decision")
    panel_services(fakes)
    page = worker(app).get("/resource-panel-requests/req-1").get_data(as_text=True)
    assert "What did the panel decide?" not in page and "waits for a team manager" in page


@pytest.mark.parametrize("path", ["/plans/plan-1/resource-panel", "/resource-panel-requests/req-1"])
def test_the_plans_service_down_is_a_page_naming_it(app, fakes, path):
    fakes["plans"].routes[("GET", "/v1/plans/plan-1")] = (503, {"message": "down"})
    fakes["plans"].routes[("GET", "/v1/resource-panel-requests/req-1")] = (503, {"message": "down"})
    assert worker(app).get(path).status_code == 503
