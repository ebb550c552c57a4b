"""Identifiers of a child: NHS number, CHI number, and a registry of schemes.

Plain Python (no Flask, no marshmallow), so the API, the workers and plugins
can all use it. A validator takes what a person typed and returns the value
in its one stored form, or raises ``ValueError`` with a message a person can
act on.

* ``nhs_number`` (England, Wales, Isle of Man; Northern Ireland's H&C number
  uses the same check): 10 digits, the last a Modulus 11 check digit.
* ``chi_number`` (Scotland's Community Health Index): 10 digits, the first six
  the date of birth as DDMMYY, the last a Modulus 11 check digit computed the
  same way.

The Modulus 11 check: multiply the first nine digits by 10, 9, ..., 2 and add
them up; the check digit is 11 minus the remainder of that sum divided by 11,
with 11 becoming 0; a result of 10 means no valid number has those nine
digits. Because 11 is prime and every weight (10..2, and 1 for the check digit
itself) is non-zero modulo 11, changing any single digit always makes the
number invalid; so does swapping two adjacent different digits.

Other code (a jurisdiction's plugin) adds schemes with ``register_scheme``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

Validator = Callable[[str], str]

WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)
MAX_INPUT_LENGTH = 50  # anything longer is not an identifier a person typed

# [0-9], not \d: \d also matches other scripts' digits ("٣", "३").
_NHS_FORMAT = re.compile(r"([0-9]{3})([ -]?)([0-9]{3})\2([0-9]{4})")
_CHI_FORMAT = re.compile(r"([0-9]{6})[ -]?([0-9]{4})")


def mod11_check_digit(first_nine: str) -> int | None:
    """The Modulus 11 check digit of nine digits, or None when there is none
    (the computation gives 10, so no number starts with these digits)."""
    if len(first_nine) != 9 or not all("0" <= c <= "9" for c in first_nine):
        raise ValueError("the check digit is computed over exactly nine digits")
    total = sum(int(c) * w for c, w in zip(first_nine, WEIGHTS))
    check = 11 - total % 11
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"the {what} must be text")
    if len(value) > MAX_INPUT_LENGTH:
        raise ValueError(f"the {what} is too long to be one")
    return value.strip()


def _check_mod11(digits: str, what: str) -> None:
    expected = mod11_check_digit(digits[:9])
    if expected is None or expected != int(digits[9]):
        raise ValueError(f"{digits} is not a valid {what}: its check digit does not match (mistyped digit?)")


def nhs_number(value: object) -> str:
    """Validate an NHS number; return its 10 digits without spaces.

    Accepts ``9434765919``, ``943 476 5919`` and ``943-476-5919`` (the usual
    3-3-4 grouping, one kind of separator)."""
    text = _text(value, "NHS number")
    match = _NHS_FORMAT.fullmatch(text)
    if not match:
        raise ValueError("an NHS number is 10 digits, written as 9434765919, 943 476 5919 or 943-476-5919")
    digits = match.group(1) + match.group(3) + match.group(4)
    _check_mod11(digits, "NHS number")
    return digits


def _valid_ddmmyy(ddmmyy: str) -> bool:
    day, month, yy = int(ddmmyy[:2]), int(ddmmyy[2:4]), int(ddmmyy[4:])
    for century in (1900, 2000):  # DDMMYY does not say which; 29 Feb 00 is valid (2000)
        try:
            date(century + yy, month, day)
            return True
        except ValueError:
            continue
    return False


def chi_number(value: object) -> str:
    """Validate a Scottish CHI number; return its 10 digits.

    Accepts ``DDMMYYNNNN`` and ``DDMMYY NNNN`` (or with a hyphen)."""
    text = _text(value, "CHI number")
    match = _CHI_FORMAT.fullmatch(text)
    if not match:
        raise ValueError("a CHI number is 10 digits: the date of birth as DDMMYY, then four digits")
    digits = match.group(1) + match.group(2)
    if not _valid_ddmmyy(digits[:6]):
        raise ValueError(f"{digits} is not a valid CHI number: its first six digits are not a date (DDMMYY)")
    _check_mod11(digits, "CHI number")
    return digits


class IdentifierRegistry:
    """Schemes by name, each with the validator that normalises its values."""

    def __init__(self) -> None:
        self._schemes: dict[str, Validator] = {}

    def register(self, scheme: str, validator: Validator, *, replace: bool = False) -> None:
        if not isinstance(scheme, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,49}", scheme):
            raise ValueError(f"a scheme name is lower-case letters, digits and _ (at most 50): {scheme!r}")
        if not callable(validator):
            raise TypeError("the validator must be callable")
        if scheme in self._schemes and not replace:
            raise ValueError(f"the identifier scheme {scheme!r} is already registered (pass replace=True to override)")
        self._schemes[scheme] = validator

    def copy(self) -> IdentifierRegistry:
        other = IdentifierRegistry()
        other._schemes = dict(self._schemes)
        return other

    def unregister(self, scheme: str) -> None:
        self._schemes.pop(scheme, None)

    def schemes(self) -> list[str]:
        return sorted(self._schemes)

    def __contains__(self, scheme: object) -> bool:
        return scheme in self._schemes

    def validate(self, scheme: str, value: object) -> str:
        validator = self._schemes.get(scheme)
        if validator is None:
            raise ValueError(f"unknown identifier scheme {scheme!r}; known schemes: {', '.join(self.schemes())}")
        normalised = validator(value)  # type: ignore[arg-type]
        if not isinstance(normalised, str) or not normalised:
            raise ValueError(f"the {scheme} validator returned no value")
        return normalised


REGISTRY = IdentifierRegistry()
REGISTRY.register("nhs_number", nhs_number)
REGISTRY.register("chi_number", chi_number)


def register_scheme(scheme: str, validator: Validator, *, replace: bool = False) -> None:
    """Add an identifier scheme (for plugins): ``validator(value)`` returns
    the normalised value or raises ``ValueError``."""
    REGISTRY.register(scheme, validator, replace=replace)


def schemes() -> list[str]:
    return REGISTRY.schemes()


def validate_identifier(scheme: str, value: object) -> str:
    """The normalised value of an identifier, or ``ValueError``."""
    return REGISTRY.validate(scheme, value)
