"""GET /v1/children/{child_id}/chronology: everything that happened in every
case of a child, newest first, each entry with its day and the member of
staff who did it (by name; the id only for machines).

Built from the records the lifecycle keeps (cases with their referral and
assessment, conferences, plans and their versions, core group meetings,
visits, reports, child in need plans):
each keeps when a step happened and who took it. The same authorisation as
reading the child: another authority's child is a 404, a restricted child a
403 to anyone without need to know.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from cpp_shared import staff
from cpp_shared.auth import requires_role
from cpp_shared.store import Store

from .. import audit
from ..store import (
    CASES,
    CHILD_IN_NEED_PLANS,
    CHILDREN,
    CONFERENCES,
    CORE_GROUP_MEETINGS,
    PLAN_VERSIONS,
    PLANS,
    REPORTS,
    SIGNIFICANT_CHANGES,
    VISITS,
)
from .common import READERS, ctx, load

blp = Blueprint(
    "chronology",
    __name__,
    url_prefix="/v1/children",
    description="A child's chronology: every case's history, newest first",
)

# What each entry says happened (``type``), in the order the steps of one
# day follow each other (for entries of the same day).
TYPES = (
    "case_opened",
    "referral_received",
    "referral_decided",
    "assessment_started",
    "assessment_completed",
    "strategy_discussion_held",
    "enquiries_completed",
    "conference_scheduled",
    "conference_moved",
    "conference_cancelled",
    "report_drafted",
    "report_submitted",
    "report_returned",
    "report_countersigned",
    "report_shared",
    "report_sent_to_chair",
    "conference_held",
    "plan_created",
    "core_group_held",
    "plan_activated",
    "plan_version_agreed",
    "visit_recorded",
    "significant_change_recorded",
    "significant_change_referred",
    "plan_ended",
    "child_in_need_plan_created",
    "transfer_out_started",
    "transfer_received",
    "case_closed",
)
ORDER = {t: n for n, t in enumerate(TYPES)}


class PersonRefSchema(Schema):
    user = fields.String(metadata={"description": "the member of staff's user id (for machines)"})
    name = fields.String(metadata={"description": "their name, for people to read"})


class ChronologyEntrySchema(Schema):
    type = fields.String(metadata={"description": "what happened: " + ", ".join(TYPES)})
    on = fields.String(allow_none=True, metadata={"description": "the day it happened (null: not recorded)"})
    by = fields.Nested(PersonRefSchema, allow_none=True, metadata={"description": "who did it or recorded it"})
    case_id = fields.String()
    conference_id = fields.String(allow_none=True)
    plan_id = fields.String(allow_none=True)
    previous_council = fields.Dict(
        metadata={
            "description": "only on an entry of the council the child moved from (code and name): its records, "
            "kept here as history, read-only"
        }
    )
    detail = fields.Dict(
        metadata={
            "description": "what the type's words need: the conference's kind, its "
            "decision, dates moved from and to, the reason, the version..."
        }
    )


class ChronologySchema(Schema):
    child_id = fields.String()
    entries = fields.List(fields.Nested(ChronologyEntrySchema), metadata={"description": "newest first"})


def _entry(
    type_: str,
    on: str | None,
    by: str | None,
    case_id: str,
    *,
    conference_id: str | None = None,
    plan_id: str | None = None,
    **detail: Any,
) -> dict[str, Any]:
    return {
        "type": type_,
        "on": on,
        "by": by,
        "case_id": case_id,
        "conference_id": conference_id,
        "plan_id": plan_id,
        "detail": {k: v for k, v in detail.items() if v is not None},
    }


def _referral_entries(case: dict) -> list[dict]:
    """The referral, its decision, and the assessment's start and completion, as far as they went."""
    referral, assessment = case.get("referral"), case.get("assessment")
    if not referral:
        return []
    case_id = case["_id"]
    out = [
        _entry(
            "referral_received",
            referral["received_on"],
            referral.get("recorded_by"),
            case_id,
            source=referral.get("source"),
            source_code=referral.get("source_code"),
        )
    ]
    decision = referral.get("decision")
    if decision:
        out.append(
            _entry(
                "referral_decided",
                decision["decided_on"],
                decision.get("decided_by"),
                case_id,
                decision=decision.get("decision"),
                reason=decision.get("reason"),
            )
        )
    if assessment:
        out.append(
            _entry(
                "assessment_started",
                assessment["started_on"],
                assessment.get("started_by"),
                case_id,
                factors=assessment.get("factors") or None,
                other_factors=assessment.get("other_factors"),
            )
        )
    completion = (assessment or {}).get("completion")
    if completion:
        out.append(
            _entry(
                "assessment_completed",
                completion["completed_on"],
                completion.get("recorded_by"),
                case_id,
                outcome=completion.get("outcome"),
                authorised_by=(completion.get("authorised_by") or {}).get("name"),
            )
        )
    return out


def _case_entries(case: dict) -> list[dict]:
    out = [_entry("case_opened", (case.get("opened_at") or "")[:10] or None, case.get("opened_by"), case["_id"])]
    out += _referral_entries(case)
    for sd in case.get("strategy_discussions") or []:
        out.append(
            _entry(
                "strategy_discussion_held",
                sd.get("held_on"),
                sd.get("recorded_by"),
                case["_id"],
                initiated_enquiries=sd.get("initiated_enquiries"),
            )
        )
    moved = case.get("transfer_in")
    if moved:
        out.append(
            _entry(
                "transfer_received",
                (moved.get("received_at") or "")[:10] or None,
                moved.get("received_by"),
                case["_id"],
                from_council=(moved.get("from_council") or {}).get("name"),
                notified_on=moved.get("notified_on"),
            )
        )
    moving = case.get("transfer_out")
    if moving:
        out.append(
            _entry(
                "transfer_out_started",
                moving.get("started_on"),
                moving.get("by"),
                case["_id"],
                receiving_council=moving.get("receiving_council"),
                notified_on=moving.get("notified_on"),
            )
        )
    outcome = case.get("enquiry_outcome")
    if outcome:
        out.append(
            _entry(
                "enquiries_completed",
                outcome.get("completed_on"),
                outcome.get("recorded_by"),
                case["_id"],
                conference_required=outcome.get("conference_required"),
            )
        )
    closure = case.get("closure")
    if closure and closure.get("by"):  # closed by its closure step (a referral's or assessment's closure is theirs)
        out.append(
            _entry(
                "case_closed",
                closure.get("on"),
                closure["by"].get("user"),
                case["_id"],
                reason=closure.get("reason"),
                notes=closure.get("notes"),
            )
        )
    return out


def _conference_entries(conference: dict) -> list[dict]:
    ids = dict(conference_id=conference["_id"], kind=conference.get("kind"))
    case_id = conference["case_id"]
    out = [
        _entry(
            "conference_scheduled",
            conference.get("scheduled_on"),
            conference.get("scheduled_by"),
            case_id,
            scheduled_for=conference.get("scheduled_for")
            if not conference.get("reschedules")
            else conference["reschedules"][0]["from"],
            **ids,
        )
    ]
    for move in conference.get("reschedules") or []:
        out.append(
            _entry(
                "conference_moved",
                move.get("on"),
                move.get("by"),
                case_id,
                moved_from=move.get("from"),
                moved_to=move.get("to"),
                reason=move.get("reason"),
                **ids,
            )
        )
    cancelled = conference.get("cancellation")
    if cancelled:
        out.append(
            _entry(
                "conference_cancelled",
                cancelled.get("on"),
                cancelled.get("by"),
                case_id,
                reason=cancelled.get("reason"),
                **ids,
            )
        )
    outcome = conference.get("outcome")
    if outcome:
        out.append(
            _entry(
                "conference_held",
                outcome.get("held_on"),
                outcome.get("decided_by"),
                case_id,
                plan_id=outcome.get("plan_id"),
                decision=outcome.get("decision"),
                plan_required=outcome.get("plan_required"),
                reason=outcome.get("reason"),
                **ids,
            )
        )
    return out


def _plan_entries(
    plan: dict, versions: list[dict], meetings: list[dict], visits: list[dict], ended_by: str | None
) -> list[dict]:
    ids = dict(plan_id=plan["_id"])
    case_id = plan["case_id"]
    out = []
    first_active = min((v["number"] for v in versions if v.get("status") == "active"), default=None)
    for version in versions:
        agreed = version.get("agreed") or {}
        type_ = (
            "plan_created"
            if version["number"] == 1
            else "plan_activated"
            if version["number"] == first_active
            else "plan_version_agreed"
        )
        out.append(
            _entry(
                type_,
                agreed.get("on"),
                agreed.get("by"),
                case_id,
                version=version["number"],
                agreed_at=agreed.get("at"),
                **ids,
            )
        )
    for meeting in meetings:
        out.append(
            _entry(
                "core_group_held",
                meeting.get("held_on"),
                meeting.get("recorded_by"),
                case_id,
                detailed_plan_agreed=meeting.get("detailed_plan_agreed"),
                **ids,
            )
        )
    for visit in visits:
        out.append(
            _entry(
                "visit_recorded",
                visit.get("visited_on"),
                visit.get("recorded_by"),
                case_id,
                visitor=visit.get("by"),
                child_seen=visit.get("child_seen"),
                seen_alone=visit.get("seen_alone"),
                **ids,
            )
        )
    ended = plan.get("ended")
    if ended:
        out.append(
            _entry(
                "plan_ended",
                ended.get("on"),
                ended.get("by") or ended_by,
                case_id,
                conference_id=ended.get("conference_id"),
                step_down=ended.get("step_down"),
                reason=ended.get("reason"),
                how=ended.get("how"),
                receiving_council=ended.get("receiving_council"),
                **ids,
            )
        )
    return out


def _visit_entry(visit: dict, case_id: str) -> dict:
    """A visit's entry: on a plan, or before any plan (its case's, no plan)."""
    return _entry(
        "visit_recorded",
        visit.get("visited_on"),
        visit.get("recorded_by"),
        case_id,
        plan_id=visit.get("plan_id"),
        visitor=visit.get("by"),
        child_seen=visit.get("child_seen"),
        seen_alone=visit.get("seen_alone"),
    )


def _significant_change_entries(change: dict) -> list[dict]:
    """A significant change noticed, and the chair told of it (what changed is on the plan's list)."""
    ids = dict(plan_id=change["plan_id"], change_id=change["_id"])
    out = [
        _entry(
            "significant_change_recorded", change.get("noticed_on"), change.get("recorded_by"), change["case_id"], **ids
        )
    ]
    told = change.get("chair_told")
    if told:
        out.append(_entry("significant_change_referred", told.get("on"), told.get("by"), change["case_id"], **ids))
    return out


def _report_entries(report: dict) -> list[dict]:
    out = []
    for step in report.get("steps") or []:
        type_ = f"report_{step.get('step')}"
        if type_ in ORDER:
            out.append(
                _entry(
                    type_,
                    step.get("on"),
                    step.get("by"),
                    report["case_id"],
                    conference_id=report.get("conference_id"),
                    plan_id=report.get("plan_id"),
                    report_id=report["_id"],
                    report_kind=report.get("kind"),
                    reason=step.get("reason"),
                )
            )
    return out


def chronology(store: Store, code: str, child_id: str) -> list[dict]:
    """The child's chronology in the authority ``code``, with the entries of the councils they moved from
    (each marked ``previous_council``), newest first."""
    from ..service_layer.transfers import previous_councils_entries

    entries = chronology_of(store, code, child_id) + previous_councils_entries(store, code, child_id)
    entries.sort(key=_newest_first, reverse=True)
    return entries


def chronology_of(store: Store, code: str, child_id: str) -> list[dict]:
    """Every step of every case of the child in the authority ``code``, newest first."""
    mine = {"child_id": child_id, "authority": code}
    cases = store.collection(CASES).find(mine)
    case_ids = [c["_id"] for c in cases]
    conferences = (
        store.collection(CONFERENCES).find({"case_id": {"$in": case_ids}, "authority": code}) if case_ids else []
    )
    by_id = {c["_id"]: c for c in conferences}
    entries: list[dict] = []
    for case in cases:
        entries += _case_entries(case)
    for conference in conferences:
        entries += _conference_entries(conference)
    for plan in store.collection(PLANS).find(mine):
        versions = store.collection(PLAN_VERSIONS).find({"plan_id": plan["_id"]}, sort=[("number", 1)])
        meetings = store.collection(CORE_GROUP_MEETINGS).find({"plan_id": plan["_id"], "authority": code})
        visits = store.collection(VISITS).find({"plan_id": plan["_id"], "authority": code})
        ending = by_id.get((plan.get("ended") or {}).get("conference_id")) or {}
        entries += _plan_entries(plan, versions, meetings, visits, (ending.get("outcome") or {}).get("decided_by"))
    for visit in store.collection(VISITS).find({"case_id": {"$in": case_ids}, "authority": code}) if case_ids else []:
        entries.append(_visit_entry(visit, visit["case_id"]))
    for change in store.collection(SIGNIFICANT_CHANGES).find(mine):
        entries += _significant_change_entries(change)
    for report in store.collection(REPORTS).find(mine):
        entries += _report_entries(report)
    for cin in store.collection(CHILD_IN_NEED_PLANS).find(mine):
        entries.append(
            _entry(
                "child_in_need_plan_created",
                cin.get("created_on"),
                cin.get("created_by"),
                cin["case_id"],
                review_on=cin.get("review_on"),
                key_worker=(cin.get("key_worker") or {}).get("name"),
            )
        )
    names = staff.names(store, (e["by"] for e in entries))
    for e in entries:
        e["by"] = {"user": e["by"], "name": names[e["by"]]} if e["by"] else None
    entries.sort(key=_newest_first, reverse=True)
    return entries


def _newest_first(e: dict[str, Any]) -> tuple[str, int, str]:
    """Newest first; the steps of one day in the order they follow each other, latest first."""
    return (
        e["on"] or e["detail"].get("scheduled_for") or "",
        ORDER.get(e["type"], -1),
        e["detail"].get("scheduled_for") or "",
    )


@blp.route("/<child_id>/chronology")
class Chronology(MethodView):
    @requires_role(*READERS)
    @blp.response(200, ChronologySchema)
    def get(self, child_id):
        """Every case of the child with its history, newest first: each step, its day and who took it"""
        load(CHILDREN, child_id, "child")  # another authority's child: 404; restricted without need to know: 403
        audit.record_read(ctx().store, "chronology", child_id, child_id=child_id)
        return {"child_id": child_id, "entries": chronology(ctx().store, ctx().authority["code"], child_id)}
