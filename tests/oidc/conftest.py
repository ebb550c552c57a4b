"""The test OpenID Provider (tests/oidc/op.py), started for a test and stopped after it. `make test` installs
it (scripts/ensure-test-node-packages); a missing provider is a failure, never a skip."""
from __future__ import annotations

import shutil

import pytest

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
