import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from cpp_shared.auth import AuthError, TokenVerifier, issue_dev_token
from cpp_shared.config import ConfigError


def test_dev_token_round_trip(make_settings, token_for):
    principal = TokenVerifier(make_settings()).verify(token_for("team_manager", user="tm-7"))
    assert (principal.user, principal.role, principal.authority) == ("tm-7", "team_manager", "ENG")


def test_expired_token_is_refused(make_settings, token_for):
    old = token_for(now=time.time() - 7200, ttl=60)
    with pytest.raises(AuthError, match="expired"):
        TokenVerifier(make_settings()).verify(old)


def test_token_signed_with_another_key_is_refused(make_settings, tmp_path):
    other = make_settings(CPP_DEV_SIGNING_KEY_FILE=str(tmp_path / "other.key"))
    forged = issue_dev_token(other, role="admin", authority="ENG", user="mallory")
    with pytest.raises(AuthError, match="signed by another key, not this deployment's development key"):
        TokenVerifier(make_settings()).verify(forged)


def test_a_token_names_its_user_as_a_person(make_settings, token_for):
    principal = TokenVerifier(make_settings()).verify(
        token_for(
            "social_worker", user="sw-9", name="Ada Lovelace", email="Ada@Council.Example", team="North", manager="tm-1"
        )
    )
    assert (principal.name, principal.email, principal.team, principal.manager, principal.address) == (
        "Ada Lovelace",
        "ada@council.example",
        "North",
        "tm-1",
        "ada@council.example",
    )
    bare = TokenVerifier(make_settings()).verify(token_for("chair", user="Chair-2"))
    assert (bare.name, bare.email, bare.team, bare.address) == ("Chair-2", None, None, "chair-2")


def test_a_token_is_not_made_with_a_key_the_services_do_not_have(make_settings, tmp_path):
    settings = make_settings(CPP_DEV_SIGNING_KEY_FILE=str(tmp_path / "none.key"))
    with pytest.raises(ConfigError, match="no development signing key"):
        issue_dev_token(settings, role="admin", authority="ENG", user="a", create_key=False)
    assert not (tmp_path / "none.key").exists()


def test_unknown_role_is_refused(make_settings):
    settings = make_settings()
    key = settings.dev_signing_key_file
    TokenVerifier(settings)  # creates the key
    token = jwt.encode(
        {
            "iss": "cpp-dev",
            "aud": "cpp",
            "sub": "x",
            "role": "superuser",
            "authority": "ENG",
            "exp": int(time.time()) + 60,
        },
        key.read_bytes(),
        algorithm="HS256",
    )
    with pytest.raises(AuthError, match="the token holds none of the roles") as refused:
        TokenVerifier(settings).verify(token)
    assert "superuser" not in str(refused.value) and "superuser" in refused.value.reason  # logged, not told


def test_dev_tokens_are_not_issued_in_production(make_settings):
    with pytest.raises(ConfigError):
        issue_dev_token(make_settings(CPP_MODE="production"), role="admin", authority="ENG", user="x")


def test_production_needs_a_jwks_url(make_settings):
    with pytest.raises(ConfigError, match="CPP_OIDC_JWKS_URL"):
        TokenVerifier(make_settings(CPP_MODE="production"))


@pytest.mark.parametrize(
    "service, variable",
    [
        ("plans", "CPP_DEV_SIGNING_KEY_FILE"),
        ("plans", "CPP_PLANS_DEV_SIGNING_KEY_FILE"),
        ("scheduler", "CPP_SCHEDULER_DEV_SIGNING_KEY_FILE"),
        ("notify", "CPP_NOTIFY_DEV_SIGNING_KEY_FILE"),
        ("docs", "CPP_DOCS_DEV_SIGNING_KEY_FILE"),
        # another service's name, or one no service has yet, is refused too
        ("plans", "CPP_DOCS_DEV_SIGNING_KEY_FILE"),
        ("plans", "CPP_REPORTS_DEV_SIGNING_KEY_FILE"),
        ("plans", "CPP_DEV_SIGNING_KEY"),
    ],
)
def test_production_refuses_any_development_signing_key_setting(make_settings, tmp_path, service, variable):
    with pytest.raises(ConfigError, match=f"refuses the development signing key: unset {variable}"):
        TokenVerifier(
            make_settings(
                service,
                CPP_MODE="production",
                CPP_OIDC_JWKS_URL="http://127.0.0.1:1/jwks",
                CPP_OIDC_ISSUER="https://idp.example",
                **{variable: str(tmp_path / "dev.key")},
            )
        )


def test_production_reads_the_settings_environment_not_the_process_one(make_settings, monkeypatch, tmp_path):
    monkeypatch.setenv("CPP_DEV_SIGNING_KEY_FILE", str(tmp_path / "dev.key"))
    # The settings were read from a mapping without it: that mapping is the service's environment.
    TokenVerifier(
        make_settings(
            CPP_MODE="production",
            CPP_OIDC_JWKS_URL="http://127.0.0.1:1/jwks",
            CPP_OIDC_ALLOW_HTTP="1",
            CPP_OIDC_ISSUER="https://idp.example",
        )
    )


@pytest.fixture
def jwks_server():
    """An identity provider's JWKS endpoint on loopback, with one RSA key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="k1", use="sig", alg="RS256")
    body = json.dumps({"keys": [jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/jwks", key
    server.shutdown()


def test_production_verifies_against_the_jwks(make_settings, jwks_server):
    url, key = jwks_server
    settings = make_settings(
        CPP_MODE="production", CPP_OIDC_JWKS_URL=url, CPP_OIDC_ISSUER="https://idp.example", CPP_OIDC_ALLOW_HTTP="1"
    )
    verifier = TokenVerifier(settings)
    claims = {
        "iss": "https://idp.example",
        "aud": "cpp",
        "sub": "sw-9",
        "role": "social_worker",
        "authority": "ENG",
        "exp": int(time.time()) + 300,
    }
    good = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})
    assert verifier.verify(good).user == "sw-9"
    with pytest.raises(AuthError):
        verifier.verify(
            jwt.encode({**claims, "iss": "https://evil.example"}, key, algorithm="RS256", headers={"kid": "k1"})
        )
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(AuthError):
        verifier.verify(jwt.encode(claims, other, algorithm="RS256", headers={"kid": "k1"}))
    # a dev (HS256) token is never accepted by a production verifier
    dev = jwt.encode(claims, "x" * 64, algorithm="HS256", headers={"kid": "k1"})
    with pytest.raises(AuthError):
        verifier.verify(dev)


def test_every_dev_token_has_its_own_jti(make_settings, token_for):
    first, second = (jwt.decode(token_for(user="sw-1"), options={"verify_signature": False}) for _ in range(2))
    assert re.fullmatch(r"[0-9a-f]{32}", first["jti"]) and first["jti"] != second["jti"]
    assert TokenVerifier(make_settings()).verify(token_for()).claims["jti"]
