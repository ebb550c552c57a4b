"""Render jobs that do not make their documents: a render that raises is
tried again and set aside as failed; a render that kills its worker is put
on record before it starts, so that after three deaths the job is parked,
with its reason, and the others render. Admins list them; /metrics counts
them. (A render that really kills its process: tests/integration/test_render_poison.py.)"""

from __future__ import annotations

import pytest

from cpp_docs import render
from cpp_docs.render import MAX_ATTEMPTS, MAX_DEATHS, Renderer
from tests.helpers import bearer
from tests.services.test_docs_http import _job, docs, docs_app, docs_ctx  # noqa: F401 - fixtures
from tests.services.test_plans_lifecycle_http import DETAILED

SNAPSHOT = {
    "plan_id": "plan-old",
    "case_id": "case-old",
    "child_id": "child-old",
    "status": "active",
    "plan_version": 2,
    "created_on": "2098-12-01",
    "activated_on": "2098-12-08",
    "ended": None,
    "agreed": {"by": "sw-1", "on": "2098-12-08", "at": "core_group_meeting"},
    "key_worker": None,
    "categories": ["neglect"],
    "content": {**DETAILED, "key_worker": {"name": "Kim Older"}},
}
POISON = "plan-old:professional_plan:v2:-:en-GB:std"
FINE = "plan-old:professional_plan:v3:-:en-GB:std"


class WorkerDied(BaseException):
    """A render that kills its process: nothing after it runs, nothing is caught."""


@pytest.fixture
def poisoned(docs_ctx, monkeypatch):
    """Two jobs, the older one's render killing the worker."""
    _job(docs_ctx, POISON, snapshot=SNAPSHOT, created_at="2026-11-20T00:00:00+00:00")
    _job(
        docs_ctx, FINE, snapshot={**SNAPSHOT, "plan_version": 3}, plan_version=3, created_at="2026-11-20T00:00:01+00:00"
    )
    real = render.render_job

    def render_or_die(ctx, job):
        if job["_id"] == POISON:
            raise WorkerDied()
        return real(ctx, job)

    monkeypatch.setattr(render, "render_job", render_or_die)


def jobs(docs_ctx):
    return {j["_id"]: j for j in docs_ctx.store.collection("jobs").find({})}


def test_a_job_whose_render_kills_the_worker_is_parked_after_three_deaths_and_the_others_render(docs_ctx, poisoned):
    for death in range(1, MAX_DEATHS + 1):
        with pytest.raises(WorkerDied):  # the worker dies, and its supervisor starts it again
            Renderer(docs_ctx).run_once(use_lease=False)
        job = jobs(docs_ctx)[POISON]
        assert (job["status"], job["attempts"], job["failures"]) == ("pending", death, 0)
        assert job["started_at"]
        assert jobs(docs_ctx)[FINE]["status"] == "pending"  # stuck behind it so far

    result = Renderer(docs_ctx).run_once(use_lease=False)
    assert (result.parked, result.jobs, result.failed) == (1, 1, 0)
    parked, fine = jobs(docs_ctx)[POISON], jobs(docs_ctx)[FINE]
    assert parked["status"] == "parked" and parked["attempts"] == 3 and parked["parked_at"]
    assert parked["error"].startswith("the worker died 3 times rendering it (last begun at ")
    assert fine["status"] == "done" and fine["attempts"] == 1

    # Never rendered again automatically.
    again = Renderer(docs_ctx).run_once(use_lease=False)
    assert (again.parked, again.jobs) == (0, 0)
    assert jobs(docs_ctx)[POISON]["attempts"] == 3


def test_admins_list_parked_jobs_with_the_reason_and_metrics_count_them(docs_ctx, docs, poisoned, token_for):
    for _ in range(MAX_DEATHS):
        with pytest.raises(WorkerDied):
            Renderer(docs_ctx).run_once(use_lease=False)
    Renderer(docs_ctx).run_once(use_lease=False)
    admin = bearer(token_for("admin", user="admin-1"))

    listing = docs.get("/v1/jobs", query_string={"status": "parked"}, headers=admin)
    assert listing.status_code == 200, listing.json
    assert listing.json["status"] == "parked" and listing.json["count"] == 1
    [job] = listing.json["jobs"]
    assert job["id"] == POISON and job["plan_id"] == "plan-old" and job["kind"] == "professional_plan"
    assert job["attempts"] == 3 and job["failures"] == 0
    assert job["error"].startswith("the worker died 3 times rendering it")
    assert "snapshot" not in job and "child_id" not in job  # what to look into, not the plan itself
    assert docs.get("/v1/jobs", headers=admin).json["jobs"][0]["id"] == POISON  # parked by default
    assert docs.get("/v1/jobs?status=pending", headers=admin).json == {"status": "pending", "count": 0, "jobs": []}
    assert docs.get("/v1/jobs?status=done", headers=admin).status_code == 422
    for role in ("social_worker", "team_manager", "chair", "auditor", "partner"):
        assert docs.get("/v1/jobs", headers=bearer(token_for(role))).status_code == 403, role

    entries = [r.entry for r in docs_ctx.store.read_log("audit")]
    assert [
        (e["actor"], e["action"], e["record_type"], e["record_id"], e["detail"])
        for e in entries
        if e["record_type"] == "render_jobs"
    ][0] == ("admin-1", "list", "render_jobs", "parked", {"count": 1})

    metrics = docs.get("/metrics").text
    assert 'cpp_render_jobs{service="docs",status="parked"} 1.0' in metrics
    assert 'cpp_render_jobs{service="docs",status="pending"} 0.0' in metrics


def test_a_render_that_raises_is_a_failure_not_a_death(docs_ctx):
    _job(docs_ctx, FINE, snapshot=None, snapshot_id="no-such-event", plan_version=3)
    for _ in range(MAX_ATTEMPTS):
        Renderer(docs_ctx).run_once(use_lease=False)
    job = jobs(docs_ctx)[FINE]
    assert job["status"] == "failed" and job["attempts"] == job["failures"] == MAX_ATTEMPTS
    assert "snapshot no-such-event" in job["error"]


def test_a_job_from_before_renders_were_on_record_counts_its_attempts_as_failures(docs_ctx):
    # Before, `attempts` counted errors only and `failures` did not exist.
    _job(
        docs_ctx,
        FINE,
        snapshot={**SNAPSHOT, "plan_version": 3},
        plan_version=3,
        attempts=MAX_DEATHS,
        error="OSError: a font was missing",
    )
    result = Renderer(docs_ctx).run_once(use_lease=False)
    assert (result.jobs, result.parked) == (1, 0)
    assert jobs(docs_ctx)[FINE]["status"] == "done"
