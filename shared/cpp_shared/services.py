"""Finding the installed services (the ``cpp.services`` entry-point group)."""

from __future__ import annotations

from importlib.metadata import entry_points

from .web import ServiceSpec

ENTRY_POINT_GROUP = "cpp.services"


class UnknownService(Exception):
    pass


def installed_services() -> list[str]:
    specs = {ep.name: ep.load() for ep in entry_points(group=ENTRY_POINT_GROUP)}
    # The APIs by their default port, then the web application (which calls them) last.
    return sorted(specs, key=lambda n: (n == "web", specs[n].port, n))


def load_service(name: str) -> ServiceSpec:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            return ep.load()
    raise UnknownService(f"unknown service {name!r}; installed: {', '.join(installed_services()) or 'none'}")


def runs_worker(name: str) -> bool:
    """Whether the service has a worker process (its spec's ``worker``)."""
    return load_service(name).worker
