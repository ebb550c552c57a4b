"""The timescale rules and their arithmetic in words, for the people who read
them: deadline explanations, ``cpp rules`` and a calendar entry.

Rules are written against the platform's events (``conference.held.v1``
with ``{"kind": "initial"}``); a person reads "an initial conference is
held". An event or a condition this module does not know is still said in
words (its name with spaces), never as an event type or a Python value.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from cpp_shared.contracts.timescales import Closure

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

# event type -> (what happens, the thing it is about: what a timescale counts from)
EVENTS: dict[str, tuple[str, str]] = {
    "referral.received.v1": ("a referral is received", "the referral"),
    "referral.decided.v1": ("the referral is decided on", "the referral"),
    "assessment.started.v1": ("an assessment starts", "the start of the assessment"),
    "assessment.completed.v1": ("the assessment is completed", "the end of the assessment"),
    "strategy_discussion.held.v1": ("a strategy discussion is held", "the strategy discussion"),
    "enquiry.completed.v1": ("the enquiries are completed", "the end of the enquiries"),
    "conference.scheduled.v1": ("a {kind}conference is scheduled", "the {kind}conference"),
    "conference.rescheduled.v1": ("a {kind}conference is moved", "the {kind}conference"),
    "conference.cancelled.v1": ("a {kind}conference is cancelled", "the {kind}conference"),
    "conference.held.v1": ("a {kind}conference is held", "the {kind}conference"),
    "conference.invitations_sent.v1": ("the invitations to a {kind}conference go out", "the invitations"),
    "conference.inquorate.v1": (
        "a {kind}conference meets without a quorum",
        "the {kind}conference that was not quorate",
    ),
    "conference.record_issued.v1": ("the record of a {kind}conference is issued", "the issue of its record"),
    "core_group.held.v1": ("a core group meeting is held", "the core group meeting"),
    "plan.created.v1": ("a plan begins", "the start of the plan"),
    "plan.ended.v1": ("the plan ends", "the end of the plan"),
    "resource_panel.requested.v1": ("the plan is taken to the resource panel", "the request to the resource panel"),
    "resource_panel.decided.v1": ("the resource panel decides", "the resource panel's decision"),
    "report.drafted.v1": ("the {kind}report is drafted", "the draft report"),
    "report.submitted.v1": ("the {kind}report is passed to the manager", "the report"),
    "report.shared.v1": ("the {kind}report is shared with the family", "the report"),
    "report.sent_to_chair.v1": ("the {kind}report is sent to the conference chair", "the report"),
    "child_in_need_plan.created.v1": ("a child in need plan is drawn up", "the child in need plan"),
    "escalation.raised.v1": ("an escalation is raised{route}", "the escalation"),
    "escalation.delivered.v1": ("the escalation is delivered", "the escalation's delivery"),
    "visit.recorded.v1": ("a visit to the child is recorded", "the visit"),
    "visit.child_not_seen_alone.v1": (
        "visits in a row without the child seen alone are flagged",
        "the last of those visits",
    ),
    "child.born.v1": ("the birth of a child recorded as unborn is recorded", "the birth"),
    "transfer.received.v1": (
        "a child on a plan moves here from another council",
        "the notification of the permanent move",
    ),
    "transfer.out_started.v1": ("the family's move to another council is recorded", "the notification of the move"),
}

# (field, value) -> a qualifier, after the event's words
QUALIFIERS: dict[tuple[str, Any], str] = {
    ("initiated_enquiries", True): "that starts enquiries",
    ("initiated_enquiries", False): "that starts no enquiries",
    ("plan_required", True): "that decides the child needs a plan",
    ("plan_required", False): "that decides the child needs no plan",
    ("decision", ("assessment", "strategy_discussion")): "for an assessment or a strategy discussion",
    ("conference_required", True): "with a conference needed",
    ("conference_required", False): "with no conference needed",
    ("decision", ("continue", "revise")): "that continues or revises the plan",
    ("decision", "continue"): "that continues the plan",
    ("decision", "revise"): "that revises the plan",
    ("decision", "end"): "that ends the plan",
    ("pre_birth", True): "about an unborn child",
    ("pre_birth", (False, None)): "about a child already born",
    ("on_plan", True): "on a plan",
    ("decision", "strategy_discussion"): "for a strategy discussion",
    ("child_seen", True): "at which the child was seen",
}
ROLES = {
    "social_worker": "Social worker (the key worker once there is a plan)",
    "team_manager": "Team manager",
    "chair": "Conference chair",
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


def _parts(event_type: str, when: dict[str, Any] | None, routes: dict[str, str] | None) -> tuple[str, str, list[str]]:
    when = dict(when or {})
    happens, thing = EVENTS.get(event_type) or _fallback(event_type)
    kind_field = "report_kind" if event_type.startswith("report.") else "kind"
    kind = _kind(when, kind_field)
    if kind_field == "report_kind" and kind:
        kind = kind.replace("report ", "")  # review_report: "the review report"
    used = {kind_field} if "{kind}" in happens else set()
    route = ""
    if "{route}" in happens and when.get("route"):
        name = (routes or {}).get(when["route"]) or f"take the route {value(when['route'])}"
        route = f" to {name[0].lower() + name[1:]}" if name else ""
        used.add("route")
    happens = _article(happens.format(kind=kind, route=route))
    thing = thing.format(kind=kind, route=route)
    rest = []
    for field, wanted in when.items():
        if field in used:
            continue
        key = (field, tuple(wanted) if isinstance(wanted, list) else wanted)
        rest.append(QUALIFIERS.get(key) or f"({value(field)}: {value(wanted)})")
    return happens, thing, rest


def happening(event_type: str, when: dict[str, Any] | None = None, routes: dict[str, str] | None = None) -> str:
    """An event with its conditions in words: "an initial conference is held
    that decides the child needs a plan"."""
    happens, _, rest = _parts(event_type, when, routes)
    return " ".join([happens, *rest])


def anchor(event_type: str, when: dict[str, Any] | None = None) -> str:
    """What a rule counts from, in words: "the initial conference"."""
    return _parts(event_type, when, None)[1]


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
