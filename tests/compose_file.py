"""docker-compose.yml as Docker Compose reads it, for tests on a machine
with no container engine: the YAML (PyYAML resolves its anchors and merge
keys), the variables interpolated as the Compose Specification says, and
the secrets scripts/make-compose-secrets writes."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
SECRETS_SCRIPT = ROOT / "scripts" / "make-compose-secrets"

# $$, ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, ${NAME:+other}, ${NAME+other}, $NAME
_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*)|(?P<invalid>))"
)


class InterpolationError(Exception):
    """A ${NAME:?message} whose variable is not set, or a $ that names nothing."""


def raw() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    def replace(match: re.Match) -> str:
        if match["escaped"]:
            return "$"
        if match["invalid"] is not None:
            raise InterpolationError(f"a $ that names no variable in {text!r}")
        name = match["braced"] or match["bare"]
        value, op, arg = variables.get(name), match["op"], match["arg"]
        unset = value is None or (op is not None and op.startswith(":") and value == "")
        if op in ("-", ":-"):
            return arg if unset else value
        if op in ("?", ":?"):
            if unset:
                raise InterpolationError(f"{name}: {arg}")
            return value
        if op in ("+", ":+"):
            return "" if unset else arg
        return value or ""

    return _VARIABLE.sub(replace, text)


def resolved(variables: Mapping[str, str], document: dict[str, Any] | None = None) -> dict[str, Any]:
    """The compose file with every string's variables replaced, as `docker compose config` shows it."""

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return interpolate(node, variables)
        if isinstance(node, dict):
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return walk(copy.deepcopy(document if document is not None else raw()))


def make_secrets(folder: Path) -> Path:
    subprocess.run([sys.executable, str(SECRETS_SCRIPT), str(folder)], check=True, capture_output=True, text=True)
    return folder


def secret_file(document: dict[str, Any], name: str) -> Path:
    """The file a top-level secret names (relative paths from the compose file's folder)."""
    path = Path(document["secrets"][name]["file"])
    return path if path.is_absolute() else ROOT / path


def mounted_secrets(service: dict[str, Any]) -> dict[str, str]:
    """Where each of a service's secrets appears in its container: its path -> the secret's name."""
    mounts = {}
    for entry in service.get("secrets") or []:
        source = entry if isinstance(entry, str) else entry["source"]
        target = source if isinstance(entry, str) else entry.get("target", source)
        mounts[target if target.startswith("/") else f"/run/secrets/{target}"] = source
    return mounts
