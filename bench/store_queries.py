"""The SQLite engine's query shapes against a baseline read in the same run.

    .venv/bin/python bench/store_queries.py                  # 50,000 documents, 5 rounds
    .venv/bin/python bench/store_queries.py --documents 200000 --rounds 9

One collection of deadline-like documents (a due date, indexed; a rule, a number and a status, not indexed), then
each query shape the services use, timed in rounds (the median reported), beside the baseline: SQLite reading every
document's JSON text (``SELECT doc``), which no query can beat by much without an index. The machines are shared and
noisy, so read the ratios to the baseline, not the milliseconds. Also printed: each query's plan (an index used, or a
scan, or a sort in a temporary B-tree).

The shapes:
  unindexed eq / range   a filter on a field with no index: a scan, each row's key computed
  indexed range          a range on the indexed field: the index's range alone
  count indexed range    the same, counted: the index alone (its key holds the range's bounds)
  first page sorted      50 documents in the indexed field's order: the index walked, stopping at 50
  unindexed sort page    50 documents in an unindexed field's order: every document's sort key, then a sort
  filter + sort other    a filter on one field, 50 sorted by the indexed one
  by id                  one document by its id
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cpp_shared.store.sqlite import SQLiteStore  # noqa: E402


def timed(run: Callable[[], Any], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=50_000, help="documents in the collection (default 50,000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each query; the median is reported")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="cpp-bench-store-"))
    try:
        store = SQLiteStore(folder / "store.db")
        deadlines = store.collection("deadlines")
        deadlines.create_index("due")
        rnd = random.Random(args.seed)
        start = time.perf_counter()
        with store.unit_of_work() as uow:
            for i in range(args.documents):
                due = f"2026-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
                doc = {
                    "_id": f"d{i:07d}",
                    "due": due,
                    "rule": f"r{i % 50}",
                    "n": i,
                    "status": "open" if i % 3 else "met",
                }
                uow.insert("deadlines", doc)
        seeded = time.perf_counter() - start
        conn = store._connection()

        def baseline() -> None:
            conn.execute('SELECT doc FROM "c_deadlines"').fetchall()

        shapes: list[tuple[str, dict[str, Any], list[tuple[str, int]] | None, Callable[[], Any]]] = []

        def shape(name: str, filter: dict[str, Any], sort: list[tuple[str, int]] | None = None, **kw: Any) -> None:
            if kw.get("count"):
                shapes.append((name, filter, sort, lambda: deadlines.count_documents(filter)))
            else:
                shapes.append((name, filter, sort, lambda: deadlines.find(filter, sort=sort, limit=kw.get("limit", 0))))

        shape("unindexed eq", {"rule": "r7"})
        shape("unindexed range", {"n": {"$lt": 100}})
        shape("indexed range", {"due": {"$lte": "2026-02-01"}})
        shape("count indexed range", {"due": {"$gte": "2026-06-01"}}, count=True)
        shape("first page sorted", {}, [("due", 1)], limit=50)
        shape("unindexed sort page", {}, [("n", -1)], limit=50)
        shape("filter + sort other", {"status": "met"}, [("due", 1)], limit=50)
        shape("by id", {"_id": "d0000123"})

        base = timed(baseline, args.rounds)
        print(f"SQLite store: {args.documents:,} documents seeded in {seeded:.1f} s; {args.rounds} rounds, medians")
        print(f"baseline (every document's JSON read): {base * 1000:.1f} ms")
        print(f"    {'query':22} {'ms':>9} {'x baseline':>11}   plan")
        for name, filter, sort, run in shapes:
            t = timed(run, args.rounds)
            plan = " | ".join(step for step in deadlines.explain(filter, sort=sort) if "SUBQUERY" not in step)
            print(f"    {name:22} {t * 1000:9.2f} {t / base:11.3f}   {plan[:110]}")
        store.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
