"""`cpp rules`: the effective timetable of a set of plugins, for a council's
manager to check against its procedures.

The table says each step, who does it, when (in words: what starts the
clock, what counts as done, what makes the step unnecessary), how the days
are counted, and where the timescale comes from with its grade, explained in
a legend. ``--json`` gives the rules as GET /v1/rules does, for machines.
A warning about the plugins' order (a jurisdiction set named after a
council's layer) goes to stderr, and in ``--json`` into ``"warnings"``.
Every term is in the deployment's words (``cpp_terminology``).

``--from 2026-05-18`` prints instead the date each rule gives when its clock
starts that day (``--event``: only the rules that event starts), with every
day not counted named, so that a manager can check a timetable against the
calendar without a case.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import textwrap
from datetime import date, datetime, timedelta

import click

from cpp_shared.config import Settings
from cpp_shared.plugins import PluginError, Plugins

from .domain import words
from .domain.calendar import Computation, WorkingCalendar
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
    if rule.offset is None and rule.plan_sets:
        due = (
            f"As often as the plan states, from {rule.frequency_anchor_text(1)}, then from "
            f"{rule.frequency_anchor_text(2)}; a plan that states none gives a step needing a date."
        )
    elif rule.offset is None:
        due = "No timescale in the source: a manager gives each one a date."
    else:
        due = rule.timescale()[0].upper() + rule.timescale()[1:]
        if rule.recurrence is not None:
            due += f", then {rule.recurrence_text()}"
        if rule.plan_sets and rule.recurrence is not None:
            due += ", or as often as the plan states, no less often"
        elif rule.plan_sets:
            due += f", then as often as the plan states, from {rule.frequency_anchor_text(2)}"
        due += "."
    parts = [
        due,
        f"Starts when {words.either([words.happening(t, rule.when, routes, rule.terms) for t in rule.triggers])}.",
        f"Done when {words.either([words.happening(t, rule.met_when, routes, rule.terms) for t in rule.met_by])}.",
    ]
    if rule.cancelled_by:
        cancels = [words.happening(c.event, c.when, routes, rule.terms) for c in rule.cancelled_by]
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
    repeats = [unit for _, unit in rule.recurrence.counts()] if rule.recurrence is not None else []
    for unit in repeats:
        if unit not in units:
            units.append(unit)
    names = [words.UNIT_NAMES[u] for u in units]
    text = names[0] if len(names) == 1 else f"{names[0]} for the first, {_and(names[1:]).lower()} for the repeats"
    rules = [words.WORKING_DAYS_RULE] if "working_days" in units else []
    rules += [words.CALENDAR_RULE] if any(u != "working_days" for u in units) else []
    return f"{text}: {'; '.join(rules)}."


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


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
    "grade. With --from, print instead the date each rule gives from that day, naming the days not counted."
)
@click.option("--plugins", "names", default=None, help="comma-separated plugin names, e.g. england,bromley")
@click.option("--json", "as_json", is_flag=True, help="print JSON (as GET /v1/rules returns the rules)")
@click.option(
    "--from",
    "start",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="a day (2026-05-18) to count each rule from, as if its clock started then",
)
@click.option(
    "--event", "event", default=None, help="with --from: only the rules this event starts (conference.held.v1)"
)
def rules(names: str | None, as_json: bool, start: datetime | None, event: str | None) -> None:
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
    if event is not None and start is None:
        click.echo("cpp rules: --event needs --from, the day to count from", err=True)
        sys.exit(2)
    for warning in plugins.warnings:
        click.echo(f"cpp rules: warning: {warning}", err=True)
    if start is not None:
        started = [r for r in timetable if event is None or event in r.triggers]
        if not started:
            events = sorted({t for r in timetable for t in r.triggers})
            click.echo(f"cpp rules: no rule starts on {event}; rules start on {', '.join(events)}", err=True)
            sys.exit(2)
        print_dates(authority, chosen, calendar, started, start.date(), routes, as_json, plugins.warnings)
        return
    if as_json:
        click.echo(
            json.dumps(
                {
                    "authority": authority["code"],
                    "plugins": chosen,
                    "warnings": plugins.warnings,
                    "rules": [r.as_dict() for r in timetable],
                },
                indent=2,
            )
        )
        return
    width = sum(w for _, w in COLUMNS) + 2 * (len(COLUMNS) - 1)
    wrap = max(60, min(width, shutil.get_terminal_size((width, 24)).columns))
    echo = click.echo
    echo(f"Timescales of {authority['name']}")
    echo(textwrap.fill(f"Plugins, in order: {', '.join(chosen)}. {working_days_text(calendar)}", wrap))
    echo("")
    echo("  ".join(title.ljust(w) for title, w in COLUMNS).rstrip())
    echo("  ".join("-" * w for _, w in COLUMNS))
    seen: list[str] = []
    for r in timetable:
        for line in table([[r.name, words.role(r.owner, r.terms), when_text(r, routes), counted_text(r)]], width):
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


def working_days_text(calendar: WorkingCalendar) -> str:
    """Which days count: "Working days are Monday to Friday except the public holidays of England, and ..."."""
    region = calendar.country + (f"-{calendar.subdiv}" if calendar.subdiv else "")
    text = f"Working days are Monday to Friday except the public holidays of {REGIONS.get(region, region)}"
    closures = [f"{c.name}, {words.closure(c)}" for c in calendar.closures]
    if closures:
        text += f", and the council's own closure days: {'; '.join(closures)}"
    return text + "."


def dates_from(rule: Rule, calendar: WorkingCalendar, start: date) -> list[Computation]:
    """The rule's count from ``start``; for a recurring rule, then its next one, if the step is done on that
    date: the day it is due and the day after which it is overdue."""
    if rule.offset is None:
        return []
    first = calendar.due_date(start, rule.offset.amount, rule.offset.unit, rule.offset.direction)
    if rule.recurrence is None:
        return [first]
    return [first, *(calendar.due_date(first.due, amount, unit) for amount, unit in rule.recurrence.counts())]


def half_days_text(calendar: WorkingCalendar, counts: list[Computation]) -> str:
    """The half-day closures a count went over, each still counted as a working day."""
    days = []
    for c in counts:
        low, high = sorted((c.anchor, c.due))
        days += [low + timedelta(days=i) for i in range(1, (high - low).days + 1)]
    named = {d: calendar.half_day(d) for d in sorted(set(days))}
    halves = [f"{words.day(d)} ({name})" for d, name in named.items() if name]
    return f" Half days counted as working days: {', '.join(halves)}." if halves else ""


def date_text(rule: Rule, counts: list[Computation], calendar: WorkingCalendar) -> str:
    """What ``dates_from`` found, in words."""
    if not counts:
        return "No timescale in the source: a manager gives each one a date."
    text = f"Due {weekday(counts[0].due)}: {count_text(counts[0])}."
    if rule.earliest_of:
        others = ", ".join(limit.anchor.replace("_", " ") for limit in rule.earliest_of)
        text += f" Earlier if the {others} gives an earlier date (not counted here)."
    if len(counts) == 3:
        due, latest = counts[1], counts[2]
        text += (
            f" Then, if it is done that day, the next is due {weekday(due.due)} ({count_text(due)})"
            f" and overdue after {weekday(max(due.due, latest.due))} ({count_text(latest)})."
        )
    return text + half_days_text(calendar, counts)


def count_text(c: Computation) -> str:
    """One count in words, the closed days it skipped named and its weekend days counted."""
    if c.unit != "working_days" or c.amount == 0:
        return words.computation(c.as_dict())
    closed = [f"{words.day(s.day)} ({s.reason})" for s in c.skipped if s.reason not in ("Saturday", "Sunday")]
    weekend = len(c.skipped) - len(closed)
    if weekend:
        closed.append(f"{weekend} weekend day{'s' if weekend > 1 else ''}")
    text = f"{words.count(c.counted, c.unit)} {c.direction} {words.day(c.anchor)}"
    return text + (f", not counting {_and(closed)}" if closed else ", no day in between closed")


def weekday(day: date) -> str:
    return f"{day.strftime('%A')} {words.day(day)}"


def print_dates(
    authority: dict,
    chosen: list[str],
    calendar: WorkingCalendar,
    timetable: list[Rule],
    start: date,
    routes: dict[str, str],
    as_json: bool,
    warnings: list[str],
) -> None:
    """Each rule's date from ``start`` (``cpp rules --from``), as text or as JSON (with the plugins' warnings)."""
    found = [(r, dates_from(r, calendar, start)) for r in timetable]
    if as_json:
        dates = [{"rule": r.id, "name": r.name, "computations": [c.as_dict() for c in counts]} for r, counts in found]
        found_json = {"authority": authority["code"], "from": start.isoformat(), "warnings": warnings, "dates": dates}
        click.echo(json.dumps(found_json, indent=2))
        return
    width = sum(w for _, w in COLUMNS) + 2 * (len(COLUMNS) - 1)
    wrap = max(60, min(width, shutil.get_terminal_size((width, 24)).columns))
    click.echo(f"Timescales of {authority['name']}, each counted from {weekday(start)}")
    click.echo(textwrap.fill(f"Plugins, in order: {', '.join(chosen)}. {working_days_text(calendar)}", wrap))
    for rule, counts in found:
        click.echo("")
        click.echo(textwrap.fill(rule.name, wrap))
        starts = words.either([words.happening(t, rule.when, routes, rule.terms) for t in rule.triggers])
        text = f"Starts when {starts}. {date_text(rule, counts, calendar)}"
        click.echo(textwrap.fill(text, wrap, initial_indent="  ", subsequent_indent="  "))
