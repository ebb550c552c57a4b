"""The family letter: a family of three walked over the plans API to one
conference that decides plans for two children and none for the third,
its events handed to the docs handlers as the docs worker would, the
renderer run, and the letter read back over the docs API (HTML, and PDF
through poppler's pdftotext and pdfua)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from cpp_docs.render import Renderer
from cpp_scheduler.domain.calendar import WorkingCalendar
from cpp_shared.messaging.events import new_event
from cpp_shared.store import AlreadyProcessed
from tests.contract.test_pdf_contract import check_document
from tests.helpers import Pump, bearer, deliver_event, hand_over
from tests.services.test_docs_http import docs, docs_app, docs_ctx, pdf_text  # noqa: F401 - fixtures
from tests.services.test_families_http import a_family, ok, three_children
from tests.unit.test_docs_render import MAX_FAMILY_GRADE

ENG = WorkingCalendar("GB", "ENG")
KEY_WORKER = {"name": "Sam Social", "role": "social worker", "phone": "020 7946 0000", "email": "sam@example.org"}
CORE_GROUP = [
    {"name": "Sam Social", "role": "social worker", "agency": "Children's services", "is_family_member": False}
]


@pytest.fixture
def letter(plans, plans_store, docs_ctx, token_for):
    """The Sample family's initial conference held: plans for Amy (neglect) and Ben (emotional abuse), none for
    Cal, and its events handed to the docs service and rendered."""
    sw = bearer(token_for("social_worker", user="sw-1", name="Sam Social"))
    chair = bearer(token_for("chair", user="chair-1", name="Chris Chair"))
    assert plans.get("/v1/cases", headers=sw).status_code == 200  # in the staff directory
    d0 = ENG.on_or_before(date.today() - timedelta(days=20))[0]
    children = three_children(plans, sw)
    amy, ben, cal = children
    family = a_family(plans, sw, children)
    base = f"/v1/families/{family['id']}"
    ok(plans.post(f"{base}/cases", json={"children": children}, headers=sw), 201)
    ok(
        plans.post(f"{base}/strategy-discussions", json={"children": children, "held_on": d0.isoformat()}, headers=sw),
        201,
    )
    outcomes = [{"child_id": c, "conference_required": True} for c in children]
    ok(plans.post(f"{base}/enquiry-outcomes", json={"completed_on": d0.isoformat(), "outcomes": outcomes}, headers=sw))
    body = {"children": children, "kind": "initial", "scheduled_for": d0.isoformat()}
    group = ok(plans.post(f"{base}/conferences", json=body, headers=sw), 201)
    outline = {"key_worker": KEY_WORKER, "core_group": CORE_GROUP, "first_core_group_on": "2099-03-02"}
    decisions = [
        {"child_id": amy, "plan_required": True, "outline_plan": {**outline, "categories": ["neglect"]}},
        {"child_id": ben, "plan_required": True, "outline_plan": {**outline, "categories": ["emotional_abuse"]}},
        {"child_id": cal, "plan_required": False},
    ]
    body = {"held_on": d0.isoformat(), "decisions": decisions}
    held = ok(plans.post(f"/v1/family-conferences/{group['id']}/outcome", json=body, headers=chair))
    assert Pump(plans_store, docs_ctx)()[-1] == "family_conference.held.v1"
    assert Renderer(docs_ctx).run_once(use_lease=False).failed == 0
    cases = {r["case"]["child_id"]: r["case"]["id"] for r in held["children"]}
    return {"family_id": family["id"], "group_id": group["id"], "children": children, "cases": cases, "sw": sw}


def letters(docs, path, headers) -> dict[str, dict]:
    answer = docs.get(path, headers=headers, query_string={"kind": "family_letter"})
    assert answer.status_code == 200, answer.json
    return {d["format"]: d for d in answer.json["documents"]}


def test_the_family_letter_names_each_childs_plan_and_the_third_childs_step_down(letter, docs, tmp_path):
    sw = letter["sw"]
    made = letters(docs, f"/v1/families/{letter['family_id']}/documents", sw)
    assert set(made) == {"html", "pdf"} and made["html"]["family_conference_id"] == letter["group_id"]
    html = docs.get(made["html"]["url"], headers=sw).get_data(as_text=True)
    assert "<title>What the meeting decided for your children</title>" in html
    assert "Dear Pat Sample and Lee Other," in html
    # each child's part, headed with the child's name
    assert re.findall(r"<h2>(.*?)</h2>", html)[:4] == ["Amy Sample", "Ben Sample", "Cal Sample", "What happens next"]
    amy_part, ben_part, cal_part = (html.split(f"<h2>{n} Sample</h2>")[1] for n in ("Amy", "Ben", "Cal"))
    assert "Amy Sample needs a child protection plan." in amy_part
    assert "<td>The categories of harm</td><td>Neglect</td>" in amy_part.split("<h2>")[0]
    assert "<td>Emotional abuse</td>" in ben_part.split("<h2>")[0]
    for part in (amy_part, ben_part):
        assert "Your key worker is Sam Social." in part and "Phone: 020 7946 0000" in part
        assert "The first core group meeting is on Monday 2 March 2099." in part
    cal_part = cal_part.split("<h2>")[0]
    assert "Cal Sample does not need a child protection plan." in cal_part
    assert "We will do this with a child in need plan." in cal_part and "key worker" not in cal_part
    assert made["html"]["readability"]["flesch_kincaid_grade"] <= MAX_FAMILY_GRADE

    text = " ".join(pdf_text(docs.get(made["pdf"]["url"], headers=sw).data, tmp_path).split())
    assert "Dear Pat Sample and Lee Other," in text and "Ben Sample needs a child protection plan." in text
    assert "Cal Sample does not need a child protection plan." in text


def test_the_letter_is_listed_with_each_childs_case_documents(letter, docs):
    sw = letter["sw"]
    for child_id in letter["children"]:
        found = letters(docs, f"/v1/cases/{letter['cases'][child_id]}/documents", sw)
        assert set(found) == {"html", "pdf"}, child_id
    every = docs.get(f"/v1/cases/{letter['cases'][letter['children'][0]]}/documents", headers=sw).json["documents"]
    assert {"conference_record", "outline_plan", "family_plan", "family_letter"} <= {d["kind"] for d in every}
    assert docs.get("/v1/families/no-such-family/documents", headers=sw).status_code == 404


def test_a_redelivered_or_repeated_family_conference_makes_the_letter_once(letter, plans_store, docs_ctx, docs):
    [held] = [m.body for m in plans_store.outbox_pending(10_000) if m.routing_key == "family_conference.held.v1"]
    with pytest.raises(AlreadyProcessed):
        hand_over(docs_ctx, held)
    again = new_event(
        held["type"], source="/services/plans", subject=held["subject"], data=held["data"], authority=held["authority"]
    )
    hand_over(docs_ctx, again)
    assert Renderer(docs_ctx).run_once(use_lease=False).documents == 0
    assert docs_ctx.store.collection("documents").count_documents({"kind": "family_letter"}) == 2


def test_a_letter_about_a_restricted_child_is_read_only_with_need_to_know(letter, docs, docs_ctx, token_for):
    amy, ben, _ = letter["children"]
    other = bearer(token_for("social_worker", user="sw-2", name="Jo Other"))
    restriction = {
        "child_id": amy,
        "restriction_id": "r-1",
        "access_list": ["sw-1"],
        "manager": {"user": "tm-1", "email": "tm@example.org", "name": "Pat Manager"},
        "set_by": "tm-1",
        "set_at": "2026-12-01T10:00:00+00:00",
    }
    deliver_event(docs_ctx, "child.restriction_set.v1", restriction, subject=amy)
    made = letters(docs, f"/v1/families/{letter['family_id']}/documents", letter["sw"])  # on the access list
    refused = docs.get(f"/v1/families/{letter['family_id']}/documents", headers=other)
    assert refused.status_code == 403 and "restricted" in refused.json["message"]
    assert docs.get(made["pdf"]["url"], headers=other).status_code == 403
    # Ben's own documents stay his to read, without the letter that tells of his restricted sister
    bens = docs.get(f"/v1/cases/{letter['cases'][ben]}/documents", headers=other)
    assert bens.status_code == 200 and "family_letter" not in {d["kind"] for d in bens.json["documents"]}
    assert "family_letter" in {
        d["kind"]
        for d in docs.get(f"/v1/cases/{letter['cases'][ben]}/documents", headers=letter["sw"]).json["documents"]
    }


@pytest.mark.slow
def test_the_family_letter_pdf_is_identified_as_pdf_ua_1_and_passes_pdfua(letter, docs, tmp_path):
    sw = letter["sw"]
    made = letters(docs, f"/v1/families/{letter['family_id']}/documents", sw)
    html = docs.get(made["html"]["url"], headers=sw).get_data(as_text=True)
    check_document(html, docs.get(made["pdf"]["url"], headers=sw).data, tmp_path / "family-letter.pdf")
