"""A case closed (case.closed.v1) cancels every open deadline of its case in
the scheduler, as an ended plan does, and opens no next occurrence; a met
deadline stays met."""

from __future__ import annotations

from tests.unit.test_recurrence_norm_limit import Case


def test_a_closed_case_cancels_its_open_deadlines_and_keeps_those_met():
    case = Case()
    case.send("conference.held.v1", kind="initial", held_on="2026-05-18")
    case.send("core_group.held.v1", held_on="2026-05-26")  # the first met, the next one open
    [met] = [d for d in case.deadlines.values() if d["status"] == "met"]
    opened = case.pending()
    case.send("case.closed.v1", case_id="c1", closed_on="2026-06-01", reason="RC7")
    assert case.deadlines[met["_id"]]["status"] == "met"
    cancelled = case.deadlines[opened["_id"]]
    assert cancelled["status"] == "cancelled" and cancelled["cancelled"]["type"] == "case.closed.v1"
    assert "reason" not in cancelled["cancelled"]  # a plan's ending says how it ended; a closure has no such reason
    assert [d for d in case.deadlines.values() if d["status"] in ("pending", "approaching", "overdue")] == []


def test_another_case_event_cancels_nothing():
    case = Case()
    case.send("conference.held.v1", kind="initial", held_on="2026-05-18")
    case.send("case.allocated.v1", case_id="c1", team="Area South")
    assert case.pending()["status"] == "pending"
