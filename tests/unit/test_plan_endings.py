"""Every way a plan ends other than at a review conference, alone (no HTTP, no store)."""

from datetime import date, timedelta

import pytest

from cpp_plans.domain import lifecycle as lc
from cpp_plans.domain.lifecycle import InvalidStep, LifecycleError

TODAY = date(2026, 11, 23)
BEGAN = date(2026, 11, 20)
OUTLINE = {
    "key_worker": {"name": "Sam Social"},
    "categories": ["neglect"],
    "core_group": [{"name": "Sam Social", "role": "social worker", "agency": "council", "is_family_member": False}],
}


def on_plan():
    case, _ = lc.open_case("case-1", "child-1", "ENG", "2026-11-01T09:00:00+00:00", "sw-1")
    case, _, _ = lc.record_strategy_discussion(
        case,
        held_on=date(2026, 11, 2),
        today=TODAY,
        initiated_enquiries=True,
        attendees=[],
        notes=None,
        recorded_by="sw-1",
    )
    case, _ = lc.record_enquiry_outcome(
        case, completed_on=date(2026, 11, 9), conference_required=True, today=TODAY, summary=None, recorded_by="sw-1"
    )
    case, conf, _ = lc.schedule_conference(
        case, None, kind="initial", scheduled_for=BEGAN, today=TODAY, scheduled_by="tm-1"
    )
    case, _, plan, _ = lc.hold_initial_conference(
        case,
        conf,
        held_on=BEGAN,
        today=TODAY,
        plan_required=True,
        plan_content=OUTLINE,
        decided_by="chair-1",
        attendees=[],
    )
    return case, plan


def end(reason, *, case_plan=None, on=TODAY, **kw):
    case, plan = case_plan or on_plan()
    return lc.end_plan(case, plan, reason=reason, on=on, today=TODAY, ended_by="tm-1", **kw)


WAYS = {
    "reached_18": dict(date_of_birth=date(2008, 11, 23)),
    "died": dict(details="The child died in hospital."),
    "moved_to_another_council": dict(receiving_council="Leeds City Council", transfer_in_conference_on=TODAY),
    "left_the_uk": dict(details="The family moved to Spain."),
    "looked_after": dict(looked_after_ends_plan=True),
}


@pytest.mark.parametrize("reason", list(WAYS))
def test_each_way_ends_the_plan_closes_the_case_and_says_how(reason):
    case, plan, events = end(reason, **WAYS[reason])
    assert plan["status"] == "ended" and case["status"] == "closed" and case["step_down"] is None
    assert plan["ended"]["how"] == reason and plan["ended"]["by"] == "tm-1" and plan["ended"]["on"] == "2026-11-23"
    assert plan["ended"]["step_down"] is None and plan["ended"]["conference_id"] is None
    [(etype, subject, data)] = events
    assert etype == "plan.ended.v1" and subject == plan["_id"]
    assert data["status"] == "ended" and data["ended"]["reason"] == reason and data["ended"]["step_down"] is None


def test_a_move_records_the_receiving_council_and_its_transfer_in_conference():
    _, plan, [(_, _, data)] = end("moved_to_another_council", **WAYS["moved_to_another_council"])
    assert plan["ended"]["receiving_council"] == "Leeds City Council"
    assert data["ended"]["receiving_council"] == "Leeds City Council"
    assert data["ended"]["transfer_in_conference_on"] == "2026-11-23"


def test_the_words_given_are_the_reason_kept_and_the_events_details():
    _, plan, [(_, _, data)] = end("died", **WAYS["died"])
    assert plan["ended"]["reason"] == "The child died in hospital."
    assert data["ended"]["details"] == "The child died in hospital."


def test_a_review_conferences_ending_is_told_as_such():
    plan = {**on_plan()[1], "ended": {"on": "2026-11-23", "conference_id": "c-1", "step_down": "child_in_need_plan"}}
    assert lc.plan_snapshot(plan)["ended"]["reason"] == "review_conference"


def test_an_ended_plan_does_not_end_again():
    case, plan, _ = end("died")
    with pytest.raises(LifecycleError, match="ends once"):
        end("left_the_uk", case_plan=(case, plan))


def test_a_day_in_the_future_is_refused():
    with pytest.raises(InvalidStep) as err:
        end("died", on=TODAY + timedelta(days=1))
    assert "on" in err.value.errors


def test_a_day_before_the_plan_began_is_refused():
    with pytest.raises(InvalidStep) as err:
        end("died", on=BEGAN - timedelta(days=1))
    assert "before the plan began" in err.value.errors["on"][0]


def test_a_child_under_18_does_not_end_their_plan_by_age():
    with pytest.raises(InvalidStep) as err:
        end("reached_18", date_of_birth=date(2008, 11, 24))
    assert err.value.errors == {"on": ["the child is 18 on 2026-11-24"]}


def test_a_child_with_no_date_of_birth_does_not_end_their_plan_by_age():
    with pytest.raises(InvalidStep):
        end("reached_18")


def test_a_leap_day_child_is_18_on_the_first_of_march():
    assert lc.eighteenth_birthday(date(2008, 2, 29)) == date(2026, 3, 1)


def test_looked_after_ends_a_plan_only_where_the_councils_procedures_say_so():
    with pytest.raises(InvalidStep) as err:
        end("looked_after")
    assert "review conference decides" in err.value.errors["reason"][0]


def test_a_move_needs_the_receiving_council_and_its_transfer_in_conference():
    with pytest.raises(InvalidStep) as err:
        end("moved_to_another_council")
    assert set(err.value.errors) == {"receiving_council", "transfer_in_conference_on"}


def test_a_move_ends_the_plan_once_the_transfer_in_conference_is_held():
    with pytest.raises(InvalidStep) as err:
        end("moved_to_another_council", on=BEGAN, receiving_council="Leeds", transfer_in_conference_on=TODAY)
    assert "transfer-in conference" in err.value.errors["on"][0]


def test_an_unknown_way_is_refused():
    with pytest.raises(InvalidStep) as err:
        end("review_conference")
    assert "reason" in err.value.errors


def test_a_closed_case_is_not_allocated():
    case, _, _ = end("died")
    with pytest.raises(LifecycleError):
        lc.allocate_case(case, social_worker=None, team_manager=None, team="other")
