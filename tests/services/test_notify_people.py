"""Telling people: the key worker of deadlines and lookups, the core group
and the family of conferences, by email over a real SMTP server on
loopback (aiosmtpd), in the inbox, and through a plugin's channel."""

from __future__ import annotations

import email
import time
from email import policy

import pytest
from aiosmtpd.controller import Controller
from icalendar import Calendar

from cpp_notify.app import create_app
from cpp_notify.mailer import Mailer
from cpp_notify.runtime import runtime
from cpp_shared.hookspecs import hookimpl
from cpp_shared.plugins import Plugins
from tests.helpers import bearer, deliver_event, free_port

KEY_WORKER = {
    "name": "Sam Social",
    "role": "social worker",
    "phone": "020 7946 0000",
    "email": "Sam.Social@council.example",
}
CORE_GROUP = [
    {
        "name": "Sam Social",
        "role": "social worker",
        "agency": "Children's services",
        "email": "sam.social@council.example",
        "is_family_member": False,
    },
    {
        "name": "Hana Visitor",
        "role": "health visitor",
        "agency": "NHS",
        "email": "hana@nhs.example",
        "is_family_member": False,
    },
    {"name": "Alex Parent", "role": "mother", "email": "alex@home.example", "is_family_member": True},
    {"name": "Jo Parent", "role": "father", "is_family_member": True},  # no address: not emailed
]
CHILD = {"name": "Ana Jones", "date_of_birth": "2019-04-02", "nhs_number": "9434765919"}
PLAN = {
    "plan_id": "plan-1",
    "case_id": "case-1",
    "child_id": "child-1",
    "status": "active",
    "plan_version": 2,
    "created_on": "2026-11-02",
    "content": {"key_worker": KEY_WORKER, "core_group": CORE_GROUP, "categories": ["neglect"]},
    "child": CHILD,
}


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's API)
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def smtp():
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    controller.stop()


@pytest.fixture
def notify(make_settings, smtp):
    controller, _ = smtp
    app = create_app(
        make_settings(
            "notify",
            CPP_NOTIFY_SMTP_HOST="127.0.0.1",
            CPP_NOTIFY_SMTP_PORT=str(controller.port),
            CPP_NOTIFY_MAIL_FROM="cp-team@council.example",
            CPP_NOTIFY_RETRY_SCHEDULE="0.05,0.1",
        )
    )
    return app


def mailer_of(app):
    ctx = app.extensions["cpp"]
    rt = runtime(ctx)
    return Mailer(ctx, smtp=rt.smtp, channels=rt.plugin_channels, schedule=(0.05, 0.1))


def sent_to(handler, address):
    return [m for rcpts, m in handler.messages if address in rcpts]


def test_a_review_conference_invites_the_core_group_and_tells_the_family_plainly(notify, smtp):
    _, received = smtp
    ctx = notify.extensions["cpp"]
    deliver_event(ctx, "plan.activated.v1", PLAN, subject="plan-1")
    deliver_event(
        ctx,
        "conference.scheduled.v1",
        {
            "conference_id": "conf-2",
            "case_id": "case-1",
            "child_id": "child-1",
            "kind": "review",
            "scheduled_for": "2027-02-03",
            "plan_id": "plan-1",
            "child": CHILD,
            "chair": {"user": "chair-1", "name": "Chris Chair"},
        },
    )
    assert mailer_of(notify).run_once() == 3
    assert sorted(a for rcpts, _ in received.messages for a in rcpts) == [
        "alex@home.example",
        "hana@nhs.example",
        "sam.social@council.example",
    ]
    [family] = sent_to(received, "alex@home.example")
    assert family["Subject"] == "A meeting about the plan for Ana Jones on Wednesday 3 February 2027"
    text = family.get_body(("plain",)).get_content()
    assert "Your views matter" in text and "Sam Social" in text and "020 7946 0000" in text
    assert "core group" not in text.lower()  # plain words for families
    [professional] = sent_to(received, "hana@nhs.example")
    assert professional["Subject"] == "Review child protection conference for Ana Jones on Wednesday 3 February 2027"
    assert "The chair is Chris Chair" in professional.get_body(("plain",)).get_content()
    assert professional["From"] == "cp-team@council.example"
    [invite] = [p for p in professional.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert invite.get_param("method") == "REQUEST"
    cal = Calendar.from_ical(invite.get_content())
    [event] = cal.walk("VEVENT")
    assert str(event["uid"]) == "conference-conf-2@cpp" and str(event["attendee"]) == "mailto:hana@nhs.example"
    assert str(event["summary"]) == "Review child protection conference for Ana Jones"

    deliver_event(
        ctx,
        "conference.rescheduled.v1",
        {
            "conference_id": "conf-2",
            "case_id": "case-1",
            "child_id": "child-1",
            "kind": "review",
            "scheduled_for": "2027-02-10",
            "previous_scheduled_for": "2027-02-03",
            "reason": "chair away",
            "plan_id": "plan-1",
            "child": CHILD,
        },
    )
    assert mailer_of(notify).run_once() == 3
    moved = sent_to(received, "hana@nhs.example")[-1]
    [invite2] = [p for p in moved.iter_attachments() if p.get_content_type() == "text/calendar"]
    [event2] = Calendar.from_ical(invite2.get_content()).walk("VEVENT")
    assert str(event2["uid"]) == str(event["uid"]) and int(event2["sequence"]) >= int(event["sequence"])
    assert "Wednesday 10 February 2027" in moved["Subject"]
    assert "Wednesday 3 February 2027" in sent_to(received, "alex@home.example")[-1].get_body(("plain",)).get_content()


def staff_member(ctx, user, name, email, role="social_worker"):
    deliver_event(
        ctx,
        "staff.updated.v1",
        {"user": user, "name": name, "email": email, "team": "Team A", "role": role, "manager": None, "phone": None},
        subject=user,
    )


SAM = {"user": "sw-1", "name": "Sam Social"}
LINKED_PLAN = {
    **PLAN,
    "key_worker": {**SAM, "role": "social worker", "team": "Team A", "phone": "020 7946 0000", "email": None},
    "content": {**PLAN["content"], "key_worker": {"name": "Sam Social", "phone": "020 7946 0000"}},
}
OVERDUE = {
    "deadline_id": "d-1",
    "case_id": "case-1",
    "plan_id": "plan-1",
    "child_id": "child-1",
    "rule_id": "first-core-group",
    "kind": "first_core_group",
    "name": "First core group meeting",
    "owner": "social_worker",
    "assignee": SAM,
    "team": "Team A",
    "status": "overdue",
    "due_on": "2026-11-16",
    "latest_on": "2026-11-16",
    "needs_date": False,
    "source": "Working Together 2023",
    "met": None,
    "closed_by": None,
    "superseded_by": None,
    "child": CHILD,
}


def test_staff_are_told_by_user_id_with_the_address_the_staff_directory_holds(notify, smtp, token_for):
    _, received = smtp
    ctx = notify.extensions["cpp"]
    client = notify.test_client()
    staff_member(ctx, "sw-1", "Sam Social", "Sam.Social@council.example")
    staff_member(ctx, "tm-1", "Terry Manager", "terry@council.example", role="team_manager")
    deliver_event(ctx, "plan.activated.v1", LINKED_PLAN, subject="plan-1")  # the key worker by user id, no address
    deliver_event(ctx, "deadline.overdue.v1", OVERDUE, subject="case-1")
    deliver_event(
        ctx,
        "deadline.approaching.v1",
        {
            **OVERDUE,
            "deadline_id": "d-2",
            "rule_id": "review",
            "kind": "review_conference",
            "name": "Review conference",
            "owner": "team_manager",
            "status": "approaching",
            "due_on": "2027-02-03",
            "latest_on": "2027-02-03",
            "assignee": {"user": "tm-1", "name": "Terry Manager"},
        },
        subject="case-1",
    )
    deliver_event(
        ctx,
        "lookup.performed.v1",
        {
            "lookup_id": "l-1",
            "performed_at": "2026-11-23T10:00:00+00:00",
            "partner": "nurse-1",
            "partner_role": "partner",
            "authority": "ENG",
            "child_id": "child-1",
            "plan_id": "plan-1",
            "key_worker": "Sam Social",
            "subject_of_plan": True,
            "plan_status": "in_force",
            "key_worker_user": "sw-1",
            "child": CHILD,
        },
        subject="child-1",
    )
    assert mailer_of(notify).run_once() == 3
    subjects = [m["Subject"] for m in sent_to(received, "sam.social@council.example")]
    assert subjects == [
        "OVERDUE: First core group meeting for Ana Jones (was due Monday 16 November 2026)",
        "A partner looked up Ana Jones, on your plan",
    ]
    [due] = sent_to(received, "terry@council.example")
    assert due["Subject"] == "Due Wednesday 3 February 2027: Review conference for Ana Jones"
    assert "Who must act: Terry Manager (team manager)" in due.get_body(("plain",)).get_content()
    stored = ctx.store.collection("messages").find({"channel": "inbox"})
    assert sorted((m["event_type"], m["recipient"]["user"], m["recipient"]["name"]) for m in stored) == [
        ("deadline.approaching.v1", "tm-1", "Terry Manager"),
        ("deadline.overdue.v1", "sw-1", "Sam Social"),
        ("lookup.performed.v1", "sw-1", "Sam Social"),
    ]

    # The inbox is the user's by their token's sub: no email claim is needed.
    sam = bearer(token_for("social_worker", user="sw-1"))
    terry = bearer(token_for("team_manager", user="tm-1"))
    other = bearer(token_for("social_worker", user="sw-9", email="sam.social@council.example"))
    box = client.get("/v1/inbox", headers=sam).json
    assert box["unread"] == 2 and [m["event_type"] for m in box["items"]] == [
        "lookup.performed.v1",
        "deadline.overdue.v1",
    ]
    lookup = box["items"][0]
    assert "Ana Jones" in lookup["body"] and "Sam Social" in lookup["body"] and "nurse-1" in lookup["body"]
    assert CHILD["nhs_number"] not in lookup["subject"] + lookup["body"]
    assert [m["event_type"] for m in client.get("/v1/inbox", headers=terry).json["items"]] == [
        "deadline.approaching.v1"
    ]
    # Someone else with the same email claim does not read messages addressed to sw-1.
    assert client.get("/v1/inbox", headers=other).json["items"] == []
    first = box["items"][0]["id"]
    assert client.post(f"/v1/inbox/{first}/read", headers=other).status_code == 404
    assert client.post(f"/v1/inbox/{first}/read", headers=sam).json["read_at"] is not None
    assert client.get("/v1/inbox", query_string={"unread": "true"}, headers=sam).json["unread"] == 1
    assert client.get("/v1/inbox", headers=bearer(token_for("partner"))).status_code == 403


def test_a_message_addressed_by_email_alone_is_read_by_the_user_with_that_address(notify, smtp, token_for):
    """Messages stored before the inbox was kept by user id (and messages to a
    core group member known only by address) are read by the address."""
    ctx = notify.extensions["cpp"]
    client = notify.test_client()
    deliver_event(ctx, "plan.activated.v1", PLAN, subject="plan-1")  # a key worker known only by address
    deliver_event(ctx, "deadline.overdue.v1", {**OVERDUE, "assignee": None}, subject="case-1")
    [message] = ctx.store.collection("messages").find({"channel": "inbox"})
    assert message["recipient"]["user"] is None and message["recipient"]["email"] == "sam.social@council.example"
    older = {k: v for k, v in message.items() if k != "version"}
    older.update(
        _id="msg_older",
        created_at=message["created_at"] - 60,
        recipient={k: v for k, v in message["recipient"].items() if k != "user"},
    )
    ctx.store.collection("messages").insert_one(older)  # as stored before: no user in the recipient

    by_address = bearer(token_for("social_worker", user="sw-1", email="Sam.Social@council.example"))
    box = client.get("/v1/inbox", headers=by_address).json
    assert [m["id"] for m in box["items"]] == [message["_id"], "msg_older"] and box["unread"] == 2
    assert (
        client.get("/v1/inbox", query_string={"page_size": 1, "page": 2}, headers=by_address).json["items"][0]["id"]
        == "msg_older"
    )
    assert client.post("/v1/inbox/msg_older/read", headers=by_address).status_code == 200
    # Without that address (the same user, no email claim) they are not theirs.
    assert client.get("/v1/inbox", headers=bearer(token_for("social_worker", user="sw-1"))).json["items"] == []


def test_an_smtp_server_down_is_retried_and_nothing_is_lost(make_settings, smtp):
    controller, received = smtp
    port = free_port()  # nothing listens here yet
    app = create_app(make_settings("notify", CPP_NOTIFY_SMTP_HOST="127.0.0.1", CPP_NOTIFY_SMTP_PORT=str(port)))
    ctx = app.extensions["cpp"]
    deliver_event(ctx, "plan.activated.v1", PLAN, subject="plan-1")
    deliver_event(
        ctx,
        "conference.cancelled.v1",
        {
            "conference_id": "conf-2",
            "case_id": "case-1",
            "child_id": "child-1",
            "kind": "review",
            "scheduled_for": "2027-02-03",
            "reason": "moved",
            "plan_id": "plan-1",
        },
    )
    mailer = mailer_of(app)
    assert mailer.run_once() == 0
    messages = ctx.store.collection("messages").find({"channel": "email"})
    assert len(messages) == 3 and all(m["state"] == "ready" and m["attempts"][0]["error"] for m in messages)
    # The server comes up on that port: the retries deliver everything, once.
    late = Controller(received, hostname="127.0.0.1", port=port)
    late.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(received.messages) < 3:
            mailer.run_once()
            time.sleep(0.05)
    finally:
        late.stop()
    assert len(received.messages) == 3
    [cancel] = [p for p in received.messages[0][1].iter_attachments() if p.get_content_type() == "text/calendar"]
    assert cancel.get_param("method") == "CANCEL"
    assert all(m["state"] == "sent" for m in ctx.store.collection("messages").find({"channel": "email"}))


class TextMessages:
    """A council's plugin: parents are also texted, through its own channel."""

    def __init__(self):
        self.sent = []

    @hookimpl
    def cpp_notification_channels(self):
        return [{"id": "sms", "name": "Text message", "send": self.sent.append}]

    @hookimpl
    def cpp_notification_recipients(self, event, recipients):
        return [{**r, "channels": [*r["channels"], "sms"]} if r["audience"] == "family" else r for r in recipients]

    @hookimpl
    def cpp_notification_templates(self):
        return {"conference.cancelled.v1.family.txt": "Meeting off: {{ scheduled_for_words }}\nNo meeting."}


def test_a_plugin_adds_a_channel_changes_recipients_and_rewords_a_letter(notify, smtp):
    _, received = smtp
    ctx = notify.extensions["cpp"]
    plugin = TextMessages()
    ctx.plugins = Plugins(["england"], extra=[("texts", plugin)])
    ctx.extensions.pop("notify")
    deliver_event(ctx, "plan.activated.v1", PLAN, subject="plan-1")
    deliver_event(
        ctx,
        "conference.cancelled.v1",
        {
            "conference_id": "conf-2",
            "case_id": "case-1",
            "child_id": "child-1",
            "kind": "review",
            "scheduled_for": "2027-02-03",
            "reason": "moved",
            "plan_id": "plan-1",
        },
    )
    assert mailer_of(notify).run_once() == 5  # 3 emails, and a text to each parent (one has no email)
    assert sorted(m["recipient"]["name"] for m in plugin.sent) == ["Alex Parent", "Jo Parent"]
    assert plugin.sent[0]["subject"] == "Meeting off: Wednesday 3 February 2027"
    assert sent_to(received, "alex@home.example")[0]["Subject"] == "Meeting off: Wednesday 3 February 2027"
