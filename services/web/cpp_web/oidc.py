"""Signing in with the organisation's identity provider (production): OpenID
Connect's authorization code flow with PKCE (S256), state and nonce, by
Authlib's Flask client.

GET /sign-in shows one "Sign in" button (a form with CSRF: no other site can
start a sign-in for someone); its POST sends the person to the provider.
GET /sign-in/callback exchanges the code (with the code verifier), Authlib
checks the ID token (issuer, audience, nonce, expiry), then the ACCESS token
is checked by the platform's own ``TokenVerifier``, as every service checks
it: the person is who, and has the roles, the services will see.

The session keeps the access token (``token``, sent to the services), the
refresh token if any, the access token's expiry, the ID token (for signing
out at the provider) and who the person is (``user``). ``fresh()`` renews the
access token shortly before it expires. Everything that goes wrong is a page,
never a 500, and never anything of a token.

Settings (CPP_WEB_<NAME> or CPP_<NAME>): WEB_OIDC_CLIENT_ID (required in
production), WEB_OIDC_CLIENT_SECRET (none: a public client, PKCE alone),
OIDC_DISCOVERY_URL (default <CPP_OIDC_ISSUER>/.well-known/openid-configuration),
WEB_OIDC_SCOPE (default "openid profile email"), WEB_OIDC_RESOURCE (an RFC 8707
resource indicator sent on the authorization and token requests),
WEB_EXTERNAL_URL (the redirect URI is <it>/sign-in/callback), and the
verifier's OIDC_ALLOW_HTTP and OIDC_CA_BUNDLE for the provider's addresses.
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlparse

import requests
from authlib.common.urls import add_params_to_uri
from authlib.integrations.flask_client import OAuth, OAuthError
from flask import Blueprint, Flask, abort, current_app, g, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput
from wtforms import HiddenField, SubmitField

from cpp_shared import logs
from cpp_shared.auth import AuthError, IdentityProviderUnavailable, TokenVerifier
from cpp_shared.config import ConfigError, Settings
from cpp_shared.plugins import Plugins

from . import people

log = logs.get_logger("cpp.web.oidc")
bp = Blueprint("oidc", __name__)

CLIENT = "idp"  # the provider's name in Authlib's registry
DEFAULT_SCOPE = "openid profile email"
REFRESH_AHEAD_SECONDS = 60  # an access token expiring sooner than this is renewed first
TIMEOUT_SECONDS = 10.0
METADATA_MAX_AGE_SECONDS = 300.0
# An OAuth error code as RFC 6749 allows it (printable ASCII without '"' or '\'); anything else is not shown.
ERROR_CODE = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]{1,80}")
PLAIN = re.compile(r"[\x20-\x7e]{1,300}")


class SignInForm(FlaskForm):
    """One button: the CSRF token is the point (a sign-in started by this site only)."""

    next = HiddenField()
    submit = SubmitField("Sign in", widget=GovSubmitInput())


class ProviderSettingsError(Exception):
    """The provider's metadata names an address production may not use (plain http)."""


def _allow_http(settings: Settings) -> bool:
    return (settings.setting("OIDC_ALLOW_HTTP", "0") or "0").lower() in ("1", "true", "yes")


def client_settings(settings: Settings) -> dict | None:
    """The web client's settings, checked without reaching the provider (``cpp serve web`` checks them before
    starting gunicorn); None in development. A missing or unsafe one is a ConfigError."""
    if settings.is_development:
        return None
    client_id = settings.setting("OIDC_CLIENT_ID")
    if not client_id:
        raise ConfigError(
            "production mode needs CPP_WEB_OIDC_CLIENT_ID (the web application's client id at the "
            "organisation's identity provider, whose redirect URI is <CPP_WEB_EXTERNAL_URL>/sign-in/"
            "callback); for a single-machine trial set CPP_MODE=development"
        )
    if not settings.oidc_issuer:
        raise ConfigError("production mode needs CPP_OIDC_ISSUER (the identity provider's issuer)")
    discovery = settings.setting("OIDC_DISCOVERY_URL") or (
        f"{settings.oidc_issuer.rstrip('/')}/.well-known/openid-configuration"
    )
    external = (settings.setting("EXTERNAL_URL") or "").rstrip("/") or None
    if not _allow_http(settings):
        for name, url in (("CPP_OIDC_DISCOVERY_URL", discovery), ("CPP_WEB_EXTERNAL_URL", external)):
            if url and urlparse(url).scheme.lower() != "https":
                raise ConfigError(
                    f"{name} must be an https:// address in production, got {url!r}; for a lab "
                    "(an identity provider or a web application over plain http) set "
                    "CPP_OIDC_ALLOW_HTTP=1"
                )
    return {
        "client_id": client_id,
        "client_secret": settings.setting("OIDC_CLIENT_SECRET") or None,
        "discovery": discovery,
        "external": external,
        "scope": settings.setting("OIDC_SCOPE") or DEFAULT_SCOPE,
        "resource": settings.setting("OIDC_RESOURCE") or None,
        "allow_http": _allow_http(settings),
        "ca_bundle": settings.setting("OIDC_CA_BUNDLE") or None,
    }


def init_app(app: Flask, settings: Settings) -> None:
    """Production: the identity provider's client, and the verifier of its access tokens; a missing or unsafe
    setting, or keys that cannot be fetched, is a ConfigError (the web application does not start)."""
    client = client_settings(settings)
    if client is None:
        return
    conf = app.extensions["cpp_web"]
    if "plugins" not in conf:  # as views.plugins() keeps them
        conf["plugins"] = Plugins(settings.plugins)
    plugins = conf["plugins"]
    # The services' own checks and claim mapping (and the deployment's cpp_identity hook): refuses a missing
    # JWKS URL, plain http, another authority...
    verifier = TokenVerifier(settings, identity_hook=plugins.hook.cpp_identity)
    try:
        verifier.check_authority(plugins.authority()["code"])
        verifier.load_keys()
    except ConfigError:
        verifier.close()
        raise
    client_kwargs: dict[str, Any] = {
        "scope": client["scope"],
        "code_challenge_method": "S256",
        "default_timeout": TIMEOUT_SECONDS,  # (a proxy in HTTPS_PROXY is used, as the verifier uses it)
    }
    if client["ca_bundle"]:
        client_kwargs["verify"] = client["ca_bundle"]
    oauth = OAuth(app)
    oauth.register(
        CLIENT,
        client_id=client["client_id"],
        client_secret=client["client_secret"],
        server_metadata_url=client["discovery"],
        client_kwargs=client_kwargs,
    )
    app.extensions["cpp_web"]["oidc"] = {**client, "oauth": oauth, "verifier": verifier}


def _conf() -> dict:
    conf = current_app.extensions["cpp_web"].get("oidc")
    if conf is None:
        abort(404)  # development: the made-up people sign in, not a provider
    return conf


def _client():
    return _conf()["oauth"].create_client(CLIENT)


def _metadata(max_age: float | None = None) -> dict:
    """The provider's metadata (fetched once, then kept; fetched again when older than ``max_age`` seconds);
    production refuses its plain-http addresses."""
    client = _client()
    loaded = client.server_metadata.get("_loaded_at")
    if max_age is not None and loaded is not None and time.time() - loaded > max_age:
        client.server_metadata.pop("_loaded_at", None)  # Authlib fetches it again (kept if that fails)
    metadata = client.load_server_metadata()
    if not _conf()["allow_http"]:
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri", "end_session_endpoint"):
            url = metadata.get(name)
            if url and urlparse(url).scheme.lower() != "https":
                raise ProviderSettingsError(f"the provider's {name} {url!r} is not https")
    return metadata


def _extra() -> dict:
    resource = _conf()["resource"]
    return {"resource": resource} if resource else {}


def _external(endpoint: str) -> str:
    external = _conf()["external"]
    return external + url_for(endpoint) if external else url_for(endpoint, _external=True)


def _failed(heading: str, lines: list[str], status: int, *, retry: bool = True):
    response = current_app.make_response(
        (render_template("errors/sign_in_failed.html", heading=heading, lines=lines, retry=retry), status)
    )
    if status == 503:
        response.headers["Retry-After"] = "30"
    return response


def _unreachable(reason: str):
    log.warning("identity provider unreachable", reason=reason[:500])
    council = _council()
    return _failed(
        f"Sorry, the sign-in service of {council} is not available",
        [
            f"This service could not reach the sign-in service of {council}, so you have not been signed in.",
            "Try again in a few minutes. If it still does not work, contact your organisation's IT service desk.",
        ],
        503,
    )


def _council() -> str:
    from .views import authority

    return authority()["name"]


# --- sign in ----------------------------------------------------------------------------------------------


def sign_in_page(next_path: str | None):
    """GET /sign-in shows the button; its POST sends the person to the provider."""
    _conf()
    form = SignInForm()
    if request.method == "POST":
        if not form.validate_on_submit():  # only the CSRF token can be wrong
            return render_template("errors/form_expired.html"), 400
        from .views import _local_path

        next_path = _local_path(form.next.data)
        client = _client()
        redirect_uri = _external("oidc.callback")
        try:
            # The provider is asked for its metadata again now and then: a sign-in it cannot take is a page of
            # this service's saying so, not the browser's.
            _metadata(max_age=METADATA_MAX_AGE_SECONDS)
            found = client.create_authorization_url(redirect_uri, **_extra())
        except (requests.RequestException, ProviderSettingsError, ValueError) as exc:  # (ValueError: not JSON)
            return _unreachable(f"{type(exc).__name__}: {exc}")
        # Authlib keeps the state, nonce and code verifier in the session, with where to go back to.
        client.save_authorize_data(redirect_uri=redirect_uri, next=next_path, **found)
        return redirect(found["url"])
    form.next.data = next_path or ""
    response = current_app.make_response(render_template("sign_in_oidc.html", form=form))
    # The form's answer is a redirect to the provider: a browser follows it only if form-action allows it.
    from .app import content_security_policy

    response.headers["Content-Security-Policy"] = content_security_policy(g.get("csp_nonce", "")).replace(
        "form-action 'self'", f"form-action 'self' {_provider_origin()}"
    )
    return response


def _provider_origin() -> str:
    """The origins of the provider's discovery address and (once known) authorization endpoint; the page itself
    does not wait on the provider."""
    origins = []
    for url in (_conf()["discovery"], _client().server_metadata.get("authorization_endpoint")):
        if isinstance(url, str) and url:
            parts = urlparse(url)
            origin = f"{parts.scheme}://{parts.netloc}"
            if origin not in origins:
                origins.append(origin)
    return " ".join(origins)


def _person(principal, user: dict) -> dict:
    """The session's ``user`` (``user`` with the roles and team the access token now gives)."""
    return {
        **user,
        "role": principal.role,
        "roles": list(principal.roles),
        "role_name": people.role_names(principal.roles),
        "team": principal.team,
    }


@bp.get("/sign-in/callback")
def callback():
    from .views import end_session

    conf = _conf()
    client = _client()
    state = request.args.get("state")
    state_data = client.framework.get_state_data(session, state) if state else None
    error = request.args.get("error")
    if error:
        if state_data is not None:
            client.framework.clear_state_data(session, state)
        code = error if ERROR_CODE.fullmatch(error) else "unknown"
        description = request.args.get("error_description") or ""
        log.warning(
            "the identity provider refused the sign-in",
            error=code[:80],
            description=description[:300] if PLAIN.fullmatch(description) else None,
        )
        if code == "access_denied":
            return _failed(
                "You have not been signed in",
                [
                    f"The sign-in service of {_council()} did not sign you in (access_denied).",
                    "If you cancelled, you can sign in again. If you did not, ask your organisation's "
                    "IT service desk whether your account may use this service.",
                ],
                403,
            )
        lines = [f"The sign-in service of {_council()} said: {code}."]
        # Its words only for a sign-in this browser started here: a made-up link cannot put words on this page.
        if description and PLAIN.fullmatch(description) and state_data is not None:
            lines.append(description)
        lines.append(
            "Try signing in again. If it happens again, tell your organisation's IT service desk the words above."
        )
        return _failed("You have not been signed in", lines, 400)
    if state_data is None:
        log.warning("sign-in callback with an unknown state", state_given=bool(state))
        return _failed(
            "You have not been signed in",
            [
                "The sign-in did not start here, or it took too long, or it was already finished in another tab.",
                "Start again from the sign-in page.",
            ],
            400,
        )
    next_path = state_data.get("next")
    try:
        token = client.authorize_access_token(**_extra())
    except requests.RequestException as exc:
        return _unreachable(f"{type(exc).__name__}: {exc}")
    except OAuthError as exc:  # the token endpoint refused the code (used, expired...)
        code = exc.error if isinstance(exc.error, str) and ERROR_CODE.fullmatch(exc.error) else "unknown"
        log.warning("the identity provider refused the code", error=code, description=str(exc.description)[:300])
        return _failed(
            "You have not been signed in",
            [
                f"The sign-in service of {_council()} refused to finish the sign-in ({code}).",
                "Start again from the sign-in page.",
            ],
            400,
        )
    except Exception as exc:  # noqa: BLE001 - the ID token failed Authlib's checks (joserfc's errors)
        log.warning("the ID token was refused", reason=f"{type(exc).__name__}: {exc}"[:500])
        return _failed(
            "You have not been signed in",
            [
                "The answer from the sign-in service could not be checked, so you have not been signed in.",
                "Start again from the sign-in page.",
            ],
            400,
        )
    access_token = token.get("access_token")
    if not access_token:
        log.warning("the identity provider gave no access token")
        return _failed("You have not been signed in", ["The sign-in service gave no access token."], 400)
    try:
        principal = conf["verifier"].verify(access_token)
    except IdentityProviderUnavailable as exc:
        return _unreachable(exc.reason)
    except AuthError as exc:
        log.warning("the access token was refused at sign-in", error=str(exc), reason=exc.reason)
        return _failed(
            "You cannot use this service",
            [
                "Your account has no role in this service, or your sign-in could not be accepted, so you "
                "have not been signed in.",
                "Ask your organisation's IT service desk to give your account a role in this service "
                "(a social worker, team manager, conference chair, partner agency, auditor or "
                "administrator).",
            ],
            403,
            retry=False,
        )
    id_claims = token.get("userinfo") or {}
    name = principal.name
    if name == principal.user and isinstance(id_claims.get("name"), str) and id_claims["name"].strip():
        name = id_claims["name"].strip()  # the access token names no one: the ID token's name
    end_session()  # a fresh session id: one known before the sign-in is worth nothing
    session.update(
        token=access_token,
        token_expires_at=_expires_at(token, principal.claims),
        id_token=token.get("id_token"),
        last_seen=time.time(),
        user=_person(principal, {"user": principal.user, "name": name}),
    )
    if token.get("refresh_token"):
        session["refresh_token"] = token["refresh_token"]
    log.info("signed in", user=principal.user, role=principal.role)
    return redirect(next_path or url_for("web.home_or_sign_in"))


def _expires_at(token: dict, claims: dict) -> float:
    """When the access token expires: the token answer's expires_at (from expires_in), else its exp."""
    for value in (token.get("expires_at"), claims.get("exp")):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return time.time() + 300.0


# --- keeping the access token fresh -------------------------------------------------------------------------


def fresh() -> bool:
    """Called on every signed-in page: False when the session must end (the access token expired and cannot be
    renewed). An access token expiring within a minute is renewed with the refresh token and checked again."""
    conf = current_app.extensions["cpp_web"].get("oidc")
    expires_at = session.get("token_expires_at")
    if conf is None or expires_at is None:  # development tokens last the session
        return True
    now = time.time()
    if expires_at - now > REFRESH_AHEAD_SECONDS:
        return True
    refresh_token = session.get("refresh_token")
    if not refresh_token:
        return now < expires_at
    try:
        token = _client().fetch_access_token(grant_type="refresh_token", refresh_token=refresh_token, **_extra())
        principal = conf["verifier"].verify(token["access_token"])
    except (requests.RequestException, IdentityProviderUnavailable) as exc:
        # The provider is down: the token still good is used until it expires.
        log.warning(
            "could not renew the access token: the identity provider is unreachable",
            reason=f"{type(exc).__name__}: {exc}"[:500],
        )
        return now < expires_at
    except AuthError as exc:
        log.warning("the renewed access token was refused", error=str(exc), reason=exc.reason)
        return False
    except Exception as exc:  # noqa: BLE001 - OAuthError (invalid_grant: revoked, expired), a malformed answer
        log.warning("could not renew the access token", reason=f"{type(exc).__name__}: {exc}"[:500])
        return False
    user = session.get("user") or {}
    if principal.user != user.get("user"):
        log.warning("the renewed access token is someone else's", user=principal.user)
        return False
    session["token"] = token["access_token"]
    session["token_expires_at"] = _expires_at(token, principal.claims)
    if token.get("refresh_token"):  # a provider that rotates refresh tokens
        session["refresh_token"] = token["refresh_token"]
    if token.get("id_token"):
        session["id_token"] = token["id_token"]
    session["user"] = _person(principal, user)
    log.info("renewed the access token", user=principal.user)
    return True


# --- sign out ---------------------------------------------------------------------------------------------


def sign_out_address(id_token: str | None) -> str | None:
    """Where to send someone who signed out here: the provider's end_session_endpoint (RP-initiated logout),
    coming back to the sign-in page; None without one (or in development)."""
    conf = current_app.extensions["cpp_web"].get("oidc")
    if conf is None:
        return None
    try:
        endpoint = _metadata().get("end_session_endpoint")
    except (requests.RequestException, ProviderSettingsError, ValueError) as exc:
        log.warning("could not sign out at the identity provider", reason=f"{type(exc).__name__}: {exc}"[:500])
        return None
    if not endpoint:
        return None
    params = [("post_logout_redirect_uri", _external("web.sign_in")), ("client_id", conf["client_id"])]
    if id_token:
        params.insert(0, ("id_token_hint", id_token))
    return add_params_to_uri(endpoint, params)
