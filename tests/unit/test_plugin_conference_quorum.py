"""A conference's quorum as each jurisdiction's set answers it (cpp_conference_quorum): Guernsey's three agencies
and Scotland's three core agencies, each with its graded source; none for England, Wales or Northern Ireland, nor
for the councils on England's set; the last plugin that answers wins; an answer that cannot be used stops the
plugins loading; and the quorum applied to a conference's attendees."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from cpp_plans.domain import governance
from cpp_plans.domain.lifecycle import InvalidStep
from cpp_plans.service_layer.conferences import quorum_rule
from cpp_shared.hookspecs import hookimpl
from cpp_shared.plugins import PluginError, Plugins
from tests.unit.test_plugin_sets import DEPLOYMENTS, GRADE, INTERNAL, _plugins


def answering(answer):
    class Council:
        @hookimpl
        def cpp_conference_quorum(self):
            return answer

    return Council()


def rule_of(*names: str, extra=()) -> dict | None:
    return quorum_rule(SimpleNamespace(plugins=Plugins(list(names), extra=list(extra))))


def test_guernsey_needs_three_agencies_from_the_islands_own_procedures():
    rule = rule_of("guernsey")
    assert rule["min_agencies"] == 3 and "required_agencies" not in rule
    assert rule["source"].startswith('ISCP child protection procedures, "Quorum" (iscp.gg article 118060)')
    assert "(V: the Islands' own procedures)" in rule["source"]


def test_scotland_needs_the_three_core_agencies_of_the_national_guidance_its_count_graded_u():
    rule = rule_of("scotland")
    assert rule["min_agencies"] == 3
    assert "para 3.131" in rule["source"] and "social work, health and police (V)" in rule["source"]
    assert "(U: the Guidance gives no number)" in rule["source"]


@pytest.mark.parametrize("names", [("england",), ("wales",), ("northern_ireland",), ("england", "bromley")])
def test_the_other_sets_have_no_quorum_rule(names):
    assert rule_of(*names) is None


def test_the_last_plugin_that_answers_wins():
    ours = {"min_agencies": 4, "required_agencies": ["Police"], "source": "our procedures (V)"}
    assert rule_of("guernsey", extra=[("council", answering(ours))]) == ours
    assert rule_of("guernsey", extra=[("council", answering(None))])["min_agencies"] == 3


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ([3], "must be a dict, not list"),
        ({"min_agencies": 0, "source": "x"}, "min_agencies must be a whole number of agencies, 1 or more, not 0"),
        ({"min_agencies": True, "source": "x"}, "min_agencies must be a whole number"),
        ({"min_agencies": "3", "source": "x"}, "min_agencies must be a whole number"),
        ({"min_agencies": 3}, "source must say where the quorum comes from"),
        ({"min_agencies": 3, "source": "x", "required_agencies": "Police"}, "required_agencies must be a list"),
        (
            {"min_agencies": 1, "source": "x", "required_agencies": ["Police", "Health"]},
            "required_agencies names 2 agencies, more than min_agencies (1)",
        ),
        ({"min_agencies": 3, "source": "x", "agencies": 3}, "unknown keys ['agencies']"),
    ],
)
def test_an_answer_that_cannot_be_used_stops_the_plugins_loading(answer, message):
    with pytest.raises(PluginError, match=re.escape(message)) as refused:
        Plugins(["england"], extra=[("council", answering(answer))])
    assert "plugin 'council', cpp_conference_quorum" in str(refused.value)


ATTENDEES = [
    {"name": "A", "agency": "Social work"},
    {"name": "B", "agency": "social work "},
    {"name": "C", "agency": "NHS Lothian"},
    {"name": "D"},
]


def test_agencies_are_counted_once_each_without_case_and_people_without_one_are_not_counted():
    assert governance.agencies_of(ATTENDEES) == ["Social work", "NHS Lothian"]


def test_a_required_agency_that_did_not_attend_is_named():
    rule = {"min_agencies": 2, "required_agencies": ["Police"], "source": "ours (V)"}
    with pytest.raises(InvalidStep) as refused:
        governance.quorum_of(ATTENDEES, rule)
    [why] = refused.value.errors["attendees"]
    assert why.startswith("2 agencies attended (Social work, NHS Lothian); this deployment needs at least 2 (ours (V))")
    assert "including Police, which did not attend" in why


def test_a_quorate_conference_records_its_numbers_and_no_rule_records_none():
    rule = {"min_agencies": 2, "source": "ours (V)"}
    assert governance.quorum_of(ATTENDEES, rule) == {
        "agencies": 2,
        "min_agencies": 2,
        "quorate": True,
        "source": "ours (V)",
    }
    assert governance.quorum_of([], None) is None


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_every_deployments_quorum_cites_a_public_source_with_its_grade(deployment):
    rule = quorum_rule(SimpleNamespace(plugins=_plugins(deployment)))
    if rule is not None:
        assert GRADE.search(rule["source"]), f"{deployment}: no grade (V, V2 or U) in {rule['source']!r}"
        assert not INTERNAL.search(rule["source"]), rule["source"]
