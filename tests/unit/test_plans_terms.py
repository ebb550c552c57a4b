"""What the plans service answers a person in words (a partner's lookup) is in the deployment's words."""

from __future__ import annotations

import pytest

from cpp_plans.api.lookup import summary, transferred_summary
from cpp_shared.plugins import Plugins
from cpp_shared.terminology import terminology

PLAN = {"created_on": "2026-05-14", "ended": {"on": "2026-11-02"}}
MOVING = {"since": "2026-05-14", "from_council": {"name": "Bristol City Council"}}


@pytest.mark.parametrize(
    "deployment, plan, conference",
    [
        ("wales", "care and support protection plan", "transfer-in conference"),
        ("scotland", "child protection plan", "transfer-in child protection planning meeting"),
        ("england", "child protection plan", "transfer-in conference"),
    ],
)
def test_a_partners_answer_names_the_plan_in_the_deployments_words(deployment, plan, conference):
    terms = terminology(Plugins([deployment]))
    named = plan[:1].upper() + plan[1:]
    assert summary("in_force", PLAN, terms) == f"{named} in force since 14 May 2026"
    assert summary("ended", PLAN, terms) == f"{named} from 14 May 2026, ended on 2 November 2026"
    assert summary("none", None, terms) == f"No {plan}"
    assert transferred_summary(MOVING, terms) == (
        f"{named} in force since 14 May 2026 (transferred in from Bristol City Council, pending the {conference})"
    )
