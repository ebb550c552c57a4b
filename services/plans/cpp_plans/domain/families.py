"""Families: a household's children and the people around them, and the
steps taken for several of its children at once.

A family groups the children of a household (brothers and sisters are
conferenced together) with their parents, carers and others with parental
responsibility, each person's relationship to each child recorded. A
child's own record, case, conference, plan, deadlines and events stay the
child's: a family step (one strategy discussion, one conference) is the
same step on each child's case, taken together and kept together by the
family step's id. A conference decides for each child of its group, and
for no child outside it.

Every case belongs to a family: opening a case for a child in no family
makes a family of one (and cases from before families were carried over
the same way, migrations.py).

Plain Python over plain documents, like lifecycle.py.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from typing import Any

from .lifecycle import Event, InvalidStep

RELATIONSHIPS = (
    "mother",
    "father",
    "parent",
    "step_parent",
    "foster_carer",
    "kinship_carer",
    "grandparent",
    "other_relative",
    "other",
)
ROLES = ("parent", "carer", "other")
MAX_CHILDREN = 20
MAX_PEOPLE = 30


def _check_children(children: Sequence[str], field: str = "children") -> None:
    if not children:
        raise InvalidStep({field: ["a family has at least one child"]})
    if len(children) > MAX_CHILDREN:
        raise InvalidStep({field: [f"a family has at most {MAX_CHILDREN} children"]})
    seen: set[str] = set()
    for i, child_id in enumerate(children):
        if child_id in seen:
            raise InvalidStep({field: {i: [f"child {child_id} is named twice"]}})
        seen.add(child_id)


def _people(people: Sequence[dict[str, Any]], children: Sequence[str], before: Sequence[dict[str, Any]]) -> list[dict]:
    """The people as recorded: each keeps the id it had (matched by ``id``) or
    is given one; each relationship names a child of the family."""
    if len(people) > MAX_PEOPLE:
        raise InvalidStep({"people": [f"a family records at most {MAX_PEOPLE} people"]})
    known = {p["id"] for p in before}
    errors: dict[int, Any] = {}
    out = []
    for i, person in enumerate(people):
        given_id = person.get("id")
        if given_id is not None and given_id not in known:
            errors[i] = {"id": [f"no person {given_id} in this family; leave the id out for someone new"]}
            continue
        relationships = person.get("relationships") or []
        wrong = {
            j: {"child_id": [f"child {r['child_id']} is not one of this family's children"]}
            for j, r in enumerate(relationships)
            if r["child_id"] not in children
        }
        if wrong:
            errors[i] = {"relationships": wrong}
            continue
        out.append({**copy.deepcopy(person), "id": given_id or uuid.uuid4().hex})
    if errors:
        raise InvalidStep({"people": errors}, message="a person of the family is not as recorded")
    return out


def new_family(
    family_id: str,
    authority: str,
    *,
    name: str,
    children: Sequence[str],
    people: Sequence[dict[str, Any]],
    created_at: str,
    created_by: str,
) -> tuple[dict, list[Event]]:
    """A new family of ``children`` (child ids, each registered) and the
    people around them."""
    _check_children(children)
    family = {
        "_id": family_id,
        "authority": authority,
        "name": name,
        "children": list(children),
        "people": _people(people, children, ()),
        "created_at": created_at,
        "created_by": created_by,
    }
    return family, [recorded(family)]


def change_family(
    family: dict, *, name: str, children: Sequence[str], people: Sequence[dict[str, Any]]
) -> tuple[dict, list[Event]]:
    """The family as it is now: its name, children and people replace the
    ones recorded (a person keeps their id)."""
    _check_children(children)
    new = {
        **copy.deepcopy(family),
        "name": name,
        "children": list(children),
        "people": _people(people, children, family["people"]),
    }
    if {k: new[k] for k in ("name", "children", "people")} == {k: family[k] for k in ("name", "children", "people")}:
        raise InvalidStep({"children": ["the family is already recorded this way"]})
    return new, [recorded(new)]


def family_of_one(family_id: str, authority: str, child: dict[str, Any], *, created_at: str, created_by: str) -> dict:
    """The family a child's case belongs to when nobody recorded one: the
    child alone, named after the child's family name, with the people the
    child's record gives parental responsibility."""
    people = [
        {
            "name": p.get("name"),
            "role": "parent",
            "parental_responsibility": True,
            "relationships": [{"child_id": child["_id"], "relationship": _relationship(p.get("relationship"))}],
        }
        for p in child.get("people_with_parental_responsibility") or []
        if p.get("name")
    ]
    family, _ = new_family(
        family_id,
        authority,
        name=f"{child.get('family_name') or 'Unnamed'} family",
        children=[child["_id"]],
        people=people,
        created_at=created_at,
        created_by=created_by,
    )
    return family


def _relationship(text: Any) -> str:
    """A relationship recorded in words on the child's record, as one of RELATIONSHIPS where it says one."""
    word = str(text or "").strip().casefold().replace("-", "_").replace(" ", "_")
    return word if word in RELATIONSHIPS else "other"


def recorded(family: dict) -> Event:
    return (
        "family.recorded.v1",
        family["_id"],
        {
            "family_id": family["_id"],
            "name": family["name"],
            "children": family["children"],
            "people": family["people"],
        },
    )


def check_group(family: dict, children: Sequence[str], field: str = "children") -> None:
    """The children a family step is for: at least one, each of this family."""
    _check_children(children, field)
    outside = {i: [f"child {c} is not one of this family's children"] for i, c in enumerate(children)}
    outside = {i: m for i, m in outside.items() if children[i] not in family["children"]}
    if outside:
        raise InvalidStep({field: outside}, message="a child of the step is not in the family")


def check_decisions(group: Sequence[str], decisions: Sequence[dict[str, Any]], field: str = "decisions") -> None:
    """A conference decides for each child of its group once, and for no other
    child (``field``: what the list is called; a family report's children too)."""
    errors: dict[int, Any] = {}
    seen: set[str] = set()
    for i, decision in enumerate(decisions):
        child_id = decision["child_id"]
        if child_id not in group:
            errors[i] = {"child_id": [f"child {child_id} is not one of the children this conference is about"]}
        elif child_id in seen:
            errors[i] = {"child_id": [f"child {child_id} is named twice"]}
        seen.add(child_id)
    if errors:
        raise InvalidStep({field: errors}, message=f"a child of {field} is outside the conference's group")
    missing = [c for c in group if c not in seen]
    if missing:
        raise InvalidStep(
            {field: [f"one for every child of the conference; missing: {', '.join(missing)}"]},
            message=f"a child of the conference is missing from {field}",
        )
