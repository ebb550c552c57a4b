"""The MongoDB adapter against the errors of a real replica set, raised by
the fake client (mongomock underneath, transactions emulated as pymongo runs
them): every error mapped to the store's own, a commit whose result is
unknown said so, every unit of ``commit_all`` given an outcome, bounded
waits, majority reads for the relay, transactions on the primary, and
collections, indexes, counters and heads created outside transactions."""

from __future__ import annotations

import uuid
from typing import Any

import pymongo
import pytest
from pymongo import ReadPreference
from pymongo.errors import DuplicateKeyError, NetworkTimeout

from cpp_shared.store import (
    CommitOutcomeUnknown,
    DuplicateKey,
    StoreError,
    StoreUnavailable,
    open_store,
    store_timeout_seconds,
)
from cpp_shared.store.mongo import MongoStore, map_error
from cpp_shared.testing.faulty_mongo import REAL_ERRORS, FaultyMongoClient, real_error

# What each error a replica set gives must become.
EXPECTED: dict[str, type[StoreError]] = {
    "connection refused": StoreUnavailable,
    "no server selected": StoreUnavailable,
    "network timeout": StoreUnavailable,
    "not primary (closed)": StoreUnavailable,
    "execution timeout 50": StoreUnavailable,
    "write concern timeout 64": StoreUnavailable,
    "not writable primary 10107": StoreUnavailable,
    "not primary no secondary ok 13435": StoreUnavailable,
    "interrupted by repl state change 11602": StoreUnavailable,
    "primary stepped down 189": StoreUnavailable,
    "shutdown in progress 91": StoreUnavailable,
    "lock timeout 24": StoreUnavailable,
    "write conflict (transient) 112": StoreUnavailable,
    "no such transaction 251": StoreUnavailable,
    "snapshot unavailable 246": StoreUnavailable,
    "unknown commit result": CommitOutcomeUnknown,
    "duplicate key 11000": DuplicateKey,
    "document too large": StoreError,
    "index options conflict 85": StoreError,
    "index key specs conflict 86": StoreError,
    "update through array path 28": StoreError,
    "transaction too long 290": StoreError,
    "write conflict outside a transaction 112": StoreError,
}


def test_every_real_error_has_its_expectation() -> None:
    assert set(EXPECTED) == set(REAL_ERRORS)


def a_store(client: FaultyMongoClient | None = None, **kwargs: Any) -> tuple[MongoStore, FaultyMongoClient]:
    client = client or FaultyMongoClient()
    return MongoStore(client, f"db{uuid.uuid4().hex[:8]}", **kwargs), client


def code_of(error: BaseException) -> int | None:
    return getattr(error, "code", None)


@pytest.mark.parametrize("name", sorted(REAL_ERRORS))
def test_map_error_case_by_case(name: str) -> None:
    error = REAL_ERRORS[name]()
    mapped = map_error(error)
    assert type(mapped) is EXPECTED[name], (name, mapped)
    assert mapped.code == code_of(error)
    if code_of(error) is not None and EXPECTED[name] is StoreError:
        assert str(code_of(error)) in str(mapped)  # the server's code and message are kept for the log
        assert (error.details or {})["errmsg"] in str(mapped)


@pytest.mark.parametrize("name", sorted(REAL_ERRORS))
def test_a_single_write_raises_only_store_errors(name: str) -> None:
    store, client = a_store()
    plans = store.collection("plans")
    client.faults.fail("insert_one", REAL_ERRORS[name], collection="plans")
    with pytest.raises(StoreError) as raised:
        plans.insert_one({"_id": "p1"})
    assert type(raised.value) is EXPECTED[name]


@pytest.mark.parametrize("name", sorted(REAL_ERRORS))
def test_a_unit_of_work_raises_only_store_errors(name: str) -> None:
    """Raised by a write inside the transaction, however often it is retried."""
    store, client = a_store()
    client.faults.fail("insert_one", REAL_ERRORS[name], collection="plans", times=100)
    with pytest.raises(StoreError) as raised, store.unit_of_work() as uow:
        uow.insert("plans", {"_id": "p1"})
    expected = EXPECTED[name]
    assert type(raised.value) is expected
    assert store.collection("plans").find_one({"_id": "p1"}) is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("network timeout", CommitOutcomeUnknown),  # pymongo labels it UnknownTransactionCommitResult
        ("connection refused", CommitOutcomeUnknown),
        ("write concern timeout 64", CommitOutcomeUnknown),
        ("execution timeout 50", CommitOutcomeUnknown),
        ("primary stepped down 189", CommitOutcomeUnknown),
        ("unknown commit result", CommitOutcomeUnknown),
        ("write conflict (transient) 112", StoreUnavailable),  # aborted: nothing written
        ("no such transaction 251", StoreUnavailable),
        ("transaction too long 290", StoreError),
    ],
)
def test_an_error_at_the_commit(name: str, expected: type[StoreError]) -> None:
    store, client = a_store()
    client.faults.fail("commitTransaction", REAL_ERRORS[name], times=100)
    with pytest.raises(StoreError) as raised, store.unit_of_work() as uow:
        uow.insert("plans", {"_id": "p1"})
    assert type(raised.value) is expected


def test_a_commit_whose_result_never_came_back_is_not_reported_as_nothing_written() -> None:
    """Finding 2: the commit did happen (the fake keeps it), and the store
    must not promise otherwise (StoreUnavailable would)."""
    store, client = a_store()
    client.faults.fail("commitTransaction", lambda: NetworkTimeout("localhost:27017: timed out"), times=100)
    with pytest.raises(CommitOutcomeUnknown), store.unit_of_work() as uow:
        uow.insert("plans", {"_id": "p1"})
    assert store.collection("plans").find_one({"_id": "p1"}) is not None


def test_a_timeout_while_committing_is_an_unknown_outcome_even_unlabelled() -> None:
    raw = NetworkTimeout("timed out")
    assert isinstance(map_error(raw), StoreUnavailable)
    assert isinstance(map_error(raw, committing=True), CommitOutcomeUnknown)
    aborted = real_error(251, "NoSuchTransaction", "aborted", labels=("TransientTransactionError",))
    assert isinstance(map_error(aborted, committing=True), StoreUnavailable)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("transaction too long 290", StoreError),
        ("document too large", StoreError),
        ("network timeout", StoreUnavailable),
        ("lock timeout 24", StoreUnavailable),
        ("update through array path 28", StoreError),
    ],
)
def test_commit_all_gives_every_unit_an_outcome(name: str, expected: type[StoreError]) -> None:
    """Finding 1: the second unit fails in a way that is neither a conflict
    nor a duplicate; the first stays committed, the third is still tried,
    and each has its outcome."""
    store, client = a_store()
    units = [store.begin() for _ in range(3)]
    for n, uow in enumerate(units):
        uow.insert(f"c{n}", {"_id": "x"})
    client.faults.fail("insert_one", REAL_ERRORS[name], collection="c1", times=100)
    outcomes = store.commit_all(units)
    assert len(outcomes) == 3
    assert outcomes[0] is None and outcomes[2] is None
    assert type(outcomes[1]) is expected
    assert [store.collection(f"c{n}").count_documents({}) for n in range(3)] == [1, 0, 1]


def test_commit_all_reports_an_unknown_commit_for_that_unit() -> None:
    store, client = a_store()
    units = [store.begin() for _ in range(2)]
    for n, uow in enumerate(units):
        uow.insert(f"c{n}", {"_id": "x"})
    client.faults.fail("commitTransaction", REAL_ERRORS["unknown commit result"], times=3)
    outcomes = store.commit_all(units)
    assert isinstance(outcomes[0], CommitOutcomeUnknown) and outcomes[1] is None


# --- bounded waits --------------------------------------------------------------


def test_every_operation_and_transaction_runs_under_the_store_time_limit() -> None:
    """Finding 3: no operation without a time limit."""
    store, client = a_store(timeout_seconds=4)
    store.collection("plans").insert_one({"_id": "a"})
    with store.unit_of_work() as uow:
        uow.insert("plans", {"_id": "b"})
        uow.publish("plan.created.v1", {"authority": "x"}, message_id="m1")
        uow.append("audit", {"action": "read"})
    store.outbox_pending()
    store.collection("plans").find({})
    with store.database() as db:
        db["fs.files"].find_one({"_id": "x"})
    timed = [c for c in client.calls if c.operation != "command"]
    assert timed and all(c.timeout == 4 for c in timed), [c for c in timed if c.timeout != 4]
    [options] = client.transactions
    wc = options["write_concern"].document
    assert wc["w"] == "majority" and wc["wtimeout"] == 4000 and wc["j"] is True


def test_the_urls_own_wtimeout_is_kept() -> None:
    client = FaultyMongoClient()
    client.write_concern = pymongo.WriteConcern(wtimeout=1500)
    store, _ = a_store(client)
    with store.unit_of_work() as uow:
        uow.insert("plans", {"_id": "b"})
    assert client.transactions[0]["write_concern"].document["wtimeout"] == 1500


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """open_store's MongoClient, replaced by the fake: what it was given."""
    made: list[dict[str, Any]] = []

    def client(url: str, **kwargs: Any) -> FaultyMongoClient:
        made.append({"url": url, **kwargs})
        return FaultyMongoClient()

    monkeypatch.setattr(pymongo, "MongoClient", client)
    monkeypatch.delenv("CPP_STORE_TIMEOUT_SECONDS", raising=False)
    return made


def test_open_store_gives_a_server_selection_timeout_only_when_the_url_has_none(clients, monkeypatch) -> None:
    open_store("mongodb://h1,h2/plans?replicaSet=rs0")
    open_store("mongodb://h1,h2/plans?replicaSet=rs0&serverSelectionTimeoutMS=15000")
    open_store("mongodb://h1/plans?SERVERSELECTIONTIMEOUTMS=100")
    assert clients[0]["serverSelectionTimeoutMS"] == 3000
    assert "serverSelectionTimeoutMS" not in clients[1] and "serverSelectionTimeoutMS" not in clients[2]


def test_the_store_time_limit_comes_from_the_setting_else_the_urls_timeout_ms(clients, monkeypatch) -> None:
    assert open_store("mongodb://h/plans").timeout_seconds == 10  # type: ignore[attr-defined]
    assert open_store("mongodb://h/plans?timeoutMS=2500").timeout_seconds == 2.5  # type: ignore[attr-defined]
    monkeypatch.setenv("CPP_STORE_TIMEOUT_SECONDS", "3")
    assert open_store("mongodb://h/plans?timeoutMS=2500").timeout_seconds == 3  # type: ignore[attr-defined]


@pytest.mark.parametrize("bad", ["0", "-1", "soon", "nan", "inf"])
def test_a_wrong_time_limit_is_refused_naming_the_setting(bad: str) -> None:
    with pytest.raises(ValueError, match="CPP_STORE_TIMEOUT_SECONDS"):
        store_timeout_seconds("mongodb://h/plans", {"CPP_STORE_TIMEOUT_SECONDS": bad})


# --- majority reads, the primary ------------------------------------------------


def test_the_relay_reads_the_outbox_with_majority_read_concern() -> None:
    """Finding 5: the relay never sees an event a failover could roll back."""
    store, client = a_store()
    with store.unit_of_work() as uow:
        uow.publish("plan.created.v1", {"authority": "x"}, message_id="m1")
    assert [m.message_id for m in store.outbox_pending()] == ["m1"]
    reads = [c for c in client.calls if c.operation == "find" and c.collection == "outbox"]
    assert reads and all(c.read_concern == "majority" for c in reads)


def test_gridfs_already_stored_check_reads_with_majority() -> None:
    from cpp_docs.files import GridFSFileStore

    store = open_store(f"mongomock://files{uuid.uuid4().hex[:8]}")
    assert isinstance(store, MongoStore)
    files = GridFSFileStore(store)
    assert files._files.read_concern.level == "majority"
    digest = files.put(b"a plan")
    assert files.put(b"a plan") == digest and files.read(digest) == b"a plan"


def test_transactions_run_on_the_primary_whatever_the_url_says() -> None:
    """Finding 9: readPreference=secondaryPreferred in the URL must not
    reach a transaction."""
    store, client = a_store()
    with store.unit_of_work() as uow:
        uow.insert("plans", {"_id": "p"})
    assert client.transactions[0]["read_preference"] == ReadPreference.PRIMARY


# --- created before use, outside transactions -------------------------------------


def test_a_first_unit_on_a_fresh_database_creates_nothing_inside_its_transaction() -> None:
    """Finding 7: the fake refuses to create a collection inside a
    transaction, as concurrent first writers would make it fail."""
    store, client = a_store()
    with store.unit_of_work() as uow:
        uow.insert("plans", {"_id": "p"})
        uow.update("counts", {"_id": "c"}, {"$inc": {"n": 1}}, upsert=True)
        uow.mark_processed("e1", "plans")
        uow.publish("plan.created.v1", {"authority": "x"}, message_id="m1")
        uow.append("audit", {"action": "read"})
    assert store.collection("plans").find_one({"_id": "p"}) is not None
    assert store.read_log("audit")[0].seq == 1 and store.outbox_pending()[0].seq == 1
    assert not [c for c in client.calls if c.in_transaction and c.operation == "create_collection"]


def test_prepare_creates_the_stores_own_collections_and_counter() -> None:
    store, client = a_store()
    store.prepare()
    names = set(client.inner[store.db.name].list_collection_names())
    assert {"outbox", "outbox_seq", "processed_events", "leases", "log_entries", "log_heads"} <= names
    assert client.inner[store.db.name]["outbox_seq"].find_one({"_id": "outbox"}) == {"_id": "outbox", "value": 0}


def test_two_replicas_starting_at_once_on_a_fresh_database() -> None:
    """The second meets the collections, indexes and counter the first made
    meanwhile: tolerated."""
    client = FaultyMongoClient()
    name = f"db{uuid.uuid4().hex[:8]}"
    first = MongoStore(client, name)
    second = MongoStore(client, name)
    first.prepare()
    client.faults.fail("create_collection", real_error(48, "NamespaceExists", "Collection already exists."))
    client.faults.fail(
        "create_index", real_error(68, "IndexAlreadyExists", "index already exists"), collection="outbox"
    )
    client.faults.fail(
        "insert_one",
        real_error(11000, "DuplicateKey", "E11000 duplicate key", cls=DuplicateKeyError),
        collection="outbox_seq",
    )
    second._collections.clear()
    second._ensure_collections(["fresh"])  # another replica created it between the listing and the create
    second.prepare()
    with second.unit_of_work() as uow:
        uow.publish("plan.created.v1", {"authority": "x"}, message_id="m1")
    assert [m.seq for m in first.outbox_pending()] == [1]


def test_a_services_index_built_by_another_replica_meanwhile_is_tolerated() -> None:
    store, client = a_store()
    client.faults.fail(
        "create_index",
        real_error(276, "IndexBuildAlreadyInProgress", "an index build is already in progress"),
        collection="children",
    )
    store.collection("children").create_index("nhs_key", unique=True)


def test_counters_and_heads_are_never_upserted_in_a_transaction() -> None:
    """Finding 6: an upsert of a head or the outbox counter inside a
    transaction meets the one a concurrent first writer inserted with a
    duplicate key that is not transient (a 409). The fake raises it for any
    such upsert; created beforehand, outside, there is none."""
    store, client = a_store()
    duplicate = real_error(11000, "DuplicateKey", "E11000 duplicate key", cls=DuplicateKeyError)
    for name in ("log_heads", "outbox_seq"):
        client.faults.fail("find_one_and_update", duplicate, collection=name, when={"upsert": True}, times=100)
    with store.unit_of_work() as uow:
        uow.publish("plan.created.v1", {"authority": "x"}, message_id="m1")
        uow.append("audit", {"action": "read"})
    assert [r.seq for r in store.read_log("audit")] == [1]
    upserts = [c for c in client.calls if c.in_transaction and c.kwargs.get("upsert")]
    assert not upserts


def test_a_services_upsert_meeting_a_concurrent_insert_is_run_again() -> None:
    """An upsert in a transaction that meets a document inserted since its
    snapshot: the transaction runs again and updates it."""
    store, client = a_store()
    store.collection("counts").insert_one({"_id": "c", "n": 1})
    duplicate = real_error(11000, "DuplicateKey", "E11000 duplicate key", cls=DuplicateKeyError)
    client.faults.fail("update_one", duplicate, collection="counts", when={"upsert": True})
    with store.unit_of_work() as uow:
        uow.update("counts", {"_id": "c"}, {"$inc": {"n": 1}}, upsert=True)
    assert store.collection("counts").find_one({"_id": "c"})["n"] == 2  # type: ignore[index]
    assert client.faults.pending() == 0


def test_a_real_duplicate_from_an_upsert_is_still_a_duplicate() -> None:
    store, client = a_store()
    duplicate = real_error(11000, "DuplicateKey", "E11000 duplicate key", cls=DuplicateKeyError)
    client.faults.fail("update_one", duplicate, collection="counts", when={"upsert": True}, times=100)
    with pytest.raises(DuplicateKey), store.unit_of_work() as uow:
        uow.update("counts", {"_id": "c"}, {"$inc": {"n": 1}}, upsert=True)
