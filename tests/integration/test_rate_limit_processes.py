"""The rate limits are shared by every process of a service: two gunicorn
servers of the plans service on one SQLite store (so one limits file), each
sent half the lookups directly, refuse together once their sum passes the
limit."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import requests

from cpp_plans.app import create_app
from tests.helpers import bearer, free_port
from tests.integration.processes import launch
from tests.services.test_lookup_http import NHS, put_on_plan, register

pytestmark = pytest.mark.slow
LIMIT = 6


def test_lookups_past_the_limit_get_429_across_two_worker_processes_sharing_one_limit(
    data_dir, make_settings, token_for
):
    # A child on a plan, written to the store the servers will share.
    seed = create_app(make_settings("plans")).test_client()
    sw, chair = bearer(token_for("social_worker")), bearer(token_for("chair", user="chair-1"))
    put_on_plan(seed, sw, chair, register(seed, sw, NHS), date.today() - timedelta(days=5))
    partner = bearer(token_for("partner", user="hv-jones"))

    closed_broker = f"amqp://guest:guest@127.0.0.1:{free_port()}//"  # the web processes need none for this
    settings = {"CPP_RATE_LIMIT_LOOKUP_PER_PRINCIPAL": f"{LIMIT}/minute", "WEB_CONCURRENCY": "1"}
    servers = []
    try:
        for _ in range(2):
            servers.append(launch("plans", data_dir, closed_broker, "web", **settings))
        assert servers[0].procs["web"].pid != servers[1].procs["web"].pid

        answers: list[tuple[int, requests.Response]] = []
        for i in range(LIMIT + 2):  # alternately, so each server sees only half of them
            server = i % 2
            answers.append(
                (
                    server,
                    requests.get(
                        f"{servers[server].url}/v1/lookup", params={"nhs_number": NHS}, headers=partner, timeout=30
                    ),
                )
            )

        allowed, refused = answers[:LIMIT], answers[LIMIT:]
        assert [r.status_code for _, r in allowed] == [200] * LIMIT, [r.text for _, r in allowed]
        assert all(r.json()["subject_of_plan"] for _, r in allowed)
        assert sorted({s for s, _ in allowed}) == [0, 1] and sum(1 for s, _ in allowed if s == 0) == LIMIT // 2
        # Each server has answered only LIMIT/2 lookups itself, yet both now refuse.
        assert [(s, r.status_code) for s, r in refused] == [(0, 429), (1, 429)], [r.text for _, r in refused]
        for _, r in refused:
            assert set(r.json()) == {"code", "status", "message"} and "lookup_per_principal" in r.json()["message"]
            assert 1 <= int(r.headers["Retry-After"]) <= 60
        metrics = requests.get(f"{servers[1].url}/metrics", timeout=30).text
        assert 'cpp_rate_limited_total{limit="lookup_per_principal",service="plans"} 1.0' in metrics
    finally:
        for server in servers:
            server.stop()
    assert (data_dir / "plans-limits.db").exists()
