"""`cpp rules`: the effective timetable of a set of plugins, with sources."""
from __future__ import annotations

import json
import sys
import textwrap

import click

from cpp_shared.config import Settings
from cpp_shared.plugins import PluginError, Plugins

from .calendar import WorkingCalendar
from .rules import closure_days, effective_rules


@click.command(help="Print the effective timescale rules (the deployment's CPP_PLUGINS, or --plugins), "
                    "each with its source and the plugin it comes from.")
@click.option("--plugins", "names", default=None, help="comma-separated plugin names, e.g. england,bromley")
@click.option("--json", "as_json", is_flag=True, help="print JSON (as GET /v1/rules returns the rules)")
def rules(names: str | None, as_json: bool) -> None:
    chosen = [n.strip() for n in names.split(",") if n.strip()] if names else list(Settings.from_env("scheduler").plugins)
    try:
        plugins = Plugins(chosen)
        authority = plugins.authority()
        timetable = effective_rules(plugins)
        calendar = WorkingCalendar.for_authority(authority, closure_days(plugins))
    except (PluginError, ValueError) as exc:
        click.echo(f"cpp rules: {exc}", err=True)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps({"authority": authority["code"], "plugins": chosen,
                               "rules": [r.as_dict() for r in timetable]}, indent=2))
        return
    cal = calendar.country + (f"-{calendar.subdiv}" if calendar.subdiv else "")
    click.echo(f"{authority['name']} ({authority['code']}); plugins {', '.join(chosen)}; working days: {cal} "
               f"public holidays{' + ' + str(len(calendar.extra)) + ' closure days' if calendar.extra else ''}")
    for r in timetable:
        click.echo("")
        click.echo(f"{r.id}  [{r.plugin}]  {r.name}")
        click.echo(f"    when:   {', '.join(r.triggers)}" + (f" {r.when}" if r.when else ""))
        click.echo(f"    due:    {r.timescale()}" + (f", then {r.recurrence.describe()}" if r.recurrence else ""))
        click.echo(f"    met by: {', '.join(r.met_by)}" + (f" {r.met_when}" if r.met_when else "")
                   + f"; owner {r.owner}")
        for line in textwrap.wrap(r.source, 100, initial_indent="    source: ", subsequent_indent="            "):
            click.echo(line)
