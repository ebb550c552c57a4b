"""Where a document's bytes are kept: files on disk, named by their SHA-256.

Why files and not the store: the store port holds JSON documents, and a
plan's PDF is tens to hundreds of kilobytes (every version of every plan,
in two or more languages and two formats); base64 in a JSON row would
bloat the SQLite file and every backup of its metadata by a third more
than the bytes, and push MongoDB rows towards its 16 MB limit for a large
plan. So the bytes go to ``CPP_DATA_DIR/docs/<sha256>`` and the metadata
row (``store.DOCUMENTS``) names the hash.

Order, so that no row is ever without its file: the file is written and
fsynced (to a temporary name, then renamed into place, and the directory
fsynced) *before* the unit of work with its row commits. A crash between
the two leaves at most an orphan file, which a later render of the same
job writes again under the same name (the renderer is deterministic) or
which a sweep may remove; never a row whose file is missing. Content
addressing also makes a second write of the same bytes a no-op, and lets
a reader check the bytes against the row's hash (``read`` does).

The web process and the worker must see the same ``CPP_DATA_DIR`` (one
machine, as ``cpp up`` runs them, or a shared volume). A MongoDB
deployment should keep the bytes in GridFS instead (a ``fs.files`` entry
per hash, written before the row commits, as here): a ``GridFSFileStore``
with the same ``put``/``read`` methods; not written yet.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

HASH = re.compile(r"^[0-9a-f]{64}$")


class FileMissing(Exception):
    """A document's bytes are missing or do not match its hash."""


class FileStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if not HASH.match(sha256):
            raise ValueError(f"not a sha256: {sha256!r}")
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
