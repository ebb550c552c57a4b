"""Closing a case with the census's reason, and a referral's census source:
the rules alone (no HTTP, no store)."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cpp_plans.domain import census, closure
from cpp_plans.domain import lifecycle as lc
from cpp_plans.domain import referral as rf
from cpp_plans.domain.lifecycle import InvalidStep, LifecycleError
from cpp_shared.contracts import catalogue

TODAY = date(2026, 11, 23)
BY = {"user": "sw-1", "name": "Sam Social"}


def opened():
    return lc.open_case("case-1", "child-1", "ENG", "2026-11-01T09:00:00+00:00", "sw-1")[0]


def close(case, **given):
    return closure.close_case(
        case,
        **{"closed_on": date(2026, 11, 20), "reason": "RC7", "notes": " Done. ", "today": TODAY, "by": BY, **given},
    )


def test_a_case_closes_once_with_its_day_reason_notes_and_who():
    case, events = close(opened())
    assert case["status"] == "closed"
    assert case["closure"] == {"on": "2026-11-20", "reason": "RC7", "notes": "Done.", "by": BY}
    assert lc.with_open_key(case).get("open_key") is None  # no longer open: the child may have a new case
    assert events == [
        (
            "case.closed.v1",
            "case-1",
            {"case_id": "case-1", "child_id": "child-1", "closed_on": "2026-11-20", "reason": "RC7", "by": BY},
        )
    ]
    catalogue.CATALOGUE["case.closed.v1"].schema().load(events[0][2])
    with pytest.raises(LifecycleError, match="closed on 2026-11-20"):
        close(case)


def test_a_case_closed_otherwise_is_not_closed_again():
    case = {**opened(), "status": "closed"}  # a plan ended otherwise: no closure record
    with pytest.raises(LifecycleError, match="its plan ended"):
        close(case)
    case = {**opened(), "status": "closed", "closure": {"on": "2026-11-04", "reason": "referral_early_help"}}
    with pytest.raises(LifecycleError, match="closed on 2026-11-04"):
        close(case)
    closure.check_not_closed(case)  # its steps say why themselves (the referral's decision)


def test_steps_on_a_case_closed_by_its_closure_step_are_refused():
    case, _ = close(opened())
    with pytest.raises(LifecycleError, match=r"closed on 2026-11-20 \(RC7: Services ceased"):
        closure.check_not_closed(case)
    closure.check_not_closed(opened())


def test_not_while_a_plan_is_in_force_or_a_conference_is_scheduled():
    case = {**opened(), "status": "on_plan", "plan_id": "p1"}
    with pytest.raises(LifecycleError, match="plan in force"):
        close(case, plan={"_id": "p1", "status": "active", "created_on": "2026-11-05"})
    ended = {"_id": "p1", "status": "ended", "created_on": "2026-11-05", "ended": {"on": "2026-11-10"}}
    assert close({**case, "status": "plan_ended"}, plan=ended)[0]["status"] == "closed"
    pending = {
        **opened(),
        "status": "conference_pending",
        "conferences": [{"id": "k1", "kind": "initial", "status": "scheduled"}],
    }
    conference = {"_id": "k1", "status": "scheduled", "scheduled_for": "2026-11-30"}
    with pytest.raises(LifecycleError, match="conference is scheduled for 2026-11-30"):
        close(pending, conferences=[conference])
    cancelled = {**pending, "conferences": [{"id": "k1", "kind": "initial", "status": "cancelled"}]}
    assert close(cancelled, conferences=[{**conference, "status": "cancelled"}])[0]["status"] == "closed"


def test_the_day_is_not_in_the_future_nor_before_the_latest_step():
    with pytest.raises(InvalidStep) as future:
        close(opened(), closed_on=date(2026, 11, 24))
    assert "in the future" in future.value.errors["closed_on"][0]
    case = {
        **opened(),
        "status": "child_in_need",
        "strategy_discussions": [{"held_on": "2026-11-03"}],
        "enquiry_outcome": {"completed_on": "2026-11-10"},
        "step_down": {"decided_on": "2026-11-10"},
    }
    cin = [{"created_on": "2026-11-15"}]
    with pytest.raises(InvalidStep) as early:
        close(case, closed_on=date(2026, 11, 14), child_in_need_plans=cin)
    assert early.value.errors["closed_on"] == [
        "is before the case's latest step: a child in need plan was made on 2026-11-15"
    ]
    assert close(case, closed_on=date(2026, 11, 15), child_in_need_plans=cin)[0]["closure"]["on"] == "2026-11-15"
    held = [{"status": "held", "outcome": {"held_on": "2026-11-18"}}]
    with pytest.raises(InvalidStep, match="a conference was held on 2026-11-18"):
        close(case, closed_on=date(2026, 11, 17), conferences=held)


@pytest.mark.parametrize("reason", ["RC0", "rc7", "", "referral_no_further_action"])
def test_the_reason_is_one_of_the_census_codes(reason):
    with pytest.raises(InvalidStep) as refused:
        close(opened(), reason=reason)
    assert "RC1" in refused.value.errors["reason"][0]


def test_the_lists_match_the_catalogue_and_the_census_code_lists():
    """The plans domain keeps its own copy (it imports only the standard library), as the web application keeps
    its shorter labels: each is the census's list (cpp_shared.census_codes, checked against the DfE's schema)."""
    from cpp_shared import census_codes
    from cpp_web import referral as web_referral

    assert tuple(census.CLOSURE_REASONS) == catalogue.CLOSURE_REASONS == tuple(census_codes.CLOSURE_REASON)
    assert dict(census.CLOSURE_REASONS) == dict(census_codes.CLOSURE_REASON)
    assert set(census.REFERRAL_SOURCES) == set(catalogue.REFERRAL_SOURCE_CODES) == set(census_codes.REFERRAL_SOURCE)
    assert set(census.SOURCE_CODES) == set(rf.SOURCES)
    assert list(web_referral.CLOSURE_REASONS) == list(census_codes.CLOSURE_REASON)
    web_codes = [code for codes in web_referral.CENSUS_SOURCES.values() for code in codes]
    assert sorted(web_codes) == sorted(census_codes.REFERRAL_SOURCE)
    assert {s: set(c) for s, c in web_referral.CENSUS_SOURCES.items()} == {
        s: set(c) for s, c in census.SOURCE_CODES.items()
    }


def test_every_census_source_belongs_to_exactly_one_coarse_source():
    owners = {
        code: [s for s, codes in census.SOURCE_CODES.items() if code in codes] for code in census.REFERRAL_SOURCES
    }
    assert all(len(found) == 1 for found in owners.values()), owners


@given(source=st.sampled_from(rf.SOURCES), code=st.sampled_from(list(census.REFERRAL_SOURCES)))
def test_a_census_source_is_taken_with_the_source_that_allows_it_only(source, code):
    case = opened()
    if code in census.SOURCE_CODES[source]:
        after, events = rf.record_referral(
            case, received_on=TODAY, source=source, source_code=code, summary=None, today=TODAY, recorded_by="sw-1"
        )
        assert after["referral"]["source_code"] == code and events[0][2]["source_code"] == code
        catalogue.CATALOGUE["referral.received.v1"].schema().load(events[0][2])
    else:
        with pytest.raises(InvalidStep) as refused:
            rf.record_referral(
                case, received_on=TODAY, source=source, source_code=code, summary=None, today=TODAY, recorded_by="sw-1"
            )
        message = refused.value.errors["source_code"][0]
        assert all(allowed in message for allowed in census.SOURCE_CODES[source])
        assert case.get("referral") is None
