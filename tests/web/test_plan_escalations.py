"""A plan's escalations in the web application, with Flask's test client and the services played on loopback:
each shown with the day its decision was taken, its referral (with a form to record the referral made for a route
whose recipient is outside the council) and its steps (with a form to record the next); the raise form asks for the
decision's date. Each form sends its Idempotency-Key and shows the plans service's refusal on the field it names."""

from __future__ import annotations

import re

import pytest

from cpp_shared.auth import load_dev_key
from cpp_web.app import create_app
from tests.web.test_plan import CASE_ID, CHILD_ID, PLAN, PLAN_ID, form_fields, text_of
from tests.web.test_web_app import make_settings, sign_in

LEGAL, CONVENOR, REFERRED = "esc-legal", "esc-convenor", "esc-referred"
ESCALATIONS = [
    {
        "id": LEGAL,
        "route": "legal_planning",
        "name": "Legal planning meeting (public law outline)",
        "reason": "The plan has not made Rosa safe.",
        "recipient": None,
        "decided_on": "2026-03-02",
        "conference_id": None,
        "raised_on": "2026-03-09",
        "raised_by": "demo-sw-1",
        "referral": None,
        "steps": [
            {"step": "legal_planning_meeting", "name": "Legal planning meeting", "on": "2026-03-04", "outcome": None},
            {
                "step": "legal_planning_decision",
                "name": "Decision of the legal planning meeting",
                "on": "2026-03-05",
                "outcome": "pre_proceedings",
                "notes": "Threshold met.",
            },
        ],
    },
    {
        "id": CONVENOR,
        "route": "childrens_convenor",
        "name": "Refer to the Children's Convenor",
        "reason": "The parents do not keep to the plan.",
        "recipient": {"name": "Children's Convenor", "kind": "external"},
        "decided_on": "2026-03-10",
        "raised_on": "2026-03-20",
        "referral": None,
        "steps": [],
    },
    {
        "id": REFERRED,
        "route": "childrens_convenor",
        "name": "Refer to the Children's Convenor",
        "reason": "Again.",
        "recipient": {"name": "Children's Convenor", "kind": "external"},
        "decided_on": "2026-03-11",
        "raised_on": "2026-03-11",
        "referral": {"made_on": "2026-03-12", "made_to": "Duty officer", "how": "Secure email"},
        "steps": [],
    },
]


@pytest.fixture
def fakes(fakes):
    fakes["plans"].routes.update(
        {
            ("GET", f"/v1/plans/{PLAN_ID}"): (200, {**PLAN, "escalations": ESCALATIONS}, {"ETag": '"7"'}),
            ("GET", f"/v1/children/{CHILD_ID}"): (
                200,
                {"id": CHILD_ID, "given_names": "Rosa", "family_name": "Fictional"},
            ),
            ("GET", "/v1/staff/demo-sw-1"): (200, {"user": "demo-sw-1", "name": "Sam Okafor"}),
            ("GET", f"/v1/plans/{PLAN_ID}/significant-changes"): (200, {"plan_id": PLAN_ID, "items": []}),
            ("GET", f"/v1/cases/{CASE_ID}"): (
                200,
                {
                    "id": CASE_ID,
                    "conferences": [
                        {"id": "conf-initial", "kind": "initial", "status": "held"},
                        {"id": "conf-review", "kind": "review", "status": "scheduled"},
                    ],
                },
            ),
            ("GET", "/v1/conferences/conf-initial"): (
                200,
                {"id": "conf-initial", "kind": "initial", "status": "held", "outcome": {"held_on": "2026-02-20"}},
            ),
        }
    )
    return fakes


@pytest.fixture
def client(tmp_path, fakes):
    settings = make_settings(tmp_path, fakes)
    load_dev_key(settings.dev_signing_key_file, create=True)
    app = create_app(settings)
    app.config["TESTING"] = True
    c = app.test_client()
    sign_in(c)
    return c


def test_the_plan_page_shows_each_escalation_with_its_decision_referral_and_steps(client):
    page = client.get(f"/plans/{PLAN_ID}").get_data(as_text=True)
    text = text_of(page)
    for expected in (
        "Escalations",
        "Legal planning meeting (public law outline)",
        "Decided on 2 March 2026",
        "Recorded on 9 March 2026",
        "None: this route goes to nobody outside the council",
        "Decision of the legal planning meeting 5 March 2026 Pre-proceedings (a letter before proceedings)",
        "Next: Letter before proceedings sent.",
        "Not yet made to Children's Convenor. Record the referral made",
        "Made on 12 March 2026 to Duty officer (Secure email)",
    ):
        assert expected in text, expected
    assert f"/plans/{PLAN_ID}/escalations/{LEGAL}/steps/new" in page
    assert f"/plans/{PLAN_ID}/escalations/{CONVENOR}/referral/new" in page
    assert f"/plans/{PLAN_ID}/escalations/{REFERRED}/referral/new" not in page  # made already
    assert f"/plans/{PLAN_ID}/escalations/new" in page


def test_the_raise_form_asks_for_the_day_the_decision_was_taken(client, fakes):
    plans, path = fakes["plans"], f"/v1/plans/{PLAN_ID}/escalations"
    page = client.get(f"/plans/{PLAN_ID}/escalations/new").get_data(as_text=True)
    assert "When was the decision to escalate taken?" in page and "Legal planning meeting (public law outline)" in page
    assert "Initial conference held on 20 February 2026" in page and "conf-review" not in page  # held ones only
    fields = form_fields(page)
    missing = client.post(f"/plans/{PLAN_ID}/escalations/new", data={**fields, "route": "legal_planning"})
    assert missing.status_code == 422 and "Enter the date the decision was taken" in missing.get_data(as_text=True)
    assert not plans.sent("POST", path)

    plans.routes[("POST", path)] = (
        422,
        {"code": 422, "errors": {"json": {"decided_on": ["is before the plan began on 2026-02-20"]}}},
    )
    typed = {**fields, "route": "legal_planning", "reason": "Not safe.", "decided_on": ["19", "2", "2026"]}
    refused = client.post(f"/plans/{PLAN_ID}/escalations/new", data=typed)
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'href="#decided_on"' in body and "before the plan began" in body

    plans.routes[("POST", path)] = (201, ESCALATIONS[0])
    done = client.post(f"/plans/{PLAN_ID}/escalations/new", data={**typed, "decided_on": ["2", "3", "2026"]})
    assert done.status_code == 302
    sent = plans.sent("POST", path)[-1]
    assert sent["json"] == {"route": "legal_planning", "reason": "Not safe.", "decided_on": "2026-03-02"}
    assert sent["headers"]["Idempotency-Key"] == fields["idempotency_key"]
    at_conference = {**typed, "decided_on": ["20", "2", "2026"], "conference_id": "conf-initial"}
    assert client.post(f"/plans/{PLAN_ID}/escalations/new", data=at_conference).status_code == 302
    assert plans.sent("POST", path)[-1]["json"] == {
        "route": "legal_planning",
        "reason": "Not safe.",
        "decided_on": "2026-02-20",
        "conference_id": "conf-initial",
    }


def test_the_referral_made_is_recorded_with_to_whom_and_when(client, fakes):
    plans, path = fakes["plans"], f"/v1/plans/{PLAN_ID}/escalations/{CONVENOR}/referral"
    page = client.get(f"/plans/{PLAN_ID}/escalations/{CONVENOR}/referral/new").get_data(as_text=True)
    fields = form_fields(page)
    assert fields["made_to"] == "Children's Convenor" and "decided on 10 March 2026" in text_of(page)
    plans.routes[("POST", path)] = (
        409,
        {"code": 409, "message": "the referral was recorded already: made on 2026-03-12"},
    )
    typed = {**fields, "made_on": ["12", "3", "2026"], "how": "Secure email"}
    refused = client.post(f"/plans/{PLAN_ID}/escalations/{CONVENOR}/referral/new", data=typed)
    assert refused.status_code == 422
    assert "This cannot be recorded now: the referral was recorded already" in refused.get_data(as_text=True)
    plans.routes[("POST", path)] = (201, ESCALATIONS[2])
    done = client.post(f"/plans/{PLAN_ID}/escalations/{CONVENOR}/referral/new", data=typed)
    assert done.status_code == 302
    assert plans.sent("POST", path)[-1]["json"] == {
        "made_on": "2026-03-12",
        "made_to": "Children's Convenor",
        "how": "Secure email",
    }
    assert client.get(f"/plans/{PLAN_ID}/escalations/nope/referral/new").status_code == 404


def test_a_step_is_recorded_from_the_route_the_next_one_offered_first(client, fakes):
    plans, path = fakes["plans"], f"/v1/plans/{PLAN_ID}/escalations/{LEGAL}/steps"
    page = client.get(f"/plans/{PLAN_ID}/escalations/{LEGAL}/steps/new").get_data(as_text=True)
    [offered] = re.findall(r"<option[^>]*selected[^>]*>", page)
    assert 'value="letter_before_proceedings"' in offered
    assert "Decision of the legal planning meeting: No further legal action" in page
    fields = form_fields(page)
    plans.routes[("POST", path)] = (
        422,
        {"code": 422, "errors": {"json": {"on": ["is before the step it follows, recorded on 2026-03-05"]}}},
    )
    typed = {**fields, "step": "letter_before_proceedings", "on": ["4", "3", "2026"], "outcome": ""}
    refused = client.post(f"/plans/{PLAN_ID}/escalations/{LEGAL}/steps/new", data=typed)
    assert refused.status_code == 422 and "before the step it follows" in refused.get_data(as_text=True)
    plans.routes[("POST", path)] = (201, ESCALATIONS[0])
    done = client.post(f"/plans/{PLAN_ID}/escalations/{LEGAL}/steps/new", data={**typed, "on": ["9", "3", "2026"]})
    assert done.status_code == 302
    assert plans.sent("POST", path)[-1]["json"] == {
        "step": "letter_before_proceedings",
        "on": "2026-03-09",
        "outcome": None,
        "notes": None,
    }
