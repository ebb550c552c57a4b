"""Signed checkpoints of an audit log's head (cpp_shared.audit_checkpoints):
the key, the checkpoint file's signatures and chaining, the worker's loop
and the readiness check, on a bare SQLite store."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cpp_shared import audit_checkpoints as ac
from cpp_shared.config import ConfigError
from cpp_shared.store import open_store
from cpp_shared.store.chain import GENESIS

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture
def settings(make_settings):
    return make_settings("plans")


@pytest.fixture
def store(settings):
    return open_store(settings.store_url)


def append(store, n, start=0):
    for i in range(start, start + n):
        with store.unit_of_work() as uow:
            uow.append(ac.LOG, {"action": "read", "record_id": f"r-{i}"})


@pytest.fixture
def checkpointer(store, settings):
    return ac.Checkpointer(store, settings, "ENG")


def verify(store, checkpointer, **kw):
    return ac.verify(store, "plans", checkpoint_file=checkpointer.path, public_key=checkpointer.public_key, **kw)


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def rewrite_lines(path, rows):
    path.write_text("".join(json.dumps(r, sort_keys=True, separators=(",", ":")) + "\n" for r in rows))


# --- the key ------------------------------------------------------------------


def test_in_development_the_key_is_made_on_first_use_private_and_kept(settings, data_dir):
    cfg = ac.config(settings)
    assert cfg.key_file == data_dir / "audit-checkpoints" / "keys" / "plans.key"
    assert cfg.file == data_dir / "audit-checkpoints" / "plans.jsonl"
    assert cfg.interval == 60.0
    key = ac.load_signing_key(cfg)
    assert stat.S_IMODE(cfg.key_file.stat().st_mode) == 0o600
    assert ac.key_id(ac.load_signing_key(cfg).public_key()) == ac.key_id(key.public_key())  # the same key, kept
    # Verifying needs only the public key, written beside it.
    public = ac.load_public_key(ac.config(settings), cfg.key_file.with_suffix(".pub"))
    assert ac.key_id(public) == ac.key_id(key.public_key())


def test_in_production_a_missing_key_is_a_config_error(make_settings, tmp_path):
    settings = make_settings("plans", CPP_MODE="production")
    with pytest.raises(ConfigError, match="CPP_AUDIT_CHECKPOINT_KEY_FILE"):
        ac.load_signing_key(ac.config(settings))
    named = make_settings("plans", CPP_MODE="production", CPP_AUDIT_CHECKPOINT_KEY_FILE=str(tmp_path / "none.key"))
    with pytest.raises(ConfigError, match="no audit checkpoint key"):
        ac.load_signing_key(ac.config(named))
    assert not (tmp_path / "none.key").exists(), "production never makes a key"


def test_service_specific_settings_come_first(make_settings, tmp_path):
    settings = make_settings(
        "scheduler",
        CPP_AUDIT_CHECKPOINT_DIR=str(tmp_path / "all"),
        CPP_SCHEDULER_AUDIT_CHECKPOINT_DIR=str(tmp_path / "sched"),
        CPP_AUDIT_CHECKPOINT_SECONDS="15",
    )
    cfg = ac.config(settings)
    assert cfg.file == tmp_path / "sched" / "scheduler.jsonl" and cfg.interval == 15.0
    with pytest.raises(ConfigError, match="CPP_AUDIT_CHECKPOINT_SECONDS"):
        ac.config(make_settings("plans", CPP_AUDIT_CHECKPOINT_SECONDS="0"))


# --- taking checkpoints -----------------------------------------------------------


def test_a_checkpoint_is_taken_when_the_head_moved_and_chains_to_the_one_before(store, checkpointer):
    assert checkpointer.take() is None, "an empty log is not checkpointed"
    append(store, 3)
    first = checkpointer.take(at=T0)
    assert checkpointer.take() is None, "the head did not move"
    append(store, 2, start=3)
    second = checkpointer.take(at=T0 + timedelta(minutes=1))
    head = store.verify_log(ac.LOG)
    assert (second["seq"], second["hash"]) == (head.last_seq, head.last_hash) == (5, head.last_hash)
    assert lines(checkpointer.path) == [first, second]
    assert first["previous"] == GENESIS and second["previous"] == ac.digest(first)
    assert first["at"] == "2026-11-24T09:00:00+00:00" and first["authority"] == "ENG" and first["log"] == "audit"
    assert ac.signature_problem(second, checkpointer.public_key) is None
    published = [m.body for m in store.outbox_pending(10)]
    assert [(e["type"], e["subject"], e["source"], e["data"]) for e in published] == [
        ("audit.checkpointed.v1", "plans", "/services/plans", first),
        ("audit.checkpointed.v1", "plans", "/services/plans", second),
    ]
    assert verify(store, checkpointer).intact


def test_a_checkpoint_line_edited_is_reported_and_never_extended(store, checkpointer):
    append(store, 4)
    checkpointer.take()
    [line] = lines(checkpointer.path)
    rewrite_lines(checkpointer.path, [{**line, "seq": 9}])  # someone makes the log look longer
    result = verify(store, checkpointer)
    assert result.kinds() == {"checkpoint_file"}
    assert "line 1" in result.problems[0].message and "signature does not verify" in result.problems[0].message
    append(store, 1, start=4)
    with pytest.raises(ac.CheckpointRefused, match="not a valid checkpoint"):
        checkpointer.take()


def test_another_keys_checkpoint_is_reported(store, checkpointer):
    append(store, 2)
    checkpointer.take()
    result = ac.verify(
        store, "plans", checkpoint_file=checkpointer.path, public_key=Ed25519PrivateKey.generate().public_key()
    )
    assert result.kinds() == {"checkpoint_file"} and "signed by key" in result.problems[0].message


def three_checkpoints(store, checkpointer):
    for i in range(3):
        append(store, 2, start=2 * i)
        checkpointer.take(at=T0 + timedelta(minutes=i))
    return lines(checkpointer.path)


def test_a_line_removed_from_the_middle_of_the_checkpoint_file_is_reported(store, checkpointer):
    first, _, third = three_checkpoints(store, checkpointer)
    rewrite_lines(checkpointer.path, [first, third])
    result = verify(store, checkpointer)
    assert result.kinds() == {"checkpoint_file"}
    assert "line 2" in result.problems[0].message and "does not follow the line before it" in result.problems[0].message


def test_the_first_lines_removed_or_lines_reordered_are_reported(store, checkpointer):
    first, second, third = three_checkpoints(store, checkpointer)
    rewrite_lines(checkpointer.path, [second, third])
    assert "does not start the file's chain" in verify(store, checkpointer).problems[0].message
    rewrite_lines(checkpointer.path, [first, third, second])
    result = verify(store, checkpointer)
    assert {"checkpoint_file", "backwards"} <= result.kinds()


def test_a_head_that_went_backwards_between_checkpoints_is_reported(store, checkpointer):
    append(store, 6)
    key = checkpointer.key
    head = store.verify_log(ac.LOG)
    six = ac.sign(
        key, service="plans", authority="ENG", log_name="audit", seq=6, hash=head.last_hash, previous=GENESIS, at=T0
    )
    [four] = store.read_log(ac.LOG, after_seq=3, limit=1)
    back = ac.sign(
        key,
        service="plans",
        authority="ENG",
        log_name="audit",
        seq=4,
        hash=four.hash,
        previous=ac.digest(six),
        at=T0 + timedelta(minutes=1),
    )
    rewrite_lines(checkpointer.path, [six, back])
    result = verify(store, checkpointer)
    assert result.kinds() == {"backwards"}
    assert "went backwards between checkpoints" in result.problems[0].message


def test_no_checkpoint_yet_is_a_warning_not_a_pass(store, checkpointer):
    append(store, 2)
    result = verify(store, checkpointer)
    assert result.ok and not result.intact
    assert [w.kind for w in result.warnings] == ["no_checkpoint"]


def test_the_checkpoints_need_a_public_key(store, checkpointer):
    append(store, 2)
    checkpointer.take()
    result = ac.verify(store, "plans", checkpoint_file=checkpointer.path, public_key=None)
    assert result.kinds() == {"key"} and not result.intact


def test_a_copy_kept_elsewhere_shows_lines_cut_from_the_end_of_the_file(store, checkpointer):
    first, second, third = three_checkpoints(store, checkpointer)
    rewrite_lines(checkpointer.path, [first, second])  # the newest line removed: the file alone cannot tell
    assert verify(store, checkpointer).intact
    result = verify(store, checkpointer, copies=[("the docs service", third)])
    assert result.kinds() == {"checkpoint_file"} and "lacks the checkpoint of entry 6" in result.problems[0].message
    forged = {**third, "seq": 60}
    assert "not valid" in verify(store, checkpointer, copies=[("the docs service", forged)]).problems[0].message


# --- the worker's loop --------------------------------------------------------------


class Steps:
    """A stop event for the loop: each wait runs the next step and reports
    whether the worker was told to stop (True ends the loop)."""

    def __init__(self, *steps):
        self.steps, self.timeouts = list(steps), []

    def wait(self, timeout):
        self.timeouts.append(timeout)
        step, stop = self.steps.pop(0)
        step()
        return stop


def test_the_loop_checkpoints_at_start_when_the_head_moved_and_at_shutdown(make_settings, store):
    settings = make_settings("plans", CPP_AUDIT_CHECKPOINT_SECONDS="15")
    checkpointer = ac.Checkpointer(store, settings, "ENG")
    append(store, 3)
    stop = Steps(
        (lambda: append(store, 2, start=3), False),  # moved: a checkpoint
        (lambda: None, False),  # not moved: none
        (lambda: append(store, 1, start=5), True),
    )  # shutdown: the last one
    checkpointer.loop(stop)
    assert stop.timeouts == [15.0, 15.0, 15.0] and not stop.steps
    assert [c["seq"] for c in lines(checkpointer.path)] == [3, 5, 6]
    assert verify(store, checkpointer).intact


def test_the_loop_logs_a_refusal_and_goes_on(store, checkpointer):
    append(store, 3)
    checkpointer.take()
    checkpointer.path.write_text(checkpointer.path.read_text() + "not a checkpoint\n")
    stop = Steps((lambda: append(store, 1, start=3), True))
    checkpointer.loop(stop)  # refused twice, logged, no exception
    assert len(checkpointer.path.read_text().splitlines()) == 2


def test_the_worker_runs_the_checkpoint_loop_and_refuses_to_start_without_a_key(make_settings):
    from cpp_plans.app import SERVICE
    from cpp_shared.web import build_context
    from cpp_shared.worker import Worker

    worker = Worker(build_context(SERVICE, make_settings("plans")))
    assert "audit-checkpoints" in [t.name for t in worker._background]
    production = make_settings(
        "plans",
        CPP_MODE="production",
        CPP_OIDC_JWKS_URL="https://idp.example/jwks",
        CPP_OIDC_ISSUER="https://idp.example",
    )
    with pytest.raises(ConfigError, match="CPP_AUDIT_CHECKPOINT_KEY_FILE"):
        Worker(build_context(SERVICE, production))


# --- readiness ------------------------------------------------------------------------


def test_readiness_says_why_checkpoints_cannot_be_taken(make_settings, tmp_path):
    assert ac.readiness(make_settings("plans")) == "ok"
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    assert ac.readiness(make_settings("plans", CPP_AUDIT_CHECKPOINT_DIR=str(not_a_dir / "sub"))).startswith(
        "unavailable: the checkpoint directory cannot be written"
    )
    bad_key = tmp_path / "bad.key"
    bad_key.write_text("not a key")
    assert "cannot be loaded" in ac.readiness(make_settings("plans", CPP_AUDIT_CHECKPOINT_KEY_FILE=str(bad_key)))
    assert "CPP_AUDIT_CHECKPOINT_KEY_FILE" in ac.readiness(make_settings("plans", CPP_MODE="production"))
