"""The Prometheus alerting rules in deploy/prometheus, checked by Prometheus'
own promtool (Debian's prometheus package, installed by
`scripts/ensure-debian-packages --tests`, which `make test` runs): the
rules' syntax, and their unit tests (alerts.test.yml) that feed series and
expect the alert to fire or not. And the metric they read is the one the
services expose."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from cpp_shared.metrics import ServiceMetrics

RULES_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


def promtool(*args: str) -> str:
    path = shutil.which("promtool")
    assert path, "promtool is missing: `scripts/ensure-debian-packages --tests` installs Debian's prometheus package"
    done = subprocess.run([path, *args], cwd=RULES_DIR, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"promtool {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_promtool_accepts_the_rules():
    assert "SUCCESS: 1 rules found" in promtool("check", "rules", "alerts.yml")


def test_the_rules_unit_tests_pass():
    assert "SUCCESS" in promtool("test", "rules", "alerts.test.yml")


def test_the_alert_reads_the_metric_the_services_expose():
    [group] = yaml.safe_load((RULES_DIR / "alerts.yml").read_text())["groups"]
    [rule] = [r for r in group["rules"] if r["alert"] == "RateLimitedRequests"]
    assert "cpp_rate_limited_total" in rule["expr"] and rule["for"] == "10m"

    metrics = ServiceMetrics("plans", store=None)
    metrics.rate_limited("lookup_per_principal")
    exposed = metrics.render().decode()
    assert 'cpp_rate_limited_total{limit="lookup_per_principal",service="plans"} 1.0' in exposed
