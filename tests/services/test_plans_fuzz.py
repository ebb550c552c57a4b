"""Fuzzing the plans service's API (see fuzzing.py), as four roles."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from cpp_plans.app import create_app
from tests.services.fuzzing import CHECKS, FuzzTarget

pytestmark = [pytest.mark.fuzz, pytest.mark.slow]  # `make fuzz` runs them alone; `make test` too

TARGET = FuzzTarget("plans", create_app)
schema = TARGET.schema


@pytest.mark.parametrize("role", ["social_worker", "chair", "auditor", "partner"])
@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_no_5xx_and_no_response_outside_the_document(case, role):
    case.call_and_validate(headers=TARGET.headers(role), checks=CHECKS)
