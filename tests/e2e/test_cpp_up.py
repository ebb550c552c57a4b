"""`cpp up`, the single-machine mode, as a user runs it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from cpp_shared.services import installed_services
from cpp_shared.store import open_store
from tests.helpers import bearer, free_port, new_child_over_http, wait_for

pytestmark = [pytest.mark.broker, pytest.mark.slow]
CONSUMERS = ("scheduler", "notify", "docs")
NUL = bytes(1)


class Up:
    """One `cpp up` run in its own session, its output collected."""

    def __init__(self, env: dict[str, str]):
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cpp_shared.cli", "up"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())

    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_up(self):
        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"cpp up exited ({self.proc.returncode}):\n{self.output()}")
            return any("all services up" in line for line in self.lines)

        wait_for(up, timeout=150, what="cpp up to start everything")

    def ctrl_c(self) -> int:
        os.killpg(self.proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does to the foreground group
        return self.proc.wait(timeout=90)


def leftover_processes(marker: str) -> list[str]:
    """Processes whose environment or command line mentions the run's data folder."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            blob = (entry / "environ").read_bytes() + (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().split()[2]
        except OSError:
            continue
        if marker.encode() in blob and state != "Z":
            cmdline = (entry / "cmdline").read_bytes().replace(NUL, b" ").decode(errors="replace")
            found.append(f"{entry.name}: {cmdline[:120]}")
    return found


def worker_pids(marker: str, service: str) -> list[int]:
    """The `cpp worker SERVICE` processes of the run whose data folder is `marker`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(NUL)
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if cmdline[-3:-1] == [b"worker", service.encode()] and f"CPP_DATA_DIR={marker}".encode() in environ:
            pids.append(int(entry.name))
    return pids


def sigterm_pending(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status").read_text()
    pending = 0
    for line in status.splitlines():
        if line.startswith(("SigPnd:", "ShdPnd:")):
            pending |= int(line.split()[1], 16)
    return bool(pending & (1 << (signal.SIGTERM - 1)))


@pytest.fixture
def up_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPP_")}
    env.update(
        {
            "CPP_DATA_DIR": str(tmp_path / "var"),
            "CPP_BUS_RETRY_DELAYS": "0.2,0.5",
            "WEB_CONCURRENCY": "1",
            "CPP_DEMO": "0",
        }
    )  # these tests count events: no made-up caseload
    for service in installed_services():
        env[f"CPP_{service.upper()}_PORT"] = str(free_port())
    return env


def test_ctrl_c_with_events_in_flight_then_restart_handles_each_event_once(up_env, tmp_path):
    data = Path(up_env["CPP_DATA_DIR"])
    url = {s: f"http://127.0.0.1:{up_env[f'CPP_{s.upper()}_PORT']}" for s in installed_services()}
    first = Up(up_env)
    paused: list[int] = []
    try:
        first.wait_up()
        token = subprocess.run(
            [sys.executable, "-m", "cpp_shared.cli", "token", "--role", "social_worker"],
            env=up_env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert token.count(".") == 2, "the token alone on stdout"

        # a child each: a child is in one open case at a time
        children = [
            new_child_over_http(url["plans"], bearer(token), given_names=f"Child{i}", identifiers=[]) for i in range(60)
        ]

        def open_case(i):
            resp = requests.post(
                f"{url['plans']}/v1/cases", json={"child_id": children[i]}, headers=bearer(token), timeout=20
            )
            assert resp.status_code == 201, resp.text
            return resp.json()["id"]

        # The consumers are slow today: paused, so that events queue up in RabbitMQ.
        paused[:] = [pid for service in CONSUMERS for pid in worker_pids(str(data), service)]
        assert len(paused) == len(CONSUMERS), paused
        for pid in paused:
            os.kill(pid, signal.SIGSTOP)
        with ThreadPoolExecutor(8) as pool:
            case_ids = list(pool.map(open_case, range(60)))
        wait_for(
            lambda: open_store(f"sqlite:///{data / 'plans.db'}").outbox_stats().pending == 0,
            timeout=30,
            what="the relay to publish every event",
        )
        os.killpg(first.proc.pid, signal.SIGINT)  # Ctrl-C with 180 messages queued...
        for pid in paused:  # ...and the consumers woken once their stop signal waits for them
            wait_for(lambda: sigterm_pending(pid), timeout=30, what=f"cpp up to signal worker {pid}")
            os.kill(pid, signal.SIGCONT)
        assert first.proc.wait(timeout=90) == 0, first.output()
    finally:
        for pid in paused:  # a failure above must not leave stopped workers behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        if first.proc.poll() is None:
            first.proc.kill()
    assert leftover_processes(str(data)) == [], "cpp up left processes behind"

    # Something was still on its way when Ctrl-C came, or this test proves nothing.
    in_flight = open_store(f"sqlite:///{data / 'plans.db'}").outbox_stats().pending
    for service in CONSUMERS:
        done = open_store(f"sqlite:///{data / f'{service}.db'}").collection("case_events").count_documents({})
        in_flight += len(case_ids) - done
    print(f"messages in flight at Ctrl-C: {in_flight} of {3 * len(case_ids)}")
    assert in_flight > 0, "every event was handled before Ctrl-C; the restart was not exercised"

    second = Up(up_env)
    try:
        second.wait_up()
        token = subprocess.run(
            [sys.executable, "-m", "cpp_shared.cli", "token", "--role", "auditor"],
            env=up_env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert (
            requests.get(f"{url['plans']}/v1/cases/{case_ids[0]}", headers=bearer(token), timeout=10).status_code == 200
        )
        for service in CONSUMERS:
            store = open_store(f"sqlite:///{data / f'{service}.db'}")
            wait_for(
                lambda: store.collection("case_events").count_documents({}) >= len(case_ids),
                timeout=60,
                what=f"{service} to handle every queued event",
            )
        for service in CONSUMERS:
            for case_id in case_ids:
                seen = requests.get(
                    f"{url[service]}/v1/cases/{case_id}/events", headers=bearer(token), timeout=10
                ).json()
                assert len(seen["events"]) == 1, f"{service} handled case {case_id} {len(seen['events'])} times"
        assert second.ctrl_c() == 0, second.output()
    finally:
        if second.proc.poll() is None:
            second.proc.kill()
    assert leftover_processes(str(data)) == []


def test_unknown_plugin_refuses_to_start_naming_it(up_env):
    env = {**up_env, "CPP_PLUGINS": "england,wakanda", "CPP_MODE": "development"}
    for argv in (["serve", "plans"], ["worker", "docs"], ["up"]):
        done = subprocess.run(
            [sys.executable, "-m", "cpp_shared.cli", *argv], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode != 0, argv
        assert "unknown plugin 'wakanda'" in done.stdout + done.stderr, argv
    # gunicorn loading the app directly (as docker-compose does) refuses too.
    done = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{free_port()}", "cpp_plans.app:create_app()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "wakanda" in done.stderr


def test_killing_the_docs_worker_ten_times_leaves_the_others_answering_and_writing_and_it_comes_back(up_env):
    env = {**up_env, "CPP_UP_RESTART_MAX_DELAY": "2"}  # the same behaviour, with shorter waits between restarts
    data = env["CPP_DATA_DIR"]
    url = {s: f"http://127.0.0.1:{env[f'CPP_{s.upper()}_PORT']}" for s in installed_services()}
    up = Up(env)
    try:
        up.wait_up()
        token = subprocess.run(
            [sys.executable, "-m", "cpp_shared.cli", "token", "--role", "social_worker"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        killed: list[int] = []
        case_ids = []
        for _ in range(10):
            [pid] = wait_for(
                lambda: [p for p in worker_pids(data, "docs") if p not in killed],
                timeout=60,
                what="cpp up to start the docs worker again",
            )
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            # Meanwhile the system of record answers and writes, and the other services answer.
            child_id = new_child_over_http(url["plans"], bearer(token))
            resp = requests.post(
                f"{url['plans']}/v1/cases", json={"child_id": child_id}, headers=bearer(token), timeout=20
            )
            assert resp.status_code == 201, resp.text
            case_ids.append(resp.json()["id"])
            for service in ("scheduler", "notify"):
                assert requests.get(f"{url[service]}/healthz", timeout=10).status_code == 200, service
            assert up.proc.poll() is None, f"cpp up stopped:\n{up.output()}"

        # The killing stops: the docs worker comes back and docs is ready again.
        wait_for(
            lambda: [p for p in worker_pids(data, "docs") if p not in killed],
            timeout=60,
            what="the docs worker to be back",
        )
        wait_for(
            lambda: requests.get(f"{url['docs']}/readyz", timeout=10).status_code == 200,
            timeout=60,
            what="docs to be ready",
        )
        # Scheduler and notify handled every case opened meanwhile; docs too, once back.
        auditor = subprocess.run(
            [sys.executable, "-m", "cpp_shared.cli", "token", "--role", "auditor"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for service in CONSUMERS:
            store = open_store(f"sqlite:///{Path(data) / f'{service}.db'}")
            wait_for(
                lambda: store.collection("case_events").count_documents({}) >= len(case_ids),
                timeout=60,
                what=f"{service} to handle every case opened",
            )
        seen = requests.get(f"{url['docs']}/v1/cases/{case_ids[-1]}/events", headers=bearer(auditor), timeout=10)
        assert seen.status_code == 200 and len(seen.json()["events"]) == 1

        metrics = requests.get(f"{url['docs']}/metrics", timeout=10).text
        assert 'cpp_process_restarts_total{process="docs-worker",service="docs"} 10.0' in metrics
        assert 'cpp_process_up{process="docs-worker",service="docs"} 1.0' in metrics
        exits = [line for line in up.lines if line.startswith("docs-worker exited with code -9 (SIGKILL)")]
        assert len(exits) == 10, up.output()
        assert not [
            line
            for line in up.lines
            if line.startswith(("plans-", "scheduler-", "notify-", "docs-web")) and "exited" in line
        ], up.output()
        assert up.proc.poll() is None, "cpp up is still running"
        assert up.ctrl_c() == 0, up.output()
    finally:
        if up.proc.poll() is None:
            up.proc.kill()
    assert leftover_processes(data) == [], "cpp up left processes behind"


def test_a_killed_broker_is_started_again_on_its_port_and_nothing_is_lost(up_env):
    """The RabbitMQ node of `cpp up` SIGKILLed twice: the supervisor starts it
    again on the same port, the processes reconnect, and the cases opened
    while it was down reach every consumer once."""
    from cpp_shared.broker import RabbitNode

    data = up_env["CPP_DATA_DIR"]
    url = {s: f"http://127.0.0.1:{up_env[f'CPP_{s.upper()}_PORT']}" for s in installed_services()}
    up = Up(up_env)
    try:
        up.wait_up()
        token = subprocess.run(
            [sys.executable, "-m", "cpp_shared.cli", "token", "--role", "social_worker"],
            env=up_env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        node = RabbitNode(Path(data) / "rabbitmq")
        port = node.amqp_port
        case_ids = []
        for round in range(2):
            beam = node.pid
            assert beam is not None
            os.kill(beam, signal.SIGKILL)
            # The system of record writes while the broker is down: its events wait in the outbox.
            child_id = new_child_over_http(url["plans"], bearer(token))
            resp = requests.post(
                f"{url['plans']}/v1/cases", json={"child_id": child_id}, headers=bearer(token), timeout=20
            )
            assert resp.status_code == 201, resp.text
            case_ids.append(resp.json()["id"])
            wait_for(
                lambda: sum("RabbitMQ is back" in line for line in up.lines) == round + 1,
                timeout=120,
                what=f"the broker to be started again ({round + 1})",
            )
            assert RabbitNode(Path(data) / "rabbitmq").amqp_port == port
        for service in installed_services():
            wait_for(
                lambda: requests.get(f"{url[service]}/readyz", timeout=10).status_code == 200,
                timeout=90,
                what=f"{service} to be ready again",
            )
        for service in CONSUMERS:
            store = open_store(f"sqlite:///{Path(data) / f'{service}.db'}")
            wait_for(
                lambda: store.collection("case_events").count_documents({}) >= len(case_ids),
                timeout=90,
                what=f"{service} to handle the cases opened while the broker was down",
            )
            assert store.collection("case_events").count_documents({}) == len(case_ids), service
        assert up.proc.poll() is None, f"cpp up stopped:\n{up.output()}"
        assert up.ctrl_c() == 0, up.output()
    finally:
        if up.proc.poll() is None:
            up.proc.kill()
    assert leftover_processes(data) == [], "cpp up left processes behind"
