"""A child's gender, ethnicity and disabilities recorded as free text before
they were coded, read as the Children in Need census's codes where the
reading is certain (the migration in migrations.py).

A text is compared case- and space-insensitively, ignoring punctuation
(``White - British``, ``white british`` and ``White: British`` are one),
with each list's codes and labels (cpp_shared.census_codes) and a short list
of common spellings. Anything else is not guessed: ``None``, and the text
is kept for a person to code. Disabilities are one text: ``none``, ``no``
and the like mean NONE; a list of labels (``Hearing, Vision``) each of
which reads certainly is those codes; anything else is left.

Beside the domain rather than in it: it reads the census's lists from
cpp_shared, and the domain imports only the standard library.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from cpp_shared import census_codes

GENDER_SPELLINGS = {
    "m": "1",
    "boy": "1",
    "male": "1",
    "man": "1",
    "f": "2",
    "girl": "2",
    "female": "2",
    "woman": "2",
    "unborn": "0",
    "not known": "0",
    "unknown": "0",
    "not recorded": "0",
    "not yet known": "0",
    "indeterminate": "9",
}

# Common writings of the census's groups: "White British", "Mixed: White and Asian", "Asian or Asian British:
# Indian", "Black African", "Any other ethnic group"... are readings of one code each.
_GROUP = {
    "WBRI": ("white",),
    "WIRI": ("white",),
    "WIRT": ("white",),
    "WOTH": (),
    "WROM": ("white",),
    "MWBC": ("mixed", "mixed dual background", "mixed or multiple ethnic groups"),
    "MWBA": ("mixed", "mixed dual background", "mixed or multiple ethnic groups"),
    "MWAS": ("mixed", "mixed dual background", "mixed or multiple ethnic groups"),
    "MOTH": (),
    "AIND": ("asian", "asian or asian british", "asian british"),
    "APKN": ("asian", "asian or asian british", "asian british"),
    "ABAN": ("asian", "asian or asian british", "asian british"),
    "AOTH": (),
    "BCRB": ("black", "black or black british", "black british"),
    "BAFR": ("black", "black or black british", "black british"),
    "BOTH": (),
    "CHNE": ("chinese", "other ethnic group", "chinese or other ethnic group"),
    "OOTH": (),
    "REFU": (),
    "NOBT": (),
}
ETHNICITY_SPELLINGS = {
    "white other": "WOTH",
    "other white": "WOTH",
    "white any other white background": "WOTH",
    "irish": "WIRI",
    "traveller of irish heritage": "WIRT",
    "irish traveller": "WIRT",
    "white irish traveller": "WIRT",
    "gypsy roma": "WROM",
    "roma": "WROM",
    "gypsy": "WROM",
    "mixed other": "MOTH",
    "other mixed": "MOTH",
    "mixed any other mixed background": "MOTH",
    "asian other": "AOTH",
    "other asian": "AOTH",
    "asian any other asian background": "AOTH",
    "black caribbean": "BCRB",
    "black african": "BAFR",
    "black other": "BOTH",
    "other black": "BOTH",
    "black any other black background": "BOTH",
    "other ethnic group": "OOTH",
    "any other ethnic group": "OOTH",
    "other ethnic group any other ethnic group": "OOTH",
    "refused": "REFU",
    "declined": "REFU",
    "information refused": "REFU",
    "information not yet obtained": "NOBT",
    "not yet obtained": "NOBT",
}
NO_DISABILITY_SPELLINGS = ("none", "no", "nil", "no disability", "no disabilities", "none known", "not disabled")
DISABILITY_SPELLINGS = {
    "mobility": "MOB",
    "hand function": "HAND",
    "personal care": "PC",
    "incontinence": "INC",
    "communication": "COMM",
    "learning": "LD",
    "learning disability": "LD",
    "hearing": "HEAR",
    "hearing impairment": "HEAR",
    "deaf": "HEAR",
    "vision": "VIS",
    "visual impairment": "VIS",
    "blind": "VIS",
    "behaviour": "BEH",
    "behavior": "BEH",
    "consciousness": "CON",
    "autism": "AUT",
    "autistic": "AUT",
    "autistic spectrum disorder": "AUT",
    "asd": "AUT",
}


def normalised(text: str) -> str:
    """Compatibility-normalised, case-folded, punctuation read as space, ``&`` as "and", single-spaced."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("&", " and ")
    return " ".join(re.sub(r"[^\w\s]|_", " ", text).split())


def _readings(codes: Mapping[str, str], spellings: Mapping[str, str]) -> dict[str, str]:
    table: dict[str, str] = {}
    for code, label in codes.items():
        table[normalised(code)] = code
        table[normalised(label)] = code
    for spelling, code in spellings.items():
        table[normalised(spelling)] = code
    return table


_GENDER = _readings(census_codes.GENDER, GENDER_SPELLINGS)
_ETHNICITY = _readings(census_codes.ETHNICITY, ETHNICITY_SPELLINGS)
for _code, _groups in _GROUP.items():
    for _group in _groups:
        _ETHNICITY.setdefault(normalised(f"{_group} {census_codes.ETHNICITY[_code]}"), _code)
_DISABILITY = _readings({k: v for k, v in census_codes.DISABILITY.items() if k != "DDA"}, DISABILITY_SPELLINGS)
_NO_DISABILITY = {normalised(s) for s in NO_DISABILITY_SPELLINGS} | {normalised(census_codes.DISABILITY["NONE"])}


def gender_code(text: str) -> str | None:
    """The census's gender code the text certainly means, else None."""
    return _GENDER.get(normalised(text))


def ethnicity_code(text: str) -> str | None:
    """The census's ethnicity code the text certainly means, else None."""
    return _ETHNICITY.get(normalised(text))


def disability_codes(text: str) -> list[str] | None:
    """The census's disability codes the text certainly means (``["NONE"]`` for no disability), else None.
    "Other" (DDA) is never read from text: it would hide what the text says."""
    whole = normalised(text)
    if whole in _NO_DISABILITY:
        return [census_codes.NO_DISABILITY]
    parts = [normalised(p) for p in re.split(r",|;|/|\band\b|\n", text, flags=re.IGNORECASE)]
    parts = [p for p in parts if p]
    codes = [_DISABILITY.get(p) for p in parts]
    if not codes or None in codes or census_codes.NO_DISABILITY in codes:
        return None
    return list(dict.fromkeys(c for c in codes if c is not None))


def coded(child: dict) -> tuple[dict, dict[str, str]]:
    """The record's coded fields read from its free text, and the text that could not be read: ``(codes,
    uncoded)``. A field already coded is kept; the old free-text ``disability`` is read into
    ``disabilities``. Both are empty for a record with nothing to code."""
    codes: dict = {}
    uncoded: dict[str, str] = {}
    for field, read, allowed in (
        ("gender", gender_code, census_codes.GENDER),
        ("ethnicity", ethnicity_code, census_codes.ETHNICITY),
    ):
        value = child.get(field)
        if value is None or value in allowed:
            continue
        code = read(str(value))
        if code is None:
            uncoded[field] = str(value)
        else:
            codes[field] = code
    text = child.get("disability")
    if text is not None:
        found = disability_codes(str(text))
        if found is None:
            uncoded["disabilities"] = str(text)
        else:
            codes["disabilities"] = found
    return codes, uncoded
