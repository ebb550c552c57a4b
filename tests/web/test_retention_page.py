"""The admin's retention page with Flask's test client and the plans service played on loopback: the rules in
words, what is due (ids only), what a hold keeps, placing a hold (a 422 shown on its fields) and lifting one; the
page says the erasure is the operator's command, and only admins reach it."""

from __future__ import annotations

import pytest

from tests.web.test_admin import admin, app, text_of  # noqa: F401 (fixtures)
from tests.web.test_web_app import csrf_of, sign_in

RULES = [
    {
        "id": "child_protection",
        "name": "Child protection records",
        "record_type": "child_protection",
        "until_age": None,
        "years_after_last_entry": 35,
        "source": "Northumberland's policy (V2)",
        "plugin": "england",
    },
    {
        "id": "referral",
        "name": "Referral and assessment records",
        "record_type": "referral",
        "until_age": 21,
        "years_after_last_entry": 3,
        "source": "Devon's schedule (V2)",
        "plugin": "england",
    },
]
LISTING = {
    "today": "2026-12-07",
    "rules": RULES,
    "due": [{"child_id": "c-due", "record_type": "referral", "rule": "referral", "due_on": "2026-01-01"}],
    "held": [
        {
            "child_id": "c-held",
            "record_type": "child_protection",
            "rule": "child_protection",
            "due_on": "2020-01-01",
            "holds": ["h-1"],
        }
    ],
}


@pytest.fixture
def listed(fakes):
    fakes["plans"].routes[("GET", "/v1/retention/due")] = (200, LISTING)
    return fakes


def test_the_page_shows_the_rules_what_is_due_and_what_is_held_and_says_erasing_is_the_command(admin, listed):
    page = admin.get("/admin/retention")
    assert page.status_code == 200
    text = text_of(page)
    assert "Until the 21st birthday and 3 years after the last entry about the child, whichever is later" in text
    assert "35 years after the last entry about the child" in text and "Devon's schedule (V2)" in text
    assert "c-due Referral and assessment records 2026-01-01" in text
    assert "Child c-held" in text and "h-1" in text
    assert "cpp retention run" in text and "--dry-run" in text
    assert 'href="/admin/retention"' in page.get_data(as_text=True)  # in the admin's menu


def test_a_hold_is_placed_through_the_plans_service_and_its_refusal_shown_on_the_fields(admin, listed):
    plans = listed["plans"]
    plans.routes[("POST", "/v1/children/c-due/legal-holds")] = (201, {"id": "h-2"})
    token = csrf_of(admin.get("/admin/retention").get_data(as_text=True))
    empty = admin.post("/admin/retention/holds", data={"csrf_token": token})
    assert empty.status_code == 400
    assert "Enter the id of the child's record" in text_of(empty) and "Say who asked for the hold" in text_of(empty)
    assert plans.sent("POST", "/v1/children/c-due/legal-holds") == []
    form = {
        "csrf_token": token,
        "child_id": "c-due",
        "reason": "Disclosure ordered.",
        "set_by": "Family Court",
        "until": ["31", "12", "2030"],
    }
    done = admin.post("/admin/retention/holds", data=form, follow_redirects=True)
    assert "The legal hold is placed" in text_of(done)
    [sent] = plans.sent("POST", "/v1/children/c-due/legal-holds")
    assert sent["json"] == {"reason": "Disclosure ordered.", "set_by": "Family Court", "until": "2030-12-31"}
    plans.routes[("POST", "/v1/children/c-due/legal-holds")] = (
        422,
        {"code": 422, "errors": {"json": {"until": ["Has passed: a hold that ended holds nothing."]}}},
    )
    refused = admin.post("/admin/retention/holds", data=form)
    assert refused.status_code == 400 and "Has passed" in text_of(refused)


def test_a_hold_is_lifted_with_its_reason(admin, listed):
    plans = listed["plans"]
    plans.routes[("DELETE", "/v1/children/c-held/legal-holds/h-1")] = (200, {"id": "h-1"})
    token = csrf_of(admin.get("/admin/retention").get_data(as_text=True))
    form = {"csrf_token": token, "child_id": "c-held", "hold_id": "h-1", "reason": "Proceedings ended."}
    done = admin.post("/admin/retention/holds/lift", data=form, follow_redirects=True)
    assert "The legal hold on the records of child c-held is lifted." in text_of(done)
    [sent] = plans.sent("DELETE", "/v1/children/c-held/legal-holds/h-1")
    assert sent["json"] == {"reason": "Proceedings ended."}
    none = admin.post("/admin/retention/holds/lift", data={**form, "reason": ""}, follow_redirects=True)
    assert "it was not lifted" in text_of(none)
    assert len(plans.sent("DELETE", "/v1/children/c-held/legal-holds/h-1")) == 1


def test_only_an_admin_reaches_the_page(app, listed):  # noqa: F811
    client = app.test_client()
    sign_in(client, "demo-sw-1")
    refused = client.get("/admin/retention")
    assert refused.status_code == 302 and refused.headers["Location"] == "/home"
    assert listed["plans"].sent("GET", "/v1/retention/due") == []
