"""The plugin author's guide's example rules (docs/plugins.md): Liverpool's
and Tees' first review of a pre-birth plan, as the platform's timescales
research records them, loaded as a council's plugin after england would be:
they parse, the scheduler hears their events, England's first review within
3 months of the initial conference stays beside them, and their due dates
fall where the working days counted by hand put them."""

from __future__ import annotations

import re
import types
from datetime import date
from pathlib import Path

import pytest

from cpp_scheduler.domain.calendar import WorkingCalendar
from cpp_scheduler.domain.rules import effective_rules
from cpp_shared.hookspecs import hookimpl
from cpp_shared.plugins import Plugins

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
ENGLAND = WorkingCalendar("GB", "ENG")


def guide_rules() -> dict:
    """The guide's Python block that defines LIVERPOOL and TEES, run."""
    [block] = [b for b in re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.S) if "LIVERPOOL = {" in b]
    names: dict = {}
    exec(block, names)  # noqa: S102 (the guide's own example, from this repository)
    return {"liverpool": names["LIVERPOOL"], "tees": names["TEES"]}


def council(name: str, rule: dict) -> Plugins:
    plugin = types.ModuleType(f"cpp_{name}")
    plugin.cpp_builds_on = hookimpl(lambda: ["england"])
    plugin.cpp_timescales = hookimpl(lambda: [rule])
    return Plugins(["england"], extra=[(name, plugin)])


@pytest.mark.parametrize(
    "name, born, due",
    [
        # Monday 2 March 2026, 20 working days: four whole weeks with no bank holiday, Monday 30 March.
        ("liverpool", date(2026, 3, 2), date(2026, 3, 30)),
        # Thursday 17 December 2026, 10 working days: 18, 21, 22, 23, 24 December (5); Christmas Day (Friday 25)
        # and the Boxing Day substitute (Monday 28) skipped; 29, 30, 31 December (8); New Year's Day (Friday 1
        # January) skipped; Monday 4 and Tuesday 5 January 2027 (10).
        ("tees", date(2026, 12, 17), date(2027, 1, 5)),
    ],
)
def test_the_guides_pre_birth_first_review_loads_after_england_and_is_due_where_counted(name, born, due):
    rules = {r.id: r for r in effective_rules(council(name, guide_rules()[name]))}
    rule = rules["pre-birth-first-review"]
    assert rule.plugin == name and "(V2: local" in rule.source and "3 months" in rule.source
    birth = {"born_on": born.isoformat(), "on_plan": True}
    assert rule.triggered_by("child.born.v1", birth)
    assert not rule.triggered_by("child.born.v1", {**birth, "on_plan": False})
    offset = rule.offset
    assert ENGLAND.due_date(born, offset.amount, offset.unit, offset.direction).due == due
    # the "3 months, whichever is sooner": England's first review still follows the pre-birth conference
    first_review = rules["first-review-conference"]
    assert first_review.plugin == "england"
    assert first_review.triggered_by(
        "conference.held.v1", {"kind": "initial", "plan_required": True, "pre_birth": True}
    )
