"""The rules of a move between councils, alone (no HTTP, no store): the move
out recorded on a case whose plan is in force, the package's records, the
case a move in opens, and its transfer-in conference, held as an initial
conference is."""

from datetime import date, timedelta

import pytest

from cpp_plans.domain import lifecycle as lc
from cpp_plans.domain import transfers as tr
from cpp_plans.domain.lifecycle import InvalidStep, LifecycleError
from tests.unit.test_plan_endings import BEGAN, OUTLINE, TODAY, on_plan

BROMLEY = {"code": "BRM", "name": "London Borough of Bromley"}


def moving(**kw):
    case, plan = on_plan()
    given = dict(receiving_council="Royal Borough of Greenwich", notified_on=TODAY, today=TODAY, by="sw-1") | kw
    return tr.start_transfer_out(case, plan, **given), plan


def test_the_move_is_recorded_on_the_case_which_stays_on_its_plan():
    (case, [(type_, subject, data)]), plan = moving()
    assert case["status"] == "on_plan"
    assert case["transfer_out"] == {
        "receiving_council": "Royal Borough of Greenwich",
        "notified_on": TODAY.isoformat(),
        "started_on": TODAY.isoformat(),
        "by": "sw-1",
    }
    assert type_ == "transfer.out_started.v1" and subject == case["_id"]
    assert data["plan_id"] == plan["_id"] and data["receiving_council"] == "Royal Borough of Greenwich"


def test_the_move_is_recorded_once():
    (case, _), plan = moving()
    with pytest.raises(LifecycleError, match="already recorded"):
        tr.start_transfer_out(case, plan, receiving_council="Leeds", notified_on=TODAY, today=TODAY, by="sw-1")


def test_only_a_case_whose_plan_is_in_force_moves_this_way():
    case, plan = on_plan()
    ended_case, ended_plan, _ = lc.end_plan(case, plan, reason="died", on=TODAY, today=TODAY, ended_by="tm-1")
    with pytest.raises(LifecycleError, match="plan is in force"):
        tr.start_transfer_out(
            ended_case, ended_plan, receiving_council="Leeds", notified_on=TODAY, today=TODAY, by="sw-1"
        )


@pytest.mark.parametrize(
    "given, field",
    [
        ({"notified_on": TODAY + timedelta(days=1)}, "notified_on"),
        ({"notified_on": BEGAN - timedelta(days=1)}, "notified_on"),
        ({"receiving_council": "  "}, "receiving_council"),
    ],
)
def test_a_move_that_breaks_a_rule_is_refused_by_field(given, field):
    with pytest.raises(InvalidStep) as refused:
        moving(**given)
    assert field in refused.value.errors


def test_a_package_needs_the_move_recorded_and_leaves_out_the_stores_bookkeeping():
    case, plan = on_plan()
    record = dict(
        authority=BROMLEY,
        child={"_id": "child-1", "date_of_birth": "2020-01-02", "version": 3, "nhs_key": "BRM:9434765919"},
        conferences=[],
        plans=[({**plan, "version": 2}, [{**lc.plan_version_record(plan), "version": 1}])],
        core_group_meetings=[],
        visits=[],
        reports=[],
        chronology=[],
        made_at="2026-11-23T10:00:00+00:00",
    )
    with pytest.raises(LifecycleError, match="record the move first"):
        tr.package(case=case, **record)
    (moved, _), _ = moving()
    payload = tr.package(case={**moved, "version": 4}, **record)
    assert payload["format"] == "cpp-transfer-package/1"
    assert payload["receiving_council"] == "Royal Borough of Greenwich"
    assert payload["notified_on"] == TODAY.isoformat()
    assert "version" not in payload["case"] and payload["child"] == {"_id": "child-1", "date_of_birth": "2020-01-02"}
    [sent] = payload["plans"]
    assert "version" not in sent and [v["number"] for v in sent["versions"]] == [1]


def history(payload=None):
    return tr.history_record(
        authority="GRN",
        child_id="child-9",
        case_id="case-9",
        from_council=BROMLEY,
        notified_on="2026-11-16",
        received_at="2026-11-23T10:00:00+00:00",
        received_by="sw-9",
        payload=payload,
        signed_by="BRM-1" if payload else None,
    )


def transferred_in(payload=None):
    kept = history(payload)
    case, events = tr.open_transferred_case(
        "case-9", "child-9", "GRN", "2026-11-23T10:00:00+00:00", "sw-9", history=kept
    )
    return case, events, kept


def test_a_move_in_opens_a_case_waiting_for_the_transfer_in_conference():
    payload = {"package_id": "pkg-1", "plans": [{"_id": "p1", "created_on": "2026-06-01", "categories": ["neglect"]}]}
    case, events, kept = transferred_in(payload)
    assert case["status"] == tr.PENDING and case["transfer_in"]["history_id"] == kept["_id"]
    assert [t for t, _, _ in events] == ["case.opened.v1", "transfer.received.v1"]
    received = events[1][2]
    assert received["notified_on"] == "2026-11-16" and received["with_package"] and received["package_id"] == "pkg-1"
    # Until the conference is held, a lookup tells of a plan in force since the previous council's began.
    assert tr.pending_plan(case) == {
        "since": "2026-06-01",
        "categories": ["neglect"],
        "from_council": BROMLEY,
        "social_worker": None,
    }


def test_a_move_notified_without_a_package_is_told_of_from_the_notification():
    case, events, kept = transferred_in()
    assert kept["package"] is None and events[1][2]["with_package"] is False
    assert tr.pending_plan(case)["since"] == "2026-11-16"
    assert tr.pending_plan({**case, "status": "on_plan"}) is None


@pytest.mark.parametrize("plan_required, status", [(True, "on_plan"), (False, "child_in_need")])
def test_the_transfer_in_conference_decides_as_an_initial_conference_does(plan_required, status):
    case, _, _ = transferred_in()
    case, conf, events = lc.schedule_conference(
        case, None, kind="transfer_in", scheduled_for=TODAY, today=TODAY, scheduled_by="sw-9"
    )
    assert events[0][2]["kind"] == "transfer_in"
    with pytest.raises(LifecycleError, match="held once"):
        lc.schedule_conference(case, None, kind="transfer_in", scheduled_for=TODAY, today=TODAY, scheduled_by="sw-9")
    case, conf, plan, events = lc.hold_initial_conference(
        case,
        conf,
        held_on=TODAY,
        today=TODAY,
        plan_required=plan_required,
        plan_content=OUTLINE if plan_required else None,
        decided_by="chair-9",
        attendees=[],
    )
    assert case["status"] == status and (plan is not None) == plan_required
    [held] = [d for t, _, d in events if t == "conference.held.v1"]
    assert held["kind"] == "transfer_in" and held["plan_required"] is plan_required


def test_only_a_case_transferred_in_has_a_transfer_in_conference():
    case, plan = on_plan()
    with pytest.raises(LifecycleError, match="transferred in"):
        lc.schedule_conference(case, plan, kind="transfer_in", scheduled_for=TODAY, today=TODAY, scheduled_by="sw")
    assert date.fromisoformat(plan["created_on"]) == BEGAN


def test_a_package_that_follows_a_notification_joins_its_history_once():
    case, _, kept = transferred_in()
    payload = {
        "package_id": "pkg-2",
        "sending_authority": BROMLEY,
        "plans": [{"_id": "p1", "created_on": "2026-06-01", "categories": ["neglect"]}],
    }
    joined, history = tr.attach_package(case, kept, payload, signed_by="BRM-1", today=TODAY)
    assert history["_id"] == kept["_id"] and history["package"] == payload and history["signed_by"] == "BRM-1"
    assert joined["transfer_in"]["package_id"] == "pkg-2" and joined["transfer_in"]["notified_on"] == "2026-11-16"
    assert tr.pending_plan(joined)["since"] == "2026-06-01"
    with pytest.raises(LifecycleError, match="already in an open case"):
        tr.attach_package(joined, history, payload, signed_by="BRM-1", today=TODAY)
    with pytest.raises(LifecycleError):
        tr.attach_package({**case, "status": "on_plan"}, kept, payload, signed_by="BRM-1", today=TODAY)
