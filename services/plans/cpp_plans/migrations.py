"""Records made before people were staff references, carried over.

Before the staff directory, a plan's key worker was free text (a name in the
plan's content) and a case was held by nobody in particular. ``link_people``
carries such records over without losing anything:

* a plan whose key worker has no user id is linked to the one member of
  staff with that name (any case), keeping every other detail of the key
  worker as agreed; its new state is published as
  ``plan.key_worker_linked.v1``, so the other services know whom the plan's
  deadlines and notices are for. The agreed versions stay as they were
  agreed: a link is not a new version;
* a case with no social worker is given the member of staff who opened it,
  when the directory knows them as a social worker (``case.allocated.v1``).

What cannot be linked (nobody, or more than one person, has the name) is
listed for an admin, who links it with ``PUT /v1/plans/{id}/key-worker``.
Running it again links only what is still unlinked: it is safe to repeat.

Plans made before a plan kept its initial categories and the child's earlier
plans are given them by ``fill_categories_and_previous_plans``: the
categories of its version 1 (its current ones when no version is on record),
and the child's plans in the authority that began before it.

Children recorded before their gender, ethnicity and disabilities were the
Children in Need census's codes are coded by ``code_characteristics``
where the free text certainly means a code (characteristics.py: "male",
"Girl", "White British", "none"...); the text it cannot code moves to the
child's ``uncoded`` (``{"gender": "...", "ethnicity": "...",
"disabilities": "..."}``) for a person to code, and ``GET
/v1/children?uncoded=true`` lists them (``cpp migrate`` names each). Each
child changed is a new version with its audit entry and
``child.updated.v1``, so the services building returns from events learn
the codes.

``MIGRATIONS``
lists every carry-over in the order ``cpp migrate`` runs them; each is safe
to repeat and goes through the store port, so SQLite and MongoDB alike.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cpp_shared import staff
from cpp_shared.auth import Principal
from cpp_shared.messaging.events import new_event
from cpp_shared.store import DuplicateKey

from . import audit, characteristics
from .store import CASES, CHILDREN, FAMILIES, PLAN_VERSIONS, PLANS

LINKED = "plan.key_worker_linked.v1"


@dataclass
class Report:
    plans_linked: list[str] = field(default_factory=list)
    cases_allocated: list[str] = field(default_factory=list)
    unlinked: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "plans_linked": len(self.plans_linked),
            "cases_allocated": len(self.cases_allocated),
            "unlinked": self.unlinked,
        }


def unlinked_plans(store) -> list[dict[str, Any]]:
    """Plans whose key worker is a name only."""
    return [
        p
        for p in store.collection(PLANS).find({}, sort=[("created_on", 1)])
        if p.get("key_worker") and not p.get("key_worker_user")
    ]


def staff_named(store, name: str) -> list[dict[str, Any]]:
    wanted = name.strip().casefold()
    return [
        p for p in store.collection(staff.COLLECTION).find({}) if (p.get("name") or "").strip().casefold() == wanted
    ]


def linked(plan: dict[str, Any], person: dict[str, Any]) -> dict[str, Any]:
    """The plan with its key worker linked to ``person``: the details agreed
    stay; the user id is added, and the name is the directory's."""
    after = copy.deepcopy(plan)
    kw = dict(after["content"].get("key_worker") or {"name": plan["key_worker"]})
    kw.update(user=person["user"], name=person.get("name") or kw.get("name"))
    after["content"]["key_worker"] = kw
    after["key_worker"], after["key_worker_user"] = kw["name"], person["user"]
    return after


def link_people(
    store,
    publish: Callable[..., object],
    plan_snapshot: Callable[[dict], dict],
    child_named: Callable[[str], dict | None],
) -> Report:
    """Link what can be linked (see the module's docstring), each record in a
    commit of its own with its audit entry and event."""
    report = Report()
    for plan in unlinked_plans(store):
        people = staff_named(store, plan["key_worker"])
        if len(people) != 1:
            report.unlinked.append(_unlinked(store, plan, len(people)))
            continue
        after = linked(plan, people[0])
        with store.unit_of_work() as uow:
            uow.replace(PLANS, after, expected_version=plan["version"])
            audit.record_write(
                uow,
                "link_key_worker",
                "plan",
                plan["_id"],
                child_id=plan["child_id"],
                detail={"user": people[0]["user"], "by": "migration"},
            )
            publish(
                uow, LINKED, subject=plan["_id"], data={**plan_snapshot(after), "child": child_named(plan["child_id"])}
            )
        report.plans_linked.append(plan["_id"])
    for case in store.collection(CASES).find({}):
        if "social_worker" in case and case["social_worker"] is not None:
            continue
        opener = staff.entry(store, case.get("opened_by"))
        if opener is None or "social_worker" not in staff.roles_of(opener):
            continue
        worker = {"user": opener["user"], "name": opener.get("name") or staff.UNNAMED}
        after = {
            **case,
            "social_worker": worker,
            "team_manager": case.get("team_manager"),
            "team": case.get("team") or opener.get("team"),
        }
        with store.unit_of_work() as uow:
            uow.replace(CASES, after, expected_version=case["version"])
            audit.record_write(
                uow, "allocate_case", "case", case["_id"], child_id=case["child_id"], detail={"by": "migration"}
            )
            publish(
                uow,
                "case.allocated.v1",
                subject=case["_id"],
                data={
                    "case_id": case["_id"],
                    "child_id": case["child_id"],
                    "plan_id": case.get("plan_id"),
                    "social_worker": worker,
                    "team_manager": after["team_manager"],
                    "team": after["team"],
                    "child": child_named(case["child_id"]),
                },
            )
        report.cases_allocated.append(case["_id"])
    return report


def _unlinked(store, plan: dict[str, Any], matches: int) -> dict[str, Any]:
    child = store.collection(CHILDREN).find_one({"_id": plan["child_id"]}) or {}
    given = child.get("preferred_name") or child.get("given_names") or ""
    return {
        "plan_id": plan["_id"],
        "status": plan["status"],
        "key_worker": plan["key_worker"],
        "child": " ".join(p for p in (given, child.get("family_name")) if p) or None,
        "reason": "no member of staff has this name"
        if matches == 0
        else "one member of staff has this name: linked by name (cpp migrate)"
        if matches == 1
        else f"{matches} members of staff have this name",
    }


def _first_categories(store, plan: dict[str, Any]) -> list[str]:
    first = store.collection(PLAN_VERSIONS).find_one({"plan_id": plan["_id"], "number": 1})
    return list((first or {}).get("content", {}).get("categories") or plan.get("categories") or [])


def fill_categories_and_previous_plans(store) -> list[str]:
    """Give each plan that lacks them its ``initial_categories`` and its ``previous_plan_ids`` and
    ``previous_plans`` (see the module's docstring); the ids of the plans given them. Facts already on
    record, not a decision of anyone's: no audit entry and no event (events carry them from the plan's next
    step on)."""
    children: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for plan in sorted(store.collection(PLANS).find({}), key=lambda p: (p["created_on"], p["_id"])):
        children.setdefault((plan["authority"], plan["child_id"]), []).append(plan)
    filled = []
    for plans in children.values():
        for earlier, plan in enumerate(plans):
            missing: dict[str, Any] = {}
            if "initial_categories" not in plan:
                missing["initial_categories"] = _first_categories(store, plan)
            if "previous_plan_ids" not in plan:
                missing["previous_plan_ids"] = [p["_id"] for p in plans[:earlier]]
                missing["previous_plans"] = earlier
            if not missing:
                continue
            with store.unit_of_work() as uow:
                uow.replace(PLANS, {**plan, **missing}, expected_version=plan["version"])
            filled.append(plan["_id"])
    return filled


def families_of_one(store) -> list[str]:
    """Give each child with a case, and in no family, a family of one (domain.families.family_of_one),
    with the id opening a case would give it (service_layer.cases.family_id_of_one), made when and by
    whom the child's first case was opened; the ids of the families made. No case, plan, version, event
    or audit entry changes: the family of one is what every case already was. A family someone else made
    at the same moment (a second process running this) is theirs, and is not made twice."""
    from .domain.families import family_of_one
    from .service_layer.cases import family_id_of_one

    first_case: dict[tuple[str, str], dict[str, Any]] = {}
    for case in store.collection(CASES).find({}, sort=[("opened_at", 1), ("_id", 1)]):
        first_case.setdefault((case["authority"], case["child_id"]), case)
    made = []
    for (authority, child_id), case in first_case.items():
        if store.collection(FAMILIES).find_one({"authority": authority, "children": child_id}) is not None:
            continue
        child = store.collection(CHILDREN).find_one({"_id": child_id}) or {"_id": child_id}
        family = family_of_one(
            family_id_of_one(authority, child_id),
            authority,
            child,
            created_at=case["opened_at"],
            created_by=case["opened_by"],
        )
        try:
            with store.unit_of_work() as uow:
                uow.insert(FAMILIES, family)
        except DuplicateKey:
            continue
        made.append(family["_id"])
    return made


MIGRATION_USER = "migration"
SOURCE = "/services/plans"


def code_characteristics(store) -> list[str]:
    """Code each child's free-text gender, ethnicity and disability (see the module's docstring); the ids of
    the children changed. Run again, it changes nothing: what it coded is a code, what it could not is no
    longer in the field it reads."""
    from .service_layer.children import census_fields
    from .service_layer.common import named

    changed = []
    for child in store.collection(CHILDREN).find({}, sort=[("_id", 1)]):
        codes, uncoded = characteristics.coded(child)
        if not codes and not uncoded and "disability" not in child:
            continue
        after = {k: v for k, v in child.items() if k not in ("version", "disability", *uncoded)}
        after.update(codes)
        if uncoded:
            after["uncoded"] = {**(child.get("uncoded") or {}), **uncoded}
        when = datetime.now(UTC)
        after.update(updated_at=when.isoformat(), updated_by=MIGRATION_USER)
        by = Principal(user=MIGRATION_USER, role="operator", authority=child["authority"])
        with store.unit_of_work() as uow:
            version = uow.replace(CHILDREN, after, expected_version=child["version"])
            audit.record_write(
                uow,
                "code_characteristics",
                "child",
                child["_id"],
                child_id=child["_id"],
                principal=by,
                detail={"by": "migration", "coded": sorted(codes), "uncoded": sorted(uncoded), "version": version},
            )
            event = new_event(
                "child.updated.v1",
                source=SOURCE,
                subject=child["_id"],
                authority=child["authority"],
                time=when,
                data={
                    "child_id": child["_id"],
                    "version": version,
                    "child": named(after),
                    "first_language": after.get("first_language"),
                    **census_fields(after),
                },
            )
            uow.publish(event["type"], event, message_id=event["id"])
        changed.append(child["_id"])
    return changed


def uncoded_children(store, authority: str | None = None) -> list[dict[str, Any]]:
    """The children whose gender, ethnicity or disabilities are text still to code, with that text."""
    flt: dict[str, Any] = {"uncoded": {"$exists": True}}
    if authority is not None:
        flt["authority"] = authority
    found = []
    for child in store.collection(CHILDREN).find(flt, sort=[("family_name_key", 1), ("_id", 1)]):
        given = child.get("preferred_name") or child.get("given_names") or ""
        name = " ".join(p for p in (given, child.get("family_name")) if p) or None
        found.append({"child_id": child["_id"], "child": name, "uncoded": child["uncoded"]})
    return found


#: Every carry-over of records ``cpp migrate`` runs, in this order: (version, name, what it does to a
#: store). Each is recorded once run (``APPLIED``), so a later ``cpp migrate`` runs only the new ones;
#: each is safe to repeat anyway.
MIGRATIONS: list[tuple[str, str, Callable[..., list[str]]]] = [
    ("0001", "plans given their initial categories and previous plans", fill_categories_and_previous_plans),
    ("0002", "children with cases given a family of one", families_of_one),
    ("0003", "children's gender, ethnicity and disabilities coded as the census codes them", code_characteristics),
]
APPLIED = "schema_migrations"


@dataclass
class Run:
    version: str
    name: str
    carried: int | None  # None: applied before, not run again


def run_pending(store, authority: str) -> list[Run]:
    """Every migration not yet recorded for ``authority`` in this store, in order; each recorded once it
    has run."""
    done = {d["version"] for d in store.collection(APPLIED).find({"authority": authority})}
    runs = []
    for version, name, carry_over in MIGRATIONS:
        if version in done:
            runs.append(Run(version, name, None))
            continue
        carried = carry_over(store)
        record = {"_id": f"{authority}:{version}", "authority": authority, "version": version, "name": name}
        try:
            store.collection(APPLIED).insert_one(
                {**record, "applied_at": datetime.now(UTC).isoformat(), "carried": len(carried)}
            )
        except DuplicateKey:  # another process ran it at the same moment: recorded once
            pass
        runs.append(Run(version, name, len(carried)))
    return runs
