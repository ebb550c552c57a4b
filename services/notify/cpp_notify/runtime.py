"""What the notify service's processes share: the secret box, and (in the
worker) the dispatcher that a new delivery or a resumed subscription wakes."""
from __future__ import annotations

from dataclasses import dataclass

from cpp_shared.web import ServiceContext

from .secretbox import SecretBox


@dataclass
class NotifyRuntime:
    box: SecretBox
    dispatcher: object | None = None

    def wake(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.wake()


def runtime(ctx: ServiceContext) -> NotifyRuntime:
    rt = ctx.extensions.get("notify")
    if rt is None:
        rt = ctx.extensions["notify"] = NotifyRuntime(SecretBox.for_settings(ctx.settings))
    return rt
