"""The caseworker web application: the four services' APIs as GOV.UK pages.

Its own Flask factory, not ``cpp_shared.web.create_app`` (which is for
bearer-token APIs with a store and a worker): the web application owns no
records and has no worker. It keeps the platform's settings, logs, metrics,
``/healthz``, ``/readyz`` (ready when the four services answer their
``/healthz``) and security headers, and adds what a browser needs: a
server-side session, CSRF on every form, a Content-Security-Policy whose
scripts are files or carry the page's nonce, and ``Cache-Control: no-store``
on every page.

Sessions are kept server-side with Flask-Session's SQLAlchemy backend in a
SQLite file in CPP_DATA_DIR (``web-sessions.db``, or CPP_WEB_SESSION_URL):
every gunicorn worker process reads the same rows (SQLite locks the file per
write), which cachelib's in-memory caches cannot do, and a restart keeps
people signed in. The cookie holds only the session's id; the bearer token
stays in the row.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
import warnings
from datetime import timedelta
from pathlib import Path

from flask import Flask, Response, g, request
from flask_session import Session
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from govuk_frontend_wtf.main import WTFormsHelpers
from jinja2 import ChoiceLoader, PackageLoader, PrefixLoader
from sqlalchemy import event
from sqlalchemy.exc import OperationalError, SAWarning

from cpp_shared import edges, health_metrics, logs
from cpp_shared.config import ConfigError, Settings
from cpp_shared.metrics import ServiceMetrics
from cpp_shared.web import ServiceSpec

from .client import SERVICES, Services

log = logs.get_logger("cpp.web")
PUBLIC_ENDPOINTS = {"healthz", "readyz", "metrics", "static"}

SERVICE = ServiceSpec(
    name="web",
    port=5000,
    title="Caseworker web application",
    description="The platform as pages for social workers, managers, chairs and partners.",
    blueprints=list,
    app_module="cpp_web.app",
    worker=False,
    after_up=("demo", "--if-new"),  # the made-up caseload on a first start in development (cpp_web/demo.py)
    preflight=lambda settings: _check_sign_in_settings(settings),
)


def _check_sign_in_settings(settings: Settings) -> None:
    from .oidc import client_settings

    client_settings(settings)  # production: the identity provider's client id and addresses


def _int_setting(settings: Settings, name: str, default: int) -> int:
    text = settings.setting(name, str(default))
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"CPP_WEB_{name} must be a whole number, got {text!r}") from None
    if value <= 0:
        raise ConfigError(f"CPP_WEB_{name} must be more than 0, got {text!r}")
    return value


def secret_key(settings: Settings) -> str:
    """CPP_WEB_SECRET_KEY, or the content of the file CPP_WEB_SECRET_KEY_FILE
    names (which must exist), else CPP_DATA_DIR/web-secret.key, made on first
    start, readable by its owner only: every worker process and replica must
    sign with the same key."""
    given = settings.setting("SECRET_KEY")
    if given:
        return given
    path = settings.data_dir / "web-secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker made it first
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
    for _ in range(50):  # another process may be writing it
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.02)
    raise ConfigError(f"the web application's secret key file {path} is empty")


def _session_store(app: Flask, settings: Settings) -> None:
    url = settings.setting("SESSION_URL") or f"sqlite:///{(settings.data_dir / 'web-sessions.db').resolve()}"
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=url,
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"timeout": 15}} if url.startswith("sqlite") else {},
        SESSION_TYPE="sqlalchemy",
        SESSION_SQLALCHEMY_TABLE="web_sessions",
        SESSION_CLEANUP_N_REQUESTS=500,
    )
    db = SQLAlchemy(app)
    if url.startswith("sqlite"):
        with app.app_context():

            @event.listens_for(db.engine, "connect")
            def _wal(dbapi_connection, _record):  # readers never wait for a writer
                dbapi_connection.execute("PRAGMA journal_mode=WAL")

    app.config["SESSION_SQLALCHEMY"] = db
    table = app.config["SESSION_SQLALCHEMY_TABLE"]
    for attempt in range(5):  # gunicorn's workers create the table at once: one wins, the others see it
        try:
            with warnings.catch_warnings():
                # A retry defines the session model again, replacing the failed attempt's.
                warnings.filterwarnings("ignore", "This declarative base already contains a class", category=SAWarning)
                Session(app)
            return
        except OperationalError:
            if attempt == 4:
                raise
            # The failed attempt left its table in the metadata: a second definition would be refused.
            if table in db.metadata.tables:
                db.metadata.remove(db.metadata.tables[table])
            time.sleep(0.1 * (attempt + 1))


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env("web")
    logs.configure("web", settings.log_format)
    app = Flask("cpp_web")
    idle_minutes = _int_setting(settings, "IDLE_MINUTES", 30)
    secure = (settings.setting("COOKIE_SECURE") or ("0" if settings.is_development else "1")) not in (
        "0",
        "false",
        "no",
    )
    app.config.update(
        SECRET_KEY=secret_key(settings),
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        # The session lives as long as the idle timeout after its last request.
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=idle_minutes),
        SESSION_PERMANENT=True,
        SESSION_REFRESH_EACH_REQUEST=True,
        # A __Host- cookie is only ever set over https, for this host, for every path.
        SESSION_COOKIE_NAME="__Host-cpp-session" if secure else "cpp-session",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PATH="/",
        WTF_CSRF_TIME_LIMIT=None,  # a form is good for the session's life
        WTF_CSRF_SSL_STRICT=secure,
        SEND_FILE_MAX_AGE_DEFAULT=3600,  # the GOV.UK assets: no one's data
    )
    app.jinja_loader = ChoiceLoader(
        [
            PackageLoader("cpp_web"),
            PrefixLoader(
                {
                    "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
                    "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
                }
            ),
        ]
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    _session_store(app, settings)
    CSRFProtect(app)
    WTFormsHelpers(app)

    services = Services.from_settings(settings)
    metrics = ServiceMetrics("web", None)
    app.extensions["cpp_web"] = {
        "settings": settings,
        "services": services,
        "metrics": metrics,
        "idle": timedelta(minutes=idle_minutes),
    }
    from . import oidc

    oidc.init_app(app, settings)  # production: the identity provider's client, or no start
    _install_probes(app, services, metrics)
    _install_request_hooks(app, metrics)

    from . import (
        admin,
        calendar_feeds,
        conference_steps,
        ending,
        errors,
        families,
        journey,
        lifecycle,
        panel,
        partner,
        plan,
        referral,
        reports,
        retention,
        returns,
        team,
        transfers,
        views,
    )

    areas = (
        views,
        oidc,
        team,
        reports,
        lifecycle,
        conference_steps,
        referral,
        plan,
        ending,
        journey,
        families,
        panel,
        partner,
        calendar_feeds,
        transfers,
        returns,
        admin,
        retention,
    )
    for area in areas:  # each page area is a blueprint of its own
        app.register_blueprint(area.bp)
    errors.install(app)
    return app


def _install_probes(app: Flask, services: Services, metrics: ServiceMetrics) -> None:
    cache: dict = {}
    lock = threading.Lock()

    @app.get("/healthz", endpoint="healthz")
    def healthz():
        return {"status": "ok", "service": "web"}

    def readiness() -> tuple[bool, dict[str, str]]:
        with lock:
            cached = cache.get("result")
            if cached is None or time.monotonic() - cached[0] > 2.0:
                checks = {service: services.healthy(service) for service in SERVICES}
                cached = cache["result"] = (time.monotonic(), checks)
        checks = dict(cached[1])
        signing_in = app.extensions["cpp_web"].get("oidc")
        if signing_in:  # production: the identity provider's keys, as the services report them (never waited on)
            checks["identity_provider"] = signing_in["verifier"].readiness()
        return all(v == "ok" or v.startswith("degraded") for v in checks.values()), checks

    @app.get("/readyz", endpoint="readyz")
    def readyz():
        ready, checks = readiness()
        return {"status": "ready" if ready else "unready", "service": "web", "checks": checks}, (200 if ready else 503)

    # /readyz as gauges, for the alerting rules (ServiceNotReady)
    metrics.registry.register(health_metrics.ReadinessCollector("web", readiness))

    @app.get("/metrics", endpoint="metrics")
    def metrics_view():
        return Response(metrics.render(), mimetype="text/plain; version=0.0.4")


def content_security_policy(nonce: str) -> str:
    """Scripts are the app's files or carry this page's nonce; no inline
    styles, nothing from elsewhere, never framed, forms post only here."""
    return (
        "default-src 'none'; "
        f"script-src 'self' 'nonce-{nonce}'; style-src 'self'; img-src 'self'; font-src 'self'; "
        "connect-src 'self'; manifest-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


def _install_request_hooks(app: Flask, metrics: ServiceMetrics) -> None:
    @app.before_request
    def start_request():
        g.started = time.perf_counter()
        g.csp_nonce = secrets.token_urlsafe(16)
        logs.clear_context("web")
        edges.start_request_ids()

    @app.after_request
    def finish_request(response: Response):
        route = request.url_rule.rule if request.url_rule else "<unmatched>"
        metrics.observe(
            request.method, route, response.status_code, time.perf_counter() - g.get("started", time.perf_counter())
        )
        response.headers["X-Request-Id"] = g.get("request_id", "")
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"  # every page may hold a child's data
        if response.mimetype == "text/html" and "Content-Security-Policy" not in response.headers:
            # (a document's file, passed through from the docs service, keeps its own stricter policy)
            response.headers["Content-Security-Policy"] = content_security_policy(g.get("csp_nonce", ""))
        edges.add_security_headers(response)
        if request.endpoint not in PUBLIC_ENDPOINTS:
            log.info("request", method=request.method, path=request.path, status=response.status_code)
        return response
