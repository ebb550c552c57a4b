"""What a service's or a council plugin's tests need from the platform (``pip install cpp-shared[testing]``).

* Fixtures, registered with pytest by the ``cpp_shared`` plugin (``cpp_shared.testing.plugin``): ``data_dir``,
  ``make_settings`` (a service's settings in development mode, its data in the test's folder) and
  ``token_for`` (a development bearer token for a role).
* ``hand_over`` and ``deliver_event``: an event applied by a service's handlers as its worker applies it (one
  unit of work, marked processed), without a broker.
* ``plugin_set`` and ``rules_of``: a deployment's plugins, and its timescale rules by id, as they load.
* ``free_port``: a free loopback port.
* ``store_contract.StoreContract``: the behaviour every adapter of the store port must have, as a suite to
  subclass.
"""

from __future__ import annotations

import socket
from typing import Any

from ..messaging.consumer import run_handlers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hand_over(service_ctx: Any, event: dict[str, Any], *, tries: int = 1) -> int:
    """Apply one event with a service's handlers as its worker would (one unit of work, marked processed),
    without a broker. A version conflict (another writer advanced a record the handlers change) runs them
    again on fresh state, up to ``tries`` times in all; returns the conflicts met. Any other failure, or the
    last conflict, is raised."""
    from ..store import VersionConflict

    spec, store = service_ctx.spec, service_ctx.store
    for conflicts in range(tries):
        uow, _ = run_handlers(spec.handlers, event, service=spec.name, store=store, app=service_ctx)
        [outcome] = store.commit_all([uow])
        if outcome is None:
            return conflicts
        if not isinstance(outcome, VersionConflict) or conflicts == tries - 1:
            raise outcome
    raise AssertionError("unreachable")


def deliver_event(
    service_ctx: Any,
    type: str,
    data: dict[str, Any],
    *,
    subject: str | None = None,
    event_id: str | None = None,
    source: str = "/services/plans",
) -> dict[str, Any]:
    """Build one event and hand it to a service's handlers; returns it."""
    from ..messaging.events import new_event

    about = subject or data.get("case_id") or data.get("plan_id")
    if not about:
        raise ValueError(f"give the {type} event a subject: its data has no case_id or plan_id")
    event = new_event(
        type, source=source, subject=about, data=data, authority=service_ctx.authority["code"], event_id=event_id
    )
    hand_over(service_ctx, event)
    return event


def plugin_set(*names: str):
    """The plugins of a deployment named in CPP_PLUGINS order, loaded and checked as a service loads them."""
    from ..plugins import Plugins

    return Plugins(list(names))


def rules_of(*names: str) -> dict[str, Any]:
    """A deployment's timescale rules (``cpp_shared.contracts.timescales.Rule``), by id, in CPP_PLUGINS order."""
    from ..contracts.timescales import timescale_rules

    return {rule.id: rule for rule in timescale_rules(plugin_set(*names))}
