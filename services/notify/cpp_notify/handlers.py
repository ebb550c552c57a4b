"""Events in, deliveries owed: every event the notify service hears is
matched against the authority's subscriptions, and a delivery per match is
stored with the event's processed mark, in one commit.

Each (subscription, plan) chain has a small versioned record (how many
deliveries wait in it, the next sequence number). The consumer and the
dispatcher both change it with versioned writes, so a delivery added while
the head is being settled is never left queued behind nothing: one of the
two writes conflicts and is done again on fresh state.
"""

from __future__ import annotations

import json
import time
from typing import Any

from cpp_shared import audit_checkpoints, case_events, children, erasure, revocations, staff
from cpp_shared.messaging.consumer import HandlerContext, Handlers

from . import store as st
from .domain.deliveries import chain_key, new_delivery
from .domain.minimise import minimise, partner_may_receive
from .domain.people import CASE_HOLDERS, NOBODY_TOLD, PEOPLE_EVENTS, messages_for, nobody_told, recipients
from .domain.subscriptions import ESCALATION, matches, receives_escalation
from .erasure import about_erased, child_ids_of, erase_child
from .runtime import EVENT_CATALOGUE, runtime

handlers = Handlers(ordering_key=chain_key)
handlers.on("case.*")(case_events.record_case_event)
handlers.on(audit_checkpoints.EVENT_TYPE)(audit_checkpoints.keep_checkpoint)
handlers.on(revocations.EVENT_TYPE)(revocations.keep_revocation)


handlers.on(staff.EVENT_TYPE)(staff.keep)  # the staff directory, to name people


@handlers.on("*")
def keep_child(event: dict[str, Any], ctx: HandlerContext) -> None:
    """The name of each child, for a notice whose event does not carry it (not of a child erased here)."""
    if not about_erased(ctx, event):
        children.keep(event, ctx)


@handlers.on("*")
def owe_deliveries(event: dict[str, Any], ctx: HandlerContext) -> None:
    if about_erased(ctx, event):
        return  # about a child erased here: heard after the erasure, it is told to nobody
    about = child_ids_of(ctx, event)
    subs = ctx.store.collection(st.SUBSCRIPTIONS).find(
        {"authority": event.get("authority"), "status": {"$in": ["active", "paused", "disabled"]}}
    )
    now = time.time()
    owed = False
    for sub in subs:
        if not matches(sub["event_types"], event["type"]):
            continue
        if sub["audience"] == "partner" and not partner_may_receive(event["type"], EVENT_CATALOGUE):
            continue  # never, whatever the pattern says
        recipient = event["type"] == ESCALATION and receives_escalation(sub, event)
        if sub["audience"] == "partner" and event["type"] == ESCALATION and not recipient:
            continue  # an escalation goes to the recipient its route names (the Convenor), not to every partner
        body = json.dumps(
            minimise(event, sub["scope"]["classes"], EVENT_CATALOGUE), separators=(",", ":"), sort_keys=True
        )
        chain_id = f"{sub['_id']}:{chain_key(event)}"
        chain = ctx.store.collection(st.CHAINS).find_one({"_id": chain_id})
        delivery = new_delivery(
            delivery_id=f"msg_{event['id']}_{sub['_id'][4:]}",
            subscription=sub,
            event=event,
            body=body,
            head=not chain or chain["pending"] == 0,
            now=now,
        )
        delivery["chain"] = chain_id
        delivery["child_ids"] = about  # found by, if the child's records are erased
        if recipient:
            # The referral reached its recipient once this is delivered: the
            # scheduler's timescale for it (the Convenor's 2 days) is met then.
            data = event.get("data") or {}
            delivery["announce"] = {
                "type": "escalation.delivered.v1",
                "subject": data.get("plan_id") or event["subject"],
                "data": {
                    k: data.get(k)
                    for k in ("escalation_id", "plan_id", "case_id", "child_id", "route", "child")
                    if k in data
                },
            }
        if chain is None:
            delivery["seq"] = 1
            ctx.uow.insert(st.CHAINS, {"_id": chain_id, "subscription_id": sub["_id"], "pending": 1, "next_seq": 2})
        else:
            delivery["seq"] = chain["next_seq"]
            ctx.uow.replace(
                st.CHAINS,
                {**chain, "pending": chain["pending"] + 1, "next_seq": chain["next_seq"] + 1},
                expected_version=chain["version"],
            )
        ctx.uow.insert(st.DELIVERIES, delivery)
        owed = True
    if owed and ctx.app is not None and "notify" in ctx.app.extensions:
        ctx.app.extensions["notify"].wake()


@handlers.on("plan.*", *CASE_HOLDERS, *PEOPLE_EVENTS)
def tell_people(event: dict[str, Any], ctx: HandlerContext) -> None:
    if about_erased(ctx, event):
        return
    st.update_people(ctx.uow, event)
    case = st.update_case_people(ctx.store, ctx.uow, event)
    if event["type"] not in PEOPLE_EVENTS:
        return
    data = event.get("data") or {}
    plan_id = data.get("plan_id")
    people = ctx.store.collection(st.PEOPLE).find_one({"_id": plan_id}) if plan_id else None
    rt = runtime(ctx.app)
    heard = st.Heard(ctx.store)
    found = recipients(ctx.app.plugins, event, people, heard, case)
    made = messages_for(
        event,
        people=people,
        plugins=ctx.app.plugins,
        templates=rt.templates,
        channels=rt.channels,
        organiser=rt.organiser,
        now=time.time(),
        heard=heard,
        found=found,
    )
    about = child_ids_of(ctx, event)
    for message in made:
        ctx.uow.insert(st.MESSAGES, {**message, "child_ids": about})
    untold = nobody_told(event, found, made)
    if untold is not None:  # reported on the deadline, never dropped
        ctx.app.publish(
            ctx.uow, NOBODY_TOLD, subject=data["case_id"], data=untold, correlation_id=event.get("correlationid")
        )
    if made:
        rt.wake()


handlers.on(erasure.EVENT_TYPE)(erase_child)  # the child's retention ended: what notify holds of them goes
