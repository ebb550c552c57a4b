"""The docs service's event handlers: plan and meeting events in, render
jobs out.

Each handler only writes to its unit of work (the projections, and a job
per document to make), committed with the event's processed mark; the
worker's renderer loop (``render.py``) makes the files. So the consumer is
never held up by PDF rendering, a redelivered event asks for nothing twice
(its processed mark; and a job's id is the document's key, looked up
before it is added), and nothing asked for is lost: a job waits in the
store until its documents are committed.

What is made:

* ``plan.created``: the outline plan (professional) and the family version;
* ``plan.activated`` / ``plan.version_agreed``: the professional plan and
  the family version of the new version;
* ``plan.reviewed`` / ``plan.ended``: the version in force is unchanged, so
  its documents stand (a plan version's documents are made once);
* ``conference.held``: the conference's record (its decision, the first core
  group date, the plan reviewed), listed with the case's documents;
* ``core_group.held``: the meeting's record, with the plan in force;
* ``report.countersigned``: the report to conference (professional) and its
  family version, ready to share with the parents before the meeting (the
  report as countersigned travels in the event; it no longer changes);
* ``family_conference.held``: the family letter, to the people with
  parental responsibility, about every child of the conference (each
  child's plan, with its key worker from the plan's own snapshot, or why
  none is needed), listed with each child's case and with the family;
* the family version is made in English, and also in the child's first
  language (as their record holds it, from ``child.registered`` and
  ``child.updated``; else as the plan's accessibility records the
  family's) when a phrase set answers for it (``cpp_document_phrases``),
  and in large print too when the plan's accessible formats ask for it.
  Where no phrase set answers, the English version says that it is in
  English because the family's language is not available yet.

Who the child is and who the staff are, so that documents name people,
not ids: ``child.registered`` / ``child.updated`` and the ``child`` every
event about a child carries keep the ``children`` projection;
``staff.updated`` keeps the staff directory (``cpp_shared.staff``). A job
holds the child as its event named them (or, for an event without, as the
service last heard), so that a document names the child as of its version.

And who may read a restricted child's documents: ``child.restriction_set``,
``child.restriction_lifted`` and ``access.break_glass`` keep its projection
(access.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cpp_shared import audit_checkpoints, case_events, children, erasure, revocations, staff
from cpp_shared.logs import get_logger
from cpp_shared.messaging.consumer import HandlerContext, Handlers

from . import access
from . import store as st
from .domain.phrases import ENGLISH_TAG, is_english, phrase_set
from .erasure import erase_child

log = get_logger("cpp.docs")

PLAN_DOCUMENT_EVENTS = (
    "plan.created.v1",
    "plan.activated.v1",
    "plan.version_agreed.v1",
    "plan.reviewed.v1",
    "plan.ended.v1",
)


def case_of(event: dict[str, Any]) -> str:
    """The ordering key: a case's events (plans, meetings, deadlines) one at a time."""
    data = event.get("data") or {}
    return data.get("case_id") or event.get("subject") or event["id"]


handlers = Handlers(ordering_key=case_of)
handlers.on("case.*")(case_events.record_case_event)
handlers.on(audit_checkpoints.EVENT_TYPE)(audit_checkpoints.keep_checkpoint)
handlers.on(revocations.EVENT_TYPE)(revocations.keep_revocation)
handlers.on(*access.EVENTS)(access.keep)
handlers.on(erasure.EVENT_TYPE)(erase_child)  # the child's retention ended: their documents go too

#: Events that say who a child is (each event about a child carries ``child``).
CHILD_EVENTS = (
    "child.registered.v1",
    "child.updated.v1",
    "child.born.v1",  # a name given at birth
    "case.*",
    "conference.*",
    "plan.*",
    "core_group.*",
    "report.*",
    "deadline.*",
)


handlers.on(staff.EVENT_TYPE)(staff.keep)


handlers.on(*CHILD_EVENTS)(children.keep)


@handlers.on("child.registered.v1", "child.updated.v1")
def keep_first_language(event: dict[str, Any], ctx: HandlerContext) -> None:
    st.keep_first_language(ctx.uow, event)


def _child(ctx: HandlerContext, event: dict[str, Any], child_id: str | None) -> dict[str, Any] | None:
    """Who the child is, for a document made now: as the event names them,
    else as the service last heard."""
    named = (event.get("data") or {}).get("child")
    if isinstance(named, dict) and named.get("name"):
        return {"name": named["name"], "date_of_birth": named.get("date_of_birth")}
    return st.child_named(ctx.store, child_id)


def job_key(owner_id: str, kind: str, version: int, meeting_id: str | None, language: str, large_print: bool) -> str:
    return ":".join((owner_id, kind, f"v{version}", meeting_id or "-", language, "large" if large_print else "std"))


def _variants(ctx: HandlerContext, content: dict[str, Any], child_id: str | None = None) -> list[dict[str, Any]]:
    """The family version's variants, each ``language`` (tag),
    ``language_name`` (the language as the record names it), ``large_print``
    and, for English made because the family's language has no phrase set,
    ``english_for`` (that language)."""
    access = content.get("accessibility") or {}
    large = "large_print" in (access.get("accessible_formats") or [])
    prints = [False, True] if large else [False]
    first = st.first_language(ctx.store, child_id) or access.get("first_language")
    found = phrase_set(ctx.app.plugins, first) if first and not is_english(first) else None
    if first and not is_english(first) and found is None:
        log.info("no phrase set for the family's language: family version in English only", language=first)
        english = {"language": ENGLISH_TAG, "language_name": None, "english_for": first}
    else:
        english = {"language": ENGLISH_TAG, "language_name": None}
    out = [{**english, "large_print": p} for p in prints]
    if found is not None:
        out += [{"language": found.lang, "language_name": first, "large_print": p} for p in prints]
    return out


def _add_job(
    ctx: HandlerContext,
    event: dict[str, Any],
    kind: str,
    owner_id: str,
    version: int,
    *,
    language: str = ENGLISH_TAG,
    language_name: str | None = None,
    large_print: bool = False,
    meeting: dict[str, Any] | None = None,
    **fields: Any,
) -> None:
    """Ask for one document (a job per kind, version, meeting, language and
    print size), unless it was asked for already: a version's documents are
    made once. ``fields`` are what the template needs (the snapshot, the
    report, the conference...) and the ids the document row keeps."""
    meeting_id = (meeting or {}).get("meeting_id")
    key = job_key(owner_id, kind, version, meeting_id, language, large_print)
    if ctx.store.collection(st.JOBS).find_one({"_id": key}) is not None:
        return
    ctx.uow.insert(
        st.JOBS,
        {
            "plan_id": None,
            "case_id": None,
            "child_id": None,
            "plan_version": None,
            "snapshot": None,
            **fields,
            "child": _child(ctx, event, fields.get("child_id")),
            "_id": key,
            "status": "pending",
            "kind": kind,
            "meeting_id": meeting_id,
            "meeting": meeting,
            "language": language,
            "language_name": language_name,
            "large_print": large_print,
            "authority": event.get("authority"),
            "event_id": event["id"],
            "event_type": event["type"],
            "attempts": 0,
            "failures": 0,
            "error": None,
            "created_at": datetime.now(UTC).isoformat(),
        },
    )


def _add_plan_job(
    ctx: HandlerContext,
    event: dict[str, Any],
    snapshot: dict[str, Any],
    snapshot_id: str | None,
    kind: str,
    **variant: Any,
) -> None:
    """A plan document's job: it names the stored snapshot it renders (or,
    for a snapshot kept from before they were stored once, holds it)."""
    version = snapshot.get("plan_version") or 0
    plan = {"snapshot_id": snapshot_id} if snapshot_id else {"snapshot": snapshot}
    _add_job(
        ctx,
        event,
        kind,
        snapshot["plan_id"],
        version,
        plan_id=snapshot["plan_id"],
        case_id=snapshot.get("case_id"),
        child_id=snapshot.get("child_id"),
        plan_version=version,
        **plan,
        **variant,
    )


def _add_report_job(ctx: HandlerContext, event: dict[str, Any], kind: str, **variant: Any) -> None:
    data = event["data"]
    report = data["report"]
    _add_job(
        ctx,
        event,
        kind,
        data["report_id"],
        report["report_version"],
        plan_id=data.get("plan_id"),
        case_id=data.get("case_id"),
        child_id=data.get("child_id"),
        report_id=data["report_id"],
        report_version=report["report_version"],
        report_kind=data.get("report_kind"),
        conference_id=data.get("conference_id"),
        report=report,
        **variant,
    )


@handlers.on("plan.*", "deadline.*", "conference.*")
def keep_projections(event: dict[str, Any], ctx: HandlerContext) -> None:
    st.update_projections(ctx.uow, event)


@handlers.on(*PLAN_DOCUMENT_EVENTS)
def plan_documents(event: dict[str, Any], ctx: HandlerContext) -> None:
    snapshot = event.get("data") or {}
    if not snapshot.get("plan_id") or not snapshot.get("plan_version"):
        return
    first = (snapshot.get("agreed") or {}).get("at") == "initial_conference" and snapshot["plan_version"] == 1
    # keep_projections stored the snapshot under the event's id, in this unit of work.
    _add_plan_job(ctx, event, snapshot, event["id"], "outline_plan" if first else "professional_plan")
    for variant in _variants(ctx, snapshot.get("content") or {}, snapshot.get("child_id")):
        _add_plan_job(ctx, event, snapshot, event["id"], "family_plan", **variant)


@handlers.on("core_group.held.v1")
def core_group_record(event: dict[str, Any], ctx: HandlerContext) -> None:
    data = event.get("data") or {}
    snapshot_id, plan = st.latest_plan(ctx.store, data.get("plan_id"))
    if plan is None:
        # The plan's own events come first on the case's queue; one not seen
        # yet is retried later (and parked, with this message, if it never comes).
        raise LookupError(f"core group meeting {data.get('meeting_id')}: plan {data.get('plan_id')} not known yet")
    meeting = {k: data.get(k) for k in ("meeting_id", "held_on", "detailed_plan_agreed", "attendees", "notes")}
    _add_plan_job(ctx, event, plan, snapshot_id, "core_group_record", meeting=meeting)


@handlers.on("report.countersigned.v1")
def report_documents(event: dict[str, Any], ctx: HandlerContext) -> None:
    data = event.get("data") or {}
    if not data.get("report"):
        log.warning("report.countersigned without the report: no documents", report_id=data.get("report_id"))
        return
    _add_report_job(ctx, event, "conference_report")
    content = data["report"].get("plan") or {}
    if not content and data.get("plan_id"):
        content = (st.latest_plan(ctx.store, data["plan_id"])[1] or {}).get("content") or {}
    for variant in _variants(ctx, content, data.get("child_id")):
        _add_report_job(ctx, event, "family_report", **variant)


@handlers.on("conference.held.v1")
def conference_record(event: dict[str, Any], ctx: HandlerContext) -> None:
    data = event.get("data") or {}
    # A review's plan is known (its own events came first on the case's
    # queue); an initial conference's plan is made by this very outcome, and
    # its outline plan is a document of its own.
    snapshot_id, snapshot = (
        st.latest_plan(ctx.store, data["plan_id"])
        if data.get("plan_id") and data.get("kind") == "review"
        else (None, None)
    )
    plan = {"snapshot_id": snapshot_id} if snapshot_id else {"snapshot": snapshot}
    _add_job(
        ctx,
        event,
        "conference_record",
        data["conference_id"],
        1,
        plan_id=data.get("plan_id"),
        case_id=data.get("case_id"),
        child_id=data.get("child_id"),
        plan_version=(snapshot or {}).get("plan_version"),
        conference_id=data["conference_id"],
        conference=data,
        **plan,
    )


@handlers.on("family_conference.held.v1")
def family_letter(event: dict[str, Any], ctx: HandlerContext) -> None:
    data = event.get("data") or {}
    children = []
    for child in data.get("children") or []:
        snapshot_id, plan = st.latest_plan(ctx.store, child.get("plan_id"))
        if child.get("plan_id") and plan is None:
            # Each child's plan events come first on their case's queue; one
            # not seen yet is retried later, as for a core group's record.
            raise LookupError(
                f"family conference {data.get('family_conference_id')}: plan {child['plan_id']} not known yet"
            )
        children.append(
            {**child, "snapshot_id": snapshot_id, "accessibility": (plan or {}).get("content", {}).get("accessibility")}
        )
    letter = {k: data.get(k) for k in ("family_name", "kind", "held_on")}
    letter["people"] = [p for p in data.get("people") or [] if p.get("parental_responsibility")]
    letter["children"] = children
    fields = dict(
        family_id=data.get("family_id"),
        family_conference_id=data["family_conference_id"],
        case_ids=[c["case_id"] for c in children],
        child_ids=[c["child_id"] for c in children],
        letter=letter,
    )
    for variant in _variants(ctx, _letter_needs(ctx, letter)):
        _add_job(ctx, event, "family_letter", data["family_conference_id"], 1, **variant, **fields)


def _letter_needs(ctx: HandlerContext, letter: dict[str, Any]) -> dict[str, Any]:
    """The letter's languages and print, as a plan's content would say them:
    large print when any child's plan asks for it; the first language of the
    first child whose record gives one other than English, else of the first
    person with parental responsibility (or plan) giving one."""
    formats: set[str] = set()
    languages = [st.first_language(ctx.store, c.get("child_id")) for c in letter["children"]]
    languages += [p.get("first_language") for p in letter["people"]]
    for child in letter["children"]:
        access = child.get("accessibility") or {}
        formats.update(access.get("accessible_formats") or [])
        languages.append(access.get("first_language"))
    first = next((lang for lang in languages if lang and not is_english(lang)), None)
    return {"accessibility": {"accessible_formats": sorted(formats), "first_language": first}}
