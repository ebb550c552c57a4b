"""The walking skeleton on a real broker, every service its own processes:
plans stores a case and its event atomically; the relay publishes it; the
scheduler, notify and docs workers each consume it exactly once."""

from __future__ import annotations

import json
import re

import pytest
import requests

from cpp_shared.auth import issue_dev_token
from cpp_shared.config import Settings
from cpp_shared.contracts.topology import SUBSCRIPTIONS, routes
from tests.helpers import bearer, new_child_over_http, wait_for
from tests.integration.processes import launch

pytestmark = [pytest.mark.broker, pytest.mark.slow]
CONSUMERS = ("scheduler", "notify", "docs")


def dev_token(data_dir, role="social_worker"):
    settings = Settings.from_env("plans", {"CPP_MODE": "development", "CPP_DATA_DIR": str(data_dir)})
    return issue_dev_token(settings, role=role, authority="ENG", user="sw-1")


def events_seen(svc, case_id, token):
    resp = requests.get(f"{svc.url}/v1/cases/{case_id}/events", headers=bearer(token), timeout=5)
    if resp.status_code == 404:  # none of the case's events has reached the service yet
        return []
    resp.raise_for_status()
    return resp.json()["events"]


def metric(svc, name, **labels):
    """The sum of the series of ``name`` that carry ``labels`` (None when there is none)."""
    text = requests.get(f"{svc.url}/metrics", timeout=5).text
    values = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items())
    ]
    return sum(values) if values else None


def test_an_event_from_plans_reaches_each_service_exactly_once(tmp_path, broker_url):
    data = tmp_path / "var"
    services = {}
    try:
        for name in ("plans", *CONSUMERS):
            services[name] = launch(name, data, broker_url)
        token = dev_token(data)
        case_ids = []
        for n in range(10):  # a child each: a child is in one open case at a time
            child_id = new_child_over_http(
                services["plans"].url, bearer(token), given_names=f"Child{n}", identifiers=[]
            )
            resp = requests.post(
                f"{services['plans'].url}/v1/cases", json={"child_id": child_id}, headers=bearer(token), timeout=10
            )
            assert resp.status_code == 201, resp.text
            case_ids.append(resp.json()["id"])

        for name in CONSUMERS:
            svc = services[name]
            for case_id in case_ids:
                seen = wait_for(
                    lambda: events_seen(svc, case_id, token),
                    timeout=30,
                    what=f"{name} to consume the event of case {case_id}",
                )
                assert [e["type"] for e in seen] == ["case.opened.v1"], f"{name} saw {seen}"
            # Each also hears each child's registration (who the child is) and the caller's entry in the staff
            # directory (who the staff are); and each child's family of one where it handles families.
            families = any(routes(key, "family.recorded.v1") for key in SUBSCRIPTIONS[name])
            expected = len(case_ids) * (3 if families else 2) + 1
            wait_for(
                lambda: metric(svc, "cpp_messages_total", outcome="consumed") == expected,
                timeout=10,
                what=f"{name} consumed count to settle at {expected}",
            )
        assert wait_for(lambda: metric(services["plans"], "cpp_outbox_backlog") == 0.0, timeout=10, what="outbox empty")
        for svc in services.values():  # every service reports its bus and its readiness
            assert metric(svc, "cpp_outbox_backlog", service=svc.service) == 0.0
            assert requests.get(f"{svc.url}/readyz", timeout=10).json()["checks"] == {
                "store": "ok",
                "broker": "ok",
                "audit_checkpoints": "ok",
            }
        # Still exactly once after everything settled (no late duplicate effects).
        for name in CONSUMERS:
            for case_id in case_ids:
                assert len(events_seen(services[name], case_id, token)) == 1
        # The event's id and the request id are in the logs of every process that touched it.
        event_id = events_seen(services["docs"], case_ids[0], token)[0]["event_id"]
        for name in CONSUMERS:
            worker_log = (data / f"{name}-worker.log").read_text()  # the whole log: the case's event came early
            assert re.search(rf'"event_id": "{event_id}"', worker_log), f"{name} worker log lacks the event id"
            for line in (data / f"{name}-worker.log").read_text().splitlines():
                assert isinstance(json.loads(line), dict), f"{name}: not one JSON object per line: {line[:200]}"
    finally:
        for svc in services.values():
            svc.stop()
