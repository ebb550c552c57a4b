"""Reports to conference, the resource panel and the child in need plan:
the rules alone (domain/reports.py)."""

from __future__ import annotations

from datetime import date

import pytest

from cpp_plans.domain import reports as rp
from cpp_plans.domain.lifecycle import InvalidStep, LifecycleError

TODAY = date(2026, 11, 23)
CONFERENCE = {
    "_id": "conf-1",
    "authority": "GSY",
    "case_id": "case-1",
    "child_id": "child-1",
    "kind": "initial",
    "status": "scheduled",
    "outcome": None,
}
CASE = {"_id": "case-1", "authority": "GSY", "child_id": "child-1", "plan_id": None, "status": "conference_pending"}


def drafted(author="sw-1"):
    report, [event] = rp.draft_report(
        CONFERENCE,
        CASE,
        content={"findings": "F"},
        plan_content=None,
        on=date(2026, 11, 16),
        today=TODAY,
        author=author,
    )
    assert event[0] == "report.drafted.v1" and event[2]["done_on"] == "2026-11-16"
    return report


def test_the_steps_go_in_order_and_each_names_the_one_missing():
    report = drafted()
    with pytest.raises(LifecycleError, match="submit it for countersigning"):
        rp.countersign(report, CONFERENCE, on=TODAY, today=TODAY, by="tm-1", role="team_manager")
    with pytest.raises(LifecycleError, match="countersigned"):
        rp.share(
            report,
            CONFERENCE,
            with_=[{"name": "A", "how": "post"}],
            child_included=False,
            on=TODAY,
            today=TODAY,
            by="sw-1",
        )
    report, _ = rp.submit(report, CONFERENCE, on=TODAY, today=TODAY, by="sw-1")
    report, _ = rp.countersign(report, CONFERENCE, on=TODAY, today=TODAY, by="tm-1", role="team_manager")
    with pytest.raises(LifecycleError, match="share it with the family"):
        rp.send_to_chair(report, CONFERENCE, on=TODAY, today=TODAY, by="sw-1")
    report, [event] = rp.share(
        report,
        CONFERENCE,
        with_=[{"name": "A", "how": "post", "interpreter_used": True}],
        child_included=True,
        on=TODAY,
        today=TODAY,
        by="sw-1",
    )
    assert event[2]["interpreter_used"] is True and event[2]["ways"] == ["post"]
    report, [event] = rp.send_to_chair(report, CONFERENCE, on=TODAY, today=TODAY, by="sw-1")
    assert report["status"] == "sent_to_chair" and [s["step"] for s in report["steps"]] == [
        "drafted",
        "submitted",
        "countersigned",
        "shared",
        "sent_to_chair",
    ]
    with pytest.raises(LifecycleError, match="already sent_to_chair"):
        rp.send_to_chair(report, CONFERENCE, on=TODAY, today=TODAY, by="sw-1")


def test_only_a_team_manager_who_is_not_the_author_countersigns():
    report, _ = rp.submit(drafted(author="tm-1"), CONFERENCE, on=TODAY, today=TODAY, by="tm-1")
    with pytest.raises(rp.NotAllowed, match="author"):
        rp.countersign(report, CONFERENCE, on=TODAY, today=TODAY, by="tm-1", role="team_manager")
    with pytest.raises(rp.NotAllowed, match="team manager"):
        rp.countersign(report, CONFERENCE, on=TODAY, today=TODAY, by="sw-2", role="social_worker")
    returned, [event] = rp.return_report(
        report, CONFERENCE, reason="More detail", on=TODAY, today=TODAY, by="tm-2", role="team_manager"
    )
    assert returned["status"] == "draft" and event[2]["reason"] == "More detail"


def test_dates_are_not_in_the_future_nor_after_the_conference():
    report = drafted()
    with pytest.raises(InvalidStep) as exc:
        rp.submit(report, CONFERENCE, on=date(2026, 11, 24), today=TODAY, by="sw-1")
    assert "submitted_on" in exc.value.errors
    held = {**CONFERENCE, "outcome": {"held_on": "2026-11-20"}}
    with pytest.raises(InvalidStep) as exc:
        rp.submit(report, held, on=date(2026, 11, 21), today=TODAY, by="sw-1")
    assert "after the conference" in exc.value.errors["submitted_on"][0]


def test_a_review_report_carries_the_plan_updated_for_the_review():
    review = {**CONFERENCE, "kind": "review"}
    with pytest.raises(InvalidStep, match="plan"):
        rp.draft_report(
            review,
            {**CASE, "plan_id": "plan-1"},
            content={"findings": "F"},
            plan_content=None,
            on=TODAY,
            today=TODAY,
            author="sw-1",
        )
    report, _ = rp.draft_report(
        review,
        {**CASE, "plan_id": "plan-1"},
        content={"findings": "F"},
        plan_content={"concerns": "C"},
        on=TODAY,
        today=TODAY,
        author="sw-1",
    )
    assert report["kind"] == "review_report" and report["plan_id"] == "plan-1"


def test_the_resource_panel_and_the_child_in_need_plan():
    plan = {
        "_id": "plan-1",
        "authority": "GSY",
        "case_id": "case-1",
        "child_id": "child-1",
        "status": "active",
        "created_on": "2026-10-01",
    }
    request, [event] = rp.request_panel(plan, reason="R", services=["S"], on=TODAY, today=TODAY, by="sw-1")
    assert event[2]["requested_on"] == TODAY.isoformat()
    deferred, _ = rp.decide_panel(
        request, decision="deferred", conditions=None, on=TODAY, today=TODAY, by="tm-1", role="team_manager"
    )
    assert deferred["status"] == "waiting"  # a deferral waits for the next panel
    approved, [event] = rp.decide_panel(
        deferred, decision="approved", conditions="12 weeks", on=TODAY, today=TODAY, by="tm-1", role="team_manager"
    )
    assert approved["status"] == "approved" and len(approved["history"]) == 2 and event[2]["decision"] == "approved"
    with pytest.raises(LifecycleError):
        rp.decide_panel(
            approved, decision="declined", conditions=None, on=TODAY, today=TODAY, by="tm-1", role="team_manager"
        )
    with pytest.raises(LifecycleError, match="step-down"):
        rp.create_child_in_need_plan(
            CASE,
            key_worker={"name": "S"},
            needs="N",
            services=[],
            review_on=date(2027, 1, 1),
            on=TODAY,
            today=TODAY,
            by="sw-1",
        )
    stepped = {**CASE, "status": "child_in_need", "step_down": {"decided_on": "2026-11-20"}}
    with pytest.raises(InvalidStep, match="step-down was decided"):
        rp.create_child_in_need_plan(
            stepped,
            key_worker={"name": "S"},
            needs="N",
            services=[],
            review_on=date(2027, 1, 1),
            on=date(2026, 11, 19),
            today=TODAY,
            by="sw-1",
        )
    cin, [event] = rp.create_child_in_need_plan(
        stepped,
        key_worker={"name": "S"},
        needs="N",
        services=[],
        review_on=date(2027, 1, 1),
        on=TODAY,
        today=TODAY,
        by="sw-1",
    )
    assert event[0] == "child_in_need_plan.created.v1" and cin["review_on"] == "2027-01-01"


# --- what waits for a team manager ------------------------------------------------------


def submitted_report(on=date(2026, 11, 18)):
    report, _ = rp.submit(drafted(), CONFERENCE, on=on, today=TODAY, by="sw-1")
    return report


def test_a_submitted_report_waiting_names_the_child_the_conference_day_and_its_days():
    item = rp.report_awaiting(
        submitted_report(),
        child_name="Amy Okafor-Smith",
        conference={**CONFERENCE, "scheduled_for": "2026-11-26"},
        by_name="Sam Social",
        today=TODAY,
    )
    assert item == {
        "kind": "report_countersigning",
        "id": item["id"],
        "case_id": "case-1",
        "child_id": "child-1",
        "child_name": "Amy Okafor-Smith",
        "conference_id": "conf-1",
        "conference_kind": "initial",
        "conference_date": "2026-11-26",
        "since": "2026-11-18",
        "waiting_days": 5,
        "by": "sw-1",
        "by_name": "Sam Social",
        "summary": "Enquiry report for Amy Okafor-Smith's initial conference on 26 November 2026",
    }


def test_the_days_waited_count_from_the_last_submission():
    report = submitted_report(on=date(2026, 11, 17))
    report, _ = rp.return_report(
        report, CONFERENCE, reason="More", on=date(2026, 11, 18), today=TODAY, by="tm-1", role="team_manager"
    )
    report, _ = rp.submit(report, CONFERENCE, on=date(2026, 11, 20), today=TODAY, by="sw-1")
    item = rp.report_awaiting(report, child_name="Sam Jones", conference=CONFERENCE, by_name="Sam Social", today=TODAY)
    assert (item["since"], item["waiting_days"]) == ("2026-11-20", 3)
    assert (
        rp.report_awaiting(
            report, child_name="Sam Jones", conference=CONFERENCE, by_name="Sam Social", today=date(2026, 11, 20)
        )["waiting_days"]
        == 0
    )


def test_a_held_conference_is_dated_by_its_holding_and_a_review_report_says_so():
    held = {**CONFERENCE, "kind": "review", "scheduled_for": "2026-11-25", "outcome": {"held_on": "2026-11-27"}}
    report = {**submitted_report(), "kind": "review_report"}
    item = rp.report_awaiting(report, child_name="Sam Jones", conference=held, by_name="Sam Social", today=TODAY)
    assert item["conference_date"] == "2026-11-27"
    assert item["summary"] == "Review report for Sam Jones's review conference on 27 November 2026"


def test_a_report_whose_conference_is_not_found_still_reads_without_an_id():
    item = rp.report_awaiting(
        submitted_report(), child_name="Sam Jones", conference=None, by_name="Sam Social", today=TODAY
    )
    assert (item["conference_date"], item["summary"]) == (None, "Enquiry report for Sam Jones's conference")


def test_a_resource_panel_request_waiting_names_the_child_and_its_days():
    plan = {
        "_id": "plan-1",
        "authority": "GSY",
        "case_id": "case-1",
        "child_id": "child-1",
        "status": "active",
        "created_on": "2026-10-01",
    }
    request, _ = rp.request_panel(
        plan, reason="R", services=["family support", "nursery place"], on=date(2026, 11, 2), today=TODAY, by="sw-1"
    )
    item = rp.panel_awaiting(request, child_name="Sam Jones", by_name="Sam Social", today=TODAY)
    assert {
        k: item[k] for k in ("kind", "child_name", "conference_date", "since", "waiting_days", "by_name", "summary")
    } == {
        "kind": "resource_panel",
        "child_name": "Sam Jones",
        "conference_date": None,
        "since": "2026-11-02",
        "waiting_days": 21,
        "by_name": "Sam Social",
        "summary": "Resource panel request for Sam Jones: family support, nursery place",
    }
