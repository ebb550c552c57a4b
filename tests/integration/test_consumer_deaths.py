"""A message whose handler kills the worker process (not an exception: the
process dies, nothing is acked) is redelivered by RabbitMQ each time the
worker is started again; the consumer counts the handlings it begins of
redelivered messages and parks the message after three."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cpp_shared.messaging.consumer import ERROR_HEADER, HANDLER_HEADER
from cpp_shared.messaging.events import new_event
from cpp_shared.store import open_store
from tests.helpers import wait_for
from tests.integration.test_bus_faults import case_event, drain, publish, queue_depth

pytestmark = [pytest.mark.broker, pytest.mark.slow]
SCRIPT = Path(__file__).with_name("dying_consumer_proc.py")


def test_a_message_whose_handler_kills_the_worker_is_parked_after_three_deaths_and_the_others_are_handled(
    tmp_path, broker_url
):
    store_url = f"sqlite:///{tmp_path / 'docs.db'}"
    poison = new_event(
        "case.opened.v1",
        source="/services/plans",
        subject="case-poison",
        data={"case_id": "case-poison", "poison": True},
        authority="ENG",
    )
    good = [case_event() for _ in range(5)]
    for event in (poison, *good):
        publish(broker_url, json.dumps(event))
    store = open_store(store_url)
    env = {**os.environ, "PYTHONPATH": os.getcwd()}

    def settled():
        return (
            store.collection("effects").count_documents({}) == len(good)
            and queue_depth(broker_url, "docs.parked") == 1
            and queue_depth(broker_url, "docs") == 0
        )

    deaths = 0
    proc = None
    try:
        for _ in range(8):  # a bound: the worker started again as cpp up would, until all is settled
            proc = subprocess.Popen([sys.executable, str(SCRIPT), store_url, broker_url], env=env)
            wait_for(
                lambda: proc.poll() is not None or settled(),
                timeout=60,
                what="the consumer to die or to settle every message",
            )
            if proc.poll() is None:
                break
            assert proc.returncode == -signal.SIGKILL
            deaths += 1
        assert settled()
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)
    # Its first delivery (in a batch, not counted) and three handlings of its redeliveries.
    assert deaths == 4
    [parked] = drain(broker_url, "docs.parked")
    assert json.loads(parked.body)["id"] == poison["id"]
    assert (
        parked.headers[ERROR_HEADER] == "PermanentFailure: the worker died 3 times handling it (redelivered each time)"
    )
    assert parked.headers[HANDLER_HEADER] == "record"
    assert {e["event_id"] for e in store.collection("effects").find({})} == {e["id"] for e in good}
    assert store.collection("bus_redeliveries").find_one({"_id": f"docs:{poison['id']}"})["begun"] == 3
