"""Telling people: who hears of an event, in which words, by which channel.

The defaults (plugins change them with ``cpp_notification_recipients``):

* ``deadline.approaching`` / ``deadline.overdue``: the plan's key worker;
* ``lookup.performed`` (a partner found the child on a plan): the key worker;
* a conference scheduled, moved or cancelled: the core group's professionals,
  and the family members in it in plain language, each with the meeting as
  an iCalendar invitation (or its cancellation);
* ``access.break_glass`` (someone broke glass to reach a restricted child's
  record): the restriction's manager the event names, by email and in the
  inbox, at once.

Who the key worker and the core group are comes from the plans service's
plan events (the plan's content carries their names and addresses), kept
here as a small projection per plan. A message is stored with the event's
processed mark, in one commit, and sent afterwards by the mailer (email,
plugin channels) or read in the platform (inbox): none is lost between the
event and its sending.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from importlib.resources import files
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from jinja2 import ChoiceLoader, DictLoader, Environment, FileSystemLoader, StrictUndefined

from cpp_shared.plugins import Plugins
from cpp_shared.store import UnitOfWork

from . import store as st

BREAK_GLASS = "access.break_glass.v1"
PEOPLE_EVENTS = ("deadline.approaching.v1", "deadline.overdue.v1", "lookup.performed.v1",
                 "conference.scheduled.v1", "conference.rescheduled.v1", "conference.cancelled.v1", BREAK_GLASS)
BUILT_IN_CHANNELS = ("email", "inbox")
LOCAL_TIME = ZoneInfo("Europe/London")
CONFERENCE_TITLES = {"initial": "Initial child protection conference", "review": "Review child protection conference"}


def update_people(uow: UnitOfWork, event: dict[str, Any]) -> None:
    """Keep who is on each plan (key worker, core group) from its events."""
    data = event.get("data") or {}
    if not event["type"].startswith("plan.") or not data.get("plan_id") or "content" not in data:
        return
    content = data.get("content") or {}
    uow.update(st.PEOPLE, {"_id": data["plan_id"]}, {"$set": {
        "case_id": data.get("case_id"),
        "child_id": data.get("child_id"),
        "status": data.get("status"),
        "key_worker": content.get("key_worker"),
        "core_group": content.get("core_group") or [],
        "language": content.get("language"),
    }}, upsert=True)


def default_recipients(event: dict[str, Any], people: dict[str, Any] | None) -> list[dict[str, Any]]:
    etype = event["type"]
    data = event.get("data") or {}
    if etype == BREAK_GLASS:  # the event names whom to tell: the restriction's manager
        manager = data.get("manager") or {}
        if not manager.get("email"):
            return []
        return [{"name": manager.get("name") or manager.get("user"), "email": manager["email"],
                 "audience": "professional", "channels": ["email", "inbox"], "role": "restriction_manager"}]
    if people is None:
        return []
    kw = people.get("key_worker") or {}
    key_worker = [{"name": kw.get("name", "key worker"), "email": kw.get("email"), "audience": "professional",
                   "channels": ["email", "inbox"], "role": "key_worker"}] if kw else []
    if etype in ("deadline.approaching.v1", "deadline.overdue.v1"):
        return key_worker
    if etype == "lookup.performed.v1":
        return key_worker if data.get("subject_of_plan") else []
    if etype.startswith("conference."):
        out = []
        for member in people.get("core_group") or []:
            family = bool(member.get("is_family_member"))
            out.append({"name": member["name"], "email": member.get("email"),
                        "audience": "family" if family else "professional",
                        "channels": ["email"] if family else ["email", "inbox"],
                        "role": member.get("role") or ("family" if family else "core group")})
        kw_email = (kw.get("email") or "").lower()
        if kw and not any(r["email"] and r["email"].lower() == kw_email for r in out):
            out += key_worker
        return out
    return []


def recipients(plugins: Plugins, event: dict[str, Any], people: dict[str, Any] | None) -> list[dict[str, Any]]:
    current = default_recipients(event, people)
    for impl in plugins.hook.cpp_notification_recipients.get_hookimpls():  # CPP_PLUGINS order
        changed = impl.function(event=event, recipients=[dict(r) for r in current])
        if changed is not None:
            current = changed
    return current


def _words(value: str | None) -> str:
    if not value:
        return ""
    d = date.fromisoformat(value[:10])
    return f"{d:%A} {d.day} {d:%B %Y}"


def _moment_words(value: str | None) -> str:
    """A moment as people read it, in UK local time: "Monday 7 December 2026 at 14:05"."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(LOCAL_TIME)
    return f"{moment:%A} {moment.day} {moment:%B %Y} at {moment:%H:%M}"


class Templates:
    def __init__(self, plugins: Plugins):
        overrides = plugins.merged("cpp_notification_templates")
        self.env = Environment(
            loader=ChoiceLoader([DictLoader(overrides), FileSystemLoader(str(files("cpp_notify") / "templates"))]),
            undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)

    def has(self, name: str) -> bool:
        try:
            self.env.get_template(name)
        except Exception:
            return False
        return True

    def render(self, name: str, context: dict[str, Any]) -> tuple[str, str]:
        text = self.env.get_template(name).render(**context).strip()
        subject, _, body = text.partition("\n")
        return subject.strip(), body.strip() + "\n"


def context_for(event: dict[str, Any], recipient: dict[str, Any], people: dict[str, Any] | None) -> dict[str, Any]:
    data = dict(event.get("data") or {})
    defaults = {"latest_on": None, "plan_id": None, "key_worker": None, "previous_scheduled_for": None,
                "owner": "", "source": "", "name": "", "due_on": None}
    ctx = {**defaults, **data, "recipient": recipient}
    ctx["key_worker"] = (people or {}).get("key_worker")
    ctx["owner"] = str(ctx.get("owner") or "").replace("_", " ")
    ctx["due_on_words"] = _words(data.get("due_on"))
    ctx["scheduled_for_words"] = _words(data.get("scheduled_for"))
    ctx["previous_scheduled_for_words"] = _words(data.get("previous_scheduled_for"))
    ctx["conference_title"] = CONFERENCE_TITLES.get(data.get("kind", ""), "Child protection conference")
    ctx["granted_at_words"] = _moment_words(data.get("granted_at"))
    ctx["expires_at_words"] = _moment_words(data.get("expires_at"))
    return ctx


def invitation(event: dict[str, Any], recipient: dict[str, Any], organiser: str) -> str | None:
    """The conference as an iCalendar invitation (METHOD REQUEST), or its
    cancellation; the UID is the conference's, so a calendar updates it in
    place when it moves."""
    data = event.get("data") or {}
    if not event["type"].startswith("conference.") or not data.get("scheduled_for"):
        return None
    cancelled = event["type"] == "conference.cancelled.v1"
    cal = Calendar()
    cal.add("prodid", "-//Child protection plan platform//Notify//EN")
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if cancelled else "REQUEST")
    ev = Event()
    ev.add("uid", f"conference-{data['conference_id']}@cpp")
    ev.add("dtstamp", datetime.now(timezone.utc))
    day = date.fromisoformat(data["scheduled_for"])
    ev.add("dtstart", day)
    ev.add("dtend", day + timedelta(days=1))
    ev.add("summary", CONFERENCE_TITLES.get(data.get("kind", ""), "Child protection conference"))
    # A later change must carry a higher SEQUENCE: the event time (seconds) always grows.
    ev.add("sequence", int(datetime.fromisoformat(event["time"].replace("Z", "+00:00")).timestamp()))
    ev.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    ev.add("organizer", f"mailto:{organiser}")
    if recipient.get("email"):
        ev.add("attendee", f"mailto:{recipient['email']}", parameters={"CN": recipient["name"], "RSVP": "TRUE"})
    cal.add_component(ev)
    return cal.to_ical().decode()


def owe_messages(event: dict[str, Any], *, uow: UnitOfWork, people: dict[str, Any] | None, plugins: Plugins,
                 templates: Templates, channels: set[str], organiser: str, now: float) -> int:
    """Store the messages an event owes people; returns how many."""
    made = 0
    for r in recipients(plugins, event, people):
        name = f"{event['type']}.{r.get('audience', 'professional')}.txt"
        if not templates.has(name):
            name = f"{event['type']}.professional.txt"
            if not templates.has(name):
                continue
        subject, body = templates.render(name, context_for(event, r, people))
        ics = invitation(event, r, organiser)
        for channel in r.get("channels") or ["email"]:
            if channel not in channels:
                continue  # a channel this deployment does not have
            if channel == "email" and not r.get("email"):
                continue  # no address: the inbox (or another channel) carries it
            uow.insert(st.MESSAGES, {
                "_id": f"msg_{uuid.uuid4().hex}",
                "authority": event.get("authority"),
                "event_id": event["id"],
                "event_type": event["type"],
                "channel": channel,
                "recipient": {"name": r.get("name"), "email": (r.get("email") or "").lower() or None,
                              "audience": r.get("audience", "professional"), "role": r.get("role")},
                "subject": subject,
                "body": body,
                "ics": ics,
                "state": "delivered" if channel == "inbox" else "ready",
                "next_attempt_at": None if channel == "inbox" else now,
                "attempt_count": 0,
                "attempts": [],
                "created_at": now,
                "read_at": None,
            })
            made += 1
    return made
