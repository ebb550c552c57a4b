"""cpp_shared.contracts is the agreement between the services and the plugins, not the machinery: importing it
brings in no web framework, broker client, store or service."""
from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import cpp_shared.contracts

MACHINERY = ("flask", "flask_smorest", "werkzeug", "kombu", "amqp", "pymongo", "cloudevents", "cpp_shared.store",
             "cpp_shared.web", "cpp_shared.messaging", "cpp_shared.services", "cpp_shared.plugins", "cpp_plans",
             "cpp_scheduler", "cpp_notify", "cpp_docs", "cpp_web")
CONTRACTS = sorted(m.name for m in pkgutil.iter_modules(cpp_shared.contracts.__path__, "cpp_shared.contracts."))


def modules_after_importing(names: list[str]) -> list[str]:
    code = (f"import importlib, json, sys; [importlib.import_module(n) for n in {names!r}]; "
            "print(json.dumps(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def test_the_contracts_are_the_catalogue_the_topology_and_the_plugin_hooks():
    assert CONTRACTS == ["cpp_shared.contracts.catalogue", "cpp_shared.contracts.hook_answers",
                         "cpp_shared.contracts.hookspecs", "cpp_shared.contracts.timescales",
                         "cpp_shared.contracts.topology"]


def test_the_contracts_import_no_web_framework_broker_client_store_or_service():
    loaded = modules_after_importing(CONTRACTS)
    assert set(CONTRACTS) <= set(loaded)
    assert not [m for m in loaded if any(m == p or m.startswith(f"{p}.") for p in MACHINERY)]


def test_the_old_import_paths_are_the_contracts_own_objects():
    from cpp_shared import hookspecs, timescales
    from cpp_shared.contracts import catalogue, hookspecs as contract_hooks, timescales as contract_rules, topology
    from cpp_shared.messaging import catalogue as old_catalogue, topology as old_topology

    assert hookspecs.hookimpl is contract_hooks.hookimpl and hookspecs.PluginError is contract_hooks.PluginError
    assert hookspecs.INITIAL_CONFERENCE_PLAN_REQUIRED is contract_hooks.INITIAL_CONFERENCE_PLAN_REQUIRED
    assert timescales.Rule is contract_rules.Rule and timescales.timescale_rules is contract_rules.timescale_rules
    assert old_catalogue.CATALOGUE is catalogue.CATALOGUE and old_catalogue.field_classes is catalogue.field_classes
    assert old_topology.SUBSCRIPTIONS is topology.SUBSCRIPTIONS
    assert old_topology.parked_queue_name is topology.parked_queue_name


def test_the_main_queue_declared_on_the_broker_is_the_one_the_contract_names():
    from cpp_shared.contracts.topology import MAIN_QUEUE_OPTIONS, main_queue_name
    from cpp_shared.messaging.topology import main_queue

    queue = main_queue("docs")
    assert queue.name == main_queue_name("docs") == "docs"
    assert (queue.durable, queue.exclusive, queue.auto_delete) == (
        MAIN_QUEUE_OPTIONS["durable"], MAIN_QUEUE_OPTIONS["exclusive"], MAIN_QUEUE_OPTIONS["auto_delete"])
