"""Scotland's child protection figures from the children's histories, as CSV.

The Scottish Government collects child protection figures from each council
for the year to 31 July (U: the collection's period as its published
statistics describe it; the collection's own specification was not seen):
the children placed on the child protection register (here: a child
protection plan begun), those taken off it (a plan ended) with how long they
were on it, those on it at the year's end, and the areas of concern
recorded. The file has one row per child and registration, so that a
council can sum it as the collection asks and check each row against the
child's record; ``summary`` gives the totals.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from .census import day

COLUMNS = (
    "child_id",
    "date_of_birth",
    "gender",
    "plan_id",
    "registered_on",
    "deregistered_on",
    "days_registered",
    "registered_in_year",
    "deregistered_in_year",
    "on_register_at_year_end",
    "previous_registrations",
    "areas_of_concern",
)


@dataclass(frozen=True)
class ScottishYear:
    """The twelve months to 31 July of ``year``."""

    year: int

    @property
    def start(self) -> date:
        return date(self.year - 1, 8, 1)

    @property
    def end(self) -> date:
        return date(self.year, 7, 31)

    def overlaps(self, begun: date | None, ended: date | None) -> bool:
        return begun is not None and begun <= self.end and (ended is None or ended >= self.start)


def rows(children: Iterable[dict[str, Any]], year: ScottishYear) -> list[dict[str, Any]]:
    out = []
    for child in children:
        who = child["child"]
        for case in child["cases"].values():
            for plan in case["plans"].values():
                begun, ended = day(plan["created_on"]), day((plan.get("ended") or {}).get("on"))
                if not year.overlaps(begun, ended):
                    continue
                assert begun is not None
                off = ended if ended and ended <= year.end else None
                out.append(
                    {
                        "child_id": child["child_id"],
                        "date_of_birth": who.get("date_of_birth") or who.get("named_date_of_birth") or "",
                        "gender": who.get("gender") or "",
                        "plan_id": plan["plan_id"],
                        "registered_on": begun.isoformat(),
                        "deregistered_on": off.isoformat() if off else "",
                        "days_registered": (off - begun).days if off else "",
                        "registered_in_year": "yes" if begun >= year.start else "no",
                        "deregistered_in_year": "yes" if off else "no",
                        "on_register_at_year_end": "no" if off else "yes",
                        "previous_registrations": int(plan.get("previous_plans") or 0),
                        "areas_of_concern": ";".join(sorted(plan.get("categories") or [])),
                    }
                )
    return sorted(out, key=lambda r: (r["registered_on"], r["child_id"], r["plan_id"]))


def as_csv(found: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(found)
    return buffer.getvalue()


def summary(found: list[dict[str, Any]]) -> dict[str, Any]:
    """The totals the collection asks for."""
    concerns = Counter(
        a for r in found if r["registered_in_year"] == "yes" for a in r["areas_of_concern"].split(";") if a
    )
    lengths = [r["days_registered"] for r in found if r["deregistered_in_year"] == "yes"]
    return {
        "registrations": sum(1 for r in found if r["registered_in_year"] == "yes"),
        "deregistrations": len(lengths),
        "on_register_at_year_end": sum(1 for r in found if r["on_register_at_year_end"] == "yes"),
        "re_registrations": sum(1 for r in found if r["registered_in_year"] == "yes" and r["previous_registrations"]),
        "deregistered_after": {
            "under_6_months": sum(1 for d in lengths if d < 183),
            "6_to_12_months": sum(1 for d in lengths if 183 <= d < 365),
            "1_to_2_years": sum(1 for d in lengths if 365 <= d < 730),
            "2_years_or_more": sum(1 for d in lengths if d >= 730),
        },
        "areas_of_concern_at_registration": dict(sorted(concerns.items())),
    }
