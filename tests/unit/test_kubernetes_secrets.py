"""Every secret the Kubernetes manifests mount is read from its file, and a secret missing from its mount stops the
container at start with a message naming the setting: each Deployment's own environment (its ConfigMaps and env, as
rendered by Kustomize) is given to the start-up checks every `cpp serve` and `cpp worker` runs first, once with every
secret file present and once without each of them."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cpp_shared.cli import _preflight
from tests.unit.test_kubernetes import KUBE, container, environment, of_kind, render

SECRETS_DIR = "/run/secrets/"
# The base leaves the identity provider's and the public addresses to each council's overlay.
COUNCIL_SETTINGS = {
    "CPP_OIDC_ISSUER": "https://idp.council.example",
    "CPP_OIDC_JWKS_URL": "https://idp.council.example/jwks",
    "CPP_WEB_OIDC_CLIENT_ID": "cpp",
    "CPP_WEB_EXTERNAL_URL": "https://cpp.council.example",
}


def secret_value(name: str) -> bytes:
    """What a council puts in each Secret: a working value of the right kind."""
    if name == "audit_checkpoint_key":
        return Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    if name == "notify_secrets_key":
        return Fernet.generate_key() + b"\n"
    if name.endswith("_store_url"):
        return f"sqlite:////var/lib/cpp/data/{name.removesuffix('_store_url')}.db\n".encode()
    if name == "broker_url":
        return b"amqp://cpp:broker-password@rabbitmq:5672/cpp\n"
    return secrets.token_urlsafe(32).encode() + b"\n"


BASE = render(KUBE / "base")
CONFIGMAPS = of_kind(BASE, "ConfigMap")
DEPLOYMENTS = of_kind(BASE, "Deployment")


def started(deployment: str, tmp_path: Path, monkeypatch, *, without: str | None = None, content=None):
    """Run the container's start-up checks with its environment, its secrets as files under ``tmp_path``;
    ``without`` (a variable) names a file that is not there, ``content`` overrides a file's bytes."""
    d = DEPLOYMENTS[deployment]
    env = {**environment(d, CONFIGMAPS), **COUNCIL_SETTINGS}
    env["CPP_DATA_DIR"] = str(tmp_path / "data")
    env["CPP_AUDIT_CHECKPOINT_DIR"] = str(tmp_path / "checkpoints")
    for key, value in env.items():
        if value.startswith(SECRETS_DIR):
            name = value.removeprefix(SECRETS_DIR)
            path = tmp_path / "secrets" / name
            env[key] = str(path)
            if key == without:
                continue
            path.parent.mkdir(exist_ok=True)
            path.write_bytes((content or {}).get(key) or secret_value(name))
    for key in [k for k in list(__import__("os").environ) if k.startswith("CPP_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    command = container(d)["command"]
    return _preflight(command[2], worker=command[1] == "worker")


def mounted(deployment: str) -> list[str]:
    env = environment(DEPLOYMENTS[deployment], CONFIGMAPS)
    return sorted(k for k, v in env.items() if v.startswith(SECRETS_DIR))


CASES = [(d, key) for d in sorted(DEPLOYMENTS) for key in mounted(d)]


def test_every_deployment_mounts_secrets_and_names_each_service():
    assert len(DEPLOYMENTS) == 11 and all(mounted(d) for d in DEPLOYMENTS)
    assert {container(d)["command"][1] for d in DEPLOYMENTS.values()} == {"serve", "worker"}


@pytest.mark.parametrize("deployment", sorted(DEPLOYMENTS))
def test_with_every_secret_file_present_each_container_starts(deployment, tmp_path, monkeypatch):
    spec, settings = started(deployment, tmp_path, monkeypatch)
    assert settings.mode == "production" and spec.name == container(DEPLOYMENTS[deployment])["command"][2]
    assert settings.broker_url.startswith("amqp://cpp:broker-password@") or spec.name == "web"


@pytest.mark.parametrize(("deployment", "variable"), CASES, ids=[f"{d}-{k}" for d, k in CASES])
def test_a_missing_secret_stops_the_container_naming_it(deployment, variable, tmp_path, monkeypatch, capsys):
    with pytest.raises(SystemExit) as stopped:
        started(deployment, tmp_path, monkeypatch, without=variable)
    assert stopped.value.code == 2
    message = capsys.readouterr().err
    assert variable in message and "cannot be read" in message, message


@pytest.mark.parametrize(
    ("deployment", "variable", "words"),
    [
        ("plans-worker", "CPP_AUDIT_CHECKPOINT_KEY_FILE", "audit checkpoint key"),
        ("scheduler-worker", "CPP_AUDIT_CHECKPOINT_KEY_FILE", "audit checkpoint key"),
        ("notify", "CPP_NOTIFY_SECRETS_KEY_FILE", "CPP_NOTIFY_SECRETS_KEY"),
        ("notify-worker", "CPP_NOTIFY_SECRETS_KEY_FILE", "CPP_NOTIFY_SECRETS_KEY"),
    ],
)
def test_a_key_that_is_not_a_key_stops_the_container_naming_it(
    deployment, variable, words, tmp_path, monkeypatch, capsys
):
    with pytest.raises(SystemExit):
        started(deployment, tmp_path, monkeypatch, content={variable: b"not a key\n"})
    assert words in capsys.readouterr().err
