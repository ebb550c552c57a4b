"""The plan's pages with Flask's test client, the services played on
loopback: the plan in its sections, a change sent with If-Match and only the
sections changed, the page for a change someone made first (nothing typed is
lost, and it saves on top of theirs), a service's field errors on the form's
fields, every version and the difference of two, a core group meeting and a
visit (with the form's Idempotency-Key), and documents streamed with the
person's token, never in a URL."""

from __future__ import annotations

import html
import re
import threading
import uuid

import pytest

from cpp_shared.auth import load_dev_key
from cpp_web.app import create_app
from cpp_web.plan import difference, plan_text
from tests.unit.test_docs_names import ID_SHAPED
from tests.web.test_web_app import make_settings, sign_in

PLAN_ID, CASE_ID, CHILD_ID = uuid.uuid4().hex, uuid.uuid4().hex, uuid.uuid4().hex
DOC_PDF, DOC_HTML = uuid.uuid4().hex, uuid.uuid4().hex

CONTENT = {
    "key_worker": {
        "user": "demo-sw-1",
        "name": "Sam Okafor",
        "role": "social worker",
        "team": "Area North",
        "phone": "020 7946 0000",
        "email": "sam.okafor@council.example",
    },
    "categories": ["neglect", "emotional_abuse"],
    "concerns": "Home conditions.\nMissed health appointments.",
    "outcomes": [
        {
            "id": "safe-home",
            "description": "Rosa lives in a safe, clean home",
            "term": "short",
            "target_date": "2099-01-31",
            "how_progress_judged": "Home visits find the home safe",
        }
    ],
    "actions": [
        {
            "id": "clean",
            "what": "Clear the kitchen",
            "why": "Hygiene risk",
            "status": "in_progress",
            "who": {"name": "Alex Parent", "kind": "family_member", "relationship": "mother"},
            "by_when": "2099-01-15",
            "outcome_id": "safe-home",
        }
    ],
    "monitoring": [
        {
            "who": "Hana Visitor",
            "agency": "NHS",
            "what": "Sees Rosa at home",
            "contact_type": "home_visit",
            "frequency": {"every": 2, "unit": "weeks"},
        }
    ],
    "contingency_plan": {"plan": "A legal planning meeting is called", "triggers": ["Rosa is found alone at home"]},
    "core_group": [
        {
            "name": "Hana Visitor",
            "role": "health visitor",
            "agency": "NHS",
            "phone": "020 7946 0101",
            "is_family_member": False,
        },
        {"name": "Alex Parent", "role": "mother", "email": "alex.parent@home.example", "is_family_member": True},
    ],
    "childs_views": "Rosa likes her school.",
    "familys_views": "Alex wants help with the house.",
}
PLAN = {
    "id": PLAN_ID,
    "case_id": CASE_ID,
    "child_id": CHILD_ID,
    "status": "active",
    "plan_version": 2,
    "agreed": {"by": "demo-sw-1", "on": "2026-03-02", "at": "core_group_meeting"},
    "key_worker": "Sam Okafor",
    "content": CONTENT,
    "version": 7,
    "created_on": "2026-02-20",
}
VERSION_1 = {
    "plan_id": PLAN_ID,
    "number": 1,
    "status": "outline",
    "agreed": {"by": "demo-chair-1", "on": "2026-02-20", "at": "initial_conference"},
    "content": {**CONTENT, "concerns": "Home conditions.", "childs_views": None, "contingency_plan": None},
}
VERSION_2 = {"plan_id": PLAN_ID, "number": 2, "status": "active", "agreed": PLAN["agreed"], "content": CONTENT}
CHANGE_ID, TOLD_ID = uuid.uuid4().hex, uuid.uuid4().hex
CHANGES = [
    {
        "id": CHANGE_ID,
        "noticed_on": "2026-03-05",
        "description": "Mother's new partner moved in",
        "chair_told": None,
        "recorded_by": "demo-sw-1",
        "version": 1,
    },
    {
        "id": TOLD_ID,
        "noticed_on": "2026-03-02",
        "description": "Rosa was excluded from school",
        "chair_told": {"on": "2026-03-03", "by": "demo-sw-1"},
        "recorded_by": "demo-sw-1",
        "version": 2,
    },
]


@pytest.fixture
def fakes(fakes):
    started = fakes  # the four services played on loopback (conftest), with the plan's answers
    plans = started["plans"]
    plans.routes.update(
        {
            ("GET", "/healthz"): (200, {"status": "ok"}),
            ("GET", f"/v1/plans/{PLAN_ID}"): (200, PLAN, {"ETag": '"7"'}),
            ("GET", f"/v1/children/{CHILD_ID}"): (
                200,
                {"id": CHILD_ID, "given_names": "Rosa", "family_name": "Fictional"},
            ),
            ("GET", "/v1/staff/demo-sw-1"): (200, {"user": "demo-sw-1", "name": "Sam Okafor"}),
            ("GET", "/v1/staff/demo-chair-1"): (200, {"user": "demo-chair-1", "name": "Morgan Ellis"}),
            ("GET", f"/v1/plans/{PLAN_ID}/versions"): (200, {"plan_id": PLAN_ID, "versions": [VERSION_1, VERSION_2]}),
            ("GET", f"/v1/plans/{PLAN_ID}/versions/1"): (200, VERSION_1),
            ("GET", f"/v1/plans/{PLAN_ID}/versions/2"): (200, VERSION_2),
            ("GET", f"/v1/plans/{PLAN_ID}/significant-changes"): (200, {"plan_id": PLAN_ID, "items": CHANGES}),
        }
    )
    return started


@pytest.fixture
def client(tmp_path, fakes):
    settings = make_settings(tmp_path, fakes)
    load_dev_key(settings.dev_signing_key_file, create=True)
    app = create_app(settings)
    app.config["TESTING"] = True
    c = app.test_client()
    sign_in(c)
    return c


def text_of(page: str) -> str:
    """What a person reads: the body's text without tags, scripts or attributes."""
    body = page.split("<body", 1)[1]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def form_fields(page: str) -> dict[str, str]:
    """Each named input and textarea's value, as the browser would post it."""
    out = {}
    for tag in re.findall(r"<input[^>]*>", page):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name and value and ('type="radio"' not in tag or " checked" in tag):
            out[name.group(1)] = html.unescape(value.group(1))
    for name, value in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S):
        out[name] = html.unescape(value).lstrip("\n")
    return out


# --- the plan page ---


def test_the_plan_page_shows_the_version_in_force_in_its_sections_and_names_people_not_ids(client):
    page = client.get(f"/plans/{PLAN_ID}")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    body = page.get_data(as_text=True)
    text = text_of(body)
    assert body.count("<h1") == 1 and "Rosa Fictional" in text
    for expected in (
        "Active",
        "Version 2",
        "Agreed by Sam Okafor",
        "2 March 2026",
        "At a core group meeting",
        "020 7946 0000",
        "sam.okafor@council.example",
        "Neglect",
        "Emotional abuse",
        "Missed health appointments.",
        "Rosa lives in a safe, clean home",
        "Clear the kitchen",
        "Alex Parent (mother)",
        "15 January 2099",
        "In progress",
        "Every 2 weeks",
        "A legal planning meeting is called",
        "Rosa is found alone at home",
        "020 7946 0101",
        "alex.parent@home.example",
        "Rosa likes her school.",
        "Alex wants help with the house.",
    ):
        assert expected in text, expected
    assert not ID_SHAPED.search(text) and "demo-sw-1" not in text
    assert 'href="mailto:sam.okafor@council.example"' in body and "&lt;" not in body  # links, not markup as text
    assert '<span class="govuk-hint">Why: Hygiene risk</span>' in body
    for link in ("change", "versions", "documents", "core-group-meetings/new", "visits/new"):
        assert f"/plans/{PLAN_ID}/{link}" in body


def test_the_plan_page_reads_the_child_and_who_agreed_it_at_once(client, fakes):
    both = threading.Barrier(2, timeout=5)
    plans = fakes["plans"]
    for path in (f"/v1/children/{CHILD_ID}", "/v1/staff/demo-sw-1"):
        status, body, *_ = plans.routes[("GET", path)]
        plans.routes[("GET", path)] = lambda request, body=body: (both.wait(), (200, body))[1]
    text = text_of(client.get(f"/plans/{PLAN_ID}").get_data(as_text=True))
    assert "Rosa Fictional" in text and "Agreed by Sam Okafor" in text


def test_the_plan_page_without_its_child_or_the_agreeing_person_in_the_records(client, fakes):
    plans = fakes["plans"]
    plans.routes[("GET", f"/v1/children/{CHILD_ID}")] = (404, {"code": 404, "message": "no such child"})
    plans.routes[("GET", "/v1/staff/demo-sw-1")] = (403, {"code": 403, "message": "not yours to see"})
    page = client.get(f"/plans/{PLAN_ID}")
    text = text_of(page.get_data(as_text=True))
    assert page.status_code == 200 and "Unnamed child" in text and "Agreed by A member of staff" in text


def test_the_plan_page_names_its_initial_and_latest_categories_and_the_childs_earlier_plans(client, fakes):
    plans = fakes["plans"]
    earlier = [uuid.uuid4().hex, uuid.uuid4().hex]
    plans.routes[("GET", f"/v1/plans/{PLAN_ID}")] = (
        200,
        {
            **PLAN,
            "categories": ["emotional_abuse"],
            "initial_categories": ["neglect", "domestic_abuse"],
            "previous_plan_ids": earlier,
            "previous_plans": 2,
        },
        {"ETag": '"7"'},
    )
    plans.routes[("GET", "/v1/categories")] = (
        200,
        {
            "items": [
                {"id": "neglect", "name": "Neglect (the deployment's name)", "census_code": "NEG"},
                {"id": "emotional_abuse", "name": "Emotional abuse", "census_code": "EMO"},
            ]
        },
    )
    body = client.get(f"/plans/{PLAN_ID}").get_data(as_text=True)
    text = text_of(body)
    section = text.split("Categories of harm", 1)[1].split("Concerns", 1)[0]
    assert (
        section.split()
        == (
            "Now Emotional abuse When the plan was made Neglect (the deployment's name) Domestic abuse "
            "Earlier plans This is the child's third child protection plan. Earlier plan 1 Earlier plan 2"
        ).split()
    )  # a category no longer offered keeps its id in words
    assert all(f'href="/plans/{plan_id}"' in body for plan_id in earlier)


def test_a_first_plan_says_so_and_a_plan_made_before_they_were_counted_says_nothing(client, fakes):
    plans = fakes["plans"]
    plans.routes[("GET", f"/v1/plans/{PLAN_ID}")] = (200, {**PLAN, "previous_plans": 0}, {"ETag": '"7"'})
    assert "This is the child's first child protection plan." in text_of(
        client.get(f"/plans/{PLAN_ID}").get_data(as_text=True)
    )
    plans.routes[("GET", f"/v1/plans/{PLAN_ID}")] = (200, PLAN, {"ETag": '"7"'})
    text = text_of(client.get(f"/plans/{PLAN_ID}").get_data(as_text=True))
    assert "Earlier plans" not in text and "Neglect" in text


def test_the_case_page_links_to_its_plan(client, fakes):
    fakes["plans"].routes[("GET", f"/v1/cases/{CASE_ID}")] = (
        200,
        {"id": CASE_ID, "child_id": CHILD_ID, "plan_id": PLAN_ID, "status": "on_plan"},
    )
    fakes["scheduler"].routes[("GET", "/v1/deadlines")] = (200, {"items": []})
    assert f'href="/plans/{PLAN_ID}"' in client.get(f"/cases/{CASE_ID}").get_data(as_text=True)


def test_a_chair_reads_the_plan_with_no_way_to_change_it(client):
    sign_in(client, "demo-chair-1")
    body = client.get(f"/plans/{PLAN_ID}").get_data(as_text=True)
    assert f"/plans/{PLAN_ID}/change" not in body
    assert client.get(f"/plans/{PLAN_ID}/change").status_code == 302


# --- changing it ---


def open_change(client) -> dict:
    page = client.get(f"/plans/{PLAN_ID}/change")
    assert page.status_code == 200
    return form_fields(page.get_data(as_text=True))


def test_a_change_sends_if_match_as_read_and_only_the_sections_changed(client, fakes):
    fields = open_change(client)
    assert fields["etag"] == '"7"' and fields["base_version"] == "2"
    assert fields["concerns"] == CONTENT["concerns"] and fields["triggers"] == "Rosa is found alone at home"
    fakes["plans"].routes[("PATCH", f"/v1/plans/{PLAN_ID}")] = (200, {**PLAN, "plan_version": 3}, {"ETag": '"8"'})
    done = client.post(f"/plans/{PLAN_ID}/change", data={**fields, "childs_views": "Rosa wants a dog."})
    assert done.status_code == 302 and done.headers["Location"] == f"/plans/{PLAN_ID}"
    [patch] = fakes["plans"].sent("PATCH", f"/v1/plans/{PLAN_ID}")
    assert patch["headers"]["If-Match"] == '"7"' and patch["json"] == {"childs_views": "Rosa wants a dog."}
    assert patch["headers"]["Authorization"].startswith("Bearer ")
    assert "version 3 of the plan" in client.get(f"/plans/{PLAN_ID}").get_data(as_text=True)


def test_an_unchanged_form_sends_nothing(client, fakes):
    done = client.post(f"/plans/{PLAN_ID}/change", data=open_change(client))
    assert done.status_code == 302 and not fakes["plans"].sent("PATCH", f"/v1/plans/{PLAN_ID}")


def test_a_change_without_the_forms_csrf_token_is_refused(client, fakes):
    fields = open_change(client)
    del fields["csrf_token"]
    assert client.post(f"/plans/{PLAN_ID}/change", data={**fields, "concerns": "x"}).status_code == 400
    assert not fakes["plans"].sent("PATCH", f"/v1/plans/{PLAN_ID}")


def test_someone_elses_change_first_shows_both_versions_and_saves_mine_on_top_of_theirs(client, fakes):
    fields = open_change(client)  # version 2, ETag "7"
    theirs = {
        **PLAN,
        "plan_version": 3,
        "version": 8,
        "agreed": {"by": "demo-chair-1", "on": "2026-03-05", "at": "change"},
        "content": {
            **CONTENT,
            "familys_views": "Alex says the house is tidy now.",
            "concerns": "Home conditions, now better.",
        },
    }

    def patch(request):
        if request["headers"].get("If-Match") != '"8"':
            return 412, {"code": 412, "message": "the plan is at revision 8; read it again before changing it"}
        return 200, {**theirs, "plan_version": 4, "version": 9}, {"ETag": '"9"'}

    fakes["plans"].routes[("PATCH", f"/v1/plans/{PLAN_ID}")] = patch
    fakes["plans"].routes[("GET", f"/v1/plans/{PLAN_ID}")] = (200, theirs, {"ETag": '"8"'})
    mine = {**fields, "childs_views": "Rosa wants a dog.\nShe sleeps well.", "concerns": "Home conditions, my words."}
    page = client.post(f"/plans/{PLAN_ID}/change", data=mine)
    assert page.status_code == 409
    body = page.get_data(as_text=True)
    text = text_of(body)
    assert body.count("<h1") == 1 and "Someone changed this plan since you opened it" in text
    assert "Morgan Ellis agreed version 3" in text
    # Both versions side by side: theirs as now, mine as typed; nothing typed is lost.
    for expected in (
        "Alex says the house is tidy now.",
        "Home conditions, now better.",
        "Rosa wants a dog.",
        "She sleeps well.",
        "Home conditions, my words.",
        "Changed by both of you",
        "Changed by you",
        "Changed by them",
    ):
        assert expected in text, expected
    again = form_fields(body)
    assert again["etag"] == '"8"' and again["base_version"] == "3"
    assert again["childs_views"] == "Rosa wants a dog.\nShe sleeps well."  # mine
    assert again["familys_views"] == "Alex says the house is tidy now."  # theirs, kept
    assert again["concerns"] == "Home conditions, my words."  # both changed: mine, with a warning
    assert "You both changed Concerns" in text

    fakes["plans"].routes[("GET", f"/v1/plans/{PLAN_ID}/versions/3")] = (
        200,
        {"number": 3, "content": theirs["content"]},
    )
    saved = client.post(f"/plans/{PLAN_ID}/change", data=again)
    assert saved.status_code == 302
    first, second = fakes["plans"].sent("PATCH", f"/v1/plans/{PLAN_ID}")
    assert first["headers"]["If-Match"] == '"7"' and second["headers"]["If-Match"] == '"8"'
    assert second["json"] == {
        "childs_views": "Rosa wants a dog.\nShe sleeps well.",
        "concerns": "Home conditions, my words.",
    }  # their family's views untouched


def test_a_services_field_errors_show_on_the_forms_fields(client, fakes):
    fields = open_change(client)
    fakes["plans"].routes[("PATCH", f"/v1/plans/{PLAN_ID}")] = (
        422,
        {
            "code": 422,
            "message": "the step breaks a rule",
            "errors": {"json": {"contingency_plan": {"triggers": ["Shorter than minimum length 1."]}}},
        },
    )
    page = client.post(f"/plans/{PLAN_ID}/change", data={**fields, "triggers": ""})
    body = page.get_data(as_text=True)
    assert page.status_code == 422 and "There is a problem" in body
    assert 'href="#triggers"' in body and 'id="triggers-error"' in body
    assert "Shorter than minimum length 1." in body
    assert form_fields(body)["contingency_plan"] == "A legal planning meeting is called"  # kept as typed


def test_a_refusal_says_why_in_plain_words(client, fakes):
    fields = open_change(client)
    fakes["plans"].routes[("PATCH", f"/v1/plans/{PLAN_ID}")] = (
        409,
        {"code": 409, "message": "the plan has ended; it cannot be changed"},
    )
    body = client.post(f"/plans/{PLAN_ID}/change", data={**fields, "concerns": "New"}).get_data(as_text=True)
    assert "This change cannot be made now: the plan has ended; it cannot be changed" in body


# --- versions ---


def test_every_version_with_who_agreed_it_when_and_where(client):
    body = client.get(f"/plans/{PLAN_ID}/versions").get_data(as_text=True)
    text = text_of(body)
    assert "Version 1" in text and "Version 2 (in force)" in text
    assert "Morgan Ellis" in text and "20 February 2026" in text
    assert "At the initial child protection conference" in text
    assert "Outline plan" in text and not ID_SHAPED.search(text)
    assert f'action="/plans/{PLAN_ID}/versions/difference"' in body


def test_the_difference_of_two_versions_marks_what_was_removed_and_added(client):
    page = client.get(f"/plans/{PLAN_ID}/versions/difference?old=2&new=1")  # either order
    text = text_of(page.get_data(as_text=True))
    assert "What changed from version 1 to version 2" in text
    assert "Added: Missed health appointments." in text
    assert "Added: A legal planning meeting is called" in text and "Added: Rosa likes her school." in text
    assert "Categories of harm" not in text.split("What changed", 1)[1].split("Compare other versions")[0]
    assert client.get(f"/plans/{PLAN_ID}/versions/difference?old=1&new=9").status_code == 404


def test_difference_is_difflib_on_each_sections_lines():
    old = {"concerns": "One.\nTwo.", "categories": ["neglect"]}
    new = {"concerns": "One.\nThree.", "categories": ["neglect"]}
    [section] = difference(old, new)
    assert section == {"title": "Concerns", "lines": [("same", "One."), ("removed", "Two."), ("added", "Three.")]}
    assert dict(plan_text(CONTENT))["Core group"] == [
        "Hana Visitor, health visitor, NHS – 020 7946 0101",
        "Alex Parent, mother (family member) – alex.parent@home.example",
    ]


# --- a core group meeting and a visit ---


def test_a_core_group_meeting_is_recorded_once_with_the_forms_idempotency_key(client, fakes):
    page = client.get(f"/plans/{PLAN_ID}/core-group-meetings/new").get_data(as_text=True)
    fields = form_fields(page)
    assert re.fullmatch(r"[0-9a-f]{32}", fields["idempotency_key"])
    fakes["plans"].routes[("POST", f"/v1/plans/{PLAN_ID}/core-group-meetings")] = (201, {"id": "m1"})
    data = {
        **fields,
        "held_on": ["3", "3", "2026"],
        "detailed_plan_agreed": "yes",
        "attendees": "Alex Parent, mother\nHana Visitor, health visitor, NHS",
        "notes": "Went well.",
    }
    assert client.post(f"/plans/{PLAN_ID}/core-group-meetings/new", data=data).status_code == 302
    assert client.post(f"/plans/{PLAN_ID}/core-group-meetings/new", data=data).status_code == 302  # resent
    first, second = fakes["plans"].sent("POST", f"/v1/plans/{PLAN_ID}/core-group-meetings")
    assert first["headers"]["Idempotency-Key"] == second["headers"]["Idempotency-Key"] == fields["idempotency_key"]
    assert first["json"] == {
        "held_on": "2026-03-03",
        "detailed_plan_agreed": True,
        "notes": "Went well.",
        "attendees": [
            {"name": "Alex Parent", "role": "mother"},
            {"name": "Hana Visitor", "role": "health visitor", "agency": "NHS"},
        ],
    }


def test_the_meeting_form_starts_with_the_key_worker_and_shows_their_absence_on_who_attended(client, fakes):
    fields = form_fields(client.get(f"/plans/{PLAN_ID}/core-group-meetings/new").get_data(as_text=True))
    assert fields["attendees"] == "Sam Okafor, key worker"  # the plan's key worker (CONTENT)
    absent = "the key worker, Sam Okafor, is not among the attendees: a core group meeting is held with the key worker"
    fakes["plans"].routes[("POST", f"/v1/plans/{PLAN_ID}/core-group-meetings")] = (
        422,
        {"code": 422, "errors": {"json": {"attendees": [absent]}}},
    )
    page = client.post(
        f"/plans/{PLAN_ID}/core-group-meetings/new",
        data={**fields, "held_on": ["3", "3", "2026"], "detailed_plan_agreed": "no", "attendees": "Alex Parent"},
    )
    body = page.get_data(as_text=True)
    assert page.status_code == 422 and 'href="#attendees"' in body
    error = re.search(r'<p id="attendees-error"[^>]*>(.*?)</p>', body, re.S)
    assert error and absent in html.unescape(error.group(1))
    assert form_fields(body)["attendees"] == "Alex Parent"  # what was typed, kept to put right
    [sent] = fakes["plans"].sent("POST", f"/v1/plans/{PLAN_ID}/core-group-meetings")
    assert sent["json"]["attendees"] == [{"name": "Alex Parent"}]


def test_a_plan_without_a_key_worker_starts_its_meeting_form_with_nobody(client, fakes):
    nobody = {**PLAN, "key_worker": None, "content": {**CONTENT, "key_worker": None}}
    fakes["plans"].routes[("GET", f"/v1/plans/{PLAN_ID}")] = (200, nobody, {"ETag": '"7"'})
    fields = form_fields(client.get(f"/plans/{PLAN_ID}/core-group-meetings/new").get_data(as_text=True))
    assert fields["attendees"] == ""


def test_a_detailed_plan_the_service_finds_lacking_shows_on_the_question(client, fakes):
    fields = form_fields(client.get(f"/plans/{PLAN_ID}/core-group-meetings/new").get_data(as_text=True))
    fakes["plans"].routes[("POST", f"/v1/plans/{PLAN_ID}/core-group-meetings")] = (
        422,
        {"code": 422, "errors": {"json": {"plan": ["the detailed plan lacks: outcomes, monitoring"]}}},
    )
    page = client.post(
        f"/plans/{PLAN_ID}/core-group-meetings/new",
        data={**fields, "held_on": ["3", "3", "2026"], "detailed_plan_agreed": "yes"},
    )
    body = page.get_data(as_text=True)
    assert page.status_code == 422 and 'href="#detailed_plan_agreed"' in body
    assert "the detailed plan lacks: outcomes, monitoring" in body


def test_a_visit_needs_its_answers_and_is_sent_as_yes_and_no(client, fakes):
    fields = form_fields(client.get(f"/plans/{PLAN_ID}/visits/new").get_data(as_text=True))
    assert fields["by"] == "Sam Okafor"
    missing = client.post(f"/plans/{PLAN_ID}/visits/new", data={**fields, "by": ""})
    body = missing.get_data(as_text=True)
    assert missing.status_code == 422 and "Enter the date of the visit" in body and "Enter who visited" in body
    assert "Select yes if the child was seen alone" in body
    assert not fakes["plans"].sent("POST", f"/v1/plans/{PLAN_ID}/visits")
    fakes["plans"].routes[("POST", f"/v1/plans/{PLAN_ID}/visits")] = (201, {"id": "v1"})
    done = client.post(
        f"/plans/{PLAN_ID}/visits/new",
        data={**fields, "visited_on": ["4", "3", "2026"], "announced": "no", "child_seen": "yes", "seen_alone": "yes"},
    )
    assert done.status_code == 302
    [sent] = fakes["plans"].sent("POST", f"/v1/plans/{PLAN_ID}/visits")
    assert sent["json"] == {
        "visited_on": "2026-03-04",
        "announced": False,
        "child_seen": True,
        "seen_alone": True,
        "by": "Sam Okafor",
        "notes": None,
    }
    assert "The visit is recorded." in client.get(f"/plans/{PLAN_ID}").get_data(as_text=True)


# --- significant changes ---


def test_the_plan_lists_its_significant_changes_and_offers_to_record_one_and_the_chair_told(client, fakes):
    body = client.get(f"/plans/{PLAN_ID}").get_data(as_text=True)
    text = text_of(body)
    assert "Significant changes" in text and "that the core group noticed" in text
    assert "5 March 2026 Mother's new partner moved in Not yet: Record that the chair was told" in text
    assert "2 March 2026 Rosa was excluded from school 3 March 2026" in text
    assert f"/plans/{PLAN_ID}/significant-changes/{CHANGE_ID}/referral" in body
    assert f"/plans/{PLAN_ID}/significant-changes/{TOLD_ID}/referral" not in body, "told already"
    assert f"/plans/{PLAN_ID}/significant-changes/new" in body


def test_a_significant_change_is_sent_once_with_the_day_the_chair_was_told_when_given(client, fakes):
    page = client.get(f"/plans/{PLAN_ID}/significant-changes/new").get_data(as_text=True)
    assert "When did the core group notice the change?" in page
    fields = form_fields(page)
    missing = client.post(f"/plans/{PLAN_ID}/significant-changes/new", data=fields)
    text = missing.get_data(as_text=True)
    assert (
        missing.status_code == 422 and "Enter the date the change was noticed" in text and "Enter what changed" in text
    )
    path = f"/v1/plans/{PLAN_ID}/significant-changes"
    assert not fakes["plans"].sent("POST", path)
    fakes["plans"].routes[("POST", path)] = (201, {"id": "g1"})
    data = {**fields, "noticed_on": ["9", "3", "2026"], "description": " Father released from prison "}
    assert client.post(f"/plans/{PLAN_ID}/significant-changes/new", data=data).status_code == 302
    told = {**data, "chair_told_on": ["10", "3", "2026"]}
    assert client.post(f"/plans/{PLAN_ID}/significant-changes/new", data=told).status_code == 302
    first, second = fakes["plans"].sent("POST", path)
    assert first["json"] == {"noticed_on": "2026-03-09", "description": "Father released from prison"}
    assert second["json"] == {**first["json"], "chair_told_on": "2026-03-10"}
    assert first["headers"]["Idempotency-Key"] == fields["idempotency_key"]
    assert "The significant change is recorded." in client.get(f"/plans/{PLAN_ID}").get_data(as_text=True)


def test_the_day_the_chair_was_told_is_sent_and_a_refusal_shows_the_services_reason(client, fakes):
    form = f"/plans/{PLAN_ID}/significant-changes/{CHANGE_ID}/referral"
    page = client.get(form).get_data(as_text=True)
    assert "Mother&#39;s new partner moved in" in page and "5 March 2026" in page
    fields = form_fields(page)
    path = f"/v1/plans/{PLAN_ID}/significant-changes/{CHANGE_ID}/referral"
    fakes["plans"].routes[("POST", path)] = (
        409,
        {"code": 409, "message": "the chair was told of this change on 2026-03-06"},
    )
    refused = client.post(form, data={**fields, "told_on": ["7", "3", "2026"]})
    assert refused.status_code == 422 and "the chair was told of this change on 2026-03-06" in refused.get_data(
        as_text=True
    )
    fakes["plans"].routes[("POST", path)] = (200, {"id": CHANGE_ID})
    assert client.post(form, data={**fields, "told_on": ["6", "3", "2026"]}).status_code == 302
    assert fakes["plans"].sent("POST", path)[-1]["json"] == {"told_on": "2026-03-06"}
    assert client.get(f"/plans/{PLAN_ID}/significant-changes/no-such-change/referral").status_code == 404


# --- documents ---


def a_document(doc_id, kind, fmt, version=2):
    return {
        "id": doc_id,
        "kind": kind,
        "plan_version": version,
        "format": fmt,
        "language": "en",
        "large_print": False,
        "created_at": "2026-03-02T10:00:00+00:00",
        "url": f"/v1/documents/{doc_id}",
    }


def test_documents_of_the_plan_and_case_open_through_the_app_with_the_token_in_a_header(client, fakes):
    record = a_document(uuid.uuid4().hex, "conference_record", "pdf", None)
    fakes["docs"].routes.update(
        {
            ("GET", f"/v1/plans/{PLAN_ID}/documents"): (
                200,
                {
                    "documents": [
                        a_document(DOC_PDF, "professional_plan", "pdf"),
                        a_document(DOC_HTML, "family_plan", "html"),
                    ]
                },
            ),
            ("GET", f"/v1/cases/{CASE_ID}/documents"): (
                200,
                {"documents": [a_document(DOC_PDF, "professional_plan", "pdf"), record]},
            ),
            ("GET", f"/v1/documents/{DOC_PDF}"): (
                200,
                b"%PDF-1.7 a plan",
                {
                    "Content-Type": "application/pdf",
                    "ETag": '"abc"',
                    "Content-Disposition": 'inline; filename="professional_plan-v2-en.pdf"',
                },
            ),
            ("GET", f"/v1/documents/{DOC_HTML}"): (
                200,
                b"<html><body><p style='color:red'>Your plan</p></body></html>",
                {"Content-Type": "text/html; charset=utf-8"},
            ),
        }
    )
    body = client.get(f"/plans/{PLAN_ID}/documents").get_data(as_text=True)
    text = text_of(body)
    assert "Child protection plan" in text and "Child protection plan, family version" in text
    assert "The family" in text and "Professionals" in text and "Conference record" in text
    assert body.count(f'href="/documents/{DOC_PDF}"') == 1  # the plan's, not again as the case's
    assert "token" not in body.lower().replace("csrf", "")

    pdf = client.get(f"/documents/{DOC_PDF}")
    assert pdf.status_code == 200 and pdf.data == b"%PDF-1.7 a plan" and pdf.mimetype == "application/pdf"
    assert pdf.headers["Content-Disposition"] == 'inline; filename="professional_plan-v2-en.pdf"'
    assert pdf.headers["Cache-Control"] == "no-store"
    [fetched] = fakes["docs"].sent("GET", f"/v1/documents/{DOC_PDF}")
    assert fetched["headers"]["Authorization"].startswith("Bearer ") and "?" not in fetched["raw_path"]
    page = client.get(f"/documents/{DOC_HTML}")
    assert page.data.startswith(b"<html>") and "sandbox" in page.headers["Content-Security-Policy"]
    assert "script-src" not in page.headers["Content-Security-Policy"]


def test_no_documents_yet_and_a_missing_one(client, fakes):
    body = client.get(f"/plans/{PLAN_ID}/documents").get_data(as_text=True)
    assert "No documents of the plan yet" in body
    assert client.get(f"/documents/{uuid.uuid4().hex}").status_code == 404


def test_the_docs_service_down_is_a_page_naming_it(client, fakes):
    fakes["docs"].routes[("GET", f"/v1/documents/{DOC_PDF}")] = (503, {"code": 503})
    page = client.get(f"/documents/{DOC_PDF}")
    assert page.status_code == 503 and "documents" in page.get_data(as_text=True)


def test_the_meeting_that_agrees_the_detailed_plan_adds_its_outcome_action_and_monitoring(client, fakes):
    """An outline plan has no outcomes, actions, monitoring or review arrangements: the meeting's form adds
    them to the plan's own content, the contingency plan prefilled as the plan has it."""
    outline = {k: v for k, v in CONTENT.items() if k not in ("outcomes", "actions", "monitoring")}
    fakes["plans"].routes[("GET", f"/v1/plans/{PLAN_ID}")] = (200, {**PLAN, "status": "outline", "content": outline})
    fields = form_fields(client.get(f"/plans/{PLAN_ID}/core-group-meetings/new").get_data(as_text=True))
    assert fields["contingency_plan"] == "A legal planning meeting is called"
    assert fields["triggers"] == "Rosa is found alone at home"
    fakes["plans"].routes[("POST", f"/v1/plans/{PLAN_ID}/core-group-meetings")] = (201, {"id": "m1"})
    data = {
        **fields,
        "held_on": ["3", "3", "2026"],
        "detailed_plan_agreed": "yes",
        "outcome": "Rosa lives in a safe home",
        "outcome_term": "short",
        "outcome_on": ["30", "9", "2026"],
        "outcome_judged": "Visits find the home safe",
        "action_what": "Clear the kitchen",
        "action_why": "Hygiene risk",
        "action_who": "Alex Parent",
        "action_who_kind": "family_member",
        "action_by": ["30", "4", "2026"],
        "monitoring_who": "Hana Visitor",
        "monitoring_agency": "NHS",
        "monitoring_what": "Sees Rosa at home",
        "monitoring_contact": "home_visit",
        "monitoring_every": "2",
        "monitoring_unit": "weeks",
        "next_review_on": ["1", "6", "2026"],
        "review_judged": "At the review",
    }
    assert client.post(f"/plans/{PLAN_ID}/core-group-meetings/new", data=data).status_code == 302
    [sent] = fakes["plans"].sent("POST", f"/v1/plans/{PLAN_ID}/core-group-meetings")
    plan = sent["json"]["plan"]
    assert {k: plan[k] for k in outline} == outline  # the plan's own content, kept
    assert plan["outcomes"] == [
        {
            "id": "outcome-1",
            "description": "Rosa lives in a safe home",
            "term": "short",
            "target_date": "2026-09-30",
            "how_progress_judged": "Visits find the home safe",
        }
    ]
    assert plan["actions"] == [
        {
            "id": "action-1",
            "what": "Clear the kitchen",
            "why": "Hygiene risk",
            "who": {"name": "Alex Parent", "kind": "family_member"},
            "by_when": "2026-04-30",
            "outcome_id": "outcome-1",
        }
    ]
    assert plan["monitoring"] == [
        {
            "who": "Hana Visitor",
            "agency": "NHS",
            "what": "Sees Rosa at home",
            "contact_type": "home_visit",
            "frequency": {"every": 2, "unit": "weeks"},
        }
    ]
    assert plan["review_arrangements"] == {"next_review_date": "2026-06-01", "how_progress_judged": "At the review"}


def test_a_detailed_plans_section_the_service_refuses_shows_on_its_field(client, fakes):
    fields = form_fields(client.get(f"/plans/{PLAN_ID}/core-group-meetings/new").get_data(as_text=True))
    fakes["plans"].routes[("POST", f"/v1/plans/{PLAN_ID}/core-group-meetings")] = (
        422,
        {"code": 422, "errors": {"json": {"plan": {"outcomes": {"1": {"target_date": ["Not a valid date."]}}}}}},
    )
    page = client.post(
        f"/plans/{PLAN_ID}/core-group-meetings/new",
        data={**fields, "held_on": ["3", "3", "2026"], "detailed_plan_agreed": "yes", "outcome": "Rosa is safe"},
    )
    body = page.get_data(as_text=True)
    assert page.status_code == 422 and 'href="#outcome"' in body and "Not a valid date." in body


def test_a_welsh_plan_and_its_documents_are_named_a_care_and_support_protection_plan(tmp_path, fakes):
    settings = make_settings(tmp_path, fakes, CPP_PLUGINS="wales")
    load_dev_key(settings.dev_signing_key_file, create=True)
    app = create_app(settings)
    app.config["TESTING"] = True
    wales = app.test_client()
    sign_in(wales)
    fakes["docs"].routes.update(
        {
            ("GET", f"/v1/plans/{PLAN_ID}/documents"): (
                200,
                {
                    "documents": [
                        a_document(DOC_PDF, "professional_plan", "pdf"),
                        a_document(DOC_HTML, "core_group_record", "html"),
                    ]
                },
            ),
            ("GET", f"/v1/cases/{CASE_ID}/documents"): (200, {"documents": []}),
        }
    )
    page = text_of(wales.get(f"/plans/{PLAN_ID}").get_data(as_text=True))
    assert "Care and support protection plan" in page and "Categories of abuse and neglect" in page
    documents = text_of(wales.get(f"/plans/{PLAN_ID}/documents").get_data(as_text=True))
    assert "Care and support protection plan" in documents and "Core group meeting record" in documents
    for text in (page, documents):
        assert "child protection plan" not in text.lower() and "categories of harm" not in text.lower()


# --- the plan's rhythm ---


def test_the_plan_page_shows_the_plans_rhythm_and_the_councils_usual_frequency_where_it_states_none(client, fakes):
    stated = {**CONTENT, "rhythm": {"visits": {"every": 10, "unit": "working_days"}}}
    fakes["plans"].routes[("GET", f"/v1/plans/{PLAN_ID}")] = (200, {**PLAN, "content": stated}, {"ETag": '"7"'})
    text = text_of(client.get(f"/plans/{PLAN_ID}").get_data(as_text=True))
    assert "Visits and core group meetings" in text
    assert "Visits: the child seen every 10 working days" in text
    assert "Seen alone: as often as the council usually asks" in text
    assert "Core group: meets as often as the council usually asks" in text


def test_the_meeting_that_changes_the_rhythm_sends_it_prefilled_as_the_plan_has_it(client, fakes):
    stated = {**CONTENT, "rhythm": {"visits": {"every": 10, "unit": "working_days"}}}
    fakes["plans"].routes[("GET", f"/v1/plans/{PLAN_ID}")] = (200, {**PLAN, "content": stated}, {"ETag": '"7"'})
    fields = form_fields(client.get(f"/plans/{PLAN_ID}/core-group-meetings/new").get_data(as_text=True))
    assert fields["visits_every"] == "10"
    fakes["plans"].routes[("POST", f"/v1/plans/{PLAN_ID}/core-group-meetings")] = (201, {"id": "m1"})
    data = {
        **fields,
        "held_on": ["3", "3", "2026"],
        "detailed_plan_agreed": "yes",
        "visits_every": "5",
        "visits_unit": "working_days",
        "core_group_every": "4",
        "core_group_unit": "weeks",
    }
    assert client.post(f"/plans/{PLAN_ID}/core-group-meetings/new", data=data).status_code == 302
    [sent] = fakes["plans"].sent("POST", f"/v1/plans/{PLAN_ID}/core-group-meetings")
    assert sent["json"]["plan"]["rhythm"] == {
        "visits": {"every": 5, "unit": "working_days"},
        "core_group": {"every": 4, "unit": "weeks"},
    }
    assert {k: sent["json"]["plan"][k] for k in CONTENT} == CONTENT  # the rest as the plan has it


def test_a_rhythm_looser_than_the_councils_limit_shows_on_its_question(client, fakes):
    fields = form_fields(client.get(f"/plans/{PLAN_ID}/core-group-meetings/new").get_data(as_text=True))
    limit = "Every 8 weeks is looser than the limit, every 6 weeks (source: Tees CPP (V2))."
    fakes["plans"].routes[("POST", f"/v1/plans/{PLAN_ID}/core-group-meetings")] = (
        422,
        {"code": 422, "errors": {"json": {"plan": {"rhythm": {"core_group": [limit]}}}}},
    )
    page = client.post(
        f"/plans/{PLAN_ID}/core-group-meetings/new",
        data={**fields, "held_on": ["3", "3", "2026"], "detailed_plan_agreed": "yes", "core_group_every": "8"},
    )
    body = page.get_data(as_text=True)
    assert page.status_code == 422 and 'href="#core_group_every"' in body and "every 6 weeks (source: Tees" in body
