"""Each plugin says whether it is a jurisdiction's set or a council's layer (``cpp_layer``). A jurisdiction set
named after a plugin that is not one (``cardiff,england``) overrides that council's answers: the services say so
as they start, in their logs, and ``cpp plugins`` shows it; a council's layer naming its base (``cpp_builds_on``) is
refused in that order, as before."""

from __future__ import annotations

import json
import textwrap
from datetime import date
from importlib.metadata import EntryPoint

import pytest
from click.testing import CliRunner

import cpp_england
import cpp_wales
from cpp_scheduler.commands import rules
from cpp_scheduler.domain.calendar import WorkingCalendar
from cpp_scheduler.domain.rules import closure_days, effective_rules
from cpp_shared import plugins as plugins_module
from cpp_shared.cli import main
from cpp_shared.hookspecs import hookimpl
from cpp_shared.plugins import PluginError, Plugins

SETS = {"england", "guernsey", "scotland", "wales", "northern_ireland"}
COUNCILS = {"bromley", "greenwich"}
CARDIFF = """
    from cpp_shared.hookspecs import hookimpl

    @hookimpl
    def cpp_layer():
        return "council"

    @hookimpl
    def cpp_authority():
        return {"code": "CDF", "name": "Cardiff Council (example)", "jurisdiction": "wales",
                "calendar": {"country": "GB", "subdiv": "WLS"}, "contacts": []}
"""


class Cardiff:
    """A council's layer as a developer writes it from the hooks, without naming its base (cpp_builds_on)."""

    @hookimpl
    def cpp_layer(self):
        return "council"

    @hookimpl
    def cpp_authority(self):
        return {
            "code": "CDF",
            "name": "Cardiff Council (example)",
            "jurisdiction": "wales",
            "calendar": {"country": "GB", "subdiv": "WLS"},
            "contacts": [],
        }


class SaysNothing:
    """A plugin written before cpp_layer: it does not say what it is."""

    @hookimpl
    def cpp_extra_closure_days(self):
        return [{"date": "2026-12-24", "name": "Council closure (Christmas Eve)"}]


class CardiffOnWales(Cardiff):
    @hookimpl
    def cpp_builds_on(self):
        return ["wales"]


@pytest.mark.parametrize("name", sorted(SETS | COUNCILS))
def test_every_shipped_plugin_says_what_it_is(name):
    deployment = [name] if name in SETS else ["england", name]
    assert Plugins(deployment).layers()[name] == ("jurisdiction" if name in SETS else "council")


@pytest.mark.parametrize(
    "names",
    [["england"], ["england", "bromley"], ["england", "greenwich"], *([name] for name in sorted(SETS - {"england"}))],
)
def test_the_supported_orders_load_without_a_warning(names):
    assert Plugins(names).warnings == []


class CouncilClosures:
    """A council's layer that only closes its offices: every Christmas Eve, and a half day on 31 December."""

    @hookimpl
    def cpp_layer(self):
        return "council"

    @hookimpl
    def cpp_extra_closure_days(self):
        return [
            {"yearly": "12-24", "name": "Council closure (Christmas Eve)"},
            {"yearly": "12-31", "name": "Council closure (New Year's Eve afternoon)", "half_day": True},
        ]


@pytest.mark.parametrize("name", sorted(SETS))
def test_every_jurisdiction_set_loads_with_a_councils_closures_on_top(name):
    alone = Plugins([name])
    plugins = Plugins([name], extra=[("council", CouncilClosures())])
    assert plugins.warnings == []
    assert plugins.authority() == alone.authority(), "a layer that only closes offices changes nothing else"
    assert [r.id for r in effective_rules(plugins)] == [r.id for r in effective_rules(alone)]
    closures = {c.name: c for c in closure_days(plugins)}
    assert closures["Council closure (Christmas Eve)"].in_year(2027) == date(2027, 12, 24)
    assert closures["Council closure (New Year's Eve afternoon)"].closes is False  # a half day loses no day
    calendar = WorkingCalendar.for_authority(plugins.authority(), closure_days(plugins))
    assert not calendar.is_working_day(date(2027, 12, 24)) and calendar.is_working_day(date(2027, 12, 31))


def test_a_council_layer_after_its_jurisdiction_loads_without_a_warning():
    plugins = Plugins(["wales"], extra=[("cardiff", Cardiff())])
    assert plugins.layers() == {"wales": "jurisdiction", "cardiff": "council"}
    assert plugins.warnings == [] and plugins.authority()["code"] == "CDF"


def test_a_jurisdiction_set_after_a_council_layer_is_warned_naming_both_and_the_order_to_use():
    plugins = Plugins([], extra=[("cardiff", Cardiff()), ("wales", cpp_wales)])
    assert plugins.authority()["code"] == "WLS", "the jurisdiction set's answer overrides the council's"
    (warning,) = plugins.warnings
    assert "the jurisdiction set 'wales' is named in CPP_PLUGINS after 'cardiff'" in warning
    assert warning.endswith("e.g. CPP_PLUGINS=wales,cardiff")


def test_a_plugin_that_does_not_say_what_it_is_named_before_a_jurisdiction_set_is_warned_too():
    plugins = Plugins([], extra=[("cardiff", SaysNothing()), ("england", cpp_england)])
    assert plugins.layers() == {"cardiff": None, "england": "jurisdiction"}
    (warning,) = plugins.warnings
    assert "'england' is named in CPP_PLUGINS after 'cardiff'" in warning and "CPP_PLUGINS=england,cardiff" in warning


def test_a_council_layer_that_names_its_base_is_refused_before_it_as_before():
    with pytest.raises(PluginError, match="builds on 'wales', which CPP_PLUGINS does not name before it"):
        Plugins([], extra=[("cardiff", CardiffOnWales()), ("wales", cpp_wales)])


def test_a_layer_that_is_neither_is_refused_naming_the_plugin():
    class County(Cardiff):
        @hookimpl
        def cpp_layer(self):
            return "county"

    with pytest.raises(PluginError, match="plugin 'county', cpp_layer: must be one of 'jurisdiction', 'council'"):
        Plugins(["wales"], extra=[("county", County())])


@pytest.fixture
def installed_cardiff(monkeypatch, tmp_path):
    """Cardiff's layer installed as a council installs it (an entry point)."""
    (tmp_path / "cpp_cardiff_layer.py").write_text(textwrap.dedent(CARDIFF))
    monkeypatch.syspath_prepend(str(tmp_path))
    real = plugins_module.available_plugins()
    cardiff = EntryPoint(name="cardiff", value="cpp_cardiff_layer", group="cpp.plugins")
    monkeypatch.setattr(plugins_module, "available_plugins", lambda: {**real, "cardiff": cardiff})


def test_cpp_plugins_shows_each_plugins_layer_and_the_warning(installed_cardiff, monkeypatch):
    monkeypatch.setenv("CPP_PLUGINS", "cardiff,wales")
    result = CliRunner().invoke(main, ["plugins"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].split()[:3] == ["cardiff", "cpp_cardiff_layer", "council"]
    assert lines[2].split()[:3] == ["wales", "cpp_wales", "jurisdiction"]
    assert "warning: the jurisdiction set 'wales' is named in CPP_PLUGINS after 'cardiff'" in result.output


def test_a_service_logs_the_warning_as_it_starts(installed_cardiff, make_settings, capsys):
    from cpp_plans.app import SERVICE
    from cpp_shared.web import build_context

    build_context(SERVICE, make_settings("plans", CPP_PLUGINS="cardiff,wales"))
    logged = capsys.readouterr()
    line = next(line for line in (logged.err + logged.out).splitlines() if "plugins in an unexpected order" in line)
    assert "the jurisdiction set 'wales' is named in CPP_PLUGINS after 'cardiff'" in line
    assert "warning" in line


def test_cpp_rules_prints_the_order_warning_on_stderr(installed_cardiff):
    result = CliRunner().invoke(rules, ["--plugins", "cardiff,wales"])
    assert result.exit_code == 0, result.output
    warned = [line for line in result.stderr.splitlines() if line.startswith("cpp rules: warning: ")]
    assert len(warned) == 1 and "the jurisdiction set 'wales' is named in CPP_PLUGINS after 'cardiff'" in warned[0]
    assert warned[0].endswith("e.g. CPP_PLUGINS=wales,cardiff")
    assert "warning" not in result.stdout and result.stdout.startswith("Timescales of ")


@pytest.mark.parametrize("extra", [[], ["--from", "2026-05-18"]])
def test_cpp_rules_json_lists_the_order_warning(installed_cardiff, extra):
    result = CliRunner().invoke(rules, ["--plugins", "cardiff,wales", "--json", *extra])
    assert result.exit_code == 0, result.output
    (warning,) = json.loads(result.stdout)["warnings"]
    assert "the jurisdiction set 'wales' is named in CPP_PLUGINS after 'cardiff'" in warning
    assert "cpp rules: warning: " in result.stderr
    in_order = CliRunner().invoke(rules, ["--plugins", "wales,cardiff", "--json", *extra])
    assert json.loads(in_order.stdout)["warnings"] == [] and in_order.stderr == ""
