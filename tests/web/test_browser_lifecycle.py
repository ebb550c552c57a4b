"""A case walked through the browser against a real stack: a social worker
finds no child, registers one, opens a case, records the strategy discussion
and the enquiry outcome and schedules the initial conference with a chair;
the chair signs in and records the outcome with an outline plan; the case
page then shows the plan's stage. Every page reached passes axe-core with
zero violations and is saved as a screenshot (test_browser.py's fixtures)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import requests

from cpp_shared.auth import issue_dev_token
from tests.helpers import bearer
from tests.integration.conftest import broker_url, rabbit  # noqa: F401 (fixtures)
from tests.web.test_browser import artifacts, check, page, stack  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.broker]


def fill_date(page, name: str, day: date) -> None:
    page.fill(f"#{name}-day", str(day.day))
    page.fill(f"#{name}-month", str(day.month))
    page.fill(f"#{name}-year", str(day.year))


def sign_in_as(page, user: str) -> None:
    page.check(f"input[name=person][value={user}]")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def chair_has_signed_in_before(stack) -> None:
    """The chair is in the staff directory once their token has reached the plans service."""
    token = issue_dev_token(
        stack["settings"],
        role="chair",
        authority="ENG",
        user="demo-chair-1",
        name="Morgan Ellis",
        email="morgan.ellis@council.example",
        team="Safeguarding Reviews",
        create_key=False,
    )
    resp = requests.get(f"{stack['plans']}/v1/staff/me", headers=bearer(token), timeout=20)
    assert resp.status_code == 200, resp.text


def test_a_case_from_registering_the_child_to_the_outline_plan(stack, page, artifacts):  # noqa: F811
    web, today = stack["web"], date.today()
    chair_has_signed_in_before(stack)
    seen: list[str] = []

    def at(name: str, h1: str) -> None:
        summary = page.locator(".govuk-error-summary")
        assert page.locator("h1").inner_text() == h1, (page.url, summary.inner_text() if summary.count() else "")
        check(page, artifacts, f"{len(seen) + 1:02d}-{name}")
        seen.append(name)

    # The social worker finds no child by that name, and registers her.
    page.goto(f"{web}/sign-in")
    sign_in_as(page, "demo-sw-1")
    page.get_by_role("link", name="Find a child").click()
    at("find-a-child", "Find a child")
    page.fill("#name", "Rosa Walkthrough")
    page.get_by_role("button", name="Search").click()
    assert "0 children found" in page.locator("#results").inner_text()
    at("find-a-child-none-found", "Find a child")
    page.get_by_role("link", name="register a child").click()
    at("register-a-child", "Register a child")

    page.get_by_role("button", name="Register child").click()  # nothing filled in: the error summary
    assert page.locator(".govuk-error-summary").is_visible()
    at("register-a-child-errors", "Register a child")
    page.locator(".govuk-error-summary a[href='#date_of_birth-day']").click()
    assert page.evaluate("document.activeElement.id") == "date_of_birth-day"

    page.fill("#given_names", "Rosa")
    page.fill("#family_name", "Walkthrough")
    fill_date(page, "date_of_birth", date(2019, 3, 27))
    page.fill("#nhs_number", "943 476 5919")
    page.get_by_label("Female", exact=True).check()
    page.select_option("#ethnicity", "MWBC")
    page.get_by_label("Hearing", exact=True).check()
    page.fill("#first_language", "English")
    page.check("input[name=interpreter_needed][value=no]")
    page.fill("#address_line_1", "1 Made Up Road")
    page.fill("#address_town", "Bromley")
    page.fill("#postcode", "br1 1aa")
    page.get_by_role("button", name="Register child").click()
    at("child", "Rosa Walkthrough")
    assert "9434765919" in page.content() and "BR1 1AA" in page.content()
    assert "Rosa Walkthrough has no cases" in page.content()
    child_url = page.url

    page.get_by_role("button", name="Open a case").click()
    at("case-opened", "Rosa Walkthrough")
    case_url = page.url
    assert "/cases/" in case_url and "The case is open" in page.content()

    # The strategy discussion, the enquiry outcome, the initial conference with its chair.
    page.get_by_role("link", name="Strategy discussion").click()
    at("strategy-discussion", "Record a strategy discussion")
    fill_date(page, "held_on", today - timedelta(days=10))
    page.check("input[name=initiated_enquiries][value=yes]")
    page.fill("#notes", "Police, health and school agreed section 47 enquiries.")
    page.get_by_role("button", name="Save strategy discussion").click()
    page.wait_for_url(case_url)
    assert "The strategy discussion is recorded" in page.content()
    at("case-after-strategy-discussion", "Rosa Walkthrough")

    page.get_by_role("link", name="Outcome of the section 47 enquiries").click()
    at("enquiry-outcome", "Record the enquiry outcome")
    fill_date(page, "completed_on", today - timedelta(days=3))
    page.check("input[name=conference_required][value=yes]")
    page.get_by_role("button", name="Save enquiry outcome").click()
    page.wait_for_url(case_url)
    assert page.locator("dd", has_text="Conference to be held").count() == 1
    at("case-after-enquiry-outcome", "Rosa Walkthrough")

    page.get_by_role("link", name="Initial child protection conference", exact=True).click()
    at("schedule-conference", "Schedule a conference")
    fill_date(page, "scheduled_for", today)
    page.select_option("#chair", label="Morgan Ellis")
    page.get_by_role("button", name="Schedule conference").click()
    page.wait_for_url(case_url)
    assert "is scheduled for" in page.content()
    at("case-conference-scheduled", "Rosa Walkthrough")

    page.get_by_role("link", name="Initial child protection conference", exact=True).click()
    at("conference", "Initial child protection conference")
    assert "Morgan Ellis" in page.content()

    page.goto(child_url)  # the child's record lists the case
    assert page.locator("#cases ~ table").get_by_role("link").count() == 1
    at("child-with-case", "Rosa Walkthrough")

    # The chair signs in (the case's address brings them back to it) and records the outcome.
    page.get_by_role("link", name="Sign out").click()
    page.goto(case_url)
    assert page.url.startswith(f"{web}/sign-in")
    sign_in_as(page, "demo-chair-1")
    page.wait_for_url(case_url)
    page.get_by_role("link", name="Outcome and outline plan").click()
    at("conference-outcome", "Record the conference outcome")
    fill_date(page, "held_on", today)
    page.check("input[name=plan_required][value=yes]")
    page.select_option("#key_worker", label="Sam Okafor")
    page.check("input[name=categories][value=neglect]")
    page.check("input[name=categories][value=emotional_abuse]")
    page.fill("#core_group-0-name", "Sam Okafor")
    page.fill("#core_group-0-role", "social worker")
    page.fill("#core_group-0-agency", "Children's Social Care")
    page.fill("#core_group-0-email", "sam.okafor@council.example")
    page.fill("#core_group-1-name", "Ana Walkthrough")
    page.fill("#core_group-1-role", "mother")
    page.check("#core_group-1-is_family_member")
    fill_date(page, "first_core_group_on", today + timedelta(days=10))
    page.fill("#concerns", "Neglect of basic care; emotional harm from conflict at home.")
    page.get_by_role("button", name="Save conference outcome").click()
    page.wait_for_url(case_url)
    assert "the outline plan is agreed" in page.content()
    assert page.locator("dd", has_text="Child protection plan").count() == 1
    assert page.locator("dd", has_text="Sam Okafor").count() >= 1
    at("case-on-plan", "Rosa Walkthrough")

    page.get_by_role("link", name="Sign out").click()
    assert seen == [
        "find-a-child",
        "find-a-child-none-found",
        "register-a-child",
        "register-a-child-errors",
        "child",
        "case-opened",
        "strategy-discussion",
        "case-after-strategy-discussion",
        "enquiry-outcome",
        "case-after-enquiry-outcome",
        "schedule-conference",
        "case-conference-scheduled",
        "conference",
        "child-with-case",
        "conference-outcome",
        "case-on-plan",
    ]
