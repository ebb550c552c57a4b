"""The notify service's wiring: its blueprints, handlers, store and dispatcher."""

from __future__ import annotations

from cpp_shared import case_events
from cpp_shared.web import ServiceContext, ServiceSpec
from cpp_shared.web import create_app as _create_app

from .api import deliveries, inbox, subscriptions
from .dispatcher import Dispatcher
from .handlers import handlers
from .mailer import Mailer
from .metrics import NotifyCollector
from .runtime import runtime
from .store import setup_store


def _setup_app(app) -> None:
    runtime(app.extensions["cpp"])  # a missing or wrong secrets key stops start-up
    app.extensions["cpp"].metrics.registry.register(NotifyCollector(app.extensions["cpp"]))


def _background(ctx: ServiceContext):
    rt = runtime(ctx)
    rt.dispatcher = Dispatcher(ctx, box=rt.box)
    rt.mailer = Mailer(ctx, smtp=rt.smtp, channels=rt.plugin_channels, schedule=rt.dispatcher.schedule)
    return [("notify-dispatch", rt.dispatcher.loop), ("notify-mail", rt.mailer.loop)]


SERVICE = ServiceSpec(
    name="notify",
    port=5003,
    title="Notifications",
    description="Partner subscriptions, webhook and email deliveries, and user inboxes.",
    blueprints=lambda: [subscriptions.blp, deliveries.blp, inbox.blp, case_events.blueprint("notify")],
    handlers=handlers,
    setup_store=setup_store,
    setup_app=_setup_app,
    app_module="cpp_notify.app",
    background=_background,
    preflight=lambda settings: _check_secrets_key(settings),
)


def _check_secrets_key(settings) -> None:
    from .secretbox import SecretBox

    SecretBox.for_settings(settings)  # outside development: CPP_NOTIFY_SECRETS_KEY, given and a Fernet key


def create_app(settings=None):
    return _create_app(SERVICE, settings)
