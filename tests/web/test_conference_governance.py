"""The conference outcome forms' governance fields, with Flask's test client
and the plans service played on loopback: each agency's view and any
dissent, a parent's exclusion and the child's participation sent as the
service takes them (initial and review outcomes), the service's 403 (the
person recording it manages the case) and its 422s (not quorate, a field
refused) shown on the form as other refusals are; and a family
conference's outcome against the real plans service on loopback."""

from __future__ import annotations

import re
from datetime import date, timedelta

import requests

from tests.helpers import bearer, new_child_over_http
from tests.web.test_families import plans_url, web  # noqa: F401 - fixtures
from tests.web.test_lifecycle import chair, client, plans, post_form, summary_links  # noqa: F401 - fixtures
from tests.web.test_web_app import sign_in

INITIAL = {"held_on": ["10", "2", "2026"], "plan_required": "no"}
GOVERNANCE = {
    "agency_views-0-agency": "Police",
    "agency_views-0-view": "Agrees with the decision.",
    "agency_views-1-agency": "School",
    "agency_views-1-view": "Disagrees: a child in need plan would do. Recorded in full at the head's request.",
    "agency_views-1-dissents": "y",
    "exclusions-0-person": "Ana Fictional",
    "exclusions-0-part": "The police's report",
    "exclusions-0-reason": "An ongoing investigation.",
    "exclusions-0-decided_by": "Morgan Ellis, chair",
    "participation": "advocate",
    "wishes_and_feelings": "Wants to stay with Nan.",
    "advocate_name": "Jo Voice",
    "advocate_organisation": "Children's Rights Service",
}
SENT = {
    "agency_views": [
        {"agency": "Police", "view": "Agrees with the decision.", "dissents": False},
        {
            "agency": "School",
            "view": "Disagrees: a child in need plan would do. Recorded in full at the head's request.",
            "dissents": True,
        },
    ],
    "exclusions": [
        {
            "person": "Ana Fictional",
            "part": "The police's report",
            "reason": "An ongoing investigation.",
            "decided_by": "Morgan Ellis, chair",
        }
    ],
    "child_participation": {
        "how": "advocate",
        "wishes_and_feelings": "Wants to stay with Nan.",
        "advocate": {"name": "Jo Voice", "organisation": "Children's Rights Service"},
    },
}
OUTCOME = "/v1/conferences/conf-1/outcome"


def test_the_form_asks_for_views_exclusions_and_the_childs_participation_in_legends(chair, plans):
    html = chair.get("/conferences/conf-1/outcome").get_data(as_text=True)
    legends = [re.sub(r"\s+", " ", t).strip() for t in re.findall(r"<legend[^>]*>(.*?)</legend>", html, re.S)]
    for question in ("Agency 1", "Exclusion 1", "How did the child take part?", "The child's advocate"):
        assert any(question in legend for legend in legends), (question, legends)
    assert 'name="agency_views-0-dissents"' in html and 'name="participation" type="radio" value="advocate"' in html
    assert 'href="/conferences/conf-1/inquorate">record the meeting as not quorate</a>' in html


def test_the_governance_fields_are_sent_as_the_service_takes_them(chair, plans):
    plans.routes[("POST", OUTCOME)] = (200, {"plan": None})
    resp = post_form(chair, "/conferences/conf-1/outcome", {**INITIAL, **GOVERNANCE})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    [sent] = plans.sent("POST", OUTCOME)
    assert sent["json"] == {"held_on": "2026-02-10", "plan_required": False, "attendees": [], **SENT}


def test_rows_left_empty_send_nothing(chair, plans):
    plans.routes[("POST", OUTCOME)] = (200, {"plan": None})
    assert post_form(chair, "/conferences/conf-1/outcome", INITIAL).status_code == 302
    [sent] = plans.sent("POST", OUTCOME)
    assert not {"agency_views", "exclusions", "child_participation"} & set(sent["json"])


def test_the_services_403_for_a_manager_of_the_case_is_shown_as_a_refusal(chair, plans):
    message = (
        "the conference is chaired independently of the case: Morgan Ellis is the case's team manager, and the "
        "case is managed by Morgan Ellis (team manager); a chair who does not manage the case records its outcome"
    )
    plans.routes[("POST", OUTCOME)] = (403, {"code": 403, "status": "Forbidden", "message": message})
    resp = post_form(chair, "/conferences/conf-1/outcome", INITIAL)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 403
    assert "govuk-error-summary" in html and "The conference is chaired independently of the case" in html
    assert (
        "Record the conference outcome" in html and "Save conference outcome" in html
    )  # the form, not the forbidden page


def test_a_quorum_refusal_and_a_fields_error_go_on_their_fields(chair, plans):
    why = (
        "2 agencies attended (Health, Police); this deployment needs at least 3 (ISCP). The conference was not "
        "quorate: record the meeting as not quorate instead (POST /v1/conferences/{id}/inquorate-meetings)"
    )
    errors = {
        "attendees": [why],
        "agency_views": {"1": {"view": ["Must not be blank."]}},
        "child_participation": {"advocate": ["name the advocate who represented the child's views"]},
    }
    plans.routes[("POST", OUTCOME)] = (422, {"code": 422, "message": "not quorate", "errors": {"json": errors}})
    html = post_form(chair, "/conferences/conf-1/outcome", {**INITIAL, **GOVERNANCE}).get_data(as_text=True)
    links = summary_links(html)
    assert links["#attendees-0-name"].startswith("2 agencies attended (Health, Police)")
    assert links["#agency_views-1-view"] == "Must not be blank."
    assert links["#advocate_name"] == "Name the advocate who represented the child&#39;s views"


def test_the_review_outcome_sends_them_too(chair, plans):
    plans.routes[("GET", "/v1/conferences/conf-1")] = (
        200,
        {**plans.routes[("GET", "/v1/conferences/conf-1")][1], "kind": "review"},
        {"ETag": '"2"'},
    )
    plans.routes[("GET", "/v1/cases/case-1")] = (
        200,
        {**plans.routes[("GET", "/v1/cases/case-1")][1], "status": "on_plan", "plan_id": "plan-1"},
    )
    plans.routes[("GET", "/v1/plans/plan-1")] = (
        200,
        {"id": "plan-1", "plan_version": 1, "content": {"concerns": "Neglect."}},
        {"ETag": '"1"'},
    )
    plans.routes[("POST", OUTCOME)] = (200, {"plan": {"id": "plan-1"}})
    resp = post_form(
        chair,
        "/conferences/conf-1/review-outcome",
        {"held_on": ["10", "2", "2026"], "decision": "continue", **GOVERNANCE},
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    [sent] = plans.sent("POST", OUTCOME)
    assert sent["json"] == {"held_on": "2026-02-10", "decision": "continue", "attendees": [], **SENT}


# --- a family conference, against the real plans service on loopback ---


def a_family_conference_over_http(plans_url: str, token_for) -> tuple[str, list[str]]:
    """Two children of the Sample family, their cases opened by Sam Okafor (demo-sw-1, managed by Priya Shah,
    demo-tm-1), at one initial family conference: its id and the children."""
    manager = bearer(token_for("team_manager", user="demo-tm-1", name="Priya Shah", team="Area North"))
    sw = bearer(token_for("social_worker", user="demo-sw-1", name="Sam Okafor", team="Area North", manager="demo-tm-1"))
    for headers in (manager, sw):  # each in the staff directory
        assert requests.get(f"{plans_url}/v1/cases", headers=headers, timeout=20).status_code == 200
    children = [
        new_child_over_http(plans_url, sw, given_names=n, family_name="Sample", identifiers=[], date_of_birth=born)
        for n, born in (("Amy", "2015-03-01"), ("Ben", "2018-07-12"))
    ]
    people = [{"name": "Pat Sample", "role": "parent", "parental_responsibility": True, "relationships": []}]
    d0 = date.today() - timedelta(days=10)
    family = requests.post(
        f"{plans_url}/v1/families",
        json={"name": "Sample family", "children": children, "people": people},
        headers=sw,
        timeout=20,
    ).json()
    steps = [
        ("/cases", {"children": children}),
        ("/strategy-discussions", {"children": children, "held_on": d0.isoformat()}),
        (
            "/enquiry-outcomes",
            {
                "completed_on": d0.isoformat(),
                "outcomes": [{"child_id": c, "conference_required": True} for c in children],
            },
        ),
        ("/conferences", {"children": children, "kind": "initial", "scheduled_for": date.today().isoformat()}),
    ]
    for path, body in steps:
        resp = requests.post(f"{plans_url}/v1/families/{family['id']}{path}", json=body, headers=sw, timeout=20)
        assert resp.status_code in (200, 201), resp.text
    return resp.json()["id"], children


def test_a_family_conference_refused_to_the_childrens_team_manager_then_recorded_by_a_chair_with_views(
    web, plans_url, token_for
):
    group_id, children = a_family_conference_over_http(plans_url, token_for)
    today = date.today()
    form = {"held_on": [str(today.day), str(today.month), str(today.year)]}
    for i, child in enumerate(children):
        form.update({f"decisions-{i}-child_id": child, f"decisions-{i}-plan_required": "no"})
    views = {k: v for k, v in GOVERNANCE.items() if k.startswith(("agency_views", "exclusions"))}
    path = f"/family-conferences/{group_id}/outcome"

    web.get("/sign-out")
    sign_in(web, "demo-tm-1")
    assert 'name="agency_views-0-agency"' in web.get(path).get_data(as_text=True)
    refused = post_form(web, path, {**form, **views})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 403, html
    assert "Amy Sample: the conference is chaired independently of the case" in html
    assert "Priya Shah is the case&#39;s team manager" in html

    web.get("/sign-out")
    sign_in(web, "demo-chair-1")
    assert post_form(web, path, {**form, **views}).status_code == 302
    chair = bearer(token_for("chair", user="demo-chair-1"))
    group = requests.get(f"{plans_url}/v1/family-conferences/{group_id}", headers=chair, timeout=20).json()
    for member in group["children"]:
        conference = requests.get(
            f"{plans_url}/v1/conferences/{member['conference_id']}", headers=chair, timeout=20
        ).json()
        assert conference["outcome"]["agency_views"] == SENT["agency_views"]
        assert conference["outcome"]["exclusions"] == SENT["exclusions"]
