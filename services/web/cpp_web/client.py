"""The web application's one way to the four services: their HTTP APIs,
called with the signed-in user's bearer token, their answers turned into
Python values or the typed errors below, which the app shows as pages.

* 401: ``SignInAgain`` (the session is over: sign in again)
* 403: ``Forbidden``; 404: ``NotFound``
* 409: ``Refused``, with the service's reason to show
* 412: ``ChangedSinceRead`` (someone changed the record since it was read)
* 422: ``Invalid``, with the field errors to map onto the form's fields
* 5xx, a timeout or no connection: ``ServiceUnavailable(service)``, shown as a
  page naming the part that is unavailable (a 503, never a 500)

Every call sends the request's id in ``X-Request-Id``, and every POST that
creates sends an ``Idempotency-Key``, so that a retried or repeated form
creates one record.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from cpp_shared.config import Settings, default_port

SERVICES = ("plans", "scheduler", "notify", "docs", "returns")
# Each service as the people using the pages know it, for the unavailable page.
PARTS = {
    "plans": "case records (children, cases, conferences and plans)",
    "scheduler": "deadlines and timescales",
    "notify": "notifications and partner updates",
    "docs": "documents",
    "returns": "statutory returns and performance figures",
}
CONNECT_TIMEOUT = 3.05
READ_TIMEOUT = 20.0


class ServiceError(Exception):
    """An answer the page cannot go on with."""

    def __init__(self, service: str, status: int | None = None, message: str = "", errors: Any = None):
        super().__init__(message or f"{service} answered {status}")
        self.service, self.status, self.message, self.errors = service, status, message, errors


class SignInAgain(ServiceError):
    """401: the token was refused (expired or revoked); the session is over."""


class Forbidden(ServiceError):
    """403: the service does not allow this person this."""


class NotFound(ServiceError):
    """404: no such record, or not one this person may know of."""


class Refused(ServiceError):
    """409: a step not allowed now; ``message`` is the service's reason."""


class ChangedSinceRead(ServiceError):
    """412: the record changed since its ETag was read."""


class Invalid(ServiceError):
    """422: ``fields`` maps each field to its messages (nested as sent)."""

    @property
    def fields(self) -> dict[str, list[str]]:
        return flatten_errors((self.errors or {}).get("json", self.errors or {}))


class ServiceUnavailable(ServiceError):
    """A 5xx, a timeout or no connection: the service named is unavailable."""

    @property
    def part(self) -> str:
        return PARTS.get(self.service, self.service)


BY_STATUS = {401: SignInAgain, 403: Forbidden, 404: NotFound, 409: Refused, 412: ChangedSinceRead, 422: Invalid}


def flatten_errors(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested field errors as ``{"a.b.0": [messages]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            out.update(flatten_errors(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(errors, list) and all(isinstance(e, str) for e in errors):
        out[prefix or "_schema"] = list(errors)
    elif isinstance(errors, list):
        for index, value in enumerate(errors):
            out.update(flatten_errors(value, f"{prefix}.{index}" if prefix else str(index)))
    elif errors is not None:
        out[prefix or "_schema"] = [str(errors)]
    return out


@dataclass
class Answer:
    body: Any
    etag: str | None
    status: int


@dataclass
class Services:
    """The services' base URLs and one pooled ``requests.Session`` per process."""

    urls: dict[str, str]
    connect_timeout: float = CONNECT_TIMEOUT
    read_timeout: float = READ_TIMEOUT
    _session: requests.Session | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        """CPP_WEB_<SERVICE>_URL; else the service on this machine, at the port
        `cpp up` gives it (CPP_<SERVICE>_PORT, else its default port)."""
        urls = {}
        for service in SERVICES:
            url = settings.setting(f"{service.upper()}_URL")
            if not url:  # one machine, where every service is installed: its port, as `cpp up` gives it
                port = settings.environ.get(f"CPP_{service.upper()}_PORT") or default_port(service)
                url = f"http://127.0.0.1:{port}"
            urls[service] = url.rstrip("/")
        return cls(urls)

    @property
    def session(self) -> requests.Session:
        with self._lock:
            if self._session is None:
                session = requests.Session()
                session.trust_env = False  # the services' addresses are the settings', never a proxy's
                adapter = HTTPAdapter(pool_connections=len(SERVICES), pool_maxsize=16, max_retries=0)
                session.mount("http://", adapter)
                session.mount("https://", adapter)
                self._session = session
            return self._session

    def call(
        self,
        service: str,
        method: str,
        path: str,
        *,
        token: str | None,
        request_id: str | None = None,
        params: dict | None = None,
        json: Any = None,
        headers: dict | None = None,
        idempotency_key: str | None = None,
    ) -> Answer:
        sent = {"Accept": "application/json", **(headers or {})}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        if request_id:
            sent["X-Request-Id"] = request_id
        if idempotency_key:
            sent["Idempotency-Key"] = idempotency_key
        try:
            resp = self.session.request(
                method,
                f"{self.urls[service]}{path}",
                params=params,
                json=json,
                headers=sent,
                timeout=(self.connect_timeout, self.read_timeout),
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise ServiceUnavailable(service, None, f"{type(exc).__name__}: {exc}") from None
        return _answer(service, resp)

    def get(self, service: str, path: str, **kwargs: Any) -> Any:
        return self.call(service, "GET", path, **kwargs).body

    def create(
        self, service: str, path: str, json: Any, *, idempotency_key: str | None = None, **kwargs: Any
    ) -> Answer:
        """A POST that creates: with an Idempotency-Key (the form's, else a new one)."""
        return self.call(
            service, "POST", path, json=json, idempotency_key=idempotency_key or uuid.uuid4().hex, **kwargs
        )

    def download(
        self, service: str, path: str, *, token: str | None, request_id: str | None = None
    ) -> requests.Response:
        """A file, streamed: the open response to read with ``iter_content``
        and then close; an error answer raises its typed error as ``call`` does."""
        sent = {"Accept": "*/*"}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        if request_id:
            sent["X-Request-Id"] = request_id
        try:
            resp = self.session.get(
                f"{self.urls[service]}{path}",
                headers=sent,
                stream=True,
                allow_redirects=False,
                timeout=(self.connect_timeout, self.read_timeout),
            )
        except requests.RequestException as exc:
            raise ServiceUnavailable(service, None, f"{type(exc).__name__}: {exc}") from None
        if resp.status_code >= 400:
            try:
                _answer(service, resp)  # raises the answer's typed error
            finally:
                resp.close()
        return resp

    def healthy(self, service: str, timeout: float = 1.0) -> str:
        """'ok', or why the service's /healthz did not answer 200."""
        try:
            resp = self.session.get(f"{self.urls[service]}/healthz", timeout=timeout)
        except requests.RequestException as exc:
            return f"unavailable: {type(exc).__name__}"
        return "ok" if resp.status_code == 200 else f"unavailable: /healthz answered {resp.status_code}"


def _answer(service: str, resp: requests.Response) -> Answer:
    try:
        body = resp.json() if resp.content else None
    except ValueError:
        body = None
    if resp.status_code < 400:
        if resp.content and body is None and resp.headers.get("Content-Type", "").startswith("application/json"):
            raise ServiceUnavailable(service, resp.status_code, "the answer was not JSON")
        return Answer(body, resp.headers.get("ETag"), resp.status_code)
    message = body.get("message", "") if isinstance(body, dict) else ""
    errors = body.get("errors") if isinstance(body, dict) else None
    if resp.status_code >= 500:
        raise ServiceUnavailable(service, resp.status_code, message)
    error = BY_STATUS.get(resp.status_code, ServiceError)
    raise error(service, resp.status_code, message, errors)
