"""The restore drill on the running platform: the plans and scheduler services as their own processes on a
real broker, backed up by `cpp backup` while they run, restored by `cpp restore` once stopped; the plans
relay then sends what was pending at the backup and the restored scheduler takes each event once."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import requests

from tests.helpers import bearer, new_child_over_http, wait_for
from tests.integration.processes import launch
from tests.integration.test_bus_processes import dev_token, events_seen, metric

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def cpp(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cpp_shared.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


def open_case(plans, token, name: str) -> str:
    child_id = new_child_over_http(plans.url, bearer(token), given_names=name, identifiers=[])
    resp = requests.post(f"{plans.url}/v1/cases", json={"child_id": child_id}, headers=bearer(token), timeout=10)
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def seen_once(scheduler, case_id, token) -> bool:
    return [e["type"] for e in events_seen(scheduler, case_id, token)] == ["case.opened.v1"]


def test_the_restore_drill_on_running_processes(tmp_path, broker_url):
    data = tmp_path / "var"
    plans = scheduler = None
    try:
        plans = launch("plans", data, broker_url)
        scheduler = launch("scheduler", data, broker_url)
        token = dev_token(data)
        before = open_case(plans, token, "Before")
        wait_for(lambda: seen_once(scheduler, before, token), timeout=30, what="the scheduler to take case 1")

        plans.kill("worker", 15)  # its relay stops: what is written next waits in the outbox
        pending = open_case(plans, token, "Pending")
        taken = cpp(plans.env, "backup", "--out", str(tmp_path / "backups"))  # the web processes run on
        assert taken.returncode == 0, taken.stderr
        (folder,) = (tmp_path / "backups").iterdir()
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["services"]["plans"]["outbox"]["pending"] >= 2  # the case opened and its child

        plans.start("worker")
        wait_for(lambda: seen_once(scheduler, pending, token), timeout=30, what="the scheduler to take case 2")
        after = open_case(plans, token, "After")
        wait_for(lambda: seen_once(scheduler, after, token), timeout=30, what="the scheduler to take case 3")

        running = cpp(plans.env, "restore", str(folder))
        assert running.returncode == 1 and "refused, nothing changed" in running.stderr
        assert "plans is running" in running.stderr

        plans.stop()
        scheduler.stop()
        restored = cpp(plans.env, "restore", str(folder))
        assert restored.returncode == 0, restored.stderr
        assert "plans: restored to" in restored.stdout and "scheduler: restored to" in restored.stdout
        # the worker checkpointed the audit log at its stop, after the backup: that file is set aside
        assert "plans: its audit checkpoints record entries after the backup" in restored.stdout

        plans.start()
        scheduler.start()
        assert requests.get(f"{plans.url}/v1/cases/{after}", headers=bearer(token), timeout=10).status_code == 404
        assert requests.get(f"{plans.url}/v1/cases/{pending}", headers=bearer(token), timeout=10).status_code == 200
        wait_for(lambda: metric(plans, "cpp_outbox_backlog") == 0.0, timeout=30, what="the plans outbox to empty")
        wait_for(lambda: seen_once(scheduler, pending, token), timeout=30, what="the scheduler to take case 2 again")
        wait_for(lambda: metric(scheduler, "cpp_outbox_backlog") == 0.0, timeout=30, what="the scheduler outbox")
        assert seen_once(scheduler, before, token)  # once, not again
        assert events_seen(scheduler, after, token) == []  # written after the backup: gone from both
        assert not metric(scheduler, "cpp_messages_total", outcome="parked")

        verified = cpp(plans.env, "audit", "verify", "--service", "plans")
        assert verified.returncode == 0, verified.stderr
    finally:
        for svc in (plans, scheduler):
            if svc is not None:
                svc.stop()
