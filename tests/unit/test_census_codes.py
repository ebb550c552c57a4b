"""The census's code lists are the DfE schema's: every code, in the schema's order, with the schema's label.
The schema is the one the liiatools package ships (installed by `make install-dev` for its spec files only)."""

from __future__ import annotations

import importlib.metadata

import pytest
from lxml import etree

from cpp_shared import census_codes

XS = {"xs": "http://www.w3.org/2001/XMLSchema"}


@pytest.fixture(scope="module")
def schema():
    path = importlib.metadata.distribution("liiatools").locate_file(f"liiatools/spec/cin_census/{census_codes.SCHEMA}")
    return etree.parse(str(path))


def enumerations(schema, type_name: str) -> list[tuple[str, str]]:
    simple = schema.find(f".//xs:simpleType[@name='{type_name}']", XS)
    assert simple is not None, f"the schema defines no {type_name}"
    return [(e.get("value"), e.find(".//xs:documentation", XS).text) for e in simple.iterfind(".//xs:enumeration", XS)]


@pytest.mark.parametrize("type_name", sorted(census_codes.BY_SCHEMA_TYPE))
def test_each_list_is_the_schemas_in_its_order_with_its_labels(schema, type_name):
    assert list(census_codes.BY_SCHEMA_TYPE[type_name].items()) == enumerations(schema, type_name)


def test_the_lists_the_child_record_uses_are_the_ones_named():
    assert list(census_codes.GENDER) == ["1", "2", "0", "9"]
    assert len(census_codes.ETHNICITY) == 20
    assert (next(iter(census_codes.ETHNICITY)), list(census_codes.ETHNICITY)[-1]) == ("WBRI", "NOBT")
    assert (next(iter(census_codes.DISABILITY)), list(census_codes.DISABILITY)[-1]) == ("NONE", "DDA")
    assert sorted(census_codes.PRIMARY_NEED) == [f"N{i}" for i in range(10)]
    assert sorted(census_codes.CLOSURE_REASON) == [f"RC{i}" for i in range(1, 10)]
    assert list(census_codes.CATEGORY_OF_ABUSE) == ["NEG", "PHY", "SAB", "EMO", "MUL"]
    assert (next(iter(census_codes.REFERRAL_SOURCE)), list(census_codes.REFERRAL_SOURCE)[-1]) == ("1A", "10")


def test_the_lists_cannot_be_changed_by_their_users():
    with pytest.raises(TypeError):
        census_codes.GENDER["7"] = "Other"  # type: ignore[index]


@pytest.mark.parametrize(
    ("codes", "problem"),
    [
        (["MOB", "HEAR"], None),
        (["NONE"], None),
        ([], None),
        (["MOB", "MOB"], "once"),
        (["NONE", "MOB"], "alone"),
        (["deaf"], "Allowed: NONE (No disability), MOB (Mobility)"),
    ],
)
def test_disabilities_are_codes_none_twice_and_none_alone(codes, problem):
    found = census_codes.disabilities_errors(codes)
    assert (found is None) if problem is None else (problem in found)
