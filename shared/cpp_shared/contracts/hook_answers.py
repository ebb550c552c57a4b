"""The checks of what plugins answer, beside the hooks (``cpp_shared.contracts.hookspecs``): run as a deployment's
plugins load (``cpp_shared.plugins.Plugins``), so that a mistake stops every service at start-up naming the plugin,
the hook and the item, and a plugin's own tests meet it without any service. The timescale rules have their own
module (``cpp_shared.contracts.timescales``); the hooks called with arguments (``cpp_validate_plan``, ``cpp_identity``,
``cpp_notification_recipients``, ``cpp_document_phrases``) are checked where they are called.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .hookspecs import LAYERS, PluginError
from .retention import check_rules as _retention_rules

CODE = re.compile(r"[A-Z0-9]{2,10}")
JURISDICTIONS = ("england", "wales", "scotland", "northern_ireland", "guernsey")
BRANDING_KEYS = {"organisation", "accent_colour", "contact_block", "footer"}
COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
SLUG = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")
# The Children in Need census's codes for one category of abuse (MUL, "multiple", is a plan with more than one).
CENSUS_CODES = ("PHY", "EMO", "SAB", "NEG")
# What an escalation route's step may say.
STEP_KEYS = {"id", "name", "source", "outcomes", "continues_on"}


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


class _Answer:
    def __init__(self, plugin: str, hook: str):
        self.plugin, self.hook = plugin, hook

    def fail(self, problem: str, item: Any = None) -> PluginError:
        where = f"plugin {self.plugin!r}, {self.hook}"
        if isinstance(item, dict) and "id" in item:
            where += f" item {item['id']!r}"
        return PluginError(f"{where}: {problem}")


def _authority(a: _Answer, answer: Any) -> None:
    if not isinstance(answer, dict):
        raise a.fail(f"must be a dict, not {type(answer).__name__}")
    if not isinstance(answer.get("code"), str) or not CODE.fullmatch(answer["code"]):
        raise a.fail(f"code must be 2 to 10 capital letters or digits, not {answer.get('code')!r}")
    if not _text(answer.get("name")):
        raise a.fail("name must be non-empty text")
    if answer.get("jurisdiction") not in JURISDICTIONS:
        raise a.fail(f"jurisdiction must be one of {', '.join(JURISDICTIONS)}, not {answer.get('jurisdiction')!r}")
    calendar = answer.get("calendar")
    if not isinstance(calendar, dict) or not _text(calendar.get("country")):
        raise a.fail("calendar must name its country (python-holidays), e.g. {'country': 'GB', 'subdiv': 'ENG'}")
    for contact in answer.get("contacts") or []:
        if not isinstance(contact, dict) or not _text(contact.get("name")):
            raise a.fail(f"every contact needs a name, not {contact!r}")
    _escalation(a, answer.get(ESCALATION))


ESCALATION = "overdue_escalation_working_days"
ESCALATION_LEVELS = ("team_manager", "service_manager")


def _escalation(a: _Answer, given: Any) -> None:
    """The grace periods before an overdue step escalates: working days, 0 to 60, per level."""
    if given is None:
        return
    if not isinstance(given, dict) or set(given) - {*ESCALATION_LEVELS, "source"}:
        raise a.fail(f"{ESCALATION} must be a dict of {', '.join(ESCALATION_LEVELS)} (and source), not {given!r}")
    for level in ESCALATION_LEVELS:
        value = given.get(level)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 60):
            raise a.fail(f"{ESCALATION}.{level} must be a whole number of working days from 0 to 60, not {value!r}")
    if given.get("source") is not None and not _text(given["source"]):
        raise a.fail(f"{ESCALATION}.source must be non-empty text")


def _listed(fields: dict[str, Callable[[Any], bool]], optional: dict[str, Callable[[Any], bool]] | None = None):
    """A check of a list hook's items: each a dict with an ``id`` and these fields."""

    def check(a: _Answer, answer: Any) -> None:
        if not isinstance(answer, list):
            raise a.fail(f"must be a list, not {type(answer).__name__}")
        for item in answer:
            if not isinstance(item, dict) or not _text(item.get("id")):
                raise a.fail(f"every item needs an 'id', not {item!r}")
            if item.get("disabled") or item.get("extends"):
                continue  # dropping or changing an earlier item: checked once layered
            for name, good in fields.items():
                if not good(item.get(name)):
                    raise a.fail(f"field {name!r} is missing or wrong: {item.get(name)!r}", item)
            for name, good in (optional or {}).items():
                if item.get(name) is not None and not good(item[name]):
                    raise a.fail(f"field {name!r} is wrong: {item[name]!r}", item)

    return check


def _categories(a: _Answer, answer: Any) -> None:
    if not isinstance(answer, list):
        raise a.fail(f"must be a list, not {type(answer).__name__}")
    seen: set[str] = set()
    for item in answer:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not SLUG.fullmatch(item["id"]):
            got = item.get("id") if isinstance(item, dict) else item
            raise a.fail(f"field 'id' must be a lower_snake slug (e.g. 'neglect'), not {got!r}")
        if item["id"] in seen:
            raise a.fail("field 'id' is given twice", item)
        seen.add(item["id"])
        _category_fields(a, item)


def _category_fields(a: _Answer, item: dict[str, Any]) -> None:
    """A category's name and census code; an item that drops or changes an earlier one gives only what it changes."""
    partial = item.get("disabled") or item.get("extends")
    if not (partial and "name" not in item) and not _text(item.get("name")):
        raise a.fail(f"field 'name' must be non-empty text, not {item.get('name')!r}", item)
    code = item.get("census_code")
    if code is not None and code not in CENSUS_CODES:
        raise a.fail(f"field 'census_code' must be one of {', '.join(CENSUS_CODES)}, not {code!r}", item)


def categories(plugins) -> list[dict[str, Any]]:
    """The deployment's categories (``cpp_categories`` layered in CPP_PLUGINS order, the disabled dropped), each
    ``{"id", "name", "census_code"}``; a deployment that offers none is a ``PluginError``."""
    offered = [
        {"id": item["id"], "name": item["name"], "census_code": item.get("census_code")}
        for item in plugins.layered("cpp_categories")
        if not item.get("disabled")
    ]
    if not offered:
        raise PluginError(
            f"no active plugin offers a category of harm or area of concern (cpp_categories); "
            f"active plugins: {', '.join(plugins.order)}"
        )
    return offered


def _words(a: _Answer, answer: Any) -> None:
    if not isinstance(answer, dict) or not all(isinstance(k, str) and _text(v) for k, v in answer.items()):
        raise a.fail("must be a dict of names to non-empty text")


def _branding(a: _Answer, answer: Any) -> None:
    if not isinstance(answer, dict):
        raise a.fail(f"must be a dict, not {type(answer).__name__}")
    unknown = set(answer) - BRANDING_KEYS
    if unknown:
        raise a.fail(f"unknown keys {sorted(unknown)}; branding has {sorted(BRANDING_KEYS)}")
    if answer.get("accent_colour") is not None and not (
        isinstance(answer["accent_colour"], str) and COLOUR.fullmatch(answer["accent_colour"])
    ):
        raise a.fail(f"accent_colour must be #rrggbb, not {answer['accent_colour']!r}")
    block = answer.get("contact_block")
    if block is not None and (not isinstance(block, dict) or not _text(block.get("title"))):
        raise a.fail("contact_block must be a dict with a title")


def _closure_days(a: _Answer, answer: Any) -> None:
    if not isinstance(answer, list):
        raise a.fail(f"must be a list, not {type(answer).__name__}")


def _quorum(a: _Answer, answer: Any) -> None:
    if not isinstance(answer, dict):
        raise a.fail(f"must be a dict, not {type(answer).__name__}")
    unknown = set(answer) - {"min_agencies", "required_agencies", "source"}
    if unknown:
        raise a.fail(f"unknown keys {sorted(unknown)}; a quorum has min_agencies, required_agencies and source")
    least = answer.get("min_agencies")
    if not isinstance(least, int) or isinstance(least, bool) or least < 1:
        raise a.fail(f"min_agencies must be a whole number of agencies, 1 or more, not {least!r}")
    required = answer.get("required_agencies")
    if required is not None and (not isinstance(required, list) or not all(_text(r) for r in required)):
        raise a.fail(f"required_agencies must be a list of agencies' names, not {required!r}")
    if required and len(required) > least:
        raise a.fail(f"required_agencies names {len(required)} agencies, more than min_agencies ({least})")
    if not _text(answer.get("source")):
        raise a.fail("source must say where the quorum comes from")


def _names(a: _Answer, answer: Any) -> None:
    if not isinstance(answer, list) or not all(isinstance(n, str) and n for n in answer):
        raise a.fail(f"must be a list of plugin names, not {answer!r}")


_routes = _listed(
    {"name": _text, "description": _text, "source": _text},
    {"recipient": lambda r: isinstance(r, dict) and _text(r.get("name"))},
)


def _escalation_routes(a: _Answer, answer: Any) -> None:
    """Each route as ``_listed`` checks it, and the steps a route declares (``steps``, optional): each ``{id, name,
    source}``, its id a slug given once, and a step that decides gives its ``outcomes`` ({id, name}) and may name
    the one after which the later steps follow (``continues_on``)."""
    _routes(a, answer)
    for route in answer:
        if route.get("steps") is not None:
            _route_steps(a, route)


def _route_steps(a: _Answer, route: dict[str, Any]) -> None:
    steps = route["steps"]
    if not isinstance(steps, list) or not steps:
        raise a.fail("field 'steps' must be a non-empty list of {id, name, source}", route)
    seen: set[str] = set()
    for step in steps:
        if not isinstance(step, dict) or not isinstance(step.get("id"), str) or not SLUG.fullmatch(step["id"]):
            raise a.fail(f"every step needs an 'id', a lower_snake slug, not {step!r}", route)
        if step["id"] in seen:
            raise a.fail(f"step {step['id']!r} is given twice", route)
        seen.add(step["id"])
        for name in ("name", "source"):
            if not _text(step.get(name)):
                raise a.fail(f"step {step['id']!r}: field {name!r} is missing or wrong: {step.get(name)!r}", route)
        unknown = set(step) - STEP_KEYS
        if unknown:
            raise a.fail(f"step {step['id']!r}: unknown keys {sorted(unknown)}; a step has {sorted(STEP_KEYS)}", route)
        _step_outcomes(a, route, step)


def _step_outcomes(a: _Answer, route: dict[str, Any], step: dict[str, Any]) -> None:
    outcomes = step.get("outcomes")
    if outcomes is None:
        if step.get("continues_on") is not None:
            raise a.fail(f"step {step['id']!r}: continues_on names an outcome, but the step has none", route)
        return
    if (
        not isinstance(outcomes, list)
        or not outcomes
        or not all(
            isinstance(o, dict) and isinstance(o.get("id"), str) and SLUG.fullmatch(o["id"]) and _text(o.get("name"))
            for o in outcomes
        )
    ):
        raise a.fail(f"step {step['id']!r}: outcomes must be a non-empty list of {{id, name}}, not {outcomes!r}", route)
    ids = [o["id"] for o in outcomes]
    if step.get("continues_on") is not None and step["continues_on"] not in ids:
        raise a.fail(
            f"step {step['id']!r}: continues_on must be one of its outcomes ({', '.join(ids)}), "
            f"not {step['continues_on']!r}",
            route,
        )


def _layer(a: _Answer, answer: Any) -> None:
    if answer not in LAYERS:
        raise a.fail(f"must be one of {', '.join(map(repr, LAYERS))}, not {answer!r}")


#: Each hook with no arguments and the check of every plugin's answer to it.
CHECKS: dict[str, Callable[[_Answer, Any], None]] = {
    "cpp_builds_on": _names,
    "cpp_layer": _layer,
    "cpp_authority": _authority,
    "cpp_extra_closure_days": _closure_days,
    "cpp_escalation_routes": _escalation_routes,
    "cpp_conference_quorum": _quorum,
    "cpp_terminology": _words,
    "cpp_categories": _categories,
    "cpp_identifier_schemes": _listed({"name": _text, "validate": callable, "source": _text}),
    "cpp_notification_channels": _listed({"name": _text, "send": callable}),
    "cpp_notification_templates": _words,
    "cpp_document_branding": _branding,
    "cpp_document_templates": _words,
    "cpp_retention_rules": _retention_rules,
}


def check(plugins) -> None:
    """Check every plugin's answer to each hook of ``CHECKS`` (``plugins``: a ``Plugins``)."""
    for hook, check_one in CHECKS.items():
        for plugin, answer in plugins.answers(hook):
            check_one(_Answer(plugin, hook), answer)
