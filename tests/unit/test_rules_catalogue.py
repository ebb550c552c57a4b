"""Every timescale rule is checked against the event catalogue as the plugins load: an event no service publishes,
or a field its event does not carry (an anchor, a condition, the meeting's date), stops the deployment naming the
plugin, the rule and the field, with the nearest name, instead of giving a deadline that silently never opens, is
never met or never cancelled. ``cpp plugins``, the scheduler and ``cpp rules`` refuse alike."""

from __future__ import annotations

import re
import textwrap
from importlib.metadata import EntryPoint

import pytest
from click.testing import CliRunner

from cpp_scheduler.commands import rules as rules_command
from cpp_scheduler.domain.rules import effective_rules
from cpp_shared import plugins as plugins_module
from cpp_shared.cli import main
from cpp_shared.contracts.timescales import RuleError, check_events, timescale_rules
from cpp_shared.hookspecs import hookimpl
from cpp_shared.plugins import Plugins

SHIPPED = [["england"], ["england", "bromley"], ["england", "greenwich"], ["guernsey"], ["scotland"]]
SHIPPED += [["wales"], ["northern_ireland"]]

# A council's own rule, right as it stands: a visit within 5 working days of the first core group meeting.
VISIT = {
    "id": "visit-after-first-core-group",
    "name": "Visit the child after the first core group meeting",
    "trigger": "core_group.held.v1",
    "when": {"detailed_plan_agreed": True},
    "anchor": "held_on",
    "key": "meeting_id",
    "offset": {"amount": 5, "unit": "working_days", "direction": "after"},
    "deadline": "visit",
    "owner": "social_worker",
    "met_by": "visit.recorded.v1",
    "met_when": {"child_seen": True},
    "met_on": "visited_on",
    "cancelled_by": [{"event": "plan.ended.v1", "when": {"plan_id": None}}],
    "earliest_of": [{"anchor": "held_on", "offset": {"amount": 1, "unit": "months", "direction": "after"}}],
    "source": "Cardiff's own practice guidance (U: made up for the test)",
}


def council(*rules: dict) -> object:
    class Cardiff:
        @hookimpl
        def cpp_timescales(self):
            return list(rules)

    return Cardiff()


def refusal(**change) -> str:
    rule = {**VISIT, **change}
    with pytest.raises(RuleError) as refused:
        Plugins(["england"], extra=[("cardiff", council(rule))])
    return str(refused.value)


def test_a_rule_whose_events_and_fields_are_all_published_loads():
    rules = {r.id: r for r in timescale_rules(Plugins(["england"], extra=[("cardiff", council(VISIT))]))}
    assert rules["visit-after-first-core-group"].plugin == "cardiff"


@pytest.mark.parametrize("plugins", SHIPPED, ids=",".join)
def test_every_shipped_plugin_set_passes_the_catalogue_check(plugins):
    for rule in effective_rules(Plugins(plugins)):
        assert check_events(rule) is rule


@pytest.mark.parametrize(
    "change, field, words",
    [
        # the anchor the trigger does not carry: held_date for held_on
        ({"anchor": "held_date"}, "anchor", "core_group.held.v1 does not carry 'held_date' (did you mean 'held_on'?)"),
        (
            {"anchor": "detailed_plan_agreed"},
            "anchor",
            "'detailed_plan_agreed' is not a date (its dates: child.date_of_birth, held_on)",
        ),
        ({"key": "meeting"}, "key", "does not carry 'meeting' (did you mean 'meeting_id'?)"),
        # a condition on a field the trigger does not carry
        ({"when": {"plan_agreed": True}}, "when.plan_agreed", "(did you mean 'detailed_plan_agreed'?)"),
        (
            {"earliest_of": [{"anchor": "heldon", "offset": {"amount": 1, "unit": "months"}}]},
            "earliest_of.0.anchor",
            "does not carry 'heldon' (did you mean 'held_on'?)",
        ),
        # met by an event nobody publishes
        ({"met_by": "visit.recordid.v1"}, "met_by", "no service publishes 'visit.recordid.v1'"),
        ({"met_by": ["visit.recorded.v1", "home_visit.made.v1"]}, "met_by", "no service publishes 'home_visit.made"),
        ({"trigger": "core_group.met.v1"}, "trigger", "(did you mean 'core_group.held.v1'?)"),
        # the fields read from the meeting event
        ({"met_on": "held_on"}, "met_on", "visit.recorded.v1 does not carry 'held_on'"),
        ({"met_when": {"child_sen": True}}, "met_when.child_sen", "(did you mean 'child_seen'?)"),
        # the cancelling events
        ({"cancelled_by": [{"event": "plan.closed.v1"}]}, "cancelled_by.0.event", "no service publishes"),
        (
            {"cancelled_by": [{"event": "plan.ended.v1", "when": {"reason": "died"}}]},
            "cancelled_by.0.when.reason",
            "plan.ended.v1 does not carry 'reason'",
        ),
        # a condition on a value the field never has: a reason for ending a plan misspelt
        (
            {"cancelled_by": [{"event": "plan.ended.v1", "when": {"ended.reason": ["died", "reached18"]}}]},
            "cancelled_by.0.when.ended.reason",
            "plan.ended.v1's 'ended.reason' is never 'reached18' (it is one of 'review_conference', ",
        ),
    ],
)
def test_a_rule_naming_what_no_event_carries_stops_the_start_naming_plugin_rule_and_field(change, field, words):
    message = refusal(**change)
    assert f"plugin 'cardiff', timescale rule 'visit-after-first-core-group', field {field!r}: " in message
    assert words in message


def test_a_trigger_carrying_the_anchor_is_not_enough_when_another_trigger_does_not():
    message = refusal(trigger=["core_group.held.v1", "visit.recorded.v1"], when={})
    assert "field 'anchor': visit.recorded.v1 does not carry 'held_on'" in message


def test_a_conference_kind_misspelt_is_refused_with_the_kinds_there_are():
    message = refusal(trigger="conference.held.v1", when={"kind": "intial"}, key=None, met_when={})
    assert "field 'when.kind': conference.held.v1's 'kind' is never 'intial'" in message
    assert "(it is one of 'initial', 'review', 'transfer_in') (did you mean 'initial'?)" in message


def test_an_extended_rule_is_checked_as_it_is_after_layering():
    wrong = {"id": "first-core-group", "extends": True, "anchor": "held_date", "source": "Cardiff's leaflet (V2)"}
    with pytest.raises(RuleError, match=re.escape("'first-core-group', field 'anchor': conference.held.v1 does not")):
        Plugins(["england"], extra=[("cardiff", council(wrong))])


@pytest.fixture
def installed_cardiff(monkeypatch, tmp_path):
    """A Cardiff plugin installed as a council would install it (an entry point), with a rule anchored on a field
    its trigger does not carry."""
    (tmp_path / "cpp_cardiff_wrong.py").write_text(
        textwrap.dedent(
            """
            from cpp_shared.hookspecs import hookimpl

            @hookimpl
            def cpp_timescales():
                return [{"id": "first-core-group", "extends": True, "anchor": "held_date",
                         "source": "Cardiff's leaflet (V2)"}]
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    real = plugins_module.available_plugins()
    cardiff = EntryPoint(name="cardiff", value="cpp_cardiff_wrong", group="cpp.plugins")
    monkeypatch.setattr(plugins_module, "available_plugins", lambda: {**real, "cardiff": cardiff})
    return "'cardiff', timescale rule 'first-core-group', field 'anchor': conference.held.v1 does not carry 'held_date'"


def test_cpp_plugins_and_cpp_rules_refuse_the_rule_alike(installed_cardiff, monkeypatch):
    monkeypatch.setenv("CPP_PLUGINS", "england,cardiff")
    listed = CliRunner().invoke(main, ["plugins"])
    timetable = CliRunner().invoke(rules_command, ["--plugins", "england,cardiff"])
    for result in (listed, timetable):
        assert result.exit_code == 2, result.output
        assert installed_cardiff in result.output and "(did you mean 'held_on'?)" in result.output
    with pytest.raises(RuleError, match=re.escape(installed_cardiff)):
        effective_rules(Plugins(["england", "cardiff"]))  # the scheduler's rules, as it starts
