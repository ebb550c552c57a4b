"""The end of a case's journey with Flask's test client and the services
played on loopback: a review conference's outcome (its body, a 422's field
errors, a 409's reason, a plan changed since the form was opened), the
plan's ending and the step-down on the case page, the child in need plan's
form, the task list's links, and the child's chronology in plain words."""

from __future__ import annotations

import re

import pytest

from tests.web.test_lifecycle import CASE, CHILD, CONFERENCE, client, plans, post_form, summary_links  # noqa: F401

PLAN = {
    "id": "plan-1",
    "case_id": "case-1",
    "child_id": "child-1",
    "status": "active",
    "plan_version": 2,
    "created_on": "2026-01-20",
    "agreed": {"by": "demo-sw-1", "on": "2026-01-25", "at": "core_group_meeting"},
    "key_worker": "Sam Okafor",
    "ended": None,
    "version": 4,
    "content": {
        "key_worker": {"user": "demo-sw-1", "name": "Sam Okafor", "phone": "020 7946 0000"},
        "categories": ["neglect"],
        "core_group": [{"name": "Hana Visitor", "role": "health visitor"}],
        "concerns": "Home conditions.",
    },
}
ON_PLAN = {
    **CASE,
    "status": "on_plan",
    "plan_id": "plan-1",
    "strategy_discussions": [{"held_on": "2026-01-06", "initiated_enquiries": True}],
    "enquiry_outcome": {"completed_on": "2026-01-10", "conference_required": True},
    "conferences": [
        {"id": "conf-1", "kind": "initial", "status": "held"},
        {"id": "conf-2", "kind": "review", "status": "scheduled"},
    ],
}
REVIEW = {**CONFERENCE, "id": "conf-2", "kind": "review", "scheduled_for": "2026-04-20"}
ENDED_CASE = {
    **ON_PLAN,
    "status": "plan_ended",
    "conferences": [
        {"id": "conf-1", "kind": "initial", "status": "held"},
        {"id": "conf-2", "kind": "review", "status": "held"},
    ],
    "step_down": {"route": "child_in_need_plan", "decided_on": "2026-04-20", "by": "review_conference"},
}
ENDED_PLAN = {
    **PLAN,
    "status": "ended",
    "ended": {
        "on": "2026-04-20",
        "conference_id": "conf-2",
        "step_down": "child_in_need_plan",
        "by": "demo-chair-1",
        "reason": "Home conditions are good now.",
    },
}
HELD_REVIEW = {
    **REVIEW,
    "status": "held",
    "outcome": {
        "held_on": "2026-04-20",
        "decision": "end",
        "decided_by": "demo-chair-1",
        "reason": "Home conditions are good now.",
    },
}


@pytest.fixture
def review(plans):  # noqa: F811 (the fixture imported above)
    plans.routes.update(
        {
            ("GET", "/v1/cases/case-1"): (200, ON_PLAN),
            ("GET", "/v1/conferences/conf-2"): (200, REVIEW, {"ETag": '"1"'}),
            ("GET", "/v1/plans/plan-1"): (200, PLAN, {"ETag": '"4"'}),
        }
    )
    return plans


def as_chair(client):  # noqa: F811
    from tests.web.test_web_app import sign_in

    client.post("/sign-out")
    sign_in(client, "demo-chair-1")
    return client


def post_review(client, data):  # noqa: F811
    page = client.get("/conferences/conf-2/review-outcome")
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    etag = re.search(r'name="plan_etag" type="hidden" value="([^"]*)"', html).group(1)
    return post_form(client, "/conferences/conf-2/review-outcome", {"plan_etag": etag.replace("&#34;", '"'), **data})


# --- a review conference's outcome ---


def test_a_review_that_ends_the_plan_sends_the_decision_the_reason_and_the_attendees(client, review):  # noqa: F811
    review.routes[("POST", "/v1/conferences/conf-2/outcome")] = (200, {"plan": ENDED_PLAN})
    resp = post_review(
        as_chair(client),
        {
            "held_on": ["20", "4", "2026"],
            "decision": "end",
            "reason": "Home conditions are good now.",
            "attendees-0-name": "Hana Visitor",
            "attendees-0-role": "health visitor",
            "attendees-0-agency": "NHS",
        },
    )
    assert resp.status_code == 302 and resp.headers["Location"] == "/cases/case-1"
    [sent] = review.sent("POST", "/v1/conferences/conf-2/outcome")
    assert sent["json"] == {
        "held_on": "2026-04-20",
        "decision": "end",
        "reason": "Home conditions are good now.",
        "attendees": [{"name": "Hana Visitor", "role": "health visitor", "agency": "NHS"}],
    }
    assert len(sent["headers"]["Idempotency-Key"]) == 32


def test_a_revision_sends_the_plan_with_its_revised_concerns_and_the_key_worker_by_id(client, review):  # noqa: F811
    review.routes[("POST", "/v1/conferences/conf-2/outcome")] = (200, {"plan": PLAN})
    resp = post_review(
        as_chair(client),
        {"held_on": ["20", "4", "2026"], "decision": "revise", "concerns": "Home conditions.\nSchool attendance."},
    )
    assert resp.status_code == 302
    [sent] = review.sent("POST", "/v1/conferences/conf-2/outcome")
    assert sent["json"]["plan"] == {
        **PLAN["content"],
        "concerns": "Home conditions.\nSchool attendance.",
        "key_worker": {"user": "demo-sw-1", "phone": "020 7946 0000"},
    }


def test_an_ending_needs_its_reason_and_a_decision_is_needed(client, review):  # noqa: F811
    resp = post_review(as_chair(client), {"held_on": ["20", "4", "2026"], "decision": "end", "reason": " "})
    links = summary_links(resp.get_data(as_text=True))
    assert resp.status_code == 400 and links == {"#reason": "Enter why the child protection plan ends"}
    resp = post_review(client, {"held_on": ["", "", ""]})
    links = summary_links(resp.get_data(as_text=True))
    assert links["#held_on-day"].startswith("Enter the date") and links["#decision"].startswith("Select what")
    assert not review.sent("POST", "/v1/conferences/conf-2/outcome")


def test_the_services_field_errors_go_on_the_fields(client, review):  # noqa: F811
    review.routes[("POST", "/v1/conferences/conf-2/outcome")] = (
        422,
        {
            "code": 422,
            "message": "invalid",
            "errors": {
                "json": {
                    "held_on": ["is before the plan began on 2026-01-20"],
                    "plan": {"concerns": ["Must not be blank."]},
                }
            },
        },
    )
    resp = post_review(as_chair(client), {"held_on": ["1", "1", "2026"], "decision": "revise", "concerns": "x"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400, html
    assert summary_links(html) == {
        "#held_on-day": "Is before the plan began on 2026-01-20",
        "#concerns": "Must not be blank.",
    }


def test_a_refusal_shows_the_services_reason(client, review):  # noqa: F811
    review.routes[("POST", "/v1/conferences/conf-2/outcome")] = (
        409,
        {"code": 409, "message": "the conference is held; its outcome is recorded once"},
    )
    resp = post_review(as_chair(client), {"held_on": ["20", "4", "2026"], "decision": "continue"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "The conference is held; its outcome is recorded once." in html


def test_a_plan_changed_since_the_form_was_opened_is_a_412_and_nothing_is_sent(client, review):  # noqa: F811
    as_chair(client)
    page = client.get("/conferences/conf-2/review-outcome").get_data(as_text=True)
    review.routes[("GET", "/v1/plans/plan-1")] = (200, {**PLAN, "plan_version": 3}, {"ETag": '"5"'})
    from tests.web.test_web_app import csrf_of

    key = re.search(r'name="key" type="hidden" value="([^"]*)"', page).group(1)
    resp = client.post(
        "/conferences/conf-2/review-outcome",
        data={
            "csrf_token": csrf_of(page),
            "key": key,
            "plan_etag": '"4"',
            "held_on": ["20", "4", "2026"],
            "decision": "continue",
        },
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 412 and "Someone changed the child protection plan since you opened this form" in html
    assert "version 3" in html and not review.sent("POST", "/v1/conferences/conf-2/outcome")


def test_an_initial_conference_is_not_recorded_here_and_the_old_route_sends_a_review_here(client, review):  # noqa: F811
    as_chair(client)
    resp = client.get("/conferences/conf-1/review-outcome")
    assert resp.status_code == 409 and "this is an initial child protection conference" in resp.get_data(as_text=True)
    moved = client.get("/conferences/conf-2/outcome")
    assert moved.status_code == 302 and moved.headers["Location"] == "/conferences/conf-2/review-outcome"


def test_a_social_worker_does_not_record_a_review_outcome(client, review):  # noqa: F811
    resp = client.get("/conferences/conf-2/review-outcome")
    assert resp.status_code == 302 and resp.headers["Location"] == "/home"


# --- the case page: links, the ending, the step-down ---


def task(html: str, title: str) -> str:
    return re.search(
        rf'<li class="govuk-task-list__item[^>]*>(?:(?!</li>).)*?{title}(?:(?!</li>).)*</li>', html, re.S
    ).group(0)


def test_the_task_list_links_the_review_to_its_outcome_for_a_chair_and_scheduling_one_otherwise(client, review):  # noqa: F811
    html = as_chair(client).get("/cases/case-1").get_data(as_text=True)
    assert 'href="/conferences/conf-2/review-outcome"' in task(html, "Review child protection conferences")
    assert 'href="/conferences/conf-2/review-outcome"' in task(html, "Ending or step-down")
    review.routes[("GET", "/v1/cases/case-1")] = (200, {**ON_PLAN, "conferences": ON_PLAN["conferences"][:1]})
    html = client.get("/cases/case-1").get_data(as_text=True)
    assert 'href="/cases/case-1/conferences/new?kind=review"' in task(html, "Review child protection conferences")


def test_an_ended_plan_shows_why_when_and_by_whom_and_links_the_step_down(client, review):  # noqa: F811
    review.routes.update(
        {
            ("GET", "/v1/cases/case-1"): (200, ENDED_CASE),
            ("GET", "/v1/plans/plan-1"): (200, ENDED_PLAN),
            ("GET", "/v1/conferences/conf-2"): (200, HELD_REVIEW),
            ("GET", "/v1/staff/demo-chair-1"): (200, {"user": "demo-chair-1", "name": "Morgan Ellis"}),
            ("GET", "/v1/cases/case-1/child-in-need-plans"): (200, []),
        }
    )
    html = client.get("/cases/case-1").get_data(as_text=True)
    assert "has ended" in html and "20 April 2026" in html and "Home conditions are good now." in html
    assert "Morgan Ellis, at the review child protection conference" in html and "demo-chair-1" not in html
    step = task(html, "Ending or step-down")
    assert 'href="/cases/case-1/child-in-need-plan"' in step and "Not yet started" in step


def test_a_child_in_need_plan_made_shows_on_the_case_page(client, review):  # noqa: F811
    cin = {
        "id": "cin-1",
        "case_id": "case-1",
        "key_worker": {"name": "Sam Okafor", "phone": "020 7946 0000"},
        "needs": "Support at home.",
        "services": ["Family support", "Early help"],
        "review_on": "2026-07-20",
        "created_on": "2026-04-21",
        "created_by": "demo-sw-1",
    }
    review.routes.update(
        {
            ("GET", "/v1/cases/case-1"): (200, ENDED_CASE),
            ("GET", "/v1/plans/plan-1"): (200, ENDED_PLAN),
            ("GET", "/v1/conferences/conf-2"): (200, HELD_REVIEW),
            ("GET", "/v1/staff/demo-chair-1"): (200, {"user": "demo-chair-1", "name": "Morgan Ellis"}),
            ("GET", "/v1/staff/demo-sw-1"): (200, {"user": "demo-sw-1", "name": "Sam Okafor"}),
            ("GET", "/v1/cases/case-1/child-in-need-plans"): (200, [cin]),
        }
    )
    html = client.get("/cases/case-1").get_data(as_text=True)
    assert "Support at home." in html and "Family support<br>Early help" in html and "20 July 2026" in html
    assert "21 April 2026, by Sam Okafor" in html
    step = task(html, "Ending or step-down")
    assert "Completed" in step and "href=" not in step


# --- the child in need plan's form ---


def test_the_child_in_need_plan_is_sent_with_its_key(client, review):  # noqa: F811
    review.routes[("GET", "/v1/cases/case-1")] = (200, ENDED_CASE)
    review.routes[("POST", "/v1/cases/case-1/child-in-need-plans")] = (201, {"id": "cin-1"})
    resp = post_form(
        client,
        "/cases/case-1/child-in-need-plan",
        {
            "key_worker": "Sam Okafor",
            "key_worker_phone": "020 7946 0000",
            "needs": "Support at home.",
            "services_given": "Family support\n\nEarly help\n",
            "created_on": ["21", "4", "2026"],
            "review_on": ["20", "7", "2026"],
        },
    )
    assert resp.status_code == 302 and resp.headers["Location"] == "/cases/case-1#child-in-need"
    [sent] = review.sent("POST", "/v1/cases/case-1/child-in-need-plans")
    assert sent["json"] == {
        "key_worker": {"name": "Sam Okafor", "phone": "020 7946 0000"},
        "needs": "Support at home.",
        "services": ["Family support", "Early help"],
        "review_on": "2026-07-20",
        "created_on": "2026-04-21",
    }
    assert len(sent["headers"]["Idempotency-Key"]) == 32


def test_the_child_in_need_plan_field_errors_and_refusal(client, review):  # noqa: F811
    resp = post_form(
        client, "/cases/case-1/child-in-need-plan", {"key_worker": "", "needs": "", "review_on": ["", "", ""]}
    )
    links = summary_links(resp.get_data(as_text=True))
    assert resp.status_code == 400 and list(links) == ["#key_worker", "#needs", "#review_on-day"]
    review.routes[("POST", "/v1/cases/case-1/child-in-need-plans")] = (
        422,
        {"code": 422, "message": "invalid", "errors": {"json": {"review_on": ["must be after the plan is made"]}}},
    )
    data = {"key_worker": "Sam Okafor", "needs": "Support.", "review_on": ["20", "4", "2026"]}
    links = summary_links(post_form(client, "/cases/case-1/child-in-need-plan", data).get_data(as_text=True))
    assert links == {"#review_on-day": "Must be after the plan is made"}
    review.routes[("POST", "/v1/cases/case-1/child-in-need-plans")] = (
        409,
        {
            "code": 409,
            "message": (
                "the case is on_plan: a child in need plan follows a step-down (no conference needed, no plan, or a plan "
                "ended)"
            ),
        },
    )
    resp = post_form(client, "/cases/case-1/child-in-need-plan", data)
    assert resp.status_code == 409 and "a child in need plan follows a step-down" in resp.get_data(as_text=True)


# --- the chronology ---

ENTRIES = [
    {
        "type": "child_in_need_plan_created",
        "on": "2026-04-21",
        "by": {"user": "demo-sw-1", "name": "Sam Okafor"},
        "case_id": "case-1",
        "conference_id": None,
        "plan_id": None,
        "detail": {"review_on": "2026-07-20"},
    },
    {
        "type": "plan_ended",
        "on": "2026-04-20",
        "by": {"user": "demo-chair-1", "name": "Morgan Ellis"},
        "case_id": "case-1",
        "conference_id": "conf-2",
        "plan_id": "plan-1",
        "detail": {"reason": "Home conditions are good now.", "step_down": "child_in_need_plan"},
    },
    {
        "type": "conference_held",
        "on": "2026-04-20",
        "by": {"user": "demo-chair-1", "name": "Morgan Ellis"},
        "case_id": "case-1",
        "conference_id": "conf-2",
        "plan_id": "plan-1",
        "detail": {"kind": "review", "decision": "end"},
    },
    {
        "type": "conference_moved",
        "on": "2026-04-01",
        "by": {"user": "demo-tm-1", "name": "Priya Shah"},
        "case_id": "case-1",
        "conference_id": "conf-2",
        "plan_id": None,
        "detail": {
            "kind": "review",
            "moved_from": "2026-04-15",
            "moved_to": "2026-04-20",
            "reason": "The chair is ill",
        },
    },
    {
        "type": "report_countersigned",
        "on": "2026-04-10",
        "by": {"user": "demo-tm-1", "name": "Priya Shah"},
        "case_id": "case-1",
        "conference_id": "conf-2",
        "plan_id": "plan-1",
        "detail": {"report_kind": "review_conference"},
    },
    {
        "type": "case_opened",
        "on": "2026-01-05",
        "by": None,
        "case_id": "case-1",
        "conference_id": None,
        "plan_id": None,
        "detail": {},
    },
]


def test_the_chronology_in_plain_words_with_names_never_ids(client, review):  # noqa: F811
    review.routes[("GET", "/v1/children/child-1/chronology")] = (200, {"child_id": "child-1", "entries": ENTRIES})
    resp = client.get("/children/child-1/chronology")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200, html
    rows = [
        re.sub(r"<[^>]+>|\s+", " ", r).split()
        for r in re.findall(r"<tr class=\"govuk-table__row\">(.*?)</tr>", html, re.S)[1:]
    ]
    said = [" ".join(r) for r in rows]
    assert said[0] == "21 April 2026 Child in need plan made, to be reviewed on 20 July 2026 Sam Okafor"
    assert said[1] == (
        "20 April 2026 Child protection plan ended: the child steps down to a child in need plan. "
        "Reason: Home conditions are good now. Morgan Ellis"
    )
    assert (
        said[2] == "20 April 2026 Review child protection conference held: the child protection plan ends Morgan Ellis"
    )
    assert said[3] == (
        "1 April 2026 Review child protection conference moved from 15 April 2026 to 20 April 2026. "
        "Reason: The chair is ill Priya Shah"
    )
    assert said[4] == "10 April 2026 Report to the review child protection conference countersigned Priya Shah"
    assert said[5] == "5 January 2026 Case opened Not recorded"
    assert "demo-" not in re.sub(r'href="[^"]*"', "", html)  # names, never ids
    assert "<h1" in html and html.count("<h1") == 1


def test_the_childs_record_links_the_chronology(client, review):  # noqa: F811
    review.routes[("GET", "/v1/cases")] = (200, {"items": [ENDED_CASE], "total": 1})
    html = client.get("/children/child-1").get_data(as_text=True)
    assert 'href="/children/child-1/chronology"' in html


CLOSED_CASE = {**ON_PLAN, "status": "closed"}
PLAN_ENDED_BY_A_MOVE = {
    **PLAN,
    "status": "ended",
    "ended": {
        "on": "2026-04-20",
        "conference_id": None,
        "step_down": None,
        "by": "demo-tm-1",
        "how": "moved_to_another_council",
        "reason": "The family moved north.",
        "receiving_council": "Leeds City Council",
        "transfer_in_conference_on": "2026-04-18",
    },
}


def test_a_plan_ended_by_a_team_manager_shows_how_why_and_by_whom_with_no_step_down(client, review):  # noqa: F811
    review.routes.update(
        {
            ("GET", "/v1/cases/case-1"): (200, CLOSED_CASE),
            ("GET", "/v1/plans/plan-1"): (200, PLAN_ENDED_BY_A_MOVE),
            ("GET", "/v1/staff/demo-tm-1"): (200, {"user": "demo-tm-1", "name": "Priya Shah"}),
        }
    )
    html = client.get("/cases/case-1").get_data(as_text=True)
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "has ended" in text and "20 April 2026" in text and "The family moved north." in text
    assert "The child moved to another council: Leeds City Council; the case is closed" in text
    assert "Priya Shah" in text and "at the review child protection conference" not in text
    assert "Make the child in need plan" not in text


def test_the_chronology_says_how_a_plan_that_closed_the_case_ended(client, review):  # noqa: F811
    entry = {
        **ENTRIES[1],
        "by": {"user": "demo-tm-1", "name": "Priya Shah"},
        "conference_id": None,
        "detail": {"reason": "The child died in hospital.", "how": "died"},
    }
    review.routes[("GET", "/v1/children/child-1/chronology")] = (200, {"child_id": "child-1", "entries": [entry]})
    html = client.get("/children/child-1/chronology").get_data(as_text=True)
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert (
        "Child protection plan ended: the child died, and the case closed. Reason: The child died in hospital." in text
    )
    assert "steps down" not in text


REFERRAL_ENTRIES = [
    {
        "type": "assessment_completed",
        "on": "2026-03-02",
        "by": {"user": "demo-sw-1", "name": "Sam Okafor"},
        "case_id": "case-1",
        "conference_id": None,
        "plan_id": None,
        "detail": {"outcome": "strategy_discussion", "authorised_by": "Priya Shah"},
    },
    {
        "type": "assessment_started",
        "on": "2026-01-06",
        "by": {"user": "demo-sw-1", "name": "Sam Okafor"},
        "case_id": "case-1",
        "conference_id": None,
        "plan_id": None,
        "detail": {"factors": ["domestic_abuse", "parenting_capacity"], "other_factors": "A new partner"},
    },
    {
        "type": "referral_decided",
        "on": "2026-01-06",
        "by": {"user": "demo-tm-1", "name": "Priya Shah"},
        "case_id": "case-1",
        "conference_id": None,
        "plan_id": None,
        "detail": {"decision": "assessment", "reason": "A bruise on a baby"},
    },
    {
        "type": "referral_received",
        "on": "2026-01-05",
        "by": {"user": "demo-sw-1", "name": "Sam Okafor"},
        "case_id": "case-1",
        "conference_id": None,
        "plan_id": None,
        "detail": {"source": "school"},
    },
]


def test_the_chronology_shows_the_referral_its_decision_and_the_assessment_in_words(client, review):  # noqa: F811
    review.routes[("GET", "/v1/children/child-1/chronology")] = (
        200,
        {"child_id": "child-1", "entries": REFERRAL_ENTRIES},
    )
    html = client.get("/children/child-1/chronology").get_data(as_text=True)
    rows = re.findall(r"<tr class=\"govuk-table__row\">(.*?)</tr>", html, re.S)[1:]
    said = [" ".join(re.sub(r"<[^>]+>", " ", r).split()) for r in rows]
    assert said == [
        "2 March 2026 Assessment completed: Strategy discussion (section 47 enquiries), authorised by Priya Shah "
        "Sam Okafor",
        "6 January 2026 Assessment started. Factors identified: Domestic abuse, Parenting capacity, A new partner "
        "Sam Okafor",
        "6 January 2026 Decision on the referral: Child and family assessment. Reason: A bruise on a baby Priya Shah",
        "5 January 2026 Referral received from: School or nursery Sam Okafor",
    ]


def test_the_chronology_names_a_significant_change_and_the_chair_told_of_it(client, review):  # noqa: F811
    entry = {"by": {"user": "demo-sw-1", "name": "Sam Okafor"}, "case_id": "case-1", "conference_id": None}
    detail = {"plan_id": "plan-1", "detail": {"change_id": "g1"}}
    entries = [
        {**entry, **detail, "type": "significant_change_referred", "on": "2026-03-06"},
        {**entry, **detail, "type": "significant_change_recorded", "on": "2026-03-05"},
    ]
    review.routes[("GET", "/v1/children/child-1/chronology")] = (200, {"child_id": "child-1", "entries": entries})
    html = client.get("/children/child-1/chronology").get_data(as_text=True)
    rows = re.findall(r"<tr class=\"govuk-table__row\">(.*?)</tr>", html, re.S)[1:]
    assert [" ".join(re.sub(r"<[^>]+>", " ", r).split()) for r in rows] == [
        "6 March 2026 The conference chair told of a significant change Sam Okafor",
        "5 March 2026 Significant change in the child&#39;s circumstances noticed by the core group Sam Okafor",
    ]
