"""How a conference is governed: chaired by someone independent of the case,
quorate by the agencies that attended, and recording each agency's view (any
dissent in full), a parent's exclusion from part of it, and the child's
participation.

Plain Python over plain documents, as the lifecycle: the deployment's quorum
(``cpp_conference_quorum``) is passed in, never looked up here.
"""

from __future__ import annotations

from typing import Any

from .lifecycle import InvalidStep

#: The ways a child takes part in their conference.
PARTICIPATION = ("attended", "views_shared", "advocate", "not_participating")
#: The optional outcome fields that record how the conference was run, stored with its outcome and in its event.
RECORDED = ("agency_views", "exclusions", "child_participation")
INQUORATE_ROUTE = "POST /v1/conferences/{id}/inquorate-meetings"


class NotIndependent(Exception):
    """The person recording the outcome manages the case (an HTTP 403): a conference is chaired independently."""


def _words(role: str) -> str:
    return role.replace("_", " ")


def check_independent(case: dict, user: str) -> None:
    """Refuse an outcome recorded by the case's team manager or social worker, whatever roles they hold."""
    managing = [
        (role, case[role]) for role in ("team_manager", "social_worker") if (case.get(role) or {}).get("user") == user
    ]
    if not managing:
        return
    role, person = managing[0]
    managers = ", ".join(
        f"{(case[r] or {}).get('name') or (case[r] or {}).get('user')} ({_words(r)})"
        for r in ("team_manager", "social_worker")
        if case.get(r)
    )
    raise NotIndependent(
        f"the conference is chaired independently of the case: {person.get('name') or user} is the case's "
        f"{_words(role)}, and the case is managed by {managers}; a chair who does not manage the case records "
        "its outcome"
    )


def agencies_of(attendees: list[dict]) -> list[str]:
    """The distinct agencies the attendees come from, as first written (compared without case or outer spaces)."""
    seen: dict[str, str] = {}
    for person in attendees:
        agency = (person.get("agency") or "").strip()
        if agency:
            seen.setdefault(agency.casefold(), agency)
    return list(seen.values())


def quorum_of(attendees: list[dict], rule: dict[str, Any] | None) -> dict[str, Any] | None:
    """The conference's quorum as recorded: how many agencies attended, how many the deployment needs and its
    source; None when the deployment has no quorum rule. A 422 on ``attendees`` when it is not quorate."""
    if rule is None:
        return None
    agencies = agencies_of(attendees)
    present = {a.casefold() for a in agencies}
    missing = [a for a in rule.get("required_agencies") or [] if a.strip().casefold() not in present]
    needed = rule["min_agencies"]
    if len(agencies) < needed or missing:
        attended = f"{len(agencies)} {'agency' if len(agencies) == 1 else 'agencies'} attended"
        if agencies:
            attended += f" ({', '.join(agencies)})"
        why = f"{attended}; this deployment needs at least {needed} ({rule['source']})"
        if missing:
            why += f", including {', '.join(missing)}, which did not attend"
        raise InvalidStep(
            {
                "attendees": [
                    f"{why}. The conference was not quorate: record the meeting as not quorate instead "
                    f"({INQUORATE_ROUTE}), with the day it is reconvened"
                ]
            },
            message="the conference was not quorate",
        )
    return {"agencies": len(agencies), "min_agencies": needed, "quorate": True, "source": rule["source"]}


def check_recorded(governance: dict[str, Any]) -> None:
    """The rules the fields' shapes cannot say: an advocate is named when the child took part through one (a
    child who attended or whose views were shared may have had one too); each agency gives one view."""
    participation = governance.get("child_participation")
    if participation is not None and participation["how"] == "advocate" and not participation.get("advocate"):
        raise InvalidStep(
            {"child_participation": {"advocate": ["name the advocate who represented the child's views"]}}
        )
    _one_view_each(governance.get("agency_views") or [])


def _one_view_each(views: list[dict]) -> None:
    seen: set[str] = set()
    for i, view in enumerate(views):
        key = view["agency"].strip().casefold()
        if key in seen:
            raise InvalidStep(
                {"agency_views": {i: {"agency": ["each agency gives one view: this one is given twice"]}}}
            )
        seen.add(key)


def recorded(governance: dict[str, Any], attendees: list[dict], quorum: dict[str, Any] | None) -> dict[str, Any]:
    """What the conference's outcome and its event carry of how it was run: the attendees and quorum, and each
    optional field given."""
    kept: dict[str, Any] = {k: governance[k] for k in RECORDED if governance.get(k) is not None}
    if attendees:
        kept["attendees"] = attendees
    if quorum is not None:
        kept["quorum"] = quorum
    return kept
