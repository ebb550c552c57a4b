"""Two scheduler workers on one store and a real broker: every reminder and
every overdue notice is published once, whichever replica's tick sees it."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from kombu import Connection, Queue

from cpp_scheduler.app import create_app
from cpp_scheduler.domain.calendar import WorkingCalendar
from cpp_shared.config import Settings
from tests.helpers import deliver_event, wait_for
from tests.integration.processes import launch

pytestmark = [pytest.mark.broker, pytest.mark.slow]
CASES = 30


def drain(broker_url: str, name: str) -> list[dict]:
    out = []
    with Connection(broker_url) as conn:
        q = Queue(name, durable=True)(conn.channel())
        while (msg := q.get(no_ack=True)) is not None:
            out.append(json.loads(msg.body))
    return out


def test_each_reminder_and_overdue_notice_is_published_once_by_two_replicas(tmp_path, broker_url):
    data = tmp_path / "var"
    settings = Settings.from_env(
        "scheduler",
        {"CPP_MODE": "development", "CPP_DATA_DIR": str(data), "CPP_BROKER_URL": broker_url, "CPP_PLUGINS": "england"},
    )
    ctx = create_app(settings).extensions["cpp"]
    cal = WorkingCalendar("GB", "ENG")
    today = datetime.now(ZoneInfo("Europe/London")).date()
    # First core group: 10 working days after the conference, reminder 2 working days before.
    # Held 9 working days ago: due tomorrow (approaching). Held 12 ago: due 2 working days ago (overdue).
    soon = cal.add_working_days(cal.on_or_before(today)[0], -9)
    past = cal.add_working_days(cal.on_or_before(today)[0], -12)
    for i in range(CASES):
        held = soon if i % 2 == 0 else past
        deliver_event(
            ctx,
            "conference.held.v1",
            {
                "conference_id": f"conf-{i}",
                "case_id": f"case-{i}",
                "child_id": f"child-{i}",
                "kind": "initial",
                "held_on": held.isoformat(),
                "plan_required": True,
                "plan_id": f"plan-{i}",
            },
        )
    ctx.store.close()

    workers = []
    try:
        for _ in range(2):
            workers.append(
                launch("scheduler", data, broker_url, "worker", CPP_PLUGINS="england", CPP_TICK_SECONDS="0.05")
            )
        deadlines = ctx.store.collection("deadlines")
        wait_for(
            lambda: deadlines.count_documents({"rule_id": "first-core-group", "status": "pending"}) == 0,
            timeout=60,
            what="every first core group deadline to be approaching or overdue",
        )
        wait_for(lambda: ctx.store.outbox_stats().pending == 0, timeout=30, what="the outbox to be relayed")
        # Let both replicas tick many more times (every 50 ms): a late duplicate would show.
        time.sleep(2)
        for w in workers:
            assert w.procs["worker"].poll() is None, w.log("worker")
    finally:
        for w in workers:
            w.stop()

    events = drain(broker_url, "docs")  # the docs service's queue holds every deadline.* event
    by_type = Counter(
        (e["type"], e["data"]["deadline_id"])
        for e in events
        if e["type"] in ("deadline.approaching.v1", "deadline.overdue.v1")
    )
    first = {d["_id"]: d for d in ctx.store.collection("deadlines").find({"rule_id": "first-core-group"})}
    assert len(first) == CASES
    approaching = [i for i, d in first.items() if d["status"] == "approaching"]
    overdue = [i for i, d in first.items() if d["status"] == "overdue"]
    assert len(approaching) == len(overdue) == CASES // 2
    assert all(by_type[("deadline.approaching.v1", i)] == 1 for i in approaching)
    assert all(by_type[("deadline.overdue.v1", i)] == 1 for i in overdue)
    assert sum(by_type.values()) == CASES, by_type
