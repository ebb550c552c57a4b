"""The paths that make the lookup and GET /v1/plans/{id} cheaper: the group
commit of concurrent requests' units of work (the processes taking turns to
commit; the mechanism itself is tested in tests/unit/test_group_commit.py), and
the plan dumped by one schema instance. Nothing of what is written, answered
or refused changes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cpp_plans.api.plans import PlanSchema, plan_response
from cpp_shared.store import StoreUnavailable, group_commit
from tests.helpers import bearer, wait_for
from tests.services.test_lookup_http import NHS, NHS_UNKNOWN, look_up, lookup_events, put_on_plan, register
from tests.unit.test_group_commit import WAIT, HeldCommits, join, run_threads


@pytest.fixture
def partner(token_for):
    return bearer(token_for("partner", user="hv-jones"))


@pytest.fixture
def chair(token_for):
    return bearer(token_for("chair", user="chair-1"))


# --- over HTTP ---


def test_concurrent_lookups_each_answer_after_their_own_audit_entry_and_event(
    app, store, sw, chair, partner, monkeypatch
):
    child_id = register(app.test_client(), sw, NHS)
    put_on_plan(app.test_client(), sw, chair, child_id, date.today() - timedelta(days=5))
    audit_before = len(store.read_log("audit"))
    held = HeldCommits(store)
    monkeypatch.setattr(store, "commit_all", held)
    found: dict[str, tuple[bool, bool]] = {}

    def lookup(nhs, request_id):
        resp = app.test_client().get(
            "/v1/lookup", query_string={"nhs_number": nhs}, headers={**partner, "X-Request-Id": request_id}
        )
        assert resp.status_code == 200, resp.json
        # Answered: its audit entry and its event are already committed.
        entries = [r.entry for r in store.read_log("audit", after_seq=audit_before)]
        server_id = resp.headers["X-Request-Id"]  # the client's id is kept apart from the server's
        found[request_id] = (
            any(e["request_id"] == server_id and e["client_request_id"] == request_id for e in entries),
            any(m.body.get("correlationid") == server_id for m in store.outbox_pending(1000)),
        )

    first = run_threads([lambda: lookup(NHS, "r0")])
    assert held.entered.wait(WAIT)
    others = run_threads([lambda i=i: lookup(NHS if i % 2 else NHS_UNKNOWN, f"r{i}") for i in range(1, 5)])
    wait_for(lambda: len(group_commit.committer_for(store)._queue) == 4, timeout=WAIT, what="four lookups waiting")
    held.release.set()
    join(first + others)

    assert held.batches == [1, 4]
    assert found == {f"r{i}": (True, True) for i in range(5)}
    entries = [r.entry for r in store.read_log("audit", after_seq=audit_before)]
    assert sorted(e["client_request_id"] for e in entries) == [f"r{i}" for i in range(5)]
    assert all(e["action"] == "lookup" and e["actor"] == "hv-jones" for e in entries)
    assert len(lookup_events(store)) == 5
    assert store.verify_log("audit").ok


def test_a_lookup_whose_commit_fails_is_a_503_and_leaves_nothing(client, store, partner, monkeypatch):
    def broken(units):
        raise StoreUnavailable("disk I/O error")

    monkeypatch.setattr(store, "commit_all", broken)
    resp = client.get("/v1/lookup", query_string={"nhs_number": NHS}, headers=partner)
    assert resp.status_code == 503 and resp.headers["Retry-After"]
    monkeypatch.undo()
    assert store.read_log("audit") == [] and lookup_events(store) == []
    assert look_up(client, partner, NHS)["subject_of_plan"] is False


def test_a_plan_read_is_audited_before_it_is_answered(client, store, sw, chair, monkeypatch):
    child_id = register(client, sw, NHS)
    _, plan = put_on_plan(client, sw, chair, child_id, date.today() - timedelta(days=2))
    real = store.commit_all

    def broken(units):
        raise StoreUnavailable("disk I/O error")

    monkeypatch.setattr(store, "commit_all", broken)
    before = len(store.read_log("audit"))
    assert client.get(f"/v1/plans/{plan['id']}", headers=sw).status_code == 503, "no entry, no plan"
    monkeypatch.setattr(store, "commit_all", real)
    resp = client.get(f"/v1/plans/{plan['id']}", headers=sw)
    assert resp.status_code == 200
    [read] = [r.entry for r in store.read_log("audit", after_seq=before)]
    assert (read["action"], read["record_type"], read["record_id"]) == ("read", "plan", plan["id"])


def test_the_plan_is_dumped_as_a_fresh_schema_would(app, client, store, sw, chair):
    child_id = register(client, sw, NHS)
    _, plan = put_on_plan(client, sw, chair, child_id, date.today() - timedelta(days=2))
    changed = client.patch(
        f"/v1/plans/{plan['id']}",
        json={"familys_views": "We want to keep going."},
        headers={**sw, "If-Match": client.get(f"/v1/plans/{plan['id']}", headers=sw).headers["ETag"]},
    )
    assert changed.status_code == 200, changed.json
    for _ in range(2):  # the shared instance gives the same answer each time
        resp = client.get(f"/v1/plans/{plan['id']}", headers=sw)
        stored = store.collection("plans").find_one({"_id": plan["id"]})
        with app.app_context():
            assert resp.json == PlanSchema().dump(plan_response(stored))
        assert resp.json["content"]["familys_views"] == "We want to keep going."
        assert resp.headers["ETag"] == f'"{stored["version"]}"'
