"""A plan's rhythm walked over the plans API with the scheduler (and notify) following: visits due at the plan's
frequency from the plan's start and from each visit at which the child was seen, a missed one overdue at the tick,
the frequency changed by a new agreed version, a rhythm looser than the deployment's limit refused; visits in a row
without the child seen alone flagged to the key worker and the team manager; Guernsey's core group after a review."""

from __future__ import annotations

from datetime import date, timedelta

from cpp_notify.app import create_app as create_notify_app
from cpp_plans.app import create_app as create_plans_app
from cpp_scheduler.app import create_app as create_scheduler_app
from cpp_scheduler.domain.calendar import WorkingCalendar
from cpp_scheduler.tick import Ticker
from tests.helpers import KEY_WORKER_ATTENDS, QUORATE, Pump, bearer, ensure_child
from tests.services.test_plans_lifecycle_http import DETAILED, OUTLINE

ENG = WorkingCalendar("GB", "ENG")
GSY = WorkingCalendar("GG", None)
EVERY_10 = {"every": 10, "unit": "working_days"}
VISIT = {"announced": False, "child_seen": True, "seen_alone": True, "by": "Sam Social"}


class Deployment:
    """The plans service, the scheduler and notify of one deployment, and its people's tokens."""

    def __init__(self, make_settings, token_for, plugins: str, authority: str):
        self.plans_app = create_plans_app(make_settings("plans", CPP_PLUGINS=plugins))
        self.plans = self.plans_app.test_client()
        store = self.plans_app.extensions["cpp"].store
        scheduler = create_scheduler_app(make_settings("scheduler", CPP_PLUGINS=plugins))
        self.scheduler, self.scheduler_api = scheduler.extensions["cpp"], scheduler.test_client()
        self.notify = create_notify_app(make_settings("notify", CPP_PLUGINS=plugins)).extensions["cpp"]
        self.to_scheduler, self.to_notify = Pump(store, self.scheduler), Pump(store, self.notify)
        self.plans_store = store
        self.sw = bearer(token_for("social_worker", user="sw-1", authority=authority, email="sam@council.example"))
        self.tm = bearer(
            token_for("team_manager", user="tm-1", name="Pat Manager", authority=authority, email="pat@council.example")
        )
        self.chair = bearer(token_for("chair", user="chair-1", authority=authority))

    def pump(self) -> list[str]:
        self.to_notify()
        return self.to_scheduler()

    def plan(self, held_on: date, outline: dict) -> tuple[str, str]:
        """A case through its initial conference to an outline plan: (case id, plan id)."""
        p, sw = self.plans, self.sw
        assert p.get("/v1/categories", headers=self.tm).status_code == 200  # the manager is in the staff directory
        case = p.post("/v1/cases", json={"child_id": ensure_child(p, "child-1"), "team_manager": "tm-1"}, headers=sw)
        assert case.status_code == 201, case.json
        case_id = case.json["id"]
        start = (held_on - timedelta(days=14)).isoformat()
        assert (
            p.post(f"/v1/cases/{case_id}/strategy-discussions", json={"held_on": start}, headers=sw).status_code == 201
        )
        p.post(
            f"/v1/cases/{case_id}/enquiry-outcome",
            headers=sw,
            json={"completed_on": start, "conference_required": True},
        )
        conf = p.post(
            f"/v1/cases/{case_id}/conferences",
            headers=sw,
            json={"kind": "initial", "scheduled_for": held_on.isoformat()},
        ).json
        decided = p.post(
            f"/v1/conferences/{conf['id']}/outcome",
            headers=self.chair,
            json={"held_on": held_on.isoformat(), "plan_required": True, "outline_plan": outline, "attendees": QUORATE},
        )
        assert decided.status_code == 200, decided.json
        self.pump()
        return case_id, decided.json["plan"]["id"]

    def visit(self, plan_id: str, on: date, **answers):
        answered = self.plans.post(
            f"/v1/plans/{plan_id}/visits", headers=self.sw, json={**VISIT, "visited_on": on.isoformat(), **answers}
        )
        assert answered.status_code == 201, answered.json
        self.pump()

    def deadlines(self, case_id: str, rule_id: str) -> list[dict]:
        found = self.scheduler.store.collection("deadlines").find({"case_id": case_id, "rule_id": rule_id})
        return sorted(found, key=lambda d: (d["occurrence"], d["created_at"]))

    def open_one(self, case_id: str, rule_id: str) -> dict:
        [doc] = [d for d in self.deadlines(case_id, rule_id) if d["status"] in ("pending", "approaching", "overdue")]
        return doc


def test_a_bromley_plans_missed_visit_becomes_overdue_escalates_and_each_visit_seen_opens_the_next(
    make_settings, token_for
):
    brm = Deployment(make_settings, token_for, "england,bromley", "BRM")
    held_on = ENG.on_or_before(date.today() - timedelta(days=60))[0]
    case_id, plan_id = brm.plan(held_on, {**OUTLINE, "rhythm": {"visits": EVERY_10}})

    first = brm.open_one(case_id, "child-visit")
    assert first["due_on"] == ENG.add_working_days(held_on, 10).isoformat()
    assert first["frequency"] == {"amount": 10, "unit": "working_days"}
    assert (first["owner"], first["assignee"]["user"]) == ("social_worker", "sw-1")

    # Nobody visited: the tick on the first working day after it finds it overdue.
    overdue_on = ENG.next_working_day(date.fromisoformat(first["due_on"]))
    assert Ticker(brm.scheduler).run_once(overdue_on).overdue >= 1
    assert brm.open_one(case_id, "child-visit")["status"] == "overdue"
    # Still not visited after the grace period (England's 2 working days): the step escalates to the case's team
    # manager.
    Ticker(brm.scheduler).run_once(ENG.add_working_days(overdue_on, 1))
    assert brm.open_one(case_id, "child-visit").get("escalations") == []
    Ticker(brm.scheduler).run_once(ENG.add_working_days(overdue_on, 2))
    [escalated] = brm.open_one(case_id, "child-visit")["escalations"]
    assert (escalated["level"], escalated["to"]["user"]) == ("team_manager", "tm-1")

    # A visit at which the child was not seen meets nothing; one at which they were meets it, late, and the
    # next is due 10 working days after it.
    late_visit = ENG.add_working_days(held_on, 12)
    brm.visit(plan_id, late_visit - timedelta(days=1), child_seen=False, seen_alone=False)
    assert brm.open_one(case_id, "child-visit")["_id"] == first["_id"]
    brm.visit(plan_id, late_visit)
    met = brm.deadlines(case_id, "child-visit")[0]
    assert (met["status"], met["met"]["on"], met["met"]["late"]) == ("met", late_visit.isoformat(), True)
    second = brm.open_one(case_id, "child-visit")
    assert (second["occurrence"], second["due_on"]) == (2, ENG.add_working_days(late_visit, 10).isoformat())
    assert "as the plan states" in second["explanation"]["timescale"]


def test_a_rhythm_looser_than_the_deployments_limit_is_refused_naming_the_limit_and_its_source(
    make_settings, token_for
):
    brm = Deployment(make_settings, token_for, "england,bromley", "BRM")
    held_on = ENG.on_or_before(date.today() - timedelta(days=30))[0]
    case_id, plan_id = brm.plan(held_on, OUTLINE)  # none stated: England's default, every 10 working days
    assert brm.open_one(case_id, "child-visit")["due_on"] == ENG.add_working_days(held_on, 10).isoformat()

    too_loose = {
        **DETAILED,
        "rhythm": {"visits": {"every": 3, "unit": "weeks"}, "core_group": {"every": 8, "unit": "weeks"}},
    }
    refused = brm.plans.post(
        f"/v1/plans/{plan_id}/core-group-meetings",
        headers=brm.sw,
        json={
            "held_on": held_on.isoformat(),
            "detailed_plan_agreed": True,
            "plan": too_loose,
            "attendees": [KEY_WORKER_ATTENDS],
        },
    )
    assert refused.status_code == 422, refused.json
    errors = refused.json["errors"]["json"]["plan"]["rhythm"]
    [visits] = errors["visits"]
    assert visits.startswith("Every 3 weeks is looser than the limit, every 10 working days (source: ")
    assert "Liverpool CS" in visits
    [core_group] = errors["core_group"]
    assert "every 6 weeks" in core_group and "Tees CPP" in core_group
    alone = brm.plans.post(
        f"/v1/plans/{plan_id}/core-group-meetings",
        headers=brm.sw,
        json={
            "held_on": held_on.isoformat(),
            "detailed_plan_agreed": True,
            "attendees": [KEY_WORKER_ATTENDS],
            "plan": {**DETAILED, "rhythm": {"seen_alone": {"every": 3, "unit": "visits"}}},
        },
    )
    assert alone.json["errors"]["json"]["plan"]["rhythm"]["seen_alone"][0].startswith(
        "Every 3 visits is looser than the limit, every 2 visits (source: "
    )
    assert len(brm.plans_store.collection("core_group_meetings").find({"plan_id": plan_id})) == 0


def test_a_new_agreed_version_that_changes_the_visits_re_dates_the_open_one(make_settings, token_for):
    brm = Deployment(make_settings, token_for, "england,bromley", "BRM")
    held_on = ENG.on_or_before(date.today() - timedelta(days=20))[0]
    case_id, plan_id = brm.plan(held_on, {**OUTLINE, "rhythm": {"visits": EVERY_10}})
    before = brm.open_one(case_id, "child-visit")

    weekly = {**DETAILED, "rhythm": {"visits": {"every": 5, "unit": "working_days"}}}
    agreed = brm.plans.post(
        f"/v1/plans/{plan_id}/core-group-meetings",
        headers=brm.sw,
        json={
            "held_on": held_on.isoformat(),
            "detailed_plan_agreed": True,
            "plan": weekly,
            "attendees": [KEY_WORKER_ATTENDS],
        },
    )
    assert agreed.status_code == 201, agreed.json
    assert "plan.activated.v1" in brm.pump()
    after = brm.open_one(case_id, "child-visit")
    assert after["due_on"] == ENG.add_working_days(held_on, 5).isoformat()
    assert (after["supersedes"], after["calendar_id"], after["sequence"]) == (before["_id"], before["_id"], 1)
    assert brm.scheduler.store.collection("deadlines").find_one({"_id": before["_id"]})["status"] == "superseded"
    shown = brm.scheduler_api.get(f"/v1/deadlines/{after['_id']}", headers=brm.sw).json["explanation"]
    assert shown["timescale"] == "every 5 working days, as the plan states, after the start of the plan"


def test_visits_in_a_row_without_the_child_seen_alone_are_flagged_to_the_key_worker_and_the_team_manager(
    make_settings, token_for
):
    brm = Deployment(make_settings, token_for, "england,bromley", "BRM")
    held_on = ENG.on_or_before(date.today() - timedelta(days=40))[0]
    case_id, plan_id = brm.plan(held_on, {**OUTLINE, "rhythm": {"visits": EVERY_10}})

    def flags() -> list[dict]:
        return [
            m.body["data"]
            for m in brm.plans_store.outbox_pending(1000)
            if m.routing_key == "visit.child_not_seen_alone.v1"
        ]

    brm.visit(plan_id, held_on + timedelta(days=1), seen_alone=False)
    assert flags() == []
    # Bromley (the London procedures): seen alone on at least alternate visits, so the second in a row is flagged,
    # and the third, the same run, is not flagged again.
    brm.visit(plan_id, held_on + timedelta(days=8), seen_alone=False)
    brm.visit(plan_id, held_on + timedelta(days=15), child_seen=False, seen_alone=False)
    [flag] = flags()
    assert (flag["visits"], flag["since"], flag["visited_on"]) == (
        2,
        (held_on + timedelta(days=1)).isoformat(),
        (held_on + timedelta(days=8)).isoformat(),
    )
    assert (flag["key_worker"]["user"], flag["team_manager"]["user"]) == ("sw-1", "tm-1")

    told = brm.notify.store.collection("messages").find({"event_type": "visit.child_not_seen_alone.v1"})
    # In each one's inbox (this deployment has no mail server), addressed as the staff directory has them.
    by_person = {(m["recipient"]["user"], m["channel"]): m for m in told}
    assert set(by_person) == {("sw-1", "inbox"), ("tm-1", "inbox")}
    message = by_person[("tm-1", "inbox")]
    assert (message["recipient"]["name"], message["recipient"]["email"]) == ("Pat Manager", "pat@council.example")
    assert by_person[("sw-1", "inbox")]["recipient"]["email"] == "sam@council.example"
    assert message["subject"].startswith("NOT SEEN ALONE:") and "2 visits in a row" in message["subject"]
    assert "was not seen alone at any of the last 2 visits" in message["body"]

    # Seen alone again: the run is over; two more in a row are a new run, flagged once more.
    brm.visit(plan_id, held_on + timedelta(days=22))
    brm.visit(plan_id, held_on + timedelta(days=29), seen_alone=False)
    brm.visit(plan_id, held_on + timedelta(days=36), seen_alone=False)
    assert [f["since"] for f in flags()] == [
        (held_on + timedelta(days=1)).isoformat(),
        (held_on + timedelta(days=29)).isoformat(),
    ]


def test_a_guernsey_review_that_keeps_the_plan_is_followed_by_its_core_group(make_settings, token_for):
    gsy = Deployment(make_settings, token_for, "guernsey", "GSY")
    held_on = GSY.on_or_before(date.today() - timedelta(days=70))[0]
    stated = {"visits": {"every": 2, "unit": "weeks"}, "core_group": {"every": 4, "unit": "weeks"}}
    case_id, plan_id = gsy.plan(held_on, {**OUTLINE, "rhythm": stated})
    # As the plan specifies: the visits from the plan's start, every 2 weeks.
    assert (
        gsy.open_one(case_id, "child-visit")["due_on"] == GSY.on_or_before(held_on + timedelta(weeks=2))[0].isoformat()
    )

    first = GSY.add_working_days(held_on, 5)
    met = gsy.plans.post(
        f"/v1/plans/{plan_id}/core-group-meetings",
        headers=gsy.sw,
        json={
            "held_on": first.isoformat(),
            "detailed_plan_agreed": True,
            "plan": {**DETAILED, "rhythm": stated},
            "attendees": [KEY_WORKER_ATTENDS],
        },
    )
    assert met.status_code == 201, met.json
    gsy.pump()
    # Further core groups as the plan states: 4 weeks after the last.
    further = gsy.open_one(case_id, "first-core-group")
    assert (further["occurrence"], further["due_on"]) == (
        2,
        GSY.on_or_before(first + timedelta(weeks=4))[0].isoformat(),
    )

    review_on = GSY.on_or_before(held_on + timedelta(days=40))[0]
    review = gsy.plans.post(
        f"/v1/cases/{case_id}/conferences",
        headers=gsy.sw,
        json={"kind": "review", "scheduled_for": review_on.isoformat()},
    ).json
    held = gsy.plans.post(
        f"/v1/conferences/{review['id']}/outcome",
        headers=gsy.chair,
        json={"held_on": review_on.isoformat(), "decision": "continue", "attendees": QUORATE},
    )
    assert held.status_code == 200, held.json
    gsy.pump()
    after = gsy.open_one(case_id, "core-group-after-review")
    assert after["due_on"] == GSY.add_working_days(review_on, 10).isoformat()
    assert "Actions 10 & 11 repeated" in after["source"]
    # The next core group meets both the one after the review and the plan's own.
    next_one = GSY.add_working_days(review_on, 3)
    gsy.plans.post(
        f"/v1/plans/{plan_id}/core-group-meetings",
        headers=gsy.sw,
        json={"held_on": next_one.isoformat(), "detailed_plan_agreed": False, "attendees": [KEY_WORKER_ATTENDS]},
    )
    gsy.pump()
    assert gsy.deadlines(case_id, "core-group-after-review")[0]["status"] == "met"
    assert (
        gsy.open_one(case_id, "first-core-group")["due_on"]
        == GSY.on_or_before(next_one + timedelta(weeks=4))[0].isoformat()
    )
