"""cpp_shared.contracts is the agreement between the services and the plugins, not the machinery: importing it
brings in no web framework, broker client, store or service. And the library names no service: a service's
default port is its spec's (``ServiceSpec.port``), found through the ``cpp.services`` entry points."""

from __future__ import annotations

import json
import pkgutil
import re
import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import cpp_shared.contracts
from cpp_shared import services
from cpp_shared.config import ConfigError, Settings, default_port
from cpp_shared.services import installed_services, load_service
from cpp_shared.web import ServiceSpec

ROOT = Path(__file__).resolve().parents[2]
MACHINERY = (
    "flask",
    "flask_smorest",
    "werkzeug",
    "kombu",
    "amqp",
    "pymongo",
    "cloudevents",
    "cpp_shared.store",
    "cpp_shared.web",
    "cpp_shared.messaging",
    "cpp_shared.services",
    "cpp_shared.plugins",
    "cpp_plans",
    "cpp_scheduler",
    "cpp_notify",
    "cpp_docs",
    "cpp_web",
)
CONTRACTS = sorted(m.name for m in pkgutil.iter_modules(cpp_shared.contracts.__path__, "cpp_shared.contracts."))

#: A service of no other package, installed only for these tests (through the entry-point lookup below).
LEDGER = ServiceSpec(name="ledger", title="Ledger", description="A made-up service.", blueprints=list, port=5123)


def modules_after_importing(names: list[str]) -> list[str]:
    code = (
        f"import importlib, json, sys; [importlib.import_module(n) for n in {names!r}]; "
        "print(json.dumps(sorted(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def test_the_contracts_are_the_catalogue_the_topology_and_the_plugin_hooks():
    assert CONTRACTS == [
        "cpp_shared.contracts.catalogue",
        "cpp_shared.contracts.hook_answers",
        "cpp_shared.contracts.hookspecs",
        "cpp_shared.contracts.retention",
        "cpp_shared.contracts.timescales",
        "cpp_shared.contracts.topology",
    ]


def test_the_contracts_import_no_web_framework_broker_client_store_or_service():
    loaded = modules_after_importing(CONTRACTS)
    assert set(CONTRACTS) <= set(loaded)
    assert not [m for m in loaded if any(m == p or m.startswith(f"{p}.") for p in MACHINERY)]


def test_the_old_import_paths_are_the_contracts_own_objects():
    from cpp_shared import hookspecs
    from cpp_shared.contracts import hookspecs as contract_hooks
    from cpp_shared.contracts import topology
    from cpp_shared.messaging import topology as old_topology

    assert hookspecs.hookimpl is contract_hooks.hookimpl and hookspecs.PluginError is contract_hooks.PluginError
    assert hookspecs.INITIAL_CONFERENCE_PLAN_REQUIRED is contract_hooks.INITIAL_CONFERENCE_PLAN_REQUIRED
    assert old_topology.SUBSCRIPTIONS is topology.SUBSCRIPTIONS
    assert old_topology.parked_queue_name is topology.parked_queue_name


def test_the_main_queue_declared_on_the_broker_is_the_one_the_contract_names():
    from cpp_shared.contracts.topology import MAIN_QUEUE_OPTIONS, main_queue_name
    from cpp_shared.messaging.topology import main_queue

    queue = main_queue("docs")
    assert queue.name == main_queue_name("docs") == "docs"
    assert (queue.durable, queue.exclusive, queue.auto_delete) == (
        MAIN_QUEUE_OPTIONS["durable"],
        MAIN_QUEUE_OPTIONS["exclusive"],
        MAIN_QUEUE_OPTIONS["auto_delete"],
    )


# --- the default ports --------------------------------------------------------------------------------------


@pytest.fixture
def only_the_ledger(monkeypatch):
    """The installed services, as the entry points give them: only LEDGER."""
    found = [EntryPoint(name="ledger", value=f"{__name__}:LEDGER", group=services.ENTRY_POINT_GROUP)]
    monkeypatch.setattr(services, "entry_points", lambda group: found if group == services.ENTRY_POINT_GROUP else [])


def test_a_services_default_port_is_its_specs(only_the_ledger):
    assert installed_services() == ["ledger"]
    assert Settings.from_env("ledger", {}).port == 5123
    assert Settings.from_env("ledger", {"CPP_PORT": "6000"}).port == 6000
    assert Settings.from_env("ledger", {"CPP_PORT": "6000", "CPP_LEDGER_PORT": "6001"}).port == 6001
    assert default_port("ledger") == 5123


def test_a_service_not_installed_has_no_default_port(only_the_ledger):
    settings = Settings.from_env("plans", {})  # read for another purpose (a token's signing key), it is fine
    with pytest.raises(
        ConfigError,
        match=r"CPP_PLANS_PORT is not set, and there is no default port: unknown "
        r"service 'plans'; installed: ledger",
    ):
        _ = settings.port
    assert Settings.from_env("plans", {"CPP_PLANS_PORT": "5001"}).port == 5001
    with pytest.raises(ConfigError):
        default_port("plans")


def test_the_installed_services_give_their_ports_apis_first():
    ports = {name: Settings.from_env(name, {}).port for name in installed_services()}
    assert ports == {name: load_service(name).port for name in installed_services()}
    assert ports == {name: default_port(name) for name in installed_services()}
    assert ports == {"plans": 5001, "scheduler": 5002, "notify": 5003, "docs": 5004, "returns": 5005, "web": 5000}


def test_the_readmes_table_of_services_gives_their_ports():
    rows = re.findall(r"^\| (\w+) \| (\d+) \|", (ROOT / "README.md").read_text(), re.M)
    assert {name: int(port) for name, port in rows} == {name: default_port(name) for name in installed_services()}
