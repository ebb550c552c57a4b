"""The checks made before the census is sent, each reported for a child with how to fix it.

They are the Department for Education's own checks on the modules the
platform fills (dates in order, a plan's end after its start, a review
within its plan, the initial conference's target 15 working days after the
strategy discussion) and what the census needs that the records lack. An
``error`` must be fixed before the return is sent; a ``warning`` is sent as
it is but should be looked at (a child whose ethnicity is not yet obtained
goes as NOBT).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

import holidays

from .census import (
    AMBIGUOUS_SOURCES,
    Deployment,
    Year,
    category_code,
    day,
    in_year,
    plans_in,
    referral_source,
    section47s,
)

ERROR, WARNING = "error", "warning"
TARGET_WORKING_DAYS = 15


@dataclass(frozen=True)
class Problem:
    severity: str  # error or warning
    element: str  # the census element (its XML name)
    message: str
    fix: str
    child_id: str | None = None
    case_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def working_days_after(start: date, days: int, calendar: holidays.HolidayBase) -> date:
    """The day ``days`` working days after ``start``: weekends and the calendar's holidays not counted."""
    current, left = start, days
    while left:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in calendar:
            left -= 1
    return current


def _child_problems(child: dict[str, Any], episodes: list[dict], year: Year, d: Deployment, cal) -> list[Problem]:
    cid = child["child_id"]
    who = child["child"]
    out: list[Problem] = []

    def add(severity: str, element: str, message: str, fix: str, case_id: str | None = None) -> None:
        out.append(Problem(severity, element, message, fix, cid, case_id))

    if not (who.get("date_of_birth") or who.get("named_date_of_birth") or who.get("expected_date_of_birth")):
        add(ERROR, "PersonBirthDate", "no date of birth or expected date of birth", "record it on the child's record")
    if not who.get("gender"):
        add(WARNING, "GenderCurrent", "gender not recorded: sent as 0 (not recorded)", "record the child's gender")
    if not who.get("ethnicity"):
        add(
            WARNING,
            "Ethnicity",
            "ethnicity not recorded: sent as NOBT (information not yet obtained)",
            "record the child's ethnicity, or REFU where the family refused to give it",
        )
    for episode in episodes:
        case = episode["case"]
        kid = case["case_id"]
        referral = case.get("referral") or {}
        start = episode["start"]
        if referral_source(case) is None:
            source = referral.get("source")
            if source in AMBIGUOUS_SOURCES:
                add(
                    ERROR,
                    "ReferralSource",
                    f"the referral's source, {source}, is more than one census code ({AMBIGUOUS_SOURCES[source]}): "
                    "sent as 10 (unknown)",
                    "record the referral's census source code on the referral",
                    kid,
                )
            else:
                add(ERROR, "ReferralSource", "no referral recorded: sent as 10 (unknown)", "record the referral", kid)
        for assessment in case["assessments"].values():
            begun, done = day(assessment["started_on"]), day(assessment.get("completed_on"))
            if begun and begun < start:
                add(
                    ERROR,
                    "AssessmentActualStartDate",
                    f"the assessment began ({begun}) before the referral ({start})",
                    "correct the referral's or the assessment's date",
                    kid,
                )
            if begun and done and done < begun:
                add(
                    ERROR,
                    "AssessmentAuthorisationDate",
                    f"the assessment was authorised ({done}) before it began ({begun})",
                    "correct the assessment's dates",
                    kid,
                )
        for s47 in section47s(case, year):
            if s47["start"] < start:
                add(
                    ERROR,
                    "S47ActualStartDate",
                    f"the section 47 enquiry began ({s47['start']}) before the referral ({start})",
                    "correct the strategy discussion's or the referral's date",
                    kid,
                )
            expected = working_days_after(s47["start"], TARGET_WORKING_DAYS, cal)
            if s47["target"] is None:
                add(
                    WARNING,
                    "InitialCPCtarget",
                    "no initial conference target",
                    "check the scheduler has the strategy discussion's deadline",
                    kid,
                )
            elif s47["target"] != expected:
                add(
                    WARNING,
                    "InitialCPCtarget",
                    f"the target is {s47['target']}; 15 working days after the strategy discussion is {expected} "
                    "(the deployment's own timescale or closure days differ from the census's)",
                    "nothing, if the council's timescale is meant; the census compares the dates",
                    kid,
                )
            if s47["held"] and s47["held"] < s47["start"]:
                add(
                    ERROR,
                    "DateOfInitialCPC",
                    f"the initial conference ({s47['held']}) is before the enquiry began ({s47['start']})",
                    "correct the conference's or the strategy discussion's date",
                    kid,
                )
        for plan in plans_in(case, year):
            pid = plan["plan_id"]
            if plan["start"] < start:
                add(
                    ERROR,
                    "CPPstartDate",
                    f"plan {pid} began ({plan['start']}) before the referral ({start})",
                    "correct the referral's date",
                    kid,
                )
            if plan["end"] and plan["end"] < plan["start"]:
                add(
                    ERROR,
                    "CPPendDate",
                    f"plan {pid} ended ({plan['end']}) before it began ({plan['start']})",
                    "correct the plan's end",
                    kid,
                )
            for element, cats in (
                ("InitialCategoryOfAbuse", plan["initial_categories"]),
                ("LatestCategoryOfAbuse", plan["categories"]),
            ):
                if category_code(cats, d.category_codes) is None:
                    add(
                        ERROR,
                        element,
                        f"plan {pid}'s category ({', '.join(cats) or 'none'}) has no census code",
                        "record the plan under a category the census codes",
                        kid,
                    )
            for reviewed in plan["reviews"]:
                if reviewed < plan["start"] or (plan["end"] and reviewed > plan["end"]):
                    add(
                        ERROR,
                        "CPPreviewDate",
                        f"a review of plan {pid} ({reviewed}) is outside the plan",
                        "correct the review conference's date",
                        kid,
                    )
            if int(plan.get("previous_plans") or 0) == 0:
                add(
                    WARNING,
                    "NumberOfPreviousCPP",
                    f"plan {pid} is the child's first: sent as 0 previous plans, as the DfE's validation rule 8730 "
                    "asks (a number greater than or equal to zero); the DfE's published schema (CIN_schema_2024.xsd) "
                    "types the element as a positive integer and refuses 0",
                    "nothing in the record is wrong: if the collection's schema check refuses the 0, raise the "
                    "schema's contradiction of rule 8730 with the DfE",
                    kid,
                )
        later = [e for e in episodes if e["start"] > start]
        if episode["closure"] is None and later:
            add(
                ERROR,
                "CINclosureDate",
                f"the episode is still open, though a later referral ({later[0]['start']}) began another",
                "close the earlier case with its reason",
                kid,
            )
        if episode["closure"] and episode["closure"][0] < start:
            add(
                ERROR,
                "CINclosureDate",
                f"the episode closed ({episode['closure'][0]}) before its referral ({start})",
                "correct the dates",
                kid,
            )
    return out


def check_counted(children: Iterable[dict[str, Any]], year: Year, deployment: Deployment) -> tuple[list[Problem], int]:
    """Every problem with the year's return (the deployment's first, then each child's in the order given),
    and how many children the return holds; one pass over ``children``."""
    out: list[Problem] = []
    if not deployment.la_number:
        out.append(
            Problem(
                ERROR,
                "LEA",
                "the deployment has no DfE local authority number",
                "give it in the council's plugin (cpp_authority: la_number, three digits)",
            )
        )
    cal = holidays.country_holidays("GB", subdiv="ENG", years=range(year.year - 2, year.year + 2))
    counted = 0
    for child, episodes in in_year(children, year):
        counted += 1
        out.extend(_child_problems(child, episodes, year, deployment, cal))
    if not counted:
        out.append(
            Problem(
                WARNING,
                "Child",
                "no child had an episode open in the year: the return has no children, which the DfE's schema "
                "does not accept (it needs at least one Child)",
                "nothing to send for this year",
            )
        )
    return out, counted


def check(children: Iterable[dict[str, Any]], year: Year, deployment: Deployment) -> list[Problem]:
    """Every problem with the year's return (``check_counted``)."""
    return check_counted(children, year, deployment)[0]
