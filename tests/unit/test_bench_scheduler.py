"""bench/scheduler.py at tiny sizes: the result's shape and counts (no
timing is checked: the figures are for the full run)."""

from __future__ import annotations

import importlib.util
import json
import random
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "scheduler.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_scheduler", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def quiet(*args, **kwargs):
    pass


def test_the_computations_cover_every_kind_and_report_rates(bench, capsys):
    c = bench.bench_computations(2000, rounds=1, progress=quiet)
    kinds = [label for label, *_ in bench.OFFSETS]
    assert c["counts"]["calendar"] == c["counts"]["plain"] == 2000
    assert set(c["counts"]) == {"plain", "calendar", *kinds}
    assert sum(c["counts"][k] for k in kinds) == 2000
    assert all(c["rates"][k] > 0 for k in c["counts"])
    assert c["ratio"] == pytest.approx(c["rates"]["calendar"] / c["rates"]["plain"])
    assert (c["calendar"]["country"], c["calendar"]["subdiv"]) == ("GB", "ENG")
    bench.print_computations(c)
    assert "cal.due_date(), all kinds" in capsys.readouterr().out


def test_the_inputs_spread_over_the_years_and_offsets(bench):
    items = bench.computation_inputs(5000, random.Random(3))
    years = {anchor.year for anchor, *_ in items}
    assert years == set(range(2025, 2031))
    assert {(unit, direction) for _, _, unit, direction in items} == {
        ("working_days", "after"),
        ("working_days", "before"),
        ("calendar_days", "after"),
        ("months", "after"),
    }
    assert {amount for _, amount, unit, _ in items if unit == "months"} == {3, 6}


def test_the_scan_finds_and_the_tick_moves_exactly_the_due(bench, tmp_path, capsys):
    s = bench.bench_scan([1000, 2000], [10, 50], rounds=1, workdir=tmp_path, progress=quiet)
    rows = s["rows"]
    assert [(r["size"], r["due"]) for r in rows] == [(1000, 10), (1000, 50), (2000, 10), (2000, 50)]
    for r in rows:
        assert r["stored"] == r["size"]  # N stored, of which D due
        assert r["found"] == r["found_unsorted"] == r["due"]
        assert r["first_batch"] == min(r["due"], s["tick_batch"])
        assert r["ids_found"]  # the deadlines made due, no others
        assert r["moved"] == r["approaching"] + r["overdue"] == r["due"]
        assert r["conflicts"] == 0 and r["due_after"] == 0
        assert r["scanned"] >= r["due"]
    assert sum(x["added"] for x in s["seeding"]) == 2000
    assert set(s["full_scan_s"]) == {1000, 2000}
    for size in (1000, 2000):
        plans = s["plans"][size]
        assert set(plans) == {"tick (limit)", "sorted", "baseline (rule_id)"}
        assert all(p["plan"] for p in plans.values())
        assert "LIMIT 500" in plans["tick (limit)"]["sql"]
    json.dumps(s, default=str)  # what main() writes
    bench.print_scan(s)
    out = capsys.readouterr().out
    assert "EXPLAIN QUERY PLAN" in out and "WARNING" not in out


def test_too_many_due_for_the_store_is_refused(bench, tmp_path):
    with pytest.raises(SystemExit, match="pending deadlines"):
        bench.bench_scan([100], [90], rounds=1, workdir=tmp_path, progress=quiet)
