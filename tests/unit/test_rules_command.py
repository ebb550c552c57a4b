"""`cpp rules`: the effective timetable of a plugin set, with sources."""
from __future__ import annotations

import json

from click.testing import CliRunner

from cpp_scheduler.commands import rules


def test_the_council_layer_overrides_the_jurisdiction_and_every_rule_shows_its_source():
    result = CliRunner().invoke(rules, ["--plugins", "england,bromley"])
    assert result.exit_code == 0, result.output
    assert "London Borough of Bromley (BRM)" in result.output
    assert "first-core-group  [bromley]" in result.output
    assert "initial-conference  [england]" in result.output
    assert result.output.count("source:") == 4


def test_json_lists_the_rules_as_the_api_does():
    result = CliRunner().invoke(rules, ["--plugins", "guernsey", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    by_id = {r["id"]: r for r in body["rules"]}
    assert body["authority"] == "GSY"
    assert by_id["resource-panel"]["offset"] is None
    assert by_id["report-to-chair"]["offset"] == {"amount": 1, "unit": "working_days", "direction": "before"}


def test_an_unknown_plugin_is_refused_by_name():
    result = CliRunner().invoke(rules, ["--plugins", "england,bromly"])
    assert result.exit_code == 2
    assert "bromly" in result.output
