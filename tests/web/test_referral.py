"""The referral and the assessment in the web application, with the plans
service played on loopback: the case page shows them with their dates and
links the next step's form; each form sends the case's ETag (If-Match) and
its Idempotency-Key, puts a 422's field errors on its fields, shows a 409's
reason and gives the changed page on a 412."""

from __future__ import annotations

from tests.web.test_lifecycle import CASE, client, plans, post_form, summary_links  # noqa: F401

REFERRED = {
    **CASE,
    "version": 3,
    "referral": {
        "received_on": "2026-01-05",
        "source": "school",
        "summary": "A bruise seen at school.",
        "recorded_by": "demo-sw-1",
        "decision": {
            "decided_on": "2026-01-06",
            "decision": "assessment",
            "reason": "Needs a closer look.",
            "decided_by": "demo-tm-1",
        },
    },
    "assessment": {
        "started_on": "2026-01-07",
        "factors": ["domestic_abuse", "housing"],
        "other_factors": None,
        "started_by": "demo-sw-1",
        "completion": None,
    },
}


def test_the_case_page_shows_the_referral_and_the_assessment_and_links_the_next_step(client, plans):
    plans.routes[("GET", "/v1/cases/case-1")] = (200, REFERRED)
    html = client.get("/cases/case-1").get_data(as_text=True)
    assert "Referral and assessment" in html
    assert "5 January 2026, from School or nursery" in html
    assert "Child and family assessment on 6 January 2026: Needs a closer look." in html
    assert "7 January 2026, factors: Domestic abuse, Housing" in html
    assert 'href="/cases/case-1/completion"' in html


def test_a_case_without_a_referral_offers_to_record_one(client, plans):
    plans.routes[("GET", "/v1/cases/case-1")] = (200, {**CASE, "version": 1})
    html = client.get("/cases/case-1").get_data(as_text=True)
    assert "No referral is recorded for this case." in html and 'href="/cases/case-1/referral"' in html


def test_record_the_referral_sends_if_match_and_an_idempotency_key(client, plans):
    plans.routes[("GET", "/v1/cases/case-1")] = (200, {**CASE, "version": 1})
    plans.routes[("POST", "/v1/cases/case-1/referral")] = (200, REFERRED, {"ETag": '"2"'})
    resp = post_form(
        client, "/cases/case-1/referral", {"received_on": ["5", "1", "2026"], "source": "school", "summary": "Bruise."}
    )
    assert resp.status_code == 302 and resp.headers["Location"] == "/cases/case-1"
    [sent] = plans.sent("POST", "/v1/cases/case-1/referral")
    assert sent["json"] == {"received_on": "2026-01-05", "source": "school", "source_code": None, "summary": "Bruise."}
    assert sent["headers"]["If-Match"] == '"1"' and sent["headers"]["Idempotency-Key"]


def test_the_decision_needs_its_reason_and_shows_the_services_field_errors(client, plans):
    plans.routes[("GET", "/v1/cases/case-1")] = (200, REFERRED)
    bad = post_form(client, "/cases/case-1/decision", {"decided_on": ["6", "1", "2026"], "decision": "assessment"})
    assert bad.status_code == 400 and "#reason" in summary_links(bad.get_data(as_text=True))
    plans.routes[("POST", "/v1/cases/case-1/referral/decision")] = (
        422,
        {
            "code": 422,
            "message": "the step breaks a rule",
            "errors": {"json": {"decided_on": ["is before the referral"]}},
        },
    )
    bad = post_form(
        client, "/cases/case-1/decision", {"decided_on": ["4", "1", "2026"], "decision": "assessment", "reason": "R."}
    )
    assert bad.status_code == 400
    assert summary_links(bad.get_data(as_text=True)) == {"#decided_on-day": "Is before the referral"}
    assert [s["json"]["decision"] for s in plans.sent("POST", "/v1/cases/case-1/referral/decision")] == ["assessment"]


def test_start_the_assessment_with_its_factors(client, plans):
    plans.routes[("GET", "/v1/cases/case-1")] = (200, REFERRED)
    plans.routes[("POST", "/v1/cases/case-1/assessment")] = (200, REFERRED, {"ETag": '"4"'})
    resp = post_form(
        client,
        "/cases/case-1/assessment",
        {"started_on": ["7", "1", "2026"], "factors": ["domestic_abuse", "housing"], "other_factors": ""},
    )
    assert resp.status_code == 302
    [sent] = plans.sent("POST", "/v1/cases/case-1/assessment")
    assert sent["json"] == {"started_on": "2026-01-07", "factors": ["domestic_abuse", "housing"], "other_factors": None}
    assert sent["headers"]["If-Match"] == '"3"'


def test_the_completion_is_authorised_by_a_team_manager_from_the_directory(client, plans):
    plans.routes[("GET", "/v1/cases/case-1")] = (200, REFERRED)
    plans.routes[("GET", "/v1/staff")] = (
        200,
        {"items": [{"user": "demo-tm-1", "name": "Terry Manager", "role": "team_manager"}]},
    )
    page = client.get("/cases/case-1/completion").get_data(as_text=True)
    assert "Terry Manager" in page
    plans.routes[("POST", "/v1/cases/case-1/assessment/completion")] = (200, REFERRED, {"ETag": '"4"'})
    body = {"completed_on": ["20", "2", "2026"], "outcome": "early_help", "authorised_by": "demo-tm-1", "summary": ""}
    resp = post_form(client, "/cases/case-1/completion", body)
    assert resp.status_code == 302
    [sent] = plans.sent("POST", "/v1/cases/case-1/assessment/completion")
    assert sent["json"] == {
        "completed_on": "2026-02-20",
        "outcome": "early_help",
        "authorised_by": "demo-tm-1",
        "summary": None,
    }
    assert [r["query"].get("role") for r in plans.sent("GET", "/v1/staff")][-1] == ["team_manager"]


def test_a_refused_step_shows_the_reason_and_a_changed_case_the_changed_page(client, plans):
    plans.routes[("GET", "/v1/cases/case-1")] = (200, REFERRED)
    plans.routes[("POST", "/v1/cases/case-1/assessment")] = (
        409,
        {"code": 409, "message": "the case's assessment started on 2026-01-07"},
    )
    refused = post_form(client, "/cases/case-1/assessment", {"started_on": ["7", "1", "2026"]})
    assert refused.status_code == 409
    assert "The case&#39;s assessment started on 2026-01-07." in refused.get_data(as_text=True)
    plans.routes[("POST", "/v1/cases/case-1/assessment")] = (412, {"code": 412, "message": "changed"})
    changed = post_form(client, "/cases/case-1/assessment", {"started_on": ["7", "1", "2026"]})
    assert changed.status_code == 412 and "Someone changed this case since you opened it" in changed.get_data(
        as_text=True
    )
