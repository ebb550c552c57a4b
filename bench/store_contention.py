"""Store contention benchmark: 16, 32 and 64 threads each making audited writes at once, against the same
work from one thread in the same run (the machines are shared and noisy: absolute times drift, ratios much
less).

    make bench                                                  # ... then this
    .venv/bin/python bench/store_contention.py                  # SQLite, in a temporary folder
    .venv/bin/python bench/store_contention.py --store-url 'mongodb://localhost:27017/bench?replicaSet=rs0'
    CPP_TEST_MONGO_URL=mongodb://... .venv/bin/python bench/store_contention.py

One audited write is what the plans service does for an audited read or a partner lookup: a unit of work
with one entry appended to the ``audit`` log and one event published to the outbox, committed through
``group_commit.unit_of_work`` as the services commit theirs (on SQLite concurrent units share a commit; on
MongoDB each is its own transaction). Each thread makes ``--ops`` of them back to back (a closed loop) and
each one's latency is kept. Reported per concurrency: throughput, p50 and p99 latency, and what contention
cost: on MongoDB the transactions run again after a transient error (WriteConflict above all, counted by
the adapter's ``transaction_retries``), on SQLite the commits that had to wait for another thread's write
turn. The baseline is the same work from one thread; the ratios are against it.

After the runs the audit chain is verified (one chain whatever the concurrency, no fork, no gap) and the
outbox is read as the relay reads it, which on MongoDB numbers every message (the relay's sequencer): every
message published must come back, each with its own seq.

The MongoDB database named by the URL is used as it is: point it at a throw-away database.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cpp_shared.store import Store, open_store  # noqa: E402
from cpp_shared.store.group_commit import unit_of_work  # noqa: E402
from cpp_shared.store.scoped import unscoped  # noqa: E402

CONCURRENCY = (16, 32, 64)


class _CountedTurns:
    """The SQLite store's write turns, counting the turns that had to wait for another thread's."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.waits = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @contextmanager
    def turn(self):
        if self.inner._threads.locked():
            self.waits += 1  # read racily: a count of contention, not an exact one
        with self.inner.turn():
            yield


def contention_counter(store: Store):
    """A function answering how many retries (MongoDB) or waits (SQLite) happened so far, and its name."""
    inner = unscoped(store)
    if hasattr(inner, "transaction_retries"):
        return (lambda: inner.transaction_retries), "transaction retries"
    if hasattr(inner, "_turns"):
        counted = _CountedTurns(inner._turns)
        inner._turns = counted
        return (lambda: counted.waits), "write-turn waits"
    return (lambda: 0), "retries"


def commit_counter(store: Store):
    """A function answering how many commits (``commit_all`` calls) were made so far: on SQLite a commit
    carries every unit that gathered meanwhile, so fewer commits than writes is the group commit at work."""
    inner = unscoped(store)
    commit_all = inner.commit_all
    count = [0]
    lock = threading.Lock()

    def counted(units):
        with lock:
            count[0] += 1
        return commit_all(units)

    inner.commit_all = counted  # type: ignore[method-assign]
    return lambda: count[0]


def audited_write(store: Store, thread: int, n: int) -> None:
    with unit_of_work(store) as uow:
        uow.append("audit", {"action": "child.read", "actor": f"worker-{thread}", "n": n})
        uow.publish(
            "child.looked_up.v1",
            {"authority": "bench", "data": {"thread": thread, "n": n}},
            message_id=uuid.uuid4().hex,
        )


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def run(store: Store, threads: int, ops: int, counter, commits) -> dict[str, Any]:
    """``threads`` threads making ``ops`` audited writes each, all released at once."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []
    start = threading.Barrier(threads + 1)

    def worker(i: int) -> None:
        start.wait()
        own = latencies[i]
        for n in range(ops):
            t0 = time.perf_counter()
            try:
                audited_write(store, i, n)
            except Exception as exc:  # reported, not hidden: a failed write is not a latency
                errors.append(exc)
                continue
            own.append(time.perf_counter() - t0)

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for t in pool:
        t.start()
    before, commits_before = counter(), commits()
    start.wait()
    t0 = time.perf_counter()
    for t in pool:
        t.join()
    wall = time.perf_counter() - t0
    done = [x for own in latencies for x in own]
    return {
        "threads": threads,
        "writes": len(done),
        "failed": len(errors),
        "first_error": None if not errors else f"{type(errors[0]).__name__}: {errors[0]}",
        "wall_s": wall,
        "per_s": len(done) / wall if wall > 0 else 0.0,
        "p50_ms": 1000 * percentile(done, 50) if done else None,
        "p99_ms": 1000 * percentile(done, 99) if done else None,
        "mean_ms": 1000 * statistics.fmean(done) if done else None,
        "contention": counter() - before,
        "commits": commits() - commits_before,
    }


def check(store: Store, published: int) -> dict[str, Any]:
    """The chain is whole and every message comes out of the outbox once, numbered."""
    report = store.verify_log("audit")
    seen: dict[str, int] = {}
    while True:
        page = store.outbox_pending(500)
        if not page:
            break
        for m in page:
            seen[m.message_id] = m.seq
        store.outbox_mark_sent([m.seq for m in page])
    return {
        "chain_ok": report.ok,
        "chain_records": report.checked,
        "outbox_messages": len(seen),
        "outbox_distinct_seqs": len(set(seen.values())),
        "outbox_expected": published,
    }


def bench(url: str, *, ops: int, concurrency: tuple[int, ...]) -> dict[str, Any]:
    store = open_store(url)
    try:
        if hasattr(store, "prepare"):
            store.prepare()
        counter, what = contention_counter(store)
        commits = commit_counter(store)
        audited_write(store, -1, 0)  # first use: collections, indexes, the log's head
        baseline = run(store, 1, ops, counter, commits)
        runs = [run(store, c, ops, counter, commits) for c in concurrency]
        published = 1 + baseline["writes"] + sum(r["writes"] for r in runs)
        for r in runs:
            r["throughput_ratio"] = r["per_s"] / baseline["per_s"] if baseline["per_s"] else None
            r["p99_ratio"] = r["p99_ms"] / baseline["p99_ms"] if r["p99_ms"] and baseline["p99_ms"] else None
            r["contention_per_write"] = r["contention"] / r["writes"] if r["writes"] else None
        return {
            "store": type(unscoped(store)).__name__,
            "contention_is": what,
            "ops_per_thread": ops,
            "baseline": baseline,
            "runs": runs,
            "check": check(store, published),
        }
    finally:
        store.close()


def report(results: dict[str, Any]) -> None:
    base = results["baseline"]
    print(
        f"{results['store']}: {results['ops_per_thread']} audited writes per thread; contention = {results['contention_is']}"
    )
    print(
        f"  {'threads':>7} {'writes/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'x tput':>7} {'x p99':>7} {'retries':>8} {'commits':>8} {'failed':>6}"
    )
    for r in [base, *results["runs"]]:
        tput = r.get("throughput_ratio", 1.0)
        p99 = r.get("p99_ratio", 1.0)
        print(
            f"  {r['threads']:>7} {r['per_s']:>9.0f} {r['p50_ms'] or 0:>8.2f} {r['p99_ms'] or 0:>8.2f}"
            f" {tput or 0:>7.2f} {p99 or 0:>7.2f} {r['contention']:>8} {r['commits']:>8} {r['failed']:>6}",
            flush=True,
        )
        if r["first_error"]:
            print(f"          first failure: {r['first_error']}")
    c = results["check"]
    print(
        f"  audit chain {'verified' if c['chain_ok'] else 'BROKEN'} ({c['chain_records']} records);"
        f" outbox gave {c['outbox_messages']} of {c['outbox_expected']} messages, {c['outbox_distinct_seqs']} distinct seqs"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--store-url",
        default=os.environ.get("CPP_TEST_MONGO_URL") or None,
        help="the store to load (default: CPP_TEST_MONGO_URL if set, else SQLite in a temporary folder)",
    )
    parser.add_argument("--ops", type=int, default=50, help="audited writes per thread")
    parser.add_argument(
        "--threads", default=",".join(map(str, CONCURRENCY)), help="concurrencies to run, comma-separated"
    )
    parser.add_argument("--out", default="bench/results", help="folder for store_contention.json")
    args = parser.parse_args(argv)
    concurrency = tuple(int(x) for x in args.threads.split(",") if x.strip())
    print(f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    workdir = None
    url = args.store_url
    if not url:
        workdir = tempfile.mkdtemp(prefix="cpp-contention-")
        url = f"sqlite:///{workdir}/bench.db"  # an absolute path: sqlite:////tmp/...
    try:
        results = bench(url, ops=args.ops, concurrency=concurrency)
    finally:
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    report(results)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "store_contention.json").write_text(json.dumps(results, indent=2, default=str))
    c = results["check"]
    whole = c["chain_ok"] and c["outbox_messages"] == c["outbox_distinct_seqs"] == c["outbox_expected"]
    return 0 if whole else 1


if __name__ == "__main__":
    sys.exit(main())
