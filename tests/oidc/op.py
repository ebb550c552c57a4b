"""A real OpenID Provider for the tests: panva's oidc-provider (npm, in tests/oidc/provider), run by node on a
free loopback port over http."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.helpers import free_port

PROVIDER_DIR = Path(__file__).parent / "provider"
RESOURCE = "https://cpp.example/api"
AUDIENCE = "cpp"
SECRET = "test-client-secret-test-client-secret"
# Client credentials clients and the claims of their access tokens.
CLIENTS = {
    "social-worker": {"alg": "RS256", "claims": {"role": "social_worker", "authority": "ENG"}},
    "chair-es": {"alg": "ES256", "claims": {"role": "chair", "authority": "ENG"}},
    # Shaped as Entra ID's v2 access tokens: app roles in an array, the user's own id in oid (sub is per
    # application), a tenant id, no authority and no email claim.
    "entra-style": {
        "alg": "RS256",
        "claims": {
            "roles": ["team_manager", "social_worker", "Reports.Read"],
            "oid": "6f1c2e0a-3b7d-4e59-9a51-0c2d8e4f7b13",
            "tid": "9188040d-6c67-4c5b-b112-36a304b66dad",
            "name": "Sam Entra",
            "preferred_username": "sam.entra@council.example",
            "ver": "2.0",
        },
    },
    # Shaped as an Okta custom authorization server's: the groups claim a council adds, and uid.
    "okta-style": {
        "alg": "RS256",
        "claims": {
            "groups": ["Everyone", "CPP Chairs"],
            "uid": "00u1a2b3c4d5e6f7g8h9",
            "name": "Chris Okta",
            "email": "Chris.Okta@council.example",
        },
    },
    # Shaped as Keycloak's: realm roles nested in realm_access, the login in preferred_username.
    "keycloak-style": {
        "alg": "RS256",
        "claims": {
            "realm_access": {"roles": ["offline_access", "uma_authorization", "auditor"]},
            "preferred_username": "kim.keycloak",
            "name": "Kim Keycloak",
        },
    },
}


# PyJWT marks a private JWK key_ops ["sign"], which the provider would publish with its public part: a key
# published for signing only, that a strict client (joserfc, under Authlib) refuses to verify with.
def rsa_jwk(kid: str) -> dict:
    key = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    key.pop("key_ops", None)
    return {**key, "kid": kid, "alg": "RS256", "use": "sig"}


def ec_jwk(kid: str) -> dict:
    key = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1())))
    key.pop("key_ops", None)
    return {**key, "kid": kid, "alg": "ES256", "use": "sig"}


class OpenIDProvider:
    """One oidc-provider process. ``keys`` are private JWKs; it signs with the first key of each algorithm.

    ``web_clients`` are authorization code clients ({client_id, client_secret (absent: a public client),
    redirect_uris, post_logout_redirect_uris}) that sign people in through the provider's own login and consent
    pages; ``accounts`` ({login: {"claims": {name, email}, "token_claims": {roles, authority...}}}) are those
    people: their ID token claims, and the platform's claims added to their access tokens (any other login name
    signs in too, with no claims). ``access_token_ttl`` is how many seconds their access tokens last."""

    def __init__(
        self,
        folder: Path,
        keys: list[dict],
        *,
        web_clients: list[dict] | None = None,
        accounts: dict[str, dict] | None = None,
        access_token_ttl: int = 600,
        port: int | None = None,
    ):
        self.folder = folder
        self.port = port or free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.jwks_url = f"{self.issuer}/jwks"
        self.discovery_url = f"{self.issuer}/.well-known/openid-configuration"
        self.keys = keys
        self.web_clients = list(web_clients or [])
        self.accounts = dict(accounts or {})
        self.access_token_ttl = access_token_ttl
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        jwks = self.folder / "jwks.json"
        jwks.write_text(json.dumps({"keys": self.keys}))
        config = self.folder / "config.json"
        config.write_text(
            json.dumps(
                {
                    "port": self.port,
                    "issuer": self.issuer,
                    "jwks": str(jwks),
                    "resource": RESOURCE,
                    "audience": AUDIENCE,
                    "clients": [{"client_id": cid, "client_secret": SECRET, **c} for cid, c in CLIENTS.items()],
                    "web_clients": self.web_clients,
                    "accounts": self.accounts,
                    "access_token_ttl": self.access_token_ttl,
                }
            )
        )
        log = open(self.folder / "provider.log", "ab")
        self.process = subprocess.Popen(
            ["node", str(PROVIDER_DIR / "provider.mjs"), str(config)],
            stdout=subprocess.PIPE,
            stderr=log,
            cwd=PROVIDER_DIR,
        )
        line = self.process.stdout.readline().decode()
        if not line.startswith("listening"):
            self.process.kill()
            raise RuntimeError(f"the test OpenID Provider did not start: {(self.folder / 'provider.log').read_text()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self, keys: list[dict]) -> None:
        """Rotate: the provider signs and publishes ``keys`` from now on."""
        self.stop()
        self.keys = keys
        self.start()

    def freeze(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def token(self, client: str = "social-worker") -> str:
        answer = requests.post(
            f"{self.issuer}/token",
            auth=(client, SECRET),
            timeout=5,
            data={"grant_type": "client_credentials", "scope": "api", "resource": RESOURCE},
        )
        answer.raise_for_status()
        return answer.json()["access_token"]

    def sign(self, claims: dict, kid: str, **headers) -> str:
        """A token signed by the test with one of the provider's published keys (its private JWK)."""
        jwk = next(k for k in self.keys if k["kid"] == kid)
        key = jwt.PyJWK(jwk).key
        now = int(time.time())
        body = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": "signed-by-test",
            "iat": now,
            "exp": now + 300,
            "role": "social_worker",
            "authority": "ENG",
            **claims,
        }
        return jwt.encode(body, key, algorithm=jwk["alg"], headers={"kid": kid, **headers})  # typ=None: no typ

    def settings_env(self, **env: str) -> dict[str, str]:
        # Plain http on loopback: the tests' provider only (production needs https unless told it is a lab).
        return {
            "CPP_MODE": "production",
            "CPP_OIDC_ISSUER": self.issuer,
            "CPP_OIDC_JWKS_URL": self.jwks_url,
            "CPP_OIDC_AUDIENCE": AUDIENCE,
            "CPP_OIDC_ALLOW_HTTP": "1",
            **env,
        }
