"""Every hook of the plugin contract is in the plugin author's guide (docs/plugins.md) and exercised by a test,
and the guide names no hook that does not exist (as Datasette's test_plugin_hooks_are_documented)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from cpp_shared.contracts import hookspecs

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "plugins.md"
HOOKS = sorted(name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("cpp_"))


def test_the_guide_documents_every_hook_and_no_other():
    documented = re.findall(r"^### (cpp_[a-z_]+)$", GUIDE.read_text(), re.M)
    assert sorted(documented) == HOOKS


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_exercised_by_a_test(hook):
    here = Path(__file__).resolve()
    naming = [p for p in (ROOT / "tests").rglob("*.py") if p != here and hook in p.read_text()]
    assert naming, f"no test names {hook}: add one that calls a plugin's answer to it"
