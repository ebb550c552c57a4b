"""A plan's calendar feed as other people's parsers read it: icalendar, the
``ics`` package and ical.js (Thunderbird's parser, run by Node.js from
tests/validators). Each feed is built through the scheduler's HTTP API from
the plans service's events, and all three must read the same events from it:
reminders at 09:00 in the deployment's time zone, a moved meeting or
deadline under the same UID with a higher SEQUENCE and a later
LAST-MODIFIED, and the refresh interval."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import ics
import pytest
from icalendar import Calendar
from ics.grammar.parse import ParseError

from cpp_scheduler import handlers
from cpp_scheduler.api import common as scheduler_api
from cpp_scheduler.app import create_app
from tests.helpers import bearer, deliver_event

CASE, CHILD, PLAN, INITIAL, REVIEW = "case-1", "child-1", "plan-1", "conf-1", "conf-2"
LONDON = ZoneInfo("Europe/London")
VALIDATORS = Path(__file__).resolve().parents[1] / "validators"
INSTALL = "run scripts/ensure-test-node-packages (npm ci in tests/validators; Node.js 20.19 or later)"


# --- the three parsers, each read into the same shape ---------------------------


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def read_with_icalendar(body: bytes) -> dict:
    cal = Calendar.from_ical(body)
    events = {}
    for e in cal.walk("VEVENT"):
        events[str(e["uid"])] = {
            "sequence": int(e.get("sequence", 0)),
            "start": e.decoded("dtstart"),
            "dtstamp": _utc(e.decoded("dtstamp")),
            "last_modified": _utc(e.decoded("last-modified")) if "last-modified" in e else None,
            "triggers": [_utc(a.decoded("trigger")) for a in e.walk("VALARM")],
        }
    refresh = cal.get("refresh-interval")
    return {"refresh": refresh.to_ical().decode() if refresh else None, "events": events}


def read_with_ics(body: bytes) -> dict:
    cal = ics.Calendar(body.decode())
    extra = {line.name: line.value for line in cal.extra}
    events = {}
    for e in cal.events:
        sequence = next((int(line.value) for line in e.extra if line.name == "SEQUENCE"), 0)
        events[e.uid] = {
            "sequence": sequence,
            "start": e.begin.date(),
            "dtstamp": _utc(e.created.datetime),
            "last_modified": _utc(e.last_modified.datetime) if e.last_modified else None,
            "triggers": [_utc(a.trigger.datetime) for a in e.alarms],
        }
    return {"refresh": extra.get("REFRESH-INTERVAL"), "events": events}


def run_icaljs(body: bytes) -> subprocess.CompletedProcess:
    """tests/validators/ical-check.mjs on ``body``: exit 0 and what ical.js
    read as JSON, or exit 1 and its error."""
    node = shutil.which("node")
    if node is None:
        pytest.fail(f"ical.js needs Node.js, which is not installed: install Node.js, then {INSTALL}")
    if not (VALIDATORS / "node_modules" / "ical.js").is_dir():
        pytest.fail(f"ical.js is not installed in tests/validators: {INSTALL}")
    return subprocess.run(
        [node, str(VALIDATORS / "ical-check.mjs")], input=body, capture_output=True, timeout=60, cwd=VALIDATORS
    )


def read_with_icaljs(body: bytes) -> dict:
    r = run_icaljs(body)
    assert r.returncode == 0, r.stderr.decode()
    out = json.loads(r.stdout)
    events = {}
    for e in out["events"]:
        assert all(a["trigger_type"] == "date-time" for a in e["alarms"]), e
        events[e["uid"]] = {
            "sequence": e["sequence"] or 0,  # RFC 5545: 0 when absent
            "start": date.fromisoformat(e["start"]),
            "dtstamp": _utc(datetime.fromisoformat(e["dtstamp"])),
            "last_modified": _utc(datetime.fromisoformat(e["last_modified"])) if e["last_modified"] else None,
            "triggers": [_utc(datetime.fromisoformat(a["trigger"])) for a in e["alarms"]],
        }
    return {"refresh": out["refresh_interval"], "events": events}


PARSERS = {"icalendar": read_with_icalendar, "ics": read_with_ics, "ical.js": read_with_icaljs}


def read_feed(body: bytes) -> dict:
    """The feed as all three parsers read it: each must accept it, and they
    must agree."""
    views, refused = {}, {}
    for name, read in PARSERS.items():
        try:
            views[name] = read(body)
        except Exception as exc:  # noqa: BLE001 - each parser's own error, reported together
            refused[name] = f"{type(exc).__name__}: {exc}"
    assert not refused, f"parsers refused the feed: {refused}"
    assert views["ics"] == views["icalendar"], "the ics package reads the feed differently from icalendar"
    assert views["ical.js"] == views["icalendar"], "ical.js reads the feed differently from icalendar"
    return views["icalendar"]


# --- a deployment and its events --------------------------------------------------


@pytest.fixture
def clock(monkeypatch):
    """Sets the time the scheduler records a change at."""

    def set_to(when: str) -> None:
        monkeypatch.setattr(handlers, "_now", lambda: when)
        monkeypatch.setattr(scheduler_api, "clock", lambda: datetime.fromisoformat(when))

    return set_to


def deployment(make_settings, token_for, plugins: str, authority: str):
    app = create_app(make_settings("scheduler", CPP_PLUGINS=plugins))
    roles = ("social_worker", "team_manager")
    return (
        app.extensions["cpp"],
        app.test_client(),
        {r: bearer(token_for(r, authority=authority, user=f"{r}-1")) for r in roles},
    )


def plan_begins(ctx, strategy_on: str, initial_on: str) -> None:
    deliver_event(
        ctx,
        "strategy_discussion.held.v1",
        {
            "case_id": CASE,
            "child_id": CHILD,
            "strategy_discussion_id": "sd-1",
            "held_on": strategy_on,
            "initiated_enquiries": True,
        },
    )
    deliver_event(
        ctx,
        "enquiry.completed.v1",
        {"case_id": CASE, "child_id": CHILD, "completed_on": strategy_on, "conference_required": True},
    )
    deliver_event(
        ctx,
        "conference.scheduled.v1",
        {
            "conference_id": INITIAL,
            "case_id": CASE,
            "child_id": CHILD,
            "kind": "initial",
            "scheduled_for": initial_on,
            "plan_id": None,
        },
    )
    deliver_event(
        ctx,
        "conference.held.v1",
        {
            "conference_id": INITIAL,
            "case_id": CASE,
            "child_id": CHILD,
            "kind": "initial",
            "held_on": initial_on,
            "plan_required": True,
            "plan_id": PLAN,
        },
    )
    deliver_event(
        ctx,
        "plan.created.v1",
        {"plan_id": PLAN, "case_id": CASE, "child_id": CHILD, "status": "outline", "created_on": initial_on},
        subject=PLAN,
    )


def review(ctx, etype: str, on: str) -> None:
    deliver_event(
        ctx,
        etype,
        {
            "conference_id": REVIEW,
            "case_id": CASE,
            "child_id": CHILD,
            "kind": "review",
            "scheduled_for": on,
            "plan_id": PLAN,
        },
    )


def feed(api, headers) -> bytes:
    r = api.get(f"/v1/plans/{PLAN}/calendar.ics", headers=headers["social_worker"])
    assert r.status_code == 200 and r.mimetype == "text/calendar", r.data
    return r.data


def open_deadlines(api, headers) -> dict[str, dict]:
    r = api.get("/v1/deadlines", query_string={"case_id": CASE, "status": "open"}, headers=headers["social_worker"])
    assert r.status_code == 200, r.json
    return {d["rule_id"]: d for d in r.json["items"]}


def at_nine_in_london(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(9), tzinfo=LONDON).astimezone(UTC)


# --- the contract ------------------------------------------------------------------


@pytest.mark.parametrize(
    "strategy_on, initial_on, review_on, moved_to, utc_hour",
    [
        ("2027-05-10", "2027-06-02", "2027-08-25", "2027-09-01", 8),  # British Summer Time: 09:00 is 08:00Z
        ("2026-12-07", "2027-01-06", "2027-03-03", "2027-03-10", 9),  # winter: 09:00 is 09:00Z
    ],
    ids=["summer", "winter"],
)
def test_three_parsers_read_reminders_moves_and_refresh_from_the_feed(
    make_settings, token_for, clock, strategy_on, initial_on, review_on, moved_to, utc_hour
):
    ctx, api, headers = deployment(make_settings, token_for, "england", "ENG")
    clock(f"{strategy_on}T10:00:00+00:00")
    plan_begins(ctx, strategy_on, initial_on)
    scheduled_at, moved_at = f"{initial_on}T15:30:00+00:00", f"{review_on}T08:15:00+00:00"
    clock(scheduled_at)
    review(ctx, "conference.scheduled.v1", review_on)
    before = read_feed(feed(api, headers))
    clock(moved_at)
    review(ctx, "conference.rescheduled.v1", moved_to)
    after = read_feed(feed(api, headers))

    # Reminders: 09:00 in London on each open deadline's reminder day.
    deadlines = open_deadlines(api, headers)
    assert {"first-core-group", "first-review-conference"} <= set(deadlines)
    for d in deadlines.values():
        event = after["events"][f"deadline-{d['id']}@cpp"]
        assert event["triggers"] == [at_nine_in_london(d["remind_on"])], d["name"]
        assert event["triggers"][0].hour == utc_hour

    # The moved meeting: same UID, one more in its sequence, changed later.
    uid = f"meeting-{REVIEW}@cpp"
    was, now = before["events"][uid], after["events"][uid]
    assert (was["start"], now["start"]) == (date.fromisoformat(review_on), date.fromisoformat(moved_to))
    assert (was["sequence"], now["sequence"]) == (0, 1)
    assert was["last_modified"] == datetime.fromisoformat(scheduled_at)
    assert now["last_modified"] == datetime.fromisoformat(moved_at) > was["last_modified"]
    assert now["dtstamp"] == now["last_modified"], "DTSTAMP is when the record changed, not when it was fetched"
    # The initial conference, held on the day it was scheduled, never moved.
    assert before["events"][f"meeting-{INITIAL}@cpp"]["sequence"] == 0
    # What did not move keeps its sequence and its stamp.
    for other in set(before["events"]) - {uid}:
        assert after["events"][other] == before["events"][other], other

    assert after["refresh"] == "PT1H"
    assert b"X-PUBLISHED-TTL:PT1H" in feed(api, headers)


def test_a_conference_held_on_another_day_than_scheduled_has_moved(make_settings, token_for, clock):
    ctx, api, headers = deployment(make_settings, token_for, "england", "ENG")
    clock("2027-05-10T10:00:00+00:00")
    plan_begins(ctx, "2027-05-10", "2027-06-02")
    review(ctx, "conference.scheduled.v1", "2027-08-25")
    clock("2027-08-26T16:00:00+00:00")
    deliver_event(
        ctx,
        "conference.held.v1",
        {
            "conference_id": REVIEW,
            "case_id": CASE,
            "child_id": CHILD,
            "kind": "review",
            "held_on": "2027-08-26",
            "plan_id": PLAN,
        },
    )
    clock("2027-08-27T09:00:00+00:00")
    deliver_event(
        ctx,
        "conference.held.v1",
        {
            "conference_id": REVIEW,
            "case_id": CASE,
            "child_id": CHILD,
            "kind": "review",
            "held_on": "2027-08-26",
            "plan_id": PLAN,
        },
    )
    event = read_feed(feed(api, headers))["events"][f"meeting-{REVIEW}@cpp"]
    assert event["start"] == date(2027, 8, 26) and event["sequence"] == 1
    # A later event that changes nothing about the meeting leaves its stamp.
    assert event["last_modified"] == datetime(2027, 8, 26, 16, tzinfo=UTC)


def test_a_deadline_moved_with_its_conference_or_by_a_manager_stays_one_event(make_settings, token_for, clock):
    # Guernsey's report steps are counted back from each conference: moving
    # the conference supersedes them with new deadlines, which the calendar
    # shows as the same events moved.
    ctx, api, headers = deployment(make_settings, token_for, "guernsey", "GSY")
    clock("2027-06-01T09:00:00+00:00")
    deliver_event(
        ctx,
        "plan.created.v1",
        {"plan_id": PLAN, "case_id": CASE, "child_id": CHILD, "status": "outline", "created_on": "2027-06-01"},
        subject=PLAN,
    )
    review(ctx, "conference.scheduled.v1", "2027-09-15")
    step = open_deadlines(api, headers)["plan-updated-for-review"]
    uid = f"deadline-{step['id']}@cpp"
    before = read_feed(feed(api, headers))["events"][uid]

    clock("2027-07-01T11:00:00+00:00")
    review(ctx, "conference.rescheduled.v1", "2027-09-29")
    moved = open_deadlines(api, headers)["plan-updated-for-review"]
    assert moved["id"] != step["id"] and moved["supersedes"] == step["id"]
    after = read_feed(feed(api, headers))["events"]
    assert f"deadline-{moved['id']}@cpp" not in after
    assert after[uid]["start"] == date.fromisoformat(moved["due_on"]) > before["start"]
    assert (before["sequence"], after[uid]["sequence"]) == (0, 1)
    assert after[uid]["last_modified"] == datetime(2027, 7, 1, 11, tzinfo=UTC) > before["last_modified"]
    assert after[uid]["triggers"] == [at_nine_in_london(moved["remind_on"])]

    clock("2027-07-05T14:00:00+00:00")
    later = (date.fromisoformat(moved["due_on"]) + timedelta(days=7)).isoformat()
    r = api.post(
        f"/v1/deadlines/{moved['id']}/due-date",
        json={"due_on": later, "reason": "the family's holiday"},
        headers=headers["team_manager"],
    )
    assert r.status_code == 200, r.json
    event = read_feed(feed(api, headers))["events"][uid]
    assert event["start"] == date.fromisoformat(later) and event["sequence"] == 2
    assert event["last_modified"] == datetime(2027, 7, 5, 14, tzinfo=UTC)


def test_the_parsers_reject_an_absolute_trigger_without_its_value_type(make_settings, token_for, clock):
    # What the feed sent before: other people's parsers refuse the whole calendar for it.
    ctx, api, headers = deployment(make_settings, token_for, "england", "ENG")
    clock("2027-05-10T10:00:00+00:00")
    plan_begins(ctx, "2027-05-10", "2027-06-02")
    body = feed(api, headers)
    assert b"TRIGGER;VALUE=DATE-TIME:" in body
    broken = body.replace(b"TRIGGER;VALUE=DATE-TIME:", b"TRIGGER:")
    with pytest.raises(ParseError, match=r"Error while parsing \d{8}T\d{6}Z"):
        ics.Calendar(broken.decode())
    r = run_icaljs(broken)
    assert r.returncode == 1 and b"invalid duration" in r.stderr, r.stderr
