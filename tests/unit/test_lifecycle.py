"""The lifecycle rules, alone (no HTTP, no store)."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cpp_plans.domain import lifecycle as lc
from cpp_plans.domain.lifecycle import InvalidStep, LifecycleError

TODAY = date(2026, 11, 23)
OUTLINE = {
    "key_worker": {"name": "Sam Social"},
    "categories": ["neglect"],
    "core_group": [{"name": "Sam Social", "role": "social worker", "agency": "council", "is_family_member": False}],
}


def opened():
    case, events = lc.open_case("case-1", "child-1", "ENG", "2026-11-01T09:00:00+00:00", "sw-1")
    assert case["status"] == "enquiries" and [e[0] for e in events] == ["case.opened.v1"]
    return case


def after_strategy(held_on=date(2026, 11, 2), **kw):
    case, discussion, events = lc.record_strategy_discussion(
        opened(),
        held_on=held_on,
        today=TODAY,
        initiated_enquiries=True,
        attendees=[],
        notes=None,
        recorded_by="sw-1",
        **kw,
    )
    assert events[0][0] == "strategy_discussion.held.v1" and events[0][2]["held_on"] == held_on.isoformat()
    return case


def pending():
    case, events = lc.record_enquiry_outcome(
        after_strategy(),
        completed_on=date(2026, 11, 9),
        conference_required=True,
        today=TODAY,
        summary=None,
        recorded_by="sw-1",
    )
    assert case["status"] == "conference_pending" and events[0][2]["conference_required"] is True
    return case


def scheduled(kind="initial", case=None, plan=None, on=date(2026, 11, 20)):
    case, conf, events = lc.schedule_conference(
        case or pending(), plan, kind=kind, scheduled_for=on, today=TODAY, scheduled_by="tm-1"
    )
    assert conf["status"] == "scheduled" and events[0][0] == "conference.scheduled.v1"
    return case, conf


def on_plan():
    case, conf = scheduled()
    case, conf, plan, events = lc.hold_initial_conference(
        case,
        conf,
        held_on=date(2026, 11, 20),
        today=TODAY,
        plan_required=True,
        plan_content=OUTLINE,
        decided_by="chair-1",
        attendees=[],
    )
    assert [e[0] for e in events] == ["conference.held.v1", "plan.created.v1"]
    return case, conf, plan


def test_strategy_discussion_in_the_future_is_refused():
    with pytest.raises(InvalidStep) as err:
        after_strategy(held_on=TODAY + timedelta(days=1))
    assert "held_on" in err.value.errors


def test_no_enquiry_outcome_without_a_strategy_discussion():
    with pytest.raises(LifecycleError, match="strategy discussion"):
        lc.record_enquiry_outcome(
            opened(), completed_on=TODAY, conference_required=True, today=TODAY, summary=None, recorded_by="sw"
        )


def test_enquiries_cannot_finish_before_they_started():
    with pytest.raises(InvalidStep) as err:
        lc.record_enquiry_outcome(
            after_strategy(),
            completed_on=date(2026, 11, 1),
            conference_required=True,
            today=TODAY,
            summary=None,
            recorded_by="sw",
        )
    assert "completed_on" in err.value.errors


def test_no_conference_needed_steps_down_to_child_in_need():
    case, _ = lc.record_enquiry_outcome(
        after_strategy(),
        completed_on=date(2026, 11, 9),
        conference_required=False,
        today=TODAY,
        summary=None,
        recorded_by="sw",
    )
    assert case["status"] == "child_in_need" and case["step_down"]["route"] == "child_in_need_plan"
    with pytest.raises(LifecycleError):
        lc.schedule_conference(case, None, kind="initial", scheduled_for=TODAY, today=TODAY, scheduled_by="tm")


def test_the_enquiry_outcome_is_recorded_once_and_strategy_discussions_come_before_it():
    case = pending()
    with pytest.raises(LifecycleError):
        lc.record_enquiry_outcome(
            case, completed_on=TODAY, conference_required=True, today=TODAY, summary=None, recorded_by="sw"
        )
    with pytest.raises(LifecycleError):
        lc.record_strategy_discussion(
            case, held_on=TODAY, today=TODAY, initiated_enquiries=False, attendees=[], notes=None, recorded_by="sw"
        )


def test_no_second_initial_conference():
    case, _ = scheduled()
    with pytest.raises(LifecycleError, match="already has an initial conference"):
        lc.schedule_conference(case, None, kind="initial", scheduled_for=TODAY, today=TODAY, scheduled_by="tm")


def test_no_review_conference_without_a_plan():
    with pytest.raises(LifecycleError, match="plan in force"):
        lc.schedule_conference(pending(), None, kind="review", scheduled_for=TODAY, today=TODAY, scheduled_by="tm")


def test_initial_conference_deciding_on_a_plan_creates_an_outline_plan():
    case, conf, plan = on_plan()
    assert case["status"] == "on_plan" and case["plan_id"] == plan["_id"]
    assert conf["status"] == "held" and conf["outcome"]["plan_id"] == plan["_id"]
    assert plan["status"] == "outline" and plan["plan_version"] == 1 and plan["content"] == OUTLINE
    assert plan["key_worker"] == "Sam Social" and plan["categories"] == ["neglect"]


def test_an_outline_plan_needs_its_key_worker_categories_and_core_group():
    case, conf = scheduled()
    with pytest.raises(InvalidStep) as err:
        lc.hold_initial_conference(
            case,
            conf,
            held_on=TODAY,
            today=TODAY,
            plan_required=True,
            plan_content={"key_worker": {"name": "x"}},
            decided_by="c",
            attendees=[],
        )
    assert "categories" in err.value.errors["outline_plan"][0] and "core_group" in err.value.errors["outline_plan"][0]


def test_initial_conference_without_a_plan_steps_down():
    case, conf = scheduled()
    case, conf, plan, events = lc.hold_initial_conference(
        case, conf, held_on=TODAY, today=TODAY, plan_required=False, plan_content=None, decided_by="c", attendees=[]
    )
    assert plan is None and case["status"] == "child_in_need" and [e[0] for e in events] == ["conference.held.v1"]


def test_a_conference_outcome_is_recorded_once_and_not_in_the_future():
    case, conf = scheduled()
    with pytest.raises(InvalidStep):
        lc.hold_initial_conference(
            case,
            conf,
            held_on=TODAY + timedelta(days=1),
            today=TODAY,
            plan_required=False,
            plan_content=None,
            decided_by="c",
            attendees=[],
        )
    case, conf, plan = on_plan()
    with pytest.raises(LifecycleError, match="recorded once"):
        lc.hold_initial_conference(
            case, conf, held_on=TODAY, today=TODAY, plan_required=False, plan_content=None, decided_by="c", attendees=[]
        )


@pytest.mark.parametrize(
    "decision,status,event",
    [
        ("continue", "outline", "plan.reviewed.v1"),
        ("revise", "outline", "plan.version_agreed.v1"),
        ("end", "ended", "plan.ended.v1"),
    ],
)
def test_review_conference_decisions(decision, status, event):
    case, _, plan = on_plan()
    case, review = scheduled("review", case, plan, on=date(2026, 11, 22))
    revised = {**OUTLINE, "categories": ["neglect", "emotional_abuse"]}
    case, review, plan2, events = lc.hold_review_conference(
        case,
        review,
        plan,
        held_on=date(2026, 11, 22),
        today=TODAY,
        decision=decision,
        plan_content=revised if decision == "revise" else None,
        decided_by="chair",
        attendees=[],
    )
    assert plan2["status"] == status and [e[0] for e in events] == ["conference.held.v1", event]
    assert plan2["plan_version"] == (2 if decision == "revise" else 1)
    if decision == "end":
        assert case["status"] == "plan_ended" and plan2["ended"]["step_down"] == "child_in_need_plan"
        with pytest.raises(LifecycleError):
            lc.schedule_conference(case, plan2, kind="review", scheduled_for=TODAY, today=TODAY, scheduled_by="tm")
    if decision == "revise":
        assert plan2["categories"] == ["neglect", "emotional_abuse"] and plan2["agreed"]["at"] == "review_conference"
        assert lc.plan_version_record(plan2)["_id"] == f"{plan2['_id']}:2"


DETAILED = {**OUTLINE, "outcomes": [{"id": "o1"}], "actions": [{"id": "a1"}]}


KEY_WORKER = {"name": "Sam Social", "role": "key worker"}


def core_group(plan, agreed=True, content=None, missing=(), held_on=date(2026, 11, 21), attendees=(KEY_WORKER,)):
    return lc.record_core_group_meeting(
        plan,
        held_on=held_on,
        today=TODAY,
        attendees=list(attendees),
        detailed_plan_agreed=agreed,
        plan_content=content,
        missing_for_agreement=list(missing),
        notes=None,
        recorded_by="sw-1",
    )


def test_the_first_core_group_that_agrees_the_detailed_plan_activates_it():
    _, _, plan = on_plan()
    plan2, meeting, events = core_group(plan, agreed=False)
    assert plan2["status"] == "outline" and [e[0] for e in events] == ["core_group.held.v1"]
    plan3, meeting, events = core_group(plan2, content=DETAILED)
    assert plan3["status"] == "active" and plan3["activated_on"] == "2026-11-21" and plan3["plan_version"] == 2
    assert [e[0] for e in events] == ["core_group.held.v1", "plan.activated.v1"] and meeting["plan_version"] == 2
    plan4, _, events = core_group(plan3)  # agreeing it again unchanged is no new version
    assert plan4["plan_version"] == 2 and [e[0] for e in events] == ["core_group.held.v1"]
    plan5, _, events = core_group(plan3, content={**DETAILED, "categories": ["neglect", "physical_abuse"]})
    assert plan5["plan_version"] == 3 and events[-1][0] == "plan.version_agreed.v1"


def test_a_detailed_plan_missing_items_cannot_be_agreed():
    _, _, plan = on_plan()
    with pytest.raises(InvalidStep) as err:
        core_group(plan, missing=["outcomes", "contingency_plan"])
    assert "outcomes, contingency_plan" in err.value.errors["plan"][0]
    with pytest.raises(InvalidStep):
        core_group(plan, agreed=False, content=DETAILED)


def test_no_core_group_before_the_plan_or_in_the_future():
    _, _, plan = on_plan()
    with pytest.raises(InvalidStep):
        core_group(plan, held_on=date(2026, 11, 19))
    with pytest.raises(InvalidStep):
        core_group(plan, held_on=TODAY + timedelta(days=1))


ABSENT = "the key worker, Sam Social, is not among the attendees: a core group meeting is held with the key worker"


def test_a_core_group_meeting_without_the_key_worker_is_refused_on_the_attendees():
    _, _, plan = on_plan()
    for attendees in ([], [{"name": "Alex Parent", "role": "mother"}], [{"name": "Sam Socia"}]):
        with pytest.raises(InvalidStep) as refused:
            core_group(plan, agreed=False, attendees=attendees)
        assert refused.value.errors == {"attendees": [ABSENT]}
    with pytest.raises(InvalidStep) as refused:  # nor is a detailed plan agreed without them
        core_group(plan, content=DETAILED, attendees=[{"name": "Alex Parent"}])
    assert refused.value.errors == {"attendees": [ABSENT]}
    _, meeting, _ = core_group(plan, agreed=False, attendees=[{"name": "Alex Parent"}, {"name": "  sam   SOCIAL "}])
    assert [a["name"] for a in meeting["attendees"]] == ["Alex Parent", "  sam   SOCIAL "]  # kept as written


def test_the_key_worker_attends_by_their_staff_user_id_too():
    _, _, plan = on_plan()
    plan = {**plan, "key_worker_user": "sw-1"}
    _, meeting, _ = core_group(plan, agreed=False, attendees=[{"name": "S. Social", "user": "sw-1"}])
    assert meeting["attendees"] == [{"name": "S. Social", "user": "sw-1"}]
    with pytest.raises(InvalidStep, match="Sam Social, is not among"):
        core_group(plan, agreed=False, attendees=[{"name": "S. Social", "user": "sw-2"}])
    with pytest.raises(InvalidStep, match="staff user sw-1, is not among"):  # a key worker known by user id alone
        core_group({**plan, "key_worker": None}, agreed=False, attendees=[{"name": "Alex Parent"}])


def test_a_hand_over_meeting_is_held_with_either_key_worker():
    _, _, plan = on_plan()
    handed_over = {**DETAILED, "key_worker": {"name": "Kim Lee", "user": "sw-2"}}
    for attendees in ([KEY_WORKER], [{"name": "kim lee"}], [{"name": "K. Lee", "user": "sw-2"}]):
        after, _, _ = core_group(plan, content=handed_over, attendees=attendees)
        assert (after["key_worker"], after["key_worker_user"]) == ("Kim Lee", "sw-2")
    with pytest.raises(InvalidStep) as refused:
        core_group(plan, content=handed_over, attendees=[{"name": "Alex Parent"}])
    assert refused.value.errors == {
        "attendees": [
            "neither the key worker, Sam Social, nor the key worker the meeting agrees, Kim Lee, is among the "
            "attendees: a core group meeting is held with the key worker"
        ]
    }
    # the meeting's new key worker counts only when it agrees the plan naming them
    with pytest.raises(InvalidStep):
        lc.record_core_group_meeting(
            plan,
            held_on=date(2026, 11, 21),
            today=TODAY,
            attendees=[{"name": "Kim Lee"}],
            detailed_plan_agreed=False,
            plan_content=None,
            missing_for_agreement=[],
            notes=None,
            recorded_by="sw-1",
        )
    # the same key worker written again is no hand-over: the message names them once
    with pytest.raises(InvalidStep) as refused:
        core_group(plan, content={**DETAILED, "key_worker": {"name": " SAM social"}}, attendees=[])
    assert refused.value.errors == {"attendees": [ABSENT]}


def test_a_plan_with_no_key_worker_recorded_is_not_refused_for_its_absence():
    _, _, plan = on_plan()
    for nobody in (None, "", "   "):
        _, meeting, events = core_group({**plan, "key_worker": nobody, "key_worker_user": None}, attendees=[])
        assert meeting["attendees"] == [] and events[0][0] == "core_group.held.v1"


def test_the_key_worker_rule_is_checked_after_the_meetings_other_rules():
    _, _, plan = on_plan()
    with pytest.raises(InvalidStep) as refused:
        core_group(plan, held_on=TODAY + timedelta(days=1), attendees=[])
    assert set(refused.value.errors) == {"held_on"}
    with pytest.raises(InvalidStep) as refused:
        core_group(plan, missing=["outcomes"], attendees=[])
    assert set(refused.value.errors) == {"plan"}


WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéçñöüłøåæ'-", min_size=1, max_size=12)
SPACE = st.text(alphabet=" \t\u00a0", min_size=1, max_size=3)


@st.composite
def written_as(draw, words):
    """The name of ``words`` as someone might type it: any case, spaces around and between the words."""
    out = draw(st.text(alphabet=" \t", max_size=3))
    for i, word in enumerate(words):
        out += "".join(c.upper() if draw(st.booleans()) else c for c in word)
        out += draw(SPACE) if i < len(words) - 1 else draw(st.text(alphabet=" \t", max_size=3))
    return out


@given(st.data(), st.lists(WORD, min_size=1, max_size=4))
def test_a_name_is_the_key_workers_whatever_its_case_and_spacing(data, words):
    key_worker = " ".join(words)
    typed = data.draw(written_as(words))
    assert lc.same_name(typed, key_worker) and lc.same_name(key_worker, typed)
    plan = {"key_worker": key_worker, "key_worker_user": None}
    assert lc.key_worker_absent(plan, [{"name": "Alex Parent"}, {"name": typed}]) is None
    # another name is not theirs: a word more, or a word fewer
    assert not lc.same_name(data.draw(written_as([*words, data.draw(WORD)])), key_worker)
    if len(words) > 1:
        assert not lc.same_name(data.draw(written_as(words[1:])), key_worker)
        assert lc.key_worker_absent(plan, [{"name": " ".join(words[1:])}]) is not None


@given(st.text(alphabet=" \t\n\u00a0", max_size=5))
def test_a_blank_name_is_nobodys(blank):
    assert not lc.same_name(blank, blank) and not lc.same_name(blank, "Sam Social")


def visit(plan, **kw):
    args = dict(
        visited_on=date(2026, 11, 22),
        today=TODAY,
        announced=False,
        child_seen=True,
        seen_alone=True,
        by="Sam Social",
        notes=None,
        recorded_by="sw-1",
    )
    args.update(kw)
    return lc.record_visit(plan, **args)


def test_visits_are_recorded_on_a_plan_in_force_only():
    case, _, plan = on_plan()
    record, events = visit(plan)
    assert record["announced"] is False and events[0][0] == "visit.recorded.v1"
    with pytest.raises(InvalidStep):
        visit(plan, child_seen=False, seen_alone=True)
    with pytest.raises(InvalidStep):
        visit(plan, visited_on=date(2026, 11, 1))
    case, review = scheduled("review", case, plan, on=date(2026, 11, 22))
    _, _, ended, _ = lc.hold_review_conference(
        case,
        review,
        plan,
        held_on=date(2026, 11, 22),
        today=TODAY,
        decision="end",
        plan_content=None,
        decided_by="c",
        attendees=[],
    )
    with pytest.raises(LifecycleError, match="no visit on an ended plan"):
        visit(ended)


def case_visit(case, **kw):
    args = dict(
        visited_on=date(2026, 11, 3),
        today=TODAY,
        announced=True,
        child_seen=True,
        seen_alone=False,
        by="Sam",
        notes=None,
        recorded_by="sw-1",
    )
    return lc.record_case_visit(case, **{**args, **kw})


def test_a_visit_before_a_plan_is_on_an_open_case_without_one_and_not_before_it_began():
    record, [(etype, subject, data)] = case_visit(after_strategy())
    assert (record["case_id"], record["plan_id"], etype, subject) == (
        "case-1",
        None,
        "case_visit.recorded.v1",
        "case-1",
    )
    assert data["visited_on"] == "2026-11-03" and data["child_seen"] is True
    with pytest.raises(InvalidStep, match="before the case began on 2026-11-01 \\(it was opened\\)"):
        case_visit(opened(), visited_on=date(2026, 10, 31))
    received = {**opened(), "referral": {"received_on": "2026-10-30"}}
    assert case_visit(received, visited_on=date(2026, 10, 30))[0]["visited_on"] == "2026-10-30"
    case, _, plan = on_plan()
    with pytest.raises(LifecycleError, match=f"/v1/plans/{plan['_id']}/visits"):
        case_visit(case)
    with pytest.raises(LifecycleError, match="the case is plan ended: visits are recorded on an open case"):
        case_visit({**case, "status": "plan_ended"})


def test_a_significant_change_is_told_to_the_chair_once_never_before_it_was_noticed():
    _, _, plan = on_plan()
    args = dict(noticed_on=date(2026, 11, 21), description="A new adult at home", today=TODAY, recorded_by="sw-1")
    change, events = lc.record_significant_change(plan, chair_told_on=None, **args)
    assert [e[0] for e in events] == ["significant_change.recorded.v1"] and "description" not in events[0][2]
    with pytest.raises(InvalidStep, match="told_on"):
        lc.refer_significant_change(change, told_on=date(2026, 11, 20), today=TODAY, recorded_by="sw-1")
    told, [(etype, _, data)] = lc.refer_significant_change(
        change, told_on=date(2026, 11, 22), today=TODAY, recorded_by="sw-1"
    )
    assert etype == "significant_change.referred.v1" and data["told_on"] == "2026-11-22"
    with pytest.raises(LifecycleError, match="told of this change on 2026-11-22"):
        lc.refer_significant_change(told, told_on=date(2026, 11, 23), today=TODAY, recorded_by="sw-1")
    with pytest.raises(InvalidStep, match="description"):
        lc.record_significant_change(plan, chair_told_on=None, **{**args, "description": " "})
    _, both = lc.record_significant_change(plan, chair_told_on=date(2026, 11, 21), **args)
    assert [e[0] for e in both] == ["significant_change.recorded.v1", "significant_change.referred.v1"]


def test_escalation_routes_come_from_the_deployment():
    _, _, plan = on_plan()
    routes = [{"id": "reporter", "name": "Referral to the Children's Reporter", "recipient": {"name": "SCRA"}}]
    with pytest.raises(InvalidStep) as err:
        lc.escalate(
            plan, route="court", reason="not working", routes=routes, decided_on=TODAY, today=TODAY, raised_by="sw"
        )
    assert "reporter" in err.value.errors["route"][0]
    plan2, esc, events = lc.escalate(
        plan, route="reporter", reason="not working", routes=routes, decided_on=TODAY, today=TODAY, raised_by="sw"
    )
    assert plan2["escalations"] == [esc] and events[0][2]["recipient"] == {"name": "SCRA"}


def test_a_scheduled_conference_moves_to_another_date_and_keeps_its_history():
    case, conf = scheduled()
    moved, events = lc.reschedule_conference(
        case, conf, scheduled_for=date(2026, 11, 25), reason="chair unwell", today=TODAY, rescheduled_by="tm-1"
    )
    assert moved["scheduled_for"] == "2026-11-25" and moved["status"] == "scheduled"
    assert moved["reschedules"] == [
        {"from": "2026-11-20", "to": "2026-11-25", "reason": "chair unwell", "by": "tm-1", "on": TODAY.isoformat()}
    ]
    assert conf["scheduled_for"] == "2026-11-20" and "reschedules" not in conf  # the step is pure
    ((type_, subject, data),) = events
    assert type_ == "conference.rescheduled.v1" and subject == case["_id"]
    assert data == {
        "conference_id": conf["_id"],
        "case_id": case["_id"],
        "child_id": "child-1",
        "kind": "initial",
        "scheduled_for": "2026-11-25",
        "previous_scheduled_for": "2026-11-20",
        "reason": "chair unwell",
        "plan_id": None,
        "chair": None,
    }
    again, _ = lc.reschedule_conference(
        case, moved, scheduled_for=date(2026, 11, 21), reason="room free", today=TODAY, rescheduled_by="sw-1"
    )
    assert [(r["from"], r["to"]) for r in again["reschedules"]] == [
        ("2026-11-20", "2026-11-25"),
        ("2026-11-25", "2026-11-21"),
    ]


def test_a_conference_moves_by_the_same_date_rules_as_it_is_scheduled():
    case, conf = scheduled()
    with pytest.raises(InvalidStep) as err:  # before the strategy discussion of 2026-11-02
        lc.reschedule_conference(
            case, conf, scheduled_for=date(2026, 11, 1), reason="x", today=TODAY, rescheduled_by="tm"
        )
    assert "strategy discussion" in err.value.errors["scheduled_for"][0]
    with pytest.raises(InvalidStep) as err:
        lc.reschedule_conference(
            case, conf, scheduled_for=date(2026, 11, 20), reason="x", today=TODAY, rescheduled_by="tm"
        )
    assert "already scheduled for" in err.value.errors["scheduled_for"][0]
    with pytest.raises(InvalidStep) as err:
        lc.reschedule_conference(
            case, conf, scheduled_for=date(2026, 11, 21), reason="  ", today=TODAY, rescheduled_by="tm"
        )
    assert "reason" in err.value.errors
    case, _, plan = on_plan()
    case, review = scheduled("review", case, plan, on=date(2026, 11, 22))
    with pytest.raises(InvalidStep) as err:  # before the plan began on 2026-11-20
        lc.reschedule_conference(
            case, review, scheduled_for=date(2026, 11, 19), reason="x", today=TODAY, rescheduled_by="tm", plan=plan
        )
    assert "plan began" in err.value.errors["scheduled_for"][0]
    moved, events = lc.reschedule_conference(
        case, review, scheduled_for=date(2026, 12, 1), reason="x", today=TODAY, rescheduled_by="tm", plan=plan
    )
    assert moved["scheduled_for"] == "2026-12-01" and events[0][2]["plan_id"] == plan["_id"]
    with pytest.raises(LifecycleError, match="plan in force"):
        lc.reschedule_conference(
            case, review, scheduled_for=date(2026, 12, 1), reason="x", today=TODAY, rescheduled_by="tm"
        )


def test_only_a_scheduled_conference_moves_or_is_cancelled():
    case, held, _ = on_plan()
    with pytest.raises(LifecycleError, match="only a scheduled conference can be rescheduled"):
        lc.reschedule_conference(
            case, held, scheduled_for=date(2026, 11, 21), reason="x", today=TODAY, rescheduled_by="tm"
        )
    with pytest.raises(LifecycleError, match="only a scheduled conference can be cancelled"):
        lc.cancel_conference(case, held, reason="x", today=TODAY, cancelled_by="tm")
    case, conf = scheduled()
    case, cancelled, _ = lc.cancel_conference(case, conf, reason="x", today=TODAY, cancelled_by="tm")
    with pytest.raises(LifecycleError, match="cancelled"):
        lc.cancel_conference(case, cancelled, reason="x", today=TODAY, cancelled_by="tm")
    with pytest.raises(LifecycleError, match="cancelled"):
        lc.reschedule_conference(
            case, cancelled, scheduled_for=date(2026, 11, 21), reason="x", today=TODAY, rescheduled_by="tm"
        )
    with pytest.raises(LifecycleError, match="recorded once"):
        lc.hold_initial_conference(
            case,
            cancelled,
            held_on=TODAY,
            today=TODAY,
            plan_required=False,
            plan_content=None,
            decided_by="c",
            attendees=[],
        )


def test_a_cancelled_conference_makes_way_for_another():
    case, conf = scheduled()
    case, cancelled, events = lc.cancel_conference(
        case, conf, reason="family moved area", today=TODAY, cancelled_by="tm-1"
    )
    assert cancelled["status"] == "cancelled" and conf["status"] == "scheduled"
    assert cancelled["cancellation"] == {"reason": "family moved area", "by": "tm-1", "on": TODAY.isoformat()}
    assert case["conferences"] == [{"id": conf["_id"], "kind": "initial", "status": "cancelled"}]
    ((type_, subject, data),) = events
    assert type_ == "conference.cancelled.v1" and subject == case["_id"]
    assert data == {
        "conference_id": conf["_id"],
        "case_id": case["_id"],
        "child_id": "child-1",
        "kind": "initial",
        "scheduled_for": "2026-11-20",
        "reason": "family moved area",
        "plan_id": None,
        "chair": None,
    }
    with pytest.raises(InvalidStep) as err:
        lc.cancel_conference(case, conf, reason="", today=TODAY, cancelled_by="tm")
    assert "reason" in err.value.errors
    case, second = scheduled(case=case, on=date(2026, 11, 27))
    assert [c["status"] for c in case["conferences"]] == ["cancelled", "scheduled"]

    case, _, plan = on_plan()
    case, review = scheduled("review", case, plan, on=date(2026, 11, 22))
    case, _, events = lc.cancel_conference(case, review, reason="x", today=TODAY, cancelled_by="tm")
    assert events[0][2]["plan_id"] == plan["_id"] and events[0][2]["kind"] == "review"
    scheduled("review", case, plan, on=date(2026, 11, 23))  # no longer "already scheduled"


def test_the_first_core_group_date_of_the_outline_plan_is_in_the_held_event():
    case, conf = scheduled()
    _, _, _, events = lc.hold_initial_conference(
        case,
        conf,
        held_on=date(2026, 11, 20),
        today=TODAY,
        plan_required=True,
        plan_content={**OUTLINE, "first_core_group_on": "2026-11-27"},
        decided_by="chair-1",
        attendees=[],
    )
    assert events[0][2]["first_core_group_on"] == "2026-11-27"
    _, _, _, events = lc.hold_initial_conference(
        case,
        conf,
        held_on=date(2026, 11, 20),
        today=TODAY,
        plan_required=True,
        plan_content=OUTLINE,
        decided_by="c",
        attendees=[],
    )
    assert events[0][2]["first_core_group_on"] is None


def test_a_visit_event_names_the_case():
    _, _, plan = on_plan()
    _, events = visit(plan)
    assert events[0][2]["case_id"] == "case-1" and events[0][2]["plan_id"] == plan["_id"]
