"""The returns' view of the deployment: what the census needs of it (the council's DfE number, the census
codes of its categories), built once per process from the plugins."""

from __future__ import annotations

from datetime import date, datetime
from importlib.metadata import PackageNotFoundError, version
from zoneinfo import ZoneInfo

from cpp_shared.contracts.hook_answers import categories
from cpp_shared.web import ServiceContext

from .domain.census import Deployment

KEY = "returns.deployment"


def _release() -> str:
    try:
        return version("cpp-returns")
    except PackageNotFoundError:  # run from a source tree without being installed
        return ""


def build(ctx: ServiceContext) -> Deployment:
    return Deployment(
        la_number=ctx.authority.get("la_number"),
        category_codes={c["id"]: c["census_code"] for c in categories(ctx.plugins)},
        release=_release(),
    )


def deployment(ctx: ServiceContext) -> Deployment:
    found = ctx.extensions.get(KEY)
    if found is None:
        found = ctx.extensions[KEY] = build(ctx)
    return found


def today(ctx: ServiceContext) -> date:
    """Today where the council is."""
    return datetime.now(ZoneInfo(ctx.authority.get("timezone") or "Europe/London")).date()
