"""A render job that kills its worker every time, rendered by real
processes that die (SIGKILL) and are started again as `cpp up` does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cpp_docs.app import create_app as create_docs_app
from tests.helpers import bearer, free_port
from tests.services.test_docs_http import _job
from tests.services.test_docs_render_jobs import SNAPSHOT

pytestmark = pytest.mark.slow
SCRIPT = Path(__file__).with_name("render_proc.py")


def test_a_render_job_that_always_kills_its_worker_is_parked_with_its_reason_and_the_others_render(
    make_settings, data_dir, token_for, tmp_path
):
    app = create_docs_app(make_settings("docs"))
    docs_ctx = app.extensions["cpp"]
    # The poisonous job is the oldest: until it is parked, every pass begins with it.
    _job(
        docs_ctx,
        "plan-poison:professional_plan:v2:-:en-GB:std",
        plan_id="plan-poison",
        snapshot={**SNAPSHOT, "plan_id": "plan-poison"},
        created_at="2026-11-20T00:00:00+00:00",
    )
    for n, kind in enumerate(("professional_plan", "family_plan")):
        _job(
            docs_ctx,
            f"plan-old:{kind}:v2:-:en-GB:std",
            kind=kind,
            snapshot=SNAPSHOT,
            created_at=f"2026-11-20T00:00:0{n + 1}+00:00",
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPP_")}
    env.update(
        {
            "CPP_MODE": "development",
            "CPP_DATA_DIR": str(data_dir),
            "CPP_PLUGINS": "england",
            "CPP_BROKER_URL": f"amqp://guest:guest@127.0.0.1:{free_port()}//",
            "CPP_LOG_FORMAT": "json",
            "POISON_PLAN": "plan-poison",
            "PYTHONPATH": os.getcwd(),
        }
    )

    exits, logs = [], []
    for run in range(8):  # a bound, not an expectation: the worker restarted as a supervisor would
        log = tmp_path / f"render-{run}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen([sys.executable, str(SCRIPT)], env=env, stdout=out, stderr=subprocess.STDOUT)
            try:
                exits.append(proc.wait(timeout=180))
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        logs.append(log.read_text(errors="replace"))
        if exits[-1] == 0:
            break
    assert exits == [-9, -9, -9, 0], "\n".join(logs)

    jobs = {j["_id"]: j for j in docs_ctx.store.collection("jobs").find({})}
    parked = jobs["plan-poison:professional_plan:v2:-:en-GB:std"]
    assert parked["status"] == "parked" and parked["attempts"] == 3 and parked["failures"] == 0
    assert parked["error"].startswith("the worker died 3 times rendering it")
    assert "render job parked" in logs[-1] and "plan-poison" in logs[-1]
    assert {j["status"] for k, j in jobs.items() if k.startswith("plan-old:")} == {"done"}
    made = docs_ctx.store.collection("documents").find({"plan_id": "plan-old"})
    assert sorted((d["kind"], d["format"]) for d in made) == [
        ("family_plan", "html"),
        ("family_plan", "pdf"),
        ("professional_plan", "html"),
        ("professional_plan", "pdf"),
    ]
    assert not docs_ctx.store.collection("documents").find({"plan_id": "plan-poison"})

    listing = app.test_client().get("/v1/jobs?status=parked", headers=bearer(token_for("admin")))
    assert [j["id"] for j in listing.json["jobs"]] == ["plan-poison:professional_plan:v2:-:en-GB:std"]
