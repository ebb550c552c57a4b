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
# A birth recorded more than 24 weeks before the expected date would be before 16 weeks' gestation (the expected
# date is at 40 weeks): far earlier than any baby survives (about 22 weeks), with room for an expected date that
# was itself wrong by some weeks. Earlier than that, the date typed is wrong, or the record is another child's.
EARLIEST_BIRTH_BEFORE_EXPECTED = timedelta(weeks=24)


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


def is_unborn(child: dict[str, Any]) -> bool:
    """A child recorded by expected date of birth, whose birth is not yet recorded."""
    return child.get("expected_date_of_birth") is not None and child.get("date_of_birth") is None


def pre_birth(child: dict[str, Any]) -> dict[str, Any]:
    """What a conference about the child, and the events about it, carry
    when the child is unborn: ``pre_birth`` and the expected date of birth
    (a timescale may count back from it). Empty for a child born."""
    if not is_unborn(child):
        return {}
    return {"pre_birth": True, "expected_date_of_birth": child["expected_date_of_birth"]}


def birth_errors(child: dict[str, Any], born_on: date, today: date) -> dict[str, list[str]]:
    """A date of birth recorded for an unborn child: not in the future, and
    not implausibly long before the expected date."""
    if born_on > today:
        return {"date_of_birth": ["Must not be in the future."]}
    expected = date.fromisoformat(child["expected_date_of_birth"])
    if born_on < expected - EARLIEST_BIRTH_BEFORE_EXPECTED:
        earliest = expected - EARLIEST_BIRTH_BEFORE_EXPECTED
        return {
            "date_of_birth": [
                f"Must not be more than 24 weeks before the expected date of birth ({expected.isoformat()}): "
                f"{earliest.isoformat()} or later."
            ]
        }
    return {}


def date_of_birth_errors(record: dict[str, Any]) -> dict[str, list[str]]:
    """A child has a date of birth or, unborn, an expected one: exactly one,
    except that a child whose birth was recorded (``born_on_record``) keeps
    the expected date beside the real one."""
    born, expected = record.get("date_of_birth") is not None, record.get("expected_date_of_birth") is not None
    if record.get("born_on_record"):
        if born:
            return {}
        return {"date_of_birth": ["The child's birth is recorded: the date of birth can be corrected, not removed."]}
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
