"""The rate limits' SQLite storage and where each store's limits are kept."""

from __future__ import annotations

import multiprocessing
import os

import mongomock
import pytest
from limits import parse_many
from limits.storage import MemoryStorage, MongoDBStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from cpp_shared import limits
from cpp_shared.config import ConfigError, Settings
from cpp_shared.limits import SQLiteStorage

KEY = "LIMITER/cpp/address:127.0.0.1/lookup.Lookup:lookup_per_address/3/1/minute"


class Clock:
    """A clock the test moves (the storage reads cpp_shared.limits.time.time)."""

    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(limits, "time", clock)
    return clock


@pytest.fixture
def url(tmp_path):
    return f"sqlite:///{tmp_path / 'plans-limits.db'}"


def test_the_sqlite_scheme_is_this_storage(url):
    storage = storage_from_string(url)
    assert isinstance(storage, SQLiteStorage)
    assert storage.path.endswith("plans-limits.db") and os.path.isabs(storage.path)
    assert storage.check()


def test_hits_count_up_within_a_window_and_each_key_apart(url, clock):
    storage = SQLiteStorage(url)
    assert storage.get(KEY) == 0
    assert [storage.incr(KEY, 60) for _ in range(3)] == [1, 2, 3]
    assert storage.incr(KEY, 60, amount=2) == 5
    assert storage.get(KEY) == 5
    assert storage.get_expiry(KEY) == clock.now + 60  # the window's end, set by its first hit
    assert storage.incr("another", 60) == 1 and storage.get(KEY) == 5


def test_a_window_that_has_expired_counts_again_from_one(url, clock):
    storage = SQLiteStorage(url)
    start = clock.now
    storage.incr(KEY, 60)
    clock.now = start + 30
    assert storage.incr(KEY, 60) == 2
    assert storage.get_expiry(KEY) == start + 60  # a later hit does not move the window
    clock.now = start + 60
    assert storage.get(KEY) == 0  # expired
    assert storage.get_expiry(KEY) == clock.now
    assert storage.incr(KEY, 60) == 1
    assert storage.get_expiry(KEY) == start + 120


def test_expired_rows_are_pruned(url, clock, monkeypatch):
    monkeypatch.setattr(SQLiteStorage, "PRUNE_EVERY", 3)
    storage = SQLiteStorage(url)
    storage.incr("old-1", 10)
    storage.incr("old-2", 10)
    clock.now += 11
    storage.incr("new", 10)  # the third hit prunes
    rows = storage._connection().execute(f"SELECT key FROM {SQLiteStorage.TABLE}").fetchall()
    assert rows == [("new",)]


def test_clear_and_reset(url, clock):
    storage = SQLiteStorage(url)
    storage.incr("a", 60)
    storage.incr("b", 60)
    storage.clear("a")
    assert storage.get("a") == 0 and storage.get("b") == 1
    assert storage.reset() == 1
    assert storage.get("b") == 0


def test_the_fixed_window_strategy_over_it(url, clock):
    limiter = FixedWindowRateLimiter(SQLiteStorage(url))
    [item] = parse_many("3/minute")
    assert [limiter.hit(item, "address:127.0.0.1") for _ in range(4)] == [True, True, True, False]
    assert limiter.hit(item, "address:127.0.0.2")
    assert not limiter.test(item, "address:127.0.0.1")
    reset, remaining = limiter.get_window_stats(item, "address:127.0.0.1")
    assert remaining == 0 and clock.now < reset <= clock.now + 60


def _hammer(url: str, key: str, n: int, results) -> None:
    storage = SQLiteStorage(url)
    results.put([storage.incr(key, 3600) for _ in range(n)])


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_processes_counting_the_same_key_never_lose_a_hit(url, method):
    """Each hit is one transaction: four processes' 4 x 50 hits give every
    count from 1 to 200 exactly once (a lost update would repeat one)."""
    mp = multiprocessing.get_context(method)
    results = mp.Queue()
    procs = [mp.Process(target=_hammer, args=(url, KEY, 50, results)) for _ in range(4)]
    for proc in procs:
        proc.start()
    counts = [c for _ in procs for c in results.get(timeout=120)]
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    assert sorted(counts) == list(range(1, 201))
    assert SQLiteStorage(url).get(KEY) == 200


def test_two_connections_in_one_process_share_the_counts(url):
    first, second = SQLiteStorage(url), SQLiteStorage(url)
    assert first.incr(KEY, 60) == 1
    assert second.incr(KEY, 60) == 2
    assert first.get(KEY) == 2


# --- where the limits are kept, and the settings -----------------------------------------


def settings(**env: str) -> Settings:
    return Settings.from_env("plans", {"CPP_MODE": "development", "CPP_DATA_DIR": "/srv/cpp", **env})


def test_a_sqlite_store_keeps_its_limits_in_a_file_beside_it():
    assert limits.storage_url(settings()) == ("sqlite:////srv/cpp/plans-limits.db", {})
    assert limits.storage_url(settings(CPP_STORE_URL="sqlite:///var/x.sqlite3")) == (
        "sqlite:///var/x-limits.sqlite3",
        {},
    )


def test_a_mongodb_store_keeps_its_limits_in_a_database_of_their_own_on_the_same_server(monkeypatch):
    store = "mongodb://mongodb:27017/cpp_plans?replicaSet=rs0"
    uri, options = limits.storage_url(settings(CPP_STORE_URL=store))
    assert uri == store and options["database_name"] == "cpp_plans_limits"
    clients = []

    def client(self, uri, **options):  # the client the storage would open, without a server
        clients.append((uri, options))
        return mongomock.MongoClient()

    monkeypatch.setattr(MongoDBStorage, "_init_mongo_client", client)
    storage = storage_from_string(uri, **options)
    assert isinstance(storage, MongoDBStorage) and storage._database_name == "cpp_plans_limits"
    assert storage.counters.full_name == "cpp_plans_limits.counters"
    assert clients == [(store, {"serverSelectionTimeoutMS": 3000})]


def test_the_test_only_mongomock_store_counts_in_process_memory():
    uri, options = limits.storage_url(settings(CPP_STORE_URL="mongomock://cpp_plans"))
    assert isinstance(storage_from_string(uri, **options), MemoryStorage)


def test_an_operator_can_point_the_limits_elsewhere():
    assert limits.storage_url(settings(CPP_RATE_LIMIT_STORAGE_URL="redis://cache:6379/2")) == (
        "redis://cache:6379/2",
        {},
    )
    # a service's own setting first
    assert (
        limits.storage_url(
            settings(CPP_RATE_LIMIT_STORAGE_URL="redis://a:6379", CPP_PLANS_RATE_LIMIT_STORAGE_URL="redis://b:6379")
        )[0]
        == "redis://b:6379"
    )


@pytest.mark.parametrize("value", ["lots", "60/fortnight", "0/minute"])
def test_a_limit_that_cannot_be_read_stops_the_service(value):
    with pytest.raises(ConfigError, match="CPP_RATE_LIMIT_TOKEN_FAILURES"):
        limits.configured(settings(CPP_RATE_LIMIT_TOKEN_FAILURES=value), limits.TOKEN_FAILURES)


def test_limits_take_several_windows_or_off():
    assert limits.configured(settings(), limits.TOKEN_FAILURES) == "30/minute"
    assert (
        limits.configured(settings(CPP_RATE_LIMIT_TOKEN_FAILURES="5/second;100/hour"), limits.TOKEN_FAILURES)
        == "5/second;100/hour"
    )
    assert limits.configured(settings(CPP_RATE_LIMIT_TOKEN_FAILURES="off"), limits.TOKEN_FAILURES) is None


@pytest.mark.parametrize("value", ["-1", "two"])
def test_trusted_proxies_must_be_a_count(value):
    assert limits.trusted_proxies(settings()) == 0
    with pytest.raises(ConfigError, match="CPP_TRUSTED_PROXIES"):
        limits.trusted_proxies(settings(CPP_TRUSTED_PROXIES=value))


MONGO_URL = os.environ.get("CPP_TEST_MONGO_URL")


def test_the_limits_mongodb_storage_counts_on_a_real_server():
    if not MONGO_URL:
        pytest.skip(
            "optional target not configured: set CPP_TEST_MONGO_URL to a MongoDB replica set "
            "(e.g. mongodb://127.0.0.1:27017/cpp_test?replicaSet=rs0)"
        )
    uri, options = limits.storage_url(settings(CPP_STORE_URL=MONGO_URL))
    storage = storage_from_string(uri, **options)
    try:
        storage.clear(KEY)
        assert [storage.incr(KEY, 60) for _ in range(3)] == [1, 2, 3]
        assert storage.get(KEY) == 3
    finally:
        storage.reset()
