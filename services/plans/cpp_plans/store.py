"""The plans service's collections and their indexes.

* ``children``: each child registered with the authority (api/children.py);
* ``cases``: a child's child protection episode, from the strategy
  discussion to the plan's end;
* ``families``: a household's children and the people around them, and
  ``family_conferences``: a conference about several of its children (each
  child's own conference is in ``conferences``);
* ``conferences``: the initial and review conferences of a case;
* ``plans`` and ``plan_versions``: each plan as it is now, and every
  version of it that was agreed (immutable);
* ``core_group_meetings`` and ``visits``: what was done under a plan (a
  visit before any plan is kept with them, with its case and no plan);
* ``significant_changes``: changes in a child's circumstances that a plan's
  core group noticed, and when it told the conference's chair;
* ``reports`` and ``report_versions``: reports to conference;
* ``resource_panel_requests`` and ``child_in_need_plans``;
* ``restrictions`` and ``break_glass_grants``: who may see a restricted
  child's records (access.py);
* ``transfer_histories``: the records of the council a child moved from,
  as its package brought them (read-only history);
* ``legal_holds``: what stops a child's records being erased when their
  retention ends (service_layer/retention.py);
* the staff directory keeps cpp_shared.staff's name.
"""

from __future__ import annotations

from cpp_shared import staff as staff_directory
from cpp_shared.store import Store

CHILDREN = "children"
CASES = "cases"
CONFERENCES = "conferences"
PLANS = "plans"
PLAN_VERSIONS = "plan_versions"
CORE_GROUP_MEETINGS = "core_group_meetings"
VISITS = "visits"
SIGNIFICANT_CHANGES = "significant_changes"
REPORTS = "reports"
REPORT_VERSIONS = "report_versions"
RESOURCE_PANEL_REQUESTS = "resource_panel_requests"
CHILD_IN_NEED_PLANS = "child_in_need_plans"
RESTRICTIONS = "restrictions"  # one per child that was ever restricted, _id the child's id
GRANTS = "break_glass_grants"
FAMILIES = "families"
FAMILY_CONFERENCES = "family_conferences"
TRANSFER_HISTORIES = "transfer_histories"
LEGAL_HOLDS = "legal_holds"  # a child's legal holds: their records are not erased while one is in force


def setup_store(store: Store) -> None:
    """Every index the plans service reads by (idempotent)."""
    children = store.collection(CHILDREN)
    # "<authority>:<NHS number>": one child per NHS number in an authority.
    children.create_index("nhs_key", unique=True)
    children.create_index("family_name_key")
    children.create_index("date_of_birth")
    for field in ("child_id", "social_worker.user", "team_manager.user", "team", "status"):
        store.collection(CASES).create_index(field)
    # "<authority>:<child id>" on an open case only: one open case per child (lifecycle.with_open_key).
    store.collection(CASES).create_index("open_key", unique=True)
    store.collection(FAMILIES).create_index("children")
    store.collection(FAMILY_CONFERENCES).create_index("family_id")
    store.collection(CONFERENCES).create_index("case_id")
    for field in ("child_id", "status", "key_worker", "key_worker_user"):
        store.collection(PLANS).create_index(field)
    store.collection(PLAN_VERSIONS).create_index("plan_id")
    for field in ("plan_id", "case_id"):
        store.collection(VISITS).create_index(field)
    store.collection(SIGNIFICANT_CHANGES).create_index("plan_id")
    for field in ("conference_id", "status"):
        store.collection(REPORTS).create_index(field)
    store.collection(REPORT_VERSIONS).create_index("report_id")
    for field in ("plan_id", "status"):
        store.collection(RESOURCE_PANEL_REQUESTS).create_index(field)
    store.collection(CHILD_IN_NEED_PLANS).create_index("case_id")
    store.collection(RESTRICTIONS).create_index("active")
    grants = store.collection(GRANTS)
    grants.create_index("child_id")
    grants.create_index("user")
    store.collection(TRANSFER_HISTORIES).create_index("child_id")
    store.collection(LEGAL_HOLDS).create_index("child_id")
    staff_directory.setup_store(store)


def plans_of_child(store: Store, authority: str, child_id: str) -> list[dict]:
    """A child's plans in an authority, oldest first (by the day each began, then by id)."""
    found = store.collection(PLANS).find({"authority": authority, "child_id": child_id})
    return sorted(found, key=lambda plan: (plan["created_on"], plan["_id"]))
