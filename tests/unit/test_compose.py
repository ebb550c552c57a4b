"""docker-compose.yml cannot run here (no Docker engine), so it is checked
against the code: every installed service has a web and a worker entry with
the right command, port, settings and dependencies."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from cpp_shared.config import DEFAULT_PORTS
from cpp_shared.services import installed_services, load_service

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
# Every CPP_ setting the code reads (config.py's _lookup calls, and the env names it documents).
KNOWN = {f"CPP_{n}" for n in re.findall(r'_lookup\(env, service, "([A-Z_]+)"', (ROOT / "shared/cpp_shared/config.py").read_text())}
KNOWN.add("CPP_SCHEDULER_PUBLIC_URL")  # the scheduler's own (cpp_scheduler.api.public_url)
KNOWN.update({"CPP_AUDIT_CHECKPOINT_DIR", "CPP_AUDIT_CHECKPOINT_KEY_FILE"})  # cpp_shared.audit_checkpoints.config


def test_every_installed_service_is_in_compose():
    assert installed_services() == ["plans", "scheduler", "notify", "docs", "web"]
    for name in installed_services():
        assert name in SERVICES
        assert (f"{name}-worker" in SERVICES) == load_service(name).worker


@pytest.mark.parametrize("name", ["plans", "scheduler", "notify", "docs"])
def test_web_entry_matches_the_code(name):
    web = SERVICES[name]
    assert web["command"] == ["cpp", "serve", name]
    env = web["environment"]
    assert env["CPP_PORT"] == str(DEFAULT_PORTS[name]) and env["CPP_HOST"] == "0.0.0.0"
    # published through a host-port range so that `--scale` can start several replicas
    [mapping] = web["ports"]
    host, container = mapping.rsplit(":", 1)
    assert container == str(DEFAULT_PORTS[name]) and re.fullmatch(r"\d+-\d+", host)
    assert "/healthz" in " ".join(web["healthcheck"]["test"]) and "CPP_PORT" in " ".join(web["healthcheck"]["test"])
    assert load_service(name).app_module == f"cpp_{name}.app"


@pytest.mark.parametrize("name", ["plans", "scheduler", "notify", "docs"])
def test_worker_entry_matches_the_code(name):
    worker = SERVICES[f"{name}-worker"]
    assert worker["command"] == ["cpp", "worker", name]
    assert "ports" not in worker


@pytest.mark.parametrize("name", ["plans", "scheduler", "notify", "docs"])
def test_each_process_has_its_settings_and_dependencies(name):
    for entry in (SERVICES[name], SERVICES[f"{name}-worker"]):
        env = entry["environment"]
        assert set(env) <= KNOWN | {"WEB_CONCURRENCY"}, f"unknown settings {set(env) - KNOWN}"
        assert env["CPP_BROKER_URL"].startswith("amqp://") and "@rabbitmq:5672/" in env["CPP_BROKER_URL"]
        # each service its own database, on the replica set the outbox's transactions need
        assert env["CPP_STORE_URL"] == f"mongodb://mongodb:27017/cpp_{name}?replicaSet=rs0"
        assert env["CPP_MODE"].startswith("${CPP_MODE:-production}")
        assert {"CPP_PLUGINS", "CPP_OIDC_JWKS_URL", "CPP_OIDC_ISSUER"} <= set(env)
        assert entry["depends_on"] == {"rabbitmq": {"condition": "service_healthy"},
                                       "mongodb": {"condition": "service_healthy"}}
        assert entry["build"] == "."


def test_infrastructure():
    assert "management" in SERVICES["rabbitmq"]["image"]
    assert SERVICES["rabbitmq"]["environment"]["RABBITMQ_DEFAULT_VHOST"] == "cpp"
    assert "--replSet" in SERVICES["mongodb"]["command"]
    assert "healthcheck" in SERVICES["rabbitmq"] and "healthcheck" in SERVICES["mongodb"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("./shared", "./services/plans", "./services/scheduler", "./services/notify", "./services/docs",
                    "./services/web", "./plugins/england"):
        assert package in dockerfile


def test_docs_keeps_its_files_in_mongodb_not_a_volume():
    """On MongoDB the docs service keeps its documents' bytes in GridFS
    (cpp_docs.files.open_file_store), so no process needs a shared folder."""
    for entry in (SERVICES["docs"], SERVICES["docs-worker"]):
        # the one volume every service has: its audit log's signed checkpoints
        assert entry["volumes"] == ["audit-checkpoints:/var/lib/cpp/audit-checkpoints"]
        assert "CPP_DATA_DIR" not in entry["environment"]
        assert entry["environment"]["CPP_STORE_URL"].startswith("mongodb://")
    assert "docs-files" not in (COMPOSE.get("volumes") or {})


def test_every_process_signs_its_audit_checkpoints_with_a_key_kept_outside_the_database():
    for name in ("plans", "scheduler", "notify", "docs"):
        for entry in (SERVICES[name], SERVICES[f"{name}-worker"]):
            env = entry["environment"]
            assert env["CPP_AUDIT_CHECKPOINT_KEY_FILE"] == "/run/secrets/audit_checkpoint_key"
            assert env["CPP_AUDIT_CHECKPOINT_DIR"] == "/var/lib/cpp/audit-checkpoints"
            assert entry["secrets"] == ["audit_checkpoint_key"]
    assert "audit-checkpoints" in COMPOSE["volumes"] and "audit_checkpoint_key" in COMPOSE["secrets"]


def test_the_web_application_calls_the_services_and_has_no_worker_or_database():
    web = SERVICES["web"]
    assert web["command"] == ["cpp", "serve", "web"] and "web-worker" not in SERVICES
    assert load_service("web").app_module == "cpp_web.app" and not load_service("web").worker
    env = web["environment"]
    assert env["CPP_PORT"] == str(DEFAULT_PORTS["web"]) == "5000" and env["CPP_HOST"] == "0.0.0.0"
    [mapping] = web["ports"]
    assert mapping.rsplit(":", 1)[1] == "5000"
    for service in ("plans", "scheduler", "notify", "docs"):
        assert env[f"CPP_WEB_{service.upper()}_URL"] == f"http://{service}:{DEFAULT_PORTS[service]}"
    assert "CPP_STORE_URL" not in env
    assert env["CPP_WEB_SECRET_KEY_FILE"] == "/run/secrets/web_secret_key" and web["secrets"] == ["web_secret_key"]
    assert web["volumes"] == ["web-sessions:/var/lib/cpp/web"] and env["CPP_DATA_DIR"] == "/var/lib/cpp/web"
    assert "/healthz" in " ".join(web["healthcheck"]["test"])
