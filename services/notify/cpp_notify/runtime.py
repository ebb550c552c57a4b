"""What the notify service's processes share: the secret box, the message
templates and channels, and (in the worker) the dispatcher and the mailer
that new work wakes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cpp_shared.contracts import catalogue
from cpp_shared.plugins import PluginError
from cpp_shared.web import ServiceContext

from . import urls
from .domain.minimise import Catalogue
from .domain.people import BUILT_IN_CHANNELS, Templates
from .mailer import SmtpSettings
from .secretbox import SecretBox

#: The platform's event catalogue, as minimisation reads it.
EVENT_CATALOGUE = Catalogue(
    types=frozenset(catalogue.CATALOGUE), classes=catalogue.FIELD_CLASSES, fields_of=catalogue.field_classes
)


@dataclass
class NotifyRuntime:
    box: SecretBox
    templates: Templates
    smtp: SmtpSettings | None
    receiver_ports: tuple[int, ...] = urls.DEFAULT_PORTS
    plugin_channels: dict[str, Callable[[dict[str, Any]], None]] = field(default_factory=dict)
    dispatcher: Any = None
    mailer: Any = None

    @property
    def channels(self) -> set[str]:
        """The channels this deployment has: the inbox always, email when an
        SMTP server is configured, and the plugins' own."""
        return {"inbox"} | ({"email"} if self.smtp else set()) | set(self.plugin_channels)

    @property
    def organiser(self) -> str:
        return self.smtp.sender if self.smtp else "cpp-notify@localhost"

    def wake(self) -> None:
        for worker in (self.dispatcher, self.mailer):
            if worker is not None:
                worker.wake()


def _plugin_channels(ctx: ServiceContext) -> dict[str, Callable[[dict[str, Any]], None]]:
    channels = {}
    for item in ctx.plugins.layered("cpp_notification_channels"):
        if item["id"] in BUILT_IN_CHANNELS or not callable(item.get("send")):
            raise PluginError(f"plugin {item['plugin']!r}: channel {item['id']!r} needs a new id and a send function")
        channels[item["id"]] = item["send"]
    return channels


def runtime(ctx: ServiceContext) -> NotifyRuntime:
    rt = ctx.extensions.get("notify")
    if rt is None:
        rt = ctx.extensions["notify"] = NotifyRuntime(
            box=SecretBox.for_settings(ctx.settings),
            templates=Templates(ctx.plugins),
            smtp=SmtpSettings.from_settings(ctx.settings),
            receiver_ports=urls.receiver_ports(ctx.settings),
            plugin_channels=_plugin_channels(ctx),
        )
    return rt
