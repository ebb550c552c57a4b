"""Loading, ordering and validating a deployment's plugins (pluggy)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy

from .contracts import hook_answers, hookspecs, retention, timescales
from .contracts.hookspecs import JURISDICTION, PluginError

ENTRY_POINT_GROUP = "cpp.plugins"


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
        self._callers: dict[tuple[str, str], Any] = {}  # (hook, plugin): that plugin's hook caller
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
        self._check_bases()
        self._check_answers()
        self.warnings = self._order_warnings()

    def _check_answers(self) -> None:
        """The answers the contract can check, checked as the plugins load (``cpp_shared.contracts.hook_answers``
        and ``cpp_shared.contracts.timescales``): a deployment whose answer could not be used does not start,
        whichever service it is."""
        hook_answers.check(self)
        timescales.timescale_rules(self)
        timescales.closure_days(self)
        retention.retention_rules(self)

    def _check_bases(self) -> None:
        """Every plugin's base (cpp_builds_on) is named before it in CPP_PLUGINS."""
        for plugin, bases in self.answers("cpp_builds_on"):
            if not isinstance(bases, (list, tuple)) or not all(isinstance(b, str) for b in bases):
                raise PluginError(f"plugin {plugin!r}: cpp_builds_on must return a list of plugin names, got {bases!r}")
            before = self.order[: self.order.index(plugin)]
            missing = [b for b in bases if b not in before]
            if missing:
                wanted = ",".join(dict.fromkeys([*before, *missing, *self.order[len(before) :]]))
                raise PluginError(
                    f"plugin {plugin!r} builds on {', '.join(map(repr, missing))}, which CPP_PLUGINS "
                    f"does not name before it: e.g. CPP_PLUGINS={wanted}"
                )

    def layers(self) -> dict[str, str | None]:
        """What each plugin says it is (``cpp_layer``: a jurisdiction set or a council layer), None when it does not
        say, in CPP_PLUGINS order."""
        said = dict(self.answers("cpp_layer"))
        return {name: said.get(name) for name in self.order}

    def _order_warnings(self) -> list[str]:
        """A jurisdiction set named after a plugin that is not one (``cardiff,england``) overrides that plugin's
        answers: allowed, as a council's plugin that does not name its base in cpp_builds_on may be, but said."""
        layers = self.layers()
        sets = [p for p in self.order if layers[p] == JURISDICTION]
        wanted = ",".join([*sets, *(p for p in self.order if p not in sets)])
        warnings = []
        for i, name in enumerate(self.order):
            earlier = [p for p in self.order[:i] if p not in sets]
            if name in sets and earlier:
                warnings.append(
                    f"the jurisdiction set {name!r} is named in CPP_PLUGINS after {', '.join(map(repr, earlier))} "
                    f"(not a jurisdiction set: cpp_layer), so its rules, words and authority override theirs; "
                    f"a council's layer comes after its jurisdiction: e.g. CPP_PLUGINS={wanted}"
                )
        return warnings

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

    def answers(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Each active plugin's answer to a hook, as (plugin, answer) in CPP_PLUGINS order, skipping plugins
        that do not implement it or answer None. Each is called through pluggy's hook calling (so tracing
        and hook wrappers see it), one plugin at a time."""
        caller = getattr(self.pm.hook, hook_name)
        # Hook wrappers stay in every call; each answering implementation is called alone.
        answering = [impl for impl in caller.get_hookimpls() if not (impl.hookwrapper or impl.wrapper)]
        found = []
        for name in self.order:
            if name not in {impl.plugin_name for impl in answering}:
                continue
            key = (hook_name, name)
            if key not in self._callers:  # made once: the plugins do not change once loaded
                others = [impl.plugin for impl in answering if impl.plugin_name != name]
                self._callers[key] = self.pm.subset_hook_caller(hook_name, remove_plugins=others)
            results = self._callers[key](**kwargs)
            answer = results if caller.spec and caller.spec.opts.get("firstresult") else (results or [None])[0]
            if answer is not None:
                found.append((name, answer))
        return found

    def layered(self, hook_name: str) -> list[dict[str, Any]]:
        """Collect a list hook's items in CPP_PLUGINS order; a later plugin's
        item replaces an earlier one with the same id, keeping its position,
        or, marked ``"extends": True``, changes only the fields it gives."""
        merged: dict[str, dict[str, Any]] = {}
        for plugin, items in self.answers(hook_name):
            for item in items or []:
                if not isinstance(item, dict) or "id" not in item:
                    raise PluginError(f"plugin {plugin!r}: every {hook_name} item needs an 'id', got {item!r}")
                if item.get("extends"):
                    if item["id"] not in merged:
                        raise PluginError(
                            f"plugin {plugin!r}: its {hook_name} item {item['id']!r} extends an item "
                            f"no plugin before it in CPP_PLUGINS gives ({', '.join(self.order)})"
                        )
                    fields = {k: v for k, v in item.items() if k != "extends"}
                    merged[item["id"]] = {**merged[item["id"]], **fields, "plugin": plugin}
                else:
                    merged[item["id"]] = {**item, "plugin": plugin}
        return list(merged.values())

    def merged(self, hook_name: str) -> dict[str, Any]:
        """Merge a dict hook's answers in CPP_PLUGINS order, key by key."""
        result: dict[str, Any] = {}
        for _, answer in self.answers(hook_name):
            result.update(answer or {})
        return result

    def describe(self) -> list[LoadedPlugin]:
        result = []
        for name in self.order:
            plugin = self.pm.get_plugin(name)
            hooks = tuple(sorted(h.name for h in self.pm.get_hookcallers(plugin) or []))
            result.append(LoadedPlugin(name=name, module=getattr(plugin, "__name__", repr(plugin)), hooks=hooks))
        return result
