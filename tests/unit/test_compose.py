"""docker-compose.yml cannot run here (no Docker engine), so it is checked
against the Compose Specification's JSON schema and against the code: every
installed service has a web and a worker entry with the right command, port,
settings, secrets, healthcheck and dependencies, and no password is written
in it. tests/integration/test_compose_processes.py starts its processes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest

from cpp_shared.services import installed_services, load_service
from tests.compose_file import ROOT, make_secrets, mounted_secrets, raw, resolved, secret_file

COMPOSE = raw()
SERVICES = COMPOSE["services"]
SCHEMA = ROOT / "tests" / "fixtures" / "compose-spec" / "compose-spec.json"
BACKEND = ["plans", "scheduler", "notify", "docs", "returns"]
# Every CPP_ setting the code reads (config.py's _lookup calls), and the services' own named here.
KNOWN = {
    f"CPP_{n}"
    for n in re.findall(r'_lookup\(env, service, "([A-Z_]+)"', (ROOT / "shared/cpp_shared/config.py").read_text())
}
KNOWN.add("CPP_SCHEDULER_PUBLIC_URL")  # the scheduler's own (cpp_scheduler.api.calendar_feeds.public_url)
KNOWN.update({"CPP_AUDIT_CHECKPOINT_DIR", "CPP_AUDIT_CHECKPOINT_KEY_FILE"})  # cpp_shared.audit_checkpoints.config
KNOWN.add("CPP_OIDC_DISCOVERY_URL")  # cpp_shared.auth.TokenVerifier
KNOWN.add("CPP_WORKER_HEARTBEAT_FILE")  # cpp_shared.heartbeat
KNOWN.update(
    f"CPP_NOTIFY_{n}"
    for n in ("SECRETS_KEY", "SMTP_HOST", "SMTP_PORT", "SMTP_STARTTLS", "SMTP_USER", "SMTP_PASSWORD", "MAIL_FROM")
)  # cpp_notify.secretbox and .mailer


def known(setting: str) -> bool:
    """A setting the code reads, given as itself or as a file (CPP_X_FILE)."""
    return setting in KNOWN or setting.removesuffix("_FILE") in KNOWN or setting == "WEB_CONCURRENCY"


@pytest.fixture(scope="module")
def secrets_dir(tmp_path_factory) -> Path:
    return make_secrets(tmp_path_factory.mktemp("compose") / "secrets")


@pytest.fixture(scope="module")
def compose(secrets_dir) -> dict:
    """The file as compose reads it with the secrets in a folder of the test's."""
    return resolved({"CPP_SECRETS_DIR": str(secrets_dir)})


def test_the_file_is_valid_for_compose_v2():
    """Checked with the Compose Specification's own JSON schema (vendored:
    tests/fixtures/compose-spec/README.md), before and after interpolation."""
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema)
    for document in (COMPOSE, resolved({})):
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]
        assert not errors, "\n".join(errors)
    broken = resolved({})
    broken["services"]["plans"]["healthcheck"]["tests"] = broken["services"]["plans"]["healthcheck"].pop("test")
    assert any("'tests' does not match" in e.message for e in validator.iter_errors(broken))


def test_every_installed_service_is_in_compose():
    assert installed_services() == ["plans", "scheduler", "notify", "docs", "returns", "web"]
    for name in installed_services():
        assert name in SERVICES
        assert (f"{name}-worker" in SERVICES) == load_service(name).worker


@pytest.mark.parametrize("name", BACKEND)
def test_web_entry_matches_the_code(name):
    web = SERVICES[name]
    assert web["command"] == ["cpp", "serve", name]
    env = web["environment"]
    assert env["CPP_PORT"] == str(load_service(name).port) and env["CPP_HOST"] == "0.0.0.0"
    # published through a host-port range so that `--scale` can start several replicas
    [mapping] = web["ports"]
    host, container = mapping.rsplit(":", 1)
    assert container == str(load_service(name).port) and re.fullmatch(r"\d+-\d+", host)
    assert "/healthz" in " ".join(web["healthcheck"]["test"]) and "CPP_PORT" in " ".join(web["healthcheck"]["test"])
    assert load_service(name).app_module == f"cpp_{name}.app"


def host_ports(entry: dict) -> set[int]:
    """The host ports an entry's replicas may take: ``5001-5009:5001`` gives 5001 to 5009."""
    taken = set()
    for mapping in entry.get("ports", []):
        first, _, last = mapping.rsplit(":", 1)[0].rsplit(":", 1)[-1].partition("-")
        taken.update(range(int(first), int(last or first) + 1))
    return taken


def test_no_two_entries_may_take_the_same_host_port():
    """The web application's 5000-5009 once took plans' 5001-5009 too: whichever started first got the port."""
    seen: dict[int, str] = {}
    for name, entry in SERVICES.items():
        for port in host_ports(entry):
            assert port not in seen, f"{name} and {seen[port]} may both take host port {port}"
            seen[port] = name
    assert seen[5000] == "web" and seen[5001] == "plans"


def test_the_image_exposes_each_services_port():
    [exposed] = re.findall(r"^EXPOSE (.+)$", (ROOT / "Dockerfile").read_text(), re.M)
    assert sorted(map(int, exposed.split())) == sorted(load_service(s).port for s in installed_services())


@pytest.mark.parametrize("name", BACKEND)
def test_worker_entry_matches_the_code(name):
    worker = SERVICES[f"{name}-worker"]
    assert worker["command"] == ["cpp", "worker", name]
    assert "ports" not in worker


@pytest.mark.parametrize("name", BACKEND)
def test_every_worker_has_a_healthcheck_on_its_heartbeat(name):
    worker = SERVICES[f"{name}-worker"]
    assert worker["healthcheck"]["test"] == ["CMD", "cpp", "worker-health", name]
    assert worker["healthcheck"]["start_period"]
    assert worker["environment"]["CPP_WORKER_HEARTBEAT_FILE"].startswith("/tmp/")


@pytest.mark.parametrize("name", BACKEND)
def test_each_process_has_its_settings_and_dependencies(name, compose, secrets_dir):
    for entry in (SERVICES[name], SERVICES[f"{name}-worker"]):
        env = entry["environment"]
        assert all(map(known, env)), f"unknown settings {[k for k in env if not known(k)]}"
        assert env["CPP_BROKER_URL_FILE"] == "/run/secrets/broker_url"
        # each service its own database, on the replica set the outbox's transactions need, as its own user
        assert env["CPP_STORE_URL_FILE"] == f"/run/secrets/{name}_store_url"
        assert env["CPP_MODE"].startswith("${CPP_MODE:-production}")
        assert {"CPP_PLUGINS", "CPP_OIDC_JWKS_URL", "CPP_OIDC_ISSUER"} <= set(env)
        assert entry["depends_on"] == {
            "rabbitmq": {"condition": "service_healthy"},
            "mongodb": {"condition": "service_healthy"},
        }
        assert entry["build"] == "." and entry["restart"] == "unless-stopped"
    store_url = (secrets_dir / f"{name}-store-url").read_text().strip()
    assert re.fullmatch(
        rf"mongodb://cpp_{name}:[0-9a-f]{{48}}@mongodb:27017/cpp_{name}"
        r"\?replicaSet=rs0&tls=true&tlsCAFile=/run/secrets/mongo_ca",
        store_url,
    )


def test_every_file_setting_names_a_secret_the_service_is_given(compose, secrets_dir):
    """A *_FILE under /run/secrets/ is mounted there, from a file the secrets script makes."""
    for name, service in compose["services"].items():
        mounts = mounted_secrets(service)
        for setting, value in (service.get("environment") or {}).items():
            if value.startswith("/run/secrets/"):
                assert setting.endswith("_FILE") and value in mounts, f"{name}: {setting}={value} is not mounted"
        for secret in mounts.values():
            assert secret_file(compose, secret).parent == secrets_dir
            assert secret_file(compose, secret).is_file(), f"{name}: scripts/make-compose-secrets makes no {secret}"


def test_no_password_or_key_is_written_in_the_file():
    """Secrets come from files only: no setting named like a secret is given
    other than as a _FILE, no address carries a user's password, no variable
    has a password as its default."""
    text = (ROOT / "docker-compose.yml").read_text()
    assert not re.search(r"[a-z+]+://[^/\s:@]+:[^/\s@]+@", text), "an address with a password in it"
    assert "RABBITMQ_DEFAULT_PASS" not in text and "RABBITMQ_PASSWORD" not in text
    for name, service in SERVICES.items():
        for setting in service.get("environment") or {}:
            if re.search(r"PASS|SECRET|_KEY$|STORE_URL|BROKER_URL|TOKEN", setting):
                assert setting.endswith("_FILE"), f"{name}: {setting} is given as a value, not a file"


def test_notify_has_its_secrets_key_and_the_mail_relay():
    for entry in (SERVICES["notify"], SERVICES["notify-worker"]):
        env = entry["environment"]
        assert env["CPP_NOTIFY_SECRETS_KEY_FILE"] == "/run/secrets/notify_secrets_key"
        assert env["CPP_NOTIFY_SMTP_PASSWORD_FILE"] == "/run/secrets/smtp_password"
        for setting in ("SMTP_HOST", "SMTP_PORT", "SMTP_STARTTLS", "SMTP_USER", "MAIL_FROM"):
            assert f"CPP_NOTIFY_{setting}" in env
        assert {"notify_secrets_key", "smtp_password"} <= set(entry["secrets"])


def test_the_broker_keeps_its_user_in_a_secret_and_its_management_ui_on_this_host(secrets_dir):
    rabbitmq = SERVICES["rabbitmq"]
    assert "management" in rabbitmq["image"] and rabbitmq["restart"] == "unless-stopped"
    assert rabbitmq["ports"] == ["127.0.0.1:15672:15672"]
    assert rabbitmq["secrets"] == [{"source": "rabbitmq_conf", "target": "/etc/rabbitmq/conf.d/20-cpp.conf"}]
    assert "healthcheck" in rabbitmq and "environment" not in rabbitmq
    # RabbitMQ makes the user the services' broker URL signs in as.
    conf = dict(
        line.split(" = ", 1)
        for line in (secrets_dir / "rabbitmq.conf").read_text().splitlines()
        if " = " in line and not line.startswith("#")
    )
    url = urlsplit((secrets_dir / "broker-url").read_text().strip())
    assert (url.hostname, url.port) == ("rabbitmq", 5672)
    assert (conf["default_user"], conf["default_pass"], conf["default_vhost"]) == (
        url.username,
        url.password,
        url.path.lstrip("/"),
    )


def test_the_database_requires_sign_in_with_users_from_secrets():
    mongodb = SERVICES["mongodb"]
    assert mongodb["restart"] == "unless-stopped"
    assert mongodb["environment"] == {
        "MONGO_INITDB_ROOT_USERNAME_FILE": "/run/secrets/mongo_root_username",
        "MONGO_INITDB_ROOT_PASSWORD_FILE": "/run/secrets/mongo_root_password",
    }
    command = mongodb["command"]
    assert command[command.index("--replSet") + 1] == "rs0"
    assert command[command.index("--keyFile") + 1] == "/data/configdb/keyfile"
    assert "/run/secrets/mongo_keyfile /data/configdb/keyfile" in mongodb["entrypoint"][2]
    assert "./deploy/mongodb/initdb:/docker-entrypoint-initdb.d:ro" in mongodb["volumes"]
    assert {f"{s}_store_url" for s in BACKEND} <= set(mongodb["secrets"])
    health = " ".join(mongodb["healthcheck"]["test"])
    assert "/run/secrets/mongo_root_password" in health and "isWritablePrimary" in health


def test_the_database_makes_each_service_s_user_from_its_store_url(secrets_dir, tmp_path):
    """deploy/mongodb/initdb/cpp-users.js, run by node as mongosh would run
    it (mongosh is Node.js), with a db that records the users it is asked to make."""
    if shutil.which("node") is None:
        pytest.fail("node is not installed (Node.js 20.19 or later; `make test` needs it for the OpenID Provider)")
    runner = tmp_path / "run.js"
    runner.write_text("""
const fs = require("fs"), vm = require("vm");
const [script, secrets] = process.argv.slice(2);
const made = [];
const files = {...fs, readFileSync: (p, ...rest) => fs.readFileSync(p.replace("/run/secrets/", secrets + "/"), ...rest)};
const db = {getSiblingDB: (name) => ({createUser: (user) => made.push({db: name, ...user})})};
vm.runInNewContext(fs.readFileSync(script, "utf8"), {require: (m) => m === "fs" ? files : require(m), db, URL,
                                                     print: () => {}});
console.log(JSON.stringify(made));
""")
    mounted = tmp_path / "secrets"
    mounted.mkdir()
    for service in BACKEND:  # as the mongodb container sees them: under their secrets' names
        (mounted / f"{service}_store_url").write_text((secrets_dir / f"{service}-store-url").read_text())
    out = subprocess.run(
        ["node", str(runner), str(ROOT / "deploy/mongodb/initdb/cpp-users.js"), str(mounted)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    made = {user["db"]: user for user in json.loads(out)}
    assert set(made) == {f"cpp_{s}" for s in BACKEND}
    for service in BACKEND:
        url = urlsplit((secrets_dir / f"{service}-store-url").read_text().strip())
        user = made[f"cpp_{service}"]
        assert (user["user"], user["pwd"]) == (url.username, url.password)
        assert user["roles"] == [
            {"role": "readWrite", "db": f"cpp_{service}"},
            {"role": "readWrite", "db": f"cpp_{service}_limits"},
        ]


def test_the_secrets_script_keeps_what_exists(tmp_path):
    folder = make_secrets(tmp_path / "secrets")
    before = {p.name: p.read_text() for p in folder.iterdir()}
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    make_secrets(folder)
    assert {p.name: p.read_text() for p in folder.iterdir()} == before
    assert before["smtp-password"] == ""  # unset until the relay needs one
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    Fernet(before["notify-secrets-key"].strip())
    assert isinstance(load_pem_private_key(before["audit-checkpoint.key"].encode(), None), Ed25519PrivateKey)
    assert 6 <= len(before["mongo-keyfile"].strip()) <= 1024


def test_infrastructure():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in (
        "./shared",
        "./services/plans",
        "./services/scheduler",
        "./services/notify",
        "./services/docs",
        "./services/returns",
        "./services/web",
        "./plugins/england",
    ):
        assert package in dockerfile


def test_the_image_lets_its_user_write_every_volume_it_mounts():
    """A new named volume takes the owner of the image's folder it is mounted
    on: each must be made and given to the cpp user in the Dockerfile."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    [chown] = re.findall(r"chown cpp ([^\n&]+)", dockerfile)
    # the user by its fixed id, which Kubernetes' runAsNonRoot checks (deploy/kubernetes runs as 10001 too)
    assert "useradd --system --no-create-home --uid 10001 --user-group cpp" in dockerfile
    assert "USER 10001:10001" in dockerfile
    for name in [*BACKEND, *(f"{s}-worker" for s in BACKEND), "web"]:
        for volume in SERVICES[name]["volumes"]:
            assert volume.split(":")[1] in chown.split(), f"{name}: {volume}"


def test_docs_keeps_its_files_in_mongodb_not_a_volume(secrets_dir):
    """On MongoDB the docs service keeps its documents' bytes in GridFS
    (cpp_docs.files.open_file_store), so no process needs a shared folder."""
    for entry in (SERVICES["docs"], SERVICES["docs-worker"]):
        # the one volume every service has: its audit log's signed checkpoints
        assert entry["volumes"] == ["audit-checkpoints:/var/lib/cpp/audit-checkpoints"]
        assert "CPP_DATA_DIR" not in entry["environment"]
    assert (secrets_dir / "docs-store-url").read_text().startswith("mongodb://")
    assert "docs-files" not in (COMPOSE.get("volumes") or {})


def test_every_process_signs_its_audit_checkpoints_with_a_key_kept_outside_the_database():
    for name in BACKEND:
        for entry in (SERVICES[name], SERVICES[f"{name}-worker"]):
            env = entry["environment"]
            assert env["CPP_AUDIT_CHECKPOINT_KEY_FILE"] == "/run/secrets/audit_checkpoint_key"
            assert env["CPP_AUDIT_CHECKPOINT_DIR"] == "/var/lib/cpp/audit-checkpoints"
            assert "audit_checkpoint_key" in entry["secrets"]
    assert "audit-checkpoints" in COMPOSE["volumes"] and "audit_checkpoint_key" in COMPOSE["secrets"]


def test_the_web_application_calls_the_services_and_has_no_worker_database_or_broker():
    web = SERVICES["web"]
    assert web["command"] == ["cpp", "serve", "web"] and "web-worker" not in SERVICES
    assert load_service("web").app_module == "cpp_web.app" and not load_service("web").worker
    env = web["environment"]
    assert env["CPP_PORT"] == str(load_service("web").port) == "5000" and env["CPP_HOST"] == "0.0.0.0"
    [mapping] = web["ports"]
    assert mapping.rsplit(":", 1)[1] == "5000"
    for service in BACKEND:
        assert env[f"CPP_WEB_{service.upper()}_URL"] == f"http://{service}:{load_service(service).port}"
    assert not {"CPP_STORE_URL", "CPP_STORE_URL_FILE", "CPP_BROKER_URL", "CPP_BROKER_URL_FILE"} & set(env)
    assert env["CPP_WEB_SECRET_KEY_FILE"] == "/run/secrets/web_secret_key"
    assert env["CPP_WEB_OIDC_CLIENT_SECRET_FILE"] == "/run/secrets/web_oidc_client_secret"
    assert web["secrets"] == ["web_secret_key", "web_oidc_client_secret"]
    assert web["volumes"] == ["web-sessions:/var/lib/cpp/web"] and env["CPP_DATA_DIR"] == "/var/lib/cpp/web"
    assert "/healthz" in " ".join(web["healthcheck"]["test"])
