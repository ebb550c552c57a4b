"""A plans store made by the code of 689b98e (before key workers were staff;
tests/fixtures/stores/make_plans_689b98e.py made it) is carried over: every
record still reads, key workers whose name one member of staff has are linked,
the rest are listed for an admin, and nothing is lost."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cpp_plans.app import create_app
from cpp_plans.commands import migrate
from cpp_shared.audit import LOG
from tests.helpers import bearer

FIXTURE = Path(__file__).parents[1] / "fixtures" / "stores" / "plans-689b98e.db"
PLANS = {"Sam Social": "c88289b8244942358a85e8d99dca7511", "Kim Older": "10cc98c868864715bd1fa9e9cbb457c0"}


@pytest.fixture
def old_store(data_dir, make_settings):
    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURE, data_dir / "plans.db")
    return make_settings("plans")


def snapshot(store):
    """Every record of the old store, by collection (the staff directory and bookkeeping aside)."""
    return {
        name: {d["_id"]: d for d in store.collection(name).find({})}
        for name in ("children", "cases", "conferences", "plans", "plan_versions")
    }


def test_a_store_made_before_staff_is_carried_over_and_nothing_is_lost(old_store, token_for, monkeypatch):
    app = create_app(old_store)
    store = app.extensions["cpp"].store
    before = snapshot(store)
    log_before = store.verify_log(LOG)
    assert log_before.ok and log_before.last_seq > 0
    assert {p["key_worker"] for p in before["plans"].values()} == set(PLANS)
    assert all("key_worker_user" not in p for p in before["plans"].values())

    client = app.test_client()
    admin = bearer(token_for("admin", user="admin-1", name="Ada Admin"))
    # Sam Social signs in (sw-1, the social worker who opened both cases); nobody is named Kim Older.
    sam = bearer(token_for("social_worker", user="sw-1", name="Sam Social", team="North"))
    assert client.get("/v1/staff/me", headers=sam).json["name"] == "Sam Social"
    listed = client.get("/v1/staff/key-worker-links", headers=admin).json["unlinked"]
    assert sorted((u["key_worker"], u["child"], u["reason"]) for u in listed) == [
        ("Kim Older", "Noah Brook", "no member of staff has this name"),
        ("Sam Social", "Lily Stone", "one member of staff has this name: linked by name (cpp migrate)"),
    ]

    monkeypatch.setenv("CPP_MODE", "development")
    monkeypatch.setenv("CPP_DATA_DIR", str(old_store.data_dir))
    monkeypatch.setenv("CPP_PLUGINS", "england")
    monkeypatch.setenv("CPP_BROKER_URL", old_store.broker_url)
    run = CliRunner().invoke(migrate, [])
    assert run.exit_code == 0, run.output
    assert "key workers linked to staff: 1" in run.output and "cases given their social worker: 2" in run.output
    assert "Kim Older" in run.output and "no member of staff has this name" in run.output
    assert "Noah Brook" in run.output  # the plan still to link names its child

    after = snapshot(store)
    linked = after["plans"][PLANS["Sam Social"]]
    assert linked["key_worker_user"] == "sw-1" and linked["content"]["key_worker"]["user"] == "sw-1"
    assert linked["content"]["key_worker"]["phone"] == "020 7946 0000"  # what was agreed stays
    assert after["plans"][PLANS["Kim Older"]]["key_worker"] == "Kim Older"
    assert "key_worker_user" not in after["plans"][PLANS["Kim Older"]]
    # Nothing lost: every record is still there, and only the linked fields changed.
    for name, records in before.items():
        assert set(after[name]) == set(records), name
    for case_id, case in after["cases"].items():
        assert case["social_worker"] == {"user": "sw-1", "name": "Sam Social"} and case["team"] == "North"
        assert {k: v for k, v in case.items() if k not in ("social_worker", "team_manager", "team", "version")} == {
            k: v for k, v in before["cases"][case_id].items() if k != "version"
        }
    assert after["plan_versions"] == before["plan_versions"]  # the versions stay as they were agreed
    report = store.verify_log(LOG)
    # one link, two allocations, each audited; and the two children coded by the same run (0003), each audited
    new_entries = [r.entry["action"] for r in store.read_log(LOG)][log_before.last_seq :]
    assert sorted(new_entries) == ["allocate_case", "allocate_case", "code_characteristics", "code_characteristics",
                                   "link_key_worker"]  # fmt: skip
    assert report.ok and report.last_seq == log_before.last_seq + 5

    events = [(m.routing_key, m.body["data"]) for m in store.outbox_pending(1000)]
    linked_events = [d for k, d in events if k == "plan.key_worker_linked.v1"]
    assert [d["key_worker"]["user"] for d in linked_events] == ["sw-1"]
    assert linked_events[0]["child"]["name"] == "Lily Stone"

    # Again: nothing more to do.
    again = CliRunner().invoke(migrate, [])
    assert "key workers linked to staff: 0" in again.output and "cases given their social worker: 0" in again.output

    # An admin links the rest by hand, once Kim Older is in the directory.
    assert (
        client.post(
            "/v1/staff",
            headers=admin,
            json={"user": "kim-1", "name": "Kim Older", "role": "social_worker", "phone": "020 7946 0009"},
        ).status_code
        == 201
    )
    done = client.post(
        "/v1/staff/key-worker-links", headers=admin, json={"plan_id": PLANS["Kim Older"], "user": "kim-1"}
    )
    assert done.status_code == 200 and done.json["plans_linked"] == 1
    assert client.get("/v1/staff/key-worker-links", headers=admin).json["unlinked"] == []
    plan = client.get(f"/v1/plans/{PLANS['Kim Older']}", headers=sam).json
    assert plan["key_worker_user"] == "kim-1" and plan["content"]["key_worker"]["name"] == "Kim Older"
    mine = client.get("/v1/cases?worker=kim-1", headers=sam).json
    assert [c["child"]["name"] for c in mine["items"]] == ["Noah Brook"]
