"""The retention rules a plugin gives (cpp_retention_rules), checked as the plugins load: a mistake stops every
service naming the plugin and the rule, and a council's rule replaces its jurisdiction's by id."""

from __future__ import annotations

import pytest

from cpp_shared.contracts.retention import retention_rules
from cpp_shared.hookspecs import hookimpl
from cpp_shared.plugins import PluginError, Plugins

GOOD = {
    "id": "child_protection",
    "name": "Child protection records",
    "record_type": "child_protection",
    "until_age": 26,
    "source": "Our schedule (V)",
}


def council(rules):
    class Council:
        @hookimpl
        def cpp_retention_rules(self):
            return rules

    return Council()


def test_a_councils_rule_replaces_its_jurisdictions_by_id():
    rules = {r["id"]: r for r in retention_rules(Plugins(["england"], extra=[("ours", council([GOOD]))]))}
    assert rules["child_protection"]["until_age"] == 26 and rules["child_protection"]["plugin"] == "ours"
    assert rules["referral"]["plugin"] == "england"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"record_type": "everything"}, "record_type"),
        ({"until_age": None}, "needs a period"),
        ({"until_age": "26"}, "until_age"),
        ({"until_age": 500}, "until_age"),
        ({"years_after_last_entry": -1}, "years_after_last_entry"),
        ({"source": ""}, "source"),
        ({"keep": True}, "unknown keys"),
    ],
)
def test_a_wrong_rule_stops_the_plugins_loading_naming_it(change, message):
    rule = {**GOOD, **change}
    with pytest.raises(PluginError, match=rf"plugin 'ours', cpp_retention_rules item 'child_protection'.*{message}"):
        Plugins(["england"], extra=[("ours", council([rule]))])


def test_two_rules_for_one_record_type_are_refused():
    other = {**GOOD, "id": "our_cp"}
    with pytest.raises(PluginError, match="record type 'child_protection' already has the rule"):
        Plugins(["england"], extra=[("ours", council([other]))])
