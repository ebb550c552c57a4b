"""The web application's test fixtures: the four services played on loopback
for the fast tests, and a real stack for the browser walks."""
from __future__ import annotations

import pytest

from cpp_web import client as web_client
from tests.integration.conftest import rabbit  # noqa: F401 (fixture)
from tests.web.fakes import Fake


@pytest.fixture
def fakes():
    """One started fake per service, each answering its /healthz; stopped after the test."""
    started = {name: Fake().start() for name in web_client.SERVICES}
    for fake in started.values():
        fake.routes[("GET", "/healthz")] = (200, {"status": "ok"})
    yield started
    for fake in started.values():
        fake.stop()


@pytest.fixture(scope="session")
def web_stack(tmp_path_factory, rabbit):
    """One real stack that the browser walks share, each seeding a child of
    its own: a RabbitMQ virtual host of its own, the plans, scheduler and docs
    services with their workers (the docs worker renders the documents),
    notify's API, and the web application, on free ports."""
    import uuid

    from cpp_shared.auth import load_dev_key
    from cpp_shared.config import Settings
    from tests.integration.processes import launch

    data = tmp_path_factory.mktemp("web-stack")
    settings = Settings.from_env("plans", {"CPP_MODE": "development", "CPP_DATA_DIR": str(data)})
    load_dev_key(settings.dev_signing_key_file, create=True)  # one key for every process
    broker_url = rabbit.add_vhost(f"test-web-{uuid.uuid4().hex[:10]}")
    running = []
    try:
        for service in ("plans", "scheduler", "docs"):
            running.append(launch(service, data, broker_url))
        running.append(launch("notify", data, broker_url, "web"))
        urls = {p.service: p.url for p in running}
        web = launch("web", data, broker_url, "web", **{f"CPP_WEB_{s.upper()}_URL": u for s, u in urls.items()})
        running.append(web)
        yield {"web": web.url, **urls, "settings": settings, "data": data}
    finally:
        for proc in running:
            proc.stop()
