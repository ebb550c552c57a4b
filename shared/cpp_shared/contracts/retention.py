"""The retention rules plugins give (``cpp_retention_rules``): checked as the plugins load, and layered in
CPP_PLUGINS order, a council's rule replacing its jurisdiction's of the same id."""

from __future__ import annotations

from typing import Any

from .hookspecs import PluginError

#: What a rule may apply to: a child whose records reached child protection enquiries, or one whose never did.
RECORD_TYPES = ("child_protection", "referral")
#: The bases of a period, each a whole number of years.
BASES = ("until_age", "years_after_last_entry")
KEYS = {"id", "name", "record_type", *BASES, "source"}
#: The longest period a rule may give: more is a mistake (a number of days, a year of birth).
MOST_YEARS = 120


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _years(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MOST_YEARS


def check_rules(a: Any, answer: Any) -> None:
    """One plugin's answer (``a``: the answer's ``_Answer``, which names the plugin and the hook)."""
    if not isinstance(answer, list):
        raise a.fail(f"must be a list, not {type(answer).__name__}")
    seen: set[str] = set()
    for rule in answer:
        if not isinstance(rule, dict) or not _text(rule.get("id")):
            raise a.fail(f"every rule needs an 'id', not {rule!r}")
        if rule["id"] in seen:
            raise a.fail("field 'id' is given twice", rule)
        seen.add(rule["id"])
        unknown = set(rule) - KEYS
        if unknown:
            raise a.fail(f"unknown keys {sorted(unknown)}; a rule has {sorted(KEYS)}", rule)
        for name in ("name", "source"):
            if not _text(rule.get(name)):
                raise a.fail(f"field {name!r} must be non-empty text, not {rule.get(name)!r}", rule)
        if rule.get("record_type") not in RECORD_TYPES:
            raise a.fail(
                f"field 'record_type' must be one of {', '.join(RECORD_TYPES)}, not {rule.get('record_type')!r}", rule
            )
        given = {basis: rule.get(basis) for basis in BASES if rule.get(basis) is not None}
        if not given:
            raise a.fail(f"a rule needs a period: {' or '.join(BASES)} (whole years)", rule)
        for basis, years in given.items():
            if not _years(years):
                raise a.fail(
                    f"field {basis!r} must be a whole number of years from 0 to {MOST_YEARS}, not {years!r}", rule
                )


def retention_rules(plugins: Any) -> list[dict[str, Any]]:
    """The deployment's rules (``cpp_retention_rules`` layered in CPP_PLUGINS order), each with the plugin that
    gave it; two rules for one record type is a ``PluginError`` (which would apply?)."""
    rules = plugins.layered("cpp_retention_rules")
    by_type: dict[str, str] = {}
    for rule in rules:
        if rule["record_type"] in by_type:
            raise PluginError(
                f"plugin {rule['plugin']!r}, cpp_retention_rules item {rule['id']!r}: record type "
                f"{rule['record_type']!r} already has the rule {by_type[rule['record_type']]!r}; a council replaces "
                "its jurisdiction's rule by giving the same id"
            )
        by_type[rule["record_type"]] = rule["id"]
    return rules
