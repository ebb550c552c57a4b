"""A conference's steps around the meeting as pages, with Flask's test client and the services played on loopback:
the invitations sent, a meeting that was not quorate (with the ETag read when the form was opened) and the record
issued; each form's request to the plans service, and a 422's field error or a 409's reason on the page."""

from __future__ import annotations

from tests.web.test_lifecycle import CONFERENCE, client, plans, post_form, summary_links  # noqa: F401

HELD = {**CONFERENCE, "status": "held", "outcome": {"held_on": "2026-02-10", "plan_required": True}}


def test_the_scheduled_conference_offers_its_invitations_and_a_meeting_not_quorate(client, plans):
    plans.routes[("GET", "/v1/conferences/conf-1")] = (
        200,
        {
            **CONFERENCE,
            "invitations": [{"sent_on": "2026-02-03", "for": "2026-02-10", "notice_days": 7}],
            "inquorate": [{"met_on": "2026-02-03", "reason": "No police.", "reconvened_for": "2026-02-10"}],
        },
        {"ETag": '"2"'},
    )
    html = client.get("/conferences/conf-1").get_data(as_text=True)
    assert 'href="/conferences/conf-1/invitations"' in html
    assert 'href="/conferences/conf-1/inquorate"' in html
    assert "3 February 2026, for 10 February 2026 (7 days&#39; notice)" in html
    assert "Meetings that were not quorate" in html and "No police." in html
    assert "/record-issue" not in html


def test_invitations_are_sent_with_the_key_made_when_the_form_opened(client, plans):
    plans.routes[("POST", "/v1/conferences/conf-1/invitations")] = (201, CONFERENCE, {"ETag": '"3"'})
    resp = post_form(client, "/conferences/conf-1/invitations", {"sent_on": ["3", "2", "2026"]})
    assert resp.status_code == 302 and resp.headers["Location"] == "/conferences/conf-1"
    [sent] = plans.sent("POST", "/v1/conferences/conf-1/invitations")
    assert sent["json"] == {"sent_on": "2026-02-03"}
    assert sent["headers"]["Idempotency-Key"]


def test_invitations_the_service_refuses_show_its_field_error(client, plans):
    errors = {"code": 422, "errors": {"json": {"sent_on": ["is after the day of the conference, 2026-02-10"]}}}
    plans.routes[("POST", "/v1/conferences/conf-1/invitations")] = (422, errors)
    resp = post_form(client, "/conferences/conf-1/invitations", {"sent_on": ["11", "2", "2026"]})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "#sent_on-day" in summary_links(html)
    assert "after the day of the conference" in html


def test_a_meeting_not_quorate_sends_the_etag_read_when_the_form_was_opened(client, plans):
    plans.routes[("POST", "/v1/conferences/conf-1/inquorate-meetings")] = (200, CONFERENCE, {"ETag": '"3"'})
    form = {"met_on": ["10", "2", "2026"], "reason": "No police.", "scheduled_for": ["17", "2", "2026"]}
    resp = post_form(client, "/conferences/conf-1/inquorate", form)
    assert resp.status_code == 302 and resp.headers["Location"] == "/conferences/conf-1"
    [sent] = plans.sent("POST", "/v1/conferences/conf-1/inquorate-meetings")
    assert sent["headers"]["If-Match"] == '"2"'
    assert sent["json"] == {"met_on": "2026-02-10", "reason": "No police.", "scheduled_for": "2026-02-17"}


def test_a_meeting_not_quorate_needs_why_and_moved_meanwhile_gives_the_changed_page(client, plans):
    bad = post_form(client, "/conferences/conf-1/inquorate", {"met_on": ["10", "2", "2026"], "reason": ""})
    links = summary_links(bad.get_data(as_text=True))
    assert bad.status_code == 400 and "#reason" in links and "#scheduled_for-day" in links
    assert plans.sent("POST", "/v1/conferences/conf-1/inquorate-meetings") == []
    plans.routes[("POST", "/v1/conferences/conf-1/inquorate-meetings")] = (412, {"code": 412, "message": "changed"})
    form = {"met_on": ["10", "2", "2026"], "reason": "No police.", "scheduled_for": ["17", "2", "2026"]}
    resp = post_form(client, "/conferences/conf-1/inquorate", form)
    assert resp.status_code == 412
    assert "Someone changed this conference since you opened it" in resp.get_data(as_text=True)


def test_the_record_of_a_held_conference_is_issued_once(client, plans):
    plans.routes[("GET", "/v1/conferences/conf-1")] = (200, HELD, {"ETag": '"4"'})
    assert 'href="/conferences/conf-1/record-issue"' in client.get("/conferences/conf-1").get_data(as_text=True)
    plans.routes[("POST", "/v1/conferences/conf-1/record-issue")] = (201, HELD, {"ETag": '"5"'})
    resp = post_form(client, "/conferences/conf-1/record-issue", {"issued_on": ["13", "2", "2026"]})
    assert resp.status_code == 302 and resp.headers["Location"] == "/conferences/conf-1"
    assert plans.sent("POST", "/v1/conferences/conf-1/record-issue")[-1]["json"] == {"issued_on": "2026-02-13"}

    issued = {**HELD, "record_issued": {"on": "2026-02-13", "by": "demo-sw-1"}}
    plans.routes[("GET", "/v1/conferences/conf-1")] = (200, issued, {"ETag": '"5"'})
    html = client.get("/conferences/conf-1").get_data(as_text=True)
    assert "Record issued" in html and "13 February 2026" in html
    assert 'href="/conferences/conf-1/record-issue"' not in html
    refused = {"code": 409, "message": "the conference's record was issued on 2026-02-13"}
    plans.routes[("POST", "/v1/conferences/conf-1/record-issue")] = (409, refused)
    again = post_form(client, "/conferences/conf-1/record-issue", {"issued_on": ["14", "2", "2026"]})
    assert again.status_code == 409 and "was issued on" in again.get_data(as_text=True)
