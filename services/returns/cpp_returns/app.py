"""The returns service's wiring: its blueprint, its handler, its store and its projection loop."""

from __future__ import annotations

from cpp_shared.web import ServiceContext, ServiceSpec
from cpp_shared.web import create_app as _create_app

from .api import performance, returns
from .handlers import handlers
from .metrics import PerformanceCollector
from .projection import Projector
from .runtime import deployment
from .store import setup_store


def _setup_app(app) -> None:
    ctx = app.extensions["cpp"]
    deployment(ctx)  # a deployment whose categories cannot be read stops start-up
    ctx.metrics.registry.register(PerformanceCollector(ctx))


def _background(ctx: ServiceContext):
    deployment(ctx)
    return [("returns-projection", Projector(ctx.store).loop)]


SERVICE = ServiceSpec(
    name="returns",
    port=5005,
    title="Returns",
    description="Statutory returns (the Children in Need census) and managers' figures, from the platform's events.",
    blueprints=lambda: [returns.blp, performance.blp],
    handlers=handlers,
    setup_store=setup_store,
    setup_app=_setup_app,
    app_module="cpp_returns.app",
    background=_background,
)


def create_app(settings=None):
    return _create_app(SERVICE, settings)
