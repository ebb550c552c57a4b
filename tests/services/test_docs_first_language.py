"""Family documents in the child's first language: a child registered over
the plans API with their first language, their case walked to an outline
plan (whose content says nothing of language), the events handed to the
docs service as its worker would, and the family version read back over
the docs API: in the child's language where the deployment has its phrase
set, and in English saying so where it has none."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cpp_docs.render import Renderer
from cpp_shared.plugins import Plugins
from tests.helpers import Pump, bearer, new_child
from tests.services.test_docs_http import docs, docs_app, docs_ctx, listed  # noqa: F401 - fixtures
from tests.services.test_plans_lifecycle_http import OUTLINE
from tests.unit.test_docs_render import Polish


@pytest.fixture
def polish_docs(docs_ctx):  # noqa: F811
    """The docs service of a deployment with a Polish phrase set."""
    docs_ctx.plugins = Plugins(["england"], extra=[("polish-phrases", Polish())])
    docs_ctx.extensions.pop("docs.documents", None)
    return docs_ctx


def outline_plan_for(plans, plans_store, docs_ctx, token_for, first_language: str) -> tuple[str, dict]:  # noqa: F811
    """A child whose record gives ``first_language``, to an outline plan; its documents rendered."""
    sw, chair = bearer(token_for("social_worker", user="sw-1")), bearer(token_for("chair", user="chair-1"))
    child_id = new_child(plans, sw, first_language=first_language, interpreter_needed=True)
    d0 = date.today() - timedelta(days=20)
    case_id = plans.post("/v1/cases", json={"child_id": child_id}, headers=sw).json["id"]
    plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": d0.isoformat()}, headers=sw)
    plans.post(
        f"/v1/cases/{case_id}/enquiry-outcome",
        headers=sw,
        json={"completed_on": d0.isoformat(), "conference_required": True},
    )
    conf = plans.post(
        f"/v1/cases/{case_id}/conferences", headers=sw, json={"kind": "initial", "scheduled_for": d0.isoformat()}
    ).json
    decided = plans.post(
        f"/v1/conferences/{conf['id']}/outcome",
        headers=chair,
        json={"held_on": d0.isoformat(), "plan_required": True, "outline_plan": OUTLINE},
    )
    assert decided.status_code == 200, decided.json
    assert "first_language" not in (decided.json["plan"]["content"].get("accessibility") or {})
    handed = Pump(plans_store, docs_ctx)()
    assert handed[0] == "child.registered.v1" and handed[-1] == "plan.created.v1"
    assert Renderer(docs_ctx).run_once(use_lease=False).failed == 0
    return decided.json["plan"]["id"], sw


def test_the_family_version_is_in_the_childs_recorded_first_language(
    plans,
    plans_store,
    polish_docs,
    docs,
    token_for,  # noqa: F811
):
    plan_id, sw = outline_plan_for(plans, plans_store, polish_docs, token_for, "Polish")
    made = listed(docs, plan_id, sw, kind="family_plan")
    assert sorted({lang for (_, _, lang, _, _) in made}) == ["en-GB", "pl"]
    html = docs.get(made[("family_plan", 1, "pl", False, "html")]["url"], headers=sw).get_data(as_text=True)
    assert '<html lang="pl">' in html and "<h1>Twój plan ochrony dziecka</h1>" in html
    english = docs.get(made[("family_plan", 1, "en-GB", False, "html")]["url"], headers=sw).get_data(as_text=True)
    assert "This is in English" not in english  # the family has its own language's version too


def test_without_a_phrase_set_the_family_version_is_in_english_and_says_so(
    plans,
    plans_store,
    polish_docs,
    docs,
    token_for,  # noqa: F811
):
    plan_id, sw = outline_plan_for(plans, plans_store, polish_docs, token_for, "Tigrinya")
    made = listed(docs, plan_id, sw, kind="family_plan")
    assert {lang for (_, _, lang, _, _) in made} == {"en-GB"}
    html = docs.get(made[("family_plan", 1, "en-GB", False, "html")]["url"], headers=sw).get_data(as_text=True)
    assert "This is in English. We do not have it in Tigrinya yet." in html
    assert "You can ask us to read it to you in Tigrinya." in html
