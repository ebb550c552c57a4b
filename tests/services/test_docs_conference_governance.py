"""The conference's record made from conference.held.v1: attendance by
agency, whether it was quorate against the deployment's quorum, each
agency's view with any dissent in full, a parent's exclusion, and the
child's participation (a case walked over the plans API, its events handed
to the docs service, the record read back as HTML and as PDF through
poppler's pdftotext and pdfua)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cpp_docs.render import Renderer
from cpp_shared.plugins import Plugins
from tests.contract.test_pdf_contract import check_document
from tests.helpers import Pump, bearer, ensure_child
from tests.services.test_conference_governance_http import EXCLUSIONS, PARTICIPATION, VIEWS, GuernseyQuorum
from tests.services.test_docs_http import docs, docs_app, docs_ctx, pdf_text  # noqa: F401 - fixtures
from tests.services.test_plans_lifecycle_http import OUTLINE

ATTENDEES = [
    {"name": "Sam Social", "role": "social worker", "agency": "Children's services"},
    {"name": "PC Lee", "role": "officer", "agency": "Police"},
    {"name": "DS Shaw", "role": "detective", "agency": "police"},
    {"name": "Ms Head", "role": "headteacher", "agency": "School"},
    {"name": "Alex Parent", "role": "mother"},
]


def held(plans_app, plans_store, docs_ctx, token_for, **governance) -> dict:
    """An initial conference held with ``governance`` under Guernsey's quorum, its events handed to the docs
    service and rendered: the case id and the social worker's headers."""
    plans_app.extensions["cpp"].plugins = Plugins(["england"], extra=[("council", GuernseyQuorum())])
    plans = plans_app.test_client()
    sw, chair = bearer(token_for("social_worker", user="sw-1")), bearer(token_for("chair", user="chair-1"))
    d0 = date.today() - timedelta(days=20)
    case_id = plans.post("/v1/cases", json={"child_id": ensure_child(plans, "child-7")}, headers=sw).json["id"]
    plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": d0.isoformat()}, headers=sw)
    body = {"completed_on": d0.isoformat(), "conference_required": True}
    plans.post(f"/v1/cases/{case_id}/enquiry-outcome", headers=sw, json=body)
    body = {"kind": "initial", "scheduled_for": d0.isoformat()}
    conf = plans.post(f"/v1/cases/{case_id}/conferences", headers=sw, json=body).json
    body = {"held_on": d0.isoformat(), "plan_required": True, "outline_plan": OUTLINE, **governance}
    decided = plans.post(f"/v1/conferences/{conf['id']}/outcome", headers=chair, json=body)
    assert decided.status_code == 200, decided.json
    assert "conference.held.v1" in Pump(plans_store, docs_ctx)()
    assert Renderer(docs_ctx).run_once(use_lease=False).failed == 0
    return {"case_id": case_id, "sw": sw}


def record(docs, walked, fmt: str):
    listing = docs.get(
        f"/v1/cases/{walked['case_id']}/documents", headers=walked["sw"], query_string={"kind": "conference_record"}
    )
    assert listing.status_code == 200, listing.json
    [made] = [d for d in listing.json["documents"] if d["format"] == fmt]
    return docs.get(made["url"], headers=walked["sw"])


@pytest.fixture
def governed(plans_app, plans_store, docs_ctx, token_for):
    return held(
        plans_app,
        plans_store,
        docs_ctx,
        token_for,
        attendees=ATTENDEES,
        agency_views=VIEWS,
        exclusions=EXCLUSIONS,
        child_participation=PARTICIPATION,
    )


def test_the_record_shows_attendance_by_agency_quorum_views_dissent_exclusions_and_participation(
    governed, docs, tmp_path
):
    text = " ".join(pdf_text(record(docs, governed, "pdf").data, tmp_path).split())
    assert "Who attended, by agency" in text
    assert "Police PC Lee (officer); DS Shaw (detective)" in text  # one agency, however it was written
    assert "No agency recorded Alex Parent (mother)" in text
    assert "3 agencies attended." in text
    assert "Quorate: 3 agencies attended, and the conference needs at least 3 (ISCP child protection procedures" in text
    assert "School: dissents from the decision" in text
    assert "The head asks that this dissent is recorded in full." in text  # the view as written, whole
    assert "Police Agrees: the risk at home is significant." in text
    assert "Dissent recorded in full from: School." in text
    assert "Alex Parent The police's report and the discussion of it" in text
    assert "ongoing investigation of Alex. Chris Chair, the conference's chair" in text
    assert "An advocate spoke for the child." in text
    assert "Jo Voice, Children's Rights Service" in text
    assert "Wants to keep living with Nan and to see Mum at weekends." in text


def test_a_record_without_them_says_so(plans_app, plans_store, docs_ctx, token_for, docs, tmp_path):
    three = [a for a in ATTENDEES if a.get("agency")]
    walked = held(plans_app, plans_store, docs_ctx, token_for, attendees=three)
    text = " ".join(pdf_text(record(docs, walked, "pdf").data, tmp_path).split())
    assert "No agency's view was recorded." in text
    assert "Nobody was excluded from any part of the conference." in text
    assert "The child's participation Not recorded." in text


@pytest.mark.slow
def test_the_record_pdf_is_identified_as_pdf_ua_1_and_passes_pdfua(governed, docs, tmp_path):
    html = record(docs, governed, "html").get_data(as_text=True)
    check_document(html, record(docs, governed, "pdf").data, tmp_path / "conference-record.pdf")
