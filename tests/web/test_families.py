"""Families in the web application, with Flask's test client and the real
plans service on loopback (the scheduler and docs played by fakes): a
family of three recorded from a child's record, their cases opened, one
strategy discussion, the enquiries' outcome for each child, one
conference deciding plans for two and none for the third; the family page
then shows both plans and the step-down. A decision for a child outside
the conference shows the plans service's error on that child's question,
and a family changed meanwhile gives the changed page."""

from __future__ import annotations

import re
import threading
from datetime import date, timedelta

import pytest
import requests
from werkzeug.serving import make_server

from cpp_plans.app import create_app as create_plans_app
from cpp_shared.auth import load_dev_key
from cpp_shared.config import Settings
from cpp_web.app import create_app
from tests.helpers import bearer, new_child_over_http
from tests.web.test_lifecycle import post_form, summary_links
from tests.web.test_web_app import sign_in


@pytest.fixture
def plans_url(make_settings):
    """The plans service, served on a loopback port for the test."""
    app = create_plans_app(make_settings("plans"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def web(data_dir, fakes, plans_url):
    env = {"CPP_MODE": "development", "CPP_DATA_DIR": str(data_dir), "CPP_LOG_FORMAT": "console"}
    env.update({f"CPP_WEB_{name.upper()}_URL": fake.url for name, fake in fakes.items()})
    env.update(CPP_WEB_PLANS_URL=plans_url, CPP_PLUGINS="england")
    settings = Settings.from_env("web", env)
    load_dev_key(settings.dev_signing_key_file, create=True)  # the plans service's key: one data folder
    fakes["scheduler"].routes[("GET", "/v1/deadlines")] = (200, {"items": []})
    app = create_app(settings)
    app.config["TESTING"] = True
    client = app.test_client()
    sign_in(client)
    return client


@pytest.fixture
def children(web, plans_url, token_for):
    """Amy, Ben and Cal Sample, registered."""
    headers = bearer(token_for("social_worker", user="demo-sw-1", name="Sam Okafor"))
    return [
        new_child_over_http(plans_url, headers, given_names=n, family_name="Sample", identifiers=[], date_of_birth=born)
        for n, born in (("Amy", "2015-03-01"), ("Ben", "2018-07-12"), ("Cal", "2021-01-30"))
    ]


def dmy(d: date) -> list[str]:
    return [str(d.day), str(d.month), str(d.year)]


def ok(answer, status=302):
    assert answer.status_code == status, answer.get_data(as_text=True)
    return answer


def record_the_family(web, children) -> str:
    amy, ben, cal = children
    page = web.get(f"/children/{amy}").get_data(as_text=True)
    assert "Amy Sample is in no family yet." in page and f"/families/new?child_id={amy}" in page
    form = web.get(f"/families/new?child_id={amy}").get_data(as_text=True)
    assert "Ben Sample, born 12 July 2018" in form and "Cal Sample, born 30 January 2021" in form
    done = post_form(
        web,
        f"/families/new?child_id={amy}",
        {
            "name": "Sample family",
            "children": children,
            "people-0-name": "Pat Sample",
            "people-0-role": "parent",
            "people-0-parental_responsibility": "y",
            "people-0-relationship": "mother",
            "people-0-children": children,
            "people-1-name": "Lee Other",
            "people-1-role": "parent",
            "people-1-parental_responsibility": "y",
            "people-1-relationship": "father",
            "people-1-children": [cal],
        },
    )
    return re.fullmatch(r"/families/([0-9a-f]+)", ok(done).headers["Location"]).group(1)


def test_a_family_of_three_walked_to_one_conference_deciding_two_plans_and_a_step_down(
    web, children, fakes, plans_url, token_for
):
    amy, ben, cal = children
    family_id = record_the_family(web, children)
    page = web.get(f"/families/{family_id}").get_data(as_text=True)
    assert '<h1 class="govuk-heading-l">Sample family</h1>' in page
    assert "Mother of Amy Sample, Mother of Ben Sample, Mother of Cal Sample" in page
    assert "Father of Cal Sample" in page and f'href="/children/{amy}"' in page
    assert f'href="/families/{family_id}"' in web.get(f"/children/{ben}").get_data(as_text=True)

    d0 = date.today() - timedelta(days=20)
    ok(post_form(web, f"/families/{family_id}/cases", {"children": children}))
    again = post_form(web, f"/families/{family_id}/cases", {"children": [amy]})  # refused: the service's reason
    assert again.status_code == 409 and "open case" in again.get_data(as_text=True)
    ok(
        post_form(
            web,
            f"/families/{family_id}/strategy-discussion",
            {"children": children, "held_on": dmy(d0), "initiated_enquiries": "yes", "notes": "All three."},
        )
    )
    outcomes = {f"outcomes-{i}-child_id": c for i, c in enumerate(children)}
    outcomes.update({f"outcomes-{i}-conference_required": "yes" for i in range(3)})
    form = web.get(f"/families/{family_id}/enquiry-outcomes").get_data(as_text=True)
    assert "Is an initial child protection conference needed for Cal Sample?" in form
    ok(post_form(web, f"/families/{family_id}/enquiry-outcomes", {"completed_on": dmy(d0), **outcomes}))
    ok(
        post_form(
            web,
            f"/families/{family_id}/conferences/new",
            {"children": children, "kind": "initial", "scheduled_for": dmy(d0 + timedelta(days=5)), "chair": ""},
        )
    )
    page = web.get(f"/families/{family_id}").get_data(as_text=True)
    case_of = dict(re.findall(r'href="/children/([0-9a-f]+)".*?href="/cases/([0-9a-f]+)"', page, re.S))
    assert set(case_of) == set(children)
    assert "Initial child protection conference to be held" in page

    web.get("/sign-out")
    sign_in(web, "demo-chair-1")
    page = web.get(f"/families/{family_id}").get_data(as_text=True)
    [group_id] = re.findall(r'href="/family-conferences/([0-9a-f]+)/outcome"', page)
    path = f"/family-conferences/{group_id}/outcome"
    form = web.get(path).get_data(as_text=True)
    assert "Does Ben Sample need a child protection plan?" in form and "Outline plan for Cal Sample" in form
    plan_for = lambda i, category: {  # noqa: E731
        f"decisions-{i}-plan_required": "yes",
        f"decisions-{i}-key_worker": "demo-sw-1",
        f"decisions-{i}-categories": [category],
        f"decisions-{i}-core_group-0-name": "Sam Okafor",
        f"decisions-{i}-core_group-0-role": "social worker",
        f"decisions-{i}-core_group-0-agency": "Children's services",
        f"decisions-{i}-first_core_group_on": dmy(d0 + timedelta(days=10)),
    }
    decisions = {
        "held_on": dmy(d0 + timedelta(days=5)),
        "decisions-0-child_id": amy,
        **plan_for(0, "neglect"),
        "decisions-1-child_id": ben,
        **plan_for(1, "emotional_abuse"),
        "decisions-2-child_id": cal,
        "decisions-2-plan_required": "no",
    }

    # A decision for a child outside the conference: the service's error, on that child's question.
    headers = bearer(token_for("social_worker", user="demo-sw-1", name="Sam Okafor"))
    outsider = new_child_over_http(plans_url, headers, given_names="Dan", family_name="Elsewhere", identifiers=[])
    refused = post_form(web, path, {**decisions, "decisions-2-child_id": outsider})
    assert refused.status_code == 400, refused.get_data(as_text=True)
    links = summary_links(refused.get_data(as_text=True))
    assert "not one of the children this conference is about" in links["#decisions-2-plan_required"]

    ok(post_form(web, path, decisions))
    fakes["docs"].routes[("GET", f"/v1/families/{family_id}/documents")] = (
        200,
        {
            "family_id": family_id,
            "documents": [
                {
                    "id": "letter-1",
                    "kind": "family_letter",
                    "format": "pdf",
                    "language": "en-GB",
                    "large_print": False,
                    "created_at": date.today().isoformat(),
                }
            ],
        },
    )
    page = web.get(f"/families/{family_id}").get_data(as_text=True)
    amy_row, ben_row, cal_row = (page.split(f'href="/children/{c}"')[1].split("</tr>")[0] for c in children)
    assert "Outline plan" in amy_row and "/plans/" in amy_row and "/plans/" in ben_row
    assert "Child in need plan" in cal_row and "No child protection plan: child in need plan" in cal_row
    assert "Held" in page and "Record the outcome" not in page
    assert 'href="/documents/letter-1"' in page and "Letter to the family about the conference" in page
    case_page = web.get(f"/cases/{case_of[cal]}").get_data(as_text=True)
    assert f'href="/families/{family_id}">Sample family</a>' in case_page


def test_changing_the_family_sends_if_match_and_a_change_made_meanwhile_is_not_lost(
    web, children, token_for, plans_url
):
    family_id = record_the_family(web, children)
    form = web.get(f"/families/{family_id}/change").get_data(as_text=True)
    assert 'value="Sample family"' in form and 'value="Pat Sample"' in form
    headers = bearer(token_for("social_worker", user="demo-sw-1", name="Sam Okafor"))
    now = requests.get(f"{plans_url}/v1/families/{family_id}", headers=headers, timeout=10)
    meanwhile = {k: now.json()[k] for k in ("name", "children", "people")} | {"name": "Sample-Other family"}
    changed = requests.put(
        f"{plans_url}/v1/families/{family_id}",
        json=meanwhile,
        headers={**headers, "If-Match": now.headers["ETag"]},
        timeout=10,
    )
    assert changed.status_code == 200, changed.json()
    # The form read before that change: its If-Match is the old ETag.
    etag = re.search(r'name="etag" type="hidden" value="([^"]*)"', form).group(1)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    late = web.post(
        f"/families/{family_id}/change",
        data={"csrf_token": csrf, "etag": etag, "name": "Sample family", "children": children},
    )
    assert late.status_code == 412 and "Someone changed this family since you opened it" in late.get_data(as_text=True)
    again = ok(post_form(web, f"/families/{family_id}/change", {"name": "Sample family", "children": children[:2]}))
    assert again.headers["Location"] == f"/families/{family_id}"
    page = web.get(f"/families/{family_id}").get_data(as_text=True)
    assert "Cal Sample" not in page and "Ben Sample" in page
