"""Every service has one layout: ``app.py`` (the wiring), ``api/`` (the HTTP
resources), ``domain/`` (the rules), ``handlers.py`` (the events it hears)
and ``store.py`` (its collections, named by constants). A service's domain
is plain Python: it imports no Flask, no broker client, no database driver
and none of the platform's store, messaging or web modules, directly or
through another module."""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

SERVICES = ("cpp_plans", "cpp_scheduler", "cpp_notify", "cpp_docs")
FORBIDDEN = ("flask", "flask_smorest", "kombu", "pymongo", "cpp_shared.store", "cpp_shared.messaging", "cpp_shared.web")


def root(package: str) -> Path:
    return Path(importlib.import_module(package).__file__).parent


def domain_modules(package: str) -> list[str]:
    found = [m.name for m in pkgutil.iter_modules([str(root(package) / "domain")], f"{package}.domain.")]
    assert found, f"{package}.domain has no modules"
    return found


def forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


@pytest.mark.parametrize("package", SERVICES)
def test_each_service_has_the_five_names(package):
    here = root(package)
    assert (here / "app.py").is_file() and (here / "handlers.py").is_file() and (here / "store.py").is_file()
    assert (here / "api" / "__init__.py").is_file() and (here / "domain" / "__init__.py").is_file()
    assert not (here / "api.py").exists(), "the HTTP resources live in api/, one module per resource"


@pytest.mark.parametrize("package", SERVICES)
def test_a_services_domain_imports_nothing_of_the_web_the_broker_or_the_store(package):
    """Imported alone, in a fresh interpreter: what the domain pulls in,
    however indirectly."""
    code = (
        "import importlib, json, sys\n"
        f"for name in {domain_modules(package)!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    bad = sorted({next(f for f in FORBIDDEN if m == f or m.startswith(f + ".")) for m in loaded if forbidden(m)})
    assert not bad, f"importing {package}.domain loads {', '.join(bad)}"
    outside = [m for m in loaded if m.startswith(package + ".") and not m.startswith(f"{package}.domain")]
    assert outside == [], "the domain uses only itself, never the service's store, handlers or API"


@pytest.mark.parametrize("package", SERVICES)
def test_no_import_in_a_domain_module_reaches_out(package):
    """Every import statement, also those inside functions (which importing
    the module does not run)."""
    for path in sorted((root(package) / "domain").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            where = f"{path.name} line {getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                assert node.level <= 1, f"{where} imports from above domain/"
                names = [node.module or ""] if node.level == 0 else []
            else:
                continue
            for name in names:
                assert not forbidden(name), f"{where} imports {name}"
                assert name.split(".")[:2] == [package, "domain"] or name.split(".")[0] != package, (
                    f"{where} imports {name}"
                )
