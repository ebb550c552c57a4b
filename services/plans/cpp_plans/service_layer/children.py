"""A child's record: registering a child and changing their details.

The events about a child's record (``child.registered.v1``,
``child.updated.v1``) carry the fields the Children in Need census needs of
the child (``census_fields``), so a service building the census reads
events, never this store."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from cpp_shared.auth import Principal
from cpp_shared.store import DuplicateKey

from .. import audit
from ..domain import children as rules
from ..domain.lifecycle import InvalidStep, LifecycleError
from ..store import CASES, CHILDREN, CONFERENCES
from .common import Deployment, load, named


class DuplicateChild(Exception):
    """The NHS number is another child's (an HTTP 409): ``existing`` is
    their id, or None when that record went meanwhile (nothing was
    written; trying again is safe)."""

    def __init__(self, existing: str | None):
        self.existing = existing
        super().__init__(
            f"a child with this NHS number is already registered: {existing}"
            if existing
            else "the child could not be saved because of a conflicting record"
        )


CODED = ("gender", "ethnicity", "disabilities")


def census_fields(child: dict[str, Any]) -> dict[str, Any]:
    """What the census needs of the child, as the events about its record carry it: the dates, the coded
    gender, ethnicity and disabilities (null while not recorded or not coded), the Unique Pupil Number
    where recorded, and the date of death only when the record has one."""
    upn = next((i["value"] for i in child.get("identifiers") or [] if i.get("scheme") == "upn"), None)
    fields = {
        "date_of_birth": child.get("date_of_birth"),
        "expected_date_of_birth": child.get("expected_date_of_birth"),
        "gender": child.get("gender"),
        "ethnicity": child.get("ethnicity"),
        "disabilities": list(child["disabilities"]) if child.get("disabilities") is not None else None,
        "upn": upn,
    }
    if child.get("date_of_death"):
        fields["date_of_death"] = child["date_of_death"]
    return fields


def still_uncoded(uncoded: dict[str, str] | None, changes: dict[str, Any]) -> dict[str, str] | None:
    """The text a record kept for someone to code, without the fields ``changes`` now gives codes to; None
    when nothing is left to code. A field a change removes (null) keeps its text: nobody coded it."""
    left = {k: v for k, v in (uncoded or {}).items() if changes.get(k) is None}
    return left or None


def _duplicate(deps: Deployment, doc: dict[str, Any]) -> DuplicateChild:
    existing = None
    if "nhs_key" in doc:
        existing = deps.store.collection(CHILDREN).find_one({"nhs_key": doc["nhs_key"], "_id": {"$ne": doc["_id"]}})
    return DuplicateChild(existing["_id"] if existing else None)


def new_record(deps: Deployment, details: dict[str, Any], *, now: datetime, actor: Principal) -> dict[str, Any]:
    """A child's new record from ``details`` as stored, with the keys a child is found by (not yet stored)."""
    code = deps.authority["code"]
    return rules.with_keys(
        {
            "_id": uuid.uuid4().hex,
            "authority": code,
            "identifiers": [],
            "people_with_parental_responsibility": [],
            **details,
            "created_at": now.isoformat(),
            "created_by": actor.user,
        },
        code,
    )


def register_child(deps: Deployment, details: dict[str, Any], *, now: datetime, actor: Principal) -> dict:
    """A new child from ``details`` as stored (checked field by field).
    Returns the record as saved."""
    doc = new_record(deps, details, now=now, actor=actor)
    try:
        with deps.store.unit_of_work() as uow:
            uow.insert(CHILDREN, doc)
            audit.record_write(uow, "create", "child", doc["_id"], child_id=doc["_id"], principal=actor)
            deps.publish(
                uow,
                "child.registered.v1",
                subject=doc["_id"],
                data={
                    "child_id": doc["_id"],
                    "child": named(doc),
                    "first_language": doc.get("first_language"),
                    **census_fields(doc),
                },
            )
    except DuplicateKey:
        raise _duplicate(deps, doc) from None
    return {**doc, "version": 1}


def change_child(
    deps: Deployment, child_id: str, changes: dict[str, Any], *, expected_version: int, now: datetime, actor: Principal
) -> dict:
    """Replace the top-level fields ``changes`` names (as stored; None
    removes one). The child keeps exactly one date of birth. A
    VersionConflict when the record is no longer at ``expected_version``."""
    current = load(deps, CHILDREN, child_id, "child", at=expected_version)
    merged = {**{k: v for k, v in current.items() if k != "version"}, **changes}
    merged["uncoded"] = still_uncoded(current.get("uncoded"), changes)  # None: dropped by with_keys
    errors = rules.date_of_birth_errors(merged)
    if errors:
        raise InvalidStep(errors, message="the change would leave the child without exactly one date of birth")
    merged.update(updated_at=now.isoformat(), updated_by=actor.user)
    doc = rules.with_keys(merged, deps.authority["code"])
    try:
        with deps.store.unit_of_work() as uow:
            version = uow.replace(CHILDREN, doc, expected_version=current["version"])
            audit.record_write(
                uow,
                "update",
                "child",
                child_id,
                child_id=child_id,
                principal=actor,
                detail={"fields": sorted(changes), "version": version},
            )
            deps.publish(
                uow,
                "child.updated.v1",
                subject=child_id,
                data={
                    "child_id": child_id,
                    "version": version,
                    "child": named(doc),
                    "first_language": doc.get("first_language"),
                    **census_fields(doc),
                },
            )
    except DuplicateKey:
        raise _duplicate(deps, doc) from None
    return {**doc, "version": version}


def _case_at_birth(deps: Deployment, child_id: str) -> dict | None:
    """The child's case still open at birth (the latest opened), or None."""
    cases = deps.store.collection(CASES).find(
        {"authority": deps.authority["code"], "child_id": child_id, "status": {"$nin": ["plan_ended", "closed"]}}
    )
    return max(cases, key=lambda case: (case.get("opened_at") or "", case["_id"]), default=None)


def _mother_unfit_to_attend(deps: Deployment, case: dict | None) -> bool:
    """Whether the case's pre-birth conference recorded that the mother is
    expected to be unfit to attend after the birth."""
    if case is None:
        return False
    found = deps.store.collection(CONFERENCES).find(
        {"authority": deps.authority["code"], "case_id": case["_id"], "kind": "initial", "status": {"$ne": "cancelled"}}
    )
    return any(c.get("mother_unfit_to_attend") for c in found)


def record_birth(
    deps: Deployment,
    child_id: str,
    *,
    born_on: date,
    names: dict[str, str],
    expected_version: int,
    today: date,
    now: datetime,
    actor: Principal,
) -> dict:
    """The birth of a child recorded as unborn: the record gains its date of
    birth (and the names given, in ``names``) and who recorded the birth,
    and keeps everything else, the expected date of birth among it, so the
    case, plan, conferences, deadlines and documents stay with the same
    child. A LifecycleError (409) for a child not recorded as unborn."""
    current = load(deps, CHILDREN, child_id, "child", at=expected_version)
    if not rules.is_unborn(current):
        raise LifecycleError("the child is not recorded as unborn: their date of birth is already recorded")
    errors = rules.birth_errors(current, born_on, today)
    if errors:
        raise InvalidStep(errors, message="the date of birth is not plausible for this child")
    doc = {k: v for k, v in current.items() if k != "version"}
    doc.update(
        names,
        date_of_birth=born_on.isoformat(),
        born_on_record={"by": actor.user, "at": now.isoformat()},
        updated_at=now.isoformat(),
        updated_by=actor.user,
    )
    doc = rules.with_keys(doc, deps.authority["code"])
    case = _case_at_birth(deps, child_id)
    with deps.store.unit_of_work() as uow:
        version = uow.replace(CHILDREN, doc, expected_version=current["version"])
        audit.record_write(
            uow,
            "record_birth",
            "child",
            child_id,
            child_id=child_id,
            principal=actor,
            detail={"fields": sorted(["date_of_birth", *names]), "version": version},
        )
        deps.publish(
            uow,
            "child.born.v1",
            subject=child_id,
            data={
                "child_id": child_id,
                "version": version,
                "born_on": doc["date_of_birth"],
                "expected_date_of_birth": doc["expected_date_of_birth"],
                "case_id": case["_id"] if case else None,
                "plan_id": case.get("plan_id") if case else None,
                "on_plan": case is not None and case["status"] == "on_plan",
                "mother_unfit_to_attend": _mother_unfit_to_attend(deps, case),
                "child": named(doc),
            },
        )
    return {**doc, "version": version}
