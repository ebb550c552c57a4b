"""The plans service layer called directly, as any caller would (no Flask
app, no request): a real SQLite store, a deployment's plugins with a
council's own plan rules, who acts and today given explicitly.

Each refusal is checked to write nothing: no record, no version, no audit
entry, no event."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cpp_plans import audit
from cpp_plans.domain import lifecycle as lc
from cpp_plans.domain import plan_content
from cpp_plans.domain.lifecycle import InvalidStep, LifecycleError
from cpp_plans.service_layer import cases, children, conferences, plans, reports
from cpp_plans.service_layer.children import DuplicateChild
from cpp_plans.service_layer.common import NotFound
from cpp_plans.store import CHILDREN, PLAN_VERSIONS, PLANS, setup_store
from cpp_shared.auth import Principal
from cpp_shared.hookspecs import hookimpl
from cpp_shared.messaging.events import new_event
from cpp_shared.plugins import Plugins
from cpp_shared.store import open_store
from cpp_shared.store.scoped import ScopedStore

TODAY = date(2026, 3, 2)
D0 = TODAY - timedelta(days=40)

OUTLINE = {
    "key_worker": {"name": "Sam Social", "role": "social worker", "phone": "020 7946 0000"},
    "categories": ["neglect"],
    "core_group": [
        {"name": "Sam Social", "role": "social worker", "agency": "Children's services", "is_family_member": False},
        {"name": "Alex Parent", "role": "parent", "agency": None, "is_family_member": True},
    ],
    "concerns": "Home conditions and missed health appointments.",
}

DETAILED = {
    **OUTLINE,
    "outcomes": [
        {
            "id": "o1",
            "description": "Ana is fed and supervised",
            "term": "short",
            "target_date": (TODAY + timedelta(days=30)).isoformat(),
            "how_progress_judged": "visits",
        }
    ],
    "actions": [
        {
            "id": "a1",
            "what": "Parenting course",
            "why": "routines",
            "outcome_id": "o1",
            "who": {"name": "Alex Parent", "kind": "family_member", "relationship": "mother"},
            "by_when": (TODAY + timedelta(days=20)).isoformat(),
            "status": "not_started",
        }
    ],
    "monitoring": [
        {
            "who": "Hana Visitor",
            "agency": "NHS",
            "what": "home visits",
            "contact_type": "home_visit",
            "frequency": "weekly",
        }
    ],
    "review_arrangements": {
        "next_review_date": (TODAY + timedelta(days=90)).isoformat(),
        "how_progress_judged": "at the review conference",
    },
    "contingency_plan": {"plan": "Legal planning meeting", "triggers": ["Ana is left alone again"]},
}


class Council:
    """A council whose procedures refuse a plan without the family's views, at every stage."""

    def __init__(self):
        self.stages: list[str] = []

    @hookimpl
    def cpp_validate_plan(self, content, stage):
        self.stages.append(stage)
        if not content.get("familys_views"):
            return {"familys_views": [f"our procedures need the family's views ({stage})"]}
        return None


@dataclass
class Deployment:
    """What a step needs of the running service: its store, plugins, authority and outbox."""

    store: Any
    plugins: Any
    authority: dict[str, Any]
    published: list[str] = field(default_factory=list)

    def publish(self, uow, type, *, subject, data):
        event = new_event(type, source="/services/plans", subject=subject, data=data, authority=self.authority["code"])
        uow.publish(type, event, message_id=event["id"])
        self.published.append(type)
        return event


@pytest.fixture
def council():
    return Council()


@pytest.fixture
def deps(tmp_path, council):
    plugins = Plugins(["england"], extra=[("council", council)])
    authority = plugins.authority()
    store = ScopedStore(open_store(f"sqlite:///{tmp_path / 'plans.db'}"), authority["code"])
    setup_store(store)
    with store.unit_of_work() as uow:
        uow.insert(
            CHILDREN, {"_id": "child-1", "given_names": "Ana", "family_name": "Smith", "date_of_birth": "2018-05-01"}
        )
        uow.insert(
            "staff", {"_id": "sw-1", "user": "sw-1", "name": "Sam Social", "roles": ["social_worker"], "team": "North"}
        )
        uow.insert("staff", {"_id": "chair-1", "user": "chair-1", "name": "Cleo Chair", "roles": ["chair"]})
    return Deployment(store=store, plugins=plugins, authority=authority)


def principal(deps, user, role):
    return Principal(user=user, role=role, authority=deps.authority["code"])


def written(deps) -> dict[str, int]:
    """How much the store holds: plans, versions, audit entries, events waiting."""
    return {
        "plans": deps.store.collection(PLANS).count_documents({}),
        "plan_versions": deps.store.collection(PLAN_VERSIONS).count_documents({}),
        "audit": len(deps.store.read_log(audit.LOG, limit=10_000)),
        "events": len(deps.store.outbox_pending(10_000)),
    }


def conference_pending(deps) -> tuple[dict, dict]:
    """A case whose enquiries found an initial conference needed, and the conference scheduled."""
    sw = principal(deps, "sw-1", "social_worker")
    case = cases.open_case(deps, "child-1", now=datetime(2026, 1, 2, tzinfo=UTC), actor=sw)
    cases.record_strategy_discussion(
        deps, case["_id"], held_on=D0, initiated_enquiries=True, attendees=[], notes=None, today=TODAY, actor=sw
    )
    cases.record_enquiry_outcome(
        deps,
        case["_id"],
        completed_on=D0 + timedelta(days=7),
        conference_required=True,
        summary=None,
        today=TODAY,
        actor=sw,
    )
    conference = conferences.schedule_conference(
        deps, case["_id"], kind="initial", scheduled_for=D0 + timedelta(days=14), today=TODAY, actor=sw
    )
    return case, conference


def on_plan(deps, content=None) -> dict:
    """A plan agreed in outline at an initial conference."""
    _, conference = conference_pending(deps)
    outcome = conferences.record_conference_outcome(
        deps,
        conference["_id"],
        held_on=D0 + timedelta(days=14),
        attendees=[],
        plan_required=True,
        outline_plan=content or {**OUTLINE, "familys_views": "We agree."},
        today=TODAY,
        actor=principal(deps, "chair-1", "chair"),
    )
    return outcome["plan"]


# --- (a) the council's own rules, wherever a plan version is agreed ------------------------------------------


def test_the_council_refuses_an_initial_conferences_outline_plan_and_nothing_is_written(deps, council):
    _, conference = conference_pending(deps)
    before = written(deps)
    with pytest.raises(InvalidStep) as refused:
        conferences.record_conference_outcome(
            deps,
            conference["_id"],
            held_on=D0 + timedelta(days=14),
            attendees=[],
            plan_required=True,
            outline_plan=OUTLINE,
            today=TODAY,
            actor=principal(deps, "chair-1", "chair"),
        )
    assert refused.value.errors == {
        "outline_plan": {"familys_views": ["our procedures need the family's views (outline)"]}
    }
    assert written(deps) == before
    assert council.stages == ["outline"]


def test_the_council_refuses_a_plan_change_and_nothing_is_written(deps, council):
    plan = on_plan(deps)
    before = written(deps)
    with pytest.raises(InvalidStep) as refused:
        plans.change_plan(
            deps,
            plan["_id"],
            {"familys_views": None},
            expected_version=plan["version"],
            today=TODAY,
            actor=principal(deps, "sw-1", "social_worker"),
        )
    assert refused.value.errors == {"familys_views": ["our procedures need the family's views (change)"]}
    assert written(deps) == before
    assert deps.store.collection(PLANS).find_one({"_id": plan["_id"]})["plan_version"] == 1
    assert council.stages == ["outline", "change"]


def test_the_council_refuses_a_core_groups_detailed_plan_and_nothing_is_written(deps, council):
    plan = on_plan(deps)
    before = written(deps)
    with pytest.raises(InvalidStep) as refused:
        plans.record_core_group_meeting(
            deps,
            plan["_id"],
            held_on=TODAY - timedelta(days=5),
            attendees=[],
            detailed_plan_agreed=True,
            plan=DETAILED,
            notes=None,
            today=TODAY,
            actor=principal(deps, "sw-1", "social_worker"),
        )
    assert refused.value.errors == {"plan": {"familys_views": ["our procedures need the family's views (detailed)"]}}
    assert written(deps) == before
    assert council.stages == ["outline", "detailed"]


def test_a_plan_the_council_accepts_is_agreed_with_its_version_audit_entry_and_events(deps, council):
    plan = on_plan(deps)
    before = written(deps)
    meeting = plans.record_core_group_meeting(
        deps,
        plan["_id"],
        held_on=TODAY - timedelta(days=5),
        attendees=[{"name": "Sam Social", "role": "key worker"}],
        detailed_plan_agreed=True,
        plan={**DETAILED, "familys_views": "We agree."},
        notes=None,
        today=TODAY,
        actor=principal(deps, "sw-1", "social_worker"),
    )
    assert meeting["plan_version"] == 2 and meeting["version"] == 1
    stored = deps.store.collection(PLANS).find_one({"_id": plan["_id"]})
    assert stored["status"] == "active" and stored["key_worker_user"] == "sw-1"  # linked to the staff directory
    after = written(deps)
    assert (after["plan_versions"], after["audit"]) == (before["plan_versions"] + 1, before["audit"] + 1)
    assert deps.published[-2:] == ["core_group.held.v1", "plan.activated.v1"]
    [activated] = [m.body for m in deps.store.outbox_pending(10_000) if m.routing_key == "plan.activated.v1"]
    assert activated["data"]["child"]["name"] == "Ana Smith"  # the event names the child


def test_the_council_refuses_the_plan_a_report_proposes_and_nothing_is_written(deps, council):
    _, conference = conference_pending(deps)
    before = written(deps)
    sw = principal(deps, "sw-1", "social_worker")
    with pytest.raises(InvalidStep) as refused:
        reports.draft_report(
            deps,
            conference["_id"],
            content={"findings": "Neglect found."},
            plan=OUTLINE,
            on=TODAY,
            today=TODAY,
            actor=sw,
        )
    assert refused.value.errors == {"plan": {"familys_views": ["our procedures need the family's views (outline)"]}}
    assert written(deps) == before
    report = reports.draft_report(
        deps,
        conference["_id"],
        content={"findings": "Neglect found."},
        plan={**OUTLINE, "familys_views": "We agree."},
        on=TODAY,
        today=TODAY,
        actor=sw,
    )
    assert report["version"] == 1 and written(deps)["audit"] == before["audit"] + 1


# --- (b) an ended plan is not changed ---------------------------------------------------------------------------


def test_a_change_to_an_ended_plan_is_a_lifecycle_error_and_nothing_is_written(deps, council):
    plan = on_plan(deps)
    chair = principal(deps, "chair-1", "chair")
    review = conferences.schedule_conference(
        deps, plan["case_id"], kind="review", scheduled_for=TODAY - timedelta(days=2), today=TODAY, actor=chair
    )
    ended = conferences.record_conference_outcome(
        deps,
        review["_id"],
        held_on=TODAY - timedelta(days=2),
        attendees=[],
        decision="end",
        reason="Ana is safe at home",
        today=TODAY,
        actor=chair,
    )["plan"]
    before = written(deps)
    with pytest.raises(LifecycleError, match="the plan has ended; it cannot be changed"):
        plans.change_plan(
            deps,
            plan["_id"],
            {"familys_views": "Still agreed."},
            expected_version=ended["version"],
            today=TODAY,
            actor=principal(deps, "sw-1", "social_worker"),
        )
    assert written(deps) == before
    assert council.stages == ["outline"]  # the council is not asked about a change that cannot be made


def test_a_change_keeps_the_plans_own_content_rules(deps):
    plan = on_plan(deps)
    before = written(deps)
    too_early = (D0 + timedelta(days=13)).isoformat()  # before the conference that began the plan
    with pytest.raises(InvalidStep) as refused:
        plans.change_plan(
            deps,
            plan["_id"],
            {"review_arrangements": {"next_review_date": too_early, "how_progress_judged": "at review"}},
            expected_version=plan["version"],
            today=TODAY,
            actor=principal(deps, "sw-1", "social_worker"),
        )
    assert refused.value.errors == {
        "review_arrangements": {"next_review_date": [f"Must not be before {(D0 + timedelta(days=14)).isoformat()}."]}
    }
    assert written(deps) == before


def test_a_stale_version_and_an_unknown_plan_are_refused(deps):
    plan = on_plan(deps)
    sw = principal(deps, "sw-1", "social_worker")
    with pytest.raises(Exception) as stale:
        plans.change_plan(
            deps, plan["_id"], {"familys_views": "x"}, expected_version=plan["version"] - 1, today=TODAY, actor=sw
        )
    assert type(stale.value).__name__ == "VersionConflict"
    with pytest.raises(NotFound, match="no plan nope"):
        plans.record_visit(
            deps,
            "nope",
            visited_on=TODAY,
            announced=True,
            child_seen=True,
            seen_alone=False,
            by="Sam",
            notes=None,
            today=TODAY,
            actor=sw,
        )


# --- (c) an initial conference decides whether a plan is required ----------------------------------------------


def test_an_initial_conference_without_plan_required_is_refused_and_nothing_is_written(deps):
    _, conference = conference_pending(deps)
    before = written(deps)
    with pytest.raises(InvalidStep) as refused:
        conferences.record_conference_outcome(
            deps,
            conference["_id"],
            held_on=D0 + timedelta(days=14),
            attendees=[],
            decision="continue",
            today=TODAY,
            actor=principal(deps, "chair-1", "chair"),
        )
    assert refused.value.errors == {"plan_required": ["an initial conference decides whether a plan is required"]}
    assert written(deps) == before


def test_the_domain_refuses_an_initial_conference_that_decides_nothing():
    """Called directly, the domain does not take a missing decision for "no plan" (a step-down)."""
    case = {
        "_id": "c1",
        "authority": "x",
        "child_id": "k1",
        "status": "conference_pending",
        "conferences": [],
        "strategy_discussions": [{"held_on": D0.isoformat(), "initiated_enquiries": True}],
        "plan_id": None,
    }
    conference = {"_id": "f1", "kind": "initial", "status": "scheduled"}
    with pytest.raises(InvalidStep) as refused:
        lc.hold_initial_conference(
            case,
            conference,
            held_on=D0 + timedelta(days=14),
            today=TODAY,
            plan_required=None,
            plan_content=None,
            decided_by="chair-1",
            attendees=[],
        )
    assert "plan_required" in refused.value.errors


# --- (d) the content rules, in plain Python ---------------------------------------------------------------------

ids = st.lists(st.sampled_from(["o1", "o2", "o3"]), max_size=6)


@given(outcome_ids=ids, action_refs=ids)
def test_every_repeated_id_and_every_dangling_reference_is_named(outcome_ids, action_refs):
    content = {
        "outcomes": [{"id": i} for i in outcome_ids],
        "actions": [{"id": f"a{n}", "outcome_id": ref} for n, ref in enumerate(action_refs)],
    }
    errors = plan_content.cross_item_errors(content)
    repeated = {n for n, i in enumerate(outcome_ids) if i in outcome_ids[:n]}
    assert set(errors.get("outcomes", {})) == repeated
    dangling = {n for n, ref in enumerate(action_refs) if ref not in outcome_ids}
    assert set(errors.get("actions", {})) == dangling
    assert plan_content.cross_item_errors(content, references=False).get("actions") is None


@given(offset=st.integers(min_value=-400, max_value=400))
def test_no_date_of_a_plan_comes_before_it(offset):
    begun = date(2026, 1, 15)
    when = (begun + timedelta(days=offset)).isoformat()
    content = {
        "outcomes": [{"id": "o1", "target_date": when}],
        "first_core_group_on": when,
        "review_arrangements": {"next_review_date": when},
    }
    errors = plan_content.date_errors(content, begun)
    if offset >= 0:
        assert errors == {}
    else:
        message = ["Must not be before 2026-01-15."]
        assert errors == {
            "outcomes": {0: {"target_date": message}},
            "first_core_group_on": message,
            "review_arrangements": {"next_review_date": message},
        }


def test_what_a_detailed_plan_lacks_and_the_small_rules():
    assert plan_content.missing_for_agreement(DETAILED) == []
    assert plan_content.missing_for_agreement(OUTLINE) == [
        "outcomes",
        "actions",
        "monitoring",
        "review_arrangements",
        "contingency_plan",
    ]
    assert plan_content.member_agency({"is_family_member": False}) == {
        "agency": ["A professional member's agency is required."]
    }
    assert plan_content.member_agency({"is_family_member": True}) == {}
    assert plan_content.duplicates(["neglect", "neglect"], "category") == "Duplicate category: neglect."
    assert plan_content.core_group_has_professional([{"is_family_member": True}]) is not None


# --- a child's record -------------------------------------------------------------------------------------------

CHILD = {
    "given_names": "Ben",
    "family_name": "Jones",
    "date_of_birth": "2020-02-02",
    "gender": "1",
    "ethnicity": "WBRI",
    "first_language": "English",
    "interpreter_needed": False,
    "address": {"lines": ["1 High Street"]},
    "identifiers": [{"scheme": "nhs_number", "value": "9434765919"}],
}


def test_a_child_keeps_exactly_one_date_of_birth_and_one_nhs_number(deps):
    sw = principal(deps, "sw-1", "social_worker")
    now = datetime(2026, 3, 2, tzinfo=UTC)
    child = children.register_child(deps, CHILD, now=now, actor=sw)
    assert child["version"] == 1 and child["family_name_key"] == "jones"
    before = {**written(deps), "child": deps.store.collection(CHILDREN).find_one({"_id": child["_id"]})}
    with pytest.raises(InvalidStep) as refused:
        children.change_child(deps, child["_id"], {"date_of_birth": None}, expected_version=1, now=now, actor=sw)
    assert refused.value.message == "the change would leave the child without exactly one date of birth"
    assert set(refused.value.errors) == {"date_of_birth", "expected_date_of_birth"}
    with pytest.raises(DuplicateChild) as duplicate:
        children.register_child(deps, {**CHILD, "given_names": "Benjamin"}, now=now, actor=sw)
    assert duplicate.value.existing == child["_id"]
    assert {**written(deps), "child": deps.store.collection(CHILDREN).find_one({"_id": child["_id"]})} == before
    changed = children.change_child(
        deps, child["_id"], {"preferred_name": "Benny"}, expected_version=1, now=now, actor=sw
    )
    assert changed["version"] == 2 and deps.published[-1] == "child.updated.v1"
