"""The MongoDB store against a real replica set's faults: ``failCommand``
fail points (write conflicts, aborted transactions, shutdown, a primary
stepping down, unknown commit results, closed and blocked connections),
first writers racing on a fresh database, GridFS puts racing, and a primary
stepping down under load.

Runs only when ``CPP_TEST_MONGO_URL`` names a replica set whose members were
started with ``--setParameter enableTestCommands=1`` (fail points need it),
as README's Store section shows; skipped, saying so, otherwise. Each test
uses a database of its own, dropped afterwards, and its fail points match
only its own client (by ``appName``), so other clients of the server are
not disturbed.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from cpp_shared.store import CommitOutcomeUnknown, StoreError, StoreUnavailable, open_store
from cpp_shared.store.mongo import MongoStore

MONGO_URL = os.environ.get("CPP_TEST_MONGO_URL")

pytestmark = pytest.mark.skipif(
    not MONGO_URL,
    reason=(
        "optional target not configured: set CPP_TEST_MONGO_URL to a MongoDB replica set started with "
        "--setParameter enableTestCommands=1 (e.g. mongodb://localhost:27017/?replicaSet=rs0) to run the "
        "fault-injection tests against it"
    ),
)


def store_url(database: str, app_name: str, **options: str) -> str:
    """CPP_TEST_MONGO_URL with this test's database, appName and options."""
    assert MONGO_URL is not None
    parts = urlsplit(MONGO_URL)
    query = dict(parse_qsl(parts.query))
    query.update({"appName": app_name, **options})
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", urlencode(query), ""))


@pytest.fixture
def admin() -> Iterator[Any]:
    import pymongo

    client: Any = pymongo.MongoClient(MONGO_URL, serverSelectionTimeoutMS=5000)
    yield client
    client.close()


@pytest.fixture
def database(admin: Any) -> Iterator[str]:
    name = f"cpp_faults_{uuid.uuid4().hex[:12]}"
    yield name
    admin.drop_database(name)


@pytest.fixture
def app_name() -> str:
    return f"cpp-faults-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def opened(database: str, app_name: str) -> Iterator[Any]:
    """Opens stores on the test's database (each its own client, as replicas
    of a service have), closed afterwards."""
    stores: list[Any] = []

    def open_one(**options: str) -> MongoStore:
        store = open_store(store_url(database, app_name, **options))
        assert isinstance(store, MongoStore)
        stores.append(store)
        return store

    yield open_one
    for store in stores:
        store.close()


@contextlib.contextmanager
def fail_point(admin: Any, app_name: str, commands: list[str], mode: Any = None, **data: Any) -> Iterator[None]:
    """``failCommand`` for ``commands`` sent by the test's client (``times``: 1 unless ``mode`` says)."""
    admin.admin.command(
        {
            "configureFailPoint": "failCommand",
            "mode": mode if mode is not None else {"times": 1},
            "data": {"failCommands": commands, "appName": app_name, **data},
        }
    )
    try:
        yield
    finally:
        admin.admin.command({"configureFailPoint": "failCommand", "mode": "off"})


def write_one(store: MongoStore, _id: str) -> None:
    with store.unit_of_work() as uow:
        uow.insert("plans", {"_id": _id})
        uow.publish("plan.created.v1", {"authority": "TEST", "id": _id}, message_id=f"m-{_id}")
        uow.append("audit", {"action": "create", "record_id": _id})


def warm(store: MongoStore) -> None:
    """The store's first unit, before any fail point: its collections, indexes,
    counter and the log's head exist, so a fail point meets the unit's own
    commands only."""
    store.prepare()
    write_one(store, "warm")


def written(store: MongoStore, _id: str) -> bool:
    return store.collection("plans").find_one({"_id": _id}) is not None


# --- fail points -----------------------------------------------------------------


def test_a_write_conflict_is_retried_and_commits(admin, app_name, opened) -> None:
    store = opened()
    warm(store)
    with fail_point(admin, app_name, ["insert"], errorCode=112, errorLabels=["TransientTransactionError"]):
        write_one(store, "p1")
    assert written(store, "p1")


def test_an_aborted_transaction_at_commit_is_run_again(admin, app_name, opened) -> None:
    store = opened()
    warm(store)
    with fail_point(admin, app_name, ["commitTransaction"], errorCode=251, errorLabels=["TransientTransactionError"]):
        write_one(store, "p1")
    assert written(store, "p1") and [m.message_id for m in store.outbox_pending()] == ["m-warm", "m-p1"]


@pytest.mark.parametrize("code", [91, 10107, 189, 11602])
def test_shutdown_or_not_primary_once_is_retried_by_the_driver(admin, app_name, opened, code: int) -> None:
    store = opened()
    warm(store)
    with fail_point(admin, app_name, ["insert"], errorCode=code):
        store.collection("plans").insert_one({"_id": "p1"})
    assert written(store, "p1")


@pytest.mark.parametrize("code", [91, 10107])
def test_shutdown_or_not_primary_that_lasts_is_unavailable_and_writes_nothing(admin, app_name, opened, code) -> None:
    store = opened(timeoutMS="3000")
    warm(store)
    with pytest.raises(StoreUnavailable), fail_point(admin, app_name, ["insert"], "alwaysOn", errorCode=code):
        write_one(store, "p1")
    assert not written(store, "p1")


def test_an_unknown_commit_result_that_lasts_is_commit_outcome_unknown(admin, app_name, opened) -> None:
    store = opened(timeoutMS="3000")
    warm(store)
    with (
        pytest.raises(CommitOutcomeUnknown),
        fail_point(
            admin,
            app_name,
            ["commitTransaction"],
            "alwaysOn",
            errorCode=91,
            errorLabels=["UnknownTransactionCommitResult"],
        ),
    ):
        write_one(store, "p1")


def test_a_closed_connection_once_is_retried(admin, app_name, opened) -> None:
    store = opened()
    warm(store)
    with fail_point(admin, app_name, ["insert"], closeConnection=True):
        store.collection("plans").insert_one({"_id": "p1"})
    with fail_point(admin, app_name, ["find"], closeConnection=True):
        assert written(store, "p1")


def test_connections_closed_at_every_commit_are_an_unknown_outcome(admin, app_name, opened) -> None:
    store = opened(timeoutMS="3000")
    warm(store)
    with (
        pytest.raises(CommitOutcomeUnknown),
        fail_point(admin, app_name, ["commitTransaction"], "alwaysOn", closeConnection=True),
    ):
        write_one(store, "p1")


def test_a_blocked_server_is_unavailable_within_the_time_limit(admin, app_name, opened) -> None:
    """The store's time limit (1 s here) ends the wait on a server that
    answers after 10 s, and the request gets StoreUnavailable."""
    store = opened(timeoutMS="1000")
    warm(store)
    with (
        pytest.raises(StoreUnavailable),
        fail_point(admin, app_name, ["find"], "alwaysOn", blockConnection=True, blockTimeMS=10000),
    ):
        store.collection("plans").find({})


def test_a_transaction_over_the_servers_limit_is_a_store_error_with_its_code(admin, app_name, opened) -> None:
    store = opened()
    warm(store)
    with (
        pytest.raises(StoreError) as raised,
        fail_point(admin, app_name, ["commitTransaction"], "alwaysOn", errorCode=290),
    ):
        write_one(store, "p1")
    assert raised.value.code == 290 and not isinstance(raised.value, StoreUnavailable | CommitOutcomeUnknown)


def test_a_document_over_16_mb_is_a_store_error(opened) -> None:
    store = opened()
    with pytest.raises(StoreError) as raised:
        store.collection("plans").insert_one({"_id": "big", "text": "x" * (17 * 1024 * 1024)})
    assert not isinstance(raised.value, StoreUnavailable)


# --- races on a fresh database ------------------------------------------------------


def run_together(count: int, work: Any) -> list[BaseException | None]:
    start = threading.Barrier(count, timeout=60)
    results: list[BaseException | None] = [None] * count

    def run(k: int) -> None:
        start.wait()
        try:
            work(k)
        except BaseException as exc:
            results[k] = exc

    threads = [threading.Thread(target=run, args=(k,)) for k in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_first_writers_racing_on_a_fresh_database(opened) -> None:
    """Eight replicas start at once on an empty database and each writes at
    once: collections, indexes, the outbox counter and the log's head are
    created outside the transactions, so every unit commits."""
    stores = [opened() for _ in range(8)]
    assert run_together(8, lambda k: write_one(stores[k], f"p{k}")) == [None] * 8
    assert stores[0].collection("plans").count_documents({}) == 8
    assert stores[0].verify_log("audit").ok and len(stores[0].read_log("audit")) == 8
    assert len({m.seq for m in stores[0].outbox_pending()}) == 8


def test_gridfs_puts_racing(opened) -> None:
    from cpp_docs.files import GridFSFileStore

    files = [GridFSFileStore(opened()) for _ in range(6)]
    data = os.urandom(700 * 1024)  # three chunks
    digests: list[str] = []
    assert run_together(6, lambda k: digests.append(files[k].put(data))) == [None] * 6
    assert len(set(digests)) == 1 and files[0].read(digests[0]) == data
    with files[0].store.database() as db:
        assert db["fs.files"].count_documents({}) == 1 and db["fs.chunks"].count_documents({}) == 3


# --- a primary stepping down under load ---------------------------------------------


def test_a_primary_stepping_down_under_load(admin, opened) -> None:
    """Units committed while the primary steps down: each is committed,
    unavailable (and absent), or of unknown outcome; none half-written."""
    members = admin.admin.command("replSetGetStatus")["members"]
    if sum(1 for m in members if m.get("health") == 1) < 2:
        pytest.skip("replSetStepDown needs a replica set with another electable member")
    store = opened(timeoutMS="20000")
    warm(store)
    outcomes: dict[str, str] = {}

    def load(k: int) -> None:
        for n in range(40):
            _id = f"w{k}-{n}"
            try:
                write_one(store, _id)
                outcomes[_id] = "committed"
            except CommitOutcomeUnknown:
                outcomes[_id] = "unknown"
            except StoreUnavailable:
                outcomes[_id] = "unavailable"

    def step_down() -> None:
        with contextlib.suppress(Exception):  # the connection closes as it steps down
            admin.admin.command("replSetStepDown", 10, secondaryCatchUpPeriodSecs=5)

    threads = [threading.Thread(target=load, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    step_down()
    for t in threads:
        t.join(timeout=300)
    for _id, outcome in outcomes.items():
        present = written(store, _id)
        if outcome == "committed":
            assert present, _id
        elif outcome == "unavailable":
            assert not present, _id
    assert store.verify_log("audit").ok
