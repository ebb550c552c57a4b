"""Where the docs service keeps its documents' bytes: files on disk for a
SQLite store, GridFS in the docs database for a MongoDB one (here through
mongomock). Both stores behave the same: content-addressed, idempotent,
checked on read. Then the docs service itself on a mongomock store: the
renderer's documents are served from GridFS, with nothing on disk."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from cpp_docs.app import create_app as create_docs_app
from cpp_docs.files import CHUNK_SIZE, FileMissing, FileStore, GridFSFileStore, open_file_store
from cpp_docs.render import Renderer, file_store
from cpp_shared.store import StoreError, StoreUnavailable, open_store
from cpp_shared.store.mongo import MongoStore
from tests.helpers import bearer, free_port
from tests.services.test_docs_http import Pump
from tests.services.test_lookup_http import put_on_plan


class Disk:
    """FileStore, and what a test does to its bytes behind its back."""

    def __init__(self, root: Path):
        self.files = FileStore(root)
        self.root = root

    def entries(self) -> int:
        return len([p for p in self.root.iterdir() if not p.name.startswith(".")])

    def tamper(self, digest: str) -> None:
        path = self.files.path(digest)
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))

    def remove(self, digest: str) -> None:
        self.files.path(digest).unlink()


class GridFS:
    """GridFSFileStore on a mongomock store, and its collections."""

    def __init__(self, store: MongoStore):
        self.files = GridFSFileStore(store)
        self.db = store.db

    def entries(self) -> int:
        return self.db["fs.files"].count_documents({})

    def chunks(self, digest: str) -> list[dict[str, Any]]:
        return list(self.db["fs.chunks"].find({"files_id": digest}, sort=[("n", 1)]))

    def tamper(self, digest: str) -> None:
        chunk = self.chunks(digest)[-1]
        data = bytearray(chunk["data"])
        data[len(data) // 2] ^= 0xFF
        self.db["fs.chunks"].update_one({"_id": chunk["_id"]}, {"$set": {"data": bytes(data)}})

    def remove(self, digest: str) -> None:
        self.db["fs.chunks"].delete_many({"files_id": digest})
        self.db["fs.files"].delete_one({"_id": digest})


@pytest.fixture
def mongo_store() -> Iterator[MongoStore]:
    store = open_store(f"mongomock://docs_files_{uuid.uuid4().hex}")
    assert isinstance(store, MongoStore)
    yield store
    store.client.drop_database(store.db.name)


@pytest.fixture(params=["disk", "gridfs"])
def kept(request, tmp_path) -> Disk | GridFS:
    if request.param == "disk":
        return Disk(tmp_path / "docs")
    return GridFS(request.getfixturevalue("mongo_store"))


# ------------------------------------------------------------ both stores


def test_put_then_read_gives_the_bytes_back_named_by_their_hash(kept):
    data = b"%PDF-1.7 a plan" * 100
    digest = kept.files.put(data)
    assert digest == hashlib.sha256(data).hexdigest()
    assert kept.files.read(digest) == data
    assert kept.entries() == 1


def test_a_second_put_of_the_same_bytes_is_a_no_op(kept):
    data = os.urandom(300_000)  # two GridFS chunks
    first = kept.files.put(data)
    before = kept.chunks(first) if isinstance(kept, GridFS) else None
    assert kept.files.put(data) == first
    assert kept.entries() == 1
    if isinstance(kept, GridFS):
        assert kept.chunks(first) == before  # nothing written again
    assert kept.files.put(b"other bytes") != first and kept.entries() == 2
    assert kept.files.read(first) == data


def test_bytes_that_do_not_match_their_hash_are_refused(kept):
    data = os.urandom(50_000)
    digest = kept.files.put(data)
    kept.tamper(digest)
    with pytest.raises(FileMissing, match="does not match its hash"):
        kept.files.read(digest)


def test_missing_bytes_are_file_missing(kept):
    with pytest.raises(FileMissing, match="missing"):
        kept.files.read("0" * 64)
    digest = kept.files.put(b"soon gone")
    kept.remove(digest)
    with pytest.raises(FileMissing, match="missing"):
        kept.files.read(digest)


def test_delete_removes_the_bytes_and_only_them(kept):
    """An erased child's documents' bytes are removed (``cpp_docs.erasure.sweep_files``)."""
    gone, stays = kept.files.put(os.urandom(300_000)), kept.files.put(b"another child's plan")
    assert kept.files.delete(gone) is True
    with pytest.raises(FileMissing, match="missing"):
        kept.files.read(gone)
    if isinstance(kept, GridFS):
        assert kept.chunks(gone) == []
    assert kept.files.delete(gone) is False, "nothing left to remove"
    assert kept.files.read(stays) == b"another child's plan" and kept.entries() == 1
    assert kept.files.put(b"another child's plan") == stays


def test_a_large_file_round_trips(kept):
    data = os.urandom(6 * 1024 * 1024 + 12_345)
    digest = kept.files.put(data)
    assert kept.files.read(digest) == data
    if isinstance(kept, GridFS):
        chunks = kept.chunks(digest)
        assert [c["n"] for c in chunks] == list(range(len(data) // CHUNK_SIZE + 1))  # 25 chunks
        assert kept.db["fs.files"].find_one({"_id": digest})["length"] == len(data)


def test_empty_bytes_round_trip(kept):
    digest = kept.files.put(b"")
    assert digest == hashlib.sha256(b"").hexdigest() and kept.files.read(digest) == b""


@pytest.mark.parametrize("name", ["", "abc", "../etc/passwd", "A" * 64, "0" * 63 + "g"])
def test_a_name_that_is_not_a_hash_is_refused(kept, name):
    with pytest.raises(ValueError):
        kept.files.read(name)


# ------------------------------------------------------------ GridFS only


def test_gridfs_entry_is_named_by_the_hash(mongo_store):
    data = b"<html lang=en-GB>a plan</html>"
    digest = GridFSFileStore(mongo_store).put(data)
    entry = mongo_store.db["fs.files"].find_one({"_id": digest})
    assert entry["filename"] == digest and entry["length"] == len(data) and entry["chunkSize"] == CHUNK_SIZE


def test_a_chunk_missing_from_gridfs_is_file_missing(mongo_store):
    kept = GridFS(mongo_store)
    data = os.urandom(3 * CHUNK_SIZE)
    digest = kept.files.put(data)
    mongo_store.db["fs.chunks"].delete_one({"files_id": digest, "n": 1})
    with pytest.raises(FileMissing, match="incomplete"):
        kept.files.read(digest)


def test_an_upload_stopped_half_way_is_finished_by_the_next_put(mongo_store):
    """A crash after some chunks but before the fs.files entry: the same
    bytes put again (the job rendered again) complete the file."""
    kept = GridFS(mongo_store)
    data = os.urandom(4 * CHUNK_SIZE + 7)
    digest = kept.files.put(data)
    mongo_store.db["fs.files"].delete_one({"_id": digest})
    mongo_store.db["fs.chunks"].delete_many({"files_id": digest, "n": {"$gte": 2}})
    with pytest.raises(FileMissing):
        kept.files.read(digest)
    assert kept.files.put(data) == digest
    assert kept.files.read(digest) == data
    assert [c["n"] for c in kept.chunks(digest)] == [0, 1, 2, 3, 4] and kept.entries() == 1


def test_a_put_that_loses_the_race_to_the_same_bytes_succeeds(mongo_store, monkeypatch):
    """Another writer's entry appears between the existence check and the
    upload: the duplicate is success once the bytes are checked."""
    kept = GridFS(mongo_store)
    data = os.urandom(2 * CHUNK_SIZE)
    digest = kept.files.put(data)
    files = kept.files._files
    monkeypatch.setattr(files, "find_one", lambda *a, **k: None)  # the check ran before the other's write
    assert kept.files.put(data) == digest
    monkeypatch.undo()
    assert kept.entries() == 1 and len(kept.chunks(digest)) == 2 and kept.files.read(digest) == data


def test_chunks_of_other_bytes_under_the_hash_are_not_named_by_an_entry(mongo_store):
    kept = GridFS(mongo_store)
    data = os.urandom(2 * CHUNK_SIZE)
    digest = hashlib.sha256(data).hexdigest()
    mongo_store.db["fs.chunks"].insert_one({"files_id": digest, "n": 0, "data": b"x" * CHUNK_SIZE})
    with pytest.raises(StoreError, match="other chunks"):
        kept.files.put(data)
    assert kept.entries() == 0


def test_an_entry_of_the_wrong_length_is_replaced(mongo_store):
    kept = GridFS(mongo_store)
    data = b"the right bytes"
    digest = hashlib.sha256(data).hexdigest()
    mongo_store.db["fs.files"].insert_one({"_id": digest, "length": 3, "chunkSize": CHUNK_SIZE})
    mongo_store.db["fs.chunks"].insert_one({"files_id": digest, "n": 0, "data": b"bad"})
    assert kept.files.put(data) == digest and kept.files.read(digest) == data


def test_an_unreachable_mongodb_is_store_unavailable():
    import pymongo

    client = pymongo.MongoClient(f"mongodb://127.0.0.1:{free_port()}/docs", serverSelectionTimeoutMS=200, connect=False)
    store = MongoStore(client, "docs", owns_client=True)
    files = GridFSFileStore(store)  # no round trip yet: the service starts, and answers 503
    with pytest.raises(StoreUnavailable):
        files.put(b"a plan")
    with pytest.raises(StoreUnavailable):
        files.read("0" * 64)
    store.close()


# ------------------------------------------------------------ choosing the store


def test_the_store_decides_where_the_bytes_go(tmp_path, mongo_store):
    sqlite = open_store(f"sqlite:///{tmp_path}/docs.db")
    on_disk = open_file_store(sqlite, tmp_path)
    assert isinstance(on_disk, FileStore) and on_disk.root == tmp_path / "docs"
    assert isinstance(open_file_store(mongo_store, tmp_path), GridFSFileStore)
    sqlite.close()


# ------------------------------------------------------------ the docs service on MongoDB


@pytest.fixture
def docs_on_mongo(make_settings):
    name = f"docs_e2e_{uuid.uuid4().hex}"
    app = create_docs_app(make_settings("docs", CPP_STORE_URL=f"mongomock://{name}"))
    yield app
    store = app.extensions["cpp"].store.inner
    store.client.drop_database(store.db.name)


def test_rendered_documents_are_served_from_gridfs(docs_on_mongo, plans, plans_store, token_for, data_dir):
    docs_ctx, docs = docs_on_mongo.extensions["cpp"], docs_on_mongo.test_client()
    assert isinstance(docs_ctx.store.inner, MongoStore)
    assert isinstance(file_store(docs_ctx), GridFSFileStore) and file_store(docs_ctx) is file_store(docs_ctx)

    # A case to its outline plan, over the plans API; its events to docs; the renderer.
    sw, chair = bearer(token_for("social_worker", user="sw-1")), bearer(token_for("chair", user="chair-1"))
    d0 = date.today() - timedelta(days=20)
    _, plan = put_on_plan(plans, sw, chair, "child-7", d0)
    plan_id = plan["id"]
    assert "plan.created.v1" in Pump(plans_store, docs_ctx)()
    result = Renderer(docs_ctx).run_once(use_lease=False)
    assert result.jobs >= 1 and result.failed == 0

    listing = docs.get(f"/v1/plans/{plan_id}/documents", headers=sw)
    assert listing.status_code == 200, listing.json
    rows = listing.json["documents"]
    assert {r["format"] for r in rows} == {"html", "pdf"}
    gridfs = docs_ctx.store.inner.db
    for row in rows:
        got = docs.get(row["url"], headers=sw)
        assert got.status_code == 200, got.json
        assert hashlib.sha256(got.data).hexdigest() == row["sha256"] and got.headers["ETag"] == f'"{row["sha256"]}"'
        assert gridfs["fs.files"].find_one({"_id": row["sha256"]})["length"] == row["size"] == len(got.data)
    assert not (data_dir / "docs").exists()  # nothing on disk

    # Bytes gone from GridFS: the file is unavailable (503), the row still listed.
    pdf = next(r for r in rows if r["format"] == "pdf")
    gridfs["fs.chunks"].delete_many({"files_id": pdf["sha256"]})
    gridfs["fs.files"].delete_one({"_id": pdf["sha256"]})
    gone = docs.get(pdf["url"], headers=sw)
    assert gone.status_code == 503 and "unavailable" in gone.json["message"]

    # MongoDB out of reach while reading the bytes: 503, as for the store.
    import pymongo

    client = pymongo.MongoClient(f"mongodb://127.0.0.1:{free_port()}/docs", serverSelectionTimeoutMS=200, connect=False)
    docs_ctx.extensions["docs.files"] = GridFSFileStore(MongoStore(client, "cpp_docs", owns_client=True))
    html = next(r for r in rows if r["format"] == "html")
    assert docs.get(html["url"], headers=sw).status_code == 503
    client.close()
