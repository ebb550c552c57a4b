"""Backups that restore (``cpp_shared.backup``, ``cpp backup`` and ``cpp restore``).

The restore drill: records written through the plans API (audited writes and reads), backed up while the
stores are open, more written after, then the stores restored, every chain verified and the outbox relayed
again to the consumers: each event pending at the backup reaches each consumer once (none lost, none
doubled), the records written after the backup are gone and those before remain. Then the refusals: a
backup changed in any of its parts is refused, naming what, with the live stores untouched."""

from __future__ import annotations

import collections
import fnmatch
import hashlib
import json
import sqlite3
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from cpp_returns.app import create_app as create_returns_app
from cpp_returns.domain.history import KEPT, child_of

from cpp_plans.app import create_app as create_plans_app
from cpp_scheduler.app import create_app as create_scheduler_app
from cpp_shared import audit_checkpoints as ac
from cpp_shared import backup as bk
from cpp_shared import heartbeat, process_status
from cpp_shared.cli import main as cli
from cpp_shared.store import AlreadyProcessed
from cpp_shared.store.scoped import unscoped
from cpp_shared.store.sqlite import SQLiteStore
from tests.helpers import bearer, hand_over, new_child

SERVICES = ("plans", "scheduler", "returns")


class Platform:
    """The plans service and two of its consumers (the scheduler and the returns), each on its own store in
    the test's data folder, as processes that can be stopped (their stores closed) and started again."""

    def __init__(self, make_settings):
        self.make_settings = make_settings
        self.start()

    def start(self) -> None:
        self.plans_app = create_plans_app(self.make_settings("plans"))
        self.plans = self.plans_app.test_client()
        self.plans_store = self.plans_app.extensions["cpp"].store
        self.consumers = [
            create_scheduler_app(self.make_settings("scheduler")).extensions["cpp"],
            create_returns_app(self.make_settings("returns")).extensions["cpp"],
        ]

    def stop(self) -> None:
        for ctx in (self.plans_app.extensions["cpp"], *self.consumers):
            unscoped(ctx.store).close()

    @property
    def returns(self):
        return self.consumers[1]

    def settings(self, services=SERVICES):
        return {s: self.make_settings(s) for s in services}


class Relay:
    """The plans service's outbox relay and its consumers' workers, without a broker: each pending event is
    handed to every consumer as its worker hands it (one unit of work, marked processed; a redelivered one
    is skipped by its processed mark), then marked sent. Counts what each consumer committed and skipped."""

    def __init__(self, platform: Platform):
        self.platform = platform
        self.committed: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        self.skipped: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)

    def __call__(self) -> list[str]:
        sent = []
        for message in self.platform.plans_store.outbox_pending(10_000):
            for ctx in self.platform.consumers:
                try:
                    hand_over(ctx, message.body)
                except AlreadyProcessed:
                    self.skipped[ctx.spec.name][message.message_id] += 1
                else:
                    self.committed[ctx.spec.name][message.message_id] += 1
            self.platform.plans_store.outbox_mark_sent([message.seq])
            sent.append(message.message_id)
        return sent


def write_a_childs_case(platform: Platform, headers, family_name: str) -> tuple[str, str]:
    """A child registered and a case opened over the plans API, and both read back (audited reads)."""
    child_id = new_child(platform.plans, headers, family_name=family_name)
    opened = platform.plans.post("/v1/cases", json={"child_id": child_id}, headers=headers)
    assert opened.status_code == 201, opened.get_json()
    case_id = opened.get_json()["id"]
    assert platform.plans.get(f"/v1/children/{child_id}", headers=headers).status_code == 200
    assert platform.plans.get(f"/v1/cases/{case_id}", headers=headers).status_code == 200
    return child_id, case_id


def all_events(store) -> list:
    """Every event the store's outbox holds, sent or not."""
    db = unscoped(store)
    rows = db._read("SELECT seq, message_id, body FROM _outbox ORDER BY seq")
    return [(seq, message_id, json.loads(body)) for seq, message_id, body in rows]


def kept_by_returns(event: dict) -> bool:
    return any(fnmatch.fnmatchcase(event["type"], pattern) for pattern in KEPT) and bool(child_of(event))


def history_ids(returns_ctx) -> list[str]:
    return [r.entry["event"]["id"] for r in unscoped(returns_ctx.store).read_log("returns_history", limit=10_000)]


def live_bytes(data_dir: Path) -> dict[str, bytes]:
    """The bytes of every file of the live stores (each database with its WAL)."""
    return {p.name: p.read_bytes() for p in sorted(data_dir.glob("*.db*")) if p.is_file()}


def heads_of(settings) -> dict:
    out = {}
    for service, s in settings.items():
        store = SQLiteStore(bk.sqlite_path(s))
        try:
            names = [n for (n,) in store._read("SELECT DISTINCT log FROM _log")]
            out[service] = {n: store.verify_log(n) for n in names}
        finally:
            store.close()
    return out


@pytest.fixture
def platform(make_settings):
    p = Platform(make_settings)
    yield p
    p.stop()


@pytest.fixture
def sw(token_for):
    return bearer(token_for("social_worker", user="sw-1"))


# --- the restore drill ---------------------------------------------------------------------------------


def test_the_restore_drill_every_store_back_to_the_backup_and_every_pending_event_delivered_once(
    platform, sw, tmp_path, data_dir
):
    relay = Relay(platform)
    before_child, _ = write_a_childs_case(platform, sw, "Before")
    assert relay()  # delivered and sent before the backup
    pending_child, _ = write_a_childs_case(platform, sw, "Pending")
    pending_at_backup = [m.message_id for m in platform.plans_store.outbox_pending(10_000)]
    assert pending_at_backup  # committed, not yet sent when the backup is taken

    taken = bk.backup(platform.settings(), tmp_path / "backups")
    assert taken.ok, taken.problems
    manifest = taken.manifest
    assert manifest["services"]["plans"]["outbox"]["pending"] == len(pending_at_backup)
    assert manifest["services"]["plans"]["logs"]["audit"]["last_seq"] > 0
    assert "returns_history" in manifest["services"]["returns"]["logs"]

    assert relay()  # the pending events go out after the backup...
    after_child, after_case = write_a_childs_case(platform, sw, "After")  # ...and more is written
    assert relay()
    at_backup = manifest["services"]["plans"]["outbox"]["last_seq"]
    lost = {message_id for seq, message_id, _ in all_events(platform.plans_store) if seq > at_backup}
    assert lost  # the events of the records written after the backup

    platform.stop()
    result = bk.restore(taken.folder, platform.settings())
    assert [p.service for p in result.restored] == list(SERVICES)
    assert set(result.kept) == set(SERVICES) and all(p.exists() for p in result.kept.values())
    platform.start()

    # every chain verifies, and ends where the manifest says
    for service, heads in heads_of(platform.settings()).items():
        assert set(heads) == set(manifest["services"][service]["logs"])
        for log, report in heads.items():
            assert report.ok, (service, log, report)
            assert report.last_seq == manifest["services"][service]["logs"][log]["last_seq"]

    # the records written before the backup remain; those written after are gone
    assert platform.plans.get(f"/v1/children/{before_child}", headers=sw).status_code == 200
    assert platform.plans.get(f"/v1/children/{pending_child}", headers=sw).status_code == 200
    assert platform.plans.get(f"/v1/children/{after_child}", headers=sw).status_code == 404
    assert platform.plans.get(f"/v1/cases/{after_case}", headers=sw).status_code == 404

    # the outbox sends again what was pending at the backup; the restored consumers take each once
    assert [m.message_id for m in platform.plans_store.outbox_pending(10_000)] == pending_at_backup
    relay = Relay(platform)
    assert relay() == pending_at_backup
    for ctx in platform.consumers:
        assert all(relay.committed[ctx.spec.name][m] == 1 for m in pending_at_backup), ctx.spec.name
        assert not relay.skipped[ctx.spec.name]
    events = all_events(platform.plans_store)
    for ctx in platform.consumers:  # none lost: every event the plans store holds was processed by each
        assert all(unscoped(ctx.store).is_processed(message_id, ctx.spec.name) for _, message_id, _ in events)
        assert not any(unscoped(ctx.store).is_processed(m, ctx.spec.name) for m in lost)
    history = history_ids(platform.returns)
    assert len(history) == len(set(history))  # none doubled
    assert set(history) == {message_id for _, message_id, body in events if kept_by_returns(body)}
    assert platform.plans_store.outbox_stats().pending == 0


def test_a_plans_store_restored_alone_sends_its_pending_events_again_and_the_consumers_skip_them(
    platform, sw, tmp_path
):
    relay = Relay(platform)
    write_a_childs_case(platform, sw, "Before")
    relay()
    write_a_childs_case(platform, sw, "Pending")
    pending_at_backup = [m.message_id for m in platform.plans_store.outbox_pending(10_000)]
    taken = bk.backup(platform.settings(["plans"]), tmp_path / "backups")
    assert list(taken.manifest["services"]) == ["plans"]
    relay()  # the consumers have processed them before the plans store is lost
    history_before = history_ids(platform.returns)

    platform.stop()
    bk.restore(taken.folder, platform.settings(["plans"]))
    platform.start()

    relay.platform = platform
    assert relay() == pending_at_backup  # sent again...
    for ctx in platform.consumers:  # ...and skipped by each consumer: committed once, before
        assert all(relay.committed[ctx.spec.name][m] == 1 for m in pending_at_backup), ctx.spec.name
        assert all(relay.skipped[ctx.spec.name][m] == 1 for m in pending_at_backup), ctx.spec.name
    assert history_ids(platform.returns) == history_before


# --- refusals ------------------------------------------------------------------------------------------


@pytest.fixture
def taken(platform, sw, tmp_path):
    write_a_childs_case(platform, sw, "Before")
    write_a_childs_case(platform, sw, "Second")
    result = bk.backup(platform.settings(), tmp_path / "backups")
    write_a_childs_case(platform, sw, "After")
    platform.stop()
    return result


def reseal(folder: Path, name: str) -> None:
    """The manifest's size and sha256 of ``name`` recomputed, and the manifest's own checksum: a tamperer
    who knows the format."""
    manifest = json.loads((folder / "manifest.json").read_text())
    for entry in manifest["services"].values():
        for f in entry["files"]:
            if f["name"] == name:
                f["size"] = (folder / name).stat().st_size
                f["sha256"] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    manifest["sha256"] = bk.manifest_checksum(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))


def refused(platform, folder: Path, data_dir: Path, **options) -> str:
    """The refusal's message, checking that nothing of the live stores changed."""
    settings = platform.settings()
    heads = heads_of(settings)  # (opening a store may write its schema: before the bytes are taken)
    before = live_bytes(data_dir)
    with pytest.raises(bk.RestoreRefused) as caught:
        bk.restore(folder, settings, **options)
    assert live_bytes(data_dir) == before
    assert heads_of(settings) == heads
    assert not list(data_dir.glob("*before-restore*")) and not list(data_dir.glob("*restoring*"))
    return str(caught.value)


def test_a_backup_with_one_byte_changed_in_a_database_is_refused(platform, taken, data_dir):
    path = taken.folder / "scheduler" / "scheduler.db"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    message = refused(platform, taken.folder, data_dir)
    assert "scheduler/scheduler.db" in message and "sha256" in message


def test_a_chain_entry_edited_inside_a_copied_database_is_refused_naming_the_log_and_seq(platform, taken, data_dir):
    name = "plans/plans.db"
    conn = sqlite3.connect(taken.folder / name)
    conn.execute("DROP TRIGGER _log_no_update")
    (entry,) = conn.execute("SELECT entry FROM _log WHERE log = 'audit' AND seq = 2").fetchone()
    edited = json.loads(entry)
    edited["user"] = "someone-else"
    conn.execute("UPDATE _log SET entry = ? WHERE log = 'audit' AND seq = 2", (json.dumps(edited),))
    conn.commit()
    conn.close()
    reseal(taken.folder, name)  # the file's checksum holds: only the chain can tell
    bk.read_manifest(taken.folder)
    message = refused(platform, taken.folder, data_dir)
    assert "plans/plans.db" in message and "'audit' log is broken at seq 2" in message


def test_an_edited_manifest_is_refused(platform, taken, data_dir):
    path = taken.folder / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["services"]["plans"]["logs"]["audit"]["last_seq"] -= 1
    path.write_text(json.dumps(manifest))
    message = refused(platform, taken.folder, data_dir)
    assert "manifest.json" in message and "changed after the backup was taken" in message


def test_a_manifest_resealed_over_another_head_is_refused_by_the_chain(platform, taken, data_dir):
    path = taken.folder / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["services"]["plans"]["logs"]["audit"]["last_seq"] += 1
    manifest["sha256"] = bk.manifest_checksum(manifest)
    path.write_text(json.dumps(manifest))
    message = refused(platform, taken.folder, data_dir)
    assert "plans/plans.db" in message and "'audit' log ends at seq" in message


def test_a_file_that_is_no_database_is_refused_even_with_its_checksums_resealed(platform, taken, data_dir):
    (taken.folder / "scheduler" / "scheduler.db").write_bytes(b"not a database at all" * 100)
    reseal(taken.folder, "scheduler/scheduler.db")
    message = refused(platform, taken.folder, data_dir)
    assert "scheduler/scheduler.db" in message and "cannot be read as a database" in message


def test_a_missing_file_is_refused(platform, taken, data_dir):
    (taken.folder / "returns" / "returns.db").unlink()
    assert "returns/returns.db: the file is missing" in refused(platform, taken.folder, data_dir)


def test_a_running_service_is_refused_unless_forced(platform, taken, data_dir, make_settings):
    beat = heartbeat.heartbeat_path(make_settings("scheduler"))
    heartbeat.beat(beat, [])
    assert "scheduler is running" in refused(platform, taken.folder, data_dir)
    assert "heartbeat" in refused(platform, taken.folder, data_dir)
    beat.unlink()
    store = SQLiteStore(bk.sqlite_path(make_settings("plans")))
    assert store.acquire_lease("outbox-relay@ENG", "relay-on-another-host", 60)
    store.close()
    message = refused(platform, taken.folder, data_dir)
    assert "plans is running" in message and "outbox-relay@ENG" in message
    result = bk.restore(taken.folder, platform.settings(), force=True)
    assert [p.running for p in result.restored][0]


def test_a_service_cpp_up_supervises_is_refused(platform, taken, data_dir, make_settings):
    status = {"service": "returns", "process": "returns-worker", "state": "running", **process_status.supervisor_mark()}
    process_status.write(process_status.status_path(data_dir, "returns-worker"), status)
    message = refused(platform, taken.folder, data_dir)
    assert "returns is running" in message and "`cpp up`" in message and "returns-worker" in message


def test_a_store_whose_chain_is_already_broken_is_backed_up_with_the_problem_and_not_restored(
    platform, sw, tmp_path, data_dir
):
    write_a_childs_case(platform, sw, "Before")
    platform.stop()
    conn = sqlite3.connect(data_dir / "plans.db")
    conn.execute("DROP TRIGGER _log_no_update")
    conn.execute("UPDATE _log SET entry = '{\"action\":\"nothing\"}' WHERE log = 'audit' AND seq = 1")
    conn.commit()
    conn.close()
    runner = CliRunner()
    taken = runner.invoke(
        cli, ["backup", "--out", str(tmp_path / "backups")], env=dict(platform.make_settings().environ)
    )
    assert taken.exit_code == 1
    assert "problem: plans: the 'audit' log is broken at seq 1" in taken.output
    (folder,) = (tmp_path / "backups").iterdir()
    message = refused(platform, folder, data_dir)
    assert "plans/plans.db" in message and "'audit' log is broken at seq 1" in message


def test_a_store_still_open_is_refused(platform, sw, tmp_path, data_dir):
    write_a_childs_case(platform, sw, "Before")
    taken = bk.backup(platform.settings(), tmp_path / "backups")
    write_a_childs_case(platform, sw, "After")
    settings = platform.settings()
    heads = heads_of(settings)
    platform.plans_store.collection("children").find_one({})  # the plans process still has its store open
    with pytest.raises(bk.RestoreRefused, match="is in use"):
        bk.restore(taken.folder, settings)
    assert heads_of(settings) == heads
    assert not list(data_dir.glob("*before-restore*")) and not list(data_dir.glob("*restoring*"))


# --- the audit checkpoints kept outside the database ---------------------------------------------------


def test_checkpoints_after_the_backup_are_expected_and_the_worker_checkpoints_the_restored_log(
    platform, sw, tmp_path, make_settings
):
    write_a_childs_case(platform, sw, "Before")
    taken = bk.backup(platform.settings(), tmp_path / "backups")
    write_a_childs_case(platform, sw, "After")
    settings = make_settings("plans")
    later = ac.Checkpointer(unscoped(platform.plans_store), settings, "ENG").take(force=True)
    assert later["seq"] > taken.manifest["services"]["plans"]["logs"]["audit"]["last_seq"]
    platform.stop()

    result = bk.restore(taken.folder, platform.settings())
    kept = result.checkpoint_files_kept["plans"]
    assert kept.exists() and not ac.config(settings).file.exists()
    store = SQLiteStore(bk.sqlite_path(settings))
    try:
        again = ac.Checkpointer(store, settings, "ENG").take(force=True)  # not refused
        assert again["seq"] == taken.manifest["services"]["plans"]["logs"]["audit"]["last_seq"]
    finally:
        store.close()
    platform.start()


def test_a_backup_contradicting_a_signed_checkpoint_is_refused_unless_accepted(
    platform, taken, data_dir, make_settings
):
    settings = make_settings("plans")
    cfg = ac.config(settings)
    key = ac.load_signing_key(cfg)
    forged_history = ac.sign(
        key, service="plans", authority="ENG", log_name="audit", seq=1, hash="f" * 64, previous=ac.GENESIS
    )
    cfg.directory.mkdir(parents=True, exist_ok=True)
    cfg.file.write_bytes(ac.canonical_json(forged_history) + b"\n")
    message = refused(platform, taken.folder, data_dir)
    assert "plans/plans.db" in message and "contradicts the checkpoint of seq 1" in message
    assert "--accept-divergent-chain" in message

    result = bk.restore(taken.folder, platform.settings(), accept_divergent_chain=True)
    assert result.restored[0].divergent
    assert result.checkpoint_files_kept["plans"].exists()


# --- online ----------------------------------------------------------------------------------------------


def test_an_online_backup_while_a_thread_keeps_writing_verifies(make_settings, tmp_path):
    settings = {"plans": make_settings("plans")}
    store = SQLiteStore(bk.sqlite_path(settings["plans"]))
    stop, written = threading.Event(), []

    def keep_writing() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            with store.unit_of_work() as uow:
                uow.insert("notes", {"_id": f"note-{n}", "n": n})
                uow.append("audit", {"action": "write", "n": n})
                uow.append("other_log", {"n": n})
                uow.publish("note.written.v1", {"n": n}, message_id=f"m-{n}")
            written.append(n)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        while len(written) < 20:
            stop.wait(0.01)
        backups = [bk.backup(settings, tmp_path / "backups") for _ in range(3)]
        while len(written) < 40 + len(backups):
            stop.wait(0.01)
    finally:
        stop.set()
        writer.join()
    heads = [b.manifest["services"]["plans"]["logs"]["audit"]["last_seq"] for b in backups]
    assert heads == sorted(heads) and heads[0] >= 20 and heads[-1] < len(written)
    for taken in backups:
        _, plans = bk.verify(taken.folder, settings)  # every file's checksum and every chain
        entry = taken.manifest["services"]["plans"]
        # one commit's state: the logs and the outbox moved together
        assert entry["logs"]["audit"]["last_seq"] == entry["logs"]["other_log"]["last_seq"]
        assert entry["outbox"] == {
            "last_seq": entry["logs"]["audit"]["last_seq"],
            "pending": entry["outbox"]["pending"],
        }
        assert plans[0].heads["audit"]["last_seq"] == entry["logs"]["audit"]["last_seq"]
    store.close()


# --- the docs service's files ----------------------------------------------------------------------------


def test_the_docs_files_are_backed_up_checked_against_their_names_and_restored(make_settings, tmp_path, data_dir):
    from cpp_docs.files import FileStore

    settings = {"docs": make_settings("docs")}
    files = FileStore(data_dir / "docs")
    kept = files.put(b"%PDF-1.7 the plan")
    store = SQLiteStore(bk.sqlite_path(settings["docs"]))
    store.collection("documents").insert_one({"_id": "doc-1", "sha256": kept})
    store.close()
    damaged = hashlib.sha256(b"what it held").hexdigest()
    (data_dir / "docs" / damaged).write_bytes(b"what it holds now")

    taken = bk.backup(settings, tmp_path / "backups")
    names = [f["name"] for f in taken.manifest["services"]["docs"]["files"]]
    assert names == ["docs/docs.db", f"docs/files/{kept}"]
    assert (taken.folder / "docs" / "files" / kept).read_bytes() == b"%PDF-1.7 the plan"
    assert not taken.ok and any(damaged in p and "does not match its sha256 name" in p for p in taken.problems)

    (data_dir / "docs" / kept).unlink()
    bk.restore(taken.folder, settings)
    assert files.read(kept) == b"%PDF-1.7 the plan"

    (taken.folder / "docs" / "files" / kept).write_bytes(b"%PDF-1.7 the plan, changed")
    with pytest.raises(bk.RestoreRefused, match=f"docs/files/{kept}"):
        bk.restore(taken.folder, settings)


def test_a_document_row_whose_file_is_missing_is_a_problem_of_the_backup(make_settings, tmp_path):
    settings = {"docs": make_settings("docs")}
    store = SQLiteStore(bk.sqlite_path(settings["docs"]))
    store.collection("documents").insert_one({"_id": "doc-1", "sha256": "a" * 64})
    store.close()
    taken = bk.backup(settings, tmp_path / "backups")
    assert taken.problems == [f"docs: a document row names the file {'a' * 64}, which is not in the data folder"]


# --- MongoDB ---------------------------------------------------------------------------------------------


def test_a_mongodb_store_is_refused_with_the_mongodump_way(make_settings, tmp_path):
    settings = {"plans": make_settings("plans", CPP_PLANS_STORE_URL="mongodb://cpp:secret@db.example:27017/cpp_plans")}
    with pytest.raises(bk.BackupError) as caught:
        bk.backup(settings, tmp_path / "backups")
    message = str(caught.value)
    assert "mongodump" in message and "--oplog" in message and "mongorestore" in message and "--oplogReplay" in message
    assert "secret" not in message
    assert not (tmp_path / "backups").exists()


# --- the command line ------------------------------------------------------------------------------------


def test_the_commands_back_up_refuse_a_tampered_backup_and_restore(platform, sw, tmp_path, make_settings, data_dir):
    env = dict(make_settings("plans").environ)
    write_a_childs_case(platform, sw, "Before")
    runner = CliRunner()
    taken = runner.invoke(cli, ["backup", "--out", str(tmp_path / "backups")], env=env)
    assert taken.exit_code == 0, taken.output
    assert "plans: 1 file(s); audit at seq" in taken.output
    assert "docs: no store at" in taken.output  # never started here: nothing to copy
    (folder,) = (tmp_path / "backups").iterdir()
    assert taken.output.rstrip().endswith(f"backup taken: {folder}")
    after_child, _ = write_a_childs_case(platform, sw, "After")
    platform.stop()

    restored = runner.invoke(cli, ["restore", str(folder)], env=env)
    assert restored.exit_code == 0, restored.output  # nothing runs here: no supervisor, heartbeat or lease
    assert "plans: restored to" in restored.output and "before-restore" in restored.output
    assert "writes made after" in restored.output

    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["created_at"] = "2020-01-01T00:00:00+00:00"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    refused = runner.invoke(cli, ["restore", str(folder), "--service", "plans"], env=env)
    assert refused.exit_code == 1
    assert "refused, nothing changed" in refused.output and "manifest.json was changed" in refused.output

    platform.start()
    assert platform.plans.get(f"/v1/children/{after_child}", headers=sw).status_code == 404


def test_the_backup_command_refuses_a_mongodb_store_and_an_unknown_service(make_settings, tmp_path):
    env = dict(make_settings("plans", CPP_STORE_URL="mongodb://db.example:27017/cpp").environ)
    runner = CliRunner()
    mongo = runner.invoke(cli, ["backup", "--out", str(tmp_path / "backups")], env=env)
    assert mongo.exit_code == 2 and "mongodump" in mongo.output and "--oplog" in mongo.output
    unknown = runner.invoke(cli, ["backup", "--out", str(tmp_path / "b"), "--service", "web"], env=env)
    assert unknown.exit_code == 2 and "no store to back up for web" in unknown.output
