"""The timescale rules of the plugin contract (``cpp_shared.contracts.hookspecs.cpp_timescales``): their data types
and their checks, beside the hooks, so that a plugin author can check a rule set without the scheduler, and every
deployment's rules are checked when its plugins load (``cpp_shared.plugins.Plugins``).

Plugins return plain dicts; ``timescale_rules`` turns the effective set (layered by id in CPP_PLUGINS order)
into ``Rule`` objects, refusing any rule that could not be applied, with the plugin and the field named: one of the
wrong shape (``parse_rule``), or one naming an event no service publishes or a field its event does not carry
(``check_events``, against the event catalogue's data schemas), with the nearest name suggested. A later plugin
may drop an earlier rule with ``{"id": ..., "disabled": True}``, or change some of its fields with
``"extends": True``. The scheduler adds the words (``cpp_scheduler.domain.rules``).

A rule whose step is due by the earlier of two dates (Scotland's pre-birth conference: 28 days from the concern,
and always by 28 weeks of gestation) names the other counts in ``earliest_of``: a list of ``{anchor, offset}``,
each another date of the trigger's data and an offset from it. The deadline falls on the earliest of them all; a
count whose anchor the event lacks is left out.

A recurring step repeats from the date each occurrence is met: ``{"every": {min, max, unit}}`` (due at the
earliest, overdue after the latest, in one unit), or a norm and a limit in units of their own, ``{"norm": {amount,
unit}, "limit": {amount, unit}}``: Wales's core groups, "monthly, and no more than 6-weekly", are due a calendar
month after the last meeting and overdue only after 6 weeks.

A step whose frequency the plan states (``"plan_sets": "visits"`` or ``"core_group"``: the item of the plan's
``rhythm``) counts each later occurrence, and the first too when a plan's event starts it, at the plan's frequency;
the rule's recurrence is the default where the plan states none, and its latest count (``every.max``, or the
``limit``) the loosest frequency a plan may state. A visits rule may say after how many visits in a row the child
must have been seen alone (``"seen_alone_within": 3``): the default and the limit of the plan's ``seen_alone``.

A council's closure days (``cpp_extra_closure_days``) are dated (``"date": "2026-12-29"``) or yearly (``"yearly":
"12-24"``, every 24 December); a ``"half_day": True`` closure is still a working day unless it also says
``"day_lost": True``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

from marshmallow import fields as ma_fields
from marshmallow import validate as ma_validate

from . import catalogue
from .hookspecs import PluginError

UNITS = ("working_days", "calendar_days", "weeks", "months")
DIRECTIONS = ("after", "before")
ROLES = ("social_worker", "team_manager", "chair", "admin")
KNOWN_KEYS = {
    "id",
    "name",
    "trigger",
    "when",
    "anchor",
    "key",
    "offset",
    "deadline",
    "owner",
    "met_by",
    "met_when",
    "met_on",
    "cancelled_by",
    "recurrence",
    "reminder_days",
    "source",
    "plugin",
    "disabled",
    "earliest_of",
    "plan_sets",
    "seen_alone_within",
}
#: The items of a plan's ``rhythm`` (its content) a rule's ``plan_sets`` may name.
RHYTHM_ITEMS = ("visits", "core_group")
LIMIT_KEYS = {"anchor", "offset"}


class RuleError(PluginError):
    """A plugin's rule that could not be applied (named by plugin, rule and field)."""


@dataclass(frozen=True)
class Offset:
    amount: int
    unit: str
    direction: str = "after"

    def describe(self) -> str:
        if self.amount == 0:
            return "on the first working day from"  # the anchor itself when it is a working day
        unit = self.unit.replace("_", " ")
        if self.amount == 1:
            unit = unit.rstrip("s").replace("days", "day")
        return f"{self.amount} {unit} {self.direction}"


@dataclass(frozen=True)
class Limit:
    """Another count a deadline must not fall after: ``offset`` from the date at ``anchor`` in the trigger's data."""

    anchor: str
    offset: Offset


@dataclass(frozen=True)
class Every:
    min: int
    max: int
    unit: str

    def describe(self) -> str:
        span = str(self.min) if self.min == self.max else f"{self.min} to {self.max}"
        return f"every {span} {self.unit.replace('_', ' ')}"

    def counts(self) -> tuple[tuple[int, str], tuple[int, str]]:
        """The due count and the latest count, each (amount, unit)."""
        return (self.min, self.unit), (self.max, self.unit)

    def as_dict(self) -> dict[str, Any]:
        return {"every": {"min": self.min, "max": self.max, "unit": self.unit}, "description": self.describe()}


def _adverb(amount: int, unit: str) -> str:
    """How often, in a word where there is one: "monthly", "6-weekly", "every 10 working days"."""
    if unit in ("weeks", "months"):
        return f"{unit[:-1]}ly" if amount == 1 else f"{amount}-{unit[:-1]}ly"
    return f"every {unit.replace('_', ' ')[:-1]}" if amount == 1 else f"every {amount} {unit.replace('_', ' ')}"


@dataclass(frozen=True)
class NormAndLimit:
    """A step due ``norm`` after the last one and overdue only after ``limit``, each in its own unit."""

    norm: int
    norm_unit: str
    limit: int
    limit_unit: str

    def describe(self) -> str:
        return f"{_adverb(self.norm, self.norm_unit)}, and no more than {_adverb(self.limit, self.limit_unit)}"

    def counts(self) -> tuple[tuple[int, str], tuple[int, str]]:
        """The due count and the latest count, each (amount, unit)."""
        return (self.norm, self.norm_unit), (self.limit, self.limit_unit)

    def as_dict(self) -> dict[str, Any]:
        return {
            "norm": {"amount": self.norm, "unit": self.norm_unit},
            "limit": {"amount": self.limit, "unit": self.limit_unit},
            "description": self.describe(),
        }


@dataclass(frozen=True)
class Cancel:
    event: str
    when: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    triggers: tuple[str, ...]
    when: dict[str, Any]
    anchor: str
    key: str | None
    offset: Offset | None  # None: the source sets no timescale; the deadline needs a date
    deadline: str
    owner: str
    met_by: tuple[str, ...]
    met_when: dict[str, Any]
    met_on: str
    cancelled_by: tuple[Cancel, ...]
    recurrence: Every | NormAndLimit | None
    reminder_days: int
    source: str
    plugin: str
    earliest_of: tuple[Limit, ...] = ()  # the deadline falls on the earliest of its counts
    plan_sets: str | None = None  # the item of the plan's rhythm that sets its frequency (RHYTHM_ITEMS)
    seen_alone_within: int | None = None  # visits: seen alone at least once in this many in a row

    def loosest(self) -> tuple[int, str] | None:
        """The loosest frequency a plan may state for this step (amount, unit): the recurrence's latest count;
        None when the rule sets no limit."""
        return None if self.recurrence is None else self.recurrence.counts()[1]

    def first_counts_at_plan_frequency(self) -> bool:
        """Whether the plan's frequency counts the first occurrence too: a step the plan's own event starts
        (visits from the plan's start), rather than a meeting with its own first timescale (the first core
        group)."""
        return self.plan_sets is not None and all(t.startswith("plan.") for t in self.triggers)

    def triggered_by(self, event_type: str, data: dict[str, Any]) -> bool:
        return event_type in self.triggers and matches(self.when, data)

    def is_met_by(self, event_type: str, data: dict[str, Any]) -> bool:
        return event_type in self.met_by and matches(self.met_when, data)

    def is_cancelled_by(self, event_type: str, data: dict[str, Any]) -> bool:
        return any(c.event == event_type and matches(c.when, data) for c in self.cancelled_by)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "deadline": self.deadline,
            "trigger": list(self.triggers),
            "when": self.when,
            "anchor": self.anchor,
            "key": self.key,
            "offset": None
            if self.offset is None
            else {"amount": self.offset.amount, "unit": self.offset.unit, "direction": self.offset.direction},
            "owner": self.owner,
            "met_by": list(self.met_by),
            "met_when": self.met_when,
            "met_on": self.met_on,
            "cancelled_by": [{"event": c.event, "when": c.when} for c in self.cancelled_by],
            "recurrence": None if self.recurrence is None else self.recurrence.as_dict(),
            "reminder_days": self.reminder_days,
            "source": self.source,
            "plugin": self.plugin,
            "earliest_of": [
                {
                    "anchor": limit.anchor,
                    "offset": {
                        "amount": limit.offset.amount,
                        "unit": limit.offset.unit,
                        "direction": limit.offset.direction,
                    },
                }
                for limit in self.earliest_of
            ],
            "plan_sets": self.plan_sets,
            "seen_alone_within": self.seen_alone_within,
        }


def lookup(data: dict[str, Any], path: str) -> Any:
    """The value at a dotted path in an event's data, or None."""
    value: Any = data
    for step in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value


def matches(conditions: dict[str, Any], data: dict[str, Any]) -> bool:
    for path, wanted in conditions.items():
        value = lookup(data, path)
        if isinstance(wanted, list):
            if value not in wanted:
                return False
        elif value != wanted:
            return False
    return True


def anchor_date(data: dict[str, Any], path: str) -> date | None:
    value = lookup(data, path)
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


# --- parsing ------------------------------------------------------------


class _Checker:
    def __init__(self, raw: dict[str, Any]):
        self.raw = raw
        self.plugin = raw.get("plugin", "?")
        self.rule_id = raw.get("id", "?")

    def fail(self, field_name: str, problem: str) -> RuleError:
        return RuleError(f"plugin {self.plugin!r}, timescale rule {self.rule_id!r}, field {field_name!r}: {problem}")

    def text(self, name: str, *, default: str | None = None) -> str:
        value = self.raw.get(name, default)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(name, "must be non-empty text")
        return value

    def optional_text(self, name: str) -> str | None:
        return None if self.raw.get(name) is None else self.text(name)

    def events(self, name: str, *, required: bool = True) -> tuple[str, ...]:
        value = self.raw.get(name)
        if value is None and not required:
            return ()
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items or not all(_is_event_type(v) for v in items):
            raise self.fail(name, "must be an event type such as 'conference.held.v1', or a non-empty list of them")
        return tuple(items)

    def conditions(self, name: str, value: Any = None) -> dict[str, Any]:
        value = self.raw.get(name) if value is None else value
        if value is None:
            return {}
        if not isinstance(value, dict) or not all(isinstance(k, str) and k for k in value):
            raise self.fail(name, "must map data fields to a value or a list of allowed values")
        return dict(value)

    def offset(self, value: Any = None, name: str = "offset") -> Offset | None:
        value = self.raw.get("offset") if name == "offset" else value
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.fail(name, "must be {amount, unit, direction} or null when the source sets no timescale")
        amount, unit, direction = value.get("amount"), value.get("unit"), value.get("direction", "after")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            raise self.fail(f"{name}.amount", f"must be a whole number >= 0, not {amount!r}")
        if unit not in UNITS:
            raise self.fail(f"{name}.unit", f"must be one of {', '.join(UNITS)}, not {unit!r}")
        if direction not in DIRECTIONS:
            raise self.fail(f"{name}.direction", f"must be after or before, not {direction!r}")
        return Offset(amount, unit, direction)

    def limits(self) -> tuple[Limit, ...]:
        value = self.raw.get("earliest_of")
        if value is None:
            return ()
        if not isinstance(value, list) or not value:
            raise self.fail("earliest_of", "must be a non-empty list of {anchor, offset}")
        result = []
        for i, item in enumerate(value):
            name = f"earliest_of.{i}"
            if not isinstance(item, dict) or set(item) != LIMIT_KEYS:
                raise self.fail(
                    name, "must be {anchor, offset}: another date of the trigger's data and a count from it"
                )
            anchor = item["anchor"]
            if not isinstance(anchor, str) or not anchor.strip():
                raise self.fail(f"{name}.anchor", "must be non-empty text: a date field of the trigger's data")
            offset = self.offset(item["offset"], f"{name}.offset")
            if offset is None:
                raise self.fail(f"{name}.offset", "must be {amount, unit, direction}: a count needs a timescale")
            result.append(Limit(anchor, offset))
        return tuple(result)

    def recurrence(self) -> Every | NormAndLimit | None:
        value = self.raw.get("recurrence")
        if value is None:
            return None
        if isinstance(value, dict) and set(value) == {"norm", "limit"}:
            return self.norm_and_limit(value["norm"], value["limit"])
        every = value.get("every") if isinstance(value, dict) and set(value) == {"every"} else None
        if not isinstance(every, dict):
            raise self.fail(
                "recurrence",
                "must be {'every': {'min': N, 'max': M, 'unit': ...}}, "
                "{'norm': {'amount': N, 'unit': ...}, 'limit': {'amount': M, 'unit': ...}} or null",
            )
        lo = self._count("recurrence.every.min", every.get("min"))
        hi = self._count("recurrence.every.max", every.get("max", every.get("min")))
        unit = every.get("unit")
        if hi < lo:
            raise self.fail("recurrence.every.max", f"{hi} is less than min {lo}")
        if unit not in UNITS:
            raise self.fail("recurrence.every.unit", f"must be one of {', '.join(UNITS)}, not {unit!r}")
        return Every(lo, hi, unit)

    def norm_and_limit(self, norm: Any, limit: Any) -> NormAndLimit:
        counts = []
        for name, value in (("recurrence.norm", norm), ("recurrence.limit", limit)):
            if not isinstance(value, dict) or set(value) != {"amount", "unit"}:
                raise self.fail(name, "must be {amount, unit}: a count from the last one held")
            if value["unit"] not in UNITS:
                raise self.fail(f"{name}.unit", f"must be one of {', '.join(UNITS)}, not {value['unit']!r}")
            counts.append((self._count(f"{name}.amount", value["amount"]), value["unit"]))
        (n, n_unit), (m, m_unit) = counts
        if _longest_days(n, n_unit) > _shortest_days(m, m_unit) and not (n_unit == m_unit and n <= m):
            raise self.fail(
                "recurrence.limit",
                f"{m} {m_unit.replace('_', ' ')} can fall before the norm, {n} {n_unit.replace('_', ' ')}",
            )
        return NormAndLimit(n, n_unit, m, m_unit)

    def _count(self, field_name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.fail(field_name, f"must be a whole number >= 1, not {value!r}")
        return value

    def cancels(self) -> tuple[Cancel, ...]:
        value = self.raw.get("cancelled_by") or []
        if not isinstance(value, list):
            raise self.fail("cancelled_by", "must be a list of {event, when}")
        result = []
        for i, item in enumerate(value):
            if not isinstance(item, dict) or not _is_event_type(item.get("event")):
                raise self.fail(f"cancelled_by.{i}.event", "must be an event type such as 'conference.cancelled.v1'")
            result.append(Cancel(item["event"], self.conditions(f"cancelled_by.{i}.when", item.get("when") or {})))
        return tuple(result)


def looser_than(count: tuple[int, str], limit: tuple[int, str]) -> bool:
    """Whether a frequency ``count`` (amount, unit) can fall after ``limit``: 4 weeks is not looser than 6
    weeks, 15 working days is looser than 10, a month is not looser than 6 weeks."""
    (n, n_unit), (m, m_unit) = count, limit
    if n_unit == m_unit:
        return n > m
    return _longest_days(n, n_unit) > _shortest_days(m, m_unit)


def _shortest_days(amount: int, unit: str) -> int:
    """The fewest calendar days a count can span (a month is at least 28 days; a working day at least one)."""
    return amount * {"working_days": 1, "calendar_days": 1, "weeks": 7, "months": 28}[unit]


def _longest_days(amount: int, unit: str) -> int:
    """The most calendar days a count can span, closures aside (a month is at most 31 days; 5 working days a
    week)."""
    if unit == "working_days":
        return amount + 2 * ((amount + 4) // 5)
    return amount * {"calendar_days": 1, "weeks": 7, "months": 31}[unit]


def _is_event_type(value: Any) -> bool:
    parts = value.split(".") if isinstance(value, str) else []
    return len(parts) >= 3 and all(parts) and parts[-1].startswith("v")


def parse_rule(raw: dict[str, Any]) -> Rule:
    c = _Checker(raw)
    unknown = sorted(set(raw) - KNOWN_KEYS)
    if unknown:
        raise c.fail(unknown[0], f"is not a rule field (known: {', '.join(sorted(KNOWN_KEYS - {'plugin'}))})")
    owner = c.text("owner")
    if owner not in ROLES:
        raise c.fail("owner", f"must be one of {', '.join(ROLES)}, not {owner!r}")
    reminder = raw.get("reminder_days", 0)
    if isinstance(reminder, bool) or not isinstance(reminder, int) or reminder < 0:
        raise c.fail("reminder_days", f"must be a whole number of working days >= 0, not {reminder!r}")
    rule = Rule(
        id=c.text("id"),
        name=c.text("name", default=str(raw.get("deadline", "")).replace("_", " ").capitalize() or None),
        triggers=c.events("trigger"),
        when=c.conditions("when"),
        anchor=c.text("anchor"),
        key=c.optional_text("key"),
        offset=c.offset(),
        deadline=c.text("deadline"),
        owner=owner,
        met_by=c.events("met_by"),
        met_when=c.conditions("met_when"),
        met_on=c.text("met_on", default="held_on"),
        cancelled_by=c.cancels(),
        recurrence=c.recurrence(),
        reminder_days=reminder,
        source=c.text("source"),
        plugin=c.plugin,
        earliest_of=c.limits(),
        plan_sets=raw.get("plan_sets"),
        seen_alone_within=raw.get("seen_alone_within"),
    )
    if rule.plan_sets is not None and rule.plan_sets not in RHYTHM_ITEMS:
        raise c.fail(
            "plan_sets",
            f"must be one of {', '.join(RHYTHM_ITEMS)} (an item of the plan's rhythm), not {rule.plan_sets!r}",
        )
    if rule.seen_alone_within is not None:
        c._count("seen_alone_within", rule.seen_alone_within)
        if rule.plan_sets != "visits":
            raise c.fail("seen_alone_within", "is said only of a rule the plan's visits set (plan_sets: visits)")
    if rule.plan_sets is not None and rule.offset is None and not rule.first_counts_at_plan_frequency():
        raise c.fail("offset", "a step the plan sets needs a first timescale unless a plan's event starts it")
    if rule.recurrence is not None and rule.offset is None:
        raise c.fail("recurrence", "a rule without a timescale cannot recur")
    if rule.earliest_of and rule.offset is None:
        raise c.fail("earliest_of", "a rule without a timescale has no count to compare with")
    return rule


# --- against the event catalogue ------------------------------------------


@cache
def data_fields(event_type: str) -> dict[str, ma_fields.Field]:
    """Every field of an event type's data (``catalogue.CATALOGUE``), by dotted path: a nested object's own path
    and each of its fields'."""

    def walk(schema: Any, prefix: str) -> dict[str, ma_fields.Field]:
        found: dict[str, ma_fields.Field] = {}
        for name, item in schema.fields.items():
            path = prefix + (item.data_key or name)
            found[path] = item
            if isinstance(item, ma_fields.Nested):
                found.update(walk(item.schema, path + "."))
        return found

    return walk(catalogue.get(event_type).schema(), "")


def _nearest(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Against:
    """One rule's events and fields, checked against what the platform's events carry."""

    def __init__(self, rule: Rule):
        self.rule = rule

    def fail(self, field_name: str, problem: str) -> RuleError:
        return RuleError(
            f"plugin {self.rule.plugin!r}, timescale rule {self.rule.id!r}, field {field_name!r}: {problem}"
        )

    def event(self, field_name: str, event_type: str) -> None:
        if event_type not in catalogue.CATALOGUE:
            raise self.fail(
                field_name,
                f"no service publishes {event_type!r} (it is not in the event catalogue, "
                f"cpp_shared.contracts.catalogue){_nearest(event_type, catalogue.CATALOGUE)}",
            )

    def data(self, field_name: str, event_type: str, path: str, *, day: bool = False) -> None:
        """``path`` is a field of ``event_type``'s data (a date, when ``day``)."""
        carried = data_fields(event_type)
        if path not in carried:
            raise self.fail(field_name, f"{event_type} does not carry {path!r}{_nearest(path, carried)}")
        if day and not isinstance(carried[path], (ma_fields.Date, ma_fields.DateTime)):
            dates = [p for p, f in carried.items() if isinstance(f, (ma_fields.Date, ma_fields.DateTime))]
            raise self.fail(field_name, f"{event_type}'s {path!r} is not a date (its dates: {', '.join(dates)})")

    def condition(self, field_name: str, event_type: str, path: str, wanted: Any) -> None:
        """``path`` is a field of ``event_type``'s data, and each value a condition allows is one it can have (for a
        field of fixed values: a conference's ``kind``, a review's ``decision``)."""
        self.data(field_name, event_type, path)
        choices = [v.choices for v in data_fields(event_type)[path].validators if isinstance(v, ma_validate.OneOf)]
        for value in wanted if isinstance(wanted, list) else [wanted]:
            if choices and value is not None and value not in choices[0]:
                words = ", ".join(map(repr, choices[0]))
                nearest = _nearest(value, choices[0]) if isinstance(value, str) else ""
                raise self.fail(
                    field_name, f"{event_type}'s {path!r} is never {value!r} (it is one of {words}){nearest}"
                )


def check_events(rule: Rule) -> Rule:
    """The rule, refused unless every event it names is one the platform publishes (in the event catalogue) and
    every field it reads is in that event's data: the trigger's anchor, key, conditions and other counts' anchors,
    the meeting event's date and conditions, and the cancelling events' conditions, each condition's values ones
    the field can have. Otherwise the deadline would
    silently never open, never be met or never be cancelled."""
    c = _Against(rule)
    for field_name, types in (
        ("trigger", rule.triggers),
        ("met_by", rule.met_by),
        *((f"cancelled_by.{i}.event", (cancel.event,)) for i, cancel in enumerate(rule.cancelled_by)),
    ):
        for event_type in types:
            c.event(field_name, event_type)
    for event_type in rule.triggers:
        c.data("anchor", event_type, rule.anchor, day=True)
        if rule.key is not None:
            c.data("key", event_type, rule.key)
        for path, wanted in rule.when.items():
            c.condition(f"when.{path}", event_type, path, wanted)
        for i, limit in enumerate(rule.earliest_of):
            c.data(f"earliest_of.{i}.anchor", event_type, limit.anchor, day=True)
    for event_type in rule.met_by:
        c.data("met_on", event_type, rule.met_on, day=True)
        for path, wanted in rule.met_when.items():
            c.condition(f"met_when.{path}", event_type, path, wanted)
    for i, cancel in enumerate(rule.cancelled_by):
        for path, wanted in cancel.when.items():
            c.condition(f"cancelled_by.{i}.when.{path}", cancel.event, path, wanted)
    return rule


def timescale_rules(plugins) -> list[Rule]:
    """The deployment's rules (``plugins``: a ``Plugins``), layered by id in CPP_PLUGINS order, each checked for
    its shape and against the event catalogue."""
    return [check_events(parse_rule(raw)) for raw in plugins.layered("cpp_timescales") if not raw.get("disabled")]


CLOSURE_KEYS = {"date", "yearly", "name", "half_day", "day_lost"}


@dataclass(frozen=True)
class Closure:
    """A council's own closure: on one date, or every year on a day ("12-24", every 24 December). A half day is
    still a working day unless the plugin says it counts as a day lost."""

    name: str
    on: date | None = None
    yearly: tuple[int, int] | None = None  # (month, day)
    half_day: bool = False
    day_lost: bool = True

    @property
    def closes(self) -> bool:
        """Whether the day is lost to the count (a whole day, or a half day the plugin counts as lost)."""
        return not self.half_day or self.day_lost

    def in_year(self, year: int) -> date | None:
        """The day this closure falls on in ``year`` (None if it does not: 29 February, or another year's)."""
        if self.on is not None:
            return self.on if self.on.year == year else None
        assert self.yearly is not None
        try:
            return date(year, *self.yearly)
        except ValueError:
            return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "date": self.on.isoformat() if self.on else None,
            "yearly": f"{self.yearly[0]:02d}-{self.yearly[1]:02d}" if self.yearly else None,
            "half_day": self.half_day,
            "day_lost": self.closes,
        }


def parse_closure(plugin: str, item: Any) -> Closure:
    """One closure day of a plugin's ``cpp_extra_closure_days``, checked."""

    def fail(problem: str) -> PluginError:
        return PluginError(f"plugin {plugin!r}: closure day {item!r} is invalid: {problem}")

    if not isinstance(item, dict):
        raise fail("must be a dict with a date or a yearly day, and a name")
    unknown = sorted(set(item) - CLOSURE_KEYS)
    if unknown:
        raise fail(f"{unknown[0]!r} is not a closure field (known: {', '.join(sorted(CLOSURE_KEYS))})")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise fail("a closure day needs a name")
    if ("date" in item) == ("yearly" in item):
        raise fail("give either a date (2026-12-24) or a yearly day (12-24), not both or neither")
    for flag in ("half_day", "day_lost"):
        if not isinstance(item.get(flag, False), bool):
            raise fail(f"{flag} must be true or false")
    half_day = item.get("half_day", False)
    if item.get("day_lost") is not None and not half_day:
        raise fail("day_lost is said only of a half day (a whole closure day is always lost)")
    try:
        if "date" in item:
            on, yearly = date.fromisoformat(item["date"]), None
        else:
            month, day = (int(part) for part in str(item["yearly"]).split("-"))
            date(2000, month, day)  # a leap year: 02-29 is a day, kept only in the years that have it
            on, yearly = None, (month, day)
    except (TypeError, ValueError) as exc:
        raise fail(f"{exc} (a date is YYYY-MM-DD, a yearly day MM-DD)") from exc
    return Closure(name, on, yearly, half_day, item.get("day_lost", False) if half_day else True)


def closure_days(plugins) -> list[Closure]:
    """Every plugin's closure days, checked, in CPP_PLUGINS order."""
    return [
        parse_closure(plugin, item)
        for plugin, items in plugins.answers("cpp_extra_closure_days")
        for item in items or []
    ]
