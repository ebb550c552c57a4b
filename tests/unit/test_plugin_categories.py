"""The categories of harm (areas of concern in Scotland) as plugins give them (cpp_categories): each answer
checked as the plugins load, naming the plugin and the field, layered by id in CPP_PLUGINS order, and a
deployment that offers none refused."""

from __future__ import annotations

import re

import pytest

from cpp_shared.contracts.hook_answers import categories
from cpp_shared.hookspecs import hookimpl
from cpp_shared.plugins import PluginError, Plugins

ENGLAND = ["physical_abuse", "sexual_abuse", "emotional_abuse", "neglect"]


def offering(answer):
    class Council:
        @hookimpl
        def cpp_categories(self):
            return answer

    return Council()


@pytest.mark.parametrize(
    "answer, message",
    [
        ([{"id": "Financial-Abuse", "name": "Financial abuse"}], "field 'id' must be a lower_snake slug"),
        ([{"id": "financial_abuse", "name": "  "}], "item 'financial_abuse': field 'name' must be non-empty text"),
        (
            [{"id": "exploitation", "name": "Exploitation"}, {"id": "exploitation", "name": "Exploitation again"}],
            "item 'exploitation': field 'id' is given twice",
        ),
        (
            [{"id": "exploitation", "name": "Exploitation", "census_code": "EXP"}],
            "item 'exploitation': field 'census_code' must be one of PHY, EMO, SAB, NEG",
        ),
        ([{"id": "neglect", "name": "Neglect", "census_code": "MUL"}], "field 'census_code'"),
        ({"id": "neglect"}, "must be a list"),
    ],
)
def test_a_category_that_cannot_be_used_stops_the_plugins_loading(answer, message):
    with pytest.raises(PluginError, match=re.escape(message)) as refused:
        Plugins(["england"], extra=[("council", offering(answer))])
    assert "plugin 'council', cpp_categories" in str(refused.value)


def test_england_offers_the_four_categories_with_their_census_codes():
    offered = categories(Plugins(["england"]))
    assert [c["id"] for c in offered] == ENGLAND
    assert {c["id"]: c["census_code"] for c in offered} == {
        "physical_abuse": "PHY",
        "sexual_abuse": "SAB",
        "emotional_abuse": "EMO",
        "neglect": "NEG",
    }


def test_scotland_offers_its_areas_of_concern_alone():
    offered = {c["id"]: c for c in categories(Plugins(["scotland"]))}
    assert {"domestic_abuse", "parental_alcohol_and_drug_use", "child_sexual_abuse"} <= set(offered)
    assert "sexual_abuse" not in offered
    assert all(c["census_code"] is None for c in offered.values())


def test_a_council_disables_one_renames_another_and_adds_its_own():
    council = offering(
        [
            {"id": "sexual_abuse", "disabled": True},
            {"id": "neglect", "extends": True, "name": "Neglect (including pre-birth)"},
            {"id": "financial_abuse", "name": "Financial abuse"},
        ]
    )
    offered = categories(Plugins(["england"], extra=[("council", council)]))
    assert [c["id"] for c in offered] == ["physical_abuse", "emotional_abuse", "neglect", "financial_abuse"]
    neglect = offered[2]
    assert neglect == {"id": "neglect", "name": "Neglect (including pre-birth)", "census_code": "NEG"}


def test_a_deployment_that_offers_no_category_is_refused():
    council = offering([{"id": c, "disabled": True} for c in ENGLAND])
    with pytest.raises(PluginError, match=r"no active plugin offers a category .*england, council"):
        categories(Plugins(["england"], extra=[("council", council)]))
