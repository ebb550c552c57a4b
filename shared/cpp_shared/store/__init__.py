"""The store: a small document-store port and its adapters.

``open_store(url)`` picks the adapter from the URL's scheme:

* ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db``: one
  SQLite file (parent folders are created on first use);
* ``mongodb://host/dbname`` or ``mongodb+srv://host/dbname``: a MongoDB
  replica set or sharded cluster (the database name is required). The URL's
  own options are kept (``serverSelectionTimeoutMS`` is 3000 only when it
  gives none); each operation and unit of work is limited to
  ``CPP_STORE_TIMEOUT_SECONDS`` (default 10), or to the URL's ``timeoutMS``
  when that setting is not given (README, Store);
* ``mongomock://dbname``: an in-memory mongomock database, for tests. Within
  one process the same name reaches the same data, like a real server.
"""

from __future__ import annotations

import math
import os
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from .chain import ChainReport
from .port import (
    AlreadyProcessed,
    Collection,
    CommitOutcomeUnknown,
    CorruptLogRecord,
    DuplicateKey,
    LogRecord,
    OutboxMessage,
    OutboxStats,
    Store,
    StoreError,
    StoreUnavailable,
    UnitOfWork,
    VersionConflict,
)

if TYPE_CHECKING:
    from .mongo import MongoStore
    from .sqlite import SQLiteStore

__all__ = [
    "AlreadyProcessed",
    "ChainReport",
    "Collection",
    "CommitOutcomeUnknown",
    "CorruptLogRecord",
    "DuplicateKey",
    "LogRecord",
    "MongoStore",
    "OutboxMessage",
    "OutboxStats",
    "SQLiteStore",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "SUPPORTED_SCHEMES",
    "UnitOfWork",
    "VersionConflict",
    "open_store",
    "redact_url",
]

SUPPORTED_SCHEMES = ("sqlite", "mongodb", "mongodb+srv", "mongomock")

TIMEOUT_SETTING = "CPP_STORE_TIMEOUT_SECONDS"
DEFAULT_SERVER_SELECTION_MS = 3000

_mock_client: Any = None
_mock_client_lock = threading.Lock()


def _shared_mongomock_client() -> Any:
    global _mock_client
    with _mock_client_lock:
        if _mock_client is None:
            import mongomock  # test dependency: imported only when asked for

            _mock_client = mongomock.MongoClient()
        return _mock_client


def url_options(url: str) -> dict[str, str]:
    """A MongoDB URL's options, by their lower-cased names (URI options are
    case-insensitive)."""
    return {k.lower(): v for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True)}


def store_timeout_seconds(url: str, environ: Any = None) -> float:
    """How long one store operation or unit of work may take: the
    ``CPP_STORE_TIMEOUT_SECONDS`` setting, else the URL's ``timeoutMS``,
    else 10 s. ``ValueError`` (naming the setting) for anything but a
    positive number."""
    from .mongo import DEFAULT_TIMEOUT_SECONDS

    env = os.environ if environ is None else environ
    text = env.get(TIMEOUT_SETTING)
    if text is not None and text.strip():
        where, value = TIMEOUT_SETTING, text.strip()
        scale = 1.0
    elif "timeoutms" in url_options(url):
        where, value, scale = "the store URL's timeoutMS", url_options(url)["timeoutms"], 1000.0
    else:
        return DEFAULT_TIMEOUT_SECONDS
    try:
        seconds = float(value) / scale
    except ValueError:
        seconds = math.nan
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(
            f"{where} must be a positive number of {'seconds' if scale == 1 else 'milliseconds'}; got {value!r}"
        )
    return seconds


def open_store(url: str) -> Store:
    """Open the store a service's store URL names. An unreachable database
    is not an error here (MongoDB waits up to the URL's
    ``serverSelectionTimeoutMS``, 3 s unless it says): it shows up as
    ``StoreUnavailable`` on use, so the service can start and answer 503.
    A reachable standalone MongoDB raises ``StoreError`` (no transactions)."""
    if not isinstance(url, str) or ":" not in url:
        raise ValueError(f"not a store URL: {url!r} (supported schemes: {', '.join(SUPPORTED_SCHEMES)})")
    scheme = url.split(":", 1)[0].lower()

    if scheme == "sqlite":
        from .sqlite import SQLiteStore, path_from_url

        return SQLiteStore(path_from_url(url))

    if scheme in ("mongodb", "mongodb+srv"):
        import pymongo

        from .mongo import MongoStore

        database = unquote(urlsplit(url).path.lstrip("/"))
        if not database:
            raise ValueError(
                f"the MongoDB URL must name the database, as in mongodb://host:27017/dbname: {redact_url(url)}"
            )
        timeout = store_timeout_seconds(url)
        # Keyword arguments override the URL's options: only defaults for
        # what the URL leaves out are given here.
        defaults: dict[str, Any] = {}
        if "serverselectiontimeoutms" not in url_options(url):
            defaults["serverSelectionTimeoutMS"] = DEFAULT_SERVER_SELECTION_MS
        client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(url, tz_aware=True, **defaults)
        return MongoStore(client, database, owns_client=True, timeout_seconds=timeout)

    if scheme == "mongomock":
        from .mongo import MongoStore

        database = urlsplit(url).netloc or urlsplit(url).path.lstrip("/")
        if not database:
            raise ValueError(f"the mongomock URL must name the database, as in mongomock://dbname: {url!r}")
        return MongoStore(_shared_mongomock_client(), database)

    raise ValueError(
        f"unsupported store URL scheme {scheme!r} in {redact_url(url)}; supported schemes: {', '.join(SUPPORTED_SCHEMES)}"
    )


def redact_url(url: str) -> str:
    """The URL without its password, fit for an error message or a log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def __getattr__(name: str) -> Any:
    # The adapters are imported on demand so that importing the port does not
    # import pymongo.
    if name == "SQLiteStore":
        from .sqlite import SQLiteStore

        return SQLiteStore
    if name == "MongoStore":
        from .mongo import MongoStore

        return MongoStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
