"""The SQLite store's write turns: every write transaction waits its turn on
a lock of the store (the threads of a process) and an exclusive flock of a
file beside the database (the processes), a blocking wait where SQLite's
own wait for its write lock polls."""

from __future__ import annotations

import multiprocessing
import os
import threading

import pytest

from cpp_shared.store import DuplicateKey
from cpp_shared.store import sqlite as sqlite_store
from cpp_shared.store.sqlite import SQLiteStore


@pytest.fixture
def store(tmp_path):
    s = SQLiteStore(tmp_path / "t.db")
    yield s
    s.close()


def test_each_write_takes_the_turn_around_its_transaction(store, monkeypatch):
    calls = []
    real_flock = sqlite_store._fcntl.flock

    def flock(fd, op):
        calls.append(("unlock" if op == sqlite_store._fcntl.LOCK_UN else "lock", os.readlink(f"/proc/self/fd/{fd}")))
        return real_flock(fd, op)

    monkeypatch.setattr(sqlite_store._fcntl, "flock", flock)
    real_apply = store._apply

    def apply(*args, **kwargs):
        calls.append(("in the transaction",))
        return real_apply(*args, **kwargs)

    monkeypatch.setattr(store, "_apply", apply)
    with store.unit_of_work() as uow:
        uow.insert("things", {"_id": "a"})
    store.collection("things").update_one({"_id": "a"}, {"$set": {"n": 1}})
    turn = f"{store.path}-write-turn"
    assert calls == [("lock", turn), ("in the transaction",), ("unlock", turn), ("lock", turn), ("unlock", turn)]
    assert store.collection("things").find_one({"_id": "a"})["n"] == 1


def test_a_failed_transaction_gives_its_turn_back(store):
    store.collection("things").insert_one({"_id": "a"})
    with pytest.raises(DuplicateKey):
        store.collection("things").insert_one({"_id": "a"})  # a duplicate: rolled back
    assert not store._turns._threads.locked()
    store.collection("things").insert_one({"_id": "b"})  # the next writer is not kept waiting
    assert store.collection("things").count_documents() == 2


def test_writes_go_on_without_turns_where_the_turn_file_cannot_be_made(store, tmp_path):
    store._turns = sqlite_store._WriteTurns(str(tmp_path / "missing-folder" / "t.db-write-turn"))
    with store.unit_of_work() as uow:
        uow.insert("things", {"_id": "a"})
    store.collection("things").insert_one({"_id": "b"})
    assert not store._turns.usable
    assert store.collection("things").count_documents() == 2


def _writer(path, name, n, barrier):
    s = SQLiteStore(path)
    barrier.wait()
    for i in range(n):
        with s.unit_of_work() as uow:
            uow.append("log", {"by": name, "i": i})
    s.close()


def test_threads_and_processes_writing_together_all_commit_in_one_chain(store):
    store.collection("things").insert_one({"_id": "warm"})  # the file exists before the fork
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(3, timeout=30)
    procs = [ctx.Process(target=_writer, args=(store.path, f"p{k}", 40, barrier)) for k in range(2)]
    for p in procs:
        p.start()
    barrier.wait()
    threads = [
        threading.Thread(
            target=lambda k=k: [store.collection("things").insert_one({"k": k, "i": i}) for i in range(20)]
        )
        for k in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert store.collection("things").count_documents() == 61
    entries = [r.entry for r in store.read_log("log")]
    assert sorted((e["by"], e["i"]) for e in entries) == sorted((f"p{k}", i) for k in range(2) for i in range(40))
    assert store.verify_log("log").ok
