"""England's Children in Need census from the children's histories.

The Department for Education collects it each year for the twelve months
to 31 March (the collection year 2026 covers 1 April 2025 to 31 March
2026). Its shape is the DfE's published schema, ``CIN_schema_2024.xsd``:
each child's identifiers and characteristics, then one ``CINdetails`` per
episode of need (here: a case) open at any time in the year, with its
referral, assessments, child in need plans, section 47 enquiries and child
protection plans with their reviews.

What the records hold is written as recorded. What the census needs but
the records cannot give a code for is never guessed: the census's own code
for "not known" goes in (gender 0, ethnicity NOBT, referral source 10) and
``quality.check`` reports the child, the element and how to fix it. A
return is the same bytes for the same histories: children by id, episodes
by date, and the header's time is that of the latest event it reflects.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, BinaryIO, Protocol

#: The platform's referral sources as the census codes them, where one code is certain. "health" (a GP, a
#: health visitor, a school nurse, A&E... 3A-3F) and "other_agency" (housing, another council, the
#: courts... 4-7) each cover several codes: a referral recorded with only those is reported, not guessed.
REFERRAL_SOURCE = {
    "family": "1A",
    "self": "1C",
    "school": "2A",
    "police": "6",
    "other": "8",
    "anonymous": "9",
}
UNKNOWN_SOURCE = "10"
AMBIGUOUS_SOURCES = {"health": "3A-3F", "other_agency": "4, 5A-5D or 7"}

#: How an episode closes, as the census codes it (RC1-RC9).
CLOSED_NFA = "RC8"  # case closed after assessment (or the referral), no further action
CLOSED_EARLY_HELP = "RC9"  # closed, referred to early help
PLAN_ENDING_CLOSURE = {
    "review_conference": "RC7",  # services ceased: no longer in need of a plan, and no step-down
    "reached_18": "RC7",
    "left_the_uk": "RC7",
    "died": "RC2",
    "moved_to_another_council": "RC5",
}
NOT_RECORDED_GENDER = "0"
NOT_OBTAINED_ETHNICITY = "NOBT"
MULTIPLE = "MUL"
INITIAL_CONFERENCE = "initial_conference"  # the scheduler's deadline kind: the census's InitialCPCtarget


@dataclass(frozen=True)
class Year:
    """A collection year: the twelve months to 31 March of ``year``."""

    year: int

    @property
    def start(self) -> date:
        return date(self.year - 1, 4, 1)

    @property
    def end(self) -> date:
        return date(self.year, 3, 31)

    @classmethod
    def containing(cls, on: date) -> Year:
        """The collection year ``on`` falls in."""
        return cls(on.year + 1 if on >= date(on.year, 4, 1) else on.year)

    def overlaps(self, begun: date | None, ended: date | None) -> bool:
        """Whether something begun (and perhaps ended) was open at any time in the year."""
        return begun is not None and begun <= self.end and (ended is None or ended >= self.start)


class Span(Protocol):
    """A stretch of days (a collection year, a manager's period)."""

    @property
    def start(self) -> date: ...

    @property
    def end(self) -> date: ...

    def overlaps(self, begun: date | None, ended: date | None) -> bool: ...


@dataclass(frozen=True)
class Deployment:
    """What the census needs of the deployment: its DfE local authority number and category codes."""

    la_number: str | None
    category_codes: Mapping[str, str | None]  # the deployment's category id -> census code (None: none)
    release: str = ""


def day(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _text(parent: ET.Element, tag: str, value: Any) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = str(value)
    return element


def _bool(value: bool) -> str:
    return "true" if value else "false"


# --- what an episode says -------------------------------------------------------------------------------


def episode_start(case: dict[str, Any]) -> date | None:
    """The episode's referral date: the referral's, else the day the case was opened, else its first
    strategy discussion."""
    referral = case.get("referral") or {}
    held = [day(s.get("held_on")) for s in case["strategy_discussions"].values()]
    return day(referral.get("received_on")) or day(case.get("opened_on")) or min(filter(None, held), default=None)


def referral_nfa(case: dict[str, Any]) -> bool:
    return (case.get("referral") or {}).get("decision") in ("no_further_action", "early_help")


def closure(case: dict[str, Any]) -> tuple[date, str] | None:
    """When and why the episode closed, as the census codes it; None while open. A case closed with its
    reason says so; before that, a referral or an assessment that ended in no further action or early help,
    or a plan that ended with nothing after it (the child died, moved away...), closed it."""
    closed = case.get("closed") or {}
    if day(closed.get("on")) and closed.get("reason"):
        return day(closed["on"]), closed["reason"]  # type: ignore[return-value]
    referral = case.get("referral") or {}
    if referral.get("decision") in ("no_further_action", "early_help") and day(referral.get("decided_on")):
        reason = CLOSED_NFA if referral["decision"] == "no_further_action" else CLOSED_EARLY_HELP
        return day(referral["decided_on"]), reason  # type: ignore[return-value]
    for assessment in sorted(case["assessments"].values(), key=lambda a: a["started_on"], reverse=True):
        outcome, completed = assessment.get("outcome"), day(assessment.get("completed_on"))
        if completed and outcome in ("no_further_action", "early_help") and not case["plans"]:
            return completed, CLOSED_NFA if outcome == "no_further_action" else CLOSED_EARLY_HELP
    plans = sorted(case["plans"].values(), key=lambda p: p["created_on"] or "")
    if plans:
        last = plans[-1]
        ended = last.get("ended") or {}
        code = PLAN_ENDING_CLOSURE.get(ended.get("reason") or "review_conference")
        if day(ended.get("on")) and not ended.get("step_down") and code and not case["child_in_need_plans"]:
            return day(ended["on"]), code  # type: ignore[return-value]
    return None


def category_code(categories: list[str], codes: Mapping[str, str | None]) -> str | None:
    """One category's census code, MUL for more than one; None when a category has no code."""
    if len(categories) > 1:
        return MULTIPLE
    if not categories:
        return None
    return codes.get(categories[0])


def referral_source(case: dict[str, Any]) -> str | None:
    referral = case.get("referral") or {}
    return referral.get("source_code") or REFERRAL_SOURCE.get(referral.get("source") or "")


def initial_conference_targets(case: dict[str, Any]) -> list[date]:
    """The initial conference's due days the scheduler set (one per enquiry), earliest first; a deadline
    recalculated (superseded) gives way to the one that replaced it."""
    due = [
        day(d.get("due_on"))
        for d in case["deadlines"].values()
        if d.get("kind") == INITIAL_CONFERENCE and d.get("status") != "superseded"
    ]
    return sorted(filter(None, due))


def initial_conferences(case: dict[str, Any]) -> list[date]:
    held = [
        day(c.get("held_on"))
        for c in case["conferences"].values()
        if c.get("kind") == "initial" and c.get("status") == "held"
    ]
    return sorted(filter(None, held))


def section47s(case: dict[str, Any], year: Span) -> list[dict[str, Any]]:
    """The episode's section 47 enquiries in the year: each strategy discussion that began enquiries, with
    its initial conference's target and date, or that none was needed."""
    started = sorted(
        d for d in (day(s["held_on"]) for s in case["strategy_discussions"].values() if s["initiated_enquiries"]) if d
    )
    targets, conferences = initial_conference_targets(case), initial_conferences(case)
    enquiry = case.get("enquiry") or {}
    out = []
    for i, begun in enumerate(started):
        following = started[i + 1] if i + 1 < len(started) else None
        target = next((t for t in targets if t > begun), None)
        if target is not None:
            targets.remove(target)
        held = next((c for c in conferences if c >= begun and (following is None or c < following)), None)
        not_required = held is None and enquiry.get("conference_required") is False and following is None
        ended = held or (day(enquiry.get("completed_on")) if not_required else None)
        if year.overlaps(begun, ended):
            out.append(
                {
                    "start": begun,
                    "target": target if target and target <= year.end else None,
                    "held": held if held and held <= year.end else None,
                    "not_required": not_required and (ended is None or ended <= year.end),
                }
            )
    return out


def plans_in(case: dict[str, Any], year: Span) -> list[dict[str, Any]]:
    out = []
    for plan in sorted(case["plans"].values(), key=lambda p: (p["created_on"] or "", p["plan_id"])):
        begun, ended = day(plan["created_on"]), day((plan.get("ended") or {}).get("on"))
        if year.overlaps(begun, ended):
            reviews = sorted(
                d
                for d in (
                    day(c.get("held_on"))
                    for c in case["conferences"].values()
                    if c.get("kind") == "review" and c.get("status") == "held" and c.get("plan_id") == plan["plan_id"]
                )
                if d and year.start <= d <= year.end
            )
            out.append(
                {**plan, "start": begun, "end": ended if ended and ended <= year.end else None, "reviews": reviews}
            )
    return out


def episodes_in(child: dict[str, Any], year: Year) -> list[dict[str, Any]]:
    """The child's cases open at any time in the year, by referral date."""
    out = []
    for case in child["cases"].values():
        begun = episode_start(case)
        closed = closure(case)
        if year.overlaps(begun, closed[0] if closed else None):
            out.append({"case": case, "start": begun, "closure": closed if closed and closed[0] <= year.end else None})
    return sorted(out, key=lambda e: (e["start"], e["case"]["case_id"]))


# --- the XML ---------------------------------------------------------------------------------------------


def _child_element(children: ET.Element, child: dict[str, Any], episodes: list[dict], year: Year, d: Deployment):
    who = child["child"]
    element = ET.SubElement(children, "Child")
    ids = ET.SubElement(element, "ChildIdentifiers")
    _text(ids, "LAchildID", child["child_id"])
    if who.get("upn"):
        _text(ids, "UPN", who["upn"])
    born = who.get("date_of_birth") or who.get("named_date_of_birth")
    if born:
        _text(ids, "PersonBirthDate", born)
    elif who.get("expected_date_of_birth"):
        _text(ids, "ExpectedPersonBirthDate", who["expected_date_of_birth"])
    _text(ids, "GenderCurrent", who.get("gender") or NOT_RECORDED_GENDER)
    if who.get("date_of_death"):
        _text(ids, "PersonDeathDate", who["date_of_death"])
    traits = ET.SubElement(element, "ChildCharacteristics")
    _text(traits, "Ethnicity", who.get("ethnicity") or NOT_OBTAINED_ETHNICITY)
    if who.get("disabilities"):
        disabilities = ET.SubElement(traits, "Disabilities")
        for code in who["disabilities"]:
            _text(disabilities, "Disability", code)
    for episode in episodes:
        _episode_element(element, episode, year, d)


def _episode_element(parent: ET.Element, episode: dict[str, Any], year: Year, d: Deployment) -> None:
    case = episode["case"]
    details = ET.SubElement(parent, "CINdetails")
    _text(details, "CINreferralDate", episode["start"].isoformat())
    _text(details, "ReferralSource", referral_source(case) or UNKNOWN_SOURCE)
    needs = [a.get("primary_need") for a in case["assessments"].values() if a.get("primary_need")]
    if needs:
        _text(details, "PrimaryNeedCode", needs[-1])
    if episode["closure"]:
        closed_on, reason = episode["closure"]
        _text(details, "CINclosureDate", closed_on.isoformat())
        _text(details, "ReasonForClosure", reason)
    initial = [c for c in initial_conferences(case) if c <= year.end]
    if initial:
        _text(details, "DateOfInitialCPC", initial[-1].isoformat())
    for assessment in sorted(case["assessments"].values(), key=lambda a: a["started_on"]):
        begun, completed = day(assessment["started_on"]), day(assessment.get("completed_on"))
        if not year.overlaps(begun, completed):
            continue
        element = ET.SubElement(details, "Assessments")
        _text(element, "AssessmentActualStartDate", assessment["started_on"])
        if completed and completed <= year.end:
            _text(element, "AssessmentAuthorisationDate", completed.isoformat())
        if assessment.get("factors"):
            factors = ET.SubElement(element, "FactorsIdentifiedAtAssessment")
            for code in assessment["factors"]:
                _text(factors, "AssessmentFactors", code)
    for cin_plan in sorted(case["child_in_need_plans"].values(), key=lambda p: p["created_on"] or ""):
        begun = day(cin_plan.get("created_on"))
        if begun and begun <= year.end:
            _text(ET.SubElement(details, "CINPlanDates"), "CINPlanStartDate", begun.isoformat())
    for s47 in section47s(case, year):
        element = ET.SubElement(details, "Section47")
        _text(element, "S47ActualStartDate", s47["start"].isoformat())
        if s47["target"]:
            _text(element, "InitialCPCtarget", s47["target"].isoformat())
        if s47["held"]:
            _text(element, "DateOfInitialCPC", s47["held"].isoformat())
        _text(element, "ICPCnotRequired", _bool(s47["not_required"]))
    _text(details, "ReferralNFA", _bool(referral_nfa(case)))
    for plan in plans_in(case, year):
        element = ET.SubElement(details, "ChildProtectionPlans")
        _text(element, "CPPstartDate", plan["start"].isoformat())
        if plan["end"]:
            _text(element, "CPPendDate", plan["end"].isoformat())
        _text(element, "InitialCategoryOfAbuse", category_code(plan["initial_categories"], d.category_codes) or "")
        _text(element, "LatestCategoryOfAbuse", category_code(plan["categories"], d.category_codes) or "")
        _text(element, "NumberOfPreviousCPP", int(plan.get("previous_plans") or 0))
        if plan["reviews"]:
            reviews = ET.SubElement(element, "Reviews")
            for reviewed in plan["reviews"]:
                _text(reviews, "CPPreviewDate", reviewed.isoformat())


def in_year(children: Iterable[dict[str, Any]], year: Year) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """The children with an episode open in the year, each with those episodes, in the order given (the
    store gives them by id)."""
    for child in children:
        episodes = episodes_in(child, year)
        if episodes:
            yield child, episodes


def _header(year: Year, deployment: Deployment, as_of: str | None) -> ET.Element:
    header = ET.Element("Header")
    collection = ET.SubElement(header, "CollectionDetails")
    _text(collection, "Collection", "CIN")
    _text(collection, "Year", year.year)
    _text(collection, "ReferenceDate", year.end.isoformat())
    source = ET.SubElement(header, "Source")
    _text(source, "SourceLevel", "L")
    _text(source, "LEA", deployment.la_number or "")
    _text(source, "SoftwareCode", "cpp")
    if deployment.release:
        _text(source, "Release", deployment.release)
    _text(source, "SerialNo", "001")
    if as_of:
        _text(source, "DateTime", as_of[:19])
    return header


def _written(element: ET.Element, level: int) -> bytes:
    ET.indent(element, space="  ", level=level)
    return b"  " * level + ET.tostring(element, encoding="utf-8", xml_declaration=False) + b"\n"


def write_census(
    out: BinaryIO,
    children: Iterable[dict[str, Any]],
    year: Year,
    deployment: Deployment,
    *,
    as_of: str | None = None,
) -> int:
    """Write the census for ``year`` to ``out`` as the DfE's XML (UTF-8, with its declaration), one child at a
    time, so that memory holds one child's elements however many there are; ``children`` in the order the
    return lists them (by id). ``as_of``: the time of the latest event the histories reflect (the header's
    DateTime; omitted when None). Returns the number of children written."""
    out.write(b"<?xml version='1.0' encoding='UTF-8'?>\n<Message>\n")
    out.write(_written(_header(year, deployment, as_of), 1))
    written = 0
    for child, episodes in in_year(children, year):
        if not written:
            out.write(b"  <Children>\n")
        holder = ET.Element("Children")
        _child_element(holder, child, episodes, year, deployment)
        out.write(_written(holder[0], 2))
        written += 1
    out.write(b"  </Children>\n</Message>\n" if written else b"  <Children />\n</Message>\n")
    return written


def census_xml(
    children: Iterable[dict[str, Any]], year: Year, deployment: Deployment, *, as_of: str | None = None
) -> bytes:
    """The census for ``year`` as bytes (``write_census``)."""
    out = io.BytesIO()
    write_census(out, children, year, deployment, as_of=as_of)
    return out.getvalue()
