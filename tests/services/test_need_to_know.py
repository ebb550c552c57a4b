"""Need-to-know for restricted (sealed) records: a restricted child's records
only for its access list, break-glass (audited with its reason, the
restriction's manager told at once through notify), the child's access
report, and the docs service's projection of it all. Plans, notify and docs
apps with their test clients; the plans service's events handed to the
others as their workers would."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from cpp_docs.app import create_app as create_docs_app
from cpp_docs.render import file_store
from cpp_notify.app import create_app as create_notify_app
from cpp_plans import access
from cpp_plans.app import create_app as create_plans_app
from cpp_shared.config import ConfigError
from cpp_shared.contracts.catalogue import validate_event
from tests.helpers import bearer, hand_over
from tests.services.test_lookup_http import NHS, look_up, lookup_events, put_on_plan, register
from tests.services.test_notify_people import mailer_of, sent_to, smtp  # noqa: F401 (smtp: a fixture)

MANAGER = {"user": "pat-m", "email": "Pat.Manager@council.example", "name": "Pat Manager"}
RESTRICTION = {
    "reason": "The child of a member of staff in this team.",
    "access_list": ["sw-1", "chair-1", "tm-1"],
    "manager": MANAGER,
}
REASON = "Child brought to A&E tonight; I am the duty social worker."
T0 = datetime(2026, 12, 7, 21, 30, tzinfo=UTC)


@pytest.fixture
def who(token_for):
    """Authorization headers by name: on the access list (sw-1, chair-1, tm-1), not on it (sw-2, chair-2, tm-2)."""
    users = {
        "sw-1": "social_worker",
        "sw-2": "social_worker",
        "chair-1": "chair",
        "chair-2": "chair",
        "tm-1": "team_manager",
        "tm-2": "team_manager",
        "auditor-1": "auditor",
        "admin-1": "admin",
        "hv-1": "partner",
    }
    headers = {user: bearer(token_for(role, user=user)) for user, role in users.items()}
    headers["manager"] = bearer(token_for("admin", user="pat-m", email="Pat.Manager@council.example"))
    headers["key worker"] = bearer(token_for("social_worker", user="sam", email="sam.social@example.org"))
    return headers


@pytest.fixture
def restricted(plans, plans_store, who):
    """A child on a plan (its key worker sam.social@example.org), with a resource panel request waiting, whose
    record tm-1 restricts to sw-1, chair-1 and tm-1, with Pat Manager told of any break-glass."""
    child_id = register(plans, who["sw-1"], NHS)
    case_id, plan = put_on_plan(plans, who["sw-1"], who["chair-1"], child_id, date.today() - timedelta(days=10))
    panel = plans.post(
        f"/v1/plans/{plan['id']}/resource-panel-requests",
        headers=who["sw-1"],
        json={"reason": "Support at home.", "services": ["family support"]},
    )
    assert panel.status_code == 201, panel.json
    resp = plans.put(f"/v1/children/{child_id}/restriction", json=RESTRICTION, headers=who["tm-1"])
    assert resp.status_code == 200, resp.json
    assert resp.json["active"] is True and resp.json["access_list"] == ["sw-1", "chair-1", "tm-1"]
    return {
        "child_id": child_id,
        "case_id": case_id,
        "plan_id": plan["id"],
        "conference_id": plans_store.collection("conferences").find_one({"case_id": case_id})["_id"],
    }


@pytest.fixture
def clock(monkeypatch):
    """The plans service's now, set by the test."""
    moment = {"now": T0}
    monkeypatch.setattr(access, "now", lambda: moment["now"])
    return moment


def audit_entries(store):
    return [r.entry for r in store.read_log("audit")]


def written(store):
    """What a refused request must not change: the audit log, the outbox, restrictions and grants."""
    return (
        len(store.read_log("audit")),
        store.outbox_stats().pending,
        store.collection("restrictions").find(),
        store.collection("break_glass_grants").find(),
    )


def break_glass(plans, child_id, headers, reason=REASON):
    resp = plans.post(f"/v1/children/{child_id}/break-glass", json={"reason": reason}, headers=headers)
    assert resp.status_code == 201, resp.json
    return resp.json


def published(store, routing_key):
    return [m.body for m in store.outbox_pending(10_000) if m.routing_key == routing_key]


# --- enforcement -----------------------------------------------------------------------------


def test_a_restricted_childs_records_are_403_to_others_and_200_to_its_access_list(plans, plans_store, restricted, who):
    child_id, plan_id = restricted["child_id"], restricted["plan_id"]
    reads = [
        f"/v1/children/{child_id}",
        f"/v1/cases/{restricted['case_id']}",
        f"/v1/plans/{plan_id}",
        f"/v1/plans/{plan_id}/versions",
        f"/v1/plans/{plan_id}/versions/1",
        f"/v1/conferences/{restricted['conference_id']}",
        f"/v1/conferences/{restricted['conference_id']}/reports",
        f"/v1/cases/{restricted['case_id']}/child-in-need-plans",
    ]
    before = written(plans_store)
    for path in reads:
        for user in ("sw-2", "chair-2", "tm-2", "auditor-1", "admin-1"):
            refused = plans.get(path, headers=who[user])
            assert refused.status_code == 403, (path, user, refused.json)
            assert "restricted" in refused.json["message"]
            assert f"POST /v1/children/{child_id}/break-glass" in refused.json["message"]
    # Writes too: the child's details, a visit to its plan, a new case for it.
    tag = plans.get(f"/v1/children/{child_id}", headers=who["sw-1"]).headers["ETag"]
    assert (
        plans.patch(
            f"/v1/children/{child_id}", json={"preferred_name": "Amy"}, headers={**who["sw-2"], "If-Match": tag}
        ).status_code
        == 403
    )
    assert (
        plans.post(
            f"/v1/plans/{plan_id}/visits",
            headers=who["sw-2"],
            json={
                "visited_on": date.today().isoformat(),
                "announced": True,
                "child_seen": True,
                "seen_alone": False,
                "by": "Someone",
            },
        ).status_code
        == 403
    )
    assert plans.post("/v1/cases", json={"child_id": child_id}, headers=who["sw-2"]).status_code == 403
    assert written(plans_store)[1:] == before[1:]
    assert written(plans_store)[0] == before[0] + 1  # only sw-1's read of the ETag

    for path in reads:
        for user in ("sw-1", "chair-1", "tm-1"):
            assert plans.get(path, headers=who[user]).status_code == 200, (path, user)
    assert (
        plans.patch(
            f"/v1/children/{child_id}", json={"preferred_name": "Amy"}, headers={**who["sw-1"], "If-Match": tag}
        ).status_code
        == 200
    )

    # Lifted: the record is open again to every reader.
    lifted = plans.delete(
        f"/v1/children/{child_id}/restriction",
        headers=who["tm-1"],
        json={"reason": "The member of staff has left the team."},
    )
    assert lifted.status_code == 200 and lifted.json["active"] is False
    assert lifted.json["lifted"]["reason"] == "The member of staff has left the team."
    assert plans.get(f"/v1/plans/{plan_id}", headers=who["sw-2"]).status_code == 200


def test_lists_and_searches_leave_a_restricted_child_out_for_those_without_need_to_know(plans, restricted, who):
    child_id, plan_id = restricted["child_id"], restricted["plan_id"]
    other = register(plans, who["sw-2"], "9434765870")

    def children(user, **query):
        resp = plans.get("/v1/children", query_string=query, headers=who[user])
        assert resp.status_code == 200, resp.json
        return [c["id"] for c in resp.json["items"]], resp.json["total"]

    def plan_ids(user, **query):
        resp = plans.get("/v1/plans", query_string=query, headers=who[user])
        assert resp.status_code == 200, resp.json
        return [p["id"] for p in resp.json["items"]], resp.json["total"]

    def approvals(user):
        resp = plans.get("/v1/approvals", headers=who[user])
        assert resp.status_code == 200, resp.json
        return {a["child_id"] for a in resp.json}

    assert children("sw-2", nhs_number=NHS) == ([], 0)
    assert children("sw-2", family_name="Okafor-Smith") == ([other], 1)
    found, total = children("sw-1", family_name="Okafor-Smith")
    assert set(found) == {child_id, other} and total == 2
    assert plan_ids("sw-2") == ([], 0) and plan_ids("sw-2", child_id=child_id) == ([], 0)
    assert plan_ids("sw-1", child_id=child_id) == ([plan_id], 1)
    assert approvals("tm-2") == set() and approvals("tm-1") == {child_id}

    # Under a live break-glass grant, the child is listed again, and each listing names the grant.
    grant = break_glass(plans, child_id, who["sw-2"])
    assert plan_ids("sw-2", child_id=child_id) == ([plan_id], 1)
    assert children("sw-2", nhs_number=NHS) == ([child_id], 1)
    store = plans.application.extensions["cpp"].store
    listed = [
        e for e in audit_entries(store) if e["actor"] == "sw-2" and e["child_id"] == child_id and e["action"] == "read"
    ]
    assert [e["detail"] for e in listed] == [
        {"break_glass": grant["id"]},
        {"via": "search", "break_glass": grant["id"]},
    ]


def test_a_break_glass_read_is_audited_with_its_reason_and_the_managers_inbox_holds_the_notice(
    plans, plans_store, restricted, who, token_for, make_settings, smtp
):
    child_id, plan_id = restricted["child_id"], restricted["plan_id"]
    assert plans.get(f"/v1/plans/{plan_id}", headers=who["sw-2"]).status_code == 403

    grant = break_glass(plans, child_id, who["sw-2"])
    assert grant["user"] == "sw-2" and grant["reason"] == REASON
    granted = datetime.fromisoformat(grant["granted_at"])
    assert datetime.fromisoformat(grant["expires_at"]) - granted == timedelta(minutes=60)
    assert plans.get(f"/v1/children/{child_id}", headers=who["sw-2"]).status_code == 200
    assert plans.get(f"/v1/plans/{plan_id}", headers=who["sw-2"]).status_code == 200

    # The grant's entry carries the reason; every read under it names the grant.
    mine = [e for e in audit_entries(plans_store) if e["actor"] == "sw-2"]
    assert [(e["action"], e["record_type"], e["record_id"], e["child_id"]) for e in mine] == [
        ("break_glass", "break_glass_grant", grant["id"], child_id),
        ("read", "child", child_id, child_id),
        ("read", "plan", plan_id, child_id),
    ]
    assert mine[0]["detail"]["reason"] == REASON and mine[0]["detail"]["break_glass"] == grant["id"]
    assert all(e["detail"]["break_glass"] == grant["id"] for e in mine)
    assert plans_store.verify_log("audit").ok

    # The event tells notify whom to tell: the restriction's manager, at once.
    [event] = published(plans_store, "access.break_glass.v1")
    validate_event(event)
    assert event["subject"] == child_id
    assert {k: event["data"][k] for k in ("child_id", "user", "reason", "expires_at", "manager")} == {
        "child_id": child_id,
        "user": "sw-2",
        "reason": REASON,
        "expires_at": grant["expires_at"],
        "manager": MANAGER,
    }
    controller, received = smtp
    notify = create_notify_app(
        make_settings(
            "notify",
            CPP_NOTIFY_SMTP_HOST="127.0.0.1",
            CPP_NOTIFY_SMTP_PORT=str(controller.port),
            CPP_NOTIFY_MAIL_FROM="cp-team@council.example",
        )
    )
    hand_over(notify.extensions["cpp"], event)

    inbox = notify.test_client()
    box = inbox.get("/v1/inbox", headers=who["manager"])  # by the token's email claim
    assert box.status_code == 200, box.json
    [notice] = box.json["items"]
    assert box.json["unread"] == 1 and notice["event_type"] == "access.break_glass.v1"
    # Named, not by ids: the event names the child; this notify has not heard of sw-2 (whose token gave no name),
    # so the user id the audit log names them by.
    assert notice["subject"].startswith("Break-glass: user sw-2 opened the restricted record of ")
    assert notice["subject"].endswith(event["data"]["child"]["name"]) and event["data"]["child"]["name"]
    assert REASON in notice["body"] and "Pat Manager" in notice["body"] and "social worker" in notice["body"]
    assert child_id not in notice["body"] and "access report" in notice["body"]
    # The same notice by email, through the channel every professional message takes.
    assert mailer_of(notify).run_once() == 1
    [email] = sent_to(received, "pat.manager@council.example")
    assert email["Subject"] == notice["subject"] and email["From"] == "cp-team@council.example"
    assert REASON in email.get_body(("plain",)).get_content()
    # Nobody else's inbox.
    for headers in (
        who["sw-1"],
        who["tm-1"],
        bearer(token_for("team_manager", user="pat-2", email="pat.manager@council.example")),
    ):
        assert inbox.get("/v1/inbox", headers=headers).json["items"] == []
    # The manager's inbox is theirs by user id, without an email claim.
    by_user = inbox.get("/v1/inbox", headers=bearer(token_for("team_manager", user="pat-m"))).json["items"]
    assert [m["id"] for m in by_user] == [notice["id"]]


def test_an_expired_grant_opens_nothing(plans, plans_store, restricted, who, clock):
    child_id, plan_id = restricted["child_id"], restricted["plan_id"]
    grant = break_glass(plans, child_id, who["sw-2"])
    assert grant["expires_at"] == (T0 + timedelta(minutes=60)).isoformat()

    clock["now"] = T0 + timedelta(minutes=59, seconds=59)
    assert plans.get(f"/v1/plans/{plan_id}", headers=who["sw-2"]).status_code == 200
    assert plans.get("/v1/plans", headers=who["sw-2"]).json["total"] == 1
    clock["now"] = T0 + timedelta(minutes=60)
    expired = plans.get(f"/v1/plans/{plan_id}", headers=who["sw-2"])
    assert expired.status_code == 403 and "break-glass" in expired.json["message"]
    assert plans.get("/v1/plans", headers=who["sw-2"]).json["total"] == 0
    # Another grant, with its own reason, opens it again; a grant is only its holder's.
    assert plans.get(f"/v1/plans/{plan_id}", headers=who["chair-2"]).status_code == 403
    break_glass(plans, child_id, who["sw-2"], reason="Still at A&E; the police have asked for the plan.")
    assert plans.get(f"/v1/plans/{plan_id}", headers=who["sw-2"]).status_code == 200

    # A grant holds only under the restriction it was given under: lifted and set again, glass is broken again.
    assert (
        plans.delete(
            f"/v1/children/{child_id}/restriction",
            headers=who["tm-1"],
            json={"reason": "Set again below with a new list."},
        ).status_code
        == 200
    )
    assert plans.put(f"/v1/children/{child_id}/restriction", json=RESTRICTION, headers=who["tm-1"]).status_code == 200
    assert plans.get(f"/v1/plans/{plan_id}", headers=who["sw-2"]).status_code == 403


def test_a_grant_lasts_the_minutes_the_setting_says_and_a_wrong_setting_stops_start_up(make_settings, token_for, clock):
    app = create_plans_app(make_settings("plans", CPP_PLANS_BREAK_GLASS_MINUTES="15"))
    plans = app.test_client()
    sw, tm = bearer(token_for("social_worker", user="sw-1")), bearer(token_for("team_manager", user="tm-1"))
    child_id = register(plans, sw, NHS)
    assert plans.put(f"/v1/children/{child_id}/restriction", json=RESTRICTION, headers=tm).status_code == 200
    grant = break_glass(plans, child_id, bearer(token_for("chair", user="chair-9")))
    assert grant["expires_at"] == (T0 + timedelta(minutes=15)).isoformat()
    for wrong in ("0", "an hour", "1441", "-5"):
        with pytest.raises(ConfigError, match="CPP_PLANS_BREAK_GLASS_MINUTES"):
            create_plans_app(make_settings("plans", CPP_PLANS_BREAK_GLASS_MINUTES=wrong))


# --- the requests themselves ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, field",
    [
        ({**RESTRICTION, "reason": "too short"}, "reason"),
        ({**RESTRICTION, "reason": "          x          "}, "reason"),
        ({**RESTRICTION, "reason": "x" * 1001}, "reason"),
        ({k: v for k, v in RESTRICTION.items() if k != "reason"}, "reason"),
        ({**RESTRICTION, "access_list": []}, "access_list"),
        ({**RESTRICTION, "access_list": [f"user-{n}" for n in range(51)]}, "access_list"),
        ({**RESTRICTION, "access_list": ["sw-1", "sw-1"]}, "access_list"),
        ({**RESTRICTION, "access_list": "sw-1"}, "access_list"),
        ({k: v for k, v in RESTRICTION.items() if k != "manager"}, "manager"),
        ({**RESTRICTION, "manager": {**MANAGER, "email": "not an address"}}, "manager"),
        ({**RESTRICTION, "manager": {"user": "pat-m", "name": "Pat Manager"}}, "manager"),
        ({**RESTRICTION, "also": "this"}, "also"),
    ],
)
def test_a_bad_restriction_is_422_by_field_and_nothing_is_written(plans, plans_store, who, body, field):
    child_id = register(plans, who["sw-1"], NHS)
    before = written(plans_store)
    resp = plans.put(f"/v1/children/{child_id}/restriction", json=body, headers=who["tm-1"])
    assert resp.status_code == 422, resp.json
    assert field in resp.json["errors"]["json"]
    assert written(plans_store) == before
    assert plans.get(f"/v1/children/{child_id}", headers=who["sw-2"]).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"reason": "short"},
        {"reason": " " * 20},
        {"reason": 12345678901},
        {"reason": "x" * 1001},
        {"reason": REASON, "minutes": 600},
    ],
)
def test_a_bad_reason_to_break_glass_or_lift_is_422_and_nothing_is_written(plans, plans_store, restricted, who, body):
    child_id = restricted["child_id"]
    before = written(plans_store)
    for method, path, user in (("post", "break-glass", "sw-2"), ("delete", "restriction", "tm-1")):
        resp = getattr(plans, method)(f"/v1/children/{child_id}/{path}", json=body, headers=who[user])
        assert resp.status_code == 422 and resp.json["errors"]["json"], resp.json
    assert written(plans_store) == before
    assert plans.get(f"/v1/children/{child_id}", headers=who["sw-2"]).status_code == 403


def test_who_may_restrict_lift_and_break_glass(plans, plans_store, restricted, who, token_for):
    child_id = restricted["child_id"]
    manager = bearer(token_for("team_manager", user="pat-m"))  # the restriction's manager, not on its list
    changed = {**RESTRICTION, "access_list": ["sw-1", "tm-2"]}
    # Only a team manager or an admin restricts; once in force, only an admin, its manager or one on its list.
    assert plans.put(f"/v1/children/{child_id}/restriction", json=RESTRICTION, headers=who["sw-1"]).status_code == 403
    assert plans.put(f"/v1/children/{child_id}/restriction", json=changed, headers=who["tm-2"]).status_code == 403
    assert (
        plans.delete(
            f"/v1/children/{child_id}/restriction", headers=who["tm-2"], json={"reason": "I would like to see it."}
        ).status_code
        == 403
    )
    resp = plans.put(f"/v1/children/{child_id}/restriction", json=changed, headers=manager)
    assert resp.status_code == 200 and resp.json["access_list"] == ["sw-1", "tm-2"]
    assert plans.get(f"/v1/children/{child_id}", headers=who["tm-2"]).status_code == 200
    assert plans.get(f"/v1/children/{child_id}", headers=who["tm-1"]).status_code == 403
    assert plans.get(f"/v1/children/{child_id}/restriction", headers=who["sw-1"]).json["version"] == 2
    assert plans.get(f"/v1/children/{child_id}/restriction", headers=who["sw-2"]).status_code == 403

    # Break-glass is for practitioners who are not on the list, while a restriction is in force.
    for user in ("hv-1", "auditor-1", "admin-1"):
        assert (
            plans.post(f"/v1/children/{child_id}/break-glass", json={"reason": REASON}, headers=who[user]).status_code
            == 403
        ), user
    on_list = plans.post(f"/v1/children/{child_id}/break-glass", json={"reason": REASON}, headers=who["sw-1"])
    assert on_list.status_code == 409 and "access list" in on_list.json["message"]
    nobody = plans.post("/v1/children/nobody/break-glass", json={"reason": REASON}, headers=who["sw-2"])
    assert nobody.status_code == 404

    lifted = plans.delete(
        f"/v1/children/{child_id}/restriction",
        headers=who["admin-1"],
        json={"reason": "Adoption order made; the record moves."},
    )
    assert lifted.status_code == 200
    assert (
        plans.delete(
            f"/v1/children/{child_id}/restriction",
            headers=who["admin-1"],
            json={"reason": "Adoption order made; the record moves."},
        ).status_code
        == 409
    )
    open_ = plans.post(f"/v1/children/{child_id}/break-glass", json={"reason": REASON}, headers=who["sw-2"])
    assert open_.status_code == 409 and "not restricted" in open_.json["message"]

    # Each change audited with its reason, in its own unit of work with its event; the reason stays here.
    entries = [e for e in audit_entries(plans_store) if e["record_type"] == "restriction" and e["action"] != "read"]
    assert [(e["action"], e["actor"], e["detail"]["reason"]) for e in entries] == [
        ("set_restriction", "tm-1", RESTRICTION["reason"]),
        ("set_restriction", "pat-m", RESTRICTION["reason"]),
        ("lift_restriction", "admin-1", "Adoption order made; the record moves."),
    ]
    events = published(plans_store, "child.restriction_set.v1") + published(plans_store, "child.restriction_lifted.v1")
    assert len(events) == 3
    for event in events:
        validate_event(event)
        assert event["subject"] == child_id and "reason" not in event["data"]
    assert events[0]["data"]["restriction_id"] == events[1]["data"]["restriction_id"] == lifted.json["restriction_id"]


def test_the_lookup_still_answers_for_a_restricted_child_and_tells_the_key_worker(plans, plans_store, restricted, who):
    answer = look_up(plans, who["hv-1"], NHS)
    assert answer["subject_of_plan"] is True and answer["contact"]["key_worker"] == "Sam Social"
    [event] = lookup_events(plans_store)
    assert event["data"]["child_id"] == restricted["child_id"] and event["data"]["subject_of_plan"] is True
    assert event["data"]["plan_id"] == restricted["plan_id"]


# --- the access report ------------------------------------------------------------------------------


def test_the_access_report_lists_reads_with_their_reasons_and_is_refused_to_others(plans, plans_store, restricted, who):
    child_id, plan_id = restricted["child_id"], restricted["plan_id"]
    grant = break_glass(plans, child_id, who["sw-2"])
    assert plans.get(f"/v1/plans/{plan_id}", headers=who["sw-2"]).status_code == 200
    look_up(plans, who["hv-1"], NHS)
    assert plans.get(f"/v1/children/{child_id}", headers=who["sw-1"]).status_code == 200

    path = f"/v1/children/{child_id}/access-report"
    for user in ("sw-2", "sw-1", "chair-1", "admin-1", "hv-1"):
        refused = plans.get(path, headers=who[user])
        assert refused.status_code == 403, (user, refused.json)
    report = plans.get(path, headers=who["tm-2"])
    assert report.status_code == 200, report.json
    items = report.json["items"]
    assert [(i["actor"], i["action"], i["record_type"]) for i in items[:5]] == [
        ("sw-1", "read", "child"),
        ("hv-1", "lookup", "child"),
        ("sw-2", "read", "plan"),
        ("sw-2", "break_glass", "break_glass_grant"),
        ("tm-1", "set_restriction", "restriction"),
    ]
    assert [i["seq"] for i in items] == sorted((i["seq"] for i in items), reverse=True)
    assert items[2]["break_glass"] == items[3]["break_glass"] == grant["id"]
    assert items[2]["reason"] == items[3]["reason"] == REASON
    assert items[4]["reason"] == RESTRICTION["reason"] and items[0]["break_glass"] is None
    assert all(datetime.fromisoformat(i["at"]) and i["request_id"] for i in items)

    # The key worker (by the email the plan names), the restriction's manager and auditors read it too.
    for user in ("key worker", "manager", "auditor-1"):
        assert plans.get(path, headers=who[user]).status_code == 200, user
    # Paged, newest first; reading it is itself in the log (and so in the report).
    total = plans.get(path, headers=who["tm-2"]).json["total"]
    first = plans.get(path, query_string={"page_size": 2}, headers=who["tm-2"]).json
    assert first["total"] == total + 1 and len(first["items"]) == 2
    assert (first["items"][0]["actor"], first["items"][0]["record_type"]) == ("tm-2", "access_report")
    second = plans.get(
        path, query_string={"page_size": 2, "page": 2, "before_seq": first["before_seq"]}, headers=who["tm-2"]
    ).json
    whole = plans.get(path, query_string={"page_size": 4, "before_seq": first["before_seq"]}, headers=who["tm-2"]).json
    assert [i["seq"] for i in first["items"] + second["items"]] == [i["seq"] for i in whole["items"]]
    assert second["before_seq"] == whole["before_seq"] == first["before_seq"] and second["total"] == first["total"]
    assert plans.get(path, query_string={"page_size": 0}, headers=who["tm-2"]).status_code == 422


# --- the docs service ---------------------------------------------------------------------------------


def test_the_docs_service_refuses_a_restricted_childs_document_to_others(
    plans, plans_store, restricted, who, make_settings, monkeypatch
):
    from cpp_docs import access as docs_access

    docs_app = create_docs_app(make_settings("docs"))
    docs_ctx = docs_app.extensions["cpp"]
    docs = docs_app.test_client()
    child_id, plan_id = restricted["child_id"], restricted["plan_id"]

    def hand_plans_events(*types):
        for m in plans_store.outbox_pending(10_000):
            if m.routing_key in types and not docs_ctx.store.is_processed(m.body["id"], "docs"):
                hand_over(docs_ctx, m.body)

    # A document of the child's plan (its bytes and row, as the renderer leaves them).
    html = b"<!doctype html><html lang='en-GB'><title>Plan</title><p>The plan.</p></html>"
    sha = file_store(docs_ctx).put(html)
    docs_ctx.store.collection("documents").insert_one(
        {
            "_id": "doc-1",
            "key": "doc-1",
            "kind": "professional_plan",
            "plan_id": plan_id,
            "case_id": restricted["case_id"],
            "child_id": child_id,
            "plan_version": 1,
            "report_id": None,
            "report_version": None,
            "meeting_id": None,
            "format": "html",
            "language": "en-GB",
            "large_print": False,
            "content_type": "text/html; charset=utf-8",
            "sha256": sha,
            "size": len(html),
            "created_at": "2026-12-07T00:00:00+00:00",
        }
    )
    assert docs.get("/v1/documents/doc-1", headers=who["sw-2"]).status_code == 200  # docs has not heard yet

    hand_plans_events("child.restriction_set.v1")
    for path in (
        "/v1/documents/doc-1",
        f"/v1/plans/{plan_id}/documents",
        f"/v1/cases/{restricted['case_id']}/documents",
    ):
        refused = docs.get(path, headers=who["sw-2"])
        assert refused.status_code == 403 and "restricted" in refused.json["message"], path
        assert docs.get(path, headers=who["sw-1"]).status_code == 200, path
    assert docs.get("/v1/documents/doc-1", headers=who["auditor-1"]).status_code == 403

    # Glass broken at the plans service opens the documents too, until the grant expires.
    grant = break_glass(plans, child_id, who["sw-2"])
    hand_plans_events("access.break_glass.v1")
    read = docs.get("/v1/documents/doc-1", headers=who["sw-2"])
    assert read.status_code == 200 and read.data == html
    entries = [r.entry for r in docs_ctx.store.read_log("audit") if r.entry["actor"] == "sw-2"]
    # Its one read before docs heard of the restriction, then the read under the grant.
    assert [e["detail"].get("break_glass") for e in entries] == [None, grant["id"]]
    later = datetime.fromisoformat(grant["expires_at"]) + timedelta(seconds=1)
    monkeypatch.setattr(docs_access, "now", lambda: later)
    assert docs.get("/v1/documents/doc-1", headers=who["sw-2"]).status_code == 403

    # Lifted: open again.
    assert (
        plans.delete(
            f"/v1/children/{child_id}/restriction",
            headers=who["tm-1"],
            json={"reason": "The member of staff has left the team."},
        ).status_code
        == 200
    )
    hand_plans_events("child.restriction_lifted.v1")
    assert docs.get("/v1/documents/doc-1", headers=who["chair-2"]).status_code == 200


def test_a_break_glass_sent_again_with_its_key_is_one_grant_and_one_notice(plans, plans_store, restricted, who):
    headers = {**who["sw-2"], "Idempotency-Key": "5f0c6b8e-break-glass"}
    body = {"reason": REASON}
    first = plans.post(f"/v1/children/{restricted['child_id']}/break-glass", json=body, headers=headers)
    again = plans.post(f"/v1/children/{restricted['child_id']}/break-glass", json=body, headers=headers)
    assert first.status_code == again.status_code == 201, (first.json, again.json)
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert len(plans_store.collection("break_glass_grants").find()) == 1
    assert len(published(plans_store, "access.break_glass.v1")) == 1
