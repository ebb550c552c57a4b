"""A SQLite store made before leases had fencing tokens gets them on opening,
its leases going on as they were."""

from __future__ import annotations

import sqlite3
import time

from cpp_shared.store import open_store


def test_a_file_from_before_fencing_tokens_gets_them(tmp_path) -> None:
    path = tmp_path / "plans.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE _leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at REAL NOT NULL)")
        conn.execute("INSERT INTO _leases VALUES ('outbox-relay@ENG', 'old-relay', ?)", (time.time() + 3600,))
    conn.close()
    store = open_store(f"sqlite:///{path}")
    try:
        assert store.acquire_lease("outbox-relay@ENG", "new-relay", 30) is None, "the old holder's lease is live"
        assert store.acquire_lease("outbox-relay@ENG", "old-relay", 30) == 1, "its first token (always truthy)"
        assert store.acquire_lease("outbox-relay@ENG", "old-relay", 30) == 1, "renewed"
        store.release_lease("outbox-relay@ENG", "old-relay")
        assert store.acquire_lease("outbox-relay@ENG", "new-relay", 30) == 2
    finally:
        store.close()
