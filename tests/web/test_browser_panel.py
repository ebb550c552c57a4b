"""The resource panel and a review report in a real browser against a real
stack (RabbitMQ, the four services with the plans', the scheduler's and the
docs' workers, the web application; the case with its active plan seeded as
test_browser_plan.py seeds it, and a review conference scheduled). A social
worker takes the plan to the resource panel; the team manager decides it
from the approvals queue with conditions; the plan's panel page shows the
decision. Then the worker drafts the review report with its updated plan and
submits it; the team manager countersigns it; the report page shows the
updated plan and opens the documents made of it. axe-core on each page,
zero violations, and a screenshot of each."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import requests

from cpp_shared.auth import issue_dev_token
from tests.helpers import bearer, wait_for
from tests.integration.conftest import rabbit  # noqa: F401 (fixture)
from tests.web.test_browser import artifacts, check  # noqa: F401 (fixture)
from tests.web.test_browser_plan import PEOPLE, browser, new_page, ok, plan_stack  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.broker]


def sign_in_as(page, web: str, name: str) -> None:
    page.goto(f"{web}/sign-out")
    page.goto(f"{web}/sign-in")
    page.get_by_label(name).check()
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def schedule_review(stack) -> str:
    sw = bearer(issue_dev_token(stack["settings"], authority="ENG", create_key=False, **PEOPLE["sw"]))
    conference = ok(
        requests.post(
            f"{stack['plans']}/v1/cases/{stack['case_id']}/conferences",
            headers=sw,
            timeout=20,
            json={
                "kind": "review",
                "scheduled_for": (date.today() + timedelta(days=20)).isoformat(),
                "chair": "demo-chair-1",
            },
        )
    )
    return conference["id"]


def test_the_panel_decides_with_conditions_and_a_review_report_carries_the_updated_plan(plan_stack, browser, artifacts):  # noqa: F811
    web, plan_id = plan_stack["web"], plan_stack["plan_id"]
    conference_id = schedule_review(plan_stack)
    context, page = new_page(browser)
    try:
        # The social worker takes the plan to the resource panel from the plan's page.
        sign_in_as(page, web, "Sam Okafor")
        page.goto(f"{web}/plans/{plan_id}")
        page.get_by_role("link", name="Resource panel requests and decisions").click()
        assert page.locator("h1").inner_text() == "Resource panel"
        assert "has not been taken to the resource panel" in page.locator("main").inner_text()
        check(page, artifacts, "panel-1-requests-none")
        page.get_by_role("link", name="Take the plan to the resource panel").click()
        assert page.locator("h1").inner_text() == "Take the plan to the resource panel"
        check(page, artifacts, "panel-2-request-form")
        page.get_by_role("button", name="Send to the resource panel").click()  # nothing filled in
        summary = page.locator(".govuk-error-summary")
        assert "Enter the services you are asking the panel for" in summary.inner_text()
        assert page.locator(".govuk-error-summary a[href='#reason']").count() == 1
        check(page, artifacts, "panel-3-request-errors")
        page.get_by_label("What services are you asking the panel for?").fill(
            "Family support worker, two afternoons a week\nNursery place for Rosa"
        )
        page.get_by_label("Why does the plan need them?").fill("To keep the kitchen clear and Rosa fed after school.")
        page.get_by_role("button", name="Send to the resource panel").click()
        page.wait_for_url(f"{web}/plans/{plan_id}/resource-panel")
        assert "waiting for a decision" in page.locator("main").inner_text()
        check(page, artifacts, "panel-4-request-waiting")

        # The team manager decides it from the approvals queue, with conditions.
        sign_in_as(page, web, "Priya Shah")
        page.get_by_role("link", name="Approvals").click()
        queue = page.locator("table")
        assert "Resource panel request" in queue.inner_text() and "Sam Okafor" in queue.inner_text()
        check(page, artifacts, "panel-5-approvals")
        queue.get_by_role("link", name="Rosa Fictional").click()
        assert page.locator("h1").inner_text() == "Resource panel request"
        assert "Nursery place for Rosa" in page.locator("main").inner_text()
        check(page, artifacts, "panel-6-decision-form")
        page.get_by_role("button", name="Record the decision").click()  # no decision chosen
        assert page.locator(".govuk-error-summary a[href='#decision']").count() == 1
        check(page, artifacts, "panel-7-decision-errors")
        page.get_by_label("Approved").check()
        page.get_by_label("Conditions (optional)").fill("For six months, then back to the panel.")
        page.get_by_role("button", name="Record the decision").click()
        page.wait_for_url(f"{web}/approvals")
        assert "The panel's decision is recorded: approved." in page.content()

        # The plan's panel page shows the decision and its conditions.
        sign_in_as(page, web, "Sam Okafor")
        page.goto(f"{web}/plans/{plan_id}")
        page.get_by_role("link", name="Resource panel requests and decisions").click()
        main = page.locator("main").inner_text()
        assert "approved" in main and "by Priya Shah" in main
        assert "Conditions: For six months, then back to the panel." in main
        check(page, artifacts, "panel-8-decided")

        # The review report: drafted with its updated plan, prefilled from the plan in force.
        page.goto(f"{web}/cases/{plan_stack['case_id']}")
        page.locator(f"a[href='/conferences/{conference_id}/report']").click()
        assert page.locator("h1").inner_text() == "Draft the report to the review child protection conference"
        assert page.get_by_label("Concerns", exact=True).input_value().startswith("Home conditions.")
        check(page, artifacts, "panel-9-review-report-form")
        page.get_by_label("Progress against the plan").fill("The kitchen is clear; the health visitor sees Rosa.")
        page.locator("input[name='action_status_1'][value='done']").check()
        page.get_by_label("Progress notes (optional) on: Clear the kitchen").fill("Cleared, checked on two visits.")
        page.get_by_label("Concerns", exact=True).fill("Home conditions are improving.")
        page.get_by_role("button", name="Save the draft").click()
        assert page.locator("h1").inner_text() == "Review report to the review child protection conference"
        updated = page.locator("main").inner_text()
        assert "Home conditions are improving." in updated and "Cleared, checked on two visits." in updated
        report_url = page.url
        check(page, artifacts, "panel-10-review-report-draft")
        page.get_by_role("button", name="Submit for countersigning").click()
        assert "Waiting for countersigning" in page.content()

        # The team manager countersigns it; its documents open from the report's page.
        sign_in_as(page, web, "Priya Shah")
        page.goto(f"{web}/approvals")
        page.locator("table").get_by_role("link", name="Rosa Fictional").click()
        page.wait_for_url(report_url)
        page.get_by_role("button", name="Countersign the report").click()
        page.wait_for_url(f"{web}/approvals")
        assert "The report is countersigned." in page.content()

        def documents_listed():
            page.goto(report_url)
            listed = page.locator("main").inner_text()
            return "Report to conference, family version" in listed and "Report to conference\t" in listed

        wait_for(documents_listed, timeout=120, what="the docs service to make the report's documents")
        assert "Countersigned" in page.locator(".govuk-tag").first.inner_text()
        check(page, artifacts, "panel-11-review-report-countersigned")
        link = page.locator("a", has_text="as HTML").first.get_attribute("href")
        assert link.startswith("/documents/")
        page.goto(f"{web}{link}")
        assert "Rosa" in page.locator("body").inner_text()
        page.screenshot(path=str(artifacts / "panel-12-report-document.png"), full_page=True)
    finally:
        context.close()
