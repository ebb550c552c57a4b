"""Fuzzing the scheduler's API (see fuzzing.py). A case with deadlines is on
record, so that a plan's calendar has something to show."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from cpp_scheduler.app import create_app
from tests.helpers import deliver_event
from tests.services.fuzzing import CHECKS, FuzzTarget

pytestmark = [pytest.mark.fuzz, pytest.mark.slow]  # `make fuzz` runs them alone; `make test` too

TARGET = FuzzTarget("scheduler", create_app)
deliver_event(
    TARGET.ctx,
    "strategy_discussion.held.v1",
    {"case_id": "case-1", "child_id": "child-1", "held_on": "2026-11-02", "initiated_enquiries": True},
)
deliver_event(
    TARGET.ctx,
    "conference.held.v1",
    {
        "conference_id": "conf-1",
        "case_id": "case-1",
        "child_id": "child-1",
        "kind": "initial",
        "held_on": "2026-11-20",
        "plan_required": True,
        "plan_id": "plan-1",
    },
)
deliver_event(
    TARGET.ctx,
    "plan.created.v1",
    {"plan_id": "plan-1", "case_id": "case-1", "child_id": "child-1", "status": "outline", "created_on": "2026-11-20"},
    subject="plan-1",
)
schema = TARGET.schema


@pytest.mark.parametrize("role", ["social_worker", "team_manager", "auditor", "partner"])
@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_no_5xx_and_no_response_outside_the_document(case, role):
    case.call_and_validate(headers=TARGET.headers(role), checks=CHECKS)
