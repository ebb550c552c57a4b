"""The error pages in a real browser: a service that is stopped, a step the
service refuses, a session that has ended (idle, and a token the services
no longer accept). Each page says what happened in plain words, keeps the
person's way back, and passes axe-core."""

from __future__ import annotations

import math
import sqlite3
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from cpp_shared.auth import issue_dev_token
from tests.helpers import bearer
from tests.integration.conftest import broker_url, rabbit  # noqa: F401 (fixtures)
from tests.web.test_browser import artifacts, check, page, seed_overdue_case, stack  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.broker]


def sign_in(page, web: str, name: str = "Sam Okafor") -> None:
    page.goto(f"{web}/sign-in")
    page.get_by_label(name).check()
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{web}/my-work")


def test_a_refused_step_an_ended_session_and_a_stopped_service(stack, page, artifacts):  # noqa: F811
    web = stack["web"]
    seeded = seed_overdue_case(stack)
    case = f"{web}/cases/{seeded['case_id']}"
    sign_in(page, web)

    # A step the case's stage does not allow: the service's reason, in the error summary, nothing recorded.
    page.goto(f"{case}/strategy-discussion")
    check(page, artifacts, "1-strategy-discussion")
    page.goto(f"{case}/conferences/new?kind=review")  # a review conference with no plan in force
    page.fill("#scheduled_for-day", "1")
    page.fill("#scheduled_for-month", "1")
    page.fill("#scheduled_for-year", str(datetime.now().year + 1))
    page.get_by_role("button", name="Schedule conference").click()
    summary = page.locator(".govuk-error-summary")
    summary.wait_for()
    assert "reviews a plan in force; this case has none" in summary.inner_text()
    check(page, artifacts, "2-refused-step")
    page.goto(case)
    assert (
        "Review child protection conferences" in page.content()
        and "Scheduled" not in page.locator(".govuk-task-list").inner_text()
    )  # nothing was recorded

    # An idle session: the session's row has expired on the server; the next page asks to sign in again.
    with sqlite3.connect(stack["data"] / "web-sessions.db") as db:
        db.execute(
            "UPDATE web_sessions SET expiry = ?",
            (datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=1),),
        )
    page.goto(case)
    page.wait_for_url(f"{web}/sign-in**")
    assert "Your session has ended" in page.locator(".govuk-notification-banner").inner_text()
    check(page, artifacts, "3-session-ended")
    page.get_by_label("Sam Okafor").check()
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(case)  # back where they were

    # A sign-in the services no longer accept: an admin revokes the person's tokens.
    admin = issue_dev_token(stack["settings"], role="admin", authority="ENG", user="admin-1", create_key=False)
    resp = requests.post(
        f"{stack['plans']}/v1/revocations",
        headers=bearer(admin),
        timeout=20,
        json={"user": "demo-sw-1", "reason": "Left the council"},
    )
    assert resp.status_code in (200, 201), resp.text
    page.goto(f"{web}/my-work")
    page.wait_for_url(f"{web}/sign-in**")
    assert "Your session has ended" in page.locator(".govuk-notification-banner").inner_text()

    # A stopped service: the page names the part that cannot be reached, as a 503, never a stack trace.
    # (Signing in again: a token issued in the revocation's own second is refused too, so after it.)
    revoked_at = datetime.fromisoformat(resp.json()["revoked_at"]).timestamp()
    time.sleep(max(0.0, math.floor(revoked_at) + 1.05 - time.time()))
    sign_in(page, web)
    stack["processes"]["scheduler"].stop()
    answer = page.goto(f"{web}/my-work")
    assert answer.status == 503
    assert page.locator("h1").inner_text() == "Sorry, part of the service is unavailable"
    assert "scheduler" in page.locator("main").inner_text()
    assert "Traceback" not in page.content()
    check(page, artifacts, "4-service-unavailable")
