"""The deployment's timescale rules as the scheduler applies them: the plugin contract's rules
(``cpp_shared.contracts.timescales``: their types and checks), the events the scheduler hears for them, and each rule in
words ("3 months after the initial conference").
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from cpp_shared.contracts import timescales
from cpp_shared.contracts.timescales import (  # noqa: F401 - the scheduler's names for the contract's types
    Cancel,
    Every,
    NormAndLimit,
    Offset,
    RuleError,
    anchor_date,
    closure_days,
    lookup,
    matches,
)
from cpp_shared.plugins import Plugins
from cpp_shared.terminology import terminology

from . import words

#: The events the scheduler's rules may listen for (fnmatch patterns): its queue is bound to exactly these (with
#: the events its other handlers keep), so a rule naming another event would never hear it and is refused.
HEARD = (
    "case.*",
    "referral.*",
    "assessment.*",
    "strategy_discussion.*",
    "enquiry.*",
    "conference.*",
    "plan.*",
    "core_group.*",
    "visit.*",
    "case_visit.*",
    "significant_change.*",
    "report.*",
    "escalation.*",
    "resource_panel.*",
    "child_in_need_plan.*",
    "child.registered.*",
    "child.updated.*",
    "child.born.*",
    "transfer.*",
)


@dataclass(frozen=True)
class Rule(timescales.Rule):
    """A rule, with its timescale in words: the deployment's (``terms``, its merged ``cpp_terminology``)."""

    terms: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def timescale(self) -> str:
        """The rule in words: "3 months after the initial conference"."""
        if self.offset is None:
            return "no timescale set by the source: a date is needed"
        text = f"{self.offset.describe()} {words.anchor(self.triggers[0], self.when, self.terms)}"
        for limit in self.earliest_of:
            text += f", or {limit.offset.describe()} the {limit.anchor.replace('_', ' ')} if that is earlier"
        return text

    def recurrence_text(self) -> str:
        """A recurring step in words: "every 6 to 9 weeks after the last core
        group meeting", "monthly, and no more than 6-weekly, counted from the
        last core group meeting"; empty when the step does not recur."""
        if self.recurrence is None:
            return ""
        last = f"the last {words.anchor(self.met_by[0], self.met_when, self.terms)[4:]}"
        if isinstance(self.recurrence, NormAndLimit):
            return f"{self.recurrence.describe()}, counted from {last}"
        return f"{self.recurrence.describe()} after {last}"

    def frequency_anchor_text(self, occurrence: int) -> str:
        """What a count at the plan's frequency runs from, in words: "the start of the plan", "the last visit
        that sees the child"."""
        if occurrence == 1:
            return words.anchor(self.triggers[0], self.when)
        return f"the last {words.anchor(self.met_by[0], self.met_when)[4:]}"

    def as_dict(self) -> dict[str, Any]:
        described = super().as_dict()
        at = list(described).index("owner")
        items = list(described.items())
        return dict([*items[:at], ("timescale", self.timescale()), *items[at:]])


def heard(rule: timescales.Rule, terms: Mapping[str, str] | None = None) -> Rule:
    """The rule, refused unless the scheduler hears every event it names; said in ``terms``."""
    for field_name, types in (
        ("trigger", rule.triggers),
        ("met_by", rule.met_by),
        ("cancelled_by", tuple(cancel.event for cancel in rule.cancelled_by)),
    ):
        for etype in types:
            if not any(fnmatch.fnmatchcase(etype, pattern) for pattern in HEARD):
                raise RuleError(
                    f"plugin {rule.plugin!r}, timescale rule {rule.id!r}, field {field_name!r}: the scheduler "
                    f"does not hear {etype!r} (it hears {', '.join(HEARD)})"
                )
    return Rule(**{f.name: getattr(rule, f.name) for f in fields(timescales.Rule)}, terms=terms or {})


def effective_rules(plugins: Plugins) -> list[Rule]:
    """The deployment's rules, layered by id in CPP_PLUGINS order, each checked, heard and said in its words."""
    terms = terminology(plugins)
    return [heard(rule, terms) for rule in timescales.timescale_rules(plugins)]
