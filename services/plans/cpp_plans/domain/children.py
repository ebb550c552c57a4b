"""The rules of a child's record, in plain Python: exactly one date of
birth (or, for an unborn child, an expected one), neither implausible, one
identifier per scheme, and the keys a child is found by.

The API's schemas (api/children.py) call these rules field by field, so a
422 names the field at fault; the service layer checks the record as a
whole once a change is merged into it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

EXPECTED_BIRTH_WINDOW = timedelta(days=366)  # an expected date of birth further from today is a typing error


def born_in_future(value: date, today: date) -> str | None:
    if value > today:
        return "Must not be in the future (for an unborn child give expected_date_of_birth instead)."
    return None


def implausible_expected_birth(value: date, today: date) -> str | None:
    if not today - EXPECTED_BIRTH_WINDOW <= value <= today + EXPECTED_BIRTH_WINDOW:
        return "Must be within a year of today."
    return None


def repeated_scheme(items: Iterable[dict[str, Any]]) -> str | None:
    """At most one identifier per scheme."""
    seen: set[str] = set()
    for item in items:
        if item["scheme"] in seen:
            return f"At most one identifier per scheme; {item['scheme']} appears more than once."
        seen.add(item["scheme"])
    return None


def date_of_birth_errors(record: dict[str, Any]) -> dict[str, list[str]]:
    """A child has a date of birth or, unborn, an expected one: exactly one."""
    born, expected = record.get("date_of_birth") is not None, record.get("expected_date_of_birth") is not None
    if born and expected:
        message = "Give date_of_birth or, for an unborn child, expected_date_of_birth: not both."
    elif not born and not expected:
        message = "Give date_of_birth or, for an unborn child, expected_date_of_birth."
    else:
        return {}
    return {"date_of_birth": [message], "expected_date_of_birth": [message]}


def name_key(name: str) -> str:
    """A family name as searched: compatibility-normalised, single-spaced, case-folded."""
    return " ".join(unicodedata.normalize("NFKC", name).split()).casefold()


def nhs_key(authority: str, nhs_number: str) -> str:
    """One child per NHS number in an authority."""
    return f"{authority}:{nhs_number}"


def with_keys(doc: dict[str, Any], authority: str) -> dict[str, Any]:
    """The record without its null fields, with the keys it is found by,
    recomputed from the record."""
    doc = {k: v for k, v in doc.items() if v is not None and k not in ("nhs_key", "family_name_key")}
    doc["family_name_key"] = name_key(doc["family_name"])
    nhs = next((i["value"] for i in doc.get("identifiers", []) if i["scheme"] == "nhs_number"), None)
    if nhs is not None:
        doc["nhs_key"] = nhs_key(authority, nhs)
    return doc
