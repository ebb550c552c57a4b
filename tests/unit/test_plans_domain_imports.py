"""The plans domain (lifecycle, plan content, children, reports, identifiers) is plain
Python: it imports the standard library and itself only, so its rules run
and are tested without Flask, marshmallow or a store."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import cpp_plans.domain.lifecycle

DOMAIN = Path(cpp_plans.domain.lifecycle.__file__).parent


def imports_of(path: Path) -> set[str]:
    """The top-level modules a file imports (relative imports: within the domain)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level > 1:
                names.add(f"{'.' * node.level}{node.module or ''}")  # reaches out of the domain
            elif node.level == 0:
                names.add(node.module.split(".")[0])
    return names


def test_the_plans_domain_imports_only_the_standard_library():
    modules = sorted(DOMAIN.glob("*.py"))
    assert {p.name for p in modules} >= {
        "lifecycle.py",
        "plan_content.py",
        "children.py",
        "reports.py",
        "identifiers.py",
    }
    outside = {p.name: sorted(n for n in imports_of(p) if n not in sys.stdlib_module_names) for p in modules}
    assert {name: found for name, found in outside.items() if found} == {}
