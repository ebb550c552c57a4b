"""Notify's copy of a child, erased on ``child.erased.v1`` (see ``cpp_shared.erasure``).

What notify holds about a child: who they are (``children``), who is on
their plans and cases (``plan_people``, ``case_people``), the messages people
were sent about them (inbox items and emails, in ``messages``: their subject
and body name the child), the webhook deliveries of events about them
(``deliveries``: the body is the event, minimised to the subscription's
classes) and the case events heard (``case_events``).

Messages and deliveries are found by ``child_ids`` (the children the event
was about, kept on each since erasure came in); one made before carries
none, and is found by the child's id or name in it.

Removing a webhook delivery takes it out of its chain too (one chain per
subscription and plan, or subject): the chain's count of deliveries waiting
goes down, the next queued delivery becomes the chain's head when the one
removed was, and a chain left with no delivery is removed.

Events about the child heard after the erasure (a deadline's, published by
the scheduler before it heard) make no message, delivery or record
(``about_erased``). The erasure's own event is delivered to the partners
subscribed to it, as any event is: it carries no personal data, and tells
them to erase their copies.
"""

from __future__ import annotations

import json
import time
from typing import Any

from cpp_shared import case_events, children
from cpp_shared.erasure import Erasure, is_erased
from cpp_shared.messaging.consumer import HandlerContext

from . import store as st

LEGACY = {"child_ids": {"$exists": False}}


def children_of(event: dict[str, Any]) -> list[str]:
    """The children an event is about: its child, or each child of a family's event."""
    data = event.get("data") or {}
    ids = [data.get("child_id")] + [c.get("child_id") for c in data.get("children") or [] if isinstance(c, dict)]
    return sorted({i for i in ids if isinstance(i, str) and i})


def child_ids_of(ctx: HandlerContext, event: dict[str, Any]) -> list[str]:
    """The children a message or delivery made from ``event`` is about: the event's, else its plan's or case's."""
    found = children_of(event)
    if found:
        return found
    data = event.get("data") or {}
    for collection, key in ((st.PEOPLE, data.get("plan_id")), (st.CASE_PEOPLE, data.get("case_id"))):
        row = ctx.store.collection(collection).find_one({"_id": key}) if isinstance(key, str) and key else None
        if row and row.get("child_id"):
            return [row["child_id"]]
    return []


def about_erased(ctx: HandlerContext, event: dict[str, Any]) -> bool:
    """Whether the event is about a child erased here (it arrived after the erasure)."""
    return any(is_erased(ctx.store, child_id) for child_id in children_of(event))


def _mentions(doc: dict[str, Any], needles: list[str]) -> bool:
    text = json.dumps(doc, ensure_ascii=False)
    return any(n and n in text for n in needles)


def erase_child(event: dict[str, Any], ctx: HandlerContext) -> None:
    erasure = Erasure(ctx, event)
    if erasure.done_before:
        return
    child_id = erasure.child_id
    named = children.named(ctx.store, child_id)
    needles = [child_id, *([named["name"]] if named and named.get("name") else [])]

    erasure.delete(st.MESSAGES, {"child_ids": child_id})
    erasure.delete_ids(st.MESSAGES, [m["_id"] for m in erasure.find(st.MESSAGES, LEGACY) if _mentions(m, needles)])

    gone = erasure.find(st.DELIVERIES, {"child_ids": child_id})
    gone += [d for d in erasure.find(st.DELIVERIES, LEGACY) if _mentions(d, needles)]
    erasure.delete_ids(st.DELIVERIES, [d["_id"] for d in gone])
    _mend_chains(ctx, erasure, gone)

    plans = erasure.delete(st.PEOPLE, {"child_id": child_id})
    cases = erasure.find(st.CASE_PEOPLE, {"child_id": child_id})
    case_ids = sorted({c["_id"] for c in cases} | {p["case_id"] for p in plans if p.get("case_id")})
    erasure.delete_ids(st.CASE_PEOPLE, [c["_id"] for c in cases])
    erasure.delete(case_events.COLLECTION, {"case_id": {"$in": case_ids}})
    erasure.delete(st.CHILDREN, {"_id": child_id})
    erasure.finish()


def _mend_chains(ctx: HandlerContext, erasure: Erasure, gone: list[dict[str, Any]]) -> None:
    removed = {d["_id"] for d in gone}
    emptied = []
    for chain_id in sorted({d["chain"] for d in gone if d.get("chain")}):
        chain = ctx.store.collection(st.CHAINS).find_one({"_id": chain_id})
        if chain is None:
            continue
        left = [d for d in erasure.find(st.DELIVERIES, {"chain": chain_id}) if d["_id"] not in removed]
        if not left:
            emptied.append(chain_id)
            continue
        waiting = sorted((d for d in left if d.get("in_chain", True) and d["state"] in ("ready", "queued")), key=_seq)
        ctx.uow.replace(st.CHAINS, {**chain, "pending": len(waiting)}, expected_version=chain["version"])
        if waiting and not any(d["state"] == "ready" for d in waiting):
            head = waiting[0]  # the head removed was the child's: the next in line goes
            ctx.uow.replace(
                st.DELIVERIES,
                {**head, "state": "ready", "next_attempt_at": time.time()},
                expected_version=head["version"],
            )
    erasure.delete_ids(st.CHAINS, emptied)


def _seq(delivery: dict[str, Any]) -> int:
    return int(delivery.get("seq") or 0)
