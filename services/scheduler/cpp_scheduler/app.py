"""The scheduler service's wiring: its blueprints, handlers, store and tick."""

from __future__ import annotations

from cpp_shared import case_events
from cpp_shared.web import ServiceSpec
from cpp_shared.web import create_app as _create_app

from . import tick
from .api import calendar_feeds, deadlines, rules
from .handlers import handlers
from .metrics import DeadlinesCollector
from .runtime import runtime
from .store import setup_store


def _setup_app(app) -> None:
    ctx = app.extensions["cpp"]
    runtime(ctx)  # a broken rule or calendar stops start-up, naming the plugin
    ctx.extensions[calendar_feeds.PUBLIC_URL] = calendar_feeds.public_url(ctx.settings)  # production needs one
    ctx.extensions[calendar_feeds.FEED_KEY_DAYS] = calendar_feeds.feed_key_days(ctx.settings)
    app.before_request(calendar_feeds.feeds_follow_their_owners_role)  # after the app factory's authentication
    ctx.metrics.registry.register(DeadlinesCollector(ctx))


SERVICE = ServiceSpec(
    name="scheduler",
    port=5002,
    title="Scheduler",
    description="Deadlines from statutory and local timescales, on the authority's working days.",
    blueprints=lambda: [rules.blp, deadlines.blp, calendar_feeds.blp, case_events.blueprint("scheduler")],
    handlers=handlers,
    setup_store=setup_store,
    setup_app=_setup_app,
    app_module="cpp_scheduler.app",
    background=tick.background,
    keyed_endpoints=frozenset({"calendar.PlanCalendar"}),
)


def create_app(settings=None):
    return _create_app(SERVICE, settings)
