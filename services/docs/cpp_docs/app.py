"""The docs service's wiring: its blueprints, handlers, store and renderer."""

from __future__ import annotations

from cpp_shared import case_events
from cpp_shared.web import ServiceSpec
from cpp_shared.web import create_app as _create_app

from . import render
from .api import documents, jobs
from .handlers import handlers
from .store import setup_store


def _setup_app(app) -> None:
    ctx = app.extensions["cpp"]
    render.documents(ctx)  # a broken template override or branding stops start-up
    ctx.metrics.registry.register(render.RenderJobsCollector(ctx))


SERVICE = ServiceSpec(
    name="docs",
    port=5004,
    title="Documents",
    description="The plan as documents people can read: professional and family versions, HTML and PDF.",
    blueprints=lambda: [documents.blp, jobs.blp, case_events.blueprint("docs")],
    handlers=handlers,
    setup_store=setup_store,
    setup_app=_setup_app,
    app_module="cpp_docs.app",
    background=render.background,
)


def create_app(settings=None):
    return _create_app(SERVICE, settings)
