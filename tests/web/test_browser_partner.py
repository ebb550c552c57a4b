"""A partner's pages and a plan's calendar address in a real browser against
a real stack (RabbitMQ, the plans and scheduler services with their
workers, notify and docs, the web application), a child with a plan in
force seeded through the services' APIs. A partner looks the child up by NHS
number, subscribes a receiver (a loopback address is refused on its field, a
public one is accepted: nothing is sent, its event type never fires here),
sees the signing secret once and pauses the subscription; a social worker
makes the plan's calendar address, reads it once, and stops it. Each page
passes axe-core with zero violations and is saved as a screenshot."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import requests

from cpp_shared.auth import issue_dev_token
from tests.helpers import bearer, wait_for
from tests.web.test_browser import artifacts, check  # noqa: F401 (fixture)
from tests.web.test_browser_plan import PEOPLE, browser, new_page, seed_plan, sign_in_as  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.broker]

NHS = "9434765919"


@pytest.fixture(scope="module")
def partner_stack(web_stack):
    """A child with an NHS number and an outline plan in force (the social
    worker's case, the chair's conference), known to the scheduler."""
    seeded = seed_plan(web_stack, days_ago=20, active=False, identifiers=[{"scheme": "nhs_number", "value": NHS}])
    feeds = f"{web_stack['scheduler']}/v1/plans/{seeded['plan_id']}/calendar-feeds"
    wait_for(
        lambda: requests.get(feeds, headers=token(web_stack, "sw"), timeout=10).status_code == 200,
        timeout=60,
        what="the scheduler to learn of the plan",
    )
    return {**web_stack, **seeded}


def token(stack, who: str) -> dict:
    return bearer(issue_dev_token(stack["settings"], authority="ENG", create_key=False, **PEOPLE[who]))


def day(iso: str) -> str:
    d = date.fromisoformat(iso)
    return f"{d.day} {d:%B %Y}"


def test_a_partner_looks_up_a_child_and_subscribes_and_a_social_worker_subscribes_to_the_plans_calendar(
    partner_stack, browser, artifacts
):  # noqa: F811
    web = partner_stack["web"]
    context, page = new_page(browser)
    try:
        sign_in_as(page, web, "Dr Jo Whitfield")
        page.wait_for_url(f"{web}/lookup")
        assert page.locator("h1").inner_text() == "Is a child subject of a child protection plan?"
        check(page, artifacts, "partner-1-lookup")
        page.get_by_label("NHS number").fill("943 476 591")
        page.get_by_role("button", name="Look up").click()
        assert "Enter an NHS number in the correct format" in page.locator(".govuk-error-summary").inner_text()
        check(page, artifacts, "partner-2-lookup-error")
        page.get_by_label("NHS number").fill("943 476 5919")
        page.get_by_role("button", name="Look up").click()
        assert page.locator("h1").inner_text() == "Child protection plan in force"
        main = page.locator("main").inner_text()
        for expected in (
            f"since {day(partner_stack['held_on'])}",
            "Sam Okafor",
            "020 7946 0000",
            "Sam Okafor, the key worker, has been told that you looked up this child",
        ):
            assert expected in main, expected
        assert "Rosa" not in main and "Neglect" not in main  # the minimal answer only
        assert NHS not in page.url
        check(page, artifacts, "partner-3-answer")

        page.get_by_role("link", name="Subscriptions").click()
        assert page.locator("h1").inner_text() == "Subscriptions"
        check(page, artifacts, "partner-4-subscriptions")
        page.get_by_role("button", name="Create a subscription").click()
        check(page, artifacts, "partner-5-new-subscription")
        page.get_by_label("Receiver address").fill("https://127.0.0.1/hook")
        page.get_by_label("Event types").fill("plan.ended.v1")
        page.get_by_role("button", name="Create subscription").click()
        summary = page.locator(".govuk-error-summary").inner_text()
        assert "not a public address" in summary
        assert "not a public address" in page.locator("#url-error").inner_text()
        check(page, artifacts, "partner-6-receiver-refused")
        page.get_by_label("Receiver address").fill("https://93.184.216.34/hook")
        page.get_by_role("button", name="Create subscription").click()
        assert page.locator("h1").inner_text() == "Subscription created"
        secret = page.locator("#signing-secret").inner_text()
        assert secret.startswith("whsec_")
        assert "This secret will not be shown again" in page.locator("main").inner_text()
        check(page, artifacts, "partner-7-secret")

        page.get_by_role("link", name="Go to the subscription").click()
        assert secret not in page.content()
        assert "https://93.184.216.34/hook" in page.locator("main").inner_text()
        check(page, artifacts, "partner-8-subscription")
        page.get_by_role("button", name="Pause").click()
        assert "The subscription is paused" in page.locator(".govuk-notification-banner").inner_text()
        assert "Paused" in page.locator(".govuk-summary-list").inner_text()
        check(page, artifacts, "partner-9-paused")
        page.get_by_role("button", name="Make a new signing secret").click()
        check(page, artifacts, "partner-10-rotate")
        page.get_by_role("link", name="Cancel").click()
        page.get_by_role("button", name="Delete subscription").click()
        assert page.locator("h1").inner_text() == "Are you sure you want to delete this subscription?"
        check(page, artifacts, "partner-11-delete")
        page.get_by_role("link", name="No, keep it").click()
        page.get_by_role("link", name="Deliveries").first.click()
        assert page.locator("h1").inner_text() == "Deliveries"
        check(page, artifacts, "partner-12-deliveries")
    finally:
        context.close()

    context, page = new_page(browser)
    plan_id = partner_stack["plan_id"]
    try:
        sign_in_as(page, web, "Sam Okafor")
        page.goto(f"{web}/plans/{plan_id}")
        page.get_by_role("link", name="Subscribe to this plan's calendar").click()
        page.wait_for_url(f"{web}/plans/{plan_id}/calendar")
        assert "You have no working calendar address for this plan" in page.locator("main").inner_text()
        check(page, artifacts, "calendar-1-subscribe")
        page.get_by_label("How many days should the address work?").fill("soon")
        page.get_by_role("button", name="Create calendar address").click()
        assert "Enter how many days as a whole number" in page.locator(".govuk-error-summary").inner_text()
        check(page, artifacts, "calendar-2-days-error")
        page.get_by_label("How many days should the address work?").fill("30")
        page.get_by_role("button", name="Create calendar address").click()
        assert page.locator("h1").inner_text() == "Your calendar address"
        address = page.locator("#calendar-address").inner_text().strip()
        assert "/calendar.ics?key=" in address
        main = page.locator("main").inner_text()
        assert "Subscribe from web" in main and "will not be shown again" in main
        assert f"until {day((date.today() + timedelta(days=30)).isoformat())}" in main
        check(page, artifacts, "calendar-3-address")
        key = address.split("key=")[1]
        calendar = requests.get(address, timeout=10)
        assert calendar.status_code == 200 and calendar.text.startswith("BEGIN:VCALENDAR")

        page.get_by_role("link", name="Your calendar addresses for this plan").click()
        assert key not in page.content()
        page.get_by_role("link", name="Stop").click()
        assert page.locator("h1").inner_text() == "Are you sure you want to stop this calendar address?"
        check(page, artifacts, "calendar-4-stop")
        page.get_by_role("button", name="Yes, stop this address").click()
        assert "The calendar address is stopped" in page.locator(".govuk-notification-banner").inner_text()
        assert "You have no working calendar address for this plan" in page.locator("main").inner_text()
        check(page, artifacts, "calendar-5-stopped")
        assert requests.get(address, timeout=10).status_code == 401
    finally:
        context.close()

    # Shown once and kept nowhere: not in the web application's sessions, not in its log.
    data = partner_stack["data"]
    for kept in [*data.glob("web-sessions.db*"), *data.glob("web-*.log")]:
        content = kept.read_bytes()
        assert key.encode() not in content and secret.encode() not in content, kept.name
