"""A short run of the fault-injection driver (tests/chaos/driver.py): a
handful of faults while walks go on; `make chaos` is the long one."""

from __future__ import annotations

import pytest

from tests.chaos.driver import Settings, run

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def test_walks_under_killed_workers_and_a_paused_broker_lose_nothing_and_handle_each_event_once(tmp_path):
    report = run(Settings(seconds=25, walkers=3, kill_every=(2.0, 4.0), broker_pause=(1.0, 3.0), seed=7), tmp_path)
    print(report.text())
    assert report.failures == [], report.text()
    assert sum(v for k, v in report.figures.items() if k.startswith("faults:")) >= 4, report.text()
    assert report.figures["cases acknowledged"] > 0, report.text()
