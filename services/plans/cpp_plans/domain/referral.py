"""Before the strategy discussion: the referral, its decision and the
assessment of the child and family.

A case may begin with the referral that brought the child to the council
(when it was received, from whom, what it said), then the decision on it
(within a working day in England), then, when the decision leads to one, the
assessment (its start, the factors it identifies, its completion authorised
by a team manager, its outcome). Each step needs the one before; no date is
in the future or before the referral.

A case with a referral goes to a strategy discussion once the referral's
decision was one, or once an assessment has started; a case opened without a
referral (as every case was before) goes straight to it.

A decision that leads to neither (no further action, early help, other)
closes the case, and so does an assessment completed before any strategy
discussion with an outcome other than one: a child in need plan steps the
child down to it, any other outcome closes the case. A closed case is no
longer open: the child's next referral opens a new case.
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from .census import SOURCE_CODES
from .lifecycle import Event, InvalidStep, LifecycleError, Person

#: Where a referral comes from.
SOURCES = ("police", "school", "health", "family", "self", "other_agency", "anonymous", "other")

#: What the council decides on a referral.
DECISIONS = ("no_further_action", "early_help", "assessment", "strategy_discussion", "other")

#: The decisions after which the child and family are assessed (a section 47
#: strategy discussion is part of an assessment too).
ASSESSED_AFTER = ("assessment", "strategy_discussion")

#: The factors an assessment identifies: the child and family assessment's
#: domains (the child's developmental needs, the parents' or carers' capacity,
#: family and environment) and the factors most often recorded under them.
FACTORS = (
    "child_health",
    "child_education",
    "child_emotional_and_behavioural_development",
    "child_identity_and_relationships",
    "parenting_capacity",
    "domestic_abuse",
    "parental_mental_health",
    "parental_substance_misuse",
    "parental_learning_disability",
    "neglect",
    "physical_abuse",
    "emotional_abuse",
    "sexual_abuse",
    "child_sexual_exploitation",
    "child_criminal_exploitation",
    "going_missing",
    "housing",
    "family_finances",
    "wider_family_and_community",
)

#: What an assessment concludes.
OUTCOMES = (
    "no_further_action",
    "early_help",
    "child_in_need_plan",
    "strategy_discussion",
    "other",
)


def _iso(d: date) -> str:
    return d.isoformat()


def _on_or_after_referral(case: dict, field: str, value: date, today: date) -> None:
    """A step's date: not in the future, not before the referral was received."""
    if value > today:
        raise InvalidStep({field: [f"{_iso(value)} is in the future; record it once it has happened"]})
    received = case["referral"]["received_on"]
    if _iso(value) < received:
        raise InvalidStep({field: [f"is before the referral was received on {received}"]})


def _event(case: dict, type_: str, data: dict[str, Any]) -> Event:
    return (type_, case["_id"], {"case_id": case["_id"], "child_id": case["child_id"], **data})


def _one_of(field: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InvalidStep({field: [f"must be one of {', '.join(allowed)}"]})


def check_source_code(source: str, source_code: str | None) -> None:
    """A referral's census source (census.SOURCE_CODES), when given, is one its coarse ``source`` allows."""
    if source_code is None:
        return
    allowed = SOURCE_CODES.get(source, ())
    if source_code not in allowed:
        raise InvalidStep(
            {
                "source_code": [
                    f"{source_code!r} is not a census source of a {source.replace('_', ' ')} referral; "
                    f"it is one of {', '.join(allowed)}"
                ]
            }
        )


def record_referral(
    case: dict,
    *,
    received_on: date,
    source: str,
    summary: str | None,
    today: date,
    recorded_by: str,
    source_code: str | None = None,
) -> tuple[dict, list[Event]]:
    """The referral that brought the child to the council: once per case,
    before its strategy discussion; ``source_code``, the census's code for
    who referred, one that ``source`` allows."""
    if case.get("referral"):
        raise LifecycleError(
            f"the case's referral was recorded already (received on {case['referral']['received_on']})"
        )
    if case["status"] != "enquiries" or case["strategy_discussions"]:
        raise LifecycleError("a referral is recorded before the case's strategy discussion")
    _one_of("source", source, SOURCES)
    check_source_code(source, source_code)
    if received_on > today:
        raise InvalidStep({"received_on": [f"{_iso(received_on)} is in the future; record it once it has happened"]})
    new = copy.deepcopy(case)
    new["referral"] = {
        "received_on": _iso(received_on),
        "source": source,
        "source_code": source_code,
        "summary": summary,
        "recorded_by": recorded_by,
        "decision": None,
    }
    data = {"received_on": _iso(received_on), "source": source, "source_code": source_code}
    return new, [_event(case, "referral.received.v1", data)]


def decide_referral(
    case: dict, *, decided_on: date, decision: str, reason: str, today: date, decided_by: str
) -> tuple[dict, list[Event]]:
    """The decision on the referral: once, after it was received."""
    referral = case.get("referral")
    if not referral:
        raise LifecycleError("record the referral first: a decision is about a referral")
    if referral.get("decision"):
        raise LifecycleError(f"the referral was decided on {referral['decision']['decided_on']}")
    _one_of("decision", decision, DECISIONS)
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidStep({"reason": ["give the reason for the decision"]})
    _on_or_after_referral(case, "decided_on", decided_on, today)
    new = copy.deepcopy(case)
    new["referral"]["decision"] = {
        "decided_on": _iso(decided_on),
        "decision": decision,
        "reason": reason,
        "decided_by": decided_by,
    }
    if decision not in ASSESSED_AFTER:
        _close(new, decided_on, f"referral_{decision}")
    data = {"received_on": referral["received_on"], "decided_on": _iso(decided_on), "decision": decision}
    return new, [_event(case, "referral.decided.v1", data)]


def _close(case: dict, on: date, reason: str) -> None:
    """The case closed before any enquiries: ``closure`` says on which day and why."""
    case["status"] = "closed"
    case["closure"] = {"on": _iso(on), "reason": reason}


def start_assessment(
    case: dict,
    *,
    started_on: date,
    factors: list[str],
    other_factors: str | None,
    today: date,
    started_by: str,
) -> tuple[dict, list[Event]]:
    """The assessment of the child and family, after a decision that leads
    to one: once per case."""
    referral = case.get("referral")
    if not referral or not referral.get("decision"):
        raise LifecycleError("an assessment follows the decision on a referral: record the referral and its decision")
    if referral["decision"]["decision"] not in ASSESSED_AFTER:
        raise LifecycleError(
            f"the referral's decision was {referral['decision']['decision'].replace('_', ' ')}: no assessment follows"
        )
    if case.get("assessment"):
        raise LifecycleError(f"the case's assessment started on {case['assessment']['started_on']}")
    unknown = [f for f in factors if f not in FACTORS]
    if unknown:
        raise InvalidStep({"factors": [f"unknown factor {unknown[0]!r}; the factors: {', '.join(FACTORS)}"]})
    _on_or_after_referral(case, "started_on", started_on, today)
    new = copy.deepcopy(case)
    new["assessment"] = {
        "started_on": _iso(started_on),
        "factors": list(dict.fromkeys(factors)),
        "other_factors": other_factors,
        "started_by": started_by,
        "completion": None,
    }
    data = {"received_on": referral["received_on"], "started_on": _iso(started_on)}
    return new, [_event(case, "assessment.started.v1", data)]


def complete_assessment(
    case: dict,
    *,
    completed_on: date,
    outcome: str,
    summary: str | None,
    authoriser: Person | None,
    authoriser_roles: list[str],
    today: date,
    recorded_by: str,
) -> tuple[dict, list[Event]]:
    """The assessment's completion, authorised by a team manager
    (``authoriser``, with the roles the staff directory gives them), on or
    after its start."""
    assessment = case.get("assessment")
    if not assessment:
        raise LifecycleError("start the assessment first: a completion needs its start")
    if assessment.get("completion"):
        raise LifecycleError(f"the assessment was completed on {assessment['completion']['completed_on']}")
    _one_of("outcome", outcome, OUTCOMES)
    if authoriser is None or "team_manager" not in authoriser_roles:
        raise InvalidStep({"authorised_by": ["an assessment is authorised by a team manager"]})
    _on_or_after_referral(case, "completed_on", completed_on, today)
    if _iso(completed_on) < assessment["started_on"]:
        raise InvalidStep({"completed_on": [f"is before the assessment started on {assessment['started_on']}"]})
    new = copy.deepcopy(case)
    new["assessment"]["completion"] = {
        "completed_on": _iso(completed_on),
        "outcome": outcome,
        "summary": summary,
        "authorised_by": authoriser,
        "recorded_by": recorded_by,
    }
    if outcome != "strategy_discussion" and case["status"] == "enquiries" and not case["strategy_discussions"]:
        if outcome == "child_in_need_plan":
            new["status"] = "child_in_need"
            new["step_down"] = {"route": "child_in_need_plan", "decided_on": _iso(completed_on), "by": "assessment"}
        else:
            _close(new, completed_on, f"assessment_{outcome}")
    data = {
        "received_on": case["referral"]["received_on"],
        "started_on": assessment["started_on"],
        "completed_on": _iso(completed_on),
        "outcome": outcome,
        "authorised_by": authoriser,
    }
    return new, [_event(case, "assessment.completed.v1", data)]


def check_strategy_discussion_may_follow(case: dict) -> None:
    """A case with a referral comes to a strategy discussion once the
    referral's decision was one, or once its assessment started; a case
    without a referral goes to it straight away."""
    referral = case.get("referral")
    if not referral or case.get("assessment"):
        return
    decision = (referral.get("decision") or {}).get("decision")
    if decision != "strategy_discussion":
        raise LifecycleError(
            "the case's referral "
            + ("is not decided yet" if decision is None else f"was decided as {decision.replace('_', ' ')}")
            + ": a strategy discussion follows a decision to hold one, or an assessment"
        )
