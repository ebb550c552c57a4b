"""Every document in the deployment's words (``cpp_terminology``): its title, its headings and the family
version's phrases. A Welsh plan is a care and support protection plan, a Scottish conference a child protection
planning meeting after a child protection investigation, a Northern Irish one a child protection case
conference; none reads England's section 47 enquiries."""

from __future__ import annotations

import re

import pytest

from cpp_docs.domain.documents import Documents
from cpp_docs.domain.readability import visible_text
from cpp_shared.plugins import Plugins
from tests.unit.test_docs_names import jobs, render


def _documents(deployment: str) -> dict[str, str]:
    """Every kind of document the docs service makes, as the deployment's text, by job."""
    docs = Documents(Plugins([deployment]), {"code": "X", "name": "A council", "contacts": []})
    return {name: " ".join(visible_text(render(docs, job)).split()) for name, job in jobs().items()}


def _title(text: str) -> str:
    """The document's title: the first heading, after the branding's organisation."""
    return text.split(". ")[1]


@pytest.fixture(scope="module")
def wales():
    return _documents("wales")


@pytest.fixture(scope="module")
def scotland():
    return _documents("scotland")


@pytest.fixture(scope="module")
def northern_ireland():
    return _documents("northern_ireland")


def test_a_welsh_plan_is_titled_a_care_and_support_protection_plan(wales):
    assert _title(wales["professional_plan"]) == "Care and support protection plan"
    assert _title(wales["outline_plan"]) == "Outline care and support protection plan"
    assert _title(wales["family_plan"]) == "Your care and support protection plan"
    assert "needs a care and support protection plan" in wales["family_letter"]
    assert "Plan. Care and support protection plan for Ana" in wales["core_group_record"]
    for name, text in wales.items():
        assert not re.search("child protection plan", text, re.I), f"{name} names England's plan"
    assert "Categories of abuse and neglect" in wales["professional_plan"]


def test_a_scottish_conference_record_is_of_a_child_protection_planning_meeting(scotland):
    record = scotland["conference_record"]
    assert _title(record) == "Record of the initial child protection planning meeting"
    assert "Child protection planning meeting. Initial child protection planning meeting, held on" in record
    assert "First child protection core group meeting" in record
    assert _title(scotland["review_conference_record"]) == "Record of the review child protection planning meeting"
    assert _title(scotland["conference_report"]) == "Report to the review child protection planning meeting"
    assert _title(scotland["core_group_record"]) == "Child protection core group meeting record"
    assert "The first child protection core group meeting is on" in scotland["family_letter"]
    for name, text in scotland.items():
        assert "section 47" not in text, f"{name} names England's enquiries"
        assert not re.search("child protection conference", text, re.I), f"{name} names England's conference"


def test_a_northern_irish_conference_record_is_of_a_child_protection_case_conference(northern_ireland):
    record = northern_ireland["conference_record"]
    assert _title(record) == "Record of the initial child protection case conference"
    assert "Review child protection case conference on Sunday 1 February 2099" in northern_ireland["professional_plan"]
    for name, text in northern_ireland.items():
        assert "section 47" not in text, f"{name} names England's enquiries"
        assert not re.search("child protection conference", text, re.I), f"{name} names England's conference"
