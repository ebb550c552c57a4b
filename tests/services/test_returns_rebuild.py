"""Rebuilding the returns' histories while events arrive loses none: a thread hands events to the returns
service (as its worker would, with the worker's folding between) while ``rebuild`` makes a new generation from
the history log; at the end every child's history is what a fresh fold of the whole log gives, and the old
generation is gone."""

from __future__ import annotations

import threading

from cpp_returns.app import create_app
from cpp_returns.domain.history import child_of, empty, fold
from cpp_returns.projection import catch_up, histories, project_once, projection, rebuild
from cpp_returns.store import HISTORY

from cpp_shared.testing import deliver_event


def visit(ctx, n: int) -> None:
    child = f"child-{n % 40:02d}"
    deliver_event(
        ctx,
        "visit.recorded.v1",
        {
            "visit_id": f"visit-{n}",
            "plan_id": f"plan-{child}",
            "case_id": f"case-{child}",
            "child_id": child,
            "visited_on": "2025-06-05",
            "announced": False,
            "child_seen": True,
            "seen_alone": n % 3 != 0,
        },
    )


def from_scratch(store) -> dict[str, dict]:
    out: dict[str, dict] = {}
    after = 0
    while records := store.read_log(HISTORY, after_seq=after, limit=500):
        for record in records:
            event = record.entry["event"]
            cid = child_of(event)
            fold(out.setdefault(cid, empty(cid, event.get("authority"))), event)
        after = records[-1].seq
    return out


def test_events_arriving_during_a_rebuild_all_reach_the_new_generation(make_settings):
    ctx = create_app(make_settings("returns")).extensions["cpp"]
    for n in range(200):
        visit(ctx, n)
    catch_up(ctx.store)
    assert projection(ctx.store)["current"] == 1

    stop, arrived = threading.Event(), []

    def keep_sending() -> None:
        n = 200
        while not stop.is_set() and n < 1200:
            visit(ctx, n)
            arrived.append(n)
            if n % 7 == 0:
                project_once(ctx.store, batch=50)  # the worker's loop folding as it goes
            n += 1

    sender = threading.Thread(target=keep_sending)
    sender.start()
    try:
        done = rebuild(ctx.store, batch=50)
    finally:
        stop.set()
        sender.join()
    assert done.generation == 2 and arrived  # events did arrive during the rebuild
    catch_up(ctx.store)
    state = projection(ctx.store)
    assert (state["current"], state["building"], list(state["generations"])) == (2, None, ["2"])
    shown = list(histories(ctx.store)[0])
    expected = from_scratch(ctx.store)
    assert {h["child_id"]: h for h in shown} == expected
    visits = sum(len(case["visits"]) for h in shown for case in h["cases"].values())
    assert visits == 200 + len(arrived)  # none lost
    assert ctx.store.collection("return_children").count_documents({"gen": 1}) == 0  # the old generation is gone
