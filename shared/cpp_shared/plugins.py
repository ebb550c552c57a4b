"""Loading, ordering and validating a deployment's plugins (pluggy)."""
from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Iterable, Sequence

import pluggy

from . import hookspecs

ENTRY_POINT_GROUP = "cpp.plugins"


class PluginError(Exception):
    """A plugin named in CPP_PLUGINS is unknown, broken or invalid."""


@dataclass(frozen=True)
class LoadedPlugin:
    name: str
    module: str
    hooks: tuple[str, ...]


def available_plugins() -> dict[str, EntryPoint]:
    """The installed plugins, by name."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


class Plugins:
    """The active plugins of a deployment, in CPP_PLUGINS order."""

    def __init__(self, names: Sequence[str], *, extra: Iterable[tuple[str, Any]] = ()):
        """``extra`` registers (name, plugin object) pairs after the named
        ones; tests and tools use it to add a throwaway plugin."""
        if not names and not extra:
            raise PluginError("CPP_PLUGINS is empty: name at least one plugin, e.g. CPP_PLUGINS=england")
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.order: list[str] = []
        installed = available_plugins()
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise PluginError(f"plugin {name!r} is named twice in CPP_PLUGINS")
            seen.add(name)
            if name not in installed:
                known = ", ".join(sorted(installed)) or "none"
                raise PluginError(f"unknown plugin {name!r} in CPP_PLUGINS (installed plugins: {known})")
            try:
                plugin = installed[name].load()
            except Exception as exc:  # any import-time failure of third-party code
                raise PluginError(f"plugin {name!r} failed to load: {type(exc).__name__}: {exc}") from exc
            self._register(name, plugin)
        for name, plugin in extra:
            self._register(name, plugin)

    def _register(self, name: str, plugin: Any) -> None:
        try:
            self.pm.register(plugin, name=name)
            # A misspelt hook name or a wrong argument is an error at boot, not a silent no-op.
            self.pm.check_pending()
        except (pluggy.PluginValidationError, ValueError) as exc:
            raise PluginError(f"plugin {name!r} is invalid: {exc}") from exc
        self.order.append(name)

    # pluggy calls implementations last-registered first; CPP_PLUGINS order is
    # first-registered first, so "later overrides earlier" falls out naturally
    # for firstresult hooks and is made explicit below for list hooks.
    @property
    def hook(self) -> Any:
        return self.pm.hook

    def authority(self) -> dict[str, Any]:
        result = self.pm.hook.cpp_authority()
        if not result:
            raise PluginError(
                f"no active plugin describes the authority (cpp_authority); active plugins: {', '.join(self.order)}"
            )
        return result

    def layered(self, hook_name: str) -> list[dict[str, Any]]:
        """Collect a list hook's items in CPP_PLUGINS order; a later plugin's
        item replaces an earlier one with the same id, keeping its position."""
        caller = getattr(self.pm.hook, hook_name)
        merged: dict[str, dict[str, Any]] = {}
        for impl in caller.get_hookimpls():  # registration order
            items = impl.function() or []
            for item in items:
                if "id" not in item:
                    raise PluginError(f"plugin {impl.plugin_name!r}: every {hook_name} item needs an 'id', got {item!r}")
                merged[item["id"]] = {**item, "plugin": impl.plugin_name}
        return list(merged.values())

    def merged(self, hook_name: str) -> dict[str, Any]:
        """Merge a dict hook's answers in CPP_PLUGINS order, key by key."""
        caller = getattr(self.pm.hook, hook_name)
        result: dict[str, Any] = {}
        for impl in caller.get_hookimpls():  # registration order
            result.update(impl.function() or {})
        return result

    def describe(self) -> list[LoadedPlugin]:
        result = []
        for name in self.order:
            plugin = self.pm.get_plugin(name)
            hooks = tuple(sorted(h.name for h in self.pm.get_hookcallers(plugin) or []))
            result.append(LoadedPlugin(name=name, module=getattr(plugin, "__name__", repr(plugin)), hooks=hooks))
        return result
