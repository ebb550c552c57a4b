"""MongoDB in compose: authentication with a user per service (see also
tests/unit/test_compose.py), TLS required on every connection with the
self-signed authority scripts/make-compose-secrets makes, and the production
example of a three-member replica set (deploy/mongodb/replica-set.compose.yml),
checked like docker-compose.yml with the Compose Specification's schema, as
no container engine runs here."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pymongo.uri_parser import parse_uri

from tests.compose_file import ROOT, SECRETS_SCRIPT, make_secrets, mounted_secrets, raw, resolved

SCHEMA = ROOT / "tests" / "fixtures" / "compose-spec" / "compose-spec.json"
REPLICA_SET = ROOT / "deploy" / "mongodb" / "replica-set.compose.yml"
BACKEND = ["plans", "scheduler", "notify", "docs", "returns"]
TLS_ARGS = ["--tlsMode", "requireTLS", "--tlsCertificateKeyFile", "/data/configdb/server.pem"]


@pytest.fixture(scope="module")
def secrets_dir(tmp_path_factory) -> Path:
    return make_secrets(tmp_path_factory.mktemp("compose-mongodb") / "secrets")


def merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Compose's merge of an override file, for what these files use:
    mappings merged key by key, anything else replaced."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def arg(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_the_database_requires_tls_with_the_secrets_certificate():
    mongodb = raw()["services"]["mongodb"]
    command = mongodb["command"]
    assert command[command.index("--tlsMode") : command.index("--tlsMode") + 4] == TLS_ARGS
    assert arg(command, "--tlsCAFile") == "/run/secrets/mongo_ca"
    # Services sign in with passwords: no client certificate asked for.
    assert "--tlsAllowConnectionsWithoutCertificates" in command
    assert (
        "install -o mongodb -g mongodb -m 0400 /run/secrets/mongo_server_pem /data/configdb/server.pem"
        in (mongodb["entrypoint"][2])
    )
    assert {"mongo_ca", "mongo_server_pem"} <= set(mongodb["secrets"])
    health = " ".join(mongodb["healthcheck"]["test"])
    assert "--tls --tlsCAFile /run/secrets/mongo_ca --host localhost" in health


@pytest.mark.parametrize("name", BACKEND)
def test_each_service_reaches_its_database_over_tls_trusting_the_compose_authority(name, secrets_dir):
    compose = resolved({"CPP_SECRETS_DIR": str(secrets_dir)})
    url = (secrets_dir / f"{name}-store-url").read_text().strip()
    # Not validated: pymongo opens the CA file to validate, and it is at its path in the container only.
    parsed = parse_uri(url, validate=False, warn=False)
    assert parsed["options"]["tls"] == "true" and parsed["options"]["replicaSet"] == "rs0"
    ca = parsed["options"]["tlsCAFile"]
    assert parsed["username"] == f"cpp_{name}" and parsed["database"] == f"cpp_{name}"
    for entry in (f"{name}", f"{name}-worker"):
        mounts = mounted_secrets(compose["services"][entry])
        assert mounts.get(ca) == "mongo_ca", f"{entry} does not have the authority's certificate at {ca}"
    assert compose["secrets"]["mongo_ca"]["file"] == f"{secrets_dir}/mongo-ca.crt"


def test_the_database_s_certificate_is_the_authority_s_for_every_member_s_name(secrets_dir):
    ca, pem = secrets_dir / "mongo-ca.crt", secrets_dir / "mongo-server.pem"
    subprocess.run(["openssl", "verify", "-CAfile", str(ca), str(pem)], check=True, capture_output=True)
    text = subprocess.run(
        ["openssl", "x509", "-in", str(pem), "-noout", "-ext", "subjectAltName,extendedKeyUsage"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for name in ("mongodb", "mongodb-2", "mongodb-3", "localhost"):
        assert f"DNS:{name}," in text + ",", f"{name} is not in the certificate"
    # Members connect to each other with it: a client's certificate too.
    assert "TLS Web Server Authentication" in text and "TLS Web Client Authentication" in text
    assert "PRIVATE KEY" in pem.read_text() and "PRIVATE KEY" not in ca.read_text()
    for private in ("mongo-server.pem", "mongo-ca.key"):
        assert oct((secrets_dir / private).stat().st_mode & 0o777) == "0o600"
    compose = resolved({"CPP_SECRETS_DIR": str(secrets_dir)})
    mounted = {s for service in compose["services"].values() for s in mounted_secrets(service).values()}
    assert "mongo_ca_key" not in compose["secrets"] and not any(
        "ca.key" in s["file"] for s in compose["secrets"].values()
    )
    assert {"mongo_ca", "mongo_server_pem"} <= mounted


def test_store_urls_from_before_tls_get_it_and_keep_their_password(tmp_path):
    folder = make_secrets(tmp_path / "secrets")
    old = "mongodb://cpp_plans:0123abcd@mongodb:27017/cpp_plans?replicaSet=rs0"
    (folder / "plans-store-url").write_text(old + "\n")
    ca = (folder / "mongo-ca.crt").read_text()
    out = subprocess.run([sys.executable, str(SECRETS_SCRIPT), str(folder)], check=True, capture_output=True, text=True)
    assert "plans-store-url (TLS added)" in out.stdout
    assert (folder / "plans-store-url").read_text() == old + "&tls=true&tlsCAFile=/run/secrets/mongo_ca\n"
    assert (folder / "mongo-ca.crt").read_text() == ca, "kept"


def test_the_replica_set_example_is_valid_compose_over_the_main_file():
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema)
    override = yaml.safe_load(REPLICA_SET.read_text())
    for document in (override, merged(raw(), override), merged(resolved({}), resolved({}, override))):
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]
        assert not errors, "\n".join(errors)


def test_the_replica_set_example_has_three_members_alike_with_authentication_and_tls():
    main = raw()
    compose = merged(main, yaml.safe_load(REPLICA_SET.read_text()))
    members = ["mongodb", "mongodb-2", "mongodb-3"]
    services = compose["services"]
    for name in members:
        member = services[name]
        assert member["image"] == main["services"]["mongodb"]["image"]
        assert member["command"] == main["services"]["mongodb"]["command"], f"{name} runs mongod otherwise"
        assert member["entrypoint"] == main["services"]["mongodb"]["entrypoint"]
        assert {"mongo_keyfile", "mongo_ca", "mongo_server_pem"} <= set(member["secrets"])
        assert set(member["secrets"]) <= set(compose["secrets"])
        assert member["healthcheck"]["test"]
    volumes = [v.split(":")[0] for name in members for v in services[name]["volumes"] if v.endswith(":/data/db")]
    assert len(set(volumes)) == 3 and set(volumes) <= set(compose["volumes"]), "a volume of its own each"
    health = " ".join(services["mongodb"]["healthcheck"]["test"])
    hosts = re.findall(r"host: '([^']+)'", health)
    assert hosts == ["mongodb:27017", "mongodb-2:27017", "mongodb-3:27017"]
    assert "--tls --tlsCAFile /run/secrets/mongo_ca" in health and "/run/secrets/mongo_root_password" in health
    assert services["mongodb"]["depends_on"] == {
        "mongodb-2": {"condition": "service_healthy"},
        "mongodb-3": {"condition": "service_healthy"},
    }
    # Only the first member makes the users (they replicate to the others).
    assert all("environment" not in services[name] for name in members[1:])
    # The certificate names every member (scripts/make-compose-secrets).
    script = SECRETS_SCRIPT.read_text()
    names = re.search(r"MONGO_NAMES = \(([^)]*)\)", script)
    assert names is not None and set(members) <= set(re.findall(r'"([^"]+)"', names.group(1)))


def test_the_store_urls_name_every_member_when_asked_and_keep_their_passwords(tmp_path):
    folder = make_secrets(tmp_path / "secrets")
    before = {name: (folder / f"{name}-store-url").read_text() for name in BACKEND}
    for name in BACKEND:
        assert parse_uri(before[name].strip(), validate=False, warn=False)["nodelist"] == [("mongodb", 27017)]

    def run(*args: str) -> str:
        return subprocess.run(
            [sys.executable, str(SECRETS_SCRIPT), *args, str(folder)], check=True, capture_output=True, text=True
        ).stdout

    out = run("--members", "mongodb,mongodb-2,mongodb-3")
    members = [("mongodb", 27017), ("mongodb-2", 27017), ("mongodb-3", 27017)]
    # The replica set's own list (its healthcheck's rs.initiate) is the one the services are given.
    health = " ".join(yaml.safe_load(REPLICA_SET.read_text())["services"]["mongodb"]["healthcheck"]["test"])
    assert [tuple(h.split(":")) for h in re.findall(r"host: '([^']+)'", health)] == [(h, str(p)) for h, p in members]
    for name in BACKEND:
        assert f"{name}-store-url (members mongodb:27017,mongodb-2:27017,mongodb-3:27017)" in out
        old, new = (
            parse_uri(u.strip(), validate=False, warn=False)
            for u in (before[name], (folder / f"{name}-store-url").read_text())
        )
        assert new["nodelist"] == members
        assert (new["username"], new["password"], new["database"]) == (
            old["username"],
            old["password"],
            old["database"],
        )
        assert dict(new["options"]) == dict(old["options"])
    # Run again without --members: the URLs are kept as they are.
    assert "every secret is there" in run()
    assert all(
        parse_uri((folder / f"{name}-store-url").read_text().strip(), validate=False, warn=False)["nodelist"] == members
        for name in BACKEND
    )
    # A member the certificate does not name is refused, nothing changed.
    refused = subprocess.run(
        [sys.executable, str(SECRETS_SCRIPT), "--members", "mongodb,db-4", str(folder)], capture_output=True, text=True
    )
    assert refused.returncode == 2 and "db-4" in refused.stderr
    assert "mongodb-3:27017" in (folder / "plans-store-url").read_text()


def test_a_new_folder_made_for_the_replica_set_names_every_member(tmp_path):
    folder = tmp_path / "secrets"
    subprocess.run(
        [sys.executable, str(SECRETS_SCRIPT), "--members", "mongodb,mongodb-2,mongodb-3", str(folder)],
        check=True,
        capture_output=True,
    )
    url = (folder / "docs-store-url").read_text().strip()
    assert url.startswith("mongodb://cpp_docs:") and "@mongodb:27017,mongodb-2:27017,mongodb-3:27017/cpp_docs?" in url
