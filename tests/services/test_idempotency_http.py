"""Idempotent creates: a create sent again with the same Idempotency-Key
answers the first request's answer and writes nothing; another request with
that key is a 422, a malformed key a 400; keys are each user's own and
expire. Checked on a child's registration and a case in the plans service,
a partner's subscription in notify and a calendar feed in the scheduler, and
in the OpenAPI documents: every create takes the header."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

from cpp_docs.app import create_app as create_docs_app
from cpp_notify.app import create_app as create_notify_app
from cpp_plans.app import create_app as create_plans_app
from cpp_scheduler.app import create_app as create_scheduler_app
from cpp_shared import idempotency
from cpp_shared.config import ConfigError
from tests.helpers import a_child, bearer, child_on_record
from tests.services.test_plans_lifecycle_http import OUTLINE, a_plan_to_conference
from tests.services.test_scheduler_http import PLAN, hold_initial, start_case

KEY = "Idempotency-Key"
NHS = "9434765919"


def footprint(store) -> tuple:
    """Everything a request could have written: each collection's records
    (but the keys' own), the events waiting in the outbox, the audit log."""
    names = sorted(n for n in store.collection_names() if n != idempotency.COLLECTION)
    return (
        {n: store.collection(n).count_documents({}) for n in names},
        store.outbox_stats().pending,
        len(store.read_log("audit")),
    )


def audit_actions(store) -> list[str]:
    return [r.entry["action"] for r in store.read_log("audit")]


@dataclass
class Create:
    """One create of one service, as the matrix below sends it."""

    name: str
    make_app: Callable[[Callable], Any]  # make_settings -> app, set up for the create
    path: str
    body: dict[str, Any]
    other_body: dict[str, Any]
    collection: str
    role: str
    audited: bool  # does the create write an audit entry (so its replay does too)?


def _plans(make_settings):
    app = create_plans_app(make_settings("plans"))
    store = app.extensions["cpp"].store
    child_on_record(store, "child-1")
    child_on_record(store, "child-2", given_names="Alex")
    return app


def _scheduler(make_settings):
    app = create_scheduler_app(make_settings("scheduler"))
    start_case(app.extensions["cpp"])
    hold_initial(app.extensions["cpp"])
    return app


CREATES = [
    Create("child", _plans, "/v1/children", a_child(), a_child(given_names="Alex"), "children", "social_worker", True),
    Create(
        "case", _plans, "/v1/cases", {"child_id": "child-1"}, {"child_id": "child-2"}, "cases", "social_worker", True
    ),
    Create(
        "subscription",
        lambda ms: create_notify_app(ms("notify")),
        "/v1/subscriptions",
        {"url": "https://93.184.216.34/hook", "event_types": ["plan.*"]},
        {"url": "https://93.184.216.34/hook", "event_types": ["conference.*"]},
        "subscriptions",
        "partner",
        False,
    ),
    Create(
        "calendar feed",
        _scheduler,
        f"/v1/plans/{PLAN}/calendar-feeds",
        {"days": 30},
        {"days": 7},
        "calendar_feeds",
        "social_worker",
        False,
    ),
]


@pytest.fixture(params=CREATES, ids=[c.name for c in CREATES])
def create(request, make_settings, token_for):
    spec: Create = request.param
    app = spec.make_app(make_settings)

    store = app.extensions["cpp"].store
    already = store.collection(spec.collection).count_documents({})

    class Target:
        c = spec
        client = app.test_client()

        @staticmethod
        def user(name: str = "user-1") -> dict[str, str]:
            return bearer(token_for(spec.role, user=name))

        @classmethod
        def post(cls, body=None, key: str | None = None, headers=None, path=None):
            headers = dict(headers or cls.user())
            if key is not None:
                headers[KEY] = key
            return cls.client.post(path or spec.path, json=spec.body if body is None else body, headers=headers)

        @classmethod
        def records(cls) -> int:
            """The records this test made."""
            return cls.store.collection(spec.collection).count_documents({}) - already

    Target.store = store

    return Target


def same_answer(first, again) -> None:
    assert again.status_code == first.status_code == 201, again.get_json()
    assert again.get_json() == first.get_json()
    for header in ("ETag", "Location", "Content-Type"):
        assert again.headers.get(header) == first.headers.get(header)
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers


# --- the matrix: each create, each promise ---------------------------------


def test_the_same_key_twice_makes_one_record_and_gives_the_same_answer(create):
    key = str(uuid.uuid4())
    first = create.post(key=key)
    assert first.status_code == 201, first.get_json()
    after_first = footprint(create.store)
    again = create.post(key=key)
    same_answer(first, again)
    assert create.records() == 1
    records, events, audited = footprint(create.store)
    assert (records, events) == after_first[:2]  # no record, no event
    if create.c.audited:  # the answer shows the record again: audited as the create was
        assert audited == after_first[2] + 1 and audit_actions(create.store)[-2:] == ["create", "replay"]
        replay = create.store.read_log("audit")[-1].entry
        assert replay["record_id"] == first.get_json()["id"]
        assert replay["detail"]["replayed_request_id"] == first.headers["X-Request-Id"]
    else:
        assert audited == after_first[2]


def test_another_body_with_the_same_key_is_422_and_writes_nothing(create):
    key = str(uuid.uuid4())
    assert create.post(key=key).status_code == 201
    before = footprint(create.store)
    refused = create.post(create.c.other_body, key=key)
    assert refused.status_code == 422, refused.get_json()
    [message] = refused.get_json()["errors"]["headers"][KEY]
    assert "already used for another request" in message
    assert footprint(create.store) == before and create.records() == 1


def test_the_same_key_by_another_user_creates_separately(create):
    key = str(uuid.uuid4())
    mine = create.post(key=key, headers=create.user("user-1"))
    theirs = create.post(create.c.other_body, key=key, headers=create.user("user-2"))  # a case: another child's
    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers and theirs.get_json()["id"] != mine.get_json()["id"]
    assert create.records() == 2


def test_an_expired_key_creates_anew(create, monkeypatch):
    key = str(uuid.uuid4())
    first = create.post(key=key)
    monkeypatch.setattr(idempotency, "now", lambda: time.time() + 24 * 3600 + 1)
    again = create.post(create.c.other_body, key=key)  # a case: another child's (one open case per child)
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert again.get_json()["id"] != first.get_json()["id"] and create.records() == 2
    replayed = create.post(create.c.other_body, key=key)
    assert replayed.headers["Idempotent-Replayed"] == "true"  # the new answer is kept in its place
    assert create.records() == 2


@pytest.mark.parametrize(
    "bad",
    ["", "   ", "k" * 256, "clé", "tab\there", "\x7f"],
    ids=["empty", "spaces", "256 long", "not ascii", "tab", "delete"],
)
def test_a_malformed_key_is_400_naming_the_header_and_writes_nothing(create, bad):
    before = footprint(create.store)
    refused = create.post(key=bad)
    assert refused.status_code == 400, refused.get_json()
    assert list(refused.get_json()["errors"]["headers"]) == [KEY]
    assert footprint(create.store) == before and create.records() == 0


def test_a_key_of_255_printable_characters_is_a_key(create):
    key = "A" + "".join(chr(32 + i % 95) for i in range(253)) + "Z"
    assert len(key) == 255
    first = create.post(key=key)
    assert first.status_code == 201, first.get_json()
    same_answer(first, create.post(key=key))


def test_the_kept_answer_is_not_readable_in_the_store(create):
    """Sealed with the key, which is never stored: a child's details, a
    subscription's signing secret or a calendar feed's key never lie there
    readable."""
    key = str(uuid.uuid4())
    answer = create.post(key=key).get_json()
    [record] = create.store.collection(idempotency.COLLECTION).find()
    raw = json.dumps(record)
    assert key not in raw
    for value in (answer["id"], answer.get("secret"), answer.get("key"), answer.get("family_name")):
        if value:
            assert value not in raw
    assert record["authority"] == "ENG" and set(record) == {
        "_id",
        "authority",
        "created_at",
        "expires_at",
        "sealed",
        "version",
    }


# --- beyond the matrix -------------------------------------------------------


@pytest.fixture
def plans_app(make_settings):
    app = create_plans_app(make_settings("plans"))
    for n in range(1, 5):  # a child has one open case at a time: a case each
        child_on_record(app.extensions["cpp"].store, f"child-{n}")
    return app


@pytest.fixture
def sw(token_for):
    return bearer(token_for("social_worker", user="sw-1"))


def test_the_same_key_on_another_path_is_422(plans_app, sw):
    client, key = plans_app.test_client(), str(uuid.uuid4())
    assert client.post("/v1/cases", json={"child_id": "child-1"}, headers={**sw, KEY: key}).status_code == 201
    store = plans_app.extensions["cpp"].store
    before = footprint(store)
    refused = client.post("/v1/children", json={"child_id": "child-1"}, headers={**sw, KEY: key})
    assert refused.status_code == 422 and KEY in refused.get_json()["errors"]["headers"]
    assert footprint(store) == before


def test_the_same_body_in_another_order_or_spacing_is_the_same_request(plans_app, sw):
    client, key = plans_app.test_client(), str(uuid.uuid4())
    body = a_child()
    first = client.post("/v1/children", json=body, headers={**sw, KEY: key})
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2)
    again = client.post("/v1/children", data=reordered, content_type="application/json", headers={**sw, KEY: key})
    same_answer(first, again)


def test_a_refused_request_keeps_no_key_so_it_can_be_put_right(plans_app, sw):
    client, key = plans_app.test_client(), str(uuid.uuid4())
    refused = client.post("/v1/cases", json={"child_id": "nobody"}, headers={**sw, KEY: key})
    assert refused.status_code == 422 and "json" in refused.get_json()["errors"]
    store = plans_app.extensions["cpp"].store
    assert store.collection(idempotency.COLLECTION).count_documents({}) == 0
    assert client.post("/v1/cases", json={"child_id": "child-1"}, headers={**sw, KEY: key}).status_code == 201


def test_a_commit_the_views_own_writes_break_gets_the_views_own_answer(plans_app, sw):
    """The unit held for the answer fails at commit on the child's unique NHS
    number: the client gets the 409 naming the child that has it, as without
    a key, and nothing is written, the key neither."""
    client = plans_app.test_client()
    store = plans_app.extensions["cpp"].store
    with_nhs = a_child(identifiers=[{"scheme": "nhs_number", "value": NHS}])
    existing = client.post("/v1/children", json=with_nhs, headers=sw).get_json()["id"]
    before = footprint(store)
    key = str(uuid.uuid4())
    for _ in range(2):
        refused = client.post("/v1/children", json=with_nhs, headers={**sw, KEY: key})
        assert refused.status_code == 409, refused.get_json()
        assert refused.get_json()["errors"]["existing_child_id"] == existing
        assert footprint(store) == before
        assert store.collection(idempotency.COLLECTION).count_documents({}) == 0


def test_two_requests_with_the_same_key_at_once_make_one_record(plans_app, sw, monkeypatch):
    """Both are past the key's lookup and have built their answers before
    either commits: the first commits, the second's commit fails on the key
    and it answers the first's answer."""
    both_built = threading.Barrier(2, timeout=30)
    commit = idempotency.commit_held

    def after_both_built(store, uow):
        both_built.wait()
        return commit(store, uow)

    monkeypatch.setattr(idempotency, "commit_held", after_both_built)
    key, answers = str(uuid.uuid4()), []

    def send():
        answers.append(plans_app.test_client().post("/v1/children", json=a_child(), headers={**sw, KEY: key}))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert [a.status_code for a in answers] == [201, 201]
    first, again = sorted(answers, key=lambda a: "Idempotent-Replayed" in a.headers)
    same_answer(first, again)
    store = plans_app.extensions["cpp"].store
    assert (
        store.collection("children").count_documents({"_id": {"$nin": ["child-1", "child-2", "child-3", "child-4"]}})
        == 1
    )
    assert [m.routing_key for m in store.outbox_pending(100) if m.routing_key != "staff.updated.v1"] == [
        "child.registered.v1"
    ]


def test_a_view_refused_because_the_same_key_committed_meanwhile_answers_that_answer(plans_app, token_for, monkeypatch):
    """A request whose view refuses (the conference is held already) because
    a request with the same key committed after this one looked for the key
    gets that request's answer."""
    client = plans_app.test_client()
    sw, chair = bearer(token_for("social_worker")), bearer(token_for("chair", user="chair-1"))
    d0 = date.today() - timedelta(days=3)
    conference_id = a_plan_to_conference(client, sw, d0)
    body = {"held_on": d0.isoformat(), "plan_required": True, "outline_plan": OUTLINE}
    key = str(uuid.uuid4())
    first = client.post(f"/v1/conferences/{conference_id}/outcome", json=body, headers={**chair, KEY: key})
    assert first.status_code == 200, first.get_json()
    without_key = client.post(f"/v1/conferences/{conference_id}/outcome", json=body, headers=chair)
    assert without_key.status_code == 409  # what the view answers a second outcome
    found, lookups = idempotency._Pending.find, []

    def first_lookup_misses(self):  # as if the first request had not committed yet at this one's lookup
        lookups.append(1)
        return None if len(lookups) == 1 else found(self)

    monkeypatch.setattr(idempotency._Pending, "find", first_lookup_misses)
    again = client.post(f"/v1/conferences/{conference_id}/outcome", json=body, headers={**chair, KEY: key})
    assert len(lookups) == 2
    assert again.status_code == 200 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert plans_app.extensions["cpp"].store.collection("plans").count_documents({}) == 1


def test_a_revocation_sent_again_is_one_revocation_refused_at_once(plans_app, token_for):
    client = plans_app.test_client()
    admin = bearer(token_for("admin", user="admin-1"))
    victim = bearer(token_for("social_worker", user="sw-9", now=time.time() - 120))
    assert client.get("/v1/plans", headers=victim).status_code == 200  # its answer is now kept a moment
    key = str(uuid.uuid4())
    body = {"user": "sw-9", "reason": "Left the council."}
    first = client.post("/v1/revocations", json=body, headers={**admin, KEY: key})
    assert first.status_code == 201, first.get_json()
    assert client.get("/v1/plans", headers=victim).status_code == 401  # refused from the commit on
    same_answer(first, client.post("/v1/revocations", json=body, headers={**admin, KEY: key}))
    assert plans_app.extensions["cpp"].store.collection("revocations").count_documents({}) == 1


def test_a_replayed_calendar_feed_key_works(make_settings, token_for):
    app = _scheduler(make_settings)
    client, key = app.test_client(), str(uuid.uuid4())
    sw = {**bearer(token_for("social_worker", user="sw-1")), KEY: key}
    first = client.post(f"/v1/plans/{PLAN}/calendar-feeds", json={"days": 30}, headers=sw)
    again = client.post(f"/v1/plans/{PLAN}/calendar-feeds", json={"days": 30}, headers=sw)
    same_answer(first, again)
    assert client.get(f"/v1/plans/{PLAN}/calendar.ics?key={again.get_json()['key']}").status_code == 200


def test_requests_without_a_key_are_unchanged(plans_app, sw):
    client = plans_app.test_client()
    for n in (1, 2):
        resp = client.post("/v1/cases", json={"child_id": f"child-{n}"}, headers=sw)
        assert resp.status_code == 201 and "Idempotent-Replayed" not in resp.headers
    store = plans_app.extensions["cpp"].store
    assert store.collection("cases").count_documents({}) == 2
    assert store.collection(idempotency.COLLECTION).count_documents({}) == 0


def test_on_a_mongodb_store_too(make_settings, token_for):
    app = create_plans_app(make_settings("plans", CPP_STORE_URL=f"mongomock://idem{uuid.uuid4().hex[:8]}"))
    client, store = app.test_client(), app.extensions["cpp"].store
    sw = bearer(token_for("social_worker", user="sw-1"))
    body = a_child(identifiers=[{"scheme": "nhs_number", "value": NHS}])
    key = str(uuid.uuid4())
    first = client.post("/v1/children", json=body, headers={**sw, KEY: key})
    same_answer(first, client.post("/v1/children", json=body, headers={**sw, KEY: key}))
    before = footprint(store)
    assert client.post("/v1/children", json=a_child(), headers={**sw, KEY: key}).status_code == 422
    taken = client.post("/v1/children", json=body, headers={**sw, KEY: str(uuid.uuid4())})
    assert taken.status_code == 409 and taken.get_json()["errors"]["existing_child_id"] == first.get_json()["id"]
    assert footprint(store) == before and store.collection(idempotency.COLLECTION).count_documents({}) == 1


# --- how long keys are kept ---------------------------------------------------


def test_keys_are_kept_for_the_hours_the_deployment_sets(make_settings, token_for):
    app = create_plans_app(make_settings("plans", CPP_IDEMPOTENCY_HOURS="48"))
    child_on_record(app.extensions["cpp"].store, "child-1")
    sw = {**bearer(token_for("social_worker", user="sw-1")), KEY: "k-1"}
    before = time.time()
    assert app.test_client().post("/v1/cases", json={"child_id": "child-1"}, headers=sw).status_code == 201
    [record] = app.extensions["cpp"].store.collection(idempotency.COLLECTION).find()
    assert before + 48 * 3600 <= record["expires_at"] <= time.time() + 48 * 3600


@pytest.mark.parametrize("hours", ["0", "721", "24h", "1.5"])
def test_a_wrong_number_of_hours_stops_start_up_naming_the_setting(make_settings, hours):
    with pytest.raises(ConfigError, match="CPP_IDEMPOTENCY_HOURS"):
        create_plans_app(make_settings("plans", CPP_IDEMPOTENCY_HOURS=hours))


def test_the_workers_sweep_removes_expired_keys_only(plans_app, sw, monkeypatch):
    client = plans_app.test_client()
    for n in (1, 2, 3):
        opened = client.post("/v1/cases", json={"child_id": f"child-{n}"}, headers={**sw, KEY: f"old-{n}"})
        assert opened.status_code == 201
    monkeypatch.setattr(idempotency, "now", lambda: time.time() + 24 * 3600 + 1)
    assert client.post("/v1/cases", json={"child_id": "child-4"}, headers={**sw, KEY: "new"}).status_code == 201
    ctx = plans_app.extensions["cpp"]
    [(name, sweep)] = idempotency.background(ctx)
    stop = threading.Event()
    stop.set()  # one pass, then it stops
    sweep(stop)
    assert name == "idempotency-sweep"
    assert ctx.store.collection(idempotency.COLLECTION).count_documents({}) == 1
    assert idempotency.remove_expired(ctx.store) == 0


# --- the OpenAPI documents ------------------------------------------------------

CREATE_OPERATIONS = {
    "plans": {
        "/v1/children",
        "/v1/children/{child_id}/birth",
        "/v1/cases",
        "/v1/cases/{case_id}/referral",
        "/v1/cases/{case_id}/referral/decision",
        "/v1/cases/{case_id}/assessment",
        "/v1/cases/{case_id}/assessment/completion",
        "/v1/cases/{case_id}/closure",
        "/v1/cases/{case_id}/strategy-discussions",
        "/v1/cases/{case_id}/conferences",
        "/v1/conferences/{conference_id}/outcome",
        "/v1/conferences/{conference_id}/invitations",
        "/v1/conferences/{conference_id}/record-issue",
        "/v1/plans/{plan_id}/core-group-meetings",
        "/v1/plans/{plan_id}/visits",
        "/v1/cases/{case_id}/visits",
        "/v1/plans/{plan_id}/significant-changes",
        "/v1/plans/{plan_id}/significant-changes/{change_id}/referral",
        "/v1/plans/{plan_id}/escalations",
        "/v1/plans/{plan_id}/escalations/{escalation_id}/referral",
        "/v1/plans/{plan_id}/escalations/{escalation_id}/steps",
        "/v1/plans/{plan_id}/ending",
        "/v1/conferences/{conference_id}/reports",
        "/v1/plans/{plan_id}/resource-panel-requests",
        "/v1/cases/{case_id}/child-in-need-plans",
        "/v1/revocations",
        "/v1/children/{child_id}/break-glass",
        "/v1/children/{child_id}/legal-holds",
        "/v1/staff",
        "/v1/families",
        "/v1/families/{family_id}/cases",
        "/v1/families/{family_id}/strategy-discussions",
        "/v1/families/{family_id}/core-group-meetings",
        "/v1/families/{family_id}/conferences",
        "/v1/family-conferences/{family_conference_id}/outcome",
        "/v1/family-conferences/{family_conference_id}/reports",
        "/v1/cases/{case_id}/transfer-out",
        "/v1/transfers/in",
    },
    "scheduler": {"/v1/plans/{plan_id}/calendar-feeds"},
    "notify": {"/v1/subscriptions"},
    "docs": set(),
}
FACTORIES = {
    "plans": create_plans_app,
    "scheduler": create_scheduler_app,
    "notify": create_notify_app,
    "docs": create_docs_app,
}


@pytest.mark.parametrize("service", sorted(FACTORIES))
def test_every_create_documents_the_header_and_its_answers(service, make_settings, token_for):
    app = FACTORIES[service](make_settings(service))
    doc = app.test_client().get("/openapi.json", headers=bearer(token_for("auditor"))).get_json()
    keyed = set()
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            headers = [p for p in operation.get("parameters", []) if p.get("in") == "header"]
            if any(p["name"] == KEY for p in headers):
                keyed.add(path)
                assert method == "post"
                assert {"400", "422"} <= set(operation["responses"])
                [success] = [code for code in operation["responses"] if code.startswith("2")]
                assert "Idempotent-Replayed" in operation["responses"][success]["headers"]
            elif method == "post":
                assert "201" not in operation["responses"], f"{path}: a create without {KEY}"
    assert keyed == CREATE_OPERATIONS[service]
