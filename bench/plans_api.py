"""Plans API benchmark: the partner lookup and GET /v1/plans/{id} under
gunicorn, against a bare Flask "hello" endpoint served with the same gunicorn
settings in the same run, reported as ratios (the machines are shared and
noisy: absolute rates drift, ratios much less).

    make bench                                  # bus.py, then this
    .venv/bin/python bench/plans_api.py -n 5000 # a quicker run

The store (SQLite, in a temporary CPP_DATA_DIR) is seeded first with N
children (valid, distinct NHS numbers) and N plans (about 80% outline or
active, 20% ended), about England's national total by default. Then two
gunicorn servers run side by side, both with ``-c python:cpp_shared.
gunicorn_conf --workers 2 --threads 4 --worker-class gthread``: the plans
service (``cpp_plans.app:create_app()``, development mode, JSON logs to a
file) and bench/hello_app.py.

Measurements:
  closed loop   wrk -t2 -c16 --latency (or, without wrk, a Python generator
                with as many keep-alive connections), in interleaved rounds
                hello, lookup, plan, hello, ...; medians of each
  open loop     a fixed rate (200 requests/s by default) from a Python
                generator that schedules each request at a fixed time and
                measures from that time (no coordinated omission)
  lookup        GET /v1/lookup?nhs_number=..., a partner token, rotating over
                the seeded NHS numbers
  plan          GET /v1/plans/{id}, a social worker's token, rotating over the
                seeded plans
  server CPU    per request of each closed-loop round: the CPU time (user +
                system) of the server's master and workers over the round,
                divided by the requests answered (Linux /proc; blank elsewhere).
                Less sensitive than rates to what else the machine runs, and
                it tells a request's own cost from its waits (locks, fsync)
Aims (the issue's): lookup >= 50% of hello's rate; p99 < 20 ms at 200 requests/s.
Both requests write (an audit entry; the lookup also an event in the outbox)
and answer only once it is committed (concurrent requests of a worker share
a commit: cpp_shared/store/group_commit.py); the report does not assert, it tells.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cpp_plans.api import children as children_api  # noqa: E402
from cpp_plans.api.plan_schemas import CATEGORIES, PlanContentSchema  # noqa: E402
from cpp_plans.domain import identifiers, lifecycle  # noqa: E402
from cpp_plans.store import setup_store  # noqa: E402
from cpp_shared.auth import issue_dev_token  # noqa: E402
from cpp_shared.config import Settings  # noqa: E402
from cpp_shared.plugins import Plugins  # noqa: E402
from cpp_shared.store import open_store  # noqa: E402

TARGETS = ("hello", "lookup", "plan")
LABELS = {"hello": "hello (bare Flask)", "lookup": "GET /v1/lookup", "plan": "GET /v1/plans/{id}"}
LOOKUP_AIM = 0.5  # of hello's rate
P99_AIM_MS = 20.0  # at the fixed rate

# ---------------------------------------------------------------- the store

GIVEN = (
    "Amelia",
    "Olivia",
    "Isla",
    "Ava",
    "Mia",
    "Ivy",
    "Lily",
    "Freya",
    "Noah",
    "Oliver",
    "George",
    "Arthur",
    "Leo",
    "Muhammad",
    "Harry",
    "Oscar",
    "Archie",
    "Theo",
    "Aisha",
    "Zara",
    "Maya",
    "Kacper",
    "Ellie",
    "Jack",
)
FAMILY = (
    "Smith",
    "Jones",
    "Williams",
    "Taylor",
    "Brown",
    "Davies",
    "Evans",
    "Wilson",
    "Thomas",
    "Johnson",
    "Roberts",
    "Robinson",
    "Thompson",
    "Wright",
    "Walker",
    "White",
    "Edwards",
    "Hughes",
    "Green",
    "Hall",
    "Khan",
    "Ahmed",
    "Patel",
    "Nowak",
    "Okafor",
    "Mensah",
    "O'Brien",
    "Murphy",
    "Begum",
    "Ali",
)
STREETS = ("High Street", "Station Road", "Church Lane", "Victoria Road", "Green Lane", "Manor Road", "Park Avenue")
TOWNS = (
    ("Leeds", "LS"),
    ("Manchester", "M"),
    ("Birmingham", "B"),
    ("Bristol", "BS"),
    ("London", "SE"),
    ("Sheffield", "S"),
    ("Norwich", "NR"),
    ("Plymouth", "PL"),
    ("Newcastle upon Tyne", "NE"),
)
ETHNICITIES = ("WBRI", "WOTH", "MOTH", "AOTH", "BOTH", "OOTH")  # the census's codes
KEY_WORKERS = tuple(
    f"{g} {f}"
    for g, f in zip(
        ("Sam", "Priya", "Tom", "Grace", "Yusuf", "Helen", "Dan", "Ngozi"),
        ("Social", "Shah", "Reid", "Okoro", "Hussain", "Clarke", "Fox", "Eze"),
    )
)
STATUS_SHARE = {"outline": 0.4, "active": 0.4, "ended": 0.2}


def nhs_numbers(n: int, rng: random.Random) -> list[str]:
    """``n`` distinct valid NHS numbers: random 9-digit prefixes with their
    Modulus 11 check digit (prefixes whose check is 10 have none: skipped)."""
    seen: set[int] = set()
    numbers: list[str] = []
    while len(numbers) < n:
        prefix = rng.randrange(100_000_000, 1_000_000_000)
        if prefix in seen:
            continue
        seen.add(prefix)
        check = identifiers.mod11_check_digit(str(prefix))
        if check is not None:
            numbers.append(f"{prefix}{check}")
    return numbers


def _postcode(rng: random.Random, area: str) -> str:
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    return f"{area}{rng.randrange(1, 20)} {rng.randrange(1, 10)}{rng.choice(letters)}{rng.choice(letters)}"


def _phone(rng: random.Random) -> str:
    return f"07700 900{rng.randrange(0, 1000):03d}"


def child_doc(rng: random.Random, authority: str, nhs: str, today: date) -> dict:
    """A child as POST /v1/children stores one (derived index keys included)."""
    family = rng.choice(FAMILY)
    town, area = rng.choice(TOWNS)
    parent = f"{rng.choice(GIVEN)} {family}"
    doc = {
        "_id": uuid.uuid4().hex,
        "authority": authority,
        "given_names": f"{rng.choice(GIVEN)} {rng.choice(GIVEN)}",
        "family_name": family,
        "date_of_birth": (today - timedelta(days=rng.randrange(30, 17 * 365))).isoformat(),
        "identifiers": [{"scheme": "nhs_number", "value": nhs}],
        "gender": rng.choice(("2", "1")),
        "ethnicity": rng.choice(ETHNICITIES),
        "first_language": rng.choice(("English",) * 8 + ("Polish", "Urdu")),
        "interpreter_needed": False,
        "address": {
            "lines": [f"{rng.randrange(1, 200)} {rng.choice(STREETS)}", town],
            "postcode": _postcode(rng, area),
        },
        "school_or_nursery": {
            "name": f"{rng.choice(STREETS).split()[0]} Primary School",
            "contact": "Designated safeguarding lead, via the school office",
        },
        "people_with_parental_responsibility": [
            {
                "name": parent,
                "relationship": rng.choice(("mother", "father")),
                "phone": _phone(rng),
                "address": {
                    "lines": [f"{rng.randrange(1, 200)} {rng.choice(STREETS)}", town],
                    "postcode": _postcode(rng, area),
                },
            },
        ],
        "created_at": datetime.now(UTC).isoformat(),
        "created_by": f"sw-{rng.randrange(1, 400)}",
    }
    return children_api._with_keys(doc, authority)


def plan_content(rng: random.Random, family: str, created: date, detailed: bool) -> dict:
    """An outline plan's content, or a detailed plan's (as agreed by the core group)."""
    key_worker = rng.choice(KEY_WORKERS)
    email = key_worker.lower().replace(" ", ".") + "@example.org"
    content = {
        "key_worker": {
            "name": key_worker,
            "role": "social worker",
            "team": "Children's services, Area team",
            "phone": "020 7946 0000",
            "email": email,
        },
        "categories": sorted(rng.sample(CATEGORIES, rng.choice((1, 1, 2)))),
        "core_group": [
            {"name": key_worker, "role": "social worker", "agency": "Children's services", "is_family_member": False},
            {"name": "Hana Visitor", "role": "health visitor", "agency": "NHS", "is_family_member": False},
            {
                "name": "Pat Teacher",
                "role": "designated safeguarding lead",
                "agency": "school",
                "is_family_member": False,
            },
            {"name": f"Alex {family}", "role": "parent", "is_family_member": True},
        ],
        "concerns": "Home conditions, missed health appointments and a pattern of school absence.",
        "causes_of_harm": ["parental substance misuse", "domestic abuse in the household"],
    }
    if detailed:
        later = lambda days: (created + timedelta(days=days)).isoformat()  # noqa: E731
        content.update(
            {
                "outcomes": [
                    {
                        "id": "safe-home",
                        "description": "The child lives in a safe and clean home.",
                        "term": "short",
                        "target_date": later(90),
                        "how_progress_judged": "Unannounced visits find the home safe.",
                    },
                    {
                        "id": "health",
                        "description": "The child's health appointments are all kept.",
                        "term": "long",
                        "target_date": later(180),
                        "how_progress_judged": "The GP and health visitor confirm attendance.",
                    },
                ],
                "actions": [
                    {
                        "id": "a1",
                        "what": "Weekly home visits, at least one unannounced a month.",
                        "why": "To see the child and the home.",
                        "who": {"name": key_worker, "kind": "professional", "role": "social worker"},
                        "by_when": later(90),
                        "status": "in_progress",
                        "outcome_id": "safe-home",
                    },
                    {
                        "id": "a2",
                        "what": "Attend every health appointment and keep the red book up to date.",
                        "why": "The child's health needs are met.",
                        "who": {"name": f"Alex {family}", "kind": "family_member", "relationship": "parent"},
                        "by_when": later(120),
                        "status": "not_started",
                        "outcome_id": "health",
                    },
                ],
                "monitoring": [
                    {
                        "who": "Hana Visitor",
                        "agency": "NHS",
                        "what": "Sees the child and checks growth and development.",
                        "contact_type": "health_visitor",
                        "frequency": {"every": 2, "unit": "weeks"},
                    },
                    {
                        "who": "Pat Teacher",
                        "agency": "school",
                        "what": "Checks attendance and how the child presents.",
                        "contact_type": "school",
                        "frequency": "every school day",
                    },
                ],
                "review_arrangements": {
                    "next_review_date": later(90),
                    "how_progress_judged": "Against the outcomes, at the review conference.",
                },
                "contingency_plan": {
                    "plan": "A legal planning meeting is called.",
                    "triggers": ["the child is not seen for two weeks", "a further incident of harm"],
                },
            }
        )
    return content


def plan_doc(rng: random.Random, child: dict, status: str, today: date) -> dict:
    """A plan as the lifecycle leaves it: outline (from an initial conference),
    active (after the core group agreed the detailed plan) or ended."""
    age = rng.randrange(200, 900) if status == "ended" else rng.randrange(20, 700)
    created = today - timedelta(days=age)
    case = {"_id": uuid.uuid4().hex, "authority": child["authority"], "child_id": child["_id"]}
    conference = {"_id": uuid.uuid4().hex}
    chair = f"chair-{rng.randrange(1, 40)}"
    content = plan_content(rng, child["family_name"], created, detailed=status != "outline")
    plan = lifecycle.new_plan(case, conference, content, held_on=created, agreed_by=chair)
    if status != "outline":
        activated = created + timedelta(days=10)
        plan.update(
            status="active",
            activated_on=activated.isoformat(),
            plan_version=2,
            agreed={"by": plan["key_worker"], "on": activated.isoformat(), "at": "core_group_meeting"},
        )
    if status == "ended":
        ended = min(created + timedelta(days=rng.randrange(90, 400)), today - timedelta(days=1))
        plan.update(
            status="ended",
            last_reviewed_on=ended.isoformat(),
            ended={"on": ended.isoformat(), "conference_id": uuid.uuid4().hex, "step_down": lifecycle.STEP_DOWN_ROUTE},
        )
    return plan


def check_content_shape(rng: random.Random) -> None:
    """The generated plans are valid content (guards against schema drift)."""
    created = date.today() - timedelta(days=30)
    for detailed in (False, True):
        content = plan_content(rng, "Smith", created, detailed)
        errors = PlanContentSchema(not_before=created).validate(content)
        if errors:
            raise SystemExit(f"plans_api.py: the seeded plan content no longer validates: {errors}")


def seed(settings: Settings, n: int, batch: int, rng: random.Random) -> dict:
    """N children and N plans in units of ``batch`` inserts, then the
    service's indexes (built once over the data: faster than maintained)."""
    authority = Plugins(settings.plugins).authority()["code"]
    check_content_shape(rng)
    numbers = nhs_numbers(n, rng)
    assert all(identifiers.nhs_number(x) == x for x in numbers)
    store = open_store(settings.store_url)
    today = date.today()
    statuses = list(STATUS_SHARE)
    weights = list(STATUS_SHARE.values())
    plan_ids: list[str] = []
    counts = dict.fromkeys(statuses, 0)
    per_unit = max(1, batch // 2)  # a child and its plan: two inserts
    start = time.perf_counter()
    for lo in range(0, n, per_unit):
        with store.unit_of_work() as uow:
            for i in range(lo, min(n, lo + per_unit)):
                child = child_doc(rng, authority, numbers[i], today)
                status = rng.choices(statuses, weights)[0]
                plan = plan_doc(rng, child, status, today)
                uow.insert(children_api.COLLECTION, child)
                uow.insert("plans", plan)
                plan_ids.append(plan["_id"])
                counts[status] += 1
    inserted = time.perf_counter()
    setup_store(store)
    done = time.perf_counter()
    store.close()
    db = Path(settings.store_url.removeprefix("sqlite:///"))
    size = sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))
    return {
        "children": n,
        "plans": n,
        "statuses": counts,
        "inserts_per_commit": 2 * per_unit,
        "insert_seconds": inserted - start,
        "index_seconds": done - inserted,
        "seconds": done - start,
        "db_bytes": size,
        "nhs_numbers": numbers,
        "plan_ids": plan_ids,
    }


# ---------------------------------------------------------------- the servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(data_dir: Path, broker_port: int) -> dict[str, str]:
    """The environment for both servers: none of the caller's CPP_* settings
    (a CPP_STORE_URL would point the service elsewhere) nor metrics folder."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CPP_") and k not in ("PROMETHEUS_MULTIPROC_DIR", "WEB_CONCURRENCY", "GUNICORN_THREADS")
    }
    env.update(
        CPP_MODE="development",
        CPP_DATA_DIR=str(data_dir),
        CPP_LOG_FORMAT="json",
        # Nothing listens there: the requests measured do not use the broker.
        CPP_BROKER_URL=f"amqp://guest:guest@127.0.0.1:{broker_port}//",
        # One partner from one address sends every lookup: limits far above the
        # load, so that each lookup still pays for its counters but none is refused.
        CPP_RATE_LIMIT_LOOKUP_PER_PRINCIPAL="100000000/minute",
        CPP_RATE_LIMIT_LOOKUP_PER_ADDRESS="100000000/minute",
    )
    return env


class Server:
    """One gunicorn server in its own session (so that its workers can be
    found and killed with it), its output in a log file."""

    def __init__(
        self,
        name: str,
        app: str,
        env: dict[str, str],
        workdir: Path,
        *,
        workers: int,
        threads: int,
        extra: tuple[str, ...] = (),
    ):
        self.name, self.port = name, free_port()
        self.log_path = workdir / f"{name}.log"
        self.argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:cpp_shared.gunicorn_conf",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--worker-class",
            "gthread",
            "--bind",
            f"127.0.0.1:{self.port}",
            *extra,
            app,
        ]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                self.argv,
                env=env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_ready(self, path: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} server exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", path)
                if conn.getresponse().status == 200:
                    conn.close()
                    return
                conn.close()
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} server did not answer {path} within {timeout:.0f} s:\n{self.log_tail()}")

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) used so far by the master and its
        workers (Linux /proc; None elsewhere). A worker that exited takes its
        time with it: compare values taken while the same workers serve."""
        tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        total, found = 0, False
        for entry in Path("/proc").glob("[0-9]*"):
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid, ppid = int(entry.name), int(fields[1])
            if pid == self.proc.pid or ppid == self.proc.pid:
                total += int(fields[11]) + int(fields[12])  # utime, stime
                found = True
        return total / tick if found else None

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (gunicorn stops its workers gracefully), SIGKILL to the whole
        group after ``timeout``, and SIGKILL to any worker left behind."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._kill_group()
                self.proc.wait(10)
        self._kill_group()

    def _kill_group(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the session started for this server only
        except ProcessLookupError:
            pass


# ---------------------------------------------------------------- the load


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(round(q / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


WRK_LUA = """\
-- Rotates over the request paths listed in a file (one a line); each
-- thread starts at its own offset. Args: the file, the number of threads.
local started = 0
function setup(thread)
  thread:set("offset", started)
  started = started + 1
end

local paths, i = {}, 0
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  i = math.floor((offset or 0) * #paths / tonumber(args[2] or 1))
end

function request()
  i = i % #paths + 1
  return wrk.format(nil, paths[i])
end
"""

_WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def _wrk_ms(text: str) -> float:
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text)
    if not m:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(m.group(1)) * _WRK_UNITS[m.group(2)]


def parse_wrk(out: str) -> dict:
    rps = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    total = re.search(r"([0-9]+) requests in", out)
    if not rps or not total:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    result = {"rps": float(rps.group(1)), "requests": int(total.group(1))}
    for pct, value in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", out, re.M):
        result[f"p{pct}_ms"] = _wrk_ms(value)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+([0-9]+)", out)
    result["errors"] = int(non2xx.group(1)) if non2xx else 0
    sock = re.search(r"Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)", out)
    if sock:
        result["errors"] += sum(int(x) for x in sock.groups())
    return result


class Load:
    """Closed-loop (wrk, else Python) and fixed-rate (Python) load on one target."""

    def __init__(self, port: int, token: str, paths: list[str], workdir: Path, name: str):
        self.port, self.paths = port, paths
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.paths_file = workdir / f"{name}.paths"
        self.paths_file.write_text("\n".join(paths) + "\n")
        self.lua = workdir / "rotate.lua"
        if not self.lua.exists():
            self.lua.write_text(WRK_LUA)

    def check(self) -> dict:
        """One request, which must succeed, before anything is measured."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request("GET", self.paths[0], headers=self.headers)
        response = conn.getresponse()
        body = response.read()
        conn.close()
        if response.status != 200:
            raise RuntimeError(f"GET {self.paths[0]}: {response.status} {body[:500]!r}")
        return json.loads(body)

    def wrk(self, seconds: float, threads: int, connections: int) -> dict:
        argv = [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--latency",
            "--timeout",
            "10s",
            "-H",
            f"Authorization: {self.headers['Authorization']}",
            "-H",
            "Accept: application/json",
            "-s",
            str(self.lua),
            f"http://127.0.0.1:{self.port}",
            "--",
            str(self.paths_file),
            str(threads),
        ]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
        if done.returncode != 0:
            raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
        return parse_wrk(done.stdout)

    def _connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def _send(
        self, conn: http.client.HTTPConnection | None, path: str
    ) -> tuple[http.client.HTTPConnection | None, int]:
        """One request on a keep-alive connection (a new one after an error)."""
        conn = conn or self._connection()
        try:
            conn.request("GET", path, headers=self.headers)
            response = conn.getresponse()
            response.read()
            return conn, response.status
        except (OSError, http.client.HTTPException):
            conn.close()
            return None, -1

    def python_closed(self, seconds: float, connections: int) -> dict:
        """The wrk stand-in: ``connections`` threads, each sending its next
        request as soon as the last one is answered."""
        latencies: list[list[float]] = [[] for _ in range(connections)]
        errors = [0] * connections
        deadline = time.perf_counter() + seconds

        def run(k: int) -> None:
            conn, i = None, k * len(self.paths) // connections
            while True:
                t0 = time.perf_counter()
                if t0 >= deadline:
                    break
                conn, status = self._send(conn, self.paths[i % len(self.paths)])
                latencies[k].append((time.perf_counter() - t0) * 1e3)
                errors[k] += status != 200
                i += 1
            if conn:
                conn.close()

        threads = [threading.Thread(target=run, args=(k,)) for k in range(connections)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        values = sorted(itertools.chain.from_iterable(latencies))
        result = {"rps": len(values) / elapsed, "requests": len(values), "errors": sum(errors)}
        result.update({f"p{q}_ms": percentile(values, q) for q in (50, 75, 90, 99)})
        return result

    def fixed_rate(self, rate: float, seconds: float, connections: int) -> dict:
        """Open loop: request i is due at start + i/rate; a free connection
        thread sends it then (or as soon as one is free) and its latency is
        counted from the due time, so a stalled server is not hidden by the
        generator waiting for it (coordinated omission)."""
        n = max(1, int(rate * seconds))
        latencies = [0.0] * n
        statuses = [0] * n
        next_index = itertools.count()  # next() on a count is atomic under the GIL
        start = time.perf_counter() + 0.05

        def run() -> None:
            conn = None
            while True:
                i = next(next_index)
                if i >= n:
                    break
                due = start + i / rate
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                conn, statuses[i] = self._send(conn, self.paths[i % len(self.paths)])
                latencies[i] = (time.perf_counter() - due) * 1e3
            if conn:
                conn.close()

        threads = [threading.Thread(target=run) for _ in range(connections)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        values = sorted(latencies)
        return {
            "rate": rate,
            "requests": n,
            "achieved_rps": n / elapsed,
            "errors": sum(s != 200 for s in statuses),
            "p50_ms": percentile(values, 50),
            "p90_ms": percentile(values, 90),
            "p99_ms": percentile(values, 99),
            "max_ms": values[-1],
        }


# ---------------------------------------------------------------- the run


def _ms(value: float | None) -> str:
    return "" if value is None or value != value else f"{value:7.2f} ms"


def _us(value: float | None) -> str:
    return "" if value is None or value != value else f"{value:,.0f} us"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=50_000, help="children and plans in the store (default 50,000)")
    parser.add_argument("--rounds", type=int, default=3, help="closed-loop rounds; the median of each is reported")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of each closed-loop measurement")
    parser.add_argument("--rate", type=float, default=200.0, help="requests/s of the open-loop run")
    parser.add_argument("--rate-duration", type=float, default=10.0, help="seconds of each open-loop run")
    parser.add_argument("--batch", type=int, default=5000, help="inserts per unit of work when seeding")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of both servers")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker of both servers")
    parser.add_argument("--connections", type=int, default=16, help="closed-loop connections (wrk -c)")
    parser.add_argument("--no-wrk", action="store_true", help="use the Python generator even if wrk is installed")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder (store, server logs)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the generated records")
    args = parser.parse_args(argv)

    wrk = None if args.no_wrk else shutil.which("wrk")
    workdir = Path(tempfile.mkdtemp(prefix="cpp-bench-plans-"))
    data_dir = workdir / "data"
    env = server_env(data_dir, free_port())
    settings = Settings.from_env("plans", env)
    servers: list[Server] = []
    try:
        print(f"seeding {args.n:,} children and {args.n:,} plans into {settings.store_url} ...", flush=True)
        seeded = seed(settings, args.n, args.batch, random.Random(args.seed))
        s = seeded["statuses"]
        print(
            f"seeded in {seeded['seconds']:.1f} s (inserts {seeded['insert_seconds']:.1f} s at "
            f"{seeded['inserts_per_commit']:,} per commit, indexes {seeded['index_seconds']:.1f} s); "
            f"{s['outline']:,} outline, {s['active']:,} active, {s['ended']:,} ended; "
            f"database {seeded['db_bytes'] / 1e6:.0f} MB",
            flush=True,
        )

        authority = Plugins(settings.plugins).authority()["code"]
        partner = issue_dev_token(settings, role="partner", authority=authority, user="bench-partner")
        social_worker = issue_dev_token(settings, role="social_worker", authority=authority, user="bench-sw")

        rng = random.Random(args.seed + 1)
        numbers = rng.sample(seeded["nhs_numbers"], len(seeded["nhs_numbers"]))
        plan_ids = rng.sample(seeded["plan_ids"], len(seeded["plan_ids"]))

        gunicorn = {"workers": args.workers, "threads": args.threads}
        plans = Server("plans", "cpp_plans.app:create_app()", env, workdir, **gunicorn)
        servers.append(plans)
        hello = Server("hello", "hello_app:app", env, workdir, extra=("--pythonpath", str(ROOT / "bench")), **gunicorn)
        servers.append(hello)
        plans.wait_ready("/healthz")
        hello.wait_ready("/hello")

        loads = {
            "hello": Load(hello.port, partner, ["/hello"], workdir, "hello"),
            "lookup": Load(plans.port, partner, [f"/v1/lookup?nhs_number={x}" for x in numbers], workdir, "lookup"),
            "plan": Load(plans.port, social_worker, [f"/v1/plans/{p}" for p in plan_ids], workdir, "plan"),
        }
        answer = loads["lookup"].check()
        assert "subject_of_plan" in answer, answer
        assert loads["plan"].check()["id"] == plan_ids[0]
        loads["hello"].check()

        if wrk:
            generator = f"wrk -t2 -c{args.connections} -d{args.duration:g}s --latency"

            def closed(target: str, seconds: float) -> dict:
                return loads[target].wrk(seconds, 2, args.connections)
        else:
            why = "--no-wrk" if args.no_wrk else "wrk is not installed (apt-get install wrk)"
            generator = (
                f"Python generator, {args.connections} keep-alive connections, {args.duration:g} s "
                f"({why}; this client spends more CPU per request than wrk, on the servers' CPUs, "
                "so its figures are rougher)"
            )
            print(f"closed-loop throughput from the Python generator: {why}", flush=True)

            def closed(target: str, seconds: float) -> dict:
                return loads[target].python_closed(seconds, args.connections)

        for target in TARGETS:  # warm-up: connections, caches, the workers' first requests
            closed(target, min(2.0, args.duration))

        by_target = {"hello": hello, "lookup": plans, "plan": plans}

        def with_cpu(target: str, seconds: float) -> dict:
            before = by_target[target].cpu_seconds()
            result = closed(target, seconds)
            after = by_target[target].cpu_seconds()
            result["cpu_us"] = float("nan")
            if before is not None and after is not None and after >= before and result["requests"]:
                result["cpu_us"] = (after - before) / result["requests"] * 1e6
            return result

        rounds: dict[str, list[dict]] = {t: [] for t in TARGETS}
        for round_no in range(args.rounds):
            for target in TARGETS:  # interleaved: a noisy spell hits baseline and subjects alike
                rounds[target].append(with_cpu(target, args.duration))
            print(
                f"round {round_no + 1}: "
                + ", ".join(
                    f"{t} {rounds[t][-1]['rps']:,.0f}/s p99 {rounds[t][-1]['p99_ms']:.1f} ms "
                    f"cpu {rounds[t][-1]['cpu_us']:,.0f} us/req"
                    for t in TARGETS
                ),
                flush=True,
            )

        fixed = {}
        for target in TARGETS:
            fixed[target] = loads[target].fixed_rate(args.rate, args.rate_duration, connections=32)
            f = fixed[target]
            print(
                f"{args.rate:g} req/s, {target}: p50 {f['p50_ms']:.1f} ms, p99 {f['p99_ms']:.1f} ms, "
                f"max {f['max_ms']:.1f} ms",
                flush=True,
            )

        med = {
            t: {k: statistics.median(r[k] for r in rounds[t]) for k in ("rps", "p50_ms", "p90_ms", "p99_ms", "cpu_us")}
            for t in TARGETS
        }
        errors = {t: sum(r["errors"] for r in rounds[t]) for t in TARGETS}
        ratios = {
            "lookup_over_hello": med["lookup"]["rps"] / med["hello"]["rps"],
            "plan_over_hello": med["plan"]["rps"] / med["hello"]["rps"],
        }

        print()
        print(
            f"store: {args.n:,} children, {args.n:,} plans ({s['outline'] + s['active']:,} in force), "
            f"seeded in {seeded['seconds']:.1f} s"
        )
        print(
            f"servers: gunicorn -c python:cpp_shared.gunicorn_conf --workers {args.workers} "
            f"--threads {args.threads} --worker-class gthread; {os.cpu_count()} CPUs shared with the load generator"
        )
        print(f"closed loop: {generator}; rounds: {args.rounds}, interleaved (medians)")
        print(f"{'':22} {'req/s':>9} {'p50':>10} {'p90':>10} {'p99':>10} {'CPU/req':>9}   of hello")
        for t in TARGETS:
            share = ""
            if t == "lookup":
                share = f"{ratios['lookup_over_hello']:6.1%} (aim >= {LOOKUP_AIM:.0%})"
            elif t == "plan":
                share = f"{ratios['plan_over_hello']:6.1%}"
            print(
                f"{LABELS[t]:22} {med[t]['rps']:>9,.0f} {_ms(med[t]['p50_ms']):>10} {_ms(med[t]['p90_ms']):>10} "
                f"{_ms(med[t]['p99_ms']):>10} {_us(med[t]['cpu_us']):>9}   {share}"
            )
        print(
            f"open loop: {args.rate:g} requests/s for {args.rate_duration:g} s each, Python generator, "
            "latency from the scheduled send time"
        )
        print(f"{'':22} {'p50':>10} {'p99':>10} {'max':>10}  {'achieved':>9}")
        for t in TARGETS:
            f = fixed[t]
            aim = ""
            if t != "hello":
                aim = f"   p99 aim < {P99_AIM_MS:g} ms: {'met' if f['p99_ms'] < P99_AIM_MS else 'MISSED'}"
            print(
                f"{LABELS[t]:22} {_ms(f['p50_ms']):>10} {_ms(f['p99_ms']):>10} {_ms(f['max_ms']):>10}  "
                f"{f['achieved_rps']:>7,.0f}/s{aim}"
            )
        failed = {t: errors[t] + fixed[t]["errors"] for t in TARGETS if errors[t] + fixed[t]["errors"]}
        if failed:
            print("WARNING: failed or non-2xx responses: " + ", ".join(f"{t} {k:,}" for t, k in failed.items()))

        out = Path(__file__).resolve().parent / "results"
        out.mkdir(exist_ok=True)
        (out / "plans_api.json").write_text(
            json.dumps(
                {
                    "n": args.n,
                    "seeding": {k: v for k, v in seeded.items() if k not in ("nhs_numbers", "plan_ids")},
                    "gunicorn": {
                        "workers": args.workers,
                        "threads": args.threads,
                        "worker_class": "gthread",
                        "config": "python:cpp_shared.gunicorn_conf",
                    },
                    "cpus": os.cpu_count(),
                    "closed_loop": {
                        "generator": "wrk" if wrk else "python",
                        "connections": args.connections,
                        "seconds": args.duration,
                        "rounds": rounds,
                        "medians": med,
                        "errors": errors,
                    },
                    "ratios": ratios,
                    "aims": {"lookup_over_hello": LOOKUP_AIM, "p99_ms_at_rate": P99_AIM_MS},
                    "fixed_rate": fixed,
                },
                indent=2,
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
