"""The scheduler's view of the deployment: its rules, its working-day
calendar and its time zone, built once per process from the plugins.

Built when the web app or the worker starts, so a plugin's broken rule or
unknown calendar stops start-up with a message naming it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from cpp_shared.terminology import DEFAULTS, terminology
from cpp_shared.web import ServiceContext

from .domain.adulthood import AGE_RULE
from .domain.calendar import WorkingCalendar
from .domain.escalation import DEFAULT as ESCALATION_DEFAULT
from .domain.escalation import periods
from .domain.rules import Rule, closure_days, effective_rules

_lock = threading.Lock()


@dataclass(frozen=True)
class Runtime:
    rules: tuple[Rule, ...]
    calendar: WorkingCalendar
    timezone: ZoneInfo
    authority: str
    terms: dict[str, str] = field(default_factory=lambda: dict(DEFAULTS))  # the deployment's words
    # working days of grace before each level of an overdue step's escalation
    escalation: dict[str, int] = field(default_factory=lambda: dict(ESCALATION_DEFAULT))

    def rule(self, rule_id: str) -> Rule | None:
        """The deployment's rule, or the platform's own (the plan's end at 18)."""
        return next((r for r in (*self.rules, AGE_RULE) if r.id == rule_id), None)

    def today(self) -> date:
        return datetime.now(self.timezone).date()


def build(ctx: ServiceContext) -> Runtime:
    authority = ctx.authority
    return Runtime(
        rules=tuple(effective_rules(ctx.plugins)),
        calendar=WorkingCalendar.for_authority(authority, closure_days(ctx.plugins)),
        timezone=ZoneInfo(authority.get("timezone") or "Europe/London"),
        authority=authority["code"],
        terms=terminology(ctx.plugins),
        escalation=periods(authority),
    )


def runtime(ctx: ServiceContext) -> Runtime:
    rt = ctx.extensions.get("scheduler")
    if rt is None:
        with _lock:
            rt = ctx.extensions.get("scheduler")
            if rt is None:
                rt = ctx.extensions["scheduler"] = build(ctx)
    return rt
