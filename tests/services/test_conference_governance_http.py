"""A conference's governance over HTTP: its outcome is recorded by a chair
independent of the case (never its team manager or social worker), only when
the agencies that attended make the deployment's quorum, and with each
agency's view, any dissent, a parent's exclusion and the child's
participation kept with the outcome and carried by conference.held.v1."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

import cpp_guernsey
from cpp_shared.contracts.catalogue import field_classes
from cpp_shared.hookspecs import hookimpl
from cpp_shared.plugins import Plugins
from tests.helpers import bearer, ensure_child, new_child
from tests.services.test_conferences_http import OUTLINE, events_of, written

D0 = date.today() - timedelta(days=20)

VIEWS = [
    {"agency": "Police", "view": "Agrees: the risk at home is significant.", "dissents": False},
    {
        "agency": "School",
        "view": "Disagrees: attendance has improved and a child in need plan would do. The head asks that this "
        "dissent is recorded in full.",
        "dissents": True,
    },
]
EXCLUSIONS = [
    {
        "person": "Alex Parent",
        "reason": "The police's report concerns an ongoing investigation of Alex.",
        "decided_by": "Chris Chair, the conference's chair",
        "part": "The police's report and the discussion of it",
    }
]
PARTICIPATION = {
    "how": "advocate",
    "wishes_and_feelings": "Wants to keep living with Nan and to see Mum at weekends.",
    "advocate": {"name": "Jo Voice", "organisation": "Children's Rights Service"},
}
THREE_AGENCIES = [
    {"name": "Sam Social", "role": "social worker", "agency": "Children's services"},
    {"name": "PC Lee", "role": "officer", "agency": "Police"},
    {"name": "Ms Head", "role": "headteacher", "agency": "School"},
]


def iso(days: int) -> str:
    return (D0 + timedelta(days=days)).isoformat()


def conference_for(plans, opener, child_id="child-1") -> tuple[str, str]:
    """A case opened by ``opener`` (who becomes its social worker, or its team manager), its enquiries done and
    its initial conference scheduled: (case id, conference id)."""
    case = plans.post("/v1/cases", json={"child_id": ensure_child(plans, child_id)}, headers=opener)
    assert case.status_code == 201, case.json
    case_id = case.json["id"]
    steps = [
        (f"/v1/cases/{case_id}/strategy-discussions", {"held_on": iso(0)}, 201),
        (f"/v1/cases/{case_id}/enquiry-outcome", {"completed_on": iso(5), "conference_required": True}, 200),
        (f"/v1/cases/{case_id}/conferences", {"kind": "initial", "scheduled_for": iso(10)}, 201),
    ]
    for path, body, status in steps:
        resp = plans.post(path, json=body, headers=opener)
        assert resp.status_code == status, resp.json
    return case_id, resp.json["id"]


def outcome(**more) -> dict:
    return {"held_on": iso(10), "plan_required": True, "outline_plan": OUTLINE, **more}


@pytest.fixture
def chair(token_for):
    return bearer(token_for("chair", user="chair-1", name="Chris Chair"))


def known(plans, headers: dict) -> dict:
    """The person's headers, once they are in the staff directory (their first request puts them there)."""
    assert plans.get("/v1/cases", headers=headers).status_code == 200
    return headers


@pytest.fixture
def tm(token_for, plans):
    return known(plans, bearer(token_for("team_manager", user="tm-1", name="Terry Manager")))


# --- the independent chair ---------------------------------------------------------


def test_the_cases_team_manager_is_refused_and_nothing_is_written(plans, plans_store, sw, tm, chair):
    known(plans, sw)  # the outline plan's key worker
    case_id, conf_id = conference_for(plans, tm)
    assert plans.get(f"/v1/cases/{case_id}", headers=tm).json["team_manager"]["user"] == "tm-1"
    before = written(plans_store)
    refused = plans.post(f"/v1/conferences/{conf_id}/outcome", json=outcome(), headers=tm)
    assert refused.status_code == 403, refused.json
    assert "chaired independently" in refused.json["message"]
    assert "Terry Manager (team manager)" in refused.json["message"]
    assert written(plans_store) == before
    assert plans.get(f"/v1/conferences/{conf_id}", headers=tm).json["status"] == "scheduled"

    accepted = plans.post(f"/v1/conferences/{conf_id}/outcome", json=outcome(), headers=chair)
    assert accepted.status_code == 200, accepted.json
    assert accepted.json["conference"]["outcome"]["decided_by"] == "chair-1"
    assert accepted.json["case"]["status"] == "on_plan"


def test_the_cases_social_worker_is_refused_even_holding_the_chair_role(plans, plans_store, token_for):
    both = known(plans, bearer(token_for("social_worker", user="sw-9", name="Pat Both", also=("chair",))))
    _, conf_id = conference_for(plans, both)
    before = written(plans_store)
    refused = plans.post(f"/v1/conferences/{conf_id}/outcome", json=outcome(), headers=both)
    assert refused.status_code == 403, refused.json
    assert "Pat Both is the case's social worker" in refused.json["message"]
    assert written(plans_store) == before


def family_at_conference(plans, opener) -> tuple[str, list[str]]:
    """Two brothers' cases opened by ``opener``, taken together to one initial family conference: its id and
    the children."""
    children = [
        new_child(plans, opener, given_names=name, family_name="Sample", identifiers=[], date_of_birth=born)
        for name, born in (("Amy", "2015-03-01"), ("Ben", "2018-07-12"))
    ]
    people = [{"name": "Pat Sample", "role": "parent", "parental_responsibility": True, "relationships": []}]
    family = plans.post(
        "/v1/families", json={"name": "Sample family", "children": children, "people": people}, headers=opener
    )
    assert family.status_code == 201, family.json
    base = f"/v1/families/{family.json['id']}"
    steps = [
        ("/cases", {"children": children}, 201),
        ("/strategy-discussions", {"children": children, "held_on": iso(0)}, 201),
        (
            "/enquiry-outcomes",
            {"completed_on": iso(5), "outcomes": [{"child_id": c, "conference_required": True} for c in children]},
            200,
        ),
        ("/conferences", {"children": children, "kind": "initial", "scheduled_for": iso(10)}, 201),
    ]
    for path, body, status in steps:
        resp = plans.post(base + path, json=body, headers=opener)
        assert resp.status_code == status, resp.json
    return resp.json["id"], children


def test_a_family_conference_is_refused_for_a_child_whose_case_the_recorder_manages(plans, plans_store, tm, chair):
    group_id, children = family_at_conference(plans, tm)
    decisions = [{"child_id": c, "plan_required": False} for c in children]
    before = written(plans_store)
    refused = plans.post(
        f"/v1/family-conferences/{group_id}/outcome", json={"held_on": iso(10), "decisions": decisions}, headers=tm
    )
    assert refused.status_code == 403, refused.json
    assert "chaired independently" in refused.json["message"]
    assert written(plans_store) == before
    decisions[0]["child_participation"] = PARTICIPATION  # the elder's own part in it
    accepted = plans.post(
        f"/v1/family-conferences/{group_id}/outcome",
        json={"held_on": iso(10), "decisions": decisions, "agency_views": VIEWS, "exclusions": EXCLUSIONS},
        headers=chair,
    )
    assert accepted.status_code == 200, accepted.json
    outcomes = [c["conference"]["outcome"] for c in accepted.json["children"]]
    assert [(o["agency_views"], o["exclusions"]) for o in outcomes] == [(VIEWS, EXCLUSIONS)] * len(children)
    assert [o.get("child_participation") for o in outcomes] == [PARTICIPATION, None]


# --- quorum ------------------------------------------------------------------------


class GuernseyQuorum:
    """England's deployment with Guernsey's quorum answer (cpp_guernsey.cpp_conference_quorum), as a council's
    layer would give it."""

    @hookimpl
    def cpp_conference_quorum(self):
        return cpp_guernsey.cpp_conference_quorum()


def test_an_outcome_from_fewer_agencies_than_the_quorum_is_refused_naming_the_numbers(
    plans_app, plans_store, sw, chair
):
    plans_app.extensions["cpp"].plugins = Plugins(["england"], extra=[("council", GuernseyQuorum())])
    plans = plans_app.test_client()
    _, conf_id = conference_for(plans, sw)
    two = [*THREE_AGENCIES[:2], {"name": "DS Shaw", "role": "detective", "agency": " police "}]
    before = written(plans_store)
    refused = plans.post(f"/v1/conferences/{conf_id}/outcome", json=outcome(attendees=two), headers=chair)
    assert refused.status_code == 422, refused.json
    [why] = refused.json["errors"]["json"]["attendees"]
    assert why.startswith("2 agencies attended (Children's services, Police); this deployment needs at least 3 (ISCP")
    assert "POST /v1/conferences/{id}/inquorate-meetings" in why and "not quorate" in why
    assert written(plans_store) == before

    accepted = plans.post(f"/v1/conferences/{conf_id}/outcome", json=outcome(attendees=THREE_AGENCIES), headers=chair)
    assert accepted.status_code == 200, accepted.json
    quorum = accepted.json["conference"]["outcome"]["quorum"]
    assert (quorum["agencies"], quorum["min_agencies"], quorum["quorate"]) == (3, 3, True)
    held = [d for t, _, d in events_of(plans_store) if t == "conference.held.v1"][-1]
    assert held["quorum"] == quorum and held["attendees"] == THREE_AGENCIES


def test_without_a_quorum_rule_any_attendance_is_accepted_and_no_quorum_is_recorded(plans, plans_store, sw, chair):
    _, conf_id = conference_for(plans, sw)
    accepted = plans.post(f"/v1/conferences/{conf_id}/outcome", json=outcome(), headers=chair)
    assert accepted.status_code == 200, accepted.json
    assert "quorum" not in accepted.json["conference"]["outcome"]
    held = [d for t, _, d in events_of(plans_store) if t == "conference.held.v1"][-1]
    assert not {"quorum", "attendees", "agency_views", "exclusions", "child_participation"} & set(held)


# --- views, dissent, exclusion, the child's participation --------------------------


def test_a_child_who_attended_with_an_advocate_keeps_both(plans, sw, chair):
    _, conf_id = conference_for(plans, sw)
    attended = {**PARTICIPATION, "how": "attended"}
    accepted = plans.post(
        f"/v1/conferences/{conf_id}/outcome", json=outcome(child_participation=attended), headers=chair
    )
    assert accepted.status_code == 200, accepted.json
    assert accepted.json["conference"]["outcome"]["child_participation"] == attended


def test_views_dissent_exclusions_and_participation_are_stored_and_in_the_event(plans, plans_store, sw, chair):
    _, conf_id = conference_for(plans, sw)
    body = outcome(agency_views=VIEWS, exclusions=EXCLUSIONS, child_participation=PARTICIPATION)
    accepted = plans.post(f"/v1/conferences/{conf_id}/outcome", json=body, headers=chair)
    assert accepted.status_code == 200, accepted.json
    stored = plans.get(f"/v1/conferences/{conf_id}", headers=sw).json["outcome"]
    assert (stored["agency_views"], stored["exclusions"], stored["child_participation"]) == (
        VIEWS,
        EXCLUSIONS,
        PARTICIPATION,
    )
    held = [d for t, _, d in events_of(plans_store) if t == "conference.held.v1"][-1]
    assert (held["agency_views"], held["exclusions"], held["child_participation"]) == (VIEWS, EXCLUSIONS, PARTICIPATION)


@pytest.mark.parametrize(
    ("given", "errors"),
    [
        ({"agency_views": [{"agency": "Police", "view": "Agrees."}]}, {"agency_views": {"0": {"dissents": None}}}),
        (
            {"agency_views": [{"agency": "Police", "view": "  ", "dissents": True}]},
            {"agency_views": {"0": {"view": None}}},
        ),
        (
            {"agency_views": [VIEWS[0], {**VIEWS[0], "agency": "police"}]},
            {"agency_views": {"1": {"agency": ["each agency gives one view: this one is given twice"]}}},
        ),
        ({"exclusions": [{**EXCLUSIONS[0], "reason": ""}]}, {"exclusions": {"0": {"reason": None}}}),
        (
            {"exclusions": [{k: v for k, v in EXCLUSIONS[0].items() if k != "decided_by"}]},
            {"exclusions": {"0": {"decided_by": None}}},
        ),
        ({"exclusions": [{**EXCLUSIONS[0], "part": " "}]}, {"exclusions": {"0": {"part": None}}}),
        ({"child_participation": {"how": "sulked"}}, {"child_participation": {"how": None}}),
        (
            {"child_participation": {"how": "advocate", "advocate": None}},
            {"child_participation": {"advocate": ["name the advocate who represented the child's views"]}},
        ),
        (
            {"child_participation": {"how": "advocate", "advocate": {"name": "Jo Voice"}}},
            {"child_participation": {"advocate": {"organisation": None}}},
        ),
    ],
)
def test_each_governance_field_is_validated_and_nothing_written(plans, plans_store, sw, chair, given, errors):
    _, conf_id = conference_for(plans, sw)
    before = written(plans_store)
    refused = plans.post(f"/v1/conferences/{conf_id}/outcome", json=outcome(**given), headers=chair)
    assert refused.status_code == 422, refused.json
    got = refused.json["errors"]["json"]
    _assert_named(got, errors)
    assert written(plans_store) == before


def _assert_named(got: dict, expected: dict) -> None:
    """Every field of ``expected`` is named in ``got``; a None leaf only says the field is named, a list is the
    exact message."""
    for key, want in expected.items():
        assert key in got, (key, got)
        if isinstance(want, dict):
            _assert_named(got[key], want)
        elif want is not None:
            assert got[key] == want


def test_the_free_text_of_how_it_was_run_is_narrative_so_partners_do_not_get_it_by_default():
    classes = field_classes("conference.held.v1")
    for field in ("attendees", "agency_views", "exclusions", "child_participation", "quorum.source"):
        assert classes[field] == "narrative", field
    assert {classes[f"quorum.{f}"] for f in ("agencies", "min_agencies", "quorate")} == {"status"}
