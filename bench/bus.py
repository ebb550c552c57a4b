"""Bus benchmark: the platform's outbox relay and consumer against raw kombu,
measured in one run on the same RabbitMQ node, reported as ratios (the
machines are shared and noisy: absolute rates drift, ratios much less).

    make bench                      # starts a private RabbitMQ node
    CPP_BENCH_BROKER_URL=amqp://... .venv/bin/python bench/bus.py -n 5000

Rates:
  raw publish      kombu, a confirm per message, persistent, durable queue
  raw consume+ack  kombu, prefetch 200, one ack per message
  relay            OutboxRelay draining a SQLite outbox (confirmed, marked sent)
  consumer         EventConsumer: parse the CloudEvent, run a handler that
                   inserts a document, mark processed and count, commit, ack
Targets: relay >= 50% of raw publish; consumer >= 25% of raw consume+ack.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from kombu import Connection, Exchange, Producer, Queue

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cpp_shared.contracts.topology import SUBSCRIPTIONS  # noqa: E402
from cpp_shared.logs import configure  # noqa: E402
from cpp_shared.messaging import topology  # noqa: E402
from cpp_shared.messaging.consumer import EventConsumer, Handlers  # noqa: E402
from cpp_shared.messaging.events import new_event  # noqa: E402
from cpp_shared.messaging.relay import OutboxRelay  # noqa: E402
from cpp_shared.store import open_store  # noqa: E402


def sample_event(i: int) -> dict:
    case_id = uuid.uuid4().hex
    return new_event(
        "bench.happened.v1",
        source="/bench",
        subject=case_id,
        authority="ENG",
        data={
            "case_id": case_id,
            "child_id": f"child-{i}",
            "opened_at": "2026-11-23T10:00:00+00:00",
            "note": "x" * 200,
        },
    )


def raw_publish(url: str, bodies: list[str]) -> float:
    exchange = Exchange("bench.raw", type="topic", durable=True)
    queue = Queue("bench.raw", exchange=exchange, routing_key="bench.#", durable=True)
    with Connection(url, transport_options={"confirm_publish": True}) as conn:
        channel = conn.channel()
        queue(channel).declare()
        queue(channel).purge()
        producer = Producer(channel, exchange=exchange)
        start = time.perf_counter()
        for body in bodies:
            producer.publish(
                body,
                routing_key="bench.happened.v1",
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode=2,
                retry=False,
            )
        return len(bodies) / (time.perf_counter() - start)


def raw_consume(url: str, n: int) -> float:
    queue = Queue("bench.raw", durable=True)
    got = 0
    with Connection(url) as conn:
        channel = conn.channel()

        def on_message(message):
            nonlocal got
            message.ack()
            got += 1

        consumer = conn.Consumer(queue, on_message=on_message, prefetch_count=200, channel=channel)
        consumer.consume()
        start = time.perf_counter()
        while got < n:
            conn.drain_events(timeout=10)
        elapsed = time.perf_counter() - start
        consumer.cancel()
        return n / elapsed


def relay_rate(url: str, events: list[dict], workdir: Path) -> float:
    store = open_store(f"sqlite:///{workdir / f'relay-{uuid.uuid4().hex[:6]}.db'}")
    for i in range(0, len(events), 500):
        with store.unit_of_work() as uow:
            for e in events[i : i + 500]:
                uow.publish(e["type"], e, message_id=e["id"])
    relay = OutboxRelay(store, url, batch=500)
    relay.publish_pending()  # connect and declare before the clock starts (sends the first batch)
    start_pending = store.outbox_stats().pending
    start = time.perf_counter()
    while relay.publish_pending():
        pass
    elapsed = time.perf_counter() - start
    relay.close()
    assert store.outbox_stats().pending == 0
    return start_pending / elapsed


def consumer_rate(url: str, events: list[dict], workdir: Path) -> float:
    with Connection(url, transport_options={"confirm_publish": True}) as conn:
        channel = conn.channel()
        topology.declare_service(channel, "docs", (1.0,))
        Queue("docs", durable=True)(channel).purge()
        producer = Producer(channel)
        for e in events:  # straight into the docs queue: only the consumer is timed
            producer.publish(
                json.dumps(e),
                exchange="",
                routing_key="docs",
                content_type="application/cloudevents+json",
                content_encoding="utf-8",
                delivery_mode=2,
                retry=False,
            )
    store = open_store(f"sqlite:///{workdir / f'consumer-{uuid.uuid4().hex[:6]}.db'}")
    handlers = Handlers()

    @handlers.on("bench.*")
    def record(event, ctx):
        ctx.uow.insert("effects", {"event_id": event["id"]})

    consumer = EventConsumer("docs", store, url, handlers, retry_delays=(1.0,), prefetch=200)
    thread = threading.Thread(target=consumer.run, daemon=True)
    start = time.perf_counter()
    thread.start()
    effects = store.collection("effects")
    while effects.count_documents({}) < len(events):
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    consumer.stop()
    thread.join(10)
    consumer.close()
    return len(events) / elapsed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=5000, help="messages per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the median of each rate is reported")
    args = parser.parse_args(argv)
    configure("bench", "console", level=40)  # errors only: logging is not what is measured

    node = None
    url = os.environ.get("CPP_BENCH_BROKER_URL")
    workdir = Path(tempfile.mkdtemp(prefix="cpp-bench-"))
    if not url:
        from cpp_shared.broker import RabbitNode

        node = RabbitNode(workdir / "rabbit")
        node.start(owner_pid=os.getpid())
        url = node.amqp_url
    try:
        results: dict[str, list[float]] = {"raw_publish": [], "relay": [], "raw_consume_ack": [], "consumer": []}
        for round_no in range(args.rounds):
            events = [sample_event(i) for i in range(args.n)]
            bodies = [json.dumps(e) for e in events]
            # Interleaved, so that a noisy spell hits baseline and subject alike.
            results["raw_publish"].append(raw_publish(url, bodies))
            results["raw_consume_ack"].append(raw_consume(url, args.n))
            results["relay"].append(relay_rate(url, events, workdir))
            drain = Connection(url)
            for name in SUBSCRIPTIONS:
                Queue(name, durable=True)(drain.channel()).purge()
            drain.release()
            results["consumer"].append(consumer_rate(url, [sample_event(i) for i in range(args.n)], workdir))
            print(f"round {round_no + 1}: " + ", ".join(f"{k} {v[-1]:,.0f}/s" for k, v in results.items()), flush=True)
        med = {k: statistics.median(v) for k, v in results.items()}
        relay_ratio = med["relay"] / med["raw_publish"]
        consumer_ratio = med["consumer"] / med["raw_consume_ack"]
        print()
        print(f"messages per measurement: {args.n}, rounds: {args.rounds} (medians)")
        print(f"{'raw kombu publish (confirmed)':34} {med['raw_publish']:>9,.0f} msg/s")
        print(f"{'outbox relay':34} {med['relay']:>9,.0f} msg/s   {relay_ratio:6.1%} of raw (target >= 50%)")
        print(f"{'raw kombu consume+ack':34} {med['raw_consume_ack']:>9,.0f} msg/s")
        print(f"{'platform consumer':34} {med['consumer']:>9,.0f} msg/s   {consumer_ratio:6.1%} of raw (target >= 25%)")
        out = Path(__file__).resolve().parent / "results"
        out.mkdir(exist_ok=True)
        (out / "bus.json").write_text(
            json.dumps(
                {
                    "n": args.n,
                    "rounds": results,
                    "medians": med,
                    "relay_ratio": relay_ratio,
                    "consumer_ratio": consumer_ratio,
                },
                indent=2,
            )
        )
        return 0
    finally:
        if node is not None:
            node.destroy()


if __name__ == "__main__":
    sys.exit(main())
