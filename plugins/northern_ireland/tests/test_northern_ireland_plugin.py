"""Northern Ireland's plugin set as a deployment loads it, alone and under a Trust's layer: its authority,
calendar, words and categories, and each rule of its timetable walked through the scheduler on dates that cross
St Patrick's Day, Easter and the Twelfth.

The expected dates are worked out here from a hand-written list of Northern Ireland's public holidays (as the
Department for the Economy publishes them), never with the calendar the scheduler uses."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

import cpp_northern_ireland
from cpp_northern_ireland import GATEWAY
from cpp_scheduler.app import create_app
from cpp_shared.contracts.hook_answers import categories
from cpp_shared.contracts.timescales import Closure, Offset, closure_days, timescale_rules
from cpp_shared.hookspecs import PluginError, hookimpl
from cpp_shared.plugins import Plugins
from cpp_shared.testing import deliver_event, plugin_set, rules_of
from cpp_shared.testing.hand_count import HandCount

NORTHERN_IRELAND = ("northern_ireland",)  # CPP_PLUGINS

# Northern Ireland's public holidays, 2025-2027, with the days given in lieu of those at a weekend.
HOLIDAYS = {
    date(2025, 1, 1),  # New Year's Day
    date(2025, 3, 17),  # St Patrick's Day (Mon)
    date(2025, 4, 18),  # Good Friday
    date(2025, 4, 21),  # Easter Monday
    date(2025, 5, 5),  # Early May bank holiday
    date(2025, 5, 26),  # Spring bank holiday
    date(2025, 7, 14),  # the Twelfth (Sat 12 July): Monday 14 July in lieu
    date(2025, 8, 25),  # Summer bank holiday
    date(2025, 12, 25),  # Christmas Day
    date(2025, 12, 26),  # Boxing Day
    date(2026, 1, 1),  # New Year's Day
    date(2026, 3, 17),  # St Patrick's Day (Tue)
    date(2026, 4, 3),  # Good Friday
    date(2026, 4, 6),  # Easter Monday
    date(2026, 5, 4),  # Early May bank holiday
    date(2026, 5, 25),  # Spring bank holiday
    date(2026, 7, 13),  # the Twelfth (Sun 12 July): Monday 13 July in lieu
    date(2026, 8, 31),  # Summer bank holiday
    date(2026, 12, 25),  # Christmas Day
    date(2026, 12, 28),  # Boxing Day (Sat 26 December): Monday 28 in lieu
    date(2027, 1, 1),  # New Year's Day
    date(2027, 3, 17),  # St Patrick's Day (Wed)
    date(2027, 3, 26),  # Good Friday
    date(2027, 3, 29),  # Easter Monday
    date(2027, 5, 3),  # Early May bank holiday
    date(2027, 5, 31),  # Spring bank holiday
    date(2027, 7, 12),  # the Twelfth (Mon)
    date(2027, 8, 30),  # Summer bank holiday
}


HAND = HandCount(HOLIDAYS)
_working_days_after, _back_to_working_day = HAND.working_days_after, HAND.back_to_working_day
_months_after, _weeks_after = HAND.months_after, HAND.weeks_after


# --- the deployment, alone and under a Trust's layer ------------------------


class BelfastTrust:
    """A Trust's layer as its developer would write it: its name, a closure day, and the conference timescale its
    own procedures give (made up here)."""

    @hookimpl
    def cpp_builds_on(self):
        return ["northern_ireland"]

    @hookimpl
    def cpp_authority(self):
        return {
            "code": "BHSCT",
            "name": "Belfast Health and Social Care Trust (development)",
            "jurisdiction": "northern_ireland",
            "calendar": {"country": "GB", "subdiv": "NIR"},
            "contacts": [],
        }

    @hookimpl
    def cpp_extra_closure_days(self):
        return [{"date": "2026-12-24", "name": "Trust closure (Christmas Eve)"}]

    @hookimpl
    def cpp_timescales(self):
        return [
            {
                "id": "initial-conference",
                "extends": True,
                "offset": {"amount": 15, "unit": "working_days", "direction": "after"},
                "reminder_days": 3,
                "source": "Belfast Trust's own procedures (U: a made-up figure for the test)",
            }
        ]


def test_northern_ireland_loads_alone_with_its_authority_and_calendar():
    plugins = plugin_set(*NORTHERN_IRELAND)
    authority = plugins.authority()
    assert authority["code"] == "NIR" and authority["jurisdiction"] == "northern_ireland"
    assert authority["calendar"] == {"country": "GB", "subdiv": "NIR"}
    assert plugins.order == ["northern_ireland"]


def test_a_trusts_layer_names_the_trust_and_dates_the_unverified_conference():
    plugins = Plugins(["northern_ireland"], extra=[("belfast", BelfastTrust())])
    assert plugins.authority()["code"] == "BHSCT"
    rules = {rule.id: rule for rule in timescale_rules(plugins)}
    assert rules["initial-conference"].offset == Offset(15, "working_days", "after")
    assert rules["initial-conference"].plugin == "belfast"
    assert rules["initial-conference"].met_when == {"kind": "initial"}, "the rest of the rule is Northern Ireland's"
    assert rules["first-core-group"].offset is None and rules["first-core-group"].plugin == "northern_ireland"
    assert plugins.merged("cpp_terminology") == plugin_set(*NORTHERN_IRELAND).merged("cpp_terminology")
    assert closure_days(plugins) == [Closure("Trust closure (Christmas Eve)", on=date(2026, 12, 24))]


def test_a_trusts_layer_named_before_northern_ireland_is_refused_naming_the_order():
    with pytest.raises(PluginError, match="CPP_PLUGINS=northern_ireland,belfast"):
        Plugins([], extra=[("belfast", BelfastTrust()), ("northern_ireland", cpp_northern_ireland)])


# --- words and categories -----------------------------------------------------


def test_northern_ireland_speaks_of_the_child_protection_case_conference_and_the_register():
    terms = plugin_set(*NORTHERN_IRELAND).merged("cpp_terminology")
    assert terms["initial_conference"] == "initial child protection case conference"
    assert terms["review_conference"] == "review child protection case conference"
    assert terms["pre_birth_conference"] == "pre-birth child protection case conference"
    assert terms["transfer_in_conference"] == "transfer-in child protection case conference"
    assert terms["register"] == "on the child protection register"
    assert terms["plan"] == "child protection plan"
    assert terms["enquiries"] == "child protection investigation"
    assert terms["categories"] == "categories of abuse"


def test_northern_ireland_adds_exploitation_to_the_four_categories_without_englands_census_codes():
    offered = categories(plugin_set(*NORTHERN_IRELAND))
    assert [c["id"] for c in offered] == [
        "physical_abuse",
        "emotional_abuse",
        "sexual_abuse",
        "neglect",
        "exploitation",
    ]
    assert {c["id"]: c["name"] for c in offered}["exploitation"] == "Exploitation"
    assert not any(c.get("census_code") for c in offered)


def test_every_rule_cites_its_source_with_its_grade_and_the_unverified_ones_have_no_date():
    rules = rules_of(*NORTHERN_IRELAND)
    assert all(r.plugin == "northern_ireland" for r in rules.values())
    graded = {rule_id: rule.source for rule_id, rule in rules.items()}
    for rule_id in ("first-review-conference", "later-review-conference", "child-seen"):
        assert "The Child Protection Register" in graded[rule_id] and graded[rule_id].endswith("(V)"), rule_id
    for rule_id in ("strategy-discussion", "child-seen-after-referral", "initial-assessment"):
        assert "(V2: NSPCC Learning" in graded[rule_id], rule_id
    for rule_id in ("initial-conference", "first-core-group"):
        assert rules[rule_id].offset is None, rule_id
        assert "(U)" in graded[rule_id] and "unverified" in rules[rule_id].name, rule_id
    assert "15 working days" in graded["initial-conference"], "the remembered figure is named, not used"


def test_the_child_seen_within_24_hours_counts_a_calendar_day_from_the_referral_and_needs_the_child_seen():
    rule = rules_of(*NORTHERN_IRELAND)["child-seen-after-referral"]
    assert (rule.triggers, rule.when, rule.anchor) == (
        ("referral.decided.v1",),
        {"decision": "strategy_discussion"},
        "received_on",
    )
    assert rule.offset == Offset(1, "calendar_days", "after")
    assert (rule.met_by, rule.met_when, rule.met_on) == (
        ("case_visit.recorded.v1",),
        {"child_seen": True},
        "visited_on",
    )
    assert (rule.owner, rule.deadline, rule.recurrence) == ("social_worker", "child_seen", None)
    assert "child seen within 24 hours" in rule.source and "weekends too" in rule.source
    assert GATEWAY in rule.source


# --- the timetable, walked through the scheduler ----------------------------


@pytest.fixture
def scheduler(make_settings, tmp_path):
    """The scheduler of a CPP_PLUGINS=northern_ireland deployment, in-process."""
    ctx = create_app(make_settings("scheduler", CPP_PLUGINS="northern_ireland", CPP_DATA_DIR=str(tmp_path))).extensions[
        "cpp"
    ]
    yield ctx
    ctx.store.close()


CASES = itertools.count(1)


def _referral(anchor: date, decision: str) -> list[tuple[str, dict]]:
    received = anchor.isoformat()
    return [("referral.decided.v1", {"received_on": received, "decided_on": received, "decision": decision})]


def _discussion(anchor: date) -> list[tuple[str, dict]]:
    data = {"strategy_discussion_id": "sd-1", "held_on": anchor.isoformat(), "initiated_enquiries": True}
    return [("strategy_discussion.held.v1", data)]


def _initial_conference(anchor: date) -> list[tuple[str, dict]]:
    held = {"conference_id": "k1", "kind": "initial", "held_on": anchor.isoformat(), "plan_required": True}
    return [("conference.held.v1", {**held, "plan_id": "p1"})]


def _review(anchor: date) -> list[tuple[str, dict]]:
    held = {"conference_id": "k2", "kind": "review", "held_on": anchor.isoformat(), "decision": "continue"}
    return [("conference.held.v1", {**held, "plan_id": "p1"})]


# Each rule, from TIMESCALES.md section 4 (Northern Ireland), row by row: (its row, the rule, the events that
# start it, the day they happen, the day it is due worked out by hand; None where the row is graded U).
TIMETABLE = [
    (
        "Gateway response: strategy discussion within 24 hours (V2), one working day",
        "strategy-discussion",
        lambda day: _referral(day, "strategy_discussion"),
        date(2025, 7, 11),  # Friday: the weekend and the Twelfth in lieu, Monday 14 July, are closed
        _working_days_after(date(2025, 7, 11), 1),
    ),
    (
        "Gateway response: strategy discussion within 24 hours (V2), one working day",
        "strategy-discussion",
        lambda day: _referral(day, "strategy_discussion"),
        date(2026, 3, 16),  # Monday: St Patrick's Day, Tuesday 17 March, is closed
        _working_days_after(date(2026, 3, 16), 1),
    ),
    (
        "Gateway response: child seen within 24 hours (V2), one calendar day",
        "child-seen-after-referral",
        lambda day: _referral(day, "strategy_discussion"),
        date(2026, 7, 11),  # Saturday: Sunday 12 July, the Twelfth itself, counts (never before the referral)
        date(2026, 7, 12),
    ),
    (
        "Gateway response: child seen within 24 hours (V2), one calendar day",
        "child-seen-after-referral",
        lambda day: _referral(day, "strategy_discussion"),
        date(2026, 3, 16),  # Monday: Tuesday 17 March is St Patrick's Day, so back to Monday 16 March
        _back_to_working_day(date(2026, 3, 17)),
    ),
    (
        "Gateway response: child seen within 24 hours (V2), one calendar day",
        "child-seen-after-referral",
        lambda day: _referral(day, "strategy_discussion"),
        date(2026, 3, 18),  # Wednesday: Thursday 19 March, a working day
        date(2026, 3, 18) + timedelta(days=1),
    ),
    (
        "Gateway response: initial assessment within 10 working days (V2)",
        "initial-assessment",
        lambda day: _referral(day, "assessment"),
        date(2026, 7, 2),  # across the Twelfth in lieu, Monday 13 July 2026
        _working_days_after(date(2026, 7, 2), 10),
    ),
    (
        "Gateway response: initial assessment within 10 working days (V2)",
        "initial-assessment",
        lambda day: _referral(day, "strategy_discussion"),
        date(2027, 3, 15),  # across St Patrick's Day, Good Friday and Easter Monday 2027
        _working_days_after(date(2027, 3, 15), 10),
    ),
    (
        "Initial child protection case conference: not found (U)",
        "initial-conference",
        _discussion,
        date(2026, 7, 10),
        None,
    ),
    ("First core group: not found (U)", "first-core-group", _initial_conference, date(2026, 7, 10), None),
    (
        "Register: first review 3 months after registration (V)",
        "first-review-conference",
        _initial_conference,
        date(2026, 4, 13),  # 13 July 2026 is the Twelfth in lieu: back to Friday 10 July
        _months_after(date(2026, 4, 13), 3),
    ),
    (
        "Register: then at least every 6 months (V)",
        "later-review-conference",
        _review,
        date(2025, 1, 14),  # 14 July 2025 is the Twelfth in lieu: back to Friday 11 July
        _months_after(date(2025, 1, 14), 6),
    ),
    (
        "Visits: the child seen at least every 4 weeks (V)",
        "child-seen",
        _initial_conference,
        date(2026, 2, 17),  # 17 March 2026 is St Patrick's Day: back to Monday 16 March
        _weeks_after(date(2026, 2, 17), 4),
    ),
]


def _deliver(ctx, events: list[tuple[str, dict]]) -> str:
    n = next(CASES)
    case_id = f"case-{n}"
    for event_type, data in events:
        deliver_event(ctx, event_type, {"case_id": case_id, "child_id": f"child-{n}", **data})
    return case_id


def _deadlines(ctx, case_id: str, rule_id: str) -> list[dict]:
    docs = ctx.store.collection("deadlines").find({"case_id": case_id, "rule_id": rule_id})
    return sorted(docs, key=lambda d: d["occurrence"])


def test_the_timetable_covers_every_rule():
    assert {rule_id for _, rule_id, *_ in TIMETABLE} == set(rules_of(*NORTHERN_IRELAND))


def test_the_hand_worked_dates_are_the_ones_the_comments_say():
    worked = [expected for *_, expected in TIMETABLE]
    assert worked == [
        date(2025, 7, 15),
        date(2026, 3, 18),
        date(2026, 7, 12),
        date(2026, 3, 16),
        date(2026, 3, 19),
        date(2026, 7, 17),
        date(2027, 4, 1),
        None,
        None,
        date(2026, 7, 10),
        date(2025, 7, 11),
        date(2026, 3, 16),
    ]


@pytest.mark.parametrize("row, rule_id, events, day, expected", TIMETABLE, ids=[f"{r[1]}-{r[3]}" for r in TIMETABLE])
def test_each_rule_falls_due_on_the_northern_irish_working_day(scheduler, row, rule_id, events, day, expected):
    case_id = _deliver(scheduler, events(day))
    [deadline] = _deadlines(scheduler, case_id, rule_id)
    assert deadline["status"] == "pending", row
    assert deadline["due_on"] == (expected and expected.isoformat()), row
    assert deadline["plugin"] == "northern_ireland"


def test_a_visit_seeing_the_child_sets_the_next_four_weeks_and_one_not_seeing_them_does_not(scheduler):
    conference = date(2026, 5, 18)
    case_id = _deliver(scheduler, _initial_conference(conference))
    visit = {"plan_id": "p1", "announced": True, "seen_alone": False}
    for n, (on, seen) in enumerate(((date(2026, 6, 12), False), (date(2026, 6, 15), True)), start=1):
        data = {"case_id": case_id, "child_id": "c", "visit_id": f"v{n}", "visited_on": on.isoformat()}
        deliver_event(scheduler, "visit.recorded.v1", {**data, **visit, "child_seen": seen})
    first, second = _deadlines(scheduler, case_id, "child-seen")
    assert (first["status"], first["due_on"]) == ("met", _weeks_after(conference, 4).isoformat())
    # Seen on Monday 15 June 2026: four weeks on is Monday 13 July, the Twelfth in lieu, so Friday 10 July.
    assert second["status"] == "pending"
    assert second["due_on"] == _weeks_after(date(2026, 6, 15), 4).isoformat() == "2026-07-10"


def test_a_case_visit_seeing_the_child_meets_the_24_hours_and_one_not_seeing_them_does_not(scheduler):
    # Wednesday 18 March 2026: due Thursday 19 March, a working day.
    case_id = _deliver(scheduler, _referral(date(2026, 3, 18), "strategy_discussion"))
    visit = {"case_id": case_id, "child_id": "c", "announced": False, "seen_alone": False}
    deliver_event(
        scheduler,
        "case_visit.recorded.v1",
        {**visit, "visit_id": "v1", "visited_on": "2026-03-18", "child_seen": False},
    )
    [deadline] = _deadlines(scheduler, case_id, "child-seen-after-referral")
    assert (deadline["status"], deadline["due_on"]) == ("pending", "2026-03-19")
    deliver_event(
        scheduler, "case_visit.recorded.v1", {**visit, "visit_id": "v2", "visited_on": "2026-03-19", "child_seen": True}
    )
    [deadline] = _deadlines(scheduler, case_id, "child-seen-after-referral")
    assert deadline["status"] == "met" and deadline["met"]["on"] == "2026-03-19" and not deadline["met"]["late"]


def test_no_retention_period_is_given_so_nothing_is_erased_until_the_council_states_its_own():
    from cpp_northern_ireland import cpp_retention_rules
    from cpp_shared.contracts.retention import retention_rules
    from cpp_shared.plugins import Plugins

    assert cpp_retention_rules() == []
    assert retention_rules(Plugins(["northern_ireland"])) == []
