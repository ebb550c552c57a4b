"""bench/store_contention.py at a tiny size, on SQLite and on mongomock: every concurrency is reported with
its throughput, p50, p99, contention count and ratios against the one-thread baseline, the audit chain is
whole and every message comes out of the outbox once (no timing is checked: the figures are for the full run)."""

from __future__ import annotations

import importlib.util
import json
import uuid
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "store_contention.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_store_contention", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("store", ["sqlite", "mongomock"])
def test_a_small_run_reports_every_concurrency_against_the_baseline(bench, tmp_path, store, capsys):
    url = f"sqlite:///{tmp_path}/bench.db" if store == "sqlite" else f"mongomock://localhost/smoke_{uuid.uuid4().hex}"
    assert bench.main(["--store-url", url, "--ops", "3", "--threads", "2,4", "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "store_contention.json").read_text())
    assert results["store"] == ("SQLiteStore" if store == "sqlite" else "MongoStore")
    assert results["baseline"]["threads"] == 1 and results["baseline"]["writes"] == 3
    assert [r["threads"] for r in results["runs"]] == [2, 4]
    for r in results["runs"]:
        assert r["writes"] == 3 * r["threads"] and r["failed"] == 0
        assert r["p50_ms"] <= r["p99_ms"] and r["per_s"] > 0
        assert r["throughput_ratio"] > 0 and r["p99_ratio"] > 0
        assert r["contention"] >= 0 and 1 <= r["commits"] <= r["writes"] + r["contention"]
    published = 1 + 3 + 3 * (2 + 4)
    assert results["check"] == {
        "chain_ok": True,
        "chain_records": published,
        "outbox_messages": published,
        "outbox_distinct_seqs": published,
        "outbox_expected": published,
    }
    shown = capsys.readouterr().out
    assert "p99 ms" in shown and "audit chain verified" in shown


def test_the_default_concurrencies_are_16_32_and_64(bench):
    assert bench.CONCURRENCY == (16, 32, 64)
