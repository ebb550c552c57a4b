"""Group commit (cpp_shared.store.group_commit): the units of work that
concurrent threads hand over while a commit is under way share the next
commit; each caller returns only once its own unit is durable, and raises
its own unit's error, or the error that undid the whole commit."""

from __future__ import annotations

import threading

import pytest

from cpp_shared.store import StoreError, StoreUnavailable, VersionConflict, group_commit, open_store
from tests.helpers import wait_for

WAIT = 10  # seconds: a bound on waiting for the other threads, not a timing assertion


@pytest.fixture
def store(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/group-commit.db")
    yield store
    store.close()


def entry_unit(store, n):
    uow = store.begin()
    uow.append("audit", {"n": n})
    return uow


def audit_ns(store):
    return [r.entry["n"] for r in store.read_log("audit")]


class HeldCommits:
    """Wraps store.commit_all: the first call waits until ``release`` is set,
    so that the units handed over meanwhile gather behind it."""

    def __init__(self, store):
        self.store, self.real = store, store.commit_all
        self.batches: list[int] = []
        self.release = threading.Event()
        self.entered = threading.Event()

    def __call__(self, units):
        self.batches.append(len(units))
        if len(self.batches) == 1:
            self.entered.set()
            assert self.release.wait(WAIT)
        return self.real(units)


def run_threads(targets):
    threads = [threading.Thread(target=t) for t in targets]
    for t in threads:
        t.start()
    return threads


def join(threads):
    for t in threads:
        t.join(WAIT)
        assert not t.is_alive()


def test_units_handed_over_during_a_commit_share_the_next_one(store, monkeypatch):
    committer = group_commit.committer_for(store)
    assert committer.groups and group_commit.committer_for(store) is committer
    held = HeldCommits(store)
    monkeypatch.setattr(store, "commit_all", held)
    seen_on_return: dict[int, list[int]] = {}

    def commit(n):
        committer.commit(entry_unit(store, n))
        seen_on_return[n] = audit_ns(store)  # what is committed when commit() returns

    first = run_threads([lambda: commit(0)])
    assert held.entered.wait(WAIT)
    others = run_threads([lambda n=n: commit(n) for n in range(1, 6)])
    wait_for(lambda: len(committer._queue) == 5, timeout=WAIT, what="five units waiting")
    held.release.set()
    join(first + others)

    assert held.batches == [1, 5], "the five that waited were committed together"
    assert sorted(audit_ns(store)) == [0, 1, 2, 3, 4, 5]
    for n, committed in seen_on_return.items():
        assert n in committed, f"commit() returned before unit {n} was committed"
    assert store.verify_log("audit").ok


def test_a_unit_that_fails_alone_fails_only_its_caller(store, monkeypatch):
    committer = group_commit.committer_for(store)
    store.collection("things").insert_one({"_id": "t", "n": 0})
    held = HeldCommits(store)
    monkeypatch.setattr(store, "commit_all", held)
    errors: dict[str, BaseException | None] = {}

    def commit(name, uow):
        try:
            committer.commit(uow)
            errors[name] = None
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertions
            errors[name] = exc

    stale = store.begin()
    stale.replace("things", {"_id": "t", "n": 1}, expected_version=7)  # the stored one is at 1
    stale.append("audit", {"n": "stale"})
    first = run_threads([lambda: commit("first", entry_unit(store, "first"))])
    assert held.entered.wait(WAIT)
    others = run_threads([lambda: commit("stale", stale), lambda: commit("good", entry_unit(store, "good"))])
    wait_for(lambda: len(committer._queue) == 2, timeout=WAIT, what="two units waiting")
    held.release.set()
    join(first + others)

    assert held.batches == [1, 2]
    assert errors["first"] is None and errors["good"] is None
    assert isinstance(errors["stale"], VersionConflict)
    assert audit_ns(store) == ["first", "good"], "the failed unit left nothing, not even its audit entry"
    assert store.collection("things").find_one({"_id": "t"})["n"] == 0
    assert store.verify_log("audit").ok


def test_a_commit_that_fails_fails_every_unit_in_it_and_writes_nothing(store, monkeypatch):
    committer = group_commit.committer_for(store)
    real = store.commit_all
    entered, release = threading.Event(), threading.Event()
    calls = []

    def failing(units):
        calls.append(len(units))
        if len(calls) == 1:
            entered.set()
            assert release.wait(WAIT)
            return real(units)
        raise StoreUnavailable("disk I/O error")

    monkeypatch.setattr(store, "commit_all", failing)
    errors: dict[int, BaseException | None] = {}

    def commit(n):
        try:
            committer.commit(entry_unit(store, n))
            errors[n] = None
        except BaseException as exc:  # noqa: BLE001
            errors[n] = exc

    first = run_threads([lambda: commit(0)])
    assert entered.wait(WAIT)
    others = run_threads([lambda n=n: commit(n) for n in (1, 2, 3)])
    wait_for(lambda: len(committer._queue) == 3, timeout=WAIT, what="three units waiting")
    release.set()
    join(first + others)

    assert calls == [1, 3]
    assert errors[0] is None
    assert all(isinstance(errors[n], StoreUnavailable) for n in (1, 2, 3)), errors
    assert len({id(errors[n]) for n in (1, 2, 3)}) == 3, "each caller raises its own exception object"
    assert audit_ns(store) == [0]
    monkeypatch.setattr(store, "commit_all", real)
    committer.commit(entry_unit(store, 4))  # the committer is usable again
    assert audit_ns(store) == [0, 4]


def test_an_unexpected_error_reaches_every_caller_as_an_error(store, monkeypatch):
    committer = group_commit.committer_for(store)

    def broken(units):
        raise TypeError("a bug")

    monkeypatch.setattr(store, "commit_all", broken)
    with pytest.raises(TypeError):
        committer.commit(entry_unit(store, 1))
    assert isinstance(group_commit._for_the_others(TypeError("a bug")), StoreError)
    monkeypatch.undo()
    committer.commit(entry_unit(store, 2))
    assert audit_ns(store) == [2]


def test_an_error_inside_the_block_commits_nothing(store):
    with pytest.raises(RuntimeError):
        with group_commit.unit_of_work(store) as uow:
            uow.append("audit", {"n": 1})
            raise RuntimeError("changed my mind")
    with group_commit.unit_of_work(store) as uow:
        uow.append("audit", {"n": 2})
    assert audit_ns(store) == [2]


def test_other_stores_commit_each_unit_on_its_own():
    store = open_store("mongomock://group-commit-test")
    committer = group_commit.GroupCommitter(store)
    assert not committer.groups
    committer.commit(entry_unit(store, 1))
    with pytest.raises(VersionConflict):
        uow = store.begin()
        uow.replace("things", {"_id": "missing"}, expected_version=1)
        committer.commit(uow)
    assert [r.entry["n"] for r in store.read_log("audit")] == [1]
