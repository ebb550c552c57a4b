"""Signed checkpoints of each service's audit log head, kept outside its database.

The store's hash chain (``store/chain.py``) shows an edited, removed or
reordered entry, but not a cut of the newest entries nor a rewrite of the
chain from some entry on with every hash recomputed: whoever can write the
database can do both. A checkpoint records the head of the chain (its
``seq`` and ``hash``) at a moment, signed with an Ed25519 key the database
does not hold, so that a later comparison finds the log shorter than a
checkpoint says (a cut tail) or with another hash at a checkpoint's entry (a
rewrite from that entry or earlier).

A checkpoint is ``{service, authority, log, seq, hash, at, previous, key_id,
signature}``: ``at`` is UTC ISO-8601, ``previous`` the digest of the
checkpoint before it in the same file (``GENESIS`` for the first),
``key_id`` names the public key, and ``signature`` (base64) covers the
canonical JSON of every other field. A checkpoint's digest is the SHA-256 of
the canonical JSON of all its fields, signature included.

Where checkpoints are kept:

* a JSON-lines file per service (``CPP_AUDIT_CHECKPOINT_DIR``, default
  ``CPP_DATA_DIR/audit-checkpoints``, file ``<service>.jsonl``), appended
  to under an exclusive lock with ``O_APPEND`` and fsynced; each line chains
  to the line before it by ``previous``, so a line removed from the middle
  or the start of the file is found too;
* the event ``audit.checkpointed.v1``, which every service keeps in its own
  store (``audit_checkpoints``): copies of a service's checkpoints the
  service's own database writer cannot reach, which also show lines cut from
  the end of the file.

The key (``CPP_AUDIT_CHECKPOINT_KEY_FILE``, an unencrypted PKCS#8 PEM Ed25519
private key) is created on first use in development mode
(``CPP_DATA_DIR/audit-checkpoints/keys/<service>.key``, 0600, its public key
beside it as ``<service>.pub``); production mode needs the setting, and the
worker refuses to start without a key it can load (``ConfigError``) while
the web process's ``/readyz`` answers 503 with the reason. Verifying needs
only the public key (``CPP_AUDIT_CHECKPOINT_PUBLIC_KEY_FILE``, else derived
from the private key when it is readable).

The worker takes a checkpoint at start, every ``CPP_AUDIT_CHECKPOINT_SECONDS``
(default 60) when the head has moved, and at a clean shutdown. It never signs
a head that does not extend the file's last checkpoint (a shorter log, or
another hash at the checkpoint's entry, or a broken chain after it): it
logs the refusal instead, and keeps refusing until an operator has looked.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .config import ConfigError, Settings
from .logs import get_logger
from .messaging.events import new_event
from .store import CorruptLogRecord, Store, StoreError
from .store.chain import GENESIS, canonical_json, verify_chain
from .store.scoped import unscoped

log = get_logger("cpp.audit")

#: The log every service keeps its audit trail in.
LOG = "audit"
#: The event a service publishes for each checkpoint it takes.
EVENT_TYPE = "audit.checkpointed.v1"
#: Where a service keeps the checkpoints other services published.
COLLECTION = "audit_checkpoints"
DEFAULT_INTERVAL = 60.0

SIGNED_FIELDS = ("service", "authority", "log", "seq", "hash", "at", "previous", "key_id")
FIELDS = (*SIGNED_FIELDS, "signature")


class CheckpointRefused(Exception):
    """The head cannot be signed: it does not extend the last checkpoint."""


# --- settings --------------------------------------------------------------


@dataclass(frozen=True)
class CheckpointConfig:
    service: str
    directory: Path
    key_file: Path | None  # None: production mode without the setting
    public_key_file: Path | None  # None: derived from key_file
    interval: float
    development: bool

    @property
    def file(self) -> Path:
        return self.directory / f"{self.service}.jsonl"


def config(settings: Settings) -> CheckpointConfig:
    """The checkpoint settings of ``settings.service``: CPP_<SERVICE>_AUDIT_CHECKPOINT_...,
    then CPP_AUDIT_CHECKPOINT_..."""
    directory = Path(settings.setting("AUDIT_CHECKPOINT_DIR") or settings.data_dir / "audit-checkpoints")
    key = settings.setting("AUDIT_CHECKPOINT_KEY_FILE")
    if key is None and settings.is_development:
        key = str(settings.data_dir / "audit-checkpoints" / "keys" / f"{settings.service}.key")
    public = settings.setting("AUDIT_CHECKPOINT_PUBLIC_KEY_FILE")
    text = settings.setting("AUDIT_CHECKPOINT_SECONDS", str(DEFAULT_INTERVAL))
    try:
        interval = float(text)
    except ValueError:
        interval = -1.0
    if not interval > 0:
        raise ConfigError(f"CPP_AUDIT_CHECKPOINT_SECONDS must be a positive number of seconds, got {text!r}")
    return CheckpointConfig(
        service=settings.service,
        directory=directory,
        key_file=Path(key) if key else None,
        public_key_file=Path(public) if public else None,
        interval=interval,
        development=settings.is_development,
    )


# --- keys -------------------------------------------------------------------


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short, stable name of a public key: the start of the SHA-256 of its raw bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _read_private_key(path: Path, what: str = "audit checkpoint key") -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise ConfigError(f"no {what} at {path}") from None
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"the {what} {path} cannot be loaded: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"the {what} {path} is not an Ed25519 private key")
    return key


def ed25519_key(path: Path, *, create: bool, what: str) -> Ed25519PrivateKey:
    """The Ed25519 private key in the PEM file ``path`` (``what`` names it in
    errors); with ``create``, made on first use (0600, in a 0700 folder, its
    public key beside it as ``.pub``), once however many processes race."""
    if create and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            return _read_private_key(path, what)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        path.with_suffix(".pub").write_bytes(public_pem(key.public_key()))
        return key
    return _read_private_key(path, what)


def load_signing_key(cfg: CheckpointConfig, *, create: bool | None = None) -> Ed25519PrivateKey:
    """The private key that signs checkpoints; in development mode it is
    created (0600, its public key beside it) on first use."""
    if cfg.key_file is None:
        raise ConfigError(
            "production mode needs CPP_AUDIT_CHECKPOINT_KEY_FILE (an Ed25519 private key in PEM, "
            "held apart from the database's credentials); for a single-machine trial set "
            "CPP_MODE=development"
        )
    return ed25519_key(cfg.key_file, create=cfg.development if create is None else create, what="audit checkpoint key")


def load_public_key(cfg: CheckpointConfig, path: Path | None = None) -> Ed25519PublicKey | None:
    """The key that checks checkpoints: ``path``, else the configured public
    key, else the one derived from the private key when it can be read
    (never created); None when there is none."""
    path = path or cfg.public_key_file
    if path is not None:
        try:
            key = serialization.load_pem_public_key(Path(path).read_bytes())
        except (OSError, ValueError, TypeError) as exc:
            raise ConfigError(f"the audit checkpoint public key {path} cannot be loaded: {exc}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise ConfigError(f"the audit checkpoint public key {path} is not an Ed25519 public key")
        return key
    if cfg.key_file is not None and cfg.key_file.exists():
        return _read_private_key(cfg.key_file).public_key()
    return None


# --- checkpoints ------------------------------------------------------------


def digest(checkpoint: dict[str, Any]) -> str:
    """What the next checkpoint's ``previous`` names, and a kept copy's id."""
    return hashlib.sha256(canonical_json({k: checkpoint.get(k) for k in FIELDS})).hexdigest()


def sign(
    key: Ed25519PrivateKey,
    *,
    service: str,
    authority: str,
    log_name: str,
    seq: int,
    hash: str,
    previous: str,
    at: datetime | None = None,
) -> dict[str, Any]:
    at = at or datetime.now(UTC)
    body = {
        "service": service,
        "authority": authority,
        "log": log_name,
        "seq": seq,
        "hash": hash,
        "at": at.astimezone(UTC).isoformat(),
        "previous": previous,
        "key_id": key_id(key.public_key()),
    }
    body["signature"] = base64.b64encode(key.sign(canonical_json(body))).decode("ascii")
    return body


def signature_problem(checkpoint: Any, public_key: Ed25519PublicKey) -> str | None:
    """Why ``checkpoint`` is not a checkpoint signed by ``public_key``, or None."""
    if not isinstance(checkpoint, dict):
        return "it is not a JSON object"
    missing = [f for f in FIELDS if f not in checkpoint]
    if missing:
        return f"it has no {', '.join(missing)}"
    extra = sorted(set(checkpoint) - set(FIELDS))
    if extra:
        return f"it has fields no checkpoint has ({', '.join(extra)})"
    seq = checkpoint["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        return f"its seq {seq!r} is not a count"
    if checkpoint["key_id"] != key_id(public_key):
        return f"it is signed by key {checkpoint['key_id']!r}, not by the checkpoint key {key_id(public_key)!r}"
    try:
        signature = base64.b64decode(str(checkpoint["signature"]), validate=True)
        public_key.verify(signature, canonical_json({k: checkpoint[k] for k in SIGNED_FIELDS}))
    except (InvalidSignature, ValueError):
        return "its signature does not verify (it was changed after it was signed)"
    return None


def read_lines(path: Path) -> list[tuple[int, Any]]:
    """The file's lines, numbered from 1, each parsed (a line that is not
    JSON stays as its text); [] for no file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    out: list[tuple[int, Any]] = []
    for number, line in enumerate(raw.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            out.append((number, json.loads(line)))
        except ValueError:
            out.append((number, line.decode("utf-8", "replace")))
    return out


def _last_line(fd: int) -> bytes | None:
    """The file's last line (without its newline), read from the end; None
    for an empty file. A line cut short by a crash comes back as it is."""
    size = os.fstat(fd).st_size
    if size == 0:
        return None
    data, pos = b"", size
    while pos > 0:
        step = min(4096, pos)
        pos -= step
        data = os.pread(fd, step, pos) + data
        body = data[:-1] if data.endswith(b"\n") else data
        if b"\n" in body:
            return body[body.rindex(b"\n") + 1 :]
    return data[:-1] if data.endswith(b"\n") else data


class Checkpointer:
    """Takes a service's checkpoints: signs the head of its audit log, appends
    the checkpoint to the service's file and publishes it (outbox)."""

    def __init__(self, store: Store, settings: Settings, authority: str, *, log_name: str = LOG):
        self.store, self.settings, self.authority, self.log_name = store, settings, authority, log_name
        self.config = config(settings)
        self.key = load_signing_key(self.config)
        self.public_key = self.key.public_key()
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self.config.file

    def take(self, *, force: bool = False, at: datetime | None = None) -> dict[str, Any] | None:
        """Checkpoint the head if it moved since the file's last checkpoint
        (always with ``force``; a log never appended to is not checkpointed
        unless forced). Returns the checkpoint, or None when none was needed.
        ``CheckpointRefused`` when the head does not extend the last one."""
        with self._lock:
            self.config.directory.mkdir(parents=True, exist_ok=True)
            created = not self.path.exists()
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)  # the service's other workers wait their turn
                last = self._last_checkpoint(fd)
                seq, hash_ = self._head_after(last)
                if last is not None and (seq, hash_) == (last["seq"], last["hash"]) and not force:
                    return None
                if last is None and seq == 0 and not force:
                    return None
                checkpoint = sign(
                    self.key,
                    service=self.settings.service,
                    authority=self.authority,
                    log_name=self.log_name,
                    seq=seq,
                    hash=hash_,
                    previous=GENESIS if last is None else digest(last),
                    at=at,
                )
                os.write(fd, canonical_json(checkpoint) + b"\n")
                os.fsync(fd)
            finally:
                os.close(fd)  # and the lock with it
            if created:
                fsync(self.config.directory)
        self._publish(checkpoint)
        log.info("audit checkpoint taken", log=self.log_name, seq=checkpoint["seq"], file=str(self.path))
        return checkpoint

    def _last_checkpoint(self, fd: int) -> dict[str, Any] | None:
        line = _last_line(fd)
        if line is None:
            return None
        try:
            last = json.loads(line)
        except ValueError:
            last = line.decode("utf-8", "replace")
        problem = signature_problem(last, self.public_key)
        if problem is None and (last["service"], last["log"]) != (self.settings.service, self.log_name):
            problem = f"it is a checkpoint of {last['service']}'s {last['log']!r} log"
        if problem is not None:
            raise CheckpointRefused(
                f"the last line of {self.path} is not a valid checkpoint: {problem}; "
                f"run `cpp audit verify --service {self.settings.service}`"
            )
        return last

    def _head_after(self, last: dict[str, Any] | None) -> tuple[int, str]:
        """The log's head, checked from the last checkpoint on."""
        if last is None:
            report = self.store.verify_log(self.log_name)
            if not report.ok:
                raise CheckpointRefused(
                    f"the {self.log_name!r} log is broken at entry {report.first_bad_seq}: {report.reason}"
                )
            return report.last_seq, report.last_hash
        seq, hash_ = last["seq"], last["hash"]
        try:
            if seq > 0:
                records = self.store.read_log(self.log_name, after_seq=seq - 1, limit=1)
                record = records[0] if records else None
                if record is None or record.seq != seq:
                    raise CheckpointRefused(
                        f"the {self.log_name!r} log no longer has entry {seq}, which the last "
                        f"checkpoint ({last['at']}) recorded: its tail was cut"
                    )
                if record.hash != hash_:
                    raise CheckpointRefused(
                        f"entry {seq} of the {self.log_name!r} log no longer has the hash the "
                        f"last checkpoint ({last['at']}) recorded: the log was rewritten"
                    )
            unconfirmed: tuple[tuple[int, str, str, str], ...] = ()
            while True:
                page = self.store.read_log(self.log_name, after_seq=seq, limit=1000)
                report = verify_chain(
                    page, after_seq=seq, prev_hash=hash_, unconfirmed=unconfirmed, final=len(page) < 1000
                )
                if not report.ok:
                    raise CheckpointRefused(
                        f"the {self.log_name!r} log is broken at entry {report.first_bad_seq}: {report.reason}"
                    )
                seq, hash_, unconfirmed = report.last_seq, report.last_hash, report.unconfirmed
                if len(page) < 1000:
                    return seq, hash_
        except CorruptLogRecord as exc:
            raise CheckpointRefused(f"the {self.log_name!r} log has an unreadable entry: {exc}") from None

    def _publish(self, checkpoint: dict[str, Any]) -> None:
        event = new_event(
            EVENT_TYPE,
            source=f"/services/{self.settings.service}",
            subject=self.settings.service,
            data=checkpoint,
            authority=self.authority,
        )
        try:
            with self.store.unit_of_work() as uow:
                uow.publish(EVENT_TYPE, event, message_id=event["id"])
        except StoreError as exc:  # the file has it; the next checkpoint is published
            log.warning("audit checkpoint not published", error=str(exc), seq=checkpoint["seq"])

    def try_take(self) -> dict[str, Any] | None:
        """``take`` for the worker's loop: a refusal or a failure is logged, never raised."""
        try:
            return self.take()
        except CheckpointRefused as exc:
            log.error("audit checkpoint refused", reason=str(exc))
        except (StoreError, OSError) as exc:
            log.warning("audit checkpoint failed; will try again", error=f"{type(exc).__name__}: {exc}")
        return None

    def loop(self, stop: threading.Event) -> None:
        """The worker's loop: a checkpoint at start, every interval when the
        head moved, and one at a clean shutdown (when ``stop`` is set)."""
        while True:
            self.try_take()
            if stop.wait(self.config.interval):
                break
        self.try_take()


def fsync(path: Path) -> None:
    """Make a file's content, or a folder's entries (a rename into it), durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def background(ctx: Any) -> list[tuple[str, Any]]:
    """The worker's checkpoint loop for a service's context; ``ConfigError``
    (the worker does not start) when the key cannot be loaded."""
    # The chain is the database's, whichever authorities' entries it holds.
    checkpointer = Checkpointer(unscoped(ctx.store), ctx.settings, ctx.authority["code"])
    return [("audit-checkpoints", checkpointer.loop)]


# --- readiness --------------------------------------------------------------


def readiness(settings: Settings) -> str:
    """``ok`` when checkpoints can be taken (the directory is writable, the
    key loads), else ``unavailable: <why>``."""
    try:
        cfg = config(settings)
        cfg.directory.mkdir(parents=True, exist_ok=True)
        probe = cfg.directory / f".ready-{os.getpid()}-{uuid.uuid4().hex}"
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        probe.unlink()
        if cfg.file.exists() and not os.access(cfg.file, os.W_OK):
            return f"unavailable: the checkpoint file {cfg.file} is not writable"
        load_signing_key(cfg)
    except ConfigError as exc:
        return f"unavailable: {exc}"
    except OSError as exc:
        return f"unavailable: the checkpoint directory cannot be written: {exc}"
    return "ok"


# --- keeping other services' checkpoints -------------------------------------


def keep_checkpoint(event: dict[str, Any], ctx: Any) -> None:
    """Handler of ``audit.checkpointed.v1`` in every service: keep another
    service's checkpoint, once (by its digest), as it was published. Its
    signature is checked when it is used, by whoever holds the public key."""
    data = event.get("data") or {}
    if data.get("service") == ctx.service:
        return  # our own: in our file
    checkpoint = {k: data.get(k) for k in FIELDS}
    ctx.uow.update(
        COLLECTION,
        {"_id": digest(checkpoint)},
        {
            "$setOnInsert": {
                **checkpoint,
                "event_id": event["id"],
                "received_at": datetime.now(UTC).isoformat(),
            }
        },
        upsert=True,
    )


def kept_copies(store: Store, service: str) -> list[dict[str, Any]]:
    """The checkpoints of ``service`` kept in another service's store."""
    docs = store.collection(COLLECTION).find({"service": service})
    return [{k: d.get(k) for k in FIELDS} for d in docs]


# --- verifying --------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    kind: str  # chain, cut, rewritten, backwards, checkpoint_file, copy, key, no_checkpoint
    message: str


@dataclass
class Verification:
    service: str
    log_name: str
    entries: int = 0
    checkpoints: int = 0
    latest: dict[str, Any] | None = None
    problems: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def intact(self) -> bool:
        """The chain holds and matches a signed checkpoint."""
        return self.ok and self.latest is not None

    def kinds(self) -> set[str]:
        return {f.kind for f in self.problems}


def verify(
    store: Store,
    service: str,
    *,
    checkpoint_file: Path,
    public_key: Ed25519PublicKey | None,
    log_name: str = LOG,
    copies: Iterable[tuple[str, dict[str, Any]]] = (),
) -> Verification:
    """Check the log's chain, the checkpoint file (signatures, chaining, a head
    that went backwards) and the chain against every valid checkpoint (a cut
    tail, a rewrite). ``copies``: (where, checkpoint) pairs kept by other
    services, checked and compared too; one missing from the file shows lines
    removed from it."""
    result = Verification(service, log_name)
    chain = store.verify_log(log_name)
    result.entries = chain.last_seq if chain.ok else chain.checked
    if not chain.ok:
        result.problems.append(
            Finding(
                "chain",
                (
                    f"an entry was edited, removed or reordered: the chain is BROKEN at entry {chain.first_bad_seq} "
                    f"({chain.reason}); {chain.checked} entries before it are good"
                ),
            )
        )

    lines = read_lines(checkpoint_file)
    copies = list(copies)
    if public_key is None:
        if lines or copies:
            result.problems.append(
                Finding(
                    "key",
                    (
                        "the checkpoints cannot be checked: no public key (set CPP_AUDIT_CHECKPOINT_PUBLIC_KEY_FILE "
                        "or pass --public-key)"
                    ),
                )
            )
        else:
            result.warnings.append(
                Finding(
                    "no_checkpoint",
                    (
                        f"no checkpoint yet ({checkpoint_file} does not exist): a cut or rewritten tail cannot be detected"
                    ),
                )
            )
        return result

    valid: list[tuple[str, dict[str, Any]]] = []  # (where, checkpoint)
    file_digests: set[str] = set()
    previous_digest, previous_valid = GENESIS, None
    for number, line in lines:
        where = f"line {number} of {checkpoint_file}"
        problem = signature_problem(line, public_key)
        if problem is None and (line["service"], line["log"]) != (service, log_name):
            problem = f"it is a checkpoint of {line['service']}'s {line['log']!r} log, not of {service}'s {log_name!r}"
        if isinstance(line, dict) and "previous" in line:
            if line["previous"] != previous_digest:
                if previous_digest == GENESIS:
                    reason = "it does not start the file's chain (the lines before it were removed)"
                else:
                    reason = "it does not follow the line before it (a line was removed, inserted or reordered)"
                result.problems.append(
                    Finding("checkpoint_file", f"the checkpoint file is broken at {where}: {reason}")
                )
            previous_digest = digest(line)
        if problem is not None:
            result.problems.append(Finding("checkpoint_file", f"the checkpoint file is broken at {where}: {problem}"))
            continue
        file_digests.add(digest(line))
        if previous_valid is not None:
            _between(result, previous_valid, line, where)
        previous_valid = line
        valid.append((where, line))
    result.checkpoints = len(valid)
    result.latest = previous_valid

    for where, copy in copies:
        problem = signature_problem(copy, public_key)
        if problem is not None:
            result.problems.append(Finding("copy", f"the checkpoint kept by {where} is not valid: {problem}"))
            continue
        if copy["service"] != service or copy["log"] != log_name:
            continue
        if digest(copy) not in file_digests:
            result.problems.append(
                Finding(
                    "checkpoint_file",
                    (
                        f"the checkpoint file lacks the checkpoint of entry {copy['seq']} taken {copy['at']}, which "
                        f"{where} keeps: lines were removed from the file"
                    ),
                )
            )
            valid.append((f"the copy kept by {where}", copy))
            if result.latest is None or copy["seq"] > result.latest["seq"]:
                result.latest = copy

    if not valid:
        if not result.problems:
            result.warnings.append(
                Finding(
                    "no_checkpoint",
                    (f"no checkpoint yet in {checkpoint_file}: a cut or rewritten tail cannot be detected"),
                )
            )
        return result
    _against_chain(store, log_name, result, valid)
    return result


def _between(result: Verification, before: dict[str, Any], after: dict[str, Any], where: str) -> None:
    if after["seq"] < before["seq"]:
        result.problems.append(
            Finding(
                "backwards",
                (
                    f"the log's head went backwards between checkpoints: {where} records entry {after['seq']} "
                    f"({after['at']}) after a checkpoint of entry {before['seq']} ({before['at']})"
                ),
            )
        )
    elif after["seq"] == before["seq"] and after["hash"] != before["hash"]:
        result.problems.append(
            Finding(
                "rewritten",
                (
                    f"the log was rewritten between checkpoints: {where} records another hash for entry {after['seq']} "
                    f"than the checkpoint of {before['at']}"
                ),
            )
        )


def _against_chain(store: Store, log_name: str, result: Verification, valid: list[tuple[str, dict[str, Any]]]) -> None:
    """Every valid checkpoint's (seq, hash) against the stored log, read once."""
    wanted: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    for where, cp in valid:
        wanted.setdefault(cp["seq"], []).append((where, cp))
    hashes: dict[int, str] = {0: GENESIS}
    last_seen = 0
    for record in _readable_records(store, log_name, until=max(wanted)):
        last_seen = max(last_seen, record.seq)
        if record.seq in wanted:
            hashes[record.seq] = record.hash
    cut = [(where, cp) for seq, group in wanted.items() if seq not in hashes for where, cp in group]
    if cut:
        where, cp = max(cut, key=lambda item: item[1]["seq"])
        result.problems.append(
            Finding(
                "cut",
                (
                    f"the log's tail was cut: it ends at entry {last_seen}, but the checkpoint of {cp['at']} ({where}) "
                    f"records entry {cp['seq']}"
                ),
            )
        )
    rewritten = [
        (where, cp)
        for seq, group in wanted.items()
        if seq in hashes
        for where, cp in group
        if hashes[seq] != cp["hash"]
    ]
    if rewritten:
        where, cp = min(rewritten, key=lambda item: item[1]["seq"])
        result.problems.append(
            Finding(
                "rewritten",
                (
                    f"the log was rewritten from entry {cp['seq']} or earlier: entry {cp['seq']}'s hash differs from the "
                    f"one the checkpoint of {cp['at']} ({where}) records"
                ),
            )
        )


def _readable_records(store: Store, log_name: str, *, until: int) -> Iterable[Any]:
    """The log's records up to seq ``until``, oldest first, stepping past any
    that cannot be read back (the chain's check reports those)."""
    after = 0
    while after < until:
        try:
            page = store.read_log(log_name, after_seq=after, limit=1000)
        except CorruptLogRecord:
            try:
                page = store.read_log(log_name, after_seq=after, limit=1)
            except CorruptLogRecord:
                after += 1
                continue
        page = [r for r in page if isinstance(r.seq, int) and not isinstance(r.seq, bool) and r.seq > after]
        if not page:
            return
        yield from page
        after = page[-1].seq
