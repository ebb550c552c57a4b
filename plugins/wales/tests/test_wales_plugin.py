"""Wales's plugin set as a deployment loads it, alone and under a council's plugin: its authority, words,
categories and rules, and each rule walked through the scheduler's deadlines on dates that cross Wales's own
public holidays.

Expected dates are counted here, from a hand-written list of the Welsh bank holidays of 2026 and 2027 (the
gov.uk list for England and Wales), never with the calendar library the scheduler uses."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import count
from typing import Any

import pytest

from cpp_scheduler.domain.calendar import WorkingCalendar
from cpp_scheduler.domain.deadlines import Scope, on_event
from cpp_scheduler.domain.rules import closure_days, effective_rules
from cpp_shared.contracts.hook_answers import categories
from cpp_shared.contracts.timescales import NormAndLimit, Offset
from cpp_shared.hookspecs import PluginError, hookimpl
from cpp_shared.plugins import Plugins
from cpp_shared.testing import plugin_set, rules_of
from cpp_shared.testing.hand_count import HandCount

WALES = ("wales",)  # CPP_PLUGINS

# Bank holidays in Wales (the same days as England's; St David's Day, 1 March, is not one).
WELSH_HOLIDAYS = {
    date(2026, 1, 1): "New Year's Day",
    date(2026, 4, 3): "Good Friday",
    date(2026, 4, 6): "Easter Monday",
    date(2026, 5, 4): "Early May bank holiday",
    date(2026, 5, 25): "Spring bank holiday",
    date(2026, 8, 31): "Summer bank holiday",
    date(2026, 12, 25): "Christmas Day",
    date(2026, 12, 28): "Boxing Day (substitute day)",
    date(2027, 1, 1): "New Year's Day",
    date(2027, 3, 26): "Good Friday",
    date(2027, 3, 29): "Easter Monday",
    date(2027, 5, 3): "Early May bank holiday",
    date(2027, 5, 31): "Spring bank holiday",
    date(2027, 8, 30): "Summer bank holiday",
    date(2027, 12, 27): "Christmas Day (substitute day)",
    date(2027, 12, 28): "Boxing Day (substitute day)",
}


HAND = HandCount(WELSH_HOLIDAYS)
working_days_after, on_or_before, months_after = HAND.working_days_after, HAND.back_to_working_day, HAND.months_after


# --- the scheduler, walked event by event ------------------------------------


class Walk:
    """One case's deadlines, as the scheduler's handler keeps them: each event through ``on_event``."""

    def __init__(self, plugins: Plugins):
        self.rules = effective_rules(plugins)
        self.cal = WorkingCalendar.for_authority(plugins.authority(), closure_days(plugins))
        self.scope = Scope(plugins.authority()["code"], "case-1", "plan-1", "child-1")
        self.deadlines: dict[str, dict[str, Any]] = {}
        self.ids = count(1)

    def send(self, etype: str, **data: Any) -> None:
        data = {"case_id": "case-1", "child_id": "child-1", **data}
        event = {"id": f"e{next(self.ids)}", "type": etype, "time": "2026-01-01T09:00:00Z", "data": data}
        changes = on_event(event, self.scope, self.rules, list(self.deadlines.values()), self.cal, now="2026-01-01")
        for doc in changes.inserts:
            self.deadlines[doc["_id"]] = {**doc, "version": 1}
        for doc, version in changes.replaces:
            self.deadlines[doc["_id"]] = {**doc, "version": version + 1}

    def open(self, rule_id: str) -> dict[str, Any]:
        [doc] = [d for d in self.deadlines.values() if d["rule_id"] == rule_id and d["status"] == "pending"]
        return doc


def _initial_conference(on: date) -> dict[str, Any]:
    return {"conference_id": "k1", "kind": "initial", "held_on": on.isoformat(), "plan_required": True}


# Each row of TIMESCALES.md section 3 (Wales) that sets a timescale, walked across Welsh holidays:
# (the row, the rule, the event that starts it, its data, the due date worked by hand, the same counted here).
ROWS = [
    (
        "Assessment completion: 42 working days from the start of the s.47 enquiries (V, c3pt2-p13)",
        "assessment",
        "strategy_discussion.held.v1",
        {"held_on": "2026-03-02", "initiated_enquiries": True},
        # Mon 2 Mar 2026: 21 working days to Tue 31 Mar, Wed 1 and Thu 2 Apr (23), Good Friday 3 Apr and Easter
        # Monday 6 Apr skipped, 7-10 Apr (27), 13-17 (32), 20-24 (37), 27-30 (41), Fri 1 May (42).
        date(2026, 5, 1),
        working_days_after(date(2026, 3, 2), 42),
    ),
    (
        "First core group: 10 working days after the ICPC (V, c3pt2-p13; c4-p4)",
        "first-core-group",
        "conference.held.v1",
        _initial_conference(date(2026, 8, 20)),
        # Thu 20 Aug 2026: Fri 21 (1), 24-28 (6), the Summer bank holiday Mon 31 Aug skipped, Tue 1 - Fri 4 Sep (10).
        date(2026, 9, 4),
        working_days_after(date(2026, 8, 20), 10),
    ),
    (
        "Outline plan and decisions circulated: 5 working days (V, c3pt2-p11)",
        "outline-plan-circulated",
        "conference.held.v1",
        _initial_conference(date(2026, 4, 1)),
        # Wed 1 Apr 2026: Thu 2 Apr (1), Good Friday 3 Apr and Easter Monday 6 Apr skipped, Tue 7 - Fri 10 Apr (5).
        date(2026, 4, 10),
        working_days_after(date(2026, 4, 1), 5),
    ),
    (
        "First review: within 3 months of the initial conference (V, c4-p8)",
        "first-review-conference",
        "conference.held.v1",
        _initial_conference(date(2026, 1, 6)),
        # Tue 6 Jan 2026 + 3 months = Easter Monday 6 Apr; back over the weekend and Good Friday to Thu 2 Apr.
        date(2026, 4, 2),
        months_after(date(2026, 1, 6), 3),
    ),
    (
        "Later reviews: at least every 6 months (V, c4-p8; c3pt2-p13)",
        "later-review-conference",
        "conference.held.v1",
        {"conference_id": "k2", "kind": "review", "held_on": "2026-11-03", "decision": "continue"},
        # Tue 3 Nov 2026 + 6 months = the Early May bank holiday Mon 3 May 2027; back over the weekend to Fri 30 Apr.
        date(2027, 4, 30),
        months_after(date(2026, 11, 3), 6),
    ),
    (
        "Transfer-in conference: 15 working days after being notified of a permanent move (V, c4-p9)",
        "transfer-in-conference",
        "transfer.received.v1",
        {"notified_on": "2026-05-15", "with_package": False},
        # Fri 15 May 2026: 18-22 May (5), the Spring bank holiday Mon 25 May skipped, 26-29 (9), 1-5 Jun (14),
        # Mon 8 Jun (15).
        date(2026, 6, 8),
        working_days_after(date(2026, 5, 15), 15),
    ),
    (
        "Transfer-in conference across St David's Day, which is a working day (V, c4-p9)",
        "transfer-in-conference",
        "transfer.received.v1",
        {"notified_on": "2027-02-26", "with_package": False},
        # Fri 26 Feb 2027: Mon 1 Mar (St David's Day, counted) to Fri 5 Mar (5), 8-12 (10), 15-19 (15).
        date(2027, 3, 19),
        working_days_after(date(2027, 2, 26), 15),
    ),
]


@pytest.mark.parametrize("row, rule_id, etype, data, by_hand, counted", ROWS, ids=[r[1] for r in ROWS])
def test_each_rule_falls_on_the_welsh_working_day_its_row_gives(row, rule_id, etype, data, by_hand, counted):
    assert by_hand == counted, f"{row}: the hand count and the count here disagree"
    walk = Walk(plugin_set(*WALES))
    walk.send(etype, **data)
    doc = walk.open(rule_id)
    assert doc["due_on"] == by_hand.isoformat(), row
    assert doc["source"].startswith("Wales Safeguarding Procedures") and "(V)" in doc["source"]


def test_core_groups_recur_monthly_and_no_more_than_six_weekly_across_christmas():
    # TIMESCALES.md section 3, "First core group": "thereafter at monthly but no more than at 6 weekly intervals":
    # each meeting due a calendar month after the last, overdue only after 6 weeks.
    walk = Walk(plugin_set(*WALES))
    walk.send("conference.held.v1", **_initial_conference(date(2026, 11, 16)))
    # Mon 16 Nov 2026 + 10 working days = Mon 30 Nov (no holiday between).
    assert walk.open("first-core-group")["due_on"] == working_days_after(date(2026, 11, 16), 10).isoformat()
    meetings = [
        # (held on, due by hand, overdue after by hand)
        # Wed 25 Nov 2026 + 1 month = Christmas Day, Fri 25 Dec: back to Thu 24 Dec. + 6 weeks = Wed 6 Jan 2027.
        (date(2026, 11, 25), date(2026, 12, 24), date(2027, 1, 6)),
        # Thu 31 Dec 2026 + 1 month = Sun 31 Jan 2027: back to Fri 29 Jan. + 6 weeks = Thu 11 Feb 2027.
        (date(2026, 12, 31), date(2027, 1, 29), date(2027, 2, 11)),
        # Fri 29 Jan 2027 + 1 month = 28 Feb (2027 has no 29th), a Sunday: back to Fri 26 Feb. + 6 weeks = Fri 12 Mar.
        (date(2027, 1, 29), date(2027, 2, 26), date(2027, 3, 12)),
    ]
    for occurrence, (held, due, latest) in enumerate(meetings, start=2):
        walk.send("core_group.held.v1", meeting_id="m", plan_id="plan-1", held_on=held.isoformat())
        doc = walk.open("first-core-group")
        assert doc["occurrence"] == occurrence
        assert (due, latest) == (months_after(held, 1), on_or_before(held + timedelta(weeks=6)))
        assert (doc["due_on"], doc["latest_on"]) == (due.isoformat(), latest.isoformat()), held
        assert doc["name"].endswith(f"(monthly, and no more than 6-weekly, #{occurrence})")
    assert "care and support protection plan" in doc["name"]


def test_the_initial_conference_is_graded_u_and_made_without_a_date():
    # TIMESCALES.md section 3, "Initial CP conference": 15 working days, U (indirect only).
    rule = rules_of(*WALES)["initial-conference"]
    assert rule.offset is None and "(U)" in rule.source and "15 days" in rule.source
    assert rule.is_met_by("conference.held.v1", {"kind": "initial"})
    assert rule.is_cancelled_by("enquiry.completed.v1", {"conference_required": False})
    walk = Walk(plugin_set(*WALES))
    walk.send("strategy_discussion.held.v1", held_on="2026-12-17", initiated_enquiries=True)
    doc = walk.open("initial-conference")
    assert doc["needs_date"] is True and doc["due_on"] is None


def test_wales_loads_alone_with_its_authority_and_calendar():
    plugins = plugin_set(*WALES)
    authority = plugins.authority()
    assert (authority["code"], authority["jurisdiction"]) == ("WLS", "wales")
    assert authority["calendar"] == {"country": "GB", "subdiv": "WLS"}
    assert authority["looked_after_ends_plan"] is False  # de-registration: c4-p9
    rules = rules_of(*WALES)
    assert set(rules) == {
        "initial-conference",
        "assessment",
        "first-core-group",
        "first-review-conference",
        "later-review-conference",
        "transfer-in-conference",
        "outline-plan-circulated",
    }
    assert all(r.plugin == "wales" for r in rules.values())
    assert rules["first-core-group"].offset == Offset(10, "working_days", "after")
    assert rules["first-core-group"].recurrence == NormAndLimit(1, "months", 6, "weeks")
    assert rules["first-review-conference"].offset == Offset(3, "months", "after")
    assert rules["later-review-conference"].offset == Offset(6, "months", "after")
    assert rules["assessment"].met_by == ("assessment.completed.v1",) and rules["assessment"].met_on == "completed_on"
    circulated = rules["outline-plan-circulated"]
    assert circulated.met_by == ("conference.record_issued.v1",) and circulated.met_on == "issued_on"
    assert circulated.key == "conference_id" and circulated.owner == "chair"
    calendar = WorkingCalendar.for_authority(authority)
    assert [d for d in WELSH_HOLIDAYS if calendar.is_working_day(d)] == []
    assert calendar.is_working_day(date(2027, 3, 1))  # St David's Day
    assert calendar.is_working_day(date(2026, 8, 3))  # Scotland's summer bank holiday, not Wales's


class Cardiff:
    """A council's plugin on top of wales, as a Welsh council's developer would write it: its authority, a
    closure day, and its own timescale for the initial conference, which the procedures leave open."""

    @hookimpl
    def cpp_builds_on(self):
        return ["wales"]

    @hookimpl
    def cpp_authority(self):
        return {
            "code": "CDF",
            "name": "Cardiff Council (example)",
            "jurisdiction": "wales",
            "calendar": {"country": "GB", "subdiv": "WLS"},
            "contacts": [],
        }

    @hookimpl
    def cpp_extra_closure_days(self):
        return [{"date": "2026-12-24", "name": "Council closure (Christmas Eve)"}]

    @hookimpl
    def cpp_timescales(self):
        return [
            {
                "id": "initial-conference",
                "extends": True,
                "name": "Initial child protection conference",
                "offset": {"amount": 15, "unit": "working_days", "direction": "after"},
                "source": "Cardiff's own procedures: 15 working days from the strategy discussion (V: example)",
            }
        ]


def test_wales_loads_under_a_council_layer_that_dates_the_initial_conference():
    plugins = Plugins(["wales"], extra=[("cardiff", Cardiff())])
    assert plugins.authority()["code"] == "CDF"
    rules = {r.id: r for r in effective_rules(plugins)}
    assert rules["initial-conference"].plugin == "cardiff"
    assert rules["initial-conference"].offset == Offset(15, "working_days", "after")
    assert rules["initial-conference"].met_when == {"kind": "initial"}  # kept from wales
    assert {r.plugin for r in rules.values()} == {"wales", "cardiff"}
    assert plugins.merged("cpp_terminology")["plan"] == "care and support protection plan"

    walk = Walk(plugins)
    walk.send("strategy_discussion.held.v1", held_on="2026-12-17", initiated_enquiries=True)
    # Thu 17 Dec 2026: 18, 21, 22, 23 (4), the council's closure on 24 Dec, Christmas Day and Boxing Day's
    # substitute (28 Dec) skipped, 29-31 (7), New Year's Day skipped, 4-8 Jan (12), 11-13 (15): Wed 13 Jan 2027.
    expected = working_days_after(date(2026, 12, 17), 15, frozenset({date(2026, 12, 24)}))
    assert expected == date(2027, 1, 13)
    assert walk.open("initial-conference")["due_on"] == expected.isoformat()


def test_a_council_layer_without_wales_before_it_is_refused():
    with pytest.raises(PluginError, match="builds on 'wales'"):
        Plugins([], extra=[("cardiff", Cardiff())])


def test_wales_registers_under_its_five_categories_with_financial_abuse():
    offered = categories(plugin_set(*WALES))
    assert [(c["id"], c["name"]) for c in offered] == [
        ("physical_abuse", "Physical abuse"),
        ("emotional_abuse", "Emotional or psychological abuse"),
        ("sexual_abuse", "Sexual abuse"),
        ("financial_abuse", "Financial abuse"),
        ("neglect", "Neglect"),
    ]
    assert all(c["census_code"] is None for c in offered)  # England's census does not apply


def test_wales_speaks_of_the_register_and_the_care_and_support_protection_plan():
    terms = plugin_set(*WALES).merged("cpp_terminology")
    assert terms["plan"] == "care and support protection plan"
    assert terms["register"] == "on the child protection register"
    assert terms["initial_conference"] == "initial child protection conference"
    assert terms["review_conference"] == "review child protection conference"
    assert terms["transfer_in_conference"] == "transfer-in child protection conference"
    assert terms["enquiries"] == "section 47 enquiries"
    assert terms["categories"] == "categories of abuse and neglect"


def test_wales_escalates_by_an_early_review_or_legal_planning_each_graded():
    routes = {r["id"]: r for r in plugin_set(*WALES).layered("cpp_escalation_routes")}
    assert set(routes) == {"early_review_conference", "legal_planning"}
    assert all(r["recipient"] is None for r in routes.values())  # both within the council
    assert "care and support protection plan" in routes["early_review_conference"]["description"]
    assert "(U)" in routes["early_review_conference"]["source"]
    assert (
        "Practice Direction 12A" in routes["legal_planning"]["source"] and "(U:" in routes["legal_planning"]["source"]
    )


def test_no_retention_period_is_given_so_nothing_is_erased_until_the_council_states_its_own():
    from cpp_shared.contracts.retention import retention_rules
    from cpp_shared.plugins import Plugins
    from cpp_wales import cpp_retention_rules

    assert cpp_retention_rules() == []
    assert retention_rules(Plugins(["wales"])) == []
