"""Scotland's child protection figures for the year to 31 July, over the returns API, from plan events handed
to a Scottish deployment's returns service as its worker would: one CSV row per registration in force in the
year, and the totals a hand count gives."""

from __future__ import annotations

import csv
import io

import pytest
from cpp_returns.app import create_app
from cpp_returns.projection import catch_up

from cpp_shared.testing import deliver_event
from tests.helpers import bearer


def plan(ctx, child: str, created_on: str, categories: list[str], *, ended_on: str | None = None, previous: int = 0):
    data = {
        "plan_id": f"plan-{child}-{created_on}",
        "case_id": f"case-{child}-{created_on}",
        "child_id": child,
        "child": {"name": child.title(), "date_of_birth": "2019-03-04"},
        "plan_version": 1,
        "status": "outline",
        "created_on": created_on,
        "categories": categories,
        "initial_categories": categories,
        "previous_plans": previous,
        "ended": None,
    }
    deliver_event(ctx, "plan.created.v1", data)
    if ended_on:
        ended = {**data, "plan_version": 2, "status": "ended", "ended": {"on": ended_on, "reason": "review_conference"}}
        deliver_event(ctx, "plan.ended.v1", ended)


@pytest.fixture
def scottish(make_settings):
    app = create_app(make_settings("returns", CPP_PLUGINS="scotland"))
    ctx = app.extensions["cpp"]
    plan(ctx, "ailsa", "2025-09-01", ["neglect", "domestic_abuse"])  # registered in the year, still on it
    plan(ctx, "bruce", "2025-03-03", ["parental_alcohol_and_drug_use"], ended_on="2025-10-06")  # off in the year
    plan(ctx, "cara", "2026-02-02", ["neglect"], ended_on="2026-06-01", previous=1)  # on and off: a re-registration
    plan(ctx, "dougal", "2024-05-01", ["neglect"], ended_on="2025-07-31")  # off before the year began
    plan(ctx, "eilidh", "2026-08-03", ["neglect"])  # after the year
    catch_up(ctx.store)
    return app.test_client()


def test_each_registration_in_force_in_the_year_is_a_row_and_the_totals_are_a_hand_count(scottish, token_for):
    tm = bearer(token_for("team_manager", user="tm-1", authority="SCT"))
    resp = scottish.get("/v1/returns/scotland-child-protection?year=2026", headers=tm)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.mimetype == "text/csv"
    assert 'filename="child-protection-scotland-2026.csv"' in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert [(r["child_id"], r["registered_on"], r["deregistered_on"], r["days_registered"]) for r in rows] == [
        ("bruce", "2025-03-03", "2025-10-06", "217"),
        ("ailsa", "2025-09-01", "", ""),
        ("cara", "2026-02-02", "2026-06-01", "119"),
    ]
    assert rows[1]["areas_of_concern"] == "domestic_abuse;neglect" and rows[1]["on_register_at_year_end"] == "yes"
    assert rows[0]["registered_in_year"] == "no" and rows[0]["deregistered_in_year"] == "yes"

    totals = scottish.get("/v1/returns/scotland-child-protection?year=2026&format=json", headers=tm).json
    assert totals["period"] == {"from": "2025-08-01", "to": "2026-07-31"}
    assert (totals["registrations"], totals["deregistrations"], totals["on_register_at_year_end"]) == (2, 2, 1)
    assert totals["re_registrations"] == 1
    assert totals["deregistered_after"] == {
        "under_6_months": 1,
        "6_to_12_months": 1,
        "1_to_2_years": 0,
        "2_years_or_more": 0,
    }
    assert totals["areas_of_concern_at_registration"] == {"domestic_abuse": 1, "neglect": 2}


def test_a_social_worker_may_not_and_a_bad_year_is_refused(scottish, token_for):
    sw = bearer(token_for("social_worker", user="sw-1", authority="SCT"))
    assert scottish.get("/v1/returns/scotland-child-protection?year=2026", headers=sw).status_code == 403
    tm = bearer(token_for("team_manager", user="tm-1", authority="SCT"))
    refused = scottish.get("/v1/returns/scotland-child-protection?year=1999", headers=tm)
    assert refused.status_code == 422 and "year" in refused.json["errors"]["query"]


def test_each_jurisdiction_is_told_the_returns_it_makes(scottish, make_settings, token_for):
    tm = bearer(token_for("team_manager", user="tm-1", authority="SCT"))
    assert [r["id"] for r in scottish.get("/v1/returns", headers=tm).json["returns"]] == ["scotland-child-protection"]
    for plugins, authority, made in (("england,bromley", "BRM", ["cin-census"]), ("wales", "WLS", [])):
        client = create_app(make_settings("returns", CPP_PLUGINS=plugins)).test_client()
        code = client.application.extensions["cpp"].authority["code"]
        manager = bearer(token_for("team_manager", user="tm-1", authority=code))
        assert [r["id"] for r in client.get("/v1/returns", headers=manager).json["returns"]] == made, authority
