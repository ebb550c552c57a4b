"""The test OpenID Provider (tests/oidc/op.py), started for a test and stopped after it. `make test` installs
it (scripts/ensure-test-node-packages); a missing provider is a failure, never a skip."""

from __future__ import annotations

import shutil

import pytest

from cpp_plans.app import create_app
from tests.oidc.op import PROVIDER_DIR, OpenIDProvider, ec_jwk, rsa_jwk


@pytest.fixture
def openid_provider(tmp_path):
    if shutil.which("node") is None:
        pytest.fail("node is not installed (the test OpenID Provider runs on Node.js 20.19 or later)")
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("the test OpenID Provider is not installed: run `make test` or `npm ci` in tests/oidc/provider")
    folder = tmp_path / "op"
    folder.mkdir()
    provider = OpenIDProvider(folder, [rsa_jwk("rsa-1"), ec_jwk("ec-1")])
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture
def production(make_settings, openid_provider):
    """production(**env) -> a plans app in production mode that trusts the test provider (its keys refreshed
    every second unless told otherwise); closed after the test."""
    apps = []

    def make(**env: str):
        env = {"CPP_OIDC_JWKS_REFRESH_SECONDS": "1", **env}
        app = create_app(make_settings("plans", **openid_provider.settings_env(**env)))
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["cpp"].verifier.close()
