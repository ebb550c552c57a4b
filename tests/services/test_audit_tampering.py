"""The audit log against its signed checkpoints: each way of tampering with
the plans service's log, on SQLite (the file opened with sqlite3, the guard
triggers dropped and put back) and on the MongoDB store (mongomock: the
collection holding the entries changed directly), is reported by
``cpp audit verify`` with its own sentence; the other services keep each
other's checkpoints; a checkpoint store that cannot be used makes /readyz
503."""

from __future__ import annotations

import json
import sqlite3
import uuid

import pytest
from click.testing import CliRunner

from cpp_shared import audit_checkpoints as ac
from cpp_shared.cli import main as cpp
from cpp_shared.contracts.catalogue import validate_event
from cpp_shared.messaging.events import new_event
from cpp_shared.store.chain import entry_hash
from tests.helpers import bearer, hand_over
from tests.services.test_plans_audit import open_case

LOG = "audit"
TRIGGERS = {
    "_log_no_update": "CREATE TRIGGER _log_no_update BEFORE UPDATE ON _log "
    "BEGIN SELECT RAISE(ABORT, '_log is append-only'); END",
    "_log_no_delete": "CREATE TRIGGER _log_no_delete BEFORE DELETE ON _log "
    "BEGIN SELECT RAISE(ABORT, '_log is append-only'); END",
}


class SQLiteLog:
    """The log's rows in the SQLite file, changed as someone holding the file could."""

    def __init__(self, store):
        self.path = store.path

    def _tamper(self, *statements):
        with sqlite3.connect(self.path) as db:
            for name in TRIGGERS:
                db.execute(f"DROP TRIGGER IF EXISTS {name}")
            for sql, args in statements:
                db.execute(sql, args)
            for sql in TRIGGERS.values():
                db.execute(sql)
        with sqlite3.connect(self.path) as db:
            assert {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")} >= set(TRIGGERS)

    def get(self, seq):
        with sqlite3.connect(self.path) as db:
            [(prev_hash, hash_, entry)] = db.execute(
                "SELECT prev_hash, hash, entry FROM _log WHERE log = ? AND seq = ?", (LOG, seq)
            ).fetchall()
        return prev_hash, hash_, json.loads(entry)

    def put(self, *rows):
        self._tamper(
            *(
                (
                    "UPDATE _log SET prev_hash = ?, hash = ?, entry = ? WHERE log = ? AND seq = ?",
                    (prev_hash, hash_, json.dumps(entry), LOG, seq),
                )
                for seq, prev_hash, hash_, entry in rows
            )
        )

    def delete(self, seqs):
        self._tamper(*(("DELETE FROM _log WHERE log = ? AND seq = ?", (LOG, seq)) for seq in seqs))


class MongoLog:
    """The log's documents in the MongoDB store (``log_entries``, and the
    head kept in ``log_heads``), changed with the database's own client."""

    def __init__(self, store):
        self.entries, self.heads = store.db["log_entries"], store.db["log_heads"]

    def get(self, seq):
        doc = self.entries.find_one({"log": LOG, "seq": seq})
        return doc["prev_hash"], doc["hash"], doc["entry"]

    def put(self, *rows):
        for seq, prev_hash, hash_, entry in rows:
            self.entries.update_one(
                {"log": LOG, "seq": seq}, {"$set": {"prev_hash": prev_hash, "hash": hash_, "entry": entry}}
            )
        self._move_head()

    def delete(self, seqs):
        self.entries.delete_many({"log": LOG, "seq": {"$in": list(seqs)}})
        self._move_head()

    def _move_head(self):
        [last] = self.entries.find({"log": LOG}, sort=[("seq", -1)], limit=1)
        self.heads.update_one({"_id": LOG}, {"$set": {"seq": last["seq"], "hash": last["hash"]}})


# --- the ways of tampering (the log holds 9 entries, checkpointed at 9) -----------------------


def delete_an_entry(log):
    log.delete([5])


def edit_an_entry(log):
    prev_hash, hash_, entry = log.get(3)
    log.put((3, prev_hash, hash_, {**entry, "actor": "nobody"}))


def reorder_two_entries(log):
    third, fourth = log.get(3), log.get(4)
    log.put((3, *fourth), (4, *third))


def cut_the_tail(log):
    log.delete(range(5, 10))  # the newest 5 of 9


def rewrite_from_an_entry_on(log):
    """Entries 5 to 9 changed and every hash recomputed: the chain is valid."""
    _, prev, _ = log.get(4)
    rows = []
    for seq in range(5, 10):
        _, _, entry = log.get(seq)
        entry = {**entry, "actor": "someone-else"}
        rows.append((seq, prev, entry_hash(seq, prev, entry), entry))
        prev = rows[-1][2]
    log.put(*rows)


CASES = {
    delete_an_entry: ("chain", "an entry was edited, removed or reordered: the chain is BROKEN at entry 5"),
    edit_an_entry: ("chain", "an entry was edited, removed or reordered: the chain is BROKEN at entry 3"),
    reorder_two_entries: ("chain", "an entry was edited, removed or reordered: the chain is BROKEN at entry 3"),
    cut_the_tail: ("cut", "the log's tail was cut: it ends at entry 4, but the checkpoint of"),
    rewrite_from_an_entry_on: ("rewritten", "the log was rewritten from entry 9 or earlier"),
}


@pytest.fixture(params=["sqlite", "mongomock"])
def kind(request):
    return request.param


@pytest.fixture
def env(kind, data_dir):
    """The environment of the plans service (and of `cpp audit`)."""
    env = {
        "CPP_MODE": "development",
        "CPP_DATA_DIR": str(data_dir),
        "CPP_PLUGINS": "england",
        "CPP_LOG_FORMAT": "console",
    }
    if kind == "mongomock":
        env["CPP_STORE_URL"] = f"mongomock://audit_{uuid.uuid4().hex}"
    return env


def fill(ctx, token_for, app):
    client, token = app.test_client(), token_for()
    for i in range(5):
        case_id = open_case(client, token, f"child-{i}")
        if i < 4:
            assert client.get(f"/v1/cases/{case_id}", headers=bearer(token)).status_code == 200
    assert ctx.store.verify_log(LOG).last_seq == 9


@pytest.fixture
def audited_app(make_settings, env):
    from cpp_plans.app import create_app

    return create_app(make_settings("plans", **env))


@pytest.fixture
def checkpointed(audited_app, token_for):
    """The plans service with nine audited reads and writes, checkpointed at 9."""
    ctx = audited_app.extensions["cpp"]
    fill(ctx, token_for, audited_app)
    checkpoint = ac.Checkpointer(ctx.store, ctx.settings, "ENG").take()
    assert checkpoint["seq"] == 9
    return ctx


def tamperer(ctx):
    return MongoLog(ctx.store.inner) if ctx.settings.store_url.startswith("mongomock") else SQLiteLog(ctx.store.inner)


def cpp_audit(env, *args):
    return CliRunner().invoke(cpp, ["audit", *args], env=env, catch_exceptions=False)


def test_an_untouched_log_is_intact(checkpointed, env):
    result = cpp_audit(env, "verify")
    assert result.exit_code == 0, result.output
    assert "plans audit log intact: 9 entries, chain verified, consistent with 1 signed checkpoint(s)" in result.stdout


@pytest.mark.parametrize("tamper", list(CASES), ids=lambda f: f.__name__)
def test_each_way_of_tampering_is_reported_distinctly(checkpointed, env, tamper):
    kind, sentence = CASES[tamper]
    tamper(tamperer(checkpointed))
    result = ac.verify(
        checkpointed.store,
        "plans",
        checkpoint_file=ac.config(checkpointed.settings).file,
        public_key=ac.load_public_key(ac.config(checkpointed.settings)),
    )
    assert result.kinds() == {kind}, result.problems
    out = cpp_audit(env, "verify")
    assert out.exit_code == 1
    assert sentence in out.stderr, out.stderr
    assert "NOT intact" in out.stderr and "intact:" not in out.stdout


@pytest.mark.parametrize("tamper", [cut_the_tail, rewrite_from_an_entry_on], ids=lambda f: f.__name__)
def test_the_checkpointer_will_not_sign_a_cut_or_rewritten_log(checkpointed, env, tamper):
    tamper(tamperer(checkpointed))
    out = cpp_audit(env, "checkpoint")
    assert out.exit_code == 1 and "checkpoint refused" in out.stderr
    assert len(ac.config(checkpointed.settings).file.read_text().splitlines()) == 1


def test_a_cut_followed_by_new_entries_is_a_rewrite(checkpointed, env, token_for, audited_app):
    cut_the_tail(tamperer(checkpointed))
    fill_more = audited_app.test_client()
    for i in range(6):
        open_case(fill_more, token_for(), f"later-{i}")
    assert checkpointed.store.verify_log(LOG).last_seq == 10  # longer than the checkpoint, chain valid
    out = cpp_audit(env, "verify")
    assert out.exit_code == 1 and "the log was rewritten from entry 9 or earlier" in out.stderr


def test_the_cli_checkpoints_now_and_verifies_with_the_public_key_alone(audited_app, token_for, env, data_dir):
    ctx = audited_app.extensions["cpp"]
    open_case(audited_app.test_client(), token_for())
    first = cpp_audit(env, "verify")
    assert first.exit_code == 0 and "no checkpoint yet" in first.stderr and "intact" not in first.stdout
    out = cpp_audit(env, "checkpoint")
    assert out.exit_code == 0 and "checkpointed at entry 1" in out.stdout
    [message] = [m for m in ctx.store.outbox_pending(100) if m.routing_key == "audit.checkpointed.v1"]
    validate_event(message.body)
    keys = data_dir / "audit-checkpoints" / "keys"
    public_only = {**env, "CPP_MODE": "production"}  # no private key: only the public key to check with
    out = cpp_audit(public_only, "verify", "--public-key", str(keys / "plans.pub"))
    assert out.exit_code == 0 and "intact: 1 entries" in out.stdout, out.output
    assert cpp_audit(public_only, "verify").exit_code == 1  # checkpoints, but no key to check them
    assert cpp_audit(env, "verify", "--service", "nonesuch").exit_code == 2


# --- every service keeps the others' checkpoints ------------------------------------------


@pytest.fixture
def apps(make_settings, env):
    from cpp_docs.app import create_app as docs
    from cpp_notify.app import create_app as notify
    from cpp_plans.app import create_app as plans
    from cpp_scheduler.app import create_app as scheduler

    made = {}
    for name, create in (("plans", plans), ("scheduler", scheduler), ("notify", notify), ("docs", docs)):
        settings = {**env}
        if "CPP_STORE_URL" in settings:
            settings["CPP_STORE_URL"] = f"{settings['CPP_STORE_URL']}_{name}"
        made[name] = create(make_settings(name, **settings)).extensions["cpp"]
    return made


def test_every_service_keeps_the_others_checkpoints_once(apps, env):
    plans = apps["plans"]
    with plans.store.unit_of_work() as uow:
        uow.append(LOG, {"action": "read"})
    checkpoint = ac.Checkpointer(plans.store, plans.settings, "ENG").take()
    [published] = [m.body for m in plans.store.outbox_pending(10)]
    validate_event(published)
    for name in ("scheduler", "notify", "docs"):
        ctx = apps[name]
        hand_over(ctx, published)
        again = new_event(
            "audit.checkpointed.v1", source="/services/plans", subject="plans", data=checkpoint, authority="ENG"
        )  # the same checkpoint published again: kept once
        hand_over(ctx, again)
        [kept] = ctx.store.collection(ac.COLLECTION).find({})
        assert kept["_id"] == ac.digest(checkpoint) and kept["event_id"] == published["id"]
        assert ac.kept_copies(ctx.store, "plans") == [checkpoint]
    hand_over(plans, published)
    assert plans.store.collection(ac.COLLECTION).find({}) == [], "a service's own checkpoints are in its file"


def test_verify_compares_the_copies_other_services_keep(apps, env):
    plans = apps["plans"]
    checkpointer = ac.Checkpointer(plans.store, plans.settings, "ENG")
    for i in range(2):
        with plans.store.unit_of_work() as uow:
            uow.append(LOG, {"action": "read", "n": i})
        checkpointer.take()
    for m in plans.store.outbox_pending(10):
        hand_over(apps["docs"], m.body)
    docs_env = {**env}
    if "CPP_STORE_URL" in env:
        docs_env["CPP_DOCS_STORE_URL"] = f"{env['CPP_STORE_URL']}_docs"
        docs_env["CPP_PLANS_STORE_URL"] = f"{env['CPP_STORE_URL']}_plans"
        del docs_env["CPP_STORE_URL"]
    assert cpp_audit(docs_env, "verify", "--copies-from", "docs").exit_code == 0
    path = checkpointer.path
    path.write_text(path.read_text().splitlines()[0] + "\n")  # the newest line removed from the file
    assert cpp_audit(docs_env, "verify").exit_code == 0, "the file alone cannot tell"
    out = cpp_audit(docs_env, "verify", "--copies-from", "docs")
    assert out.exit_code == 1 and "lacks the checkpoint of entry 2" in out.stderr, out.output


# --- readiness ------------------------------------------------------------------------------


def test_a_broken_checkpoint_store_makes_the_service_unready(make_settings, tmp_path):
    from cpp_plans.app import create_app

    app = create_app(make_settings("plans"))
    assert app.test_client().get("/readyz").json["checks"]["audit_checkpoints"] == "ok"
    bad_key = tmp_path / "checkpoint.key"
    bad_key.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    broken = create_app(make_settings("plans", CPP_AUDIT_CHECKPOINT_KEY_FILE=str(bad_key))).test_client()
    ready = broken.get("/readyz")
    assert ready.status_code == 503 and ready.json["status"] == "unready"
    assert ready.json["checks"]["audit_checkpoints"].startswith(f"unavailable: the audit checkpoint key {bad_key}")
