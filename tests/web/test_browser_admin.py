"""An admin's pages in a real browser against a real stack (the fixtures of
test_browser.py): the admin signs in and lands on the subscriptions, changes
a partner's scope with the checkboxes (and first sends none, for the error
summary), pauses and resumes it, reads the messages the bus parked for each
service (one parked on the real RabbitMQ, named by its event's id and type
and never by the child's name) and the effective timetable. axe-core on
each page, zero violations, and a screenshot of each."""

from __future__ import annotations

import pytest
import requests

from cpp_shared.auth import issue_dev_token
from tests.helpers import bearer
from tests.integration.conftest import broker_url, rabbit  # noqa: F401 (fixtures)
from tests.services.test_parked_messages_http import case_opened, park
from tests.web.test_browser import artifacts, check, page, stack  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.broker]


def seed_subscription(stack) -> dict:
    token = issue_dev_token(
        stack["settings"], role="admin", authority="ENG", user="demo-admin-1", name="Alex Byrne", create_key=False
    )
    resp = requests.post(
        f"{stack['notify']}/v1/subscriptions",
        headers={**bearer(token), "Idempotency-Key": "seed-1"},
        json={
            "url": "http://127.0.0.1:9/hooks/cpp",
            "event_types": ["plan.created.v1", "conference.held.v1"],
            "owner": "Northside Health Centre",
            "description": "Health visiting",
            "allow_private": True,
        },
        timeout=20,
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_an_admin_changes_a_scope_pauses_a_subscription_and_reads_the_parked_messages_and_the_timetable(
    stack, page, artifacts, broker_url
):  # noqa: F811
    subscription = seed_subscription(stack)
    parked = case_opened()
    park(broker_url, "scheduler", parked, error="KeyError: 'plan_id'", attempts=6)
    web = stack["web"]

    page.goto(f"{web}/sign-in")
    page.get_by_label("Alex Byrne").check()
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{web}/admin/subscriptions")
    assert page.locator("h1").inner_text() == "Subscriptions"
    card = page.locator(".govuk-summary-card", has_text="Northside Health Centre")
    assert "Identifiers, Status, Dates, Contacts" in card.inner_text() and "Active" in card.inner_text()
    check(page, artifacts, "admin-1-subscriptions")

    card.get_by_role("link", name="Change the scope").click()
    assert page.locator("h1").inner_text() == "Change the scope"
    check(page, artifacts, "admin-2-scope")
    for label in ("Identifiers", "Status", "Dates", "Contacts"):
        page.get_by_role("checkbox", name=label, exact=True).uncheck()
    page.get_by_role("button", name="Save the scope").click()
    assert "There is a problem" in page.content() and page.locator(".govuk-error-summary a[href='#classes']").count()
    check(page, artifacts, "admin-3-scope-errors")
    page.get_by_role("checkbox", name="Identifiers", exact=True).check()
    page.get_by_role("checkbox", name="Personal identifiers", exact=True).check()
    page.get_by_role("button", name="Save the scope").click()
    page.wait_for_url(f"{web}/admin/subscriptions")
    assert "The scope of the subscription for Northside Health Centre is saved." in page.content()
    card = page.locator(".govuk-summary-card", has_text="Northside Health Centre")
    assert "Identifiers, Personal identifiers" in card.inner_text()

    card.get_by_role("button", name="Pause").click()
    card = page.locator(".govuk-summary-card", has_text="Northside Health Centre")
    assert "Paused" in card.inner_text()
    check(page, artifacts, "admin-4-paused")
    card.get_by_role("button", name="Resume").click()
    assert "Active" in page.locator(".govuk-summary-card", has_text="Northside Health Centre").inner_text()
    token = issue_dev_token(stack["settings"], role="admin", authority="ENG", user="demo-admin-1", create_key=False)
    saved = requests.get(f"{stack['notify']}/v1/subscriptions/{subscription['id']}", headers=bearer(token), timeout=10)
    assert saved.json()["scope"]["classes"] == ["identifier", "personal_identifier"]
    assert saved.json()["status"] == "active"

    page.get_by_role("link", name="Parked messages").click()
    assert page.locator("h1").inner_text() == "Parked messages"
    content = page.locator("main").inner_text()
    scheduler = page.locator("h2#scheduler + table")
    assert parked["id"] in scheduler.inner_text() and "Case opened" in scheduler.inner_text()
    assert "KeyError: 'plan_id'" in scheduler.inner_text()
    assert "Rosa Fictional" not in content and "9434765919" not in content
    assert "No parked render jobs." in content
    check(page, artifacts, "admin-5-parked")
    again = page.reload()
    assert again.ok and parked["id"] in page.locator("h2#scheduler + table").inner_text()  # still parked

    page.get_by_role("link", name="Timetable").click()
    assert page.locator("h1").inner_text() == "Timetable"
    assert "Initial child protection conference" in page.content() and "Plugins loaded" in page.content()
    check(page, artifacts, "admin-6-timetable")
