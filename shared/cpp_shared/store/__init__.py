"""The store: a small document-store port and its adapters.

``open_store(url)`` picks the adapter from the URL's scheme:

* ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db``: one
  SQLite file (parent folders are created on first use);
* ``mongodb://host/dbname`` or ``mongodb+srv://host/dbname``: a MongoDB
  replica set or sharded cluster (the database name is required);
* ``mongomock://dbname``: an in-memory mongomock database, for tests. Within
  one process the same name reaches the same data, like a real server.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from .chain import ChainReport
from .port import (
    AlreadyProcessed,
    Collection,
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
]

SUPPORTED_SCHEMES = ("sqlite", "mongodb", "mongodb+srv", "mongomock")

_mock_client: Any = None
_mock_client_lock = threading.Lock()


def _shared_mongomock_client() -> Any:
    global _mock_client
    with _mock_client_lock:
        if _mock_client is None:
            import mongomock  # test dependency: imported only when asked for

            _mock_client = mongomock.MongoClient()
        return _mock_client


def open_store(url: str) -> Store:
    """Open the store a service's store URL names. An unreachable database
    is not an error here (MongoDB may wait up to 3 s for it): it shows up as
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
                f"the MongoDB URL must name the database, as in mongodb://host:27017/dbname: {_redact(url)}"
            )
        client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
            url, serverSelectionTimeoutMS=3000, tz_aware=True
        )
        return MongoStore(client, database, owns_client=True)

    if scheme == "mongomock":
        from .mongo import MongoStore

        database = urlsplit(url).netloc or urlsplit(url).path.lstrip("/")
        if not database:
            raise ValueError(f"the mongomock URL must name the database, as in mongomock://dbname: {url!r}")
        return MongoStore(_shared_mongomock_client(), database)

    raise ValueError(
        f"unsupported store URL scheme {scheme!r} in {_redact(url)}; supported schemes: {', '.join(SUPPORTED_SCHEMES)}"
    )


def _redact(url: str) -> str:
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
