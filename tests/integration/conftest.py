"""Real RabbitMQ for the integration tests: one node per session, started
from Debian's rabbitmq-server, and a fresh vhost per test so tests never see
each other's queues. A missing broker is a failure, never a skip."""

from __future__ import annotations

import os
import uuid

import pytest

from cpp_shared.broker import RabbitNode


@pytest.fixture(scope="session")
def rabbit(tmp_path_factory):
    node = RabbitNode(tmp_path_factory.mktemp("rabbit"))
    node.start(owner_pid=os.getpid())  # a watchdog stops it even if pytest is killed
    try:
        yield node
    finally:
        node.destroy()


@pytest.fixture
def broker_url(rabbit):
    vhost = f"test-{uuid.uuid4().hex[:10]}"
    url = rabbit.add_vhost(vhost)
    yield url
    rabbit.delete_vhost(vhost)
