"""A family's pages in a real browser against a real stack (the shared
`web_stack`): two children of one family, their cases opened together, one
strategy discussion and one conference scheduled through the services' APIs.
The chair reads the family and its conference, records the conference's
outcome (after the form's errors) deciding for each child, and the family
page then shows each child's step-down. Each page of ours passes axe-core
with zero violations and is saved as a screenshot."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import requests

from cpp_shared.auth import issue_dev_token
from tests.helpers import bearer, new_child_over_http
from tests.web.test_browser import artifacts, check  # noqa: F401 (fixture)
from tests.web.test_browser_journey import fill_day
from tests.web.test_browser_plan import PEOPLE, browser, new_page, ok, sign_in_as  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.broker]


def seed_family(stack) -> dict:
    """Rosa and Tom Fictional, one family: their cases, one strategy discussion, both to one initial conference."""
    plans = stack["plans"]
    who = {
        k: bearer(issue_dev_token(stack["settings"], authority="ENG", create_key=False, **p)) for k, p in PEOPLE.items()
    }
    for headers in who.values():
        ok(requests.get(f"{plans}/v1/staff/me", headers=headers, timeout=20))
    sw = who["sw"]
    d0 = date.today() - timedelta(days=12)
    children = [
        new_child_over_http(plans, sw, given_names=name, family_name="Fictional", identifiers=[])
        for name in ("Rosa", "Tom")
    ]
    parent = {
        "name": "Alex Fictional",
        "role": "parent",
        "parental_responsibility": True,
        "relationships": [{"child_id": c, "relationship": "mother"} for c in children],
    }
    body = {"name": "Fictional family", "children": children, "people": [parent]}
    family = ok(requests.post(f"{plans}/v1/families", json=body, headers=sw, timeout=20))["id"]
    base = f"{plans}/v1/families/{family}"
    ok(requests.post(f"{base}/cases", json={"children": children}, headers=sw, timeout=20))
    body = {"children": children, "held_on": d0.isoformat()}
    ok(requests.post(f"{base}/strategy-discussions", json=body, headers=sw, timeout=20))
    outcomes = [{"child_id": c, "conference_required": True} for c in children]
    body = {"completed_on": (d0 + timedelta(days=2)).isoformat(), "outcomes": outcomes}
    ok(requests.post(f"{base}/enquiry-outcomes", json=body, headers=sw, timeout=20))
    body = {"children": children, "kind": "initial", "scheduled_for": date.today().isoformat(), "chair": "demo-chair-1"}
    group = ok(requests.post(f"{base}/conferences", json=body, headers=sw, timeout=20))["id"]
    return {"family_id": family, "group_id": group, "children": children}


def test_the_chair_reads_a_family_and_decides_for_each_child_at_its_conference(web_stack, browser, artifacts):  # noqa: F811
    web = web_stack["web"]
    seeded = seed_family(web_stack)
    context, page = new_page(browser)
    try:
        sign_in_as(page, web, "Morgan Ellis")
        page.goto(f"{web}/families/{seeded['family_id']}")
        main = page.locator("main").inner_text()
        for expected in ("Fictional family", "Rosa Fictional", "Tom Fictional", "Alex Fictional"):
            assert expected in main, expected
        check(page, artifacts, "family-1-family")

        page.goto(f"{web}/family-conferences/{seeded['group_id']}")
        assert "Rosa Fictional" in page.locator("main").inner_text()
        check(page, artifacts, "family-2-conference")

        page.goto(f"{web}/family-conferences/{seeded['group_id']}/outcome")
        check(page, artifacts, "family-3-outcome")
        page.get_by_role("button", name="Save conference outcome").click()
        summary = page.locator(".govuk-error-summary").inner_text()
        assert "Enter the date the conference was held" in summary
        check(page, artifacts, "family-4-outcome-errors")

        fill_day(page, "held_on", date.today())
        for row in (0, 1):  # no plan for either: each steps down to a child in need plan
            page.locator(f'input[name="decisions-{row}-plan_required"][value="no"]').check()
        page.get_by_role("button", name="Save conference outcome").click()
        page.wait_for_url(f"{web}/families/{seeded['family_id']}")
        assert (
            "The conference outcome is recorded for each child."
            in page.locator(".govuk-notification-banner").inner_text()
        )
        assert page.locator("main").inner_text().lower().count("child in need") >= 2  # each child stepped down
        check(page, artifacts, "family-5-decided")
    finally:
        context.close()
