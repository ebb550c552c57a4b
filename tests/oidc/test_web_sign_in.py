"""The web application's production sign-in (OpenID Connect's authorization code flow with PKCE) with Flask's
test client, against a real OpenID Provider (panva's oidc-provider, tests/oidc/op.py): a person signs in through
the provider's own login and consent pages, driven here with requests; the web application's services are fakes
on loopback."""

from __future__ import annotations

import re
import shutil
import time
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from cpp_shared.config import ConfigError, Settings
from cpp_web import client as web_client
from cpp_web.app import create_app
from cpp_web.views import SESSION_ENDED
from tests.oidc.op import PROVIDER_DIR, RESOURCE, OpenIDProvider, rsa_jwk
from tests.oidc.servers import self_signed, tls_proxy
from tests.web.fakes import Fake

pytestmark = [pytest.mark.oidc]

CLIENT_ID = "cpp-web"
CLIENT_SECRET = "web-client-secret-web-client-secret"
APP = "http://localhost"  # the test client's own address
ACCOUNTS = {
    "sam": {
        "claims": {"name": "Sam Okafor", "email": "sam.okafor@council.example"},
        "token_claims": {"role": "social_worker", "authority": "ENG", "name": "Sam Okafor", "team": "Area North"},
    },
    # Known to the provider, but with no role in this service.
    "robin": {"claims": {"name": "Robin No-Role"}, "token_claims": {"authority": "ENG"}},
}


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


@pytest.fixture
def fakes():
    started = {name: Fake().start() for name in web_client.SERVICES}
    for fake in started.values():
        fake.routes[("GET", "/healthz")] = (200, {"status": "ok"})
    started["plans"].routes[("GET", "/v1/cases")] = (200, {"items": [], "total": 0})
    started["scheduler"].routes[("GET", "/v1/deadlines")] = (200, {"items": []})
    yield started
    for fake in started.values():
        fake.stop()


@pytest.fixture
def provider_for(tmp_path):
    """provider_for(access_token_ttl=600) -> a started provider with the web application's client."""
    if shutil.which("node") is None:
        pytest.fail("node is not installed (the test OpenID Provider runs on Node.js 20.19 or later)")
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("the test OpenID Provider is not installed: run `make test` or `npm ci` in tests/oidc/provider")
    started = []

    def make(access_token_ttl: int = 600) -> OpenIDProvider:
        folder = tmp_path / f"op-{len(started)}"
        folder.mkdir()
        provider = OpenIDProvider(
            folder,
            [rsa_jwk("rsa-1")],
            accounts=ACCOUNTS,
            access_token_ttl=access_token_ttl,
            web_clients=[
                {
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "redirect_uris": [f"{APP}/sign-in/callback"],
                    "post_logout_redirect_uris": [f"{APP}/sign-in"],
                }
            ],
        )
        provider.start()
        started.append(provider)
        return provider

    yield make
    for provider in started:
        provider.stop()


@pytest.fixture
def provider(provider_for):
    return provider_for()


def web_env(tmp_path, fakes, provider, **extra) -> dict[str, str]:
    env = {
        "CPP_DATA_DIR": str(tmp_path / "web"),
        "CPP_LOG_FORMAT": "console",
        **provider.settings_env(),
        "CPP_WEB_OIDC_CLIENT_ID": CLIENT_ID,
        "CPP_WEB_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "CPP_WEB_OIDC_SCOPE": "openid profile email api",
        "CPP_WEB_OIDC_RESOURCE": RESOURCE,
        "CPP_WEB_COOKIE_SECURE": "0",
    }  # the test client's http://localhost
    env.update({f"CPP_WEB_{name.upper()}_URL": fake.url for name, fake in fakes.items()})
    env.update(extra)
    return env


@pytest.fixture
def make_app(tmp_path, fakes):
    apps = []

    def make(provider, **extra):
        app = create_app(Settings.from_env("web", web_env(tmp_path, fakes, provider, **extra)))
        app.config["TESTING"] = True
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["cpp_web"]["oidc"]["verifier"].close()


@pytest.fixture
def app(make_app, provider):
    return make_app(provider)


def start_sign_in(client, next_path: str | None = None):
    """The sign-in page's button: the answer is the redirect to the provider."""
    page = client.get("/sign-in" + (f"?next={next_path}" if next_path else ""))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    sent_next = re.search(r'name="next" type="hidden" value="([^"]*)"', html).group(1)
    return client.post("/sign-in", data={"csrf_token": csrf_of(html), "next": sent_next})


def at_provider(address: str, login: str = "sam", *, cancel: bool = False) -> str:
    """A person at the provider's own pages (login: any name, any password; consent: Continue), as a browser
    would go through them; returns the address the provider sends them back to, on this app (path and query)."""
    with requests.Session() as browser:
        browser.trust_env = False
        answer = browser.get(address, allow_redirects=False, timeout=10)
        for _ in range(12):
            if answer.is_redirect:
                target = urljoin(answer.url, answer.headers["Location"])
                if target.startswith(APP + "/"):
                    return target[len(APP) :]
                answer = browser.get(target, allow_redirects=False, timeout=10)
                continue
            html = answer.text
            assert answer.status_code == 200, html
            if cancel:
                abort = re.search(r'href="([^"]*/abort)"', html).group(1)
                answer = browser.get(urljoin(answer.url, abort), allow_redirects=False, timeout=10)
                continue
            action = urljoin(answer.url, re.search(r'<form[^>]*action="([^"]+)"', html).group(1))
            prompt = re.search(r'name="prompt" value="([^"]+)"', html).group(1)
            data = {"prompt": prompt, **({"login": login, "password": "any"} if prompt == "login" else {})}
            answer = browser.post(action, data=data, allow_redirects=False, timeout=10)
        raise AssertionError("the provider never sent the person back")


def signed_in(client, login: str = "sam", next_path: str | None = None):
    """Sign in through the provider; the callback's answer."""
    started = start_sign_in(client, next_path)
    assert started.status_code == 302, started.get_data(as_text=True)
    return client.get(at_provider(started.headers["Location"], login))


def kept(client) -> dict:
    with client.session_transaction() as session:
        return dict(session)


# --- signing in ---------------------------------------------------------------------------------------------


def test_a_person_signs_in_with_pkce_state_and_nonce_and_lands_on_the_page_they_asked_for(app, fakes, provider):
    assert app.config["SESSION_COOKIE_SECURE"] is False  # (production's default is a __Host- cookie, below)
    client = app.test_client()
    asked = client.get("/my-work")
    assert asked.status_code == 302 and asked.headers["Location"] == "/sign-in?next=/my-work"
    page = client.get("/sign-in?next=/my-work")
    html = page.get_data(as_text=True)
    assert "Sign in" in html and "person" not in html  # one button, no made-up people
    assert f"form-action 'self' {provider.issuer}" in page.headers["Content-Security-Policy"]

    started = start_sign_in(client, "/my-work")
    authorize = urlsplit(started.headers["Location"])
    params = {k: v[0] for k, v in parse_qs(authorize.query).items()}
    assert f"{authorize.scheme}://{authorize.netloc}" == provider.issuer
    assert params["response_type"] == "code" and params["client_id"] == CLIENT_ID
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    assert params["state"] and params["nonce"] and params["resource"] == RESOURCE
    assert params["redirect_uri"] == f"{APP}/sign-in/callback"
    assert set(params["scope"].split()) == {"openid", "profile", "email", "api"}
    before = client.get_cookie("cpp-session").value

    landed = client.get(at_provider(started.headers["Location"]))
    assert landed.status_code == 302 and landed.headers["Location"] == "/my-work"
    assert client.get_cookie("cpp-session").value != before  # a fresh session id at sign-in
    session = kept(client)
    assert session["user"] == {
        "user": "sam",
        "name": "Sam Okafor",
        "role": "social_worker",
        "roles": ["social_worker"],
        "role_name": "Social worker",
        "team": "Area North",
    }
    assert session["refresh_token"] and session["id_token"] and session["token"]
    assert 500 < session["token_expires_at"] - time.time() <= 600
    assert not [k for k in session if k.startswith("_state_")]  # the state, nonce and verifier are used up

    work = client.get("/my-work")
    assert work.status_code == 200 and "Sam Okafor" in work.get_data(as_text=True)
    sent = fakes["plans"].sent("GET", "/v1/cases")[-1]["headers"]["Authorization"]
    assert sent == f"Bearer {session['token']}"


def test_a_next_page_elsewhere_is_dropped(app):
    client = app.test_client()
    for foreign in ("https://elsewhere.example/my-work", "//elsewhere.example/my-work"):
        landed = signed_in(client, next_path=foreign)
        assert landed.status_code == 302 and landed.headers["Location"] == "/", foreign


def test_production_uses_a_host_only_secure_cookie_by_default(make_app, provider):
    app = make_app(provider, CPP_WEB_COOKIE_SECURE="")
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_NAME"].startswith("__Host-")


def test_the_sign_in_button_needs_the_form_s_csrf_token(app):
    client = app.test_client()
    client.get("/sign-in")
    refused = client.post("/sign-in", data={"next": "/my-work"})
    assert refused.status_code == 400 and "Your form could not be sent" in refused.get_data(as_text=True)


# --- what goes wrong is a page --------------------------------------------------------------------------------


def test_a_state_that_does_not_match_is_refused_and_nothing_is_kept(app):
    client = app.test_client()
    started = start_sign_in(client)
    back = at_provider(started.headers["Location"])
    forged = re.sub(r"state=[^&]+", "state=forged-state", back)
    refused = client.get(forged)
    assert refused.status_code == 400 and "You have not been signed in" in refused.get_data(as_text=True)
    assert "token" not in kept(client)
    # the same answer in another browser (no sign-in started there) is refused too
    other = app.test_client()
    assert other.get(back).status_code == 400 and "token" not in kept(other)


def test_a_person_who_cancels_at_the_provider_sees_the_error_code(app):
    client = app.test_client()
    started = start_sign_in(client)
    refused = client.get(at_provider(started.headers["Location"], cancel=True))
    html = refused.get_data(as_text=True)
    assert refused.status_code == 403 and "access_denied" in html and "You have not been signed in" in html
    assert "token" not in kept(client)


def test_another_provider_error_shows_its_code_and_a_plain_description_only(app):
    client = app.test_client()
    started = start_sign_in(client)
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    refused = client.get(
        f"/sign-in/callback?state={state}&error=temporarily_unavailable"
        "&error_description=%E2%80%AEnot+plain%3Cscript%3E"
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "temporarily_unavailable" in html
    assert "not plain" not in html and "<script>" not in html
    refused = client.get("/sign-in/callback?error=%3Cb%3Ehi%3C/b%3E%C3%A9")
    assert refused.status_code == 400 and "unknown" in refused.get_data(as_text=True)
    state = parse_qs(urlsplit(start_sign_in(client).headers["Location"]).query)["state"][0]
    plain = client.get(f"/sign-in/callback?state={state}&error=server_error&error_description=The+provider+is+busy")
    assert plain.status_code == 400 and "The provider is busy" in plain.get_data(as_text=True)
    # A link nobody's sign-in started (no state this browser holds) puts no words of its own on the page.
    planted = client.get("/sign-in/callback?error=server_error&error_description=Call+0800+000+000+now")
    assert planted.status_code == 400 and "0800" not in planted.get_data(as_text=True)


def test_an_access_token_the_platform_refuses_is_a_403_and_nothing_is_kept(app, capsys):
    client = app.test_client()
    refused = signed_in(client, login="robin")  # the provider signs them in; their token has no role
    html = refused.get_data(as_text=True)
    assert refused.status_code == 403 and "Your account has no role in this service" in html
    assert "token" not in kept(client) and "user" not in kept(client)
    logged = capsys.readouterr()
    assert "the access token was refused at sign-in" in logged.out + logged.err and "role" in logged.out + logged.err
    assert client.get("/my-work").status_code == 302


def test_a_provider_that_cannot_be_reached_at_sign_in_is_a_503_naming_the_council_s_sign_in_service(app, provider):
    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    provider.stop()
    refused = client.post("/sign-in", data={"csrf_token": csrf_of(page), "next": ""})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "30"
    assert (
        "the sign-in service of England (Working Together defaults) is not available" in html
        and "Traceback" not in html
    )
    assert "token" not in kept(client)


def test_a_provider_gone_before_the_code_is_exchanged_is_a_503(app, provider):
    client = app.test_client()
    started = start_sign_in(client)
    back = at_provider(started.headers["Location"])
    provider.stop()
    refused = client.get(back)
    assert (
        refused.status_code == 503
        and "the sign-in service of England (Working Together defaults) is not available"
        in refused.get_data(as_text=True)
    )
    assert "token" not in kept(client)


def test_a_code_used_twice_is_refused(app):
    client = app.test_client()
    started = start_sign_in(client)
    back = at_provider(started.headers["Location"])
    with client.session_transaction() as session:
        saved = {k: v for k, v in session.items() if k.startswith("_state_")}
    assert client.get(back).status_code == 302
    with client.session_transaction() as session:  # the state put back: only the provider can refuse now
        session.update(saved)
    again = client.get(back)
    assert again.status_code == 400 and "invalid_grant" in again.get_data(as_text=True)


# --- keeping the access token fresh ---------------------------------------------------------------------------


def test_an_access_token_about_to_expire_is_renewed_with_the_refresh_token(make_app, provider_for, fakes):
    app = make_app(provider_for(access_token_ttl=30))  # within the minute: renewed on the next page
    client = app.test_client()
    assert signed_in(client).status_code == 302
    first = kept(client)
    work = client.get("/my-work")
    assert work.status_code == 200, work.get_data(as_text=True)
    renewed = kept(client)
    assert renewed["token"] != first["token"] and renewed["user"]["user"] == "sam"
    assert renewed["token_expires_at"] >= first["token_expires_at"]
    sent = fakes["plans"].sent("GET", "/v1/cases")[-1]["headers"]["Authorization"]
    assert sent == f"Bearer {renewed['token']}"  # the page used the new one


def test_an_expired_access_token_without_a_refresh_token_ends_the_session(app):
    client = app.test_client()
    assert signed_in(client).status_code == 302
    with client.session_transaction() as session:
        del session["refresh_token"]
        session["token_expires_at"] = time.time() - 1
    sent_away = client.get("/my-work")
    assert sent_away.status_code == 302 and sent_away.headers["Location"] == "/sign-in?next=/my-work"
    assert "token" not in kept(client)
    assert SESSION_ENDED in client.get("/sign-in?next=/my-work").get_data(as_text=True)


def test_a_refresh_token_the_provider_refuses_ends_the_session(app):
    client = app.test_client()
    assert signed_in(client).status_code == 302
    with client.session_transaction() as session:
        session["refresh_token"] = "revoked-or-made-up"
        session["token_expires_at"] = time.time() + 10
    sent_away = client.get("/my-work")
    assert sent_away.status_code == 302 and sent_away.headers["Location"].startswith("/sign-in")
    assert "token" not in kept(client)


def test_a_token_not_yet_expired_without_a_refresh_token_is_used_until_it_expires(app):
    client = app.test_client()
    assert signed_in(client).status_code == 302
    with client.session_transaction() as session:
        del session["refresh_token"]
        session["token_expires_at"] = time.time() + 30
    assert client.get("/my-work").status_code == 200


# --- signing out --------------------------------------------------------------------------------------------


def test_signing_out_ends_the_session_here_and_at_the_provider(app, provider):
    client = app.test_client()
    assert signed_in(client).status_code == 302
    id_token = kept(client)["id_token"]
    out = client.get("/sign-out")
    assert out.status_code == 302
    end = urlsplit(out.headers["Location"])
    params = {k: v[0] for k, v in parse_qs(end.query).items()}
    assert f"{end.scheme}://{end.netloc}{end.path}" == f"{provider.issuer}/session/end"
    assert params["id_token_hint"] == id_token and params["post_logout_redirect_uri"] == f"{APP}/sign-in"
    assert "token" not in kept(client) and "id_token" not in kept(client)
    assert client.get("/my-work").status_code == 302


# --- settings -------------------------------------------------------------------------------------------------


def test_production_without_a_client_id_refuses_to_start(tmp_path, fakes, provider):
    env = web_env(tmp_path, fakes, provider)
    del env["CPP_WEB_OIDC_CLIENT_ID"]
    with pytest.raises(ConfigError, match="CPP_WEB_OIDC_CLIENT_ID"):
        create_app(Settings.from_env("web", env))


def test_production_refuses_a_plain_http_provider_unless_told_it_is_a_lab(tmp_path, fakes, provider):
    env = web_env(tmp_path, fakes, provider, CPP_OIDC_ALLOW_HTTP="0")
    with pytest.raises(ConfigError, match="https://.*CPP_OIDC_ALLOW_HTTP=1"):
        create_app(Settings.from_env("web", env))


def test_the_redirect_uri_follows_the_external_address(make_app, provider):
    app = make_app(provider, CPP_WEB_EXTERNAL_URL="https://cpp.council.example/")
    started = start_sign_in(app.test_client())
    sent = parse_qs(urlsplit(started.headers["Location"]).query)["redirect_uri"][0]
    assert sent == "https://cpp.council.example/sign-in/callback"


def test_production_refuses_plain_http_addresses_for_the_web_application_and_in_the_provider_s_metadata(
    tmp_path, fakes, provider, make_app
):
    cert, key = self_signed(tmp_path)
    with tls_proxy(provider.issuer, cert, key) as front:  # the provider's keys and metadata over https
        https = {
            "CPP_OIDC_ALLOW_HTTP": "0",
            "CPP_OIDC_CA_BUNDLE": cert,
            "CPP_OIDC_ISSUER": "https://idp.example",
            "CPP_OIDC_JWKS_URL": f"{front}/jwks",
            "CPP_OIDC_DISCOVERY_URL": f"{front}/.well-known/openid-configuration",
        }
        with pytest.raises(ConfigError, match="CPP_WEB_EXTERNAL_URL must be an https:// address"):
            create_app(
                Settings.from_env(
                    "web",
                    web_env(tmp_path, fakes, provider, **https, CPP_WEB_EXTERNAL_URL="http://cpp.council.example"),
                )
            )
        # Metadata fetched over https that names another (a plain-http) issuer: the start is refused, before
        # any sign-in could be sent to its plain-http endpoints.
        with pytest.raises(ConfigError, match="names the issuer 'http://"):
            make_app(provider, **https, CPP_WEB_EXTERNAL_URL="https://cpp.council.example")


def test_readyz_reports_the_identity_provider_without_waiting_on_it(app, provider):
    client = app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["checks"]["identity_provider"] == "ok"
    provider.freeze()
    try:
        started = time.monotonic()
        frozen = client.get("/readyz")
        assert time.monotonic() - started < 1.5  # never waits on the provider
        assert frozen.json["checks"]["identity_provider"] == "ok"  # its keys, fetched at start, still trusted
    finally:
        provider.thaw()


def test_the_web_application_reads_tokens_with_the_deployments_mapping(make_app, provider):
    with pytest.raises(ConfigError, match="CPP_OIDC_AUTHORITY is 'BRO' but this deployment serves 'ENG'"):
        make_app(provider, CPP_OIDC_AUTHORITY="BRO")
    app = make_app(provider, CPP_OIDC_AUTHORITY="ENG", CPP_OIDC_ROLES_CLAIM="roles")
    # The account's access token says role, not roles: with this mapping it holds no role of the platform.
    landed = signed_in(app.test_client())
    assert landed.status_code == 403 and "no role in this service" in landed.get_data(as_text=True)
