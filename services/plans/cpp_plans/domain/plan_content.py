"""The rules of a plan's content (DOMAIN.md, "What a plan contains"; seeds
000-003), in plain Python: what the items may hold together, which dates
may not come before the plan, and what a detailed plan needs before the
core group agrees it.

Content here is a plain dict as stored (dates as ISO text) or as loaded
(``datetime.date``); its shape (types, lengths, required fields) is the API
schema's (api/plan_schemas.py), which calls these rules item by item, so an
HTTP answer names the field at fault. The service layer calls them on the
content as a whole (``content_errors``/``check``) once it knows what only the
step knows: the content a change makes, and the day the plan began.

Errors have the API's shape: ``{item: [messages]}``, a list item's by its
index (``{"outcomes": {0: {"target_date": [...]}}}``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any

from .lifecycle import InvalidStep

# The four categories of harm (seed 001). A plugin may give another list (api/plan_schemas.py).
CATEGORIES: tuple[str, ...] = ("physical_abuse", "sexual_abuse", "emotional_abuse", "neglect")
# The components an intervention may have (seed 003).
INTERVENTION_KINDS: tuple[str, ...] = (
    "make_child_safe",
    "promote_growth_and_development",
    "help_parent_or_carer",
    "strengthen_connections",
    "therapy_for_child",
    "perpetrator_support_or_assessment",
)
ACCESSIBLE_FORMATS: tuple[str, ...] = ("large_print", "easy_read", "audio", "braille", "translated")
# Suggested monitoring contact types (seed 003: GP, health visitor, teacher...); any short text is accepted.
CONTACT_TYPES: tuple[str, ...] = ("home_visit", "school", "health_visitor", "gp", "phone")
OUTCOME_TERMS: tuple[str, ...] = ("short", "long")
ACTION_STATUSES: tuple[str, ...] = ("not_started", "in_progress", "done", "not_done")
PERSON_KINDS: tuple[str, ...] = ("professional", "family_member")
FREQUENCY_UNITS: tuple[str, ...] = ("days", "weeks", "months")
# How often the child is visited and the core group meets (the plan's rhythm): "days" are calendar days.
RHYTHM_UNITS: tuple[str, ...] = ("working_days", "days", "weeks", "months")

# What a detailed plan must contain before the core group can agree it, in this order.
AGREEMENT_ITEMS: tuple[str, ...] = (
    "key_worker",
    "key_worker.contact",
    "core_group",
    "categories",
    "outcomes",
    "actions",
    "monitoring",
    "review_arrangements",
    "contingency_plan",
)

Errors = dict[Any, Any]


def as_date(value: date | str | None) -> date | None:
    """A date given as a date, a datetime or ISO text; None stays None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value)
    raise TypeError(f"not_before must be a date, not {type(value).__name__}")


# --- one value or one item ------------------------------------------------------


def before(value: date | str, limit: date | None) -> str | None:
    """A plan's date (a target date, a by-when, the next review, the first
    core group) may not come before the conference that agrees the plan."""
    day = as_date(value)
    if limit is not None and day is not None and day < limit:
        return f"Must not be before {limit.isoformat()}."
    return None


def blank(value: str) -> str | None:
    """A required text is not only white space."""
    return "Must not be blank." if not value.strip() else None


def duplicates(values: Iterable[Any], what: str) -> str | None:
    """A list that names a thing once (a category, an accessible format)."""
    seen: set = set()
    dupes = []
    for v in values:
        if v in seen:
            dupes.append(v)
        seen.add(v)
    if dupes:
        return f"Duplicate {what}: {', '.join(sorted(set(map(str, dupes))))}."
    return None


def key_worker_named(key_worker: Mapping[str, Any]) -> Errors:
    """The key worker is someone: a user id or a name."""
    if not key_worker.get("user") and not key_worker.get("name"):
        return {"name": ["Missing data for required field: give the key worker's name or their user id (user)."]}
    return {}


def member_agency(member: Mapping[str, Any]) -> Errors:
    """A professional member of the core group has an agency."""
    if not member["is_family_member"] and not member.get("agency"):
        return {"agency": ["A professional member's agency is required."]}
    return {}


def core_group_has_professional(members: Iterable[Mapping[str, Any]]) -> str | None:
    if not any(not m["is_family_member"] for m in members):
        return "The core group needs at least one professional member."
    return None


def action_owner(owner: Mapping[str, Any]) -> Errors:
    """A professional has a role, a family member a relationship to the child."""
    errors: Errors = {}
    if owner["kind"] == "professional" and owner.get("relationship"):
        errors["relationship"] = ["Only a family member has a relationship; give a professional's role."]
    if owner["kind"] == "family_member" and owner.get("role"):
        errors["role"] = ["Only a professional has a role; give a family member's relationship."]
    return errors


def interpreter_language(accessibility: Mapping[str, Any]) -> Errors:
    if accessibility.get("interpreter_needed") and not accessibility.get("interpreter_language"):
        return {"interpreter_language": ["Required when an interpreter is needed."]}
    return {}


def _words(amount: int, unit: str) -> str:
    unit = unit.replace("_", " ")
    return f"every {amount} {unit.rstrip('s') if amount == 1 else unit}"


def rhythm_errors(
    rhythm: Mapping[str, Any],
    limits: Mapping[str, Any],
    looser_than: Callable[[tuple[int, str], tuple[int, str]], bool],
) -> Errors:
    """A plan may not ask for a rhythm looser than its deployment's limit: visits or core groups further apart
    than the rule allows, or more visits in a row without the child seen alone. ``limits`` (the deployment's, by
    item): ``{"visits": {"every": 10, "unit": "working_days", "source": ...}, "seen_alone": {"every": 3, "unit":
    "visits", "source": ...}}``; an item without a limit is the plan's to set. ``looser_than(count, limit)``, in
    the units the rules count in, says whether a frequency can fall after a limit (the plugin contract's)."""
    errors: Errors = {}
    for item, stated in rhythm.items():
        limit = limits.get(item)
        if not stated or not limit:
            continue
        count, most = (stated["every"], stated["unit"]), (limit["every"], limit["unit"])
        too_loose = count[0] > most[0] if item == "seen_alone" else looser_than(_counted(count), _counted(most))
        if too_loose:
            errors[item] = [
                f"{_words(*count).capitalize()} is looser than the limit, {_words(*most)} (source: {limit['source']})."
            ]
    return errors


def _counted(count: tuple[int, str]) -> tuple[int, str]:
    """A plan's frequency in the units the rules count in (its days are calendar days)."""
    amount, unit = count
    return amount, "calendar_days" if unit == "days" else unit


def rules_rhythm(timescale_rules) -> dict[str, dict]:
    """What the deployment's rules say of a plan's rhythm: for ``visits`` and ``core_group``, the rule's default
    and loosest frequency (``None`` where the plan alone sets it) and its source; for ``seen_alone``, after how many
    visits in a row."""
    found: dict[str, dict] = {}
    for rule in timescale_rules:
        if rule.plan_sets is None or rule.plan_sets in found:
            continue
        loosest = rule.loosest()
        found[rule.plan_sets] = {
            "default": _plan_units(rule.recurrence.counts()[0]) if rule.recurrence else None,
            "limit": _plan_units(loosest) if loosest else None,
            "source": rule.source,
        }
        if rule.seen_alone_within:
            within = {"every": rule.seen_alone_within, "unit": "visits"}
            found["seen_alone"] = {"default": within, "limit": within, "source": rule.source}
    return found


def _plan_units(count: tuple[int, str]) -> dict:
    amount, unit = count
    return {"every": amount, "unit": "days" if unit == "calendar_days" else unit}


# --- the content as a whole -----------------------------------------------------


def cross_item_errors(content: Mapping[str, Any], *, references: bool = True) -> Errors:
    """Outcome and action ids are unique among their kind, and every action
    names an outcome of the same plan (``references=False``: content that
    is not the whole plan, whose outcomes may be elsewhere)."""
    errors: Errors = {}
    outcome_ids = _unique_ids(content.get("outcomes"), "outcomes", errors)
    _unique_ids(content.get("actions"), "actions", errors)
    if references:
        for i, action in enumerate(content.get("actions") or []):
            if action["outcome_id"] not in outcome_ids:
                errors.setdefault("actions", {}).setdefault(i, {})["outcome_id"] = [
                    f"No outcome with id {action['outcome_id']!r} in this plan."
                ]
    return errors


def _unique_ids(items: list[Mapping[str, Any]] | None, where: str, errors: Errors) -> set[str]:
    first: dict[str, int] = {}
    for i, item in enumerate(items or []):
        if item["id"] in first:
            errors.setdefault(where, {}).setdefault(i, {})["id"] = [
                f"Duplicate id {item['id']!r} (also at {first[item['id']]})."
            ]
        else:
            first[item["id"]] = i
    return set(first)


# Where a plan's dates are: (item, the date's key in each entry), or (item, None) for a date item.
DATED: tuple[tuple[str, str | None], ...] = (
    ("outcomes", "target_date"),
    ("actions", "by_when"),
    ("further_assessments", "by_when"),
    ("review_arrangements", "next_review_date"),
    ("first_core_group_on", None),
)


def date_errors(
    content: Mapping[str, Any], not_before: date | str | None, *, first_core_group_not_before: date | str | None = None
) -> Errors:
    """Every date of the plan before ``not_before`` (the conference that
    agrees it, or the day the plan began); the first core group date has its
    own limit when given (a revision keeps the initial conference's date)."""
    limit = as_date(not_before)
    errors: Errors = {}
    for item, key in DATED:
        value = content.get(item)
        if value is None:
            continue
        if key is None:
            own = as_date(first_core_group_not_before) if first_core_group_not_before is not None else limit
            message = before(value, own)
            if message:
                errors[item] = [message]
        elif isinstance(value, Mapping):
            message = before(value[key], limit) if value.get(key) is not None else None
            if message:
                errors[item] = {key: [message]}
        else:
            for i, entry in enumerate(value):
                message = before(entry[key], limit) if entry.get(key) is not None else None
                if message:
                    errors.setdefault(item, {})[i] = {key: [message]}
    return errors


def content_errors(
    content: Mapping[str, Any], not_before: date | str | None, *, first_core_group_not_before: date | str | None = None
) -> Errors:
    """What is wrong with a whole plan, each item's shape already checked:
    its dates first; the rules across items once the dates are right."""
    return date_errors(
        content, not_before, first_core_group_not_before=first_core_group_not_before
    ) or cross_item_errors(content)


def check(
    content: Mapping[str, Any],
    not_before: date | str | None,
    *,
    field: str | None = None,
    first_core_group_not_before: date | str | None = None,
) -> None:
    """InvalidStep (a 422) naming what is wrong with a whole plan, under
    ``field`` when the plan is one field of the step."""
    errors = content_errors(content, not_before, first_core_group_not_before=first_core_group_not_before)
    if errors:
        raise InvalidStep({field: errors} if field else errors)


def missing_for_agreement(content: Mapping[str, Any]) -> list[str]:
    """The items (names from ``AGREEMENT_ITEMS``) that a detailed plan lacks
    before the core group can agree it: the key worker and how to contact
    them (``key_worker.contact``: a phone or an email), the core group, at
    least one category, outcome and action, monitoring, review arrangements,
    the contingency plan. ``[]`` when nothing is missing. ``content`` is plan
    content already validated by a plan content schema (loaded or dumped):
    this only looks at what is there."""

    def present(key: str) -> bool:
        value = content.get(key)
        return value is not None and value != [] and value != {}

    missing = []
    for item in AGREEMENT_ITEMS:
        if item == "key_worker.contact":
            kw = content.get("key_worker") or {}
            if present("key_worker") and not (kw.get("phone") or kw.get("email")):
                missing.append(item)
        elif not present(item):
            missing.append(item)
    return missing
