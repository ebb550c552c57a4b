"""The Unique Pupil Number and its check letter (cpp_shared.pupil_number), and England's scheme for it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cpp_shared.pupil_number import LETTERS, check_letter, upn

DIGITS = st.text(alphabet="0123456789", min_size=11, max_size=11)
LAST = st.sampled_from("0123456789" + LETTERS)


def reference_check_letter(last_twelve: str) -> str:
    """The Data Standards Catalogue's rule written out again: weights 2..13, a letter by its A=0..Z=22 value
    (no I, O or S), the sum modulo 23 as a letter of the same table."""
    table = {letter: value for value, letter in enumerate("ABCDEFGHJKLMNPQRTUVWXYZ")}
    total = 0
    for weight, char in enumerate(last_twelve, start=2):
        total += weight * (int(char) if char.isdigit() else table[char])
    return {value: letter for letter, value in table.items()}[total % 23]


def test_a_published_example_is_valid_and_normalised():
    assert upn("B801200005001") == "B801200005001"  # python-stdnum's documented example (8x2+1x4+2x5+5x10+1x13=93)
    assert upn(" b8012 0000 5001 ") == "B801200005001"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("A801200005001", "check letter"),
        ("B80120000500", "13 characters"),
        ("B8012000050012", "13 characters"),
        ("B8012000A5001", "13 characters"),
        ("1801200005001", "13 characters"),
        ("B80120000500O", "never ends in I, O or S"),
        ("", "13 characters"),
    ],
)
def test_what_is_not_a_upn_is_refused_with_why(value, says):
    with pytest.raises(ValueError, match=says):
        upn(value)


@given(DIGITS, LAST)
def test_the_check_letter_is_the_catalogues_and_makes_the_number_valid(digits, last):
    letter = check_letter(digits + last)
    assert letter == reference_check_letter(digits + last)
    if last not in "IOS":
        assert upn(letter + digits + last) == letter + digits + last


@given(DIGITS, LAST, st.integers(min_value=0, max_value=10), st.sampled_from("0123456789"))
def test_one_mistyped_digit_is_caught(digits, last, position, typed):
    valid = check_letter(digits + last) + digits + last
    mistyped = valid[: position + 1] + typed + valid[position + 2 :]
    if mistyped != valid:  # weights 2..12 are not multiples of 23, so a changed digit changes the sum mod 23
        with pytest.raises(ValueError):
            upn(mistyped)


def test_england_registers_the_upn_scheme():
    import cpp_england

    (scheme,) = cpp_england.cpp_identifier_schemes()
    assert scheme["id"] == "upn" and scheme["validate"]("B801200005001") == "B801200005001"
