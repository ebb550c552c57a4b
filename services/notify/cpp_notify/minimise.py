"""Data minimisation: what of an event a subscription receives.

Partners must learn what they need and nothing more. Two gates:

* **which events**: a partner's subscription receives only the event types
  meant for partners (a plan's existence, status and dates, its meetings,
  escalations); never lookups, deadlines, case work before a plan, or the
  children's records, whatever pattern it names;
* **which fields**: every field of an event's data has a class (identifier,
  status, date, contact, narrative); a subscription's scope, set by an
  admin, names the classes it receives. By default a partner gets
  identifiers, status, dates and contacts: never the plan's narrative. A
  field the classification does not know is not delivered.
"""
from __future__ import annotations

import fnmatch
from typing import Any

FIELD_CLASSES = ("identifier", "status", "date", "contact", "narrative")
DEFAULT_CLASSES = ("identifier", "status", "date", "contact")

PARTNER_TYPES = frozenset({
    "plan.created.v1", "plan.activated.v1", "plan.version_agreed.v1", "plan.reviewed.v1", "plan.ended.v1",
    "conference.scheduled.v1", "conference.rescheduled.v1", "conference.cancelled.v1", "conference.held.v1",
    "core_group.held.v1", "escalation.raised.v1",
})

# The event types the platform publishes (a pattern a partner names must
# match only partner types among them).
KNOWN_TYPES = PARTNER_TYPES | {
    "case.opened.v1", "child.registered.v1", "child.updated.v1", "strategy_discussion.held.v1",
    "enquiry.completed.v1", "visit.recorded.v1", "lookup.performed.v1",
    "deadline.scheduled.v1", "deadline.met.v1", "deadline.cancelled.v1", "deadline.superseded.v1",
    "deadline.approaching.v1", "deadline.overdue.v1",
    "subscription.created.v1", "subscription.paused.v1", "subscription.resumed.v1", "subscription.removed.v1",
    "subscription.disabled.v1", "subscription.secret_rotated.v1", "subscription.scope_changed.v1",
}

_STATUS = {"status", "kind", "decision", "route", "categories", "plan_required", "conference_required",
           "initiated_enquiries", "detailed_plan_agreed", "plan_version", "subject_of_plan", "announced",
           "child_seen", "seen_alone", "step_down", "name", "recipient", "at", "owner", "needs_date", "occurrence"}
_CONTACT = {"key_worker", "contacts", "contact", "phone", "email", "team"}
_DATES = {"since", "time", "on"}


def classify(path: str, value: Any) -> str:
    """The class of one data field, by its name (the platform's naming is
    regular: ``*_id`` identifiers, ``*_on``/``*_at``/``*_for`` dates);
    anything else, and any free text, is narrative."""
    name = path.rsplit(".", 1)[-1]
    if name == "id" or name.endswith("_id"):
        return "identifier"
    if name.endswith(("_on", "_at", "_for")) or name in _DATES:
        return "date"
    if name in _CONTACT:
        return "contact"
    if name in _STATUS:
        return "status"
    return "narrative"


def _filter(data: dict[str, Any], classes: set[str], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and classify(path, value) not in ("contact",):
            inner = _filter(value, classes, prefix=path + ".")  # keep a structure's allowed parts only
            if inner:
                out[key] = inner
        elif classify(path, value) in classes:
            out[key] = value
    return out


def minimise(event: dict[str, Any], classes: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """The event as a subscription with these classes may see it: the whole
    CloudEvent envelope, and only the allowed fields of its data."""
    allowed = set(classes)
    data = event.get("data") or {}
    if "narrative" in allowed and allowed >= set(FIELD_CLASSES):
        kept = data
    else:
        kept = _filter(data, allowed)
    return {**event, "data": kept}


def partner_may_receive(pattern: str) -> bool:
    """Whether a partner may subscribe to ``pattern`` (or receive the event
    type it names): every known type it matches is a partner type, and it
    matches at least one."""
    matched = [t for t in KNOWN_TYPES if fnmatch.fnmatchcase(t, pattern)]
    if not matched:
        return pattern in PARTNER_TYPES
    return all(t in PARTNER_TYPES for t in matched)
