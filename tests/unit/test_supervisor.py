"""`cpp up`'s supervision, without processes or sleeps: a clock the test
moves, processes that exit when the test says, and the status files the
services read."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest

from cpp_shared import process_status
from cpp_shared.supervisor import Backoff, Child, Platform


def test_the_delay_doubles_from_one_second_to_its_cap_and_starts_over_after_a_long_run():
    backoff = Backoff(first=1, cap=60, reset_after=60)
    assert [backoff.after_exit(uptime=0.5) for _ in range(9)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert backoff.failures == 9
    assert backoff.after_exit(uptime=59.9) == 60  # not up long enough: still failing
    assert backoff.after_exit(uptime=60) == 1  # up a minute: a new failure starts the row again
    assert backoff.after_exit(uptime=3) == 2
    assert Backoff(first=1, cap=60).after_exit(uptime=0) == 1
    many = Backoff(first=1, cap=60)
    assert max(many.after_exit(uptime=0) for _ in range(5000)) == 60  # no overflow however long it fails


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeProc:
    """A process that runs until the test ends it."""

    pids = iter(range(10_000_000, 20_000_000))

    def __init__(self):
        self.pid = next(self.pids)
        self.returncode = None

    def poll(self):
        return self.returncode


class Supervised(Platform):
    """The supervisor's decisions alone: spawning and stopping are recorded, not done."""

    def __init__(self, tmp_path, names=("plans-web", "plans-worker", "docs-web", "docs-worker"), **backoff):
        self.clock_ = Clock()
        self.out_ = io.StringIO()
        super().__init__(
            ["plans", "docs"], out=self.out_, clock=self.clock_, wall=lambda: 1_800_000_000 + self.clock_.now
        )
        self.spawned: list[str] = []
        self.shutdowns: list[int] = []
        self.children = [
            Child(
                name,
                name.split("-")[0],
                ["true"],
                tmp_path / f"{name}.log",
                process_status.status_path(tmp_path, name),
                Backoff(**backoff),
            )
            for name in names
        ]
        self.procs: dict[str, FakeProc] = {}

    def spawn(self, child):
        self.spawned.append(child.name)
        self.procs[child.name] = FakeProc()
        return self.procs[child.name]

    def _shutdown(self, code):
        self.shutdowns.append(code)
        self.stopping = True
        return code

    def start_all(self):
        for child in self.children:
            self._start(child)

    def kill(self, name, code=-9):
        self.procs[name].returncode = code

    def output(self):
        return self.out_.getvalue()


def status(tmp_path, name):
    return json.loads(process_status.status_path(tmp_path, name).read_text())


def test_a_process_that_keeps_failing_waits_longer_each_time_and_never_stops_the_others(tmp_path):
    up = Supervised(tmp_path, first=1, cap=8, reset_after=30)
    up.start_all()
    others = {name: up.procs[name] for name in ("plans-web", "plans-worker", "docs-web")}
    waits = []
    for kill in range(10):
        up.kill("docs-worker")
        up.clock_.now += 0.3
        assert up.step() is None
        s = status(tmp_path, "docs-worker")
        assert s["state"] == "waiting" and s["pid"] is None and s["last_exit"]["code"] == -9
        assert s["restarts"] == kill and s["failures_in_a_row"] == kill + 1
        # Not started again before its delay is over...
        started = up.spawned.count("docs-worker")
        waited = 0.0
        while up.spawned.count("docs-worker") == started:
            up.clock_.now += 0.25
            waited += 0.25
            assert up.step() is None
        waits.append(waited)
        s = status(tmp_path, "docs-worker")
        assert s["state"] == "running" and s["restarts"] == kill + 1 and s["pid"] == up.procs["docs-worker"].pid
    assert waits == [1, 2, 4, 8, 8, 8, 8, 8, 8, 8]
    assert up.shutdowns == [] and not up.stopping
    assert {name: up.procs[name] for name in others} == others, "the others were never restarted"
    assert up.spawned.count("docs-worker") == 11
    lines = [line for line in up.output().splitlines() if line.startswith("docs-worker exited")]
    assert len(lines) == 10
    assert lines[0].startswith(
        "docs-worker exited with code -9 (SIGKILL) after 0.3s; failures in a row: 1, "
        "restarts so far: 0; next start in 1s (log: "
    )
    assert "failures in a row: 10, restarts so far: 9; next start in 8s" in lines[-1]
    assert "stopping" not in up.output()

    # Up long enough: the next failure waits a second again.
    up.clock_.now += 30
    assert up.step() is None
    up.kill("docs-worker", code=1)
    up.clock_.now += 0.1
    up.step()
    assert status(tmp_path, "docs-worker")["failures_in_a_row"] == 1
    assert "exited with code 1 after 30.1s; failures in a row: 1, restarts so far: 10; next start in 1s" in up.output()


def test_a_configuration_error_on_the_first_start_stops_the_platform_with_its_message(tmp_path):
    up = Supervised(tmp_path)
    up.start_all()
    (tmp_path / "docs-worker.log").write_text("cpp: docs: CPP_AUDIT_CHECKPOINT_KEY_FILE is not set\n")
    up.kill("docs-worker", code=2)
    up.clock_.now += 1
    assert up.step() == 1 and up.shutdowns == [1]
    assert "docs-worker cannot start (a configuration error, exit code 2); stopping." in up.output()
    assert "CPP_AUDIT_CHECKPOINT_KEY_FILE is not set" in up.output()


def test_the_same_exit_code_later_on_is_a_failure_like_any_other(tmp_path):
    up = Supervised(tmp_path)
    up.start_all()
    up.kill("docs-web", code=1)  # a crash...
    up.clock_.now += 1
    up.step()
    up.clock_.now += 1
    up.step()  # ...started again
    up.kill("docs-web", code=3)  # gunicorn's "worker failed to boot", on a restart
    up.clock_.now += 1
    assert up.step() is None and up.shutdowns == []
    assert status(tmp_path, "docs-web")["last_exit"]["code"] == 3


def test_the_restart_settings_are_checked_at_start_up(monkeypatch):
    from cpp_shared.config import ConfigError
    from cpp_shared.supervisor import _float_setting

    monkeypatch.setenv("CPP_UP_RESTART_MAX_DELAY", "soon")
    with pytest.raises(ConfigError, match="CPP_UP_RESTART_MAX_DELAY must be a number of seconds"):
        _float_setting("CPP_UP_RESTART_MAX_DELAY", 60)
    monkeypatch.setenv("CPP_UP_RESTART_MAX_DELAY", "0")
    with pytest.raises(ConfigError, match="more than 0"):
        _float_setting("CPP_UP_RESTART_MAX_DELAY", 60)
    monkeypatch.setenv("CPP_UP_RESTART_MAX_DELAY", "2.5")
    assert _float_setting("CPP_UP_RESTART_MAX_DELAY", 60) == 2.5


def test_a_failing_process_shows_in_its_services_readiness_and_metrics(tmp_path, make_settings, data_dir):
    from cpp_plans.app import create_app

    up = Supervised(data_dir, names=("plans-web", "plans-worker"), first=1, cap=60)
    up.start_all()
    client = create_app(make_settings("plans")).test_client()

    body = client.get("/readyz").json
    assert body["checks"]["processes"] == "ok"
    metrics = client.get("/metrics").text
    assert 'cpp_process_restarts_total{process="plans-worker",service="plans"} 0.0' in metrics
    assert 'cpp_process_up{process="plans-worker",service="plans"} 1.0' in metrics

    for _ in range(3):
        up.kill("plans-worker")
        up.clock_.now += 0.5
        up.step()
        up.clock_.now += 60
        up.step()
    up.kill("plans-worker")
    up.clock_.now += 0.5
    up.step()
    client = create_app(make_settings("plans")).test_client()  # readiness is kept for 2 s per process
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["processes"].startswith(
        "plans-worker is not running: it exited with code -9 (SIGKILL) 4 time(s) in a row (3 restarts in all); "
        "next start at "
    )
    metrics = client.get("/metrics").text
    assert 'cpp_process_restarts_total{process="plans-worker",service="plans"} 3.0' in metrics
    assert 'cpp_process_up{process="plans-worker",service="plans"} 0.0' in metrics
    assert 'cpp_process_up{process="plans-web",service="plans"} 1.0' in metrics


def test_status_files_of_a_supervisor_that_is_gone_are_ignored(tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(gone.stdout)
    process_status.write(
        process_status.status_path(tmp_path, "docs-worker"),
        {
            "supervisor_pid": pid,
            "supervisor_started": None,
            "process": "docs-worker",
            "service": "docs",
            "state": "waiting",
            "restarts": 9,
        },
    )
    assert process_status.read(tmp_path, "docs") == []
    assert process_status.readiness(tmp_path, "docs") is None
    # The running supervisor's, and a pid reused by another process, told apart by the start time.
    mark = process_status.supervisor_mark()
    process_status.write(
        process_status.status_path(tmp_path, "docs-worker"),
        {**mark, "process": "docs-worker", "service": "docs", "state": "running", "restarts": 0},
    )
    assert process_status.readiness(tmp_path, "docs") == "ok"
    process_status.write(
        process_status.status_path(tmp_path, "docs-worker"),
        {
            **mark,
            "supervisor_started": mark["supervisor_started"] - 1,
            "process": "docs-worker",
            "service": "docs",
            "state": "waiting",
            "restarts": 0,
        },
    )
    assert process_status.readiness(tmp_path, "docs") is None
    assert os.path.exists(process_status.status_path(tmp_path, "docs-worker"))


def test_a_services_after_up_command_runs_once_in_the_background_and_its_failure_is_only_reported(
    tmp_path, monkeypatch
):
    import time
    from dataclasses import replace

    from cpp_shared import services
    from cpp_web.app import SERVICE as WEB

    assert WEB.after_up == ("demo", "--if-new")  # the made-up caseload on a first start in development
    specs = {
        "plans": replace(WEB, name="plans", after_up=("plugins",)),  # `cpp plugins`: quick, and succeeds
        "docs": replace(WEB, name="docs", after_up=("no-such-command",)),
    }
    monkeypatch.setattr(services, "load_service", lambda name: specs[name])
    (tmp_path / "log").mkdir()
    up = Supervised(tmp_path)
    up.start_all()
    up._start_after_up(tmp_path)
    assert [command for command, _, _ in up.after_up] == ["cpp plugins", "cpp no-such-command"]
    assert "cpp plugins: running in the background" in up.output()
    deadline = time.monotonic() + 60
    while up.after_up and time.monotonic() < deadline:
        assert up.step() is None  # the platform goes on whatever they do
        time.sleep(0.05)
    assert not up.after_up and up.shutdowns == []
    assert "cpp no-such-command failed (code 2); the platform runs on" in up.output()
    assert "No such command" in up.output()
    assert (tmp_path / "log" / "plans-plugins.log").read_text().startswith("authority:")


def test_a_broker_url_given_as_a_file_is_used_and_no_private_broker_is_started(tmp_path, monkeypatch):
    """CPP_BROKER_URL_FILE counts as CPP_BROKER_URL: `cpp up` starts no node of
    its own, whose URL would then be set beside the file and refused."""
    secret = tmp_path / "broker-url"
    secret.write_text("amqp://cpp:s3cret@broker.example:5672/cpp\n")
    monkeypatch.delenv("CPP_BROKER_URL", raising=False)
    monkeypatch.setenv("CPP_BROKER_URL_FILE", str(secret))
    out = io.StringIO()
    up = Platform(["plans"], out=out)
    up._start_broker(tmp_path)
    assert up.node is None and "CPP_BROKER_URL" not in os.environ
    assert out.getvalue() == "broker     broker.example:5672/cpp (CPP_BROKER_URL)\n"


def test_a_services_before_up_command_runs_to_its_end_first_and_its_failure_stops_the_platform(tmp_path, monkeypatch):
    from dataclasses import replace

    from cpp_plans.app import SERVICE as PLANS
    from cpp_shared import services
    from cpp_shared.config import ConfigError

    assert PLANS.before_up == ("migrate",)  # records made by earlier code carried over before anything reads them
    (tmp_path / "log").mkdir()
    specs = {"plans": replace(PLANS, before_up=("plugins",)), "docs": replace(PLANS, name="docs", before_up=())}
    monkeypatch.setattr(services, "load_service", lambda name: specs[name])
    up = Supervised(tmp_path)
    up._run_before_up(tmp_path)  # `cpp plugins`: quick, and succeeds; it has ended when this returns
    assert (tmp_path / "log" / "plans-plugins.log").read_text().startswith("authority:")
    assert "cpp plugins (plans)" in up.output()

    specs["plans"] = replace(PLANS, before_up=("no-such-command",))
    with pytest.raises(ConfigError, match=r"cpp no-such-command failed \(exit 2\); see .*plans-no-such-command.log"):
        up._run_before_up(tmp_path)
