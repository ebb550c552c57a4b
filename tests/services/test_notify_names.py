"""What people read names the child and people, never an internal id: every
event type the notify service tells people of, with ids shaped as the
platform makes them (uuid4 hex), rendered to the inbox, the email and the
calendar invitation; and an overdue step recorded late is followed by
"done, N working days late" to whoever was told it was overdue."""

from __future__ import annotations

import re
import uuid

import pytest
from icalendar import Calendar

from cpp_notify.app import create_app
from cpp_notify.domain.people import PEOPLE_EVENTS
from cpp_notify.mailer import email_message
from tests.helpers import bearer, deliver_event
from tests.services.test_notify_people import mailer_of, sent_to, smtp  # noqa: F401 (smtp: a fixture)

ID = re.compile(r"[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def hex_id() -> str:
    return uuid.uuid4().hex


PLAN_ID, CASE_ID, CHILD_ID, CONF_ID = hex_id(), hex_id(), hex_id(), hex_id()
SW, TM, CHAIR, MANAGER, INTRUDER = (str(uuid.uuid4()) for _ in range(5))  # identity providers' subs: uuids
PARTNER = str(uuid.uuid4())
CHILD = {"name": "Ana Jones", "date_of_birth": "2019-04-02", "nhs_number": "9434765919"}
SAM = {"user": SW, "name": "Sam Social"}


@pytest.fixture
def notify(make_settings, smtp):
    controller, _ = smtp
    return create_app(
        make_settings(
            "notify",
            CPP_NOTIFY_SMTP_HOST="127.0.0.1",
            CPP_NOTIFY_SMTP_PORT=str(controller.port),
            CPP_NOTIFY_MAIL_FROM="cp-team@council.example",
        )
    )


def staff(ctx, user, name, email, role):
    deliver_event(
        ctx,
        "staff.updated.v1",
        {"user": user, "name": name, "email": email, "team": "Team A", "role": role, "manager": None, "phone": None},
        subject=user,
    )


def a_plan(ctx):
    for user, name, email, role in (
        (SW, "Sam Social", "sam.social@council.example", "social_worker"),
        (TM, "Terry Manager", "terry@council.example", "team_manager"),
        (CHAIR, "Chris Chair", "chris@council.example", "chair"),
        (MANAGER, "Pat Manager", None, "team_manager"),
        (INTRUDER, "Ira Other", "ira@council.example", "social_worker"),
    ):
        staff(ctx, user, name, email, role)
    deliver_event(
        ctx,
        "plan.activated.v1",
        {
            "plan_id": PLAN_ID,
            "case_id": CASE_ID,
            "child_id": CHILD_ID,
            "status": "active",
            "plan_version": 2,
            "created_on": "2026-11-02",
            "activated_on": "2026-11-16",
            "ended": None,
            "agreed": {"by": SW, "on": "2026-11-16", "at": "core_group_meeting"},
            "key_worker": {**SAM, "role": "social worker", "team": "Team A", "phone": "020 7946 0000", "email": None},
            "categories": ["neglect"],
            "child": CHILD,
            "content": {
                "key_worker": {"name": "Sam Social", "phone": "020 7946 0000"},
                "categories": ["neglect"],
                "core_group": [
                    {
                        "name": "Hana Visitor",
                        "role": "health visitor",
                        "agency": "NHS",
                        "email": "hana@nhs.example",
                        "is_family_member": False,
                    },
                    {"name": "Alex Parent", "role": "mother", "email": "alex@home.example", "is_family_member": True},
                ],
            },
        },
        subject=PLAN_ID,
    )


def deadline(status, **extra):
    return {
        "deadline_id": extra.pop("deadline_id", "dl-" + hex_id()),
        "case_id": CASE_ID,
        "plan_id": PLAN_ID,
        "child_id": CHILD_ID,
        "rule_id": "first-core-group",
        "kind": "first_core_group",
        "name": "First core group meeting",
        "owner": "social_worker",
        "assignee": SAM,
        "team": "Team A",
        "status": status,
        "due_on": "2026-11-16",
        "latest_on": "2026-11-16",
        "needs_date": False,
        "source": "Working Together to Safeguard Children 2023, chapter 4",
        "met": None,
        "closed_by": None,
        "superseded_by": None,
        "child": CHILD,
        **extra,
    }


def conference(kind="review", **extra):
    return {
        "conference_id": CONF_ID,
        "case_id": CASE_ID,
        "child_id": CHILD_ID,
        "kind": kind,
        "scheduled_for": "2027-02-03",
        "plan_id": PLAN_ID,
        "chair": {"user": CHAIR, "name": "Chris Chair"},
        "child": CHILD,
        **extra,
    }


OVERDUE_ID = "dl-" + hex_id()
EVENTS = [
    ("deadline.approaching.v1", deadline("approaching", due_on="2026-11-30", latest_on="2026-12-04"), CASE_ID),
    ("deadline.overdue.v1", deadline("overdue", deadline_id=OVERDUE_ID), CASE_ID),
    (
        "deadline.escalated.v1",
        deadline(
            "overdue",
            deadline_id=OVERDUE_ID,
            escalation={"level": "team_manager", "to": SAM, "on": "2026-11-18", "grace_working_days": 2},
        ),
        CASE_ID,
    ),
    (
        "deadline.met.v1",
        deadline(
            "met",
            deadline_id=OVERDUE_ID,
            met={
                "on": "2026-11-19",
                "late": True,
                "working_days_late": 3,
                "event_id": hex_id(),
                "type": "core_group.held.v1",
                "time": "2026-11-19T15:00:00+00:00",
            },
        ),
        CASE_ID,
    ),
    (
        "lookup.performed.v1",
        {
            "lookup_id": hex_id(),
            "performed_at": "2026-11-23T10:00:00+00:00",
            "partner": PARTNER,
            "partner_role": "partner",
            "authority": "ENG",
            "child_id": CHILD_ID,
            "plan_id": PLAN_ID,
            "key_worker": "Sam Social",
            "subject_of_plan": True,
            "plan_status": "in_force",
            "key_worker_user": SW,
            "child": CHILD,
        },
        CHILD_ID,
    ),
    ("conference.scheduled.v1", conference(), CASE_ID),
    (
        "conference.rescheduled.v1",
        conference(scheduled_for="2027-02-10", previous_scheduled_for="2027-02-03", reason="the chair is away"),
        CASE_ID,
    ),
    ("conference.cancelled.v1", conference(scheduled_for="2027-02-10", reason="brought forward"), CASE_ID),
    (
        "access.break_glass.v1",
        {
            "grant_id": hex_id(),
            "child_id": CHILD_ID,
            "restriction_id": hex_id(),
            "user": INTRUDER,
            "role": "social_worker",
            "reason": "Duty: the police called about the child tonight",
            "granted_at": "2026-11-23T21:00:00+00:00",
            "expires_at": "2026-11-23T22:00:00+00:00",
            "manager": {"user": MANAGER, "email": "pat.manager@council.example", "name": "Pat Manager"},
        },
        CHILD_ID,
    ),
    (
        "visit.child_not_seen_alone.v1",
        {
            "plan_id": PLAN_ID,
            "case_id": CASE_ID,
            "child_id": CHILD_ID,
            "visit_id": hex_id(),
            "visits": 3,
            "since": "2026-11-02",
            "visited_on": "2026-11-23",
            "key_worker": SAM,
            "team_manager": {"user": TM, "name": "Terry Manager"},
            "child": CHILD,
        },
        PLAN_ID,
    ),
]


def test_every_message_names_the_child_and_no_internal_id(notify, smtp):
    ctx = notify.extensions["cpp"]
    a_plan(ctx)
    assert sorted(t for t, _, _ in EVENTS) == sorted(PEOPLE_EVENTS)  # a new kind of notice is checked here too
    for etype, data, subject in EVENTS:
        deliver_event(ctx, etype, data, subject=subject)
    messages = ctx.store.collection("messages").find({})
    by_type = {t: [m for m in messages if m["event_type"] == t] for t in PEOPLE_EVENTS}
    assert all(by_type.values()), {t: len(ms) for t, ms in by_type.items()}
    for m in messages:
        email = email_message(m, "cp-team@council.example") if m["channel"] == "email" else None
        texts = [m["subject"], m["body"]]
        if email is not None:
            texts += [str(email["Subject"]), str(email["To"])]
        if m.get("ics"):
            [vevent] = Calendar.from_ical(m["ics"]).walk("VEVENT")
            texts.append(str(vevent["summary"]))
        for text in texts:
            assert not ID.search(text), (m["event_type"], m["recipient"], text)
        assert "Ana Jones" in m["subject"] and "Ana Jones" in m["body"], (m["event_type"], m["subject"])
        assert CHILD["nhs_number"] not in m["subject"] + m["body"]
    # People by name: the one who broke glass, the chair, the assignee.
    [glass] = [m for m in by_type["access.break_glass.v1"] if m["channel"] == "inbox"]
    assert glass["subject"] == "Break-glass: Ira Other opened the restricted record of Ana Jones"
    assert glass["recipient"]["user"] == MANAGER
    assert all(
        "Chris Chair" in m["body"]
        for m in by_type["conference.scheduled.v1"]
        if m["recipient"]["audience"] == "professional"
    )
    assert all("Who must act: Sam Social (social worker)" in m["body"] for m in by_type["deadline.overdue.v1"])
    # The restriction's manager has no email in the directory, but the event gives one; the key worker has
    # none in the plan, and the directory gives theirs.
    assert {m["recipient"]["email"] for m in by_type["lookup.performed.v1"]} == {"sam.social@council.example"}


def test_an_overdue_step_recorded_late_is_followed_by_done_n_working_days_late(notify, smtp, token_for):
    _, received = smtp
    ctx = notify.extensions["cpp"]
    client = notify.test_client()
    a_plan(ctx)
    deliver_event(ctx, "deadline.overdue.v1", deadline("overdue", deadline_id="dl-1"), subject=CASE_ID)
    met = {
        "on": "2026-11-19",
        "late": True,
        "working_days_late": 3,
        "event_id": hex_id(),
        "type": "core_group.held.v1",
        "time": "2026-11-19T15:00:00+00:00",
    }
    deliver_event(ctx, "deadline.met.v1", deadline("met", deadline_id="dl-1", met=met), subject=CASE_ID)
    # Met late, but nobody was told it was overdue; and met on time: nothing to say.
    deliver_event(ctx, "deadline.met.v1", deadline("met", deadline_id="dl-2", met=met), subject=CASE_ID)
    deliver_event(
        ctx,
        "deadline.met.v1",
        deadline("met", deadline_id="dl-3", met={**met, "late": False, "working_days_late": 0}),
        subject=CASE_ID,
    )
    assert mailer_of(notify).run_once() == 2
    overdue, done = sent_to(received, "sam.social@council.example")
    assert overdue["Subject"].startswith("OVERDUE: First core group meeting for Ana Jones")
    assert done["Subject"] == "Done, 3 working days late: First core group meeting for Ana Jones"
    assert "done, 3 working days late" in done.get_body(("plain",)).get_content()
    box = client.get("/v1/inbox", headers=bearer(token_for("social_worker", user=SW))).json
    assert [m["event_type"] for m in box["items"]] == ["deadline.met.v1", "deadline.overdue.v1"]
    assert box["items"][0]["recipient"]["user"] == SW


def test_done_late_goes_to_whoever_was_told_it_was_overdue_even_after_a_reallocation(notify, smtp):
    ctx = notify.extensions["cpp"]
    a_plan(ctx)
    deliver_event(
        ctx,
        "deadline.overdue.v1",
        deadline("overdue", deadline_id="dl-1", owner="team_manager", assignee={"user": TM, "name": "Terry Manager"}),
        subject=CASE_ID,
    )
    deliver_event(
        ctx,
        "deadline.met.v1",
        deadline(
            "met",
            deadline_id="dl-1",
            owner="team_manager",
            assignee=None,
            met={
                "on": "2026-11-17",
                "late": True,
                "working_days_late": 1,
                "event_id": hex_id(),
                "type": "conference.held.v1",
                "time": None,
            },
        ),
        subject=CASE_ID,
    )
    done = ctx.store.collection("messages").find({"event_type": "deadline.met.v1"})
    assert sorted((m["channel"], m["recipient"]["user"], m["recipient"]["email"]) for m in done) == [
        ("email", TM, "terry@council.example"),
        ("inbox", TM, "terry@council.example"),
    ]
    assert done[0]["subject"] == "Done, 1 working day late: First core group meeting for Ana Jones"


def test_a_lookup_of_a_child_whose_plan_ended_tells_nobody(notify, smtp):
    ctx = notify.extensions["cpp"]
    a_plan(ctx)
    deliver_event(
        ctx,
        "lookup.performed.v1",
        {
            "lookup_id": hex_id(),
            "performed_at": "2026-11-23T10:00:00+00:00",
            "partner": PARTNER,
            "partner_role": "partner",
            "authority": "ENG",
            "child_id": CHILD_ID,
            "plan_id": None,
            "key_worker": None,
            "subject_of_plan": False,
            "plan_status": "ended",
            "key_worker_user": None,
            "child": CHILD,
        },
        subject=CHILD_ID,
    )
    assert ctx.store.collection("messages").find({}) == []


def test_the_lookup_reaches_the_key_worker_by_user_id_when_notify_has_no_plan_for_them(notify, smtp):
    ctx = notify.extensions["cpp"]
    staff(ctx, SW, "Sam Social", "sam.social@council.example", "social_worker")
    deliver_event(
        ctx,
        "lookup.performed.v1",
        {
            "lookup_id": hex_id(),
            "performed_at": "2026-11-23T10:00:00+00:00",
            "partner": "gp-practice-7",
            "partner_role": "partner",
            "authority": "ENG",
            "child_id": CHILD_ID,
            "plan_id": PLAN_ID,
            "key_worker": "Sam Social",
            "subject_of_plan": True,
            "plan_status": "in_force",
            "key_worker_user": SW,
            "child": CHILD,
        },
        subject=CHILD_ID,
    )
    messages = ctx.store.collection("messages").find({})
    assert sorted((m["channel"], m["recipient"]["user"], m["recipient"]["name"]) for m in messages) == [
        ("email", SW, "Sam Social"),
        ("inbox", SW, "Sam Social"),
    ]
    assert "gp-practice-7" in messages[0]["body"] and "Ana Jones" in messages[0]["subject"]
