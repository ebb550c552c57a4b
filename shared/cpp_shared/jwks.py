"""The identity provider's signing keys (its JWKS), kept for a bounded time.

PyJWT does the fetching (``PyJWKClient``: http(s) only, no redirects, a
timeout, an SSL context) and the parsing (``PyJWKSet``: RSA and EC keys whose
``use`` is ``sig``); this module decides when to fetch and how long a key is
trusted:

* Keys are trusted for ``refresh_seconds`` after the fetch that returned
  them. A key the provider no longer publishes stops working once the set is
  fetched again, which the first request after that time starts.
* A request that needs a key the cache does not have (a rotated-in key)
  starts one fetch, at most one every ``min_refetch_seconds`` whatever the
  requests ask, so made-up ``kid``s cannot make the service hammer the
  provider.
* Fetches run on a background thread, never on a request's: a request waits
  for a fetch for at most ``wait_seconds`` from the fetch's start, so a
  provider that hangs delays a few requests by that much and no more.
* While the provider cannot be reached, the keys it last published keep
  working for ``grace_seconds`` beyond their refresh time; a token whose key is
  unknown then cannot be checked: :class:`ProviderUnavailable` (a 503 with
  Retry-After, not a 401 that tells the client to sign in again).
"""

from __future__ import annotations

import math
import ssl
import threading
import time
from collections.abc import Callable

import jwt

from . import logs

log = logs.get_logger("cpp.jwks")


class ProviderUnavailable(Exception):
    """The token's key could be checked only with the identity provider, which cannot be reached: a 503."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class UnknownKey(Exception):
    """The provider, reached, does not publish the token's key."""


class ProviderKeys:
    def __init__(
        self,
        url: str,
        *,
        refresh_seconds: float = 300,
        grace_seconds: float = 3600,
        min_refetch_seconds: float = 5,
        timeout: float = 5,
        wait_seconds: float = 0.5,
        ssl_context: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.url = url
        self.refresh_seconds = refresh_seconds
        self.grace_seconds = grace_seconds
        self.min_refetch_seconds = min_refetch_seconds
        self.wait_seconds = wait_seconds
        self._clock = clock
        # No caching in PyJWT: this class is the cache.
        self._client = jwt.PyJWKClient(
            url, cache_keys=False, cache_jwk_set=False, timeout=timeout, ssl_context=ssl_context
        )
        self._lock = threading.Lock()
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None  # the last fetch that succeeded
        self._attempt_at = -math.inf  # the last fetch begun
        self._unknown_kid_at = -math.inf  # the last fetch begun for a kid the keys did not have
        self._error: str | None = None  # why the last fetch failed (None: it succeeded)
        self._inflight: threading.Event | None = None  # set when the fetch in flight ends
        self._inflight_since = 0.0
        self._closed = False
        self.fetches = 0  # fetches begun, for tests and metrics

    # --- fetching ---------------------------------------------------------------------------------------

    def load(self) -> None:
        """Fetch the keys now, on this thread (start-up); raises ``jwt.PyJWKClientError`` if they cannot be."""
        with self._lock:
            self._attempt_at = self._clock()
            self.fetches += 1
        self._fetch()

    def _fetch(self) -> None:
        try:
            found = self._client.get_signing_keys(refresh=True)
        except Exception as exc:  # PyJWKClientError, PyJWKSetError, a JWK that cannot be parsed...
            reason = f"{type(exc).__name__}: {exc}"
            with self._lock:
                self._error = reason
            log.warning("identity provider keys not fetched", url=self.url, reason=reason)
            raise
        keys = {key.key_id: key for key in found if isinstance(key.key_id, str) and key.key_id}
        with self._lock:
            dropped = sorted(set(self._keys) - set(keys))
            added = sorted(set(keys) - set(self._keys))
            self._keys, self._fetched_at, self._error = keys, self._clock(), None
        if added or dropped:
            log.info("identity provider keys changed", added=added, dropped=dropped)

    def _begin_fetch(self, now: float, *, unknown_kid: bool = False) -> threading.Event | None:
        """Under the lock: the fetch in flight, or a new one unless one began too recently. A fetch for an
        unknown kid counts only against those of its kind, so the first token signed by a rotated-in key
        is checked at once whenever the keys were last fetched."""
        if self._inflight is not None:
            return self._inflight
        if self._closed:
            return None
        if unknown_kid:
            if now - self._unknown_kid_at < self.min_refetch_seconds:
                return None
            self._unknown_kid_at = now
        elif now - self._attempt_at < self._gap:
            return None
        self._attempt_at = self._inflight_since = now
        self.fetches += 1
        done = self._inflight = threading.Event()
        threading.Thread(target=self._run, args=(done,), name="jwks-fetch", daemon=True).start()
        return done

    def _run(self, done: threading.Event) -> None:
        try:
            self._fetch()
        except Exception:
            pass  # logged by _fetch; the keys stay as they were
        finally:
            with self._lock:
                self._inflight = None
            done.set()

    def _wait(self, done: threading.Event | None) -> None:
        """Wait for a fetch, at most ``wait_seconds`` after it began (a fetch that hangs delays no one further)."""
        if done is None:
            return
        with self._lock:
            left = self._inflight_since + self.wait_seconds - self._clock()
        if left > 0:
            done.wait(left)

    def close(self) -> None:
        """No fetch begins after this."""
        with self._lock:
            self._closed = True

    # --- lookups -------------------------------------------------------------------------------------------

    def _age(self, now: float) -> float:
        return math.inf if self._fetched_at is None else now - self._fetched_at

    @property
    def _gap(self) -> float:
        """The least time between two fetches begun (never more than the refresh interval)."""
        return min(self.min_refetch_seconds, self.refresh_seconds)

    def _retry_after(self, now: float) -> int:
        return max(1, math.ceil(self._attempt_at + self._gap - now))

    def _trusted(self, kid: str) -> tuple[float, jwt.PyJWK | None, float]:
        """Now, the key ``kid`` if it is trusted now (fetched within the refresh interval and grace period),
        and the age of the keys; called holding the lock."""
        now = self._clock()
        age = self._age(now)
        found = self._keys.get(kid)
        return now, (found if age < self.refresh_seconds + self.grace_seconds else None), age

    def key(self, kid: str) -> jwt.PyJWK:
        """The provider's key ``kid``; raises UnknownKey or ProviderUnavailable."""
        with self._lock:
            now = self._clock()
            due = self._age(now) >= self.refresh_seconds
            done = self._begin_fetch(now) if due else None
        self._wait(done)
        with self._lock:
            now, found, age = self._trusted(kid)
            if found is not None:
                return found  # current, or the provider cannot be reached and the grace period is not over
            if kid not in self._keys and age < self.refresh_seconds:
                done = self._begin_fetch(now, unknown_kid=True)  # perhaps a key published since the last fetch
            else:
                done = None
        self._wait(done)
        with self._lock:
            now, found, age = self._trusted(kid)
            if found is not None:
                return found
            if age < self.refresh_seconds and self._error is None:
                raise UnknownKey(f"the identity provider does not publish the key {kid!r}")
            raise ProviderUnavailable(
                f"the identity provider's keys could not be fetched from {self.url} "
                f"({self._error or 'no answer yet'}); last fetched "
                f"{'never' if self._fetched_at is None else f'{age:.0f} s ago'}",
                retry_after=self._retry_after(now),
            )

    def status(self) -> str:
        """For /readyz, without waiting: ``ok``; ``degraded: ...`` while the provider cannot be reached and the
        keys it published last are still trusted; ``unavailable: ...`` once none is."""
        with self._lock:
            now = self._clock()
            age = self._age(now)
            if age >= self.refresh_seconds:
                self._begin_fetch(now)  # in the background; the next probe sees its result
            hanging = self._inflight is not None and now - self._inflight_since > self.wait_seconds
            if self._error is None and not hanging and self._fetched_at is not None:
                return "ok"
            why = self._error or ("no answer yet" if self._inflight is not None else "not fetched yet")
            if age < self.refresh_seconds + self.grace_seconds:
                left = self.refresh_seconds + self.grace_seconds - age
                return (
                    f"degraded: the keys could not be fetched from {self.url} ({why}); "
                    f"the keys fetched {age:.0f} s ago are trusted for {left:.0f} s more"
                )
            return f"unavailable: the keys could not be fetched from {self.url} ({why})"
