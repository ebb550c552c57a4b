"""The renderer: the worker's loop that turns pending jobs into documents.

For each pending job (oldest first): the HTML, then the PDF (WeasyPrint),
each written to the file store (durable, content-addressed) before one
unit of work inserts their metadata rows and marks the job done. The rows
are unique by key, so a job rendered twice (two replicas, or a crash after
the commit's work but before its answer) commits once: the loser finds the
key taken and leaves the job to the winner. A lease lets one replica render
at a time. A job that fails (a broken plugin template) is tried again on
later passes and set aside as ``failed`` after ``MAX_ATTEMPTS``, with the
error, for an operator; the others go on.

A job can also kill the process rendering it (a crash in a native library,
memory exhausted, a kill by the kernel) without raising anything. So each
render is put on record first (``attempts`` and ``started_at``, committed
before the render starts); a render that raises is counted in ``failures``.
A job picked up with ``MAX_DEATHS`` renders begun that neither finished nor
raised is ``parked`` with that reason and never rendered again
automatically, so a restarted worker carries on with the other jobs
(``GET /v1/jobs?status=parked`` lists them for admins).
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from cpp_shared import staff
from cpp_shared.logs import get_logger
from cpp_shared.store import DuplicateKey, StoreError, StoreUnavailable, VersionConflict
from cpp_shared.web import ServiceContext

from . import store as st
from .domain.documents import FAMILY_KINDS, FORMATS, Documents
from .domain.phrases import EN, phrase_set
from .erasure import note_files, sweep_files
from .files import DocumentFiles, open_file_store
from .pdf import document_pdf

log = get_logger("cpp.docs.render")
LEASE = "docs-render"
MAX_ATTEMPTS = 5  # renders that raised, before the job is set aside as failed
MAX_DEATHS = 3  # renders the worker did not survive, before the job is parked


def file_store(ctx: ServiceContext) -> DocumentFiles:
    """GridFS when the docs store is MongoDB, else files under CPP_DATA_DIR/docs."""
    files = ctx.extensions.get("docs.files")
    if files is None:
        files = ctx.extensions["docs.files"] = open_file_store(ctx.store, ctx.settings.data_dir)
    return files


def documents(ctx: ServiceContext) -> Documents:
    docs = ctx.extensions.get("docs.documents")
    if docs is None:
        docs = ctx.extensions["docs.documents"] = Documents(ctx.plugins, ctx.authority)
    return docs


def today(ctx: ServiceContext) -> date:
    """The day a document is made, where the authority is: what has passed by then."""
    return datetime.now(ZoneInfo(ctx.authority.get("timezone") or "Europe/London")).date()


def users_named(
    job: dict[str, Any], deadlines: Sequence[dict[str, Any]] = (), conference: dict[str, Any] | None = None
) -> set[str]:
    """The user ids a document names people by: who agreed the plan's
    version, the report's author and who did each of its steps, who must
    act on each deadline, the conference's chair."""
    plan, report = job.get("snapshot") or {}, job.get("report") or {}
    users = {(plan.get("agreed") or {}).get("by"), report.get("author")}
    users.update(step.get("by") for step in report.get("steps") or [])
    refs = [d.get("assignee") for d in deadlines] + [
        (job.get("conference") or {}).get("chair"),
        (conference or {}).get("chair"),
    ]
    users.update(ref.get("user") for ref in refs if isinstance(ref, dict))
    return {u for u in users if isinstance(u, str) and u}


def people(ctx: ServiceContext, users: set[str]) -> dict[str, str]:
    """The names of ``users`` in the staff directory; one whose entry holds
    no name but their id is left out (the document says "a member of staff")."""
    return {user: name for user, name in staff.names(ctx.store, users).items() if name not in (user, staff.UNNAMED)}


#: What a family letter's rows keep, to be listed with each child's case and with the family.
FAMILY_FIELDS = ("family_id", "family_conference_id", "case_ids", "child_ids")


def _letter(ctx: ServiceContext, letter: dict[str, Any]) -> dict[str, Any]:
    """A family letter's children with their plans (the snapshot each was
    decided with, for the key worker's contact) and their names (as the
    event named them, else as the service last heard)."""
    children = []
    for child in letter["children"]:
        named = (
            child.get("child")
            if (child.get("child") or {}).get("name")
            else st.child_named(ctx.store, child["child_id"])
        )
        children.append({**child, "child": named or {}, "plan": st.snapshot(ctx.store, child.get("snapshot_id"))})
    return {**letter, "children": children}


@dataclass
class RenderResult:
    jobs: int = 0
    documents: int = 0
    failed: int = 0
    parked: int = 0
    skipped: int = 0  # done meanwhile by another renderer


def render_job(ctx: ServiceContext, job: dict[str, Any]) -> list[dict[str, Any]]:
    """Render one job's files (written durably); returns their metadata rows."""
    docs = documents(ctx)
    if job.get("snapshot_id"):
        plan = st.snapshot(ctx.store, job["snapshot_id"])
        if plan is None:  # committed with the job: missing means a damaged store, not a blank document
            raise LookupError(f"the plan snapshot {job['snapshot_id']} of job {job['_id']} is missing")
        job = {**job, "snapshot": plan}
    if not (job.get("child") or {}).get("name"):
        # Not known when the job was asked for (a job from before jobs held
        # the child, or the child's name had not reached the service yet).
        job = {
            **job,
            "child": (job.get("snapshot") or {}).get("child") or st.child_named(ctx.store, job.get("child_id")),
        }
    if job.get("letter"):
        job = {**job, "letter": _letter(ctx, job["letter"])}
    phrases = EN
    if job["kind"] in FAMILY_KINDS and job.get("language_name"):
        phrases = phrase_set(ctx.plugins, job["language_name"]) or EN
    deadlines, conferences = st.upcoming(ctx.store, job.get("case_id"))
    conference = (
        ctx.store.collection(st.MEETINGS).find_one({"_id": job["conference_id"]}) if job.get("conference_id") else None
    )
    html = docs.html(
        job,
        phrases=phrases,
        deadlines=deadlines,
        conferences=conferences,
        conference=conference,
        people=people(ctx, users_named(job, deadlines, conference)),
        today=today(ctx),
    )
    files = file_store(ctx)
    now = datetime.now(UTC).isoformat()
    rows = []
    for fmt in FORMATS:
        data = html.encode("utf-8") if fmt == "html" else document_pdf(html, f"{job['_id']}:{fmt}")
        digest = files.put(data)
        row = {
            "key": f"{job['_id']}:{fmt}",
            "job_id": job["_id"],
            "plan_id": job["plan_id"],
            "case_id": job.get("case_id"),
            "child_id": job.get("child_id"),
            "authority": job.get("authority"),
            "kind": job["kind"],
            "plan_version": job["plan_version"],
            "meeting_id": job.get("meeting_id"),
            "report_id": job.get("report_id"),
            "report_version": job.get("report_version"),
            "child_name": (job.get("child") or {}).get("name"),
            "language": job["language"],
            "large_print": job["large_print"],
            "format": fmt,
            "content_type": FORMATS[fmt],
            "sha256": digest,
            "size": len(data),
            "created_at": now,
            "source_event": {"id": job.get("event_id"), "type": job.get("event_type")},
            **{k: job[k] for k in FAMILY_FIELDS if k in job},
        }
        if fmt == "html" and job["kind"] in FAMILY_KINDS and job["language"].lower().startswith("en"):
            from .domain.readability import scores

            row["readability"] = scores(html)
        rows.append(row)
    return rows


class Renderer:
    def __init__(
        self, ctx: ServiceContext, *, interval: float | None = None, batch: int = 20, lease_seconds: float = 120.0
    ):
        self.ctx = ctx
        self.interval = interval if interval is not None else float(ctx.settings.setting("RENDER_SECONDS", "1"))
        self.batch = batch
        self.lease_seconds = lease_seconds
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def run_once(self, *, use_lease: bool = True, stop: threading.Event | None = None) -> RenderResult:
        """Render the pending jobs, oldest first; with ``stop``, no new job
        is begun once it is set (the worker is stopping)."""
        store = self.ctx.store
        result = RenderResult()
        if use_lease and not store.acquire_lease(LEASE, self.holder, self.lease_seconds):
            return result
        try:
            sweep_files(store, file_store(self.ctx))  # an erased child's files, once their rows are gone
            tried: set[str] = set()
            while stop is None or not stop.is_set():
                jobs = [
                    j
                    for j in store.collection(st.JOBS).find(
                        {"status": "pending"}, sort=[("created_at", 1)], limit=self.batch + len(tried)
                    )
                    if j["_id"] not in tried
                ][: self.batch]
                for job in jobs:
                    if stop is not None and stop.is_set():
                        break
                    tried.add(job["_id"])  # a job that fails waits for the next pass
                    self._one(job, result)
                    if use_lease:
                        store.acquire_lease(LEASE, self.holder, self.lease_seconds)
                if len(jobs) < self.batch:
                    break
        finally:
            if use_lease:
                store.release_lease(LEASE, self.holder)
        if result.jobs or result.failed or result.parked:
            log.info(
                "rendered", jobs=result.jobs, documents=result.documents, failed=result.failed, parked=result.parked
            )
        return result

    def _one(self, job: dict[str, Any], result: RenderResult) -> None:
        store = self.ctx.store
        attempts = job.get("attempts", 0)
        failures = job.get("failures", attempts)  # a job from before renders were put on record: all failures
        deaths = attempts - failures  # renders begun that neither finished nor raised: the worker died
        if deaths >= MAX_DEATHS:
            self._park(job, deaths, result)
            return
        # On record before the render starts, so that a render that kills
        # this process is counted all the same.
        begun = {
            **job,
            "attempts": attempts + 1,
            "failures": failures,
            "started_at": datetime.now(UTC).isoformat(),
        }
        try:
            with store.unit_of_work() as uow:
                uow.replace(st.JOBS, begun, expected_version=job["version"])
        except VersionConflict:
            result.skipped += 1  # another renderer took it
            return
        job = {**begun, "version": job["version"] + 1}
        try:
            rows = render_job(self.ctx, job)
        except Exception as exc:
            failures += 1
            failed = failures >= MAX_ATTEMPTS
            log.exception(
                "render failed", job=job["_id"], attempts=job["attempts"], failures=failures, set_aside=failed
            )
            with store.unit_of_work() as uow:
                uow.replace(
                    st.JOBS,
                    {
                        **job,
                        "failures": failures,
                        "error": f"{type(exc).__name__}: {exc}"[:2000],
                        "status": "failed" if failed else "pending",
                    },
                    expected_version=job["version"],
                )
            result.failed += failed
            return
        try:
            with store.unit_of_work() as uow:
                for row in rows:
                    uow.insert(st.DOCUMENTS, row)
                uow.replace(
                    st.JOBS,
                    {**job, "status": "done", "error": None, "documents": [r["key"] for r in rows]},
                    expected_version=job["version"],
                )
        except (DuplicateKey, VersionConflict):
            result.skipped += 1  # another renderer committed this job first
            if store.collection(st.JOBS).find_one({"_id": job["_id"]}) is None:
                note_files(store, None, [r["sha256"] for r in rows])  # the job's child was erased meanwhile
            return
        result.jobs += 1
        result.documents += len(rows)

    def _park(self, job: dict[str, Any], deaths: int, result: RenderResult) -> None:
        reason = (
            f"the worker died {deaths} times rendering it (last begun at {job.get('started_at')}); "
            f"not rendered again automatically"
        )
        log.error(
            "render job parked",
            job=job["_id"],
            kind=job.get("kind"),
            plan_id=job.get("plan_id"),
            report_id=job.get("report_id"),
            attempts=job.get("attempts"),
            reason=reason,
        )
        try:
            with self.ctx.store.unit_of_work() as uow:
                uow.replace(
                    st.JOBS,
                    {**job, "status": "parked", "error": reason, "parked_at": datetime.now(UTC).isoformat()},
                    expected_version=job["version"],
                )
        except VersionConflict:
            result.skipped += 1
            return
        result.parked += 1

    def loop(self, stop: threading.Event) -> None:
        try:
            # WeasyPrint's import and this thread's fonts (about half a second)
            # are paid now, not by the first document a family waits for.
            document_pdf("<p>warm-up</p>", "warm-up")
        except Exception:
            log.exception("PDF warm-up failed: the first render will say why")
        while not stop.is_set():
            try:
                self.run_once(stop=stop)
            except StoreUnavailable as exc:
                log.warning("render pass skipped: store unavailable", error=str(exc))
            except StoreError as exc:
                log.error("render pass failed", error=str(exc))
            except Exception:  # a bug must not stop documents for good: log it and try again
                log.exception("render pass failed")
            stop.wait(self.interval)


class RenderJobsCollector:
    """``cpp_render_jobs{status}``: the jobs waiting, failed and parked, read
    from the store at scrape time (so the web process shows its worker's)."""

    def __init__(self, ctx: ServiceContext):
        self.ctx = ctx

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        family = GaugeMetricFamily("cpp_render_jobs", "Render jobs not done, by status", labels=["service", "status"])
        try:
            jobs = self.ctx.store.collection(st.JOBS)
            for status in ("pending", "failed", "parked"):
                family.add_metric([self.ctx.spec.name, status], jobs.count_documents({"status": status}))
        except Exception:  # an unreachable store shows up in /readyz; the scrape still answers
            return
        yield family


def background(ctx: ServiceContext):
    documents(ctx)  # a broken template override or branding stops the worker at start-up
    return [("docs-render", Renderer(ctx).loop)]
