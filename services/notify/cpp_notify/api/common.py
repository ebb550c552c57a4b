"""What the notify service's resources share: the service's context, who
manages subscriptions, and whose they are."""

from __future__ import annotations

from flask import current_app

from cpp_shared.auth import Principal
from cpp_shared.web import ServiceContext

MANAGERS = ("partner", "admin")


def ctx() -> ServiceContext:
    return current_app.extensions["cpp"]


def owner_of(principal: Principal) -> str:
    org = principal.claims.get("org") if principal.claims else None
    return str(org) if org else principal.user
