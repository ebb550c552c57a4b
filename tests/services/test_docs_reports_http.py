"""Reports to conference as documents: a Guernsey case's section 35 report
walked over the plans API to its countersigning, the plans service's real
events handed to the docs handlers, the renderer run, and the professional
report and the family's plain-language version read back over the docs API
(HTML, and PDF through pdftotext)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cpp_docs.app import create_app as create_docs_app
from cpp_docs.domain.readability import scores
from cpp_docs.render import Renderer
from cpp_plans.app import create_app as create_plans_app
from tests.helpers import bearer, ensure_child, ok
from tests.services.test_children_http import full_child
from tests.services.test_docs_http import Pump, pdf_text
from tests.services.test_plans_lifecycle_http import FULL_OUTLINE
from tests.unit.test_docs_render import MAX_FAMILY_GRADE

FINDINGS = (
    "We went to the home four times. The kitchen was not safe. Ana missed two visits to the doctor. "
    "Her mum wants help with money and food."
)
DRAFT = {
    **FULL_OUTLINE,
    "actions": [
        {
            "id": "gp",
            "what": "Take Ana to the doctor for her check",
            "why": "She missed two checks",
            "who": {"name": "Alex Parent", "kind": "family_member", "relationship": "mother"},
            "by_when": "2099-01-20",
            "outcome_id": "safe-home",
        },
        {
            "id": "food",
            "what": "Help the family get a food bank voucher",
            "why": "There was no food at home",
            "who": {"name": "Sam Social", "kind": "professional", "role": "social worker"},
            "by_when": "2099-01-10",
            "outcome_id": "safe-home",
        },
    ],
}


NAMES = {"social_worker": "Sam Social", "team_manager": "Tia Manager", "chair": "Chris Chair"}


@pytest.fixture
def gsy(make_settings, token_for):
    plans_app = create_plans_app(make_settings("plans", CPP_PLUGINS="guernsey"))
    docs_app = create_docs_app(make_settings("docs", CPP_PLUGINS="guernsey"))
    docs_ctx = docs_app.extensions["cpp"]
    who = {
        role: bearer(token_for(role, authority="GSY", user=f"{role}-1", name=NAMES.get(role)))
        for role in ("social_worker", "team_manager", "chair", "partner")
    }
    return (
        plans_app.test_client(),
        docs_app.test_client(),
        docs_ctx,
        Pump(plans_app.extensions["cpp"].store, docs_ctx),
        who,
    )


def countersigned_report(plans, who, *, child_seen, plan=DRAFT, conference_in_days=5):
    sw, tm = who["social_worker"], who["team_manager"]
    d0 = date.today() - timedelta(days=20)
    child = full_child(
        given_names="Ana Maria",
        family_name="Le Page",
        preferred_name="Ana",
        identifiers=[],
        people_with_parental_responsibility=[],
    )
    child_id = ok(plans.post("/v1/children", headers=sw, json=child), 201)["id"]
    case_id = ok(plans.post("/v1/cases", json={"child_id": ensure_child(plans, child_id)}, headers=sw), 201)["id"]
    ok(plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": d0.isoformat()}, headers=sw), 201)
    ok(
        plans.post(
            f"/v1/cases/{case_id}/enquiry-outcome",
            headers=sw,
            json={"completed_on": (d0 + timedelta(days=5)).isoformat(), "conference_required": True},
        )
    )
    conference_on = date.today() + timedelta(days=conference_in_days)
    conf = ok(
        plans.post(
            f"/v1/cases/{case_id}/conferences",
            headers=sw,
            json={"kind": "initial", "scheduled_for": conference_on.isoformat()},
        ),
        201,
    )
    report = ok(
        plans.post(
            f"/v1/conferences/{conf['id']}/reports",
            headers=sw,
            json={
                "findings": FINDINGS,
                "child_seen": child_seen,
                "plan": plan,
                "childs_views": "Ana said she likes school and wants her mum to be happy.",
                "drafted_on": date.today().isoformat(),
            },
        ),
        201,
    )
    ok(plans.post(f"/v1/reports/{report['id']}/submit", json={}, headers=sw))
    ok(plans.post(f"/v1/reports/{report['id']}/countersign", json={}, headers=tm))
    return {"report_id": report["id"], "case_id": case_id, "conference_on": conference_on, "conference": conf}


def listed(docs, report_id, headers, **query):
    response = docs.get(f"/v1/reports/{report_id}/documents", headers=headers, query_string=query)
    assert response.status_code == 200, response.json
    return {
        (d["kind"], d["report_version"], d["language"], d["large_print"], d["format"]): d
        for d in response.json["documents"]
    }


def test_a_countersigned_report_is_made_into_the_professional_and_the_family_version(gsy, tmp_path):
    plans, docs, docs_ctx, pump, who = gsy
    seen_on = (date.today() - timedelta(days=10)).isoformat()
    made = countersigned_report(plans, who, child_seen=[{"on": seen_on, "alone": True}])
    handed = [t for t in pump() if t != "staff.updated.v1"]
    assert handed[-3:] == ["report.drafted.v1", "report.submitted.v1", "report.countersigned.v1"]
    result = Renderer(docs_ctx).run_once(use_lease=False)
    assert (result.jobs, result.failed) == (2, 0)

    docs_listed = listed(docs, made["report_id"], who["social_worker"])
    assert set(docs_listed) == {
        (kind, 1, "en-GB", False, fmt) for kind in ("conference_report", "family_report") for fmt in ("html", "pdf")
    }
    pro = docs.get(docs_listed[("conference_report", 1, "en-GB", False, "pdf")]["url"], headers=who["team_manager"])
    assert pro.status_code == 200 and pro.content_type == "application/pdf"
    text = " ".join(pdf_text(pro.data, tmp_path).split())
    # Guernsey's words, the findings, the day the child was seen alone, the draft plan and who countersigned.
    assert "Report to the initial child protection conference" in text
    assert "What the section 35 enquiries found" in text
    assert "The kitchen was not safe." in text
    seen = date.fromisoformat(seen_on)
    assert f"{seen:%A} {seen.day} {seen:%B %Y} Yes" in text
    assert "Sam Social" in text and "Take Ana to the doctor for her check" in text
    assert "by Tia Manager" in text and "team_manager-1" not in text  # people by name, not user id
    assert "Ana Le Page, born 31 May 2019" in text  # the child, named as the record names them; no weekday
    on = made["conference_on"]
    assert f"on {on:%A} {on.day} {on:%B %Y}" in text

    family_row = docs_listed[("family_report", 1, "en-GB", False, "html")]
    family = docs.get(family_row["url"], headers=who["social_worker"]).get_data(as_text=True)
    assert '<html lang="en-GB">' in family
    assert "The report for the meeting about your child" in family and "This is about Ana Le Page." in family
    assert "we saw your child on their own" in family
    assert "Take Ana to the doctor for her check" in family  # what the draft plan asks of the parents
    assert "Talk to us before the meeting" in family
    assert family_row["readability"] == scores(family)
    assert family_row["readability"]["flesch_kincaid_grade"] <= MAX_FAMILY_GRADE, family_row["readability"]
    family_pdf = docs.get(docs_listed[("family_report", 1, "en-GB", False, "pdf")]["url"], headers=who["social_worker"])
    assert "What we found" in pdf_text(family_pdf.data, tmp_path)


def test_report_documents_are_made_once_and_read_as_the_record_is(gsy, make_settings, token_for):
    plans, docs, docs_ctx, pump, who = gsy
    made = countersigned_report(plans, who, child_seen=[])
    pump()
    Renderer(docs_ctx).run_once(use_lease=False)
    sw = who["social_worker"]
    # Shared with the family and sent to the chair: the same documents, nothing made again.
    ok(
        plans.post(
            f"/v1/reports/{made['report_id']}/share",
            headers=sw,
            json={
                "with": [{"name": "Alex Parent", "relationship": "mother", "how": "in_person"}],
                "child_included": False,
            },
        )
    )
    ok(plans.post(f"/v1/reports/{made['report_id']}/send-to-chair", json={}, headers=sw))
    assert pump()[-2:] == ["report.shared.v1", "report.sent_to_chair.v1"]
    assert Renderer(docs_ctx).run_once(use_lease=False).jobs == 0
    shared = listed(docs, made["report_id"], sw)
    assert len(shared) == 4
    # The version shared with the family is the family's plain-language one, readable by the threshold.
    family = shared[("family_report", 1, "en-GB", False, "html")]
    assert family["readability"]["flesch_kincaid_grade"] <= MAX_FAMILY_GRADE, family["readability"]
    assert scores(docs.get(family["url"], headers=sw).get_data(as_text=True)) == family["readability"]

    # A partner reads none of it; a token of another authority is turned away at the door.
    any_doc = next(iter(listed(docs, made["report_id"], sw).values()))
    assert docs.get(f"/v1/reports/{made['report_id']}/documents", headers=who["partner"]).status_code == 403
    assert docs.get(any_doc["url"], headers=who["partner"]).status_code == 403
    other = bearer(token_for("social_worker", authority="ENG", user="sw-9"))
    assert docs.get(any_doc["url"], headers=other).status_code == 403
    assert docs.get("/v1/reports/no-such-report/documents", headers=sw).status_code == 404
    # Report documents are listed with their report, not with a plan; every read is audited.
    assert docs.get(any_doc["url"], headers=who["chair"]).status_code == 200
    log = [r.entry for r in docs_ctx.store.read_log("audit")]
    assert ("social_worker-1", "list", "report_documents", made["report_id"]) in {
        (e["actor"], e["action"], e["record_type"], e["record_id"]) for e in log
    }
    assert [(e["actor"], e["detail"]["report_id"]) for e in log if e["action"] == "read"] == [
        ("social_worker-1", made["report_id"]),
        ("chair-1", made["report_id"]),
    ]
    assert docs_ctx.store.verify_log("audit").ok
