"""The Unique Pupil Number (UPN): the Department for Education's number for a
child in an English state school, which the Children in Need census carries.

Thirteen characters: a check letter, then 12 digits (a permanent UPN), or 11
digits and a letter (a temporary UPN). The check letter is the one the UK
Government Data Standards Catalogue gives (Unique Pupil Number, version 2.0,
DfE, agreed 18 November 2004; the rule the school census's error 1510
checks): multiply each of characters 2 to 13 by its position (2 to 13), a
temporary UPN's final letter counting as its value in the table below, add
them up and take the remainder modulo 23; that remainder, 0 to 22, is the
letter A to Z without I, O and S (A=0, ..., H=7, J=8, ..., N=12, P=13, Q=14,
R=15, T=16, ..., Z=22). I, O and S are never a check letter nor a temporary
UPN's final letter. For example B801200005001 is valid (8x2 + 1x4 + 2x5 + 5x10 + 1x13
= 93 = 4x23 + 1: B).

The census schema (``upntype`` in ``CIN_schema_2024.xsd``) checks the shape
only; a mistyped digit is caught here by the check letter.
"""

from __future__ import annotations

import re

LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"  # 23: the alphabet without I, O and S, valued 0 to 22
_SHAPE = re.compile(r"[A-Z][0-9]{11}[0-9A-Z]")


def check_letter(last_twelve: str) -> str:
    """The check letter of a UPN's characters 2 to 13."""
    if len(last_twelve) != 12 or not last_twelve[:11].isascii() or not last_twelve[:11].isdigit():
        raise ValueError("the check letter is computed over 11 digits and a digit or letter")
    values = [int(c) for c in last_twelve[:11]]
    last = last_twelve[11]
    if last.isascii() and last.isdigit():
        values.append(int(last))
    elif last in LETTERS:
        values.append(LETTERS.index(last))
    else:
        raise ValueError(f"{last!r} is not a UPN's final character")
    return LETTERS[sum(v * position for v, position in zip(values, range(2, 14))) % 23]


def upn(value: object) -> str:
    """Validate a UPN; return it upper case, without spaces."""
    if not isinstance(value, str):
        raise ValueError("the UPN must be text")
    text = re.sub(r"\s+", "", value).upper()
    if len(text) > 13 or not _SHAPE.fullmatch(text):
        raise ValueError(
            "a UPN is 13 characters: a letter and 12 digits (for example B801200005001), "
            "or, a temporary UPN, a letter, 11 digits and a letter"
        )
    if text[12] in "IOS":
        raise ValueError(f"{text} is not a valid UPN: a temporary UPN never ends in I, O or S")
    if check_letter(text[1:]) != text[0]:
        raise ValueError(f"{text} is not a valid UPN: its check letter does not match (mistyped character?)")
    return text
