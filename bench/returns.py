"""Returns benchmark: England's Children in Need census for many children, in time and memory, against
reading the same records raw in the same run (the machines are shared and noisy: absolute times drift,
ratios much less).

    make bench                                       # ... then this
    .venv/bin/python bench/returns.py --children 50000

A returns service's store (SQLite, in a temporary CPP_DATA_DIR, made by the returns app in-process, so with
its indexes) is given N children's event histories, shaped like a year of the plans service's and the
scheduler's events (a case opened on a referral, its decision, a strategy discussion, the enquiries'
outcome, an initial conference and its deadline, and for most a plan with its reviews; some referrals end
in no further action, some plans end), appended to the history log as the handler does and folded by the
projection (timed too: the worker's cost per event). Then, each measured in turn, several rounds:

  raw read    the current generation's child documents read from the store, a page at a time, into a list:
              the records the census is made from, untouched and all held at once (the baseline)
  census      the same read, a page at a time, each child written to the census as it comes
              (``write_census``: the XML the API answers, held as bytes)
  checks      the same read, each child checked as it comes (``quality.check``)

Wall time is the median of the rounds; memory is the peak traced by ``tracemalloc`` in one further round
of each (tracing slows both alike, so only the ratio is reported with it), and the process's peak
resident size at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cpp_returns.app import create_app  # noqa: E402
from cpp_returns.domain.census import Year, census_xml  # noqa: E402
from cpp_returns.domain.quality import check  # noqa: E402
from cpp_returns.projection import catch_up, histories  # noqa: E402
from cpp_returns.runtime import deployment  # noqa: E402
from cpp_returns.store import HISTORY  # noqa: E402

from cpp_shared.config import Settings  # noqa: E402
from cpp_shared.logs import configure  # noqa: E402

PLUGINS = ("england", "bromley")
YEAR = Year(2026)


def context(data_dir: Path):
    env = {
        "CPP_MODE": "development",
        "CPP_DATA_DIR": str(data_dir),
        "CPP_PLUGINS": ",".join(PLUGINS),
        "CPP_LOG_FORMAT": "console",
        "CPP_BROKER_URL": "amqp://guest:guest@127.0.0.1:9//",
    }
    return create_app(Settings.from_env("returns", env)).extensions["cpp"]


def events_of(n: int, rng: random.Random) -> list[dict]:
    """One child's year: about ten events, as the plans service and the scheduler would publish them."""
    child, case = f"child-{n:06d}", f"case-{n:06d}"
    day0 = date(2025, 4, 1) + timedelta(days=rng.randrange(0, 330))
    seq = iter(range(100))

    def ev(etype: str, on: date, **data) -> dict:
        return {
            "id": f"{n}-{next(seq)}",
            "type": etype,
            "time": f"{on.isoformat()}T10:00:00Z",
            "authority": "BRM",
            "data": {
                "child_id": child,
                "case_id": case,
                "child": {"name": f"Child {n}", "date_of_birth": f"20{10 + n % 14}-0{1 + n % 9}-1{n % 9}"},
                **data,
            },
        }

    out = [
        ev(
            "case.opened.v1",
            day0,
            opened_at=f"{day0}T09:00:00Z",
            team=f"Team {n % 12}",
            social_worker={"user": f"sw-{n % 200}", "name": f"Worker {n % 200}"},
        ),
        ev(
            "referral.received.v1",
            day0,
            received_on=day0.isoformat(),
            source=rng.choice(["police", "school", "family", "self"]),
        ),
    ]
    if n % 10 == 0:
        out.append(
            ev(
                "referral.decided.v1",
                day0,
                received_on=day0.isoformat(),
                decided_on=day0.isoformat(),
                decision="no_further_action",
            )
        )
        return out
    s47, target, held = (
        day0 + timedelta(days=1),
        day0 + timedelta(days=22),
        day0 + timedelta(days=rng.randrange(14, 28)),
    )
    out += [
        ev(
            "referral.decided.v1",
            day0,
            received_on=day0.isoformat(),
            decided_on=day0.isoformat(),
            decision="strategy_discussion",
        ),
        ev(
            "strategy_discussion.held.v1",
            s47,
            strategy_discussion_id=f"s{n}",
            held_on=s47.isoformat(),
            initiated_enquiries=True,
        ),
        ev(
            "deadline.scheduled.v1",
            s47,
            deadline_id=f"d{n}",
            kind="initial_conference",
            status="pending",
            due_on=target.isoformat(),
        ),
        ev("enquiry.completed.v1", held, completed_on=held.isoformat(), conference_required=True),
        ev(
            "conference.held.v1",
            held,
            conference_id=f"c{n}",
            kind="initial",
            held_on=held.isoformat(),
            plan_required=n % 7 != 0,
        ),
        ev(
            "deadline.met.v1",
            held,
            deadline_id=f"d{n}",
            kind="initial_conference",
            status="met",
            due_on=target.isoformat(),
            met={"on": held.isoformat(), "late": held > target},
        ),
    ]
    if n % 7 == 0:
        return out
    plan = {
        "plan_id": f"p{n}",
        "created_on": held.isoformat(),
        "categories": [rng.choice(["neglect", "emotional_abuse", "physical_abuse"])],
        "previous_plans": n % 5 // 4,
    }
    plan["initial_categories"] = plan["categories"]
    out.append(ev("plan.created.v1", held, plan_version=1, status="outline", **plan))
    review = held + timedelta(days=80)
    if review <= YEAR.end:
        out.append(
            ev(
                "conference.held.v1",
                review,
                conference_id=f"r{n}",
                kind="review",
                held_on=review.isoformat(),
                plan_id=f"p{n}",
                decision="end" if n % 3 == 0 else "continue",
            )
        )
        if n % 3 == 0:
            out.append(
                ev(
                    "plan.ended.v1",
                    review,
                    plan_version=2,
                    status="ended",
                    ended={"on": review.isoformat(), "reason": "review_conference", "step_down": "child_in_need_plan"},
                    **plan,
                )
            )
    return out


def fill(ctx, children: int) -> tuple[int, float, float]:
    """The history log given every child's events (as the handler appends them), then folded: (events,
    append seconds, fold seconds)."""
    rng = random.Random(2026)
    store, count, started = ctx.store, 0, time.perf_counter()
    batch: list[dict] = []
    for n in range(children):
        batch += events_of(n, rng)
        if len(batch) >= 2000 or n == children - 1:
            with store.unit_of_work() as uow:
                for event in batch:
                    uow.append(HISTORY, {"event": event})
            count += len(batch)
            batch = []
    appended = time.perf_counter() - started
    started = time.perf_counter()
    catch_up(store, batch=2000)
    return count, appended, time.perf_counter() - started


def raw(ctx):
    children, as_of = histories(ctx.store, "BRM")
    return list(children), as_of


def census(ctx):
    children, as_of = histories(ctx.store, "BRM")
    return census_xml(children, YEAR, deployment(ctx), as_of=as_of)


def checks(ctx):
    children, _ = histories(ctx.store, "BRM")
    return check(children, YEAR, deployment(ctx))


def timed(fn, ctx, rounds: int) -> dict:
    walls = []
    for _ in range(rounds):
        started = time.perf_counter()
        result = fn(ctx)
        walls.append(time.perf_counter() - started)
        del result
    tracemalloc.start()
    fn(ctx)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"median_s": statistics.median(walls), "walls_s": walls, "peak_traced_bytes": peak}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=50_000, help="children in the store")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of each (median reported)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    args = parser.parse_args(argv)
    configure("bench", "console", level=40)
    print(f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="cpp-bench-returns-"))
    try:
        ctx = context(workdir)
        results: dict = {"cpus": os.cpu_count(), "children": args.children, "load_average_before": os.getloadavg()}
        events, appended, folded = fill(ctx, args.children)
        results["history"] = {"events": events, "append_s": appended, "fold_s": folded}
        print(
            f"history: {events} events appended in {appended:.1f} s, folded in {folded:.1f} s "
            f"({events / folded:.0f} events/s)",
            flush=True,
        )
        for name, fn in (("raw read", raw), ("census", census), ("checks", checks)):
            results[name] = timed(fn, ctx, args.rounds)
            print(f"  {name:10} {results[name]['median_s']:7.2f} s", flush=True)
        xml = census(ctx)
        results["census_bytes"] = len(xml)
        results["census_children"] = xml.count(b"<Child>")
        results["max_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        results["load_average_after"] = os.getloadavg()
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    base = results["raw read"]
    print()
    print(
        f"the census of {results['census_children']} children ({results['census_bytes'] / 1e6:.1f} MB of XML), "
        f"against reading their {args.children} records raw:"
    )
    for name in ("raw read", "census", "checks"):
        r = results[name]
        print(
            f"  {name:10} {r['median_s']:7.2f} s  x{r['median_s'] / base['median_s']:5.2f}   "
            f"peak {r['peak_traced_bytes'] / 1e6:7.1f} MB traced  x{r['peak_traced_bytes'] / base['peak_traced_bytes']:5.2f}"
        )
    print(f"process peak resident size {results['max_rss_bytes'] / 1e6:.0f} MB")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in results['load_average_after'])}")
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "returns.json").write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
