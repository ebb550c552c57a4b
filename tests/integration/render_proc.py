"""A docs renderer process for the poison test: the docs service's context,
built as its worker builds it, and its renderer, rendering until no job is
pending, then exiting. The render of a job of the plan POISON_PLAN kills
the process with SIGKILL, as a crash in a native library or the kernel's
out-of-memory killer would: no exception, no cleanup."""

from __future__ import annotations

import os
import signal
import time

from cpp_docs import render
from cpp_docs import store as st
from cpp_docs.app import SERVICE
from cpp_shared.config import Settings
from cpp_shared.web import build_context

poison = os.environ["POISON_PLAN"]
real_render_job = render.render_job


def render_or_die(ctx, job):
    if job.get("plan_id") == poison:
        os.kill(os.getpid(), signal.SIGKILL)
    return real_render_job(ctx, job)


render.render_job = render_or_die
ctx = build_context(SERVICE, Settings.from_env("docs"))
# A short lease: the next process waits for the dead one's to run out, as a restarted worker does.
renderer = render.Renderer(ctx, lease_seconds=1.0)
while ctx.store.collection(st.JOBS).count_documents({"status": "pending"}):
    renderer.run_once()
    time.sleep(0.1)
