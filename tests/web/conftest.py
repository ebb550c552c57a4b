"""The web application's test fixtures: the five services played on loopback
for the fast tests, and a real stack for the browser walks."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from pathlib import Path

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
    # The returns an English deployment makes (a test of another jurisdiction's answers its own).
    started["returns"].routes[("GET", "/v1/returns")] = (
        200,
        {"jurisdiction": "england", "returns": [{"id": "cin-census", "name": "Children in Need census"}]},
    )
    yield started
    for fake in started.values():
        fake.stop()


@contextmanager
def running_stack(data: Path, broker_url: str, *, plugins: str | None = None, workers: tuple[str, ...] = ()):
    """RabbitMQ's ``broker_url``, the five services and the web application on
    free ports, with their data in ``data``: the plans and scheduler workers
    always run, others' (``workers``) when asked; a service without its worker
    still answers its API. ``plugins`` is every process's CPP_PLUGINS."""
    from cpp_shared.auth import load_dev_key
    from cpp_shared.config import Settings
    from tests.integration.processes import launch

    extra = {"CPP_PLUGINS": plugins} if plugins else {}
    settings = Settings.from_env("plans", {"CPP_MODE": "development", "CPP_DATA_DIR": str(data), **extra})
    load_dev_key(settings.dev_signing_key_file, create=True)  # one key for every process
    running = []
    try:
        for service in ("plans", "scheduler", "notify", "docs", "returns"):
            with_worker = service in ("plans", "scheduler", *workers)
            running.append(launch(service, data, broker_url, *(() if with_worker else ("web",)), **extra))
        urls = {p.service: p.url for p in running}
        web = launch(
            "web", data, broker_url, "web", **extra, **{f"CPP_WEB_{s.upper()}_URL": u for s, u in urls.items()}
        )
        running.append(web)
        yield {"web": web.url, **urls, "settings": settings, "processes": {p.service: p for p in running}, "data": data}
    finally:
        for proc in running:
            proc.stop()


@pytest.fixture(scope="session")
def web_stack(tmp_path_factory, rabbit):
    """One real stack that the browser walks share, each seeding a child of
    its own, on a RabbitMQ virtual host of its own; the docs worker renders
    the documents."""
    broker_url = rabbit.add_vhost(f"test-web-{uuid.uuid4().hex[:10]}")
    with running_stack(tmp_path_factory.mktemp("web-stack"), broker_url, workers=("docs",)) as stack:
        yield stack
