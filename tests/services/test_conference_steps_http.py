"""A conference's steps around the meeting, over HTTP: the invitations sent (with the notice they gave), a
meeting that was not quorate and is reconvened (If-Match, as any move), and the record issued once the conference
is held. Each refusal names its field or says why, and writes nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.helpers import bearer
from tests.services.test_conferences_http import OUTLINE, chair, events_of, pending_case, written  # noqa: F401

TODAY = date.today()


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


def scheduled(plans, sw, on: int = 10) -> tuple[str, str]:
    """A case waiting for its initial conference, the conference scheduled ``on`` days from today."""
    case_id = pending_case(plans, sw)
    resp = plans.post(
        f"/v1/cases/{case_id}/conferences", json={"kind": "initial", "scheduled_for": day(on)}, headers=sw
    )
    assert resp.status_code == 201, resp.json
    return case_id, resp.json["id"]


def of_type(store, event_type: str) -> list[dict]:
    return [data for rk, _, data in events_of(store) if rk == event_type]


# --- invitations -------------------------------------------------------------


def test_invitations_sent_are_kept_with_the_notice_they_gave(plans, plans_store, sw):
    _, conf_id = scheduled(plans, sw, on=10)
    resp = plans.post(f"/v1/conferences/{conf_id}/invitations", json={"sent_on": day(-1)}, headers=sw)
    assert resp.status_code == 201, resp.json
    assert resp.headers["ETag"] == '"2"'
    [sending] = resp.json["invitations"]
    assert sending["sent_on"] == day(-1) and sending["for"] == day(10)
    assert sending["notice_days"] == 11  # from yesterday to ten days on
    assert sending["by"] == "sw-1"
    [event] = of_type(plans_store, "conference.invitations_sent.v1")
    assert event["conference_id"] == conf_id and event["kind"] == "initial"
    assert (event["sent_on"], event["scheduled_for"], event["notice_days"]) == (day(-1), day(10), 11)


def test_a_conference_moved_after_its_invitations_gets_them_again(plans, sw):
    _, conf_id = scheduled(plans, sw, on=10)
    sent = plans.post(f"/v1/conferences/{conf_id}/invitations", json={"sent_on": day(0)}, headers=sw)
    moved = plans.patch(
        f"/v1/conferences/{conf_id}",
        json={"scheduled_for": day(3), "reason": "The chair is on leave."},
        headers={**sw, "If-Match": sent.headers["ETag"]},
    )
    assert moved.status_code == 200, moved.json
    again = plans.post(f"/v1/conferences/{conf_id}/invitations", json={"sent_on": day(0)}, headers=sw)
    assert [(s["for"], s["notice_days"]) for s in again.json["invitations"]] == [(day(10), 10), (day(3), 3)]


@pytest.mark.parametrize(
    "sent_on, message",
    [(1, "is in the future"), (None, "after the day of the conference")],
)
def test_invitations_in_the_future_or_after_the_conference_are_422_and_nothing_written(
    plans, plans_store, sw, sent_on, message
):
    _, conf_id = scheduled(plans, sw, on=-2 if sent_on is None else 10)
    before = written(plans_store)
    resp = plans.post(f"/v1/conferences/{conf_id}/invitations", json={"sent_on": day(sent_on or 0)}, headers=sw)
    assert resp.status_code == 422, resp.json
    assert message in " ".join(resp.json["errors"]["json"]["sent_on"])
    assert written(plans_store) == before


def test_invitations_to_a_cancelled_conference_are_409(plans, plans_store, sw):
    _, conf_id = scheduled(plans, sw)
    plans.post(f"/v1/conferences/{conf_id}/cancellation", json={"reason": "Enquiries reopened."}, headers=sw)
    before = written(plans_store)
    resp = plans.post(f"/v1/conferences/{conf_id}/invitations", json={"sent_on": day(0)}, headers=sw)
    assert resp.status_code == 409
    assert "cancelled" in resp.json["message"]
    assert written(plans_store) == before


# --- a meeting that was not quorate ----------------------------------------------


def test_an_inquorate_meeting_is_kept_and_the_conference_reconvened(plans, plans_store, sw):
    _, conf_id = scheduled(plans, sw, on=0)
    tag = plans.get(f"/v1/conferences/{conf_id}", headers=sw).headers["ETag"]
    body = {"met_on": day(0), "reason": "Neither police nor health could attend.", "scheduled_for": day(7)}
    resp = plans.post(f"/v1/conferences/{conf_id}/inquorate-meetings", json=body, headers={**sw, "If-Match": tag})
    assert resp.status_code == 200, resp.json
    conference = resp.json
    assert conference["status"] == "scheduled" and conference["scheduled_for"] == day(7)
    [meeting] = conference["inquorate"]
    assert meeting["met_on"] == day(0) and meeting["reconvened_for"] == day(7)
    assert meeting["reason"] == body["reason"]
    [move] = conference["reschedules"]
    assert (move["from"], move["to"]) == (day(0), day(7))
    assert move["reason"] == f"not quorate on {day(0)}: {body['reason']}"
    types = [rk for rk, _, _ in events_of(plans_store) if rk.startswith("conference.")]
    assert types[-2:] == ["conference.inquorate.v1", "conference.rescheduled.v1"]
    [event] = of_type(plans_store, "conference.inquorate.v1")
    assert (event["met_on"], event["scheduled_for"], event["plan_id"]) == (day(0), day(7), None)


def test_an_inquorate_meeting_needs_if_match_as_any_move(plans, plans_store, sw):
    _, conf_id = scheduled(plans, sw, on=0)
    body = {"met_on": day(0), "reason": "No police.", "scheduled_for": day(7)}
    before = written(plans_store)
    missing = plans.post(f"/v1/conferences/{conf_id}/inquorate-meetings", json=body, headers=sw)
    assert missing.status_code == 428
    stale = plans.post(f"/v1/conferences/{conf_id}/inquorate-meetings", json=body, headers={**sw, "If-Match": '"9"'})
    assert stale.status_code == 412
    assert written(plans_store) == before


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"scheduled_for": 0}, "scheduled_for", "must be after the meeting that was not quorate"),
        ({"met_on": 1, "scheduled_for": 5}, "met_on", "is in the future"),
        ({"reason": "  "}, "reason", "Must not be blank."),
    ],
)
def test_a_bad_inquorate_meeting_is_422_with_the_field_and_nothing_written(
    plans, plans_store, sw, change, field, message
):
    _, conf_id = scheduled(plans, sw, on=0)
    tag = plans.get(f"/v1/conferences/{conf_id}", headers=sw).headers["ETag"]
    body = {"met_on": day(0), "reason": "No police.", "scheduled_for": day(7)}
    body.update({k: day(v) if isinstance(v, int) else v for k, v in change.items()})
    before = written(plans_store)
    resp = plans.post(f"/v1/conferences/{conf_id}/inquorate-meetings", json=body, headers={**sw, "If-Match": tag})
    assert resp.status_code == 422, resp.json
    assert message in " ".join(resp.json["errors"]["json"][field])
    assert written(plans_store) == before


# --- the record issued ------------------------------------------------------------


def held(plans, sw, chair, *, on: int = -3) -> tuple[str, str]:
    case_id, conf_id = scheduled(plans, sw, on=on)
    body = {"held_on": day(on), "plan_required": True, "outline_plan": OUTLINE}
    resp = plans.post(f"/v1/conferences/{conf_id}/outcome", json=body, headers=chair)
    assert resp.status_code == 200, resp.json
    return conf_id, resp.json["plan"]["id"]


def test_the_record_of_a_held_conference_is_issued_once(plans, plans_store, sw, chair):
    conf_id, plan_id = held(plans, sw, chair)
    resp = plans.post(f"/v1/conferences/{conf_id}/record-issue", json={"issued_on": day(-1)}, headers=chair)
    assert resp.status_code == 201, resp.json
    assert resp.json["record_issued"]["on"] == day(-1) and resp.json["record_issued"]["by"] == "chair-1"
    [event] = of_type(plans_store, "conference.record_issued.v1")
    assert (event["held_on"], event["issued_on"], event["plan_id"]) == (day(-3), day(-1), plan_id)
    before = written(plans_store)
    again = plans.post(f"/v1/conferences/{conf_id}/record-issue", json={"issued_on": day(0)}, headers=chair)
    assert again.status_code == 409
    assert f"was issued on {day(-1)}" in again.json["message"]
    assert written(plans_store) == before


def test_a_record_before_the_conference_is_held_is_409(plans, plans_store, sw, chair):
    _, conf_id = scheduled(plans, sw, on=0)
    before = written(plans_store)
    resp = plans.post(f"/v1/conferences/{conf_id}/record-issue", json={"issued_on": day(0)}, headers=chair)
    assert resp.status_code == 409
    assert "once it has been held" in resp.json["message"]
    assert written(plans_store) == before


def test_a_record_issued_before_the_conference_was_held_is_422_and_nothing_written(plans, plans_store, sw, chair):
    conf_id, _ = held(plans, sw, chair, on=-3)
    before = written(plans_store)
    resp = plans.post(f"/v1/conferences/{conf_id}/record-issue", json={"issued_on": day(-4)}, headers=chair)
    assert resp.status_code == 422
    assert f"is before the conference was held, on {day(-3)}" in resp.json["errors"]["json"]["issued_on"][0]
    assert written(plans_store) == before


@pytest.mark.parametrize("role", ["partner", "auditor"])
def test_only_those_who_schedule_conferences_record_these_steps(plans, plans_store, sw, token_for, role):
    _, conf_id = scheduled(plans, sw)
    other = bearer(token_for(role))
    before = written(plans_store)
    for path, body in (("invitations", {"sent_on": day(0)}), ("record-issue", {"issued_on": day(0)})):
        assert plans.post(f"/v1/conferences/{conf_id}/{path}", json=body, headers=other).status_code == 403
    assert written(plans_store) == before
