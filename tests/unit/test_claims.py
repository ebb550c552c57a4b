"""Claim mapping (cpp_shared.claims): who a token says a person is, read from the claims a deployment names,
for the shapes Entra ID, Okta and Keycloak give."""

from __future__ import annotations

import time

import jwt
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from cpp_shared.auth import TokenVerifier
from cpp_shared.claims import ROLES, ClaimError, ClaimMap, claim, parse_role_map
from cpp_shared.config import ConfigError
from cpp_shared.hookspecs import hookimpl


def mapping(make_settings, **env: str) -> ClaimMap:
    return ClaimMap.from_settings(make_settings("plans", **env))


def test_the_defaults_read_the_platforms_own_claims(make_settings):
    who = mapping(make_settings).identity(
        {
            "sub": "u1",
            "role": "chair",
            "authority": "ENG",
            "name": " Ann Chair ",
            "email": "Ann@Example.org",
            "team": "North",
            "manager": "tm-1",
        }
    )
    assert (who.user, who.roles, who.authority) == ("u1", ("chair",), "ENG")
    assert (who.name, who.email, who.team, who.manager) == ("Ann Chair", "ann@example.org", "North", "tm-1")


def test_an_array_of_roles_gives_every_platform_role_in_the_platforms_order_and_ignores_the_rest(make_settings):
    who = mapping(make_settings).identity(
        {"sub": "u1", "authority": "ENG", "roles": ["Reports.Read", "team_manager", "social_worker", "team_manager"]}
    )
    assert who.roles == ("social_worker", "team_manager")


def test_entra_id_v2_app_roles_with_oid_a_constant_authority_and_the_preferred_username(make_settings):
    entra = mapping(
        make_settings, CPP_OIDC_USER_CLAIM="oid", CPP_OIDC_AUTHORITY="ENG", CPP_OIDC_EMAIL_CLAIM="email,upn"
    )
    claims = {
        "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
        "oid": "00000000-0000-0000-66f3-3332eca7ea81",
        "tid": "9188040d-6c67-4c5b-b112-36a304b66dad",
        "roles": ["social_worker"],
        "preferred_username": "sam.social@council.example",
        "upn": "sam.social@council.example",
        "authority": "SOMEWHERE-ELSE",
    }
    who = entra.identity(claims)
    assert who.user == "00000000-0000-0000-66f3-3332eca7ea81"
    assert who.authority == "ENG"  # the constant: the claim is not read
    assert who.name == "sam.social@council.example" and who.email == "sam.social@council.example"


def test_okta_groups_are_mapped_to_roles_and_only_mapped_values_count(make_settings):
    okta = mapping(
        make_settings,
        CPP_OIDC_ROLES_CLAIM="groups",
        CPP_OIDC_AUTHORITY="BRO",
        CPP_OIDC_ROLE_MAP="CPP Social Workers=social_worker, CPP Managers=team_manager,CPP Chairs=chair",
    )
    who = okta.identity({"sub": "00u1", "groups": ["Everyone", "CPP Managers", "CPP Social Workers", "admin"]})
    assert who.roles == ("social_worker", "team_manager")  # "admin" is not mapped: it is not a role here
    with pytest.raises(ClaimError, match="holds none of the roles"):
        okta.identity({"sub": "00u1", "groups": ["Everyone", "admin"]})


def test_keycloaks_nested_realm_roles_and_a_uri_named_claim_are_both_found(make_settings):
    keycloak = mapping(
        make_settings,
        CPP_OIDC_ROLES_CLAIM="realm_access.roles,resource_access.cpp-web.roles",
        CPP_OIDC_AUTHORITY="ENG",
        CPP_OIDC_USER_CLAIM="preferred_username",
    )
    who = keycloak.identity(
        {
            "sub": "f:1",
            "preferred_username": "ann",
            "realm_access": {"roles": ["offline_access", "chair"]},
            "resource_access": {"cpp-web": {"roles": ["auditor"]}},
        }
    )
    assert (who.user, who.roles) == ("ann", ("chair", "auditor"))
    uri = mapping(make_settings, CPP_OIDC_ROLES_CLAIM="https://cpp.example/roles", CPP_OIDC_AUTHORITY="ENG")
    assert uri.identity({"sub": "x", "https://cpp.example/roles": "admin"}).roles == ("admin",)
    assert claim({"a": {"b": {"c": 1}}}, "a.b.c") == 1 and claim({"a": [1]}, "a.0") is None


def test_a_partner_agencys_account_may_hold_no_staff_role(make_settings):
    with pytest.raises(ClaimError, match="partner role alone") as refused:
        mapping(make_settings).identity({"sub": "p", "authority": "ENG", "roles": ["partner", "admin"]})
    assert "admin" in refused.value.reason


@pytest.mark.parametrize(
    "claims, message",
    [
        ({"role": "chair", "authority": "ENG"}, "names no user"),
        ({"sub": "u", "authority": "ENG"}, "holds none of the roles"),
        ({"sub": "u", "role": "superuser", "authority": "ENG"}, "holds none of the roles"),
        ({"sub": "u", "role": "chair"}, "names no authority"),
        ({"sub": "u", "role": "chair", "authority": " "}, "names no authority"),
    ],
)
def test_what_the_claims_do_not_say_refuses_the_token(make_settings, claims, message):
    with pytest.raises(ClaimError, match=message):
        mapping(make_settings).identity(claims)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("A=social_worker", {"A": ("social_worker",)}),
        ("CPP=Chairs=chair", {"CPP=Chairs": ("chair",)}),  # the last = separates
        (
            '{"g1": "chair", "g2": ["team_manager", "social_worker"]}',
            {"g1": ("chair",), "g2": ("team_manager", "social_worker")},
        ),
    ],
)
def test_a_role_map_is_pairs_or_json(text, expected):
    assert parse_role_map(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("A=superuser", "not a role of the platform"),
        ("social_worker", "not 'provider value=role'"),
        ("{not json", "not valid JSON"),
        ('["chair"]', "JSON object"),
        ('{"g": []}', "a role or a list of roles"),
        (" , ", "maps nothing"),
    ],
)
def test_a_wrong_role_map_stops_the_start_naming_the_setting(text, message):
    with pytest.raises(ConfigError, match=message) as refused:
        parse_role_map(text)
    assert "CPP_OIDC_ROLE_MAP" in str(refused.value)


def test_an_empty_claim_list_stops_the_start(make_settings):
    with pytest.raises(ConfigError, match="CPP_OIDC_ROLES_CLAIM names no claim"):
        mapping(make_settings, CPP_OIDC_ROLES_CLAIM=" , ")


def test_the_plugin_hook_says_what_settings_cannot_and_is_checked_like_them(make_settings):
    def hook(claims, identity):
        if "ent-group-7f3a" in claims.get("groups", []):
            return {"roles": ["team_manager"], "team": "Duty and assessment"}
        return None

    base = mapping(make_settings, CPP_OIDC_AUTHORITY="ENG")
    with_hook = ClaimMap(**{**base.__dict__, "hook": hook})
    who = with_hook.identity({"sub": "u", "groups": ["ent-group-7f3a"]})
    assert (who.roles, who.team) == (("team_manager",), "Duty and assessment")
    with pytest.raises(ClaimError, match="holds none of the roles"):
        with_hook.identity({"sub": "u", "groups": []})

    for wrong in ({"superpowers": True}, ["chair"]):
        broken = ClaimMap(**{**base.__dict__, "hook": lambda claims, identity, wrong=wrong: wrong})
        with pytest.raises(ClaimError, match="could not be read"):
            broken.identity({"sub": "u", "role": "chair"})
    sneaky = ClaimMap(**{**base.__dict__, "hook": lambda claims, identity: {"roles": ["partner", "admin"]}})
    with pytest.raises(ClaimError, match="partner role alone"):
        sneaky.identity({"sub": "u", "role": "partner"})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
claim_names = st.sampled_from(
    [
        "sub",
        "oid",
        "role",
        "roles",
        "groups",
        "authority",
        "name",
        "email",
        "team",
        "realm_access",
        "manager",
        "preferred_username",
    ]
)


@hsettings(max_examples=300, deadline=None)
@given(
    claims=st.dictionaries(
        claim_names, json_values | st.sampled_from(ROLES) | st.lists(st.sampled_from(ROLES)), max_size=10
    )
)
def test_any_claims_give_a_checked_identity_or_a_refusal_never_anything_else(claims):
    cmap = ClaimMap(user=("sub", "oid"), roles=("role", "roles", "realm_access.roles"))
    try:
        who = cmap.identity(claims)
    except ClaimError:
        return
    assert who.roles and set(who.roles) <= set(ROLES) and list(who.roles) == sorted(who.roles, key=ROLES.index)
    assert not ("partner" in who.roles and len(who.roles) > 1)
    assert who.user.strip() == who.user and who.user and who.authority


class DepartmentTeams:
    """A deployment plugin answering cpp_identity: the team from a department claim, roles from group ids."""

    @hookimpl
    def cpp_identity(self, claims, identity):
        changed = {}
        if claims.get("department"):
            changed["team"] = f"Children's services: {claims['department']}"
        if "7f3a" in claims.get("groups", []):
            changed["roles"] = ["chair"]
        return changed or None


def test_a_deployments_cpp_identity_plugin_is_asked_by_the_services_verifier(make_settings, token_for):
    from cpp_shared.plugins import Plugins

    settings = make_settings("plans")
    plugins = Plugins(["england"], extra=[("department-teams", DepartmentTeams())])
    verifier = TokenVerifier(settings, identity_hook=plugins.hook.cpp_identity)
    key = settings.dev_signing_key_file.read_bytes()
    now = int(time.time())
    claims = {
        "iss": "cpp-dev",
        "aud": "cpp",
        "sub": "u1",
        "authority": "ENG",
        "exp": now + 60,
        "iat": now,
        "role": "social_worker",
        "department": "Area North",
        "groups": ["7f3a"],
    }
    who = verifier.verify(jwt.encode(claims, key, algorithm="HS256"))
    assert (who.team, who.roles) == ("Children's services: Area North", ("chair",))
    plain = verifier.verify(jwt.encode({**claims, "department": None, "groups": []}, key, algorithm="HS256"))
    assert (plain.team, plain.roles) == (None, ("social_worker",))
