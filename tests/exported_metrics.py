"""The metric names the platform really exports: each app made as it runs
(development settings in a throwaway data folder), with the things that make
its optional figures appear (a worker's heartbeat, an audit checkpoint, a
`cpp up` status file, a parked message, a request refused by a rate limit),
then its ``/metrics`` read through the Flask test client. The alerting rules'
and the dashboards' tests check every name they use against these."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from cpp_shared import audit_checkpoints, heartbeat, process_status
from cpp_shared.config import Settings
from cpp_shared.metrics import BusCounters
from cpp_shared.store.scoped import unscoped
from cpp_shared.testing import free_port

SERVICES = ("plans", "scheduler", "notify", "docs", "returns", "web")
#: Series Prometheus makes itself for each target it scrapes (not a service's to export).
SCRAPE_SERIES = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)")


def settings_for(service: str, data_dir: Path) -> Settings:
    return Settings.from_env(
        service,
        {
            "CPP_MODE": "development",
            "CPP_DATA_DIR": str(data_dir),
            "CPP_BROKER_URL": f"amqp://guest:guest@127.0.0.1:{free_port()}//",  # a closed port
            "CPP_PLUGINS": "england",
            "CPP_LOG_FORMAT": "console",
        },
    )


def names_in(exposition: str) -> set[str]:
    """Every series name in a Prometheus text exposition (samples and ``# TYPE`` lines)."""
    names: set[str] = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            names.add(line.split()[2])
        elif line and not line.startswith("#"):
            match = _SAMPLE.match(line)
            if match:
                names.add(match.group(1))
    return names


def expositions(data_dir: Path) -> dict[str, str]:
    """Each service's ``/metrics``, as its app answers it, by service."""
    out: dict[str, str] = {}
    for service in SERVICES:
        settings = settings_for(service, data_dir)
        app = importlib.import_module(f"cpp_{service}.app").create_app(settings)
        if service != "web":
            ctx = app.extensions["cpp"]
            heartbeat.beat(heartbeat.heartbeat_path(settings), [])
            with ctx.store.unit_of_work() as uow:
                uow.append(audit_checkpoints.LOG, {"action": "metrics.example"})
            audit_checkpoints.Checkpointer(unscoped(ctx.store), settings, ctx.authority["code"]).take()
            process_status.write(
                process_status.status_path(data_dir, f"{service}-worker"),
                {"service": service, "process": f"{service}-worker", "state": "running", "restarts": 0}
                | process_status.supervisor_mark(),
            )
            BusCounters(ctx.store).commit("parked", "example")
            ctx.metrics.rate_limited("example")
        client = app.test_client()
        client.get("/healthz")
        out[service] = client.get("/metrics").get_data(as_text=True)
    return out


def exported_names(data_dir: Path) -> set[str]:
    names: set[str] = set()
    for text in expositions(data_dir).values():
        names |= names_in(text)
    return names


# A metric name in PromQL: an identifier not followed by "(" (a function), not a label name in braces, not a
# keyword or a duration. Label matchers and strings are removed first.
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", "and", "or", "unless"}
PROMQL_FUNCTIONS_AND_AGGREGATIONS = {
    "sum", "min", "max", "avg", "count", "rate", "irate", "increase", "delta", "deriv", "histogram_quantile",
    "max_over_time", "min_over_time", "avg_over_time", "absent", "clamp_min", "topk", "bottomk", "time",
}  # fmt: skip


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)  # label lists
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges
    text = re.sub(r"\boffset\s+\w+", " ", text)
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        word = match.group(0)
        following = text[match.end() :].lstrip()
        if word in PROMQL_WORDS or following.startswith("(") or word in PROMQL_FUNCTIONS_AND_AGGREGATIONS:
            continue
        if re.fullmatch(r"\d+[smhdwy]|e\d*|inf|nan", word, re.I):
            continue
        names.add(word)
    return names
