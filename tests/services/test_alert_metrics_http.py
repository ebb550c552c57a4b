"""The figures the alerting rules read that the services export for them
(``cpp_shared.health_metrics``, the scheduler's and notify's collectors),
read from ``/metrics`` with the values the store, the checkpoint file and
the heartbeat hold."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from cpp_notify.app import create_app as create_notify_app
from cpp_scheduler.app import create_app as create_scheduler_app
from cpp_shared import audit_checkpoints, health_metrics, heartbeat
from cpp_shared.store.scoped import unscoped

NOW = 1_800_000_000.0  # the scrape's clock


def value(exposition: str, series: str) -> float | None:
    """The value of one series (its name and labels as the exposition writes them), None when absent."""
    match = re.search(rf"^{re.escape(series)} (\S+)$", exposition, re.M)
    return float(match.group(1)) if match else None


@pytest.fixture
def clock(monkeypatch):
    class Clock:
        @staticmethod
        def time() -> float:
            return NOW

    monkeypatch.setattr(health_metrics, "time", Clock)


def test_readiness_is_a_gauge_per_check_and_in_all(plans):
    # The tests' broker URL names a closed port: the broker check fails, the store's passes.
    text = plans.get("/metrics").text
    assert plans.get("/readyz").status_code == 503
    assert value(text, 'cpp_ready{service="plans"}') == 0.0
    assert value(text, 'cpp_readiness_check{check="broker",service="plans"}') == 0.0
    assert value(text, 'cpp_readiness_check{check="store",service="plans"}') == 1.0
    assert value(text, 'cpp_readiness_check{check="audit_checkpoints",service="plans"}') == 1.0


def test_ready_is_1_when_every_check_passes(plans_app, plans, monkeypatch):
    ctx = plans_app.extensions["cpp"]
    monkeypatch.setattr(ctx, "readiness", lambda: (True, {"store": "ok", "broker": "ok"}))
    text = plans.get("/metrics").text
    assert value(text, 'cpp_ready{service="plans"}') == 1.0
    assert value(text, 'cpp_readiness_check{check="broker",service="plans"}') == 1.0


def test_audit_entries_waiting_for_a_checkpoint_and_the_checkpoints_age(plans_app, plans, clock):
    ctx = plans_app.extensions["cpp"]
    store = unscoped(ctx.store)
    text = plans.get("/metrics").text
    assert value(text, 'cpp_audit_unchecked_age_seconds{service="plans"}') == 0.0  # nothing to checkpoint
    assert value(text, 'cpp_audit_checkpoint_age_seconds{service="plans"}') is None  # none taken yet

    with ctx.store.unit_of_work() as uow:
        uow.append(audit_checkpoints.LOG, {"action": "child.viewed"})
    [entry] = store.read_log(audit_checkpoints.LOG)
    text = plans.get("/metrics").text
    assert value(text, 'cpp_audit_unchecked_age_seconds{service="plans"}') == pytest.approx(NOW - entry.committed_at)

    checkpointer = audit_checkpoints.Checkpointer(store, ctx.settings, ctx.authority["code"])
    checkpointer.take(at=datetime.fromtimestamp(NOW - 420, UTC))
    text = plans.get("/metrics").text
    assert value(text, 'cpp_audit_unchecked_age_seconds{service="plans"}') == 0.0
    assert value(text, 'cpp_audit_checkpoint_age_seconds{service="plans"}') == pytest.approx(420.0)

    with ctx.store.unit_of_work() as uow:  # the next entry waits, measured from its own commit
        uow.append(audit_checkpoints.LOG, {"action": "child.viewed"})
    second = store.read_log(audit_checkpoints.LOG, after_seq=1)[0]
    text = plans.get("/metrics").text
    assert value(text, 'cpp_audit_unchecked_age_seconds{service="plans"}') == pytest.approx(NOW - second.committed_at)


def test_a_checkpoint_file_whose_last_line_is_not_a_checkpoint_shows_no_age(plans_app, plans):
    ctx = plans_app.extensions["cpp"]
    path = audit_checkpoints.config(ctx.settings).file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"seq": 1, "at": "2026-01-01T00:00:00+00:00"}\nnot json\n')
    text = plans.get("/metrics").text
    assert value(text, 'cpp_audit_checkpoint_age_seconds{service="plans"}') is None
    assert value(text, 'cpp_audit_unchecked_age_seconds{service="plans"}') == 0.0


def test_the_workers_heartbeat_age_and_its_stopped_threads(plans_app, plans, clock):
    settings = plans_app.extensions["cpp"].settings
    assert value(plans.get("/metrics").text, 'cpp_worker_heartbeat_age_seconds{service="plans"}') is None
    heartbeat.beat(heartbeat.heartbeat_path(settings), ["outbox-relay"], now=NOW - 45)
    text = plans.get("/metrics").text
    assert value(text, 'cpp_worker_heartbeat_age_seconds{service="plans"}') == 45.0
    assert value(text, 'cpp_worker_stopped_threads{service="plans"}') == 1.0
    heartbeat.heartbeat_path(settings).write_text(json.dumps({"pid": 1}))  # unreadable: no figure rather than a lie
    assert value(plans.get("/metrics").text, 'cpp_worker_heartbeat_age_seconds{service="plans"}') is None


def test_the_schedulers_open_deadlines_by_status(make_settings):
    app = create_scheduler_app(make_settings("scheduler"))
    store = app.extensions["cpp"].store
    with store.unit_of_work() as uow:
        for i, status in enumerate(["pending", "pending", "approaching", "overdue", "overdue", "overdue", "met"]):
            uow.insert("deadlines", {"_id": f"d{i}", "status": status, "case_id": "c1"})
    text = app.test_client().get("/metrics").text
    assert value(text, 'cpp_deadlines{service="scheduler",status="pending"}') == 2.0
    assert value(text, 'cpp_deadlines{service="scheduler",status="approaching"}') == 1.0
    assert value(text, 'cpp_deadlines{service="scheduler",status="overdue"}') == 3.0
    assert 'status="met"' not in text  # closed deadlines are not counted


def test_notifys_deliveries_and_messages_by_state(make_settings):
    app = create_notify_app(make_settings("notify"))
    store = app.extensions["cpp"].store
    with store.unit_of_work() as uow:
        for i, state in enumerate(["delivered", "delivered", "failed", "ready", "queued"]):
            uow.insert("deliveries", {"_id": f"w{i}", "state": state})
        for i, state in enumerate(["sent", "sent", "sent", "failed", "ready", "delivered"]):
            uow.insert("messages", {"_id": f"m{i}", "state": state})
    text = app.test_client().get("/metrics").text
    assert value(text, 'cpp_notify_deliveries{service="notify",state="delivered"}') == 2.0
    assert value(text, 'cpp_notify_deliveries{service="notify",state="failed"}') == 1.0
    assert value(text, 'cpp_notify_deliveries{service="notify",state="ready"}') == 1.0
    assert value(text, 'cpp_notify_deliveries{service="notify",state="queued"}') == 1.0
    assert value(text, 'cpp_notify_messages{service="notify",state="sent"}') == 3.0
    assert value(text, 'cpp_notify_messages{service="notify",state="failed"}') == 1.0
    assert value(text, 'cpp_notify_messages{service="notify",state="delivered"}') == 1.0
