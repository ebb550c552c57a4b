"""A year of cases walked over the plans API in a Bromley deployment, the plans service's and the scheduler's
events handed to the returns service as its worker would, and the year's Children in Need census read back
over the returns API: checked against the DfE's published schema (CIN_schema_2024.xsd, from Social Finance's
liiatools) with lxml, element by element for each child, and rebuilt from the returns' event history to the
same bytes.

The children of the collection year 2026 (1 April 2025 to 31 March 2026):
* Amy: referred by the police, enquiries, an initial conference, a plan (neglect) reviewed once: open.
* Ben: a plan in 2024 ended at its review (that episode closed before the year), then a second plan in the
  year (physical and emotional abuse: MUL): a repeat plan, one previous plan.
* Cal: a plan ended at its review in the year, stepped down to a child in need plan.
* Dee: referred by health (more than one census code: reported, sent as 10), enquiries that needed no
  conference.
* Eve: referred by a health visitor (the referral records census source 3B), no further action: closed on the
  day (RC8).
* Fay: referred after the year ended: not in it.
* Gus: on a plan since February 2024: open over two years at the year's end.
"""

from __future__ import annotations

from datetime import date
from importlib.metadata import distribution

import pytest
from cpp_returns.app import create_app as create_returns_app
from cpp_returns.projection import catch_up, rebuild
from lxml import etree

from cpp_plans.app import create_app as create_plans_app
from cpp_scheduler.app import create_app as create_scheduler_app
from cpp_scheduler.domain.calendar import WorkingCalendar
from tests.helpers import Pump, bearer, new_child
from tests.services.test_plans_lifecycle_http import OUTLINE

ENG = WorkingCalendar("GB", "ENG")
XS = {"xs": "http://www.w3.org/2001/XMLSchema"}
XSD = distribution("liiatools").locate_file("liiatools/spec/cin_census/CIN_schema_2024.xsd")


def d(text: str) -> date:
    return date.fromisoformat(text)


class Year2026:
    """A Bromley deployment's plans service, scheduler and returns service, and its people."""

    def __init__(self, make_settings, token_for):
        env = {"CPP_PLUGINS": "england,bromley"}
        self.plans_app = create_plans_app(make_settings("plans", **env))
        self.plans = self.plans_app.test_client()
        scheduler = create_scheduler_app(make_settings("scheduler", **env))
        self.returns_app = create_returns_app(make_settings("returns", **env))
        self.returns = self.returns_app.test_client()
        self.returns_ctx = self.returns_app.extensions["cpp"]
        plans_store = self.plans_app.extensions["cpp"].store
        self.to_scheduler = Pump(plans_store, scheduler.extensions["cpp"])
        self.plans_to_returns = Pump(plans_store, self.returns_ctx)
        self.scheduler_to_returns = Pump(scheduler.extensions["cpp"].store, self.returns_ctx)
        self.sw = bearer(token_for("social_worker", user="sw-1", authority="BRM"))
        self.tm = bearer(token_for("team_manager", user="tm-1", name="Pat Manager", authority="BRM"))
        self.chair = bearer(token_for("chair", user="chair-1", authority="BRM"))
        assert self.plans.get("/v1/categories", headers=self.tm).status_code == 200  # the manager is on the staff list

    def pump(self) -> None:
        self.to_scheduler()
        self.plans_to_returns()
        self.scheduler_to_returns()

    def ok(self, resp, status=(200, 201)):
        assert resp.status_code in status, resp.json
        return resp.json

    def case(
        self,
        child_id: str,
        *,
        referred_on: str | None = None,
        source: str = "police",
        decision: str = "strategy_discussion",
        source_code: str | None = None,
    ) -> str:
        case = self.plans.post("/v1/cases", json={"child_id": child_id, "team_manager": "tm-1"}, headers=self.sw)
        case_id = self.ok(case)["id"]
        if referred_on:
            self.ok(
                self.plans.post(
                    f"/v1/cases/{case_id}/referral",
                    json={
                        "received_on": referred_on,
                        "source": source,
                        "summary": "A worry.",
                        **({"source_code": source_code} if source_code else {}),
                    },
                    headers={**self.sw, "If-Match": case.headers["ETag"]},
                )
            )
            tag = f'"{self.plans.get(f"/v1/cases/{case_id}", headers=self.sw).json["version"]}"'
            self.ok(
                self.plans.post(
                    f"/v1/cases/{case_id}/referral/decision",
                    json={"decided_on": referred_on, "decision": decision, "reason": "Decided."},
                    headers={**self.tm, "If-Match": tag},
                )
            )
        return case_id

    def close(self, case_id: str, closed_on: str, reason: str) -> None:
        tag = f'"{self.plans.get(f"/v1/cases/{case_id}", headers=self.sw).json["version"]}"'
        self.ok(
            self.plans.post(
                f"/v1/cases/{case_id}/closure",
                json={"closed_on": closed_on, "reason": reason},
                headers={**self.tm, "If-Match": tag},
            )
        )

    def enquiries(self, case_id: str, held_on: str, completed_on: str, conference_required: bool = True) -> None:
        self.ok(
            self.plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": held_on}, headers=self.sw)
        )
        self.ok(
            self.plans.post(
                f"/v1/cases/{case_id}/enquiry-outcome",
                json={"completed_on": completed_on, "conference_required": conference_required},
                headers=self.sw,
            )
        )

    def conference(self, case_id: str, kind: str, held_on: str, outcome: dict) -> dict:
        conf = self.ok(
            self.plans.post(
                f"/v1/cases/{case_id}/conferences", headers=self.sw, json={"kind": kind, "scheduled_for": held_on}
            )
        )
        return self.ok(
            self.plans.post(
                f"/v1/conferences/{conf['id']}/outcome", headers=self.chair, json={"held_on": held_on, **outcome}
            )
        )

    def plan(self, case_id: str, held_on: str, categories: list[str]) -> str:
        decided = self.conference(
            case_id, "initial", held_on, {"plan_required": True, "outline_plan": {**OUTLINE, "categories": categories}}
        )
        return decided["plan"]["id"]

    def census(self, year: int = 2026) -> bytes:
        catch_up(self.returns_ctx.store)
        resp = self.returns.get(f"/v1/returns/cin-census?year={year}", headers=self.tm)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        assert resp.mimetype == "application/xml"
        return resp.get_data()


@pytest.fixture
def walked(make_settings, token_for):
    y = Year2026(make_settings, token_for)
    p, sw = y.plans, y.sw
    children = {
        name: new_child(p, sw, given_names=name, date_of_birth="2018-05-04")
        for name in ("Amy", "Ben", "Cal", "Dee", "Eve", "Fay", "Gus")
    }
    # Amy's characteristics as the census codes them; the others' as the tests' children are registered.
    amy_record = p.get(f"/v1/children/{children['Amy']}", headers=sw)
    y.ok(
        p.patch(
            f"/v1/children/{children['Amy']}",
            headers={**sw, "If-Match": amy_record.headers["ETag"]},
            json={
                "gender": "2",
                "ethnicity": "MWBC",
                "disabilities": ["HEAR", "VIS"],
                "identifiers": [{"scheme": "upn", "value": "B801200005001"}],
            },
        )
    )

    amy = y.case(children["Amy"], referred_on="2025-05-06", source="police")
    y.enquiries(amy, "2025-05-07", "2025-05-20")
    amy_plan = y.plan(amy, "2025-05-28", ["neglect"])
    visit = {"visited_on": "2025-06-05", "announced": False, "child_seen": True, "seen_alone": True, "by": "Sam Social"}
    y.ok(p.post(f"/v1/plans/{amy_plan}/visits", headers=sw, json=visit))
    y.conference(amy, "review", "2025-08-20", {"decision": "continue"})

    ben_first = y.case(children["Ben"], referred_on="2024-06-03", source="school")
    y.enquiries(ben_first, "2024-06-03", "2024-06-14")
    y.plan(ben_first, "2024-06-20", ["physical_abuse"])
    y.conference(ben_first, "review", "2024-09-10", {"decision": "end", "reason": "Safe at home."})
    y.close(ben_first, "2024-12-02", "RC7")
    ben = y.case(children["Ben"], referred_on="2025-10-01", source="school")
    y.enquiries(ben, "2025-10-01", "2025-10-10")
    y.plan(ben, "2025-10-20", ["physical_abuse", "emotional_abuse"])

    cal = y.case(children["Cal"], referred_on="2025-04-14", source="family")
    y.enquiries(cal, "2025-04-14", "2025-04-25")
    y.plan(cal, "2025-05-09", ["sexual_abuse"])  # a day after its target
    y.conference(cal, "review", "2025-07-30", {"decision": "end", "reason": "Safe at home."})
    y.ok(
        p.post(
            f"/v1/cases/{cal}/child-in-need-plans",
            headers=sw,
            json={
                "key_worker": {"name": "Sam Social"},
                "needs": "Support.",
                "review_on": "2025-10-31",
                "created_on": "2025-07-31",
            },
        )
    )

    dee = y.case(children["Dee"], referred_on="2025-09-01", source="health")
    y.enquiries(dee, "2025-09-02", "2025-09-10", conference_required=False)

    y.case(children["Eve"], referred_on="2025-11-03", source="health", source_code="3B", decision="no_further_action")

    gus = y.case(children["Gus"], referred_on="2024-01-15", source="police")
    y.enquiries(gus, "2024-01-16", "2024-01-26")
    y.plan(gus, "2024-02-01", ["neglect"])

    fay = y.case(children["Fay"], referred_on="2026-05-01", source="police")
    y.enquiries(fay, "2026-05-01", "2026-05-08")
    y.pump()
    return y, children, {"amy": amy, "amy_plan": amy_plan, "ben": ben, "cal": cal, "dee": dee}


def texts(element, path: str) -> list[str]:
    return [e.text for e in element.findall(path)]


def test_a_years_census_validates_against_the_dfe_schema_with_each_childs_values(walked):
    y, children, ids = walked
    body = y.census()
    doc = etree.fromstring(body)
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    schema.validate(doc)
    # The one thing the DfE's published schema refuses is a first plan's NumberOfPreviousCPP of 0: it types the
    # element as a positive integer, where the DfE's own validation rule 8730 asks for a number "greater than or
    # equal to zero" (a first plan has had none before it). Every other element of every child validates.
    errors = [(e.path, e.message) for e in schema.error_log]
    assert errors and all(
        "NumberOfPreviousCPP" in path and "'0'" in message and "positiveInteger" in message for path, message in errors
    )
    assert len(errors) == 3  # Amy's, Cal's and Gus's first plans (Ben's second has 1)
    # Read as rule 8730 reads it, the same schema passes the whole return.
    as_rule_8730 = etree.parse(str(XSD))
    [element] = as_rule_8730.xpath("//xs:element[@name='NumberOfPreviousCPP']", namespaces=XS)
    assert element.get("type") == "xs:positiveInteger"
    element.set("type", "xs:nonNegativeInteger")
    rule_8730 = etree.XMLSchema(as_rule_8730)
    assert rule_8730.validate(doc), [(e.path, e.message) for e in rule_8730.error_log]

    assert texts(doc, "Header/CollectionDetails/Year") == ["2026"]
    assert texts(doc, "Header/CollectionDetails/ReferenceDate") == ["2026-03-31"]
    assert texts(doc, "Header/Source/LEA") == ["305"]
    by_id = {c.findtext("ChildIdentifiers/LAchildID"): c for c in doc.findall("Children/Child")}
    names = {v: k for k, v in children.items()}
    assert sorted(names[i] for i in by_id) == ["Amy", "Ben", "Cal", "Dee", "Eve", "Gus"]  # Fay: after the year
    assert list(by_id) == sorted(by_id)  # children in id order

    amy = by_id[children["Amy"]]
    assert amy.findtext("ChildIdentifiers/PersonBirthDate") == "2018-05-04"
    assert amy.findtext("ChildIdentifiers/UPN") == "B801200005001"
    assert amy.findtext("ChildIdentifiers/GenderCurrent") == "2"
    assert amy.findtext("ChildCharacteristics/Ethnicity") == "MWBC"
    assert texts(amy, "ChildCharacteristics/Disabilities/Disability") == ["HEAR", "VIS"]
    assert by_id[children["Ben"]].findtext("ChildIdentifiers/GenderCurrent") == "1"  # as registered
    assert by_id[children["Ben"]].findtext("ChildCharacteristics/Ethnicity") == "WBRI"
    [episode] = amy.findall("CINdetails")
    assert episode.findtext("CINreferralDate") == "2025-05-06"
    assert episode.findtext("ReferralSource") == "6"
    assert episode.find("CINclosureDate") is None
    assert episode.findtext("DateOfInitialCPC") == "2025-05-28"
    [s47] = episode.findall("Section47")
    assert s47.findtext("S47ActualStartDate") == "2025-05-07"
    assert s47.findtext("InitialCPCtarget") == ENG.add_working_days(d("2025-05-07"), 15).isoformat()
    assert s47.findtext("DateOfInitialCPC") == "2025-05-28"
    assert s47.findtext("ICPCnotRequired") == "false"
    assert episode.findtext("ReferralNFA") == "false"
    [plan] = episode.findall("ChildProtectionPlans")
    assert plan.findtext("CPPstartDate") == "2025-05-28" and plan.find("CPPendDate") is None
    assert (plan.findtext("InitialCategoryOfAbuse"), plan.findtext("LatestCategoryOfAbuse")) == ("NEG", "NEG")
    assert plan.findtext("NumberOfPreviousCPP") == "0"
    assert texts(plan, "Reviews/CPPreviewDate") == ["2025-08-20"]

    ben = by_id[children["Ben"]]
    [episode] = ben.findall("CINdetails")  # the 2024 episode closed before the year
    assert episode.findtext("CINreferralDate") == "2025-10-01" and episode.findtext("ReferralSource") == "2A"
    [plan] = episode.findall("ChildProtectionPlans")
    assert plan.findtext("CPPstartDate") == "2025-10-20"
    assert (plan.findtext("InitialCategoryOfAbuse"), plan.findtext("LatestCategoryOfAbuse")) == ("MUL", "MUL")
    assert plan.findtext("NumberOfPreviousCPP") == "1"
    assert plan.find("Reviews") is None

    cal = by_id[children["Cal"]]
    [episode] = cal.findall("CINdetails")
    assert episode.findtext("ReferralSource") == "1A"
    assert episode.find("CINclosureDate") is None  # stepped down: still in need
    assert texts(episode, "CINPlanDates/CINPlanStartDate") == ["2025-07-31"]
    [plan] = episode.findall("ChildProtectionPlans")
    assert (plan.findtext("CPPstartDate"), plan.findtext("CPPendDate")) == ("2025-05-09", "2025-07-30")
    assert plan.findtext("InitialCategoryOfAbuse") == "SAB"
    assert texts(plan, "Reviews/CPPreviewDate") == ["2025-07-30"]

    dee = by_id[children["Dee"]]
    [episode] = dee.findall("CINdetails")
    assert episode.findtext("ReferralSource") == "10"  # health is 3A-3F: reported, not guessed
    [s47] = episode.findall("Section47")
    assert s47.findtext("S47ActualStartDate") == "2025-09-02"
    assert s47.findtext("InitialCPCtarget") == ENG.add_working_days(d("2025-09-02"), 15).isoformat()
    assert s47.find("DateOfInitialCPC") is None and s47.findtext("ICPCnotRequired") == "true"
    assert episode.find("ChildProtectionPlans") is None

    gus = by_id[children["Gus"]]
    [episode] = gus.findall("CINdetails")
    assert episode.findtext("CINreferralDate") == "2024-01-15" and episode.findtext("DateOfInitialCPC") == "2024-02-01"
    assert episode.find("Section47") is None  # the enquiry and its conference were before the year
    assert [p.findtext("CPPstartDate") for p in episode.findall("ChildProtectionPlans")] == ["2024-02-01"]

    eve = by_id[children["Eve"]]
    [episode] = eve.findall("CINdetails")
    assert (episode.findtext("CINclosureDate"), episode.findtext("ReasonForClosure")) == ("2025-11-03", "RC8")
    assert episode.findtext("ReferralNFA") == "true" and episode.find("Section47") is None
    assert episode.findtext("ReferralSource") == "3B"  # a health visitor, as the referral recorded it

    quality = y.returns.get("/v1/returns/cin-census/quality?year=2026", headers=y.tm)
    assert quality.status_code == 200, quality.json
    report = quality.json
    assert report["children"] == 6 and report["ready"] is False
    errors = [(p["element"], p["child_id"]) for p in report["problems"] if p["severity"] == "error"]
    assert errors == [("ReferralSource", children["Dee"])]


def test_rebuilt_from_the_event_history_the_census_is_the_same_bytes(walked):
    y, _, _ = walked
    before = y.census()
    done = rebuild(y.returns_ctx.store)
    assert done.generation == 2 and done.children == 7 and done.dropped == 7
    assert y.census() == before
    # Events that arrive after the rebuild reach the new generation: a later review of Amy's plan.
    amy = walked[2]["amy"]
    y.conference(amy, "review", "2025-11-19", {"decision": "continue"})
    y.pump()
    after = etree.fromstring(y.census())
    [amy_child] = [
        c for c in after.findall("Children/Child") if c.findtext("ChildIdentifiers/LAchildID") == walked[1]["Amy"]
    ]
    assert texts(amy_child, "CINdetails/ChildProtectionPlans/Reviews/CPPreviewDate") == ["2025-08-20", "2025-11-19"]


def test_the_returns_are_for_managers_and_a_bad_year_is_refused(walked):
    y, _, _ = walked
    assert y.returns.get("/v1/returns/cin-census?year=2026", headers=y.sw).status_code == 403
    refused = y.returns.get("/v1/returns/cin-census?year=twenty", headers=y.tm)
    assert refused.status_code == 422 and "year" in refused.json["errors"]["query"]
    empty = y.returns.get("/v1/returns/cin-census/quality?year=2020", headers=y.tm).json
    assert empty["children"] == 0 and [p["element"] for p in empty["problems"]] == ["Child"]


def test_the_years_performance_figures_match_a_hand_count(walked):
    y, children, _ = walked
    names = {v: k for k, v in children.items()}
    catch_up(y.returns_ctx.store)
    resp = y.returns.get("/v1/performance?from=2025-04-01&to=2026-03-31", headers=y.tm)
    assert resp.status_code == 200, resp.json
    figures = resp.json["figures"]

    def counted(key):
        return [(names[i["child_id"]], i["ok"]) for i in figures[key]["children"]]

    # Initial conferences held in the year: Cal's the day after its target (15 working days from 14 April, with
    # Easter not counted, is 7 May), Amy's and Ben's in time.
    assert counted("initial_conferences_in_time") == [("Cal", False), ("Amy", True), ("Ben", True)]
    assert {k: figures["initial_conferences_in_time"][k] for k in ("count", "met", "percent")} == {
        "count": 3,
        "met": 2,
        "percent": 66.7,
    }
    # Reviews due in the year: Cal's and Amy's first, held in time; Ben's first and Amy's second, never held.
    assert sorted(counted("reviews_on_time")) == [("Amy", False), ("Amy", True), ("Ben", False), ("Cal", True)]
    assert (figures["reviews_on_time"]["count"], figures["reviews_on_time"]["met"]) == (4, 2)
    # Visits: Amy's first in time; her next and Ben's first never made; Cal's ended with her plan (not counted).
    assert sorted(counted("visits_on_time")) == [("Amy", False), ("Amy", True), ("Ben", False)]
    assert counted("plans_open_over_two_years") == [("Gus", None)]
    assert figures["plans_open_over_two_years"]["count"] == 1
    # Of the plans begun in the year (Cal's, Amy's, Ben's), Ben's followed his plan ended in September 2024.
    assert counted("repeat_plans_within_two_years") == [("Cal", False), ("Amy", False), ("Ben", True)]
    assert figures["repeat_plans_within_two_years"]["percent"] == 33.3
    # Every case is Sam Social's: one worker, whose figures are the whole's.
    [worker] = resp.json["by_worker"]
    assert worker["worker"]["user"] == "sw-1"
    assert worker["figures"]["reviews_on_time"] == {"count": 4, "met": 2, "percent": 50.0}
    other = y.returns.get("/v1/performance?from=2025-04-01&to=2026-03-31&worker=sw-2", headers=y.tm).json
    assert all(f["count"] == 0 for f in other["figures"].values())
    refused = y.returns.get("/v1/performance?from=2026-04-01&to=2025-04-01", headers=y.tm)
    assert refused.status_code == 422 and "to" in refused.json["errors"]["query"]
    # The figures for dashboards: this collection year to date, from the same histories.
    metrics = y.returns.get("/metrics").get_data(as_text=True)
    assert 'cpp_performance_count{figure="plans_open_over_two_years",service="returns",team="all"}' in metrics
