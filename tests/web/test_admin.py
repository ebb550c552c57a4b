"""An admin's pages with Flask's test client and the services played on
loopback: the subscriptions and their scopes (the checkboxes, a 422 on
them, a change made since the form was opened, pause and resume), the
parked messages per service (a service or the broker that is down is named
on the page, never a 500) and the effective timetable."""

from __future__ import annotations

import html
import re

import pytest

from cpp_shared.auth import load_dev_key
from cpp_web.admin import grades, offset_words
from cpp_web.app import create_app
from tests.web.test_web_app import csrf_of, make_settings, sign_in


@pytest.fixture
def app(tmp_path, fakes):
    settings = make_settings(tmp_path, fakes)
    load_dev_key(settings.dev_signing_key_file, create=True)
    app = create_app(settings)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def admin(app):
    client = app.test_client()
    sign_in(client, "demo-admin-1")
    return client


def text_of(resp) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True))))


def subscription(id_="sub_1", status="active", classes=("identifier", "status", "date", "contact"), version=3):
    return {
        "id": id_,
        "owner": "Northside Health Centre",
        "url": "https://health.example/hooks/cpp",
        "event_types": ["plan.*", "conference.held.v1"],
        "description": "Health visiting",
        "status": status,
        "allow_private": False,
        "audience": "partner",
        "scope": {"classes": list(classes)},
        "escalation_routes": [],
        "created_by": "demo-admin-1",
        "created_at": 1767603600.0,
        "failing_since": None,
        "disabled": None,
        "secrets": [],
        "version": version,
    }


# --- navigation ---


def test_an_admin_lands_on_the_subscriptions_and_has_the_admin_menu(admin, fakes):
    fakes["notify"].routes[("GET", "/v1/subscriptions")] = (200, {"items": []})
    home = admin.get("/")
    assert home.status_code == 302 and home.headers["Location"] == "/admin/subscriptions"
    page = admin.get("/admin/subscriptions")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    for href, text in (
        ("/admin/subscriptions", "Subscriptions"),
        ("/admin/parked", "Parked messages"),
        ("/admin/timetable", "Timetable"),
        ("/sign-out", "Sign out"),
    ):
        assert re.search(rf'href="{href}"[^>]*>\s*(<strong[^>]*>)?{text}', body), text
    assert "There are no subscriptions." in text_of(page)


def test_the_admin_pages_are_an_admins_only(app, fakes):
    client = app.test_client()
    sign_in(client, "demo-sw-1")
    for path in ("/admin/subscriptions", "/admin/parked", "/admin/timetable", "/admin/subscriptions/sub_1/scope"):
        resp = client.get(path)
        assert resp.status_code == 302 and resp.headers["Location"] == "/home", path
    assert not fakes["notify"].requests or all(r["path"] == "/healthz" for r in fakes["notify"].requests)


# --- subscriptions ---


def test_every_subscription_with_its_owner_receiver_events_status_and_scope(admin, fakes):
    fakes["notify"].routes[("GET", "/v1/subscriptions")] = (
        200,
        {
            "items": [
                subscription(),
                subscription("sub_2", status="paused", classes=("identifier", "personal_identifier")),
            ]
        },
    )
    page = admin.get("/admin/subscriptions")
    assert page.status_code == 200
    text = text_of(page)
    assert "Northside Health Centre: Health visiting" in text
    assert "https://health.example/hooks/cpp" in text and "plan.*, conference.held.v1" in text
    assert "Identifiers, Status, Dates, Contacts" in text and "Identifiers, Personal identifiers" in text
    assert "Active" in text and "Paused" in text
    body = page.get_data(as_text=True)
    assert 'action="/admin/subscriptions/sub_1/pause"' in body and 'action="/admin/subscriptions/sub_2/resume"' in body
    assert 'href="/admin/subscriptions/sub_1/scope"' in body
    assert "&lt;" not in body and re.search(
        r'>\s*Pause<span class="govuk-visually-hidden"> the subscription for '
        r"Northside Health Centre</span>",
        body,
    )
    [sent] = fakes["notify"].sent("GET", "/v1/subscriptions")
    assert sent["headers"]["Authorization"].startswith("Bearer ")


def test_pause_and_resume_post_to_notify_and_a_refusal_is_shown_in_words(admin, fakes):
    fakes["notify"].routes[("GET", "/v1/subscriptions")] = (200, {"items": [subscription()]})
    fakes["notify"].routes[("POST", "/v1/subscriptions/sub_1/pause")] = (200, subscription(status="paused"))
    page = admin.get("/admin/subscriptions")
    token = csrf_of(page.get_data(as_text=True))
    assert admin.post("/admin/subscriptions/sub_1/pause").status_code == 400  # no CSRF token
    done = admin.post("/admin/subscriptions/sub_1/pause", data={"csrf_token": token}, follow_redirects=True)
    assert "The subscription for Northside Health Centre is paused." in text_of(done)
    assert len(fakes["notify"].sent("POST", "/v1/subscriptions/sub_1/pause")) == 1
    fakes["notify"].routes[("POST", "/v1/subscriptions/sub_1/pause")] = (
        409,
        {"code": 409, "message": "the subscription is disabled; resume it instead"},
    )
    refused = admin.post("/admin/subscriptions/sub_1/pause", data={"csrf_token": token}, follow_redirects=True)
    assert "The subscription is disabled; resume it instead." in text_of(refused)


def test_the_scope_is_changed_with_checkboxes_and_if_match(admin, fakes):
    fakes["notify"].routes[("GET", "/v1/subscriptions/sub_1")] = (200, subscription(), {"ETag": '"3"'})
    fakes["notify"].routes[("PUT", "/v1/subscriptions/sub_1/scope")] = (200, subscription(version=4))
    fakes["notify"].routes[("GET", "/v1/subscriptions")] = (200, {"items": [subscription(version=4)]})
    form = admin.get("/admin/subscriptions/sub_1/scope")
    assert form.status_code == 200
    body = form.get_data(as_text=True)
    assert re.search(r'value="identifier"[^>]*checked', body) and not re.search(r'value="narrative"[^>]*checked', body)
    assert 'name="etag" type="hidden" value="&#34;3&#34;"' in body
    done = admin.post(
        "/admin/subscriptions/sub_1/scope",
        data={"csrf_token": csrf_of(body), "etag": '"3"', "classes": ["identifier", "personal_identifier"]},
    )
    assert done.status_code == 302 and done.headers["Location"] == "/admin/subscriptions"
    [put] = fakes["notify"].sent("PUT", "/v1/subscriptions/sub_1/scope")
    assert put["json"] == {"scope": {"classes": ["identifier", "personal_identifier"]}}
    assert put["headers"]["If-Match"] == '"3"'


def test_the_scope_form_errors_none_chosen_a_422_and_a_412(admin, fakes):
    fakes["notify"].routes[("GET", "/v1/subscriptions/sub_1")] = (200, subscription(), {"ETag": '"3"'})
    token = csrf_of(admin.get("/admin/subscriptions/sub_1/scope").get_data(as_text=True))
    none = admin.post("/admin/subscriptions/sub_1/scope", data={"csrf_token": token, "etag": '"3"'})
    assert none.status_code == 400
    assert re.search(
        r'govuk-error-summary.*href="#classes".*Select at least one kind of field', none.get_data(as_text=True), re.S
    )
    assert "<title>Error:" in none.get_data(as_text=True)
    assert not fakes["notify"].sent("PUT", "/v1/subscriptions/sub_1/scope")

    fakes["notify"].routes[("PUT", "/v1/subscriptions/sub_1/scope")] = (
        422,
        {
            "code": 422,
            "message": "invalid",
            "errors": {"json": {"scope": {"classes": {"0": ["Must be one of: identifier, status."]}}}},
        },
    )
    invalid = admin.post(
        "/admin/subscriptions/sub_1/scope", data={"csrf_token": token, "etag": '"3"', "classes": ["status"]}
    )
    assert invalid.status_code == 400 and "Must be one of: identifier, status." in text_of(invalid)
    assert re.search(r'href="#classes"', invalid.get_data(as_text=True))

    fakes["notify"].routes[("PUT", "/v1/subscriptions/sub_1/scope")] = (412, {"code": 412, "message": "changed"})
    changed = admin.post(
        "/admin/subscriptions/sub_1/scope", data={"csrf_token": token, "etag": '"2"', "classes": ["status"]}
    )
    assert changed.status_code == 412
    assert "Someone changed this subscription since you opened it" in text_of(changed)
    assert fakes["notify"].sent("PUT", "/v1/subscriptions/sub_1/scope")[-1]["headers"]["If-Match"] == '"2"'


def test_notify_down_is_named_on_the_page(admin, fakes):
    fakes["notify"].routes[("GET", "/v1/subscriptions")] = (503, {"code": 503, "message": "down"})
    page = admin.get("/admin/subscriptions")
    assert page.status_code == 503 and "notifications and partner updates (notify service)" in text_of(page)


# --- parked messages ---


def parked(service, items=(), total=None, other=0, unreadable=0):
    return {
        "service": service,
        "queue": f"{service}.parked",
        "total": len(items) + other + unreadable if total is None else total,
        "read": len(items) + other + unreadable,
        "items": list(items),
        "other_authorities": other,
        "unreadable": unreadable,
    }


MESSAGE = {
    "id": "9d2c-event",
    "type": "case.opened.v1",
    "subject": "case-77",
    "time": "2026-01-05T09:00:00+00:00",
    "identifiers": {"case_id": "case-77", "child_id": "child-5", "social_worker.user": "demo-sw-1"},
    "routing_key": "case.opened.v1",
    "parked_at": "2026-01-05T09:01:00+00:00",
    "error": "KeyError: 'plan_id'",
    "handler": "on_case_opened",
    "attempts": 6,
}


def test_the_parked_messages_of_every_service_and_the_docs_parked_jobs(admin, fakes):
    fakes["plans"].routes[("GET", "/v1/admin/parked-messages")] = (200, parked("plans"))
    fakes["scheduler"].routes[("GET", "/v1/admin/parked-messages")] = (
        200,
        parked("scheduler", [MESSAGE], total=120, other=1, unreadable=2),
    )
    fakes["notify"].routes[("GET", "/v1/admin/parked-messages")] = (
        503,
        {"code": 503, "message": "the message broker cannot be reached, so the parked messages cannot be read"},
    )
    # docs has no parked-messages endpoint (404): said on the page; its render jobs are listed
    fakes["docs"].routes[("GET", "/v1/jobs")] = (
        200,
        {
            "status": "parked",
            "count": 1,
            "jobs": [
                {
                    "id": "job-1",
                    "status": "parked",
                    "kind": "plan_family",
                    "plan_id": "plan-9",
                    "plan_version": 2,
                    "attempts": 3,
                    "error": "the worker died 3 times rendering it",
                    "parked_at": "2026-01-06T10:00:00+00:00",
                }
            ],
        },
    )
    page = admin.get("/admin/parked")
    assert page.status_code == 200
    text = text_of(page)
    assert page.get_data(as_text=True).count("<h1") == 1
    plans_part = text[text.index("Plans (case records)", text.index("Parked messages", 100)) :]
    assert "No parked messages." in plans_part
    assert "Case opened" in text and "9d2c-event" in text and "case-77" in text and "Child id: child-5" in text
    assert "KeyError: 'plan_id'" in text and "5 January 2026 at 09:01 UTC" in text
    assert "The first 4 of 120 messages on the queue were read." in text
    assert "1 message is another authority's and not shown." in text
    assert "2 messages are not a readable event" in text and "scheduler.parked" in text
    assert "The message broker cannot be reached, so its parked messages cannot be read now." in text
    assert "The docs service does not list its parked messages" in text
    assert "Plan family" in text and "Plan plan-9, version 2" in text and "the worker died 3 times rendering it" in text
    assert fakes["docs"].sent("GET", "/v1/jobs")[0]["query"] == {"status": ["parked"]}


def test_a_service_that_is_down_is_named_on_the_parked_page_not_a_500(admin, fakes):
    for service in ("plans", "scheduler", "notify"):
        fakes[service].routes[("GET", "/v1/admin/parked-messages")] = (200, parked(service))
    fakes["docs"].stop()  # nothing answers at its address
    page = admin.get("/admin/parked")
    assert page.status_code == 200
    text = text_of(page)
    assert text.count("The docs service cannot be reached at the moment.") == 2  # its messages and its jobs
    assert text.count("No parked messages.") == 3


# --- the timetable ---

RULES = {
    "authority": "ENG",
    "plugins": ["england", "bromley"],
    "calendar": {
        "country": "GB",
        "subdiv": "ENG",
        "timezone": "Europe/London",
        "closure_days": [
            {"date": "2026-12-29", "name": "Council closure"},
            {
                "date": None,
                "yearly": "12-24",
                "name": "Christmas Eve",
                "half_day": False,
                "day_lost": True,
                "description": "every 24 December",
            },
        ],
    },
    "rules": [
        {
            "id": "initial-conference",
            "name": "Initial child protection conference",
            "deadline": "initial_conference",
            "trigger": ["strategy_discussion.held.v1"],
            "when": {"initiated_enquiries": True},
            "anchor": "held_on",
            "offset": {"amount": 15, "unit": "working_days", "direction": "after"},
            "timescale": "15 working days after the strategy discussion",
            "owner": "social_worker",
            "met_by": ["conference.held.v1"],
            "met_when": {"kind": "initial"},
            "met_on": "held_on",
            "cancelled_by": [{"event": "enquiry.completed.v1", "when": {"conference_required": False}}],
            "recurrence": None,
            "reminder_days": 3,
            "plugin": "england",
            "source": "Working Together 2023: within 15 working days (V: DfE statistics; anchor V2: Tees CPP 1.1)",
        },
        {
            "id": "visits",
            "name": "Visit to the child",
            "deadline": "visit",
            "trigger": ["plan.activated.v1"],
            "when": {},
            "anchor": "activated_on",
            "offset": {"amount": 10, "unit": "days", "direction": "after"},
            "timescale": "10 days after the plan starts",
            "owner": "social_worker",
            "met_by": ["visit.recorded.v1"],
            "met_when": {},
            "met_on": "visited_on",
            "cancelled_by": [],
            "recurrence": {"every": {"min": 10, "max": 10, "unit": "days"}, "description": "every 10 days"},
            "reminder_days": 1,
            "plugin": "bromley",
            "source": "Bromley practice (U: not published)",
        },
    ],
}


def test_the_timetable_shows_every_rule_the_calendar_and_the_plugins(admin, fakes):
    fakes["scheduler"].routes[("GET", "/v1/rules")] = (200, RULES)
    page = admin.get("/admin/timetable")
    assert page.status_code == 200
    text = text_of(page)
    assert "Initial child protection conference" in text and "Visit to the child" in text
    assert "Strategy discussion held when initiated enquiries is yes; counted from held on" in text
    assert "15 working days after" in text and "Working days (weekends, bank holidays and closures skipped)" in text
    assert "Calendar days" in text and "Every 10 days" in text or "every 10 days" in text
    assert "Conference held when kind is initial" in text and "Enquiry completed when conference required is no" in text
    assert "Social worker" in text and "1 day before" in text and "3 days before" in text
    assert (
        "GB, ENG" in text
        and "Europe/London" in text
        and "29 December 2026 (Council closure); every 24 December (Christmas Eve)" in text
    )
    assert "england, bromley" in text
    body = page.get_data(as_text=True)
    assert re.search(r"govuk-tag--green[^>]*>\s*V\s*<", body) and re.search(r"govuk-tag--blue[^>]*>\s*V2\s*<", body)
    assert re.search(r"govuk-tag--orange[^>]*>\s*U\s*<", body)


def test_the_timetables_words():
    assert grades("x (V: a; anchor V2: b)") == ["V", "V2"] and grades("U: unverified") == ["U"] and grades(None) == []
    assert offset_words({"amount": 1, "unit": "months", "direction": "after"}) == "1 month after"
    assert offset_words({"amount": 3, "unit": "working_days", "direction": "before"}) == "3 working days before"
    assert offset_words(None) == "No fixed offset"
