"""Fuzzing the notify service's API (see fuzzing.py). A subscription and a
delivery are on record, so that valid ids are among what the fuzzer meets."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from cpp_notify.app import create_app
from tests.helpers import deliver_event
from tests.services.fuzzing import CHECKS, FuzzTarget

pytestmark = [pytest.mark.fuzz, pytest.mark.slow]  # `make fuzz` runs them alone; `make test` too

TARGET = FuzzTarget("notify", create_app)
TARGET.app.test_client().post(
    "/v1/subscriptions",
    headers=TARGET.headers("admin"),
    json={"url": "http://127.0.0.1:9/hook", "event_types": ["plan.*"], "allow_private": True, "owner": "fuzz-partner"},
)
deliver_event(
    TARGET.ctx,
    "plan.created.v1",
    {"plan_id": "plan-1", "case_id": "case-1", "child_id": "child-1", "status": "outline", "created_on": "2026-11-20"},
    subject="plan-1",
)
schema = TARGET.schema


@pytest.mark.parametrize("role", ["partner", "admin", "social_worker"])
@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_no_5xx_and_no_response_outside_the_document(case, role):
    case.call_and_validate(headers=TARGET.headers(role), checks=CHECKS)
