"""The made-up caseload seeded into a real stack (RabbitMQ, the plans, the
scheduler's and the docs' web and worker processes, notify's API, the web
application): seeded, seeded again and sent again with the same keys, it
makes each record once; through the services' APIs every stage is there, a
deadline is overdue and another met, a report waits for countersigning, and
the docs worker made the documents. In a browser, the sign-in page lists
whose cases are whose, Sam Okafor's My work has work overdue and due this
week, and the team manager's approvals hold the report; axe-core on each."""

from __future__ import annotations

import json
import uuid
from datetime import date

import pytest
import requests

from cpp_shared.auth import issue_dev_token, load_dev_key
from cpp_shared.config import Settings
from cpp_web import commands, demo, people
from tests.helpers import bearer, wait_for
from tests.integration.conftest import rabbit  # noqa: F401 (fixture)
from tests.integration.processes import launch
from tests.web.test_browser import artifacts, check, page  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.slow, pytest.mark.broker]


@pytest.fixture(scope="module")
def demo_stack(tmp_path_factory, rabbit):  # noqa: F811 (the fixture imported above)
    """The stack, seeded; then seeded again; then every step sent again as if each
    had been cut off after it committed (the state's "done" forgotten)."""
    data = tmp_path_factory.mktemp("demo-stack")
    env = {"CPP_MODE": "development", "CPP_DATA_DIR": str(data)}
    load_dev_key(Settings.from_env("plans", env).dev_signing_key_file, create=True)
    broker_url = rabbit.add_vhost(f"test-demo-{uuid.uuid4().hex[:10]}")
    running = []
    try:
        for service in ("plans", "scheduler", "docs", "returns"):  # the docs worker makes the documents
            running.append(launch(service, data, broker_url))
        running.append(launch("notify", data, broker_url, "web"))
        urls = {p.service: p.url for p in running}
        web = launch("web", data, broker_url, "web", **{f"CPP_WEB_{s.upper()}_URL": u for s, u in urls.items()})
        running.append(web)
        settings = Settings.from_env("web", {**env, **{f"CPP_WEB_{s.upper()}_URL": u for s, u in urls.items()}})
        commands.seed(settings, wait=60)
        first = json.loads((data / demo.STATE).read_text())
        commands.seed(settings, wait=60)  # nothing to do
        state = json.loads((data / demo.STATE).read_text())
        state["done"] = {}  # creates answered from their Idempotency-Key, steps refused as already taken
        (data / demo.STATE).write_text(json.dumps(state))
        commands.seed(settings, wait=60)
        yield {"web": web.url, **urls, "settings": settings, "data": data, "first": first}
    finally:
        for proc in running:
            proc.stop()


def as_(stack, user: str) -> dict:
    p = people.by_user(user)
    return bearer(
        issue_dev_token(
            stack["settings"],
            role=p.role,
            authority="ENG",
            user=p.user,
            name=p.name,
            email=p.email,
            team=p.team,
            manager=p.manager,
            create_key=False,
        )
    )


def get(url: str, headers: dict, **params):
    resp = requests.get(url, headers=headers, params=params, timeout=20)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_the_demo_caseload_is_seeded_once_at_every_stage_with_its_deadlines_report_and_documents(demo_stack):
    stack, data = demo_stack, demo_stack["data"]
    assert (data / demo.MARKER).exists()
    results = json.loads((data / demo.STATE).read_text())["results"]
    assert results == stack["first"]["results"]

    plans, tm, sw = stack["plans"], as_(stack, "demo-tm-1"), as_(stack, "demo-sw-1")
    cases = get(f"{plans}/v1/cases", tm, team="mine", page_size=100)["items"]
    assert len(cases) == len(demo.CASELOAD)  # one case each, nothing twice
    for family in demo.CASELOAD:
        found = get(f"{plans}/v1/children", tm, family_name=family.family_name)["items"]
        assert len(found) == 1, family.name
    stage_of = {c["id"]: c["status"] for c in cases}
    case = {key: r["case"] for key, r in results.items()}
    assert {stage_of[case[f.key]] for f in demo.CASELOAD} == {
        "enquiries",
        "child_in_need",
        "conference_pending",
        "on_plan",
        "plan_ended",
    }
    plan_status = {
        f.stage: get(f"{plans}/v1/plans/{results[f.key]['plan']}", tm)["status"]
        for f in demo.CASELOAD
        if "plan" in results[f.key]
    }
    assert plan_status == {
        "outline_plan": "outline",
        "core_group_overdue": "outline",
        "active_plan": "active",
        "reviewed_plan": "active",
        "plan_ended": "ended",
    }

    # The report waiting for the team manager.
    waiting = get(f"{plans}/v1/approvals", tm)
    assert [w["child_name"] for w in waiting if w["kind"] == "report_countersigning"] == ["Isla Fictional"]

    # Deadlines: overdue, due this week, met (the scheduler makes them from the events).
    scheduler, today = stack["scheduler"], date.today().isoformat()

    def deadlines():
        found = {}
        for family in demo.CASELOAD:
            found[family.stage] = get(f"{scheduler}/v1/deadlines", tm, case_id=case[family.key], page_size=50)["items"]
        return found if found["plan_ended"] and found["outline_plan"] and found["initial_overdue"] else None

    found = wait_for(deadlines, timeout=60, what="the scheduler to make the caseload's deadlines")
    overdue = [d for d in found["initial_overdue"] if d["status"] in ("pending", "approaching", "overdue")]
    assert overdue and overdue[0]["due_on"] < today
    met = [d for d in found["outline_plan"] if d["status"] == "met"]
    assert any(d["name"].startswith("Initial child protection conference") for d in met)
    mine = get(f"{scheduler}/v1/deadlines", sw, assignee="me", status="open", page_size=200)["items"]
    assert any(d["due_on"] and d["due_on"] < today for d in mine)  # Sam has overdue work

    # Documents: the docs worker's, from the plans' events.
    docs = stack["docs"]

    def kinds(key: str) -> set[str]:  # a 404 until the first is made
        resp = requests.get(f"{docs}/v1/cases/{case[key]}/documents", headers=tm, timeout=20)
        return {d["kind"] for d in resp.json()["documents"]} if resp.status_code == 200 else set()

    def documents():
        return {"professional_plan", "family_plan"} <= kinds("ruby") and "conference_report" in kinds("maya")

    wait_for(documents, timeout=100, interval=1, what="the docs service to make the caseload's documents")

    # The sign-in page says whose cases are whose, and that they are made up.
    page = requests.get(f"{stack['web']}/sign-in", timeout=20).text
    assert demo.NOTICE in page and "Sam Okafor" in page
    assert f"{len(demo.holdings()['demo-sw-1'])} children (Leo Sample, Isla Fictional" in page


def test_the_referrals_and_assessments_have_their_deadlines_met_and_open(demo_stack):
    stack, tm = demo_stack, as_(demo_stack, "demo-tm-1")
    results = json.loads((stack["data"] / demo.STATE).read_text())["results"]

    def deadlines(key: str) -> dict[str, str]:
        items = get(f"{stack['scheduler']}/v1/deadlines", tm, case_id=results[key]["case"], page_size=50)["items"]
        return {d["rule_id"]: d["status"] for d in items}

    def made():
        found = {key: deadlines(key) for key in ("leo", "finn")}
        return found if all("child-and-family-assessment" in d for d in found.values()) else None

    found = wait_for(made, timeout=60, what="the scheduler to make the referrals' deadlines")
    assert found["finn"]["referral-decision"] == found["finn"]["child-and-family-assessment"] == "met"
    assert found["leo"]["referral-decision"] == "met" and found["leo"]["child-and-family-assessment"] == "pending"
    case = get(f"{stack['plans']}/v1/cases/{results['finn']['case']}", tm)
    assert case["referral"]["decision"]["decision"] == "assessment"
    assert case["assessment"]["completion"]["authorised_by"]["user"] == demo.TM


@pytest.mark.browser
def test_a_new_user_sees_the_made_up_caseload_from_the_sign_in_page(demo_stack, page, artifacts):  # noqa: F811
    web = demo_stack["web"]
    page.goto(f"{web}/sign-in")
    assert demo.NOTICE in page.locator("#demo-notice").inner_text()
    assert "6 children (Leo Sample" in page.get_by_text("Social worker, Area North: 6").inner_text()
    check(page, artifacts, "demo-1-sign-in")
    page.get_by_label("Sam Okafor").check()
    page.get_by_role("button", name="Sign in").click()
    assert page.locator("h1").inner_text() == "My work"
    assert "Noah Madeup" in page.locator("#overdue + table").inner_text()
    assert "Maya Pretend" in page.locator("#due-this-week + table").inner_text()
    assert demo.NOTICE in page.locator("#demo-notice").inner_text()
    check(page, artifacts, "demo-2-my-work")
    page.goto(f"{web}/sign-out")
    page.goto(f"{web}/sign-in")
    page.get_by_label("Priya Shah").check()
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{web}/approvals")
    assert "Isla Fictional" in page.locator("table").inner_text()
    check(page, artifacts, "demo-3-approvals")
