"""Fault injection: lifecycle walks against `cpp up` while processes are killed.

`run(Settings(...), workdir)` starts `cpp up` in ``workdir``, runs concurrent
walks (a child registered, a case opened, a strategy discussion, the enquiry
outcome, an initial conference scheduled and held with an outline plan) and,
meanwhile, a chaos thread that at random SIGKILLs a service's worker process
or one of its gunicorn web workers, or pauses the RabbitMQ node (SIGSTOP, a
few seconds, then SIGCONT) or SIGKILLs it (`cpp up` starts it again). Every
create carries an Idempotency-Key and
is sent again with it after a cut-off connection or a 5xx, so each write the
walks were told of is known.

Once the chaos stops and the platform has settled, it checks that every
acknowledged case is there, that no request was answered with a 5xx, that
each consumer handled each event meant for it exactly once (processed marks,
the bus counters and the events each shows per case), that nothing was parked, that every process runs and every
service is ready, and that `cpp up` stops leaving nothing behind. It returns
its figures and the failures found.

`python -m tests.chaos.driver` (what `make chaos` runs) is the long version;
its sizes come from CHAOS_SECONDS, CHAOS_WALKERS, CHAOS_KILL_EVERY and
CHAOS_SEED. tests/chaos/test_chaos.py runs a short one.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import requests
from kombu import Connection, Queue

from cpp_shared.broker import RabbitNode
from cpp_shared.contracts.topology import SUBSCRIPTIONS, parked_queue_name, retry_queue_name
from cpp_shared.services import installed_services
from tests.e2e.test_cpp_up import Up, leftover_processes, worker_pids
from tests.helpers import a_child, bearer, free_port, topic_matches, wait_for
from tests.services.test_plans_lifecycle_http import OUTLINE

SERVICES = tuple(s for s in installed_services() if s != "web")  # the APIs; the web application has no worker
CONSUMERS = tuple(s for s in SERVICES if s in SUBSCRIPTIONS)
CASE_EVENTS = ("scheduler", "notify", "docs")  # the services that show the events of a case they consumed
RETRY_DELAYS = (0.2, 0.5)


@dataclass
class Settings:
    seconds: float = 30.0  # of chaos
    walkers: int = 4  # concurrent walks
    kill_every: tuple[float, float] = (2.0, 5.0)  # seconds between two faults, drawn at random
    broker_pause: tuple[float, float] = (2.0, 4.0)
    seed: int | None = None

    @classmethod
    def from_env(cls, **defaults) -> Settings:
        s = cls(**defaults)
        env = os.environ
        if env.get("CHAOS_SECONDS"):
            s.seconds = float(env["CHAOS_SECONDS"])
        if env.get("CHAOS_WALKERS"):
            s.walkers = int(env["CHAOS_WALKERS"])
        if env.get("CHAOS_KILL_EVERY"):
            low, _, high = env["CHAOS_KILL_EVERY"].partition(",")
            s.kill_every = (float(low), float(high or low))
        if env.get("CHAOS_SEED"):
            s.seed = int(env["CHAOS_SEED"])
        return s


@dataclass
class Report:
    figures: dict = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    fivexx: list[str] = field(default_factory=list)  # 5xx answers, each with its request

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.failures.append(what)

    def text(self) -> str:
        lines = [f"{k:34} {v}" for k, v in self.figures.items()]
        lines += [f"5xx: {line}" for line in self.fivexx[:20]]
        lines += [f"FAILED: {f}" for f in self.failures] or ["all checks passed"]
        return "\n".join(lines)


class GaveUp(Exception):
    pass


class Client:
    """Requests of one walk: a create is sent again with its Idempotency-Key
    after a cut-off connection or a 5xx, until an answer under 500."""

    def __init__(self, stats: Counter, fivexx: list[str], lock: threading.Lock, patience: float = 120.0):
        self.session = requests.Session()
        self.stats, self.fivexx, self.lock, self.patience = stats, fivexx, lock, patience

    def send(self, method: str, url: str, headers: dict, body: dict | None = None) -> tuple[requests.Response, bool]:
        """The answer, and whether an earlier try was cut off (it may have committed)."""
        headers = {**headers, "Idempotency-Key": str(uuid.uuid4())} if method == "POST" else headers
        deadline = time.monotonic() + self.patience
        cut_off = False
        while True:
            try:
                resp = self.session.request(method, url, json=body, headers=headers, timeout=35)
            except requests.RequestException as exc:
                self._count("connection errors")
                cut_off = True
                last = repr(exc)
            else:
                self._count("requests")
                if resp.status_code < 500:
                    if resp.headers.get("Idempotent-Replayed") == "true":
                        self._count("replayed answers")
                    return resp, cut_off
                self._count("5xx answers")
                with self.lock:
                    self.fivexx.append(f"{method} {url} -> {resp.status_code} {resp.text[:200]}")
                cut_off = True
                last = f"{resp.status_code} {resp.text[:200]}"
            self.session.close()  # a fresh connection for the next try
            if time.monotonic() > deadline:
                raise GaveUp(f"{method} {url}: no answer under 500 in {self.patience:.0f}s; last: {last}")
            self._count("retries")
            time.sleep(0.3)

    def _count(self, what: str) -> None:
        with self.lock:
            self.stats[what] += 1


def walk(client: Client, plans: str, sw: dict, chair: dict, n: int, acknowledged: list[str], lock) -> None:
    """One case from the child's registration to its held initial
    conference with an outline plan; an unexpected answer raises."""
    d0 = date.today() - timedelta(days=40)

    def expect(resp, *codes):
        if resp.status_code not in codes:
            raise AssertionError(f"{resp.request.method} {resp.request.url} -> {resp.status_code} {resp.text[:300]}")
        return resp.json()

    child = expect(client.send("POST", f"{plans}/v1/children", sw, a_child(given_names=f"Walk{n}"))[0], 201)
    case = expect(client.send("POST", f"{plans}/v1/cases", sw, {"child_id": child["id"]})[0], 201)
    case_id = case["id"]
    with lock:
        acknowledged.append(case_id)
    expect(
        client.send("POST", f"{plans}/v1/cases/{case_id}/strategy-discussions", sw, {"held_on": d0.isoformat()})[0], 201
    )
    # The enquiry outcome takes no Idempotency-Key: sent again after a cut-off
    # that had committed, it is a 409, and the case shows the outcome recorded.
    resp, cut_off = client.send(
        "POST",
        f"{plans}/v1/cases/{case_id}/enquiry-outcome",
        sw,
        {"completed_on": (d0 + timedelta(days=7)).isoformat(), "conference_required": True},
    )
    if not (cut_off and resp.status_code == 409):
        expect(resp, 200)
    got = expect(client.send("GET", f"{plans}/v1/cases/{case_id}", sw)[0], 200)
    if got["status"] != "conference_pending":
        raise AssertionError(f"case {case_id} is {got['status']} after its enquiry outcome")
    conf = expect(
        client.send(
            "POST",
            f"{plans}/v1/cases/{case_id}/conferences",
            sw,
            {"kind": "initial", "scheduled_for": (d0 + timedelta(days=14)).isoformat()},
        )[0],
        201,
    )
    held = expect(
        client.send(
            "POST",
            f"{plans}/v1/conferences/{conf['id']}/outcome",
            chair,
            {"held_on": (d0 + timedelta(days=14)).isoformat(), "plan_required": True, "outline_plan": OUTLINE},
        )[0],
        200,
    )
    if held["case"]["status"] != "on_plan":
        raise AssertionError(f"case {case_id} is {held['case']['status']} after its conference")


class Chaos(threading.Thread):
    """Faults at random until stopped: a service worker SIGKILLed, a gunicorn
    web worker SIGKILLed (its master starts another), the broker paused or
    SIGKILLed (the supervisor starts it again)."""

    KINDS = ("worker", "web worker", "broker pause", "broker kill")

    def __init__(self, data: Path, settings: Settings, rng: random.Random):
        super().__init__(daemon=True, name="chaos")
        self.data, self.settings, self.rng = data, settings, rng
        self.stop = threading.Event()
        self.done: Counter = Counter()
        self.log: list[str] = []
        self.error: BaseException | None = None

    def run(self):
        try:
            while not self.stop.wait(self.rng.uniform(*self.settings.kill_every)):
                self.strike(self.rng.choice(self.KINDS), self.rng.choice(SERVICES))
        except BaseException as exc:  # reported by the driver
            self.error = exc

    def strike(self, kind: str, service: str) -> None:
        if kind == "worker":
            pids = worker_pids(str(self.data), service)
            if not pids:
                return  # being started again
            os.kill(pids[0], signal.SIGKILL)
        elif kind == "web worker":
            master = status(self.data, f"{service}-web").get("pid")
            pids = children_of(master) if master else []
            if not pids:
                return
            os.kill(self.rng.choice(pids), signal.SIGKILL)
        elif kind == "broker kill":
            beam = RabbitNode(self.data / "rabbitmq").pid
            if beam is None:
                return  # being started again
            os.kill(beam, signal.SIGKILL)
            service = "rabbitmq"
        else:
            beam = RabbitNode(self.data / "rabbitmq").pid
            if beam is None:
                return  # being started again after a kill
            pause = self.rng.uniform(*self.settings.broker_pause)
            os.kill(beam, signal.SIGSTOP)
            try:
                self.stop.wait(pause)
            finally:
                os.kill(beam, signal.SIGCONT)
            service = "rabbitmq"
        self.done[kind] += 1
        self.log.append(f"{time.strftime('%H:%M:%S')} {kind} {service}")


def status(data: Path, process: str) -> dict:
    try:
        return json.loads((data / "run" / f"{process}.json").read_text())
    except (OSError, ValueError):
        return {}


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2 :].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def queue_depth(broker_url: str, name: str) -> int:
    """Messages ready in queue ``name`` (0 when it was never declared)."""
    with Connection(broker_url, connect_timeout=10) as conn:
        try:
            return Queue(name, durable=True)(conn.channel()).queue_declare(passive=True).message_count
        except conn.channel_errors:
            return 0


matches = topic_matches


def db(data: Path, service: str) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{data / f'{service}.db'}?mode=ro", uri=True, timeout=30)


def published(data: Path) -> dict[str, str]:
    """Every event in every service's outbox: id -> routing key."""
    events = {}
    for service in SERVICES:
        with db(data, service) as conn:
            events.update(conn.execute("SELECT message_id, routing_key FROM _outbox").fetchall())
    return events


def bus_figures(data: Path, service: str) -> tuple[int, Counter, set[str]]:
    """Processed marks, bus counts by outcome and the marked event ids, read in one snapshot."""
    conn = db(data, service)
    try:
        conn.execute("BEGIN")
        marked = {row[0] for row in conn.execute("SELECT event_id FROM _processed WHERE consumer = ?", (service,))}
        counts: Counter = Counter()
        try:
            for (doc,) in conn.execute('SELECT doc FROM "c_bus_stats"'):
                row = json.loads(doc)
                counts[row["kind"]] += row["n"]
        except sqlite3.OperationalError:  # nothing counted yet
            pass
        conn.execute("COMMIT")
    finally:
        conn.close()
    return len(marked), counts, marked


def outbox_backlog(url: str) -> float:
    text = requests.get(f"{url}/metrics", timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("cpp_outbox_backlog"))


def run(settings: Settings, workdir: Path, out=print) -> Report:
    report = Report()
    rng = random.Random(settings.seed)
    data = workdir / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPP_")}
    env.update(
        {
            "CPP_DATA_DIR": str(data),
            "CPP_BUS_RETRY_DELAYS": ",".join(map(str, RETRY_DELAYS)),
            "WEB_CONCURRENCY": "2",
            "CPP_UP_RESTART_MAX_DELAY": "2",
            "CPP_DEMO": "0",
        }
    )  # the walks' own records only: no made-up caseload
    for service in installed_services():  # the web application too, which `cpp up` also starts
        env[f"CPP_{service.upper()}_PORT"] = str(free_port())
    url = {s: f"http://127.0.0.1:{env[f'CPP_{s.upper()}_PORT']}" for s in SERVICES}

    def token(role: str) -> dict:
        named = ["--name", "Sam Social"] if role == "social_worker" else []  # the outline plan's key worker
        done = subprocess.run(
            [sys.executable, "-m", "cpp_shared.cli", "token", "--role", role, "--user", f"{role}-1", *named],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return bearer(done.stdout.strip())

    chaos = Chaos(data, settings, rng)
    finished = threading.Event()  # the walks stop starting new walks
    up = Up(env)
    try:
        up.wait_up()
        sw, chair, auditor = token("social_worker"), token("chair"), token("auditor")
        broker_url = RabbitNode(data / "rabbitmq").amqp_url

        # Walks until the chaos is over; then the last ones finish.
        lock = threading.Lock()
        stats: Counter = Counter()
        acknowledged: list[str] = []
        walk_errors: list[str] = []
        walks_done = Counter()

        def walker(w: int):
            client = Client(stats, report.fivexx, lock)
            n = 0
            while not finished.is_set():
                n += 1
                try:
                    walk(client, url["plans"], sw, chair, w * 100000 + n, acknowledged, lock)
                    with lock:
                        walks_done["completed"] += 1
                except (AssertionError, GaveUp, ValueError) as exc:
                    with lock:
                        walk_errors.append(f"walker {w}: {exc}")
                        walks_done["failed"] += 1
                    time.sleep(1)

        threads = [threading.Thread(target=walker, args=(w,), daemon=True) for w in range(settings.walkers)]
        started = time.monotonic()
        for t in threads:
            t.start()
        chaos.start()
        time.sleep(settings.seconds)
        chaos.stop.set()
        chaos.join(timeout=30)
        finished.set()
        for t in threads:
            t.join(timeout=300)
        report.check(not any(t.is_alive() for t in threads), "a walker did not finish")
        report.check(chaos.error is None, f"the chaos thread failed: {chaos.error!r}")
        report.figures.update(
            {
                "chaos seconds": round(time.monotonic() - started),
                "walkers": settings.walkers,
                "walks completed": walks_done["completed"],
                "walks failed": walks_done["failed"],
                "cases acknowledged": len(acknowledged),
                **{f"faults: {k}": chaos.done[k] for k in Chaos.KINDS},
                **{
                    f"http: {k}": stats[k]
                    for k in ("requests", "connection errors", "5xx answers", "retries", "replayed answers")
                },
            }
        )
        # A killed web worker cuts its connections off (retried); gunicorn and
        # the other worker answer everything else, so no request gets a 5xx.
        report.check(not report.fivexx, f"{len(report.fivexx)} requests answered 5xx")
        report.failures.extend(walk_errors[:10])
        if len(walk_errors) > 10:
            report.failures.append(f"... and {len(walk_errors) - 10} more walk errors")

        # Settled: every process back, nothing left in an outbox or a queue,
        # and each consumer has marked every event meant for it.
        def every_process_running():
            return all(status(data, f"{s}-{r}").get("state") == "running" for s in SERVICES for r in ("web", "worker"))

        wait_for(every_process_running, timeout=60, what="every process to run again")
        wait_for(
            lambda: all(requests.get(f"{url[s]}/readyz", timeout=10).status_code == 200 for s in SERVICES),
            timeout=120,
            interval=0.5,
            what="every service to be ready",
        )

        def missing() -> dict[str, int]:
            events = published(data)
            gaps = {}
            for service in CONSUMERS:
                meant = {e for e, key in events.items() if any(matches(p, key) for p in SUBSCRIPTIONS[service])}
                gaps[service] = len(meant - bus_figures(data, service)[2])
            return gaps

        def settled():
            if any(outbox_backlog(url[s]) for s in SERVICES):
                return False
            queues = [q for s in CONSUMERS for q in (s, *(retry_queue_name(s, d) for d in RETRY_DELAYS))]
            if any(queue_depth(broker_url, q) for q in queues):
                return False
            return not any(missing().values())

        try:
            wait_for(
                settled, timeout=240, interval=1, what="outboxes and queues to empty and every event to be handled"
            )
        except AssertionError as exc:
            report.failures.append(f"{exc}; events not handled, by consumer: {missing()}")

        # Exactly once: one processed mark per event meant for the consumer,
        # and as many as the bus counted consumed or ignored.
        events = published(data)
        report.figures["events published"] = len(events)
        for service in CONSUMERS:
            marks, counts, marked = bus_figures(data, service)
            meant = {e for e, key in events.items() if any(matches(p, key) for p in SUBSCRIPTIONS[service])}
            report.figures[f"{service}: marks / meant"] = f"{marks} / {len(meant)}"
            report.figures[f"{service}: bus counts"] = dict(sorted(counts.items()))
            report.check(meant <= marked, f"{service}: {len(meant - marked)} events never handled")
            report.check(marked <= set(events), f"{service}: {len(marked - set(events))} marks of unknown events")
            report.check(
                counts["consumed"] + counts["ignored"] == marks,
                f"{service}: consumed + ignored = {counts['consumed'] + counts['ignored']}, marks = {marks}",
            )
            report.check(counts["parked"] == 0, f"{service}: {counts['parked']} messages parked")
            depth = queue_depth(broker_url, parked_queue_name(service))
            report.figures[f"{service}: parked queue"] = depth
            report.check(depth == 0, f"{parked_queue_name(service)} holds {depth} messages")

        # Every acknowledged case is there, and each consumer shows each of its events once.
        twice = Counter()
        for case_id in acknowledged:
            got = requests.get(f"{url['plans']}/v1/cases/{case_id}", headers=auditor, timeout=30)
            report.check(got.status_code == 200, f"acknowledged case {case_id} is {got.status_code}")
            for service in CASE_EVENTS:
                seen = requests.get(f"{url[service]}/v1/cases/{case_id}/events", headers=auditor, timeout=30)
                if seen.status_code != 200:
                    report.failures.append(f"{service} events of {case_id}: {seen.status_code}")
                    continue
                ids = [e["event_id"] for e in seen.json()["events"]]
                twice[service] += len(ids) - len(set(ids))
        for service in CASE_EVENTS:
            report.check(twice[service] == 0, f"{service} shows {twice[service]} case events twice")
        report.figures["cases checked"] = len(acknowledged)

        restarts = {
            f"{s}-{r}": status(data, f"{s}-{r}").get("restarts", 0) for s in SERVICES for r in ("web", "worker")
        }
        report.figures["restarts by cpp up"] = {k: v for k, v in restarts.items() if v}
        report.check(every_process_running(), "a process is not running at the end")
        report.check(up.proc.poll() is None, f"cpp up stopped:\n{up.output()[-2000:]}")
        for line in chaos.log:
            out(f"  fault {line}")
        code = up.ctrl_c()
        report.check(code == 0, f"cpp up exited {code} on Ctrl-C")
    finally:
        chaos.stop.set()  # on a failure too: no more faults, the broker resumed
        finished.set()
        if chaos.is_alive():
            chaos.join(timeout=30)
        if up.proc.poll() is None:
            try:
                up.ctrl_c()
            except subprocess.TimeoutExpired:
                up.proc.kill()
                up.proc.wait(timeout=30)
    left = leftover_processes(str(data))
    report.check(left == [], f"processes left behind: {left}")
    return report


def main() -> int:
    settings = Settings.from_env(seconds=240.0, walkers=8, kill_every=(1.0, 4.0))
    print(f"chaos: {settings}", flush=True)
    with tempfile.TemporaryDirectory(prefix="cpp-chaos-") as tmp:
        report = run(settings, Path(tmp), out=lambda line: print(line, flush=True))
    print(report.text(), flush=True)
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
