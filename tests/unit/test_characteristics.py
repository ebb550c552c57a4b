"""Reading free-text gender, ethnicity and disability as the census's codes (characteristics.py): certain
readings only, and never a code outside the census's lists."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cpp_plans import characteristics as ch
from cpp_shared import census_codes

# Text near the lists' own words, so that the readings are reached, besides any text at all.
WORDS = st.sampled_from(
    [label for codes in (census_codes.GENDER, census_codes.ETHNICITY, census_codes.DISABILITY)
     for label in (*codes, *codes.values())]
    + list(ch.GENDER_SPELLINGS) + list(ch.ETHNICITY_SPELLINGS) + list(ch.DISABILITY_SPELLINGS)
    + ["none", "and", ",", ";", "/", "-", ":", "&", " "]
)  # fmt: skip
TEXT = st.one_of(st.text(max_size=60), st.lists(WORDS, max_size=5).map(" ".join))


@given(TEXT)
def test_a_reading_is_always_a_code_of_the_census(text):
    assert ch.gender_code(text) in (None, *census_codes.GENDER)
    assert ch.ethnicity_code(text) in (None, *census_codes.ETHNICITY)
    codes = ch.disability_codes(text)
    if codes is not None:
        assert codes and census_codes.disabilities_errors(codes) is None  # known, once each, NONE alone


@given(st.sampled_from(list(census_codes.ETHNICITY)), st.sampled_from(["", " ", "  "]), st.booleans())
def test_each_label_and_code_reads_as_its_code_whatever_the_case_and_spaces(code, pad, upper):
    label = census_codes.ETHNICITY[code]
    for text in (label, code):
        text = f"{pad}{text.upper() if upper else text.lower()}{pad}"
        assert ch.ethnicity_code(text) == code


@pytest.mark.parametrize(
    ("text", "code"),
    [("male", "1"), ("M", "1"), ("boy", "1"), ("Female", "2"), ("f", "2"), ("GIRL", "2"), ("not known", "0"),
     ("1", "1"), ("they", None), ("non-binary", None), ("", None)],
)  # fmt: skip
def test_gender(text, code):
    assert ch.gender_code(text) == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("White British", "WBRI"),
        ("white: british", "WBRI"),
        ("Mixed - White & Black Caribbean", "MWBC"),
        ("Asian or Asian British: Pakistani", "APKN"),
        ("Black Caribbean", "BCRB"),
        ("Gypsy/Roma", "WROM"),
        ("White Other", "WOTH"),
        ("Chinese", "CHNE"),
        ("White Polish", None),  # which code? a person decides
        ("Mixed", None),
        ("Black British", None),
        ("Not stated", None),  # refused, or not asked? not certain
        ("Other", None),
    ],
)
def test_ethnicity(text, code):
    assert ch.ethnicity_code(text) == code


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("None", ["NONE"]),
        ("no", ["NONE"]),
        ("None known.", ["NONE"]),
        ("Autism", ["AUT"]),
        ("Hearing; Vision and mobility", ["HEAR", "VIS", "MOB"]),
        ("hearing, hearing", ["HEAR"]),
        ("None, hearing", None),
        ("Hearing impairment in the left ear.", None),
        ("Other", None),  # DDA would hide what the text says
        ("", None),
    ],
)
def test_disabilities(text, codes):
    assert ch.disability_codes(text) == codes


def test_a_record_is_read_field_by_field_and_what_is_coded_stays():
    assert ch.coded({"gender": "2", "ethnicity": "WBRI", "disabilities": ["MOB"]}) == ({}, {})
    assert ch.coded({"gender": "girl", "ethnicity": "Welsh", "disability": "no"}) == (
        {"gender": "2", "disabilities": ["NONE"]},
        {"ethnicity": "Welsh"},
    )
