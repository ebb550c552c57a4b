"""What the returns' resources share: the service's context, who may read returns, and the children's
histories of this deployment's authority."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import current_app

from cpp_shared.web import ServiceContext

from ..projection import histories

#: Who sends returns and checks them first: managers, and admins and auditors who look after the data.
RETURNERS = ("team_manager", "auditor", "admin")


def ctx() -> ServiceContext:
    return current_app.extensions["cpp"]


def authority_histories() -> tuple[Iterator[dict[str, Any]], str | None]:
    """The histories readers see, of this deployment's authority, and the time of the latest event."""
    context = ctx()
    return histories(context.store, context.authority["code"])
