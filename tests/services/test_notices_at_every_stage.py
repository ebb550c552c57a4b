"""Notices to the right people at every stage: a case walked over the plans
API before its initial conference, its events handed to the scheduler and
to notify as their workers would, the scheduler ticked, and notify's mail
sent to a real SMTP server on loopback (aiosmtpd). The case's social worker
hears of the enquiries and of the conference date before any plan exists;
everyone invited to the conference gets the invitation; a chair-owned
deadline reaches the chair; a notice nobody can receive is reported on the
deadline; an overdue step escalates to the team manager, then to the
service manager."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from icalendar import Calendar

from cpp_notify.app import create_app as create_notify_app
from cpp_plans.app import create_app as create_plans_app
from cpp_scheduler.app import create_app as create_scheduler_app
from cpp_scheduler.tick import Ticker
from tests.helpers import Pump, bearer, deliver_event, ensure_child
from tests.services.test_calendar_contract import run_icaljs
from tests.services.test_families_http import a_family, ok, three_children
from tests.services.test_notify_people import mailer_of, sent_to, smtp  # noqa: F401 (the SMTP server fixture)
from tests.services.test_plans_to_scheduler import ENG

SAM_EMAIL = "sam.social@council.example"
TERRY_EMAIL = "terry.manager@council.example"
VAL_EMAIL = "val.service@council.example"
CHRIS_EMAIL = "chris.chair@council.example"


@pytest.fixture
def scheduler_app(make_settings):
    return create_scheduler_app(make_settings("scheduler"))


@pytest.fixture
def scheduler(scheduler_app):
    return scheduler_app.extensions["cpp"]


@pytest.fixture
def scheduler_api(scheduler_app):
    return scheduler_app.test_client()


@pytest.fixture
def notify(make_settings, smtp):  # noqa: F811 (the fixture imported above)
    controller, _ = smtp
    return create_notify_app(
        make_settings(
            "notify",
            CPP_NOTIFY_SMTP_HOST="127.0.0.1",
            CPP_NOTIFY_SMTP_PORT=str(controller.port),
            CPP_NOTIFY_MAIL_FROM="cp-team@council.example",
        )
    )


@pytest.fixture
def who(token_for):
    return {
        "sw": bearer(token_for("social_worker", user="sw-1", email=SAM_EMAIL, team="Team A", manager="tm-1")),
        "tm": bearer(
            token_for(
                "team_manager", user="tm-1", name="Terry Manager", email=TERRY_EMAIL, team="Team A", manager="sm-1"
            )
        ),
        "sm": bearer(token_for("team_manager", user="sm-1", name="Val Service", email=VAL_EMAIL, team="Service")),
        "chair": bearer(token_for("chair", user="chair-1", name="Chris Chair", email=CHRIS_EMAIL)),
    }


class Walk:
    """The plans service's events to the scheduler and to notify, the
    scheduler's to notify, once each; the tick; notify's mail sent."""

    def __init__(self, plans, plans_store, scheduler, notify):
        self.plans, self.scheduler, self.notify_app = plans, scheduler, notify
        self.notify = notify.extensions["cpp"]
        self.to_scheduler = Pump(plans_store, scheduler)
        self.to_notify = Pump(plans_store, self.notify)
        self.scheduled_to_notify = Pump(scheduler.store, self.notify)
        self.ticker = Ticker(scheduler)

    def pump(self) -> None:
        self.to_scheduler()
        self.to_notify()
        self.scheduled_to_notify()

    def tick(self, day: date) -> None:
        self.ticker.run_once(day, use_lease=False)
        self.scheduled_to_notify()

    def send(self) -> int:
        """Notify's mail sent: how many."""
        return mailer_of(self.notify_app).run_once()

    def deadline(self, case_id: str, rule_id: str) -> dict:
        [found] = self.scheduler.store.collection("deadlines").find({"case_id": case_id, "rule_id": rule_id})
        return found

    def inbox(self, user: str) -> list[dict]:
        return self.notify.store.collection("messages").find({"channel": "inbox", "recipient.user": user})


@pytest.fixture
def walk(plans, plans_store, scheduler, notify, who):
    for headers in who.values():  # each is in the staff directory from their first request
        assert plans.get("/v1/staff", headers=headers).status_code in (200, 403)
    return Walk(plans, plans_store, scheduler, notify)


def read_with_icaljs(body: str) -> dict:
    """The invitation as ical.js (Thunderbird's parser) reads it: it must accept it."""
    r = run_icaljs(body.encode())
    assert r.returncode == 0, r.stderr.decode()
    [event] = json.loads(r.stdout)["events"]
    return event


def open_case(walk, who, received_on: date, *, decide: bool = True) -> str:
    """A case opened by the social worker on a referral, decided on the
    day (section 47 enquiries) by the team manager unless ``decide`` is false."""
    plans = walk.plans
    opened = plans.post("/v1/cases", json={"child_id": ensure_child(plans, "child-7")}, headers=who["sw"])
    assert opened.status_code == 201, opened.json
    case_id, tag = opened.json["id"], opened.headers["ETag"]
    received = plans.post(
        f"/v1/cases/{case_id}/referral",
        json={"received_on": received_on.isoformat(), "source": "school", "summary": "A bruise seen at school."},
        headers={**who["sw"], "If-Match": tag},
    )
    assert received.status_code == 200, received.json
    if decide:
        decide_referral(walk, who, case_id, received_on)
    walk.pump()
    return case_id


def decide_referral(walk, who, case_id: str, on: date) -> None:
    tag = f'"{walk.plans.get(f"/v1/cases/{case_id}", headers=who["sw"]).json["version"]}"'
    decided = walk.plans.post(
        f"/v1/cases/{case_id}/referral/decision",
        json={"decided_on": on.isoformat(), "decision": "strategy_discussion", "reason": "Section 47."},
        headers={**who["tm"], "If-Match": tag},
    )
    assert decided.status_code == 200, decided.json
    walk.pump()


def subjects(received, address) -> list[str]:
    return [str(m["Subject"]) for m in sent_to(received, address)]


def test_before_the_plan_the_social_worker_hears_of_the_enquiries(walk, who, smtp):  # noqa: F811
    _, received = smtp
    d0 = ENG.on_or_before(date.today() - timedelta(days=14))[0]
    case_id = open_case(walk, who, d0, decide=False)
    decision = walk.deadline(case_id, "referral-decision")
    assert decision["owner"] == "team_manager" and decision["plan_id"] is None

    # The referral's decision (the team manager's) overdue: the team manager, and the case's social worker.
    walk.tick(date.fromisoformat(decision["overdue_on"]))
    assert walk.send() == 2
    assert [s[:37] for s in subjects(received, TERRY_EMAIL)] == ["OVERDUE: Decision on the referral for"]
    assert [s[:37] for s in subjects(received, SAM_EMAIL)] == ["OVERDUE: Decision on the referral for"]

    # Decided late, for section 47 enquiries: the assessment's reminder reaches the social worker.
    decide_referral(walk, who, case_id, date.fromisoformat(decision["overdue_on"]))
    assessment = walk.deadline(case_id, "child-and-family-assessment")
    assert assessment["plan_id"] is None
    walk.tick(date.fromisoformat(assessment["remind_on"]))
    walk.send()
    assert any(s.startswith("Due ") and "Child and family assessment" in s for s in subjects(received, SAM_EMAIL))
    assert {m["event_type"] for m in walk.inbox("sw-1")} >= {"deadline.approaching.v1", "deadline.overdue.v1"}


def test_before_the_plan_the_social_worker_hears_of_the_conference_date(walk, who, smtp):  # noqa: F811
    _, received = smtp
    d0 = ENG.on_or_before(date.today() - timedelta(days=1))[0]
    case_id = open_case(walk, who, d0)
    held = walk.plans.post(
        f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": d0.isoformat()}, headers=who["sw"]
    )
    assert held.status_code == 201, held.json
    walk.pump()
    initial = walk.deadline(case_id, "initial-conference")
    assert initial["plan_id"] is None

    walk.tick(date.fromisoformat(initial["remind_on"]))
    walk.send()
    wanted = f"Due {initial['due_on'] and date.fromisoformat(initial['due_on']):%A}"
    conference_date = [s for s in subjects(received, SAM_EMAIL) if "Initial child protection conference" in s]
    assert conference_date and conference_date[0].startswith(wanted), subjects(received, SAM_EMAIL)
    assert "deadline.approaching.v1" in {m["event_type"] for m in walk.inbox("sw-1")}


INVITED = [
    {"name": "Hana Visitor", "role": "health visitor", "agency": "NHS", "email": "hana@nhs.example"},
    {"name": "Tom Teacher", "role": "teacher", "agency": "Hill School", "email": "tom@school.example"},
    {"name": "Alex Parent", "role": "mother", "email": "alex@home.example", "is_family_member": True},
    {"name": "Jo Parent", "role": "father", "is_family_member": True},  # no address: invited, not emailed
]


def test_before_the_plan_everyone_invited_to_the_initial_conference_is_sent_the_invitation(
    walk,
    who,
    smtp,  # noqa: F811
):
    _, received = smtp
    d0 = ENG.on_or_before(date.today() - timedelta(days=1))[0]
    case_id = open_case(walk, who, d0)
    plans = walk.plans
    held = plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": d0.isoformat()}, headers=who["sw"])
    assert held.status_code == 201, held.json
    done = plans.post(
        f"/v1/cases/{case_id}/enquiry-outcome",
        json={"completed_on": d0.isoformat(), "conference_required": True},
        headers=who["sw"],
    )
    assert done.status_code == 200, done.json
    on = (d0 + timedelta(days=10)).isoformat()
    conf = plans.post(
        f"/v1/cases/{case_id}/conferences",
        json={"kind": "initial", "scheduled_for": on, "chair": "chair-1", "invitees": INVITED},
        headers=who["sw"],
    )
    assert conf.status_code == 201, conf.json
    assert [i["name"] for i in conf.json["invitees"]] == [i["name"] for i in INVITED]
    walk.pump()
    assert walk.send() == 4
    assert sorted(a for rcpts, _ in received.messages for a in rcpts) == [
        "alex@home.example",
        "hana@nhs.example",
        SAM_EMAIL,
        "tom@school.example",
    ]
    [family] = sent_to(received, "alex@home.example")
    assert family["Subject"].startswith("A meeting about the plan for")
    for address in ("alex@home.example", "hana@nhs.example", SAM_EMAIL, "tom@school.example"):
        [mail] = sent_to(received, address)
        [invite] = [p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar"]
        assert invite.get_param("method") == "REQUEST"
        [event] = Calendar.from_ical(invite.get_content()).walk("VEVENT")
        assert str(event["attendee"]) == f"mailto:{address}"
        read = read_with_icaljs(invite.get_content())
        assert read["uid"] == f"conference-{conf.json['id']}@cpp" and read["start"] == on
    assert [m["event_type"] for m in walk.inbox("sw-1")] == ["conference.scheduled.v1"]

    # Moved: the same people are told, with the same calendar entry moved.
    tag = plans.get(f"/v1/conferences/{conf.json['id']}", headers=who["sw"]).headers["ETag"]
    moved = plans.patch(
        f"/v1/conferences/{conf.json['id']}",
        json={"scheduled_for": (d0 + timedelta(days=12)).isoformat(), "reason": "the chair is away"},
        headers={**who["sw"], "If-Match": tag},
    )
    assert moved.status_code == 200, moved.json
    walk.pump()
    assert walk.send() == 4
    cancelled = plans.post(
        f"/v1/conferences/{conf.json['id']}/cancellation", json={"reason": "brought forward"}, headers=who["sw"]
    )
    assert cancelled.status_code == 200, cancelled.json
    walk.pump()
    assert walk.send() == 4
    last = sent_to(received, "tom@school.example")[-1]
    [cancel] = [p for p in last.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert cancel.get_param("method") == "CANCEL"
    assert read_with_icaljs(cancel.get_content())["uid"] == f"conference-{conf.json['id']}@cpp"


def deadline_event(**extra) -> dict:
    return {
        "deadline_id": "d-9",
        "case_id": "case-9",
        "plan_id": None,
        "child_id": "child-9",
        "rule_id": "first-review-conference",
        "kind": "review_conference",
        "name": "First review conference",
        "owner": "chair",
        "assignee": None,
        "status": "approaching",
        "due_on": "2027-03-01",
        "latest_on": "2027-03-01",
        "needs_date": False,
        "source": "Working Together 2023",
        "met": None,
        "closed_by": None,
        "superseded_by": None,
        "child": {"name": "Ana Jones", "date_of_birth": "2019-04-02", "nhs_number": None},
        **extra,
    }


def staff_member(ctx, user, name, email, role):
    deliver_event(
        ctx,
        "staff.updated.v1",
        {"user": user, "name": name, "email": email, "team": "Team A", "role": role, "manager": None, "phone": None},
        subject=user,
    )


def test_a_chair_owned_deadline_is_told_to_the_chair_of_the_case(notify, smtp):  # noqa: F811
    _, received = smtp
    ctx = notify.extensions["cpp"]
    staff_member(ctx, "sw-1", "Sam Social", SAM_EMAIL, "social_worker")
    staff_member(ctx, "chair-1", "Chris Chair", CHRIS_EMAIL, "chair")
    deliver_event(
        ctx,
        "case.opened.v1",
        {
            "case_id": "case-9",
            "child_id": "child-9",
            "opened_at": "2026-11-02T09:00:00+00:00",
            "social_worker": {"user": "sw-1", "name": "Sam Social"},
            "team_manager": None,
            "team": "Team A",
        },
        subject="case-9",
    )
    deliver_event(
        ctx,
        "conference.scheduled.v1",
        {
            "conference_id": "conf-9",
            "case_id": "case-9",
            "child_id": "child-9",
            "kind": "initial",
            "scheduled_for": "2026-12-01",
            "plan_id": None,
            "chair": {"user": "chair-1", "name": "Chris Chair"},
        },
        subject="case-9",
    )
    sent_before = mailer_of(notify).run_once()
    assert sent_before == 1  # the social worker, invited
    # The scheduler named nobody (the chair not yet known to it): the case's chair is told.
    deliver_event(ctx, "deadline.approaching.v1", deadline_event(plan_id="plan-9"), subject="case-9")
    assert mailer_of(notify).run_once() == 1
    [due] = sent_to(received, CHRIS_EMAIL)
    assert due["Subject"] == "Due Monday 1 March 2027: First review conference for Ana Jones"
    # Named by the scheduler: the chair it names.
    staff_member(ctx, "chair-2", "Pat Chair", "pat.chair@council.example", "chair")
    deliver_event(
        ctx,
        "deadline.approaching.v1",
        deadline_event(deadline_id="d-10", plan_id="plan-9", assignee={"user": "chair-2", "name": "Pat Chair"}),
        subject="case-9",
    )
    assert mailer_of(notify).run_once() == 1
    assert len(sent_to(received, "pat.chair@council.example")) == 1


def test_a_deadline_with_nobody_to_tell_is_reported_on_the_deadline(walk, who, scheduler, scheduler_api):
    ctx = walk.notify
    # A case notify knows nobody of: nobody holds the role, there is no social worker.
    deliver_event(ctx, "deadline.overdue.v1", deadline_event(status="overdue"), subject="case-9")
    # A plan whose key worker is written by name alone: no address, no inbox.
    deliver_event(
        ctx,
        "plan.activated.v1",
        {
            "plan_id": "plan-10",
            "case_id": "case-10",
            "child_id": "child-10",
            "status": "active",
            "content": {"key_worker": {"name": "Pat Nobody"}, "core_group": []},
        },
        subject="plan-10",
    )
    deliver_event(
        ctx,
        "deadline.approaching.v1",
        deadline_event(deadline_id="d-11", case_id="case-10", plan_id="plan-10", owner="social_worker"),
        subject="case-10",
    )
    # An escalation to a service manager nobody holds.
    escalated = {"level": "service_manager", "to": None, "on": "2027-03-10", "grace_working_days": 5}
    deliver_event(
        ctx,
        "deadline.escalated.v1",
        deadline_event(deadline_id="d-12", status="overdue", escalation=escalated),
        subject="case-9",
    )
    reports = [m.body for m in ctx.store.outbox_pending(1000) if m.routing_key == "deadline.nobody_told.v1"]
    assert [(r["data"]["deadline_id"], r["data"]["reason"], r["data"]["people"]) for r in reports] == [
        ("d-9", "nobody_to_tell", []),
        ("d-11", "no_address", ["Pat Nobody"]),
        ("d-12", "nobody_to_tell", []),
    ]
    assert reports[1]["data"]["explanation"] == "Nobody could be told: Pat Nobody has no email address or inbox here."
    assert reports[2]["data"]["explanation"] == (
        "Nobody could be told: the overdue step has no service manager to escalate to."
    )
    assert reports[0]["data"]["explanation"].startswith("Nobody could be told")

    # The walked case: its deadline records the report, and the scheduler's API shows it.
    d0 = ENG.on_or_before(date.today() - timedelta(days=1))[0]
    case_id = open_case(walk, who, d0)
    decision = walk.deadline(case_id, "referral-decision")
    report = {**reports[0]["data"], "deadline_id": decision["_id"], "case_id": case_id}
    deliver_event(scheduler, "deadline.nobody_told.v1", report, subject=case_id)
    shown = walk.deadline(case_id, "referral-decision")["nobody_told"]
    assert shown["reason"] == "nobody_to_tell" and shown["explanation"].startswith("Nobody could be told")
    answer = scheduler_api.get(f"/v1/deadlines/{decision['_id']}", headers=who["tm"])
    assert answer.status_code == 200, answer.json
    assert answer.json["nobody_told"] == {k: shown[k] for k in ("notice", "reason", "explanation", "people", "at")}


def test_an_overdue_step_escalates_to_the_team_manager_then_the_service_manager(
    walk,
    who,
    smtp,
    scheduler_api,  # noqa: F811
):
    _, received = smtp
    d0 = ENG.on_or_before(date.today() - timedelta(days=1))[0]
    case_id = open_case(walk, who, d0)
    assessment = walk.deadline(case_id, "child-and-family-assessment")
    overdue_on = date.fromisoformat(assessment["overdue_on"])
    walk.tick(overdue_on)
    assert walk.deadline(case_id, "child-and-family-assessment")["status"] == "overdue"
    walk.send()
    assert not [s for s in subjects(received, TERRY_EMAIL) if s.startswith("ESCALATED")]

    # One working day short of the grace period (England: the platform's 2): not yet.
    walk.tick(ENG.add_working_days(overdue_on, 1))
    assert walk.deadline(case_id, "child-and-family-assessment").get("escalations") == []
    first = ENG.add_working_days(overdue_on, 2)
    walk.tick(first)
    [step] = walk.deadline(case_id, "child-and-family-assessment")["escalations"]
    assert step["level"] == "team_manager" and step["to"]["user"] == "tm-1"
    walk.send()
    [escalated] = [m for m in sent_to(received, TERRY_EMAIL) if m["Subject"].startswith("ESCALATED")]
    assert "Child and family assessment" in escalated["Subject"]
    assert "as team manager" in escalated.get_body(("plain",)).get_content()
    assert "deadline.escalated.v1" in {m["event_type"] for m in walk.inbox("tm-1")}
    assert not sent_to(received, VAL_EMAIL)

    # Five working days later, still undone: the service manager (the team manager's manager).
    walk.tick(ENG.add_working_days(first, 4))
    assert len(walk.deadline(case_id, "child-and-family-assessment")["escalations"]) == 1
    walk.tick(ENG.add_working_days(first, 5))
    steps = walk.deadline(case_id, "child-and-family-assessment")["escalations"]
    assert [(s["level"], s["to"]["user"]) for s in steps] == [("team_manager", "tm-1"), ("service_manager", "sm-1")]
    shown = scheduler_api.get(f"/v1/deadlines/{assessment['_id']}", headers=who["tm"]).json
    assert [(s["level"], s["to"]["name"]) for s in shown["escalations"]] == [
        ("team_manager", "Terry Manager"),
        ("service_manager", "Val Service"),
    ]
    assert shown["escalate_on"] is None
    walk.send()
    [to_val] = sent_to(received, VAL_EMAIL)
    assert to_val["Subject"].startswith("ESCALATED to you: Child and family assessment")
    assert "as service manager" in to_val.get_body(("plain",)).get_content()
    assert "deadline.escalated.v1" in {m["event_type"] for m in walk.inbox("sm-1")}
    walk.tick(ENG.add_working_days(first, 30))  # no third level
    assert len(walk.deadline(case_id, "child-and-family-assessment")["escalations"]) == 2


def test_a_family_conference_invites_the_same_people_to_each_childs_conference(plans, plans_store, who):
    sw = who["sw"]
    children = three_children(plans, sw)
    family = a_family(plans, sw, children)
    base = f"/v1/families/{family['id']}"
    d0 = ENG.on_or_before(date.today() - timedelta(days=5))[0].isoformat()
    ok(plans.post(f"{base}/cases", json={"children": children}, headers=sw), 201)
    ok(plans.post(f"{base}/strategy-discussions", json={"children": children, "held_on": d0}, headers=sw), 201)
    outcomes = [{"child_id": c, "conference_required": True} for c in children]
    ok(plans.post(f"{base}/enquiry-outcomes", json={"completed_on": d0, "outcomes": outcomes}, headers=sw))
    body = {"children": children, "kind": "initial", "scheduled_for": d0, "invitees": INVITED}
    ok(plans.post(f"{base}/conferences", json=body, headers=sw), 201)
    scheduled = [
        m.body["data"] for m in plans_store.outbox_pending(10_000) if m.routing_key == "conference.scheduled.v1"
    ]
    assert len(scheduled) == 3
    for data in scheduled:
        assert [i["name"] for i in data["invitees"]] == ["Hana Visitor", "Tom Teacher"]
        assert data["family_invitees"] == [
            {"name": "Alex Parent", "role": "mother", "email": "alex@home.example"},
            {"name": "Jo Parent", "role": "father", "email": None},
        ]


@pytest.fixture
def scottish_walk(make_settings, token_for, smtp):  # noqa: F811
    """A Scottish deployment's plans service, scheduler and notify, walked together."""
    controller, _ = smtp
    plans_app = create_plans_app(make_settings("plans", CPP_PLUGINS="scotland"))
    scheduler_app = create_scheduler_app(make_settings("scheduler", CPP_PLUGINS="scotland"))
    notify_app = create_notify_app(
        make_settings(
            "notify",
            CPP_PLUGINS="scotland",
            CPP_NOTIFY_SMTP_HOST="127.0.0.1",
            CPP_NOTIFY_SMTP_PORT=str(controller.port),
            CPP_NOTIFY_MAIL_FROM="cp-team@council.example",
        )
    )
    plans = plans_app.test_client()
    sw = bearer(token_for("social_worker", user="sw-1", email=SAM_EMAIL, team="Team A", authority="SCT"))
    assert plans.get("/v1/staff", headers=sw).status_code in (200, 403)  # in the staff directory
    yield Walk(plans, plans_app.extensions["cpp"].store, scheduler_app.extensions["cpp"], notify_app), sw
    for app in (plans_app, scheduler_app, notify_app):
        app.extensions["cpp"].store.close()


def test_before_the_plan_a_conference_step_no_chair_holds_yet_reaches_the_social_worker(scottish_walk, smtp):  # noqa: F811
    """Scotland's invitations to a CPPM are the chair's, 5 days before the meeting; a CPPM scheduled
    before its chair is named has nobody to act: its social worker is told."""
    _, received = smtp
    walk, sw = scottish_walk
    plans = walk.plans
    held_on = ENG.on_or_before(date.today() - timedelta(days=7))[0].isoformat()
    case_id = plans.post("/v1/cases", json={"child_id": ensure_child(plans, "child-s1")}, headers=sw).json["id"]
    held = plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": held_on}, headers=sw)
    assert held.status_code == 201, held.json
    done = plans.post(
        f"/v1/cases/{case_id}/enquiry-outcome", json={"completed_on": held_on, "conference_required": True}, headers=sw
    )
    assert done.status_code == 200, done.json
    on = (date.today() + timedelta(days=20)).isoformat()
    conf = plans.post(f"/v1/cases/{case_id}/conferences", json={"kind": "initial", "scheduled_for": on}, headers=sw)
    assert conf.status_code == 201, conf.json
    walk.pump()
    walk.send()  # the social worker's invitation to the meeting
    notice = walk.deadline(case_id, "cppm-notice")
    assert notice["owner"] == "chair" and notice["assignee"] is None and notice["plan_id"] is None

    walk.tick(date.fromisoformat(notice["remind_on"]))
    walk.send()
    subjects_sent = [str(m["Subject"]) for m in sent_to(received, SAM_EMAIL)]
    assert any(
        s.startswith("Due ") and "Invitations to the child protection planning meeting" in s for s in subjects_sent
    ), subjects_sent
    assert "deadline.approaching.v1" in {m["event_type"] for m in walk.inbox("sw-1")}
