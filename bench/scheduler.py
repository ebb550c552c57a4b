"""Scheduler benchmark: working-day arithmetic on England's calendar, and the
tick's due scan over a large SQLite store, each against a baseline measured
in the same run (the machines are shared and noisy: absolute rates drift,
ratios much less).

    make bench                                          # bus.py, plans_api.py, then this
    .venv/bin/python bench/scheduler.py --computations 100000 --stored 20000,200000

Working days: N calls of ``WorkingCalendar.due_date(anchor, n, unit,
direction)`` on the England calendar (GB/ENG and the plugins' closure
days), anchors spread over 2025-2030, offsets like the real rules' (1-15
working days after or before, 14 calendar days, 3 and 6 months), against
the same N of plain ``anchor + timedelta(days=n)`` (date arithmetic without
a calendar), interleaved in rounds; the calendar is warmed first (its
holidays are loaded a year at a time, once per process).

Due scan: one scheduler store (SQLite, in a temporary CPP_DATA_DIR, built by
the scheduler app in-process, so with the service's indexes) grown to each
size in turn, about 30% closed deadlines (met: nothing to check) and 70%
pending with a next check far ahead, shaped by ``deadlines.new_deadline``
from England's rules. For each number due D, D pending deadlines are given
a due date by a manager (``set_due_date``: reminder day today or before, a
mix of approaching and overdue), so the store holds exactly N of which D are
due, then:
  first batch   the tick's query, {"next_check_on": {"$lte": today}} unsorted,
                LIMIT the tick's batch (500)
  all due       the same query without the limit (returns D)
  sorted        the same query sorted by next_check_on (returns D; for
                comparison: SQLite then walks the whole index in order)
  run_once      Ticker.run_once(today, use_lease=False): every due deadline
                moved, one event each in the outbox (D moved, none due after)
Baseline: a filter on an unindexed field (rule_id), which SQLite can only
answer by reading every stored deadline: the cost of growing with N.
SQLite's EXPLAIN QUERY PLAN of the queries is printed with the figures.
The issue's aim: the scan's cost grows with the number due, not the number stored.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cpp_scheduler import store as st  # noqa: E402
from cpp_scheduler.app import create_app  # noqa: E402
from cpp_scheduler.domain.calendar import WorkingCalendar  # noqa: E402
from cpp_scheduler.domain.deadlines import Scope, new_deadline, set_due_date  # noqa: E402
from cpp_scheduler.domain.rules import closure_days  # noqa: E402
from cpp_scheduler.runtime import runtime  # noqa: E402
from cpp_scheduler.tick import Ticker  # noqa: E402
from cpp_shared.config import Settings  # noqa: E402
from cpp_shared.logs import configure  # noqa: E402
from cpp_shared.plugins import Plugins  # noqa: E402
from cpp_shared.store.scoped import unscoped  # noqa: E402
from cpp_shared.store.sqlite import _order_by  # noqa: E402

PLUGINS = ("england",)
# (label, share, unit, direction, amounts): like England's rules (15 and 10
# working days after a conference, 3 and 6 months to a review), plus counts
# backwards (reminder days) and a 14-day calendar timescale.
OFFSETS = (
    ("1-15 working days after", 0.50, "working_days", "after", tuple(range(1, 16))),
    ("1-15 working days before", 0.15, "working_days", "before", tuple(range(1, 16))),
    ("14 calendar days after", 0.10, "calendar_days", "after", (14,)),
    ("3 months after", 0.15, "months", "after", (3,)),
    ("6 months after", 0.10, "months", "after", (6,)),
)
KINDS = {(unit, direction, amount): label for label, _, unit, direction, amounts in OFFSETS for amount in amounts}
ANCHORS = (date(2025, 1, 1), date(2030, 12, 31))
CLOSED_SHARE = 0.3  # of the stored deadlines: met, no next check
TICK_BATCH = 500  # Ticker's default batch
SORT = [("next_check_on", 1)]
UNINDEXED = {"rule_id": "no-such-rule"}  # the baseline's filter: rule_id has no index

# ---------------------------------------------------------------- working days


def england_calendar() -> WorkingCalendar:
    """The calendar the scheduler builds for England (runtime.build)."""
    plugins = Plugins(PLUGINS)
    return WorkingCalendar.for_authority(plugins.authority(), closure_days(plugins))


def computation_inputs(n: int, rng: random.Random) -> list[tuple[date, int, str, str]]:
    """``n`` (anchor, amount, unit, direction), mixed as OFFSETS says."""
    days = [ANCHORS[0] + timedelta(days=i) for i in range((ANCHORS[1] - ANCHORS[0]).days + 1)]
    kinds = [(unit, direction, amounts) for _, _, unit, direction, amounts in OFFSETS]
    weights = [share for _, share, *_ in OFFSETS]
    items = []
    for unit, direction, amounts in rng.choices(kinds, weights, k=n):
        items.append((rng.choice(days), rng.choice(amounts), unit, direction))
    return items


def _time_calendar(cal: WorkingCalendar, items: list) -> float:
    due_date = cal.due_date
    start = time.perf_counter()
    for anchor, amount, unit, direction in items:
        due_date(anchor, amount, unit, direction)
    return time.perf_counter() - start


def _time_plain(items: list) -> float:
    start = time.perf_counter()
    for anchor, amount, _unit, _direction in items:
        anchor + timedelta(days=amount)
    return time.perf_counter() - start


def bench_computations(n: int, rounds: int, seed: int = 1, progress=print) -> dict:
    """Rates of ``due_date`` (by kind and overall) and of plain date
    arithmetic over the same inputs, medians of ``rounds`` interleaved rounds."""
    cal = england_calendar()
    items = computation_inputs(n, random.Random(seed))
    groups: dict[str, list] = {}
    for item in items:
        groups.setdefault(KINDS[item[2], item[3], item[1]], []).append(item)
    for y in range(ANCHORS[0].year - 1, ANCHORS[1].year + 2):  # warm: holidays loaded once per year
        cal.is_working_day(date(y, 6, 1))
    _time_calendar(cal, items[: min(n, 10_000)])
    # The results are right (a working-day offset lands on a working day,
    # every offset on or before its raw date).
    for anchor, amount, unit, direction in items[:1000]:
        c = cal.due_date(anchor, amount, unit, direction)
        assert cal.is_working_day(c.due), c

    seconds: dict[str, list[float]] = {"plain": [], "calendar": [], **{k: [] for k in groups}}
    for round_no in range(rounds):
        seconds["plain"].append(_time_plain(items))
        by_kind = {k: _time_calendar(cal, g) for k, g in groups.items()}
        for k, s in by_kind.items():
            seconds[k].append(s)
        seconds["calendar"].append(sum(by_kind.values()))
        progress(
            f"computations round {round_no + 1}: plain {n / seconds['plain'][-1]:,.0f}/s, "
            f"due_date {n / seconds['calendar'][-1]:,.0f}/s",
            flush=True,
        )
    med = {k: statistics.median(v) for k, v in seconds.items()}
    counts = {"plain": n, "calendar": n, **{k: len(g) for k, g in groups.items()}}
    rates = {k: counts[k] / med[k] for k in med}
    return {
        "computations": n,
        "rounds": rounds,
        "calendar": {"country": cal.country, "subdiv": cal.subdiv, "extra_closure_days": len(cal.closures)},
        "anchors": [ANCHORS[0].isoformat(), ANCHORS[1].isoformat()],
        "counts": counts,
        "seconds": seconds,
        "median_seconds": med,
        "rates": rates,
        "ratio": rates["calendar"] / rates["plain"],
    }


# ---------------------------------------------------------------- the due scan


def scheduler_context(data_dir: Path):
    """The scheduler's ServiceContext, from its app built in-process with a
    development configuration (no broker is contacted by the tick)."""
    env = {
        "CPP_MODE": "development",
        "CPP_DATA_DIR": str(data_dir),
        "CPP_PLUGINS": ",".join(PLUGINS),
        "CPP_LOG_FORMAT": "console",
        # Nothing listens there: run_once only writes the outbox.
        "CPP_BROKER_URL": "amqp://guest:guest@127.0.0.1:9//",
    }
    return create_app(Settings.from_env("scheduler", env)).extensions["cpp"]


def working_today(cal: WorkingCalendar, day: date) -> date:
    return day if cal.is_working_day(day) else cal.next_working_day(day)


def seed_deadlines(
    ctx, count: int, today: date, rng: random.Random, pending: list[str], *, batch: int = 5000, progress=print
) -> float:
    """Add ``count`` deadlines (CLOSED_SHARE met, the others pending with a
    next check 30 days to 3 years ahead), ``batch`` inserts a unit of work;
    the pending ones' ids are appended to ``pending``. Returns the seconds."""
    rt = runtime(ctx)
    rules = [r for r in rt.rules if r.offset is not None]
    store, cal = ctx.store, rt.calendar
    created_at = datetime.now(UTC).isoformat()
    start = last = time.perf_counter()
    done = 0
    while done < count:
        with store.unit_of_work() as uow:
            for _ in range(min(batch, count - done)):
                rule = rng.choice(rules)
                n = rng.randrange(10**9)
                scope = Scope(rt.authority, f"case-{n}", f"plan-{n}", f"child-{n}")
                closed = rng.random() < CLOSED_SHARE
                anchor = today + timedelta(days=rng.randrange(-1500, -60) if closed else rng.randrange(30, 1100))
                trigger = {
                    "event_id": f"ev-{n}",
                    "type": "conference.held.v1",
                    "time": f"{anchor.isoformat()}T10:00:00+00:00",
                }
                doc = new_deadline(
                    rule, scope, cal, anchor=anchor, key=None, trigger=trigger, occurrence=1, created_at=created_at
                )
                if closed:
                    doc.update(
                        status="met",
                        next_check_on=None,
                        met={
                            "on": doc["due_on"],
                            "late": False,
                            "working_days_late": 0,
                            "event_id": f"ev-met-{n}",
                            "type": "conference.held.v1",
                            "time": f"{doc['due_on']}T10:00:00+00:00",
                        },
                    )
                else:
                    pending.append(doc["_id"])
                uow.insert(st.DEADLINES, doc)
                done += 1
        now = time.perf_counter()
        if now - last >= 10 or done == count:
            progress(f"  seeded {done:,} / {count:,} ({done / (now - start):,.0f}/s)", flush=True)
            last = now
    return time.perf_counter() - start


def make_due(ctx, ids: list[str], today: date, rng: random.Random) -> None:
    """A manager brings these pending deadlines forward (``set_due_date``):
    due from 8 working days ago to their reminder days ahead, so their
    reminder day is today or before (approaching), or their overdue day too
    (overdue)."""
    rt = runtime(ctx)
    coll = ctx.store.collection(st.DEADLINES)
    now = datetime.now(UTC).isoformat()
    for lo in range(0, len(ids), TICK_BATCH):
        docs = coll.find({"_id": {"$in": ids[lo : lo + TICK_BATCH]}})
        with ctx.store.unit_of_work() as uow:
            for doc in docs:
                rule = rt.rule(doc["rule_id"])
                due = rt.calendar.add_working_days(today, rng.randint(-8, rule.reminder_days))
                new = set_due_date(
                    doc, rule.reminder_days, rt.calendar, due=due, reason="bench: brought forward", by="bench", now=now
                )
                uow.replace(st.DEADLINES, new, expected_version=doc["version"])


def query_plans(ctx, query: dict, batch: int) -> dict[str, dict]:
    """EXPLAIN QUERY PLAN of the statements the adapter issues for the
    tick's find (unsorted, LIMIT batch) and for the same filter sorted,
    read on a connection of its own."""
    coll = unscoped(ctx.store).collection(st.DEADLINES)
    query = ctx.store.scope(query)  # what the service's view asks the database
    statements = {
        "tick (limit)": coll._select("_id, doc", query, f" LIMIT {batch} OFFSET 0"),
        "sorted": coll._select("_id, doc", query, f"{_order_by(SORT)} LIMIT -1 OFFSET 0"),
        "baseline (rule_id)": coll._select("count(*)", UNINDEXED),
    }
    conn = sqlite3.connect(f"file:{unscoped(ctx.store).path}?mode=ro", uri=True)
    try:
        return {
            name: {"sql": sql, "plan": [row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]}
            for name, (sql, params) in statements.items()
        }
    finally:
        conn.close()


def _timed(fn, rounds: int):
    times, value = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def measure_due(
    ctx, due: int, pending: list[str], today: date, rng: random.Random, rounds: int, batch: int = TICK_BATCH
) -> dict:
    """Make ``due`` deadlines due, time the scan queries and one run_once."""
    coll = ctx.store.collection(st.DEADLINES)
    query = {"next_check_on": {"$lte": today.isoformat()}}
    ids = pending[-due:]
    del pending[-due:]
    make_due(ctx, ids, today, rng)
    stored = coll.count_documents({})
    assert coll.count_documents(query) == due
    first_s, first = _timed(lambda: coll.find(query, limit=batch), rounds)
    sorted_s, found = _timed(lambda: coll.find(query, sort=SORT), rounds)
    unsorted_s, found_unsorted = _timed(lambda: coll.find(query), rounds)
    ticker = Ticker(ctx, batch=batch)
    start = time.perf_counter()
    result = ticker.run_once(today, use_lease=False)
    run_s = time.perf_counter() - start
    after = coll.count_documents(query)
    return {
        "stored": stored,
        "due": due,
        "found": len(found),
        "found_unsorted": len(found_unsorted),
        "first_batch": len(first),
        "first_batch_s": first_s,
        "all_due_sorted_s": sorted_s,
        "all_due_unsorted_s": unsorted_s,
        "run_once_s": run_s,
        "approaching": result.approaching,
        "overdue": result.overdue,
        "moved": result.approaching + result.overdue,
        "conflicts": result.conflicts,
        "scanned": result.scanned,
        "due_after": after,
        "ids_found": sorted(d["_id"] for d in found) == sorted(ids),
    }


def bench_scan(
    sizes: list[int], dues: list[int], rounds: int, workdir: Path, *, seed: int = 1, batch: int = 5000, progress=print
) -> dict:
    """Grow one scheduler store to each size in turn; at each, measure each
    number due (see the module docstring)."""
    sizes, dues = sorted(sizes), sorted(dues)
    ctx = scheduler_context(workdir / "data")
    rt = runtime(ctx)
    today = working_today(rt.calendar, date.today())
    query = {"next_check_on": {"$lte": today.isoformat()}}
    rng = random.Random(seed)
    coll = ctx.store.collection(st.DEADLINES)
    pending: list[str] = []
    results, seeding, baseline, plans = [], [], {}, {}
    stored = 0
    for size in sizes:
        if size - stored > 0:
            progress(f"seeding the scheduler store to {size:,} deadlines ...", flush=True)
            seconds = seed_deadlines(ctx, size - stored, today, rng, pending, batch=batch, progress=progress)
            seeding.append({"to": size, "added": size - stored, "seconds": seconds})
            stored = size
        rng.shuffle(pending)  # due ones picked at random over the whole store
        if sum(dues) > len(pending):
            raise SystemExit(
                f"scheduler.py: {size:,} stored hold {len(pending):,} pending deadlines, "
                f"fewer than the {sum(dues):,} made due"
            )
        full_s, none = _timed(lambda: coll.count_documents(UNINDEXED), rounds)
        assert none == 0
        baseline[size] = full_s
        progress(f"{size:,} stored: full scan (unindexed filter) {full_s * 1e3:,.1f} ms", flush=True)
        for due in dues:
            row = measure_due(ctx, due, pending, today, rng, rounds)
            row["size"] = size
            row["full_scan_s"] = full_s
            results.append(row)
            progress(
                f"{size:,} stored, {due:,} due: first batch {row['first_batch_s'] * 1e3:,.1f} ms, "
                f"sorted {row['all_due_sorted_s'] * 1e3:,.1f} ms, "
                f"all due {row['all_due_unsorted_s'] * 1e3:,.1f} ms, "
                f"run_once {row['run_once_s']:,.2f} s (moved {row['moved']:,})",
                flush=True,
            )
        plans[size] = query_plans(ctx, query, TICK_BATCH)
    db = Path(unscoped(ctx.store).path)
    size_bytes = sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))
    ctx.store.close()
    return {
        "today": today.isoformat(),
        "query": query,
        "sort": SORT,
        "tick_batch": TICK_BATCH,
        "closed_share": CLOSED_SHARE,
        "sizes": sizes,
        "dues": dues,
        "rounds": rounds,
        "seeding": seeding,
        "full_scan_s": baseline,
        "plans": plans,
        "rows": results,
        "db_bytes": size_bytes,
    }


# ---------------------------------------------------------------- the run


def _int_list(text: str) -> list[int]:
    try:
        values = [int(x.replace("_", "")) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers: {text!r}")
    return values


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.1f} ms"


def print_computations(c: dict) -> None:
    cal = c["calendar"]
    rates, med = c["rates"], c["median_seconds"]
    n = c["computations"]
    print(
        f"working days: {n:,} computations, {cal['country']}/{cal['subdiv']} calendar "
        f"(+{cal['extra_closure_days']} closure days from plugins), anchors {c['anchors'][0]} to {c['anchors'][1]}, "
        f"{c['rounds']} interleaved rounds (medians)"
    )
    print(f"{'':36} {'computations/s':>15} {'us each':>9}")
    print(f"{'plain anchor + timedelta(days=n)':36} {rates['plain']:>15,.0f} {med['plain'] / n * 1e6:>9.2f}")
    print(
        f"{'cal.due_date(), all kinds':36} {rates['calendar']:>15,.0f} {med['calendar'] / n * 1e6:>9.2f}   "
        f"{c['ratio']:6.2%} of plain ({1 / c['ratio']:,.0f}x the time)"
    )
    for kind, *_ in OFFSETS:
        if kind in rates:
            count = c["counts"][kind]
            print(f"{'  ' + kind + f' ({count:,})':36} {rates[kind]:>15,.0f} {med[kind] / count * 1e6:>9.2f}")


def print_scan(s: dict) -> None:
    rows = s["rows"]
    sizes, dues = s["sizes"], s["dues"]
    print(
        f"due scan: {s['query']}, today {s['today']}; tick batch {s['tick_batch']}; "
        f"{s['closed_share']:.0%} of the stored deadlines closed (met), the others pending; "
        f"queries {s['rounds']} rounds (medians), run_once once"
    )
    print(
        f"{'stored':>10} {'due':>7} {'found':>7} {'first batch':>12} {'sorted':>11} {'all due':>10} "
        f"{'run_once':>10} {'moved':>7} {'per moved':>10}   {'full scan (baseline)':>20}"
    )
    for r in rows:
        per = r["run_once_s"] / r["moved"] * 1e6 if r["moved"] else float("nan")
        print(
            f"{r['stored']:>10,} {r['due']:>7,} {r['found']:>7,} {_ms(r['first_batch_s']):>12} "
            f"{_ms(r['all_due_sorted_s']):>11} {_ms(r['all_due_unsorted_s']):>10} {r['run_once_s']:>8.2f} s "
            f"{r['moved']:>7,} {per:>7,.0f} us   {_ms(r['full_scan_s']):>20}"
        )
    at = {(r["size"], r["due"]): r for r in rows}
    keys = (
        ("first_batch_s", "first batch"),
        ("all_due_sorted_s", "sorted"),
        ("all_due_unsorted_s", "all due"),
        ("run_once_s", "run_once"),
        ("full_scan_s", "full scan"),
    )
    if len(sizes) > 1:
        lo, hi = sizes[0], sizes[-1]
        print(
            f"time at {hi:,} stored / time at {lo:,} stored (the store {hi / lo:g}x; a cost that follows "
            f"the number due stays near 1x):"
        )
        print(f"{'due':>10} " + " ".join(f"{label:>11}" for _, label in keys))
        for due in dues:
            print(f"{due:>10,} " + " ".join(f"{at[hi, due][k] / at[lo, due][k]:>10.1f}x" for k, _ in keys))
    if len(dues) > 1:
        lo, hi = dues[0], dues[-1]
        print(f"time at {hi:,} due / time at {lo:,} due (the number due {hi / lo:g}x):")
        print(f"{'stored':>10} " + " ".join(f"{label:>11}" for _, label in keys[:-1]))
        for size in sizes:
            print(f"{size:>10,} " + " ".join(f"{at[size, hi][k] / at[size, lo][k]:>10.1f}x" for k, _ in keys[:-1]))
    largest = sizes[-1]
    print(f"SQLite {sqlite3.sqlite_version}, EXPLAIN QUERY PLAN at {largest:,} stored:")
    for name, p in s["plans"][largest].items():
        print(f"  {name}: " + " | ".join(p["plan"]))
    tick_plan = s["plans"][largest]["tick (limit)"]["plan"]
    if any(line.startswith("SCAN c_deadlines") for line in tick_plan):
        print(
            "  the tick's query walks the whole next_check_on index in order (SCAN, not SEARCH) and reads each "
            "deadline's row to test the filter: every stored deadline is visited, due or not"
        )
    elif any("SEARCH c_deadlines USING INDEX ix:c_deadlines:next_check_on" in line for line in tick_plan):
        print("  the tick's query is a range search on the next_check_on index: only the due deadlines are read")
    print(f"  tick's SQL: {s['plans'][largest]['tick (limit)']['sql']}")
    bad = [
        r
        for r in rows
        if r["found"] != r["due"]
        or r["found_unsorted"] != r["due"]
        or r["moved"] != r["due"]
        or r["due_after"]
        or r["conflicts"]
        or not r["ids_found"]
    ]
    if bad:
        print(
            "WARNING: counts differ from the number due: "
            + "; ".join(
                f"{r['stored']:,} stored, {r['due']:,} due: found {r['found']:,}, moved {r['moved']:,}, "
                f"due after {r['due_after']:,}, conflicts {r['conflicts']:,}"
                for r in bad
            )
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--computations", type=int, default=1_000_000, help="working-day computations (default 1,000,000)"
    )
    parser.add_argument(
        "--stored",
        type=_int_list,
        default=[100_000, 1_000_000],
        help="store sizes, comma-separated (default 100000,1000000)",
    )
    parser.add_argument(
        "--due",
        type=_int_list,
        default=[100, 1_000, 10_000],
        help="numbers due today, comma-separated (default 100,1000,10000)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the median of each time is reported")
    parser.add_argument("--batch", type=int, default=5000, help="inserts per unit of work when seeding")
    parser.add_argument("--only", choices=("computations", "scan"), help="run one of the two measurements")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder (the store)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the generated inputs")
    args = parser.parse_args(argv)
    configure("bench", "console", level=40)  # errors only: logging is not what is measured
    print(f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)

    results: dict = {"cpus": os.cpu_count()}
    if args.only != "scan":
        results["computations"] = bench_computations(args.computations, args.rounds, args.seed)
    if args.only != "computations":
        workdir = Path(tempfile.mkdtemp(prefix="cpp-bench-scheduler-"))
        try:
            results["scan"] = bench_scan(args.stored, args.due, args.rounds, workdir, seed=args.seed, batch=args.batch)
        finally:
            if args.keep:
                print(f"kept {workdir}")
            else:
                shutil.rmtree(workdir, ignore_errors=True)
    results["load_average_after"] = os.getloadavg()

    print()
    if "computations" in results:
        print_computations(results["computations"])
    if "scan" in results:
        if "computations" in results:
            print()
        print_scan(results["scan"])
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "scheduler.json").write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
