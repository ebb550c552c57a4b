"""Who is who, as the scheduler hears it: each case's people, and each child.

A deadline names the person who must act (``assignee``), the team that holds
the case and the child it is about. The scheduler keeps what it needs from
the plans service's events, without asking it:

- per case (collection ``case_people``, ``store.CASE_PEOPLE``): its social worker, team manager
  and team (``case.opened.v1``, ``case.allocated.v1``), the plan's key worker
  (every ``plan.*`` snapshot's ``key_worker``) and each conference with its
  kind, state and chair (``conference.*``);
- per child (collection ``children``, ``store.CHILDREN``): who the child is, from the ``child``
  every event about a child carries (``child.registered.v1`` and
  ``child.updated.v1`` among them), the latest by event time, since a
  child's own events and a case's events are not ordered with each other.

Who holds an owner's role (the platform's contract):

- ``social_worker``: the plan's key worker when the case has a plan with a
  linked key worker, else the case's social worker;
- ``team_manager``: the case's team manager;
- ``chair``: the chair of the conference the deadline is about: the
  conference the rule is keyed by; for a conference still to be held, the
  case's next conference of that kind once one is scheduled and has a chair,
  else the chair of the case's last conference held (a review is chaired by
  the chair who set the plan's timetable until one is named);
- ``admin``: nobody in particular (null).

Plain functions over plain documents, like ``deadlines.py``: the handler
reads the records, calls these, and stores what they return.
"""

from __future__ import annotations

from typing import Any

from cpp_shared import children

CONFERENCE_HELD = "conference.held.v1"


def staff_ref(value: Any) -> dict[str, Any] | None:
    """A ``{user, name}`` reference from an event, or None."""
    if not isinstance(value, dict) or not value.get("user"):
        return None
    return {"user": value["user"], "name": value.get("name") or None}


# Who the child is, kept as every consuming service keeps it (cpp_shared.children).
child_of = children.of_event
updated_child = children.updated


def empty_case(case_id: str) -> dict[str, Any]:
    return {
        "_id": case_id,
        "child_id": None,
        "social_worker": None,
        "team_manager": None,
        "team": None,
        "plan_id": None,
        "key_worker": None,
        "conferences": [],
    }


def updated_case(stored: dict[str, Any] | None, case_id: str, event: dict[str, Any]) -> dict[str, Any] | None:
    """The case's people after ``event``; None when it changes nothing."""
    etype, data = event["type"], event.get("data") or {}
    record = {**empty_case(case_id), **(stored or {})}
    record["conferences"] = [dict(c) for c in record.get("conferences") or []]
    if data.get("child_id") and not record["child_id"]:
        record["child_id"] = data["child_id"]
    if etype in ("case.opened.v1", "case.allocated.v1"):
        # case.opened.v1 made before cases were allocated has none of these: it changes nothing
        for name in ("social_worker", "team_manager"):
            if name in data:
                record[name] = staff_ref(data[name])
        if "team" in data:
            record["team"] = data["team"] or None
    elif etype.startswith("plan.") and data.get("plan_id"):
        record["plan_id"] = data["plan_id"]
        if "key_worker" in data:
            record["key_worker"] = staff_ref(data["key_worker"])
    elif etype.startswith("conference.") and data.get("conference_id"):
        conf = next((c for c in record["conferences"] if c["id"] == data["conference_id"]), None)
        if conf is None:
            conf = {"id": data["conference_id"], "kind": data.get("kind"), "status": None, "on": None, "chair": None}
            record["conferences"].append(conf)
        if etype in ("conference.scheduled.v1", "conference.rescheduled.v1"):
            conf.update(status="scheduled", on=data.get("scheduled_for"))
        elif etype == CONFERENCE_HELD:
            conf.update(status="held", on=data.get("held_on"))
        elif etype == "conference.cancelled.v1":
            conf["status"] = "cancelled"
        if data.get("kind"):
            conf["kind"] = data["kind"]
        if "chair" in data:
            conf["chair"] = staff_ref(data["chair"])
    if stored is not None and record == {**empty_case(case_id), **stored}:
        return None
    return record


def _conference_chair(deadline: dict[str, Any], rule, case: dict[str, Any]) -> dict[str, Any] | None:
    conferences = case.get("conferences") or []
    if rule is not None and rule.key == "conference_id" and deadline.get("key"):
        conf = next((c for c in conferences if c["id"] == deadline["key"]), None)
        return conf and conf.get("chair")
    if rule is not None and CONFERENCE_HELD in rule.met_by:
        kind = rule.met_when.get("kind")
        kinds = kind if isinstance(kind, list) else [kind] if kind else None
        coming = [
            c
            for c in conferences
            if c.get("status") == "scheduled" and c.get("chair") and (kinds is None or c.get("kind") in kinds)
        ]
        if coming:
            return min(coming, key=lambda c: c.get("on") or "")["chair"]
    held = [c for c in conferences if c.get("status") == "held" and c.get("chair")]
    return max(held, key=lambda c: c.get("on") or "")["chair"] if held else None


def assignee(deadline: dict[str, Any], rule, case: dict[str, Any] | None) -> dict[str, Any] | None:
    """Who must act on ``deadline``: the case's holder of its owner's role."""
    if case is None:
        return None
    owner = deadline.get("owner")
    if owner == "social_worker":
        return case.get("key_worker") or case.get("social_worker")
    if owner == "team_manager":
        return case.get("team_manager")
    if owner == "chair":
        return _conference_chair(deadline, rule, case)
    return None


def assign(deadline: dict[str, Any], rule, case: dict[str, Any] | None, child: dict[str, Any] | None) -> bool:
    """Set a deadline's assignee, team and child; whether any changed. A
    child the scheduler has not heard of leaves the child it had."""
    new = {
        "assignee": assignee(deadline, rule, case),
        "team": (case or {}).get("team"),
        "child": child if child is not None else deadline.get("child"),
    }
    if all(deadline.get(k) == v for k, v in new.items()) and all(k in deadline for k in new):
        return False
    deadline.update(new)
    return True


def child_ref(record: dict[str, Any] | None) -> dict[str, Any] | None:
    """The child as a deadline carries it (without the record's bookkeeping)."""
    if not record:
        return None
    return {
        "name": record["name"],
        "date_of_birth": record.get("date_of_birth"),
        "nhs_number": record.get("nhs_number"),
    }
