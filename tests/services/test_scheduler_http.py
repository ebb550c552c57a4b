"""The scheduler over HTTP: rules, deadlines and their explanations, a
manager's due date, the tick's events, and a plan's iCalendar feed."""

from __future__ import annotations

import json
from datetime import date

import pytest
from icalendar import Calendar

from cpp_scheduler.app import create_app
from cpp_scheduler.tick import Ticker
from cpp_shared.config import ConfigError
from tests.helpers import bearer, deliver_event

CASE, CHILD, PLAN, CONF = "case-1", "child-1", "plan-1", "conf-1"


@pytest.fixture
def scheduler_app(make_settings):
    return create_app(make_settings("scheduler", CPP_PLUGINS="england"))


@pytest.fixture
def sctx(scheduler_app):
    return scheduler_app.extensions["cpp"]


@pytest.fixture
def api(scheduler_app):
    return scheduler_app.test_client()


@pytest.fixture
def headers(token_for):
    return {
        role: bearer(token_for(role, user=f"{role}-1"))
        for role in ("social_worker", "team_manager", "chair", "partner", "auditor", "admin")
    }


def start_case(ctx, held_on="2026-12-15", conference_on="2027-01-06"):
    deliver_event(
        ctx,
        "strategy_discussion.held.v1",
        {
            "case_id": CASE,
            "child_id": CHILD,
            "strategy_discussion_id": "sd-1",
            "held_on": held_on,
            "initiated_enquiries": True,
        },
    )
    deliver_event(
        ctx,
        "enquiry.completed.v1",
        {"case_id": CASE, "child_id": CHILD, "completed_on": held_on, "conference_required": True},
    )
    deliver_event(
        ctx,
        "conference.scheduled.v1",
        {
            "conference_id": CONF,
            "case_id": CASE,
            "child_id": CHILD,
            "kind": "initial",
            "scheduled_for": conference_on,
            "plan_id": None,
        },
    )


def hold_initial(ctx, held_on="2027-01-06"):
    deliver_event(
        ctx,
        "conference.held.v1",
        {
            "conference_id": CONF,
            "case_id": CASE,
            "child_id": CHILD,
            "kind": "initial",
            "held_on": held_on,
            "plan_required": True,
            "plan_id": PLAN,
        },
    )
    deliver_event(
        ctx,
        "plan.created.v1",
        {"plan_id": PLAN, "case_id": CASE, "child_id": CHILD, "status": "outline", "created_on": held_on},
        subject=PLAN,
    )


def by_rule(api, headers, **query):
    r = api.get("/v1/deadlines", query_string={"case_id": CASE, **query}, headers=headers["social_worker"])
    assert r.status_code == 200, r.json
    return {d["rule_id"]: d for d in r.json["items"]}


def test_rules_lists_the_effective_timetable_with_sources(api, headers):
    r = api.get("/v1/rules", headers=headers["chair"])
    assert r.status_code == 200
    body = r.json
    assert body["authority"] == "ENG" and body["plugins"] == ["england"]
    assert body["calendar"]["country"] == "GB" and body["calendar"]["subdiv"] == "ENG"
    rules = {rule["id"]: rule for rule in body["rules"]}
    assert rules["initial-conference"]["timescale"] == "15 working days after the strategy discussion"
    assert "Working Together" in rules["first-core-group"]["source"]
    assert all(rule["plugin"] == "england" for rule in body["rules"])


def test_partners_see_no_deadlines_and_no_rules(api, headers):
    assert api.get("/v1/deadlines", headers=headers["partner"]).status_code == 403
    assert api.get("/v1/rules", headers=headers["partner"]).status_code == 403
    assert api.get("/v1/deadlines").status_code == 401


def test_the_initial_conference_deadline_explains_the_christmas_holidays_it_skipped(sctx, api, headers):
    start_case(sctx)
    d = by_rule(api, headers)["initial-conference"]
    # 15 working days from Tuesday 15 December 2026: Christmas Day, Boxing Day (a Saturday) and its
    # substitute on Monday 28th, and New Year's Day are skipped with the weekends.
    assert d["due_on"] == "2027-01-08" and d["status"] == "pending"
    r = api.get(f"/v1/deadlines/{d['id']}", headers=headers["social_worker"])
    assert r.status_code == 200
    exp = r.json["explanation"]
    assert exp["rule"]["id"] == "initial-conference"
    assert exp["anchor"] == {"field": "held_on", "date": "2026-12-15"}
    [count] = exp["computations"]
    assert count["counted"] == 15 and count["due"] == "2027-01-08"
    reasons = {s["date"]: s["reason"] for s in count["skipped"]}
    assert reasons["2026-12-25"] == "Christmas Day"
    assert "Boxing Day" in reasons["2026-12-28"]
    assert reasons["2027-01-01"] == "New Year's Day"
    assert reasons["2026-12-19"] == "Saturday"
    assert exp["summary"].startswith("15 working days after 15 December 2026 is 8 January 2027; days not counted: ")
    assert "25 December 2026 (Christmas Day)" in exp["summary"]


def test_a_conference_held_meets_its_deadline_and_opens_the_plans_deadlines(sctx, api, headers):
    start_case(sctx)
    hold_initial(sctx)
    rules = by_rule(api, headers)
    assert rules["initial-conference"]["status"] == "met"
    assert rules["initial-conference"]["met"]["on"] == "2027-01-06"
    assert rules["initial-conference"]["met"]["late"] is False
    assert rules["first-core-group"]["due_on"] == "2027-01-20"  # 10 working days after Wednesday 6 January
    assert rules["first-core-group"]["plan_id"] == PLAN
    assert rules["first-review-conference"]["due_on"] == "2027-04-06"
    # the first visit, 10 working days from the plan's start (the plan states no frequency: England's)
    assert rules["child-visit"]["due_on"] == "2027-01-20"
    r = api.get("/v1/deadlines", query_string={"plan_id": PLAN, "status": "open"}, headers=headers["chair"])
    assert {d["rule_id"] for d in r.json["items"]} == {"first-core-group", "first-review-conference", "child-visit"}
    r = api.get("/v1/deadlines", query_string={"owner": "chair", "due_before": "2027-12-31"}, headers=headers["chair"])
    assert [d["rule_id"] for d in r.json["items"]] == ["first-review-conference"]


def test_the_tick_publishes_approaching_then_overdue_once_each(sctx, api, headers):
    start_case(sctx)
    hold_initial(sctx)
    ticker = Ticker(sctx)
    sent_before = {m.message_id for m in sctx.store.outbox_pending(1000)}
    assert ticker.run_once(date(2027, 1, 15)).approaching == 0
    # 2 working days before Wednesday 20th: the first core group, and the first visit due the same day
    first = ticker.run_once(date(2027, 1, 18))
    again = ticker.run_once(date(2027, 1, 18))
    assert (first.approaching, again.approaching) == (2, 0)
    assert by_rule(api, headers)["first-core-group"]["status"] == "approaching"
    assert ticker.run_once(date(2027, 1, 20)).overdue == 0  # due today: not yet overdue
    late = ticker.run_once(date(2027, 1, 21))
    assert late.overdue == 2 and ticker.run_once(date(2027, 1, 22)).overdue == 0
    d = by_rule(api, headers)["first-core-group"]
    assert d["status"] == "overdue"
    new = [m for m in sctx.store.outbox_pending(1000) if m.message_id not in sent_before]
    mine = [m for m in new if m.body["data"]["deadline_id"] == d["id"]]
    assert [m.routing_key for m in mine] == ["deadline.approaching.v1", "deadline.overdue.v1"]
    assert all(m.body["subject"] == CASE for m in new) and len(new) == 4
    # Met late once the meeting is recorded.
    deliver_event(
        sctx,
        "core_group.held.v1",
        {
            "meeting_id": "m-1",
            "plan_id": PLAN,
            "case_id": CASE,
            "child_id": CHILD,
            "held_on": "2027-01-22",
            "detailed_plan_agreed": True,
        },
        subject=PLAN,
    )
    r = api.get(f"/v1/deadlines/{d['id']}", headers=headers["social_worker"])
    assert r.json["status"] == "met" and r.json["met"]["late"] is True and r.json["met"]["working_days_late"] == 2
    # England's core groups then recur, 4 to 6 weeks after the last (the plan states no frequency)
    after = by_rule(api, headers, status="open")["first-core-group"]
    assert (after["due_on"], after["latest_on"]) == ("2027-02-19", "2027-03-05")


def test_a_moved_conference_supersedes_and_recalculates_its_keyed_deadlines(make_settings, token_for):
    app = create_app(make_settings("scheduler", CPP_PLUGINS="guernsey"))
    ctx, client = app.extensions["cpp"], app.test_client()
    h = bearer(token_for("social_worker", authority="GSY"))
    start_case(ctx, held_on="2026-11-02", conference_on="2026-11-20")
    before = {
        d["rule_id"]: d for d in client.get("/v1/deadlines", query_string={"case_id": CASE}, headers=h).json["items"]
    }
    assert before["report-to-chair"]["due_on"] == "2026-11-19"
    deliver_event(
        ctx,
        "conference.rescheduled.v1",
        {
            "conference_id": CONF,
            "case_id": CASE,
            "child_id": CHILD,
            "kind": "initial",
            "scheduled_for": "2026-11-27",
            "previous_scheduled_for": "2026-11-20",
            "reason": "chair unavailable",
            "plan_id": None,
        },
    )
    items = client.get("/v1/deadlines", query_string={"case_id": CASE}, headers=h).json["items"]
    old = next(d for d in items if d["id"] == before["report-to-chair"]["id"])
    new = next(d for d in items if d["rule_id"] == "report-to-chair" and d["status"] == "pending")
    assert old["status"] == "superseded" and old["superseded_by"] == new["id"]
    assert new["supersedes"] == old["id"] and new["due_on"] == "2026-11-26"
    assert new["anchor"]["date"] == "2026-11-27"
    # The superseded event says why: the move, with the day and the deadline that replaced it.
    [superseded] = [
        m.body["data"]
        for m in ctx.store.outbox_pending(1000)
        if m.routing_key == "deadline.superseded.v1" and m.body["data"]["deadline_id"] == old["id"]
    ]
    assert superseded["superseded_by"] == new["id"]
    assert superseded["closed_by"]["type"] == "conference.rescheduled.v1" and superseded["closed_by"]["on"]

    # A cancelled conference cancels its keyed deadlines, and each event names the cancelling event.
    deliver_event(
        ctx,
        "conference.cancelled.v1",
        {
            "conference_id": CONF,
            "case_id": CASE,
            "child_id": CHILD,
            "kind": "initial",
            "scheduled_for": "2026-11-27",
            "reason": "no longer needed",
            "plan_id": None,
        },
    )
    cancelled = [m.body["data"] for m in ctx.store.outbox_pending(1000) if m.routing_key == "deadline.cancelled.v1"]
    assert cancelled and all(
        c["closed_by"]["type"] == "conference.cancelled.v1" and c["superseded_by"] is None for c in cancelled
    )
    assert all(
        m.body["data"]["closed_by"] is None
        for m in ctx.store.outbox_pending(1000)
        if m.routing_key == "deadline.scheduled.v1"
    )


def test_a_deadline_without_a_timescale_waits_for_a_managers_date(make_settings, token_for):
    app = create_app(make_settings("scheduler", CPP_PLUGINS="guernsey"))
    ctx, client = app.extensions["cpp"], app.test_client()
    sw = bearer(token_for("social_worker", authority="GSY"))
    tm = bearer(token_for("team_manager", authority="GSY", user="tm-1"))
    deliver_event(
        ctx,
        "resource_panel.requested.v1",
        {"request_id": "rp-1", "plan_id": PLAN, "case_id": CASE, "child_id": CHILD, "requested_on": "2026-11-23"},
    )
    [d] = client.get("/v1/deadlines", query_string={"case_id": CASE}, headers=sw).json["items"]
    assert d["needs_date"] is True and d["due_on"] is None and d["status"] == "pending"
    detail = client.get(f"/v1/deadlines/{d['id']}", headers=sw).json
    assert "no timescale" in detail["explanation"]["summary"]
    assert detail["explanation"]["rule"]["offset"] is None
    url = f"/v1/deadlines/{d['id']}/due-date"
    assert (
        client.post(url, json={"due_on": "2027-01-15", "reason": "panel sits monthly"}, headers=sw).status_code == 403
    )
    r = client.post(url, json={"due_on": "2027-01-16", "reason": "panel"}, headers=tm)
    assert r.status_code == 422 and "Saturday" in r.json["errors"]["json"]["due_on"][0]
    r = client.post(url, json={"reason": "panel"}, headers=tm)
    assert r.status_code == 422 and "due_on" in r.json["errors"]["json"]
    assert client.get(f"/v1/deadlines/{d['id']}", headers=sw).json["needs_date"] is True  # nothing written
    r = client.post(url, json={"due_on": "2027-01-15", "reason": "the panel sits on the third Friday"}, headers=tm)
    assert r.status_code == 200, r.json
    assert r.json["due_on"] == "2027-01-15" and r.json["needs_date"] is False
    assert r.json["due_date_set"]["by"] == "tm-1"
    deliver_event(
        ctx,
        "staff.updated.v1",
        {
            "user": "tm-1",
            "name": "Tia Manager",
            "email": None,
            "team": None,
            "role": "team_manager",
            "manager": None,
            "phone": None,
        },
        subject="tm-1",
    )
    detail = client.get(f"/v1/deadlines/{d['id']}", headers=sw).json
    assert "third Friday" in detail["explanation"]["summary"]
    assert detail["explanation"]["summary"].startswith("Due on 15 January 2027: set by Tia Manager on ")
    assert [m.routing_key for m in ctx.store.outbox_pending(100)][-1] == "deadline.scheduled.v1"


def test_another_authoritys_deadline_is_not_found(sctx, api, headers, token_for):
    start_case(sctx)
    d = by_rule(api, headers)["initial-conference"]
    other = bearer(token_for("social_worker", authority="BRM"))
    # A token for another authority is refused by this deployment outright.
    assert api.get(f"/v1/deadlines/{d['id']}", headers=other).status_code == 403
    assert api.get("/v1/deadlines/nope", headers=headers["social_worker"]).status_code == 404


def test_bad_queries_are_refused_by_field(api, headers):
    r = api.get("/v1/deadlines", query_string={"status": "late", "due_before": "soon"}, headers=headers["chair"])
    assert r.status_code == 422
    assert set(r.json["errors"]["query"]) == {"status", "due_before"}


def test_the_plan_calendar_holds_meetings_and_deadlines(sctx, api, headers):
    start_case(sctx)
    hold_initial(sctx)
    r = api.get(f"/v1/plans/{PLAN}/calendar.ics", headers=headers["social_worker"])
    assert r.status_code == 200 and r.mimetype == "text/calendar"
    cal = Calendar.from_ical(r.data)
    events = {str(e["uid"]): e for e in cal.walk("VEVENT")}
    assert str(events[f"meeting-{CONF}@cpp"]["summary"]).startswith("Initial child protection conference")
    assert events[f"meeting-{CONF}@cpp"].decoded("dtstart") == date(2027, 1, 6)
    core = next(e for e in events.values() if "First core group" in str(e["summary"]))
    assert core.decoded("dtstart") == date(2027, 1, 20)
    assert core.walk("VALARM"), "an open deadline carries a reminder"
    assert api.get(f"/v1/plans/{PLAN}/calendar.ics", headers=headers["partner"]).status_code == 403
    assert api.get("/v1/plans/unknown/calendar.ics", headers=headers["social_worker"]).status_code == 404


def test_a_calendar_feed_key_works_without_a_token_until_revoked(sctx, api, headers):
    start_case(sctx)
    hold_initial(sctx)
    assert api.get(f"/v1/plans/{PLAN}/calendar.ics").status_code == 401
    assert api.get(f"/v1/plans/{PLAN}/calendar.ics?key=guess").status_code == 401
    r = api.post(f"/v1/plans/{PLAN}/calendar-feeds", headers=headers["social_worker"])
    assert r.status_code == 201
    feed = r.json
    path = feed["url"].split("://", 1)[1].split("/", 1)[1]
    assert api.get("/" + path).status_code == 200
    assert api.get(f"/v1/plans/other/calendar.ics?key={feed['key']}").status_code == 401  # one plan's key only
    assert "key" not in str(sctx.store.collection("calendar_feeds").find_one({"_id": feed["id"]}).keys() - {"key_hash"})
    assert api.delete(f"/v1/calendar-feeds/{feed['id']}", headers=headers["chair"]).status_code == 403
    assert api.delete(f"/v1/calendar-feeds/{feed['id']}", headers=headers["social_worker"]).status_code == 204
    assert api.get("/" + path).status_code == 401


def feed_url(app, **request):
    start_case(app.extensions["cpp"])
    hold_initial(app.extensions["cpp"])
    r = app.test_client().post(f"/v1/plans/{PLAN}/calendar-feeds", **request)
    assert r.status_code == 201, r.json
    return r.json["url"]


@pytest.mark.parametrize(
    "env, base",
    [
        ({}, "http://127.0.0.1:5002"),  # development: this machine's port
        ({"CPP_SCHEDULER_PORT": "6002"}, "http://127.0.0.1:6002"),
        ({"CPP_PUBLIC_URL": "https://cpp.example.org"}, "https://cpp.example.org"),
        (
            {
                "CPP_SCHEDULER_PUBLIC_URL": "https://cpp.example.org/scheduler/",
                "CPP_PUBLIC_URL": "https://other.example",
            },
            "https://cpp.example.org/scheduler",
        ),
    ],
)
def test_a_calendar_feed_address_comes_from_the_public_url_never_the_host_header(make_settings, headers, env, base):
    app = create_app(make_settings("scheduler", **env))
    url = feed_url(
        app,
        headers={**headers["social_worker"], "Host": "evil.example", "X-Forwarded-Host": "evil.example"},
        base_url="http://evil.example",
    )
    assert url.startswith(f"{base}/v1/plans/{PLAN}/calendar.ics?key="), url
    assert "evil" not in url


@pytest.mark.parametrize(
    "value",
    [
        "cpp.example.org",
        "ftp://cpp.example.org",
        "https://",
        "https://cpp.example.org?x=1",
        "https://cpp.example.org/#x",
        "https://user:pw@cpp.example.org",
        "javascript:alert(1)",
    ],
)
def test_a_public_url_that_is_not_an_http_address_stops_start_up(make_settings, value):
    with pytest.raises(ConfigError, match="CPP_SCHEDULER_PUBLIC_URL"):
        create_app(make_settings("scheduler", CPP_SCHEDULER_PUBLIC_URL=value))


def test_production_needs_a_public_url_for_calendar_feeds(make_settings, monkeypatch):
    from cpp_shared.auth import TokenVerifier

    # No identity provider here: its keys are not fetched at start-up (tests/oidc starts a real one).
    monkeypatch.setattr(TokenVerifier, "load_keys", lambda self: None)
    production = dict(
        CPP_MODE="production", CPP_OIDC_JWKS_URL="https://127.0.0.1:1/jwks", CPP_OIDC_ISSUER="https://idp.example"
    )
    with pytest.raises(ConfigError, match="CPP_SCHEDULER_PUBLIC_URL"):
        create_app(make_settings("scheduler", **production))
    assert create_app(make_settings("scheduler", CPP_PUBLIC_URL="https://cpp.example.org", **production))


def test_the_openapi_document_lists_the_scheduler_endpoints(api, headers):
    paths = api.get("/openapi.json", headers=headers["auditor"]).json["paths"]
    for path in (
        "/v1/rules",
        "/v1/deadlines",
        "/v1/deadlines/{deadline_id}",
        "/v1/deadlines/{deadline_id}/due-date",
        "/v1/plans/{plan_id}/calendar.ics",
        "/v1/plans/{plan_id}/calendar-feeds",
    ):
        assert path in paths
    feeds = paths["/v1/plans/{plan_id}/calendar-feeds"]
    assert {"get", "post"} <= set(feeds)
    listed = feeds["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert "FeedList" in json.dumps(listed)


def test_two_ticks_racing_on_one_store_move_each_deadline_once(make_settings):
    # Two replicas without the lease (as if it had expired mid-scan): the
    # versioned writes alone let one of them move each deadline.
    import threading

    settings = make_settings("scheduler", CPP_PLUGINS="england")
    first, second = (create_app(settings).extensions["cpp"] for _ in range(2))
    for i in range(120):
        deliver_event(
            first,
            "conference.held.v1",
            {
                "conference_id": f"conf-{i}",
                "case_id": f"case-{i}",
                "child_id": f"child-{i}",
                "kind": "initial",
                "held_on": "2027-01-06",
                "plan_required": True,
                "plan_id": f"plan-{i}",
            },
        )
    ready, results = threading.Barrier(2), {}

    def tick(name, ctx):
        ready.wait()
        results[name] = Ticker(ctx, batch=7).run_once(date(2027, 1, 18), use_lease=False)

    threads = [threading.Thread(target=tick, args=(n, c)) for n, c in (("a", first), ("b", second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results["a"].approaching + results["b"].approaching == 120
    published = [m for m in first.store.outbox_pending(10_000) if m.routing_key == "deadline.approaching.v1"]
    assert len(published) == 120
    assert len({m.body["data"]["deadline_id"] for m in published}) == 120
