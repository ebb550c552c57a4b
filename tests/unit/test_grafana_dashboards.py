"""The Grafana dashboards in deploy/grafana/dashboards, linted. No linter of
Grafana dashboards installs from PyPI or npm (Grafana's dashboard-linter is
a Go program), so this checks what it would: the essentials of Grafana's
dashboard JSON model (schemaVersion, a unique uid and title, panels with
unique ids on the 24-column grid without overlapping, each with its data
source, each query with its refId), every query's PromQL checked by
Prometheus' own promtool, every metric a query reads exported by the
services (read from their /metrics, tests/exported_metrics.py), and the
figures each dashboard must show. The dashboards are written by
scripts/make-grafana-dashboards, and must be what it writes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.exported_metrics import SERVICES, exported_names, metric_names
from tests.unit.test_alert_rules import promtool

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
PROVISIONING = ROOT / "deploy" / "grafana" / "provisioning" / "dashboards.yml"
PANEL_TYPES = {"row", "timeseries", "stat", "gauge", "table", "state-timeline", "bargauge", "text"}
# Grafana's own variables in a query, as a value promtool can parse.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}
# Beyond requests, 5xx, latency and readiness (every dashboard), what each must show.
OWN_FIGURES = {
    "plans": {"cpp_outbox_backlog", "cpp_messages_total"},
    "scheduler": {"cpp_outbox_backlog", "cpp_messages_total", "cpp_deadlines"},
    "notify": {"cpp_outbox_backlog", "cpp_messages_total", "cpp_notify_deliveries", "cpp_notify_messages"},
    "docs": {"cpp_outbox_backlog", "cpp_messages_total", "cpp_render_jobs"},
    "returns": {"cpp_outbox_backlog", "cpp_messages_total", "cpp_performance_ratio", "cpp_performance_count"},
    "web": set(),
}


def load(service: str) -> dict:
    return json.loads((DASHBOARDS / f"{service}.json").read_text())


def panels(dashboard: dict) -> list[dict]:
    out = []
    for panel in dashboard["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))  # a collapsed row holds its panels
    return out


def queries(dashboard: dict) -> list[str]:
    return [t["expr"] for p in panels(dashboard) for t in p.get("targets", [])]


def as_promql(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"a variable promtool cannot check: {expr}"
    return expr


def test_one_dashboard_per_service_and_no_other():
    assert sorted(p.stem for p in DASHBOARDS.glob("*.json")) == sorted(SERVICES)


def test_the_dashboards_are_what_the_script_writes():
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make-grafana-dashboards"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_uids_and_titles_are_unique():
    boards = [load(s) for s in SERVICES]
    uids = [b["uid"] for b in boards]
    assert len(set(uids)) == len(uids) and all(re.fullmatch(r"[A-Za-z0-9_-]{1,40}", u) for u in uids)
    assert len({b["title"] for b in boards}) == len(boards)


@pytest.mark.parametrize("service", SERVICES)
def test_the_dashboard_model_essentials(service):
    board = load(service)
    assert isinstance(board["schemaVersion"], int) and board["schemaVersion"] >= 36
    assert board["title"] and board["time"]["from"] and board["time"]["to"]
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    every = panels(board)
    ids = [p["id"] for p in every]
    assert len(set(ids)) == len(ids), "panel ids must be unique"
    cells: set[tuple[int, int]] = set()
    for panel in every:
        assert panel["type"] in PANEL_TYPES, panel["type"]
        pos = panel["gridPos"]
        assert all(isinstance(pos[k], int) and pos[k] >= 0 for k in ("h", "w", "x", "y"))
        assert pos["w"] > 0 and pos["h"] > 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        mine = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])}
        assert not (mine & cells), f"{panel['title']} overlaps another panel"
        cells |= mine
        if panel["type"] == "row":
            continue
        assert panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        targets = panel["targets"]
        assert targets, f"{panel['title']} has no query"
        assert len({t["refId"] for t in targets}) == len(targets)
        for target in targets:
            assert target["datasource"] == panel["datasource"] and target["expr"].strip()


@pytest.mark.parametrize("service", SERVICES)
def test_every_query_reads_its_own_service(service):
    for expr in queries(load(service)):
        for selector in re.findall(r"\b[a-z_:]+\{([^}]*)\}", expr):
            assert f'service="{service}"' in selector, expr


def test_promtool_parses_every_query(tmp_path):
    rules = [
        {"record": f"lint:{service}:{n}", "expr": as_promql(expr)}
        for service in SERVICES
        for n, expr in enumerate(queries(load(service)))
    ]
    (tmp_path / "queries.yml").write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    assert f"SUCCESS: {len(rules)} rules found" in promtool("check", "rules", "queries.yml", cwd=tmp_path)


def test_promtool_refuses_a_broken_query(tmp_path):
    # (the check above can fail: a query Prometheus cannot parse is refused)
    (tmp_path / "queries.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "d", "rules": [{"record": "lint:x", "expr": "sum by (le (rate(x[5m]))"}]}]})
    )
    with pytest.raises(AssertionError, match="promtool check rules"):
        promtool("check", "rules", "queries.yml", cwd=tmp_path)


def test_every_metric_a_panel_reads_is_one_a_service_exports(tmp_path):
    exported = exported_names(tmp_path)
    for service in SERVICES:
        for expr in queries(load(service)):
            read = metric_names(as_promql(expr))
            assert read and read <= exported, f"{service}: {expr} reads {read - exported}, which no service exports"


@pytest.mark.parametrize("service", SERVICES)
def test_each_dashboard_shows_requests_errors_latency_readiness_and_its_own_figures(service):
    exprs = queries(load(service))
    read = set().union(*(metric_names(as_promql(e)) for e in exprs))
    assert {"cpp_http_requests_total", "cpp_http_request_duration_seconds_bucket", "cpp_readiness_check"} <= read
    assert any('status=~"5.."' in e for e in exprs), "a 5xx panel"
    assert sum("histogram_quantile(" in e for e in exprs) >= 2, "latency quantiles"
    assert OWN_FIGURES[service] <= read


def test_the_provisioning_file_loads_the_dashboards_from_files():
    conf = yaml.safe_load(PROVISIONING.read_text())
    assert conf["apiVersion"] == 1
    [provider] = conf["providers"]
    assert provider["type"] == "file" and provider["options"]["path"] and provider["folder"]
