"""Claim mapping with a real OpenID Provider (panva's oidc-provider, tests/oidc/op.py): tokens shaped as Entra
ID's, Okta's and Keycloak's are accepted with the settings README gives for each, and refused without them;
the issuer's discovery document is checked at start-up."""

from __future__ import annotations

import pytest

from cpp_plans.app import create_app
from cpp_shared.config import ConfigError
from tests.helpers import bearer, new_child

pytestmark = [pytest.mark.oidc, pytest.mark.slow]

ENTRA = {
    "CPP_OIDC_USER_CLAIM": "oid",
    "CPP_OIDC_AUTHORITY": "ENG",
    "CPP_OIDC_NAME_CLAIM": "name",
    "CPP_OIDC_EMAIL_CLAIM": "email,preferred_username",
}
OKTA = {
    "CPP_OIDC_USER_CLAIM": "uid",
    "CPP_OIDC_AUTHORITY": "ENG",
    "CPP_OIDC_ROLES_CLAIM": "groups",
    "CPP_OIDC_ROLE_MAP": "CPP Social Workers=social_worker,CPP Managers=team_manager,CPP Chairs=chair",
}
KEYCLOAK = {
    "CPP_OIDC_USER_CLAIM": "preferred_username",
    "CPP_OIDC_AUTHORITY": "ENG",
    "CPP_OIDC_ROLES_CLAIM": "realm_access.roles",
}


def me(app, token):
    return app.test_client().get("/v1/staff/me", headers=bearer(token))


@pytest.mark.parametrize(
    "client, env, expected",
    [
        (
            "entra-style",
            ENTRA,
            {
                "user": "6f1c2e0a-3b7d-4e59-9a51-0c2d8e4f7b13",
                "name": "Sam Entra",
                "email": "sam.entra@council.example",
                "role": "social_worker",
                "roles": ["social_worker", "team_manager"],
            },
        ),
        (
            "okta-style",
            OKTA,
            {
                "user": "00u1a2b3c4d5e6f7g8h9",
                "name": "Chris Okta",
                "email": "chris.okta@council.example",
                "role": "chair",
                "roles": ["chair"],
            },
        ),
        (
            "keycloak-style",
            KEYCLOAK,
            {"user": "kim.keycloak", "name": "Kim Keycloak", "email": None, "role": "auditor", "roles": ["auditor"]},
        ),
    ],
)
def test_a_providers_tokens_are_read_with_its_mapping_and_refused_without_it(
    production, openid_provider, client, env, expected
):
    token = openid_provider.token(client)
    answer = me(production(**env), token)
    assert answer.status_code == 200, answer.json
    assert {k: answer.json.get(k) for k in expected} == expected

    refused = me(production(), token)  # the platform's own claims only: no authority (and no role for Okta's)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


def test_a_person_with_several_roles_may_do_what_any_of_them_may(production, openid_provider):
    app = production(**ENTRA)
    token = openid_provider.token("entra-style")
    client = app.test_client()
    # A social worker's steps (register a child, open a case) and a team manager's (allocate it), one token.
    child_id = new_child(client, bearer(token))
    case = client.post("/v1/cases", json={"child_id": child_id}, headers=bearer(token)).json
    assert case["social_worker"]["user"] == case["team_manager"]["user"] == "6f1c2e0a-3b7d-4e59-9a51-0c2d8e4f7b13"
    moved = client.put(
        f"/v1/cases/{case['id']}/allocation",
        json={"team": "South"},
        headers={**bearer(token), "If-Match": f'"{case["version"]}"'},
    )
    assert moved.status_code == 200, moved.json
    # An admin's is neither's.
    refused = client.get("/v1/admin/parked-messages", headers=bearer(token))
    assert refused.status_code == 403
    assert refused.headers["WWW-Authenticate"].startswith('Bearer error="insufficient_scope"')


def test_a_constant_authority_must_be_the_deployments(production):
    with pytest.raises(ConfigError, match="CPP_OIDC_AUTHORITY is 'BRO' but this deployment serves 'ENG'"):
        production(CPP_OIDC_AUTHORITY="BRO")


def test_the_keys_may_be_found_through_the_issuers_discovery_document(production, openid_provider):
    discovery = f"{openid_provider.issuer}/.well-known/openid-configuration"
    app = production(CPP_OIDC_JWKS_URL="", CPP_OIDC_DISCOVERY_URL=discovery)
    verifier = app.extensions["cpp"].verifier
    assert verifier.discovery["issuer"] == openid_provider.issuer
    assert verifier.keys.url == openid_provider.jwks_url
    assert me(app, openid_provider.token()).status_code == 200
    assert app.test_client().get("/readyz").json["checks"]["identity_provider"] == "ok"


@pytest.mark.parametrize(
    "env, message",
    [
        ({"CPP_OIDC_ISSUER": "http://127.0.0.1:1/other"}, "names the issuer"),
        ({"CPP_OIDC_JWKS_URL": "http://127.0.0.1:1/jwks"}, "but the issuer's discovery document names"),
        (
            {"CPP_OIDC_DISCOVERY_URL": "http://127.0.0.1:1/.well-known/openid-configuration"},
            "could not fetch the identity provider's discovery document",
        ),
    ],
)
def test_a_discovery_document_that_disagrees_or_cannot_be_fetched_stops_the_start(
    production, openid_provider, env, message
):
    discovery = f"{openid_provider.issuer}/.well-known/openid-configuration"
    with pytest.raises(ConfigError, match=message):
        production(**{"CPP_OIDC_DISCOVERY_URL": discovery, **env})


def test_production_needs_https_for_the_discovery_document_too(make_settings, openid_provider):
    env = {
        **openid_provider.settings_env(),
        "CPP_OIDC_ALLOW_HTTP": "0",
        "CPP_OIDC_ISSUER": "https://idp.example",
        "CPP_OIDC_JWKS_URL": "https://idp.example/jwks",
        "CPP_OIDC_DISCOVERY_URL": "http://idp.example/.wk",
    }
    with pytest.raises(ConfigError, match="CPP_OIDC_DISCOVERY_URL must be an https:// address"):
        create_app(make_settings("plans", **env))
