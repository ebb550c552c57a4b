"""Reports to conference and the team manager's pages in a real browser
against a real stack (the fixtures of test_browser.py): a social worker
drafts and submits a report, the team manager finds it in the approvals
queue by the child's name and returns it with a reason, the worker submits
it again, the manager countersigns it, and the Team page lists the team's
steps, and the manager opens the performance figures and the census's checks. axe-core on each page, zero
violations, and a screenshot of each."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import requests

from cpp_shared.auth import issue_dev_token
from tests.helpers import bearer, new_child_over_http
from tests.integration.conftest import broker_url, rabbit  # noqa: F401 (fixtures)
from tests.web.test_browser import artifacts, check, page, seed_overdue_case, stack  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.broker]


def seed_conference(stack) -> dict:
    """A case of the demo social worker with its initial conference scheduled."""
    token = issue_dev_token(
        stack["settings"],
        role="social_worker",
        authority="ENG",
        user="demo-sw-1",
        name="Sam Okafor",
        email="sam.okafor@council.example",
        team="Area North",
        create_key=False,
    )
    headers = bearer(token)
    plans = stack["plans"]
    child_id = new_child_over_http(plans, headers, given_names="Mia", family_name="Example")
    case_id = requests.post(f"{plans}/v1/cases", json={"child_id": child_id}, headers=headers, timeout=20).json()["id"]
    held_on = (date.today() - timedelta(days=5)).isoformat()
    for path, body in (
        (f"/v1/cases/{case_id}/strategy-discussions", {"held_on": held_on}),
        (
            f"/v1/cases/{case_id}/enquiry-outcome",
            {"completed_on": date.today().isoformat(), "conference_required": True},
        ),
        (
            f"/v1/cases/{case_id}/conferences",
            {"kind": "initial", "scheduled_for": (date.today() + timedelta(days=14)).isoformat()},
        ),
    ):
        resp = requests.post(f"{plans}{path}", json=body, headers=headers, timeout=20)
        assert resp.status_code in (200, 201), resp.text
    return {"case_id": case_id, "seen_on": date.today() - timedelta(days=4)}


def sign_in_as(page, web: str, name: str) -> None:
    page.goto(f"{web}/sign-out")
    page.goto(f"{web}/sign-in")
    page.get_by_label(name).check()
    page.get_by_role("button", name="Sign in").click()


def test_a_report_is_drafted_returned_submitted_again_and_countersigned(stack, page, artifacts):  # noqa: F811
    overdue = seed_overdue_case(stack)
    seeded = seed_conference(stack)
    web = stack["web"]

    # The social worker drafts the report from the case's conference, and submits it.
    sign_in_as(page, web, "Sam Okafor")
    page.goto(f"{web}/cases/{seeded['case_id']}")
    page.get_by_role("link", name="Report to the initial child protection conference").click()
    assert page.locator("h1").inner_text() == "Draft the report to conference"
    check(page, artifacts, "team-1-draft-form")
    page.get_by_role("button", name="Save the draft").click()  # nothing filled in
    assert "There is a problem" in page.content() and page.locator("a[href='#findings']").count() == 1
    check(page, artifacts, "team-2-draft-errors")
    page.get_by_label("What the section 47 enquiries found").fill(
        "Home conditions are poor; two missed health appointments."
    )
    seen = seeded["seen_on"]
    page.locator("#seen_on_1-day").fill(str(seen.day))
    page.locator("#seen_on_1-month").fill(str(seen.month))
    page.locator("#seen_on_1-year").fill(str(seen.year))
    page.locator("#seen_alone_1").check()
    page.get_by_label("The child's views").fill("Mia wants to stay at her school.")
    page.get_by_role("button", name="Save the draft").click()
    assert page.locator("h1").inner_text() == "Enquiry report to the initial child protection conference"
    assert "Mia Example" in page.locator(".govuk-caption-l").inner_text()
    report_url = page.url
    check(page, artifacts, "team-3-report-draft")
    page.get_by_role("button", name="Submit for countersigning").click()
    assert "Waiting for countersigning" in page.content()

    # The team manager finds it by the child's name and returns it with a reason.
    sign_in_as(page, web, "Priya Shah")
    page.get_by_role("link", name="Approvals").click()
    queue = page.locator("table")
    assert "Mia Example" in queue.inner_text() and "Sam Okafor" in queue.inner_text()
    check(page, artifacts, "team-4-approvals")
    queue.get_by_role("link", name="Mia Example").click()
    page.wait_for_url(report_url)
    check(page, artifacts, "team-5-report-to-countersign")
    page.get_by_role("link", name="Return it for changes").click()
    page.get_by_role("button", name="Return the report").click()  # no reason
    assert page.locator("a[href='#reason']").count() == 1
    check(page, artifacts, "team-6-return-errors")
    page.get_by_label("Why are you returning the report?").fill("Add the school's view of Mia's attendance.")
    page.get_by_role("button", name="Return the report").click()
    page.wait_for_url(f"{web}/approvals")
    assert "Nothing is waiting for you" in page.content()

    # The worker reads the reason and submits it again.
    sign_in_as(page, web, "Sam Okafor")
    page.goto(report_url)
    assert "Add the school's view of Mia's attendance." in page.locator(".govuk-inset-text").inner_text()
    check(page, artifacts, "team-7-report-returned")
    page.get_by_role("link", name="Change the draft").click()
    check(page, artifacts, "team-8-change-form")
    page.get_by_label("The family's views").fill("The school says attendance is 80%.")
    page.get_by_role("button", name="Save the changes").click()
    page.get_by_role("button", name="Submit for countersigning").click()

    # The manager countersigns it; the Team page lists the team's steps.
    sign_in_as(page, web, "Priya Shah")
    page.goto(f"{web}/approvals")
    page.locator("table").get_by_role("link", name="Mia Example").click()
    page.get_by_role("button", name="Countersign the report").click()
    page.wait_for_url(f"{web}/approvals")
    assert "The report is countersigned." in page.content()
    page.goto(report_url)
    assert "Countersigned" in page.locator(".govuk-tag").first.inner_text()
    check(page, artifacts, "team-9-report-countersigned")
    page.get_by_role("link", name="Team", exact=True).click()
    assert page.locator("h1").inner_text() == "Team"
    steps = page.locator("h2#steps").locator("xpath=following-sibling::*").all_inner_texts()
    assert any("Sam Okafor" in t for t in steps) and any(overdue["deadline"]["name"] in t for t in steps)
    assert "Mia Example" in page.locator("h2#cases + table").inner_text()
    check(page, artifacts, "team-10-team")

    # The manager's figures and the census's checks, from the real returns service.
    page.get_by_role("link", name="Performance", exact=True).click()
    assert page.locator("h1").inner_text() == "Performance"
    check(page, artifacts, "team-11-performance")
    page.get_by_role("link", name="Returns", exact=True).click()
    assert page.locator("h1").inner_text() == "Children in Need census"
    check(page, artifacts, "team-12-returns")
