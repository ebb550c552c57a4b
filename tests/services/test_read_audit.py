"""Every read that identifies a child is in the audit log of the service that
answered it, committed before the answer: the scheduler's deadlines and
calendars (by token or by a feed's key), every service's case events, the
notify service's inboxes and deliveries, the plans service's approvals and
its audit log itself."""

from __future__ import annotations

import pytest

from cpp_docs.app import create_app as create_docs_app
from cpp_notify.app import create_app as create_notify_app
from cpp_scheduler.app import create_app as create_scheduler_app
from tests.helpers import bearer, deliver_event
from tests.services.test_scheduler_http import CASE, CHILD, PLAN, hold_initial, start_case


def entries(ctx, **match):
    return [r.entry for r in ctx.store.read_log("audit") if all(r.entry.get(k) == v for k, v in match.items())]


@pytest.fixture
def scheduler(make_settings):
    app = create_scheduler_app(make_settings("scheduler"))
    start_case(app.extensions["cpp"])
    hold_initial(app.extensions["cpp"])
    return app


def test_the_schedulers_reads_of_a_child_are_audited_with_who_and_how(scheduler, token_for):
    ctx, api = scheduler.extensions["cpp"], scheduler.test_client()
    sw, tm = bearer(token_for("social_worker", user="sw-1")), bearer(token_for("team_manager", user="tm-1"))
    assert ctx.store.read_log("audit") == []

    listed = api.get("/v1/deadlines", query_string={"plan_id": PLAN}, headers=sw).json["items"]
    [listing] = entries(ctx, record_type="deadlines")
    assert (listing["actor"], listing["action"], listing["record_id"], listing["child_id"]) == (
        "sw-1",
        "list",
        PLAN,
        CHILD,
    )
    assert listing["detail"]["count"] == len(listed) and listing["request_id"]

    one = listed[0]["id"]
    assert api.get(f"/v1/deadlines/{one}", headers=tm).status_code == 200
    [read] = entries(ctx, record_type="deadline")
    assert (read["actor"], read["role"], read["record_id"], read["child_id"]) == ("tm-1", "team_manager", one, CHILD)

    assert api.get(f"/v1/plans/{PLAN}/calendar.ics", headers=sw).status_code == 200
    feed = api.post(f"/v1/plans/{PLAN}/calendar-feeds", headers=sw).json
    assert api.get(f"/v1/plans/{PLAN}/calendar.ics", query_string={"key": feed["key"]}).status_code == 200
    calendars = entries(ctx, record_type="plan_calendar")
    assert [(e["actor"], e["child_id"], e["detail"]["via"]) for e in calendars] == [
        ("sw-1", CHILD, "bearer token"),
        ("sw-1", CHILD, "feed key"),
    ]

    deliver_event(ctx, "case.opened.v1", {"case_id": CASE, "child_id": CHILD})
    assert api.get(f"/v1/cases/{CASE}/events", headers=sw).status_code == 200
    [events] = entries(ctx, record_type="case_events")
    assert events["record_id"] == CASE and events["action"] == "list"
    assert ctx.store.verify_log("audit").ok


def test_a_refused_or_unknown_read_leaves_no_entry(scheduler, token_for):
    ctx, api = scheduler.extensions["cpp"], scheduler.test_client()
    assert api.get("/v1/deadlines/nope", headers=bearer(token_for())).status_code == 404
    assert api.get(f"/v1/plans/{PLAN}/calendar.ics", query_string={"key": "wrong"}).status_code == 401
    assert api.get("/v1/cases/nope/events", headers=bearer(token_for())).status_code == 404
    assert api.get("/v1/deadlines", headers=bearer(token_for("partner"))).status_code == 403
    assert ctx.store.read_log("audit") == []


def test_a_managers_new_date_is_audited_with_the_change(scheduler, token_for):
    ctx, api = scheduler.extensions["cpp"], scheduler.test_client()
    tm = bearer(token_for("team_manager", user="tm-1"))
    deadline = next(
        d for d in api.get("/v1/deadlines", query_string={"plan_id": PLAN, "status": "open"}, headers=tm).json["items"]
    )
    resp = api.post(
        f"/v1/deadlines/{deadline['id']}/due-date",
        headers=tm,
        json={"due_on": deadline["due_on"], "reason": "agreed at the core group"},
    )
    assert resp.status_code == 200, resp.json
    [write] = entries(ctx, action="set_due_date")
    assert write["record_id"] == deadline["id"] and write["child_id"] == CHILD
    assert write["detail"]["reason"] == "agreed at the core group"


@pytest.mark.parametrize("create", [create_docs_app, create_notify_app], ids=["docs", "notify"])
def test_every_consumer_audits_a_read_of_a_cases_events(create, make_settings, token_for):
    app = create(make_settings(create.__module__.split(".")[0].removeprefix("cpp_")))
    ctx = app.extensions["cpp"]
    deliver_event(ctx, "case.opened.v1", {"case_id": CASE, "child_id": CHILD})
    resp = app.test_client().get(f"/v1/cases/{CASE}/events", headers=bearer(token_for("chair", user="chair-1")))
    assert resp.status_code == 200
    [read] = entries(ctx, record_type="case_events")
    assert (read["actor"], read["record_id"], read["detail"]) == ("chair-1", CASE, {"count": 1})


def test_notify_audits_inboxes_and_deliveries(make_settings, token_for):
    app = create_notify_app(make_settings("notify"))
    ctx, api = app.extensions["cpp"], app.test_client()
    sw = bearer(token_for("social_worker", user="sw-1"))
    assert api.get("/v1/inbox", headers=sw).status_code == 200
    [inbox] = entries(ctx, record_type="inbox")
    assert (inbox["actor"], inbox["action"], inbox["record_id"]) == ("sw-1", "list", "sw-1")
    admin = bearer(token_for("admin", user="admin-1"))
    assert api.get("/v1/deliveries", headers=admin).status_code == 200
    [deliveries] = entries(ctx, record_type="deliveries")
    assert deliveries["actor"] == "admin-1" and deliveries["detail"]["count"] == 0


def test_plans_audits_the_approvals_list_and_reads_of_the_audit_log(plans, plans_store, token_for):
    tm = bearer(token_for("team_manager", user="tm-1"))
    assert plans.get("/v1/approvals", headers=tm).status_code == 200
    auditor = bearer(token_for("auditor", user="au-1"))
    first = plans.get("/v1/audit", headers=auditor).json["records"]
    assert [r["entry"]["record_type"] for r in first] == ["approvals"]
    again = plans.get("/v1/audit", headers=auditor).json["records"]
    assert [(r["entry"]["record_type"], r["entry"]["actor"]) for r in again] == [
        ("approvals", "tm-1"),
        ("audit_log", "au-1"),
    ]
