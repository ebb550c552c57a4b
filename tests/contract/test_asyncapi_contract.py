"""Every service's /asyncapi.json, as served, checked by the AsyncAPI
project's own parser (@asyncapi/parser 3.6.6, through
tests/validators/asyncapi-check.mjs), and its broker bindings and receive
operations checked against the deployment's broker URL and the topology."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from cpp_shared.contracts.catalogue import CATALOGUE
from cpp_shared.contracts.topology import SUBSCRIPTIONS
from cpp_shared.messaging.topology import broker_vhost
from cpp_shared.services import installed_services
from tests.helpers import bearer, free_port

VALIDATORS = Path(__file__).resolve().parents[1] / "validators"
CHECK = VALIDATORS / "asyncapi-check.mjs"
SERVICES = tuple(SUBSCRIPTIONS)  # every service that serves the document (the web application serves none)
VHOST = "cpp-north/east"  # with a "/" of its own, written %2F in the URL


def asyncapi_errors(document: dict, folder: Path) -> tuple[int, str]:
    """The parser's exit code and its diagnostics of severity error."""
    if shutil.which("node") is None:
        pytest.fail("node is not installed: install Node.js 20.19 or later, then run scripts/ensure-test-node-packages")
    if not (VALIDATORS / "node_modules" / "@asyncapi" / "parser").is_dir():
        pytest.fail(
            "@asyncapi/parser is not installed: run scripts/ensure-test-node-packages (npm ci in tests/validators)"
        )
    path = folder / "asyncapi.json"
    path.write_text(json.dumps(document))
    done = subprocess.run(["node", str(CHECK), str(path)], cwd=VALIDATORS, capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout + done.stderr


@pytest.fixture
def served(make_settings, token_for):
    """served(service) -> the service's /asyncapi.json, its broker URL in the virtual host VHOST."""
    url = f"amqp://guest:guest@127.0.0.1:{free_port()}/{VHOST.replace('/', '%2F')}"

    def get(service: str) -> dict:
        app = importlib.import_module(f"cpp_{service}.app").create_app(make_settings(service, CPP_BROKER_URL=url))
        answer = app.test_client().get("/asyncapi.json", headers=bearer(token_for("auditor")))
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return answer.json

    return get


def routed(pattern: str, event_type: str) -> bool:
    """RabbitMQ's topic matching, written here apart from the catalogue's, for
    the patterns the topology has: words, the last of which may be ``*``
    (one word) or ``#`` (none or more)."""
    *words, last = pattern.split(".")
    assert not {"*", "#"} & set(words), pattern
    head = ".".join(words)
    rest = event_type[len(head) + 1 :] if event_type.startswith(f"{head}.") else None
    if last == "#":
        return not head or event_type == head or rest is not None
    if last == "*":
        return bool(rest) and "." not in rest
    return event_type == pattern


def test_every_installed_service_but_the_web_application_is_checked():
    assert installed_services() == [*SERVICES, "web"]


@pytest.mark.parametrize("service", SERVICES)
def test_each_services_document_is_valid_for_the_asyncapi_parser(served, tmp_path, service):
    code, errors = asyncapi_errors(served(service), tmp_path)
    assert (code, errors) == (0, ""), f"@asyncapi/parser found errors in {service}'s /asyncapi.json:\n{errors}"


def test_the_parser_check_reports_a_broken_document(served, tmp_path):
    document = served("plans")
    document["operations"]["receive.plans"]["messages"].append(
        {"$ref": "#/channels/case.opened.v1/messages/case.opened.v1"}
    )
    code, errors = asyncapi_errors(document, tmp_path)
    assert code == 1
    assert "asyncapi3-operation-messages-from-referred-channel /operations/receive.plans/messages/" in errors


def test_the_broker_bindings_are_in_the_deployments_virtual_host(served):
    for service in SERVICES:
        document = served(service)
        vhosts = {
            name: binding.get("exchange", binding.get("queue"))["vhost"]
            for name, channel in document["channels"].items()
            for binding in [channel["bindings"]["amqp"]]
        }
        assert set(vhosts.values()) == {VHOST}, (service, {k: v for k, v in vhosts.items() if v != VHOST})


@pytest.mark.parametrize(
    "url, vhost",
    [
        ("amqp://guest:guest@127.0.0.1:5672//", "/"),
        ("amqp://guest:guest@127.0.0.1:5672/", "/"),
        ("amqp://guest:guest@127.0.0.1:5672", "/"),
        ("amqp://cpp:secret@rabbitmq:5672/cpp", "cpp"),  # docker-compose.yml's
        ("amqps://cpp:secret@broker.example/%2Fcpp?heartbeat=30", "/cpp"),
    ],
)
def test_the_virtual_host_is_the_one_the_broker_url_names(url, vhost):
    assert broker_vhost(url) == vhost


def test_each_consumer_receives_from_its_queue_every_type_its_bindings_route_there(served):
    document = served("notify")
    channels, operations = document["channels"], document["operations"]
    for service, patterns in SUBSCRIPTIONS.items():
        expected = {t for t in CATALOGUE if any(routed(p, t) for p in patterns)}
        channel = channels[f"queue.{service}"]
        assert channel["address"] == service
        assert channel["bindings"]["amqp"]["is"] == "queue"
        assert channel["bindings"]["amqp"]["queue"] == {
            "name": service,
            "durable": True,
            "exclusive": False,
            "autoDelete": False,
            "vhost": VHOST,
        }
        assert set(channel["messages"]) == expected, service
        assert all(ref == {"$ref": f"#/components/messages/{t}"} for t, ref in channel["messages"].items())
        operation = operations[f"receive.{service}"]
        assert operation["action"] == "receive" and operation["channel"] == {"$ref": f"#/channels/queue.{service}"}
        assert {m["$ref"] for m in operation["messages"]} == {
            f"#/channels/queue.{service}/messages/{t}" for t in expected
        }
        assert operation["bindings"]["amqp"]["ack"] is True
    receivers = {name for name, op in operations.items() if op["action"] == "receive"}
    assert receivers == {f"receive.{s}" for s in SUBSCRIPTIONS}
    assert "lookup.performed.v1" in channels["queue.notify"]["messages"]
    assert "lookup.performed.v1" not in channels["queue.docs"]["messages"]
    assert not any(t.startswith("access.") for t in channels["queue.plans"]["messages"])  # plans makes them
