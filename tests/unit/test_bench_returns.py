"""bench/returns.py at a tiny size: the synthetic year folds into valid-looking histories and the census
holds every child with an episode in the year (no timing is checked: the figures are for the full run)."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import pytest
from lxml import etree

BENCH = Path(__file__).resolve().parents[2] / "bench" / "returns.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_returns", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_small_run_folds_every_event_and_censuses_every_child(bench, tmp_path):
    ctx = bench.context(tmp_path)
    events, _, _ = bench.fill(ctx, 30)
    rng = random.Random(2026)
    assert events == sum(len(bench.events_of(n, rng)) for n in range(30))  # the same draws as fill's
    children, _ = bench.raw(ctx)
    assert len(children) == 30
    doc = etree.fromstring(bench.census(ctx))
    assert len(doc.findall("Children/Child")) == 30  # every referral was in the year
    timed = bench.timed(bench.raw, ctx, rounds=1)
    assert timed["peak_traced_bytes"] > 0 and len(timed["walls_s"]) == 1
