"""The managers' pages on the returns service, with Flask's test client and
the services played by small HTTP servers on loopback: the census's checks
for a collection year (errors first, each naming its child and case by a
link), the census file streamed with the person's token and its file name,
the performance figures with the children behind each, who may see them,
the service's 422 on the form's fields and the page when it is down."""

from __future__ import annotations

import html
import re
from datetime import date

import pytest

from cpp_web.returns import figure_words, latest_year
from tests.web.test_team import app_with, manager, text_of, worker
from tests.web.test_web_app import sign_in

CENSUS_XML = b'<?xml version="1.0" encoding="UTF-8"?>\n<Message><Header><CollectionDetails><Year>2026</Year></CollectionDetails></Header></Message>\n'


@pytest.fixture
def app(tmp_path, fakes):
    return app_with(tmp_path, fakes)


def quality(year=2026, **extra):
    return {
        "year": year,
        "period": {"from": f"{year - 1}-04-01", "to": f"{year}-03-31"},
        "as_of": f"{year}-04-02T09:30:00Z",
        "children": 5,
        "ready": False,
        "errors": 1,
        "warnings": 1,
        "problems": [
            {
                "severity": "warning",
                "element": "UPN",
                "message": "The child has no unique pupil number.",
                "fix": "Record the UPN, or the reason there is none.",
                "child_id": "child-warn-0001",
                "case_id": None,
            },
            {
                "severity": "error",
                "element": "ReferralSource",
                "message": "The referral has no source.",
                "fix": "Record who made the referral.",
                "child_id": "child-err-00001",
                "case_id": "case-err-00001",
            },
        ],
        **extra,
    }


def returns_answers(fakes, answer=None):
    fakes["returns"].routes[("GET", "/v1/returns/cin-census/quality")] = answer or (
        lambda seen: (200, quality(int(seen["query"]["year"][0])))
    )


def item(child_id, case_id, on, ok, detail, name=None):
    return {
        "child_id": child_id,
        "name": name,
        "case_id": case_id,
        "plan_id": None,
        "team": "Area North",
        "worker": {"user": "demo-sw-1", "name": "Sam Okafor"},
        "on": on,
        "ok": ok,
        "detail": detail,
    }


def performance_body(seen):
    q = {k: v[0] for k, v in seen["query"].items()}
    return (
        200,
        {
            "period": {"from": q["from"], "to": q["to"]},
            "as_of": "2026-04-02T09:30:00Z",
            "team": q.get("team"),
            "worker": q.get("worker"),
            "figures": {
                "initial_conferences_in_time": {
                    "label": "Initial conferences within 15 working days",
                    "count": 2,
                    "met": 1,
                    "percent": 50.0,
                    "children": [
                        item("child-ic-00001", "case-ic-00001", "2025-05-28", True, "Held 12 working days after"),
                        item(
                            "child-ic-00002",
                            "case-ic-00002",
                            "2025-06-10",
                            False,
                            "Held 19 working days after",
                            "Rosa Fictional",
                        ),
                    ],
                },
                "reviews_on_time": {"label": "Reviews on time", "count": 0, "met": 0, "percent": None, "children": []},
                "visits_on_time": {"label": "Visits on time", "count": 3, "met": 2, "percent": 66.6667, "children": []},
                "plans_open_over_two_years": {
                    "label": "Plans open over two years",
                    "count": 1,
                    "met": None,
                    "percent": None,
                    "children": [
                        item("child-long-0001", "case-long-0001", "2026-03-31", None, "Open since 1 March 2024")
                    ],
                },
                "repeat_plans_within_two_years": {
                    "label": "Repeat plans within two years",
                    "count": 5,
                    "met": 1,
                    "percent": 20.0,
                    "children": [],
                },
            },
            "by_team": [
                {
                    "team": "Area North",
                    "figures": {"initial_conferences_in_time": {"count": 2, "met": 1, "percent": 50.0}},
                },
                {"team": None, "figures": {"initial_conferences_in_time": {"count": 0, "met": 0, "percent": None}}},
            ],
            "by_worker": [
                {
                    "worker": {"user": "demo-sw-1", "name": "Sam Okafor"},
                    "figures": {"visits_on_time": {"count": 3, "met": 2, "percent": 66.6667}},
                }
            ],
        },
    )


def staff_directory(fakes):
    fakes["plans"].routes[("GET", "/v1/staff")] = (
        200,
        {
            "items": [
                {"user": "demo-sw-1", "name": "Sam Okafor", "team": "Area North", "role": "social_worker"},
                {"user": "demo-sw-9", "name": "Ali South", "team": "Area South", "role": "social_worker"},
                {"user": "demo-chair-1", "name": "Morgan Ellis", "team": "Reviews", "role": "chair"},
            ]
        },
    )


# --- the collection year ---


@pytest.mark.parametrize(
    "today,year",
    [(date(2026, 3, 31), 2025), (date(2026, 4, 1), 2026), (date(2026, 12, 7), 2026), (date(2027, 1, 2), 2026)],
)
def test_the_default_year_is_the_latest_whose_31_march_has_passed(today, year):
    assert latest_year(today) == year


def test_a_figure_in_words():
    assert figure_words({"count": 0, "met": 0, "percent": None}) == "No cases"
    assert figure_words({"count": 4, "met": 3, "percent": 75.0}) == "3 of 4 (75%)"
    assert figure_words({"count": 3, "met": 2, "percent": 66.6667}) == "2 of 3 (66.7%)"
    assert figure_words({"count": 1, "met": None, "percent": None}) == "1"
    assert figure_words(None) == "No cases"


# --- the census's checks ---


def test_the_census_checks_for_the_latest_year_with_errors_first_and_their_links(app, fakes):
    returns_answers(fakes)
    resp = manager(app).get("/returns")
    assert resp.status_code == 200
    asked = fakes["returns"].sent("GET", "/v1/returns/cin-census/quality")
    assert asked[-1]["query"]["year"] == [str(latest_year(date.today()))]
    assert asked[-1]["headers"]["Authorization"].startswith("Bearer ")
    page = resp.get_data(as_text=True)
    text = text_of(resp)
    assert "Not ready to send" in text and "1 error to fix" in text
    assert "Children in the census 5" in text
    table = page[page.index('id="problems"') :]
    assert table.index("ReferralSource") < table.index("UPN")  # errors first
    assert '<a class="govuk-link" href="/children/child-err-00001">Child child-er</a>' in table
    assert '<a class="govuk-link" href="/cases/case-err-00001">Case case-err</a>' in table
    assert "/children/child-warn-0001" in table
    assert "Record who made the referral." in text and "The referral has no source." in text
    assert 'href="/returns/cin-census/' + str(latest_year(date.today())) + '.xml"' in page
    assert "Performance" in text and 'href="/returns"' in page  # in the navigation


def test_a_ready_census_says_so_for_the_year_asked(app, fakes):
    returns_answers(fakes, lambda seen: (200, quality(2025, ready=True, errors=0, warnings=0, problems=[])))
    resp = manager(app).get("/returns?year=2025")
    assert resp.status_code == 200
    assert fakes["returns"].sent("GET", "/v1/returns/cin-census/quality")[-1]["query"]["year"] == ["2025"]
    text = text_of(resp)
    assert "Ready to send" in text and "Not ready" not in text
    assert "The checks found no problem." in text
    assert "1 April 2024 to 31 March 2025" in text


def test_the_services_422_is_shown_on_the_year(app, fakes):
    returns_answers(fakes, (422, {"code": 422, "errors": {"query": {"year": ["Must be between 2010 and 2100."]}}}))
    resp = manager(app).get("/returns?year=1999")
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "There is a problem" in page
    assert 'href="#year"' in page
    assert re.search(r'id="year-error"[^>]*>.*Must be between 2010 and 2100', page, re.S)


def test_a_year_that_is_not_4_digits_is_not_sent(app, fakes):
    returns_answers(fakes)
    resp = manager(app).get("/returns?year=next")
    assert resp.status_code == 400
    assert "Enter the collection year as 4 digits" in text_of(resp)
    assert not fakes["returns"].sent("GET", "/v1/returns/cin-census/quality")


def test_the_census_file_is_streamed_with_its_name_and_the_token_in_no_url(app, fakes):
    fakes["returns"].routes[("GET", "/v1/returns/cin-census")] = (
        200,
        CENSUS_XML,
        {
            "Content-Type": "application/xml",
            "Content-Disposition": 'attachment; filename="cin-census-2026.xml"',
            "Returns-As-Of": "2026-04-02T09:30:00Z",
        },
    )
    client = manager(app)
    resp = client.get("/returns/cin-census/2026.xml")
    assert resp.status_code == 200
    assert resp.data == CENSUS_XML
    assert resp.mimetype == "application/xml"
    assert resp.headers["Content-Disposition"] == 'attachment; filename="cin-census-2026.xml"'
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Returns-As-Of"] == "2026-04-02T09:30:00Z"
    (sent,) = fakes["returns"].sent("GET", "/v1/returns/cin-census")
    assert sent["query"] == {"year": ["2026"]}
    token = sent["headers"]["Authorization"].removeprefix("Bearer ")
    assert token and token not in sent["raw_path"]
    assert "token" not in sent["raw_path"].lower()


def test_a_census_year_the_service_refuses_goes_back_to_the_form(app, fakes):
    fakes["returns"].routes[("GET", "/v1/returns/cin-census")] = (
        422,
        {"code": 422, "errors": {"query": {"year": ["Must be between 2010 and 2100."]}}},
    )
    resp = manager(app).get("/returns/cin-census/1999.xml")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/returns?year=1999")


@pytest.mark.parametrize("path", ["/returns", "/returns/cin-census/2026.xml", "/performance"])
def test_a_social_worker_may_not_see_them(app, fakes, path):
    returns_answers(fakes)
    fakes["returns"].routes[("GET", "/v1/performance")] = performance_body
    resp = worker(app).get(path)
    assert resp.status_code == 403
    assert "You do not have access to this page" in text_of(resp)
    assert not [r for r in fakes["returns"].requests if r["path"] != "/healthz"]


def test_a_social_worker_has_no_link_to_them_and_auditors_and_admins_have(app, fakes):
    fakes["scheduler"].routes[("GET", "/v1/deadlines")] = (200, {"items": [], "total": 0})
    fakes["plans"].routes[("GET", "/v1/cases")] = (200, {"items": [], "total": 0})
    page = worker(app).get("/my-work").get_data(as_text=True)
    assert 'href="/returns"' not in page and 'href="/performance"' not in page
    returns_answers(fakes)
    for user, menu in (
        ("demo-auditor-1", ["Home", "Performance", "Returns", "Find a child", "Sign out"]),
        (
            "demo-admin-1",
            [
                "Subscriptions",
                "Parked messages",
                "Timetable",
                "Children to code",
                "Retention",
                "Performance",
                "Returns",
                "Find a child",
                "Sign out",
            ],
        ),
    ):
        client = app.test_client()
        sign_in(client, user)
        resp = client.get("/returns")
        assert resp.status_code == 200
        nav = resp.get_data(as_text=True).split('class="govuk-service-navigation__list"')[1].split("</ul>")[0]
        links = re.findall(r'class="govuk-service-navigation__link"[^>]*>\s*(?:<strong[^>]*>)?([^<]+?)\s*<', nav)
        assert links == menu
        assert re.search(r'href="/returns"\s+aria-current="true"', nav)


def test_the_returns_service_down_gives_the_unavailable_page(app, fakes):
    fakes["returns"].stop()
    for path in ("/returns", "/returns/cin-census/2026.xml"):
        resp = manager(app).get(path)
        assert resp.status_code == 503
        assert "statutory returns and performance figures (returns service)" in text_of(resp)


# --- performance ---


def test_performance_for_the_last_collection_year_with_each_figures_children(app, fakes):
    staff_directory(fakes)
    fakes["returns"].routes[("GET", "/v1/performance")] = performance_body
    resp = manager(app).get("/performance")
    assert resp.status_code == 200
    year = latest_year(date.today())
    (sent,) = fakes["returns"].sent("GET", "/v1/performance")
    assert sent["query"] == {"from": [f"{year - 1}-04-01"], "to": [f"{year}-03-31"]}
    page = resp.get_data(as_text=True)
    text = text_of(resp)
    summary = text_of_part(page, 'id="summary"', "</table>")
    assert "Initial conferences within 15 working days 1 of 2 (50%)" in summary
    assert "Reviews on time No cases" in summary
    assert "Visits on time 2 of 3 (66.7%)" in summary
    assert "Plans open over two years 1" in summary
    assert "Repeat plans within two years 1 of 5 (20%)" in summary
    assert 'href="#figure-initial_conferences_in_time"' in page and 'id="figure-initial_conferences_in_time"' in page
    section = page[page.index('id="figure-initial_conferences_in_time"') : page.index('id="figure-reviews_on_time"')]
    assert '<a class="govuk-link" href="/children/child-ic-00001">Child child-ic</a>' in section
    assert '<a class="govuk-link" href="/children/child-ic-00002">Rosa Fictional</a>' in section
    assert '<a class="govuk-link" href="/cases/case-ic-00002">Case case-ic-</a>' in section
    assert "28 May 2025" in section and "Held 19 working days after" in section
    assert re.search(r">\s*Yes\s*<", section) and re.search(r">\s*No\s*<", section)
    assert "Not applicable" in page[page.index('id="figure-plans_open_over_two_years"') :]
    by_team = text_of_part(page, 'id="table-by-team"', "</table>")
    assert "Area North 1 of 2 (50%)" in by_team and "No team No cases" in by_team
    by_worker = text_of_part(page, 'id="table-by-worker"', "</table>")
    assert "Sam Okafor No cases No cases 2 of 3 (66.7%)" in by_worker
    assert "Figures as of 2 April 2026 at 09:30 UTC" in text
    # the team and the worker chosen from the staff directory
    assert '<option value="Area South">Area South</option>' in page
    assert '<option value="demo-sw-9">Ali South</option>' in page
    assert "Morgan Ellis" not in page


def text_of_part(page: str, start: str, end: str) -> str:
    part = page[page.index(start) :]
    part = part[: part.index(end)]
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", part)))


def test_performance_for_a_team_and_worker_over_a_period(app, fakes):
    staff_directory(fakes)
    fakes["returns"].routes[("GET", "/v1/performance")] = performance_body
    query = "start=1&start=1&start=2026&end=30&end=6&end=2026&team=Area+North&worker=demo-sw-1"
    resp = manager(app).get(f"/performance?{query}")
    assert resp.status_code == 200
    (sent,) = fakes["returns"].sent("GET", "/v1/performance")
    assert sent["query"] == {
        "from": ["2026-01-01"],
        "to": ["2026-06-30"],
        "team": ["Area North"],
        "worker": ["demo-sw-1"],
    }
    text = text_of(resp)
    assert "1 January 2026 to 30 June 2026, Area North, Sam Okafor" in text


def test_performance_422_is_shown_on_the_date(app, fakes):
    staff_directory(fakes)
    fakes["returns"].routes[("GET", "/v1/performance")] = (
        422,
        {"code": 422, "errors": {"query": {"from": ["The period may not be longer than five years."]}}},
    )
    resp = manager(app).get("/performance?start=1&start=1&start=2015&end=31&end=3&end=2026")
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert 'href="#start-day"' in page
    assert re.search(r'id="start-error"[^>]*>.*The period may not be longer than five years', page, re.S)


def test_a_date_that_is_not_real_is_not_sent(app, fakes):
    staff_directory(fakes)
    fakes["returns"].routes[("GET", "/v1/performance")] = performance_body
    resp = manager(app).get("/performance?start=31&start=2&start=2026&end=31&end=3&end=2026")
    assert resp.status_code == 400
    assert "From must be a real date" in text_of(resp)
    assert not fakes["returns"].sent("GET", "/v1/performance")


def test_performance_with_the_returns_service_down(app, fakes):
    staff_directory(fakes)
    fakes["returns"].stop()
    resp = manager(app).get("/performance")
    assert resp.status_code == 503
    assert "statutory returns and performance figures (returns service)" in text_of(resp)


def test_without_the_staff_directory_the_team_and_worker_are_typed(app, fakes):
    fakes["plans"].stop()  # the directory is only for the selects
    fakes["returns"].routes[("GET", "/v1/performance")] = performance_body
    resp = manager(app).get("/performance?start=1&start=4&start=2025&end=31&end=3&end=2026&team=Area+East&worker=sw-7")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "<select" not in page
    assert re.search(r'<input[^>]*id="team"[^>]*value="Area East"', page)
    assert re.search(r'<input[^>]*id="worker"[^>]*value="sw-7"', page)
    (sent,) = fakes["returns"].sent("GET", "/v1/performance")
    assert sent["query"]["team"] == ["Area East"] and sent["query"]["worker"] == ["sw-7"]


SCOTTISH_TOTALS = {
    "year": 2026,
    "period": {"from": "2025-08-01", "to": "2026-07-31"},
    "as_of": "2026-08-02T09:00:00Z",
    "registrations": 2,
    "deregistrations": 2,
    "on_register_at_year_end": 1,
    "re_registrations": 1,
    "deregistered_after": {"under_6_months": 1, "6_to_12_months": 1, "1_to_2_years": 0, "2_years_or_more": 0},
    "areas_of_concern_at_registration": {"domestic_abuse": 1, "neglect": 2},
}


def scottish(fakes):
    fakes["returns"].routes[("GET", "/v1/returns")] = (
        200,
        {
            "jurisdiction": "scotland",
            "returns": [{"id": "scotland-child-protection", "name": "Child protection figures"}],
        },
    )
    fakes["returns"].routes[("GET", "/v1/returns/scotland-child-protection")] = lambda seen: (
        (200, {**SCOTTISH_TOTALS, "year": int(seen["query"]["year"][0])})
        if seen["query"].get("format") == ["json"]
        else (
            200,
            b"child_id,registered_on\r\nailsa,2025-09-01\r\n",
            {"Content-Type": "text/csv", "Content-Disposition": 'attachment; filename="cp-2026.csv"'},
        )
    )
    fakes["plans"].routes[("GET", "/v1/categories")] = (
        200,
        {"items": [{"id": "domestic_abuse", "name": "Domestic abuse"}, {"id": "neglect", "name": "Neglect"}]},
    )


def test_a_scottish_deployment_shows_its_child_protection_figures_and_their_file(app, fakes):
    scottish(fakes)
    client = manager(app)
    page = client.get("/returns?year=2026")
    assert page.status_code == 200, page.get_data(as_text=True)
    text = text_of(page)
    assert "Child protection figures" in text and "The year to 31 July 2026" in text
    assert "Registrations 2" in text and "On the register on 31 July 1" in text
    assert "Domestic abuse" in text and "Neglect" in text  # the deployment's words for its areas of concern
    assert not fakes["returns"].sent("GET", "/v1/returns/cin-census/quality")
    assert fakes["returns"].sent("GET", "/v1/returns/scotland-child-protection")[-1]["query"]["format"] == ["json"]
    download = client.get("/returns/scotland-child-protection/2026.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert download.get_data(as_text=True).startswith("child_id,registered_on")
    assert download.headers["Content-Disposition"] == 'attachment; filename="cp-2026.csv"'


def test_a_deployment_with_no_return_says_so(app, fakes):
    fakes["returns"].routes[("GET", "/v1/returns")] = (200, {"jurisdiction": "wales", "returns": []})
    page = manager(app).get("/returns")
    assert page.status_code == 200
    assert "makes no statutory return for this council's jurisdiction yet" in text_of(page)
    assert [r["path"] for r in fakes["returns"].requests if r["path"] != "/healthz"] == ["/v1/returns"]
