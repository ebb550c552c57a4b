"""Sending one webhook: signed per Standard Webhooks, to the checked address.

Headers ``webhook-id`` (the delivery's id, the same at every attempt),
``webhook-timestamp`` and ``webhook-signature`` (``v1,<base64 HMAC-SHA256>``
of ``id.timestamp.body``, one per valid secret, space-separated while a
rotated-out secret is still honoured), so any Standard Webhooks library
verifies them. The connection goes to the address the URL policy checked
(``urls.resolve``), with the host name kept for Host, SNI and the
certificate; redirects are not followed; the answer is read up to 64 KiB.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

import certifi
import urllib3
from standardwebhooks.webhooks import Webhook

from . import urls
from .domain.deliveries import Outcome

CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
USER_AGENT = "cpp-notify/1 (Standard Webhooks)"
READ_LIMIT = 64 * 1024


def signature_header(secrets: list[str], msg_id: str, timestamp: datetime, body: str) -> str:
    return " ".join(Webhook(s).sign(msg_id, timestamp, body) for s in secrets)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: the schedule's own delay applies


class Sender:
    """Thread-safe; keeps a connection pool per (address, port, host)."""

    def __init__(self, *, timeout: float = 15.0, pool_size: int = 4, ports: tuple[int, ...] = urls.DEFAULT_PORTS):
        self.timeout = urllib3.Timeout(connect=min(5.0, timeout), read=timeout)
        self.ports = ports  # a public receiver's allowed ports (urls.receiver_ports)
        self.pool_size = pool_size
        self._pools: dict[tuple, urllib3.HTTPConnectionPool] = {}
        self._lock = threading.Lock()

    def _pool(self, t: urls.Target) -> urllib3.HTTPConnectionPool:
        key = (t.scheme, t.address, t.port, t.host)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                common: dict[str, Any] = dict(timeout=self.timeout, retries=False, maxsize=self.pool_size, block=False)
                if t.scheme == "https":
                    pool = urllib3.HTTPSConnectionPool(
                        t.address,
                        t.port,
                        server_hostname=t.host,
                        assert_hostname=t.host,
                        cert_reqs="CERT_REQUIRED",
                        ca_certs=certifi.where(),
                        **common,
                    )
                else:
                    pool = urllib3.HTTPConnectionPool(t.address, t.port, **common)
                self._pools[key] = pool
            return pool

    def send(self, url: str, *, allow_private: bool, msg_id: str, body: str, secrets: list[str]) -> Outcome:
        started = time.perf_counter()
        try:
            target = urls.resolve(url, allow_private=allow_private, ports=self.ports)
        except urls.UrlRefused as exc:
            return Outcome(None, (time.perf_counter() - started) * 1000, f"refused by the address policy: {exc}")
        now = datetime.now(UTC)
        host = target.host if target.port in (80, 443) else f"{target.host}:{target.port}"
        headers = {
            "Host": host,
            "Content-Type": CONTENT_TYPE,
            "User-Agent": USER_AGENT,
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature_header(secrets, msg_id, now, body),
        }
        try:
            resp = self._pool(target).urlopen(
                "POST",
                target.path,
                body=body.encode(),
                headers=headers,
                redirect=False,
                retries=False,
                preload_content=False,
                assert_same_host=False,
            )
            try:
                resp.read(READ_LIMIT)
            finally:
                resp.release_conn()
            return Outcome(
                resp.status,
                (time.perf_counter() - started) * 1000,
                None if 200 <= resp.status < 300 else f"HTTP {resp.status}",
                _retry_after(resp.headers.get("Retry-After")),
            )
        except urllib3.exceptions.HTTPError as exc:
            return Outcome(None, (time.perf_counter() - started) * 1000, f"{type(exc).__name__}: {exc}"[:500])

    def close(self) -> None:
        with self._lock:
            for pool in self._pools.values():
                pool.close()
            self._pools.clear()
