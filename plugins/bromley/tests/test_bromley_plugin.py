"""Bromley's plugin set as a deployment loads it: its authority, words and rules, read through the plugin
contract (``cpp_shared.contracts.timescales``). The due dates its rules give on the working-day calendar are the
scheduler's (tests/unit/test_plugin_sets.py)."""

from __future__ import annotations

from cpp_shared.contracts.timescales import Offset
from cpp_shared.testing import plugin_set, rules_of

BROMLEY = ("england", "bromley")  # CPP_PLUGINS


def test_bromley_names_the_council_and_its_safeguarding_board():
    authority = plugin_set(*BROMLEY).authority()
    assert authority["name"] == "London Borough of Bromley"
    assert authority["jurisdiction"] == "england"
    assert authority["calendar"] == {"country": "GB", "subdiv": "ENG"}
    [board] = authority["contacts"]
    assert board["name"] == "Bromley Safeguarding Children Board"
    assert board["phone"] == "020 8461 7816"
    assert board["email"] == "BSCB@bromley.gov.uk"


def test_bromleys_documents_carry_the_boards_contact_block_and_footer():
    branding = plugin_set(*BROMLEY).merged("cpp_document_branding")
    assert branding["organisation"] == "London Borough of Bromley"
    assert branding["contact_block"]["address"] == ["St Blaise, B40a, Civic Centre", "Stockwell Close, Bromley BR1 3UH"]
    assert "confidential" in branding["footer"]
    assert plugin_set("england").merged("cpp_document_branding") == {}  # England's documents name the authority


def test_bromley_overrides_the_first_core_group_and_keeps_the_rest_of_england():
    england, bromley = rules_of("england"), rules_of(*BROMLEY)
    assert list(bromley) == [*england, MINE, UNFIT]  # its rules of its own: see below
    rule = bromley["first-core-group"]
    assert rule.plugin == "bromley"
    assert rule.offset == Offset(10, "working_days", "after")
    assert (rule.triggers, rule.when, rule.anchor, rule.met_by) == (
        england["first-core-group"].triggers,
        england["first-core-group"].when,
        england["first-core-group"].anchor,
        england["first-core-group"].met_by,
    )
    assert "Information for Families" in rule.source and "ten working days" in rule.source
    assert all(
        r.plugin == "england" for rid, r in bromley.items() if rid not in ("first-core-group", VISITS, MINE, UNFIT)
    )


def test_bromley_visits_every_10_working_days_and_the_child_seen_alone_on_alternate_visits():
    england, bromley = rules_of("england"), rules_of(*BROMLEY)
    rule = bromley[VISITS]
    assert rule.plugin == "bromley" and rule.plan_sets == "visits"
    assert (rule.offset, rule.recurrence) == (england[VISITS].offset, england[VISITS].recurrence)
    assert rule.recurrence.counts() == ((10, "working_days"), (10, "working_days"))
    assert (england[VISITS].seen_alone_within, rule.seen_alone_within) == (3, 2)
    assert "alternate occasions" in rule.source and "V2" in rule.source


MINE = "pre-birth-first-review"
VISITS = "child-visit"
UNFIT = "pre-birth-first-review-mother-unfit"


def test_bromley_reviews_a_pre_birth_plan_within_ten_days_of_the_birth():
    rule = rules_of(*BROMLEY)[MINE]
    assert rule.plugin == "bromley"
    assert rule.triggers == ("child.born.v1",)
    assert rule.when == {"on_plan": True, "mother_unfit_to_attend": [False, None]}
    assert (rule.anchor, rule.offset) == ("born_on", Offset(10, "calendar_days", "after"))
    assert rule.met_by == ("conference.held.v1",) and rule.met_when == {"kind": "review"}
    assert rule.owner == "chair" and rule.deadline == "review_conference"
    assert "London Child Protection Procedures, 4.1.22" in rule.source and "(V2: local" in rule.source
    assert rule.triggered_by("child.born.v1", {"on_plan": True, "born_on": "2026-03-02"})
    assert not rule.triggered_by("child.born.v1", {"on_plan": False, "born_on": "2026-03-02"})
    assert MINE not in rules_of("england")  # England has no national rule


def test_bromley_gives_twenty_days_when_the_mother_is_unfit_to_attend():
    rules = rules_of(*BROMLEY)
    rule = rules[UNFIT]
    assert rule.plugin == "bromley"
    assert rule.triggers == ("child.born.v1",) and rule.when == {"on_plan": True, "mother_unfit_to_attend": True}
    assert (rule.anchor, rule.offset) == ("born_on", Offset(20, "calendar_days", "after"))
    assert (rule.met_by, rule.met_when, rule.owner) == (rules[MINE].met_by, rules[MINE].met_when, "chair")
    assert "20 days if the mother is unfit to attend" in rule.source and "(V2: local" in rule.source
    # exactly one of the two follows a birth, by what the pre-birth conference recorded
    for unfit, follows in ((True, UNFIT), (False, MINE), (None, MINE)):
        birth = {"on_plan": True, "born_on": "2026-03-02", "mother_unfit_to_attend": unfit}
        assert [r for r in (MINE, UNFIT) if rules[r].triggered_by("child.born.v1", birth)] == [follows]
    assert not rule.triggered_by("child.born.v1", {"on_plan": False, "mother_unfit_to_attend": True})


def test_bromley_keeps_englands_retention_rules_until_it_states_its_own():
    from cpp_shared.contracts.retention import retention_rules
    from cpp_shared.plugins import Plugins

    rules = retention_rules(Plugins(["england", "bromley"]))
    assert {(r["id"], r["plugin"]) for r in rules} == {("child_protection", "england"), ("referral", "england")}
