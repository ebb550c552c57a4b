"""A council's plugin made from docs/plugin-template passes its own generated tests in one command
(scripts/new-council-plugin)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "new-council-plugin"

pytestmark = pytest.mark.slow


def make(tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args, "--into", str(tmp_path)], capture_output=True, text=True, timeout=300
    )


def test_a_new_councils_plugin_is_made_and_passes_its_tests(tmp_path):
    made = make(tmp_path, "camden", "London Borough of Camden", "CMD")
    assert made.returncode == 0, made.stdout + made.stderr
    assert "6 passed" in made.stdout
    plugin = tmp_path / "camden"
    assert (plugin / "cpp_camden" / "__init__.py").is_file() and (plugin / "tests" / "test_camden.py").is_file()
    source = (plugin / "cpp_camden" / "__init__.py").read_text()
    assert '"code": "CMD"' in source and 'return ["england"]' in source and 'return "council"' in source


def test_a_broken_plugin_fails_its_generated_tests(tmp_path):
    assert make(tmp_path, "barnet", "London Borough of Barnet", "BAR").returncode == 0
    module = tmp_path / "barnet" / "cpp_barnet" / "__init__.py"
    module.write_text(module.read_text().replace('return ["england"]', "return []"))
    rerun = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "barnet")],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(tmp_path / "barnet"), "PATH": "/usr/bin:/bin"},
    )
    assert rerun.returncode == 1 and "test_without_its_base_no_deployment_starts" in rerun.stdout


@pytest.mark.parametrize(
    "args, message",
    [(("Camden!", "C", "CMD"), "must be lower case"), (("camden", "C", "cmd"), "2 to 10 capital letters")],
)
def test_a_wrong_name_or_code_is_refused(tmp_path, args, message):
    refused = make(tmp_path, *args)
    assert refused.returncode == 2 and message in refused.stderr
