"""What a package index, an operator and a packager see: every package's metadata (licence, readme), `cpp
--version`, and each service run as `python -m cpp_<service>`."""

from __future__ import annotations

import subprocess
import sys
import time
from importlib.metadata import metadata, version

import pytest
import requests
from click.testing import CliRunner

from cpp_shared.cli import main
from tests.helpers import free_port

PACKAGES = (
    "cpp-shared",
    "cpp-plans",
    "cpp-scheduler",
    "cpp-notify",
    "cpp-docs",
    "cpp-web",
    "cpp-england",
    "cpp-bromley",
    "cpp-greenwich",
    "cpp-guernsey",
    "cpp-scotland",
    "cpp-wales",
    "cpp-northern-ireland",
)
SERVICES = ("plans", "scheduler", "notify", "docs", "returns", "web")


@pytest.mark.parametrize("package", PACKAGES)
def test_every_package_says_its_licence_and_has_a_readme(package):
    meta = metadata(package)
    assert meta["License-Expression"] == "MIT"
    assert meta["Description-Content-Type"] == "text/markdown"
    readme = meta.get_payload()
    assert readme.startswith(f"# {package}\n") and "LICENSE" in readme and meta["Summary"] in readme


def test_cpp_says_its_version():
    run = CliRunner().invoke(main, ["--version"])
    assert run.exit_code == 0 and run.stdout.startswith(f"cpp {version('cpp-shared')} ")


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_runs_as_a_python_module(service):
    helped = subprocess.run(
        [sys.executable, "-m", f"cpp_{service}", "--help"], capture_output=True, text=True, timeout=60
    )
    assert helped.returncode == 0 and f"python -m cpp_{service} serve" in helped.stdout
    wrong = subprocess.run(
        [sys.executable, "-m", f"cpp_{service}", "dance"], capture_output=True, text=True, timeout=60
    )
    assert wrong.returncode == 2 and f"usage: python -m cpp_{service} [serve" in wrong.stderr


@pytest.mark.slow
def test_python_m_cpp_plans_serves_the_api(tmp_path):
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "CPP_MODE": "development",
        "CPP_DATA_DIR": str(tmp_path),
        "CPP_PLUGINS": "england",
        "CPP_BROKER_URL": f"amqp://guest:guest@127.0.0.1:{free_port()}//",
    }
    served = subprocess.Popen(
        [sys.executable, "-m", "cpp_plans", "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except requests.ConnectionError:
                if served.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"python -m cpp_plans did not serve: {served.stderr.read().decode()[-2000:]}")
                time.sleep(0.2)
        assert answer.status_code == 200
    finally:
        served.terminate()
        served.wait(20)
