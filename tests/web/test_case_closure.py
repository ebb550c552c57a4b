"""Closing a case and a referral's census source in the web application,
with the plans service played on loopback: the case page links the closure
form only when the case can close and shows a closed case's day and reason;
the closure form and the referral form send what the service takes, put its
422's field errors on their fields and show its 409's reason."""

from __future__ import annotations

import html as htmllib

from tests.web.test_journey import ENDED_CASE, ENDED_PLAN, HELD_REVIEW, ON_PLAN, PLAN, review  # noqa: F401
from tests.web.test_lifecycle import CASE, client, plans, post_form, summary_links  # noqa: F401

OPEN = {**CASE, "version": 2, "strategy_discussions": [{"held_on": "2026-01-06", "initiated_enquiries": True}]}
CLOSED = {
    **OPEN,
    "version": 3,
    "status": "closed",
    "closure": {
        "on": "2026-02-20",
        "reason": "RC7",
        "notes": "The family is doing well.",
        "by": {"user": "demo-sw-1", "name": "Sam Okafor"},
    },
}
CLOSE_LINK = 'href="/cases/case-1/closure"'


def links(resp) -> dict[str, str]:
    return {href: htmllib.unescape(text) for href, text in summary_links(resp.get_data(as_text=True)).items()}


def test_an_open_case_links_its_closure_and_a_closed_one_says_when_and_why(client, plans):
    plans.routes[("GET", "/v1/cases/case-1")] = (200, OPEN)
    html = client.get("/cases/case-1").get_data(as_text=True)
    assert CLOSE_LINK in html and "Close the case" in html
    plans.routes[("GET", "/v1/cases/case-1")] = (200, CLOSED)
    html = client.get("/cases/case-1").get_data(as_text=True)
    assert CLOSE_LINK not in html
    assert "Closed on 20 February 2026: Services ceased for any other reason, including child no longer in need" in html
    assert "The family is doing well." in html and "Sam Okafor" in html


def test_a_case_closed_by_its_referral_says_why_in_words(client, plans):
    closed = {**OPEN, "status": "closed", "closure": {"on": "2026-01-07", "reason": "referral_no_further_action"}}
    plans.routes[("GET", "/v1/cases/case-1")] = (200, closed)
    html = client.get("/cases/case-1").get_data(as_text=True)
    assert "Closed on 7 January 2026: The decision on the referral: no further action" in html
    assert CLOSE_LINK not in html


def test_no_closure_link_while_a_plan_is_in_force_or_a_conference_is_scheduled(client, review):  # noqa: F811
    html = client.get("/cases/case-1").get_data(as_text=True)  # on a plan, a review scheduled
    assert CLOSE_LINK not in html
    held = {**ON_PLAN, "conferences": ON_PLAN["conferences"][:1]}
    review.routes[("GET", "/v1/cases/case-1")] = (200, held)
    assert CLOSE_LINK not in client.get("/cases/case-1").get_data(as_text=True)  # the plan is still in force
    review.routes.update(
        {
            ("GET", "/v1/cases/case-1"): (200, ENDED_CASE),
            ("GET", "/v1/plans/plan-1"): (200, ENDED_PLAN),
            ("GET", "/v1/conferences/conf-2"): (200, HELD_REVIEW),
            ("GET", "/v1/staff/demo-chair-1"): (200, {"user": "demo-chair-1", "name": "Morgan Ellis"}),
            ("GET", "/v1/cases/case-1/child-in-need-plans"): (200, []),
        }
    )
    assert CLOSE_LINK in client.get("/cases/case-1").get_data(as_text=True)  # the plan ended: it may close


def test_close_the_case_sends_the_day_the_census_reason_and_the_notes(client, plans):
    plans.routes[("GET", "/v1/cases/case-1")] = (200, OPEN)
    page = client.get("/cases/case-1/closure").get_data(as_text=True)
    assert "Why did the case close?" in page
    assert "Special guardianship order (RC4)" in page and 'value="RC9"' in page
    plans.routes[("POST", "/v1/cases/case-1/closure")] = (200, CLOSED, {"ETag": '"3"'})
    body = {"closed_on": ["20", "2", "2026"], "reason": "RC7", "notes": " The family is doing well. "}
    resp = post_form(client, "/cases/case-1/closure", body)
    assert resp.status_code == 302 and resp.headers["Location"] == "/cases/case-1"
    [sent] = plans.sent("POST", "/v1/cases/case-1/closure")
    assert sent["json"] == {"closed_on": "2026-02-20", "reason": "RC7", "notes": "The family is doing well."}
    assert sent["headers"]["If-Match"] == '"2"' and sent["headers"]["Idempotency-Key"]


def test_the_closure_form_needs_a_reason_and_shows_the_services_errors(client, plans):
    plans.routes[("GET", "/v1/cases/case-1")] = (200, OPEN)
    missing = post_form(client, "/cases/case-1/closure", {"closed_on": ["20", "2", "2026"]})
    assert missing.status_code == 400
    assert summary_links(missing.get_data(as_text=True)) == {"#reason": "Select why the case closed"}
    assert plans.sent("POST", "/v1/cases/case-1/closure") == []
    plans.routes[("POST", "/v1/cases/case-1/closure")] = (
        422,
        {
            "code": 422,
            "message": "the step breaks a rule",
            "errors": {
                "json": {"closed_on": ["is before the case's latest step: the referral was received on 2026-01-05"]}
            },
        },
    )
    early = post_form(client, "/cases/case-1/closure", {"closed_on": ["1", "1", "2026"], "reason": "RC8"})
    assert early.status_code == 400
    assert links(early) == {
        "#closed_on-day": "Is before the case's latest step: the referral was received on 2026-01-05"
    }
    plans.routes[("POST", "/v1/cases/case-1/closure")] = (
        409,
        {
            "code": 409,
            "message": "a conference is scheduled for 2026-03-01: hold it or cancel it before closing the case",
        },
    )
    refused = post_form(client, "/cases/case-1/closure", {"closed_on": ["20", "2", "2026"], "reason": "RC7"})
    assert refused.status_code == 409
    assert "A conference is scheduled for 2026-03-01: hold it or cancel it before closing the case" in refused.get_data(
        as_text=True
    )


def test_the_referral_form_asks_the_census_source_and_shows_a_wrong_pairing_on_its_field(client, plans):
    plans.routes[("GET", "/v1/cases/case-1")] = (200, {**CASE, "version": 1})
    page = client.get("/cases/case-1/referral").get_data(as_text=True)
    assert "Health services – GP (3A)" in page and "Police (6)" in page
    plans.routes[("POST", "/v1/cases/case-1/referral")] = (
        422,
        {
            "code": 422,
            "message": "the step breaks a rule",
            "errors": {"json": {"source_code": ["'2A' is not a census source of a health referral; it is one of 3A"]}},
        },
    )
    body = {"received_on": ["5", "1", "2026"], "source": "health", "source_code": "2A", "summary": ""}
    bad = post_form(client, "/cases/case-1/referral", body)
    assert bad.status_code == 400
    assert links(bad) == {"#source_code": "'2A' is not a census source of a health referral; it is one of 3A"}
    plans.routes[("POST", "/v1/cases/case-1/referral")] = (200, {**CASE, "version": 2}, {"ETag": '"2"'})
    good = post_form(client, "/cases/case-1/referral", {**body, "source_code": "3A"})
    assert good.status_code == 302
    sent = plans.sent("POST", "/v1/cases/case-1/referral")
    assert [s["json"]["source_code"] for s in sent] == ["2A", "3A"] and sent[-1]["json"]["source"] == "health"


def test_the_case_page_names_the_referrals_census_source(client, plans):
    referral = {"received_on": "2026-01-05", "source": "health", "source_code": "3B", "summary": None, "decision": None}
    plans.routes[("GET", "/v1/cases/case-1")] = (200, {**CASE, "version": 2, "referral": referral})
    html = client.get("/cases/case-1").get_data(as_text=True)
    assert "5 January 2026, from Health (census source: Health services – health visitor (3B))" in html


def test_the_chronology_says_why_a_case_closed_in_the_census_words(client):
    from cpp_web.journey import words

    with client.application.test_request_context():
        said = words({"type": "case_closed", "detail": {"reason": "RC4", "notes": "An order was made."}})
    assert said == "Case closed: Special guardianship order. Notes: An order was made."
