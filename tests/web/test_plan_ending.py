"""Ending a plan from the web application: a team manager's form (the way
as radios, the day, why), sent with the plan's ETag as If-Match and the
form's Idempotency-Key; the service's refusals on the form's fields; and the
ended plan's page saying how and why it ended."""

from __future__ import annotations

import pytest

from cpp_shared.auth import load_dev_key
from cpp_web.app import create_app
from tests.web.test_plan import PLAN, PLAN_ID, form_fields, text_of
from tests.web.test_plan import fakes as fakes  # noqa: F401 - the plan's answers on the played services
from tests.web.test_web_app import make_settings, sign_in


@pytest.fixture
def app(tmp_path, fakes):  # noqa: F811
    settings = make_settings(tmp_path, fakes)
    load_dev_key(settings.dev_signing_key_file, create=True)
    app = create_app(settings)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def manager(app):
    c = app.test_client()
    sign_in(c, "demo-tm-1")
    return c


def open_form(client) -> dict:
    page = client.get(f"/plans/{PLAN_ID}/ending")
    assert page.status_code == 200, page.get_data(as_text=True)
    return form_fields(page.get_data(as_text=True))


def test_a_team_manager_is_offered_the_ending_and_a_social_worker_is_not(app, manager):
    assert "End this plan" in text_of(manager.get(f"/plans/{PLAN_ID}").get_data(as_text=True))
    worker = app.test_client()
    sign_in(worker, "demo-sw-1")
    assert "End this plan" not in text_of(worker.get(f"/plans/{PLAN_ID}").get_data(as_text=True))


def test_the_ending_is_sent_once_with_if_match_as_read(manager, fakes):  # noqa: F811
    fields = open_form(manager)
    assert fields["etag"] == '"7"' and fields["idempotency_key"]
    ended = {
        **PLAN,
        "status": "ended",
        "ended": {"on": "2026-03-04", "how": "left_the_uk", "reason": "Moved to Spain."},
    }
    fakes["plans"].routes[("POST", f"/v1/plans/{PLAN_ID}/ending")] = (201, ended, {"ETag": '"8"'})
    done = manager.post(
        f"/plans/{PLAN_ID}/ending",
        data={**fields, "reason": "left_the_uk", "on": ["4", "3", "2026"], "details": "Moved to Spain."},
    )
    assert done.status_code == 302 and done.headers["Location"] == f"/plans/{PLAN_ID}"
    [sent] = fakes["plans"].sent("POST", f"/v1/plans/{PLAN_ID}/ending")
    assert sent["headers"]["If-Match"] == '"7"' and sent["headers"]["Idempotency-Key"] == fields["idempotency_key"]
    assert sent["json"] == {"reason": "left_the_uk", "on": "2026-03-04", "details": "Moved to Spain."}


def test_a_move_sends_the_receiving_council_and_its_transfer_in_conference(manager, fakes):  # noqa: F811
    fields = open_form(manager)
    fakes["plans"].routes[("POST", f"/v1/plans/{PLAN_ID}/ending")] = (201, PLAN, {"ETag": '"8"'})
    manager.post(
        f"/plans/{PLAN_ID}/ending",
        data={
            **fields,
            "reason": "moved_to_another_council",
            "on": ["4", "3", "2026"],
            "receiving_council": "Leeds City Council",
            "transfer_in_conference_on": ["2", "3", "2026"],
        },
    )
    [sent] = fakes["plans"].sent("POST", f"/v1/plans/{PLAN_ID}/ending")
    assert sent["json"]["receiving_council"] == "Leeds City Council"
    assert sent["json"]["transfer_in_conference_on"] == "2026-03-02"


def test_a_form_without_its_answers_says_what_is_missing(manager, fakes):  # noqa: F811
    page = manager.post(f"/plans/{PLAN_ID}/ending", data=open_form(manager))
    body = page.get_data(as_text=True)
    assert page.status_code == 422 and "There is a problem" in body
    assert "Select why the plan ends" in body and "Enter the date the plan ends" in body
    assert not fakes["plans"].sent("POST", f"/v1/plans/{PLAN_ID}/ending")


def test_the_services_refusal_shows_on_its_field(manager, fakes):  # noqa: F811
    fields = open_form(manager)
    fakes["plans"].routes[("POST", f"/v1/plans/{PLAN_ID}/ending")] = (
        422,
        {
            "code": 422,
            "message": "the step breaks a rule",
            "errors": {"json": {"on": ["the child is 18 on 2026-05-01"]}},
        },
    )
    page = manager.post(f"/plans/{PLAN_ID}/ending", data={**fields, "reason": "reached_18", "on": ["4", "3", "2026"]})
    body = page.get_data(as_text=True)
    assert page.status_code == 422 and "There is a problem" in body
    assert 'href="#on"' in body and "the child is 18 on 2026-05-01" in body


def test_someone_elses_change_first_is_said(manager, fakes):  # noqa: F811
    fields = open_form(manager)
    fakes["plans"].routes[("POST", f"/v1/plans/{PLAN_ID}/ending")] = (412, {"code": 412, "message": "stale"})
    page = manager.post(f"/plans/{PLAN_ID}/ending", data={**fields, "reason": "died", "on": ["4", "3", "2026"]})
    assert page.status_code == 422 and "Someone changed the plan since you opened this form" in page.get_data(
        as_text=True
    )


def test_the_ended_plan_says_how_and_why_it_ended_and_offers_no_ending(manager, fakes):  # noqa: F811
    ended = {
        "on": "2026-03-04",
        "how": "moved_to_another_council",
        "reason": "The family moved north.",
        "receiving_council": "Leeds City Council",
        "transfer_in_conference_on": "2026-03-02",
        "conference_id": None,
        "step_down": None,
        "by": "demo-tm-1",
    }
    fakes["plans"].routes[("GET", f"/v1/plans/{PLAN_ID}")] = (200, {**PLAN, "status": "ended", "ended": ended})
    text = text_of(manager.get(f"/plans/{PLAN_ID}").get_data(as_text=True))
    assert "How the plan ended" in text and "The child moved to another council" in text
    assert "The family moved north." in text and "Leeds City Council" in text and "4 March 2026" in text
    assert "End this plan" not in text
