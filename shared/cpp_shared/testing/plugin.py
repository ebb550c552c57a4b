"""The pytest plugin of ``cpp-shared[testing]`` (entry point ``pytest11``: ``cpp_shared``): fixtures for a
service's or a plugin's tests. A project's own conftest.py may override any of them."""

from __future__ import annotations

import pytest

from ..auth import issue_dev_token
from ..config import Settings
from . import free_port


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "var"


@pytest.fixture
def make_settings(data_dir):
    """make_settings(service="plans", **env) -> Settings of a service in development mode, its data in the
    test's folder, the england plugin set. The default broker URL points at a closed port: tests that need a
    broker start one."""
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
    """token_for(role, authority="ENG", user=..., ttl=..., email=..., name=..., team=..., manager=..., also=(roles
    held besides role)) -> a development bearer token. The social worker sw-1 is Sam Social unless named
    otherwise."""
    settings = make_settings()

    def make(
        role: str = "social_worker",
        authority: str = "ENG",
        user: str = "sw-1",
        ttl: int = 3600,
        now=None,
        email: str | None = None,
        name: str | None = None,
        team: str | None = None,
        manager: str | None = None,
        also: tuple[str, ...] = (),
    ) -> str:
        if name is None and user == "sw-1":
            name = "Sam Social"
        return issue_dev_token(
            settings,
            role=role,
            authority=authority,
            user=user,
            ttl_seconds=ttl,
            now=now,
            email=email,
            name=name,
            team=team,
            manager=manager,
            also=also,
        )

    return make
