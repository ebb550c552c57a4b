"""Two authorities' views of one database: each sees, changes and sends
only its own records, on every adapter."""

from __future__ import annotations

import uuid

import pytest

from cpp_shared.store import VersionConflict, open_store
from cpp_shared.store.mongo import MongoStore
from cpp_shared.store.scoped import ScopedStore


@pytest.fixture(params=["sqlite", "mongomock"])
def database(request, tmp_path):
    if request.param == "sqlite":
        store = open_store(f"sqlite:///{tmp_path / 'shared.db'}")
    else:
        store = open_store(f"mongomock://scoped_{uuid.uuid4().hex}")
    yield store
    store.close()


@pytest.fixture
def views(database):
    return ScopedStore(database, "ENG"), ScopedStore(database, "GG")


def test_records_are_stamped_and_found_only_by_their_authority(views, database):
    eng, gg = views
    eng.collection("children").insert_one({"_id": "c1", "name": "Sam"})
    with gg.unit_of_work() as uow:
        uow.insert("children", {"_id": "c2", "name": "Ana"})
    assert database.collection("children").find_one({"_id": "c1"})["authority"] == "ENG"
    assert database.collection("children").find_one({"_id": "c2"})["authority"] == "GG"
    assert gg.collection("children").find_one({"_id": "c1"}) is None
    assert [d["_id"] for d in eng.collection("children").find({})] == ["c1"]
    assert gg.collection("children").count_documents({}) == 1
    assert gg.collection("children").update_one({"_id": "c1"}, {"$set": {"name": "X"}}) == 0
    assert gg.collection("children").delete_one({"_id": "c1"}) == 0
    with gg.unit_of_work() as uow:
        uow.update("children", {"_id": "c1"}, {"$set": {"name": "X"}})
    assert database.collection("children").find_one({"_id": "c1"})["name"] == "Sam"


def test_another_authoritys_record_cannot_be_replaced_even_at_its_version(views, database):
    eng, gg = views
    eng.collection("cases").insert_one({"_id": "k1", "status": "open"})
    with pytest.raises(VersionConflict):
        with gg.unit_of_work() as uow:
            uow.replace("cases", {"_id": "k1", "status": "closed"}, expected_version=1)
    assert database.collection("cases").find_one({"_id": "k1"})["status"] == "open"


def test_a_view_refuses_to_name_or_move_another_authority(views):
    eng, _ = views
    with pytest.raises(ValueError):
        eng.collection("cases").find({"authority": "GG"})
    with pytest.raises(ValueError):
        eng.collection("cases").insert_one({"_id": "k", "authority": "GG"})
    with pytest.raises(ValueError):
        eng.collection("cases").update_one({"_id": "k"}, {"$set": {"authority": "GG"}})
    with pytest.raises(ValueError):
        eng.collection("cases").update_one({"_id": "k"}, {"$unset": {"authority": ""}})


def test_an_upsert_makes_a_record_of_the_view(views, database):
    eng, gg = views
    gg.collection("plans").update_one({"_id": "p1"}, {"$set": {"status": "active"}}, upsert=True)
    assert database.collection("plans").find_one({"_id": "p1"})["authority"] == "GG"
    assert eng.collection("plans").find_one({"_id": "p1"}) is None


def test_each_view_relays_its_own_events_under_its_own_lease(views):
    eng, gg = views
    for view, n in ((eng, 3), (gg, 2)):
        for i in range(n):
            with view.unit_of_work() as uow:
                uow.publish(
                    "case.opened.v1",
                    {"id": f"{view.authority}-{i}", "authority": view.authority},
                    message_id=f"{view.authority}-{i}",
                )
    assert [m.message_id for m in eng.outbox_pending()] == ["ENG-0", "ENG-1", "ENG-2"]
    assert [m.message_id for m in gg.outbox_pending(limit=1)] == ["GG-0"]
    assert eng.outbox_stats().pending == 3 and gg.outbox_stats().pending == 2
    eng.outbox_mark_sent([m.seq for m in eng.outbox_pending()])
    assert eng.outbox_stats().pending == 0 and gg.outbox_stats().pending == 2
    assert eng.acquire_lease("relay", "eng-relay", 30) and gg.acquire_lease("relay", "gg-relay", 30)
    with pytest.raises(ValueError):
        with eng.unit_of_work() as uow:
            uow.publish("case.opened.v1", {"id": "x", "authority": "GG"}, message_id="x")


def test_each_view_reads_its_own_audit_entries_and_the_chain_stays_whole(views, database):
    eng, gg = views
    for i in range(7):
        view = eng if i % 3 else gg
        with view.unit_of_work() as uow:
            uow.append("audit", {"n": i})
    assert [r.entry["n"] for r in eng.read_log("audit")] == [1, 2, 4, 5]
    assert [r.entry["n"] for r in gg.read_log("audit", limit=2)] == [0, 3]
    assert [r.entry["n"] for r in eng.read_log("audit", after_seq=2, limit=2)] == [2, 4]
    assert eng.verify_log("audit").ok and eng.verify_log("audit").checked == 7
    assert all(r.entry["authority"] in ("ENG", "GG") for r in database.read_log("audit"))


def test_records_from_before_views_are_claimed_once_by_the_first_deployment(database):
    database.collection("cases").insert_one({"_id": "old-1"})
    database.collection("cases").insert_one({"_id": "old-2"})
    database.collection("deadlines").insert_one({"_id": "d", "authority": "ENG"})
    eng = ScopedStore(database, "ENG")
    assert eng.claim_unowned(batch=1) == {"cases": 2}
    assert eng.collection("cases").count_documents({}) == 2
    database.collection("cases").insert_one({"_id": "later"})  # written by no view: not claimed again
    assert ScopedStore(database, "GG").claim_unowned() == {}
    assert eng.collection("cases").count_documents({}) == 2


def test_a_view_erases_only_its_own_records_and_sent_events(views, database):
    eng, gg = views
    for view in (eng, gg):
        view.collection("children").insert_one({"_id": f"c-{view.authority}", "child_id": "c1"})
        with view.unit_of_work() as uow:
            uow.append("history", {"child_id": "c1"})
            uow.publish("deadline.x", {"data": {"child_id": "c1"}}, message_id=f"m-{view.authority}")
        view.outbox_mark_sent([m.seq for m in view.outbox_pending()])
    with eng.unit_of_work() as uow:
        uow.delete("children", {"child_id": "c1"})
        uow.forget_sent({"data.child_id": "c1"})
        uow.redact("history", [1], erasure_id="er-1", note={"child_id": "c1"})  # seq 1 is ENG's
    assert database.collection("children").find({}) == [
        {"_id": "c-GG", "child_id": "c1", "authority": "GG", "version": 1}
    ]
    [own, other, redaction] = database.read_log("history")
    assert own.entry == {"redacted": "er-1"} and other.entry == {"child_id": "c1", "authority": "GG"}
    assert redaction.entry["authority"] == "ENG" and eng.read_log("history") == [redaction]
    assert database.verify_log("history").ok
    with pytest.raises(ValueError, match="not authority 'ENG'"):
        eng.begin().redact("history", [2], erasure_id="er-2")
    if isinstance(database, MongoStore):
        kept = sorted(m["message_id"] for m in database.db["outbox"].find())
    else:
        kept = sorted(m for (m,) in database._read("SELECT message_id FROM _outbox"))
    assert kept == ["m-GG"], "GG's sent event was not ENG's to forget"
