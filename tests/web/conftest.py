"""The four services played on loopback for the web application's fast tests."""
from __future__ import annotations

import pytest

from cpp_web import client as web_client
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
