"""A plan's calendar in iCalendar (RFC 5545), built with the icalendar library.

Meetings (conferences scheduled or held, core group meetings held) and
deadlines are all-day events, since the platform records days, not times.
Each has a stable UID, so a calendar program that subscribes to the feed
updates an event in place when its date moves: its SEQUENCE counts the
times its date changed and its DTSTAMP and LAST-MODIFIED say when its
record last changed (not when the feed was fetched), which is how a
program tells the newer version of an event. Open deadlines carry an alarm
at 09:00 on their reminder day in the deployment's time zone, written in
UTC (``TRIGGER;VALUE=DATE-TIME``). The feed asks to be fetched again every
hour (RFC 7986 ``REFRESH-INTERVAL`` and Outlook's ``X-PUBLISHED-TTL``).

What a person reads (the calendar's name, each entry's summary and
description) names the child, the step and the person who must act, and
never an internal id: a worker with several children's calendars must tell
them apart. Only the child's name: no date of birth, NHS number or
narrative about the child or family, since a subscribed calendar lives on a
phone. UIDs, which calendar programs keep to themselves, hold the ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from icalendar import Alarm, Calendar, Event, vDuration

from cpp_shared.terminology import DEFAULTS, capital

from . import words

PRODID = "-//Child protection plan platform//Scheduler//EN"
REMIND_AT = time(9)  # local time on the reminder day
REFRESH = timedelta(hours=1)


def _day(value: str) -> date:
    return date.fromisoformat(value[:10])


def reminder_time(remind_on: str, tz: tzinfo) -> datetime:
    """09:00 on the reminder day in the deployment's time zone, in UTC
    (08:00Z in British Summer Time, 09:00Z in winter)."""
    return datetime.combine(_day(remind_on), REMIND_AT, tzinfo=tz).astimezone(UTC)


def meeting_title(kind: str, terms: Mapping[str, str]) -> str:
    """A meeting's title in the deployment's words: "Initial child protection conference", "Child protection
    core group meeting"."""
    if kind == "core_group":
        return capital(terms["core_group"]) + " meeting"
    return capital(terms[kind]) if kind.endswith("_conference") and kind in terms else "Meeting"


def _versioned(ev: Event, record: dict[str, Any], fetched: datetime) -> None:
    """When the record last changed (DTSTAMP, LAST-MODIFIED) and how many
    times its date changed (SEQUENCE). A record stored before the scheduler
    kept these counts no change (SEQUENCE 0) and dates from its creation,
    else (an old meeting) from the fetch."""
    changed = record.get("changed_at") or record.get("created_at")
    if changed:
        stamp = datetime.fromisoformat(changed).astimezone(UTC).replace(microsecond=0)
        ev.add("dtstamp", stamp)
        ev.add("last-modified", stamp)
    else:
        ev.add("dtstamp", fetched)
    ev.add("sequence", record.get("sequence") or 0)


def plan_calendar(
    plan_id: str,
    deadlines: list[dict[str, Any]],
    meetings: list[dict[str, Any]],
    *,
    authority: str,
    tz: tzinfo,
    child: str | None = None,
    terms: Mapping[str, str] | None = None,
) -> bytes:
    """``child``: the child's name (None when the scheduler has not heard it);
    deadlines as the API shows them, their assignee named; meetings with
    their chair's name when known (``chair``); ``tz`` the deployment's time
    zone, which reminders are at 09:00 in; ``terms`` the deployment's words (England's when not given)."""
    terms = {**DEFAULTS, **(terms or {})}
    whose = f" for {child}" if child else ""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"{capital(terms['plan'])}{whose} ({authority})")
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(REFRESH))
    fetched = datetime.now(UTC).replace(microsecond=0)
    for m in meetings:
        if not m.get("on"):
            continue
        ev = Event()
        ev.add("uid", f"meeting-{m['_id']}@cpp")
        _versioned(ev, m, fetched)
        title = meeting_title(m.get("kind", ""), terms)
        ev.add("summary", title + (f": {child}" if child else "") + (" (held)" if m.get("status") == "held" else ""))
        chair = f" Chair: {m['chair']}." if m.get("chair") else ""
        ev.add(
            "description",
            f"{title}{whose}, {'held' if m.get('status') == 'held' else 'on'} {words.day(m['on'])}.{chair}",
        )
        ev.add("dtstart", _day(m["on"]))
        ev.add("dtend", _day(m["on"]) + timedelta(days=1))
        ev.add("transp", "OPAQUE")
        ev.add("categories", ["meeting"])
        cal.add_component(ev)
    for d in deadlines:
        if not d.get("due_on"):
            continue  # a deadline without a date is listed by the API, not placed in a calendar
        ev = Event()
        ev.add("uid", f"deadline-{d.get('calendar_id') or d['_id']}@cpp")
        _versioned(ev, d, fetched)
        status = d["status"]
        prefix = {"met": "Met: ", "overdue": "OVERDUE: "}.get(status, "Due: ")
        ev.add("summary", prefix + d["name"] + (f": {child}" if child else ""))
        ev.add("dtstart", _day(d["due_on"]))
        ev.add("dtend", _day(d["due_on"]) + timedelta(days=1))
        ev.add("transp", "TRANSPARENT")
        ev.add("categories", ["deadline"])
        ranged = d.get("latest_on") and d["latest_on"] != d["due_on"]
        latest = f", at the latest {words.day(d['latest_on'])}" if ranged else ""
        met_on = (d.get("met") or {}).get("on")
        state = {"met": f"Done on {words.day(met_on)}. ", "overdue": "Overdue. "}.get(status, "")
        role = d["owner"].replace("_", " ")
        who = f"{d['assignee']['name']} ({role})" if d.get("assignee") else f"the {role} (nobody named yet)"
        ev.add(
            "description",
            f"{d['name']}{whose}: due {words.day(d['due_on'])}{latest}. {state}Who: {who}. Source: {d['source']}",
        )
        if status in ("pending", "approaching") and d.get("remind_on"):
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", f"Due {words.day(d['due_on'])}: {d['name']}{whose}")
            alarm.add("trigger", reminder_time(d["remind_on"], tz), parameters={"VALUE": "DATE-TIME"})
            ev.add_component(alarm)
        cal.add_component(ev)
    return cal.to_ical()
