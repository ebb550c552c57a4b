"""A child's gender, ethnicity and disabilities in the web application, as the Children in Need census codes
them: asked with the census's labels when a child is registered and when their details change, a 422 from the
plans service shown on its field, the labels on the child's page, and the children left to code listed for
team managers and admins."""

from __future__ import annotations

import re

from cpp_shared import census_codes
from tests.web.test_lifecycle import CHILD, post_form, summary_links
from tests.web.test_lifecycle import client as client  # noqa: F401 - the web app signed in as a social worker
from tests.web.test_lifecycle import plans as plans  # noqa: F401 - the child and case on the played services
from tests.web.test_web_app import sign_in

REGISTRATION = {
    "given_names": "Rosa",
    "family_name": "Fictional",
    "date_of_birth": ["27", "3", "2019"],
    "gender": "2",
    "ethnicity": "MWAS",
    "disabilities": ["HEAR", "AUT"],
    "first_language": "English",
    "interpreter_needed": "no",
    "address_line_1": "1 Made Up Road",
}


def test_the_register_form_asks_with_the_census_labels(client, plans):  # noqa: F811
    html = client.get("/children/new").get_data(as_text=True)
    for code, label in census_codes.GENDER.items():
        assert re.search(rf'type="radio" value="{code}"', html) and label in html
    options = re.findall(r'<option value="([^"]*)"', html)
    assert options == ["", *census_codes.ETHNICITY]
    assert "Information not yet obtained" in html and "Any other White background" in html
    assert re.findall(r'name="disabilities" type="checkbox" value="([^"]+)"', html) == list(census_codes.DISABILITY)
    assert "No disability" in html and "Hand function" in html


def test_registering_sends_the_codes(client, plans):  # noqa: F811
    plans.routes[("POST", "/v1/children")] = (201, {**CHILD, "id": "child-9"})
    resp = post_form(client, "/children/new", REGISTRATION)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    [sent] = plans.sent("POST", "/v1/children")
    assert (sent["json"]["gender"], sent["json"]["ethnicity"], sent["json"]["disabilities"]) == (
        "2",
        "MWAS",
        ["HEAR", "AUT"],
    )
    plans.routes[("POST", "/v1/children")] = (201, {**CHILD, "id": "child-10"})
    post_form(client, "/children/new", {**REGISTRATION, "disabilities": []})
    assert "disabilities" not in plans.sent("POST", "/v1/children")[-1]["json"]  # none ticked: not recorded


def test_an_answer_not_in_the_lists_is_refused_on_its_field_before_sending(client, plans):  # noqa: F811
    resp = post_form(client, "/children/new", {**REGISTRATION, "gender": "girl", "ethnicity": "", "disabilities": []})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    links = summary_links(html)
    assert links["#ethnicity"] == "Select the child&#39;s ethnicity"
    assert "#gender" in links
    assert not plans.sent("POST", "/v1/children")


def test_the_services_422_on_the_disabilities_goes_on_that_field(client, plans):  # noqa: F811
    message = "NONE (No disability) is given alone, not with a disability."
    plans.routes[("POST", "/v1/children")] = (
        422,
        {"code": 422, "message": "invalid", "errors": {"json": {"disabilities": [message]}}},
    )
    resp = post_form(client, "/children/new", {**REGISTRATION, "disabilities": ["NONE", "HEAR"]})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert summary_links(html) == {"#disabilities": message}
    assert re.search(r'id="disabilities-error"[^>]*>.*?NONE \(No disability\) is given alone', html, re.S)
    assert re.search(r'value="NONE" checked', html) and re.search(r'value="HEAR" checked', html)  # kept


def test_the_childs_page_shows_the_labels_and_what_is_left_to_code(client, plans):  # noqa: F811
    html = client.get("/children/child-1").get_data(as_text=True)
    assert "Female" in html and "White British" in html and "Hearing, Vision" in html
    assert 'href="/children/child-1/details"' in html
    plans.routes[("GET", "/v1/children/child-1")] = (
        200,
        {**CHILD, "gender_label": None, "gender": None, "uncoded": {"gender": "prefers not to say"}},
        {"ETag": '"2"'},
    )
    html = client.get("/children/child-1").get_data(as_text=True)
    assert "To code: “prefers not to say”" in html and "(their gender still to code)" in html


def test_changing_the_details_sends_the_codes_with_the_version_read(client, plans):  # noqa: F811
    page = client.get("/children/child-1/details").get_data(as_text=True)
    assert re.search(r'type="radio" value="2" checked', page)
    assert re.search(r'<option value="WBRI" selected', page)
    assert re.search(r'value="HEAR" checked', page) and re.search(r'value="VIS" checked', page)
    plans.routes[("PATCH", "/v1/children/child-1")] = (200, {**CHILD, "version": 2}, {"ETag": '"2"'})
    resp = post_form(
        client,
        "/children/child-1/details",
        {"gender": "9", "ethnicity": "REFU", "disabilities": ["NONE"], "first_language": "Welsh",
         "interpreter_needed": "yes"},
    )  # fmt: skip
    assert resp.status_code == 302 and resp.headers["Location"] == "/children/child-1"
    [sent] = plans.sent("PATCH", "/v1/children/child-1")
    assert sent["headers"]["If-Match"] == '"1"'
    assert sent["json"] == {
        "gender": "9",
        "ethnicity": "REFU",
        "disabilities": ["NONE"],
        "first_language": "Welsh",
        "interpreter_needed": True,
    }


def test_a_422_on_a_change_is_shown_on_the_field_and_a_412_says_someone_changed_it(client, plans):  # noqa: F811
    plans.routes[("PATCH", "/v1/children/child-1")] = (
        422,
        {
            "code": 422,
            "message": "invalid",
            "errors": {"json": {"ethnicity": ["Not an ethnicity code of the census."]}},
        },
    )
    answers = {"gender": "2", "ethnicity": "WBRI", "first_language": "English", "interpreter_needed": "no"}
    resp = post_form(client, "/children/child-1/details", answers)
    assert resp.status_code == 400
    assert summary_links(resp.get_data(as_text=True)) == {"#ethnicity": "Not an ethnicity code of the census."}
    plans.routes[("PATCH", "/v1/children/child-1")] = (412, {"code": 412, "message": "changed"})
    resp = post_form(client, "/children/child-1/details", answers)
    assert resp.status_code == 412 and "Someone changed this child" in resp.get_data(as_text=True)


def test_the_edit_form_shows_the_text_left_to_code(client, plans):  # noqa: F811
    plans.routes[("GET", "/v1/children/child-1")] = (
        200,
        {**CHILD, "ethnicity": None, "uncoded": {"ethnicity": "White Polish"}},
        {"ETag": '"2"'},
    )
    html = client.get("/children/child-1/details").get_data(as_text=True)
    assert "Ethnicity: “White Polish”" in html
    assert re.search(r'<option value="" selected', html)


def test_team_managers_and_admins_list_the_children_to_code(client, plans):  # noqa: F811
    left = {**CHILD, "id": "child-7", "gender": None, "uncoded": {"gender": "x", "disabilities": "Deaf in one ear"}}
    plans.routes[("GET", "/v1/children")] = (200, {"items": [left], "total": 1})
    refused = client.get("/children/to-code")  # a social worker: not theirs to list
    assert refused.status_code == 302 and refused.headers["Location"] != "/children/to-code"
    assert not plans.sent("GET", "/v1/children")
    sign_in(client, "demo-tm-1")
    plans.routes[("GET", "/v1/staff/me")] = (200, {"user": "demo-tm-1", "name": "Priya Shah"})
    team = client.get("/team").get_data(as_text=True)
    assert 'href="/children/to-code"' in team
    html = client.get("/children/to-code").get_data(as_text=True)
    assert "1 child to code" in html and 'href="/children/child-7/details"' in html
    assert "Disabilities: “Deaf in one ear”" in html and "Gender: “x”" in html
    assert plans.sent("GET", "/v1/children")[-1]["query"]["uncoded"] == ["true"]
    sign_in(client, "demo-admin-1")
    html = client.get("/children/to-code").get_data(as_text=True)
    assert 'href="/children/child-7"' in html and "/children/child-7/details" not in html  # admins do not edit
    assert re.search(r'href="/children/to-code"[^>]*>\s*(<strong[^>]*>)?\s*Children to code', html)  # admin menu
    plans.routes[("GET", "/v1/children")] = (200, {"items": [], "total": 0})
    assert "Every child" in client.get("/children/to-code").get_data(as_text=True)
