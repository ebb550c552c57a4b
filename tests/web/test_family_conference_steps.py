"""The family conference's own steps in the web application, with Flask's
test client and the real plans service on loopback (as test_families.py):
the family conference's page, moved (If-Match; a move made meanwhile gives
the changed page) and cancelled with each child's conference, whose own page
then leads to it instead of offering those steps; one report to it, each
child's report going on from its own page; one core group meeting about two
children's plans; and a review conference, with one review report carrying
each child's updated plan, deciding for each child (a plan changed meanwhile
gives the changed page). Each page shows one refusal of the plans service
against its field."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import requests

from tests.helpers import bearer
from tests.web.test_families import children, dmy, ok, plans_url, record_the_family, web  # noqa: F401 - fixtures
from tests.web.test_lifecycle import post_form, summary_links
from tests.web.test_web_app import sign_in

D0 = date.today() - timedelta(days=20)


def on(days: int) -> list[str]:
    return dmy(D0 + timedelta(days=days))


def a_conference_about_two(web, children) -> tuple[str, str]:
    """The family recorded, Amy and Ben's initial conference scheduled (Cal steps down after the enquiries),
    signed in as a team manager; the family's id and the family conference's."""
    amy, ben, cal = children
    family_id = record_the_family(web, children)
    ok(post_form(web, f"/families/{family_id}/cases", {"children": children}))
    ok(
        post_form(
            web,
            f"/families/{family_id}/strategy-discussion",
            {"children": children, "held_on": on(0), "initiated_enquiries": "yes"},
        )
    )
    outcomes = {f"outcomes-{i}-child_id": c for i, c in enumerate(children)}
    outcomes.update({"outcomes-0-conference_required": "yes", "outcomes-1-conference_required": "yes"})
    outcomes["outcomes-2-conference_required"] = "no"
    ok(post_form(web, f"/families/{family_id}/enquiry-outcomes", {"completed_on": on(1), **outcomes}))
    ok(
        post_form(
            web,
            f"/families/{family_id}/conferences/new",
            {"children": [amy, ben], "kind": "initial", "scheduled_for": on(5), "chair": ""},
        )
    )
    web.get("/sign-out")
    sign_in(web, "demo-tm-1")
    page = web.get(f"/families/{family_id}").get_data(as_text=True)
    [group_id] = set(re.findall(r'href="/family-conferences/([0-9a-f]+)"', page))
    return family_id, group_id


def test_the_family_conference_is_moved_reported_on_and_cancelled_from_its_own_page(
    web, children, plans_url, token_for
):
    amy, ben, cal = children
    family_id, group_id = a_conference_about_two(web, children)
    page = web.get(f"/family-conferences/{group_id}").get_data(as_text=True)
    assert "Initial child protection conference about the children" in page
    assert "Amy Sample's conference" in page and "Cal Sample" not in page
    for step in ("move", "cancel", "report", "outcome"):
        assert f'href="/family-conferences/{group_id}/{step}"' in page
    [amy_conference, ben_conference] = re.findall(r'href="/conferences/([0-9a-f]+)"', page)
    own = web.get(f"/conferences/{amy_conference}").get_data(as_text=True)
    assert f'href="/family-conferences/{group_id}"' in own
    assert "/move" not in own and "/cancel" not in own and "/outcome" not in own
    for step in ("move", "cancel", "outcome", "review-outcome"):  # a task list's link too: to the family's
        alone = web.get(f"/conferences/{amy_conference}/{step}")
        assert alone.status_code == 302 and alone.headers["Location"] == f"/family-conferences/{group_id}", step

    # moved: a blank reason is the service's refusal on the reason; a move made meanwhile is not overwritten
    path = f"/family-conferences/{group_id}/move"
    refused = post_form(web, path, {"scheduled_for": on(6), "reason": "   "})
    assert refused.status_code == 400, refused.get_data(as_text=True)
    assert "#reason" in summary_links(refused.get_data(as_text=True))
    form = web.get(path).get_data(as_text=True)
    headers = bearer(token_for("social_worker", user="demo-sw-1", name="Sam Okafor"))
    now = requests.get(f"{plans_url}/v1/family-conferences/{group_id}", headers=headers, timeout=10)
    meanwhile = requests.patch(
        f"{plans_url}/v1/family-conferences/{group_id}",
        json={"scheduled_for": (D0 + timedelta(days=7)).isoformat(), "reason": "The chair is away."},
        headers={**headers, "If-Match": now.headers["ETag"]},
        timeout=10,
    )
    assert meanwhile.status_code == 200, meanwhile.json()
    late = web.post(
        path,
        data={
            "csrf_token": re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1),
            "etag": re.search(r'name="etag" type="hidden" value="([^"]*)"', form).group(1),
            "scheduled_for": on(6),
            "reason": "The family asked.",
        },
    )
    assert late.status_code == 412 and "Someone changed this conference since you opened it" in late.get_data(
        as_text=True
    )
    moved = ok(post_form(web, path, {"scheduled_for": on(6), "reason": "The family asked."}))
    assert moved.headers["Location"] == f"/family-conferences/{group_id}"
    page = web.get(f"/family-conferences/{group_id}").get_data(as_text=True)
    assert "The chair is away." in page and "The family asked." in page
    assert (D0 + timedelta(days=6)).strftime("%-d %B %Y") in web.get(f"/conferences/{ben_conference}").get_data(
        as_text=True
    )

    # one report: a child outside the conference is refused on that child's part
    path = f"/family-conferences/{group_id}/report"
    form = web.get(path).get_data(as_text=True)
    assert "What the section 47 enquiries found" in form and "Ben Sample&#39;s views" in form
    report = {
        "findings": "Both children were left alone at night.",
        "family_views": "Their mother disagrees.",
        "children-0-child_id": amy,
        "children-0-seen_on_1": on(2),
        "children-0-seen_alone_1": "y",
        "children-0-childs_views": "Amy wants to stay.",
        "children-1-child_id": ben,
        "children-1-seen_on_1": on(3),
    }
    refused = post_form(web, path, {**report, "children-1-child_id": cal})
    assert refused.status_code == 400, refused.get_data(as_text=True)
    assert "#children-1-childs_views" in summary_links(refused.get_data(as_text=True))
    ok(post_form(web, path, report))
    amy_report = web.get(f"/conferences/{amy_conference}/report")  # each child's report goes on from its page
    report_id = re.fullmatch(r"/reports/([0-9a-f]+)", amy_report.headers["Location"]).group(1)
    drafted = requests.get(f"{plans_url}/v1/reports/{report_id}", headers=headers, timeout=10).json()
    assert drafted["status"] == "draft" and drafted["child_id"] == amy
    assert drafted["content"]["findings"] == "Both children were left alone at night."
    assert drafted["content"]["childs_views"] == "Amy wants to stay."
    assert drafted["content"]["child_seen"] == [{"on": (D0 + timedelta(days=2)).isoformat(), "alone": True}]

    # cancelled with each child's conference: a blank reason is refused on the reason
    path = f"/family-conferences/{group_id}/cancel"
    refused = post_form(web, path, {"reason": "  "})
    assert refused.status_code == 400 and "#reason" in summary_links(refused.get_data(as_text=True))
    done = ok(post_form(web, path, {"reason": "The family moved away for a month."}))
    assert done.headers["Location"] == f"/families/{family_id}"
    assert "Cancelled" in web.get(f"/conferences/{ben_conference}").get_data(as_text=True)
    page = web.get(f"/family-conferences/{group_id}").get_data(as_text=True)
    assert "The family moved away for a month." in page and f"/family-conferences/{group_id}/move" not in page


def plan_for(i: int, category: str) -> dict:
    return {
        f"decisions-{i}-plan_required": "yes",
        f"decisions-{i}-key_worker": "demo-sw-1",
        f"decisions-{i}-categories": [category],
        f"decisions-{i}-core_group-0-name": "Sam Okafor",
        f"decisions-{i}-core_group-0-role": "social worker",
        f"decisions-{i}-core_group-0-agency": "Children's services",
        f"decisions-{i}-first_core_group_on": on(10),
    }


def test_one_core_group_meeting_then_a_review_deciding_for_each_child(web, children, plans_url, token_for):
    amy, ben, cal = children
    family_id, group_id = a_conference_about_two(web, children)
    decisions = {"held_on": on(5), "decisions-0-child_id": amy, "decisions-1-child_id": ben}
    ok(
        post_form(
            web,
            f"/family-conferences/{group_id}/outcome",
            {**decisions, **plan_for(0, "neglect"), **plan_for(1, "neglect")},
        )
    )
    page = web.get(f"/families/{family_id}").get_data(as_text=True)
    assert f'href="/families/{family_id}/core-group-meeting"' in page
    plan_of = dict(re.findall(r'href="/children/([0-9a-f]+)".*?href="/plans/([0-9a-f]+)"', page, re.S))
    assert set(plan_of) == {amy, ben}

    # one core group meeting about both plans: agreeing a detailed plan with sections missing is refused
    path = f"/families/{family_id}/core-group-meeting"
    form = web.get(path).get_data(as_text=True)
    assert "Did the meeting agree Ben Sample&#39;s detailed plan?" in form and "Cal Sample" not in form
    meeting = {
        "held_on": on(9),
        "attendees": "Sam Okafor, social worker, Children's services\nPat Sample, mother",
        "notes": "Both children's plans.",
        "plans-0-child_id": amy,
        "plans-0-detailed_plan_agreed": "no",
        "plans-1-child_id": ben,
        "plans-1-detailed_plan_agreed": "no",
    }
    refused = post_form(web, path, {**meeting, "plans-1-detailed_plan_agreed": "yes"})
    assert refused.status_code == 400, refused.get_data(as_text=True)
    links = summary_links(refused.get_data(as_text=True))
    assert "A detailed plan needs outcomes" in links["#plans-1-detailed_plan_agreed"]
    # the form starts with the children's key worker (one line for both plans'); a meeting without them is refused
    [box] = re.findall(r'<textarea[^>]*name="attendees"[^>]*>(.*?)</textarea>', form, re.S)
    assert html.unescape(box).strip() == "Sam Okafor, key worker"
    refused = post_form(web, path, {**meeting, "attendees": "Pat Sample, mother"})
    assert refused.status_code == 400, refused.get_data(as_text=True)
    [shown] = re.findall(r'<p id="attendees-error"[^>]*>(.*?)</p>', refused.get_data(as_text=True), re.S)
    shown = re.sub(r"\s+", " ", html.unescape(shown))
    for name in ("Amy Sample", "Ben Sample"):  # each child's plan named, in the one message on the field
        assert f"{name}'s plan: the key worker, Sam Okafor, is not among the attendees" in shown, shown
    assert html.unescape(summary_links(refused.get_data(as_text=True))["#attendees"]) in shown
    for child_id in (amy, ben):  # nothing recorded for either child
        assert "Core group meeting held" not in web.get(f"/children/{child_id}/chronology").get_data(as_text=True)
    ok(post_form(web, path, meeting))
    for child_id in (amy, ben):  # on each child's own history
        assert "Core group meeting held" in web.get(f"/children/{child_id}/chronology").get_data(as_text=True)

    # the review conference about both: each child's decision
    ok(
        post_form(
            web,
            f"/families/{family_id}/conferences/new",
            {"children": [amy, ben], "kind": "review", "scheduled_for": on(12), "chair": ""},
        )
    )
    page = web.get(f"/families/{family_id}").get_data(as_text=True)
    [review_id] = set(re.findall(r'href="/family-conferences/([0-9a-f]+)/outcome"', page))
    # one review report: the progress against the plans, and each child's plan as updated for the review
    path = f"/family-conferences/{review_id}/report"
    form = web.get(path).get_data(as_text=True)
    assert "Progress against the plan" in form and 'name="children-1-plan_concerns"' in form
    report = {
        "findings": "Amy is settled; Ben has moved to his grandmother's.",
        "children-0-child_id": amy,
        "children-0-seen_on_1": on(11),
        "children-0-plan_concerns": "Amy is sometimes left alone in the evening.",
        "children-1-child_id": ben,
        "children-1-plan_concerns": "Ben lives with his grandmother.",
    }
    ok(post_form(web, path, report))
    headers = bearer(token_for("social_worker", user="demo-sw-1", name="Sam Okafor"))
    in_force = requests.get(f"{plans_url}/v1/plans/{plan_of[amy]}", headers=headers, timeout=10).json()
    review_page = web.get(f"/family-conferences/{review_id}").get_data(as_text=True)
    amy_review = re.findall(r'href="/conferences/([0-9a-f]+)"', review_page)[0]
    mine = requests.get(f"{plans_url}/v1/conferences/{amy_review}/reports", headers=headers, timeout=10).json()
    assert mine[-1]["plan"]["concerns"] == "Amy is sometimes left alone in the evening."
    assert mine[-1]["plan"]["categories"] == in_force["content"]["categories"]  # carried over

    path = f"/family-conferences/{review_id}/outcome"
    form = web.get(path).get_data(as_text=True)
    assert "What did the conference decide for Ben Sample?" in form and "Continue the child protection plan" in form
    review = {
        "held_on": on(12),
        "decisions-0-child_id": amy,
        "decisions-0-decision": "revise",
        "decisions-0-concerns": "Amy is safe at home in the evenings now.",
        "decisions-1-child_id": ben,
        "decisions-1-decision": "end",
        "decisions-1-reason": "Ben lives with his grandmother now.",
    }
    etags = {
        k: html.unescape(v)
        for k, v in re.findall(r'name="(decisions-\d-plan_etag)" type="hidden" value="([^"]*)"', form)
    }
    assert len(etags) == 2
    refused = post_form(web, path, {**review, **etags, "decisions-1-child_id": cal})
    assert refused.status_code == 400, refused.get_data(as_text=True)
    links = summary_links(refused.get_data(as_text=True))
    assert "not one of the children this conference is about" in links["#decisions-1-decision"]
    # a plan changed meanwhile: nothing is decided on a plan the chair did not see
    now = requests.get(f"{plans_url}/v1/plans/{plan_of[amy]}", headers=headers, timeout=10)
    meanwhile = requests.patch(
        f"{plans_url}/v1/plans/{plan_of[amy]}",
        json={"concerns": "Amy is often late to school."},
        headers={**headers, "If-Match": now.headers["ETag"]},
        timeout=10,
    )
    assert meanwhile.status_code == 200, meanwhile.json()
    late = post_form(web, path, {**review, **etags})
    assert late.status_code == 412, late.get_data(as_text=True)
    assert "The child protection plan of Amy Sample changed." in late.get_data(as_text=True)
    form = web.get(path).get_data(as_text=True)
    etags = {
        k: html.unescape(v)
        for k, v in re.findall(r'name="(decisions-\d-plan_etag)" type="hidden" value="([^"]*)"', form)
    }
    ok(post_form(web, path, {**review, **etags}))
    page = web.get(f"/families/{family_id}").get_data(as_text=True)
    amy_row, ben_row = (page.split(f'href="/children/{c}"')[1].split("</tr>")[0] for c in (amy, ben))
    assert "Ended" in ben_row and "Ended" not in amy_row
    revised = requests.get(f"{plans_url}/v1/plans/{plan_of[amy]}", headers=headers, timeout=10).json()
    assert revised["content"]["concerns"] == "Amy is safe at home in the evenings now."
