"""The end of a case's journey in a real browser against a real stack
(the shared `web_stack`: RabbitMQ, the four services, the web application): a
case with an active plan seeded through the services' APIs. The chair
schedules a review conference from the case's task list and records its
outcome ending the plan (after the form's errors); the social worker steps
the child down to a child in need plan from the task list; then reads the
child's chronology. Each page of ours passes axe-core with zero violations
and is saved as a screenshot."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.web.test_browser import artifacts, check  # noqa: F401 (fixture)
from tests.web.test_browser_plan import browser, new_page, seed_plan, sign_in_as  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.broker]


@pytest.fixture(scope="module")
def journey_stack(web_stack):
    return {**web_stack, **seed_plan(web_stack, days_ago=60)}


def fill_day(page, field: str, day: date) -> None:
    page.locator(f"#{field}-day").fill(str(day.day))
    page.locator(f"#{field}-month").fill(str(day.month))
    page.locator(f"#{field}-year").fill(str(day.year))


def test_a_review_ends_the_plan_the_child_steps_down_and_the_chronology_tells_it(journey_stack, browser, artifacts):  # noqa: F811
    web, case_id, child_id = journey_stack["web"], journey_stack["case_id"], journey_stack["child_id"]
    review_day = date.today() - timedelta(days=2)
    context, page = new_page(browser)
    try:
        # The chair schedules the review from the case's task list.
        sign_in_as(page, web, "Morgan Ellis")
        page.goto(f"{web}/cases/{case_id}")
        page.get_by_role("link", name="Review child protection conferences").click()
        assert page.locator("h1").inner_text() == "Schedule a conference"
        assert page.locator("#kind").input_value() == "review"
        fill_day(page, "scheduled_for", review_day)
        page.get_by_role("button", name="Schedule conference").click()
        page.wait_for_url(f"{web}/cases/{case_id}")

        # ... and records its outcome: first nothing answered, then the plan ends.
        page.get_by_role("link", name="Review child protection conferences").click()
        assert page.locator("h1").inner_text() == "Record the review child protection conference's outcome"
        check(page, artifacts, "journey-1-review-outcome")
        page.get_by_label("End the child protection plan").check()
        page.get_by_role("button", name="Save conference outcome").click()
        summary = page.locator(".govuk-error-summary").inner_text()
        assert "Enter the date the conference was held" in summary
        assert "Enter why the child protection plan ends" in summary
        check(page, artifacts, "journey-2-review-outcome-errors")
        fill_day(page, "held_on", review_day)
        page.get_by_label("End the child protection plan").check()
        page.get_by_label("Why does the child protection plan end?").fill(
            "Home conditions are good and Rosa is seen regularly at school."
        )
        page.locator("#attendees-0-name").fill("Hana Visitor")
        page.locator("#attendees-0-role").fill("health visitor")
        page.get_by_role("button", name="Save conference outcome").click()
        page.wait_for_url(f"{web}/cases/{case_id}")
        banner = page.locator(".govuk-notification-banner").inner_text()
        assert "the child protection plan has ended" in banner
        ended = page.locator("main").inner_text()
        for expected in (
            "The child protection plan has ended",
            review_day.strftime("%B %Y"),
            "Morgan Ellis, at the review child protection conference",
            "Home conditions are good and Rosa is seen regularly at school.",
            "No child in need plan has been made yet.",
        ):
            assert expected in ended, expected
        check(page, artifacts, "journey-3-plan-ended")
        page.get_by_role("link", name="Sign out").click()

        # The social worker steps the child down to a child in need plan from the task list.
        sign_in_as(page, web, "Sam Okafor")
        page.goto(f"{web}/cases/{case_id}")
        page.get_by_role("link", name="Ending or step-down").click()
        assert page.locator("h1").inner_text() == "Make the child in need plan"
        assert page.get_by_label("Key worker", exact=True).input_value() == "Sam Okafor"
        page.get_by_role("button", name="Save child in need plan").click()
        summary = page.locator(".govuk-error-summary").inner_text()
        assert "Enter a summary of the child's needs" in summary and "Enter the date of the plan's review" in summary
        check(page, artifacts, "journey-4-child-in-need-errors")
        page.get_by_label("Key worker's phone number (optional)").fill("020 7946 0000")
        page.get_by_label("The child's needs").fill("Help with routines at home; school attendance.")
        page.get_by_label("Services to support the child and family (optional)").fill("Family support\nEarly help")
        fill_day(page, "review_on", date.today() + timedelta(days=90))
        page.get_by_role("button", name="Save child in need plan").click()
        assert page.url.startswith(f"{web}/cases/{case_id}")
        main = page.locator("main").inner_text()
        assert "The child in need plan is made." in main
        for expected in (
            "Help with routines at home; school attendance.",
            "Family support",
            "Early help",
            "Sam Okafor, 020 7946 0000",
            "by Sam Okafor",
        ):
            assert expected in main, expected
        check(page, artifacts, "journey-5-child-in-need-plan")

        # The chronology, from the child's record.
        page.goto(f"{web}/children/{child_id}")
        page.get_by_role("link", name="Rosa Fictional's chronology").click()
        page.wait_for_url(f"{web}/children/{child_id}/chronology")
        assert page.locator("h1").inner_text() == "Chronology"
        rows = page.locator("tbody tr").all_inner_texts()
        said = "\n".join(rows)
        assert "Child in need plan made" in rows[0] and "Sam Okafor" in rows[0]
        for expected in (
            "Child protection plan ended: the child steps down to a child in need plan. Reason: Home "
            "conditions are good and Rosa is seen regularly at school.",
            "Review child protection conference held: the child protection plan ends",
            "Review child protection conference scheduled for",
            "Detailed child protection plan agreed at the first core group meeting",
            "Core group meeting held",
            "Outline child protection plan agreed",
            "Initial child protection conference held: a child protection plan is needed",
            "Section 47 enquiries completed: an initial child protection conference is needed",
            "Strategy discussion held",
            "Case opened",
            "Morgan Ellis",
            "Sam Okafor",
        ):
            assert expected in said, expected
        assert "demo-" not in said  # names, never ids
        check(page, artifacts, "journey-6-chronology")
    finally:
        context.close()
