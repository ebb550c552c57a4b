"""The app factory every service uses: one Flask app per service with
authentication, JSON errors, health and readiness, metrics and an OpenAPI
document, so each service's own code is only its blueprints and handlers."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, g, has_request_context, jsonify, request
from flask.json.provider import DefaultJSONProvider
from flask_smorest import Api
from kombu import Connection
from werkzeug.exceptions import HTTPException

from . import audit_checkpoints, edges, health_metrics, idempotency, limits, logs, openapi, process_status, revocations
from .auth import AuthError, Forbidden, IdentityProviderUnavailable, TokenVerifier, authenticate_request
from .config import Settings
from .contracts.catalogue import asyncapi_document
from .messaging import parked
from .messaging.consumer import Handlers
from .messaging.events import new_event
from .messaging.topology import broker_vhost
from .metrics import ServiceMetrics
from .plugins import Plugins
from .store import CommitOutcomeUnknown, Store, StoreUnavailable, UnitOfWork, VersionConflict, open_store

PUBLIC_ENDPOINTS = {"healthz", "readyz", "metrics"}
log = logs.get_logger("cpp.web")


@dataclass(frozen=True)
class ServiceSpec:
    """What a service is: registered under the ``cpp.services`` entry-point
    group so that ``cpp serve``/``cpp worker``/``cpp up`` find it."""

    name: str
    title: str
    description: str
    blueprints: Callable[[], list[Any]]
    port: int  # where it listens when CPP_<SERVICE>_PORT (and CPP_PORT) is unset
    handlers: Handlers | None = None
    setup_store: Callable[[Store], None] | None = None
    setup_app: Callable[[Flask], None] | None = None  # the service's own error handlers, hooks...
    app_module: str = ""  # "cpp_plans.app" — gunicorn loads "<app_module>:create_app()"
    # Loops the worker runs beside its relay and consumer (the scheduler's
    # tick): each gets the context and the worker's stop event.
    background: Callable[[ServiceContext], list[tuple[str, Callable[[threading.Event], None]]]] | None = None
    # Endpoints whose view authenticates a request that brings no bearer
    # token by other means (a calendar feed's key, for clients that cannot
    # send headers); with a bearer token they are checked as usual.
    keyed_endpoints: frozenset[str] = frozenset()
    # False for a service with no worker process (no outbox, no events: the
    # web application): `cpp up` starts none and `cpp worker` says so.
    worker: bool = True
    # A `cpp` command (its arguments) that `cpp up` runs once, in the
    # background, after every service answers (the web application's
    # ``demo --if-new``, which seeds a made-up caseload on a first start in
    # development); its failure is reported, never fatal.
    after_up: tuple[str, ...] = ()
    # A `cpp` command (its arguments) that `cpp up` runs to its end before it starts any process (the plans
    # service's ``migrate``: records made by earlier code carried over before anything reads them); its
    # failure stops `cpp up`, naming its log.
    before_up: tuple[str, ...] = ()
    # The service's own settings checked before `cpp serve` starts gunicorn (raises ConfigError with a plain
    # message), without reaching anything: the web application's identity provider client.
    preflight: Callable[[Settings], None] | None = None


@dataclass
class ServiceContext:
    spec: ServiceSpec
    settings: Settings
    plugins: Plugins
    authority: dict[str, Any]
    store: Store
    verifier: TokenVerifier
    metrics: ServiceMetrics
    extensions: dict[str, Any] = field(default_factory=dict)  # a service's own runtime (the scheduler's rules...)
    _ready_cache: dict[str, Any] = field(default_factory=dict)
    _ready_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def source(self) -> str:
        return f"/services/{self.spec.name}"

    def publish(
        self,
        uow: UnitOfWork,
        type: str,
        *,
        subject: str,
        data: dict[str, Any],
        correlation_id: str | None = None,
        event_id: str | None = None,
    ) -> dict[str, Any]:
        """Add an event to the unit of work's outbox. Its correlation id is
        the one given (an event handler passes its event's), else the
        request's. ``event_id``: an id derived from what the event is about,
        for an event that must not be published twice (the outbox refuses a
        second message with the same id); a new one otherwise."""
        if correlation_id is None and has_request_context():
            correlation_id = getattr(g, "request_id", None)
        event = new_event(
            type,
            source=self.source,
            subject=subject,
            data=data,
            authority=self.authority["code"],
            correlation_id=correlation_id,
            event_id=event_id,
        )
        uow.publish(type, event, message_id=event["id"])
        return event

    def readiness(self) -> tuple[bool, dict[str, str]]:
        """Store and broker checks, cached briefly so probes stay cheap."""
        with self._ready_lock:
            cached = self._ready_cache.get("result")
            if cached and time.monotonic() - cached[0] < 2.0:
                return cached[1]
            checks: dict[str, str] = {}
            try:
                self.store.ping()
                checks["store"] = "ok"
            except StoreUnavailable as exc:
                checks["store"] = f"unavailable: {exc}"
            try:
                with Connection(self.settings.broker_url, connect_timeout=2) as conn:
                    conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
                checks["broker"] = "ok"
            except Exception as exc:
                checks["broker"] = f"unavailable: {type(exc).__name__}: {exc}"
            checks["audit_checkpoints"] = audit_checkpoints.readiness(self.settings)
            processes = process_status.readiness(self.settings.data_dir, self.spec.name)  # under `cpp up` only
            if processes is not None:
                checks["processes"] = processes
            provider = self.verifier.readiness()  # production only; never waits on the provider
            if provider is not None:
                checks["identity_provider"] = provider
            # A provider that cannot be reached while its keys are still trusted is "degraded", not unready:
            # every replica sees the same provider, and taking them all out would stop what still works.
            result = (all(v == "ok" or v.startswith("degraded") for v in checks.values()), checks)
            self._ready_cache["result"] = (time.monotonic(), result)
            return result


COMMIT_OUTCOME_UNKNOWN = (
    "the service's database did not confirm whether this change was saved; it may have been. "
    "Send the request again with the same Idempotency-Key to get its outcome safely, "
    "or read the record before sending it again without one"
)


def build_context(spec: ServiceSpec, settings: Settings | None = None) -> ServiceContext:
    """Everything a service's web app or worker needs; fails fast (unknown
    plugin, unsafe auth settings) before anything is served."""
    settings = settings or Settings.from_env(spec.name)
    logs.configure(spec.name, settings.log_format)
    plugins = Plugins(settings.plugins)
    for warning in plugins.warnings:
        log.warning("plugins in an unexpected order", problem=warning)
    authority = plugins.authority()
    # Every record the service reads or writes is its authority's: one view,
    # so that no view, handler or loop can forget the authority. It also holds
    # an idempotent create's unit of work until its answer is kept with it.
    store = idempotency.HoldingStore(
        open_store(settings.store_url), authority["code"], keep_hours=idempotency.hours_setting(settings)
    )
    if spec.setup_store:
        spec.setup_store(store)
    claimed = store.claim_unowned()
    if claimed:
        log.info("records without an authority claimed", authority=authority["code"], collections=claimed)
    verifier = TokenVerifier(
        settings,
        revocations.RevocationList(store, revocations.cache_seconds(settings)),
        identity_hook=plugins.hook.cpp_identity,
    )
    verifier.check_authority(authority["code"])
    metrics = ServiceMetrics(spec.name, store)
    metrics.registry.register(process_status.ProcessStatusCollector(spec.name, settings.data_dir))
    ctx = ServiceContext(
        spec=spec,
        settings=settings,
        plugins=plugins,
        authority=authority,
        store=store,
        verifier=verifier,
        metrics=metrics,
    )
    # What the alerting rules read besides the above: readiness, audit checkpoints, the worker's heartbeat.
    metrics.registry.register(health_metrics.ReadinessCollector(spec.name, lambda: ctx.readiness()))
    metrics.registry.register(health_metrics.AuditCheckpointCollector(spec.name, store, settings))
    if spec.worker:
        metrics.registry.register(health_metrics.HeartbeatCollector(spec.name, settings))
    return ctx


def create_app(spec: ServiceSpec, settings: Settings | None = None) -> Flask:
    ctx = build_context(spec, settings)
    app = Flask(spec.app_module or spec.name)
    app.config.update(
        API_TITLE=spec.title,
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS=openapi.spec_options(ctx.settings, spec.description),
        # No legitimate request is larger; a larger one is refused (413) before it is read.
        MAX_CONTENT_LENGTH=ctx.settings.max_body_bytes,
    )
    # Keys in the order the code gives them; sorting would also fail on the
    # mixed str/int keys of a list's field errors (a 500 instead of a 422).
    assert isinstance(app.json, DefaultJSONProvider)
    app.json.sort_keys = False
    app.extensions["cpp"] = ctx
    # Every operation completed by the same rules: its id, its error answers, If-Match, the feed key.
    api = Api(app, spec_kwargs={"extra_plugins": [openapi.Contract(spec.keyed_endpoints)]})
    for bp in spec.blueprints():
        api.register_blueprint(bp)
    if spec.handlers is not None and len(spec.handlers):  # an event consumer: its parked messages, for admins
        api.register_blueprint(parked.blp)
    _install_probes(app, ctx)
    openapi.document_probes(app, api.spec)
    _install_request_hooks(app, ctx)
    edges.install(app)  # JSON bodies that cannot be stored; every answer's security headers
    _install_error_handlers(app, api)
    if spec.setup_app:
        spec.setup_app(app)
    limits.install(app, ctx)  # the endpoints' own limits and the bearer-token failures' limit
    ctx.verifier.load_keys()  # production: the identity provider's keys, or no start
    return app


def _install_probes(app: Flask, ctx: ServiceContext) -> None:
    @app.get("/healthz", endpoint="healthz")
    def healthz():
        return {"status": "ok", "service": ctx.spec.name}

    @app.get("/readyz", endpoint="readyz")
    def readyz():
        ready, checks = ctx.readiness()
        body = {"status": "ready" if ready else "unready", "service": ctx.spec.name, "checks": checks}
        return body, (200 if ready else 503)

    @app.get("/metrics", endpoint="metrics")
    def metrics_view():
        return Response(ctx.metrics.render(), mimetype="text/plain; version=0.0.4")

    # The event catalogue; like /openapi.json, for any authenticated user (not in PUBLIC_ENDPOINTS).
    vhost = broker_vhost(ctx.settings.broker_url)

    @app.get("/asyncapi.json", endpoint="asyncapi_json")
    def asyncapi_json():
        return Response(json.dumps(asyncapi_document(vhost=vhost)), mimetype="application/json")


def _install_request_hooks(app: Flask, ctx: ServiceContext) -> None:
    @app.before_request
    def start_request():
        g.started = time.perf_counter()
        logs.clear_context(ctx.spec.name)
        edges.start_request_ids()  # the server's id and the client's, in g and the logs; a malformed one is a 400
        if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
            return None  # probes are public; unknown routes fall through to a 404
        if request.endpoint in ctx.spec.keyed_endpoints and "Authorization" not in request.headers:
            return None  # the view checks its key (and refuses without one)
        limits.check_before_authentication()  # 429 for a client past its bearer-token failures' limit
        g.principal = authenticate_request(ctx.verifier, ctx.authority["code"])
        logs.bind_context(user=g.principal.user, role=g.principal.role)
        return None

    @app.after_request
    def finish_request(response):
        route = request.url_rule.rule if request.url_rule else "<unmatched>"
        ctx.metrics.observe(
            request.method, route, response.status_code, time.perf_counter() - g.get("started", time.perf_counter())
        )
        response.headers["X-Request-Id"] = g.get("request_id", "")
        if request.endpoint not in PUBLIC_ENDPOINTS:
            log.info("request", method=request.method, path=request.path, status=response.status_code)
        return response


# RFC 6750's error_description: %x20-21 / %x23-5B / %x5D-7E (no quote, no backslash, no control character).
DESCRIPTION = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]+")


def _printable(text: str | None) -> str | None:
    """A reason for the logs, with anything a token put in it that could forge a log line escaped."""
    if text is None:
        return None
    return "".join(c if " " <= c <= "~" else c.encode("unicode_escape").decode() for c in text[:500])


def error_body(code: int, status: str, message: str, errors: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "status": status, "message": message}
    if errors:
        body["errors"] = errors
    return body


def _challenge(error: str, description: str) -> str:
    """A Bearer challenge (RFC 6750 section 3); the description only when made of the characters it allows."""
    challenge = f'Bearer error="{error}"'
    if DESCRIPTION.fullmatch(description):
        challenge += f', error_description="{description}"'
    return challenge


def _install_error_handlers(app: Flask, api: Api) -> None:
    @app.errorhandler(AuthError)
    def unauthorised(exc: AuthError):
        log.info("bearer token refused", error=exc.error, message=str(exc), reason=_printable(exc.reason))
        response = jsonify(error_body(401, "Unauthorized", str(exc)))
        response.status_code = 401
        response.headers["WWW-Authenticate"] = _challenge(exc.error, str(exc))
        return response

    @app.errorhandler(IdentityProviderUnavailable)
    def provider_down(exc: IdentityProviderUnavailable):
        log.warning("identity provider unavailable", reason=_printable(exc.reason))
        response = jsonify(error_body(503, "Service Unavailable", str(exc)))
        response.status_code = 503
        response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(Forbidden)
    def forbidden(exc: Forbidden):
        # RFC 6750 section 3.1: a valid token whose roles (or authority) do not allow this.
        response = jsonify(error_body(403, "Forbidden", str(exc)))
        response.status_code = 403
        response.headers["WWW-Authenticate"] = _challenge("insufficient_scope", str(exc))
        return response

    @app.errorhandler(VersionConflict)
    def conflict(exc: VersionConflict):
        return jsonify(
            error_body(409, "Conflict", "the record changed while this request was handled; read it again and retry")
        ), 409

    @app.errorhandler(StoreUnavailable)
    def store_down(exc: StoreUnavailable):
        log.error("store unavailable", error=str(exc))
        response = jsonify(
            error_body(
                503, "Service Unavailable", "the service's database is unavailable; nothing was written, try again"
            )
        )
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(CommitOutcomeUnknown)
    def outcome_unknown(exc: CommitOutcomeUnknown):
        # The write may have been saved: unlike the 503 above, "nothing was
        # written" would be untrue. A retry with the same Idempotency-Key is
        # safe (the kept answer commits with the write, so it is replayed if
        # the write happened, and the request runs anew if not).
        log.error("store commit outcome unknown", error=str(exc))
        response = jsonify(error_body(503, "Service Unavailable", COMMIT_OUTCOME_UNKNOWN))
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        if isinstance(exc, HTTPException):  # smorest's handler covers these; keep them JSON regardless
            return api.handle_http_exception(exc)
        log.exception("unhandled error")
        return jsonify(
            error_body(500, "Internal Server Error", "an unexpected error occurred; it has been logged")
        ), 500
