"""Backups that restore: ``cpp backup`` and ``cpp restore`` (docs/backup-and-restore.md).

A backup is a new folder holding, for each service whose store is a SQLite
file (plans, scheduler, notify, docs, returns):

* ``<service>/<service>.db``: an online, consistent copy of the store, taken
  with SQLite's backup API in one step (one read transaction: the copy is the
  database as one commit left it, while the services go on writing), then
  switched to a rollback journal so that it is one self-contained file;
* for the docs service, ``docs/files/<sha256>``: the documents' bytes kept
  outside the database (``CPP_DATA_DIR/docs``), copied after the database
  (a row is committed only after its bytes, so every row of the copy finds
  its file) and each checked against its name;
* ``manifest.json``: the format, when it was taken, the platform's version
  and, per service, each file's name, size and sha256, the migrations the
  store records, the head (``last_seq``, ``last_hash``) of every hash-chained
  log, and the outbox's last seq and pending count. The manifest carries the
  sha256 of its own canonical body (``chain.canonical_json`` of every field
  but ``sha256``).

The folder is written as ``.in-progress-<name>`` and renamed when whole, so
a backup that was cut short never looks like one.

A restore checks everything before it touches anything: the manifest's own
checksum, every file's size and sha256, then every chain of every copied
database (opened read-only) from its first entry, its head against the
manifest, and the ``audit`` chain against the signed checkpoints kept outside
the database (``audit_checkpoints``): the backup's chain must be a prefix of
the checkpointed one. It refuses while a service is running (a `cpp up`
supervising it, its worker's fresh heartbeat, an unexpired outbox relay
lease), unless forced. Then each database is written beside the live one,
fsynced and renamed over it, the replaced one kept as
``<name>.before-restore-<ts>``.

MongoDB stores are not copied here: ``mongodump --oplog`` and
``mongorestore --oplogReplay`` are the consistent way (``mongo_advice``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from . import audit_checkpoints as ac
from . import heartbeat, process_status
from .config import ConfigError, Settings
from .store import CorruptLogRecord, StoreError, redact_url
from .store.chain import canonical_json
from .store.sqlite import SQLiteStore, path_from_url

#: The manifest's format; a restore refuses any other.
FORMAT = 1
MANIFEST = "manifest.json"
#: The services that own a store, in the order they are backed up and restored.
SERVICES = ("plans", "scheduler", "notify", "docs", "returns")
#: The docs service's files, in its backup folder.
DOCS_FILES = "docs/files"
SHA256 = re.compile(r"^[0-9a-f]{64}$")
#: The outbox relay's lease (``messaging.relay.LEASE``), held per authority as ``outbox-relay@<code>``.
RELAY_LEASE = "outbox-relay"
CHUNK = 1024 * 1024


class BackupError(Exception):
    """The backup cannot be taken (a MongoDB store, a store that cannot be read)."""


class RestoreRefused(Exception):
    """The backup does not verify, or the restore would be unsafe: nothing was changed."""


# --- stores ------------------------------------------------------------------


class ReadOnlySQLiteStore(SQLiteStore):
    """A store file opened read-only (``mode=ro``): its logs can be read and
    verified with ``Store.verify_log`` without a byte of the file changing
    (no schema created, no journal mode switched)."""

    def __init__(self, path: str | os.PathLike[str]):
        super().__init__(path)
        self._schema_ready = True

    def _open(self) -> sqlite3.Connection:
        if not os.path.exists(self.path):
            raise StoreError(f"no database at {self.path}")
        try:
            conn = sqlite3.connect(
                f"file:{quote(self.path)}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
            )
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path} cannot be read as a database: {exc}") from exc
        return conn

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._read(sql, params)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {exc}") from exc

    def tables(self) -> set[str]:
        return {name for (name,) in self.query("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def log_names(self) -> list[str]:
        """Every append-only log the database holds (``_log``'s logs)."""
        if "_log" not in self.tables():
            return []
        return sorted(str(name) for (name,) in self.query("SELECT DISTINCT log FROM _log"))

    def outbox_head(self) -> dict[str, int]:
        if "_outbox" not in self.tables():
            return {"last_seq": 0, "pending": 0}
        ((last, pending),) = self.query("SELECT coalesce(max(seq), 0), count(*) - count(sent_at) FROM _outbox")
        return {"last_seq": int(last), "pending": int(pending)}

    def migrations(self) -> list[str] | None:
        """The versions of the migrations the store records (``cpp migrate``), or None when it keeps none."""
        if "c_schema_migrations" not in self.tables():
            return None
        rows = self.query("SELECT DISTINCT json_extract(doc, '$.version') FROM c_schema_migrations")
        return sorted(str(v) for (v,) in rows if v is not None)

    def document_hashes(self) -> set[str]:
        """The sha256 every row of the docs service's ``documents`` names."""
        if "c_documents" not in self.tables():
            return set()
        rows = self.query("SELECT json_extract(doc, '$.sha256') FROM c_documents")
        return {str(v) for (v,) in rows if v is not None}

    def hash_at(self, log: str, seq: int) -> str | None:
        rows = self.query("SELECT hash FROM _log WHERE log = ? AND seq = ?", (log, seq))
        return str(rows[0][0]) if rows else None


def sqlite_path(settings: Settings) -> Path:
    """The SQLite file of a service's store; ``BackupError`` (with the MongoDB way) for a MongoDB store."""
    url = settings.store_url
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme in ("mongodb", "mongodb+srv", "mongomock"):
        raise BackupError(mongo_advice(settings.service, url))
    if scheme != "sqlite":
        raise BackupError(f"the {settings.service} store URL {redact_url(url)} is neither SQLite nor MongoDB")
    return Path(os.path.abspath(path_from_url(url)))


def mongo_advice(service: str, url: str) -> str:
    return (
        f"the {service} store is MongoDB ({redact_url(url)}): `cpp backup` copies SQLite stores only. "
        "Take a consistent online copy of the replica set with mongodump and its oplog: "
        "`mongodump --uri='mongodb://HOST:27017/?replicaSet=rs0' --oplog --gzip --archive=cpp-TIMESTAMP.archive`; "
        "restore it with `mongorestore --uri='mongodb://HOST:27017/?replicaSet=rs0' --oplogReplay --drop --gzip "
        "--archive=cpp-TIMESTAMP.archive` (docs/backup-and-restore.md)"
    )


# --- files -------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_checked(source: Path, target: Path) -> tuple[str, int]:
    """Copy ``source`` to ``target`` (fsynced); the sha256 and size of the bytes copied."""
    digest, size = hashlib.sha256(), 0
    with open(source, "rb") as src, open(target, "wb") as dst:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    return digest.hexdigest(), size


def manifest_checksum(manifest: Mapping[str, Any]) -> str:
    """The sha256 of the manifest's canonical body: every field but ``sha256``."""
    return hashlib.sha256(canonical_json({k: v for k, v in manifest.items() if k != "sha256"})).hexdigest()


def platform_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cpp-shared")
    except PackageNotFoundError:
        return "unknown"


def _stamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


# --- backup ------------------------------------------------------------------


@dataclass
class BackupResult:
    folder: Path
    manifest: dict[str, Any]
    skipped: list[str] = field(default_factory=list)  # services with no store yet
    problems: list[str] = field(default_factory=list)  # the backup is whole but not sound

    @property
    def ok(self) -> bool:
        return not self.problems


def _online_copy(source: Path, target: Path) -> None:
    """SQLite's backup API, in one step: the copy is one consistent state of
    the database, whatever its writers do meanwhile (WAL: they are not held
    up). The copy is then made a self-contained file (rollback journal)."""
    # An ordinary connection, not mode=ro: it takes part in the WAL's locking as the services' connections do
    # (and, were it the last, folds the WAL in and removes it on closing, as they do); it only reads.
    src = sqlite3.connect(source, timeout=30)
    try:
        src.execute("PRAGMA query_only = 1")
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()
    finally:
        src.close()
    ac.fsync(target)


def describe_store(path: Path) -> dict[str, Any]:
    """What the manifest says of a database file beside its checksum: its
    logs' heads (each chain verified from its first entry), its outbox and
    its migrations. Reads the file only."""
    store = ReadOnlySQLiteStore(path)
    try:
        logs: dict[str, Any] = {}
        broken: list[str] = []
        for name in store.log_names():
            report = store.verify_log(name)
            logs[name] = {"last_seq": report.last_seq, "last_hash": report.last_hash}
            if not report.ok:
                logs[name]["first_bad_seq"] = report.first_bad_seq
                broken.append(f"the {name!r} log is broken at seq {report.first_bad_seq}: {report.reason}")
        return {
            "logs": logs,
            "outbox": store.outbox_head(),
            "migrations": store.migrations(),
            "broken": broken,
            "document_hashes": store.document_hashes(),
        }
    finally:
        store.close()


def backup(
    settings: Mapping[str, Settings], out: Path, *, now: datetime | None = None, name: str | None = None
) -> BackupResult:
    """Back the stores of ``settings`` (service -> its settings) up into a new folder under ``out``."""
    now = now or datetime.now(UTC)
    paths: dict[str, Path] = {}
    mongo: list[str] = []
    for service, s in settings.items():
        try:
            paths[service] = sqlite_path(s)
        except BackupError as exc:
            mongo.append(str(exc))
    if mongo:
        raise BackupError("; ".join(mongo))

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    name = name or f"backup-{_stamp(now)}"
    final = out / name
    n = 1
    while final.exists() or (out / f".in-progress-{final.name}").exists():
        n += 1
        final = out / f"{name}-{n}"
    work = out / f".in-progress-{final.name}"
    work.mkdir()
    result = BackupResult(final, {})
    services: dict[str, Any] = {}
    try:
        for service, source in paths.items():
            if not source.exists():
                result.skipped.append(f"{service}: no store at {source} yet (the service never ran): nothing to copy")
                continue
            folder = work / service
            folder.mkdir()
            db_name = f"{service}/{service}.db"
            try:
                _online_copy(source, work / db_name)
            except sqlite3.Error as exc:
                raise BackupError(f"the {service} store {source} cannot be copied: {exc}") from exc
            try:
                described = describe_store(work / db_name)
            except StoreError as exc:
                raise BackupError(f"the copy of the {service} store cannot be read back: {exc}") from exc
            files = [_file_entry(work, db_name)]
            for problem in described["broken"]:
                result.problems.append(f"{service}: {problem}")
            entry: dict[str, Any] = {
                "store": "sqlite",
                "source": str(source),
                "database": db_name,
                "files": files,
                "migrations": described["migrations"],
                "logs": described["logs"],
                "outbox": described["outbox"],
            }
            if service == "docs":
                copied = _copy_document_files(settings[service], work, result)
                files.extend(copied)
                have = {Path(f["name"]).name for f in copied}
                missing = sorted(described["document_hashes"] - have)
                for sha in missing:
                    result.problems.append(
                        f"docs: a document row names the file {sha}, which is not in the data folder"
                    )
                entry["document_files"] = len(copied)
            services[service] = entry
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "created_at": now.astimezone(UTC).isoformat(),
            "platform_version": platform_version(),
            "services": services,
        }
        manifest["sha256"] = manifest_checksum(manifest)
        path = work / MANIFEST
        path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        ac.fsync(path)
        for folder in [work, *(p for p in work.rglob("*") if p.is_dir())]:
            ac.fsync(folder)
        os.rename(work, final)
        ac.fsync(out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    result.manifest = manifest
    return result


def _file_entry(root: Path, name: str) -> dict[str, Any]:
    path = root / name
    return {"name": name, "size": path.stat().st_size, "sha256": file_sha256(path)}


def _copy_document_files(settings: Settings, work: Path, result: BackupResult) -> list[dict[str, Any]]:
    source = settings.data_dir.resolve() / "docs"
    target = work / DOCS_FILES
    target.mkdir(parents=True)
    copied: list[dict[str, Any]] = []
    if not source.is_dir():
        return copied
    for path in sorted(source.iterdir()):
        if not (path.is_file() and SHA256.match(path.name)):
            continue  # a temporary file of a write in progress
        digest, size = _copy_checked(path, target / path.name)
        if digest != path.name:
            (target / path.name).unlink()
            result.problems.append(f"docs: the document file {path} does not match its sha256 name (not copied)")
            continue
        copied.append({"name": f"{DOCS_FILES}/{path.name}", "size": size, "sha256": digest})
    return copied


# --- restore -----------------------------------------------------------------


def read_manifest(folder: Path) -> dict[str, Any]:
    """The backup's manifest, its own checksum verified; ``RestoreRefused`` otherwise."""
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RestoreRefused(f"{path}: no manifest: {folder} is not a backup `cpp backup` took") from None
    except (OSError, ValueError) as exc:
        raise RestoreRefused(f"{path} cannot be read as a manifest: {exc}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("services"), dict):
        raise RestoreRefused(f"{path} is not a backup manifest")
    if manifest.get("sha256") != manifest_checksum(manifest):
        raise RestoreRefused(
            f"{path} was changed after the backup was taken: its sha256 does not match its own checksum"
        )
    if manifest.get("format") != FORMAT:
        raise RestoreRefused(f"{path} is of format {manifest.get('format')!r}; this platform restores format {FORMAT}")
    return manifest


@dataclass
class ServicePlan:
    """What the restore of one service will do, found by ``verify``."""

    service: str
    entry: dict[str, Any]
    database: Path  # the backup's copy
    target: Path  # the live store it replaces
    heads: dict[str, dict[str, Any]]
    checkpoints_behind: int = 0  # checkpoints of entries after the backup's head
    divergent: list[str] = field(default_factory=list)  # accepted with accept_divergent_chain
    running: list[str] = field(default_factory=list)  # ignored with force


@dataclass
class RestoreResult:
    folder: Path
    created_at: str
    restored: list[ServicePlan]
    kept: dict[str, Path]  # service -> the replaced store
    checkpoint_files_kept: dict[str, Path]
    notes: list[str] = field(default_factory=list)


def verify(
    folder: Path, settings: Mapping[str, Settings], *, accept_divergent_chain: bool = False
) -> tuple[dict[str, Any], list[ServicePlan]]:
    """Every check a restore makes before it changes anything; ``RestoreRefused`` at the first that fails.
    ``settings``: the services to restore (each must be in the backup)."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    entries = manifest["services"]
    absent = [s for s in settings if s not in entries]
    if absent:
        raise RestoreRefused(
            f"the backup {folder} holds no store of {', '.join(absent)} (it holds: {', '.join(entries) or 'none'})"
        )
    plans: list[ServicePlan] = []
    for service, s in settings.items():
        entry = entries[service]
        try:
            files = entry["files"]
            database = folder / entry["database"]
            if not files or files[0]["name"] != entry["database"]:
                raise ValueError("its first file is not its database")
            for f in files:
                _check_file(folder, f)
        except (KeyError, TypeError, ValueError) as exc:
            raise RestoreRefused(
                f"{folder / MANIFEST}: the {service} entry is not one `cpp backup` writes ({exc})"
            ) from None
        try:
            target = sqlite_path(s)
        except BackupError as exc:
            raise RestoreRefused(str(exc)) from None
        heads = _check_chains(service, database, entry)
        plan = ServicePlan(service, entry, database, target, heads)
        _check_checkpoints(plan, s, accept_divergent_chain)
        plans.append(plan)
    return manifest, plans


def _check_file(folder: Path, f: dict[str, Any]) -> None:
    name = f.get("name")
    if not isinstance(name, str) or name.startswith("/") or ".." in Path(name).parts:
        raise RestoreRefused(f"the manifest names a file outside the backup: {name!r}")
    path = folder / name
    if not path.is_file():
        raise RestoreRefused(f"{name}: the file is missing from the backup {folder}")
    size = path.stat().st_size
    if size != f.get("size"):
        raise RestoreRefused(f"{name}: {size} bytes, but the manifest says {f.get('size')}: the file was changed")
    if file_sha256(path) != f.get("sha256"):
        raise RestoreRefused(f"{name}: its sha256 does not match the manifest's: the file was changed")
    if name.startswith(f"{DOCS_FILES}/") and Path(name).name != f.get("sha256"):
        raise RestoreRefused(f"{name}: a document file whose content does not match its sha256 name")


def _check_chains(service: str, database: Path, entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every chain of the copy verified from its first entry, and its head compared with the manifest's."""
    expected: dict[str, Any] = entry.get("logs") or {}
    store = ReadOnlySQLiteStore(database)
    name = entry["database"]
    try:
        found = store.log_names()
        extra = sorted(set(found) - set(expected))
        if extra:
            raise RestoreRefused(f"{name}: holds the log(s) {', '.join(map(repr, extra))}, which the manifest lacks")
        heads: dict[str, dict[str, Any]] = {}
        for log in sorted(expected):
            report = store.verify_log(log)
            if not report.ok:
                raise RestoreRefused(
                    f"{name}: the {log!r} log is broken at seq {report.first_bad_seq}: {report.reason}"
                    " (an entry was changed inside the copied database)"
                )
            want = expected[log]
            if (report.last_seq, report.last_hash) != (want.get("last_seq"), want.get("last_hash")):
                raise RestoreRefused(
                    f"{name}: the {log!r} log ends at seq {report.last_seq} with hash {report.last_hash[:12]}…, "
                    f"but the manifest records seq {want.get('last_seq')} with hash {str(want.get('last_hash'))[:12]}…"
                    f" (first bad seq {min(report.last_seq, int(want.get('last_seq') or 0)) + 1})"
                )
            heads[log] = {"last_seq": report.last_seq, "last_hash": report.last_hash}
        outbox = store.outbox_head()
        if outbox != entry.get("outbox"):
            raise RestoreRefused(f"{name}: its outbox is {outbox}, but the manifest records {entry.get('outbox')}")
        return heads
    except (StoreError, CorruptLogRecord) as exc:
        raise RestoreRefused(f"{name}: {exc}") from None
    finally:
        store.close()


def _check_checkpoints(plan: ServicePlan, settings: Settings, accept_divergent_chain: bool) -> None:
    """The backup's ``audit`` chain against the signed checkpoints kept outside the database: a checkpoint
    of an entry the backup holds must record that entry's hash (else the chains diverge); checkpoints of
    later entries are expected (the backup is older)."""
    head = plan.heads.get(ac.LOG, {"last_seq": 0})
    try:
        cfg = ac.config(settings)
        lines = ac.read_lines(cfg.file)
        public_key = ac.load_public_key(cfg) if lines else None
    except (ConfigError, OSError) as exc:
        raise RestoreRefused(f"{plan.service}: the audit checkpoints cannot be read: {exc}") from None
    if not lines:
        return
    if public_key is None:
        problem = (
            f"{plan.service}: the audit checkpoints in {cfg.file} cannot be checked: no public key "
            "(set CPP_AUDIT_CHECKPOINT_PUBLIC_KEY_FILE)"
        )
        if not accept_divergent_chain:
            raise RestoreRefused(problem)
        plan.divergent.append(problem)
        return
    store = ReadOnlySQLiteStore(plan.database)
    try:
        for number, line in lines:
            if ac.signature_problem(line, public_key) is not None:
                continue  # `cpp audit verify` reports a bad line; it proves nothing here
            if (line["service"], line["log"]) != (plan.service, ac.LOG):
                continue
            seq = line["seq"]
            if seq > head["last_seq"]:
                plan.checkpoints_behind += 1
                continue
            held = ac.GENESIS if seq == 0 else store.hash_at(ac.LOG, seq)
            if held != line["hash"]:
                problem = (
                    f"{plan.entry['database']}: the 'audit' log contradicts the checkpoint of seq {seq} taken "
                    f"{line['at']} (line {number} of {cfg.file}): first bad seq {seq} or earlier; the backup's "
                    "chain is not a prefix of the chain the checkpoints signed"
                )
                if not accept_divergent_chain:
                    raise RestoreRefused(problem + " (--accept-divergent-chain restores it all the same)")
                plan.divergent.append(problem)
    except StoreError as exc:
        raise RestoreRefused(f"{plan.entry['database']}: {exc}") from None
    finally:
        store.close()


def running(service: str, settings: Settings, target: Path, *, now: float | None = None) -> list[str]:
    """Signs that ``service`` is running now: a `cpp up` supervising it, its worker's fresh heartbeat, an
    unexpired outbox relay lease in its store."""
    now = time.time() if now is None else now
    signs = []
    statuses = process_status.read(settings.data_dir, service)
    if statuses:
        names = ", ".join(str(s.get("process")) for s in statuses)
        signs.append(f"`cpp up` (pid {statuses[0].get('supervisor_pid')}) supervises {names}")
    beat = heartbeat.heartbeat_path(settings)
    if beat.exists() and heartbeat.problem(beat, now=now) is None:
        signs.append(f"its worker's heartbeat {beat} is fresh")
    if target.exists():
        try:
            conn = sqlite3.connect(target, timeout=5)  # as in _online_copy: leaves no WAL files behind
            try:
                conn.execute("PRAGMA query_only = 1")
                rows = conn.execute(
                    "SELECT name, holder, expires_at FROM _leases WHERE (name = ? OR name LIKE ?) AND expires_at > ?",
                    (RELAY_LEASE, f"{RELAY_LEASE}@%", now),
                ).fetchall()
            finally:
                conn.close()
        except sqlite3.Error:
            rows = []  # no lease table yet, or unreadable: the restore finds out
        for name, holder, _ in rows:
            signs.append(f"its outbox relay holds the lease {name!r} ({holder})")
    return signs


def restore(
    folder: Path,
    settings: Mapping[str, Settings],
    *,
    force: bool = False,
    accept_divergent_chain: bool = False,
    now: datetime | None = None,
) -> RestoreResult:
    """Verify the backup (``verify``), refuse while a service runs (unless ``force``), then put each store
    in place: written beside the live one, fsynced, renamed over it; the replaced one kept as
    ``<name>.before-restore-<ts>``. Nothing is changed when any check fails."""
    folder = Path(folder)
    now = now or datetime.now(UTC)
    manifest, plans = verify(folder, settings, accept_divergent_chain=accept_divergent_chain)
    busy = []
    for plan in plans:
        plan.running = running(plan.service, settings[plan.service], plan.target)
        if plan.running:
            busy.append(f"{plan.service} is running ({'; '.join(plan.running)})")
    if busy and not force:
        raise RestoreRefused("; ".join(busy) + ": stop it first (--force restores all the same)")
    stamp = _stamp(now)
    result = RestoreResult(folder, str(manifest.get("created_at")), plans, {}, {})
    # Each copy written beside its live store and checked, then each live store made whole in its own file
    # (its WAL folded in), before any is replaced: a failure up to there leaves every store as it was.
    staged: list[tuple[ServicePlan, Path]] = []
    try:
        for plan in plans:
            staged.append((plan, _stage(plan, stamp)))
        for plan in plans:
            _quiesce(plan.target)
    except BaseException:
        for _, tmp in staged:
            tmp.unlink(missing_ok=True)
        raise
    for plan, tmp in staged:
        if plan.service == "docs":
            _restore_document_files(folder, plan, settings["docs"])
        kept = _replace_store(plan, tmp, stamp)
        if kept is not None:
            result.kept[plan.service] = kept
        moved = _set_checkpoints_aside(plan, settings[plan.service], stamp)
        if moved is not None:
            result.checkpoint_files_kept[plan.service] = moved
    return result


def _restore_document_files(folder: Path, plan: ServicePlan, settings: Settings) -> None:
    """The backup's document files the data folder lacks (content-addressed: one present is the same)."""
    target = settings.data_dir.resolve() / "docs"
    target.mkdir(parents=True, exist_ok=True)
    for f in plan.entry.get("files", []):
        if not f["name"].startswith(f"{DOCS_FILES}/"):
            continue
        path = target / f["sha256"]
        if path.exists() and file_sha256(path) == f["sha256"]:
            continue
        tmp = target / f".restore-{f['sha256']}"
        digest, _ = _copy_checked(folder / f["name"], tmp)
        if digest != f["sha256"]:
            tmp.unlink()
            raise RestoreRefused(f"{f['name']}: changed while it was being restored")
        os.replace(tmp, path)
    ac.fsync(target)


def _stage(plan: ServicePlan, stamp: str) -> Path:
    """The backup's database copied beside the live store (fsynced), its sha256 checked again."""
    target = plan.target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.restoring-{stamp}")
    digest, _ = _copy_checked(plan.database, tmp)
    if digest != plan.entry["files"][0]["sha256"]:
        tmp.unlink()
        raise RestoreRefused(f"{plan.entry['database']}: changed while it was being restored")
    return tmp


def _quiesce(target: Path) -> None:
    """The live store's WAL folded into its file and the file left in rollback-journal mode: the kept copy is
    whole on its own, and no stale WAL stays beside the restored file to be replayed into it."""
    if not target.exists():
        return
    try:
        conn = sqlite3.connect(target, timeout=10)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA journal_mode = DELETE")
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise RestoreRefused(f"{target} is in use and cannot be set aside: {exc}") from None
    for suffix in ("-wal", "-shm"):
        side = target.with_name(target.name + suffix)
        if side.exists() and side.stat().st_size > 0 and suffix == "-wal":
            raise RestoreRefused(f"{target} is in use (its WAL {side} is not empty): stop the service first")


def _replace_store(plan: ServicePlan, tmp: Path, stamp: str) -> Path | None:
    """``tmp`` renamed over the live store; the replaced one kept (a hard link made first, so the live
    name always names a whole database)."""
    target = plan.target
    kept: Path | None = None
    if target.exists():
        kept = target.with_name(f"{target.name}.before-restore-{stamp}")
        try:
            os.link(target, kept)
        except OSError:  # a file system without hard links: a copy (the store is whole in its file by now)
            _copy_checked(target, kept)
    os.replace(tmp, target)
    ac.fsync(target.parent)
    return kept


def _set_checkpoints_aside(plan: ServicePlan, settings: Settings, stamp: str) -> Path | None:
    """When the checkpoint file records entries after the restored head (or a divergent chain was accepted),
    the worker would refuse to checkpoint the restored log: the file is kept aside, and the worker begins a
    new one at its next start."""
    if not plan.checkpoints_behind and not plan.divergent:
        return None
    cfg = ac.config(settings)
    if not cfg.file.exists():
        return None
    kept = cfg.file.with_name(f"{cfg.file.name}.before-restore-{stamp}")
    os.replace(cfg.file, kept)
    ac.fsync(cfg.file.parent)
    return kept


def service_settings(services: list[str] | None = None, env: Mapping[str, str] | None = None) -> dict[str, Settings]:
    """Each named service's settings (every store-owning one by default)."""
    names = services or list(SERVICES)
    unknown = [s for s in names if s not in SERVICES]
    if unknown:
        raise ConfigError(f"no store to back up for {', '.join(unknown)}; the services with one: {', '.join(SERVICES)}")
    return {s: Settings.from_env(s, env) for s in names}
