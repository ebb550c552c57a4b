"""An unborn child in the web application: the child's page says "Unborn (expected ...)" and offers the "Record
the birth" form, whose request carries the If-Match read when it was opened and its Idempotency-Key; a 422's
errors go on its fields and in the error summary; a conference about an unborn child reads as a pre-birth
conference, in the deployment's words."""

from __future__ import annotations

from tests.web.test_lifecycle import CHILD, CONFERENCE, client, plans, post_form, summary_links  # noqa: F401

UNBORN = {**CHILD, "date_of_birth": None, "expected_date_of_birth": "2026-03-02", "given_names": "Baby"}
PATH = "/children/child-1/birth"


def test_an_unborn_childs_page_says_so_and_offers_to_record_the_birth(client, plans):
    plans.routes[("GET", "/v1/children/child-1")] = (200, UNBORN, {"ETag": '"4"'})
    html = client.get("/children/child-1").get_data(as_text=True)
    assert "Unborn (expected 2 March 2026)" in html
    assert f'href="{PATH}"' in html and "Record the birth" in html


def test_a_born_childs_page_keeps_the_expected_date_and_offers_no_birth(client, plans):
    born = {**UNBORN, "date_of_birth": "2026-02-27", "born_on_record": {"by": "sw-1", "at": "2026-02-28T09:00"}}
    plans.routes[("GET", "/v1/children/child-1")] = (200, born, {"ETag": '"5"'})
    html = client.get("/children/child-1").get_data(as_text=True)
    assert "27 February 2026 (expected 2 March 2026)" in html and "Record the birth" not in html


def test_record_the_birth_sends_the_date_the_name_the_etag_and_a_key(client, plans):
    plans.routes[("GET", "/v1/children/child-1")] = (200, UNBORN, {"ETag": '"4"'})
    plans.routes[("POST", "/v1/children/child-1/birth")] = (200, {**UNBORN, "date_of_birth": "2026-02-27"})
    resp = post_form(client, PATH, {"date_of_birth": ["27", "2", "2026"], "given_names": "Lena"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/children/child-1"
    [sent] = plans.sent("POST", "/v1/children/child-1/birth")
    assert sent["json"] == {"date_of_birth": "2026-02-27", "given_names": "Lena"}
    assert sent["headers"]["If-Match"] == '"4"' and sent["headers"]["Idempotency-Key"]


def test_the_services_422_goes_on_the_date_and_in_the_error_summary(client, plans):
    plans.routes[("GET", "/v1/children/child-1")] = (200, UNBORN, {"ETag": '"4"'})
    message = "Must not be more than 24 weeks before the expected date of birth (2026-03-02): 2025-09-15 or later."
    plans.routes[("POST", "/v1/children/child-1/birth")] = (
        422,
        {"code": 422, "message": "invalid", "errors": {"json": {"date_of_birth": [message]}}},
    )
    resp = post_form(client, PATH, {"date_of_birth": ["1", "1", "2025"]})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "24 weeks before the expected date of birth" in " ".join(summary_links(html).values())
    assert "<title>Error: Record the birth" in html


def test_the_date_is_required_before_anything_is_sent(client, plans):
    plans.routes[("GET", "/v1/children/child-1")] = (200, UNBORN, {"ETag": '"4"'})
    resp = post_form(client, PATH, {"date_of_birth": ["", "", ""]})
    assert resp.status_code == 400 and "Enter the date of birth" in resp.get_data(as_text=True)
    assert plans.sent("POST", "/v1/children/child-1/birth") == []


def test_a_record_changed_meanwhile_gives_the_changed_page(client, plans):
    plans.routes[("GET", "/v1/children/child-1")] = (200, UNBORN, {"ETag": '"4"'})
    plans.routes[("POST", "/v1/children/child-1/birth")] = (412, {"code": 412, "message": "changed"})
    resp = post_form(client, PATH, {"date_of_birth": ["27", "2", "2026"]})
    assert resp.status_code == 412 and "Someone changed this child" in resp.get_data(as_text=True)


def test_a_conference_about_an_unborn_child_reads_as_a_pre_birth_conference(client, plans):
    plans.routes[("GET", "/v1/conferences/conf-1")] = (
        200,
        {**CONFERENCE, "pre_birth": True, "expected_date_of_birth": "2026-03-02"},
        {"ETag": '"2"'},
    )
    html = client.get("/conferences/conf-1").get_data(as_text=True)
    assert "Pre-birth child protection conference" in html
    moving = client.get("/conferences/conf-1/move")
    assert "Move the pre-birth child protection conference" in moving.get_data(as_text=True)
