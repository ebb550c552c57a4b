"""Fixtures shared by every test level."""
from __future__ import annotations

import pytest

from cpp_shared.auth import issue_dev_token
from cpp_shared.config import Settings
from tests.helpers import free_port


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "var"


@pytest.fixture
def make_settings(data_dir):
    """Settings of a service in development mode with its data in tmp_path.
    The default broker URL points at a closed port: tests that need a broker
    ask for one (see tests/integration/conftest.py)."""
    closed = free_port()

    def make(service: str = "plans", **env: str) -> Settings:
        base = {
            "CPP_MODE": "development",
            "CPP_DATA_DIR": str(data_dir),
            "CPP_BROKER_URL": f"amqp://guest:guest@127.0.0.1:{closed}//",
            "CPP_PLUGINS": "england",
            "CPP_LOG_FORMAT": "console",
        }
        base.update(env)
        return Settings.from_env(service, base)

    return make


@pytest.fixture
def token_for(make_settings):
    """token_for(role, authority="ENG", user=..., ttl=..., email=...) -> a dev bearer token."""
    settings = make_settings()

    def make(role: str = "social_worker", authority: str = "ENG", user: str = "sw-1", ttl: int = 3600, now=None,
             email: str | None = None) -> str:
        return issue_dev_token(settings, role=role, authority=authority, user=user, ttl_seconds=ttl, now=now,
                               email=email)

    return make
