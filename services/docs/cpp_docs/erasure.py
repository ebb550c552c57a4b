"""The docs service's copy of a child, erased on ``child.erased.v1`` (see ``cpp_shared.erasure``).

What docs holds about a child: their documents (each row names the child, and
its bytes are the document: plans, reports, records of meetings, family
letters, which name every child of the family) and the jobs that make them,
the plan snapshots and which is each plan's latest (``snapshots``,
``plans``), their cases' deadlines and meetings, who they are (``children``),
their first language (``child_languages``), their record's restriction and
the break-glass grants (``restrictions``, ``grants``), and the case events
heard (``case_events``). A family letter about several children goes with
any of them: it names each.

The bytes: a document's file is named by its sha256 (``files``), outside the
unit of work, and may be shared by documents with the same bytes. So the
erasure notes each file its documents named (``file_sweeps``, in the same
unit of work), and the renderer's pass (``sweep_files``), after the commit,
removes each one that no document names any more, then the note. A render
of the child's job that was under way when the erasure committed finds its
job gone, and notes its files the same way (``render.py``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from cpp_shared import case_events
from cpp_shared.erasure import Erasure
from cpp_shared.logs import get_logger
from cpp_shared.messaging.consumer import HandlerContext
from cpp_shared.store import Store

from . import store as st
from .files import DocumentFiles

log = get_logger("cpp.docs")

SWEEPS = "file_sweeps"  # {_id: sha256, noted_at}: bytes whose documents were erased, to remove once unnamed


def erase_child(event: dict[str, Any], ctx: HandlerContext) -> None:
    erasure = Erasure(ctx, event)
    if erasure.done_before:
        return
    child_id = erasure.child_id
    documents = erasure.find(st.DOCUMENTS, {"child_id": child_id}) + erasure.find(st.DOCUMENTS, {"child_ids": child_id})
    jobs = erasure.find(st.JOBS, {"child_id": child_id}) + erasure.find(st.JOBS, {"child_ids": child_id})
    snapshots = erasure.find(st.SNAPSHOTS, {"snapshot.child_id": child_id})
    plan_ids = {r["plan_id"] for r in [*documents, *jobs, *snapshots] if r.get("plan_id")}
    snapshots += [s for s in erasure.find(st.SNAPSHOTS, {"plan_id": {"$in": sorted(plan_ids)}}) if s not in snapshots]
    case_ids = {r["case_id"] for r in [*documents, *jobs] if r.get("case_id")}
    case_ids |= {s["snapshot"]["case_id"] for s in snapshots if (s.get("snapshot") or {}).get("case_id")}
    # A case with no plan leaves no document: its deadlines and the case events heard name the child.
    case_ids |= {r["case_id"] for r in erasure.find(st.DEADLINES, {"child_id": child_id}) if r.get("case_id")}
    case_ids |= {r["case_id"] for r in erasure.find(case_events.COLLECTION, {"child_id": child_id})}
    cases = sorted(case_ids)

    erasure.delete_ids(st.DOCUMENTS, [d["_id"] for d in documents])
    erasure.delete_ids(st.JOBS, [j["_id"] for j in jobs])
    erasure.delete_ids(st.SNAPSHOTS, [s["_id"] for s in snapshots])
    erasure.delete_ids(st.PLANS, sorted(plan_ids))
    erasure.delete(st.DEADLINES, {"case_id": {"$in": cases}})
    erasure.delete(st.MEETINGS, {"case_id": {"$in": cases}})
    erasure.delete(case_events.COLLECTION, {"case_id": {"$in": cases}})
    erasure.delete(st.GRANTS, {"child_id": child_id})
    for collection in (st.RESTRICTIONS, st.CHILD_LANGUAGES, st.CHILDREN):
        erasure.delete(collection, {"_id": child_id})
    note_files(ctx.store, ctx.uow, (d["sha256"] for d in documents if d.get("sha256")))
    erasure.finish()


def note_files(store: Store, uow: Any, digests: Iterable[str]) -> None:
    """Note bytes to remove once no document names them (in ``uow`` when given, else in a unit of its own)."""
    noted = sorted(set(digests))
    if not noted:
        return
    if uow is None:
        with store.unit_of_work() as own:
            note_files(store, own, noted)
        return
    for digest in noted:
        uow.update(SWEEPS, {"_id": digest}, {"$set": {"noted_at": time.time()}}, upsert=True)


def sweep_files(store: Store, files: DocumentFiles) -> int:
    """Remove the noted bytes that no document names now; returns how many were removed."""
    removed = 0
    for note in store.collection(SWEEPS).find({}, sort=[("noted_at", 1)], limit=500):
        if store.collection(st.DOCUMENTS).find_one({"sha256": note["_id"]}) is None:
            removed += files.delete(note["_id"])
        store.collection(SWEEPS).delete_one({"_id": note["_id"]})
    if removed:
        log.info("erased documents' files removed", files=removed)
    return removed
