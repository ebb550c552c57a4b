"""The deadline page says when nobody could be told of the deadline, and
why, as the scheduler's API records it (its services played on loopback)."""

from __future__ import annotations

from tests.web.test_web_app import app, settings, sign_in  # noqa: F401 - fixtures

DEADLINE = {
    "id": "d-1",
    "case_id": "case-1",
    "name": "Decision on the referral",
    "status": "overdue",
    "due_on": "2026-12-07",
    "owner": "team_manager",
    "assignee": None,
    "child": {"name": "Ana Parent"},
    "source": "Working Together",
    "explanation": {},
}


def test_a_deadline_nobody_could_be_told_of_says_so_and_why(app, fakes):  # noqa: F811
    told = {
        "notice": "deadline.overdue.v1",
        "reason": "nobody_to_tell",
        "explanation": "Nobody could be told: the case has no team manager and no social worker to tell.",
        "people": [],
        "at": "2026-12-08T09:00:00Z",
    }
    fakes["scheduler"].routes[("GET", "/v1/deadlines/d-1")] = (200, {**DEADLINE, "nobody_told": told})
    client = app.test_client()
    sign_in(client)
    resp = client.get("/deadlines/d-1")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200, html
    assert "Nobody could be told: the case has no team manager and no social worker to tell." in html
    assert "govuk-warning-text" in html

    fakes["scheduler"].routes[("GET", "/v1/deadlines/d-1")] = (200, DEADLINE)
    assert "Nobody could be told" not in client.get("/deadlines/d-1").get_data(as_text=True)
