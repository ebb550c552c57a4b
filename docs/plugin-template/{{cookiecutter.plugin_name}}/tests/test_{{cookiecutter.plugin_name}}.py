"""{{ cookiecutter.council_name }}'s plugin loaded as a deployment loads it, after {{ cookiecutter.builds_on }}."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import {{ cookiecutter.module_name }}
from cpp_shared.contracts.timescales import closure_days
from cpp_shared.plugins import PluginError, Plugins

NAME = "{{ cookiecutter.plugin_name }}"
BASE = "{{ cookiecutter.builds_on }}"


def deployment() -> Plugins:
    # As CPP_PLUGINS={{ cookiecutter.builds_on }},{{ cookiecutter.plugin_name }} loads it (this package need not be installed).
    return Plugins([BASE], extra=[(NAME, {{ cookiecutter.module_name }})])


def test_the_package_registers_the_plugin_under_its_name():
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["cpp.plugins"] == {NAME: "{{ cookiecutter.module_name }}"}
    assert f"cpp-{BASE}" in project["project"]["dependencies"]


def test_the_council_names_itself_and_its_calendar():
    authority = deployment().authority()
    assert authority["code"] == "{{ cookiecutter.authority_code }}"
    assert authority["name"] == "{{ cookiecutter.council_name }}"


def test_it_keeps_every_rule_of_its_base_and_each_cites_a_source():
    base = {r["id"] for r in Plugins([BASE]).layered("cpp_timescales")}
    rules = deployment().layered("cpp_timescales")
    assert {r["id"] for r in rules} >= base
    assert all(isinstance(r.get("source"), str) and r["source"].strip() for r in rules)


def test_every_closure_day_is_named_and_dated_or_yearly():
    for closure in closure_days(deployment()):
        assert closure.name.strip() and (closure.on or closure.yearly)


def test_it_is_a_council_layer_named_after_its_jurisdiction():
    plugins = deployment()
    assert plugins.layers()[NAME] == "council"
    assert plugins.warnings == []


def test_without_its_base_no_deployment_starts():
    with pytest.raises(PluginError, match=f"builds on '{BASE}'"):
        Plugins([], extra=[(NAME, {{ cookiecutter.module_name }})])
