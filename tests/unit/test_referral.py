"""The referral and the assessment before the strategy discussion: the order
of the steps and their dates, alone (no HTTP, no store)."""

from datetime import date

import pytest

from cpp_plans.domain import lifecycle as lc
from cpp_plans.domain import referral as rf
from cpp_plans.domain.lifecycle import InvalidStep, LifecycleError
from cpp_shared.contracts import catalogue

TODAY = date(2026, 11, 23)
RECEIVED = date(2026, 11, 2)
MANAGER = {"user": "tm-1", "name": "Terry Manager"}


def opened():
    return lc.open_case("case-1", "child-1", "ENG", "2026-11-01T09:00:00+00:00", "sw-1")[0]


def referred(received_on=RECEIVED):
    case, events = rf.record_referral(
        opened(), received_on=received_on, source="school", summary="bruise seen", today=TODAY, recorded_by="sw-1"
    )
    assert events == [
        (
            "referral.received.v1",
            "case-1",
            {
                "case_id": "case-1",
                "child_id": "child-1",
                "received_on": "2026-11-02",
                "source": "school",
                "source_code": None,
            },
        )
    ]
    return case


def decided(decision="assessment", decided_on=date(2026, 11, 3)):
    case, events = rf.decide_referral(
        referred(), decided_on=decided_on, decision=decision, reason="needs a look", today=TODAY, decided_by="tm-1"
    )
    assert events[0][0] == "referral.decided.v1"
    assert events[0][2] | {"received_on": "2026-11-02", "decision": decision} == events[0][2]
    return case


def started(case=None, started_on=date(2026, 11, 4)):
    case, events = rf.start_assessment(
        case or decided(),
        started_on=started_on,
        factors=["domestic_abuse", "housing", "domestic_abuse"],
        other_factors="an older brother's friends",
        today=TODAY,
        started_by="sw-1",
    )
    assert events[0][0] == "assessment.started.v1" and events[0][2]["started_on"] == started_on.isoformat()
    assert case["assessment"]["factors"] == ["domestic_abuse", "housing"]
    return case


def complete(case, completed_on=date(2026, 11, 20), authoriser=MANAGER, roles=("team_manager",)):
    return rf.complete_assessment(
        case,
        completed_on=completed_on,
        outcome="strategy_discussion",
        summary=None,
        authoriser=authoriser,
        authoriser_roles=list(roles),
        today=TODAY,
        recorded_by="sw-1",
    )


def test_a_referral_its_decision_and_the_assessment_in_order():
    case, events = complete(started())
    assert case["referral"]["decision"]["decision"] == "assessment"
    assert case["assessment"]["completion"]["authorised_by"] == MANAGER
    assert events == [
        (
            "assessment.completed.v1",
            "case-1",
            {
                "case_id": "case-1",
                "child_id": "child-1",
                "received_on": "2026-11-02",
                "started_on": "2026-11-04",
                "completed_on": "2026-11-20",
                "outcome": "strategy_discussion",
                "authorised_by": MANAGER,
            },
        )
    ]


def test_a_decision_needs_the_referral_and_is_made_once():
    with pytest.raises(LifecycleError, match="record the referral first"):
        rf.decide_referral(
            opened(), decided_on=RECEIVED, decision="assessment", reason="r", today=TODAY, decided_by="tm-1"
        )
    with pytest.raises(LifecycleError, match="decided on 2026-11-03"):
        rf.decide_referral(
            decided(), decided_on=RECEIVED, decision="assessment", reason="r", today=TODAY, decided_by="tm-1"
        )


def test_a_referral_is_recorded_once_and_before_the_strategy_discussion():
    with pytest.raises(LifecycleError, match="recorded already"):
        rf.record_referral(
            referred(), received_on=RECEIVED, source="police", summary=None, today=TODAY, recorded_by="sw-1"
        )
    discussed, _, _ = lc.record_strategy_discussion(
        opened(), held_on=RECEIVED, today=TODAY, initiated_enquiries=True, attendees=[], notes=None, recorded_by="s"
    )
    with pytest.raises(LifecycleError, match="before the case's strategy discussion"):
        rf.record_referral(discussed, received_on=RECEIVED, source="police", summary=None, today=TODAY, recorded_by="s")


@pytest.mark.parametrize(
    "step, field, message",
    [
        (lambda: referred(received_on=date(2026, 11, 24)), "received_on", "in the future"),
        (lambda: decided(decided_on=date(2026, 11, 1)), "decided_on", "before the referral was received on 2026-11-02"),
        (lambda: decided(decided_on=date(2026, 11, 24)), "decided_on", "in the future"),
        (lambda: started(started_on=date(2026, 11, 1)), "started_on", "before the referral was received"),
        (lambda: complete(started(), completed_on=date(2026, 11, 3)), "completed_on", "before the assessment started"),
        (lambda: complete(started(), completed_on=date(2026, 11, 24)), "completed_on", "in the future"),
    ],
)
def test_no_date_in_the_future_or_before_the_referral(step, field, message):
    with pytest.raises(InvalidStep) as refused:
        step()
    assert list(refused.value.errors) == [field] and message in refused.value.errors[field][0]


@pytest.mark.parametrize("decision", ["no_further_action", "early_help", "other"])
def test_an_assessment_follows_a_decision_to_assess_only(decision):
    with pytest.raises(LifecycleError, match="no assessment follows"):
        started(decided(decision))
    with pytest.raises(LifecycleError, match="record the referral and its decision"):
        started(referred())


def test_a_completion_needs_the_start_and_comes_once():
    with pytest.raises(LifecycleError, match="start the assessment first"):
        complete(decided())
    done, _ = complete(started())
    with pytest.raises(LifecycleError, match="completed on 2026-11-20"):
        complete(done)


@pytest.mark.parametrize(
    "authoriser, roles", [(None, ()), ({"user": "sw-2", "name": "Sam"}, ("social_worker",)), (MANAGER, ("chair",))]
)
def test_only_a_team_manager_authorises_an_assessment(authoriser, roles):
    with pytest.raises(InvalidStep) as refused:
        complete(started(), authoriser=authoriser, roles=roles)
    assert refused.value.errors == {"authorised_by": ["an assessment is authorised by a team manager"]}


def test_unknown_factors_sources_and_decisions_are_refused_by_field():
    with pytest.raises(InvalidStep) as refused:
        rf.start_assessment(
            decided(), started_on=RECEIVED, factors=["astrology"], other_factors=None, today=TODAY, started_by="s"
        )
    assert list(refused.value.errors) == ["factors"]
    with pytest.raises(InvalidStep) as refused:
        rf.record_referral(opened(), received_on=RECEIVED, source="rumour", summary=None, today=TODAY, recorded_by="s")
    assert list(refused.value.errors) == ["source"]
    with pytest.raises(InvalidStep) as refused:
        rf.decide_referral(
            referred(), decided_on=RECEIVED, decision="assessment", reason=" ", today=TODAY, decided_by="s"
        )
    assert list(refused.value.errors) == ["reason"]


def test_a_strategy_discussion_follows_a_decision_to_hold_one_or_an_assessment():
    rf.check_strategy_discussion_may_follow(opened())  # a case without a referral goes straight to it
    rf.check_strategy_discussion_may_follow(decided("strategy_discussion"))
    rf.check_strategy_discussion_may_follow(started())
    with pytest.raises(LifecycleError, match="not decided yet"):
        rf.check_strategy_discussion_may_follow(referred())
    with pytest.raises(LifecycleError, match="decided as early help"):
        rf.check_strategy_discussion_may_follow(decided("early_help"))
    with pytest.raises(LifecycleError, match="decided as assessment"):
        rf.check_strategy_discussion_may_follow(decided("assessment"))


def test_the_domains_lists_are_the_event_catalogues():
    assert rf.SOURCES == catalogue.REFERRAL_SOURCES
    assert rf.DECISIONS == catalogue.REFERRAL_DECISIONS
    assert rf.OUTCOMES == catalogue.ASSESSMENT_OUTCOMES
