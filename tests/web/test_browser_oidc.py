"""Production sign-in in a real browser (Debian's chromium, driven by Playwright): the web application and the
five services, all in production mode (their web processes; no workers), trust a real OpenID Provider (panva's
oidc-provider, tests/oidc/op.py) on loopback, reading its tokens as Entra ID's are read (a roles array, the
authority a setting). A social worker who is also a team manager signs in through the provider's own login and
consent pages, lands on My work with their name, signs out (at the provider too), and going back to a page asks
them to sign in again."""

from __future__ import annotations

import shutil

import pytest
from cryptography.fernet import Fernet

from tests.helpers import free_port
from tests.integration.conftest import broker_url, rabbit  # noqa: F401 (fixtures)
from tests.integration.processes import ServiceProcesses, launch, service_env
from tests.oidc.op import PROVIDER_DIR, RESOURCE, OpenIDProvider, rsa_jwk
from tests.web.test_browser import artifacts, check, page  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.broker, pytest.mark.oidc]

CLIENT_ID = "cpp-web"
CLIENT_SECRET = "web-client-secret-web-client-secret"
# Shaped as Entra ID's: the roles an array (this person holds two), no authority claim (the deployment says it).
ACCOUNTS = {
    "sam.okafor": {
        "claims": {"name": "Sam Okafor", "email": "sam.okafor@council.example"},
        "token_claims": {
            "roles": ["team_manager", "social_worker", "Reports.Read"],
            "name": "Sam Okafor",
            "team": "Area North",
        },
    }
}


@pytest.fixture
def production_stack(tmp_path, broker_url):  # noqa: F811 (the fixture imported above)
    if shutil.which("node") is None or not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("the test OpenID Provider is not installed: run `make test` or `npm ci` in tests/oidc/provider")
    data = tmp_path / "var"
    data.mkdir()
    web_port = free_port()
    web = f"http://127.0.0.1:{web_port}"
    (tmp_path / "op").mkdir()
    provider = OpenIDProvider(
        tmp_path / "op",
        [rsa_jwk("rsa-1")],
        accounts=ACCOUNTS,
        web_clients=[
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [f"{web}/sign-in/callback"],
                "post_logout_redirect_uris": [f"{web}/sign-in"],
            }
        ],
    )
    provider.start()
    running = []
    try:
        production = {
            **provider.settings_env(),
            "CPP_NOTIFY_SECRETS_KEY": Fernet.generate_key().decode(),
            "CPP_OIDC_ROLES_CLAIM": "roles",
            "CPP_OIDC_AUTHORITY": "ENG",
        }
        for service in ("plans", "scheduler", "notify", "docs", "returns"):
            extra = {"CPP_SCHEDULER_PUBLIC_URL": "http://127.0.0.1:1"} if service == "scheduler" else {}
            running.append(launch(service, data, broker_url, "web", **production, **extra))
        env = service_env(
            "web",
            data_dir=data,
            broker_url=broker_url,
            port=web_port,
            **production,
            CPP_WEB_OIDC_CLIENT_ID=CLIENT_ID,
            CPP_WEB_OIDC_CLIENT_SECRET=CLIENT_SECRET,
            CPP_WEB_OIDC_SCOPE="openid profile email api",
            CPP_WEB_OIDC_RESOURCE=RESOURCE,
            CPP_WEB_EXTERNAL_URL=web,
            CPP_WEB_COOKIE_SECURE="0",  # plain http on loopback
            **{f"CPP_WEB_{p.service.upper()}_URL": p.url for p in running},
        )
        running.append(ServiceProcesses("web", env, data, web_port).start("web"))
        yield {"web": web, "provider": provider}
    finally:
        for proc in running:
            proc.stop()
        provider.stop()


def test_a_social_worker_signs_in_at_the_provider_and_signing_out_ends_both_sessions(production_stack, page, artifacts):
    web, provider = production_stack["web"], production_stack["provider"]

    page.goto(f"{web}/my-work")  # not signed in: to the sign-in page, and back after
    assert page.url.startswith(f"{web}/sign-in")
    check(page, artifacts, "1-sign-in")
    page.get_by_role("button", name="Sign in").click()

    # The provider's own pages: any login name and password, then consent.
    page.wait_for_url(f"{provider.issuer}/interaction/**")
    page.fill("input[name=login]", "sam.okafor")
    page.fill("input[name=password]", "any password")
    page.click("button[type=submit]")
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url(f"{web}/my-work")
    assert page.locator("h1").inner_text() == "My work"
    assert "Sam Okafor, social worker and team manager" in page.locator(".govuk-caption-l").inner_text()
    navigation = page.locator(".govuk-service-navigation__list").inner_text()
    assert "Team" in navigation and "Approvals" in navigation  # the pages of both roles
    check(page, artifacts, "2-my-work")

    page.get_by_role("link", name="Sign out").click()
    page.wait_for_url(f"{provider.issuer}/session/end**")  # the provider asks: sign out there too
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(f"{web}/sign-in**")
    assert "You have signed out." in page.content()

    page.goto(f"{web}/my-work")  # going back asks to sign in again: here, and at the provider
    assert page.url.startswith(f"{web}/sign-in")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{provider.issuer}/interaction/**")
    assert page.locator("input[name=login]").is_visible()
