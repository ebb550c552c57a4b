"""The docs service driven by the plans service's real events: a case walked
over the plans API, each committed event handed to the docs handlers as
its worker would, the renderer run, and the documents read back over the
docs API (HTML, and PDF through poppler's pdftotext and pdftoppm)."""

from __future__ import annotations

import subprocess
from datetime import date, timedelta

import pytest
from PIL import Image, ImageStat

from cpp_docs.app import create_app as create_docs_app
from cpp_docs.domain.readability import scores
from cpp_docs.render import Renderer
from cpp_shared.messaging.events import new_event
from cpp_shared.store import AlreadyProcessed
from tests.helpers import KEY_WORKER_ATTENDS, Pump, bearer, deliver_event, ensure_child, hand_over
from tests.services.test_plans_lifecycle_http import DETAILED, OUTLINE
from tests.unit.test_docs_render import MAX_FAMILY_GRADE

PLAN = {
    **DETAILED,
    "actions": [
        *DETAILED["actions"],
        {
            "id": "jabs",
            "what": "Take Ana to the GP for her jabs",
            "why": "She missed them",
            "who": {"name": "Alex Parent", "kind": "family_member", "relationship": "mother"},
            "by_when": "2099-01-20",
            "outcome_id": "safe-home",
        },
        {
            "id": "visit",
            "what": "Visit the home every week",
            "why": "To see the kitchen is safe",
            "who": {"name": "Sam Social", "kind": "professional", "role": "social worker"},
            "by_when": "2099-01-30",
            "outcome_id": "safe-home",
        },
    ],
}


@pytest.fixture
def docs_app(make_settings):
    return create_docs_app(make_settings("docs"))


@pytest.fixture
def docs_ctx(docs_app):
    return docs_app.extensions["cpp"]


@pytest.fixture
def docs(docs_app):
    return docs_app.test_client()


def pdf_text(data: bytes, tmp_path, *, first_page_only=False) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    pages = ["-f", "1", "-l", "1"] if first_page_only else []
    return subprocess.run(["pdftotext", *pages, str(path), "-"], capture_output=True, text=True, check=True).stdout


def first_page_png(data: bytes, tmp_path) -> Image.Image:
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile", str(path), str(tmp_path / "page")],
        check=True,
    )
    return Image.open(tmp_path / "page.png").convert("L")


def listed(docs, plan_id, headers, **query):
    response = docs.get(f"/v1/plans/{plan_id}/documents", headers=headers, query_string=query)
    assert response.status_code == 200, response.json
    return {
        (d["kind"], d["plan_version"], d["language"], d["large_print"], d["format"]): d
        for d in response.json["documents"]
    }


@pytest.fixture
def agreed_plan(plans, plans_store, docs_ctx, token_for):
    """A case to its detailed plan, agreed at its first core group meeting, with a deadline from the scheduler."""
    sw, chair = bearer(token_for("social_worker", user="sw-1")), bearer(token_for("chair", user="chair-1"))
    pump = Pump(plans_store, docs_ctx)
    d0 = date.today() - timedelta(days=20)
    case_id = plans.post("/v1/cases", json={"child_id": ensure_child(plans, "child-7")}, headers=sw).json["id"]
    plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": d0.isoformat()}, headers=sw)
    plans.post(
        f"/v1/cases/{case_id}/enquiry-outcome",
        headers=sw,
        json={"completed_on": d0.isoformat(), "conference_required": True},
    )
    conf = plans.post(
        f"/v1/cases/{case_id}/conferences", headers=sw, json={"kind": "initial", "scheduled_for": d0.isoformat()}
    ).json
    plan_id = plans.post(
        f"/v1/conferences/{conf['id']}/outcome",
        headers=chair,
        json={"held_on": d0.isoformat(), "plan_required": True, "outline_plan": OUTLINE},
    ).json["plan"]["id"]
    meeting = plans.post(
        f"/v1/plans/{plan_id}/core-group-meetings",
        headers=sw,
        json={
            "held_on": (d0 + timedelta(days=7)).isoformat(),
            "detailed_plan_agreed": True,
            "attendees": [
                {"name": "Alex Parent"},
                {"name": "Hana Visitor", "role": "health visitor", "agency": "NHS"},
                KEY_WORKER_ATTENDS,
            ],
            "notes": "The kitchen is clean now. Ana was seen at nursery.",
            "plan": PLAN,
        },
    )
    assert meeting.status_code == 201, meeting.json
    assert pump()[-4:] == ["conference.held.v1", "plan.created.v1", "core_group.held.v1", "plan.activated.v1"]
    deliver_event(
        docs_ctx,
        "deadline.scheduled.v1",
        {
            "deadline_id": "dl-1",
            "case_id": case_id,
            "plan_id": plan_id,
            "child_id": "child-7",
            "rule_id": "first-review-conference",
            "kind": "review_conference",
            "name": "First review conference",
            "owner": "chair",
            "status": "pending",
            "due_on": "2099-01-28",
            "latest_on": "2099-01-28",
            "needs_date": False,
            "source": "Working Together 2023",
            "met": None,
        },
    )
    result = Renderer(docs_ctx).run_once(use_lease=False)
    # The conference's record, outline + family v1, the core group record, plan + family v2.
    assert (result.jobs, result.failed) == (6, 0)
    return {"plan_id": plan_id, "case_id": case_id, "pump": pump, "sw": sw, "chair": chair}


def test_after_the_detailed_plan_is_agreed_both_versions_exist_as_html_and_pdf(agreed_plan, docs, docs_ctx, tmp_path):
    sw, plan_id = agreed_plan["sw"], agreed_plan["plan_id"]
    docs_by = listed(docs, plan_id, sw)
    assert set(docs_by) == {
        (kind, version, "en-GB", False, fmt)
        for kind, version in (
            ("outline_plan", 1),
            ("family_plan", 1),
            ("core_group_record", 1),
            ("professional_plan", 2),
            ("family_plan", 2),
        )
        for fmt in ("html", "pdf")
    }

    pro = docs_by[("professional_plan", 2, "en-GB", False, "pdf")]
    got = docs.get(pro["url"], headers=sw)
    assert got.status_code == 200 and got.content_type == "application/pdf"
    assert got.headers["ETag"] == f'"{pro["sha256"]}"'
    assert docs.get(pro["url"], headers={**sw, "If-None-Match": got.headers["ETag"]}).status_code == 304
    text = " ".join(pdf_text(got.data, tmp_path).split())
    assert "Sam Social" in text and "020 7946 0000" in text
    for action in PLAN["actions"]:
        assert action["what"] in text, action["what"]
    assert "Sunday 1 February 2099" in text  # the next review date
    assert "First review conference" in text  # the upcoming deadline, from the scheduler's event

    # The first page, as an image: not blank, and with the heading.
    page = first_page_png(got.data, tmp_path)
    assert ImageStat.Stat(page).stddev[0] > 10
    assert "Child protection plan" in pdf_text(got.data, tmp_path, first_page_only=True)

    record = docs.get(docs_by[("core_group_record", 1, "en-GB", False, "html")]["url"], headers=sw).get_data(
        as_text=True
    )
    assert "<td>Hana Visitor</td><td>health visitor</td><td>NHS</td>" in record  # who attended
    assert "The kitchen is clean now. Ana was seen at nursery." in record  # the meeting's notes

    family_html = docs.get(docs_by[("family_plan", 2, "en-GB", False, "html")]["url"], headers=sw)
    assert family_html.content_type == "text/html; charset=utf-8"
    assert (
        family_html.headers["Content-Security-Policy"]
        == "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    )  # the templates' inline CSS
    page_html = family_html.get_data(as_text=True)
    assert '<html lang="en-GB">' in page_html and "Take Ana to the GP for her jabs" in page_html
    assert scores(page_html)["flesch_kincaid_grade"] <= MAX_FAMILY_GRADE
    assert (
        docs_by[("family_plan", 2, "en-GB", False, "html")]["readability"]["flesch_kincaid_grade"] <= MAX_FAMILY_GRADE
    )
    family_pdf = docs.get(docs_by[("family_plan", 2, "en-GB", False, "pdf")]["url"], headers=sw)
    family_text = " ".join(pdf_text(family_pdf.data, tmp_path).split())
    assert "Your child protection plan" in family_text and "Your key worker is Sam Social." in family_text
    assert "Sunday 1 February 2099" in family_text


def test_a_change_makes_version_3_and_keeps_version_2(agreed_plan, plans, docs, docs_ctx, tmp_path):
    sw, plan_id = agreed_plan["sw"], agreed_plan["plan_id"]
    before = listed(docs, plan_id, sw)
    v2 = before[("professional_plan", 2, "en-GB", False, "pdf")]
    etag = plans.get(f"/v1/plans/{plan_id}", headers=sw).headers["ETag"]
    changed = plans.patch(
        f"/v1/plans/{plan_id}", headers={**sw, "If-Match": etag}, json={"familys_views": "We have cleared the kitchen."}
    )
    assert changed.status_code == 200 and changed.json["plan_version"] == 3
    assert agreed_plan["pump"]() == ["plan.version_agreed.v1"]
    assert Renderer(docs_ctx).run_once(use_lease=False).documents == 4

    after = listed(docs, plan_id, sw)
    assert {k for k in after if k[1] == 3} == {
        (kind, 3, "en-GB", False, fmt) for kind in ("professional_plan", "family_plan") for fmt in ("html", "pdf")
    }
    assert after[("professional_plan", 2, "en-GB", False, "pdf")] == v2
    old = docs.get(v2["url"], headers=sw)
    assert old.status_code == 200 and old.headers["ETag"] == f'"{v2["sha256"]}"'
    assert "We have cleared the kitchen." not in pdf_text(old.data, tmp_path)
    new = docs.get(after[("professional_plan", 3, "en-GB", False, "pdf")]["url"], headers=sw)
    assert "We have cleared the kitchen." in pdf_text(new.data, tmp_path)
    assert [
        d["plan_version"]
        for d in docs.get(
            f"/v1/plans/{plan_id}/documents", headers=sw, query_string={"kind": "professional_plan", "format": "pdf"}
        ).json["documents"]
    ] == [3, 2]


def test_every_conference_outcome_has_its_record_listed_with_the_case(agreed_plan, plans, docs, docs_ctx, tmp_path):
    sw, chair, plan_id, case_id = (
        agreed_plan["sw"],
        agreed_plan["chair"],
        agreed_plan["plan_id"],
        agreed_plan["case_id"],
    )
    review_on = date.today() - timedelta(days=2)
    review = plans.post(
        f"/v1/cases/{case_id}/conferences", headers=sw, json={"kind": "review", "scheduled_for": review_on.isoformat()}
    ).json
    ended = plans.post(
        f"/v1/conferences/{review['id']}/outcome",
        headers=chair,
        json={"held_on": review_on.isoformat(), "decision": "end"},
    )
    assert ended.status_code == 200, ended.json
    assert "conference.held.v1" in agreed_plan["pump"]()
    assert Renderer(docs_ctx).run_once(use_lease=False).failed == 0

    case_docs = docs.get(f"/v1/cases/{case_id}/documents", headers=sw, query_string={"kind": "conference_record"})
    assert case_docs.status_code == 200, case_docs.json
    records = [d for d in case_docs.json["documents"] if d["format"] == "pdf"]
    assert len(records) == 2  # the initial conference's and the review's, newest first
    review_text = " ".join(pdf_text(docs.get(records[0]["url"], headers=sw).data, tmp_path).split())
    assert "Record of the review child protection conference" in review_text
    assert "The plan ends." in review_text and "Plan reviewed Version 2 (Active)" in review_text
    assert plan_id not in review_text and "Sam Jones" in review_text  # the plan by its child, not its id
    initial_text = " ".join(pdf_text(docs.get(records[1]["url"], headers=sw).data, tmp_path).split())
    assert "Record of the initial child protection conference" in initial_text
    assert "The child needs a child protection plan." in initial_text
    # A plan's own listing keeps to the plan's documents.
    assert {d["kind"] for d in docs.get(f"/v1/plans/{plan_id}/documents", headers=sw).json["documents"]} == {
        "outline_plan",
        "family_plan",
        "core_group_record",
        "professional_plan",
    }
    assert docs.get("/v1/cases/no-such-case/documents", headers=sw).status_code == 404


def test_each_plan_events_snapshot_is_stored_once_and_named_by_its_jobs(agreed_plan, docs_ctx):
    plan_id = agreed_plan["plan_id"]
    snapshots = docs_ctx.store.collection("snapshots").find({"plan_id": plan_id})
    assert sorted(s["snapshot"]["status"] for s in snapshots) == ["active", "outline"]  # created, activated
    jobs = [j for j in docs_ctx.store.collection("jobs").find({"plan_id": plan_id}) if j["kind"] != "conference_record"]
    assert len(jobs) == 5 and all(j["snapshot"] is None for j in jobs)
    by_id = {s["_id"]: s["snapshot"] for s in snapshots}
    assert {(j["kind"], by_id[j["snapshot_id"]]["plan_version"]) for j in jobs} == {
        ("outline_plan", 1),
        ("family_plan", 1),
        ("core_group_record", 1),
        ("professional_plan", 2),
        ("family_plan", 2),
    }
    projection = docs_ctx.store.collection("plans").find_one({"_id": plan_id})
    assert "snapshot" not in projection and by_id[projection["snapshot_id"]]["plan_version"] == 2


def test_a_redelivered_or_repeated_event_renders_nothing_new(agreed_plan, plans_store, docs_ctx):
    activated = next(m.body for m in plans_store.outbox_pending(1000) if m.routing_key == "plan.activated.v1")
    with pytest.raises(AlreadyProcessed):
        hand_over(docs_ctx, activated)
    # The same version again under another event (a review that continues the plan unchanged).
    hand_over(
        docs_ctx,
        new_event(
            "plan.reviewed.v1",
            source="/services/plans",
            subject=activated["subject"],
            data=activated["data"],
            authority=activated["authority"],
        ),
    )
    stored = docs_ctx.store.collection("documents").count_documents({})
    assert docs_ctx.store.collection("jobs").count_documents({"status": "pending"}) == 0
    assert Renderer(docs_ctx).run_once(use_lease=False).documents == 0
    assert docs_ctx.store.collection("documents").count_documents({}) == stored == 12


def test_documents_are_read_as_the_record_is(agreed_plan, docs, docs_ctx, token_for):
    sw, plan_id = agreed_plan["sw"], agreed_plan["plan_id"]
    doc = listed(docs, plan_id, sw)[("professional_plan", 2, "en-GB", False, "html")]
    partner = bearer(token_for("partner", user="gp-1"))
    assert docs.get(f"/v1/plans/{plan_id}/documents", headers=partner).status_code == 403
    assert docs.get(doc["url"], headers=partner).status_code == 403
    assert docs.get(doc["url"]).status_code == 401
    for role in ("team_manager", "chair", "auditor", "admin"):
        assert docs.get(doc["url"], headers=bearer(token_for(role, user=f"{role}-1"))).status_code == 200

    # Another authority's event is never applied here, and its documents, in a
    # database shared with its deployment, are not found.
    elsewhere = {
        "plan_id": "plan-x",
        "case_id": "case-x",
        "child_id": "child-x",
        "status": "outline",
        "plan_version": 1,
        "created_on": "2098-12-01",
        "activated_on": None,
        "ended": None,
        "agreed": {"by": "chair-9", "on": "2098-12-01", "at": "initial_conference"},
        "key_worker": None,
        "categories": ["neglect"],
        "content": OUTLINE,
    }
    with pytest.raises(ValueError, match="authority"):
        hand_over(
            docs_ctx,
            new_event("plan.created.v1", source="/services/plans", subject="plan-x", data=elsewhere, authority="BRM"),
        )
    theirs = {
        **docs_ctx.store.collection("documents").find_one({"_id": doc["id"]}),
        "_id": "their-doc",
        "plan_id": "plan-x",
        "authority": "BRM",
        "key": "their-doc",
    }
    docs_ctx.store.inner.collection("documents").insert_one(theirs)
    assert docs.get("/v1/plans/plan-x/documents", headers=sw).status_code == 404
    assert docs.get("/v1/documents/their-doc", headers=sw).status_code == 404
    assert docs.get("/v1/documents/nothing", headers=sw).status_code == 404

    log = [r.entry for r in docs_ctx.store.read_log("audit")]
    reads = [(e["actor"], e["action"], e["record_type"], e["record_id"]) for e in log]
    assert ("sw-1", "list", "plan_documents", plan_id) in reads
    assert [e["role"] for e in log if e["action"] == "read" and e["record_id"] == doc["id"]] == [
        "team_manager",
        "chair",
        "auditor",
        "admin",
    ]
    assert all(e["authority"] == "ENG" and e["child_id"] == "child-7" for e in log)
    assert docs_ctx.store.verify_log("audit").ok


def _job(docs_ctx, key, **fields):
    with docs_ctx.store.unit_of_work() as uow:
        uow.insert(
            "jobs",
            {
                "_id": key,
                "status": "pending",
                "kind": "professional_plan",
                "plan_id": "plan-old",
                "case_id": "case-old",
                "child_id": "child-old",
                "plan_version": 2,
                "meeting_id": None,
                "meeting": None,
                "language": "en-GB",
                "language_name": None,
                "large_print": False,
                "authority": "ENG",
                "event_id": "e-old",
                "event_type": "plan.activated.v1",
                "attempts": 0,
                "error": None,
                "created_at": "2026-11-20T00:00:00+00:00",
                **fields,
            },
        )


def test_a_job_holding_its_own_snapshot_renders_and_one_missing_its_snapshot_fails_not_blank(docs_ctx):
    old = {
        "plan_id": "plan-old",
        "case_id": "case-old",
        "child_id": "child-old",
        "status": "active",
        "plan_version": 2,
        "created_on": "2098-12-01",
        "activated_on": "2098-12-08",
        "ended": None,
        "agreed": {"by": "sw-1", "on": "2098-12-08", "at": "core_group_meeting"},
        "key_worker": None,
        "categories": ["neglect"],
        "content": {**DETAILED, "key_worker": {"name": "Kim Older"}},
    }
    # A job written before snapshots were stored once holds its own.
    _job(docs_ctx, "plan-old:professional_plan:v2:-:en-GB:std", snapshot=old)
    _job(
        docs_ctx,
        "plan-old:professional_plan:v3:-:en-GB:std",
        snapshot=None,
        snapshot_id="no-such-event",
        plan_version=3,
    )
    result = Renderer(docs_ctx).run_once(use_lease=False)
    assert (result.jobs, result.failed) == (1, 0)
    jobs = {j["_id"]: j for j in docs_ctx.store.collection("jobs").find({"plan_id": "plan-old"})}
    assert jobs["plan-old:professional_plan:v2:-:en-GB:std"]["status"] == "done"
    missing = jobs["plan-old:professional_plan:v3:-:en-GB:std"]
    assert missing["status"] == "pending" and "snapshot no-such-event" in missing["error"]
    assert [d["plan_version"] for d in docs_ctx.store.collection("documents").find({"plan_id": "plan-old"})] == [2, 2]
