"""Notify benchmark: the fan-out of events to partner subscriptions, delivered
as signed webhooks to receivers on loopback, against the raw rate at which
the same receivers accept plain POSTs, measured in the same run (the
machines are shared and noisy: absolute rates drift, ratios much less).

    make bench                                          # with the other benchmarks
    .venv/bin/python bench/notify.py --events 200       # a quicker run
    .venv/bin/python bench/notify.py --via inprocess    # no broker, no worker process

Receivers: S HTTP/1.1 keep-alive servers on 127.0.0.1 (a small threaded
server, a thread per connection), all in one process of their own, so that
they never share an interpreter lock with the dispatcher. Each records the
arrival time (time.time(), one clock for every process of the machine) of
each ``webhook-id``, and verifies every signed request with the
standardwebhooks library as a partner would (``--no-verify`` to skip; the
cost of one verification is measured and printed, with the receivers' CPU
time per request, so it is plain whether it matters). A request is answered
200 whatever the verification says; the failures are counted.

Subscriptions: S, one per receiver, made through the API by an admin
(``owner`` a partner organisation, ``allow_private``, ``event_types``
["plan.*"], the default scope), in a fresh notify store (SQLite, in a
temporary CPP_DATA_DIR) each round.

Events: E plan events (plan.created, plan.activated, then plan.version_agreed
and plan.reviewed in turn) over P plans, in round-robin order over the plans,
so each subscription has P chains of about E/P deliveries each that must be
delivered in order. Each event is owed to every subscription: E x S deliveries.

Platform, ``--via broker`` (the default; a private RabbitMQ node unless
CPP_BENCH_BROKER_URL is set): a real notify worker process (``cpp worker
notify``: outbox relay, event consumer with its group commits, dispatcher
loop with DISPATCH_THREADS = --threads) consumes the events, which the bench
publishes to ``cpp.events`` as the plans service's relay does (persistent,
confirmed). ``--via inprocess``: the handlers are run in the bench process
as tests.helpers.hand_over does (one unit of work per event, marked
processed, the dispatcher woken; run again at once on a version conflict),
with ``Dispatcher.loop`` in a thread; no broker. Either way the E events are
handed over as fast as they go.
  deliveries/s   E x S / (last arrival - first hand-over)
  settled/s      E x S / (last delivered_at in the store - first hand-over)
  latency        per delivery: arrival at its receiver - its event's hand-over
                 (the moment before publish, or before the handlers ran)
From the store afterwards: when the last delivery was owed (its handler
ran), the delivery rate before and after that moment, and the median gap
between consecutive settlements (the dispatcher settles one at a time);
version conflicts the handlers met (in the worker's log: events that went
through the consumer's retry queue).

Baselines, the same receivers in the same round:
  raw POSTs      E x S plain POSTs (no signature headers) of the deliveries'
                 own bodies, from --threads client threads, each receiver
                 through a urllib3 pool of --threads connections (as the
                 dispatcher's sender keeps them), round-robin over receivers
  send path      E x S of the dispatcher's own send (Dispatcher._send: the
                 subscription's secret opened, signed, the address checked,
                 POSTed by its Sender) from --threads threads: no store

The ratio reported is the platform's deliveries/s over the raw POSTs/s; the
report does not assert, it tells. Results go to bench/results/notify.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import shutil
import socket
import socketserver
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from datetime import UTC

import urllib3  # noqa: E402
from standardwebhooks.webhooks import Webhook, WebhookVerificationError  # noqa: E402

EVENT_TYPES = ("plan.created.v1", "plan.activated.v1", "plan.version_agreed.v1", "plan.reviewed.v1")
CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
RECEIVER_PATH = "/hook"
AUTHORITY = "ENG"
DEFAULT_THREADS = 16  # the dispatcher's default DISPATCH_THREADS

# ---------------------------------------------------------------- receivers (a process of their own)

_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


class _Receiver:
    """One receiver's state, in the receivers' process."""

    def __init__(self, index: int, tally: _Tally):
        self.index = index
        self.tally = tally
        self.webhook: Webhook | None = None
        self.arrivals: list[tuple[str, float]] = []


class _Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.requests = self.verified = self.verify_failed = self.unsigned = 0
        self.verify_s = 0.0
        self.cpu_mark = time.process_time()


def _handler(rx: _Receiver):
    class Handler(socketserver.StreamRequestHandler):
        """HTTP/1.1 keep-alive, POST with a Content-Length, nothing else."""

        def setup(self):
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def handle(self):
            rfile, tally = self.rfile, rx.tally
            while True:
                line = rfile.readline(65537)
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    continue
                headers: dict[str, str] = {}
                while True:
                    h = rfile.readline(65537)
                    if h in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = h.partition(b":")
                    headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
                body = rfile.read(int(headers.get("content-length") or 0))
                arrived = time.time()
                msg_id = headers.get("webhook-id")
                verified = failed = unsigned = 0
                spent = 0.0
                if msg_id is not None:
                    rx.arrivals.append((msg_id, arrived))  # list.append: atomic
                if "webhook-signature" not in headers or rx.webhook is None:
                    unsigned = 1
                else:
                    started = time.perf_counter()
                    try:
                        rx.webhook.verify(body, headers)  # and parses the JSON, as a receiver would
                        verified = 1
                    except WebhookVerificationError:
                        failed = 1
                    spent = time.perf_counter() - started
                with tally.lock:  # counted before the answer, so a collect after the last answer sees it
                    tally.requests += 1
                    tally.verified += verified
                    tally.verify_failed += failed
                    tally.unsigned += unsigned
                    tally.verify_s += spent
                self.wfile.write(_RESPONSE)
                if headers.get("connection", "").lower() == "close":
                    return

    return Handler


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    request_queue_size = 512  # the listen backlog: many pooled connections open at once


def receivers_main(count: int, verify: bool) -> int:
    """The receivers' process: S servers, driven by JSON lines on stdin."""
    tally = _Tally()
    receivers = [_Receiver(i, tally) for i in range(count)]
    servers = []
    for rx in receivers:
        server = _Server(("127.0.0.1", 0), _handler(rx))
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.5}, daemon=True).start()
        servers.append(server)

    def reply(obj: dict) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    reply({"ports": [s.server_address[1] for s in servers], "pid": os.getpid()})
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd["op"]
        if op == "secrets":
            for rx, secret in zip(receivers, cmd["secrets"]):
                rx.webhook = Webhook(secret) if (secret and verify) else None
            reply({"ok": True})
        elif op == "reset":
            for rx in receivers:
                rx.arrivals = []
            with tally.lock:
                tally.reset()
            reply({"ok": True})
        elif op == "count":
            reply({"requests": tally.requests})
        elif op == "collect":
            with tally.lock:
                stats = {
                    "requests": tally.requests,
                    "verified": tally.verified,
                    "verify_failed": tally.verify_failed,
                    "unsigned": tally.unsigned,
                    "verify_s": tally.verify_s,
                    "cpu_s": time.process_time() - tally.cpu_mark,
                }
            stats["arrivals"] = [[rx.index, msg_id, t] for rx in receivers for msg_id, t in list(rx.arrivals)]
            reply(stats)
        else:
            reply({"error": f"unknown op {op!r}"})
    for server in servers:
        server.shutdown()
        server.server_close()
    return 0


class Receivers:
    """The receivers' process, seen from the bench."""

    def __init__(self, count: int, *, verify: bool = True):
        argv = [sys.executable, str(Path(__file__).resolve()), "--serve-receivers", str(count)]
        if not verify:
            argv.append("--no-verify")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        first = self.proc.stdout.readline()
        if not first:
            self.proc.wait(10)
            raise RuntimeError(f"the receivers' process exited ({self.proc.returncode}) before listening")
        hello = json.loads(first)
        self.ports: list[int] = hello["ports"]
        self.pid: int = hello["pid"]
        self.verify = verify

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p}{RECEIVER_PATH}" for p in self.ports]

    def call(self, op: str, **kw) -> dict:
        self.proc.stdin.write(json.dumps({"op": op, **kw}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the receivers' process went away ({self.proc.poll()})")
        return json.loads(line)

    def set_secrets(self, secrets: list[str | None]) -> None:
        self.call("secrets", secrets=secrets)

    def reset(self) -> None:
        self.call("reset")

    def count(self) -> int:
        return self.call("count")["requests"]

    def collect(self) -> dict:
        return self.call("collect")

    def wait_for(self, n: int, timeout: float, poll: float = 0.05) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count() >= n:
                return True
            time.sleep(poll)
        return False

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def verify_cost(body: str, rounds: int = 2000) -> float:
    """Seconds of one standardwebhooks verification of ``body`` (signed as the
    sender signs), in this process: what each receiver adds per delivery."""
    from datetime import datetime  # noqa: PLC0415

    from cpp_notify.domain.subscriptions import new_secret  # noqa: PLC0415
    from cpp_notify.sender import signature_header  # noqa: PLC0415

    secret = new_secret()
    now = datetime.now(UTC)
    headers = {
        "webhook-id": "msg_x",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature_header([secret], "msg_x", now, body),
    }
    wh = Webhook(secret)
    raw = body.encode()
    wh.verify(raw, headers)
    start = time.perf_counter()
    for _ in range(rounds):
        wh.verify(raw, headers)
    return (time.perf_counter() - start) / rounds


# ---------------------------------------------------------------- events and the notify service


def plan_events(n: int, plans: int, round_no: int = 1) -> list[dict]:
    """``n`` plan events over ``plans`` plans, round-robin over the plans,
    each carrying the plan's snapshot as the plans service publishes it
    (lifecycle.plan_snapshot: the key worker's contact beside the content)."""
    from cpp_shared.messaging.events import new_event  # noqa: PLC0415

    events = []
    for i in range(n):
        p, k = i % plans, i // plans
        etype = EVENT_TYPES[k] if k < 2 else EVENT_TYPES[2 + k % 2]
        plan_id, key_worker = f"plan-r{round_no}-{p:05d}", {"name": "Sam Social", "phone": "020 7946 0000"}
        data = {
            "plan_id": plan_id,
            "case_id": f"case-r{round_no}-{p:05d}",
            "child_id": f"child-r{round_no}-{p:05d}",
            "status": "outline" if k == 0 else "active",
            "plan_version": k + 1,
            "created_on": "2026-11-02",
            "activated_on": None if k == 0 else "2026-11-16",
            "ended": None,
            "agreed": None if k == 0 else {"by": "sw-1", "on": "2026-11-16", "at": "core_group_meeting"},
            "key_worker": {**key_worker, "role": "social worker", "team": None, "email": None},
            "categories": ["neglect"],
            "content": {
                "key_worker": key_worker,
                "categories": ["neglect"],
                "concerns": "Home conditions and missed health appointments.",
                "childs_views": "Ana says she likes her new bed.",
            },
        }
        events.append(new_event(etype, source="/services/plans", subject=plan_id, data=data, authority=AUTHORITY))
    return events


def delivery_bodies(events: list[dict]) -> list[bytes]:
    """The bodies the handlers store for a subscription of the default scope."""
    from cpp_notify.domain.minimise import DEFAULT_CLASSES, minimise  # noqa: PLC0415
    from cpp_notify.runtime import EVENT_CATALOGUE  # noqa: PLC0415

    return [
        json.dumps(minimise(e, list(DEFAULT_CLASSES), EVENT_CATALOGUE), separators=(",", ":"), sort_keys=True).encode()
        for e in events
    ]


def notify_env(data_dir: Path, broker_url: str, threads: int) -> dict[str, str]:
    return {
        "CPP_MODE": "development",
        "CPP_DATA_DIR": str(data_dir),
        "CPP_BROKER_URL": broker_url,
        "CPP_PLUGINS": "england",
        "CPP_LOG_FORMAT": "json",
        "CPP_NOTIFY_DISPATCH_THREADS": str(threads),
    }


def notify_app(env: dict[str, str]):
    from cpp_notify.app import create_app  # noqa: PLC0415
    from cpp_shared.config import Settings  # noqa: PLC0415

    return create_app(Settings.from_env("notify", env))


def subscribe_all(app, urls: list[str]) -> list[dict]:
    """One subscription per receiver, made by an admin through the API;
    returns each as the API answered (with its secret)."""
    from cpp_shared.auth import issue_dev_token  # noqa: PLC0415

    ctx = app.extensions["cpp"]
    token = issue_dev_token(ctx.settings, role="admin", authority=AUTHORITY, user="bench-admin")
    client = app.test_client()
    subs = []
    for i, url in enumerate(urls):
        r = client.post(
            "/v1/subscriptions",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "url": url,
                "event_types": ["plan.*"],
                "owner": f"partner-{i:02d}",
                "allow_private": True,
                "description": "bench receiver",
            },
        )
        if r.status_code != 201:
            raise RuntimeError(f"subscribing {url}: HTTP {r.status_code} {r.get_data(as_text=True)}")
        subs.append(r.get_json())
    return subs


def expected_ids(events: list[dict], subs: list[dict]) -> dict[str, str]:
    """webhook-id -> event id, for every delivery owed (the handlers' naming)."""
    return {f"msg_{e['id']}_{s['id'][4:]}": e["id"] for e in events for s in subs}


def hand_over(ctx, event: dict, tries: int = 100) -> int:
    """The handlers run as the worker's consumer runs them, without a broker: one unit of work, marked
    processed. A version conflict (the dispatcher advanced one of the event's chains meanwhile) runs them again
    on fresh state, at once (the consumer tries twice, then goes through its retry queue, and parks the event
    after its last retry); returns the conflicts met."""
    from cpp_shared.testing import hand_over as apply  # noqa: PLC0415

    return apply(ctx, event, tries=tries)


# ---------------------------------------------------------------- the platform path


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), int(-(-q * len(sorted_values) // 100))))
    return sorted_values[rank - 1]


def settle_report(store, owed: int, handed_first: float, timeout: float) -> dict:
    """Wait until the store shows every delivery delivered; then, from the
    stored deliveries: when the last was delivered, when the last was owed
    (its handler ran), the delivery rate before and after that moment, and
    the dispatcher's settle cadence (the gaps between consecutive attempts'
    ``at``, each taken as its settlement began: settlements are one at a
    time, so the median gap is about what settling one costs)."""
    from cpp_notify import store as st  # noqa: PLC0415

    deliveries = store.collection(st.DELIVERIES)
    deadline = time.monotonic() + timeout
    while deliveries.count_documents({"state": "delivered"}) < owed and time.monotonic() < deadline:
        time.sleep(0.05)
    docs = deliveries.find({})
    delivered = sorted(d["delivered_at"] for d in docs if d["state"] == "delivered")
    attempts = sum(d["attempt_count"] for d in docs)
    last = delivered[-1] if delivered else float("nan")
    owed_at = max((d["created_at"] for d in docs), default=float("nan"))
    before = sum(1 for t in delivered if t <= owed_at)
    send_ms = sorted(a["latency_ms"] for d in docs for a in d["attempts"])
    settles = sorted(a["at"] for d in docs for a in d["attempts"])
    gaps = sorted(b - a for a, b in zip(settles, settles[1:]))
    return {
        "stored": len(docs),
        "delivered_in_store": len(delivered),
        "attempts": attempts,
        "settled_s": last - handed_first,
        "owed_s": owed_at - handed_first,
        "rate_while_owing": before / (owed_at - handed_first) if owed_at > handed_first else float("nan"),
        "rate_after_owing": (len(delivered) - before) / (last - owed_at) if last > owed_at else float("nan"),
        "settle_gap_ms": percentile(gaps, 50) * 1000,
        "send_ms": {"p50": percentile(send_ms, 50), "p95": percentile(send_ms, 95), "p99": percentile(send_ms, 99)},
    }


def arrival_report(collected: dict, expected: dict[str, str], handed: dict[str, float]) -> dict:
    """Exactly once? And the latencies from hand-over to arrival."""
    seen: dict[str, int] = {}
    latencies, first_arrival, last_arrival = [], float("inf"), float("-inf")
    unexpected = 0
    for _, msg_id, t in collected["arrivals"]:
        event_id = expected.get(msg_id)
        if event_id is None:
            unexpected += 1
            continue
        n = seen[msg_id] = seen.get(msg_id, 0) + 1
        if n == 1:
            latencies.append((t - handed[event_id]) * 1000)
            first_arrival, last_arrival = min(first_arrival, t), max(last_arrival, t)
    latencies.sort()
    first_handed = min(handed.values())
    return {
        "owed": len(expected),
        "arrived": len(seen),
        "missing": len(expected) - len(seen),
        "duplicates": sum(n - 1 for n in seen.values()),
        "unexpected": unexpected,
        "verified": collected["verified"],
        "verify_failed": collected["verify_failed"],
        "unsigned": collected["unsigned"],
        "receiver_requests": collected["requests"],
        "receiver_cpu_s": collected["cpu_s"],
        "receiver_verify_s": collected["verify_s"],
        "first_arrival_ms": (first_arrival - first_handed) * 1000 if latencies else float("nan"),
        "elapsed_s": last_arrival - first_handed if latencies else float("nan"),
        "latency_ms": {
            "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95),
            "p99": percentile(latencies, 99),
            "max": latencies[-1] if latencies else float("nan"),
        },
    }


def _finish(rx: Receivers, store, expected: dict, handed: dict, handover_s: float, timeout: float) -> dict:
    owed = len(expected)
    rx.wait_for(owed, timeout)
    result = arrival_report(rx.collect(), expected, handed)
    result.update(settle_report(store, owed, min(handed.values()), timeout=min(timeout, 60.0)))
    result["handover_s"] = handover_s
    result["rate"] = owed / result["elapsed_s"] if result["arrived"] == owed else float("nan")
    result["settled_rate"] = owed / result["settled_s"] if result["delivered_in_store"] == owed else float("nan")
    return result


def platform_inprocess(rx: Receivers, events: list[dict], workdir: Path, threads: int, timeout: float) -> dict:
    """The handlers in this process, the dispatcher's loop in a thread."""
    from cpp_notify.dispatcher import Dispatcher  # noqa: PLC0415
    from cpp_notify.runtime import runtime  # noqa: PLC0415

    # Nothing listens on the broker URL: in-process, nothing is published (the outbox only fills).
    app = notify_app(notify_env(workdir, f"amqp://guest:guest@127.0.0.1:{_free_port()}//", threads))
    ctx = app.extensions["cpp"]
    subs = subscribe_all(app, rx.urls)
    rx.set_secrets([s["secret"] for s in subs])
    expected = expected_ids(events, subs)
    rt = runtime(ctx)
    rt.dispatcher = Dispatcher(ctx, box=rt.box)
    stop = threading.Event()
    loop = threading.Thread(target=rt.dispatcher.loop, args=(stop,), name="notify-dispatch", daemon=True)
    rx.reset()
    loop.start()
    handed: dict[str, float] = {}
    conflicts = []
    try:
        start = time.time()
        for event in events:
            handed[event["id"]] = time.time()
            conflicts.append(hand_over(ctx, event))  # wakes the dispatcher
        handover_s = time.time() - start
        result = _finish(rx, ctx.store, expected, handed, handover_s, timeout)
        result["handler_conflicts"] = sum(conflicts)
        result["events_conflicted"] = sum(1 for c in conflicts if c)
        result["most_conflicts_per_event"] = max(conflicts)
    finally:
        stop.set()
        rt.dispatcher.wake()
        loop.join(30)
        ctx.store.close()
    result.update(via="inprocess", dispatch_threads=rt.dispatcher.threads, dispatch_batch=rt.dispatcher.batch)
    return result


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Worker:
    """``cpp worker notify``, a process of its own (its own session, so it and
    only it is stopped)."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.log_path = log_path
        self.log = open(log_path, "wb")
        code = "import sys; from cpp_shared.cli import main; sys.exit(main())"
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("CPP_")}  # only the bench's settings
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, "worker", "notify"],
            env={**inherited, **env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


def _queue_state(channel, name: str) -> tuple[int, int]:
    ok = channel.queue_declare(queue=name, passive=True)
    return ok.message_count, ok.consumer_count


def platform_broker(
    rx: Receivers, events: list[dict], workdir: Path, threads: int, timeout: float, broker_url: str
) -> dict:
    """A real notify worker process; the events published to the broker."""
    from kombu import Connection, Producer  # noqa: PLC0415

    from cpp_shared.messaging import topology  # noqa: PLC0415
    from cpp_shared.messaging.events import CONTENT_TYPE as EVENT_CONTENT_TYPE  # noqa: PLC0415

    env = notify_env(workdir, broker_url, threads)
    app = notify_app(env)
    ctx = app.extensions["cpp"]
    subs = subscribe_all(app, rx.urls)
    rx.set_secrets([s["secret"] for s in subs])
    expected = expected_ids(events, subs)
    conn = Connection(broker_url, transport_options={"confirm_publish": True}, connect_timeout=10)
    channel = conn.channel()
    topology.declare_all(channel)
    worker = Worker(env, workdir / "worker.log")
    try:
        # Ready: consuming, and the subscriptions' own events relayed and handled.
        deadline = time.monotonic() + 90
        while True:
            if not worker.alive():
                raise RuntimeError(f"the notify worker exited ({worker.proc.returncode}):\n{worker.tail()}")
            waiting, consumers = _queue_state(channel, "notify")
            if consumers and not waiting and ctx.store.outbox_stats().pending == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the notify worker did not start consuming:\n{worker.tail()}")
            time.sleep(0.1)
        time.sleep(0.5)
        rx.reset()
        producer = Producer(channel, exchange=topology.events_exchange)
        bodies = [json.dumps(e, separators=(",", ":")) for e in events]
        handed: dict[str, float] = {}
        start = time.time()
        for event, body in zip(events, bodies):
            handed[event["id"]] = time.time()
            producer.publish(
                body,
                routing_key=event["type"],
                message_id=event["id"],
                content_type=EVENT_CONTENT_TYPE,
                content_encoding="utf-8",
                delivery_mode=2,
                headers={},
                retry=False,
            )
        handover_s = time.time() - start
        result = _finish(rx, ctx.store, expected, handed, handover_s, timeout)
        if not worker.alive():
            result["worker_exit"] = worker.proc.returncode
    finally:
        worker.stop()
        conn.release()
        ctx.store.close()
    log = worker.log_path.read_text(errors="replace")
    # The consumer's second try after a conflict goes through its retry queue (a delay of CPP_BUS_RETRY_DELAYS[0]).
    result["handler_conflicts"] = log.count("handler failed; will retry")
    result["worker_errors"] = sum(1 for line in log.splitlines() if '"level": "error"' in line)
    result.update(
        via="broker", dispatch_threads=threads, dispatch_batch=int(env.get("CPP_NOTIFY_DISPATCH_BATCH", "200"))
    )
    return result


# ---------------------------------------------------------------- baselines


def _run_threads(threads: int, total: int, work) -> float:
    """``work(i)`` for i in 0..total-1 from ``threads`` threads; seconds."""
    counter = itertools.count()

    def run():
        while True:
            i = next(counter)  # atomic
            if i >= total:
                return
            work(i)

    pool = [threading.Thread(target=run) for _ in range(threads)]
    start = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return time.perf_counter() - start


def raw_posts(rx: Receivers, bodies: list[bytes], total: int, threads: int) -> dict:
    """Plain POSTs through urllib3 pools, as many client threads as the
    dispatcher has; each answer read and its connection returned."""
    timeout = urllib3.Timeout(connect=5.0, read=15.0)
    pools = [
        urllib3.HTTPConnectionPool("127.0.0.1", port, timeout=timeout, retries=False, maxsize=threads, block=False)
        for port in rx.ports
    ]
    headers = {"Content-Type": CONTENT_TYPE, "User-Agent": "bench-raw/1"}
    statuses: dict[int, int] = {}
    n_rx, n_bodies = len(pools), len(bodies)

    def post(i: int) -> None:
        resp = pools[i % n_rx].urlopen(
            "POST",
            RECEIVER_PATH,
            body=bodies[(i // n_rx) % n_bodies],
            headers=headers,
            redirect=False,
            retries=False,
            preload_content=False,
        )
        try:
            resp.read(64 * 1024)
        finally:
            resp.release_conn()
        with lock:
            statuses[resp.status] = statuses.get(resp.status, 0) + 1

    lock = threading.Lock()
    rx.reset()
    seconds = _run_threads(threads, total, post)
    collected = rx.collect()
    for pool in pools:
        pool.close()
    return {
        "requests": total,
        "seconds": seconds,
        "rate": total / seconds,
        "received": collected["requests"],
        "ok": statuses.get(200, 0),
        "receiver_cpu_s": collected["cpu_s"],
    }


def send_path(rx: Receivers, bodies: list[bytes], total: int, threads: int, workdir: Path) -> dict:
    """Dispatcher._send (open the secret, sign, check the address, POST) from
    ``threads`` threads, for subscriptions made as the platform run makes
    them: the dispatcher's sending without its store."""
    from cpp_notify.dispatcher import Dispatcher  # noqa: PLC0415
    from cpp_notify.runtime import runtime  # noqa: PLC0415

    app = notify_app(notify_env(workdir, f"amqp://guest:guest@127.0.0.1:{_free_port()}//", threads))
    ctx = app.extensions["cpp"]
    made = subscribe_all(app, rx.urls)
    rx.set_secrets([s["secret"] for s in made])
    subs = [ctx.store.collection("subscriptions").find_one({"_id": s["id"]}) for s in made]
    dispatcher = Dispatcher(ctx, box=runtime(ctx).box)
    texts = [b.decode() for b in bodies]
    n_rx, n_bodies = len(subs), len(texts)
    statuses: dict[int | None, int] = {}

    def send(i: int) -> None:
        outcome = dispatcher._send({"_id": f"bench_{i}", "body": texts[(i // n_rx) % n_bodies]}, subs[i % n_rx])
        with lock:
            statuses[outcome.status] = statuses.get(outcome.status, 0) + 1

    lock = threading.Lock()
    rx.reset()
    seconds = _run_threads(threads, total, send)
    collected = rx.collect()
    dispatcher.sender.close()
    ctx.store.close()
    return {
        "requests": total,
        "seconds": seconds,
        "rate": total / seconds,
        "received": collected["requests"],
        "ok": statuses.get(200, 0),
        "verified": collected["verified"],
        "verify_failed": collected["verify_failed"],
        "receiver_cpu_s": collected["cpu_s"],
    }


# ---------------------------------------------------------------- the run


def machine_notes(workdir: Path) -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    fs = ""
    try:  # the mount holding the data directory
        best = ""
        for line in Path("/proc/mounts").read_text().splitlines():
            _, mount, kind, *_ = line.split()
            if str(workdir.resolve()).startswith(mount) and len(mount) >= len(best):
                best, fs = mount, f"{kind} on {mount}"
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": model,
        "loadavg": list(os.getloadavg()),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "urllib3": urllib3.__version__,
        "data_fs": fs,
    }


def run_bench(
    *,
    events: int,
    subscribers: int,
    plans: int,
    threads: int,
    via: str = "broker",
    rounds: int = 1,
    verify: bool = True,
    timeout: float | None = None,
    broker_url: str | None = None,
    workdir: Path | None = None,
    progress=print,
) -> dict:
    """Rounds of (raw POSTs, send path, platform) on one set of receivers;
    returns every figure, medians and the ratio."""
    from cpp_shared.logs import configure  # noqa: PLC0415

    if via not in ("broker", "inprocess"):
        raise ValueError(f"via must be broker or inprocess, not {via!r}")
    configure("bench", "console", level=40)  # errors only: logging is not what is measured
    own_workdir = workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="cpp-bench-notify-")) if own_workdir else workdir
    owed = events * subscribers
    timeout = timeout if timeout is not None else max(60.0, owed / 50)
    notes = machine_notes(workdir)
    node = None
    rx = Receivers(subscribers, verify=verify)
    try:
        if via == "broker" and broker_url is None:
            from cpp_shared.broker import RabbitNode  # noqa: PLC0415

            progress("starting a private RabbitMQ node ...", flush=True)
            node = RabbitNode(workdir / "rabbit")
            node.start(owner_pid=os.getpid())
        rows = []
        for round_no in range(rounds):
            evs = plan_events(events, plans, round_no + 1)
            bodies = delivery_bodies(evs)
            if round_no == 0:
                one_verify = verify_cost(bodies[0].decode())
            raw = raw_posts(rx, bodies, owed, threads)
            progress(f"round {round_no + 1}: raw POSTs {raw['rate']:,.0f}/s", flush=True)
            sent = send_path(rx, bodies, owed, threads, workdir / f"send-{round_no}")
            progress(f"round {round_no + 1}: send path {sent['rate']:,.0f}/s", flush=True)
            data = workdir / f"platform-{round_no}"
            if via == "broker":
                url = broker_url
                if node is not None:
                    url = node.add_vhost(f"bench-{round_no}-{uuid.uuid4().hex[:6]}")
                plat = platform_broker(rx, evs, data, threads, timeout, url)
            else:
                plat = platform_inprocess(rx, evs, data, threads, timeout)
            progress(
                f"round {round_no + 1}: platform {plat['rate']:,.0f} deliveries/s, "
                f"p95 {plat['latency_ms']['p95']:,.0f} ms ({plat['arrived']:,} of {plat['owed']:,} arrived)",
                flush=True,
            )
            rows.append({"raw": raw, "send_path": sent, "platform": plat})
        notes["loadavg_after"] = list(os.getloadavg())
    finally:
        rx.close()
        if node is not None:
            node.destroy()
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)

    def med(path: str) -> float:
        values = []
        for row in rows:
            v = row
            for key in path.split("."):
                v = v[key]
            values.append(v)
        return statistics.median(values)

    medians = {
        k: med(k)
        for k in (
            "raw.rate",
            "send_path.rate",
            "platform.rate",
            "platform.settled_rate",
            "platform.elapsed_s",
            "platform.handover_s",
            "platform.first_arrival_ms",
            "platform.latency_ms.p50",
            "platform.latency_ms.p95",
            "platform.latency_ms.p99",
            "platform.latency_ms.max",
            "platform.send_ms.p50",
            "platform.send_ms.p95",
            "platform.owed_s",
            "platform.rate_while_owing",
            "platform.rate_after_owing",
            "platform.settle_gap_ms",
        )
    }
    body_sizes = [len(b) for b in bodies]
    return {
        "config": {
            "events": events,
            "subscribers": subscribers,
            "plans": plans,
            "threads": threads,
            "via": via,
            "rounds": rounds,
            "verify": verify,
            "deliveries": owed,
            "body_bytes": {"min": min(body_sizes), "median": statistics.median(body_sizes), "max": max(body_sizes)},
        },
        "machine": notes,
        "verify_us": one_verify * 1e6,
        "rounds": rows,
        "medians": medians,
        "ratio": medians["platform.rate"] / medians["raw.rate"],
        "send_path_ratio": medians["send_path.rate"] / medians["raw.rate"],
    }


def _ms(v: float) -> str:
    return f"{v:,.0f} ms" if v == v else "-"


def _rate(v: float) -> str:
    return f"{v:,.0f}/s" if v == v else "-"


def print_report(r: dict) -> None:
    c, m, md = r["config"], r["machine"], r["medians"]
    via = {
        "broker": "a notify worker process (cpp worker notify: relay, consumer, dispatcher) fed through RabbitMQ",
        "inprocess": "IN-PROCESS: the handlers run as tests.helpers.hand_over does, Dispatcher.loop in a "
        "thread, no broker",
    }[c["via"]]
    print()
    print(
        f"notify fan-out: {c['events']:,} events over {c['plans']:,} plans to {c['subscribers']} subscribers "
        f"= {c['deliveries']:,} deliveries; {c['threads']} sending threads; bodies {c['body_bytes']['min']}-"
        f"{c['body_bytes']['max']} bytes; {c['rounds']} round(s) (medians)"
    )
    print(f"platform path: {via}")
    print(
        f"machine: nproc {m['nproc']} ({m['usable_cpus']} usable), {m['cpu']}; load average "
        f"{' '.join(f'{x:.2f}' for x in m['loadavg'])} before, "
        f"{' '.join(f'{x:.2f}' for x in m.get('loadavg_after', []))} after; Python {m['python']}, "
        f"SQLite {m['sqlite']}, urllib3 {m['urllib3']}; store on {m['data_fs']}"
    )
    last = r["rounds"][-1]
    raw, sent, plat = last["raw"], last["send_path"], last["platform"]
    per = {
        name: row["receiver_cpu_s"] / max(1, row.get("received", row.get("receiver_requests", 0))) * 1e6
        for name, row in (("raw", raw), ("send path", sent), ("platform", plat))
    }
    if c["verify"]:
        print(
            f"receivers (one process, {c['subscribers']} servers) verify every signed request with "
            f"standardwebhooks: {r['verify_us']:.0f} us each; their CPU per request (last round): "
            + ", ".join(f"{n} {us:.0f} us" for n, us in per.items())
        )
    else:
        print(
            "receivers do not verify signatures (--no-verify); their CPU per request (last round): "
            + ", ".join(f"{n} {us:.0f} us" for n, us in per.items())
        )
    print()
    print(f"{'':46} {'per second':>11} {'of raw':>8}")
    print(f"{'raw POSTs (urllib3, unsigned)':46} {md['raw.rate']:>11,.0f} {1:>8.1%}")
    print(f"{'send path (Dispatcher._send, no store)':46} {md['send_path.rate']:>11,.0f} {r['send_path_ratio']:>8.1%}")
    print(f"{'platform: events handed over -> all arrived':46} {md['platform.rate']:>11,.0f} {r['ratio']:>8.1%}")
    print(
        f"{'platform: events handed over -> all settled':46} {md['platform.settled_rate']:>11,.0f} "
        f"{md['platform.settled_rate'] / md['raw.rate']:>8.1%}"
    )
    print()
    print(
        f"latency, event handed over -> arrival: p50 {_ms(md['platform.latency_ms.p50'])}, "
        f"p95 {_ms(md['platform.latency_ms.p95'])}, p99 {_ms(md['platform.latency_ms.p99'])}, "
        f"max {_ms(md['platform.latency_ms.max'])}; first arrival {_ms(md['platform.first_arrival_ms'])}"
    )
    print(
        f"timeline: events handed over in {md['platform.handover_s']:.2f} s; every delivery owed (handlers run) "
        f"after {md['platform.owed_s']:.2f} s; all arrived after {md['platform.elapsed_s']:.2f} s"
    )
    print(
        f"dispatcher: {_rate(md['platform.rate_while_owing'])} delivered while events were still being handled, "
        f"{_rate(md['platform.rate_after_owing'])} after; median gap between consecutive settlements "
        f"{md['platform.settle_gap_ms']:.2f} ms; each POST as the sender timed it: p50 "
        f"{md['platform.send_ms.p50']:.1f} ms, p95 {md['platform.send_ms.p95']:.1f} ms"
    )
    conflicts = plat.get("handler_conflicts", 0)
    if c["via"] == "broker":
        print(
            f"consumer (last round): {conflicts} event(s) met a version conflict twice and went through the retry "
            f"queue; {plat.get('worker_errors', 0)} error(s) in the worker's log"
        )
    else:
        print(
            f"handlers (last round): {conflicts} version conflict(s) (run again at once), "
            f"{plat.get('events_conflicted', 0)} event(s) affected, at most {plat.get('most_conflicts_per_event', 0)}"
            f" for one event"
        )
    print(
        f"exactly once (last round): {plat['arrived']:,} of {plat['owed']:,} arrived, {plat['missing']} missing, "
        f"{plat['duplicates']} duplicates, {plat['unexpected']} unexpected; {plat['verified']:,} verified, "
        f"{plat['verify_failed']} failed verification; {plat['delivered_in_store']:,} delivered in the store "
        f"after {plat['attempts']:,} attempts"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1000, help="events handed over (default 1000)")
    parser.add_argument("--subscribers", type=int, default=20, help="receivers, one subscription each (default 20)")
    parser.add_argument("--plans", type=int, default=100, help="plans the events are about (default 100)")
    parser.add_argument(
        "--threads",
        type=int,
        default=DEFAULT_THREADS,
        help=f"the dispatcher's sending threads, and the raw baseline's client threads "
        f"(default {DEFAULT_THREADS}, the dispatcher's own default)",
    )
    parser.add_argument(
        "--via",
        choices=("broker", "inprocess"),
        default="broker",
        help="a notify worker process fed through RabbitMQ (default), or the handlers and "
        "the dispatcher in this process",
    )
    parser.add_argument("--rounds", type=int, default=1, help="rounds; the median of each figure is reported")
    parser.add_argument("--no-verify", action="store_true", help="receivers do not verify signatures")
    parser.add_argument("--timeout", type=float, default=None, help="seconds to wait for every delivery")
    parser.add_argument("--serve-receivers", type=int, metavar="N", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_receivers:
        return receivers_main(args.serve_receivers, verify=not args.no_verify)
    for name in ("events", "subscribers", "plans", "threads", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    result = run_bench(
        events=args.events,
        subscribers=args.subscribers,
        plans=min(args.plans, args.events),
        threads=args.threads,
        via=args.via,
        rounds=args.rounds,
        verify=not args.no_verify,
        timeout=args.timeout,
        broker_url=os.environ.get("CPP_BENCH_BROKER_URL"),
    )
    print_report(result)
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "notify.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
