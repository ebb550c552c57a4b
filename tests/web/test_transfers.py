"""Transfers between councils in the web application, with Flask's test
client and the services played on loopback: "Transfer out" on a case on a
plan (the move sent with the form's Idempotency-Key, then the package
downloaded with the person's token), "Receive a transfer" (a package
uploaded, the service's refusal shown on the upload; a notification without
a package), the transferred case's next step, and the previous council's
records on the child's page and in the chronology."""

from __future__ import annotations

import io
import re

import pytest

from tests.web.test_lifecycle import CASE, post_form
from tests.web.test_lifecycle import client as client  # noqa: F401 - the web app signed in as a social worker
from tests.web.test_lifecycle import plans as plans  # noqa: F401 - the child and case on the played services
from tests.web.test_plan import text_of
from tests.web.test_web_app import csrf_of

ON_PLAN = {**CASE, "status": "on_plan", "plan_id": "plan-1"}
MOVING = {
    "receiving_council": "Royal Borough of Greenwich",
    "notified_on": "2026-03-02",
    "started_on": "2026-03-03",
    "by": "demo-sw-1",
}
TRANSFERRED = {
    **CASE,
    "id": "case-9",
    "status": "transfer_in_pending",
    "transfer_in": {
        "from_council": {"code": "BRM", "name": "London Borough of Bromley"},
        "notified_on": "2026-03-02",
        "history_id": "h-1",
        "package_id": "pkg-1",
        "received_at": "2026-03-03T10:00:00+00:00",
        "received_by": "demo-sw-1",
    },
}
HISTORY = {
    "id": "h-1",
    "child_id": "child-1",
    "case_id": "case-9",
    "from_council": {"code": "BRM", "name": "London Borough of Bromley"},
    "notified_on": "2026-03-02",
    "received_at": "2026-03-03T10:00:00+00:00",
    "received_by": "demo-sw-1",
    "signed_by": "BRM-1fa68197ba805401",
    "package_id": "pkg-1",
    "package": {
        "plans": [
            {
                "_id": "old-plan",
                "status": "active",
                "created_on": "2025-11-20",
                "categories": ["neglect"],
                "versions": [
                    {"number": 1, "status": "outline", "agreed": {"on": "2025-11-20", "at": "initial_conference"}},
                    {"number": 2, "status": "active", "agreed": {"on": "2025-12-01", "at": "core_group_meeting"}},
                ],
            }
        ],
        "conferences": [
            {
                "_id": "old-conf",
                "kind": "initial",
                "status": "held",
                "scheduled_for": "2025-11-20",
                "outcome": {"held_on": "2025-11-20"},
            }
        ],
        "chronology": [
            {
                "type": "plan_created",
                "on": "2025-11-20",
                "by": {"user": "brm-1", "name": "Jo Bromley"},
                "case_id": "old",
                "detail": {},
            }
        ],
    },
}


@pytest.fixture
def on_plan(plans):  # noqa: F811
    plans.routes[("GET", "/v1/cases/case-1")] = (200, ON_PLAN)
    plans.routes[("GET", "/v1/plans/plan-1")] = (200, {"id": "plan-1", "status": "active", "key_worker": "Sam Okafor"})
    return plans


def test_a_case_on_a_plan_offers_the_transfer_out(client, on_plan):  # noqa: F811
    html = client.get("/cases/case-1").get_data(as_text=True)
    assert 'href="/cases/case-1/transfer-out"' in html and "transfer-package" not in html


def test_the_move_is_sent_once_with_the_forms_key_and_the_package_offered(client, on_plan):  # noqa: F811
    on_plan.routes[("POST", "/v1/cases/case-1/transfer-out")] = (200, {**ON_PLAN, "transfer_out": MOVING})
    done = post_form(
        client,
        "/cases/case-1/transfer-out",
        {"receiving_council": " Royal Borough of Greenwich ", "notified_on": ["2", "3", "2026"]},
    )
    assert done.status_code == 302 and done.headers["Location"] == "/cases/case-1"
    [sent] = on_plan.sent("POST", "/v1/cases/case-1/transfer-out")
    assert sent["json"] == {"receiving_council": "Royal Borough of Greenwich", "notified_on": "2026-03-02"}
    assert sent["headers"]["Idempotency-Key"]
    on_plan.routes[("GET", "/v1/cases/case-1")] = (200, {**ON_PLAN, "transfer_out": MOVING})
    text = text_of(client.get("/cases/case-1").get_data(as_text=True))
    assert "Moving to another council" in text and "Download the transfer package" in text
    assert "2 March 2026" in text and "Transfer out:" not in text


def test_the_move_without_its_answers_says_what_is_missing(client, on_plan):  # noqa: F811
    page = post_form(client, "/cases/case-1/transfer-out", {})
    html = page.get_data(as_text=True)
    assert page.status_code == 400 and "There is a problem" in html
    assert (
        "Enter the council the family is moving to" in html and "Enter the date the receiving council was told" in html
    )
    assert not on_plan.sent("POST", "/v1/cases/case-1/transfer-out")


def test_the_services_refusal_of_the_move_is_shown(client, on_plan):  # noqa: F811
    on_plan.routes[("POST", "/v1/cases/case-1/transfer-out")] = (
        409,
        {"code": 409, "message": "the move to Leeds is already recorded (2026-03-01)"},
    )
    page = post_form(
        client, "/cases/case-1/transfer-out", {"receiving_council": "Leeds", "notified_on": ["2", "3", "2026"]}
    )
    assert page.status_code == 409 and "already recorded" in page.get_data(as_text=True)


def test_the_package_is_downloaded_with_the_persons_token(client, on_plan):  # noqa: F811
    token = "eyJhbGciOiJFZERTQSJ9.eyJhIjoxfQ.c2ln"
    on_plan.routes[("GET", "/v1/cases/case-1/transfer-package")] = (
        200,
        token.encode(),
        {
            "Content-Type": "application/jose",
            "Content-Disposition": 'attachment; filename="transfer-package-case-1.jws"',
        },
    )
    got = client.get("/cases/case-1/transfer-package")
    assert got.status_code == 200 and got.get_data(as_text=True) == token
    assert got.mimetype == "application/jose" and "attachment" in got.headers["Content-Disposition"]
    [sent] = on_plan.sent("GET", "/v1/cases/case-1/transfer-package")
    assert sent["headers"]["Authorization"].startswith("Bearer ")


def _upload(client, content: bytes):
    page = client.get("/transfers/in")
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    key = re.search(r'name="key" type="hidden" value="([^"]*)"', html).group(1)
    return client.post(
        "/transfers/in",
        data={"csrf_token": csrf_of(html), "key": key, "package": (io.BytesIO(content), "package.jws")},
        content_type="multipart/form-data",
    ), key


def test_a_package_uploaded_opens_the_transferred_case(client, plans):  # noqa: F811
    plans.routes[("POST", "/v1/transfers/in")] = (201, TRANSFERRED)
    done, key = _upload(client, b"eyJhbGciOiJFZERTQSJ9.eyJhIjoxfQ.c2ln\n")
    assert done.status_code == 302 and done.headers["Location"] == "/cases/case-9"
    [sent] = plans.sent("POST", "/v1/transfers/in")
    assert (
        sent["json"] == {"package": "eyJhbGciOiJFZERTQSJ9.eyJhIjoxfQ.c2ln"}
        and sent["headers"]["Idempotency-Key"] == key
    )


def test_a_package_refused_shows_why_and_nothing_is_recorded(client, plans):  # noqa: F811
    plans.routes[("POST", "/v1/transfers/in")] = (
        422,
        {
            "code": 422,
            "message": "schema",
            "errors": {"json": {"package": {"plans.0.versions": ["[] should be non-empty"]}}},
        },
    )
    page, _ = _upload(client, b"eyJhbGciOiJFZERTQSJ9.eyJhIjoxfQ.c2ln")
    text = text_of(page.get_data(as_text=True))
    assert page.status_code == 400 and "There is a problem" in text
    assert "The package was refused (schema): nothing was recorded" in text
    assert "package.plans.0.versions: [] should be non-empty" in text


def test_a_file_that_is_not_a_package_is_not_sent(client, plans):  # noqa: F811
    page, _ = _upload(client, "\u00e9t\u00e9".encode("utf-8"))
    assert page.status_code == 400 and "The file is not a transfer package" in page.get_data(as_text=True)
    assert not plans.sent("POST", "/v1/transfers/in")


def test_a_notification_without_a_package_registers_the_child_it_names(client, plans):  # noqa: F811
    plans.routes[("POST", "/v1/transfers/in")] = (
        201,
        {**TRANSFERRED, "transfer_in": {**TRANSFERRED["transfer_in"], "package_id": None}},
    )
    done = post_form(
        client,
        "/transfers/in/notification",
        {
            "from_council": "Leeds City Council",
            "notified_on": ["2", "3", "2026"],
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
    assert done.status_code == 302 and done.headers["Location"] == "/cases/case-9"
    [sent] = plans.sent("POST", "/v1/transfers/in")
    notice = sent["json"]["notification"]
    assert notice["from_council"] == "Leeds City Council" and notice["notified_on"] == "2026-03-02"
    assert notice["child"]["identifiers"] == [{"scheme": "nhs_number", "value": "4857773456"}]


def test_the_transferred_case_leads_to_its_transfer_in_conference(client, plans):  # noqa: F811
    plans.routes[("GET", "/v1/cases/case-9")] = (200, TRANSFERRED)
    text = text_of(client.get("/cases/case-9").get_data(as_text=True))
    assert "Transferred in: the transfer-in child protection conference to be held" in text
    assert "London Borough of Bromley" in text and "Schedule the transfer-in conference" in text
    html = client.get("/cases/case-9/conferences/new?kind=transfer_in").get_data(as_text=True)
    assert 'value="transfer_in" selected' in html
    other = client.get("/cases/case-1/conferences/new").get_data(as_text=True)
    assert 'value="transfer_in"' not in other  # only a case transferred in has one


def test_the_childs_page_shows_the_previous_councils_records(client, plans):  # noqa: F811
    plans.routes[("GET", "/v1/children/child-1/transfer-history")] = (200, {"child_id": "child-1", "items": [HISTORY]})
    text = text_of(client.get("/children/child-1").get_data(as_text=True))
    assert "Records from previous councils" in text and "London Borough of Bromley" in text
    assert "Child protection plan from 20 November 2025 (active), under Neglect" in text
    assert "Core group meeting" in text and "Jo Bromley" in text and "Plan created" in text


def test_the_chronology_marks_the_previous_councils_entries(client, plans):  # noqa: F811
    entries = [
        {
            "type": "transfer_received",
            "on": "2026-03-03",
            "by": None,
            "case_id": "case-9",
            "detail": {"from_council": "London Borough of Bromley"},
        },
        {
            **HISTORY["package"]["chronology"][0],
            "conference_id": "old-conf",
            "previous_council": HISTORY["from_council"],
        },
    ]
    plans.routes[("GET", "/v1/children/child-1/chronology")] = (200, {"child_id": "child-1", "entries": entries})
    html = client.get("/children/child-1/chronology").get_data(as_text=True)
    text = text_of(html)
    assert "Transferred in from London Borough of Bromley" in text
    assert "Outline child protection plan agreed London Borough of Bromley" in text
    assert "/conferences/old-conf" not in html  # another council's conference is not one of ours to open
