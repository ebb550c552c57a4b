from importlib.metadata import EntryPoint

import pytest

from cpp_shared import plugins as plugins_module
from cpp_shared.hookspecs import hookimpl
from cpp_shared.plugins import PluginError, Plugins


def test_england_is_installed_and_describes_the_authority():
    active = Plugins(["england"])
    authority = active.authority()
    assert authority["code"] == "ENG"
    assert authority["calendar"] == {"country": "GB", "subdiv": "ENG"}
    rules = {r["id"]: r for r in active.layered("cpp_timescales")}
    assert rules["initial-conference"]["offset"] == {"amount": 15, "unit": "working_days", "direction": "after"}
    assert rules["first-core-group"]["offset"]["amount"] == 10
    assert all(r["source"] for r in rules.values()), "every rule cites its source"


def test_unknown_plugin_is_named_in_the_error():
    with pytest.raises(PluginError, match=r"unknown plugin 'wakanda'.*installed plugins: .*england"):
        Plugins(["england", "wakanda"])


def test_empty_plugin_list_is_refused():
    with pytest.raises(PluginError, match="CPP_PLUGINS is empty"):
        Plugins([])


def test_a_plugin_that_fails_to_import_is_named(monkeypatch):
    broken = EntryPoint(name="broken", value="cpp_no_such_module_anywhere", group="cpp.plugins")
    real = plugins_module.available_plugins()
    monkeypatch.setattr(plugins_module, "available_plugins", lambda: {**real, "broken": broken})
    with pytest.raises(PluginError, match=r"plugin 'broken' failed to load: ModuleNotFoundError"):
        Plugins(["england", "broken"])


def test_a_misspelt_hook_is_an_error_at_boot():
    class Misspelt:
        @hookimpl
        def cpp_authoritee(self):
            return {}

    with pytest.raises(PluginError, match="'misspelt' is invalid"):
        Plugins(["england"], extra=[("misspelt", Misspelt())])


def test_a_later_plugin_overrides_authority_and_rules_by_id():
    class Council:
        @hookimpl
        def cpp_authority(self):
            return {
                "code": "BRO",
                "name": "Bromley",
                "jurisdiction": "england",
                "calendar": {"country": "GB", "subdiv": "ENG"},
            }

        @hookimpl
        def cpp_timescales(self):
            # Every rule is checked as the plugins load: a whole rule, or the fields an "extends" changes.
            return [
                {
                    "id": "first-core-group",
                    "extends": True,
                    "offset": {"amount": 2, "unit": "weeks", "direction": "after"},
                    "source": "local",
                },
                {
                    "id": "council-only",
                    "name": "A council's own step",
                    "trigger": "conference.held.v1",
                    "anchor": "held_on",
                    "offset": None,
                    "deadline": "council_step",
                    "owner": "social_worker",
                    "met_by": "core_group.held.v1",
                    "source": "local",
                },
            ]

    active = Plugins(["england"], extra=[("council", Council())])
    assert active.authority()["code"] == "BRO"
    rules = active.layered("cpp_timescales")
    ids = [r["id"] for r in rules]
    assert ids.index("first-core-group") < ids.index("council-only"), "an overridden rule keeps its place"
    by_id = {r["id"]: r for r in rules}
    assert by_id["first-core-group"]["offset"]["unit"] == "weeks"
    assert by_id["first-core-group"]["plugin"] == "council"
    assert by_id["initial-conference"]["plugin"] == "england"


def test_list_items_need_an_id():
    class NoId:
        @hookimpl
        def cpp_timescales(self):
            return [{"source": "x"}]

    with pytest.raises(PluginError, match="needs an 'id'"):
        Plugins(["england"], extra=[("noid", NoId())]).layered("cpp_timescales")
