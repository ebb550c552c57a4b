"""No record crosses an authority, checked for every operation the services
publish: two deployments (England, authority ENG; Bromley, BRM) share every
service's database, ENG's is filled by a walk through every step, and then
every operation of every service's OpenAPI document is called as each of
BRM's roles, with every path id taken from ENG's records and the body and
query ENG itself used. Each answer must be a 404 (or a 403 where the role is
refused), no answer may name an ENG record, and ENG's records, events and
audit entries must be exactly as they were. The two share one bus (kombu's
in-memory transport) on which some of ENG's events are parked for every
service: BRM's admin reading its parked messages must not be shown them.

The operations come from the OpenAPI documents, so a route added tomorrow is
checked tomorrow; one whose body or path ids the walk does not give fails
here until the walk does.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask import jsonify
from flask.testing import FlaskClient
from flask_smorest import Blueprint
from kombu import Connection

from cpp_docs.app import create_app as create_docs_app
from cpp_docs.render import Renderer
from cpp_notify.app import create_app as create_notify_app
from cpp_plans.app import create_app as create_plans_app
from cpp_scheduler.app import create_app as create_scheduler_app
from cpp_scheduler.runtime import runtime as scheduler_runtime
from cpp_scheduler.tick import Ticker
from cpp_shared.contracts.topology import parked_queue_name
from cpp_shared.store.scoped import unscoped
from tests.helpers import bearer, hand_over
from tests.services.test_event_catalogue import NAMES, walk, walk_revocations, walk_subscriptions
from tests.services.test_parked_messages_http import park

ROLES = ("social_worker", "team_manager", "chair", "partner", "auditor", "admin")
FACTORIES = {
    "plans": create_plans_app,
    "scheduler": create_scheduler_app,
    "notify": create_notify_app,
    "docs": create_docs_app,
}
# Where each path id of the services' routes is found among ENG's records.
PATH_IDS = {
    "child_id": ("plans", "children"),
    "case_id": ("plans", "cases"),
    "family_id": ("plans", "families"),
    "family_conference_id": ("plans", "family_conferences"),
    "conference_id": ("plans", "conferences"),
    "plan_id": ("plans", "plans"),
    "report_id": ("plans", "reports"),
    "request_id": ("plans", "resource_panel_requests"),
    "change_id": ("plans", "significant_changes"),
    "hold_id": ("plans", "legal_holds"),
    "deadline_id": ("scheduler", "deadlines"),
    "feed_id": ("scheduler", "calendar_feeds"),
    "subscription_id": ("notify", "subscriptions"),
    "delivery_id": ("notify", "deliveries"),
    "message_id": ("notify", "messages"),
    "doc_id": ("docs", "documents"),
    "user": ("plans", "staff"),
}
PARAM = re.compile(r"<(?:\w+:)?(\w+)>")
# Creates whose body names the new record's id (a member of staff by their user id): BRM's call names one of
# BRM's own, since the same user id may be a member of staff of each authority; replayed as ENG's, it would
# make BRM a record with the id of ENG's, whose reads then answer BRM's own record, not a leak.
OWN_IDS = {("plans", "POST", "/v1/staff"): "user"}


class RecordingClient(FlaskClient):
    """A test client that remembers, per route, the last request that
    succeeded: its body, query string and If-Match."""

    def open(self, *args: Any, **kwargs: Any):
        response = super().open(*args, **kwargs)
        path = args[0] if args and isinstance(args[0], str) else kwargs.get("path", "/")
        method = kwargs.get("method", "GET").upper()
        if response.status_code < 400:
            path, _, query = path.partition("?")
            try:
                rule, _ = self.application.url_map.bind("localhost").match(path, method, return_rule=True)
            except Exception:  # noqa: BLE001 - not a route of the app (never for a success)
                return response
            self.application.config.setdefault("RECORDED_REQUESTS", {})[(method, rule.rule)] = {
                "json": kwargs.get("json"),
                "query": kwargs.get("query_string") or query,
                "if_match": (kwargs.get("headers") or {}).get("If-Match"),
            }
        return response


@dataclass
class Deployment:
    apps: dict[str, Any]

    def ctx(self, service):
        return self.apps[service].extensions["cpp"]

    def client(self, service):
        return self.apps[service].test_client()

    def recorded(self, service) -> dict[tuple[str, str], dict[str, Any]]:
        return self.apps[service].config.get("RECORDED_REQUESTS", {})


def deploy(make_settings, plugins: str, bus: str) -> Deployment:
    apps = {
        name: make(make_settings(name, CPP_PLUGINS=plugins, CPP_BROKER_URL=bus)) for name, make in FACTORIES.items()
    }
    for app in apps.values():
        app.test_client_class = RecordingClient
    return Deployment(apps)


def fill(eng: Deployment, token_for) -> None:
    """ENG's records: a walk through every step, its events handed to every
    consuming service, documents rendered, a calendar feed, subscriptions."""
    who = {role: bearer(token_for(role, user=f"{role}-1", name=NAMES.get(role), team="North")) for role in ROLES}
    plans_store = eng.ctx("plans").store
    seen: set[str] = set()

    def pump():
        for m in plans_store.outbox_pending(10_000):
            if m.message_id not in seen:
                seen.add(m.message_id)
                for service in ("scheduler", "notify", "docs"):
                    handlers = eng.ctx(service).spec.handlers
                    if handlers.for_type(m.body["type"]):
                        hand_over(eng.ctx(service), m.body)

    scheduler = eng.ctx("scheduler")
    walk(eng.client("plans"), who, pump, Ticker(scheduler), scheduler.store)
    walk_subscriptions(eng.apps["notify"], who)
    walk_revocations(eng.client("plans"), who)
    Renderer(eng.ctx("docs")).run_once(use_lease=False)
    sched, sw = eng.client("scheduler"), who["social_worker"]
    plan_id = plans_store.collection("plans").find({})[0]["_id"]
    feed = sched.post(f"/v1/plans/{plan_id}/calendar-feeds", headers=sw)
    assert feed.status_code == 201, feed.json
    eng.apps["scheduler"].config["FEED"] = feed.json
    # Every kind of read and change once, so that each route's query and body are on record.
    [deadline] = scheduler.store.collection("deadlines").find({"status": "pending"}, limit=1)
    calendar = scheduler_runtime(scheduler)
    due = calendar.today() + timedelta(days=7)
    while calendar.calendar.closure(due):
        due += timedelta(days=1)
    moved = sched.post(
        f"/v1/deadlines/{deadline['_id']}/due-date",
        headers=who["team_manager"],
        json={"due_on": due.isoformat(), "reason": "agreed at the core group"},
    )
    assert moved.status_code == 200, moved.json
    plans = eng.client("plans")
    child = plans_store.collection("children").find({}, limit=1)[0]["_id"]
    case_id = plans.post("/v1/cases", json={"child_id": child}, headers=sw).json["id"]
    today = calendar.today().isoformat()
    assert (
        plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": today}, headers=sw).status_code == 201
    )
    assert (
        plans.post(
            f"/v1/cases/{case_id}/enquiry-outcome",
            headers=sw,
            json={"completed_on": today, "conference_required": True},
        ).status_code
        == 200
    )
    conference = plans.post(
        f"/v1/cases/{case_id}/conferences", json={"kind": "initial", "scheduled_for": due.isoformat()}, headers=sw
    )
    assert conference.status_code == 201, conference.json
    report = plans.post(
        f"/v1/conferences/{conference.json['id']}/reports",
        headers=sw,
        json={"findings": "Findings.", "child_seen": [], "drafted_on": today},
    )
    assert report.status_code == 201, report.json
    tag = plans.get(f"/v1/reports/{report.json['id']}", headers=sw).headers["ETag"]
    edited = plans.patch(
        f"/v1/reports/{report.json['id']}", json={"findings": "More findings."}, headers={**sw, "If-Match": tag}
    )
    assert edited.status_code == 200, edited.json
    notify, docs = eng.client("notify"), eng.client("docs")
    reads = [
        sched.get(f"/v1/deadlines?plan_id={plan_id}", headers=sw),
        sched.get("/v1/rules", headers=sw),
        sched.get(f"/v1/deadlines/{deadline['_id']}", headers=sw),
        sched.get(f"/v1/plans/{plan_id}/calendar.ics", headers=sw),
        docs.get(f"/v1/plans/{plan_id}/documents", headers=sw),
        notify.get("/v1/inbox", headers=sw),
        notify.get("/v1/deliveries", headers=who["admin"]),
        notify.get("/v1/subscriptions", headers=who["admin"]),
    ]
    assert all(r.status_code == 200 for r in reads), [(r.request.path, r.status_code) for r in reads]
    # England has no escalation route with a recipient outside the council, so no referral is made there: its
    # body is the one Guernsey's Convenor referral sends (test_event_catalogue.walk_convenor_referral).
    referral = {"json": {"made_on": today, "made_to": "Children's Convenor"}, "query": "", "if_match": None}
    eng.apps["plans"].config["RECORDED_REQUESTS"][
        ("POST", "/v1/plans/<plan_id>/escalations/<escalation_id>/referral")
    ] = referral
    # Last, as it ends ENG's plan: a plan's ending (another authority's replay of it must find no plan).
    tm = who["team_manager"]
    [live] = plans_store.collection("plans").find({"status": {"$in": ["outline", "active"]}}, limit=1)
    tag = plans.get(f"/v1/plans/{live['_id']}", headers=tm).headers["ETag"]
    ended = plans.post(
        f"/v1/plans/{live['_id']}/ending", json={"reason": "left_the_uk", "on": today}, headers={**tm, "If-Match": tag}
    )
    assert ended.status_code == 201, ended.json


def eng_ids(eng: Deployment) -> dict[str, str]:
    ids = {}
    for param, (service, collection) in PATH_IDS.items():
        rows = eng.ctx(service).store.collection(collection).find({}, sort=[("_id", 1)], limit=1)
        if rows:
            ids[param] = rows[0]["user" if param == "user" else "_id"]
    # An escalation is kept in its plan: the id of one of ENG's.
    escalated = [p for p in eng.ctx("plans").store.collection("plans").find({}) if p.get("escalations")]
    if escalated:
        ids["escalation_id"] = escalated[0]["escalations"][0]["id"]
    return ids


def every_eng_id(eng: Deployment) -> set[str]:
    """The ids of every ENG record in every service: none may appear in an answer to BRM."""
    found = set()
    for service in FACTORIES:
        store = unscoped(eng.ctx(service).store)
        for name in store.collection_names():
            found.update(
                str(d["_id"]) for d in store.collection(name).find({"authority": "ENG"}) if len(str(d["_id"])) >= 8
            )
    return found


def snapshot(eng: Deployment) -> dict[str, Any]:
    """Everything of ENG's that a request could change: records, unsent events, audit entries."""
    state = {}
    for service in FACTORIES:
        store = unscoped(eng.ctx(service).store)
        for name in store.collection_names():
            state[f"{service}/{name}"] = sorted(
                json.dumps(d, sort_keys=True) for d in store.collection(name).find({"authority": "ENG"})
            )
        state[f"{service}/outbox"] = [m.message_id for m in store.outbox_pending(100_000, authority="ENG")]
        state[f"{service}/audit"] = [r.hash for r in eng.ctx(service).store.read_log("audit", limit=100_000)]
    return state


def operations(app, auth) -> list[tuple[str, str, Any]]:
    """(method, OpenAPI path, url rule) of every operation the app publishes
    that needs a token (the probes read no authority's records)."""
    doc = app.test_client().get("/openapi.json", headers=auth).json
    rules = {PARAM.sub(r"{\1}", r.rule): r for r in app.url_map.iter_rules()}
    return [
        (method.upper(), path, rules[path])
        for path, item in doc["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete") and item[method].get("security") != []
    ]


def mentions(payload: Any, ids: set[str]) -> set[str]:
    text = (
        json.dumps(payload)
        if not isinstance(payload, (bytes, str))
        else (payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload)
    )
    return {i for i in ids if i in text}


def leaks(brm: Deployment, eng: Deployment, token_for, services=FACTORIES, only=None) -> tuple[list[str], int, int]:
    """Call every operation of BRM's services with ENG's ids; what went wrong,
    and how many operations and requests were made."""
    ids, secret = eng_ids(eng), every_eng_id(eng)
    recorded = {service: eng.recorded(service) for service in FACTORIES}
    tokens = {role: bearer(token_for(role, authority="BRM", user=f"brm-{role}")) for role in ROLES}
    problems, count, requests = [], 0, 0
    for service in services:
        app = brm.apps[service]
        client = app.test_client()
        for method, path, rule in operations(app, tokens["auditor"]):
            if only and path not in only:
                continue
            count += 1
            params = PARAM.findall(rule.rule)
            missing = [p for p in params if p not in ids and p != "number"]
            if missing:
                problems.append(f"{service} {method} {path}: the walk made no ENG record for {missing}")
                continue
            url = rule.rule
            for p in params:
                url = PARAM.sub(
                    lambda m, p=p: (
                        str(ids[p]) if m.group(1) == p and p != "number" else ("1" if m.group(1) == p else m.group(0))
                    ),
                    url,
                )
            sample = recorded[service].get((method, rule.rule))
            if (
                method in ("POST", "PUT", "PATCH")
                and "requestBody"
                in json.dumps(
                    app.test_client()
                    .get("/openapi.json", headers=tokens["auditor"])
                    .json["paths"][path][method.lower()]
                )
                and sample is None
            ):
                problems.append(f"{service} {method} {path}: the walk never called it, so no body to replay")
                continue
            sample = sample or {"json": None, "query": "", "if_match": None}
            if (service, method, path) in OWN_IDS and sample["json"]:
                field = OWN_IDS[(service, method, path)]  # BRM's create names a record of its own
                sample = {**sample, "json": {**sample["json"], field: f"brm-{sample['json'][field]}"}}
            before = snapshot(eng)
            for role, auth in tokens.items():
                headers = dict(auth)
                if method in ("PATCH", "PUT", "POST", "DELETE"):
                    headers["If-Match"] = sample["if_match"] or '"1"'
                resp = client.open(
                    url, method=method, json=sample["json"], query_string=sample["query"], headers=headers
                )
                requests += 1
                what = f"{service} {method} {path} as BRM {role}"
                if params:
                    if resp.status_code not in (403, 404):
                        problems.append(
                            f"{what}: {resp.status_code} for ENG's record, not 404 "
                            f"({resp.get_data(as_text=True)[:200]})"
                        )
                elif resp.status_code >= 500:
                    problems.append(f"{what}: {resp.status_code}")
                if resp.status_code < 400 and mentions(resp.get_data(), secret):
                    problems.append(
                        f"{what}: the answer names ENG's records {sorted(mentions(resp.get_data(), secret))[:3]}"
                    )
            if snapshot(eng) != before:
                after = snapshot(eng)
                changed = [k for k in after if after[k] != before.get(k)]
                problems.append(f"{service} {method} {path}: ENG's records changed: {changed}")
    return problems, count, requests


def park_events(eng: Deployment, bus: str, token_for) -> None:
    """Some of ENG's events parked in every service's parked queue of the bus both deployments share
    (kombu's in-memory transport): ENG's admin reads them, BRM's must not."""
    events = [m.body for m in eng.ctx("plans").store.outbox_pending(10_000)][:3]
    admin = bearer(token_for("admin", user="admin-1"))
    for service in FACTORIES:
        for event in events:
            park(bus, service, event)
        listed = eng.client(service).get("/v1/admin/parked-messages", headers=admin)
        assert [m["id"] for m in listed.json["items"]] == [e["id"] for e in events], listed.json


@pytest.fixture
def shared(make_settings, token_for):
    bus = f"memory://isolation-{uuid.uuid4().hex[:8]}/"
    eng = deploy(make_settings, "england", bus)
    fill(eng, token_for)
    park_events(eng, bus, token_for)
    yield eng, deploy(make_settings, "england,bromley", bus)
    with Connection(bus) as conn:  # the in-memory transport's queues are the process's, whatever the address
        for service in FACTORIES:
            conn.channel().queue_purge(parked_queue_name(service))


def test_no_operation_of_any_service_reaches_another_authoritys_records(shared, token_for):
    eng, brm = shared
    assert {eng.ctx(s).authority["code"] for s in FACTORIES} == {"ENG"}
    assert {brm.ctx(s).authority["code"] for s in FACTORIES} == {"BRM"}
    problems, count, requests = leaks(brm, eng, token_for)
    print(f"isolation: {count} operations of {len(FACTORIES)} services, {requests} requests as another authority")
    assert count >= 60, f"only {count} operations found"
    assert not problems, "\n".join(problems)
    # A calendar feed's key opens ENG's feed at ENG's deployment only.
    feed = eng.apps["scheduler"].config["FEED"]
    calendar = f"/v1/plans/{feed['plan_id']}/calendar.ics"
    assert eng.client("scheduler").get(calendar, query_string={"key": feed["key"]}).status_code == 200
    assert brm.client("scheduler").get(calendar, query_string={"key": feed["key"]}).status_code == 401


def test_a_route_that_forgets_the_authority_is_found(make_settings, token_for, shared):
    """The check above is a real check: a route reading the database behind
    the authority's view is reported."""
    eng, brm = shared
    app = brm.apps["plans"]
    leaky = Blueprint("leaky", __name__, url_prefix="/v1/leaky")

    @leaky.route("/<case_id>")
    def read_any_case(case_id):
        case = unscoped(app.extensions["cpp"].store).collection("cases").find_one({"_id": case_id})
        return jsonify(case or {}), 200 if case else 404

    app.extensions["flask-smorest"]["apis"][""]["ext_obj"].register_blueprint(leaky)
    problems, count, _ = leaks(brm, eng, token_for, services=["plans"], only={"/v1/leaky/{case_id}"})
    assert count == 1
    assert problems and all("/v1/leaky/{case_id}" in p for p in problems)
    assert any("200 for ENG's record, not 404" in p for p in problems)
    assert any("the answer names ENG's records" in p for p in problems)
