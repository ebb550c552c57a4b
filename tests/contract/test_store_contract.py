"""The store contract run against each adapter, plus what is adapter-specific.

Targets: SQLite (a file under tmp_path), mongomock, and a real MongoDB
replica set when CPP_TEST_MONGO_URL is set (for example
``mongodb://localhost:27017/?replicaSet=rs0``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import multiprocessing
import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

# Before the import: detailed assertion messages from the installed suite.
pytest.register_assert_rewrite("cpp_shared.testing.store_contract")

from cpp_shared.store import (  # noqa: E402
    SUPPORTED_SCHEMES,
    DuplicateKey,
    Store,
    StoreError,
    StoreUnavailable,
    VersionConflict,
    open_store,
)
from cpp_shared.store.chain import GENESIS, canonical_json, entry_hash, verify_chain  # noqa: E402
from cpp_shared.store.mongo import STANDALONE_ERROR, MongoStore  # noqa: E402
from cpp_shared.store.port import CorruptLogRecord, LogRecord  # noqa: E402
from cpp_shared.store.sqlite import SQLiteStore  # noqa: E402
from cpp_shared.testing.store_contract import StoreContract  # noqa: E402

MONGO_URL = os.environ.get("CPP_TEST_MONGO_URL")


# ------------------------------------------------ tampering with the logs


class LogTamperChecks:
    """``verify_log`` finds changes made to a log behind the store's back.

    Mixed into each adapter's test class, which says how someone with direct
    access to its database changes a stored record (field by field, as an
    editor of the raw data would)."""

    def edit_entry(self, store: Any, log: str, seq: int, field: str, value: Any) -> None:
        raise NotImplementedError

    def set_hash(self, store: Any, log: str, seq: int, value: str) -> None:
        raise NotImplementedError

    def delete_record(self, store: Any, log: str, seq: int) -> None:
        raise NotImplementedError

    def make_unreadable(self, store: Any, log: str, seq: int) -> None:
        """Leave the record so that it cannot be read back as a record."""
        raise NotImplementedError

    def replace_entry(self, store: Any, log: str, seq: int, entry: dict[str, Any]) -> None:
        raise NotImplementedError

    @staticmethod
    def _chain(store: Store, total: int = 12) -> list[LogRecord]:
        for n in range(1, total + 1, 3):
            with store.unit_of_work() as uow:
                for k in range(n, min(n + 3, total + 1)):
                    uow.append("audit", {"n": k, "action": "read", "child": "c1", "by": "sw-1"})
        with store.unit_of_work() as uow:
            uow.append("other", {"n": 1})
        records = store.read_log("audit")
        assert len(records) == total and store.verify_log("audit").ok
        return records

    def test_an_edited_entry_is_found(self, store: Store) -> None:
        self._chain(store)
        self.edit_entry(store, "audit", 5, "action", "nothing to see")
        assert store.read_log("audit", after_seq=4, limit=1)[0].entry["action"] == "nothing to see"
        report = store.verify_log("audit", batch=3)  # the bad record starts the second page
        assert (report.ok, report.first_bad_seq, report.checked, report.last_seq) == (False, 5, 4, 4)
        assert "hash does not match" in (report.reason or "")
        assert store.verify_log("audit") == report
        assert store.verify_log("other").ok, "other logs are not affected"

    def test_an_edited_first_entry_is_found(self, store: Store) -> None:
        self._chain(store)
        self.edit_entry(store, "audit", 1, "by", "someone else")
        report = store.verify_log("audit")
        assert (report.ok, report.first_bad_seq, report.checked) == (False, 1, 0)

    def test_a_deleted_record_is_found(self, store: Store) -> None:
        self._chain(store)
        self.delete_record(store, "audit", 7)
        report = store.verify_log("audit", batch=4)
        assert (report.ok, report.first_bad_seq, report.checked) == (False, 7, 6)
        assert "missing" in (report.reason or "")
        # The store keeps appending after the last record; the hole stays visible.
        with store.unit_of_work() as uow:
            uow.append("audit", {"n": 13})
        assert [r.seq for r in store.read_log("audit")][-2:] == [12, 13]
        assert store.verify_log("audit").first_bad_seq == 7

    def test_a_deleted_first_record_is_found(self, store: Store) -> None:
        self._chain(store)
        self.delete_record(store, "audit", 1)
        assert store.verify_log("audit").first_bad_seq == 1

    def test_an_entry_passed_off_as_redacted_is_found(self, store: Store) -> None:
        """Replacing an entry by a redaction marker outside the store, without
        the redaction's entry, does not pass for a redaction."""
        self._chain(store)
        self.replace_entry(store, "audit", 5, {"redacted": "er-forged"})
        for batch in (1000, 3):
            report = store.verify_log("audit", batch=batch)
            assert (report.ok, report.first_bad_seq, report.checked, report.last_seq) == (False, 5, 4, 4)
            assert "without a later redaction entry" in (report.reason or "")

    def test_a_redaction_entry_must_name_the_record_and_its_hash(self, store: Store) -> None:
        records = self._chain(store)
        with store.unit_of_work() as uow:
            uow.redact("audit", [3], erasure_id="er-1")
        assert store.verify_log("audit").ok
        # A second record made a marker: the genuine entry names seq 3 only.
        self.replace_entry(store, "audit", 5, {"redacted": "er-1"})
        assert store.verify_log("audit").first_bad_seq == 5
        # Marker of another erasure than the entry that names the seq.
        self.replace_entry(store, "audit", 5, records[4].entry)
        assert store.verify_log("audit").ok
        self.replace_entry(store, "audit", 3, {"redacted": "er-2"})
        assert store.verify_log("audit").first_bad_seq == 3
        # A redacted record's hash changed too: its own check and the next link both fail.
        self.replace_entry(store, "audit", 3, {"redacted": "er-1"})
        self.set_hash(store, "audit", 3, "f" * 64)
        report = store.verify_log("audit")
        assert report.first_bad_seq == 4 and "prev_hash" in (report.reason or "")

    def test_an_entry_rehashed_after_an_edit_breaks_the_next_link(self, store: Store) -> None:
        records = self._chain(store)
        self.edit_entry(store, "audit", 5, "action", "nothing to see")
        [edited] = store.read_log("audit", after_seq=4, limit=1)
        self.set_hash(store, "audit", 5, entry_hash(5, edited.prev_hash, edited.entry))
        report = store.verify_log("audit", batch=5)  # the broken link straddles two pages
        assert (report.ok, report.first_bad_seq, report.checked) == (False, 6, 5)
        assert "prev_hash does not match the hash of seq 5" in (report.reason or "")
        # Rehashing the newest record leaves no successor to disagree: only a
        # head kept elsewhere (ChainReport.last_hash) shows that change.
        self.edit_entry(store, "other", 1, "n", 2)
        [other] = store.read_log("other")
        head_before = entry_hash(1, GENESIS, {"n": 1})
        self.set_hash(store, "other", 1, entry_hash(1, GENESIS, other.entry))
        report = store.verify_log("other")
        assert report.ok and report.last_hash != head_before
        assert records[0].hash == store.read_log("audit", limit=1)[0].hash

    def test_an_unreadable_record_is_reported_not_raised(self, store: Store) -> None:
        self._chain(store)
        self.make_unreadable(store, "audit", 6)
        with pytest.raises(CorruptLogRecord) as raised:
            store.read_log("audit")
        assert (raised.value.log, raised.value.seq) == ("audit", 6)
        assert [r.seq for r in store.read_log("audit", limit=5)] == [1, 2, 3, 4, 5]
        report = store.verify_log("audit", batch=4)
        assert (report.ok, report.first_bad_seq, report.checked) == (False, 6, 5)
        # an earlier bad record in the same page is still the one reported
        self.edit_entry(store, "audit", 5, "action", "nothing to see")
        assert store.verify_log("audit", batch=4).first_bad_seq == 5
        assert store.verify_log("audit", batch=100).first_bad_seq == 5


@contextlib.contextmanager
def _raw_sqlite(store: SQLiteStore) -> Iterator[sqlite3.Connection]:
    """The file opened with plain sqlite3, as someone with access to the
    volume could; the append-only triggers are dropped first, as they would."""
    conn = sqlite3.connect(store.path, isolation_level=None)
    try:
        conn.execute("DROP TRIGGER IF EXISTS _log_no_update")
        conn.execute("DROP TRIGGER IF EXISTS _log_no_delete")
        yield conn
    finally:
        conn.close()


class SQLiteLogTampering(LogTamperChecks):
    def edit_entry(self, store: Any, log: str, seq: int, field: str, value: Any) -> None:
        with _raw_sqlite(store) as conn:
            conn.execute(
                "UPDATE _log SET entry = json_set(entry, '$.' || ?, json(?)) WHERE log = ? AND seq = ?",
                (field, json.dumps(value), log, seq),
            )

    def set_hash(self, store: Any, log: str, seq: int, value: str) -> None:
        with _raw_sqlite(store) as conn:
            conn.execute("UPDATE _log SET hash = ? WHERE log = ? AND seq = ?", (value, log, seq))

    def replace_entry(self, store: Any, log: str, seq: int, entry: dict[str, Any]) -> None:
        with _raw_sqlite(store) as conn:
            conn.execute("UPDATE _log SET entry = ? WHERE log = ? AND seq = ?", (json.dumps(entry), log, seq))

    def delete_record(self, store: Any, log: str, seq: int) -> None:
        with _raw_sqlite(store) as conn:
            conn.execute("DELETE FROM _log WHERE log = ? AND seq = ?", (log, seq))

    def make_unreadable(self, store: Any, log: str, seq: int) -> None:
        with _raw_sqlite(store) as conn:
            conn.execute('UPDATE _log SET entry = \'{"n": 6, "act\' WHERE log = ? AND seq = ?', (log, seq))


class MongoLogTampering(LogTamperChecks):
    def edit_entry(self, store: Any, log: str, seq: int, field: str, value: Any) -> None:
        store.db["log_entries"].update_one({"log": log, "seq": seq}, {"$set": {f"entry.{field}": value}})

    def set_hash(self, store: Any, log: str, seq: int, value: str) -> None:
        store.db["log_entries"].update_one({"log": log, "seq": seq}, {"$set": {"hash": value}})

    def replace_entry(self, store: Any, log: str, seq: int, entry: dict[str, Any]) -> None:
        store.db["log_entries"].update_one({"log": log, "seq": seq}, {"$set": {"entry": entry}})

    def delete_record(self, store: Any, log: str, seq: int) -> None:
        store.db["log_entries"].delete_one({"log": log, "seq": seq})

    def make_unreadable(self, store: Any, log: str, seq: int) -> None:
        store.db["log_entries"].update_one({"log": log, "seq": seq}, {"$unset": {"hash": ""}})


# --------------------------------------------------------------------- SQLite


class TestSQLiteStore(StoreContract, SQLiteLogTampering):
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
        # Filtered and sorted by the same field: the filter is answered from the
        # index and the matches sorted, never the whole index walked in order.
        ranged = plan({"name": {"$lt": "n2"}}, sort=[("name", 1)])
        assert "SEARCH c_people USING INDEX ix:c_people:name (<expr>>? AND <expr><?)" in ranged, ranged
        assert "USE TEMP B-TREE FOR ORDER BY" in ranged and "SCAN c_people" not in ranged, ranged
        assert [p["name"] for p in people.find({"name": {"$lt": "n12"}}, sort=[("name", -1)])] == [
            "n11",
            "n10",
            "n1",
            "n0",
        ]
        assert people.find({"name": "n3"})[0]["email"] == "3@x"

    def test_a_sort_walks_the_fields_index_until_a_document_holds_an_array_there(self, store: SQLiteStore) -> None:
        items = store.collection("items")
        items.create_index("rank")
        for n in range(20):
            items.insert_one({"_id": f"i{n:02d}", "rank": n % 7})
        walked = " | ".join(items.explain({}, sort=[("rank", 1)]))
        assert "SCAN c_items USING INDEX ix:c_items:rank" in walked and "TEMP B-TREE" not in walked, walked
        items.insert_one({"_id": "list", "rank": [9, -1]})
        sorted_by_elements = " | ".join(items.explain({}, sort=[("rank", 1)]))
        assert "USE TEMP B-TREE FOR ORDER BY" in sorted_by_elements, sorted_by_elements
        assert [d["_id"] for d in items.find(sort=[("rank", 1)], limit=2)] == ["list", "i00"]
        assert [d["_id"] for d in items.find(sort=[("rank", -1)], limit=2)] == ["list", "i13"]
        items.delete_one({"_id": "list"})
        assert "TEMP B-TREE" not in " | ".join(items.explain({}, sort=[("rank", 1)]))

    def test_an_index_of_an_older_file_is_made_anew_on_the_key(self, tmp_path: Path) -> None:
        # Before the key (``_key``), indexes were on json_extract alone, which took true for 1 in a unique index.
        path = tmp_path / "store.db"
        with contextlib.closing(sqlite3.connect(path)) as conn, conn:
            conn.execute('CREATE TABLE "c_people" (_id TEXT PRIMARY KEY NOT NULL, doc TEXT NOT NULL)')
            conn.execute('INSERT INTO "c_people" VALUES (\'a\', \'{"n":1,"email":"a@x","version":1}\')')
            conn.execute('CREATE INDEX "ix:c_people:n" ON "c_people" (json_extract(doc, \'$."n"\'), _id)')
            conn.execute('CREATE UNIQUE INDEX "ux:c_people:email" ON "c_people" (json_extract(doc, \'$."email"\'))')
        store = SQLiteStore(path)
        try:
            people = store.collection("people")
            people.create_index("n")
            people.create_index("email", unique=True)
            assert "USING INDEX ix:c_people:n" in " | ".join(people.explain({"n": 1}))
            assert "USING INDEX ux:c_people:email" in " | ".join(people.explain({"email": "a@x"}))
            people.insert_one({"_id": "b", "n": True, "email": True})
            people.insert_one({"_id": "c", "n": 1, "email": 1})
            with pytest.raises(DuplicateKey):
                people.insert_one({"_id": "d", "email": "a@x"})
            assert [d["_id"] for d in people.find({"n": 1})] == ["a", "c"]
        finally:
            store.close()

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

    def test_the_log_table_refuses_updates_and_deletes(self, store: SQLiteStore) -> None:
        with store.unit_of_work() as uow:
            uow.append("audit", {"n": 1})
        with contextlib.closing(sqlite3.connect(store.path, isolation_level=None)) as conn:
            for statement in ("UPDATE _log SET entry = '{}'", "DELETE FROM _log"):
                with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                    conn.execute(statement)
        assert store.verify_log("audit").checked == 1

    def test_a_file_made_before_redactions_can_redact_and_still_refuses_other_updates(self, tmp_path: Path) -> None:
        path = tmp_path / "old.db"
        old = SQLiteStore(path)
        with old.unit_of_work() as uow:
            uow.append("audit", {"n": 1, "name": "Ana"})
        old.close()
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:  # the trigger it was made with
            conn.execute("DROP TRIGGER _log_no_update")
            conn.execute(
                "CREATE TRIGGER _log_no_update BEFORE UPDATE ON _log BEGIN SELECT RAISE(ABORT, '_log is append-only'); END"
            )
        store = SQLiteStore(path)
        with store.unit_of_work() as uow:
            uow.redact("audit", [1], erasure_id="er-1")
        assert store.read_log("audit")[0].entry == {"redacted": "er-1"} and store.verify_log("audit").ok
        store.close()
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
            for statement in (
                "UPDATE _log SET entry = '{\"n\": 2}' WHERE seq = 1",
                'UPDATE _log SET entry = \'{"redacted": "er-2", "name": "Ana"}\' WHERE seq = 1',
                "UPDATE _log SET hash = 'x' WHERE seq = 1",
                "DELETE FROM _log",
            ):
                with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                    conn.execute(statement)
            conn.execute('UPDATE _log SET entry = \'{"redacted":"er-2"}\' WHERE seq = 1')  # a marker: allowed

    def test_processes_appending_to_one_log_never_gap_or_fork(self, store: SQLiteStore) -> None:
        store.collection("plans").insert_one({"_id": "stale"})
        store.read_log("audit")  # used before the fork, as a gunicorn master would
        ctx = multiprocessing.get_context("fork")
        results = ctx.Queue()
        names = ["a", "b", "c"]
        children = [ctx.Process(target=_append_units, args=(store, name, 15, results)) for name in names]
        for child in children:
            child.start()
        reports = dict(results.get(timeout=60) for _ in children)
        for child in children:
            child.join(30)
            assert child.exitcode == 0
        assert all(isinstance(n, int) for n in reports.values()), reports
        records = store.read_log("audit", limit=10_000)
        assert [r.seq for r in records] == list(range(1, 2 * sum(reports.values()) + 1))
        halves = [(r.entry["who"], r.entry["i"], r.entry["half"]) for r in records]
        assert halves[0::2] == [(who, i, 1) for who, i, _ in halves[1::2]], "a unit's entries are consecutive"
        for name in names:
            mine = [i for who, i, _ in halves[0::2] if who == name]
            assert mine == [i for i in range(15) if i % 5 != 4], "each process's units, in order, failed ones absent"
        report = store.verify_log("audit", batch=8)
        assert report.ok and report.checked == len(records)


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


def _append_units(store: SQLiteStore, name: str, units: int, results: Any) -> None:
    try:
        committed = 0
        for i in range(units):
            try:
                with store.unit_of_work() as uow:
                    uow.append("audit", {"who": name, "i": i, "half": 1})
                    if i % 5 == 4:  # fails at commit, after an append: leaves nothing
                        uow.replace("plans", {"_id": "stale"}, expected_version=0)
                    uow.append("audit", {"who": name, "i": i, "half": 2})
                committed += 1
            except VersionConflict:
                pass
        results.put((name, committed))
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


class TestMongomockStore(StoreContract, MongoLogTampering):
    @pytest.fixture
    def store(self) -> Iterator[Store]:
        store = open_store(f"mongomock://contract_{uuid.uuid4().hex}")
        yield store
        assert isinstance(store, MongoStore)
        store.client.drop_database(store.db.name)

    # mongomock's own divergences from MongoDB, each shown by its contract test: the adapter's code is the same on a
    # real server, where tests/integration/test_mongo_real_server.py and the contract (CPP_TEST_MONGO_URL) run them.
    def test_true_matches_true_only_not_the_number_one(self) -> None:
        pytest.skip("mongomock matches {v: true} to 1 (and {v: 1} to true); MongoDB compares types first")

    def test_in_with_an_array_value_matches_that_array_or_an_element_equal_to_it(self) -> None:
        pytest.skip("mongomock's $in with an array value matches only an element equal to it, not the whole array")

    def test_a_sub_document_equals_only_with_its_keys_in_the_same_order(self) -> None:
        pytest.skip("mongomock compares sub-documents as dicts, ignoring key order; MongoDB compares BSON in order")

    def test_unset_of_an_array_element_leaves_a_null_in_its_place(self) -> None:
        pytest.skip("mongomock's $unset of an array element (v.1) leaves the element; MongoDB sets it to null")

    def test_inc_past_the_largest_64_bit_integer_is_refused_and_changes_nothing(self) -> None:
        pytest.skip("mongomock's $inc goes past 2**63 - 1 with Python's integers; MongoDB refuses the overflow")

    def test_a_unique_index_on_an_array_field_is_on_each_element(self) -> None:
        pytest.skip("mongomock's unique index cannot hold an array value (TypeError: unhashable type: 'list')")

    def test_a_document_over_16_mib_as_bson_is_refused_and_nothing_of_its_unit_kept(self) -> None:
        pytest.skip("mongomock keeps documents of any size; MongoDB (and pymongo, before sending) refuse over 16 MiB")

    def test_a_sort_on_arrays_takes_the_least_element_ascending_and_the_greatest_descending(self) -> None:
        pytest.skip(
            "mongomock sorts an array as a whole, not by its least (ascending) or greatest (descending) element"
        )

    def test_a_sort_across_an_array_of_sub_documents_takes_each_ones_value(self) -> None:
        pytest.skip(
            "mongomock sorts across an array of sub-documents by the first one's value, not the least or greatest"
        )

    def test_a_unique_index_tells_true_from_the_number_one(self) -> None:
        pytest.skip("mongomock's unique index takes True for 1 (Python's True == 1); MongoDB compares types first")


# -------------------------------------------------------- real MongoDB (optional)


# The class exists only when a server is named, so that an unset variable shows
# as one skipped test below rather than one per contract test.
if MONGO_URL:

    class TestRealMongoStore(StoreContract, MongoLogTampering):
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
        pytest.skip(
            "optional target not configured: set CPP_TEST_MONGO_URL to a MongoDB replica set "
            "(e.g. mongodb://localhost:27017/?replicaSet=rs0) to run the contract against it"
        )


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


# ---------------------------------------------------------------- verify_chain

_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
_json_values = st.recursive(
    _json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
_entries = st.dictionaries(st.text(max_size=8), _json_values, max_size=4)
_hex64 = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
# What a changed field may become: values of the right type and of others.
_REPLACEMENTS = {
    "seq": st.integers(min_value=-5, max_value=2**63 - 1) | _json_scalars,
    "prev_hash": _hex64 | _json_scalars,
    "hash": _hex64 | _json_scalars,
    "entry": _entries | _json_values,
}


def _build_chain(entries: list[dict[str, Any]]) -> list[LogRecord]:
    records, prev = [], GENESIS
    for seq, entry in enumerate(entries, start=1):
        digest = entry_hash(seq, prev, entry)
        records.append(LogRecord(seq=seq, prev_hash=prev, hash=digest, entry=entry, committed_at=1.0 * seq))
        prev = digest
    return records


def _differs(new: Any, old: Any) -> bool:
    """A change as the hash sees it (1 and 1.0 and True all differ; dict key order does not)."""
    return type(new) is not type(old) or canonical_json(new) != canonical_json(old)


@settings(max_examples=200, deadline=None, database=None)
@given(entries=st.lists(_entries, min_size=1, max_size=8), data=st.data())
def test_verify_chain_finds_any_single_field_change_at_its_seq(entries: list[dict[str, Any]], data: Any) -> None:
    chain = _build_chain(entries)
    assert verify_chain(chain) == verify_chain(iter(chain))  # any iterable
    assert verify_chain(chain).ok and verify_chain(chain).checked == len(chain)
    i = data.draw(st.integers(min_value=0, max_value=len(chain) - 1), label="record")
    field = data.draw(st.sampled_from(sorted(_REPLACEMENTS)), label="field")
    old = getattr(chain[i], field)
    new = data.draw(_REPLACEMENTS[field].filter(lambda v: _differs(v, old)), label="new value")
    tampered = [*chain[:i], dataclasses.replace(chain[i], **{field: new}), *chain[i + 1 :]]
    report = verify_chain(tampered)
    assert (report.ok, report.first_bad_seq, report.checked) == (False, i + 1, i), report
    assert (report.last_seq, report.last_hash) == (i, chain[i - 1].hash if i else GENESIS)


@settings(max_examples=100, deadline=None, database=None)
@given(entries=st.lists(_entries, min_size=2, max_size=8), data=st.data())
def test_verify_chain_finds_a_removed_or_swapped_record(entries: list[dict[str, Any]], data: Any) -> None:
    chain = _build_chain(entries)
    i = data.draw(st.integers(min_value=0, max_value=len(chain) - 2), label="record")
    removed = chain[:i] + chain[i + 1 :]
    assert verify_chain(removed).first_bad_seq == i + 1
    swapped = [*chain[:i], chain[i + 1], chain[i], *chain[i + 2 :]]
    assert verify_chain(swapped).first_bad_seq == i + 1
    # Cutting the newest records is not visible in the chain itself.
    assert verify_chain(chain[:-1]).ok


@settings(max_examples=50, deadline=None, database=None)
@given(entries=st.lists(_entries, max_size=8), data=st.data())
def test_verify_chain_continues_from_a_previous_report(entries: list[dict[str, Any]], data: Any) -> None:
    chain = _build_chain(entries)
    k = data.draw(st.integers(min_value=0, max_value=len(chain)))
    first = verify_chain(chain[:k])
    second = verify_chain(chain[k:], after_seq=first.last_seq, prev_hash=first.last_hash)
    assert first.ok and second.ok and first.checked + second.checked == len(chain)
    assert (second.last_seq, second.last_hash) == (verify_chain(chain).last_seq, verify_chain(chain).last_hash)
    if 0 < k < len(chain):
        assert verify_chain(chain[k:]).first_bad_seq == 1, "a page needs the state it continues from"


# ------------------------------------------ SQLite against MongoDB's order of values
# A model of MongoDB's documented order (BSON comparison order; arrays by their least element going up and their
# greatest going down, an empty array below null), and of its type-bracketed ranges, against the SQLite engine,
# with and without an index on the field. Objects are left out: the engine orders them by their JSON text.

_MISSING = object()


def _bson_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (1, 0)
    if isinstance(value, bool):
        return (6, value)
    if isinstance(value, (int, float)):
        return (2, value)
    return (3, value.encode())  # strings compare as their UTF-8 bytes


def _mongo_sort_key(value: Any, direction: int) -> tuple[int, Any]:
    if value is _MISSING:
        return (1, 0)
    if isinstance(value, list):
        if not value:
            return (0, 0)
        keys = [_bson_key(v) for v in value]
        return min(keys) if direction == 1 else max(keys)
    return _bson_key(value)


def _mongo_range_matches(value: Any, op: str, bound: Any) -> bool:
    compare = {"$gt": lambda a, b: a > b, "$gte": lambda a, b: a >= b, "$lt": lambda a, b: a < b}[op]
    rank, b = _bson_key(bound)
    candidates = value if isinstance(value, list) else [] if value is _MISSING else [value]
    return any(_bson_key(v)[0] == rank and compare(_bson_key(v)[1], b) for v in candidates)


_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-3, max_value=3)
    | st.floats(min_value=-3, max_value=3, allow_nan=False)
    | st.text(alphabet="aAb é\u00ff\U0001f600", max_size=3)
)
_VALUES = _SCALARS | st.lists(_SCALARS, max_size=3) | st.just(_MISSING)


@settings(max_examples=150, deadline=None, database=None)
@given(
    values=st.lists(_VALUES, min_size=1, max_size=10),
    indexed=st.booleans(),
    direction=st.sampled_from([1, -1]),
    op=st.sampled_from(["$gt", "$gte", "$lt"]),
    bound=_SCALARS.filter(lambda v: v is not None),
)
def test_sqlite_sorts_and_ranges_follow_mongodbs_order_of_values(
    tmp_path_factory: pytest.TempPathFactory, values: list[Any], indexed: bool, direction: int, op: str, bound: Any
) -> None:
    store = SQLiteStore(tmp_path_factory.mktemp("order") / "store.db")
    try:
        c = store.collection("values")
        if indexed:
            c.create_index("v")
        docs = {f"d{i}": value for i, value in enumerate(values)}
        for _id, value in docs.items():
            c.insert_one({"_id": _id} if value is _MISSING else {"_id": _id, "v": value})
        expected = sorted(docs, key=lambda _id: (_mongo_sort_key(docs[_id], direction), _id), reverse=direction == -1)
        assert [d["_id"] for d in c.find(sort=[("v", direction)])] == expected
        matching = [_id for _id in expected if _mongo_range_matches(docs[_id], op, bound)]
        assert [d["_id"] for d in c.find({"v": {op: bound}}, sort=[("v", direction)])] == matching
    finally:
        store.close()
