"""Integration tests of cpp_shared.broker.RabbitNode against real RabbitMQ nodes.

Needs Debian's rabbitmq-server (`apt-get install rabbitmq-server`); a missing broker is a
failure, never a skip.  One node (A) is shared by the module; the restart test stops and
restarts it in place.  Node B (other folder) and the CLI node have their own folders.
Timings are printed (run with -s), not asserted.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from amqp.exceptions import NotFound
from kombu import Connection, Exchange, Queue

from cpp_shared.broker import BrokerNotInstalled, RabbitNode

pytestmark = [pytest.mark.broker, pytest.mark.slow]

CONFIRMS = {"confirm_publish": True}


def timing(label: str, seconds: float) -> None:
    print(f"\n[timing] {label}: {seconds:.2f}s", flush=True)


def node_processes(node_name: str, base_dir: Path) -> list[str]:
    """Live (non-zombie) processes that belong to the node: its environment names the node
    (server, erl_child_setup, inet_gethost, epmd) or its command line names its folder
    (beam.smp's -home, the watchdog)."""
    found = []
    env_needle = f"RABBITMQ_NODENAME={node_name}".encode()
    dir_needle = str(base_dir).encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            stat = (proc / "stat").read_text()
            env = (proc / "environ").read_bytes()
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            continue
        if env_needle in env.split(b"\0") or dir_needle in cmdline:
            args = cmdline.replace(b"\0", b" ").decode(errors="replace")[:120]
            found.append(f"{proc.name} {args}")
    return found


def port_listening(port: int) -> bool:
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            try:
                if s.connect_ex((host, port)) == 0:
                    return True
            except OSError:
                pass
    return False


def assert_node_gone(node_name: str, base_dir: Path, ports: list[int]) -> None:
    assert node_processes(node_name, base_dir) == []
    for port in ports:
        assert not port_listening(port), f"port {port} still listening"


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    n = RabbitNode(tmp_path_factory.mktemp("rabbit-a"))
    t0 = time.monotonic()
    n.start(owner_pid=os.getpid())  # what `with RabbitNode(...)` does
    timing(f"start of node A {n.node_name} (fresh folder)", time.monotonic() - t0)
    try:
        yield n
    finally:
        t0 = time.monotonic()
        n.stop()
        timing("stop of node A", time.monotonic() - t0)
        assert_node_gone(n.node_name, n.base_dir, [n.amqp_port, n.epmd_port, n.dist_port])


def test_start_on_running_folder_is_noop(node):
    pid, url = node.pid, node.amqp_url
    assert pid and node.is_running()
    t0 = time.monotonic()
    node.start()
    timing("start() on the running node (same object)", time.monotonic() - t0)
    assert (node.pid, node.amqp_url) == (pid, url)

    # what another process does: a fresh object on the same folder finds the same node
    other = RabbitNode(node.base_dir)
    assert other.node_name == node.node_name
    assert other.node_name.startswith("cpp-") and other.node_name.endswith("@localhost")
    t0 = time.monotonic()
    other.start()
    timing("start() on the running node (new object, same folder)", time.monotonic() - t0)
    assert (other.pid, other.amqp_url) == (pid, url)
    with RabbitNode(node.base_dir) as third:  # a `with` on a running node uses it and leaves it running
        assert not third.launched and third.pid == pid
    assert node.is_running() and node.pid == pid

    state = json.loads((node.base_dir / "node.json").read_text())
    assert state["node_name"] == node.node_name and state["amqp_port"] == node.amqp_port
    assert state["epmd_port"] == node.epmd_port and state["dist_port"] == node.dist_port


def test_add_vhost_isolates_queues(node):
    with Connection(node.amqp_url) as conn:
        Queue("cpp.test.default-only", durable=False, auto_delete=False)(conn.default_channel).declare()

    t0 = time.monotonic()
    url = node.add_vhost("cpp-test-iso")
    timing("add_vhost", time.monotonic() - t0)
    assert url == f"amqp://guest:guest@127.0.0.1:{node.amqp_port}/cpp-test-iso"

    with Connection(url, transport_options=CONFIRMS) as conn:
        conn.connect()
        with pytest.raises(NotFound):
            Queue("cpp.test.default-only")(conn.channel()).queue_declare(passive=True)
        ex = Exchange("cpp.test.iso", type="topic", durable=True)
        q = Queue("cpp.test.vhost-only", ex, routing_key="iso.#", durable=True)
        conn.Producer().publish({"in": "vhost"}, exchange=ex, routing_key="iso.x", declare=[q], delivery_mode=2)
        assert q(conn.channel()).queue_declare(passive=True).message_count == 1

    with Connection(node.amqp_url) as conn:
        conn.connect()
        with pytest.raises(NotFound):
            Queue("cpp.test.vhost-only")(conn.channel()).queue_declare(passive=True)
        Queue("cpp.test.default-only")(conn.default_channel).delete()

    assert url == node.add_vhost("cpp-test-iso")  # idempotent
    t0 = time.monotonic()
    node.delete_vhost("cpp-test-iso")
    timing("delete_vhost", time.monotonic() - t0)
    node.delete_vhost("cpp-test-iso")  # idempotent
    assert "cpp-test-iso" not in node.rabbitmqctl("list_vhosts").split()
    with pytest.raises(Exception):  # noqa: B017 - the transport's own refusal of an unknown vhost
        with Connection(url, connect_timeout=5) as conn:
            conn.connect()


def test_persistent_message_survives_restart_in_same_folder(node):
    ex = Exchange("cpp.test.persist", type="direct", durable=True)
    q = Queue("cpp.test.persist", ex, routing_key="persist", durable=True)
    with Connection(node.amqp_url, transport_options=CONFIRMS) as conn:
        conn.Producer().publish(
            {"order": 42}, exchange=ex, routing_key="persist", declare=[q], delivery_mode=2, serializer="json"
        )
        assert conn.default_channel._confirm_selected
        assert q(conn.default_channel).queue_declare(passive=True).message_count == 1

    name, port = node.node_name, node.amqp_port
    old_ports = [node.amqp_port, node.epmd_port, node.dist_port]
    t0 = time.monotonic()
    node.stop()
    timing("stop (rabbitmqctl shutdown + epmd -kill)", time.monotonic() - t0)
    assert not node.is_running() and node.pid is None
    assert_node_gone(name, node.base_dir, old_ports)
    node.stop()  # idempotent

    t0 = time.monotonic()
    node.start(owner_pid=os.getpid())
    timing("restart of node A in the same folder", time.monotonic() - t0)
    assert node.node_name == name and node.amqp_port == port
    with Connection(node.amqp_url) as conn:
        msg = q(conn.default_channel).get(no_ack=False)
        assert msg is not None, "persistent message lost across restart"
        assert msg.payload == {"order": 42}
        assert msg.properties["delivery_mode"] == 2
        msg.ack()
        q(conn.default_channel).delete()


CHILD = """
import json, sys, time
from cpp_shared.broker import RabbitNode
with RabbitNode(sys.argv[1]) as n:
    print(json.dumps({"url": n.amqp_url, "node": n.node_name, "port": n.amqp_port,
                      "epmd": n.epmd_port, "dist": n.dist_port}), flush=True)
    time.sleep(600)
"""


def test_second_folder_runs_alongside_and_dies_with_its_crashed_owner(node, tmp_path):
    base = tmp_path / "rabbit-b"
    t0 = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(base)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        ready, _, _ = select.select([child.stdout], [], [], 120)
        line = child.stdout.readline() if ready else ""
        if not line:
            child.kill()
            pytest.fail(f"node B did not start: {child.stderr.read()}")
        b = json.loads(line)
        timing("start of node B (other folder, in a child process)", time.monotonic() - t0)

        assert b["node"] != node.node_name
        assert b["port"] != node.amqp_port and b["epmd"] != node.epmd_port and b["dist"] != node.dist_port
        q = Queue("cpp.test.b-only", durable=False, auto_delete=False)
        with Connection(b["url"]) as cb, Connection(node.amqp_url) as ca:
            q(cb.default_channel).declare()
            with pytest.raises(NotFound):  # a separate broker, not a vhost of A
                q(ca.channel()).queue_declare(passive=True)

        # the test run "crashes": SIGKILL the owner; its watchdog must stop node B
        child.send_signal(signal.SIGKILL)
        child.wait()
        t0 = time.monotonic()
        b_node = RabbitNode(base)
        while b_node.is_running() and time.monotonic() - t0 < 45:
            time.sleep(0.2)
        timing("node B stopped by its watchdog after the owner's SIGKILL", time.monotonic() - t0)
        assert not b_node.is_running()
        deadline = time.monotonic() + 10
        while node_processes(b["node"], base) and time.monotonic() < deadline:
            time.sleep(0.2)  # epmd -kill and the watchdog's own exit come last
        assert_node_gone(b["node"], base, [b["port"], b["epmd"], b["dist"]])
        assert (base / "mnesia").is_dir()  # stop keeps the data
        assert node.is_running()  # node A untouched
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        RabbitNode(base).stop()


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cpp_shared.broker", *args], capture_output=True, text=True, timeout=150, env=env
    )


def test_cli_start_stop_destroy(tmp_path):
    base = tmp_path / "rabbit-cli"
    t0 = time.monotonic()
    res = run_cli("start", "--dir", str(base))
    timing("CLI start", time.monotonic() - t0)
    assert res.returncode == 0, res.stderr
    exports = dict(
        line.removeprefix("export ").split("=", 1) for line in res.stdout.splitlines() if line.startswith("export ")
    )
    assert exports["CPP_BROKER_DIR"] == str(base)
    cli_node = RabbitNode(base)
    try:
        assert exports["AMQP_URL"] == cli_node.amqp_url
        # the exports survive `eval` in a shell
        shell = subprocess.run(["sh", "-c", f'{res.stdout}\nprintf "%s" "$AMQP_URL"'], capture_output=True, text=True)
        assert shell.stdout == cli_node.amqp_url
        with Connection(exports["AMQP_URL"], transport_options=CONFIRMS) as conn:
            conn.connect()
        assert run_cli("status", "--dir", str(base)).returncode == 0
        assert run_cli("start", "--dir", str(base)).stdout == res.stdout  # no-op, same exports

        ports = [cli_node.amqp_port, cli_node.epmd_port, cli_node.dist_port]
        t0 = time.monotonic()
        res = run_cli("stop", env={**os.environ, "CPP_BROKER_DIR": str(base)})  # --dir from the environment
        timing("CLI stop", time.monotonic() - t0)
        assert res.returncode == 0, res.stderr
        assert_node_gone(cli_node.node_name, base, ports)
        assert run_cli("status", "--dir", str(base)).returncode == 3
        assert run_cli("stop", "--dir", str(base)).returncode == 0

        assert run_cli("destroy", "--dir", str(base)).returncode == 0
        assert not base.exists()
        assert run_cli("destroy", "--dir", str(base)).returncode == 0
    finally:
        cli_node.stop()


def test_missing_server_says_how_to_install(tmp_path):
    with pytest.raises(BrokerNotInstalled, match=r"apt-get install rabbitmq-server"):
        RabbitNode(tmp_path / "r", bin_dir=tmp_path / "no-rabbit").start()
