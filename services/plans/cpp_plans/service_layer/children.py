"""A child's record: registering a child and changing their details."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from cpp_shared.auth import Principal
from cpp_shared.store import DuplicateKey, VersionConflict

from .. import audit
from ..domain import children as rules
from ..domain.lifecycle import InvalidStep
from ..store import CHILDREN
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


def _duplicate(deps: Deployment, doc: dict[str, Any]) -> DuplicateChild:
    existing = None
    if "nhs_key" in doc:
        existing = deps.store.collection(CHILDREN).find_one({"nhs_key": doc["nhs_key"], "_id": {"$ne": doc["_id"]}})
    return DuplicateChild(existing["_id"] if existing else None)


def register_child(deps: Deployment, details: dict[str, Any], *, now: datetime, actor: Principal) -> dict:
    """A new child from ``details`` as stored (checked field by field).
    Returns the record as saved."""
    code = deps.authority["code"]
    doc = rules.with_keys(
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
    try:
        with deps.store.unit_of_work() as uow:
            uow.insert(CHILDREN, doc)
            audit.record_write(uow, "create", "child", doc["_id"], child_id=doc["_id"], principal=actor)
            deps.publish(
                uow, "child.registered.v1", subject=doc["_id"], data={"child_id": doc["_id"], "child": named(doc)}
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
    current = load(deps, CHILDREN, child_id, "child")
    if current["version"] != expected_version:
        raise VersionConflict(CHILDREN, child_id, expected_version, current["version"])
    merged = {**{k: v for k, v in current.items() if k != "version"}, **changes}
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
                data={"child_id": child_id, "version": version, "child": named(doc)},
            )
    except DuplicateKey:
        raise _duplicate(deps, doc) from None
    return {**doc, "version": version}
