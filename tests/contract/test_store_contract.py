"""The store contract run against each adapter, plus what is adapter-specific.

Targets: SQLite (a file under tmp_path), mongomock, and a real MongoDB
replica set when CPP_TEST_MONGO_URL is set (for example
``mongodb://localhost:27017/?replicaSet=rs0``).
"""
from __future__ import annotations

import multiprocessing
import os
import sqlite3
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

# Before the import: detailed assertion messages from the installed suite.
pytest.register_assert_rewrite("cpp_shared.store.contract")

from cpp_shared.store import (  # noqa: E402
    SUPPORTED_SCHEMES,
    Store,
    StoreError,
    StoreUnavailable,
    VersionConflict,
    open_store,
)
from cpp_shared.store.contract import StoreContract  # noqa: E402
from cpp_shared.store.mongo import STANDALONE_ERROR, MongoStore  # noqa: E402
from cpp_shared.store.sqlite import SQLiteStore  # noqa: E402

MONGO_URL = os.environ.get("CPP_TEST_MONGO_URL")


# --------------------------------------------------------------------- SQLite


class TestSQLiteStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SQLiteStore]:
        store = SQLiteStore(tmp_path / "service" / "store.db")
        yield store
        store.close()

    def test_uses_wal_and_creates_parent_folders(self, tmp_path: Path) -> None:
        path = tmp_path / "a" / "b" / "store.db"
        store = SQLiteStore(path)
        assert not path.parent.exists(), "nothing happens before first use"
        store.ping()
        assert path.exists()
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        store.close()

    def test_data_survives_reopening(self, store: SQLiteStore) -> None:
        with store.unit_of_work() as uow:
            uow.insert("plans", {"_id": "p", "child": "c"})
            uow.publish("plan.created", {"plan": "p"}, message_id="m1")
            uow.mark_processed("e1", "c")
        store.close()
        again = SQLiteStore(store.path)
        assert again.collection("plans").find_one({"_id": "p"}) == {"_id": "p", "child": "c", "version": 1}
        assert [m.message_id for m in again.outbox_pending()] == ["m1"]
        assert again.is_processed("e1", "c")
        again.close()

    def test_a_directory_where_the_file_should_be_is_unavailable(self, tmp_path: Path) -> None:
        (tmp_path / "store.db").mkdir()
        store = SQLiteStore(tmp_path / "store.db")  # constructing does not touch the file
        with pytest.raises(StoreUnavailable):
            store.ping()
        with pytest.raises(StoreUnavailable):
            store.collection("plans").find()

    def test_a_path_under_a_file_is_unavailable(self, tmp_path: Path) -> None:
        (tmp_path / "not-a-folder").write_text("x")
        store = SQLiteStore(tmp_path / "not-a-folder" / "store.db")
        with pytest.raises(StoreUnavailable):
            store.ping()
        with pytest.raises(StoreUnavailable):
            with store.unit_of_work() as uow:
                uow.insert("plans", {})

    def test_a_file_that_is_not_a_database_is_unavailable(self, tmp_path: Path) -> None:
        (tmp_path / "store.db").write_bytes(b"this is not an SQLite database, just text. " * 100)
        with pytest.raises(StoreUnavailable):
            SQLiteStore(tmp_path / "store.db").ping()

    def test_the_store_recovers_once_the_path_is_usable(self, tmp_path: Path) -> None:
        blocker = tmp_path / "data"
        blocker.write_text("x")
        store = SQLiteStore(blocker / "store.db")
        with pytest.raises(StoreUnavailable):
            store.ping()
        blocker.unlink()
        store.ping()
        store.collection("plans").insert_one({"_id": "p"})
        assert store.collection("plans").count_documents() == 1

    def test_memory_databases_are_refused(self) -> None:
        with pytest.raises(ValueError):
            SQLiteStore(":memory:")

    def test_filters_and_sorts_use_the_indexes(self, store: SQLiteStore) -> None:
        people = store.collection("people")
        people.create_index("name")
        people.create_index("address.city")
        people.create_index("email", unique=True)
        for n in range(50):
            people.insert_one({"name": f"n{n}", "address": {"city": f"c{n % 5}"}, "email": f"{n}@x"})

        def plan(filter: dict[str, Any], sort: list[tuple[str, int]] | None = None) -> str:
            return " | ".join(people.explain(filter, sort=sort))

        assert "USING INDEX ix:c_people:name" in plan({"name": "n3"})
        assert "USING INDEX ix:c_people:name" in plan({"name": {"$in": ["n3", "n4"]}})
        assert "USING INDEX ix:c_people:name" in plan({"name": {"$gte": "n3", "$lt": "n4"}})
        assert "USING INDEX ix:c_people:address.city" in plan({"address.city": "c1"})
        assert "USING INDEX ux:c_people:email" in plan({"email": "3@x"})
        sorted_plan = plan({}, sort=[("name", -1)])
        assert "USING INDEX ix:c_people:name" in sorted_plan and "TEMP B-TREE" not in sorted_plan
        assert people.find({"name": "n3"})[0]["email"] == "3@x"

    def test_two_processes_replacing_the_same_version_one_wins(self, store: SQLiteStore) -> None:
        """The store is used before the fork, as a gunicorn master that loaded
        the app would; each child must open its own connection."""
        store.collection("plans").insert_one({"_id": "p", "writers": []})
        parent_connection = store._connection()
        ctx = multiprocessing.get_context("fork")
        barrier, results = ctx.Barrier(2, timeout=20), ctx.Queue()
        children = [
            ctx.Process(target=_replace_after_barrier, args=(store, name, barrier, results, parent_connection))
            for name in ("a", "b")
        ]
        for child in children:
            child.start()
        outcomes = dict(results.get(timeout=30) for _ in children)
        for child in children:
            child.join(30)
            assert child.exitcode == 0
        assert sorted(outcomes.values()) == ["conflict at version 2", "won"], outcomes
        [winner] = [name for name, outcome in outcomes.items() if outcome == "won"]
        final = store.collection("plans").find_one({"_id": "p"})
        assert final == {"_id": "p", "writers": [winner], "version": 2}

    def test_processes_incrementing_with_retries_lose_nothing(self, store: SQLiteStore) -> None:
        store.collection("counters").insert_one({"_id": "c", "n": 0})
        ctx = multiprocessing.get_context("fork")
        results = ctx.Queue()
        children = [ctx.Process(target=_increment, args=(store, 15, results)) for _ in range(3)]
        for child in children:
            child.start()
        reports = [results.get(timeout=60) for _ in children]
        for child in children:
            child.join(30)
            assert child.exitcode == 0
        assert reports == ["done"] * 3, reports
        final = store.collection("counters").find_one({"_id": "c"})
        assert final is not None and (final["n"], final["version"]) == (45, 46)


def _replace_after_barrier(store: SQLiteStore, name: str, barrier: Any, results: Any, parent_connection: Any) -> None:
    try:
        if store._connection() is parent_connection:
            results.put((name, "reused the parent's connection"))
            return
        doc = store.collection("plans").find_one({"_id": "p"})
        barrier.wait()  # both children hold version 1 before either writes
        try:
            with store.unit_of_work() as uow:
                uow.replace("plans", {**doc, "writers": doc["writers"] + [name]}, expected_version=doc["version"])
            results.put((name, "won"))
        except VersionConflict as exc:
            results.put((name, f"conflict at version {exc.actual}"))
    except BaseException as exc:  # reported to the parent, which fails the test
        results.put((name, f"error: {exc!r}"))


def _increment(store: SQLiteStore, times: int, results: Any) -> None:
    try:
        counters = store.collection("counters")
        for _ in range(times):
            while True:
                doc = counters.find_one({"_id": "c"})
                try:
                    with store.unit_of_work() as uow:
                        uow.replace("counters", {**doc, "n": doc["n"] + 1}, expected_version=doc["version"])
                    break
                except VersionConflict:
                    continue
        results.put("done")
    except BaseException as exc:
        results.put(f"error: {exc!r}")


# ------------------------------------------------------------------ mongomock


class TestMongomockStore(StoreContract):
    @pytest.fixture
    def store(self) -> Iterator[Store]:
        store = open_store(f"mongomock://contract_{uuid.uuid4().hex}")
        yield store
        assert isinstance(store, MongoStore)
        store.client.drop_database(store.db.name)


# -------------------------------------------------------- real MongoDB (optional)


# The class exists only when a server is named, so that an unset variable shows
# as one skipped test below rather than one per contract test.
if MONGO_URL:

    class TestRealMongoStore(StoreContract):
        @pytest.fixture
        def store(self) -> Iterator[Store]:
            import pymongo

            client = pymongo.MongoClient(MONGO_URL, serverSelectionTimeoutMS=3000, tz_aware=True)
            store = MongoStore(client, f"cpp_contract_{uuid.uuid4().hex[:16]}", owns_client=True)
            yield store
            client.drop_database(store.db.name)
            store.close()

else:

    def test_contract_on_a_real_mongodb() -> None:
        """Reports the real-MongoDB target as not run (no mongod on these machines)."""
        pytest.skip("optional target not configured: set CPP_TEST_MONGO_URL to a MongoDB replica set "
                    "(e.g. mongodb://localhost:27017/?replicaSet=rs0) to run the contract against it")


# ---------------------------------------------------------------- open_store


def test_open_store_sqlite_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("sqlite:///var/plans.db")
    assert isinstance(store, SQLiteStore)
    assert store.path == str(tmp_path / "var" / "plans.db")


def test_open_store_sqlite_absolute_path(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/deep/plans.db")
    assert isinstance(store, SQLiteStore) and store.path == str(tmp_path / "deep" / "plans.db")
    store.collection("plans").insert_one({"_id": "p"})
    assert (tmp_path / "deep" / "plans.db").exists()
    store.close()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite:///folder/", "sqlite://host/x.db"])
def test_open_store_refuses_sqlite_urls_without_a_file(url: str) -> None:
    with pytest.raises(ValueError):
        open_store(url)


def test_open_store_unknown_scheme() -> None:
    with pytest.raises(ValueError) as raised:
        open_store("postgres://user:secret@db/plans")
    message = str(raised.value)
    assert "'postgres'" in message and "secret" not in message
    assert all(scheme in message for scheme in SUPPORTED_SCHEMES)


def test_open_store_mongodb_needs_a_database_name() -> None:
    with pytest.raises(ValueError, match="database"):
        open_store("mongodb://localhost:27017/")
    with pytest.raises(ValueError, match="database"):
        open_store("mongodb://localhost:27017")


def test_open_store_mongomock_shares_data_by_name() -> None:
    name = f"shared_{uuid.uuid4().hex}"
    first, second = open_store(f"mongomock://{name}"), open_store(f"mongomock://{name}")
    other = open_store(f"mongomock://{name}_other")
    first.collection("plans").insert_one({"_id": "p"})
    assert second.collection("plans").count_documents() == 1
    assert other.collection("plans").count_documents() == 0


# ------------------------------------------------------------- MongoStore setup


class _FakeAdmin:
    def __init__(self, hello: dict[str, Any]):
        self.hello = hello

    def command(self, name: str) -> dict[str, Any]:
        return self.hello


class _FakeClient:
    """Just enough of a MongoClient for the topology check at construction."""

    def __init__(self, hello: dict[str, Any]):
        self.admin = _FakeAdmin(hello)

    def __getitem__(self, name: str) -> Any:
        return type("FakeDatabase", (), {"name": name})()


def test_a_standalone_mongodb_is_refused_at_construction() -> None:
    with pytest.raises(StoreError, match="replica set") as raised:
        MongoStore(_FakeClient({"isWritablePrimary": True, "ok": 1.0}), "plans")
    assert str(raised.value) == STANDALONE_ERROR


@pytest.mark.parametrize("hello", [{"setName": "rs0", "ok": 1.0}, {"msg": "isdbgrid", "ok": 1.0}])
def test_replica_sets_and_sharded_clusters_are_accepted(hello: dict[str, Any]) -> None:
    MongoStore(_FakeClient(hello), "plans")


def test_an_unreachable_mongodb_is_unavailable_not_fatal() -> None:
    import pymongo

    client = pymongo.MongoClient("mongodb://127.0.0.1:9/plans", serverSelectionTimeoutMS=200, connect=False)
    store = MongoStore(client, "plans", owns_client=True)  # starts anyway: the check waits for first use
    with pytest.raises(StoreUnavailable):
        store.ping()
    with pytest.raises(StoreUnavailable):
        store.collection("plans").find_one()
    store.close()
