"""`cpp rules`: the effective timetable of a set of plugins, for a council's
manager to check against its procedures.

The table says each step, who does it, when (in words: what starts the
clock, what counts as done, what makes the step unnecessary), how the days
are counted, and where the timescale comes from with its grade, explained in
a legend. ``--json`` gives the rules as GET /v1/rules does, for machines.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import textwrap

import click

from cpp_shared.config import Settings
from cpp_shared.plugins import PluginError, Plugins

from .domain import words
from .domain.calendar import WorkingCalendar
from .domain.rules import Rule, closure_days, effective_rules

GRADE = re.compile(r"(?<![\w.])(V2|V|U)(?=[:);,])")
GRADES = (
    ("V", "the primary source was seen"),
    ("V2", "only a local restatement of the source was seen (a council's or partnership's procedures)"),
    ("U", "not verified against a source"),
)
REGIONS = {
    "GB-ENG": "England",
    "GB-SCT": "Scotland",
    "GB-WLS": "Wales",
    "GB-NIR": "Northern Ireland",
    "GG": "Guernsey",
    "JE": "Jersey",
    "IM": "the Isle of Man",
}
COLUMNS = (("Step", 26), ("By whom", 18), ("When", 46), ("Counted how", 24))


def grades(source: str) -> list[str]:
    """The grades a source's citation gives, in the order it gives them."""
    return list(dict.fromkeys(GRADE.findall(source)))


def when_text(rule: Rule, routes: dict[str, str]) -> str:
    if rule.offset is None:
        due = "No timescale in the source: a manager gives each one a date."
    else:
        due = rule.timescale()[0].upper() + rule.timescale()[1:]
        if rule.recurrence is not None:
            due += f", then {rule.recurrence_text()}"
        due += "."
    parts = [
        due,
        f"Starts when {words.either([words.happening(t, rule.when, routes) for t in rule.triggers])}.",
        f"Done when {words.either([words.happening(t, rule.met_when, routes) for t in rule.met_by])}.",
    ]
    if rule.cancelled_by:
        cancels = [words.happening(c.event, c.when, routes) for c in rule.cancelled_by]
        if rule.key:  # a step of one conference (or request): that one's cancellation drops it
            cancels = [re.sub(r"^an? ", "that ", c) for c in cancels]
        parts.append(f"Not needed when {words.either(cancels)}.")
    if rule.reminder_days and rule.offset is not None:
        parts.append(f"Reminder {words.count(rule.reminder_days, 'working_days')} before it is due.")
    return " ".join(parts)


def counted_text(rule: Rule) -> str:
    if rule.offset is None:
        return "On the date a manager gives."
    units = [rule.offset.unit]
    if rule.recurrence is not None and rule.recurrence.unit not in units:
        units.append(rule.recurrence.unit)
    names = [words.UNIT_NAMES[u] for u in units]
    text = names[0] if len(names) == 1 else f"{names[0]} for the first, {names[1].lower()} for the repeats"
    rules = [words.WORKING_DAYS_RULE] if "working_days" in units else []
    rules += [words.CALENDAR_RULE] if any(u != "working_days" for u in units) else []
    return f"{text}: {'; '.join(rules)}."


def table(rows: list[list[str]], width: int) -> list[str]:
    """Rows of wrapped cells, side by side; column widths from COLUMNS."""
    widths = [w for _, w in COLUMNS]
    out = []
    for row in rows:
        cells = [textwrap.wrap(text, w) or [""] for text, w in zip(row, widths)]
        for i in range(max(len(c) for c in cells)):
            out.append("  ".join((c[i] if i < len(c) else "").ljust(w) for c, w in zip(cells, widths)).rstrip())
    return out


@click.command(
    help="Print the effective timescale rules (the deployment's CPP_PLUGINS, or --plugins) as a table: "
    "each step, who does it, when, how the days are counted, and its source with the source's "
    "grade."
)
@click.option("--plugins", "names", default=None, help="comma-separated plugin names, e.g. england,bromley")
@click.option("--json", "as_json", is_flag=True, help="print JSON (as GET /v1/rules returns the rules)")
def rules(names: str | None, as_json: bool) -> None:
    chosen = (
        [n.strip() for n in names.split(",") if n.strip()] if names else list(Settings.from_env("scheduler").plugins)
    )
    try:
        plugins = Plugins(chosen)
        authority = plugins.authority()
        timetable = effective_rules(plugins)
        calendar = WorkingCalendar.for_authority(authority, closure_days(plugins))
        routes = {r["id"]: r.get("name") or "" for r in plugins.layered("cpp_escalation_routes")}
    except (PluginError, ValueError) as exc:
        click.echo(f"cpp rules: {exc}", err=True)
        sys.exit(2)
    if as_json:
        click.echo(
            json.dumps(
                {"authority": authority["code"], "plugins": chosen, "rules": [r.as_dict() for r in timetable]}, indent=2
            )
        )
        return
    width = sum(w for _, w in COLUMNS) + 2 * (len(COLUMNS) - 1)
    wrap = max(60, min(width, shutil.get_terminal_size((width, 24)).columns))
    echo = click.echo
    echo(f"Timescales of {authority['name']}")
    region = calendar.country + (f"-{calendar.subdiv}" if calendar.subdiv else "")
    region = REGIONS.get(region, region)
    closures = f", and {len(calendar.extra)} closure days of the council's own" if calendar.extra else ""
    echo(
        textwrap.fill(
            f"Plugins, in order: {', '.join(chosen)}. Working days are Monday to Friday except the "
            f"public holidays of {region}{closures}.",
            wrap,
        )
    )
    echo("")
    echo("  ".join(title.ljust(w) for title, w in COLUMNS).rstrip())
    echo("  ".join("-" * w for _, w in COLUMNS))
    seen: list[str] = []
    for r in timetable:
        for line in table(
            [[r.name, words.ROLES.get(r.owner, words.value(r.owner)), when_text(r, routes), counted_text(r)]], width
        ):
            echo(line)
        graded = grades(r.source)
        seen += graded
        label = f"Source (grade {', '.join(graded) or 'not given'}; from the {r.plugin} plugin): "
        for line in textwrap.wrap(label + r.source, width, initial_indent="  ", subsequent_indent="    "):
            echo(line)
        echo("")
    echo("Grades of the sources:")
    for grade, meaning in GRADES:
        echo(
            textwrap.fill(
                f"{grade}: {meaning}" + ("" if grade in seen else " (no step here has it)"),
                wrap,
                initial_indent="  ",
                subsequent_indent="      ",
            )
        )
    echo(
        textwrap.fill(
            "A step's first source is the document it comes from; the grade in brackets says how firmly "
            "the figure is established, with the documents that restate it.",
            wrap,
        )
    )
