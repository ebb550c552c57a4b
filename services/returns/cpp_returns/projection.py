"""Folding the history log into the children's histories, and rebuilding them from it.

The read model comes in generations. The worker folds each new stretch of
the log into every live generation (``project_once``): the one the returns
are read from and, during a rebuild, the one being built. A rebuild starts
a new generation at the beginning of the log, folds the whole log into it
while the worker goes on keeping new events (they are appended to the log,
and so reach the new generation too), and switches readers to it only when
it has caught up with the log's end, in one commit checked against the
projection's version. Readers never see a half-built generation, and no
event is lost or folded twice: each generation's place in the log moves
in the same commit as the documents it changed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cpp_shared.logs import get_logger
from cpp_shared.store import DuplicateKey, Store, StoreError, StoreUnavailable, VersionConflict

from .domain.history import child_of, empty, fold
from .store import CHILDREN, HISTORY, PROJECTION, PROJECTION_ID

log = get_logger("cpp.returns")

BATCH = 500


def doc_id(generation: int, child_id: str) -> str:
    return f"{generation}:{child_id}"


def projection(store: Store) -> dict[str, Any]:
    """The projection's state, made at its start the first time it is read."""
    found = store.collection(PROJECTION).find_one({"_id": PROJECTION_ID})
    if found is not None:
        return found
    try:
        with store.unit_of_work() as uow:
            uow.insert(
                PROJECTION,
                {"_id": PROJECTION_ID, "current": 1, "building": None, "generations": {"1": {"seq": 0, "as_of": None}}},
            )
    except DuplicateKey:
        pass  # another process made it first
    return store.collection(PROJECTION).find_one({"_id": PROJECTION_ID})  # type: ignore[return-value]


def _live(state: dict[str, Any]) -> list[int]:
    return [state["current"], *([state["building"]] if state.get("building") else [])]


def project_once(store: Store, *, batch: int = BATCH) -> int:
    """Fold the next stretch (up to ``batch`` records) of the log into every live generation, in one
    commit; returns the records folded (0: caught up, or another process folded them first)."""
    state = projection(store)
    generations = {k: dict(v) for k, v in state["generations"].items()}
    uow = store.begin()
    folded = 0
    for generation in _live(state):
        place = generations[str(generation)]
        records = store.read_log(HISTORY, after_seq=place["seq"], limit=batch)
        if not records:
            continue
        children: dict[str, tuple[dict[str, Any] | None, dict[str, Any]]] = {}
        for record in records:
            event = record.entry.get("event")
            if not isinstance(event, dict):
                continue  # a redacted record, or the entry recording a redaction (an erased child's)
            child_id = child_of(event)
            if not child_id:
                continue
            if child_id not in children:
                stored = store.collection(CHILDREN).find_one({"_id": doc_id(generation, child_id)})
                history = stored["history"] if stored else empty(child_id, event.get("authority"))
                children[child_id] = (stored, history)
            fold(children[child_id][1], event)
            if event.get("time") and (place["as_of"] or "") < event["time"]:
                place["as_of"] = event["time"]
        for child_id, (stored, history) in sorted(children.items()):
            doc = {
                "_id": doc_id(generation, child_id),
                "gen": generation,
                "child_id": child_id,
                "authority": history.get("authority"),
                "history": history,
            }
            if stored is None:
                uow.insert(CHILDREN, doc)
            else:
                uow.replace(CHILDREN, doc, expected_version=stored["version"])
        place["seq"] = records[-1].seq
        generations[str(generation)] = place
        folded += len(records)
    if not folded:
        return 0
    uow.replace(PROJECTION, {**state, "generations": generations}, expected_version=state["version"])
    [outcome] = store.commit_all([uow])
    if isinstance(outcome, (VersionConflict, DuplicateKey)):
        return 0  # another process folded this stretch: the next pass reads what it made
    if outcome is not None:
        raise outcome
    return folded


def catch_up(store: Store, *, batch: int = BATCH) -> int:
    """Fold until every live generation has reached the log's end; returns the records folded."""
    total = 0
    while True:
        folded = project_once(store, batch=batch)
        total += folded
        if not folded and _caught_up(store):
            return total


def _caught_up(store: Store) -> bool:
    state = projection(store)
    return all(
        not store.read_log(HISTORY, after_seq=state["generations"][str(g)]["seq"], limit=1) for g in _live(state)
    )


@dataclass(frozen=True)
class Rebuilt:
    generation: int
    events: int  # the log's records the new generation folded
    children: int
    dropped: int  # documents of the generation it replaced, deleted


def rebuild(store: Store, *, batch: int = BATCH) -> Rebuilt:
    """Build a new generation from the whole log, switch readers to it once it has caught up, and delete
    the one it replaced. A rebuild interrupted part-way is taken up again by the next one."""
    state = projection(store)
    if not state.get("building"):
        generation = max(int(k) for k in state["generations"]) + 1
        with store.unit_of_work() as uow:
            uow.replace(
                PROJECTION,
                {
                    **state,
                    "building": generation,
                    "generations": {**state["generations"], str(generation): {"seq": 0, "as_of": None}},
                },
                expected_version=state["version"],
            )
    while True:
        catch_up(store, batch=batch)
        state = projection(store)
        generation, old = state["building"], state["current"]
        place = state["generations"][str(generation)]
        if store.read_log(HISTORY, after_seq=place["seq"], limit=1):
            continue  # events arrived meanwhile
        try:
            with store.unit_of_work() as uow:
                uow.replace(
                    PROJECTION,
                    {**state, "current": generation, "building": None, "generations": {str(generation): place}},
                    expected_version=state["version"],
                )
        except VersionConflict:
            continue  # the worker folded something meanwhile: catch up again
        break
    dropped = 0
    for doc in store.collection(CHILDREN).find({"gen": old}):
        dropped += store.collection(CHILDREN).delete_one({"_id": doc["_id"], "gen": old})
    children = store.collection(CHILDREN).count_documents({"gen": generation})
    return Rebuilt(generation, place["seq"], children, dropped)


PAGE = 500


def histories(store: Store, authority: str | None = None) -> tuple[Iterator[dict[str, Any]], str | None]:
    """The children's histories readers see (the current generation), by child id, read a page at a time
    as they are used (so memory holds a page, however many children there are); and the time of the latest
    event they reflect."""
    state = projection(store)
    generation = state["current"]

    def pages() -> Iterator[dict[str, Any]]:
        after = ""
        while True:
            query: dict[str, Any] = {"gen": generation, "child_id": {"$gt": after}}
            if authority:
                query["authority"] = authority
            docs = store.collection(CHILDREN).find(query, sort=[("child_id", 1)], limit=PAGE)
            for doc in docs:
                yield doc["history"]
            if len(docs) < PAGE:
                return
            after = docs[-1]["child_id"]

    return pages(), state["generations"][str(generation)]["as_of"]


class Projector:
    """The worker's loop: fold new events as they are kept."""

    def __init__(self, store: Store, interval: float = 0.5):
        self.store, self.interval = store, interval

    def loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                while project_once(self.store):
                    if stop.is_set():
                        return
            except StoreUnavailable as exc:
                log.warning("projection paused: store unavailable", error=str(exc))
            except StoreError as exc:
                log.error("projection failed", error=str(exc))
            except Exception:  # a bug must not stop the returns for good: log it and try again
                log.exception("projection failed")
            stop.wait(self.interval)
