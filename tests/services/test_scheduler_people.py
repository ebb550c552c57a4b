"""People, not ids, in the scheduler: each deadline names who must act
(``assignee``, the case's holder of the owner's role), the case's team and
the child; a worker finds their own work with ``assignee=me``; deadlines
follow an allocation, a new key worker and a chair; a child renamed is
renamed in their deadlines; explanations and calendar entries say it in
words a person reads, with no internal id."""

from __future__ import annotations

import re

import pytest
from icalendar import Calendar

from cpp_scheduler.app import create_app
from cpp_shared.contracts.catalogue import validate_event
from cpp_shared.messaging.events import new_event
from tests.helpers import bearer, deliver_event, hand_over

CASE, CHILD, PLAN, CONF, REVIEW = "case-1", "child-1", "plan-1", "conf-1", "conf-2"
SAM = {"user": "sw-1", "name": "Sam Social"}
RIA = {"user": "sw-2", "name": "Ria Worker"}
TIA = {"user": "tm-1", "name": "Tia Manager"}
CHRIS = {"user": "chair-1", "name": "Chris Chair"}
PAT = {"user": "chair-2", "name": "Pat Chair"}
ALEX = {"name": "Alex Jones", "date_of_birth": "2019-03-04", "nhs_number": "9434765919"}
HEX_ID = re.compile(r"\b[0-9a-f]{32}\b|\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")


@pytest.fixture
def app(make_settings):
    return create_app(make_settings("scheduler", CPP_PLUGINS="england"))


@pytest.fixture
def sctx(app):
    return app.extensions["cpp"]


@pytest.fixture
def api(app):
    return app.test_client()


@pytest.fixture
def as_(token_for):
    def make(who: dict, role: str = "social_worker") -> dict:
        return bearer(token_for(role, user=who["user"], name=who["name"]))

    return make


def staff_updated(ctx, who: dict, role: str, team: str | None = "Team A") -> None:
    deliver_event(
        ctx,
        "staff.updated.v1",
        {
            "user": who["user"],
            "name": who["name"],
            "email": None,
            "team": team,
            "role": role,
            "manager": None,
            "phone": None,
        },
        subject=who["user"],
    )


def open_case(ctx, *, child=ALEX, held_on="2026-12-15"):
    for who, role in (
        (SAM, "social_worker"),
        (RIA, "social_worker"),
        (TIA, "team_manager"),
        (CHRIS, "chair"),
        (PAT, "chair"),
    ):
        staff_updated(ctx, who, role)
    deliver_event(
        ctx,
        "case.opened.v1",
        {
            "case_id": CASE,
            "child_id": CHILD,
            "opened_at": "2026-12-14T10:00:00+00:00",
            "social_worker": SAM,
            "team_manager": TIA,
            "team": "Team A",
            "child": child,
        },
    )
    deliver_event(
        ctx,
        "strategy_discussion.held.v1",
        {
            "case_id": CASE,
            "child_id": CHILD,
            "strategy_discussion_id": "sd-1",
            "held_on": held_on,
            "initiated_enquiries": True,
            "child": child,
        },
    )


def hold_initial(ctx, held_on="2027-01-06", key_worker: dict | None = None):
    deliver_event(
        ctx,
        "conference.scheduled.v1",
        {
            "conference_id": CONF,
            "case_id": CASE,
            "child_id": CHILD,
            "kind": "initial",
            "scheduled_for": held_on,
            "plan_id": None,
            "chair": CHRIS,
            "child": ALEX,
        },
    )
    deliver_event(
        ctx,
        "conference.held.v1",
        {
            "conference_id": CONF,
            "case_id": CASE,
            "child_id": CHILD,
            "kind": "initial",
            "held_on": held_on,
            "plan_required": True,
            "first_core_group_on": None,
            "plan_id": PLAN,
            "chair": CHRIS,
            "child": ALEX,
        },
    )
    deliver_event(
        ctx,
        "plan.created.v1",
        {
            "plan_id": PLAN,
            "case_id": CASE,
            "child_id": CHILD,
            "status": "outline",
            "created_on": held_on,
            "key_worker": key_worker,
            "child": ALEX,
        },
        subject=PLAN,
    )


def deadlines(api, headers, **query):
    r = api.get("/v1/deadlines", query_string=query, headers=headers)
    assert r.status_code == 200, r.json
    return r.json["items"]


def by_rule(ctx) -> dict[tuple[str, str], dict]:
    return {(d["rule_id"], d["status"]): d for d in ctx.store.collection("deadlines").find({"case_id": CASE})}


def test_a_deadline_names_who_must_act_the_team_and_the_child(sctx, api, as_):
    open_case(sctx)
    [d] = deadlines(api, as_(SAM), case_id=CASE)
    assert d["rule_id"] == "initial-conference"
    assert d["owner"] == "social_worker" and d["assignee"] == SAM
    assert d["team"] == "Team A"
    assert d["child"] == ALEX
    [event] = [m.body for m in sctx.store.outbox_pending(100) if m.routing_key == "deadline.scheduled.v1"]
    assert event["data"]["assignee"] == SAM and event["data"]["team"] == "Team A"
    assert event["data"]["child"] == ALEX
    validate_event(event)  # the catalogue's DeadlineV1, with assignee, team and child


def test_a_worker_finds_their_own_deadlines_by_assignee_team_date_and_status(sctx, api, as_):
    open_case(sctx)
    hold_initial(sctx)
    mine = deadlines(api, as_(SAM), assignee="me")
    assert {d["rule_id"] for d in mine} == {"initial-conference", "first-core-group", "child-visit"}
    assert all(d["child"]["name"] == "Alex Jones" and d["assignee"]["name"] == "Sam Social" for d in mine)
    assert {d["rule_id"] for d in deadlines(api, as_(SAM), assignee="me", status="open")} == {
        "first-core-group",
        "child-visit",
    }
    chair = deadlines(api, as_(CHRIS, "chair"), assignee="me")
    assert [(d["rule_id"], d["assignee"]["name"]) for d in chair] == [("first-review-conference", "Chris Chair")]
    assert [d["rule_id"] for d in deadlines(api, as_(TIA, "team_manager"), assignee="chair-1")] == [
        "first-review-conference"
    ]
    assert deadlines(api, as_(RIA), assignee="me") == []
    team = deadlines(api, as_(TIA, "team_manager"), team="Team A", status="open")
    assert [d["rule_id"] for d in team][-1] == "first-review-conference"
    assert {d["rule_id"] for d in team} == {"first-core-group", "child-visit", "first-review-conference"}
    assert deadlines(api, as_(TIA, "team_manager"), team="Team B") == []
    soon = deadlines(api, as_(SAM), assignee="me", status="open", due_before="2027-01-31")
    assert [d["due_on"] for d in soon] == ["2027-01-20", "2027-01-20"]  # the first core group and visit
    assert deadlines(api, as_(SAM), assignee="me", due_before="2027-01-07") == []


def test_the_list_shows_the_names_people_go_by_now(sctx, api, as_):
    open_case(sctx)
    staff_updated(sctx, SAM | {"name": "Sam Social-Smith"}, "social_worker")
    [d] = deadlines(api, as_(SAM), assignee="me")
    assert d["assignee"] == {"user": "sw-1", "name": "Sam Social-Smith"}
    detail = api.get(f"/v1/deadlines/{d['id']}", headers=as_(SAM)).json
    assert detail["assignee"]["name"] == "Sam Social-Smith" and detail["child"]["name"] == "Alex Jones"


def test_an_allocation_moves_the_open_deadlines_to_the_new_social_worker(sctx, api, as_):
    open_case(sctx)
    hold_initial(sctx)
    deliver_event(
        sctx,
        "case.allocated.v1",
        {
            "case_id": CASE,
            "child_id": CHILD,
            "plan_id": PLAN,
            "social_worker": RIA,
            "team_manager": TIA,
            "team": "Team B",
            "child": ALEX,
        },
    )
    now = by_rule(sctx)
    assert now[("first-core-group", "pending")]["assignee"] == RIA
    assert now[("first-core-group", "pending")]["team"] == "Team B"
    assert now[("initial-conference", "met")]["assignee"] == SAM, "a step done stays with who did it"
    assert {d["rule_id"] for d in deadlines(api, as_(RIA), assignee="me")} == {"first-core-group", "child-visit"}
    assert [d["rule_id"] for d in deadlines(api, as_(SAM), assignee="me")] == ["initial-conference"]


def test_a_linked_key_worker_holds_the_social_workers_steps_once_there_is_a_plan(sctx, as_):
    open_case(sctx)
    hold_initial(sctx, key_worker=RIA | {"role": "social worker", "team": "Team A", "phone": None, "email": None})
    assert by_rule(sctx)[("first-core-group", "pending")]["assignee"] == RIA
    # the key worker changes in a later plan event: the open steps follow
    deliver_event(
        sctx,
        "plan.version_agreed.v1",
        {
            "plan_id": PLAN,
            "case_id": CASE,
            "child_id": CHILD,
            "status": "outline",
            "key_worker": SAM | {"role": "social worker"},
            "child": ALEX,
        },
        subject=PLAN,
    )
    assert by_rule(sctx)[("first-core-group", "pending")]["assignee"] == SAM
    # a key worker recorded as free text, not linked to staff: the case's social worker acts
    deliver_event(
        sctx,
        "plan.version_agreed.v1",
        {
            "plan_id": PLAN,
            "case_id": CASE,
            "child_id": CHILD,
            "status": "outline",
            "key_worker": {"user": None, "name": "Someone Unlinked"},
            "child": ALEX,
        },
        subject=PLAN,
    )
    assert by_rule(sctx)[("first-core-group", "pending")]["assignee"] == SAM


def test_a_review_conference_with_its_own_chair_takes_the_review_deadline(sctx, as_):
    open_case(sctx)
    hold_initial(sctx)
    assert by_rule(sctx)[("first-review-conference", "pending")]["assignee"] == CHRIS
    deliver_event(
        sctx,
        "conference.scheduled.v1",
        {
            "conference_id": REVIEW,
            "case_id": CASE,
            "child_id": CHILD,
            "kind": "review",
            "scheduled_for": "2027-03-30",
            "plan_id": PLAN,
            "chair": PAT,
            "child": ALEX,
        },
    )
    assert by_rule(sctx)[("first-review-conference", "pending")]["assignee"] == PAT
    deliver_event(
        sctx,
        "conference.rescheduled.v1",
        {
            "conference_id": REVIEW,
            "case_id": CASE,
            "child_id": CHILD,
            "kind": "review",
            "scheduled_for": "2027-03-31",
            "previous_scheduled_for": "2027-03-30",
            "reason": "room",
            "plan_id": PLAN,
            "chair": CHRIS,
            "child": ALEX,
        },
    )
    assert by_rule(sctx)[("first-review-conference", "pending")]["assignee"] == CHRIS


def test_a_conference_without_a_chair_leaves_its_chairs_deadlines_unassigned(sctx):
    open_case(sctx)
    deliver_event(
        sctx,
        "conference.held.v1",
        {
            "conference_id": CONF,
            "case_id": CASE,
            "child_id": CHILD,
            "kind": "initial",
            "held_on": "2027-01-06",
            "plan_required": True,
            "plan_id": PLAN,
            "chair": None,
        },
    )
    review = by_rule(sctx)[("first-review-conference", "pending")]
    assert review["assignee"] is None and review["team"] == "Team A"


def test_the_team_managers_steps_go_to_the_cases_team_manager(make_settings):
    ctx = create_app(make_settings("scheduler", CPP_PLUGINS="england,greenwich")).extensions["cpp"]
    open_case(ctx)
    hold_initial(ctx)
    two_years = by_rule(ctx)[("plan-two-years", "pending")]
    assert two_years["owner"] == "team_manager" and two_years["assignee"] == TIA


def test_a_child_renamed_is_renamed_in_their_open_deadlines(sctx, api, as_):
    open_case(sctx)
    hold_initial(sctx)
    renamed = ALEX | {"name": "Alex Smith"}
    deliver_event(sctx, "child.updated.v1", {"child_id": CHILD, "version": 2, "child": renamed}, subject=CHILD)
    now = by_rule(sctx)
    assert now[("first-core-group", "pending")]["child"]["name"] == "Alex Smith"
    assert now[("initial-conference", "met")]["child"]["name"] == "Alex Jones", "a closed deadline is left as it was"
    # every list shows the child as the record holds them now
    assert {d["child"]["name"] for d in deadlines(api, as_(SAM), case_id=CASE)} == {"Alex Smith"}
    # an event made before the change, arriving after it, does not undo it
    old = new_event(
        "core_group.held.v1",
        source="/services/plans",
        subject=CASE,
        authority="ENG",
        data={
            "meeting_id": "cg-1",
            "case_id": CASE,
            "child_id": CHILD,
            "plan_id": PLAN,
            "held_on": "2027-01-18",
            "child": ALEX,
        },
    )
    old["time"] = "2020-01-01T00:00:00+00:00"
    hand_over(sctx, old)
    assert by_rule(sctx)[("first-core-group", "met")]["child"]["name"] == "Alex Smith"


def test_a_child_registered_before_their_case_is_named_in_its_deadlines(sctx):
    deliver_event(sctx, "child.registered.v1", {"child_id": CHILD, "child": ALEX}, subject=CHILD)
    deliver_event(
        sctx,
        "strategy_discussion.held.v1",
        {
            "case_id": CASE,
            "child_id": CHILD,
            "strategy_discussion_id": "sd-1",
            "held_on": "2026-12-15",
            "initiated_enquiries": True,
        },
    )
    [d] = sctx.store.collection("deadlines").find({"case_id": CASE})
    assert d["child"] == ALEX and d["assignee"] is None


def test_the_explanation_of_a_three_month_rule_says_months(sctx, api, as_):
    open_case(sctx)
    hold_initial(sctx)
    review = by_rule(sctx)[("first-review-conference", "pending")]
    exp = api.get(f"/v1/deadlines/{review['_id']}", headers=as_(SAM)).json["explanation"]
    assert exp["timescale"] == "3 months after the initial or transfer-in conference"
    assert exp["summary"] == "3 months after 6 January 2027 is 6 April 2027."
    core = by_rule(sctx)[("first-core-group", "pending")]
    exp = api.get(f"/v1/deadlines/{core['_id']}", headers=as_(SAM)).json["explanation"]
    assert exp["summary"].startswith(
        "10 working days after 6 January 2027 is 20 January 2027; days not counted: 9 January 2027 (Saturday)"
    )


def test_a_month_rule_landing_on_a_closed_day_says_so_in_months(sctx, api, as_):
    open_case(sctx, held_on="2026-11-02")
    # 3 months after Sunday... held on Monday 30 November 2026: 28 February 2027 is a Sunday
    hold_initial(sctx, held_on="2026-11-30")
    review = by_rule(sctx)[("first-review-conference", "pending")]
    summary = api.get(f"/v1/deadlines/{review['_id']}", headers=as_(SAM)).json["explanation"]["summary"]
    assert summary == (
        "3 months after 30 November 2026 is 28 February 2027, not a working day (28 February 2027 "
        "(Sunday), 27 February 2027 (Saturday)), so it is due the working day before: 26 February 2027."
    )
    assert "months after" in summary and "90 months" not in summary


def test_the_plan_calendar_names_the_child_the_step_and_the_person_without_ids(sctx, api, as_):
    open_case(sctx)
    hold_initial(sctx)
    r = api.get(f"/v1/plans/{PLAN}/calendar.ics", headers=as_(SAM))
    assert r.status_code == 200
    cal = Calendar.from_ical(r.data)
    assert str(cal["x-wr-calname"]) == "Child protection plan for Alex Jones (ENG)"
    events = {str(e["uid"]): e for e in cal.walk("VEVENT")}
    meeting = events[f"meeting-{CONF}@cpp"]
    assert str(meeting["summary"]) == "Initial child protection conference: Alex Jones (held)"
    assert "Chair: Chris Chair" in str(meeting["description"])
    core = next(e for e in events.values() if str(e["summary"]).startswith("Due: First core group meeting"))
    assert str(core["summary"]) == "Due: First core group meeting: Alex Jones"
    description = str(core["description"])
    assert description.startswith("First core group meeting for Alex Jones: due 20 January 2027.")
    assert "Who: Sam Social (social worker)" in description
    met = next(e for e in events.values() if str(e["summary"]).startswith("Met: "))
    assert "Done on 6 January 2027" in str(met["description"])
    read = [str(cal["x-wr-calname"])]
    for e in cal.walk("VEVENT"):
        read += [str(e["summary"]), str(e.get("description", ""))]
        read += [str(a["description"]) for a in e.walk("VALARM")]
    real_ids = {d["_id"] for d in sctx.store.collection("deadlines").find({})}
    for text in read:
        assert not HEX_ID.search(text), text
        assert not any(i in text for i in (CASE, CHILD, PLAN, CONF, *real_ids)), text
        assert "9434765919" not in text and "2019-03-04" not in text, "no identifiers on a phone's calendar"
    # UIDs keep the ids calendar programs match on
    assert any(HEX_ID.search(str(e["uid"])) for e in cal.walk("VEVENT"))


def test_an_old_deadline_without_people_is_assigned_at_the_cases_next_event(sctx):
    open_case(sctx)
    coll = sctx.store.collection("deadlines")
    [d] = coll.find({"case_id": CASE})
    coll.update_one({"_id": d["_id"]}, {"$unset": {"assignee": "", "team": "", "child": ""}})
    assert "assignee" not in coll.find_one({"_id": d["_id"]})
    deliver_event(
        sctx,
        "enquiry.completed.v1",
        {"case_id": CASE, "child_id": CHILD, "completed_on": "2026-12-20", "conference_required": True},
    )
    again = coll.find_one({"_id": d["_id"]})
    assert again["assignee"] == SAM and again["child"] == ALEX and again["team"] == "Team A"


def test_a_days_count_stored_before_counts_kept_their_unit_says_days():
    from cpp_scheduler.domain import words

    old = {
        "anchor": "2026-05-14",
        "due": "2026-08-14",
        "counted": 92,
        "unit": "months",
        "direction": "after",
        "skipped": [],
        "rolled_back_from": None,
    }
    assert words.computation(old) == "92 calendar days after 14 May 2026 is 14 August 2026"
    assert words.computation({**old, "amount": 3}) == "3 months after 14 May 2026 is 14 August 2026"
    assert (
        words.computation({**old, "unit": "weeks", "amount": 1, "counted": 7, "due": "2026-05-21"})
        == "1 week after 14 May 2026 is 21 May 2026"
    )
    assert (
        words.computation(
            {
                "anchor": "2026-05-14",
                "due": "2026-05-15",
                "counted": 1,
                "unit": "working_days",
                "direction": "after",
                "skipped": [],
            }
        )
        == "1 working day after 14 May 2026 is 15 May 2026; no day in between is a closed day"
    )
