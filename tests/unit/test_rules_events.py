"""Every event a shipped rule waits for is published by some service (it is
in the event catalogue) and reaches the scheduler's queue (its bindings):
otherwise a deadline could never be met, nor cancelled, nor opened."""
from __future__ import annotations

import pytest

from cpp_scheduler.rules import effective_rules
from cpp_shared.messaging import catalogue
from cpp_shared.plugins import Plugins

DEPLOYMENTS = [["england"], ["england", "bromley"], ["england", "greenwich"], ["guernsey"], ["scotland"]]


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
