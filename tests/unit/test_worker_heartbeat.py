"""A worker's heartbeat file and `cpp worker-health`, the check a
container's healthcheck runs: healthy while the file is fresh and names no
stopped thread."""

from __future__ import annotations

import json
import threading
import time

from click.testing import CliRunner

from cpp_shared import heartbeat
from cpp_shared.cli import main


def test_the_default_file_is_in_the_data_folder_and_a_setting_moves_it(make_settings):
    settings = make_settings("docs")
    assert heartbeat.heartbeat_path(settings) == settings.data_dir / "run" / "docs-worker.heartbeat"
    moved = make_settings("docs", CPP_DOCS_WORKER_HEARTBEAT_FILE="/tmp/cpp-worker.heartbeat")
    assert str(heartbeat.heartbeat_path(moved)) == "/tmp/cpp-worker.heartbeat"


def test_fresh_missing_stale_and_stopped_threads(tmp_path):
    path = tmp_path / "plans-worker.heartbeat"
    assert "no heartbeat at" in heartbeat.problem(path)
    heartbeat.beat(path, [], now=1000.0)
    assert heartbeat.problem(path, now=1029.0) is None
    assert "is 31s old (more than 30s)" in heartbeat.problem(path, now=1031.0)
    heartbeat.beat(path, ["outbox-relay"], now=1000.0)
    assert "has stopped threads: outbox-relay" in heartbeat.problem(path, now=1001.0)
    path.write_text("{not json")
    assert "cannot be read" in heartbeat.problem(path)


def test_the_loop_names_a_thread_that_died_and_removes_the_file_when_stopped(tmp_path):
    path = tmp_path / "notify-worker.heartbeat"
    stop = threading.Event()
    dead = threading.Thread(target=lambda: None, name="dispatcher")
    dead.start()
    dead.join()
    loop = threading.Thread(target=heartbeat.run, args=(path, lambda: [dead], stop, 0.05))
    loop.start()
    deadline = time.monotonic() + 5
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert json.loads(path.read_text())["stopped"] == ["dispatcher"]
    stop.set()
    loop.join(timeout=5)
    assert not path.exists()


def test_cpp_worker_health_exits_0_only_while_the_heartbeat_is_fresh(tmp_path):
    env = {"CPP_MODE": "development", "CPP_DATA_DIR": str(tmp_path)}
    runner = CliRunner()
    missing = runner.invoke(main, ["worker-health", "scheduler"], env=env)
    assert missing.exit_code == 1 and "scheduler-worker unhealthy: no heartbeat" in missing.output
    path = tmp_path / "run" / "scheduler-worker.heartbeat"
    heartbeat.beat(path, [])
    healthy = runner.invoke(main, ["worker-health", "scheduler"], env=env)
    assert healthy.exit_code == 0 and "scheduler-worker healthy" in healthy.output
    heartbeat.beat(path, [], now=time.time() - 60)
    stale = runner.invoke(main, ["worker-health", "scheduler", "--max-age", "45"], env=env)
    assert stale.exit_code == 1 and "(more than 45s)" in stale.output
