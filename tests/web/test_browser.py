"""The web application in a real browser (Debian's chromium, driven by
Playwright) against a real stack on free ports: RabbitMQ, the four services
and the web application, a case seeded through the services' APIs. Each page
reached passes axe-core with zero violations and is saved as a screenshot
under the test's output folder (CPP_TEST_ARTIFACTS, else pytest's tmp_path)."""

from __future__ import annotations

import os
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests

from cpp_shared.auth import issue_dev_token
from tests.helpers import bearer, new_child_over_http, wait_for
from tests.integration.conftest import broker_url, rabbit  # noqa: F401 (fixtures)
from tests.web.conftest import running_stack

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.broker]

CHROMIUM = "/usr/bin/chromium"
QUIET = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def stack(request, tmp_path, broker_url):  # noqa: F811 (the fixture imported above)
    """The stack. Parametrized (indirect) with {"plugins": "england,bromley"}, every process runs that
    deployment's plugins; with {"workers": ("docs",)}, those services' workers run too (the docs service
    then makes documents)."""
    options = getattr(request, "param", None) or {}
    data = tmp_path / "var"
    data.mkdir()
    with running_stack(data, broker_url, plugins=options.get("plugins"), workers=options.get("workers", ())) as stack:
        yield stack


def seed_overdue_case(stack) -> dict:
    """A case of the demo social worker whose strategy discussion was six weeks ago: its initial
    conference is overdue."""
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
    child_id = new_child_over_http(stack["plans"], headers, given_names="Rosa", family_name="Fictional")
    resp = requests.post(f"{stack['plans']}/v1/cases", json={"child_id": child_id}, headers=headers, timeout=20)
    assert resp.status_code == 201, resp.text
    case_id = resp.json()["id"]
    held_on = (date.today() - timedelta(days=42)).isoformat()
    resp = requests.post(
        f"{stack['plans']}/v1/cases/{case_id}/strategy-discussions",
        json={"held_on": held_on},
        headers=headers,
        timeout=20,
    )
    assert resp.status_code in (200, 201), resp.text

    def deadlines():
        resp = requests.get(
            f"{stack['scheduler']}/v1/deadlines",
            params={"case_id": case_id, "status": "open"},
            headers=headers,
            timeout=10,
        )
        return resp.status_code == 200 and resp.json()["items"]

    [deadline, *_] = wait_for(deadlines, timeout=60, what="the scheduler to set the case's deadlines")
    return {"case_id": case_id, "deadline": deadline}


@pytest.fixture
def artifacts(request, tmp_path) -> Path:
    root = os.environ.get("CPP_TEST_ARTIFACTS")
    folder = Path(root) / re.sub(r"\W+", "_", request.node.name) if root else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page(tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=QUIET)
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def check(page, artifacts: Path, name: str) -> None:
    """Zero axe-core violations, and a screenshot for a reviewer."""
    from axe_playwright_python.sync_playwright import Axe

    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
    results = Axe().run(page)
    assert results.violations_count == 0, f"{name}: {results.generate_report()}"


def test_a_social_worker_signs_in_with_the_keyboard_and_reads_an_overdue_step(stack, page, artifacts):
    seeded = seed_overdue_case(stack)
    web = stack["web"]

    page.goto(f"{web}/my-work")  # not signed in: to the sign-in page, and back after
    assert page.url.startswith(f"{web}/sign-in")
    check(page, artifacts, "1-sign-in")
    # Keyboard only: Tab to the first person, Space to choose them, Tab to the button, Enter.
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "person":
            break
    else:
        pytest.fail("Tab never reached the first person on the sign-in page")
    page.keyboard.press("Space")
    assert page.is_checked("#person")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Sign in"
    with page.expect_navigation():
        page.keyboard.press("Enter")

    page.wait_for_url(f"{web}/my-work")
    assert page.locator("h1").inner_text() == "My work"
    cases = page.locator("#my-cases + table")
    assert "Rosa Fictional" in cases.inner_text()
    overdue = page.locator("#overdue + table")
    assert "Rosa Fictional" in overdue.inner_text() and seeded["deadline"]["name"] in overdue.inner_text()
    check(page, artifacts, "2-my-work")

    cases.get_by_role("link", name="Rosa Fictional").click()
    page.wait_for_url(f"{web}/cases/{seeded['case_id']}")
    assert page.locator("h1").inner_text() == "Rosa Fictional"
    assert "Completed" in page.locator(".govuk-task-list").inner_text()
    check(page, artifacts, "3-case")

    page.locator(f"a[href='/deadlines/{seeded['deadline']['id']}']").click()
    assert page.locator("h1").inner_text() == seeded["deadline"]["name"]
    assert "Days skipped" in page.content() and ("Saturday" in page.content() or "Sunday" in page.content())
    check(page, artifacts, "4-deadline")

    page.goto(f"{web}/cases/no-such-case")
    assert page.locator("h1").inner_text() == "Page not found"
    check(page, artifacts, "5-not-found")
