"""Bearer-token authentication and role checks.

Two modes:
* development (single machine, `cpp up`): tokens are HS256-signed with a
  random key kept in the data folder; `cpp token` prints one.
* production: tokens are verified against the identity provider's OIDC JWKS
  (RS256/ES256), kept by ``cpp_shared.jwks.ProviderKeys``. A production
  service refuses to start when no JWKS URL is set, when it is pointed at the
  development key, or (its web app) when the keys cannot be fetched.

A refused token is a 401 whose message is one of this module's own, never a
library's nor anything of the token; the reason is logged.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import secrets
import ssl
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

import jwt
from flask import current_app, g, request

from .claims import ROLES, ClaimError, ClaimMap, Hook
from .config import ConfigError, Settings
from .jwks import ProviderKeys, ProviderUnavailable, UnknownKey

DEV_ISSUER = "cpp-dev"
DEV_ALGORITHM = "HS256"
PRODUCTION_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]
# A development signing key named by any setting, whichever service's name
# it carries (CPP_DEV_SIGNING_KEY_FILE, CPP_PLANS_DEV_SIGNING_KEY_FILE...):
# production refuses to start while one is set.
DEV_KEY_SETTING = re.compile(r"CPP_(?:[A-Z0-9_]+_)?DEV_SIGNING_KEY(?:_[A-Z0-9_]+)?", re.IGNORECASE)
# A key id worth looking up: printable ASCII, not too long (anything else is refused without a fetch).
KID = re.compile(r"[\x21-\x7e]{1,256}")


class AuthError(Exception):
    """The request carries no valid token: a 401. The message is told to the
    caller (this module's own words only); ``reason``, when given, is what
    the logs say besides (a library's message, which may quote the token)."""

    def __init__(self, message: str, *, error: str = "invalid_token", reason: str | None = None):
        super().__init__(message)
        self.error = error
        self.reason = reason


class IdentityProviderUnavailable(Exception):
    """The token's signing key can only be checked with the identity provider, which cannot be reached: a 503
    with Retry-After (the client should try again, not sign in again)."""

    def __init__(self, reason: str, retry_after: int):
        super().__init__("the identity provider cannot be reached to check this token's signing key; try again")
        self.reason = reason
        self.retry_after = retry_after


def _seconds(settings: Settings, name: str, default: str, *, minimum: float = 0.0) -> float:
    text = settings.setting(name, default)
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = math.nan
    if not (value >= minimum and math.isfinite(value)):
        raise ConfigError(f"CPP_{name} must be a number of seconds of at least {minimum:g}, got {text!r}")
    return value


def _media_type(text: str) -> str:
    """A JWT ``typ`` compared as RFC 7515 says: without case, with or without ``application/``."""
    text = text.strip().lower()
    return text[len("application/") :] if text.startswith("application/") else text


def _ca_bundle(settings: Settings) -> ssl.SSLContext | None:
    """The certificate authorities the identity provider is checked with: CPP_OIDC_CA_BUNDLE (a PEM file), else
    the system's (which SSL_CERT_FILE also sets)."""
    path = settings.setting("OIDC_CA_BUNDLE")
    if not path:
        return None
    try:
        return ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"CPP_OIDC_CA_BUNDLE {path!r} cannot be loaded: {exc}") from None


class Forbidden(Exception):
    """A valid token whose role or authority does not allow this: a 403."""


class Revocations(Protocol):
    def refuses(self, claims: dict[str, Any]) -> bool: ...

    def forget(self) -> None: ...


#: The development tokens' claim naming the user's team (OpenID Connect has no standard one).
TEAM_CLAIM = "team"
#: The development tokens' claim naming the user's manager, by user id (optional).
MANAGER_CLAIM = "manager"


@dataclass(frozen=True)
class Principal:
    """Who is asking: the token's user, roles and authority, and who they
    are as a person from the identity token's claims (``name`` and
    ``email`` are OpenID Connect's standard claims; the team and manager
    are this platform's).

    A person may hold several roles (``roles``, in ROLES order); ``role``
    is the first of them, named where one role is recorded (a log line).
    What a person may do is decided by ``holds``: any of their roles."""

    user: str
    role: str
    authority: str
    claims: dict[str, Any] = field(default_factory=dict)
    roles: tuple[str, ...] = ()
    #: name, email, team and manager as the deployment's claim mapping read them (cpp_shared.claims); when
    #: None (a principal made from claims alone), the claims of those names
    person: dict[str, str | None] | None = None

    def __post_init__(self) -> None:
        if not self.roles:
            object.__setattr__(self, "roles", (self.role,))
        elif self.role not in self.roles:
            raise ValueError(f"role {self.role!r} is not one of the roles {self.roles!r}")

    def holds(self, *roles: str) -> bool:
        """Whether this person holds any of ``roles``."""
        return any(r in self.roles for r in roles)

    def acting_as(self, *roles: str) -> str:
        """The first of ``roles`` this person holds (the role a step is taken in), else their ``role``."""
        return next((r for r in roles if r in self.roles), self.role)

    def _claim(self, name: str) -> str | None:
        value = (self.person if self.person is not None else self.claims or {}).get(name)
        return value.strip() if isinstance(value, str) and value.strip() else None

    @property
    def name(self) -> str:
        """The display name (``name``), else the user id."""
        return self._claim("name") or self.user

    @property
    def given_name(self) -> str | None:
        """The display name the token gives, or None (``name`` falls back to the user id)."""
        return self._claim("name")

    @property
    def email(self) -> str | None:
        value = self._claim("email")
        return value.lower() if value else None

    @property
    def team(self) -> str | None:
        return self._claim("team")

    @property
    def manager(self) -> str | None:
        return self._claim("manager")

    @property
    def address(self) -> str:
        """Whom messages to this user were addressed to before the inbox was
        kept by user id: the email claim, else the user id."""
        return self.email or self.user.lower()


def load_dev_key(path: Path, *, create: bool = True) -> bytes:
    """The development signing key, created (0600) on first use."""
    if path.exists():
        key = path.read_bytes().strip()
        if len(key) < 32:
            raise ConfigError(f"the development signing key {path} is too short")
        return key
    if not create:
        raise ConfigError(f"no development signing key at {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    # Written whole under a name of its own, then linked into place: a process starting at the same moment
    # finds no key or a whole one, never an empty file; of two making one at once, the first link wins.
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:
            return load_dev_key(path, create=False)
    finally:
        draft.unlink(missing_ok=True)
    return key


def issue_dev_token(
    settings: Settings,
    *,
    role: str,
    authority: str,
    user: str,
    ttl_seconds: int = 12 * 3600,
    now: float | None = None,
    email: str | None = None,
    name: str | None = None,
    team: str | None = None,
    manager: str | None = None,
    create_key: bool = True,
    also: tuple[str, ...] = (),
) -> str:
    """A development token; its ``jti`` (uuid4 hex) names it alone, so that
    it can be revoked without its user's other tokens. ``also`` are roles
    held besides ``role`` (a ``roles`` claim). ``create_key=False`` refuses
    to make a signing key: a token signed by a key the services do not have
    would only get a 401."""
    if not settings.is_development:
        raise ConfigError("development tokens are only issued in development mode (CPP_MODE=development)")
    for r in (role, *also):
        if r not in ROLES:
            raise ValueError(f"unknown role {r!r}; roles: {', '.join(ROLES)}")
    now = time.time() if now is None else now
    claims = {
        "iss": DEV_ISSUER,
        "aud": settings.oidc_audience,
        "sub": user,
        "role": role,
        "authority": authority,
        "iat": int(now),
        "exp": int(now + ttl_seconds),
        "jti": uuid.uuid4().hex,
    }
    if also:
        claims["roles"] = list(dict.fromkeys((role, *also)))
    for claim, value in (("email", email), ("name", name), (TEAM_CLAIM, team), (MANAGER_CLAIM, manager)):
        if value is not None:
            claims[claim] = value
    key = load_dev_key(settings.dev_signing_key_file, create=create_key)
    return jwt.encode(claims, key, algorithm=DEV_ALGORITHM)


class TokenVerifier:
    """Turns a bearer token into a Principal, or raises AuthError. With
    ``revocations`` (the service's ``cpp_shared.revocations.RevocationList``),
    a well-signed token that has been revoked is refused too."""

    def __init__(
        self, settings: Settings, revocations: Revocations | None = None, *, identity_hook: Hook | None = None
    ):
        self.audience = settings.oidc_audience
        self.revocations = revocations
        # Development tokens carry the platform's own claims, which the default mapping reads.
        self.claim_map = ClaimMap.from_settings(settings, identity_hook)
        self.production = not settings.is_development
        #: the identity provider's discovery document, once fetched (production, with CPP_OIDC_DISCOVERY_URL)
        self.discovery: dict[str, Any] | None = None
        self._jwks: ProviderKeys | None = None
        self._typ: str | None = None
        self._discovery_url: str | None = None
        if settings.is_development:
            self._key: Any = load_dev_key(settings.dev_signing_key_file)
            self._algorithms = [DEV_ALGORITHM]
            self._issuer = DEV_ISSUER
        else:
            for name in sorted(settings.environ):
                if DEV_KEY_SETTING.fullmatch(name):
                    raise ConfigError(f"production mode refuses the development signing key: unset {name}")
            self._discovery_url = (settings.setting("OIDC_DISCOVERY_URL") or "").strip() or None
            if not settings.oidc_jwks_url and not self._discovery_url:
                raise ConfigError(
                    "production mode needs CPP_OIDC_JWKS_URL (the identity provider's JWKS) or "
                    "CPP_OIDC_DISCOVERY_URL (its discovery document, which names the JWKS); "
                    "for a single-machine trial set CPP_MODE=development"
                )
            if not settings.oidc_issuer:
                raise ConfigError("production mode needs CPP_OIDC_ISSUER (the identity provider's issuer)")
            self._allow_http = settings.setting("OIDC_ALLOW_HTTP", "0").lower() in ("1", "true", "yes")
            for name, url in (
                ("CPP_OIDC_JWKS_URL", settings.oidc_jwks_url),
                ("CPP_OIDC_ISSUER", settings.oidc_issuer),
                ("CPP_OIDC_DISCOVERY_URL", self._discovery_url),
            ):
                if url:
                    self._check_https(name, url)
            self._ssl_context = _ca_bundle(settings)
            self._timeout = _seconds(settings, "OIDC_JWKS_TIMEOUT_SECONDS", "5", minimum=0.1)
            self._provider_keys = functools.partial(
                ProviderKeys,
                refresh_seconds=_seconds(settings, "OIDC_JWKS_REFRESH_SECONDS", "300", minimum=0.1),
                grace_seconds=_seconds(settings, "OIDC_JWKS_GRACE_SECONDS", "3600"),
                min_refetch_seconds=_seconds(settings, "OIDC_JWKS_MIN_REFETCH_SECONDS", "5"),
                timeout=self._timeout,
                ssl_context=self._ssl_context,
            )
            # Without a JWKS URL the keys are made once the discovery document has named them (load_keys).
            if settings.oidc_jwks_url:
                self._jwks = self._provider_keys(settings.oidc_jwks_url)
            # RFC 9068's "at+jwt" (or "application/at+jwt"): refuses ID tokens and other JWTs the provider signs.
            self._typ = _media_type(settings.setting("OIDC_REQUIRE_TYP", "") or "") or None
            self._algorithms = PRODUCTION_ALGORITHMS
            self._issuer = settings.oidc_issuer
            self._key = None
        self.leeway = _seconds(settings, "OIDC_LEEWAY_SECONDS", "60")

    def check_authority(self, code: str) -> None:
        """Refuse to start when CPP_OIDC_AUTHORITY names another authority than the deployment's."""
        constant = self.claim_map.authority
        if constant is not None and constant != code:
            raise ConfigError(
                f"CPP_OIDC_AUTHORITY is {constant!r} but this deployment serves {code!r} (its plugins' "
                f"authority): every token would be refused"
            )

    def _check_https(self, name: str, url: str) -> None:
        if not self._allow_http and urlparse(url).scheme.lower() != "https":
            raise ConfigError(
                f"{name} must be an https:// address in production, got {url!r}; for a "
                f"lab identity provider over plain http set CPP_OIDC_ALLOW_HTTP=1"
            )

    def _load_discovery(self) -> None:
        """Fetch the discovery document and check it names this issuer (and this JWKS, when one is set)."""
        url = self._discovery_url
        assert url is not None, "only called with CPP_OIDC_DISCOVERY_URL set"
        try:
            with urllib.request.urlopen(
                urllib.request.Request(url, headers={"Accept": "application/json"}),
                timeout=self._timeout,
                context=self._ssl_context,
            ) as answer:
                document = json.loads(answer.read(1_000_000))
        except Exception as exc:  # noqa: BLE001 - any failure stops the start, with its reason
            raise ConfigError(
                f"could not fetch the identity provider's discovery document from {url} "
                f"(CPP_OIDC_DISCOVERY_URL): {type(exc).__name__}: {exc}"
            ) from None
        if not isinstance(document, dict):
            raise ConfigError(f"the discovery document at {url} (CPP_OIDC_DISCOVERY_URL) is not a JSON object")
        if document.get("issuer") != self._issuer:
            raise ConfigError(
                f"the discovery document at {url} names the issuer {document.get('issuer')!r}, not "
                f"CPP_OIDC_ISSUER {self._issuer!r}: tokens would be checked against the wrong issuer"
            )
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri:
            raise ConfigError(f"the discovery document at {url} names no jwks_uri")
        if self._jwks is None:
            self._check_https("the discovery document's jwks_uri", jwks_uri)
            self._jwks = self._provider_keys(jwks_uri)
        elif jwks_uri != self._jwks.url:
            raise ConfigError(
                f"CPP_OIDC_JWKS_URL is {self._jwks.url!r} but the issuer's discovery document names "
                f"{jwks_uri!r} as its keys: set one of them, or make them agree"
            )
        self.discovery = document

    def load_keys(self) -> None:
        """Production: fetch the discovery document (when CPP_OIDC_DISCOVERY_URL is set) and the identity
        provider's keys now, or refuse to start (ConfigError)."""
        if not self.production:
            return
        if self._discovery_url and self.discovery is None:
            self._load_discovery()
        keys = self._jwks
        assert keys is not None, "a JWKS URL, or a discovery document naming one (checked when made)"
        try:
            keys.load()
        except Exception as exc:
            raise ConfigError(
                f"could not fetch the identity provider's keys from {keys.url} "
                f"(CPP_OIDC_JWKS_URL): {type(exc).__name__}: {exc}"
            ) from None

    def readiness(self) -> str | None:
        """The identity provider's check for /readyz (production), without waiting on it."""
        if not self.production:
            return None
        return "unavailable" if self._jwks is None else self._jwks.status()

    def close(self) -> None:
        if self._jwks is not None:
            self._jwks.close()

    @property
    def keys(self) -> ProviderKeys | None:
        """The identity provider's keys (production)."""
        return self._jwks

    def _provider_key(self, token: str, keys: ProviderKeys) -> tuple[Any, list[str]]:
        """The key of the token's ``kid`` and the one algorithm it may be used with."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise AuthError("the token is not a well-formed JWT", reason=str(exc)) from None
        kid, alg = header.get("kid"), header.get("alg")
        if self._typ is not None:
            typ = header.get("typ")
            if not isinstance(typ, str) or _media_type(typ) != self._typ:
                raise AuthError(
                    f"the token is not of the type this service accepts ({self._typ})", reason=f"typ {typ!r}"[:300]
                )
        if alg not in self._algorithms:
            raise AuthError(
                "the token is not signed with an algorithm the identity provider's keys use", reason=f"alg {alg!r}"
            )
        if not isinstance(kid, str) or not KID.fullmatch(kid):
            raise AuthError("the token's header names no usable signing key (kid)", reason=f"kid {kid!r}"[:300])
        try:
            jwk = keys.key(kid)
        except UnknownKey as exc:
            raise AuthError(
                "the token's signing key is not one the identity provider publishes", reason=str(exc)
            ) from None
        except ProviderUnavailable as exc:
            raise IdentityProviderUnavailable(str(exc), exc.retry_after) from None
        if jwk.algorithm_name != alg:
            raise AuthError(
                "the token is not signed with an algorithm the identity provider's keys use",
                reason=f"alg {alg!r} with the {jwk.algorithm_name} key {kid!r}",
            )
        return jwk.key, [alg]

    def verify(self, token: str) -> Principal:
        if self.production:
            if self._jwks is None:  # the discovery document has not named the keys yet
                raise IdentityProviderUnavailable("the identity provider's keys are not loaded", 5)
            key, algorithms = self._provider_key(token, self._jwks)
        else:
            key, algorithms = self._key, self._algorithms
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self.audience,
                issuer=self._issuer,
                leeway=self.leeway,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("the token has expired") from None
        except jwt.ImmatureSignatureError as exc:
            raise AuthError("the token is not valid yet", reason=str(exc)) from None
        except jwt.InvalidSignatureError:
            if not self.production:
                raise AuthError(
                    "the token was signed by another key, not this deployment's development key: "
                    "make it with `cpp token` and the services' CPP_DATA_DIR"
                ) from None
            raise AuthError("the token's signature does not match the identity provider's key") from None
        except jwt.InvalidTokenError as exc:
            raise AuthError("the token is not valid", reason=f"{type(exc).__name__}: {exc}") from None
        try:
            who = self.claim_map.identity(claims)
        except ClaimError as exc:
            raise AuthError(str(exc), reason=exc.reason) from None
        if self.revocations is not None and self.revocations.refuses({**claims, "sub": who.user}):
            raise AuthError("the token has been revoked")
        return Principal(
            user=who.user,
            role=who.roles[0],
            roles=who.roles,
            authority=who.authority,
            claims=claims,
            person={"name": who.name, "email": who.email, "team": who.team, "manager": who.manager},
        )


def authenticate_request(verifier: TokenVerifier, authority_code: str) -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise AuthError("this endpoint needs a bearer token (Authorization: Bearer ...)", error="invalid_request")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("the Authorization header must be 'Bearer <token>'", error="invalid_request")
    principal = verifier.verify(token.strip())
    if principal.authority != authority_code:
        raise Forbidden(
            f"the token is for authority {principal.authority!r}; this deployment serves {authority_code!r}"
        )
    return principal


def _held(principal: Principal) -> str:
    return (
        f"role {principal.role!r}"
        if len(principal.roles) == 1
        else "roles " + ", ".join(repr(r) for r in principal.roles)
    )


def current_principal() -> Principal:
    return g.principal


def requires_role(*roles: str) -> Callable:
    """Allow only the given roles (403 otherwise)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = current_principal()
            if not principal.holds(*roles):
                raise Forbidden(f"{_held(principal)} may not do this; allowed: {', '.join(roles)}")
            return view(*args, **kwargs)

        return wrapper

    return decorate


def app_verifier() -> TokenVerifier:
    return current_app.extensions["cpp"].verifier
