"""Web application benchmark: "My work" and the plan page rendered under
gunicorn against a store of 50,000 plans, each against a signed-in page of
the same layout that reads no data, measured in the same run (the machine is
shared and noisy: absolute times drift, ratios much less).

    make bench                                        # with the other benchmarks
    .venv/bin/python bench/web.py --plans 2000 --duration 4 --rounds 1   # a quick try

The stores (SQLite, the embedded default, in a temporary CPP_DATA_DIR) are
seeded in-process through the store's own API (units of work of a few
thousand inserts, the services' indexes built once afterwards, as
bench/plans_api.py does), with the documents the services' own code makes:
  plans      N children, N cases and N plans (an outline plan is 0-30 days
             old, an active one 3 weeks to 2 years, an ended one older; 40% /
             40% / 20%); each case held by a social worker (about one for
             every --caseload cases, eight to a team with their team
             manager), the plan's key worker that social worker; the staff
             directory of everyone named
  scheduler  the deadlines the England rules set for each plan in force, made
             by the scheduler's own new_deadline, assigned by its people.assign
             and moved by the tick's own transitions: the first core group
             (the key worker's, for an outline plan) and the review
             conference (the chair's); the children and staff it names
The measured social worker is the development sign-in's "Sam Okafor"
(demo-sw-1), holding --caseload cases (25 by default) placed at random among
the N, so a query that is not indexed shows. Their outline plans are 2 to 30
days old, so some first core groups are overdue and some due this week.

Servers, each ``gunicorn -c python:cpp_shared.gunicorn_conf`` (2 workers x 4
threads, gthread, as ``cpp serve`` runs them), development mode, JSON logs to
files: the plans service, the scheduler, and the web application pointed at
them. The measured pages call no other service (the profile below lists
every call each makes) and only read: no broker and no workers are started.

Load: --users threads (20), each a user with its own requests.Session signed
in through the development sign-in form (its CSRF token read from the form),
each sending its next request as soon as the last is answered (closed loop)
for --duration seconds; interleaved rounds of the three pages (baseline, My
work, plan, baseline, ...), medians over the rounds:
  baseline   GET /home: signed in, the same base layout (header, navigation,
             footer, the GOV.UK assets' links), the session read and refreshed
             (a write to the sessions' SQLite file, as every page does), the
             CSRF, CSP and no-store headers; no service called
  my work    GET /my-work: the worker's cases and their open deadlines
  plan       GET /plans/<id>, rotating over the worker's plans in force
Reported per page: p50, p95, p99 of the time to the whole answer, requests/s,
the ratio of each to the baseline's, and the servers' CPU time per request
(Linux /proc). Aim (the issue's): p95 under 300 ms at 20 users.

Where the time goes: each page rendered --profile-rounds times alone by the
web application in this process (its Flask test client, the same services
over HTTP), every service call it makes timed; and SQLite's query plan and
time of each store query those calls make. Results: bench/results/web.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import requests  # noqa: E402
from plans_api import (
    FAMILY,
    GIVEN,
    Server,
    check_content_shape,
    child_doc,
    free_port,
    nhs_numbers,  # noqa: E402
    percentile,
    plan_content,
    server_env,
)

from cpp_plans.api import children as children_api  # noqa: E402
from cpp_plans.api.plan_schemas import PlanContentSchema  # noqa: E402
from cpp_plans.domain import lifecycle  # noqa: E402
from cpp_plans.store import setup_store as setup_plans_store  # noqa: E402
from cpp_scheduler import store as sched_store  # noqa: E402
from cpp_scheduler.domain import people as sched_people  # noqa: E402
from cpp_scheduler.domain.deadlines import OPEN, Scope, apply_transition, new_deadline, tick_transition  # noqa: E402
from cpp_scheduler.runtime import build as build_runtime  # noqa: E402
from cpp_shared import staff as directory  # noqa: E402
from cpp_shared.auth import load_dev_key  # noqa: E402
from cpp_shared.config import Settings  # noqa: E402
from cpp_shared.logs import configure  # noqa: E402
from cpp_shared.plugins import Plugins  # noqa: E402
from cpp_shared.store import open_store  # noqa: E402

TARGETS = ("baseline", "my_work", "plan")
LABELS = {"baseline": "baseline: /home (no data)", "my_work": "My work: /my-work", "plan": "plan: /plans/<id>"}
P95_AIM_MS = 300.0
# The development sign-in's social worker and their manager (cpp_web.people), as their tokens name them.
ME = {
    "user": "demo-sw-1",
    "name": "Sam Okafor",
    "team": "Area North",
    "manager": "demo-tm-1",
    "email": "sam.okafor@council.example",
}
MY_MANAGER = {"user": "demo-tm-1", "name": "Priya Shah", "team": "Area North", "email": "priya.shah@council.example"}
STATUS_SHARE = {"outline": 0.4, "active": 0.4, "ended": 0.2}
CASES_PER_TEAM = 8  # social workers to a team (and one team manager)

# ---------------------------------------------------------------- the stores


def _person_name(rng: random.Random) -> str:
    return f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}"


class Staff:
    """The council's people: the measured worker and their manager, other
    social workers (eight to a team with a team manager) and chairs."""

    def __init__(self, rng: random.Random, workers: int, chairs: int = 40):
        self.workers = [
            {
                "user": f"sw-{k:05d}",
                "name": _person_name(rng),
                "team": f"Area {k // CASES_PER_TEAM + 1}",
                "manager": f"tm-{k // CASES_PER_TEAM + 1:04d}",
            }
            for k in range(workers)
        ]
        self.managers = {
            w["manager"]: {"user": w["manager"], "name": _person_name(rng), "team": w["team"]} for w in self.workers
        }
        self.chairs = [
            {"user": f"chair-{k:03d}", "name": _person_name(rng), "team": "Safeguarding Reviews"} for k in range(chairs)
        ]

    def entries(self) -> list[dict]:
        """Staff directory entries (cpp_shared.staff's fields)."""
        out = []
        for role, people in (
            ("social_worker", [ME, *self.workers]),
            ("team_manager", [MY_MANAGER, *self.managers.values()]),
            ("chair", self.chairs),
        ):
            for p in people:
                out.append(
                    {
                        "user": p["user"],
                        "name": p["name"],
                        "team": p["team"],
                        "role": role,
                        "email": p.get("email") or f"{p['user']}@council.example",
                        "manager": p.get("manager"),
                        "phone": None,
                    }
                )
        return out


def ref(person: dict) -> dict:
    return {"user": person["user"], "name": person["name"]}


def case_and_plan(
    rng: random.Random, child: dict, worker: dict, manager: dict, chair: dict, status: str, age_days: int, today: date
) -> tuple[dict, dict, dict]:
    """A case and its plan as the lifecycle leaves them, and the initial
    conference (id, date) the scheduler's deadlines hang on."""
    created = today - timedelta(days=age_days)
    case_id, conference_id = uuid.uuid4().hex, uuid.uuid4().hex
    content = plan_content(rng, child["family_name"], created, detailed=status != "outline")
    content["key_worker"] = {
        "user": worker["user"],
        "name": worker["name"],
        "role": "social worker",
        "team": worker["team"],
        "phone": "020 7946 0000",
        "email": f"{worker['user']}@council.example",
    }
    content["core_group"][0] = {**content["core_group"][0], "name": worker["name"]}
    case = {"_id": case_id, "authority": child["authority"], "child_id": child["_id"]}
    plan = lifecycle.new_plan(case, {"_id": conference_id}, content, held_on=created, agreed_by=chair["user"])
    if status != "outline":
        activated = created + timedelta(days=10)
        plan.update(
            status="active",
            activated_on=activated.isoformat(),
            plan_version=2,
            agreed={"by": worker["user"], "on": activated.isoformat(), "at": "core_group_meeting"},
        )
    ended = None
    if status == "ended":
        ended = min(created + timedelta(days=rng.randrange(90, 400)), today - timedelta(days=1))
        plan.update(
            status="ended",
            last_reviewed_on=ended.isoformat(),
            ended={"on": ended.isoformat(), "conference_id": uuid.uuid4().hex, "step_down": lifecycle.STEP_DOWN_ROUTE},
        )
    discussed = created - timedelta(days=rng.randrange(20, 30))
    case.update(
        {
            "status": "plan_ended" if status == "ended" else "on_plan",
            "opened_at": datetime.combine(
                discussed - timedelta(days=rng.randrange(1, 5)), datetime.min.time(), tzinfo=UTC
            ).isoformat(),
            "opened_by": worker["user"],
            "strategy_discussions": [
                {
                    "id": uuid.uuid4().hex,
                    "held_on": discussed.isoformat(),
                    "initiated_enquiries": True,
                    "attendees": [],
                    "notes": None,
                    "recorded_by": worker["user"],
                }
            ],
            "enquiry_outcome": {
                "completed_on": (created - timedelta(days=8)).isoformat(),
                "conference_required": True,
                "summary": None,
                "recorded_by": worker["user"],
            },
            "conferences": [{"id": conference_id, "kind": "initial", "status": "held"}],
            "plan_id": plan["_id"],
            "step_down": {"route": lifecycle.STEP_DOWN_ROUTE, "decided_on": ended.isoformat(), "by": chair["user"]}
            if ended
            else None,
            "social_worker": ref(worker),
            "team_manager": ref(manager),
            "team": worker["team"],
        }
    )
    plan["case_id"] = case_id
    return case, plan, {"id": conference_id, "on": created, "chair": chair}


def deadlines_of(
    rt,
    case: dict,
    plan: dict,
    conference: dict,
    child_ref: dict,
    worker: dict,
    rng: random.Random,
    today: date,
    now: str,
) -> list[dict]:
    """The open deadlines the scheduler holds for a plan in force: its first
    core group while it is an outline plan (the key worker's) and its next
    review conference (the chair's), as the scheduler's handler makes and
    assigns them, moved by the tick's transitions as of today."""
    people = {
        **sched_people.empty_case(case["_id"]),
        "child_id": case["child_id"],
        "plan_id": plan["_id"],
        "social_worker": case["social_worker"],
        "team_manager": case["team_manager"],
        "team": case["team"],
        "key_worker": ref(worker),
        "conferences": [
            {
                "id": conference["id"],
                "kind": "initial",
                "status": "held",
                "on": conference["on"].isoformat(),
                "chair": ref(conference["chair"]),
            }
        ],
    }
    scope = Scope(authority=case["authority"], case_id=case["_id"], plan_id=plan["_id"], child_id=case["child_id"])
    trigger = {"event_id": uuid.uuid4().hex, "type": "conference.held.v1", "time": now}
    wanted = []
    if plan["status"] == "outline":
        wanted.append((rt.rule("first-core-group"), conference["on"]))
        wanted.append((rt.rule("first-review-conference"), conference["on"]))
    else:  # the last review was up to six months ago
        wanted.append((rt.rule("later-review-conference"), today - timedelta(days=rng.randrange(0, 180))))
    out = []
    for rule, anchor in wanted:
        doc = new_deadline(
            rule, scope, rt.calendar, anchor=anchor, key=None, trigger=trigger, occurrence=1, created_at=now
        )
        sched_people.assign(doc, rule, people, child_ref)
        transition = tick_transition(doc, today)
        if transition:
            doc = apply_transition(doc, transition, now)
        out.append(doc)
    return out


def seed(
    plans_settings: Settings, scheduler_settings: Settings, n: int, caseload: int, batch: int, rng: random.Random
) -> dict:
    """The two stores; returns the counts, the timings and the measured worker's plans."""
    plugins = Plugins(plans_settings.plugins)
    authority = plugins.authority()["code"]
    rt = build_runtime(SimpleNamespace(plugins=plugins, authority=plugins.authority()))
    check_content_shape(rng)
    caseload = min(caseload, n)
    staff = Staff(rng, workers=max(1, -(-(n - caseload) // caseload)))
    mine = set(rng.sample(range(n), caseload))
    numbers = nhs_numbers(n, rng)
    today = date.today()
    now = datetime.now(UTC).isoformat()
    statuses, weights = list(STATUS_SHARE), list(STATUS_SHARE.values())
    counts = dict.fromkeys(statuses, 0)
    plans_store, sched = open_store(plans_settings.store_url), open_store(scheduler_settings.store_url)
    my_plans: list[dict] = []
    my_outline = 0
    deadlines = 0
    per_unit = max(1, batch // 3)  # a child, its case and its plan
    start = time.perf_counter()
    with plans_store.unit_of_work() as uow, sched.unit_of_work() as suow:
        for entry in staff.entries():
            uow.insert(directory.COLLECTION, dict(entry))
            suow.insert(directory.COLLECTION, dict(entry))
    checked = False
    for lo in range(0, n, per_unit):
        with plans_store.unit_of_work() as uow, sched.unit_of_work() as suow:
            for i in range(lo, min(n, lo + per_unit)):
                child = child_doc(rng, authority, numbers[i], today)
                child_name = f"{child['given_names']} {child['family_name']}"
                chair = rng.choice(staff.chairs)
                if i in mine:
                    worker, manager = ME, MY_MANAGER
                    status = rng.choices(statuses, weights)[0]
                    # Their outline plans 2 to 30 days old: first core groups overdue and due this week.
                    age = 2 + (my_outline * 7) % 29 if status == "outline" else None
                    my_outline += status == "outline"
                else:
                    worker = staff.workers[rng.randrange(len(staff.workers))]
                    manager = staff.managers[worker["manager"]]
                    status = rng.choices(statuses, weights)[0]
                    age = None
                if age is None:
                    age = {
                        "outline": rng.randrange(0, 31),
                        "active": rng.randrange(21, 730),
                        "ended": rng.randrange(200, 900),
                    }[status]
                case, plan, conference = case_and_plan(rng, child, worker, manager, chair, status, age, today)
                if not checked:
                    errors = PlanContentSchema(not_before=date.fromisoformat(plan["created_on"])).validate(
                        plan["content"]
                    )
                    if errors:
                        raise SystemExit(f"web.py: the seeded plan content no longer validates: {errors}")
                    checked = True
                uow.insert(children_api.COLLECTION, child)
                uow.insert("cases", case)
                uow.insert("plans", plan)
                counts[status] += 1
                child_ref = {"name": child_name, "date_of_birth": child["date_of_birth"], "nhs_number": numbers[i]}
                suow.insert(sched_store.CHILDREN, {"_id": child["_id"], **child_ref, "as_of": now})
                if status != "ended":
                    for doc in deadlines_of(rt, case, plan, conference, child_ref, worker, rng, today, now):
                        suow.insert(sched_store.DEADLINES, doc)
                        deadlines += 1
                if worker is ME:
                    my_plans.append({"id": plan["_id"], "status": status, "child": child_name})
    inserted = time.perf_counter()
    setup_plans_store(plans_store)
    sched_store.setup_store(sched)
    done = time.perf_counter()
    mine_open = sched.collection(sched_store.DEADLINES).find(
        {"assignee.user": ME["user"], "status": {"$in": list(OPEN)}}
    )
    sizes = {}
    for name, store, settings in (("plans", plans_store, plans_settings), ("scheduler", sched, scheduler_settings)):
        store.close()
        db = Path(settings.store_url.removeprefix("sqlite:///"))
        sizes[name] = sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))
    week = (today + timedelta(days=7)).isoformat()
    return {
        "plans": n,
        "children": n,
        "cases": n,
        "statuses": counts,
        "deadlines": deadlines,
        "staff": len(staff.entries()),
        "social_workers": len(staff.workers) + 1,
        "inserts_per_commit": 3 * per_unit,
        "insert_seconds": inserted - start,
        "index_seconds": done - inserted,
        "seconds": done - start,
        "db_bytes": sizes,
        "me": {
            "cases": caseload,
            "plans_in_force": sum(p["status"] != "ended" for p in my_plans),
            "open_deadlines": len(mine_open),
            "overdue": sum(d["status"] == "overdue" or (d["latest_on"] or "") < today.isoformat() for d in mine_open),
            "due_in_7_days": sum(today.isoformat() <= d["due_on"] <= week for d in mine_open),
        },
        "my_plans": my_plans,
    }


# ---------------------------------------------------------------- the users

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def signed_in_user(base: str, person: str = ME["user"]) -> requests.Session:
    """A browser's session: the development sign-in form, with its CSRF token."""
    s = requests.Session()
    s.trust_env = False
    form = s.get(f"{base}/sign-in", timeout=30)
    token = CSRF.search(form.text)
    if form.status_code != 200 or not token:
        raise RuntimeError(f"GET /sign-in: {form.status_code}, no CSRF token in the form")
    resp = s.post(
        f"{base}/sign-in", data={"csrf_token": token.group(1), "person": person}, timeout=30, allow_redirects=False
    )
    if resp.status_code != 302:
        raise RuntimeError(f"POST /sign-in: {resp.status_code} {resp.text[:300]!r}")
    return s


def _title(html: str) -> str:
    found = re.search(r"<title>\s*(.*?)\s*</title>", html or "", re.S)
    return found.group(1) if found else (html or "")[:120]


def closed_loop(base: str, users: list[requests.Session], paths: list[str], seconds: float) -> dict:
    """Each user sends its next request as soon as the last is answered."""
    latencies: list[list[float]] = [[] for _ in users]
    errors = [0] * len(users)
    failures: list[str] = []  # what the first few failed answers were (a status and the page's title, or the error)
    deadline = time.perf_counter() + seconds

    def run(k: int) -> None:
        s, i = users[k], k * len(paths) // len(users)
        while True:
            t0 = time.perf_counter()
            if t0 >= deadline:
                break
            path = paths[i % len(paths)]
            try:
                resp = s.get(base + path, timeout=60, allow_redirects=False)
                ok = resp.status_code == 200
                why = "" if ok else f"{resp.status_code} {_title(resp.text)}"
            except requests.RequestException as exc:
                ok, why = False, f"{type(exc).__name__}: {exc}"
            if not ok and len(failures) < 5:
                failures.append(f"{path}: {why}")
            latencies[k].append((time.perf_counter() - t0) * 1e3)
            errors[k] += not ok
            i += 1

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(users))]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    values = sorted(v for per in latencies for v in per)
    out = {"rps": len(values) / elapsed, "requests": len(values), "errors": sum(errors), "failures": failures}
    out.update({f"p{q}_ms": percentile(values, q) for q in (50, 95, 99)})
    return out


# ---------------------------------------------------------------- where the time goes


def profile_pages(web_env: dict[str, str], paths: dict[str, str], rounds: int) -> dict:
    """Each page rendered alone by the web application in this process, with
    every service call it makes timed (the services are the servers above)."""
    from flask import before_render_template, template_rendered

    from cpp_web import app as web_app
    from cpp_web.client import Services

    settings = Settings.from_env("web", web_env)
    app = web_app.create_app(settings)
    calls: list[tuple[str, str, float]] = []
    original = Services.call

    def timed_call(self, service, method, path, **kwargs):
        t = time.perf_counter()
        try:
            return original(self, service, method, path, **kwargs)
        finally:
            calls.append(
                (service, f"{method} {re.sub(r'/[0-9a-f]{32}', '/{id}', path)}", (time.perf_counter() - t) * 1e3)
            )

    renders: list[float] = []

    def render_started(sender, template, context, **extra):
        renders.append(-time.perf_counter())

    def render_done(sender, template, context, **extra):
        renders[-1] += time.perf_counter()

    Services.call = timed_call
    before_render_template.connect(render_started, app)
    template_rendered.connect(render_done, app)
    out: dict = {}
    try:
        client = app.test_client()
        form = client.get("/sign-in").get_data(as_text=True)
        client.post("/sign-in", data={"csrf_token": CSRF.search(form).group(1), "person": ME["user"]})
        for name, path in paths.items():
            client.get(path)  # warm
            totals, per_call, counts, rendering = [], {}, [], []
            for _ in range(rounds):
                calls.clear()
                renders.clear()
                t = time.perf_counter()
                resp = client.get(path)
                totals.append((time.perf_counter() - t) * 1e3)
                rendering.append(sum(renders) * 1e3)
                if resp.status_code != 200:
                    raise RuntimeError(f"profile GET {path}: {resp.status_code}")
                counts.append(len(calls))
                for service, what, ms in calls:
                    per_call.setdefault(f"{service}: {what}", []).append(ms)
            page = statistics.median(totals)
            sequential = sum(statistics.median(v) for v in per_call.values())
            out[name] = {
                "page_ms": page,
                "calls": statistics.median(counts) if counts else 0,
                "call_ms": {k: statistics.median(v) for k, v in per_call.items()},
                "calls_total_ms": sequential,
                "render_ms": statistics.median(rendering),
            }
    finally:
        Services.call = original
        before_render_template.disconnect(render_started, app)
        template_rendered.disconnect(render_done, app)
    return out


def query_plans(
    plans_settings: Settings, scheduler_settings: Settings, my_plan_ids: list[str], rounds: int = 20
) -> list[dict]:
    """SQLite's plan and time of each store query the measured pages make."""
    plans, sched = open_store(plans_settings.store_url), open_store(scheduler_settings.store_url)
    me = ME["user"]
    try:
        case_ids = sorted(c["_id"] for c in plans.collection("cases").find({"social_worker.user": me}))
        child_ids = sorted(c["child_id"] for c in plans.collection("cases").find({"_id": {"$in": case_ids}}))
        plan_id = my_plan_ids[0] if my_plan_ids else ""
        authority = Plugins(plans_settings.plugins).authority()["code"]
        queries = [
            ("plans", plans, "cases", {"social_worker.user": me}, None),
            ("plans", plans, "cases", {"team_manager.user": me}, None),
            ("plans", plans, "plans", {"key_worker_user": me, "status": {"$in": ["outline", "active"]}}, None),
            ("plans", plans, "cases", {"_id": {"$in": case_ids}}, [("opened_at", -1)]),
            ("plans", plans, "children", {"_id": {"$in": child_ids}}, None),
            ("plans", plans, "plans", {"_id": plan_id}, None),
            ("plans", plans, "staff", {"user": me}, None),
            (
                "scheduler",
                sched,
                "deadlines",
                {"authority": authority, "assignee.user": me, "status": {"$in": list(OPEN)}},
                [("due_on", 1)],
            ),
            ("scheduler", sched, "children", {"_id": {"$in": child_ids}}, None),
            ("scheduler", sched, "staff", {"user": {"$in": [me]}}, None),
        ]
        out = []
        for service, store, collection, filter_, sort in queries:
            coll = store.collection(collection)
            times = []
            for _ in range(rounds):
                t = time.perf_counter()
                found = coll.find(filter_, sort=sort, limit=200)
                times.append((time.perf_counter() - t) * 1e3)
            shown = {
                k: (f"[{len(v['$in'])} ids]" if isinstance(v, dict) and k == "_id" else v) for k, v in filter_.items()
            }
            out.append(
                {
                    "service": service,
                    "collection": collection,
                    "filter": shown,
                    "sort": sort,
                    "plan": coll.explain(filter_, sort=sort),
                    "found": len(found),
                    "ms": statistics.median(times),
                }
            )
        return out
    finally:
        plans.close()
        sched.close()


def plan_summary(lines: list[str]) -> str:
    """A query plan in a line: the indexes it searches, or the tables it
    reads whole (``SCAN c_<table>``), and whether it sorts afterwards. (The
    other SCANs of a plan are json_each over one document's array.)"""
    searched = sorted(
        {
            m.group(1)
            for line in lines
            for m in [
                re.search(
                    r"SEARCH c_\w+ USING (?:COVERING )?INDEX "
                    r"(\S+)",
                    line,
                )
            ]
            if m
        }
    )
    scanned = sorted({m.group(1) for line in lines for m in [re.search(r"SCAN (c_\w+)", line)] if m})
    words = []
    if scanned:
        words.append("READS THE WHOLE TABLE " + ", ".join(scanned))
    if searched:
        words.append("indexed: " + ", ".join(searched))
    if any("TEMP B-TREE" in line for line in lines):
        words.append("then sorts what it found")
    return "; ".join(words) or " / ".join(lines)


# ---------------------------------------------------------------- the run


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plans", type=int, default=50_000, help="plans (and children and cases); default 50,000")
    parser.add_argument("--caseload", type=int, default=25, help="cases the measured social worker holds")
    parser.add_argument("--users", type=int, default=20, help="concurrent signed-in users")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of each page's closed-loop run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the median of each is reported")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of each server")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--batch", type=int, default=6000, help="inserts per unit of work when seeding")
    parser.add_argument("--profile-rounds", type=int, default=15, help="renders of each page alone, timed")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder (stores, server logs)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the generated records")
    args = parser.parse_args(argv)
    configure("bench", "console", level=40)  # the in-process web application's request lines stay quiet

    workdir = Path(tempfile.mkdtemp(prefix="cpp-bench-web-"))
    data_dir = workdir / "data"
    env = server_env(data_dir, free_port())  # the measured pages never use the broker: nothing listens there
    env.update(WEB_CONCURRENCY=str(args.workers), GUNICORN_THREADS=str(args.threads))
    plans_settings = Settings.from_env("plans", env)
    scheduler_settings = Settings.from_env("scheduler", env)
    load_dev_key(plans_settings.dev_signing_key_file, create=True)  # one key for every process
    servers: list[Server] = []
    results: dict = {"cpus": os.cpu_count(), "load_average_before": os.getloadavg()}
    try:
        print(f"{os.cpu_count()} CPUs, load average {_load()}", flush=True)
        print(f"seeding {args.plans:,} plans (with their children and cases) and their deadlines ...", flush=True)
        seeded = seed(
            plans_settings, scheduler_settings, args.plans, args.caseload, args.batch, random.Random(args.seed)
        )
        s, me = seeded["statuses"], seeded["me"]
        print(
            f"seeded in {seeded['seconds']:.1f} s (inserts {seeded['insert_seconds']:.1f} s, indexes "
            f"{seeded['index_seconds']:.1f} s): {s['outline']:,} outline, {s['active']:,} active, "
            f"{s['ended']:,} ended; {seeded['deadlines']:,} deadlines; {seeded['social_workers']:,} social "
            f"workers; databases {seeded['db_bytes']['plans'] / 1e6:.0f} MB (plans), "
            f"{seeded['db_bytes']['scheduler'] / 1e6:.0f} MB (scheduler)",
            flush=True,
        )
        print(
            f"{ME['name']} holds {me['cases']} cases ({me['plans_in_force']} plans in force), "
            f"{me['open_deadlines']} open deadlines: {me['overdue']} overdue, {me['due_in_7_days']} due in "
            "the next 7 days",
            flush=True,
        )

        gunicorn = {"workers": args.workers, "threads": args.threads}
        plans = Server("plans", "cpp_plans.app:create_app()", env, workdir, **gunicorn)
        scheduler = Server("scheduler", "cpp_scheduler.app:create_app()", env, workdir, **gunicorn)
        servers += [plans, scheduler]
        plans.wait_ready("/healthz")
        scheduler.wait_ready("/healthz")
        nowhere = f"http://127.0.0.1:{free_port()}"  # notify and docs: not called by these pages
        web_env = {
            **env,
            "CPP_WEB_PLANS_URL": f"http://127.0.0.1:{plans.port}",
            "CPP_WEB_SCHEDULER_URL": f"http://127.0.0.1:{scheduler.port}",
            "CPP_WEB_NOTIFY_URL": nowhere,
            "CPP_WEB_DOCS_URL": nowhere,
        }
        web = Server("web", "cpp_web.app:create_app()", web_env, workdir, **gunicorn)
        servers.append(web)
        web.wait_ready("/healthz")
        base = f"http://127.0.0.1:{web.port}"

        in_force = [p for p in seeded["my_plans"] if p["status"] != "ended"] or seeded["my_plans"]
        paths = {"baseline": ["/home"], "my_work": ["/my-work"], "plan": [f"/plans/{p['id']}" for p in in_force]}
        users = [signed_in_user(base) for _ in range(args.users)]
        page = users[0].get(base + "/my-work", timeout=60)
        if page.status_code != 200 or "Overdue steps, most overdue first" not in page.text:
            raise RuntimeError(f"/my-work: {page.status_code}, no overdue steps shown:\n{page.text[:2000]}")
        for path in paths["plan"][:3] + paths["baseline"]:
            answer = users[0].get(base + path, timeout=60)
            if answer.status_code != 200:
                raise RuntimeError(f"{path}: {answer.status_code}\n{answer.text[:2000]}")

        for target in TARGETS:  # warm-up: connections, the workers' first requests, the pages' templates
            closed_loop(base, users, paths[target], min(2.0, args.duration))

        by_server = {"web": web, "plans": plans, "scheduler": scheduler}
        rounds: dict[str, list[dict]] = {t: [] for t in TARGETS}
        for round_no in range(args.rounds):
            for target in TARGETS:  # interleaved: a noisy spell hits baseline and pages alike
                before = {k: v.cpu_seconds() for k, v in by_server.items()}
                result = closed_loop(base, users, paths[target], args.duration)
                after = {k: v.cpu_seconds() for k, v in by_server.items()}
                result["cpu_ms"] = {
                    k: (after[k] - before[k]) / result["requests"] * 1e3
                    if None not in (before[k], after[k]) and result["requests"]
                    else float("nan")
                    for k in by_server
                }
                result["load"] = os.getloadavg()[0]
                rounds[target].append(result)
            print(
                f"round {round_no + 1} (load {_load()}): "
                + ", ".join(f"{t} {rounds[t][-1]['rps']:.1f}/s p95 {rounds[t][-1]['p95_ms']:.0f} ms" for t in TARGETS),
                flush=True,
            )

        profile = profile_pages(
            web_env, {"baseline": "/home", "my_work": "/my-work", "plan": paths["plan"][0]}, args.profile_rounds
        )
        plans_of_queries = query_plans(plans_settings, scheduler_settings, [p["id"] for p in in_force])
        results["load_average_after"] = os.getloadavg()

        keys = ("rps", "p50_ms", "p95_ms", "p99_ms")
        med = {t: {k: statistics.median(r[k] for r in rounds[t]) for k in keys} for t in TARGETS}
        for t in TARGETS:
            med[t]["cpu_ms"] = {k: statistics.median(r["cpu_ms"][k] for r in rounds[t]) for k in by_server}
        errors = {t: sum(r["errors"] for r in rounds[t]) for t in TARGETS}
        b = med["baseline"]

        print()
        print(
            f"store: {args.plans:,} plans, children and cases, {seeded['deadlines']:,} deadlines; seeded in "
            f"{seeded['seconds']:.1f} s"
        )
        print(
            f"servers: web, plans, scheduler, each gunicorn -c python:cpp_shared.gunicorn_conf --workers "
            f"{args.workers} --threads {args.threads} (gthread); {os.cpu_count()} CPUs shared with the load"
        )
        print(
            f"load: {args.users} signed-in users, closed loop, {args.duration:g} s a page a round, "
            f"{args.rounds} interleaved rounds (medians)"
        )
        print(
            f"{'':28} {'req/s':>7} {'p50':>9} {'p95':>9} {'p99':>9}  {'p95 / base':>10} {'req/s / base':>12}"
            f"   CPU ms/req: web, plans, scheduler"
        )
        for t in TARGETS:
            m = med[t]
            cpu = ", ".join(f"{m['cpu_ms'][k]:.1f}" for k in by_server)
            ratio = "" if t == "baseline" else f"{m['p95_ms'] / b['p95_ms']:9.1f}x {m['rps'] / b['rps']:11.1%}"
            aim = (
                ""
                if t == "baseline"
                else f"   p95 aim < {P95_AIM_MS:g} ms: " + ("met" if m["p95_ms"] < P95_AIM_MS else "MISSED")
            )
            print(
                f"{LABELS[t]:28} {m['rps']:7.1f} {m['p50_ms']:6.0f} ms {m['p95_ms']:6.0f} ms {m['p99_ms']:6.0f} ms"
                f"  {ratio:>23}   {cpu}{aim}"
            )
        if any(errors.values()):
            print("WARNING: failed or non-200 answers: " + ", ".join(f"{t} {k:,}" for t, k in errors.items() if k))
            for t in TARGETS:
                for failure in sorted({f for r in rounds[t] for f in r["failures"]})[:5]:
                    print(f"    {LABELS[t]}: {failure}")
        print(f"\nwhere the time goes: each page alone, {args.profile_rounds} renders (medians), its service calls:")
        for t in TARGETS:
            p = profile[t]
            print(
                f"  {LABELS[t]:28} {p['page_ms']:6.1f} ms: {p['calls']:.0f} service calls "
                f"({p['calls_total_ms']:.1f} ms if one after another), the template {p['render_ms']:.1f} ms"
            )
            for what, ms in p["call_ms"].items():
                print(f"      {ms:6.1f} ms  {what}")
        print("\nthe store queries those calls make (SQLite's plan, median time in-process):")
        for q in plans_of_queries:
            sort = f" sort {q['sort']}" if q["sort"] else ""
            print(
                f"  {q['service']:9} {q['collection']:9} {json.dumps(q['filter'])}{sort}: {q['found']} found, "
                f"{q['ms']:.2f} ms"
            )
            print(f"      {plan_summary(q['plan'])}")
        print(f"load average after: {_load()}")

        out = Path(__file__).resolve().parent / "results"
        out.mkdir(exist_ok=True)
        (out / "web.json").write_text(
            json.dumps(
                {
                    **results,
                    "args": vars(args),
                    "seeding": {k: v for k, v in seeded.items() if k != "my_plans"},
                    "gunicorn": {"workers": args.workers, "threads": args.threads, "worker_class": "gthread"},
                    "rounds": rounds,
                    "medians": med,
                    "errors": errors,
                    "ratios": {
                        t: {"p95": med[t]["p95_ms"] / b["p95_ms"], "rps": med[t]["rps"] / b["rps"]}
                        for t in TARGETS
                        if t != "baseline"
                    },
                    "aim": {"p95_ms": P95_AIM_MS},
                    "profile": profile,
                    "queries": plans_of_queries,
                },
                indent=2,
                default=str,
            )
        )
        return 0
    finally:
        for server in servers:
            server.stop()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
