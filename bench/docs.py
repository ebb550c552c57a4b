"""Docs benchmark: rendering a large plan (40 actions) to HTML and PDF, and
the docs consumer's two stages, each with a baseline from the same run (the
machines are shared and noisy: absolute times drift, ratios much less).

    make bench                                  # bus.py, plans_api.py, scheduler.py, then this
    .venv/bin/python bench/docs.py --rounds 5 --events 2000 --jobs 40

Render: the professional plan and the family version of a detailed plan
with 40 actions (8 outcomes, a core group of 8, monitoring, contingency
plan, five upcoming deadlines), each rendered ``--rounds`` times after one
warm-up (WeasyPrint's first call loads fonts; reported apart as "first");
the median is reported, in wall time and in CPU time (time.process_time:
on a shared machine the wall time also counts the other work waiting for
a core, the CPU time much less so), with the ratio of each to the
baseline's. Baseline: a one-paragraph PDF (WeasyPrint's fixed cost per
document). The issue's aim: under one second per PDF.

Consumer: one docs store (SQLite, in a temporary CPP_DATA_DIR, built by the
docs app in-process, so with the service's indexes).
  handlers   ``--events`` plan.version_agreed.v1 events of the 40-action plan
             (each a new version of one of 50 plans) through the docs
             handlers as the worker runs them: a unit of work each with its
             processed mark, committed 50 at a time (the consumer's group
             commit); events/s. Each event asks for 2 documents (a job each:
             the professional plan and the family version).
  renderer   ``--jobs`` of those jobs rendered by ``Renderer.run_once``: HTML,
             PDF, both files written durably, rows committed; jobs/s and
             documents/s.
Baseline for the handlers: the same events through a handler that inserts
one small row (what the platform consumer does in bench/bus.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cpp_docs import store as st  # noqa: E402
from cpp_docs.app import create_app  # noqa: E402
from cpp_docs.domain.documents import Documents  # noqa: E402
from cpp_docs.handlers import handlers  # noqa: E402
from cpp_docs.pdf import document_pdf  # noqa: E402
from cpp_docs.render import Renderer, documents  # noqa: E402
from cpp_shared.config import Settings  # noqa: E402
from cpp_shared.logs import configure  # noqa: E402
from cpp_shared.messaging.consumer import HandlerContext  # noqa: E402
from cpp_shared.messaging.events import new_event  # noqa: E402

PLUGINS = ("england", "bromley")


def big_plan(actions: int = 40) -> dict:
    outcomes = [
        {
            "id": f"o{i}",
            "description": f"Outcome {i}: Ana is safe and well at home and at school",
            "term": "short" if i % 2 else "long",
            "target_date": f"2099-0{1 + i % 8}-15",
            "how_progress_judged": "Home visits and school reports show steady progress",
        }
        for i in range(8)
    ]
    people = [
        ("Alex Parent", "family_member", "mother"),
        ("Sam Social", "professional", "social worker"),
        ("Hana Visitor", "professional", "health visitor"),
        ("Mr Teacher", "professional", "teacher"),
    ]
    acts = []
    for i in range(actions):
        name, kind, rel = people[i % len(people)]
        who = {"name": name, "kind": kind, **({"relationship": rel} if kind == "family_member" else {"role": rel})}
        acts.append(
            {
                "id": f"a{i}",
                "what": f"Action {i}: keep the kitchen clean and safe every day",
                "why": "The kitchen was found unsafe at the last two visits",
                "who": who,
                "by_when": f"2099-0{1 + i % 9}-{10 + i % 18}",
                "status": "not_started",
                "outcome_id": f"o{i % 8}",
                "notes": None,
            }
        )
    return {
        "key_worker": {
            "name": "Sam Social",
            "role": "social worker",
            "team": "Assessment team",
            "phone": "020 7946 0000",
            "email": "sam.social@council.example",
        },
        "core_group": [
            {
                "name": f"Member {i}",
                "role": "health visitor",
                "agency": "NHS",
                "phone": "020 7946 0001",
                "email": f"m{i}@nhs.example",
                "is_family_member": i == 0,
            }
            for i in range(8)
        ],
        "categories": ["neglect"],
        "concerns": "Home conditions and missed health appointments.",
        "outcomes": outcomes,
        "actions": acts,
        "monitoring": [
            {
                "who": "Hana Visitor",
                "agency": "NHS",
                "what": "Sees Ana at home",
                "contact_type": "home_visit",
                "frequency": {"every": 2, "unit": "weeks"},
            }
        ]
        * 4,
        "review_arrangements": {"next_review_date": "2099-02-01", "how_progress_judged": "At the review"},
        "contingency_plan": {"plan": "A legal planning meeting is called", "triggers": ["Ana is found alone at home"]},
        "familys_views": "We want help with the kitchen.",
    }


def snapshot(plan_id: str, version: int, content: dict) -> dict:
    return {
        "plan_id": plan_id,
        "case_id": f"case-{plan_id}",
        "child_id": f"child-{plan_id}",
        "status": "active",
        "plan_version": version,
        "created_on": "2098-12-01",
        "activated_on": "2098-12-08",
        "ended": None,
        "agreed": {"by": "sw-1", "on": "2098-12-08", "at": "change"},
        "key_worker": {k: content["key_worker"].get(k) for k in ("name", "role", "team", "phone", "email")},
        "categories": content["categories"],
        "content": content,
        "child": {"name": "Ana Parent", "date_of_birth": "2019-05-31", "nhs_number": None},
    }


def docs_context(data_dir: Path):
    env = {
        "CPP_MODE": "development",
        "CPP_DATA_DIR": str(data_dir),
        "CPP_PLUGINS": ",".join(PLUGINS),
        "CPP_LOG_FORMAT": "console",
        "CPP_BROKER_URL": "amqp://guest:guest@127.0.0.1:9//",
    }
    return create_app(Settings.from_env("docs", env)).extensions["cpp"]


def pages_of(pdf: bytes) -> int | None:
    """The page count, by poppler's pdfinfo (None without it)."""
    if not shutil.which("pdfinfo"):
        return None
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        info = subprocess.run(["pdfinfo", f.name], capture_output=True, text=True).stdout
    return next((int(line.split()[1]) for line in info.splitlines() if line.startswith("Pages:")), None)


def timed(fn, rounds: int) -> dict:
    """Wall and CPU seconds of each round, and of the warm-up before them."""
    t, c = time.perf_counter(), time.process_time()
    fn()  # warm-up
    out: dict = {"first": [time.perf_counter() - t, time.process_time() - c], "wall": [], "cpu": []}
    for _ in range(rounds):
        t, c = time.perf_counter(), time.process_time()
        fn()
        out["wall"].append(time.perf_counter() - t)
        out["cpu"].append(time.process_time() - c)
    return out


def bench_render(ctx, rounds: int) -> dict:
    docs: Documents = documents(ctx)
    content = big_plan()
    deadlines = [
        {
            "name": f"Step {i}",
            "due_on": f"2099-01-{10 + i}",
            "latest_on": None,
            "owner": "social_worker",
            "status": "pending",
        }
        for i in range(5)
    ]
    out: dict = {"actions": len(content["actions"]), "rounds": rounds, "seconds": {}, "pages": {}, "bytes": {}}
    hello = "<!DOCTYPE html><html lang='en'><body><h1>Hello</h1><p>One paragraph.</p></body></html>"
    out["seconds"]["baseline: one-paragraph PDF"] = timed(lambda: document_pdf(hello, "hello"), rounds)
    for kind in ("professional_plan", "family_plan"):
        job = {"_id": f"bench:{kind}", "kind": kind, "snapshot": snapshot("p1", 2, content), "large_print": False}
        html = docs.html(job, deadlines=deadlines)
        out["seconds"][f"{kind} HTML"] = timed(lambda: docs.html(job, deadlines=deadlines), rounds)
        out["seconds"][f"{kind} PDF"] = timed(lambda: document_pdf(html, job["_id"]), rounds)
        pdf = document_pdf(html, job["_id"])
        out["bytes"][kind] = {"html": len(html.encode()), "pdf": len(pdf)}
        out["pages"][kind] = pages_of(pdf)
    return out


def run_events(ctx, events: list[dict], fns, batch: int = 50) -> float:
    store = ctx.store
    t = time.perf_counter()
    for start in range(0, len(events), batch):
        units = []
        for event in events[start : start + batch]:
            uow = store.begin()
            hctx = HandlerContext(service="docs", store=store, uow=uow, attempt=1, app=ctx)
            for fn in fns(event):
                fn(event, hctx)
            uow.mark_processed(event["id"], "docs")
            units.append(uow)
        outcomes = store.commit_all(units)
        assert not [o for o in outcomes if o is not None], outcomes
    return time.perf_counter() - t


def bench_consumer(workdir: Path, n_events: int, n_jobs: int) -> dict:
    ctx = docs_context(workdir / "data")
    content = big_plan()
    plans = 50
    events = [
        new_event(
            "plan.version_agreed.v1",
            source="/services/plans",
            subject=f"p{i % plans}",
            data=snapshot(f"p{i % plans}", 2 + i // plans, content),
            authority=ctx.authority["code"],
        )
        for i in range(n_events)
    ]
    baseline_events = [
        new_event(
            "case.opened.v1",
            source="/services/plans",
            subject=f"c{i}",
            data={"case_id": f"c{i}", "child_id": "x", "opened_at": "2098-12-01T00:00:00Z"},
            authority=ctx.authority["code"],
        )
        for i in range(n_events)
    ]

    def insert_one(event, hctx):
        hctx.uow.insert("bench_rows", {"event_id": event["id"], "type": event["type"]})

    base_s = run_events(ctx, baseline_events, lambda e: [insert_one])
    handler_s = run_events(ctx, events, lambda e: [fn for _, fn in handlers.for_type(e["type"])])
    jobs = ctx.store.collection(st.JOBS).count_documents({"status": "pending"})
    # Render only n_jobs of them: set the rest aside.
    pending = ctx.store.collection(st.JOBS).find({"status": "pending"}, sort=[("created_at", 1)])
    with ctx.store.unit_of_work() as uow:
        for job in pending[n_jobs:]:
            uow.update(st.JOBS, {"_id": job["_id"]}, {"$set": {"status": "bench-skipped"}})
    renderer = Renderer(ctx, batch=n_jobs)
    document_pdf("<p>warm</p>", "warm")  # WeasyPrint's first call loads fonts
    t, cpu = time.perf_counter(), time.process_time()
    result = renderer.run_once(use_lease=False)
    render_s, render_cpu = time.perf_counter() - t, time.process_time() - cpu
    return {
        "events": n_events,
        "jobs_asked": jobs,
        "baseline_seconds": base_s,
        "handler_seconds": handler_s,
        "rendered_jobs": result.jobs,
        "rendered_documents": result.documents,
        "render_seconds": render_s,
        "render_cpu_seconds": render_cpu,
    }


def print_results(r: dict) -> None:
    render = r["render"]
    print(f"render, a plan of {render['actions']} actions (median of {render['rounds']}; x: to the baseline's median):")
    base = {k: statistics.median(render["seconds"]["baseline: one-paragraph PDF"][k]) for k in ("wall", "cpu")}
    print(f"  {'':32} {'wall':>9} {'':>6} {'CPU':>9} {'':>6} {'first (wall)':>13}")
    for label, t in render["seconds"].items():
        wall, cpu = statistics.median(t["wall"]), statistics.median(t["cpu"])
        ratios = (
            f"{wall / base['wall']:5.0f}x {cpu * 1000:6.1f} ms {cpu / base['cpu']:5.0f}x"
            if "PDF" in label
            else f"{'':6} {cpu * 1000:6.1f} ms {'':6}"
        )
        print(f"  {label:32} {wall * 1000:6.1f} ms {ratios} {t['first'][0] * 1000:10.1f} ms")
    for kind, pages in render["pages"].items():
        print(
            f"  {kind}: {pages} pages, {render['bytes'][kind]['pdf'] // 1024} KB PDF, "
            f"{render['bytes'][kind]['html'] // 1024} KB HTML"
        )
    c = r["consumer"]
    base, hand = c["events"] / c["baseline_seconds"], c["events"] / c["handler_seconds"]
    print(f"consumer, {c['events']} events:")
    print(f"  baseline handler (one insert)    {base:8.0f} events/s")
    print(
        f"  docs handlers (projection, jobs) {hand:8.0f} events/s ({hand / base:.0%} of baseline); "
        f"{c['jobs_asked']} jobs asked"
    )
    print(
        f"  renderer                         {c['rendered_jobs'] / c['render_seconds']:8.2f} jobs/s, "
        f"{c['rendered_documents'] / c['render_seconds']:.2f} documents/s "
        f"({c['render_seconds'] / max(1, c['rendered_jobs']):.2f} s a job: HTML + PDF; "
        f"CPU {c['render_cpu_seconds'] / max(1, c['rendered_jobs']):.2f} s)"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="renders timed per document (median reported)")
    parser.add_argument("--events", type=int, default=1000, help="events through the handlers")
    parser.add_argument("--jobs", type=int, default=20, help="jobs rendered by the renderer")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    args = parser.parse_args(argv)
    configure("bench", "console", level=40)
    print(f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="cpp-bench-docs-"))
    try:
        results: dict = {"cpus": os.cpu_count(), "load_average_before": os.getloadavg()}
        results["render"] = bench_render(docs_context(workdir / "render"), args.rounds)
        results["consumer"] = bench_consumer(workdir, args.events, args.jobs)
        results["load_average_after"] = os.getloadavg()
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print_results(results)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in results['load_average_after'])}")
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "docs.json").write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
