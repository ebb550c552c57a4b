"""Every event a shipped rule waits for is published by some service (it is
in the event catalogue) and reaches the scheduler's queue (its bindings):
otherwise a deadline could never be met, nor cancelled, nor opened."""

from __future__ import annotations

import pytest

from cpp_scheduler.domain.rules import RuleError, effective_rules
from cpp_shared.contracts import catalogue
from cpp_shared.hookspecs import hookimpl
from cpp_shared.plugins import Plugins

DEPLOYMENTS = [["england"], ["england", "bromley"], ["england", "greenwich"], ["guernsey"], ["scotland"]]
DEPLOYMENTS.append(["wales"])
DEPLOYMENTS.append(["northern_ireland"])


@pytest.mark.parametrize("plugins", DEPLOYMENTS, ids=",".join)
def test_every_event_a_rule_names_is_published_and_reaches_the_scheduler(plugins):
    problems = []
    for rule in effective_rules(Plugins(plugins)):
        named = [*rule.triggers, *rule.met_by, *(c.event for c in rule.cancelled_by)]
        for event_type in named:
            if event_type not in catalogue.CATALOGUE:
                problems.append(f"{rule.id}: {event_type} is published by no service")
            elif "scheduler" not in catalogue.consumers(event_type):
                problems.append(f"{rule.id}: {event_type} does not reach the scheduler's queue")
    assert not problems, "\n".join(problems)


class HearsNothing:
    """A plugin whose rule waits for an event the scheduler's queue is not bound to."""

    @hookimpl
    def cpp_timescales(self):
        return [
            {
                "id": "lookup-follow-up",
                "name": "Follow up a lookup",
                "trigger": "lookup.performed.v1",
                "anchor": "performed_at",
                "offset": {"amount": 1, "unit": "working_days"},
                "deadline": "follow_up",
                "owner": "social_worker",
                "met_by": "visit.recorded.v1",
                "met_on": "visited_on",
                "source": "a council's practice note (U)",
            }
        ]


def test_a_rule_waiting_for_an_event_the_scheduler_does_not_hear_stops_the_start():
    with pytest.raises(RuleError, match="the scheduler does not hear 'lookup.performed.v1'") as refused:
        effective_rules(Plugins(["england"], extra=[("hears-nothing", HearsNothing())]))
    assert "hears-nothing" in str(refused.value) and "trigger" in str(refused.value)
