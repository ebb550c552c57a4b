"""The timescale rules and their arithmetic in words, for the people who read
them: deadline explanations, ``cpp rules`` and a calendar entry.

Rules are written against the platform's events (``conference.held.v1``
with ``{"kind": "initial"}``); a person reads "an initial conference is
held". An event or a condition this module does not know is still said in
words (its name with spaces), never as an event type or a Python value.

The platform's terms are said in the deployment's words (``terms``, the
merged ``cpp_terminology``): "an initial child protection planning meeting
is held" in Scotland, "a care and support protection plan begins" in Wales.
Where the deployment's word is England's, the rule keeps England's short
form ("an initial conference", "the enquiries"), as a manager there says it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from cpp_shared.contracts.timescales import Closure
from cpp_shared.terminology import DEFAULTS, capital, said

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

# event type -> (what happens, the thing it is about: what a timescale counts from); the places in braces are
# the deployment's words (``Say``): {meeting} the event's conference of its kind, {conference} any conference
EVENTS: dict[str, tuple[str, str]] = {
    "case.closed.v1": ("the case is closed", "the closure of the case"),
    "referral.received.v1": ("a referral is received", "the referral"),
    "referral.decided.v1": ("the referral is decided on", "the referral"),
    "assessment.started.v1": ("an assessment starts", "the start of the assessment"),
    "assessment.completed.v1": ("the assessment is completed", "the end of the assessment"),
    "strategy_discussion.held.v1": ("a strategy discussion is held", "the strategy discussion"),
    "enquiry.completed.v1": ("the {enquiries_are} completed", "the end of the {enquiries}"),
    "conference.scheduled.v1": ("a {meeting} is scheduled", "the {meeting}"),
    "conference.rescheduled.v1": ("a {meeting} is moved", "the {meeting}"),
    "conference.cancelled.v1": ("a {meeting} is cancelled", "the {meeting}"),
    "conference.held.v1": ("a {meeting} is held", "the {meeting}"),
    "conference.invitations_sent.v1": ("the invitations to a {meeting} go out", "the invitations"),
    "conference.inquorate.v1": ("a {meeting} meets without a quorum", "the {meeting} that was not quorate"),
    "conference.record_issued.v1": ("the record of a {meeting} is issued", "the issue of its record"),
    "core_group.held.v1": ("a {core_group} meeting is held", "the {core_group} meeting"),
    "plan.created.v1": ("a {plan} begins", "the start of the {plan}"),
    "plan.ended.v1": ("the {plan} ends", "the end of the {plan}"),
    "resource_panel.requested.v1": ("the {plan} is taken to the resource panel", "the request to the resource panel"),
    "resource_panel.decided.v1": ("the resource panel decides", "the resource panel's decision"),
    "report.drafted.v1": ("the {kind}report is drafted", "the draft report"),
    "report.submitted.v1": ("the {kind}report is passed to the manager", "the report"),
    "report.shared.v1": ("the {kind}report is shared with the family", "the report"),
    "report.sent_to_chair.v1": ("the {kind}report is sent to the {conference} chair", "the report"),
    "child_in_need_plan.created.v1": ("a child in need plan is drawn up", "the child in need plan"),
    "escalation.raised.v1": ("an escalation is raised{route}", "the escalation"),
    "escalation.delivered.v1": ("the escalation is delivered", "the escalation's delivery"),
    "escalation.referral_made.v1": ("the referral is made", "the referral made"),
    "escalation.step_recorded.v1": ("a step of the escalation is recorded", "the step recorded"),
    "visit.recorded.v1": ("a visit to the child is recorded", "the visit"),
    "case_visit.recorded.v1": ("a visit to the child before any plan is recorded", "the visit"),
    "significant_change.recorded.v1": (
        "the {core_group} notices a significant change in the child's circumstances",
        "the day the change was noticed",
    ),
    "significant_change.referred.v1": (
        "the chair is told of the significant change",
        "the chair being told",
    ),
    "visit.child_not_seen_alone.v1": (
        "visits in a row without the child seen alone are flagged",
        "the last of those visits",
    ),
    "child.born.v1": ("the birth of a child recorded as unborn is recorded", "the birth"),
    "transfer.received.v1": (
        "a child on a {plan} moves here from another council",
        "the notification of the permanent move",
    ),
    "transfer.out_started.v1": ("the family's move to another council is recorded", "the notification of the move"),
}

# (field, value) -> a qualifier, after the event's words (with the deployment's words, as EVENTS)
QUALIFIERS: dict[tuple[str, Any], str] = {
    ("initiated_enquiries", True): "that starts {some_enquiries}",
    ("initiated_enquiries", False): "that starts no {enquiries}",
    ("plan_required", True): "that decides the child needs a {plan}",
    ("plan_required", False): "that decides the child needs no {plan}",
    ("decision", ("assessment", "strategy_discussion")): "for an assessment or a strategy discussion",
    ("conference_required", True): "with a {conference} needed",
    ("conference_required", False): "with no {conference} needed",
    ("decision", ("continue", "revise")): "that continues or revises the {plan}",
    ("decision", "continue"): "that continues the {plan}",
    ("decision", "revise"): "that revises the {plan}",
    ("decision", "end"): "that ends the {plan}",
    ("pre_birth", True): "about an unborn child",
    ("pre_birth", (False, None)): "about a child already born",
    ("on_plan", True): "on a {plan}",
    ("decision", "strategy_discussion"): "for a strategy discussion",
    ("child_seen", True): "at which the child was seen",
    # England's pre-proceedings steps (the legal_planning route's, under the Public Law Outline)
    ("route", "legal_planning"): "on the legal planning route",
    ("step", "legal_planning_meeting"): "for the legal planning meeting",
    ("step", "legal_planning_decision"): "for the legal planning meeting's decision",
    ("step", "letter_before_proceedings"): "for the letter before proceedings",
    ("step", "pre_proceedings_meeting"): "for the pre-proceedings meeting",
    ("outcome", "pre_proceedings"): "that decides on pre-proceedings",
}
ROLES = {
    "social_worker": "Social worker (the key worker once there is a plan)",
    "team_manager": "Team manager",
    "chair": "{Conference} chair",
    "admin": "Administrator",
}
UNIT_NAMES = {
    "working_days": "Working days",
    "calendar_days": "Calendar days",
    "weeks": "Weeks",
    "months": "Calendar months",
}
WORKING_DAYS_RULE = "weekends, public holidays and the council's closure days are not counted"
CALENDAR_RULE = "a date on a closed day moves back to the working day before"


def day(value: str | date | None) -> str:
    """A date as people write it: 14 May 2026 (no weekday)."""
    if value is None:
        return "no date"
    d = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def closure(c: Closure) -> str:
    """A council's closure in words: "every 24 December", "23 December 2026, a half day counted as worked"."""
    when = day(c.on) if c.on else f"every {c.yearly[1]} {MONTHS[c.yearly[0] - 1]}" if c.yearly else "no date"
    if c.half_day:
        when += ", a half day " + ("counted as a working day lost" if c.closes else "counted as worked")
    return when


def count(amount: int, unit: str) -> str:
    """3 months, 1 working day, 14 calendar days."""
    words = unit.replace("_", " ")
    if amount == 1:
        words = words[:-1] if words.endswith("s") else words
    return f"{amount} {words}"


def value(v: Any) -> str:
    if v is True:
        return "yes"
    if v is False:
        return "no"
    if v is None:
        return "none"
    if isinstance(v, (list, tuple)):
        return " or ".join(value(x) for x in v)
    return VALUES.get(v, str(v).replace("_", " ")) if isinstance(v, str) else str(v)


# Values whose words are not the code's with spaces.
VALUES = {"transfer_in": "transfer-in"}


def _fallback(event_type: str) -> tuple[str, str]:
    name = event_type.rsplit(".", 1)[0] if event_type.rsplit(".", 1)[-1][:1] == "v" else event_type
    parts = [p.replace("_", " ") for p in name.split(".")]
    return " ".join(parts), "the " + parts[0]


def _kind(when: dict[str, Any], field: str) -> str:
    kind = when.get(field)
    return f"{value(kind)} " if kind else ""


def _article(text: str) -> str:
    for vowel in "aeiou":
        text = text.replace(f" a {vowel}", f" an {vowel}")
        if text.startswith(f"a {vowel}"):
            text = "an" + text[1:]
    return text


def word(key: str, terms: Mapping[str, str] | None = None) -> str:
    """A term as a rule says it: the deployment's words, or England's short form where they are England's."""
    return said(key, dict(terms or {}))


def conference(terms: Mapping[str, str] | None = None) -> str:
    """Any conference: "conference", "child protection planning meeting" (the initial one's words without
    "initial")."""
    return said("conference", dict(terms or {}))


def meeting(kind: Any, terms: Mapping[str, str] | None = None) -> str:
    """A conference of a kind (or of either kind): "initial or transfer-in conference", "review child
    protection planning meeting"; any conference when the kind is not said."""
    kinds = [k for k in (kind if isinstance(kind, (list, tuple)) else [kind]) if k]
    if not kinds:
        return conference(terms)
    names = [value(k) for k in kinds]
    worded = [
        word(f"{k}_conference", terms) if f"{k}_conference" in DEFAULTS else f"{name} {conference(terms)}"
        for k, name in zip(kinds, names)
    ]
    rests = {s.removeprefix(name + " ") for s, name in zip(worded, names) if s.startswith(name + " ")}
    if len(rests) == 1 and all(s.startswith(name + " ") for s, name in zip(worded, names)):
        return f"{' or '.join(names)} {rests.pop()}"
    return " or ".join(worded)


def say(terms: Mapping[str, str] | None = None, kind: Any = None) -> dict[str, str]:
    """The deployment's words for the places in EVENTS, QUALIFIERS and ROLES; ``kind``: the conference's."""
    enquiries = word("enquiries", terms)
    plural = enquiries.endswith("s")
    places = {
        "meeting": meeting(kind, terms),
        "conference": conference(terms),
        "plan": word("plan", terms),
        "core_group": word("core_group", terms),
        "enquiries": enquiries,
        "enquiries_are": f"{enquiries} {'are' if plural else 'is'}",
        "some_enquiries": enquiries if plural else f"a {enquiries}",
    }
    return {**places, **{capital(k): capital(v) for k, v in places.items()}}


def role(owner: str, terms: Mapping[str, str] | None = None) -> str:
    """Who does a step: "Conference chair", "Child protection planning meeting chair"."""
    return ROLES[owner].format_map(say(terms)) if owner in ROLES else value(owner)


def _parts(
    event_type: str, when: dict[str, Any] | None, routes: dict[str, str] | None, terms: Mapping[str, str] | None
) -> tuple[str, str, list[str]]:
    when = dict(when or {})
    happens, thing = EVENTS.get(event_type) or _fallback(event_type)
    kind_field = "report_kind" if event_type.startswith("report.") else "kind"
    kind = _kind(when, kind_field)
    if kind_field == "report_kind" and kind:
        kind = kind.replace("report ", "")  # review_report: "the review report"
    used = {kind_field} if "{kind}" in happens or "{meeting}" in happens else set()
    route = ""
    if "{route}" in happens and when.get("route"):
        name = (routes or {}).get(when["route"]) or f"take the route {value(when['route'])}"
        route = f" to {name[0].lower() + name[1:]}" if name else ""
        used.add("route")
    places = {**say(terms, when.get("kind")), "kind": kind, "route": route}
    happens = _article(happens.format_map(places))
    thing = thing.format_map(places)
    rest = []
    for field, wanted in when.items():
        if field in used:
            continue
        key = (field, tuple(wanted) if isinstance(wanted, list) else wanted)
        qualifier = _article(QUALIFIERS[key].format_map(places)) if key in QUALIFIERS else None
        rest.append(qualifier or f"({value(field)}: {value(wanted)})")
    return happens, thing, rest


def happening(
    event_type: str,
    when: dict[str, Any] | None = None,
    routes: dict[str, str] | None = None,
    terms: Mapping[str, str] | None = None,
) -> str:
    """An event with its conditions in words: "an initial conference is held
    that decides the child needs a plan"; ``terms``: the deployment's words."""
    happens, _, rest = _parts(event_type, when, routes, terms)
    return " ".join([happens, *rest])


def anchor(event_type: str, when: dict[str, Any] | None = None, terms: Mapping[str, str] | None = None) -> str:
    """What a rule counts from, in words: "the initial conference"."""
    return _parts(event_type, when, None, terms)[1]


def either(phrases: list[str]) -> str:
    unique = list(dict.fromkeys(phrases))
    return unique[0] if len(unique) == 1 else ", ".join(unique[:-1]) + " or " + unique[-1]


def computation(c: dict[str, Any]) -> str:
    """One count of a deadline's explanation: "3 months after 14 May 2026 is
    14 August 2026"; the days skipped or the day it moved back from."""
    unit, direction = c["unit"], c["direction"]
    if unit == "working_days":
        skipped = ", ".join(f"{day(s['date'])} ({s['reason']})" for s in c.get("skipped") or [])
        if c["counted"] == 0:
            text = f"straight away: the first working day from {day(c['anchor'])} is {day(c['due'])}"
        else:
            text = f"{count(c['counted'], unit)} {direction} {day(c['anchor'])} is {day(c['due'])}"
        return text + (f"; days not counted: {skipped}" if skipped else "; no day in between is a closed day")
    amount = c.get("amount")
    # a count stored before counts kept their own unit: its calendar days
    span = count(amount, unit) if amount is not None else count(c["counted"], "calendar_days")
    rolled = c.get("rolled_back_from")
    if not rolled:
        return f"{span} {direction} {day(c['anchor'])} is {day(c['due'])}"
    reasons = ", ".join(f"{day(s['date'])} ({s['reason']})" for s in c.get("skipped") or [])
    return (
        f"{span} {direction} {day(c['anchor'])} is {day(rolled)}, not a working day ({reasons}), so it is due "
        f"the working day before: {day(c['due'])}"
    )
