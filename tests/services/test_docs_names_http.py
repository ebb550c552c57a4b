"""Documents name the child and people, never ids, driven by the plans
service's real events: a child walked over the plans API by staff named in
their tokens, from the initial conference to a review, every document docs
makes read back over the docs API (HTML, and PDF through pdftotext) and
scanned for id-shaped strings; the child as the document's version knew
them; and who the child is kept from whichever event says so first."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cpp_docs.render import Renderer
from cpp_shared.messaging.events import new_event
from tests.helpers import KEY_WORKER_ATTENDS, bearer, deliver_event, hand_over, new_child, ok
from tests.services.test_docs_http import PLAN, Pump, docs, docs_app, docs_ctx, pdf_text  # noqa: F401 - fixtures
from tests.services.test_plans_lifecycle_http import OUTLINE
from tests.unit.test_docs_names import ID_SHAPED


@pytest.fixture
def staff(token_for):
    return {
        "sw": bearer(token_for("social_worker", user="sw-1")),  # Sam Social
        "chair": bearer(token_for("chair", user="chair-1", name="Chris Chair")),
        "tm": bearer(token_for("team_manager", user="tm-1", name="Tia Manager")),
    }


@pytest.fixture
def walk(plans, plans_store, docs_ctx, staff):
    """A child registered and taken to an initial conference; returns what the steps need."""
    sw = staff["sw"]
    pump = Pump(plans_store, docs_ctx)
    d0 = date.today() - timedelta(days=30)
    child_id = new_child(plans, sw, given_names="Ana", family_name="Parent", date_of_birth="2019-05-31")
    case_id = ok(plans.post("/v1/cases", json={"child_id": child_id}, headers=sw), 201)["id"]
    ok(plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": d0.isoformat()}, headers=sw), 201)
    ok(
        plans.post(
            f"/v1/cases/{case_id}/enquiry-outcome",
            headers=sw,
            json={"completed_on": d0.isoformat(), "conference_required": True},
        )
    )
    conf = ok(
        plans.post(
            f"/v1/cases/{case_id}/conferences", headers=sw, json={"kind": "initial", "scheduled_for": d0.isoformat()}
        ),
        201,
    )
    return {"pump": pump, "d0": d0, "child_id": child_id, "case_id": case_id, "conference": conf, **staff}


def documents(docs, case_id, headers):
    listing = ok(docs.get(f"/v1/cases/{case_id}/documents", headers=headers))["documents"]
    return listing


def read(docs, doc, headers, tmp_path) -> str:
    got = docs.get(doc["url"], headers=headers)
    assert got.status_code == 200
    return got.get_data(as_text=True) if doc["format"] == "html" else pdf_text(got.data, tmp_path)


def test_an_initial_conference_record_made_before_any_plan_event_names_the_child(walk, plans, docs, docs_ctx, tmp_path):
    sw, chair = walk["sw"], walk["chair"]
    ok(
        plans.post(
            f"/v1/conferences/{walk['conference']['id']}/outcome",
            headers=chair,
            json={"held_on": walk["d0"].isoformat(), "plan_required": True, "outline_plan": OUTLINE},
        )
    )
    # Only the conference's outcome reaches docs, and its record is made before the plan's events arrive.
    held = [
        m.body
        for m in plans.application.extensions["cpp"].store.outbox_pending(10_000)
        if m.routing_key == "conference.held.v1"
    ]
    assert len(held) == 1 and held[0]["data"]["child"]["name"] == "Ana Parent"
    hand_over(docs_ctx, held[0])
    assert Renderer(docs_ctx).run_once(use_lease=False).jobs == 1
    [record] = [d for d in documents(docs, walk["case_id"], sw) if d["format"] == "pdf"]
    assert record["kind"] == "conference_record" and record["child_name"] == "Ana Parent"
    text = " ".join(read(docs, record, sw, tmp_path).split())
    assert "Child Ana Parent, born 31 May 2019" in text and "not named" not in text


def test_a_record_from_an_event_without_the_child_names_them_as_the_service_last_heard(
    docs_ctx, docs, token_for, tmp_path
):
    # Events from before each carried the child: who the child is comes from the child's own events.
    deliver_event(
        docs_ctx,
        "child.registered.v1",
        {"child_id": "child-9", "child": {"name": "Bea Old", "date_of_birth": "2018-03-04", "nhs_number": None}},
        subject="child-9",
    )
    deliver_event(
        docs_ctx,
        "conference.held.v1",
        {
            "conference_id": "conf-9",
            "case_id": "case-9",
            "child_id": "child-9",
            "kind": "initial",
            "held_on": "2098-11-20",
            "plan_id": None,
            "plan_required": False,
            "first_core_group_on": None,
        },
    )
    Renderer(docs_ctx).run_once(use_lease=False)
    sw = bearer(token_for("social_worker"))
    [record] = [d for d in documents(docs, "case-9", sw) if d["format"] == "html"]
    assert "Bea Old, born 4 March 2018" in read(docs, record, sw, tmp_path)


def test_who_the_child_is_is_kept_from_the_latest_event_whatever_order_they_arrive_in(docs_ctx):
    def child_event(name, time):
        event = new_event(
            "child.updated.v1",
            source="/services/plans",
            subject="child-5",
            data={"child_id": "child-5", "version": 2, "child": {"name": name, "date_of_birth": None}},
            authority=docs_ctx.authority["code"],
        )
        hand_over(docs_ctx, {**event, "time": time})

    child_event("Cal Newer", "2026-12-02T10:00:00+00:00")
    child_event("Cal Older", "2026-12-01T10:00:00+00:00")  # arrives late: an older name stays behind
    assert docs_ctx.store.collection("children").find_one({"_id": "child-5"})["name"] == "Cal Newer"
    child_event("Cal Newest", "2026-12-03T10:00:00+00:00")
    assert docs_ctx.store.collection("children").find_one({"_id": "child-5"})["name"] == "Cal Newest"


def test_no_document_of_a_childs_plan_shows_an_id_and_each_names_the_child_and_people(
    walk, plans, docs, docs_ctx, tmp_path
):
    sw, chair, tm, pump, case_id, d0 = walk["sw"], walk["chair"], walk["tm"], walk["pump"], walk["case_id"], walk["d0"]
    plan_id = ok(
        plans.post(
            f"/v1/conferences/{walk['conference']['id']}/outcome",
            headers=chair,
            json={"held_on": d0.isoformat(), "plan_required": True, "outline_plan": OUTLINE},
        )
    )["plan"]["id"]
    ok(
        plans.post(
            f"/v1/plans/{plan_id}/core-group-meetings",
            headers=sw,
            json={
                "held_on": (d0 + timedelta(days=7)).isoformat(),
                "detailed_plan_agreed": True,
                "notes": "Went well.",
                "attendees": [{"name": "Hana Visitor", "role": "health visitor", "agency": "NHS"}, KEY_WORKER_ATTENDS],
                "plan": PLAN,
            },
        ),
        201,
    )
    review_on = date.today() - timedelta(days=2)
    drafted_on = (review_on - timedelta(days=5)).isoformat()
    review = ok(
        plans.post(
            f"/v1/cases/{case_id}/conferences",
            headers=sw,
            json={"kind": "review", "scheduled_for": review_on.isoformat()},
        ),
        201,
    )
    report = ok(
        plans.post(
            f"/v1/conferences/{review['id']}/reports",
            headers=sw,
            json={"findings": "The kitchen is clean now.", "plan": PLAN, "drafted_on": drafted_on},
        ),
        201,
    )
    ok(plans.post(f"/v1/reports/{report['id']}/submit", json={"on": drafted_on}, headers=sw))
    ok(plans.post(f"/v1/reports/{report['id']}/countersign", json={"on": drafted_on}, headers=tm))
    pump()
    deliver_event(
        docs_ctx,
        "deadline.scheduled.v1",
        {
            "deadline_id": "dl-1",
            "case_id": case_id,
            "plan_id": plan_id,
            "child_id": walk["child_id"],
            "rule_id": "first-review-conference",
            "kind": "review_conference",
            "name": "First review conference",
            "owner": "chair",
            "status": "pending",
            "due_on": review_on.isoformat(),
            "latest_on": review_on.isoformat(),
            "needs_date": False,
            "source": "Working Together 2023",
            "met": None,
            "assignee": {"user": "chair-1", "name": "Chris Chair"},
            "team": None,
        },
    )
    assert Renderer(docs_ctx).run_once(use_lease=False).failed == 0
    ok(
        plans.post(
            f"/v1/conferences/{review['id']}/outcome",
            headers=chair,
            json={"held_on": review_on.isoformat(), "decision": "continue"},
        )
    )
    pump()
    assert Renderer(docs_ctx).run_once(use_lease=False).failed == 0

    made = documents(docs, case_id, sw)
    made += ok(docs.get(f"/v1/reports/{report['id']}/documents", headers=sw))["documents"]
    kinds = {(d["kind"], d["format"]) for d in made}
    assert kinds == {
        (kind, fmt)
        for kind in (
            "outline_plan",
            "professional_plan",
            "family_plan",
            "core_group_record",
            "conference_record",
            "conference_report",
            "family_report",
        )
        for fmt in ("html", "pdf")
    }
    texts = {}
    for doc in made:
        text = " ".join(read(docs, doc, sw, tmp_path).split())
        assert not ID_SHAPED.findall(text), (doc["kind"], doc["format"], ID_SHAPED.findall(text))
        assert "Ana Parent" in text, (doc["kind"], doc["format"])
        assert "sw-1" not in text and "chair-1" not in text and "tm-1" not in text, (doc["kind"], doc["format"])
        texts.setdefault(doc["kind"], []).append(text)
    assert any("by Sam Social" in t for t in texts["professional_plan"])
    assert any("by Chris Chair" in t for t in texts["outline_plan"])  # the chair agreed the outline plan
    assert any("Chris Chair (chair)" in t for t in texts["professional_plan"])  # who acts on the deadline
    assert any("by Tia Manager" in t for t in texts["conference_report"])
    assert all(d["child_name"] == "Ana Parent" for d in made)


def test_a_document_names_the_child_as_of_its_version(walk, plans, docs, docs_ctx, tmp_path):
    sw, chair, pump = walk["sw"], walk["chair"], walk["pump"]
    plan_id = ok(
        plans.post(
            f"/v1/conferences/{walk['conference']['id']}/outcome",
            headers=chair,
            json={"held_on": walk["d0"].isoformat(), "plan_required": True, "outline_plan": OUTLINE},
        )
    )["plan"]["id"]
    pump()
    Renderer(docs_ctx).run_once(use_lease=False)
    child = plans.get(f"/v1/children/{walk['child_id']}", headers=sw)
    ok(
        plans.patch(
            f"/v1/children/{walk['child_id']}",
            headers={**sw, "If-Match": child.headers["ETag"]},
            json={"preferred_name": "Annie"},
        )
    )
    ok(
        plans.post(
            f"/v1/plans/{plan_id}/core-group-meetings",
            headers=sw,
            json={
                "held_on": (walk["d0"] + timedelta(days=7)).isoformat(),
                "detailed_plan_agreed": True,
                "attendees": [KEY_WORKER_ATTENDS],
                "plan": PLAN,
            },
        ),
        201,
    )
    pump()
    Renderer(docs_ctx).run_once(use_lease=False)
    made = {
        (d["kind"], d["plan_version"]): d
        for d in ok(docs.get(f"/v1/plans/{plan_id}/documents", headers=sw))["documents"]
        if d["format"] == "html"
    }
    assert made[("outline_plan", 1)]["child_name"] == "Ana Parent"
    assert "Ana Parent" in read(docs, made[("outline_plan", 1)], sw, tmp_path)
    assert made[("professional_plan", 2)]["child_name"] == "Annie Parent"
    assert "Annie Parent" in read(docs, made[("professional_plan", 2)], sw, tmp_path)


def test_a_name_given_at_birth_names_the_child_in_later_documents(docs_ctx):
    deliver_event(
        docs_ctx,
        "child.born.v1",
        {
            "child_id": "child-7",
            "version": 2,
            "born_on": "2026-02-27",
            "expected_date_of_birth": "2026-03-02",
            "case_id": None,
            "plan_id": None,
            "on_plan": False,
            "child": {"name": "Lena Jones", "date_of_birth": "2026-02-27", "nhs_number": None},
        },
        subject="child-7",
    )
    kept = docs_ctx.store.collection("children").find_one({"_id": "child-7"})
    assert (kept["name"], kept["date_of_birth"]) == ("Lena Jones", "2026-02-27")
