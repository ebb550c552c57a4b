"""People, not ids: a child walked through the English lifecycle by staff
named in their tokens, every event handed to every service whose queue is
bound for it (as RabbitMQ would), and then what each person finds and reads:

* the social worker finds the case (``GET /v1/cases?worker=me``) and its
  deadlines (``GET /v1/deadlines?assignee=me``), each naming the child;
* the team manager's approvals name the child and the conference's date;
* the social worker's inbox, by user id, holds messages naming the child,
  among them "done, N working days late" for a step recorded late;
* no message (inbox or email, as the SMTP server received it) and no
  document (HTML, and PDF as pdftotext reads it) holds a 32-hex or
  uuid-shaped id, and every one names the child.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from cpp_docs.app import create_app as create_docs_app
from cpp_docs.render import Renderer
from cpp_notify.app import create_app as create_notify_app
from cpp_scheduler.app import create_app as create_scheduler_app
from cpp_scheduler.tick import Ticker
from cpp_shared.contracts.catalogue import consumers
from tests.helpers import KEY_WORKER_ATTENDS, bearer, hand_over, new_child, ok
from tests.services.test_docs_http import pdf_text
from tests.services.test_notify_people import Inbox, mailer_of, smtp  # noqa: F401 - the SMTP server fixture
from tests.services.test_plans_lifecycle_http import DETAILED, OUTLINE
from tests.services.test_plans_to_scheduler import ENG
from tests.unit.test_docs_names import ID_SHAPED

CHILD = "Ana Parent"


class Bus:
    """Every event committed to any service's outbox, once, to every other
    service whose queue the topology binds for its type."""

    def __init__(self, apps):
        self.apps, self.seen = apps, set()

    def __call__(self) -> None:
        moved = True
        while moved:
            moved = False
            for name, app in self.apps.items():
                for m in app.extensions["cpp"].store.outbox_pending(100_000):
                    if m.message_id in self.seen:
                        continue
                    self.seen.add(m.message_id)
                    moved = True
                    for other in consumers(m.body["type"]):
                        if other != name and other in self.apps:
                            hand_over(self.apps[other].extensions["cpp"], m.body)


@pytest.fixture
def platform(plans_app, make_settings, smtp):  # noqa: F811 - the fixture imported above
    controller, _ = smtp
    notify = create_notify_app(
        make_settings(
            "notify",
            CPP_NOTIFY_SMTP_HOST="127.0.0.1",
            CPP_NOTIFY_SMTP_PORT=str(controller.port),
            CPP_NOTIFY_MAIL_FROM="cp-team@council.example",
            CPP_NOTIFY_RETRY_SCHEDULE="0.05,0.1",
        )
    )
    return {
        "plans": plans_app,
        "scheduler": create_scheduler_app(make_settings("scheduler")),
        "notify": notify,
        "docs": create_docs_app(make_settings("docs")),
    }


@pytest.fixture
def people(token_for):
    return {
        "sw": bearer(
            token_for(
                "social_worker",
                user="sw-1",
                name="Sam Social",
                email="sam.social@council.example",
                team="Area North",
                manager="tm-1",
            )
        ),
        "tm": bearer(
            token_for(
                "team_manager", user="tm-1", name="Tia Manager", email="tia.manager@council.example", team="Area North"
            )
        ),
        "chair": bearer(token_for("chair", user="chair-1", name="Chris Chair", email="chris.chair@council.example")),
    }


def working_days_after(day: date, n: int) -> date:
    while n:
        day += timedelta(days=1)
        n -= not ENG.closure(day)
    return day


def test_every_worker_finds_their_work_and_everything_read_names_the_child(platform, people, smtp, tmp_path):  # noqa: F811
    _, received = smtp
    apps, bus = platform, Bus(platform)
    plans, scheduler, notify, docs = (apps[s].test_client() for s in ("plans", "scheduler", "notify", "docs"))
    sw, tm, chair = people["sw"], people["tm"], people["chair"]
    for who in people.values():  # each signs in once: the staff directory knows them
        ok(plans.get("/v1/staff/me", headers=who))

    d0 = ENG.on_or_before(date.today() - timedelta(days=90))[0]
    on = lambda days: (d0 + timedelta(days=days)).isoformat()  # noqa: E731
    child_id = new_child(
        plans,
        sw,
        given_names="Ana",
        family_name="Parent",
        date_of_birth="2019-05-31",
        identifiers=[{"scheme": "nhs_number", "value": "9434765919"}],
    )
    case = ok(plans.post("/v1/cases", json={"child_id": child_id}, headers=sw), 201)
    assert case["social_worker"] == {"user": "sw-1", "name": "Sam Social"}
    assert case["team_manager"] == {"user": "tm-1", "name": "Tia Manager"} and case["team"] == "Area North"
    case_id = case["id"]
    ok(plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": on(0)}, headers=sw), 201)
    ok(
        plans.post(
            f"/v1/cases/{case_id}/enquiry-outcome",
            headers=sw,
            json={"completed_on": on(2), "conference_required": True},
        )
    )
    conference = ok(
        plans.post(
            f"/v1/cases/{case_id}/conferences",
            headers=sw,
            json={"kind": "initial", "scheduled_for": on(10), "chair": "chair-1"},
        ),
        201,
    )
    report = ok(
        plans.post(
            f"/v1/conferences/{conference['id']}/reports",
            headers=sw,
            json={
                "findings": "Ana was seen at home and at nursery.",
                "child_seen": [{"on": on(3), "alone": True}],
                "drafted_on": on(5),
            },
        ),
        201,
    )
    ok(plans.post(f"/v1/reports/{report['id']}/submit", json={"on": on(6)}, headers=sw))
    bus()

    # The team manager's approvals name the child and the conference's date, and how long it has waited.
    [waiting] = ok(plans.get("/v1/approvals", headers=tm))
    assert waiting["child_name"] == CHILD and waiting["conference_date"] == on(10)
    assert waiting["waiting_days"] >= 1 and not ID_SHAPED.search(waiting["summary"])
    ok(plans.post(f"/v1/reports/{report['id']}/countersign", json={"on": on(7)}, headers=tm))

    outline = {
        **OUTLINE,
        "key_worker": {"user": "sw-1", "phone": "020 7946 0000"},
        "core_group": [*OUTLINE["core_group"][:2], {**OUTLINE["core_group"][2], "email": "alex.parent@home.example"}],
    }
    held = ok(
        plans.post(
            f"/v1/conferences/{conference['id']}/outcome",
            headers=chair,
            json={"held_on": on(10), "plan_required": True, "outline_plan": outline},
        )
    )
    plan_id = held["plan"]["id"]
    assert held["plan"]["key_worker_user"] == "sw-1" and held["conference"]["chair"]["name"] == "Chris Chair"
    bus()

    # The first core group is overdue: the key worker is told, then records it late.
    ticker = Ticker(apps["scheduler"].extensions["cpp"])
    open_ = scheduler.get(f"/v1/deadlines?assignee=me&case_id={case_id}", headers=sw).json["items"]
    first_core_group = next(d for d in open_ if d["kind"] == "first_core_group")
    latest = date.fromisoformat(first_core_group["latest_on"])
    ticker.run_once(working_days_after(latest, 1))
    bus()
    late = working_days_after(latest, 3)
    assert late < date.today()
    ok(
        plans.post(
            f"/v1/plans/{plan_id}/core-group-meetings",
            headers=sw,
            json={
                "held_on": late.isoformat(),
                "detailed_plan_agreed": True,
                "attendees": [{"name": "Alex Parent"}, KEY_WORKER_ATTENDS],
                "plan": {
                    **DETAILED,
                    "key_worker": {"user": "sw-1", "phone": "020 7946 0000"},
                    "core_group": outline["core_group"],
                },
            },
        ),
        201,
    )
    ok(
        plans.post(
            f"/v1/plans/{plan_id}/visits",
            headers=sw,
            json={
                "visited_on": late.isoformat(),
                "announced": False,
                "child_seen": True,
                "seen_alone": True,
                "by": "Sam Social",
            },
        ),
        201,
    )
    review = ok(
        plans.post(
            f"/v1/cases/{case_id}/conferences",
            headers=sw,
            json={"kind": "review", "scheduled_for": (late + timedelta(days=7)).isoformat(), "chair": "chair-1"},
        ),
        201,
    )
    ok(
        plans.post(
            f"/v1/conferences/{review['id']}/outcome",
            headers=chair,
            json={"held_on": (late + timedelta(days=7)).isoformat(), "decision": "continue"},
        )
    )
    bus()

    # The social worker's own work: the case and its deadlines, by the child's name.
    mine = ok(plans.get("/v1/cases?worker=me", headers=sw))["items"]
    assert [(c["id"], c["child"]["name"], c["key_worker"]["name"]) for c in mine] == [(case_id, CHILD, "Sam Social")]
    assert ok(plans.get("/v1/cases?team=mine", headers=tm))["total"] == 1
    deadlines = ok(scheduler.get("/v1/deadlines?assignee=me", headers=sw))["items"]
    assert deadlines and all(d["child"]["name"] == CHILD and d["assignee"]["name"] == "Sam Social" for d in deadlines)
    assert all(
        d["assignee"]["user"] == "tm-1" for d in ok(scheduler.get("/v1/deadlines?assignee=me", headers=tm))["items"]
    )

    # The inbox, by user id: named messages, the overdue step's "done, N working days late" among them.
    mailer_of(apps["notify"]).run_once()
    inbox = ok(notify.get("/v1/inbox?page_size=200", headers=sw))["items"]
    assert inbox and all(m["recipient"]["user"] == "sw-1" for m in inbox)
    assert any(re.search(r"done, \d+ working days? late", m["subject"] + m["body"]) for m in inbox), [
        m["subject"] for m in inbox
    ]
    stored = apps["notify"].extensions["cpp"].store.collection("messages").find({})
    emails = [
        (", ".join(rcpts), m["Subject"], m.get_body(preferencelist=("plain",)).get_content())
        for rcpts, m in received.messages
    ]
    assert {r for r, _, _ in emails} == {"sam.social@council.example", "alex.parent@home.example"}
    assert all(m["recipient"]["user"] or m["recipient"]["email"] for m in stored)  # each reaches someone
    for where, subject, body in (
        [("inbox", m["subject"], m["body"]) for m in inbox]
        + [(f"stored {m['channel']}", m["subject"], m["body"]) for m in stored]
        + [(f"email to {r}", s, b) for r, s, b in emails]
    ):
        text = f"{subject}\n{body}"
        assert not ID_SHAPED.search(text), (where, text)
        assert "Ana" in text, (where, text)

    # Every document, HTML and PDF, names the child and no id.
    Renderer(apps["docs"].extensions["cpp"]).run_once(use_lease=False)
    listing = ok(docs.get(f"/v1/plans/{plan_id}/documents", headers=sw))["documents"]
    listing += ok(docs.get(f"/v1/cases/{case_id}/documents", headers=sw))["documents"]
    assert {d["kind"] for d in listing} >= {
        "professional_plan",
        "family_plan",
        "core_group_record",
        "conference_record",
    }
    for doc in {d["url"]: d for d in listing}.values():
        got = docs.get(doc["url"], headers=sw)
        assert got.status_code == 200, doc
        text = got.get_data(as_text=True) if doc["format"] == "html" else pdf_text(got.data, tmp_path)
        assert not ID_SHAPED.search(re.sub(r"<[^>]+>", " ", text) if doc["format"] == "html" else text), doc
        assert CHILD in " ".join(text.split()), doc
