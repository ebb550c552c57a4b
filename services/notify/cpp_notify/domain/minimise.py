"""Data minimisation: what of an event a subscription receives.

Partners must learn what they need and nothing more. Two gates:

* **which events**: a partner's subscription receives only the event types
  meant for partners (a plan's existence, status and dates, its meetings,
  escalations); never lookups, deadlines, case work before a plan, or the
  children's records, whatever pattern it names;
* **which fields**: every field of an event's data has a class in the
  event catalogue (identifier, status, date, contact, personal_identifier,
  narrative); a subscription's scope, set by an admin, names the classes it
  receives. By default a partner gets identifiers, status, dates and
  contacts (the key worker's), never the plan's narrative. A field the
  catalogue does not class, or an event type it does not know, is not
  delivered.
* **who the child is**: every event about a child carries ``child``: its
  ``nhs_number`` and ``date_of_birth`` are ``personal_identifier``, which
  a partner receives only when its sharing agreement includes identifiers
  (an admin adds the class to the subscription's scope; it is not in the
  default), so that a GP practice can match the child to its own patient;
  the child's ``name`` is narrative, and never sent without it.

The catalogue is handed in (``Catalogue``; the service's is
``runtime.EVENT_CATALOGUE``), so that these rules need no messaging.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_CLASSES = ("identifier", "status", "date", "contact")

PARTNER_TYPES = frozenset(
    {
        "plan.created.v1",
        "plan.activated.v1",
        "plan.version_agreed.v1",
        "plan.reviewed.v1",
        "plan.ended.v1",
        "plan.key_worker_linked.v1",
        "conference.scheduled.v1",
        "conference.rescheduled.v1",
        "conference.cancelled.v1",
        "conference.held.v1",
        "conference.invitations_sent.v1",
        "conference.inquorate.v1",
        "conference.record_issued.v1",
        "core_group.held.v1",
        "escalation.raised.v1",
    }
)


@dataclass(frozen=True)
class Catalogue:
    """What minimisation reads of the event catalogue: the event types it
    knows, every class a field can have, and a known type's fields (dotted
    paths) with their classes."""

    types: frozenset[str]
    classes: tuple[str, ...]
    fields_of: Callable[[str], Mapping[str, str]]


def _filter(data: dict[str, Any], classes: Mapping[str, str], allowed: set[str], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        cls = classes.get(path)
        if cls is not None:
            if cls in allowed:
                out[key] = value  # a field classed whole (a plan's content is narrative as a whole)
        elif isinstance(value, dict):
            inner = _filter(value, classes, allowed, prefix=path + ".")  # an object: its allowed fields only
            if inner:
                out[key] = inner
        # a field the catalogue does not class is not delivered
    return out


def minimise(event: dict[str, Any], classes: list[str] | tuple[str, ...], catalogue: Catalogue) -> dict[str, Any]:
    """The event as a subscription with these classes may see it: the whole
    CloudEvent envelope, and only the fields of its data whose class (in
    the event catalogue) is allowed; an event type the catalogue does not
    know carries no data at all."""
    allowed = set(classes)
    data = event.get("data") or {}
    if event["type"] not in catalogue.types:
        return {**event, "data": {}}
    if allowed >= set(catalogue.classes):
        return event
    return {**event, "data": _filter(data, catalogue.fields_of(event["type"]), allowed)}


def partner_may_receive(pattern: str, catalogue: Catalogue) -> bool:
    """Whether a partner may subscribe to ``pattern`` (or receive the event
    type it names): every known type it matches is a partner type, and it
    matches at least one."""
    matched = [t for t in catalogue.types if fnmatch.fnmatchcase(t, pattern)]
    if not matched:
        return pattern in PARTNER_TYPES
    return all(t in PARTNER_TYPES for t in matched)
