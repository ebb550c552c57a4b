"""The deployment's own words: each page names enquiries, conferences, the
plan and the core group as the plugins in CPP_PLUGINS call them."""

from __future__ import annotations

import re

import pytest

from cpp_shared.auth import load_dev_key
from cpp_web.app import create_app
from tests.web.test_lifecycle import CASE, CONFERENCE, plans  # noqa: F401 (fixture)
from tests.web.test_web_app import csrf_of, make_settings, sign_in


def client_for(tmp_path, plans, plugins: str):  # noqa: F811
    settings = make_settings(tmp_path / plugins, plans.fakes, CPP_PLUGINS=plugins)
    load_dev_key(settings.dev_signing_key_file, create=True)
    app = create_app(settings)
    app.config["TESTING"] = True
    client = app.test_client()
    sign_in(client)
    return client


PENDING = {
    **CASE,
    "status": "conference_pending",
    "strategy_discussions": [{"held_on": "2026-01-06"}],
    "enquiry_outcome": {"conference_required": True},
}


@pytest.mark.parametrize(
    "plugins, enquiries, conference",
    [
        ("england,bromley", "section 47 enquiries", "initial child protection conference"),
        ("guernsey", "section 35 enquiries", "initial child protection conference"),
        ("scotland", "child protection investigation", "initial child protection planning meeting"),
        ("northern_ireland", "child protection investigation", "initial child protection case conference"),
    ],
)
def test_the_forms_and_the_task_list_speak_the_deployments_words(
    tmp_path,
    plans,
    plugins,
    enquiries,  # noqa: F811
    conference,
):
    client = client_for(tmp_path, plans, plugins)
    form = client.get("/cases/case-1/strategy-discussion").get_data(as_text=True)
    assert f"Did this discussion start the {enquiries}?" in form
    form = client.get("/cases/case-1/enquiry-outcome").get_data(as_text=True)
    assert f"When were the {enquiries} completed?" in form and f"Is an {conference} needed?" in form
    plans.routes[("GET", "/v1/cases/case-1")] = (200, PENDING)
    case = client.get("/cases/case-1").get_data(as_text=True)
    assert f"Outcome of the {enquiries}" in case and conference[:1].upper() + conference[1:] in case
    schedule = client.get("/cases/case-1/conferences/new?kind=initial").get_data(as_text=True)
    assert conference[:1].upper() + conference[1:] in schedule


def test_an_error_message_names_the_deployments_words(tmp_path, plans):  # noqa: F811
    client = client_for(tmp_path, plans, "guernsey")
    page = client.get("/cases/case-1/enquiry-outcome").get_data(as_text=True)
    resp = client.post("/cases/case-1/enquiry-outcome", data={"csrf_token": csrf_of(page)})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "Enter the date the section 35 enquiries were completed" in html
    assert "{enquiries}" not in html and "{" + "initial_conference}" not in html


def test_a_scottish_outline_plan_asks_for_the_areas_of_concern_the_plans_service_offers(tmp_path, plans):  # noqa: F811
    plans.routes[("GET", "/v1/categories")] = (
        200,
        {"items": [{"id": "domestic_abuse", "name": "Domestic abuse", "census_code": None}]},
    )
    client = client_for(tmp_path, plans, "scotland")
    client.get("/sign-out")
    sign_in(client, "demo-chair-1")
    form = client.get("/conferences/conf-1/outcome").get_data(as_text=True)
    assert "Areas of concern" in form and "Domestic abuse" in form and "Categories of harm" not in form


def _visible(html: str) -> str:
    """The page's text as a person reads it: no tags, no attribute values (ids and addresses are code)."""
    return " ".join(re.sub(r"<[^>]*>", " ", html).split())


def test_a_scottish_conference_page_and_its_forms_say_child_protection_planning_meeting(tmp_path, plans):  # noqa: F811
    client = client_for(tmp_path, plans, "scotland")
    client.get("/sign-out")
    sign_in(client, "demo-chair-1")
    pages = {
        path: _visible(client.get(path).get_data(as_text=True))
        for path in ("/conferences/conf-1", "/conferences/conf-1/move", "/conferences/conf-1/outcome")
    }
    assert "Record the child protection planning meeting outcome" in pages["/conferences/conf-1"]
    assert "Move the child protection planning meeting to another date" in pages["/conferences/conf-1"]
    assert "Why is the child protection planning meeting moving?" in pages["/conferences/conf-1/move"]
    outcome = pages["/conferences/conf-1/outcome"]
    assert "When was the child protection planning meeting held?" in outcome
    assert "Child protection core group" in outcome
    for path, text in pages.items():
        assert "section 47" not in text and "child protection conference" not in text.lower(), path
        assert "conference" not in text.lower(), f"{path} names a conference where Scotland holds meetings"


def test_a_welsh_plan_and_case_name_the_care_and_support_protection_plan(tmp_path, plans):  # noqa: F811
    plans.routes[("GET", "/v1/cases/case-1")] = (200, {**PENDING, "status": "on_plan", "plan_id": "plan-1"})
    client = client_for(tmp_path, plans, "wales")
    case = _visible(client.get("/cases/case-1").get_data(as_text=True))
    assert "The care and support protection plan" in case
    assert "child protection plan" not in case.lower() and "Care and support protection plans" in case


def test_a_northern_irish_outcome_form_asks_about_the_child_protection_case_conference(tmp_path, plans):  # noqa: F811
    client = client_for(tmp_path, plans, "northern_ireland")
    client.get("/sign-out")
    sign_in(client, "demo-chair-1")
    outcome = _visible(client.get("/conferences/conf-1/outcome").get_data(as_text=True))
    assert "When was the child protection case conference held?" in outcome
    assert "Save child protection case conference outcome" in outcome
    page = client.get("/conferences/conf-1/outcome").get_data(as_text=True)
    resp = client.post("/conferences/conf-1/outcome", data={"csrf_token": csrf_of(page)})
    errors = _visible(resp.get_data(as_text=True))
    assert resp.status_code == 400 and "Enter the date the child protection case conference was held" in errors
    assert "section 47" not in outcome + errors and "{conference}" not in outcome + errors
