"""`cpp returns`: the returns from the command line, for the person who sends them and the operator.

* ``cpp returns cin-census --year 2026 --out cin.xml``: the Children in Need census for a collection year,
  with the checks' errors and warnings on stderr (exit 1 when there is an error to fix first);
* ``cpp returns quality --year 2026``: the checks alone;
* ``cpp returns scotland --year 2026 --out cp.csv``: Scotland's child protection figures for the year to
  31 July, one row per registration, with the totals on stdout;
* ``cpp returns rebuild``: the children's histories made again from the event history, readers switched
  to the new ones when they have caught up (safe while the worker runs and events arrive).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cpp_shared.config import ConfigError, Settings
from cpp_shared.plugins import PluginError
from cpp_shared.store import StoreError

from .domain.census import Year, write_census
from .domain.quality import ERROR, check
from .projection import catch_up, histories, rebuild


def _context():
    from .app import create_app

    try:
        app = create_app(Settings.from_env("returns"))
    except (ConfigError, PluginError, StoreError) as exc:
        click.echo(f"cpp returns: {exc}", err=True)
        sys.exit(2)
    return app.extensions["cpp"]


def _report(problems) -> None:
    for p in problems:
        where = " ".join(
            x for x in (f"child {p.child_id}" if p.child_id else "", f"case {p.case_id}" if p.case_id else "") if x
        )
        click.echo(
            f"{p.severity}: {p.element}{' (' + where + ')' if where else ''}: {p.message}. Fix: {p.fix}", err=True
        )


@click.group(help="Statutory returns: the Children in Need census, its checks, and rebuilding the returns' records.")
def returns() -> None:
    pass


YEAR = click.option(
    "--year", type=click.IntRange(2010, 2100), required=True, help="the collection year (2026: to 31 March 2026)"
)


@returns.command("cin-census", help="Write a collection year's Children in Need census (the DfE's XML).")
@YEAR
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="the file to write")
def cin_census(year: int, out: Path) -> None:
    ctx = _context()
    from .runtime import deployment

    catch_up(ctx.store)
    children, as_of = histories(ctx.store, ctx.authority["code"])
    tmp = out.with_name(out.name + ".part")
    with tmp.open("wb") as f:
        written = write_census(f, children, Year(year), deployment(ctx), as_of=as_of)
    tmp.replace(out)
    problems = check(histories(ctx.store, ctx.authority["code"])[0], Year(year), deployment(ctx))
    _report(problems)
    errors = sum(1 for p in problems if p.severity == ERROR)
    click.echo(f"{out}: {written} children; {errors} errors, {len(problems) - errors} warnings")
    sys.exit(1 if errors else 0)


@returns.command(help="Check a collection year's census before it is sent.")
@YEAR
def quality(year: int) -> None:
    ctx = _context()
    from .runtime import deployment

    catch_up(ctx.store)
    children, _ = histories(ctx.store, ctx.authority["code"])
    problems = check(children, Year(year), deployment(ctx))
    _report(problems)
    errors = sum(1 for p in problems if p.severity == ERROR)
    click.echo(f"{errors} errors, {len(problems) - errors} warnings")
    sys.exit(1 if errors else 0)


@returns.command("rebuild", help="Make the children's histories again from the event history.")
def rebuild_command() -> None:
    ctx = _context()
    done = rebuild(ctx.store)
    click.echo(
        f"generation {done.generation}: {done.events} events folded, {done.children} children; "
        f"{done.dropped} records of the generation it replaced removed"
    )


@returns.command(
    help="Write Scotland's child protection figures for the year to 31 July (CSV, one row per registration)."
)
@click.option("--year", type=click.IntRange(2010, 2100), required=True, help="the year (2026: to 31 July 2026)")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="the file to write")
def scotland(year: int, out: Path) -> None:
    import json

    from .domain import scotland as figures

    ctx = _context()
    catch_up(ctx.store)
    children, _ = histories(ctx.store, ctx.authority["code"])
    found = figures.rows(children, figures.ScottishYear(year))
    tmp = out.with_name(out.name + ".part")
    tmp.write_text(figures.as_csv(found), encoding="utf-8", newline="")
    tmp.replace(out)
    click.echo(json.dumps(figures.summary(found), indent=2))
