"""An unborn child through a pre-birth conference and a plan, then the birth
recorded (``POST /v1/children/{id}/birth``): the same child, its history
kept, and the deadlines the deployment's rules give a pre-birth plan
(Scotland: the pre-birth CPPM by the earlier of 28 days from the concern
and 28 weeks of gestation; Bromley: the first review within 10 days of the
birth, 20 when the pre-birth conference recorded the mother unfit to
attend), the plans service's events handed to the scheduler as its worker
would."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta

from cpp_plans.api import children
from cpp_plans.app import create_app as create_plans_app
from cpp_scheduler.app import create_app as create_scheduler_app
from cpp_scheduler.domain import words
from cpp_scheduler.domain.calendar import WorkingCalendar
from tests.helpers import QUORATE, Pump, bearer
from tests.services.test_children_http import events, minimal_child
from tests.services.test_plans_lifecycle_http import OUTLINE

TODAY = children.today()


def unborn(plans, sw, due: date) -> dict:
    body = minimal_child(date_of_birth=None, expected_date_of_birth=due.isoformat(), gender="0")
    resp = plans.post("/v1/children", json=body, headers=sw)
    assert resp.status_code == 201, resp.json
    return resp.json


def pre_birth_plan(plans, sw, chair, child_id: str, concern: date, **scheduling) -> dict:
    """A case for the child from a strategy discussion on ``concern``, its initial conference (scheduled with
    ``scheduling``'s fields too) held with a plan."""
    case_id = plans.post("/v1/cases", json={"child_id": child_id}, headers=sw).json["id"]
    sd = plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": concern.isoformat()}, headers=sw)
    assert sd.status_code == 201, sd.json
    plans.post(
        f"/v1/cases/{case_id}/enquiry-outcome",
        headers=sw,
        json={"completed_on": concern.isoformat(), "conference_required": True},
    )
    conf = plans.post(
        f"/v1/cases/{case_id}/conferences",
        headers=sw,
        json={"kind": "initial", "scheduled_for": (concern + timedelta(days=3)).isoformat(), **scheduling},
    )
    assert conf.status_code == 201, conf.json
    held = plans.post(
        f"/v1/conferences/{conf.json['id']}/outcome",
        headers=chair,
        json={
            "held_on": (concern + timedelta(days=3)).isoformat(),
            "plan_required": True,
            "outline_plan": OUTLINE,
            "attendees": QUORATE,
        },
    )
    assert held.status_code == 200, held.json
    return {"case_id": case_id, "scheduled": conf.json, **held.json}


def born(plans, headers, child: dict, body: dict, *, etag: str | None = None):
    tag = etag if etag is not None else f'"{child["version"]}"'
    return plans.post(f"/v1/children/{child['id']}/birth", json=body, headers={**headers, "If-Match": tag})


@pytest.fixture
def people(token_for):
    return bearer(token_for("social_worker", user="sw-1")), bearer(token_for("chair", user="chair-1"))


def test_an_unborn_childs_pre_birth_plan_stays_with_the_child_born(plans, plans_store, people):
    sw, chair = people
    child = unborn(plans, sw, TODAY + timedelta(days=30))
    steps = pre_birth_plan(plans, sw, chair, child["id"], TODAY - timedelta(days=10))

    # The initial conference about an unborn child is a pre-birth conference, and its events say so.
    assert steps["scheduled"]["pre_birth"] is True
    assert steps["conference"]["pre_birth"] is True
    assert steps["conference"]["expected_date_of_birth"] == child["expected_date_of_birth"]
    sent = {key: body["data"] for key, body in events(plans_store)}
    for key in ("strategy_discussion.held.v1", "conference.scheduled.v1", "conference.held.v1"):
        assert sent[key]["pre_birth"] is True, key
        assert sent[key]["expected_date_of_birth"] == child["expected_date_of_birth"], key
    plan_id = steps["plan"]["id"]
    audit_before = plans_store.read_log("audit")

    resp = born(plans, sw, child, {"date_of_birth": (TODAY - timedelta(days=1)).isoformat(), "given_names": "Lena"})
    assert resp.status_code == 200, resp.json
    after = resp.json
    assert after["id"] == child["id"] and after["version"] == 2 and resp.headers["ETag"] == '"2"'
    assert after["date_of_birth"] == (TODAY - timedelta(days=1)).isoformat()
    assert after["expected_date_of_birth"] == child["expected_date_of_birth"]  # kept, not cleared
    assert after["given_names"] == "Lena" and after["family_name"] == "Jones"
    assert after["born_on_record"]["by"] == "sw-1" and after["born_on_record"]["at"]

    # The history stays with the same child id.
    case = plans.get(f"/v1/cases/{steps['case_id']}", headers=sw).json
    assert case["child_id"] == child["id"] and case["plan_id"] == plan_id and case["status"] == "on_plan"
    plan = plans.get(f"/v1/plans/{plan_id}", headers=sw).json
    assert plan["child_id"] == child["id"] and plan["status"] == steps["plan"]["status"]
    assert [v["plan_id"] for v in plans_store.collection("plan_versions").find({"plan_id": plan_id})] == [plan_id]
    conference = plans.get(f"/v1/conferences/{steps['conference']['id']}", headers=sw).json
    assert conference["child_id"] == child["id"] and conference["pre_birth"] is True
    audit_after = plans_store.read_log("audit")
    assert audit_after[: len(audit_before)] == audit_before
    assert any(r.entry["action"] == "record_birth" and r.entry["record_id"] == child["id"] for r in audit_after)

    [(key, body)] = [(k, b) for k, b in events(plans_store) if k == "child.born.v1"]
    assert body["subject"] == child["id"]
    assert body["data"]["born_on"] == after["date_of_birth"]
    assert body["data"]["expected_date_of_birth"] == child["expected_date_of_birth"]
    assert (body["data"]["case_id"], body["data"]["plan_id"], body["data"]["on_plan"]) == (
        steps["case_id"],
        plan_id,
        True,
    )
    assert body["data"]["child"]["date_of_birth"] == after["date_of_birth"]


def test_a_conference_about_a_child_born_is_no_pre_birth_conference(plans, plans_store, people):
    sw, chair = people
    child = plans.post("/v1/children", json=minimal_child(), headers=sw).json
    steps = pre_birth_plan(plans, sw, chair, child["id"], TODAY - timedelta(days=10))
    assert "pre_birth" not in steps["conference"] and "pre_birth" not in steps["scheduled"]
    assert all("pre_birth" not in body["data"] for _, body in events(plans_store))


def test_the_births_refusals(plans, plans_store, people):
    sw, chair = people
    due = TODAY + timedelta(days=30)
    child = unborn(plans, sw, due)
    yesterday = (TODAY - timedelta(days=1)).isoformat()

    no_tag = plans.post(f"/v1/children/{child['id']}/birth", json={"date_of_birth": yesterday}, headers=sw)
    assert no_tag.status_code == 428
    assert born(plans, sw, child, {"date_of_birth": yesterday}, etag='"7"').status_code == 412
    assert born(plans, chair, child, {"date_of_birth": yesterday}).status_code == 403  # a chair does not record it

    future = born(plans, sw, child, {"date_of_birth": (TODAY + timedelta(days=1)).isoformat()})
    assert future.status_code == 422 and "future" in future.json["errors"]["json"]["date_of_birth"][0]
    too_early = (due - timedelta(weeks=24, days=1)).isoformat()
    early = born(plans, sw, child, {"date_of_birth": too_early})
    assert early.status_code == 422 and "24 weeks" in early.json["errors"]["json"]["date_of_birth"][0]
    assert born(plans, sw, child, {}).status_code == 422
    assert born(plans, sw, child, {"date_of_birth": yesterday, "date_of_death": yesterday}).status_code == 422
    assert born(plans, sw, child, {"date_of_birth": yesterday, "given_names": "  "}).status_code == 422
    assert "child.born.v1" not in [key for key, _ in events(plans_store)]
    assert plans.get(f"/v1/children/{child['id']}", headers=sw).json["version"] == 1  # nothing written

    earliest = (due - timedelta(weeks=24)).isoformat()
    assert born(plans, sw, child, {"date_of_birth": earliest}).status_code == 200
    again = born(plans, sw, {**child, "version": 2}, {"date_of_birth": earliest})
    assert again.status_code == 409 and "not recorded as unborn" in again.json["message"]
    ever_born = plans.post("/v1/children", json=minimal_child(given_names="Ola"), headers=sw).json
    assert born(plans, sw, ever_born, {"date_of_birth": yesterday}).status_code == 409


def test_recording_the_birth_twice_with_one_idempotency_key_answers_the_first(plans, plans_store, people):
    sw, _ = people
    child = unborn(plans, sw, TODAY + timedelta(days=30))
    keyed = {**sw, "Idempotency-Key": "birth-1"}
    body = {"date_of_birth": (TODAY - timedelta(days=1)).isoformat()}
    first = born(plans, keyed, child, body)
    again = born(plans, keyed, child, body)
    assert first.status_code == again.status_code == 200
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert [key for key, _ in events(plans_store)].count("child.born.v1") == 1


def test_a_born_childs_record_keeps_a_date_of_birth(plans, people):
    sw, _ = people
    child = unborn(plans, sw, TODAY + timedelta(days=30))
    born(plans, sw, child, {"date_of_birth": (TODAY - timedelta(days=1)).isoformat()})
    removed = plans.patch(
        f"/v1/children/{child['id']}", json={"date_of_birth": None}, headers={**sw, "If-Match": '"2"'}
    )
    assert removed.status_code == 422
    corrected = plans.patch(
        f"/v1/children/{child['id']}",
        json={"date_of_birth": (TODAY - timedelta(days=2)).isoformat()},
        headers={**sw, "If-Match": '"2"'},
    )
    assert corrected.status_code == 200, corrected.json
    assert corrected.json["expected_date_of_birth"] == child["expected_date_of_birth"]


# --- the deployments' rules, through the scheduler ---


def deployment(make_settings, token_for, plugins: str, authority: str):
    plans_app = create_plans_app(make_settings("plans", CPP_PLUGINS=plugins))
    scheduler_app = create_scheduler_app(make_settings("scheduler", CPP_PLUGINS=plugins))
    scheduler = scheduler_app.extensions["cpp"]
    scheduler.test_client = scheduler_app.test_client
    sw = bearer(token_for("social_worker", user="sw-1", authority=authority))
    chair = bearer(token_for("chair", user="chair-1", authority=authority))
    return plans_app.test_client(), Pump(plans_app.extensions["cpp"].store, scheduler), scheduler, sw, chair


def day_words(on: date, cal: WorkingCalendar) -> str:
    return words.day(cal.on_or_before(on)[0])


def open_deadlines(scheduler, case_id: str) -> dict[str, dict]:
    found = scheduler.store.collection("deadlines").find({"case_id": case_id})
    return {d["rule_id"]: d for d in found if d["status"] in ("pending", "approaching", "overdue")}


@pytest.mark.parametrize(
    "weeks_to_birth, counted_from",
    [
        (14, "gestation"),  # 28 weeks of gestation comes first: 12 weeks before the expected date
        (30, "concern"),  # 28 days from the concern comes first
    ],
)
def test_scotlands_pre_birth_cppm_is_due_by_the_earlier_of_its_two_counts(
    make_settings, token_for, weeks_to_birth, counted_from
):
    plans, pump, scheduler, sw, _ = deployment(make_settings, token_for, "scotland", "SCT")
    sct = WorkingCalendar("GB", "SCT")
    due = TODAY + timedelta(weeks=weeks_to_birth)
    concern = TODAY - timedelta(days=5)
    child = unborn(plans, sw, due)
    case_id = plans.post("/v1/cases", json={"child_id": child["id"]}, headers=sw).json["id"]
    plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": concern.isoformat()}, headers=sw)
    pump()

    deadlines = open_deadlines(scheduler, case_id)
    assert "initial-conference" not in deadlines  # the pre-birth rule stands in for it
    expected = (due - timedelta(weeks=12)) if counted_from == "gestation" else (concern + timedelta(days=28))
    assert min(due - timedelta(weeks=12), concern + timedelta(days=28)) == expected
    assert deadlines["pre-birth-conference"]["due_on"] == sct.on_or_before(expected)[0].isoformat()
    assert len(deadlines["pre-birth-conference"]["explanation"]["computations"]) == 2
    shown = scheduler.test_client().get(f"/v1/deadlines/{deadlines['pre-birth-conference']['_id']}", headers=sw).json
    assert "12 weeks before the expected date of birth if that is earlier" in shown["explanation"]["timescale"]
    assert shown["explanation"]["summary"].endswith(f"The earliest is the deadline: {day_words(expected, sct)}.")


def test_scotlands_pre_birth_cppm_opens_a_review_within_three_months(make_settings, token_for):
    plans, pump, scheduler, sw, chair = deployment(make_settings, token_for, "scotland", "SCT")
    child = unborn(plans, sw, TODAY + timedelta(weeks=14))
    steps = pre_birth_plan(plans, sw, chair, child["id"], TODAY - timedelta(days=10))
    pump()
    deadlines = open_deadlines(scheduler, steps["case_id"])
    held_on = TODAY - timedelta(days=7)
    assert "first-review-conference" not in deadlines
    review = deadlines["pre-birth-review-conference"]
    expected = WorkingCalendar("GB", "SCT").on_or_before(held_on + relativedelta(months=3))[0]
    assert review["due_on"] == expected.isoformat()


def test_bromley_reviews_a_pre_birth_plan_within_ten_days_of_the_birth(make_settings, token_for):
    plans, pump, scheduler, sw, chair = deployment(make_settings, token_for, "england,bromley", "BRM")
    child = unborn(plans, sw, TODAY + timedelta(days=20))
    steps = pre_birth_plan(plans, sw, chair, child["id"], TODAY - timedelta(days=20))
    pump()
    assert "pre-birth-first-review" not in open_deadlines(scheduler, steps["case_id"])

    birthday = TODAY - timedelta(days=2)
    assert born(plans, sw, child, {"date_of_birth": birthday.isoformat()}).status_code == 200
    assert "child.born.v1" in pump()
    review = open_deadlines(scheduler, steps["case_id"])["pre-birth-first-review"]
    expected = WorkingCalendar("GB", "ENG").on_or_before(birthday + timedelta(days=10))[0]
    assert review["due_on"] == expected.isoformat()
    assert review["plan_id"] == steps["plan"]["id"] and review["child_id"] == child["id"]
    # the scheduler's record of the child has the date of birth now
    kept = scheduler.store.collection("children").find_one({"_id": child["id"]})
    assert kept["date_of_birth"] == birthday.isoformat()

    # the review conference held meets it
    review_on = TODAY.isoformat()
    conf = plans.post(
        f"/v1/cases/{steps['case_id']}/conferences", headers=sw, json={"kind": "review", "scheduled_for": review_on}
    )
    assert conf.status_code == 201, conf.json
    assert "pre_birth" not in conf.json  # the child is born: a review conference, as any other
    held = plans.post(
        f"/v1/conferences/{conf.json['id']}/outcome",
        headers=chair,
        json={"held_on": review_on, "decision": "continue", "attendees": QUORATE},
    )
    assert held.status_code == 200, held.json
    pump()
    [met] = scheduler.store.collection("deadlines").find({"rule_id": "pre-birth-first-review"})
    assert met["status"] == "met" and met["met"]["on"] == review_on and met["met"]["late"] is False


@pytest.mark.parametrize(
    "unfit, rule_id, days", [(True, "pre-birth-first-review-mother-unfit", 20), (False, "pre-birth-first-review", 10)]
)
def test_bromley_gives_the_first_review_twenty_days_when_the_mother_is_unfit_to_attend(
    make_settings, token_for, unfit, rule_id, days
):
    plans, pump, scheduler, sw, chair = deployment(make_settings, token_for, "england,bromley", "BRM")
    child = unborn(plans, sw, TODAY + timedelta(days=20))
    steps = pre_birth_plan(plans, sw, chair, child["id"], TODAY - timedelta(days=20), mother_unfit_to_attend=unfit)
    assert steps["scheduled"]["mother_unfit_to_attend"] is unfit
    assert plans.get(f"/v1/conferences/{steps['conference']['id']}", headers=sw).json["mother_unfit_to_attend"] is unfit
    pump()

    birthday = TODAY - timedelta(days=2)
    assert born(plans, sw, child, {"date_of_birth": birthday.isoformat()}).status_code == 200
    assert "child.born.v1" in pump()
    deadlines = open_deadlines(scheduler, steps["case_id"])
    assert {"pre-birth-first-review", "pre-birth-first-review-mother-unfit"} & set(deadlines) == {rule_id}
    expected = WorkingCalendar("GB", "ENG").on_or_before(birthday + timedelta(days=days))[0]
    assert deadlines[rule_id]["due_on"] == expected.isoformat()
    shown = scheduler.test_client().get(f"/v1/deadlines/{deadlines[rule_id]['_id']}", headers=sw).json
    assert f"{days} calendar days after" in shown["explanation"]["timescale"]


def test_only_a_pre_birth_conference_records_the_mother_unfit_to_attend(plans, plans_store, people):
    sw, _ = people
    child = plans.post("/v1/children", json=minimal_child(), headers=sw).json  # born
    case_id = plans.post("/v1/cases", json={"child_id": child["id"]}, headers=sw).json["id"]
    plans.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": TODAY.isoformat()}, headers=sw)
    plans.post(
        f"/v1/cases/{case_id}/enquiry-outcome",
        headers=sw,
        json={"completed_on": TODAY.isoformat(), "conference_required": True},
    )
    body = {"kind": "initial", "scheduled_for": TODAY.isoformat(), "mother_unfit_to_attend": True}
    refused = plans.post(f"/v1/cases/{case_id}/conferences", json=body, headers=sw)
    assert refused.status_code == 422 and "pre-birth" in refused.json["errors"]["json"]["mother_unfit_to_attend"][0]
    assert "conference.scheduled.v1" not in [key for key, _ in events(plans_store)]  # nothing written
    plain = plans.post(f"/v1/cases/{case_id}/conferences", json={**body, "mother_unfit_to_attend": False}, headers=sw)
    assert plain.status_code == 201 and "mother_unfit_to_attend" not in plain.json
