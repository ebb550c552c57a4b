"""Cases made before families are carried over: a plans store made by the
code of 7242279 (tests/fixtures/stores/make_plans_7242279.py made it: three
children of one household, each with a case of their own) is migrated by
`cpp migrate`, each child given a family of one, without any plan, version,
case, event or audit entry changing; run again, nothing more is done. The
same on a MongoDB store (mongomock), whose cases are made by today's code
with their families then taken away."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from cpp_plans.app import create_app
from cpp_plans.commands import migrate
from cpp_plans.migrations import families_of_one, run_pending
from cpp_plans.service_layer.cases import family_id_of_one
from cpp_shared.audit import LOG
from tests.helpers import bearer, new_child

FIXTURE = Path(__file__).parents[1] / "fixtures" / "stores" / "plans-7242279.db"
CHILDREN = {
    "0825424d000f4e09a50e47e1ab325972": "Lily",  # on a plan
    "7a18f44085294dbaabcd341c4026d675": "Noah",  # stepped down after the enquiries
    "2c4221379f864f7690b242e393b17312": "Mia",  # in enquiries
}
UNCHANGED = ("children", "cases", "conferences", "plans", "plan_versions")
# What the same `cpp migrate` changes of the children by coding them (0003: test_characteristics_migration.py).
CODING = {"gender", "ethnicity", "disability", "disabilities", "uncoded", "version", "updated_at", "updated_by"}


@pytest.fixture
def old_store(data_dir, make_settings):
    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURE, data_dir / "plans.db")
    return make_settings("plans")


def snapshot(store) -> dict:
    """The records, events and audit entries, but for what coding the children's characteristics changes."""
    records = {name: {d["_id"]: d for d in store.collection(name).find({})} for name in UNCHANGED}
    records["children"] = {k: {f: v for f, v in d.items() if f not in CODING} for k, d in records["children"].items()}
    events = [
        (m.message_id, m.routing_key) for m in store.outbox_pending(10_000) if m.routing_key != "child.updated.v1"
    ]
    audit = [r.entry["action"] for r in store.read_log(LOG) if r.entry["action"] != "code_characteristics"]
    return {"records": records, "events": events, "audit": audit}


def test_a_store_made_before_families_is_carried_over_and_nothing_else_changes(old_store, monkeypatch):
    app = create_app(old_store)
    store = app.extensions["cpp"].store
    before = snapshot(store)
    assert store.collection("families").count_documents({}) == 0
    assert {c["child_id"] for c in before["records"]["cases"].values()} == set(CHILDREN)

    monkeypatch.setenv("CPP_MODE", "development")
    monkeypatch.setenv("CPP_DATA_DIR", str(old_store.data_dir))
    monkeypatch.setenv("CPP_PLUGINS", "england")
    monkeypatch.setenv("CPP_BROKER_URL", old_store.broker_url)
    run = CliRunner().invoke(migrate, [])
    assert run.exit_code == 0, run.output
    assert "0002 children with cases given a family of one: 3" in run.output

    families = store.collection("families").find({})
    assert sorted(f["_id"] for f in families) == sorted(family_id_of_one("ENG", c) for c in CHILDREN)
    lily = next(f for f in families if f["children"] == ["0825424d000f4e09a50e47e1ab325972"])
    assert lily["name"] == "Stone family" and lily["created_by"] == "sw-1"
    assert lily["people"][0]["name"] == "Ann Stone"
    assert lily["people"][0]["relationships"][0]["relationship"] == "mother"  # "Mother", as one of the list
    assert snapshot(store) == before  # no case, plan, version, event or audit entry changed
    assert store.verify_log(LOG).ok
    assert {c["gender"] for c in store.collection("children").find({})} == {"2"}  # and 0003 coded the children

    again = CliRunner().invoke(migrate, [])
    assert again.exit_code == 0 and "0002 children with cases given a family of one: applied before" in again.output
    assert store.collection("families").count_documents({}) == 3

    # The carried-over records work with today's code: a family read over the API; the child in
    # enquiries cannot have a second open case; the stepped-down child can.
    client = app.test_client()
    sw = bearer(_token(old_store))
    family = client.get(f"/v1/families/{lily['_id']}", headers=sw)
    assert family.status_code == 200 and family.json["members"][0]["case"]["status"] == "on_plan"
    assert (
        client.post("/v1/cases", json={"child_id": "2c4221379f864f7690b242e393b17312"}, headers=sw).status_code == 409
    )
    reopened = client.post("/v1/cases", json={"child_id": "7a18f44085294dbaabcd341c4026d675"}, headers=sw)
    assert reopened.status_code == 201, reopened.json
    assert store.collection("families").count_documents({}) == 3  # Noah's family of one is the one he has


def _token(settings):
    from cpp_shared.auth import issue_dev_token

    return issue_dev_token(settings, role="social_worker", authority="ENG", user="sw-1", name="Sam Social")


def test_on_a_mongodb_store_too(make_settings, token_for):
    app = create_app(make_settings("plans", CPP_STORE_URL=f"mongomock://families{uuid.uuid4().hex[:8]}"))
    store, client = app.extensions["cpp"].store, app.test_client()
    sw = bearer(token_for("social_worker", user="sw-1"))
    children = [new_child(client, sw, given_names=name, identifiers=[]) for name in ("Ann", "Ben")]
    for child_id in children:
        assert client.post("/v1/cases", json={"child_id": child_id}, headers=sw).status_code == 201
    made = {f["_id"]: f for f in store.collection("families").find({})}
    for family_id in made:  # as a store made before families had none
        store.collection("families").delete_one({"_id": family_id})
    before = snapshot(store)
    runs = run_pending(store, "ENG")
    assert [(r.version, r.carried) for r in runs] == [("0001", 0), ("0002", 2), ("0003", 0)]
    again = {f["_id"]: f for f in store.collection("families").find({})}
    assert set(again) == set(made)  # the same ids opening the cases gave them
    assert {tuple(f["children"]) for f in again.values()} == {(c,) for c in children}
    assert snapshot(store) == before
    assert [r.carried for r in run_pending(store, "ENG")] == [None, None, None]  # recorded: not run again
    assert families_of_one(store) == []  # and safe to repeat anyway
