"""Plans made before a plan kept its initial categories and the child's earlier plans are given them by the
migration (cpp migrate): from version 1 of each plan and the plans store, on SQLite and MongoDB alike; run
twice, the second run changes nothing."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from cpp_plans.commands import migrate
from cpp_plans.migrations import fill_categories_and_previous_plans
from cpp_plans.store import PLAN_VERSIONS, PLANS
from cpp_shared.store import open_store
from tests.helpers import cli_environment

FIXTURE = Path(__file__).parents[1] / "fixtures" / "stores" / "plans-689b98e.db"


def old_plan(plan_id, child_id, created_on, categories, first_categories=None):
    """A plan as stored before the new fields, with its version 1 when ``first_categories`` is given."""
    plan = {
        "_id": plan_id,
        "authority": "ENG",
        "case_id": f"case-{plan_id}",
        "child_id": child_id,
        "status": "active",
        "created_on": created_on,
        "plan_version": 2 if first_categories else 1,
        "content": {"categories": categories},
        "categories": categories,
        "key_worker": "Sam Social",
        "activated_on": None,
        "ended": None,
        "escalations": [],
    }
    version = {"_id": f"{plan_id}:1", "plan_id": plan_id, "authority": "ENG", "number": 1, "status": "outline"}
    return plan, ({**version, "content": {"categories": first_categories}} if first_categories else None)


@pytest.mark.parametrize("kind", ["sqlite", "mongomock"])
def test_old_plans_get_their_initial_categories_and_previous_plans_and_a_second_run_changes_nothing(kind, tmp_path):
    url = f"sqlite:///{tmp_path / 'plans.db'}" if kind == "sqlite" else f"mongomock://migrate_{uuid.uuid4().hex}"
    store = open_store(url)
    with store.unit_of_work() as uow:
        for plan, version in [
            old_plan("p-later", "child-a", "2024-05-01", ["neglect"]),
            old_plan("p-first", "child-a", "2023-02-01", ["emotional_abuse"], first_categories=["neglect"]),
            old_plan("p-other", "child-b", "2024-01-01", ["physical_abuse"]),
        ]:
            uow.insert(PLANS, plan)
            if version:
                uow.insert(PLAN_VERSIONS, version)

    assert sorted(fill_categories_and_previous_plans(store)) == ["p-first", "p-later", "p-other"]
    plans = {p["_id"]: p for p in store.collection(PLANS).find({})}
    assert plans["p-first"]["initial_categories"] == ["neglect"]  # its version 1's, not its current ones
    assert plans["p-first"]["categories"] == ["emotional_abuse"]
    assert plans["p-later"]["initial_categories"] == ["neglect"]  # no version on record: its current ones
    assert (plans["p-first"]["previous_plan_ids"], plans["p-first"]["previous_plans"]) == ([], 0)
    assert (plans["p-later"]["previous_plan_ids"], plans["p-later"]["previous_plans"]) == (["p-first"], 1)
    assert (plans["p-other"]["previous_plan_ids"], plans["p-other"]["previous_plans"]) == ([], 0)

    assert fill_categories_and_previous_plans(store) == []
    assert {p["_id"]: p for p in store.collection(PLANS).find({})} == plans


def test_cpp_migrate_fills_a_store_made_by_earlier_code(data_dir, make_settings, monkeypatch):
    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURE, data_dir / "plans.db")
    settings = make_settings("plans")
    cli_environment(monkeypatch, settings)
    run = CliRunner().invoke(migrate, [])
    assert run.exit_code == 0, run.output
    assert "plans given their initial categories and previous plans: 2" in run.output
    again = CliRunner().invoke(migrate, [])
    assert "plans given their initial categories and previous plans: applied before" in again.output

    store = open_store(f"sqlite:///{settings.data_dir / 'plans.db'}")
    for plan in store.collection(PLANS).find({}):
        assert plan["initial_categories"] and plan["previous_plans"] == 0
