"""Telling people: who hears of an event, in which words, by which channel.

The defaults (plugins change them with ``cpp_notification_recipients``):

* ``deadline.approaching`` / ``deadline.overdue``: the deadline's assignee
  (who must act), else the case's holder of the deadline's owner role, else
  the social worker (the plan's key worker, else the case's social worker);
  before the case has a plan its social worker hears of every deadline too.
  A deadline notice that reaches nobody (nobody holds the role, or the
  person has no address and no inbox) is never dropped: the service
  publishes ``deadline.nobody_told.v1`` with why, and the scheduler records
  it on the deadline;
* ``deadline.escalated`` (an overdue step, after the authority's grace
  period): the person the scheduler names (the team manager, then the
  service manager), else the case's team manager;
* ``deadline.met`` recorded late, after an overdue notice: whoever was told
  it was overdue hears that it is done, and how many working days late;
* ``lookup.performed`` (a partner found the child on a plan): the key worker;
* a conference scheduled, moved or cancelled: the people the conference
  invites (``invitees``, ``family_invitees``), the core group's
  professionals, the family members in it in plain language and the case's
  social worker, each with the meeting as an iCalendar invitation (or its
  cancellation), before the case has a plan as after;
* ``access.break_glass`` (someone broke glass to reach a restricted child's
  record): the restriction's manager the event names, by email and in the
  inbox, at once.

Who the key worker and the core group are comes from the plans service's
plan events (the plan's content carries their names and addresses), kept
here as a small projection per plan; who holds the case (its social
worker, team manager, team, and the chair of its latest conference) from
``case.opened.v1``, ``case.allocated.v1`` and the conference events, kept
per case, so that a case without a plan yet has people to tell. A
recipient who is a member of staff carries their user id (``user``): their inbox is kept by it, and their
email address, when the event has none, comes from the staff directory
(``cpp_shared.staff``, kept from ``staff.updated.v1``). Every message names
the child (from the event's ``child``, else the name the latest event about
the child carried) and people by name, never by an internal id. The handler
stores the messages made here with the event's processed mark, in one
commit, and they are sent afterwards by the mailer (email, plugin channels)
or read in the platform (inbox): none is lost between the event and its
sending.

What the service has heard (the staff directory, the children, the notices
already sent) is asked of ``Heard``, which the store answers
(``store.Heard``), so that these rules read no store themselves.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from jinja2 import ChoiceLoader, DictLoader, Environment, FileSystemLoader, StrictUndefined

from cpp_shared.plugins import Plugins
from cpp_shared.terminology import DEFAULTS, capital, conference, said, terminology

BREAK_GLASS = "access.break_glass.v1"
APPROACHING = "deadline.approaching.v1"
OVERDUE = "deadline.overdue.v1"
MET = "deadline.met.v1"
NOT_SEEN_ALONE = "visit.child_not_seen_alone.v1"
ESCALATED = "deadline.escalated.v1"
NOBODY_TOLD = "deadline.nobody_told.v1"
#: The deadline notices someone must act on: one that reaches nobody is reported on the deadline.
MUST_REACH = (APPROACHING, OVERDUE, ESCALATED)
#: The events that say who holds a case (its social worker, team manager, team).
CASE_HOLDERS = ("case.opened.v1", "case.allocated.v1")
PEOPLE_EVENTS = (
    APPROACHING,
    OVERDUE,
    ESCALATED,
    MET,
    "lookup.performed.v1",
    "conference.scheduled.v1",
    "conference.rescheduled.v1",
    "conference.cancelled.v1",
    BREAK_GLASS,
    NOT_SEEN_ALONE,
)
#: What a person must never read: an internal id (32 hex digits, or a uuid).
ID_SHAPED = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.IGNORECASE)
BUILT_IN_CHANNELS = ("email", "inbox")
LOCAL_TIME = ZoneInfo("Europe/London")
SOMEONE = "a member of staff"


class Heard(Protocol):
    """What the service has heard, as these rules ask for it."""

    def staff(self, user: str) -> dict[str, Any] | None:
        """The staff directory's entry for a user id (name, email), if any."""

    def child(self, child_id: str | None) -> dict[str, Any] | None:
        """Who the child is as the latest event about them said, if heard of."""

    def overdue_notices(self, deadline_id: str) -> list[dict[str, Any]]:
        """The messages that told people the deadline was overdue, oldest first."""


def plan_people(event: dict[str, Any]) -> dict[str, Any] | None:
    """Who is on the plan (key worker, core group) after one of its events;
    None for an event that does not say. The key worker is the snapshot's (a
    staff reference with ``user``) over the content's (name, phone, email as
    written in the plan)."""
    data = event.get("data") or {}
    if not event["type"].startswith("plan.") or not data.get("plan_id") or "content" not in data:
        return None
    content = data.get("content") or {}
    written, linked = content.get("key_worker") or {}, data.get("key_worker") or {}
    key_worker = {**written, **{k: v for k, v in linked.items() if v is not None}} or None
    return {
        "case_id": data.get("case_id"),
        "child_id": data.get("child_id"),
        "status": data.get("status"),
        "key_worker": key_worker,
        "core_group": content.get("core_group") or [],
        "language": content.get("language"),
    }


def _ref(value: Any) -> dict[str, Any] | None:
    """A ``{user, name}`` staff reference from an event, or None."""
    if not isinstance(value, dict) or not value.get("user"):
        return None
    return {"user": value["user"], "name": value.get("name") or None}


def case_people(event: dict[str, Any], stored: dict[str, Any] | None) -> dict[str, Any] | None:
    """Who holds the case after one of its events (social worker, team
    manager, team, the chair of its latest conference); None for an event
    that does not say."""
    etype, data = event["type"], event.get("data") or {}
    case_id = data.get("case_id")
    if not case_id:
        return None
    record = {"case_id": case_id, "child_id": data.get("child_id"), **(stored or {})}
    record.pop("_id", None)
    record.pop("version", None)
    if etype in CASE_HOLDERS:
        for name in ("social_worker", "team_manager"):
            if name in data:  # case.opened.v1 made before cases were allocated names nobody
                record[name] = _ref(data[name])
        if "team" in data:
            record["team"] = data["team"] or None
        return record
    if etype.startswith("conference.") and _ref(data.get("chair")):
        record["chair"] = _ref(data["chair"])
        return record
    return None


def _staff_name(heard: Heard, user: str | None, default: str = SOMEONE) -> str:
    """A member of staff's name from the directory, never their user id."""
    if not user:
        return default
    return (heard.staff(user) or {}).get("name") or SOMEONE


def _key_worker(people: dict[str, Any] | None) -> dict[str, Any] | None:
    kw = (people or {}).get("key_worker") or {}
    if not kw:
        return None
    return {
        "user": kw.get("user"),
        "name": kw.get("name") or "key worker",
        "email": kw.get("email"),
        "audience": "professional",
        "channels": ["email", "inbox"],
        "role": "key_worker",
    }


def _same_person(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two recipients are one person: by user id, else by email, else
    (a core group member written with a name only) by name."""
    if a.get("user") and b.get("user"):
        return a["user"] == b["user"]
    if a.get("email") and b.get("email"):
        return a["email"].lower() == b["email"].lower()
    return bool(a.get("name")) and (a.get("name") or "").strip().casefold() == (b.get("name") or "").strip().casefold()


def told_overdue(heard: Heard, event: dict[str, Any]) -> list[dict[str, Any]]:
    """Whoever was told this deadline was overdue, each with the channels
    that told them."""
    deadline_id = (event.get("data") or {}).get("deadline_id")
    if not deadline_id:
        return []
    out: list[dict[str, Any]] = []
    for message in heard.overdue_notices(deadline_id):
        r = message["recipient"]
        known = next((o for o in out if _same_person(o, r) and o.get("name") == r.get("name")), None)
        if known is None:
            known = {
                "user": r.get("user"),
                "name": r.get("name"),
                "email": r.get("email"),
                "audience": r.get("audience") or "professional",
                "channels": [],
                "role": r.get("role"),
            }
            out.append(known)
        if message["channel"] not in known["channels"]:
            known["channels"].append(message["channel"])
    return out


def default_recipients(
    event: dict[str, Any], people: dict[str, Any] | None, heard: Heard, case: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    etype = event["type"]
    data = event.get("data") or {}
    if etype == BREAK_GLASS:  # the event names whom to tell: the restriction's manager
        manager = data.get("manager") or {}
        if not manager.get("email") and not manager.get("user"):
            return []
        return [
            {
                "user": manager.get("user"),
                "name": manager.get("name") or _staff_name(heard, manager.get("user")),
                "email": manager.get("email"),
                "audience": "professional",
                "channels": ["email", "inbox"],
                "role": "restriction_manager",
            }
        ]
    if etype == NOT_SEEN_ALONE:  # the key worker and the team manager, each named by the event
        return not_seen_alone_recipients(data, _key_worker(people), heard)
    if etype == MET:  # done late: whoever was told it was overdue hears it is done
        met = data.get("met") or {}
        return told_overdue(heard, event) if met.get("late") else []
    key_worker = _key_worker(people)
    if etype == ESCALATED:  # the person the scheduler names, else the case's holder of that level's role
        escalation = data.get("escalation") or {}
        level = escalation.get("level") or "team_manager"
        found = _staff(escalation.get("to"), level, heard) or _holder(level, key_worker, case, heard)
        return [found] if found else []
    if etype in MUST_REACH:
        return _deadline_people(data, key_worker, case, heard)
    if etype == "lookup.performed.v1":
        if not (data.get("subject_of_plan") or data.get("plan_status") == "in_force"):
            return []
        user = data.get("key_worker_user") or (key_worker or {}).get("user")
        if key_worker and (not user or key_worker.get("user") in (None, user)):
            return [{**key_worker, "user": user}]
        if not user:
            return []
        return [
            {
                "user": user,
                "name": data.get("key_worker") or _staff_name(heard, user),
                "email": None,
                "audience": "professional",
                "channels": ["email", "inbox"],
                "role": "key_worker",
            }
        ]
    if etype.startswith("conference."):
        return _conference_people(data, people, key_worker, case, heard)
    return []


def not_seen_alone_recipients(
    data: dict[str, Any], key_worker: dict[str, Any] | None, heard: Heard
) -> list[dict[str, Any]]:
    """The plan's key worker (as the plan holds them, with their address) and the case's team manager."""
    out: list[dict[str, Any]] = []
    named = data.get("key_worker") or {}
    if key_worker and (not named.get("user") or key_worker.get("user") in (None, named["user"])):
        _add(out, {**key_worker, "user": key_worker.get("user") or named.get("user")})
    else:
        _add(out, _staff(named, "key_worker", heard))
    _add(out, _staff(data.get("team_manager"), "team_manager", heard))
    return out


def _staff(ref: dict[str, Any] | None, role: str, heard: Heard) -> dict[str, Any] | None:
    """A member of staff (a ``{user, name}`` reference) as a recipient."""
    if not ref or not ref.get("user"):
        return None
    return {
        "user": ref["user"],
        "name": ref.get("name") or _staff_name(heard, ref["user"]),
        "email": None,
        "audience": "professional",
        "channels": ["email", "inbox"],
        "role": role,
    }


def _social_worker(key_worker: dict[str, Any] | None, case: dict[str, Any] | None, heard: Heard):
    """Whoever carries the case day to day: the plan's key worker, else the case's social worker."""
    return key_worker or _staff((case or {}).get("social_worker"), "social_worker", heard)


def _holder(owner: str, key_worker, case: dict[str, Any] | None, heard: Heard) -> dict[str, Any] | None:
    """The case's holder of an owner role, as notify heard it."""
    if owner == "social_worker":
        return _social_worker(key_worker, case, heard)
    if owner in ("team_manager", "chair"):
        return _staff((case or {}).get(owner), owner, heard)
    return None


def _add(out: list[dict[str, Any]], r: dict[str, Any] | None) -> None:
    """Add a recipient unless they are already there (the one there learns their user id)."""
    if r is None:
        return
    for known in out:
        if _same_person(known, r):
            known["user"] = known.get("user") or r.get("user")
            return
    out.append(r)


def _deadline_people(data: dict[str, Any], key_worker, case: dict[str, Any] | None, heard: Heard):
    """Who hears of a deadline coming or passed: the person who must act (the
    scheduler's assignee, else the case's holder of the owner role, else the
    social worker); before the case has a plan, its social worker too."""
    out: list[dict[str, Any]] = []
    assignee = data.get("assignee") or {}
    owner = data.get("owner") or "assignee"
    if assignee.get("user"):
        if key_worker and key_worker.get("user") == assignee["user"]:
            _add(out, key_worker)
        else:
            _add(out, _staff(assignee, owner, heard))
    else:
        _add(out, _holder(owner, key_worker, case, heard) or _social_worker(key_worker, case, heard))
    if not data.get("plan_id"):
        _add(out, _social_worker(key_worker, case, heard))
    return out


def _invited(member: dict[str, Any], family: bool) -> dict[str, Any]:
    return {
        "user": None if family else member.get("user"),
        "name": member["name"],
        "email": member.get("email"),
        "audience": "family" if family else "professional",
        "channels": ["email"] if family else ["email", "inbox"],
        "role": member.get("role") or ("family" if family else "core group"),
    }


def _conference_people(data: dict[str, Any], people, key_worker, case, heard: Heard) -> list[dict[str, Any]]:
    """Who is invited to a conference (and told of its moves and
    cancellation): those the conference names, the core group, and the
    social worker, the key worker in the core group addressed by their user
    id too."""
    out: list[dict[str, Any]] = []
    for member in data.get("invitees") or []:
        _add(out, _invited(member, False))
    for member in data.get("family_invitees") or []:
        _add(out, _invited(member, True))
    for member in (people or {}).get("core_group") or []:
        _add(out, _invited(member, bool(member.get("is_family_member"))))
    _add(out, _social_worker(key_worker, case, heard))
    return out


def with_addresses(heard: Heard, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A member of staff named by user id, without an email address, gets
    the one the staff directory holds (and their name, when none is given)."""
    out = []
    for r in found:
        r = dict(r)
        if r.get("user") and (not r.get("email") or not r.get("name")):
            entry = heard.staff(r["user"]) or {}
            r["email"] = r.get("email") or entry.get("email")
            r["name"] = r.get("name") or entry.get("name") or SOMEONE
        out.append(r)
    return out


def recipients(
    plugins: Plugins,
    event: dict[str, Any],
    people: dict[str, Any] | None,
    heard: Heard,
    case: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    current = default_recipients(event, people, heard, case)
    for impl in plugins.hook.cpp_notification_recipients.get_hookimpls():  # CPP_PLUGINS order
        changed = impl.function(event=event, recipients=[dict(r) for r in current])
        if changed is not None:
            current = changed
    return with_addresses(heard, current)


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


def readable(value: Any) -> str:
    """A value for people to read, or "" when it is an internal id."""
    text = str(value or "").strip()
    return "" if ID_SHAPED.search(text) else text


def _actor(heard: Heard, user: str | None) -> str:
    """Who acted, for a notice that must say who (a break-glass): their
    name, else the user id the audit log names them by, unless it is an
    opaque id, which says nothing to a person."""
    known = heard.staff(user) if user else None
    if known and known.get("name"):
        return str(known["name"])
    return f"user {readable(user)}" if readable(user) else "a member of staff"


def child_name(event: dict[str, Any], heard: Heard) -> str:
    """The child's name: the event's, else the latest an event carried; "" when unknown."""
    data = event.get("data") or {}
    child = data.get("child")
    if isinstance(child, dict) and child.get("name"):
        return str(child["name"])
    known = heard.child(data.get("child_id"))
    return str(known["name"]) if known else ""


def conference_title(kind: str | None, terms: dict[str, str]) -> str:
    """A conference of its kind in the deployment's words: "Initial child protection conference", "Review child
    protection planning meeting"; any conference's words for a kind it has none for."""
    return capital(terms.get(f"{kind}_conference") or conference(terms))


class Templates:
    """The messages' templates; they read the deployment's words as ``terms`` (``terms.register``)."""

    def __init__(self, plugins: Plugins):
        self.terms = terminology(plugins)
        overrides = plugins.merged("cpp_notification_templates")
        self.env = Environment(
            loader=ChoiceLoader([DictLoader(overrides), FileSystemLoader(str(files("cpp_notify") / "templates"))]),
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
        )
        self.env.globals["terms"] = self.terms

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


def context_for(
    event: dict[str, Any],
    recipient: dict[str, Any],
    people: dict[str, Any] | None,
    heard: Heard,
    terms: dict[str, str] = DEFAULTS,
) -> dict[str, Any]:
    """What a message's template reads; ``terms``: the deployment's words."""
    data = dict(event.get("data") or {})
    defaults = {
        "latest_on": None,
        "plan_id": None,
        "key_worker": None,
        "previous_scheduled_for": None,
        "owner": "",
        "source": "",
        "name": "",
        "due_on": None,
        "met": None,
        "chair": None,
        "assignee": None,
    }
    ctx = {**defaults, **data, "recipient": recipient}
    ctx["key_worker"] = (people or {}).get("key_worker")
    ctx["owner"] = str(ctx.get("owner") or "").replace("_", " ")
    ctx["escalation"] = data.get("escalation") or {}
    ctx["escalation_level"] = str(ctx["escalation"].get("level") or "").replace("_", " ")
    ctx["child_name"] = child_name(event, heard)
    ctx["child_label"] = ctx["child_name"] or "the child"
    ctx["due_on_words"] = _words(data.get("due_on"))
    ctx["latest_on_words"] = _words(data.get("latest_on") or data.get("due_on"))
    ctx["scheduled_for_words"] = _words(data.get("scheduled_for"))
    ctx["previous_scheduled_for_words"] = _words(data.get("previous_scheduled_for"))
    ctx["conference_title"] = conference_title(data.get("kind"), terms)
    ctx["conference_word"] = said("conference", terms)  # "the conference", "the child protection planning meeting"
    ctx["chair_name"] = ((data.get("chair") or {}).get("name")) or ""
    assignee = data.get("assignee") or {}
    ctx["assignee_name"] = assignee.get("name") or (_staff_name(heard, assignee.get("user")) if assignee else "")
    met = data.get("met") or {}
    ctx["met_on_words"] = _words(met.get("on"))
    ctx["working_days_late"] = int(met.get("working_days_late") or 0)
    ctx["granted_at_words"] = _moment_words(data.get("granted_at"))
    ctx["expires_at_words"] = _moment_words(data.get("expires_at"))
    ctx["performed_at_words"] = _moment_words(data.get("performed_at"))
    ctx["actor_name"] = (
        (data.get("user_name") or _actor(heard, data.get("user"))) if event["type"] == BREAK_GLASS else ""
    )
    ctx["partner_label"] = readable(data.get("partner")) if event["type"] == "lookup.performed.v1" else ""
    ctx["key_worker_name"] = recipient.get("name") or data.get("key_worker") or ""
    ctx["since_words"] = _words(data.get("since")) if event["type"] == NOT_SEEN_ALONE else ""
    ctx["visited_on_words"] = _words(data.get("visited_on")) if event["type"] == NOT_SEEN_ALONE else ""
    return ctx


def invitation(
    event: dict[str, Any], recipient: dict[str, Any], organiser: str, child: str = "", terms: dict[str, str] = DEFAULTS
) -> str | None:
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
    ev.add("dtstamp", datetime.now(UTC))
    day = date.fromisoformat(data["scheduled_for"])
    ev.add("dtstart", day)
    ev.add("dtend", day + timedelta(days=1))
    title = conference_title(data.get("kind"), terms)
    ev.add("summary", f"{title} for {child}" if child else title)
    # A later change must carry a higher SEQUENCE: the event time (seconds) always grows.
    ev.add("sequence", int(datetime.fromisoformat(event["time"].replace("Z", "+00:00")).timestamp()))
    ev.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    ev.add("organizer", f"mailto:{organiser}")
    if recipient.get("email"):
        ev.add("attendee", f"mailto:{recipient['email']}", parameters={"CN": recipient["name"], "RSVP": "TRUE"})
    cal.add_component(ev)
    return cal.to_ical().decode()


def messages_for(
    event: dict[str, Any],
    *,
    people: dict[str, Any] | None,
    plugins: Plugins,
    templates: Templates,
    channels: set[str],
    organiser: str,
    now: float,
    heard: Heard,
    found: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The messages an event owes people, one per recipient and channel
    (the recipients ``found``, else those ``recipients`` finds)."""
    made = []
    for r in recipients(plugins, event, people, heard) if found is None else found:
        name = f"{event['type']}.{r.get('audience', 'professional')}.txt"
        if not templates.has(name):
            name = f"{event['type']}.professional.txt"
            if not templates.has(name):
                continue
        subject, body = templates.render(name, context_for(event, r, people, heard, templates.terms))
        ics = invitation(event, r, organiser, child_name(event, heard), templates.terms)
        for channel in r.get("channels") or ["email"]:
            if channel not in channels:
                continue  # a channel this deployment does not have
            if channel == "email" and not r.get("email"):
                continue  # no address: the inbox (or another channel) carries it
            if channel == "inbox" and not (r.get("user") or r.get("email")):
                continue  # nobody's inbox: someone known by name only (a partner's practitioner) reads none
            made.append(
                {
                    "_id": f"msg_{uuid.uuid4().hex}",
                    "authority": event.get("authority"),
                    "event_id": event["id"],
                    "event_type": event["type"],
                    "channel": channel,
                    "recipient": {
                        "user": r.get("user") or None,
                        "name": r.get("name"),
                        "email": (r.get("email") or "").lower() or None,
                        "audience": r.get("audience", "professional"),
                        "role": r.get("role"),
                    },
                    "deadline_id": (event.get("data") or {}).get("deadline_id"),
                    "subject": subject,
                    "body": body,
                    "ics": ics,
                    "state": "delivered" if channel == "inbox" else "ready",
                    "next_attempt_at": None if channel == "inbox" else now,
                    "attempt_count": 0,
                    "attempts": [],
                    "created_at": now,
                    "read_at": None,
                }
            )
    return made


def nobody_told(event: dict[str, Any], found: list[dict[str, Any]], made: list[dict[str, Any]]) -> dict | None:
    """The data of ``deadline.nobody_told.v1`` when a deadline notice someone
    must act on reached nobody (nobody to tell, or nobody with an address or
    an inbox), else None: such a notice is reported, never dropped."""
    if event["type"] not in MUST_REACH or made:
        return None
    data = event.get("data") or {}
    owner = str(data.get("owner") or "").replace("_", " ")
    if not found and event["type"] == ESCALATED:
        reason = "nobody_to_tell"
        level = str((data.get("escalation") or {}).get("level") or "").replace("_", " ")
        explanation = f"Nobody could be told: the overdue step has no {level} to escalate to."
    elif not found:
        reason = "nobody_to_tell"
        explanation = f"Nobody could be told: the case has no {owner} and no social worker to tell."
    else:
        reason = "no_address"
        names = ", ".join(r.get("name") or SOMEONE for r in found)
        explanation = f"Nobody could be told: {names} has no email address or inbox here."
    return {
        "deadline_id": data["deadline_id"],
        "case_id": data["case_id"],
        "plan_id": data.get("plan_id"),
        "child_id": data.get("child_id"),
        "notice": event["type"],
        "notice_id": event["id"],
        "reason": reason,
        "explanation": explanation,
        "people": [r.get("name") or SOMEONE for r in found],
    }
