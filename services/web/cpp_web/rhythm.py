"""The plan's rhythm in the web application: how often the child is seen on a visit (and seen alone) and the core
group meets, asked on the outline plan (an initial conference's outcome) and the detailed plan (a core group
meeting), and shown on the plan's page. A question left blank leaves the deployment's default; the plans service
refuses a rhythm looser than the deployment's limit, naming the limit and its source, on the question asked."""

from __future__ import annotations

from typing import Any

from govuk_frontend_wtf.wtforms_widgets import GovSelect, GovTextInput
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import Optional, Regexp

UNITS = {"working_days": "Working days", "days": "Days", "weeks": "Weeks", "months": "Months"}
NUMBER = Regexp(r"^\s*[1-9][0-9]{0,2}\s*$", message="Enter a whole number, for example, 10")
STEPS = ("visits", "core_group")


def _every(label: str, description: str) -> StringField:
    return StringField(label, widget=GovTextInput(), validators=[Optional(), NUMBER], description=description)


def _unit(label: str) -> SelectField:
    return SelectField(
        label, widget=GovSelect(), choices=[SelectChoice(k, v) for k, v in UNITS.items()], validate_choice=False
    )


class RhythmFields:
    """The plan's rhythm: each a number and a unit; blank for the deployment's default."""

    visits_every = _every(
        "How often is the child seen on a visit: every",
        "A number, for example, 10. Leave blank for the council's usual frequency",
    )
    visits_unit = _unit("Working days, days, weeks or months")
    seen_alone_every = _every(
        "The child is seen alone at least once in every how many visits?",
        "A number, for example, 2. Leave blank for the council's usual number",
    )
    core_group_every = _every(
        "How often does the core group meet: every",
        "A number, for example, 6. Leave blank for the council's usual frequency",
    )
    core_group_unit = _unit("Working days, days, weeks or months")


def error_fields(plan: str) -> dict[str, str]:
    """The form field that asked, for each of the plans service's errors on the rhythm (under ``plan``, the name
    the step gives the plan: ``outline_plan``, ``plan``)."""
    return {
        f"{plan}.rhythm": "visits_every",
        f"{plan}.rhythm.visits": "visits_every",
        f"{plan}.rhythm.seen_alone": "seen_alone_every",
        f"{plan}.rhythm.core_group": "core_group_every",
    }


def rhythm_of(form: RhythmFields) -> dict[str, Any]:
    """The rhythm the form states ({} when every question is blank)."""
    rhythm: dict[str, Any] = {}
    for step in STEPS:
        every = (getattr(form, f"{step}_every").data or "").strip()
        if every:
            rhythm[step] = {"every": int(every), "unit": getattr(form, f"{step}_unit").data or "working_days"}
    alone = (form.seen_alone_every.data or "").strip()
    if alone:
        rhythm["seen_alone"] = {"every": int(alone), "unit": "visits"}
    return rhythm


def prefill(form: RhythmFields, rhythm: dict[str, Any] | None) -> None:
    """The questions answered as the plan has its rhythm now."""
    for step in STEPS:
        stated = (rhythm or {}).get(step)
        if stated:
            getattr(form, f"{step}_every").data = str(stated["every"])
            getattr(form, f"{step}_unit").data = stated["unit"]
    alone = (rhythm or {}).get("seen_alone")
    if alone:
        form.seen_alone_every.data = str(alone["every"])


def _every_words(stated: dict[str, Any]) -> str:
    unit = stated["unit"].replace("_", " ")
    return f"every {unit.rstrip('s')}" if stated["every"] == 1 else f"every {stated['every']} {unit}"


def lines(rhythm: dict[str, Any] | None) -> list[str]:
    """The rhythm in words, one line for each item; an item the plan does not state says it takes the council's
    usual frequency."""
    rhythm = rhythm or {}
    visits, alone, core_group = rhythm.get("visits"), rhythm.get("seen_alone"), rhythm.get("core_group")
    return [
        f"Visits: the child seen {_every_words(visits)}" if visits else "Visits: as often as the council usually asks",
        f"Seen alone: at least once in every {alone['every']} visits"
        if alone
        else "Seen alone: as often as the council usually asks",
        f"Core group: meets {_every_words(core_group)}"
        if core_group
        else "Core group: meets as often as the council usually asks",
    ]
