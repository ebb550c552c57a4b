"""A create whose web worker dies after the commit, before the answer: the
client, which never got an answer, sends it again with the same
Idempotency-Key to the worker gunicorn starts in its place, and gets the
first request's answer; there is one record.

The plans service runs under gunicorn as deployed (``cpp serve``). The
worker is stopped at the one moment that matters by a ``sitecustomize``
module put on the processes' PYTHONPATH by this test alone: once the first
idempotent create has committed, it writes its worker's pid to a file and
sleeps; the test kills that pid with SIGKILL. No broker is needed (the
events wait in the outbox)."""

from __future__ import annotations

import os
import signal
import threading
import uuid

import pytest
import requests

from cpp_shared.auth import issue_dev_token
from cpp_shared.config import Settings
from cpp_shared.store import open_store
from tests.helpers import a_child, bearer, free_port, wait_for
from tests.integration.processes import launch

pytestmark = pytest.mark.slow
KEY = "Idempotency-Key"

# Run at start-up by every Python process of the service (gunicorn's master
# and, forked from it, its workers): the first create committed with its
# key pauses its worker for the test to kill.
SITECUSTOMIZE = """
import os
import time

_pause_file = os.environ.get("CPP_TEST_PAUSE_AFTER_IDEMPOTENT_COMMIT")
if _pause_file:
    from cpp_shared import idempotency

    _commit = idempotency.commit_held

    def _commit_then_pause(store, uow):
        outcome = _commit(store, uow)
        if outcome is None and not os.path.exists(_pause_file):
            with open(_pause_file + ".tmp", "w") as f:
                f.write(str(os.getpid()))
            os.rename(_pause_file + ".tmp", _pause_file)
            time.sleep(3600)  # until killed
        return outcome

    idempotency.commit_held = _commit_then_pause
"""


def test_a_create_retried_with_the_same_key_after_its_web_worker_is_killed_gives_one_record_and_the_same_answer(
    tmp_path,
):
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE)
    paused = tmp_path / "paused-worker.pid"
    data = tmp_path / "var"
    data.mkdir()
    settings = Settings.from_env("plans", {"CPP_MODE": "development", "CPP_DATA_DIR": str(data)})
    headers = {
        **bearer(issue_dev_token(settings, role="social_worker", authority="ENG", user="sw-1")),
        KEY: str(uuid.uuid4()),
    }
    body = a_child(family_name="Retried")
    closed_broker = f"amqp://guest:guest@127.0.0.1:{free_port()}//"
    plans = launch(
        "plans",
        data,
        closed_broker,
        "web",
        WEB_CONCURRENCY="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")])),
        CPP_TEST_PAUSE_AFTER_IDEMPOTENT_COMMIT=str(paused),
    )
    try:
        url = f"{plans.url}/v1/children"
        lost: dict[str, object] = {}

        def first_attempt():
            try:
                lost["answer"] = requests.post(url, json=body, headers=headers, timeout=300)
            except requests.RequestException as exc:
                lost["error"] = exc

        sender = threading.Thread(target=first_attempt)
        sender.start()
        wait_for(paused.exists, timeout=60, what="the create to commit and its worker to pause")
        worker = int(paused.read_text())
        assert worker != plans.procs["web"].pid  # a worker, not gunicorn's master
        os.kill(worker, signal.SIGKILL)
        sender.join(timeout=60)
        assert "answer" not in lost, "the first attempt was answered; the worker was not killed in time"
        assert isinstance(lost.get("error"), requests.ConnectionError)

        def retried():
            try:
                return [requests.post(url, json=body, headers=headers, timeout=30)]
            except requests.ConnectionError:
                return None  # the worker gunicorn starts in its place is not listening yet

        [again] = wait_for(retried, timeout=60, what="a new web worker to answer the retry")
        assert again.status_code == 201, again.text
        assert again.headers["Idempotent-Replayed"] == "true"
        child_id = again.json()["id"]
        assert again.headers["Location"] == f"/v1/children/{child_id}"
        fresh = requests.get(
            f"{plans.url}/v1/children/{child_id}", headers=bearer(headers["Authorization"][7:]), timeout=30
        )
        assert fresh.status_code == 200
        assert again.json() == fresh.json() and again.headers["ETag"] == fresh.headers["ETag"]
        found = requests.get(
            url, params={"family_name": "Retried"}, headers=bearer(headers["Authorization"][7:]), timeout=30
        ).json()
        assert found["total"] == 1 and [c["id"] for c in found["items"]] == [child_id]
    finally:
        plans.stop()
    store = open_store(settings.store_url)
    try:
        assert store.collection("children").count_documents({}) == 1
        assert [m.body["subject"] for m in store.outbox_pending(100) if m.routing_key != "staff.updated.v1"] == [
            child_id
        ]  # one child.registered
        creates = [r.entry for r in store.read_log("audit") if r.entry["action"] == "create"]
        assert [e["record_id"] for e in creates] == [child_id]
    finally:
        store.close()
