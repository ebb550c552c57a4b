"""A revocation over a real broker, every service its own processes: an
admin revokes a user's tokens in the plans service; its web process refuses
them at once, and the scheduler's, notify's and docs' web processes once
their workers have kept the event (and their kept answers expired)."""

from __future__ import annotations

import time

import pytest
import requests

from cpp_shared.auth import issue_dev_token
from cpp_shared.config import Settings
from tests.helpers import bearer, wait_for
from tests.integration.processes import launch

pytestmark = [pytest.mark.broker, pytest.mark.slow]
CONSUMERS = ("scheduler", "notify", "docs")


def test_a_revocation_reaches_every_services_web_processes(tmp_path, broker_url):
    data = tmp_path / "var"
    settings = Settings.from_env("plans", {"CPP_MODE": "development", "CPP_DATA_DIR": str(data)})
    services = {}
    try:
        for name in ("plans", *CONSUMERS):
            services[name] = launch(name, data, broker_url)

        def token(role, user, **kw):
            return bearer(issue_dev_token(settings, role=role, authority="ENG", user=user, **kw))

        old = token("social_worker", "sw-1", now=time.time() - 120)
        for svc in services.values():
            assert requests.get(f"{svc.url}/asyncapi.json", headers=old, timeout=10).status_code == 200
        resp = requests.post(
            f"{services['plans'].url}/v1/revocations",
            json={"user": "sw-1", "reason": "Left."},
            headers=token("admin", "admin-1"),
            timeout=10,
        )
        assert resp.status_code == 201, resp.text
        assert requests.get(f"{services['plans'].url}/asyncapi.json", headers=old, timeout=10).status_code == 401
        for name in CONSUMERS:
            wait_for(
                lambda: requests.get(f"{services[name].url}/asyncapi.json", headers=old, timeout=10).status_code == 401,
                timeout=30,
                what=f"{name} to refuse the revoked user's token",
            )
        # A token issued after the revocation works (its iat is whole seconds: from the next second on).
        for name, svc in services.items():
            wait_for(
                lambda: (
                    requests.get(
                        f"{svc.url}/asyncapi.json", headers=token("social_worker", "sw-1"), timeout=10
                    ).status_code
                    == 200
                ),
                timeout=30,
                what=f"{name} to accept a token issued after the revocation",
            )
    finally:
        for svc in services.values():
            svc.stop()
