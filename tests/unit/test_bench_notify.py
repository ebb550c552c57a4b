"""bench/notify.py at tiny sizes: every delivery arrives exactly once,
verified, and the result has its shape (no timing is checked: the figures
are for the full run)."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "notify.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_notify", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def quiet(*args, **kwargs):
    pass


def check_result(bench, r: dict, *, events: int, subscribers: int, plans: int, via: str) -> None:
    owed = events * subscribers
    assert r["config"] == {
        **r["config"],
        "events": events,
        "subscribers": subscribers,
        "plans": plans,
        "via": via,
        "deliveries": owed,
        "rounds": 1,
        "verify": True,
    }
    assert len(r["rounds"]) == 1
    row = r["rounds"][0]
    assert set(row) == {"raw", "send_path", "platform"}
    for name in ("raw", "send_path"):  # every baseline request answered and received
        assert row[name]["requests"] == row[name]["received"] == row[name]["ok"] == owed
        assert row[name]["rate"] > 0
    assert row["send_path"]["verified"] == owed and row["send_path"]["verify_failed"] == 0
    p = row["platform"]
    assert p["via"] == via
    # Exactly once: each (event, subscription) delivery arrived once, and nothing else did.
    assert (p["owed"], p["arrived"], p["missing"], p["duplicates"], p["unexpected"]) == (owed, owed, 0, 0, 0)
    assert p["receiver_requests"] == owed
    assert p["verified"] == owed and p["verify_failed"] == 0 and p["unsigned"] == 0
    assert p["stored"] == p["delivered_in_store"] == p["attempts"] == owed
    lat = p["latency_ms"]
    assert 0 <= lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"]
    assert p["rate"] > 0 and p["settled_rate"] > 0 and p["elapsed_s"] > 0
    assert not math.isnan(p["settle_gap_ms"])
    assert set(r["medians"]) >= {"raw.rate", "send_path.rate", "platform.rate", "platform.latency_ms.p95"}
    assert r["ratio"] == pytest.approx(r["medians"]["platform.rate"] / r["medians"]["raw.rate"])
    assert r["machine"]["nproc"] >= 1 and len(r["machine"]["loadavg"]) == 3
    assert r["verify_us"] > 0
    json.dumps(r)  # what main() writes


def test_plan_events_spread_over_the_plans_in_order(bench):
    events = bench.plan_events(20, 5)
    assert len({e["id"] for e in events}) == 20
    by_plan: dict[str, list[str]] = {}
    for e in events:
        assert e["type"].startswith("plan.") and e["subject"] == e["data"]["plan_id"]
        by_plan.setdefault(e["data"]["plan_id"], []).append(e["type"])
    assert len(by_plan) == 5
    assert all(
        types == ["plan.created.v1", "plan.activated.v1", "plan.version_agreed.v1", "plan.reviewed.v1"]
        for types in by_plan.values()
    )
    bodies = bench.delivery_bodies(events)
    assert all(b"concerns" not in b and b"Sam Social" in b for b in bodies)  # the default scope's copy


def test_a_tiny_in_process_run_delivers_everything_exactly_once(bench, tmp_path, capsys):
    r = bench.run_bench(events=20, subscribers=3, plans=5, threads=4, via="inprocess", workdir=tmp_path, progress=quiet)
    check_result(bench, r, events=20, subscribers=3, plans=5, via="inprocess")
    bench.print_report(r)
    out = capsys.readouterr().out
    assert "IN-PROCESS" in out and "of raw" in out and "60 of 60 arrived" in out


@pytest.mark.broker
@pytest.mark.slow
def test_a_tiny_run_through_a_notify_worker_delivers_everything_exactly_once(bench, tmp_path, capsys):
    r = bench.run_bench(events=20, subscribers=3, plans=5, threads=4, via="broker", workdir=tmp_path, progress=quiet)
    check_result(bench, r, events=20, subscribers=3, plans=5, via="broker")
    assert r["rounds"][0]["platform"]["worker_errors"] == 0
    bench.print_report(r)
    assert "cpp worker notify" in capsys.readouterr().out


def test_the_options_are_checked(bench):
    with pytest.raises(SystemExit):
        bench.main(["--events", "0"])
    with pytest.raises(SystemExit):
        bench.main(["--via", "carrier-pigeon"])
