"""Limits on abuse: how many requests a client may make before it gets 429.

Four limits, each a setting in the `limits` library's notation (``60/minute``,
``10/minute;100/hour``) or ``off``:

* the partner lookup per principal (the token's ``sub``) and per client
  address (declared on the lookup's view);
* calendar feed-key failures per address: requests to a keyed feed with a
  wrong, unknown or revoked key (declared on the feed's view);
* bearer-token failures per address (401s), on every service: a client past
  its limit gets 429 before its token is even verified.

An endpoint declares its limits where it is defined, with ``@limited(rule,
...)`` on the view method; ``install`` (called by the app factory) wraps
those views with Flask-Limiter. The bearer-token limit is checked by the app
factory's request hook just before authentication
(``check_before_authentication``) and counted after a 401.

The counters must be shared by every worker process and replica of a
service, so they are never kept in process memory (but for the test-only
``mongomock://`` store):

* a SQLite store: ``SQLiteStorage`` below, in a file beside the store's
  database (``plans.db`` -> ``plans-limits.db``). Not the store's own file:
  a counter is written on every limited request and every refused token, and
  those writes should neither wait for the store's write turns nor pay its
  ``synchronous=FULL`` fsync (a counter lost to a power cut forgives a few
  requests; a store commit lost is data lost), and the store's file keeps
  only the service's records;
* a MongoDB store: the `limits` library's MongoDB storage, on the same
  server, in a database of its own (``<store database>_limits``);
* ``CPP_RATE_LIMIT_STORAGE_URL``: any storage URI the `limits` library
  accepts (``redis://host:6379``, ``memcached://...``, ``mongodb://...``,
  ``sqlite:///path.db``), for operators who have one. Services pointed at
  the same storage also share the bearer-token failures' counter.

A refusal is a 429 with ``Retry-After`` (seconds until the window resets)
and the platform's JSON error body naming the limit; it is counted in
``cpp_rate_limited_total{limit=...}``. A limiter storage that fails lets the
request through (and logs the error): the lookup must keep answering when
only its counters are unavailable.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from flask import Flask, Response, current_app, g, jsonify, request
from flask_limiter import Limiter, RequestLimit
from limits import RateLimitItem, parse_many
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.sansio.response import Response as WsgiResponse

from . import logs
from .config import ConfigError, Settings
from .store.sqlite import _WriteTurns

if TYPE_CHECKING:
    from .web import ServiceContext

log = logs.get_logger("cpp.limits")
KEY_PREFIX = "cpp"
OFF = ("off", "none", "no")


# --- whom a limit counts ------------------------------------------------------


def client_address() -> str:
    """The client's address: the peer's, or, behind CPP_TRUSTED_PROXIES
    proxies, the address the nearest of them was called from."""
    return request.remote_addr or "unknown"


def by_address() -> str:
    return f"address:{client_address()}"


def by_principal() -> str:
    """The authenticated user (the token's ``sub``); the address when the
    request has no principal."""
    principal = g.get("principal")
    return f"principal:{principal.user}" if principal is not None else by_address()


def refused(response: Response) -> bool:
    """A failure: the request was refused as unauthenticated."""
    return response.status_code == 401


@dataclass(frozen=True)
class Rule:
    """One limit: its name (the metric's ``limit`` label and the refusal's
    message), its setting (CPP_<SERVICE>_<setting>, then CPP_<setting>) and
    default, whom it counts, and which answers count (None: every request)."""

    name: str
    setting: str
    default: str
    key: Callable[[], str]
    what: str  # "too many <what>"
    counts: Callable[[Response], bool] | None = None
    exempt: Callable[[], bool] | None = None


TOKEN_FAILURES = Rule(
    "token_failures",
    "RATE_LIMIT_TOKEN_FAILURES",
    "30/minute",
    by_address,
    "requests with a missing or refused bearer token from this address",
    counts=refused,
)


def limited(*rules: Rule) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare the limits of a view method (``install`` applies them to the
    app's endpoints). The limits are checked before the method's other
    decorators run (role checks, argument parsing), after authentication."""

    def mark(view: Callable[..., Any]) -> Callable[..., Any]:
        view.cpp_rate_limits = tuple(getattr(view, "cpp_rate_limits", ())) + rules  # type: ignore[attr-defined]
        return view

    return mark


# --- settings -----------------------------------------------------------------


def configured(settings: Settings, rule: Rule) -> str | None:
    """The rule's limits as set (validated), or None when it is off."""
    text = (settings.setting(rule.setting, rule.default) or "").strip()
    if text.lower() in OFF:
        return None
    try:
        items = parse_many(text)
    except ValueError:
        raise ConfigError(
            f"CPP_{rule.setting} must be a limit such as {rule.default} "
            f"(several separated by ';', or off), got {text!r}"
        ) from None
    if any(item.amount < 1 for item in items):
        raise ConfigError(
            f"CPP_{rule.setting} must allow at least one request (set it to off to lift it), got {text!r}"
        )
    return text


def trusted_proxies(settings: Settings) -> int:
    text = settings.setting("TRUSTED_PROXIES", "0") or "0"
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 0:
        raise ConfigError(
            f"CPP_TRUSTED_PROXIES must be the number of proxies in front of the service (0 or more), got {text!r}"
        )
    return n


def storage_url(settings: Settings) -> tuple[str, dict[str, Any]]:
    """Where the counters live, and the options for the `limits` storage."""
    explicit = settings.setting("RATE_LIMIT_STORAGE_URL")
    if explicit:
        return explicit, {}
    store = settings.store_url
    scheme = store.split(":", 1)[0].lower()
    if scheme == "sqlite":
        root, ext = os.path.splitext(_sqlite_path(store))
        return f"sqlite:///{root}-limits{ext or '.db'}", {}
    if scheme in ("mongodb", "mongodb+srv"):
        database = unquote(urlsplit(store).path.lstrip("/"))
        return store, {"database_name": f"{database}_limits", "serverSelectionTimeoutMS": 3000}
    if scheme == "mongomock":  # tests only: one process
        return "memory://", {}
    raise ConfigError(f"no rate-limit storage for the store URL's scheme {scheme!r}: set CPP_RATE_LIMIT_STORAGE_URL")


def _sqlite_path(url: str) -> str:
    """The file an SQLite store URL names (the store's own convention)."""
    from .store.sqlite import path_from_url

    try:
        return path_from_url(url)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


# --- SQLite storage -------------------------------------------------------------


class SQLiteStorage(Storage):
    """Fixed-window counters in a SQLite file, shared by every process that
    opens it: ``sqlite:///relative.db`` or ``sqlite:////absolute.db``.

    A hit is one transaction (``BEGIN IMMEDIATE``, one upsert that starts a
    new window when the old one has expired, ``COMMIT``), so processes
    counting the same key never lose a hit. WAL with ``synchronous=NORMAL``:
    a commit does not wait for an fsync. Expired rows are deleted every
    ``PRUNE_EVERY`` hits of a process."""

    STORAGE_SCHEME = ["sqlite"]
    PRUNE_EVERY = 1000
    TABLE = "rate_limit_counters"
    _UPSERT = f"""
        INSERT INTO {TABLE} (key, count, expires_at) VALUES (:key, :amount, :expires_at)
        ON CONFLICT (key) DO UPDATE SET
            count = CASE WHEN {TABLE}.expires_at <= :now THEN excluded.count
                         ELSE {TABLE}.count + excluded.count END,
            expires_at = CASE WHEN {TABLE}.expires_at <= :now THEN excluded.expires_at
                              ELSE {TABLE}.expires_at END
        RETURNING count"""

    def __init__(self, uri: str, wrap_exceptions: bool = False, busy_timeout: float = 10.0, **options: Any):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = _sqlite_path(uri)
        self.busy_timeout = float(busy_timeout)
        self._local = threading.local()
        # Writers take turns as the store's own do: threads on a lock, processes on a flock.
        self._turns = _WriteTurns(f"{self.path}-turn")
        self._hits = itertools.count(1)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sqlite3.Error

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection (a new one in a forked child)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {self.TABLE} "
            "(key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires_at REAL NOT NULL) WITHOUT ROWID"
        )
        self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._connection()
        with self._turns.turn():
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        with self._transaction() as conn:
            [(count,)] = conn.execute(
                self._UPSERT, {"key": key, "amount": amount, "expires_at": now + expiry, "now": now}
            ).fetchall()
            if next(self._hits) % self.PRUNE_EVERY == 0:
                conn.execute(f"DELETE FROM {self.TABLE} WHERE expires_at <= ?", (now,))
        return int(count)

    def get(self, key: str) -> int:
        row = (
            self._connection()
            .execute(f"SELECT count FROM {self.TABLE} WHERE key = ? AND expires_at > ?", (key, time.time()))
            .fetchone()
        )
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        now = time.time()
        row = (
            self._connection()
            .execute(f"SELECT expires_at FROM {self.TABLE} WHERE key = ? AND expires_at > ?", (key, now))
            .fetchone()
        )
        return float(row[0]) if row else now

    def check(self) -> bool:
        try:
            self._connection().execute("SELECT 1").fetchone()
            return True
        except sqlite3.Error:
            return False

    def reset(self) -> int | None:
        with self._transaction() as conn:
            (n,) = conn.execute(f"SELECT count(*) FROM {self.TABLE}").fetchone()
            conn.execute(f"DELETE FROM {self.TABLE}")
        return int(n)

    def clear(self, key: str) -> None:
        with self._transaction() as conn:
            conn.execute(f"DELETE FROM {self.TABLE} WHERE key = ?", (key,))


# --- the app's limits -----------------------------------------------------------


class RateLimited(TooManyRequests):
    """A refusal built here (the bearer-token limit); its response is ready."""


class RateLimits:
    """One app's limiter: Flask-Limiter for the endpoints' own limits, the
    same storage and strategy for the bearer-token limit."""

    def __init__(self, app: Flask, ctx: ServiceContext):
        settings = ctx.settings
        self.service = ctx.spec.name
        self.metrics = ctx.metrics
        self.token_failures = self._items(configured(settings, TOKEN_FAILURES))
        proxies = trusted_proxies(settings)
        if proxies:
            app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies)  # type: ignore[method-assign]
        uri, options = storage_url(settings)
        self.storage_uri = uri
        self.limiter = Limiter(
            by_address,
            app=app,
            storage_uri=uri,
            storage_options=options,
            strategy="fixed-window",
            headers_enabled=False,
            swallow_errors=True,
            key_prefix=KEY_PREFIX,
        )
        self.strategy = FixedWindowRateLimiter(self.limiter.storage)
        self._limit_views(app, settings)
        app.register_error_handler(TooManyRequests, self._too_many)
        app.after_request(self._count_token_failure)
        app.extensions["cpp_rate_limits"] = self

    @staticmethod
    def _items(text: str | None) -> list[RateLimitItem]:
        return parse_many(text) if text else []

    def _limit_views(self, app: Flask, settings: Settings) -> None:
        """Wrap each endpoint whose view methods declare limits (``limited``)."""
        for endpoint, view in list(app.view_functions.items()):
            view_class = getattr(view, "view_class", None)
            declared: list[tuple[str | None, Rule]] = []
            if view_class is not None:
                for method in sorted(view_class.methods or ()):
                    fn = getattr(view_class, method.lower(), None)
                    declared += [(method, rule) for rule in getattr(fn, "cpp_rate_limits", ())]
            else:
                declared += [(None, rule) for rule in getattr(view, "cpp_rate_limits", ())]
            wrapped: Any = view  # Flask-Limiter's decorator types allow async views, which these are not
            for method, rule in declared:
                text = configured(settings, rule)
                if text is None:
                    continue
                # A HEAD request runs the GET method (and is counted with it).
                methods = None if method is None else [method, "HEAD"] if method == "GET" else [method]
                wrapped = self.limiter.limit(
                    text,
                    key_func=rule.key,
                    scope=rule.name,
                    methods=methods,
                    deduct_when=rule.counts,
                    exempt_when=rule.exempt,
                    on_breach=partial(self._breached, rule),
                )(wrapped)
            app.view_functions[endpoint] = wrapped

    # refusals

    def refusal(self, rule: Rule, item: RateLimitItem, resets_at: float) -> Response:
        """The 429: Retry-After, the JSON error body naming the limit; counted."""
        from .web import error_body

        retry_after = max(1, math.ceil(resets_at - time.time()))
        self.metrics.rate_limited(rule.name)
        logs.bind_context(rate_limit=rule.name)  # on the request's log line
        response = jsonify(
            error_body(
                429,
                "Too Many Requests",
                f"too many {rule.what} (limit {rule.name}: {item}); try again in {retry_after} s",
            )
        )
        response.status_code = 429
        response.headers["Retry-After"] = str(retry_after)
        return response

    def _breached(self, rule: Rule, limit: RequestLimit) -> Response:
        return self.refusal(rule, limit.limit, limit.window[0])

    def _too_many(self, exc: TooManyRequests) -> WsgiResponse:
        if exc.response is not None:
            return exc.response
        from .web import error_body  # a limit whose refusal could not be built (storage failed meanwhile)

        response = jsonify(error_body(429, "Too Many Requests", exc.description or "too many requests"))
        response.status_code = 429
        response.headers["Retry-After"] = "60"
        return response

    # the bearer-token limit

    def _token_ids(self, key: str) -> tuple[str, str, str]:
        return KEY_PREFIX, TOKEN_FAILURES.name, key

    def before_authentication(self) -> None:
        if not self.token_failures:
            return
        key = TOKEN_FAILURES.key()
        g.cpp_token_failure_key = key
        try:
            for item in self.token_failures:
                if not self.strategy.test(item, *self._token_ids(key)):
                    resets_at, _ = self.strategy.get_window_stats(item, *self._token_ids(key))
                    raise RateLimited(response=self.refusal(TOKEN_FAILURES, item, resets_at))
        except RateLimited:
            raise
        except Exception as exc:  # the counters are unavailable: let the request through
            log.error("rate limit storage failed", limit=TOKEN_FAILURES.name, error=f"{type(exc).__name__}: {exc}")

    def _count_token_failure(self, response: Response) -> Response:
        key = g.pop("cpp_token_failure_key", None)
        if key is not None and refused(response):  # TOKEN_FAILURES's counts
            try:
                for item in self.token_failures:
                    self.strategy.hit(item, *self._token_ids(key))
            except Exception as exc:
                log.error("rate limit storage failed", limit=TOKEN_FAILURES.name, error=f"{type(exc).__name__}: {exc}")
        return response


def install(app: Flask, ctx: ServiceContext) -> RateLimits:
    """The app's limits (the app factory calls this once its views are registered)."""
    return RateLimits(app, ctx)


def check_before_authentication() -> None:
    """Refuse (429) a client past its bearer-token failures' limit, before its
    token is verified; the request hook calls this just before authentication."""
    limits = current_app.extensions.get("cpp_rate_limits")
    if limits is not None:
        limits.before_authentication()
