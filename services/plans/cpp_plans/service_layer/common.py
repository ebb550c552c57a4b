"""What every step shares: the deployment it runs in, loading a record of
this authority, the council's checks of a plan, the key worker as a member
of staff, who the child is, and the step's one unit of work."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, NoReturn, Protocol

from cpp_shared import staff
from cpp_shared.auth import Principal
from cpp_shared.contracts.catalogue import CATALOGUE
from cpp_shared.store import Store, UnitOfWork, VersionConflict

from .. import audit
from ..domain import children as children_rules
from ..domain import closure
from ..domain import lifecycle as lc
from ..domain.lifecycle import Event, InvalidStep
from ..store import CASES, CHILDREN, PLAN_VERSIONS


class Deployment(Protocol):
    """What a step needs of the running service (its ServiceContext has it)."""

    store: Store
    plugins: Any
    authority: dict[str, Any]

    def publish(self, uow: UnitOfWork, type: str, *, subject: str, data: dict[str, Any]) -> Any:
        """Add an event to the unit of work's outbox."""


class NotFound(LookupError):
    """No such record in this authority (an HTTP 404): another authority's
    record is not found either, its existence is not ours to tell."""


def load(deps: Deployment, collection: str, record_id: str, what: str, *, at: int | None = None) -> dict[str, Any]:
    """The record, or NotFound; with ``at``, a VersionConflict unless it is still at that version (the
    caller's If-Match)."""
    doc = deps.store.collection(collection).find_one({"_id": record_id, "authority": deps.authority["code"]})
    if doc is None:
        raise NotFound(f"no {what} {record_id}")
    if at is not None and doc["version"] != at:
        raise VersionConflict(collection, record_id, at, doc["version"])
    return doc


def load_case(deps: Deployment, case_id: str, *, at: int | None = None) -> dict[str, Any]:
    """The case for a step on it, as ``load``; a LifecycleError (409) once it is closed (closure.check_not_closed)."""
    case = load(deps, CASES, case_id, "case", at=at)
    closure.check_not_closed(case)
    return case


def council_checks(deps: Deployment, content: dict[str, Any], stage: str, field: str | None = None) -> None:
    """A council's own rules for a plan about to be agreed (cpp_validate_plan)."""
    errors: dict[str, list[str]] = {}
    for answer in deps.plugins.hook.cpp_validate_plan(content=content, stage=stage):
        for name, messages in (answer or {}).items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise InvalidStep({field: errors} if field else errors)


def link_key_worker(deps: Deployment, content: dict[str, Any], field: str | None = None) -> dict[str, Any]:
    """The key worker of plan content about to be agreed, as a reference to
    staff: by user id, or by the name of exactly one member of staff. Their
    name is the directory's as it is now (kept with the version: the name as
    it was then); an email, team or phone the content leaves out is the
    directory's. A 422 when nobody, or more than one person, is meant."""
    kw = content.get("key_worker")
    if not kw:
        return content

    def refuse(key: str, message: str) -> NoReturn:
        errors = {"key_worker": {key: [message]}}
        raise InvalidStep({field: errors} if field else errors)

    people = deps.store.collection(staff.COLLECTION)
    if kw.get("user"):
        found = people.find_one({"user": kw["user"]})
        if found is None:
            refuse(
                "user",
                f"no member of staff has the user id {kw['user']!r}; an admin adds them (PUT /v1/staff/{{user}})",
            )
    else:
        wanted = kw["name"].strip().casefold()
        matches = [p for p in people.find({}) if (p.get("name") or "").strip().casefold() == wanted]
        if not matches:
            refuse(
                "name",
                f"no member of staff is named {kw['name']!r}: give their user id (key_worker.user), "
                "or an admin adds them to the staff directory",
            )
        if len(matches) > 1:
            refuse(
                "name",
                f"{len(matches)} members of staff are named {kw['name']!r}: give the key worker's "
                "user id (key_worker.user)",
            )
        found = matches[0]
    linked = {**kw, "user": found["user"], "name": found.get("name") or kw.get("name") or staff.UNNAMED}
    for key in ("email", "team", "phone"):
        if not linked.get(key) and found.get(key):
            linked[key] = found[key]
    return {**content, "key_worker": linked}


def child_named(store: Store, child_id: str) -> dict[str, Any] | None:
    """Who the child is, as events about them carry it: the name (the
    preferred one when recorded), the date of birth (or the expected one,
    for an unborn child) and the NHS number. None for a child not
    registered here."""
    child = store.collection(CHILDREN).find_one({"_id": child_id})
    return named(child) if child is not None else None


def mark_pre_birth(deps: Deployment, child_id: str, events: list[Event], event_type: str) -> dict[str, Any]:
    """The step's ``event_type`` events, about a child still unborn, carry
    ``pre_birth`` and the expected date of birth (children.pre_birth);
    returns those fields (empty for a child born)."""
    child = deps.store.collection(CHILDREN).find_one({"_id": child_id})
    fields = children_rules.pre_birth(child) if child is not None else {}
    for type_, _subject, data in events:
        if type_ == event_type:
            data.update(fields)
    return fields


def named(child: dict[str, Any]) -> dict[str, Any]:
    given = child.get("preferred_name") or child.get("given_names") or ""
    nhs = next((i["value"] for i in child.get("identifiers") or [] if i.get("scheme") == "nhs_number"), None)
    return {
        "name": " ".join(part for part in (given, child.get("family_name")) if part),
        "date_of_birth": child.get("date_of_birth") or child.get("expected_date_of_birth"),
        "nhs_number": nhs,
    }


@cache
def _named(type_: str) -> bool:
    """Events whose catalogue entry carries who the child is."""
    entry = CATALOGUE.get(type_)
    return entry is not None and "child" in entry.schema().fields


def publish_all(deps: Deployment, uow: UnitOfWork, events: Iterable[Event]) -> None:
    """The step's events into its unit of work, each about a child naming them."""
    names: dict[str, dict[str, Any] | None] = {}
    for type_, subject, data in events:
        if _named(type_) and data.get("child_id") and "child" not in data:
            if data["child_id"] not in names:
                names[data["child_id"]] = child_named(deps.store, data["child_id"])
            data = {**data, "child": names[data["child_id"]]}
        deps.publish(uow, type_, subject=subject, data=data)


@dataclass
class Step:
    """One step on one child's records, ready to commit: its audit entry
    (``action`` on ``record_type`` ``record_id``, about ``child_id``), its
    events, its new records and its changed ones (``(collection, after,
    before)``: ``after`` is written only if the stored record is still at
    ``before``'s version)."""

    action: str
    record_type: str
    record_id: str
    child_id: str
    events: list[Event] = field(default_factory=list)
    inserts: list[tuple[str, dict]] = field(default_factory=list)
    replaces: list[tuple[str, dict, dict]] = field(default_factory=list)


def _keyed(collection: str, doc: dict) -> dict:
    """A case as stored: with its open key while it is open (cases.open_key)."""
    return lc.with_open_key(doc) if collection == CASES else doc


def commit_steps(deps: Deployment, actor: Principal, steps: Iterable[Step], *, events: Iterable[Event] = ()) -> None:
    """Steps taken together (a family step: the same step on each child's
    case) in one commit: all of them or none, then ``events`` about them
    all."""
    with deps.store.unit_of_work() as uow:
        for step in steps:
            for collection, after, before in step.replaces:
                uow.replace(collection, _keyed(collection, after), expected_version=before["version"])
            for collection, doc in step.inserts:
                uow.insert(collection, _keyed(collection, doc))
            audit.record_write(
                uow, step.action, step.record_type, step.record_id, child_id=step.child_id, principal=actor
            )
            publish_all(deps, uow, step.events)
        publish_all(deps, uow, events)


def commit_step(
    deps: Deployment,
    actor: Principal,
    action: str,
    record_type: str,
    record_id: str,
    *,
    child_id: str,
    events: Iterable[Event] = (),
    inserts: Iterable[tuple[str, dict]] = (),
    replaces: Iterable[tuple[str, dict, dict]] = (),
) -> None:
    """One step of the lifecycle in one commit: its new records, its changed
    records, its audit entry (by ``actor``) and its events (Step)."""
    commit_steps(
        deps,
        actor,
        [Step(action, record_type, record_id, child_id, list(events), list(inserts), list(replaces))],
    )


def saved(after: dict, before: dict | None = None) -> dict:
    """The record as stored by commit_step: at the next version (1 when new)."""
    return {**after, "version": before["version"] + 1 if before else 1}


def plan_version_inserts(after: dict, before: dict | None) -> list[tuple[str, dict]]:
    """The numbered version record a plan step adds, when it agreed a new version."""
    if before is None or after["plan_version"] != before["plan_version"]:
        return [(PLAN_VERSIONS, lc.plan_version_record(after))]
    return []
