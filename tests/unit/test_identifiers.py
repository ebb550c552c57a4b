"""NHS and CHI numbers and the identifier scheme registry."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from cpp_plans.domain import identifiers
from cpp_plans.domain.identifiers import (
    IdentifierRegistry,
    chi_number,
    mod11_check_digit,
    nhs_number,
    register_scheme,
    schemes,
    validate_identifier,
)

WEIGHTS_WITH_CHECK = (10, 9, 8, 7, 6, 5, 4, 3, 2, 1)


def reference_valid(digits: str) -> bool:
    """The Modulus 11 rule written independently: the weighted sum of all ten
    digits (the check digit weighing 1) is a multiple of 11, and the check
    digit is never 10 (it cannot be: it is one digit)."""
    return (
        len(digits) == 10
        and digits.isascii()
        and digits.isdigit()
        and sum(int(c) * w for c, w in zip(digits, WEIGHTS_WITH_CHECK)) % 11 == 0
    )


nine_digits = st.text(alphabet="0123456789", min_size=9, max_size=9)


def with_check(prefix: str) -> str:
    check = mod11_check_digit(prefix)
    assume(check is not None)
    return prefix + str(check)


valid_nhs = nine_digits.map(with_check)


# --- NHS number: examples ---


@pytest.mark.parametrize("typed", ["9434765919", "943 476 5919", "943-476-5919", " 943 476 5919 "])
def test_the_standard_test_number_in_every_usual_writing(typed):
    assert nhs_number(typed) == "9434765919"


@pytest.mark.parametrize("number", ["9434765870", "4010232137", "4505577104"])
def test_known_valid_numbers(number):
    assert reference_valid(number)
    assert nhs_number(number) == number


def test_only_the_check_digit_is_checked_not_whether_the_number_was_issued():
    # 0000000000 passes Modulus 11 though no one has it; issued ranges are
    # not checked here (they differ between England, Wales and Northern Ireland).
    assert nhs_number("000 000 0000") == "0000000000"


@pytest.mark.parametrize(
    "typed,why",
    [
        ("9434765918", "check digit"),  # last digit wrong
        ("9434765929", "check digit"),  # one digit mistyped
        ("4934765919", "check digit"),  # first two digits swapped
        ("1234567890", "check digit"),  # the check would be 10: no valid number starts 123456789
        ("943476591", "10 digits"),  # too short
        ("94347659190", "10 digits"),  # too long
        ("943 476-5919", "10 digits"),  # mixed separators
        ("94 3476 5919", "10 digits"),  # not the 3-3-4 grouping
        ("943  476 5919", "10 digits"),  # double space
        ("943.476.5919", "10 digits"),
        ("94347659l9", "10 digits"),  # a letter l
        ("٩٤٣٤٧٦٥٩١٩", "10 digits"),  # Arabic-Indic digits are digits to Python, not to the NHS
        ("", "10 digits"),
    ],
)
def test_invalid_numbers_are_refused_with_a_plain_message(typed, why):
    with pytest.raises(ValueError, match=why):
        nhs_number(typed)


@pytest.mark.parametrize("value", [9434765919, None, ["9434765919"], "9" * 1000])
def test_things_that_are_not_short_text_are_refused(value):
    with pytest.raises(ValueError):
        nhs_number(value)


def test_a_prefix_whose_check_would_be_10_has_no_check_digit():
    assert mod11_check_digit("123456789") is None
    assert mod11_check_digit("943476591") == 9
    with pytest.raises(ValueError):
        mod11_check_digit("12345678")


# --- NHS number: properties ---


@given(nine_digits)
def test_the_check_digit_agrees_with_the_reference_rule(prefix):
    check = mod11_check_digit(prefix)
    valid_endings = [d for d in "0123456789" if reference_valid(prefix + d)]
    assert valid_endings == ([] if check is None else [str(check)])


@given(valid_nhs)
def test_every_prefix_with_a_check_digit_round_trips_in_every_writing(number):
    spaced = f"{number[:3]} {number[3:6]} {number[6:]}"
    hyphened = spaced.replace(" ", "-")
    assert nhs_number(number) == nhs_number(spaced) == nhs_number(hyphened) == number
    assert validate_identifier("nhs_number", spaced) == number


def test_a_single_changed_digit_is_always_caught_algebraically():
    # Changing digit i by d (d in -9..9, not 0) changes the weighted sum by
    # w_i * d; 11 is prime and neither factor is a multiple of 11, so the sum
    # stops being a multiple of 11. This is the claim the property below tests.
    assert all((w * d) % 11 != 0 for w in WEIGHTS_WITH_CHECK for d in range(-9, 10) if d)


@given(valid_nhs, st.integers(0, 9), st.integers(1, 9))
def test_changing_any_single_digit_makes_a_valid_number_invalid(number, position, shift):
    changed_digit = str((int(number[position]) + shift) % 10)
    changed = number[:position] + changed_digit + number[position + 1 :]
    assert changed != number
    with pytest.raises(ValueError):
        nhs_number(changed)


@given(valid_nhs, st.integers(0, 8))
def test_swapping_two_different_adjacent_digits_is_caught(number, i):
    assume(number[i] != number[i + 1])
    swapped = number[:i] + number[i + 1] + number[i] + number[i + 2 :]
    with pytest.raises(ValueError):
        nhs_number(swapped)


@given(st.text(max_size=20))
def test_any_text_is_either_refused_with_value_error_or_a_valid_number(text):
    try:
        result = nhs_number(text)
    except ValueError:
        return
    assert reference_valid(result)


# --- CHI number ---


def with_check_digit(prefix: str) -> str:
    check = mod11_check_digit(prefix)
    assert check is not None, prefix
    return prefix + str(check)


def chi(ddmmyy: str, serial: str) -> str:
    return with_check_digit(ddmmyy + serial)


def test_a_valid_chi_number_is_accepted_and_normalised():
    number = chi("010120", "123")
    assert reference_valid(number)
    assert chi_number(number) == number
    assert chi_number(f"{number[:6]} {number[6:]}") == number
    assert chi_number(f"{number[:6]}-{number[6:]}") == number
    assert validate_identifier("chi_number", number) == number


def test_29_february_00_is_a_date_of_birth_2000_was_a_leap_year():
    assert chi_number(chi("290200", "000")) == chi("290200", "000")


@pytest.mark.parametrize("ddmmyy", ["320120", "001220", "011320", "010020", "290201", "310420"])
def test_a_chi_number_must_start_with_a_date(ddmmyy):
    prefix = ddmmyy + "123"
    check = mod11_check_digit(prefix)
    number = prefix + str(0 if check is None else check)
    with pytest.raises(ValueError, match="DDMMYY"):
        chi_number(number)


def test_a_chi_number_with_a_wrong_check_digit_is_refused():
    number = chi("150612", "456")
    wrong = number[:9] + str((int(number[9]) + 1) % 10)
    with pytest.raises(ValueError, match="check digit"):
        chi_number(wrong)


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)), st.text("0123456789", min_size=3, max_size=3)
)
def test_every_date_of_birth_with_a_check_digit_round_trips(born, serial):
    prefix = born.strftime("%d%m%y") + serial
    check = mod11_check_digit(prefix)
    assume(check is not None)
    assert chi_number(prefix + str(check)) == prefix + str(check)


# --- the registry ---


def test_the_built_in_schemes():
    assert {"nhs_number", "chi_number"} <= set(schemes())


def test_an_unknown_scheme_is_a_value_error_naming_the_known_ones():
    with pytest.raises(ValueError, match="unknown identifier scheme 'passport'.*nhs_number"):
        validate_identifier("passport", "X")


def test_a_plugin_can_register_a_scheme(monkeypatch):
    registry = IdentifierRegistry()
    monkeypatch.setattr(identifiers, "REGISTRY", registry)

    def hc_number(value):
        digits = nhs_number(value)
        if not "320000001" <= digits[:9] <= "399999999":
            raise ValueError("an H&C number is in the range 320 000 001 to 399 999 999")
        return digits

    register_scheme("hc_number", hc_number)
    assert schemes() == ["hc_number"]
    first = with_check_digit("320000001")
    assert validate_identifier("hc_number", first) == first
    with pytest.raises(ValueError, match="range"):
        validate_identifier("hc_number", "943 476 5919")
    with pytest.raises(ValueError, match="already registered"):
        register_scheme("hc_number", hc_number)
    register_scheme("hc_number", nhs_number, replace=True)
    assert validate_identifier("hc_number", "943 476 5919") == "9434765919"


@pytest.mark.parametrize("name", ["", "NHS", "nhs number", "1nhs", "x" * 51, None])
def test_scheme_names_are_simple(name):
    with pytest.raises(ValueError):
        IdentifierRegistry().register(name, nhs_number)


def test_a_validator_must_return_a_value():
    registry = IdentifierRegistry()
    registry.register("broken", lambda value: None)
    with pytest.raises(ValueError, match="returned no value"):
        registry.validate("broken", "x")
