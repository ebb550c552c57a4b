"""The plugin contract as a council's plugin author meets it: a plugin names the plugins it builds on and a
deployment without them does not start; a later plugin changes one field of an earlier plugin's rule; the
standard conditions are shared; every answer goes through pluggy's hook calling."""

from __future__ import annotations

import inspect
import re

import pytest

from cpp_shared.contracts import hookspecs
from cpp_shared.hookspecs import hookimpl
from cpp_shared.plugins import PluginError, Plugins


@pytest.mark.parametrize(
    "names, missing",
    [
        (["bromley"], "england"),
        (["greenwich"], "england"),
        (["bromley", "england"], "england"),
        (["scotland", "greenwich"], "england"),
    ],
)
def test_a_council_plugin_without_its_base_stops_the_start(names, missing):
    with pytest.raises(PluginError, match=f"builds on '{missing}', which CPP_PLUGINS does not name before it") as e:
        Plugins(names)
    assert "e.g. CPP_PLUGINS=" in str(e.value) and str(e.value).split("CPP_PLUGINS=")[-1].index("england") < str(
        e.value
    ).split("CPP_PLUGINS=")[-1].index(names[-1] if names[-1] != "england" else names[0])


def test_bromley_changes_only_the_citation_of_englands_first_core_group():
    england = {r["id"]: r for r in Plugins(["england"]).layered("cpp_timescales")}
    bromley = {r["id"]: r for r in Plugins(["england", "bromley"]).layered("cpp_timescales")}
    # the whole rule set, not 1 rule instead of 4; and Bromley's own rules for a pre-birth plan's first review
    assert set(bromley) == set(england) | {"pre-birth-first-review", "pre-birth-first-review-mother-unfit"}
    ours, theirs = bromley["first-core-group"], england["first-core-group"]
    assert ours["plugin"] == "bromley" and "Bromley Safeguarding Children Board" in ours["source"]
    assert "extends" not in ours
    rest = ("name", "source", "plugin")
    assert {k: v for k, v in ours.items() if k not in rest} == {k: v for k, v in theirs.items() if k not in rest}


class Extends:
    @hookimpl
    def cpp_timescales(self):
        return [{"id": "no-such-rule", "extends": True, "source": "x"}]


def test_extending_a_rule_nobody_gave_is_refused():
    with pytest.raises(PluginError, match="extends an item no plugin before it in CPP_PLUGINS gives"):
        Plugins(["england"], extra=[("extends", Extends())]).layered("cpp_timescales")


class Based:
    @hookimpl
    def cpp_builds_on(self):
        return "england"  # not a list


def test_a_wrong_base_declaration_is_refused():
    with pytest.raises(PluginError, match="cpp_builds_on must return a list"):
        Plugins(["england"], extra=[("based", Based())])


def test_the_standard_conditions_are_the_ones_the_plugins_listen_with():
    rules = {r["id"]: r for r in Plugins(["england"]).layered("cpp_timescales")}
    assert rules["first-core-group"]["when"] == hookspecs.INITIAL_CONFERENCE_PLAN_REQUIRED
    assert rules["first-review-conference"]["when"] == hookspecs.INITIAL_CONFERENCE_PLAN_REQUIRED
    assert any(r.get("when") == hookspecs.REVIEW_CONTINUES_PLAN for r in rules.values())
    guernsey = Plugins(["guernsey"]).layered("cpp_timescales")
    assert any(r.get("when") == hookspecs.ENQUIRIES_INITIATED for r in guernsey)


class Wrapper:
    def __init__(self):
        self.seen = 0

    @hookimpl(wrapper=True)
    def cpp_terminology(self):
        answer = yield
        self.seen += 1
        return answer


def test_list_and_dict_hooks_are_called_through_pluggy(monkeypatch):
    wrapper = Wrapper()
    plugins = Plugins(["england", "bromley"], extra=[("wrapper", wrapper)])
    wrapper.seen = 0  # (the answers were checked as the plugins loaded)
    calls = []
    undo = plugins.pm.add_hookcall_monitoring(lambda name, impls, kwargs: calls.append(name), lambda *a: None)
    plugins.layered("cpp_timescales")
    merged = plugins.merged("cpp_terminology")
    undo()
    assert calls.count("cpp_timescales") == 2  # england's and bromley's, each traced
    assert "cpp_terminology" in calls and merged
    assert wrapper.seen == calls.count("cpp_terminology")  # the wrapper saw every call


class BadUnit:
    @hookimpl
    def cpp_timescales(self):
        return [{"id": "first-core-group", "extends": True, "offset": {"amount": 10, "unit": "fortnights"}}]


class BadClosure:
    @hookimpl
    def cpp_extra_closure_days(self):
        return [{"date": "2026-13-01", "name": "Never"}]


@pytest.mark.parametrize(
    "plugin, message", [(BadUnit(), "timescale rule 'first-core-group', field 'offset"), (BadClosure(), "closure day")]
)
def test_a_rule_or_closure_day_that_cannot_be_applied_stops_the_plugins_loading(plugin, message):
    """Checked by the contract as the plugins load, in any service (and by a plugin's own tests), not first
    by the scheduler."""
    with pytest.raises(PluginError, match=message) as refused:
        Plugins(["england"], extra=[("broken", plugin)])
    assert "'broken'" in str(refused.value)


def test_the_contracts_rule_checks_need_no_service():
    import subprocess
    import sys

    code = (
        "import sys; from cpp_shared.plugins import Plugins; from cpp_shared.contracts.timescales import timescale_rules; "
        "rules = timescale_rules(Plugins(['england'])); "
        "assert rules and not [m for m in sys.modules if m.startswith(('cpp_scheduler', 'cpp_plans', 'cpp_docs'))]"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def answering(hook: str, answer):
    """A plugin answering one hook with ``answer``."""

    class One:
        pass

    def impl(self):
        return answer

    impl.__name__ = hook
    setattr(One, hook, hookimpl(impl))
    return One()


CAMDEN = {"code": "CMD", "name": "Camden", "jurisdiction": "england", "calendar": {"country": "GB"}}


@pytest.mark.parametrize(
    "hook, answer, message",
    [
        (
            "cpp_authority",
            {"code": "camden", "name": "Camden", "jurisdiction": "england", "calendar": {"country": "GB"}},
            "code must be 2 to 10 capital letters",
        ),
        (
            "cpp_authority",
            {"code": "CMD", "name": "Camden", "jurisdiction": "narnia", "calendar": {"country": "GB"}},
            "jurisdiction must be one of",
        ),
        (
            "cpp_authority",
            {"code": "CMD", "name": "Camden", "jurisdiction": "england"},
            "calendar must name its country",
        ),
        (
            "cpp_authority",
            {**CAMDEN, "overdue_escalation_working_days": {"team_manager": "two"}},
            "overdue_escalation_working_days.team_manager must be a whole number of working days from 0 to 60",
        ),
        (
            "cpp_authority",
            {**CAMDEN, "overdue_escalation_working_days": {"service_manager": 90}},
            "overdue_escalation_working_days.service_manager must be a whole number of working days from 0 to 60",
        ),
        (
            "cpp_authority",
            {**CAMDEN, "overdue_escalation_working_days": {"director": 10}},
            "overdue_escalation_working_days must be a dict of team_manager, service_manager",
        ),
        ("cpp_escalation_routes", [{"id": "call_the_head", "name": "Call the head"}], "field 'description'"),
        ("cpp_escalation_routes", [{"name": "No id"}], "every item needs an 'id'"),
        ("cpp_terminology", {"plan": ""}, "non-empty text"),
        (
            "cpp_identifier_schemes",
            [{"id": "upn", "name": "UPN", "validate": "not callable", "source": "x"}],
            "field 'validate'",
        ),
        ("cpp_notification_channels", [{"id": "sms", "name": "Text message"}], "field 'send'"),
        ("cpp_document_branding", {"logo": "x.png"}, "unknown keys ['logo']"),
        ("cpp_document_branding", {"accent_colour": "blue"}, "accent_colour must be #rrggbb"),
        ("cpp_document_templates", ["base.html"], "must be a dict"),
    ],
)
def test_an_answer_that_cannot_be_used_stops_the_plugins_loading_naming_plugin_and_hook(hook, answer, message):
    with pytest.raises(PluginError, match=re.escape(message)) as refused:
        Plugins(["england"], extra=[("council", answering(hook, answer))])
    assert f"plugin 'council', {hook}" in str(refused.value)


def test_every_hook_without_arguments_has_its_answers_checked():
    from cpp_shared.contracts.hook_answers import CHECKS

    without_arguments = {
        name
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("cpp_") and not inspect.signature(fn).parameters
    }
    assert without_arguments - set(CHECKS) == {"cpp_timescales"}  # cpp_shared.contracts.timescales checks those


ROUTE = {"id": "court", "name": "Go to court", "description": "Apply to court.", "source": "The rules"}
STEP = {"id": "meeting", "name": "Legal planning meeting", "source": "The guidance"}
DECISION = {
    "id": "decision",
    "name": "Its decision",
    "source": "The guidance",
    "outcomes": [{"id": "go_on", "name": "Go on"}, {"id": "stop", "name": "Stop"}],
    "continues_on": "go_on",
}


@pytest.mark.parametrize(
    "steps, message",
    [
        ([], "field 'steps' must be a non-empty list"),
        ("meeting", "field 'steps' must be a non-empty list"),
        ([{**STEP, "id": "Legal Meeting"}], "every step needs an 'id', a lower_snake slug"),
        ([STEP, STEP], "step 'meeting' is given twice"),
        ([{**STEP, "source": ""}], "step 'meeting': field 'source' is missing"),
        ([{**STEP, "name": None}], "step 'meeting': field 'name' is missing"),
        ([{**STEP, "deadline_days": 5}], "unknown keys ['deadline_days']"),
        ([{**DECISION, "outcomes": []}], "outcomes must be a non-empty list of {id, name}"),
        ([{**DECISION, "outcomes": [{"id": "go_on"}]}], "outcomes must be a non-empty list of {id, name}"),
        ([{**DECISION, "continues_on": "carry_on"}], "continues_on must be one of its outcomes (go_on, stop)"),
        ([{**STEP, "continues_on": "go_on"}], "continues_on names an outcome, but the step has none"),
    ],
)
def test_a_routes_steps_that_cannot_be_recorded_stop_the_plugins_loading(steps, message):
    with pytest.raises(PluginError, match=re.escape(message)) as refused:
        Plugins(["england"], extra=[("council", answering("cpp_escalation_routes", [{**ROUTE, "steps": steps}]))])
    assert "plugin 'council', cpp_escalation_routes item 'court'" in str(refused.value)


def test_a_route_with_its_steps_loads_and_englands_and_wales_legal_planning_declare_the_public_law_outline():
    plugins = Plugins(
        ["england"], extra=[("council", answering("cpp_escalation_routes", [{**ROUTE, "steps": [STEP, DECISION]}]))]
    )
    routes = {r["id"]: r for r in plugins.layered("cpp_escalation_routes")}
    assert [s["id"] for s in routes["court"]["steps"]] == ["meeting", "decision"]
    for jurisdiction in ("england", "wales"):
        [legal] = [r for r in Plugins([jurisdiction]).layered("cpp_escalation_routes") if r["id"] == "legal_planning"]
        assert [s["id"] for s in legal["steps"]] == [
            "legal_planning_meeting",
            "legal_planning_decision",
            "letter_before_proceedings",
            "pre_proceedings_meeting",
        ]
        decision = legal["steps"][1]
        assert [o["id"] for o in decision["outcomes"]] == [
            "pre_proceedings",
            "issue_proceedings",
            "no_further_legal_action",
        ]
        assert decision["continues_on"] == "pre_proceedings"
