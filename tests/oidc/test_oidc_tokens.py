"""A plans service in production mode verifying the access tokens of a real OpenID Provider (panva's
oidc-provider, started by tests/oidc/conftest.py)."""
from __future__ import annotations

import pytest

from cpp_plans.app import create_app
from tests.helpers import bearer

pytestmark = [pytest.mark.oidc, pytest.mark.slow]

AUTHENTICATED = "/openapi.json"  # any authenticated user may read it


@pytest.fixture
def production(make_settings, openid_provider):
    """production(**env) -> a plans app in production mode that trusts the test provider."""
    return lambda **env: create_app(make_settings("plans", **openid_provider.settings_env(**env)))


# --- tokens of the provider -------------------------------------------------------------------------------

def test_rs256_and_es256_access_tokens_of_the_provider_are_accepted(production, openid_provider):
    client = production().test_client()
    for who in ("social-worker", "chair-es"):
        token = openid_provider.token(who)
        assert client.get(AUTHENTICATED, headers=bearer(token)).status_code == 200, who
    wrong_audience = openid_provider.sign({"aud": "another-api"}, kid="rsa-1")
    assert client.get(AUTHENTICATED, headers=bearer(wrong_audience)).status_code == 401
