"""The documents of a child who moved in, from the plans service's real
events: the transfer-in conference's record names the conference as such
and says what it decided, as an initial conference's record does."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cpp_docs.app import create_app as create_docs_app
from cpp_docs.render import Renderer
from tests.helpers import Pump, bearer
from tests.services.test_docs_http import pdf_text
from tests.services.test_lookup_http import NHS, child_body
from tests.services.test_plans_lifecycle_http import OUTLINE

HELD = date.today() - timedelta(days=1)


@pytest.fixture
def docs_app(make_settings):
    return create_docs_app(make_settings("docs"))


@pytest.mark.slow  # renders PDFs
def test_the_transfer_in_conferences_record_says_what_it_decided(plans, plans_store, docs_app, token_for, tmp_path):
    docs, docs_ctx = docs_app.test_client(), docs_app.extensions["cpp"]
    sw, chair = bearer(token_for("social_worker", user="sw-1")), bearer(token_for("chair", user="chair-1"))
    notice = {"from_council": "Leeds City Council", "notified_on": HELD.isoformat(), "child": child_body(NHS)}
    case = plans.post("/v1/transfers/in", json={"notification": notice}, headers=sw).json
    conference = plans.post(
        f"/v1/cases/{case['id']}/conferences",
        json={"kind": "transfer_in", "scheduled_for": HELD.isoformat()},
        headers=sw,
    ).json
    held = plans.post(
        f"/v1/conferences/{conference['id']}/outcome",
        json={"held_on": HELD.isoformat(), "plan_required": True, "outline_plan": OUTLINE},
        headers=chair,
    )
    assert held.status_code == 200, held.json
    assert "conference.held.v1" in Pump(plans_store, docs_ctx)()
    assert Renderer(docs_ctx).run_once(use_lease=False).failed == 0
    listed = docs.get(f"/v1/cases/{case['id']}/documents", headers=sw, query_string={"kind": "conference_record"})
    [record] = [d for d in listed.json["documents"] if d["format"] == "pdf"]
    text = " ".join(pdf_text(docs.get(record["url"], headers=sw).data, tmp_path).split())
    assert "Record of the transfer-in child protection conference" in text
    assert "The child needs a child protection plan." in text
