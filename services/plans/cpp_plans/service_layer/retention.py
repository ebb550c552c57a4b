"""Retention in the plans store: which children's records are due for erasure, and erasing them.

``due(deps, today)`` reads every child of the authority with the records about them and decides each one
(``domain.retention``). ``erase(deps, item, actor)`` erases one due child in ONE unit of work: every document about
the child removed at the version read (a record changed meanwhile is a ``VersionConflict`` and nothing is erased),
the child's entries taken out of the records others still need (a family with other children, a family conference
about several), an audit entry (action ``erase``, record type ``child``: the rule, the erasure's id and the counts
per collection, never the erased data), the events already sent about the child forgotten by the outbox (which
keeps sent messages) and ``child.erased.v1`` in the outbox, whose id is derived from the
erasure's id: a child erased is not found again, and an event for the same erasure cannot be published twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol

from cpp_shared.auth import Principal
from cpp_shared.contracts.retention import retention_rules
from cpp_shared.store import Store, UnitOfWork

from .. import audit
from ..domain import lifecycle as lc
from ..domain import retention as rules
from ..store import (
    CASES,
    CHILD_IN_NEED_PLANS,
    CHILDREN,
    CONFERENCES,
    CORE_GROUP_MEETINGS,
    FAMILIES,
    FAMILY_CONFERENCES,
    GRANTS,
    LEGAL_HOLDS,
    PLAN_VERSIONS,
    PLANS,
    REPORT_VERSIONS,
    REPORTS,
    RESOURCE_PANEL_REQUESTS,
    RESTRICTIONS,
    SIGNIFICANT_CHANGES,
    TRANSFER_HISTORIES,
    VISITS,
)


class Deployment(Protocol):
    """What retention needs of the running service (its ServiceContext has it)."""

    store: Store
    plugins: Any
    authority: dict[str, Any]

    def publish(
        self, uow: UnitOfWork, type: str, *, subject: str, data: dict[str, Any], event_id: str | None = None
    ) -> Any:
        """Add an event to the unit of work's outbox (``event_id``: derived, so that it is published once)."""


HOLDS = LEGAL_HOLDS  # each {_id, authority, child_id, reason, set_by, set_at, until, lifted: {at, by, reason}}
EVENT = "child.erased.v1"
#: The collections of the plans store that hold records about one child, found by the child's id or through the
#: records found before them; anything else holding a ``child_id`` is found by it too (records added later).
KNOWN = (
    CHILDREN,
    CASES,
    PLANS,
    PLAN_VERSIONS,
    CONFERENCES,
    VISITS,
    CORE_GROUP_MEETINGS,
    SIGNIFICANT_CHANGES,
    REPORTS,
    REPORT_VERSIONS,
    RESOURCE_PANEL_REQUESTS,
    CHILD_IN_NEED_PLANS,
    RESTRICTIONS,
    GRANTS,
    TRANSFER_HISTORIES,
    HOLDS,
    FAMILIES,
    FAMILY_CONFERENCES,
)
#: Records shared with other children: the child's entries are taken out, the record kept while others remain.
SHARED = (FAMILIES, FAMILY_CONFERENCES)
#: What the store keeps that is not a child's record (the staff directory, idempotency keys are sealed and expire).
NOT_RECORDS = ("staff", "idempotency_keys", "revocations", "counters", "schema_migrations", "audit_checkpoints")


def rules_of(deps: Deployment) -> list[rules.Rule]:
    return [rules.Rule.from_plugin(r) for r in retention_rules(deps.plugins)]


@dataclass
class ChildRecords:
    """Every document about one child in the plans store, by collection."""

    child_id: str
    documents: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def of(self, collection: str) -> list[dict[str, Any]]:
        return self.documents.get(collection, [])

    def counts(self) -> dict[str, int]:
        return {name: len(docs) for name, docs in sorted(self.documents.items()) if docs}


def _find(store: Store, collection: str, filter: dict[str, Any]) -> list[dict[str, Any]]:
    return store.collection(collection).find(filter)


def _ids(docs: Iterable[dict[str, Any]]) -> list[str]:
    return [d["_id"] for d in docs]


def gather(deps: Deployment, child_id: str) -> ChildRecords:
    """Every document about the child (this authority's), by collection."""
    return gather_many(deps, [child_id])[child_id]


#: Children gathered together: each collection is read once for them all (an ``$in`` of their ids, or of their
#: cases', plans', conferences' or reports' ids, well inside SQLite's 32,766 parameters).
CHUNK = 250


def gather_many(deps: Deployment, child_ids: Iterable[str]) -> dict[str, ChildRecords]:
    """``gather`` for many children: about 20 queries for each ``CHUNK`` of children, not for each child."""
    ids = list(dict.fromkeys(child_ids))
    found: dict[str, ChildRecords] = {}
    for start in range(0, len(ids), CHUNK):
        found |= _gather_chunk(deps, ids[start : start + CHUNK])
    return found


def _gather_chunk(deps: Deployment, child_ids: list[str]) -> dict[str, ChildRecords]:
    store, mine = deps.store, {"authority": deps.authority["code"]}
    found = {child_id: ChildRecords(child_id) for child_id in child_ids}

    def put(name: str, docs: Iterable[dict[str, Any]], owners: Any) -> None:
        """File each document under the children it is about (``owners(doc)``: their ids)."""
        for records in found.values():
            records.documents[name] = []
        for doc in docs:
            for child_id in dict.fromkeys(owners(doc)):
                if child_id in found:
                    found[child_id].documents[name].append(doc)

    def find(name: str, filter: dict[str, Any], key: str, values: Iterable[str]) -> list[dict[str, Any]]:
        wanted = list(values)
        return _find(store, name, {**mine, **filter, key: {"$in": wanted}}) if wanted else []

    def by(field: str, owner_of: dict[str, str] | None = None) -> Any:
        if owner_of is None:
            return lambda doc: [doc.get(field)]
        return lambda doc: [owner_of.get(doc.get(field))]

    put(CHILDREN, find(CHILDREN, {}, "_id", child_ids), by("_id"))
    cases = find(CASES, {}, "child_id", child_ids)
    plans = find(PLANS, {}, "child_id", child_ids)
    put(CASES, cases, by("child_id"))
    put(PLANS, plans, by("child_id"))
    case_owner = {c["_id"]: c["child_id"] for c in cases}
    plan_owner = {p["_id"]: p["child_id"] for p in plans}
    conferences = find(CONFERENCES, {}, "case_id", case_owner)
    put(CONFERENCES, conferences, by("case_id", case_owner))
    for name in (PLAN_VERSIONS, CORE_GROUP_MEETINGS, SIGNIFICANT_CHANGES, RESOURCE_PANEL_REQUESTS):
        put(name, find(name, {}, "plan_id", plan_owner), by("plan_id", plan_owner))
    visits = {v["_id"]: v for v in find(VISITS, {}, "plan_id", plan_owner)}
    visits |= {v["_id"]: v for v in find(VISITS, {}, "case_id", case_owner)}
    put(VISITS, visits.values(), lambda v: [plan_owner.get(v.get("plan_id")), case_owner.get(v.get("case_id"))])
    put(CHILD_IN_NEED_PLANS, find(CHILD_IN_NEED_PLANS, {}, "case_id", case_owner), by("case_id", case_owner))
    conference_owner = {c["_id"]: case_owner[c["case_id"]] for c in conferences}
    reports = find(REPORTS, {}, "conference_id", conference_owner)
    put(REPORTS, reports, by("conference_id", conference_owner))
    report_owner = {r["_id"]: conference_owner[r["conference_id"]] for r in reports}
    report_ids = list(report_owner)
    versions = _find(store, REPORT_VERSIONS, {"report_id": {"$in": report_ids}}) if report_ids else []
    put(REPORT_VERSIONS, versions, by("report_id", report_owner))
    put(RESTRICTIONS, find(RESTRICTIONS, {}, "_id", child_ids), by("_id"))
    for name in (GRANTS, TRANSFER_HISTORIES, HOLDS):
        put(name, find(name, {}, "child_id", child_ids), by("child_id"))
    put(FAMILIES, find(FAMILIES, {}, "children", child_ids), lambda f: f.get("children") or [])
    put(
        FAMILY_CONFERENCES,
        find(FAMILY_CONFERENCES, {}, "children.child_id", child_ids),
        lambda fc: [c.get("child_id") for c in fc.get("children") or [] if isinstance(c, dict)],
    )
    for name in store.collection_names():
        if name not in KNOWN and name not in NOT_RECORDS:
            put(name, find(name, {}, "child_id", child_ids), by("child_id"))
    return found


def holds_of(docs: Iterable[dict[str, Any]]) -> tuple[rules.Hold, ...]:
    return tuple(
        rules.Hold(
            id=h["_id"],
            until=date.fromisoformat(h["until"]) if h.get("until") else None,
            lifted=h.get("lifted") is not None,
        )
        for h in docs
    )


def record_of(found: ChildRecords, today: date) -> rules.Record:
    """What the decision needs of the child's records."""
    child = found.of(CHILDREN)[0]
    born = child.get("date_of_birth") or child.get("expected_date_of_birth")
    cases, plans = found.of(CASES), found.of(PLANS)
    in_force = any(c["status"] in (*lc.OPEN_STATUSES, "child_in_need") for c in cases) or any(
        p.get("status") != "ended" for p in plans
    )
    about = [doc for name, docs in found.documents.items() if name not in (HOLDS, *SHARED) for doc in docs]
    return rules.Record(
        child_id=found.child_id,
        record_type=rules.record_type_of(cases, plans),
        born_on=date.fromisoformat(born) if born else None,
        last_entry_on=rules.last_entry_on(about, not_after=today),
        in_force=in_force,
        holds=holds_of(found.of(HOLDS)),
    )


@dataclass(frozen=True)
class Reviewed:
    """One child's records, decided."""

    child_id: str
    decision: rules.Decision
    record_type: str

    def listing(self) -> dict[str, Any]:
        d = self.decision
        return {
            "child_id": self.child_id,
            "record_type": self.record_type,
            "rule": d.rule,
            "due_on": d.due_on.isoformat() if d.due_on else None,
            "due": d.due,
            "why": d.why,
            "holds": list(d.holds),
        }


def review(deps: Deployment, today: date) -> list[Reviewed]:
    """Every child of the authority, decided, in the order of their ids."""
    decided_by = rules_of(deps)
    children = deps.store.collection(CHILDREN).find({"authority": deps.authority["code"]}, sort=[("_id", 1)])
    found = gather_many(deps, [child["_id"] for child in children])
    result = []
    for child in children:
        record = record_of(found[child["_id"]], today)
        result.append(Reviewed(child["_id"], rules.decide(decided_by, record, today), record.record_type))
    return result


def due(deps: Deployment, today: date) -> list[Reviewed]:
    return [r for r in review(deps, today) if r.decision.due]


def held(deps: Deployment, today: date) -> list[Reviewed]:
    return [r for r in review(deps, today) if r.decision.why == rules.HELD]


@dataclass(frozen=True)
class Erased:
    child_id: str
    erasure_id: str
    rule: str
    due_on: str
    counts: dict[str, int]


def _scrub(value: Any, child_id: str) -> Any:
    """``value`` without any list item that is the child's id or names it (``{"child_id": ...}``), at any depth."""
    if isinstance(value, dict):
        return {k: _scrub(v, child_id) for k, v in value.items()}
    if isinstance(value, list):
        return [
            _scrub(v, child_id)
            for v in value
            if v != child_id and not (isinstance(v, dict) and v.get("child_id") == child_id)
        ]
    return value


def _without_child(doc: dict[str, Any], child_id: str) -> dict[str, Any] | None:
    """A shared record (a family, a family conference) with the child's entries taken out: the child among its
    children, the people's relationships to them, a conference's decision about them; None when no other child is
    left in it."""
    after = _scrub(doc, child_id)
    return after if after.get("children") else None


#: The audit entries about a child that keep what its erasure removes: the NHS number a partner looked up, a
#: restriction's reason, access list and manager, a lift's or a break-glass's reason. They are redacted with the
#: child's records (the chain stays verifiable: store/chain.py); every other entry names records by id only.
PERSONAL_AUDIT = ("lookup", "set_restriction", "lift_restriction", "break_glass")


def personal_audit_seqs(store: Store, child_id: str, scan: audit.EntriesAbout | None = None) -> list[int]:
    """The seqs of the audit entries about ``child_id`` that hold personal data (from ``scan``, a scan of the log
    for many children, when given)."""
    records = scan.of(child_id) if scan is not None else audit.entries_about(store, child_id)
    return [r.seq for r in records if r.entry.get("action") in PERSONAL_AUDIT]


def erase(
    deps: Deployment,
    child_id: str,
    *,
    today: date,
    actor: Principal,
    audit_scan: audit.EntriesAbout | None = None,
    uow_hook: Any = None,
) -> Erased | None:
    """Erase one child's records if, read again now, they are still due; None when they are not (or are gone).

    ``audit_scan``: a scan of the audit log for every child of the run, so that the log is read once per run, not
    once per child. ``uow_hook`` (for tests) is called with the unit of work before it commits: raising there
    leaves nothing."""
    found = gather(deps, child_id)
    if not found.of(CHILDREN):
        return None
    decision = rules.decide(rules_of(deps), record_of(found, today), today)
    if not decision.due or decision.rule is None or decision.due_on is None:
        return None
    erasure = rules.erasure_id(child_id, decision.rule, decision.due_on)
    counts = found.counts()
    anonymised: dict[str, int] = {}
    personal = personal_audit_seqs(deps.store, child_id, audit_scan)
    with deps.store.unit_of_work() as uow:
        for name, docs in found.documents.items():
            for doc in docs:
                after = _without_child(doc, child_id) if name in SHARED else None
                if after is None:
                    uow.remove(name, doc["_id"], expected_version=doc["version"])
                else:
                    after = {k: v for k, v in after.items() if k != "version"}
                    uow.replace(name, after, expected_version=doc["version"])
                    anonymised[name] = anonymised.get(name, 0) + 1
        uow.forget_sent_mentioning(child_id)  # the events sent about the child, kept in the outbox, with their names
        if personal:
            uow.redact(audit.LOG, personal, erasure_id=erasure, note={"child_id": child_id, "rule": decision.rule})
        erased_at = datetime.now(UTC).isoformat()
        audit.record_write(
            uow,
            "erase",
            "child",
            child_id,
            child_id=child_id,
            principal=actor,
            detail={
                "erasure_id": erasure,
                "rule": decision.rule,
                "due_on": decision.due_on.isoformat(),
                "removed": {k: v - anonymised.get(k, 0) for k, v in counts.items() if v - anonymised.get(k, 0)},
                "anonymised": anonymised,
            },
        )
        deps.publish(
            uow,
            EVENT,
            subject=child_id,
            data={
                "child_id": child_id,
                "erasure_id": erasure,
                "rule": decision.rule,
                "due_on": decision.due_on.isoformat(),
                "erased_at": erased_at,
            },
            event_id=str(uuid.UUID(erasure)),
        )
        if uow_hook is not None:
            uow_hook(uow, child_id)
    return Erased(child_id, erasure, decision.rule, decision.due_on.isoformat(), counts)
