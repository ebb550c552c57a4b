"""Finding a child and a case's lifecycle steps, with Flask's test client and
the services played on loopback: each form's request to the plans service,
its Idempotency-Key and If-Match, a 422's field errors on the form's fields
and in the error summary, a 409's reason, a 412's page."""

from __future__ import annotations

import html as htmllib
import re

import pytest

from cpp_shared.auth import load_dev_key
from cpp_shared.config import Settings
from cpp_web.app import create_app
from tests.web.test_web_app import csrf_of, sign_in

CHILD = {
    "id": "child-1",
    "given_names": "Rosa",
    "family_name": "Fictional",
    "date_of_birth": "2019-03-27",
    "gender": "2",
    "gender_label": "Female",
    "ethnicity": "WBRI",
    "ethnicity_label": "White British",
    "disabilities": ["HEAR", "VIS"],
    "disability_labels": ["Hearing", "Vision"],
    "first_language": "English",
    "interpreter_needed": False,
    "address": {"lines": ["1 Made Up Road", "Bromley"], "postcode": "BR1 1AA"},
    "identifiers": [{"scheme": "nhs_number", "value": "4857773456"}],
    "people_with_parental_responsibility": [{"name": "Ana Fictional", "relationship": "mother"}],
}
CASE = {
    "id": "case-1",
    "child_id": "child-1",
    "status": "enquiries",
    "opened_at": "2026-01-05T10:00:00+00:00",
    "strategy_discussions": [],
    "enquiry_outcome": None,
    "conferences": [],
    "plan_id": None,
    "social_worker": {"user": "demo-sw-1", "name": "Sam Okafor"},
    "team_manager": None,
    "team": "Area North",
}
CONFERENCE = {
    "id": "conf-1",
    "case_id": "case-1",
    "child_id": "child-1",
    "kind": "initial",
    "status": "scheduled",
    "scheduled_for": "2026-02-10",
    "chair": {"user": "demo-chair-1", "name": "Morgan Ellis"},
    "reschedules": [],
    "version": 2,
}


ENGLAND_CATEGORIES = [
    {"id": "physical_abuse", "name": "Physical abuse", "census_code": "PHY"},
    {"id": "sexual_abuse", "name": "Sexual abuse", "census_code": "SAB"},
    {"id": "emotional_abuse", "name": "Emotional abuse", "census_code": "EMO"},
    {"id": "neglect", "name": "Neglect", "census_code": "NEG"},
]


@pytest.fixture
def plans(fakes):
    plans = fakes["plans"]
    plans.fakes = fakes
    plans.routes.update(
        {
            ("GET", "/v1/children/child-1"): (200, CHILD, {"ETag": '"1"'}),
            ("GET", "/v1/cases/case-1"): (200, CASE),
            ("GET", "/v1/cases"): (200, {"items": [], "total": 0}),
            ("GET", "/v1/conferences/conf-1"): (200, CONFERENCE, {"ETag": '"2"'}),
            ("GET", "/v1/staff"): (200, {"items": [{"user": "demo-chair-1", "name": "Morgan Ellis", "role": "chair"}]}),
            ("GET", "/v1/categories"): (200, {"items": ENGLAND_CATEGORIES}),
        }
    )
    fakes["scheduler"].routes[("GET", "/v1/deadlines")] = (200, {"items": []})
    return plans


@pytest.fixture
def client(tmp_path, plans):
    env = {"CPP_MODE": "development", "CPP_DATA_DIR": str(tmp_path), "CPP_LOG_FORMAT": "console"}
    env.update({f"CPP_WEB_{name.upper()}_URL": fake.url for name, fake in plans.fakes.items()})
    settings = Settings.from_env("web", env)
    load_dev_key(settings.dev_signing_key_file, create=True)
    app = create_app(settings)
    app.config["TESTING"] = True
    client = app.test_client()
    sign_in(client)
    return client


def post_form(client, path: str, data: dict):
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    fields = {"csrf_token": csrf_of(html)}
    for name in ("key", "etag"):
        found = re.search(rf'name="{name}" type="hidden" value="([^"]*)"', html)
        if found:
            fields[name] = htmllib.unescape(found.group(1))
    return client.post(path, data={**fields, **data})


def summary_links(html: str) -> dict[str, str]:
    block = re.search(r'govuk-error-summary__list">(.*?)</ul>', html, re.S).group(1)
    return {
        href: re.sub(r"\s+", " ", text).strip()
        for href, text in re.findall(r'<a href="([^"]+)">(.*?)</a>', block, re.S)
    }


# --- find and register a child ---


def test_find_a_child_by_full_name_and_date_of_birth(client, plans):
    other = {**CHILD, "id": "child-2", "given_names": "Tom", "date_of_birth": "2018-01-01"}
    plans.routes[("GET", "/v1/children")] = (200, {"items": [CHILD, other], "total": 2})
    resp = client.get("/children?name=Rosa+Fictional&date_of_birth=27&date_of_birth=3&date_of_birth=2019&nhs_number=")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200, html
    assert "1 child found" in html and 'href="/children/child-1"' in html and "child-2" not in html
    assert "27 March 2019" in html
    searched = [r["query"].get("family_name") for r in plans.sent("GET", "/v1/children")]
    assert ["Rosa Fictional"] in searched and ["Fictional"] in searched  # the whole name, then the family name
    assert resp.headers["Cache-Control"] == "no-store"


def test_find_children_by_date_of_birth_alone(client, plans):
    plans.routes[("GET", "/v1/children")] = (200, {"items": [CHILD], "total": 1})
    resp = client.get("/children?name=&date_of_birth=27&date_of_birth=3&date_of_birth=2019&nhs_number=")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "1 child found" in html and 'href="/children/child-1"' in html
    [sent] = plans.sent("GET", "/v1/children")
    assert sent["query"]["date_of_birth"] == ["2019-03-27"] and "family_name" not in sent["query"]


def test_a_date_that_is_not_real_is_not_searched(client, plans):
    resp = client.get("/children?name=&date_of_birth=30&date_of_birth=2&date_of_birth=2019&nhs_number=")
    assert resp.status_code == 400 and 'href="#date_of_birth' in resp.get_data(as_text=True)
    assert not plans.sent("GET", "/v1/children")


def test_an_nhs_number_the_service_refuses_is_shown_on_its_field(client, plans):
    plans.routes[("GET", "/v1/children")] = (
        422,
        {"code": 422, "message": "invalid", "errors": {"query": {"nhs_number": ["not a valid NHS number"]}}},
    )
    html = client.get("/children?nhs_number=123").get_data(as_text=True)
    assert summary_links(html) == {"#nhs_number": "Not a valid NHS number"}
    assert "govuk-input--error" in html


def test_register_a_child_sends_the_form_with_its_key(client, plans):
    plans.routes[("POST", "/v1/children")] = (201, {**CHILD, "id": "child-9"})
    resp = post_form(
        client,
        "/children/new",
        {
            "given_names": "Rosa",
            "family_name": "Fictional",
            "date_of_birth": ["27", "3", "2019"],
            "nhs_number": "485 777 3456",
            "gender": "2",
            "ethnicity": "WBRI",
            "first_language": "English",
            "interpreter_needed": "no",
            "address_line_1": "1 Made Up Road",
            "address_town": "Bromley",
            "postcode": "br1 1aa",
        },
    )
    assert resp.status_code == 302 and resp.headers["Location"] == "/children/child-9"
    [sent] = plans.sent("POST", "/v1/children")
    assert sent["json"] == {
        "given_names": "Rosa",
        "family_name": "Fictional",
        "date_of_birth": "2019-03-27",
        "gender": "2",
        "ethnicity": "WBRI",
        "first_language": "English",
        "interpreter_needed": False,
        "address": {"lines": ["1 Made Up Road", "Bromley"], "postcode": "br1 1aa"},
        "identifiers": [{"scheme": "nhs_number", "value": "485 777 3456"}],
    }
    assert len(sent["headers"]["Idempotency-Key"]) == 32


def test_register_a_child_missing_answers_and_a_date_that_is_not_real(client, plans):
    resp = post_form(client, "/children/new", {"given_names": "Rosa", "date_of_birth": ["31", "2", "2019"]})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "<title>Error: Register a child" in html
    links = summary_links(html)
    assert links["#family_name"] == "Enter the child&#39;s family name"
    assert links["#date_of_birth-day"] == "Date of birth must be a real date"
    assert links["#interpreter_needed"].startswith("Select yes")
    assert list(links)[:2] == ["#family_name", "#date_of_birth-day"]  # the form's order
    assert not plans.sent("POST", "/v1/children")


def test_register_a_child_the_services_field_errors_go_on_the_fields(client, plans):
    plans.routes[("POST", "/v1/children")] = (
        422,
        {
            "code": 422,
            "message": "invalid",
            "errors": {
                "json": {
                    "identifiers": {"0": {"value": ["not a valid NHS number: the check digit is wrong"]}},
                    "address": {"postcode": ["Not a valid UK postcode (for example SE1 7PB)."]},
                    "date_of_birth": ["Must not be in the future."],
                    "something_else": ["Unknown field."],
                }
            },
        },
    )
    resp = post_form(
        client,
        "/children/new",
        {
            "given_names": "Rosa",
            "family_name": "Fictional",
            "date_of_birth": ["27", "3", "2030"],
            "nhs_number": "1234567890",
            "gender": "2",
            "ethnicity": "WBRI",
            "first_language": "English",
            "interpreter_needed": "no",
            "address_line_1": "1 Made Up Road",
            "postcode": "nowhere",
        },
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    links = summary_links(html)
    assert links["#nhs_number"] == "Not a valid NHS number: the check digit is wrong"
    assert links["#postcode"].startswith("Not a valid UK postcode")
    assert links["#date_of_birth-day"] == "Must not be in the future."
    assert "Unknown field." in html  # no field of the form: in the summary without a link
    assert 'value="nowhere"' in html  # the answers are kept


def test_an_nhs_number_already_registered_links_to_that_child(client, plans):
    plans.routes[("POST", "/v1/children")] = (
        409,
        {
            "code": 409,
            "message": "a child with this NHS number is already registered: child-1",
            "errors": {"existing_child_id": "child-1"},
        },
    )
    resp = post_form(
        client,
        "/children/new",
        {
            "given_names": "Rosa",
            "family_name": "Fictional",
            "date_of_birth": ["27", "3", "2019"],
            "nhs_number": "4857773456",
            "gender": "2",
            "ethnicity": "WBRI",
            "first_language": "English",
            "interpreter_needed": "no",
            "address_line_1": "1 Made Up Road",
        },
    )
    html = resp.get_data(as_text=True)
    assert summary_links(html) == {"#nhs_number": "A child with this NHS number is already registered"}
    assert 'href="/children/child-1"' in html and "registered: child-1" not in html  # no id in the words


# --- the child's record ---


def test_the_childs_record_shows_details_identifiers_people_and_cases(client, plans):
    plans.routes[("GET", "/v1/cases")] = (200, {"items": [{**CASE, "key_worker": None}], "total": 1})
    resp = client.get("/children/child-1")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200, html
    assert '<h1 class="govuk-heading-l">Rosa Fictional</h1>' in html and "27 March 2019" in html
    assert "NHS number" in html and "4857773456" in html and "Ana Fictional" in html and "mother" in html
    assert 'href="/cases/case-1"' in html and "Opened 5 January 2026" in html and "Section 47 enquiries" in html
    assert plans.sent("GET", "/v1/cases")[-1]["query"]["child_id"] == ["child-1"]
    assert "child-1" not in re.sub(r'(href|action)="[^"]*"', "", html)  # ids only in addresses
    assert "Rosa Fictional is not subject to a child protection plan now." in html


def test_the_childs_record_shows_the_plan_in_force(client, plans):
    plans.routes[("GET", "/v1/cases")] = (
        200,
        {
            "items": [
                {**CASE, "id": "case-0", "status": "plan_ended", "plan_id": "plan-0"},
                {**CASE, "status": "on_plan", "plan_id": "plan-1"},
            ],
            "total": 2,
        },
    )
    plans.routes[("GET", "/v1/plans/plan-1")] = (
        200,
        {
            "id": "plan-1",
            "status": "active",
            "plan_version": 3,
            "created_on": "2026-02-10",
            "content": {
                "key_worker": {"user": "demo-sw-1", "name": "Sam Okafor"},
                "categories": ["neglect", "emotional_abuse"],
                "review_arrangements": {"next_review_date": "2026-05-10"},
            },
        },
    )
    html = client.get("/children/child-1").get_data(as_text=True)
    plan = html[html.index('id="plan"') : html.index('id="cases"')]
    assert 'href="/plans/plan-1"' in plan and "Version 3: Active" in plan and "10 February 2026" in plan
    assert "Sam Okafor" in plan and "Neglect, Emotional abuse" in plan and "10 May 2026" in plan
    assert not plans.sent("GET", "/v1/plans/plan-0")  # an ended plan is not in force


def test_open_a_case(client, plans):
    plans.routes[("POST", "/v1/cases")] = (201, {**CASE, "id": "case-7"})
    html = client.get("/children/child-1").get_data(as_text=True)
    key = re.search(r'name="key" type="hidden" value="([^"]*)"', html).group(1)
    resp = client.post("/children/child-1/cases", data={"csrf_token": csrf_of(html), "key": key})
    assert resp.status_code == 302 and resp.headers["Location"] == "/cases/case-7"
    [sent] = plans.sent("POST", "/v1/cases")
    assert sent["json"] == {"child_id": "child-1"} and sent["headers"]["Idempotency-Key"] == key


# --- the case's steps ---


def test_the_task_list_links_each_step_the_stage_allows(client, plans):
    html = client.get("/cases/case-1").get_data(as_text=True)
    assert 'href="/cases/case-1/strategy-discussion"' in html and "/enquiry-outcome" not in html
    plans.routes[("GET", "/v1/cases/case-1")] = (
        200,
        {
            **CASE,
            "status": "conference_pending",
            "strategy_discussions": [{"held_on": "2026-01-06"}],
            "enquiry_outcome": {"conference_required": True},
        },
    )
    html = client.get("/cases/case-1").get_data(as_text=True)
    assert 'href="/cases/case-1/conferences/new?kind=initial"' in html and "/strategy-discussion" not in html


def test_a_strategy_discussion_is_recorded(client, plans):
    plans.routes[("POST", "/v1/cases/case-1/strategy-discussions")] = (201, {"id": "sd-1"})
    resp = post_form(
        client,
        "/cases/case-1/strategy-discussion",
        {"held_on": ["6", "1", "2026"], "initiated_enquiries": "yes", "notes": "Police and health present."},
    )
    assert resp.status_code == 302 and resp.headers["Location"] == "/cases/case-1"
    [sent] = plans.sent("POST", "/v1/cases/case-1/strategy-discussions")
    assert sent["json"] == {"held_on": "2026-01-06", "initiated_enquiries": True, "notes": "Police and health present."}
    assert sent["headers"]["Idempotency-Key"]
    assert "The strategy discussion is recorded" in client.get("/cases/case-1").get_data(as_text=True)


def test_a_step_the_stage_does_not_allow_shows_the_services_reason(client, plans):
    plans.routes[("POST", "/v1/cases/case-1/enquiry-outcome")] = (
        409,
        {"code": 409, "message": "record the strategy discussion that started the enquiries first"},
    )
    resp = post_form(
        client, "/cases/case-1/enquiry-outcome", {"completed_on": ["20", "1", "2026"], "conference_required": "yes"}
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409
    assert "Record the strategy discussion that started the enquiries first." in html
    assert "govuk-error-summary" in html and "Rosa Fictional" in html


def test_a_422_on_a_step_links_to_the_date(client, plans):
    plans.routes[("POST", "/v1/cases/case-1/enquiry-outcome")] = (
        422,
        {
            "code": 422,
            "message": "invalid",
            "errors": {"json": {"completed_on": ["is before the strategy discussion of 2026-01-06"]}},
        },
    )
    html = post_form(
        client, "/cases/case-1/enquiry-outcome", {"completed_on": ["2", "1", "2026"], "conference_required": "no"}
    ).get_data(as_text=True)
    assert summary_links(html) == {"#completed_on-day": "Is before the strategy discussion of 2026-01-06"}


def test_schedule_a_conference_with_a_chair_from_the_directory(client, plans):
    plans.routes[("POST", "/v1/cases/case-1/conferences")] = (201, CONFERENCE)
    page = client.get("/cases/case-1/conferences/new?kind=initial").get_data(as_text=True)
    assert "Morgan Ellis" in page and plans.sent("GET", "/v1/staff")[-1]["query"]["role"] == ["chair"]
    resp = post_form(
        client,
        "/cases/case-1/conferences/new",
        {"kind": "initial", "scheduled_for": ["10", "2", "2026"], "chair": "demo-chair-1"},
    )
    assert resp.status_code == 302
    [sent] = plans.sent("POST", "/v1/cases/case-1/conferences")
    assert sent["json"] == {"kind": "initial", "scheduled_for": "2026-02-10", "chair": "demo-chair-1"}
    bad = post_form(
        client,
        "/cases/case-1/conferences/new",
        {"kind": "initial", "scheduled_for": ["10", "2", "2026"], "chair": "someone-else"},
    )
    assert bad.status_code == 400 and "#chair" in summary_links(bad.get_data(as_text=True))


UNBORN = {**CHILD, "date_of_birth": None, "expected_date_of_birth": "2026-06-01"}
UNFIT = "The mother is expected to be unfit to attend a conference in the days after the birth"


def bromley_client(tmp_path, plans):
    env = {"CPP_MODE": "development", "CPP_DATA_DIR": str(tmp_path), "CPP_PLUGINS": "england,bromley"}
    env.update({f"CPP_WEB_{name.upper()}_URL": fake.url for name, fake in plans.fakes.items()})
    settings = Settings.from_env("web", env)
    load_dev_key(settings.dev_signing_key_file, create=True)
    app = create_app(settings)
    app.config["TESTING"] = True
    client = app.test_client()
    sign_in(client)
    return client


def test_a_pre_birth_conference_in_bromley_records_the_mother_unfit_to_attend(tmp_path, plans):
    plans.routes[("GET", "/v1/children/child-1")] = (200, UNBORN, {"ETag": '"1"'})
    plans.routes[("POST", "/v1/cases/case-1/conferences")] = (201, CONFERENCE)
    client = bromley_client(tmp_path, plans)
    page = client.get("/cases/case-1/conferences/new?kind=initial").get_data(as_text=True)
    assert UNFIT in page and 'name="mother_unfit_to_attend"' in page
    fields = {"kind": "initial", "scheduled_for": ["10", "2", "2026"], "chair": "demo-chair-1"}
    assert (
        post_form(client, "/cases/case-1/conferences/new", {**fields, "mother_unfit_to_attend": "y"}).status_code == 302
    )
    assert post_form(client, "/cases/case-1/conferences/new", fields).status_code == 302
    sent = [r["json"] for r in plans.sent("POST", "/v1/cases/case-1/conferences")]
    assert sent == [
        {"kind": "initial", "scheduled_for": "2026-02-10", "chair": "demo-chair-1", "mother_unfit_to_attend": True},
        {"kind": "initial", "scheduled_for": "2026-02-10", "chair": "demo-chair-1"},
    ]
    plans.routes[("GET", "/v1/conferences/conf-1")] = (
        200,
        {**CONFERENCE, "pre_birth": True, "mother_unfit_to_attend": True},
    )
    assert UNFIT in client.get("/conferences/conf-1").get_data(as_text=True)


def test_the_mother_unfit_to_attend_is_asked_only_about_an_unborn_child_where_a_rule_reads_it(tmp_path, client, plans):
    assert UNFIT not in client.get("/cases/case-1/conferences/new?kind=initial").get_data(as_text=True)  # born
    plans.routes[("GET", "/v1/children/child-1")] = (200, UNBORN, {"ETag": '"1"'})
    assert UNFIT not in client.get("/cases/case-1/conferences/new?kind=initial").get_data(as_text=True)  # england
    plans.routes[("POST", "/v1/cases/case-1/conferences")] = (201, CONFERENCE)
    fields = {"kind": "initial", "scheduled_for": ["10", "2", "2026"], "chair": "", "mother_unfit_to_attend": "y"}
    assert post_form(client, "/cases/case-1/conferences/new", fields).status_code == 302
    assert "mother_unfit_to_attend" not in plans.sent("POST", "/v1/cases/case-1/conferences")[-1]["json"]


def test_move_a_conference_sends_the_etag_read_when_the_form_was_opened(client, plans):
    plans.routes[("PATCH", "/v1/conferences/conf-1")] = (200, CONFERENCE, {"ETag": '"3"'})
    resp = post_form(
        client, "/conferences/conf-1/move", {"scheduled_for": ["12", "2", "2026"], "reason": "The chair is ill."}
    )
    assert resp.status_code == 302 and resp.headers["Location"] == "/conferences/conf-1"
    [sent] = plans.sent("PATCH", "/v1/conferences/conf-1")
    assert sent["headers"]["If-Match"] == '"2"'
    assert sent["json"] == {"scheduled_for": "2026-02-12", "reason": "The chair is ill."}


def test_a_conference_moved_meanwhile_gives_the_changed_page(client, plans):
    plans.routes[("PATCH", "/v1/conferences/conf-1")] = (412, {"code": 412, "message": "changed"})
    resp = post_form(client, "/conferences/conf-1/move", {"scheduled_for": ["12", "2", "2026"], "reason": "Ill."})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 412 and "Someone changed this conference since you opened it" in html
    assert 'href="/conferences/conf-1/move"' in html


def test_cancel_a_conference_needs_the_reason(client, plans):
    plans.routes[("POST", "/v1/conferences/conf-1/cancellation")] = (200, {"conference": CONFERENCE, "case": CASE})
    bad = post_form(client, "/conferences/conf-1/cancel", {"reason": ""})
    assert bad.status_code == 400 and "#reason" in summary_links(bad.get_data(as_text=True))
    resp = post_form(client, "/conferences/conf-1/cancel", {"reason": "The family moved away."})
    assert resp.status_code == 302 and resp.headers["Location"] == "/cases/case-1"
    assert plans.sent("POST", "/v1/conferences/conf-1/cancellation")[-1]["json"] == {"reason": "The family moved away."}


@pytest.fixture
def chair(client, plans):
    client.get("/sign-out")
    sign_in(client, "demo-chair-1")
    plans.routes[("GET", "/v1/staff")] = (
        200,
        {"items": [{"user": "demo-sw-1", "name": "Sam Okafor", "role": "social_worker"}]},
    )
    return client


def test_each_group_of_inputs_has_its_legend(chair, plans):
    html = chair.get("/conferences/conf-1/outcome").get_data(as_text=True)
    legends = [re.sub(r"\s+", " ", t).strip() for t in re.findall(r"<legend[^>]*>(.*?)</legend>", html, re.S)]
    for question in (
        "When was the conference held?",
        "Does the child need a child protection plan?",
        "Categories of harm",
        "Core group member 1",
        "Date of the first core group meeting",
    ):
        assert any(question in legend for legend in legends), (question, legends)


def test_record_an_initial_conference_with_the_outline_plan(chair, plans):
    plans.routes[("POST", "/v1/conferences/conf-1/outcome")] = (200, {"plan": {"id": "plan-1"}})
    resp = post_form(
        chair,
        "/conferences/conf-1/outcome",
        {
            "held_on": ["10", "2", "2026"],
            "plan_required": "yes",
            "key_worker": "demo-sw-1",
            "categories": ["neglect", "emotional_abuse"],
            "core_group-0-name": "Sam Okafor",
            "core_group-0-role": "social worker",
            "core_group-0-agency": "Council",
            "core_group-0-email": "sam.okafor@council.example",
            "core_group-1-name": "Ana Fictional",
            "core_group-1-role": "mother",
            "core_group-1-is_family_member": "y",
            "first_core_group_on": ["20", "2", "2026"],
            "concerns": "Neglect of basic care.",
            "attendees-0-name": "Dr Hana Example",
            "attendees-0-role": "GP",
            "attendees-0-agency": "Health",
            "attendees-1-name": "Ana Fictional",
            "attendees-1-role": "mother",
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    [sent] = plans.sent("POST", "/v1/conferences/conf-1/outcome")
    assert sent["json"] == {
        "held_on": "2026-02-10",
        "plan_required": True,
        "attendees": [
            {"name": "Dr Hana Example", "role": "GP", "agency": "Health"},
            {"name": "Ana Fictional", "role": "mother"},
        ],
        "outline_plan": {
            "key_worker": {"user": "demo-sw-1"},
            "categories": ["neglect", "emotional_abuse"],
            "core_group": [
                {
                    "name": "Sam Okafor",
                    "role": "social worker",
                    "agency": "Council",
                    "email": "sam.okafor@council.example",
                    "is_family_member": False,
                },
                {"name": "Ana Fictional", "role": "mother", "is_family_member": True},
            ],
            "first_core_group_on": "2026-02-20",
            "concerns": "Neglect of basic care.",
        },
    }
    assert sent["headers"]["Idempotency-Key"]


def test_the_outline_plan_offers_the_deployments_categories_by_name(chair, plans):
    plans.routes[("GET", "/v1/categories")] = (
        200,
        {
            "items": [
                {"id": "domestic_abuse", "name": "Domestic abuse", "census_code": None},
                {"id": "child_sexual_abuse", "name": "Child sexual abuse", "census_code": None},
            ]
        },
    )
    html = chair.get("/conferences/conf-1/outcome").get_data(as_text=True)
    boxes = dict(
        re.findall(r'name="categories"[^>]*value="([a-z_]+)"[^>]*>\s*<label[^>]*>\s*([^<]+?)\s*</label>', html)
    )
    assert boxes == {"domestic_abuse": "Domestic abuse", "child_sexual_abuse": "Child sexual abuse"}
    assert "Physical abuse" not in html
    plans.routes[("POST", "/v1/conferences/conf-1/outcome")] = (200, {"plan": {"id": "plan-1"}})
    post_form(
        chair,
        "/conferences/conf-1/outcome",
        {"held_on": ["10", "2", "2026"], "plan_required": "yes", "categories": ["domestic_abuse", "neglect"]},
    )
    # A category the deployment does not offer is not sent.
    assert plans.sent("POST", "/v1/conferences/conf-1/outcome") == []


def test_the_outline_plans_errors_go_on_its_rows(chair, plans):
    plans.routes[("POST", "/v1/conferences/conf-1/outcome")] = (
        422,
        {
            "code": 422,
            "message": "invalid",
            "errors": {
                "json": {
                    "outline_plan": {
                        "core_group": {"0": {"agency": ["A professional member's agency is required."]}},
                        "categories": ["Shorter than minimum length 1."],
                    }
                }
            },
        },
    )
    html = post_form(
        chair,
        "/conferences/conf-1/outcome",
        {
            "held_on": ["10", "2", "2026"],
            "plan_required": "yes",
            "key_worker": "demo-sw-1",
            "core_group-0-name": "Jo Nurse",
            "core_group-0-role": "health visitor",
        },
    ).get_data(as_text=True)
    links = summary_links(html)
    assert links["#core_group-0-agency"] == "A professional member&#39;s agency is required."
    assert links["#categories"] == "Shorter than minimum length 1."


def test_a_social_worker_cannot_open_the_outcome_form(client, plans):
    resp = client.get("/conferences/conf-1/outcome")
    assert resp.status_code == 302 and not plans.sent("GET", "/v1/conferences/conf-1")


# --- a visit before any plan ---


def test_a_case_before_a_plan_offers_a_visit_and_sends_it_with_its_answers(client, plans):
    page = client.get("/cases/case-1").get_data(as_text=True)
    assert 'href="/cases/case-1/visits/new"' in page and "Record a visit" in page
    missing = post_form(client, "/cases/case-1/visits/new", {"by": ""})
    html = missing.get_data(as_text=True)
    assert missing.status_code == 400 and "Enter the date of the visit" in html and "Enter who visited" in html
    assert not plans.sent("POST", "/v1/cases/case-1/visits")
    plans.routes[("POST", "/v1/cases/case-1/visits")] = (201, {"id": "v-1"})
    answers = {"visited_on": ["6", "1", "2026"], "announced": "no", "child_seen": "yes", "seen_alone": "no"}
    resp = post_form(client, "/cases/case-1/visits/new", {**answers, "by": "Sam Okafor"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/cases/case-1"
    [sent] = plans.sent("POST", "/v1/cases/case-1/visits")
    assert sent["json"] == {
        "visited_on": "2026-01-06",
        "announced": False,
        "child_seen": True,
        "seen_alone": False,
        "by": "Sam Okafor",
        "notes": None,
    }
    assert sent["headers"]["Idempotency-Key"]
    assert "The visit is recorded" in client.get("/cases/case-1").get_data(as_text=True)


def test_a_visit_the_service_refuses_shows_its_field_error_and_a_case_on_a_plan_offers_none(client, plans):
    plans.routes[("POST", "/v1/cases/case-1/visits")] = (
        422,
        {"code": 422, "errors": {"json": {"visited_on": ["is before the case began on 2026-01-05 (it was opened)"]}}},
    )
    answers = {
        "visited_on": ["4", "1", "2026"],
        "announced": "no",
        "child_seen": "yes",
        "seen_alone": "no",
        "by": "Sam",
    }
    resp = post_form(client, "/cases/case-1/visits/new", answers)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert summary_links(html) == {"#visited_on-day": "Is before the case began on 2026-01-05 (it was opened)"}
    plans.routes[("GET", "/v1/cases/case-1")] = (200, {**CASE, "status": "on_plan", "plan_id": "plan-1"})
    plans.routes[("GET", "/v1/plans/plan-1")] = (200, {"id": "plan-1", "key_worker": "Sam Okafor", "status": "active"})
    assert "/cases/case-1/visits/new" not in client.get("/cases/case-1").get_data(as_text=True)


def test_the_outline_plan_states_the_plans_rhythm_and_a_limit_refused_shows_on_its_question(chair, plans):
    plans.routes[("POST", "/v1/conferences/conf-1/outcome")] = (200, {"plan": {"id": "plan-1"}})
    answers = {
        "held_on": ["10", "2", "2026"],
        "plan_required": "yes",
        "key_worker": "demo-sw-1",
        "visits_every": "10",
        "visits_unit": "working_days",
        "seen_alone_every": "2",
        "core_group_unit": "weeks",
    }
    assert post_form(chair, "/conferences/conf-1/outcome", answers).status_code == 302
    [sent] = plans.sent("POST", "/v1/conferences/conf-1/outcome")
    # The core group's frequency left blank: the council's usual one.
    assert sent["json"]["outline_plan"]["rhythm"] == {
        "visits": {"every": 10, "unit": "working_days"},
        "seen_alone": {"every": 2, "unit": "visits"},
    }
    limit = "Every 3 weeks is looser than the limit, every 10 working days (source: Liverpool CS (V2))."
    plans.routes[("POST", "/v1/conferences/conf-1/outcome")] = (
        422,
        {"code": 422, "errors": {"json": {"outline_plan": {"rhythm": {"visits": [limit]}}}}},
    )
    html = post_form(
        chair, "/conferences/conf-1/outcome", {**answers, "visits_every": "3", "visits_unit": "weeks"}
    ).get_data(as_text=True)
    assert summary_links(html)["#visits_every"] == limit
    assert "Visits and core group meetings" in html
