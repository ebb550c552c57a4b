"""The plan's pages in a real browser against a real stack (RabbitMQ, the
four services with the plans' and the docs' workers, the web application): a
case with an active plan seeded through the services' APIs, its documents
rendered by the docs service. One test walks the plan page, its versions and
a difference, the change form, a visit and a document; the other has two
people in two browser contexts change the same plan at once. Each page of
ours passes axe-core with zero violations and is saved as a screenshot."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import requests

from cpp_shared.auth import issue_dev_token
from tests.helpers import bearer, new_child_over_http, wait_for
from tests.web.test_browser import CHROMIUM, QUIET, artifacts, check  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.broker]

PEOPLE = {
    "sw": dict(
        role="social_worker",
        user="demo-sw-1",
        name="Sam Okafor",
        email="sam.okafor@council.example",
        team="Area North",
        manager="demo-tm-1",
    ),
    "tm": dict(
        role="team_manager", user="demo-tm-1", name="Priya Shah", email="priya.shah@council.example", team="Area North"
    ),
    "chair": dict(
        role="chair",
        user="demo-chair-1",
        name="Morgan Ellis",
        email="morgan.ellis@council.example",
        team="Safeguarding Reviews",
    ),
}
CORE_GROUP = [
    {
        "name": "Sam Okafor",
        "role": "social worker",
        "agency": "Children's services",
        "phone": "020 7946 0000",
        "is_family_member": False,
    },
    {
        "name": "Hana Visitor",
        "role": "health visitor",
        "agency": "NHS",
        "phone": "020 7946 0101",
        "is_family_member": False,
    },
    {"name": "Alex Fictional", "role": "mother", "email": "alex@home.example", "is_family_member": True},
]
OUTLINE = {
    "key_worker": {"user": "demo-sw-1", "phone": "020 7946 0000"},
    "categories": ["neglect"],
    "core_group": CORE_GROUP,
    "concerns": "Home conditions.",
}
DETAILED = {
    **OUTLINE,
    "concerns": "Home conditions.\nMissed health appointments.",
    "outcomes": [
        {
            "id": "safe-home",
            "description": "Rosa lives in a safe, clean home",
            "term": "short",
            "target_date": "2099-01-31",
            "how_progress_judged": "Home visits find the home safe",
        }
    ],
    "actions": [
        {
            "id": "clean",
            "what": "Clear the kitchen",
            "why": "Hygiene risk",
            "who": {"name": "Alex Fictional", "kind": "family_member", "relationship": "mother"},
            "by_when": "2099-01-15",
            "outcome_id": "safe-home",
        }
    ],
    "monitoring": [
        {
            "who": "Hana Visitor",
            "agency": "NHS",
            "what": "Sees Rosa at home",
            "contact_type": "home_visit",
            "frequency": {"every": 2, "unit": "weeks"},
        }
    ],
    "review_arrangements": {"next_review_date": "2099-02-01", "how_progress_judged": "At the review conference"},
    "contingency_plan": {"plan": "A legal planning meeting is called", "triggers": ["Rosa is found alone at home"]},
    "childs_views": "Rosa likes her school.",
}


def ok(resp, *statuses):
    assert resp.status_code in (statuses or (200, 201)), resp.text
    return resp.json()


@pytest.fixture(scope="module")
def plan_stack(web_stack):
    return {**web_stack, **seed_plan(web_stack, documents=True)}


def seed_plan(stack, *, days_ago: int = 30, active: bool = True, documents: bool = False, **child: object) -> dict:
    """A case of the demo social worker with an outline plan, or an active one (version 2, agreed by the
    first core group), through the services' APIs as each person would; with ``documents``, once the docs
    service has made its documents."""
    plans = stack["plans"]
    who = {
        k: bearer(issue_dev_token(stack["settings"], authority="ENG", create_key=False, **p)) for k, p in PEOPLE.items()
    }
    for headers in who.values():  # each is in the staff directory before the plan names them
        ok(requests.get(f"{plans}/v1/staff/me", headers=headers, timeout=20))
    sw, chair = who["sw"], who["chair"]
    d0 = date.today() - timedelta(days=days_ago)
    on = lambda days: (d0 + timedelta(days=days)).isoformat()  # noqa: E731
    child_id = new_child_over_http(plans, sw, **{"given_names": "Rosa", "family_name": "Fictional", **child})
    case_id = ok(requests.post(f"{plans}/v1/cases", json={"child_id": child_id}, headers=sw, timeout=20))["id"]
    ok(
        requests.post(
            f"{plans}/v1/cases/{case_id}/strategy-discussions", json={"held_on": on(0)}, headers=sw, timeout=20
        )
    )
    ok(
        requests.post(
            f"{plans}/v1/cases/{case_id}/enquiry-outcome",
            headers=sw,
            timeout=20,
            json={"completed_on": on(2), "conference_required": True},
        )
    )
    conference = ok(
        requests.post(
            f"{plans}/v1/cases/{case_id}/conferences",
            headers=sw,
            timeout=20,
            json={"kind": "initial", "scheduled_for": on(10), "chair": "demo-chair-1"},
        )
    )
    held = ok(
        requests.post(
            f"{plans}/v1/conferences/{conference['id']}/outcome",
            headers=chair,
            timeout=20,
            json={"held_on": on(10), "plan_required": True, "outline_plan": OUTLINE},
        )
    )
    plan_id = held["plan"]["id"]
    if active:
        ok(
            requests.post(
                f"{plans}/v1/plans/{plan_id}/core-group-meetings",
                headers=sw,
                timeout=20,
                json={
                    "held_on": on(15),
                    "detailed_plan_agreed": True,
                    "attendees": [{"name": "Alex Fictional"}, {"name": "Sam Okafor", "role": "key worker"}],
                    "plan": DETAILED,
                },
            )
        )

    def made():
        resp = requests.get(
            f"{stack['docs']}/v1/plans/{plan_id}/documents", params={"version": 2}, headers=sw, timeout=10
        )
        kinds = {(d["kind"], d["format"]) for d in resp.json()["documents"]} if resp.status_code == 200 else set()
        return {("professional_plan", "pdf"), ("family_plan", "html")} <= kinds

    if documents:
        wait_for(made, timeout=120, what="the docs service to make the plan's documents")
    return {"case_id": case_id, "plan_id": plan_id, "child_id": child_id, "held_on": on(10)}


def new_page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    return context, context.new_page()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=QUIET)
        try:
            yield launched
        finally:
            launched.close()


def sign_in_as(page, web: str, name: str) -> None:
    page.goto(f"{web}/sign-in")
    page.get_by_label(name).check()
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def plan_version(stack) -> int:
    token = issue_dev_token(stack["settings"], authority="ENG", create_key=False, **PEOPLE["sw"])
    return ok(requests.get(f"{stack['plans']}/v1/plans/{stack['plan_id']}", headers=bearer(token), timeout=10))[
        "plan_version"
    ]


def test_the_plan_its_versions_a_difference_a_change_a_visit_and_a_document(plan_stack, browser, artifacts):  # noqa: F811
    web, plan_id = plan_stack["web"], plan_stack["plan_id"]
    context, page = new_page(browser)
    try:
        sign_in_as(page, web, "Sam Okafor")
        page.goto(f"{web}/cases/{plan_stack['case_id']}")
        page.get_by_role("link", name="The child protection plan").click()
        page.wait_for_url(f"{web}/plans/{plan_id}")
        assert page.locator("h1").inner_text() == "Child protection plan"
        body = page.locator("main").inner_text()
        for expected in (
            "Rosa Fictional",
            "Active",
            "Sam Okafor",
            "020 7946 0000",
            "Neglect",
            "Clear the kitchen",
            "Alex Fictional (mother)",
            "15 January 2099",
            "Every 2 weeks",
            "A legal planning meeting is called",
            "alex@home.example",
            "Rosa likes her school.",
        ):
            assert expected in body, expected
        check(page, artifacts, "plan-1-plan")

        page.get_by_role("link", name="Every version of the plan").click()
        assert page.locator("h1").inner_text() == "Versions of the plan"
        assert "Morgan Ellis" in page.locator("table").inner_text()  # the chair agreed the outline plan
        check(page, artifacts, "plan-2-versions")
        page.get_by_role("button", name="Show the difference").click()
        assert page.locator("h1").inner_text() == "What changed from version 1 to version 2"
        assert "Added: Missed health appointments." in page.locator("main").inner_text()
        check(page, artifacts, "plan-3-difference")

        page.goto(f"{web}/plans/{plan_id}/change")
        before = plan_version(plan_stack)
        assert page.locator("h1").inner_text() == "Change the plan"
        check(page, artifacts, "plan-4-change")
        page.get_by_label("The family's views").fill("Alex says the kitchen is clear now.")
        page.get_by_role("button", name="Save the change").click()
        page.wait_for_url(f"{web}/plans/{plan_id}")
        assert f"this is version {before + 1} of the plan" in page.locator(".govuk-notification-banner").inner_text()
        assert "Alex says the kitchen is clear now." in page.locator("main").inner_text()

        page.get_by_role("link", name="Record a visit").click()
        page.get_by_role("button", name="Record the visit").click()  # nothing answered: the errors, linked
        assert page.locator(".govuk-error-summary").is_visible()
        assert "Enter the date of the visit" in page.locator(".govuk-error-summary").inner_text()
        check(page, artifacts, "plan-5-visit-errors")
        seen = date.today() - timedelta(days=1)
        page.get_by_label("Day").fill(str(seen.day))
        page.get_by_label("Month").fill(str(seen.month))
        page.get_by_label("Year").fill(str(seen.year))
        for question in ("announced", "child_seen", "seen_alone"):
            page.locator(f"input[name='{question}'][value='yes']").check()
        page.get_by_role("button", name="Record the visit").click()
        page.wait_for_url(f"{web}/plans/{plan_id}")
        assert "The visit is recorded." in page.content()

        page.get_by_role("link", name="Record a core group meeting").click()
        assert page.get_by_label("Who attended?").input_value() == "Sam Okafor, key worker"  # the key worker's line
        check(page, artifacts, "plan-6-core-group-meeting")
        for part, value in (("day", seen.day), ("month", seen.month), ("year", seen.year)):
            page.locator(f"#held_on-{part}").fill(str(value))
        page.get_by_label("Who attended?").fill("Alex Fictional, mother")  # the key worker taken off
        page.locator("input[name='detailed_plan_agreed'][value='no']").check()
        page.get_by_role("button", name="Record the meeting").click()
        summary = page.locator(".govuk-error-summary").inner_text()
        assert "Sam Okafor, is not among the attendees" in summary
        assert "is not among the attendees" in page.locator("#attendees-error").inner_text()
        check(page, artifacts, "plan-6-core-group-meeting-errors")

        page.goto(f"{web}/plans/{plan_id}/documents")
        assert page.locator("h1").inner_text() == "Documents"
        listed = page.locator("main").inner_text()
        assert "Child protection plan, family version" in listed and "The family" in listed
        check(page, artifacts, "plan-7-documents")
        pdf_link = page.locator("a", has_text="as PDF").first.get_attribute("href")
        assert pdf_link.startswith("/documents/") and "token" not in pdf_link
        pdf = page.request.get(f"{web}{pdf_link}")  # the browser's own session cookie, no token
        assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
        assert pdf.body().startswith(b"%PDF")
        page.locator("a", has_text="as HTML").first.click()
        assert "Rosa" in page.locator("body").inner_text()
        page.screenshot(path=str(artifacts / "plan-8-document.png"), full_page=True)
    finally:
        context.close()


def test_two_people_change_the_plan_at_once_and_nothing_is_lost(plan_stack, browser, artifacts):  # noqa: F811
    web, plan_id = plan_stack["web"], plan_stack["plan_id"]
    (first_context, first), (second_context, second) = new_page(browser), new_page(browser)
    try:
        sign_in_as(first, web, "Sam Okafor")
        sign_in_as(second, web, "Priya Shah")
        first.goto(f"{web}/plans/{plan_id}/change")
        second.goto(f"{web}/plans/{plan_id}/change")  # both opened the same version
        opened = plan_version(plan_stack)

        first.get_by_label("The child's views").fill("Rosa says she wants to stay at her school.")
        first.get_by_role("button", name="Save the change").click()
        assert f"this is version {opened + 1} of the plan" in first.content()

        second.get_by_label("Concerns").fill("Home conditions are improving.\nHealth appointments kept.")
        second.get_by_label("What triggers the contingency plan").fill(
            "Rosa is found alone at home\nThe kitchen is unsafe again"
        )
        second.get_by_role("button", name="Save the change").click()
        assert second.locator("h1").inner_text() == "Someone changed this plan since you opened it"
        main = second.locator("main").inner_text()
        assert f"Sam Okafor agreed version {opened + 1}" in main
        assert "Rosa says she wants to stay at her school." in main  # theirs, as it is now
        assert "Health appointments kept." in main and "The kitchen is unsafe again" in main  # mine, as typed
        typed = "Home conditions are improving.\nHealth appointments kept."
        assert second.get_by_label("Concerns").input_value() == typed
        assert second.get_by_label("The child's views").input_value() == "Rosa says she wants to stay at her school."
        check(second, artifacts, "plan-9-changed-since-opened")

        second.get_by_role("button", name="Save my change on top of theirs").click()
        assert second.url == f"{web}/plans/{plan_id}"
        assert f"this is version {opened + 2} of the plan" in second.content()
        plan = second.locator("main").inner_text()
        for kept in (
            "Rosa says she wants to stay at her school.",
            "Health appointments kept.",
            "The kitchen is unsafe again",
        ):
            assert kept in plan, kept
        check(second, artifacts, "plan-10-both-changes")
    finally:
        first_context.close()
        second_context.close()
