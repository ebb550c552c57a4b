"""Scotland's plugin set as a deployment loads it: its authority, words and rules, read through the plugin
contract (``cpp_shared.contracts.timescales``). The due dates its rules give on the working-day calendar are the
scheduler's (tests/unit/test_plugin_sets.py)."""

from __future__ import annotations

from cpp_shared.contracts.hook_answers import categories
from cpp_shared.contracts.timescales import Limit, Offset
from cpp_shared.testing import plugin_set, rules_of

SCOTLAND = ("scotland",)  # CPP_PLUGINS


def test_scotland_timescales_follow_the_national_guidance():
    rules = rules_of(*SCOTLAND)
    assert all(r.plugin == "scotland" for r in rules.values())
    initial = rules["initial-conference"]
    assert initial.offset == Offset(28, "calendar_days", "after")
    assert initial.triggered_by("strategy_discussion.held.v1", {"initiated_enquiries": True})
    assert initial.is_cancelled_by("enquiry.completed.v1", {"conference_required": False})
    assert rules["first-core-group"].offset == Offset(15, "working_days", "after")
    assert "3.137" in rules["first-core-group"].source, "the 2021/2023 inconsistency is noted"
    assert rules["first-review-conference"].offset == Offset(6, "months", "after")
    assert rules["later-review-conference"].offset == Offset(6, "months", "after")
    assert all("Appendix D" in rules[i].source for i in ("initial-conference", "first-core-group"))


def test_scotland_authority_route_and_words():
    plugins = plugin_set(*SCOTLAND)
    authority = plugins.authority()
    assert authority["jurisdiction"] == "scotland"
    assert authority["calendar"] == {"country": "GB", "subdiv": "SCT"}
    [route] = plugins.layered("cpp_escalation_routes")
    assert route["id"] == "childrens_reporter"
    assert route["recipient"]["kind"] == "external"
    assert "Principal Reporter" in route["recipient"]["name"]
    assert "s.60" in route["source"]
    terms = plugins.merged("cpp_terminology")
    assert terms["initial_conference"] == "initial child protection planning meeting"
    assert terms["review_conference"] == "review child protection planning meeting"
    assert terms["enquiries"] == "child protection investigation"
    assert "child protection register" in terms["register"]


def test_scotland_records_areas_of_concern_not_englands_categories():
    offered = {c["id"]: c["name"] for c in categories(plugin_set(*SCOTLAND))}
    assert offered["domestic_abuse"] == "Domestic abuse"
    assert offered["parental_alcohol_and_drug_use"] == "Parental alcohol and drug use"
    assert "sexual_abuse" not in offered and offered["child_sexual_abuse"] == "Child sexual abuse"


def test_an_unborn_childs_pre_birth_cppm_and_its_review_follow_paras_3_142_and_3_143():
    rules = rules_of(*SCOTLAND)
    unborn = {"initiated_enquiries": True, "pre_birth": True, "expected_date_of_birth": "2026-09-01"}
    pre_birth = rules["pre-birth-conference"]
    assert pre_birth.triggered_by("strategy_discussion.held.v1", unborn)
    assert not rules["initial-conference"].triggered_by("strategy_discussion.held.v1", unborn)
    assert not pre_birth.triggered_by("strategy_discussion.held.v1", {"initiated_enquiries": True})
    assert rules["initial-conference"].triggered_by("strategy_discussion.held.v1", {"initiated_enquiries": True})
    assert pre_birth.offset == Offset(28, "calendar_days", "after")
    assert pre_birth.earliest_of == (Limit("expected_date_of_birth", Offset(12, "weeks", "before")),)
    assert pre_birth.is_met_by("conference.held.v1", {"kind": "initial", "pre_birth": True})
    assert pre_birth.is_cancelled_by("enquiry.completed.v1", {"conference_required": False})
    assert "para 3.142" in pre_birth.source and "28 weeks of gestation" in pre_birth.source

    held = {"kind": "initial", "plan_required": True, "pre_birth": True}
    review = rules["pre-birth-review-conference"]
    assert review.triggered_by("conference.held.v1", held)
    assert not rules["first-review-conference"].triggered_by("conference.held.v1", held)
    born = {k: v for k, v in held.items() if k != "pre_birth"}
    assert rules["first-review-conference"].triggered_by("conference.held.v1", born)
    assert review.offset == Offset(3, "months", "after")
    assert review.is_met_by("conference.held.v1", {"kind": "review"})
    assert "para 3.143" in review.source and "(V:" in review.source


def test_appendix_ds_meeting_timescales_are_each_met_by_their_own_event():
    rules = rules_of(*SCOTLAND)
    notice = rules["cppm-notice"]
    assert notice.offset == Offset(5, "calendar_days", "before") and notice.anchor == "scheduled_for"
    assert notice.triggers == ("conference.scheduled.v1", "conference.rescheduled.v1")
    assert notice.is_met_by("conference.invitations_sent.v1", {}) and notice.met_on == "sent_on"
    assert notice.is_cancelled_by("conference.cancelled.v1", {}) and notice.is_cancelled_by("conference.held.v1", {})
    assert "para 3.131" in notice.source
    reconvene = rules["inquorate-reconvened"]
    assert reconvene.triggered_by("conference.inquorate.v1", {}) and reconvene.anchor == "met_on"
    assert reconvene.offset == Offset(10, "working_days", "after")
    assert reconvene.is_met_by("conference.held.v1", {"kind": "initial"})
    record = rules["cppm-record"]
    assert record.triggered_by("conference.held.v1", {"kind": "review"}) and record.anchor == "held_on"
    assert record.offset == Offset(10, "working_days", "after")
    assert record.is_met_by("conference.record_issued.v1", {}) and record.met_on == "issued_on"
    for rule in (notice, reconvene, record):
        assert rule.key == "conference_id" and rule.owner == "chair"
        assert "Appendix D" in rule.source and "(V)" in rule.source


def test_a_significant_change_goes_to_the_chair_within_3_calendar_days_of_being_noticed():
    rule = rules_of(*SCOTLAND)["significant-change-to-chair"]
    assert (rule.triggers, rule.when, rule.anchor, rule.key) == (
        ("significant_change.recorded.v1",),
        {},
        "noticed_on",
        "change_id",
    )
    assert rule.offset == Offset(3, "calendar_days", "after")
    assert (rule.met_by, rule.met_on, rule.met_when) == (("significant_change.referred.v1",), "told_on", {})
    assert (rule.owner, rule.recurrence) == ("social_worker", None)
    assert rule.triggered_by("significant_change.recorded.v1", {"change_id": "g1", "noticed_on": "2026-03-02"})
    assert rule.is_met_by("significant_change.referred.v1", {"change_id": "g1", "told_on": "2026-03-03"})
    assert "Appendix D and para 3.137" in rule.source
    assert '"always within 3 calendar days" (V)' in rule.source


def test_no_retention_period_is_given_so_nothing_is_erased_until_the_council_states_its_own():
    from cpp_scotland import cpp_retention_rules
    from cpp_shared.contracts.retention import retention_rules
    from cpp_shared.plugins import Plugins

    assert cpp_retention_rules() == []
    assert retention_rules(Plugins(["scotland"])) == []
