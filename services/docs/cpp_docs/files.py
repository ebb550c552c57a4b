"""Where a document's bytes are kept, named by their SHA-256: files on
disk, or GridFS when the docs store is MongoDB.

Why not rows of the store: the store port holds JSON documents, and a
plan's PDF is tens to hundreds of kilobytes (every version of every plan,
in two or more languages and two formats); base64 in a JSON row would
bloat the SQLite file and every backup of its metadata by a third more
than the bytes, and push MongoDB rows towards its 16 MB limit for a large
plan. So the bytes are kept apart and the metadata row
(``store.DOCUMENTS``) names the hash. ``open_file_store`` picks where:

* ``FileStore``: ``CPP_DATA_DIR/docs/<sha256>``, for a SQLite store. The
  web process and the worker must see the same ``CPP_DATA_DIR`` (one
  machine, as ``cpp up`` runs them, or a shared volume).
* ``GridFSFileStore``: GridFS (``fs.files`` and ``fs.chunks``) in the docs
  store's own MongoDB database, for a MongoDB store: every web replica and
  worker reaches the bytes where it reaches the rows, with no shared volume,
  and the database's backups and replication cover both. The ``fs.files``
  entry's ``_id`` is the hash. A MongoDB out of reach raises the store's
  ``StoreUnavailable``, so the API answers 503 as it does for the rows.

Order, so that no row is ever without its bytes: ``put`` returns only once
the bytes are durable, *before* the unit of work with their row commits.
On disk the file is written and fsynced to a temporary name, renamed into
place and the directory fsynced; in GridFS every chunk and then the
``fs.files`` entry are written with a majority, journaled write concern
(the ``fs.files`` entry last, so that an entry always has all its chunks).
A crash between the two leaves at most orphan bytes, which a later render
of the same job writes again under the same name (the renderer is
deterministic) or which a sweep may remove; never a row whose bytes are
missing. Content addressing also makes a second write of the same bytes a
no-op, and lets a reader check the bytes against the row's hash (``read``
does, in both stores, and raises ``FileMissing`` when they are missing or
do not match).
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from cpp_shared.store import Store, StoreError
from cpp_shared.store.scoped import unscoped

if TYPE_CHECKING:
    from cpp_shared.store.mongo import MongoStore

HASH = re.compile(r"^[0-9a-f]{64}$")


class FileMissing(Exception):
    """A document's bytes are missing or do not match its hash."""


class DocumentFiles(Protocol):
    """What the renderer writes to and the API reads from."""

    def put(self, data: bytes) -> str:
        """Store the bytes durably; returns their sha256."""
        ...

    def read(self, sha256: str) -> bytes:
        """The bytes named by the hash, checked; ``FileMissing`` otherwise."""
        ...

    def delete(self, sha256: str) -> bool:
        """Remove the bytes (a document's, erased); False when there were none."""
        ...


def open_file_store(store: Store, data_dir: Path) -> DocumentFiles:
    """Where the docs service keeps its bytes: GridFS in its own database
    when its store is MongoDB, else files under ``data_dir/docs``."""
    # A MongoStore exists only once its module is imported: checked this way,
    # a SQLite deployment does not import pymongo.
    mongo = sys.modules.get("cpp_shared.store.mongo")
    database = unscoped(store)  # bytes are named by their hash; their rows are the authority's
    if mongo is not None and isinstance(database, mongo.MongoStore):
        return GridFSFileStore(database)
    return FileStore(Path(data_dir) / "docs")


def _check_hash(sha256: str) -> None:
    if not isinstance(sha256, str) or not HASH.match(sha256):
        raise ValueError(f"not a sha256: {sha256!r}")


class FileStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        _check_hash(sha256)
        return self.root / sha256

    def put(self, data: bytes) -> str:
        """Store the bytes durably; returns their sha256 (the file's name)."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists() and target.stat().st_size == len(data):
            return digest
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        dir_fd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return digest

    def read(self, sha256: str) -> bytes:
        try:
            data = self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise FileMissing(f"document file {sha256} is missing") from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise FileMissing(f"document file {sha256} does not match its hash")
        return data

    def delete(self, sha256: str) -> bool:
        try:
            self.path(sha256).unlink()
        except FileNotFoundError:
            return False
        return True


# GridFS's default chunk size. Every writer of some bytes cuts them the same
# way, which is what lets ``GridFSFileStore._complete`` finish another
# writer's upload.
CHUNK_SIZE = 255 * 1024

_mongomock_gridfs_lock = threading.Lock()
_mongomock_gridfs_enabled = False


def _enable_mongomock_gridfs() -> None:
    """Let pymongo's gridfs accept mongomock's classes (once per process)."""
    global _mongomock_gridfs_enabled
    with _mongomock_gridfs_lock:
        if not _mongomock_gridfs_enabled:
            import mongomock.gridfs

            mongomock.gridfs.enable_gridfs_integration()
            _mongomock_gridfs_enabled = True


class GridFSFileStore:
    """The bytes in GridFS, in the docs store's own MongoDB database.

    Each file's ``fs.files`` ``_id`` (and its filename) is its sha256. Every
    access runs inside ``MongoStore.database()``, so errors are the store's:
    an unreachable MongoDB raises ``StoreUnavailable`` (the API answers 503,
    the renderer skips its pass), a standalone server ``StoreError``; and on
    mongomock the store's lock is held.
    """

    def __init__(self, store: MongoStore, bucket: str = "fs"):
        from gridfs import GridFSBucket
        from pymongo.read_concern import ReadConcern
        from pymongo.write_concern import WriteConcern

        from cpp_shared.store.mongo import is_mongomock

        self.store = store
        mock = is_mongomock(store.client)
        if mock:
            _enable_mongomock_gridfs()
        # As the store's transactions commit (majority), and journaled, as
        # FileStore fsyncs: once put returns, a failover cannot lose the bytes.
        # Its wait bounded as the store's own commits are (every call also runs
        # inside the store's time limit: MongoStore.database()).
        durable = WriteConcern("majority", j=True, wtimeout=int(store.timeout_seconds * 1000))
        db = store.db
        self._bucket = GridFSBucket(db, bucket, chunk_size_bytes=CHUNK_SIZE, write_concern=durable)
        if mock:
            # GridFSBucket reads the client's timeoutMS from client.options,
            # which a mongomock client does not have.
            self._bucket._timeout = None
        # "Already stored?" is answered by a majority read: an entry a
        # failover could still roll back does not count as stored.
        self._files = db.get_collection(f"{bucket}.files", write_concern=durable, read_concern=ReadConcern("majority"))
        self._chunks = db.get_collection(f"{bucket}.chunks", write_concern=durable)
        self._indexed = False

    def _ensure_indexes(self) -> None:
        """GridFS's indexes, once per store. pymongo's upload creates them
        only while the collections are empty; the unique (files_id, n) index
        is what makes a second writer of a chunk fail instead of adding it
        twice, so it is made sure of here whatever is in the collections."""
        if not self._indexed:
            self._files.create_index([("filename", 1), ("uploadDate", 1)])
            self._chunks.create_index([("files_id", 1), ("n", 1)], unique=True)
            self._indexed = True

    def __repr__(self) -> str:
        return f"GridFSFileStore({self.store!r})"

    def put(self, data: bytes) -> str:
        """Store the bytes durably; returns their sha256 (the file's _id).
        Returns only once every chunk and the ``fs.files`` entry are written."""
        from gridfs.errors import FileExists

        data = bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        with self.store.database():
            self._ensure_indexes()
            found = self._files.find_one({"_id": digest}, {"length": 1})
            if found is not None:
                if found.get("length") == len(data):
                    return digest  # an entry exists only once all its chunks do
                # Not written by this class (the length is the hash's): replace it.
                self._chunks.delete_many({"files_id": digest})
                self._files.delete_one({"_id": digest})
            try:
                self._bucket.upload_from_stream_with_id(digest, digest, data)
            except FileExists:
                self._complete(digest, data)
        return digest

    def _complete(self, digest: str, data: bytes) -> None:
        """Finish an upload that met chunks or an entry already there: another
        writer of the same bytes (two renderers at once), or the chunks of an
        upload that stopped half way. A chunk of these bytes is the same
        whoever writes it, so the missing ones are added, the chunks checked,
        and the entry added if it is still missing (nothing is deleted, so a
        writer racing this one loses nothing); then the file is read back and
        checked."""
        from bson import Binary, Int64
        from pymongo.errors import DuplicateKeyError

        for n, start in enumerate(range(0, len(data), CHUNK_SIZE)):
            try:
                self._chunks.update_one(
                    {"files_id": digest, "n": n},
                    {"$setOnInsert": {"data": Binary(data[start : start + CHUNK_SIZE])}},
                    upsert=True,
                )
            except DuplicateKeyError:
                pass  # inserted meanwhile by the other writer
        chunks = self._chunks.find({"files_id": digest}, sort=[("n", 1)])
        if b"".join(bytes(c["data"]) for c in chunks) != data:
            # Chunks not cut by this class: left alone (an operator's to look
            # at), and no entry is written to name them.
            raise StoreError(f"GridFS holds other chunks under {digest}")
        try:
            self._files.insert_one(
                {
                    "_id": digest,
                    "filename": digest,
                    "length": Int64(len(data)),
                    "chunkSize": CHUNK_SIZE,
                    "uploadDate": datetime.now(UTC),
                }
            )
        except DuplicateKeyError:
            pass  # the other writer's entry: checked below
        try:
            stored = self._read(digest)
        except FileMissing as exc:
            raise StoreError(f"GridFS holds other bytes under {digest}: {exc}") from None
        if stored != data:
            raise StoreError(f"GridFS holds other bytes under {digest}")

    def read(self, sha256: str) -> bytes:
        _check_hash(sha256)
        with self.store.database():
            return self._read(sha256)

    def delete(self, sha256: str) -> bool:
        """The ``fs.files`` entry first, so that no entry is ever left without its chunks."""
        _check_hash(sha256)
        with self.store.database():
            found = self._files.delete_one({"_id": sha256}).deleted_count
            self._chunks.delete_many({"files_id": sha256})
        return bool(found)

    def _read(self, sha256: str) -> bytes:
        from gridfs.errors import CorruptGridFile, NoFile

        try:
            data = self._bucket.open_download_stream(sha256).read()
        except NoFile:
            raise FileMissing(f"document file {sha256} is missing") from None
        except CorruptGridFile as exc:
            raise FileMissing(f"document file {sha256} is incomplete: {exc}") from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise FileMissing(f"document file {sha256} does not match its hash")
        return data
