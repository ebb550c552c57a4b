"""The Prometheus alerting rules in deploy/prometheus, checked by Prometheus'
own promtool (Debian's prometheus package, installed by
`scripts/ensure-debian-packages --tests`, which `make test` runs): the
rules' syntax, and their unit tests (alerts.test.yml) that feed series and
expect each alert to fire or not. And what holds them to the rest of the
platform: every alert is tested both ways, has its runbook section in
docs/operations.md, and reads only metrics the services really export (read
from each app's /metrics, tests/exported_metrics.py)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from cpp_shared.metrics import ServiceMetrics
from tests.exported_metrics import SCRAPE_SERIES, SERVICES, exported_names, metric_names

ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = ROOT / "deploy" / "prometheus"
OPERATIONS = ROOT / "docs" / "operations.md"
REQUIRED_ANNOTATIONS = {"summary", "description", "runbook_url"}


def promtool(*args: str, cwd: Path = RULES_DIR) -> str:
    path = shutil.which("promtool")
    assert path, "promtool is missing: `scripts/ensure-debian-packages --tests` installs Debian's prometheus package"
    done = subprocess.run([path, *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"promtool {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def rules() -> list[dict]:
    groups = yaml.safe_load((RULES_DIR / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the document's headings."""
    anchors = set()
    for line in markdown.splitlines():
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            title = re.sub(r"[`*_]", "", match.group(1)).strip().lower()
            anchors.add(re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", title)))
    return anchors


def test_promtool_accepts_the_rules():
    assert f"SUCCESS: {len(rules())} rules found" in promtool("check", "rules", "alerts.yml")


def test_the_rules_unit_tests_pass():
    assert "SUCCESS" in promtool("test", "rules", "alerts.test.yml")


def test_the_alerts_asked_for_are_there():
    names = {rule["alert"] for rule in rules()}
    assert {
        "OutboxBacklogGrowing",
        "MessagesParked",
        "DeadlinesOverdueRising",
        "HighErrorRate",
        "ServiceNotReady",
        "AuditCheckpointLate",
        "RateLimitedRequests",
    } <= names


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r["alert"])
def test_each_alert_waits_has_a_severity_and_says_what_and_where_to_look(rule):
    assert re.fullmatch(r"\d+[smh]", rule.get("for", "")), "every alert waits (for:) before it fires"
    assert rule["labels"]["severity"] in ("warning", "critical")
    assert REQUIRED_ANNOTATIONS <= set(rule["annotations"])


def test_every_alert_is_tested_firing_and_not_firing():
    tests = yaml.safe_load((RULES_DIR / "alerts.test.yml").read_text())["tests"]
    cases = [case for test in tests for case in test.get("alert_rule_test", [])]
    names = {rule["alert"] for rule in rules()}
    unknown = {case["alertname"] for case in cases} - names
    assert not unknown, f"tests of alerts that do not exist (they pass without testing anything): {unknown}"
    fires = {case["alertname"] for case in cases if case.get("exp_alerts")}
    quiet = {case["alertname"] for case in cases if not case.get("exp_alerts")}
    assert names - fires == set(), f"alerts never tested firing: {names - fires}"
    assert names - quiet == set(), f"alerts never tested staying quiet: {names - quiet}"
    for case in cases:  # a firing case says what the person paged reads
        for alert in case.get("exp_alerts") or []:
            assert REQUIRED_ANNOTATIONS <= set(alert.get("exp_annotations", {})), case["alertname"]


def test_every_alert_has_its_runbook_section_in_docs_operations():
    anchors = github_anchors(OPERATIONS.read_text())
    for rule in rules():
        url = rule["annotations"]["runbook_url"]
        assert url == f"docs/operations.md#{rule['alert'].lower()}", url
        assert url.split("#")[1] in anchors, f"docs/operations.md has no section for {rule['alert']}"


def test_every_metric_the_rules_read_is_one_a_service_exports(tmp_path):
    exported = exported_names(tmp_path) | SCRAPE_SERIES
    for rule in rules():
        read = metric_names(rule["expr"])
        assert read, rule["alert"]
        assert read <= exported, f"{rule['alert']} reads {read - exported}, which no service exports"


def test_metric_names_finds_the_names_and_only_them():
    assert metric_names(
        "histogram_quantile(0.95, sum by (service, le) (rate(cpp_http_request_duration_seconds_bucket[5m]))) > 2"
    ) == {"cpp_http_request_duration_seconds_bucket"}
    assert metric_names(
        'max by (service) (cpp_deadlines{status="overdue"}) - max by (service) (cpp_deadlines offset 1d) >= 5'
    ) == {"cpp_deadlines"}
    assert metric_names('up{job=~"cpp-.+"} == 0 or cpp_x_total unless on (a) cpp_y') == {"up", "cpp_x_total", "cpp_y"}


def test_the_rate_limit_alert_reads_the_metric_the_services_expose():
    metrics = ServiceMetrics("plans", store=None)
    metrics.rate_limited("lookup_per_principal")
    exposed = metrics.render().decode()
    assert 'cpp_rate_limited_total{limit="lookup_per_principal",service="plans"} 1.0' in exposed


def test_the_example_prometheus_config_loads_the_rules_and_scrapes_each_service_as_the_alerts_expect():
    assert "SUCCESS" in promtool("check", "config", "prometheus.yml")
    conf = yaml.safe_load((RULES_DIR / "prometheus.yml").read_text())
    assert conf["rule_files"] == ["alerts.yml"]
    [down] = [rule for rule in rules() if rule["alert"] == "ServiceDown"]
    pattern = re.search(r'job=~"([^"]+)"', down["expr"]).group(1)
    jobs = {job["job_name"] for job in conf["scrape_configs"]}
    assert jobs == {f"cpp-{service}" for service in SERVICES}
    assert all(re.fullmatch(pattern, job) for job in jobs)
