"""A partner's pages (the NHS-number lookup, webhook subscriptions and
deliveries) and a plan's calendar subscription, with Flask's test client and
the services played by small HTTP servers on loopback: what the pages send,
the forms' own errors, a 422's on their fields, a 409's reason, the lookup's
rate limit, and the secret and the feed's address shown once and kept
nowhere."""

from __future__ import annotations

import html as markup
import logging

import pytest

from cpp_web.partner import moment, nhs_words
from tests.web.test_team import app_with
from tests.web.test_team import text_of as tags_off
from tests.web.test_web_app import csrf_of, sign_in

NHS = "9434765919"
PLAN = {
    "id": "plan-1",
    "case_id": "case-1",
    "child_id": "child-1",
    "status": "active",
    "plan_version": 2,
    "content": {},
    "agreed": {},
}
SECRET = "whsec_c2VjcmV0LW9mLXRoZS10ZXN0LWZvci10aGUtcGFnZXM="
FEED_KEY = "k3y-of-the-feed-shown-once"


@pytest.fixture
def app(tmp_path, fakes):
    return app_with(tmp_path, fakes)


def text_of(resp) -> str:
    return markup.unescape(tags_off(resp))


def partner(app):
    client = app.test_client()
    sign_in(client, "demo-partner-1")
    return client


def worker(app, user="demo-sw-1"):
    client = app.test_client()
    sign_in(client, user)
    return client


def post(client, path, data=None, form_path=None):
    page = client.get(form_path or path)
    return client.post(path, data={"csrf_token": csrf_of(page.get_data(as_text=True)), **(data or {})})


def answer(status="in_force", **contact):
    return {
        "nhs_number": NHS,
        "status": status,
        "summary": "...",
        "subject_of_plan": status == "in_force",
        "since": "2026-05-14" if status != "none" else None,
        "ended_on": "2026-09-01" if status == "ended" else None,
        "ended_plans_told_for_months": 12,
        "categories": ["neglect"] if status == "in_force" else [],
        "plan_status": "active" if status == "in_force" else None,
        "contact": {
            "team": "Bromley children's services",
            "phone": "020 8464 3333",
            "email": None,
            "out_of_hours_phone": "020 8464 4524",
            "key_worker": None if status == "none" else "Sam Okafor",
            "key_worker_phone": None if status == "none" else "020 8313 0001",
            **contact,
        },
    }


# --- the partner's navigation ---


def test_a_partner_lands_on_the_lookup_and_has_their_own_navigation(app, fakes):
    client = app.test_client()
    resp = sign_in(client, "demo-partner-1")
    assert resp.headers["Location"] == "/"
    assert client.get("/").headers["Location"] == "/lookup"
    assert client.get("/home").headers["Location"] == "/lookup"
    html = client.get("/lookup").get_data(as_text=True)
    nav = html.split('class="govuk-service-navigation__list"')[1].split("</ul>")[0]
    assert [t for t in ("Lookup", "Subscriptions", "Deliveries", "Sign out") if t in nav] == [
        "Lookup",
        "Subscriptions",
        "Deliveries",
        "Sign out",
    ]
    assert "My work" not in nav and "Home" not in nav and "Find a child" not in nav


def test_the_partner_pages_are_a_partners(app, fakes):
    client = worker(app)
    for path in ("/lookup", "/subscriptions", "/subscriptions/new", "/deliveries"):
        assert client.get(path).headers["Location"] == "/home", path
    assert not fakes["plans"].sent("GET", "/v1/lookup")


# --- the lookup ---


def test_the_lookup_shows_only_the_minimal_answer_and_says_the_key_worker_was_told(app, fakes):
    fakes["plans"].routes[("GET", "/v1/lookup")] = (200, answer("in_force"))
    client = partner(app)
    resp = post(client, "/lookup", {"nhs_number": "943-476-5919"})
    assert resp.status_code == 200
    [asked] = fakes["plans"].sent("GET", "/v1/lookup")
    assert asked["query"] == {"nhs_number": [NHS]}  # as its digits; posted, so never in the page's URL
    text = text_of(resp)
    assert "Child protection plan in force" in text and "since 14 May 2026" in text
    assert "NHS number 943 476 5919" in text
    for shown in ("Sam Okafor", "020 8313 0001", "Bromley children's services", "020 8464 4524"):
        assert shown in text
    assert "Sam Okafor, the key worker, has been told that you looked up this child" in text
    assert "neglect" not in text.lower()  # only the minimal answer
    assert resp.headers["Cache-Control"] == "no-store"


def test_an_ended_plan_and_no_plan(app, fakes):
    client = partner(app)
    fakes["plans"].routes[("GET", "/v1/lookup")] = (200, answer("ended"))
    text = text_of(post(client, "/lookup", {"nhs_number": NHS}))
    assert "Child protection plan ended" in text and "ended on 1 September 2026" in text and "Sam Okafor" in text
    fakes["plans"].routes[("GET", "/v1/lookup")] = (200, answer("none"))
    text = text_of(post(client, "/lookup", {"nhs_number": NHS}))
    assert "No child protection plan" in text and "not subject of a child protection plan" in text
    assert "Key worker" not in text and "has been told" not in text and "Your lookup is recorded" in text
    assert "020 8464 4524" in text


@pytest.mark.parametrize(
    "typed,message",
    [
        ("", "Enter the child's NHS number"),
        ("943 476 591", "Enter an NHS number in the correct format, like 943 476 5919"),
        ("94347659190", "Enter an NHS number in the correct format, like 943 476 5919"),
        ("943x476x5919", "Enter an NHS number in the correct format, like 943 476 5919"),
    ],
)
def test_a_bad_nhs_number_is_a_field_error_and_nothing_is_looked_up(app, fakes, typed, message):
    resp = post(partner(app), "/lookup", {"nhs_number": typed})
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    escaped = message.replace("'", "&#39;")
    assert f'<a href="#nhs_number">{escaped}</a>' in html  # the summary links to the field
    assert 'id="nhs_number-error"' in html and "<title>Error:" in html
    assert not fakes["plans"].sent("GET", "/v1/lookup")


def test_the_services_check_digit_refusal_is_on_the_field(app, fakes):
    fakes["plans"].routes[("GET", "/v1/lookup")] = (
        422,
        {
            "code": 422,
            "message": "Unprocessable Entity",
            "errors": {"query": {"nhs_number": ["NHS number 9434765918 fails its check digit"]}},
        },
    )
    resp = post(partner(app), "/lookup", {"nhs_number": "9434765918"})
    assert resp.status_code == 400
    assert '<a href="#nhs_number">NHS number 9434765918 fails its check digit</a>' in resp.get_data(as_text=True)


def test_too_many_lookups_is_a_page_in_plain_words(app, fakes):
    fakes["plans"].routes[("GET", "/v1/lookup")] = (
        429,
        {"code": 429, "message": "Too Many Requests"},
        {"Retry-After": "42"},
    )
    resp = post(partner(app), "/lookup", {"nhs_number": NHS})
    assert resp.status_code == 429
    assert "You have looked up too many children in a short time" in text_of(resp)
    assert "Wait a minute" in text_of(resp)


# --- subscriptions ---


def subscription(status="active", **extra):
    return {
        "id": "sub_1",
        "owner": "demo-partner-1",
        "url": "https://hooks.example.org/cp",
        "event_types": ["plan.*", "conference.*"],
        "description": "Health visiting",
        "status": status,
        "created_at": 1_780_000_000.0,
        "secrets": [{"created_at": 1_780_000_000.0, "expires_at": None}],
        "version": 1,
        **extra,
    }


def test_the_subscriptions_list(app, fakes):
    fakes["notify"].routes[("GET", "/v1/subscriptions")] = (
        200,
        {"items": [subscription(), subscription("paused", id="sub_2")]},
    )
    resp = partner(app).get("/subscriptions")
    text = text_of(resp)
    assert "https://hooks.example.org/cp" in text and "plan.*, conference.*" in text
    assert "Active" in text and "Paused" in text and 'href="/subscriptions/sub_2"' in resp.get_data(as_text=True)


def test_creating_a_subscription_shows_the_secret_once_and_keeps_it_nowhere(app, fakes, caplog):
    fakes["notify"].routes[("POST", "/v1/subscriptions")] = (201, {**subscription(), "secret": SECRET})
    client = partner(app)
    form = client.get("/subscriptions/new").get_data(as_text=True)
    key = form.split('name="key" type="hidden" value="')[1].split('"')[0]
    with caplog.at_level(logging.DEBUG):
        resp = client.post(
            "/subscriptions/new",
            data={
                "csrf_token": csrf_of(form),
                "key": key,
                "url": " https://hooks.example.org/cp ",
                "event_types": "plan.*\r\nconference.held.v1, core_group.*\r\n",
                "description": "Health visiting",
            },
        )
    assert resp.status_code == 200
    [sent] = fakes["notify"].sent("POST", "/v1/subscriptions")
    assert sent["json"] == {
        "url": "https://hooks.example.org/cp",
        "description": "Health visiting",
        "event_types": ["plan.*", "conference.held.v1", "core_group.*"],
    }
    assert sent["headers"]["Idempotency-Key"] == key
    html = resp.get_data(as_text=True)
    assert SECRET in html and "This secret will not be shown again" in html
    assert resp.headers["Cache-Control"] == "no-store"
    assert SECRET not in caplog.text
    with client.session_transaction() as stored:
        assert SECRET not in repr(dict(stored))
    fakes["notify"].routes[("GET", "/v1/subscriptions/sub_1")] = (200, subscription())
    assert SECRET not in client.get("/subscriptions/sub_1").get_data(as_text=True)


def test_the_subscription_forms_own_rules(app, fakes):
    resp = post(
        partner(app),
        "/subscriptions/new",
        {"url": "http://hooks.example.org/cp", "event_types": " \n "},
        form_path="/subscriptions/new",
    )
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert '<a href="#url">Enter the receiver&#39;s address starting with https://</a>' in html
    assert '<a href="#event_types">Enter at least one event type</a>' in html
    assert not fakes["notify"].sent("POST", "/v1/subscriptions")
    resp = post(partner(app), "/subscriptions/new", {"url": "", "event_types": "plan.*"})
    assert "Enter the receiver&#39;s address" in resp.get_data(as_text=True)


def test_the_services_refusals_are_on_their_fields(app, fakes):
    fakes["notify"].routes[("POST", "/v1/subscriptions")] = (
        422,
        {
            "code": 422,
            "message": "receiver address refused",
            "errors": {
                "json": {
                    "url": [
                        "the host '127.0.0.1' resolves to 127.0.0.1, which is not a public address; an admin may allow a private "
                        "receiver"
                    ],
                    "event_types": ["deadline.*: not delivered to partners"],
                }
            },
        },
    )
    resp = post(partner(app), "/subscriptions/new", {"url": "https://127.0.0.1/hook", "event_types": "deadline.*"})
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert '<a href="#url">The host &#39;127.0.0.1&#39; resolves to 127.0.0.1, which is not a public address' in html
    assert '<a href="#event_types">Deadline.*: not delivered to partners</a>' in html
    assert 'value="https://127.0.0.1/hook"' in html  # what was typed is kept


def test_pause_resume_and_a_refusal(app, fakes):
    fakes["notify"].routes[("GET", "/v1/subscriptions/sub_1")] = (200, subscription())
    fakes["notify"].routes[("POST", "/v1/subscriptions/sub_1/pause")] = (200, subscription("paused"))
    client = partner(app)
    page = client.get("/subscriptions/sub_1").get_data(as_text=True)
    assert 'action="/subscriptions/sub_1/pause"' in page
    resp = client.post("/subscriptions/sub_1/pause", data={"csrf_token": csrf_of(page)})
    assert resp.status_code == 302 and resp.headers["Location"] == "/subscriptions/sub_1"
    assert len(fakes["notify"].sent("POST", "/v1/subscriptions/sub_1/pause")) == 1
    assert "The subscription is paused" in client.get("/subscriptions/sub_1").get_data(as_text=True)
    fakes["notify"].routes[("GET", "/v1/subscriptions/sub_1")] = (200, subscription("paused"))
    fakes["notify"].routes[("POST", "/v1/subscriptions/sub_1/resume")] = (200, subscription())
    page = client.get("/subscriptions/sub_1").get_data(as_text=True)
    assert 'action="/subscriptions/sub_1/resume"' in page
    assert client.post("/subscriptions/sub_1/resume", data={"csrf_token": csrf_of(page)}).status_code == 302
    fakes["notify"].routes[("POST", "/v1/subscriptions/sub_1/pause")] = (
        409,
        {"code": 409, "message": "the subscription is disabled; resume it instead"},
    )
    resp = client.post("/subscriptions/sub_1/pause", data={"csrf_token": csrf_of(page)})
    assert resp.status_code == 409
    assert "The subscription is disabled; resume it instead." in text_of(resp)
    assert client.post("/subscriptions/sub_1/pause").status_code == 400  # no CSRF token


def test_rotating_the_secret_asks_first_and_shows_the_new_one_once(app, fakes):
    fakes["notify"].routes[("GET", "/v1/subscriptions/sub_1")] = (200, subscription())
    fakes["notify"].routes[("POST", "/v1/subscriptions/sub_1/secret")] = (200, {**subscription(), "secret": SECRET})
    client = partner(app)
    page = client.get("/subscriptions/sub_1/secret")
    assert "The old secret still signs events for 24 hours" in text_of(page) and "Cancel" in text_of(page)
    assert not fakes["notify"].sent("POST", "/v1/subscriptions/sub_1/secret")
    resp = client.post("/subscriptions/sub_1/secret", data={"csrf_token": csrf_of(page.get_data(as_text=True))})
    assert resp.status_code == 200 and SECRET in resp.get_data(as_text=True)
    assert "New signing secret" in text_of(resp) and "will not be shown again" in text_of(resp)


def test_deleting_asks_first(app, fakes):
    fakes["notify"].routes[("GET", "/v1/subscriptions/sub_1")] = (200, subscription())
    fakes["notify"].routes[("DELETE", "/v1/subscriptions/sub_1")] = (204, b"")
    fakes["notify"].routes[("GET", "/v1/subscriptions")] = (200, {"items": []})
    client = partner(app)
    page = client.get("/subscriptions/sub_1/delete")
    assert "Are you sure you want to delete this subscription?" in text_of(page)
    assert "Yes, delete the subscription" in text_of(page) and "No, keep it" in text_of(page)
    assert not fakes["notify"].sent("DELETE", "/v1/subscriptions/sub_1")
    resp = client.post("/subscriptions/sub_1/delete", data={"csrf_token": csrf_of(page.get_data(as_text=True))})
    assert resp.headers["Location"] == "/subscriptions"
    assert len(fakes["notify"].sent("DELETE", "/v1/subscriptions/sub_1")) == 1
    assert "is deleted" in text_of(client.get("/subscriptions"))


# --- deliveries ---


def delivery(id_, state, attempts):
    return {
        "id": id_,
        "subscription_id": "sub_1",
        "event_id": "ev-1",
        "event_type": "plan.created.v1",
        "state": state,
        "attempt_count": len(attempts),
        "attempts": attempts,
        "created_at": 1_780_000_000.0,
        "next_attempt_at": None,
        "delivered_at": None,
        "gave_up_at": None,
        "redeliveries": [],
    }


def test_deliveries_show_each_attempt_and_send_again(app, fakes):
    fakes["notify"].routes[("GET", "/v1/subscriptions")] = (200, {"items": [subscription()]})
    fakes["notify"].routes[("GET", "/v1/deliveries")] = (
        200,
        {
            "items": [
                delivery(
                    "msg_1",
                    "failed",
                    [
                        {"at": 1_780_000_005.0, "status_code": 503, "latency_ms": 120.4, "error": None},
                        {"at": 1_780_000_305.0, "status_code": None, "latency_ms": 3000.0, "error": "ConnectTimeout"},
                    ],
                ),
                delivery("msg_2", "queued", []),
            ],
            "page": 1,
            "page_size": 25,
            "total": 2,
        },
    )
    fakes["notify"].routes[("POST", "/v1/deliveries/msg_1/redeliver")] = (202, delivery("msg_1", "ready", []))
    client = partner(app)
    page = client.get("/deliveries")
    text = text_of(page)
    assert "answered 503 in 120 ms" in text and "no answer (ConnectTimeout) after 3000 ms" in text
    assert "Failed" in text and "Queued behind an earlier delivery" in text and "https://hooks.example.org/cp" in text
    html = page.get_data(as_text=True)
    assert 'action="/deliveries/msg_1/redeliver"' in html and 'action="/deliveries/msg_2/redeliver"' not in html
    assert fakes["notify"].sent("GET", "/v1/deliveries")[0]["query"] == {"page": ["1"], "page_size": ["25"]}
    resp = client.post("/deliveries/msg_1/redeliver", data={"csrf_token": csrf_of(html)})
    assert resp.headers["Location"] == "/deliveries"
    assert "being sent again" in text_of(client.get("/deliveries"))
    fakes["notify"].routes[("POST", "/v1/deliveries/msg_1/redeliver")] = (
        409,
        {"code": 409, "message": "the delivery is ready: it will be sent in its turn"},
    )
    resp = client.post("/deliveries/msg_1/redeliver", data={"csrf_token": csrf_of(html)})
    assert resp.status_code == 409 and "The delivery is ready: it will be sent in its turn." in text_of(resp)


def test_many_deliveries_are_paged(app, fakes):
    fakes["notify"].routes[("GET", "/v1/subscriptions")] = (200, {"items": []})
    fakes["notify"].routes[("GET", "/v1/deliveries")] = (
        200,
        {"items": [delivery("msg_9", "delivered", [])], "page": 2, "page_size": 25, "total": 60},
    )
    html = partner(app).get("/deliveries?page=2").get_data(as_text=True)
    assert fakes["notify"].sent("GET", "/v1/deliveries")[0]["query"]["page"] == ["2"]
    assert 'href="/deliveries?page=1"' in html and 'href="/deliveries?page=3"' in html
    assert "A deleted subscription" in html


def test_words():
    assert nhs_words(NHS) == "943 476 5919"
    assert moment(1_780_000_000.0) == "28 May 2026 at 9:26pm"


# --- a plan's calendar ---


def feed(id_, status="active"):
    return {
        "id": id_,
        "plan_id": "plan-1",
        "created_at": "2026-12-01T09:00:00+00:00",
        "expires_at": "2027-03-01T09:00:00+00:00",
        "revoked_at": None,
        "status": status,
    }


def calendar_services(fakes, feeds=()):
    fakes["plans"].routes[("GET", "/v1/plans/plan-1")] = (200, PLAN, {"ETag": '"2"'})
    fakes["plans"].routes[("GET", "/v1/plans/plan-1/significant-changes")] = (200, {"plan_id": "plan-1", "items": []})
    fakes["plans"].routes[("GET", "/v1/children/child-1")] = (
        200,
        {"id": "child-1", "given_names": "Rosa", "family_name": "Fictional"},
    )
    fakes["scheduler"].routes[("GET", "/v1/plans/plan-1/calendar-feeds")] = (200, {"items": list(feeds)})


def test_the_plan_page_links_to_its_calendar_for_those_who_make_feeds(app, fakes):
    calendar_services(fakes)
    fakes["docs"].routes[("GET", "/v1/plans/plan-1/documents")] = (200, {"documents": []})
    for user, shown in (("demo-sw-1", True), ("demo-tm-1", True), ("demo-chair-1", True), ("demo-auditor-1", False)):
        html = worker(app, user).get("/plans/plan-1").get_data(as_text=True)
        assert ('href="/plans/plan-1/calendar"' in html) is shown, user


def test_subscribing_shows_the_address_once_with_how_to_add_it_to_outlook(app, fakes, caplog):
    calendar_services(fakes, [feed("feed-old"), feed("feed-gone", "revoked")])
    address = f"https://cpp.example.org/v1/plans/plan-1/calendar.ics?key={FEED_KEY}"
    fakes["scheduler"].routes[("POST", "/v1/plans/plan-1/calendar-feeds")] = (
        201,
        {**feed("feed-new"), "url": address, "key": FEED_KEY},
    )
    client = worker(app)
    page = client.get("/plans/plan-1/calendar")
    text = text_of(page)
    assert "Subscribe to this plan's calendar" in text and "Rosa Fictional" in text
    html = page.get_data(as_text=True)
    assert 'href="/plans/plan-1/calendar/feed-old/revoke"' in html and "feed-gone" not in html  # working ones only
    key = html.split('name="key" type="hidden" value="')[1].split('"')[0]
    with caplog.at_level(logging.DEBUG):
        resp = client.post("/plans/plan-1/calendar", data={"csrf_token": csrf_of(html), "key": key, "days": ""})
    assert resp.status_code == 200
    [sent] = fakes["scheduler"].sent("POST", "/v1/plans/plan-1/calendar-feeds")
    assert sent["json"] == {} and sent["headers"]["Idempotency-Key"] == key
    text = text_of(resp)
    assert address in resp.get_data(as_text=True).replace("&amp;", "&")
    assert "Add calendar" in text and "Subscribe from web" in text and "will not be shown again" in text
    assert "until 1 March 2027" in text
    assert resp.headers["Cache-Control"] == "no-store"
    assert FEED_KEY not in caplog.text
    with client.session_transaction() as stored:
        assert FEED_KEY not in repr(dict(stored))
    assert FEED_KEY not in client.get("/plans/plan-1/calendar").get_data(as_text=True)


def test_the_days_asked_for_and_their_errors(app, fakes):
    calendar_services(fakes)
    fakes["scheduler"].routes[("POST", "/v1/plans/plan-1/calendar-feeds")] = (
        422,
        {"code": 422, "message": "too long", "errors": {"json": {"days": ["A feed's key works for at most 30 days."]}}},
    )
    client = worker(app, "demo-chair-1")
    for typed, message in (
        ("soon", "Enter how many days as a whole number, like 90"),
        ("0", "Enter a number of days of 1 or more"),
    ):
        resp = post(client, "/plans/plan-1/calendar", {"days": typed})
        assert resp.status_code == 400
        assert f'<a href="#days">{message}</a>' in resp.get_data(as_text=True)
    assert not fakes["scheduler"].sent("POST", "/v1/plans/plan-1/calendar-feeds")
    resp = post(client, "/plans/plan-1/calendar", {"days": "60"})
    assert resp.status_code == 400
    assert fakes["scheduler"].sent("POST", "/v1/plans/plan-1/calendar-feeds")[0]["json"] == {"days": 60}
    assert '<a href="#days">A feed&#39;s key works for at most 30 days.</a>' in resp.get_data(as_text=True)


def test_revoking_a_feed_asks_first(app, fakes):
    calendar_services(fakes, [feed("feed-1")])
    fakes["scheduler"].routes[("DELETE", "/v1/calendar-feeds/feed-1")] = (204, b"")
    client = worker(app)
    page = client.get("/plans/plan-1/calendar/feed-1/revoke")
    assert "Are you sure you want to stop this calendar address?" in text_of(page)
    assert "made on 1 December 2026" in text_of(page)
    assert not fakes["scheduler"].sent("DELETE", "/v1/calendar-feeds/feed-1")
    resp = client.post(
        "/plans/plan-1/calendar/feed-1/revoke", data={"csrf_token": csrf_of(page.get_data(as_text=True))}
    )
    assert resp.headers["Location"] == "/plans/plan-1/calendar"
    assert len(fakes["scheduler"].sent("DELETE", "/v1/calendar-feeds/feed-1")) == 1
    assert "The calendar address is stopped" in text_of(client.get("/plans/plan-1/calendar"))
    assert client.get("/plans/plan-1/calendar/someone-elses/revoke").status_code == 404


def test_the_calendar_pages_are_for_those_who_make_feeds(app, fakes):
    calendar_services(fakes)
    for user in ("demo-auditor-1", "demo-partner-1"):
        resp = worker(app, user).get("/plans/plan-1/calendar")
        assert resp.status_code == 302, user
    assert not fakes["scheduler"].sent("GET", "/v1/plans/plan-1/calendar-feeds")
