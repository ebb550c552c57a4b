"""Group commit: the units of work of concurrent requests share one commit.

On SQLite every commit is one fsync, and writers queue on the database's
write lock (a writer that finds it taken polls for it with growing sleeps).
A request that only appends its audit entry (a read of a child's record) or
its audit entry and an event (the partner lookup) is cheap to prepare and
dear to commit. Here the request threads of one process hand their units to
``GroupCommitter.commit``, which commits them together with
``Store.commit_all``: one transaction, a savepoint per unit, one fsync.

Nothing is answered before it is durable: ``commit`` returns only once the
caller's own unit is committed, and raises that unit's own error
(``VersionConflict``, ``DuplicateKey``...) when it alone was undone, or the
error that undid the whole commit (``StoreUnavailable``: nothing was
written). Each unit stays atomic on its own, and units are applied in the
order they were handed over, so the audit chain and the outbox keep commit
order.

There is no committer thread: the first caller that finds no commit under way
commits everything handed over so far, its own unit first; callers arriving
meanwhile wait, and when that commit ends the first of them commits what
gathered. Each waiting caller is woken once: when its unit is committed, or
when its turn to commit comes. A lone request commits at once, as it would
alone; under load each commit carries the units that arrived during the one
before.

A service's processes (gunicorn workers) take turns to commit through the
SQLite adapter's write turns (``sqlite.py``): a blocking wait
on a file lock, where SQLite's own wait for its write lock polls.

On MongoDB (a real server; not mongomock) the batch is one transaction
(``MongoStore.commit_batch``): a log's head is one document, written by every
unit that appends to it, so concurrent audited requests committed one
transaction each abort one another with WriteConflict and run again one at a
time; batched, they make one transaction and one head write per batch. For
any other store ``commit`` commits the unit on its own, in the caller's
thread.
"""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from collections.abc import Iterator

from .port import Store, StoreError, StoreUnavailable, UnitOfWork

MAX_BATCH = 64  # units per commit; more wait for the next one


class _Ticket:
    __slots__ = ("uow", "done", "error", "wake")

    def __init__(self, uow: UnitOfWork):
        self.uow = uow
        self.done = False
        self.error: BaseException | None = None
        self.wake = threading.Event()  # set when done, or when this caller is to commit next


class GroupCommitter:
    """Commits the units of work handed over by concurrent threads of this
    process together (see the module's description)."""

    def __init__(self, store: Store, *, max_batch: int = MAX_BATCH):
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.store = store
        self.max_batch = max_batch
        self.groups = _shares_commits(store)
        self._reset()
        _COMMITTERS.add(self)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Ticket] = []  # handed over, not yet being committed
        self._committing = False

    def commit(self, uow: UnitOfWork) -> None:
        """Commit ``uow`` (with whatever other units are waiting); return once
        it is durably committed, or raise why it was not."""
        if not self.groups:
            [outcome] = self.store.commit_all([uow])
            if outcome is not None:
                raise outcome
            return
        ticket = _Ticket(uow)
        with self._lock:
            self._queue.append(ticket)
            lead = not self._committing
            self._committing = True
        if not lead:
            ticket.wake.wait()  # each waiter is woken once: done, or its turn to commit
        if not ticket.done:
            self._lead(ticket)
        if not ticket.done:  # never answer as committed what was not
            raise StoreError("the unit of work was not committed")
        if ticket.error is not None:
            raise ticket.error

    def _lead(self, own: _Ticket) -> None:
        """Commit the units waiting (``own`` first among them), then hand the
        turn to the first caller that arrived meanwhile, if any."""
        batch: list[_Ticket] = []
        try:
            with self._lock:
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
            if own not in batch:  # own is first in the queue when its turn comes: cannot happen
                raise StoreError("group commit: the committing caller's unit was not at the head of the queue")
            self._commit_batch(batch)
        finally:
            with self._lock:
                for ticket in batch:  # a batch left unfinished by an error above: never committed
                    if not ticket.done:
                        ticket.error, ticket.done = StoreError("the unit of work was not committed"), True
                        ticket.wake.set()
                if not own.done and own in self._queue:
                    self._queue.remove(own)
                if self._queue:
                    self._queue[0].wake.set()  # its turn: it commits what gathered
                else:
                    self._committing = False

    def _commit_batch(self, batch: list[_Ticket]) -> None:
        failure: BaseException | None = None
        try:
            outcomes: list[BaseException | None] = list(_commit_together(self.store, [t.uow for t in batch]))
            if len(outcomes) != len(batch):
                raise StoreError(f"commit_all answered {len(outcomes)} outcomes for {len(batch)} units")
        except BaseException as exc:  # none of this batch is known to be committed
            failure = exc
            outcomes = [exc, *(_for_the_others(exc) for _ in batch[1:])]
        for ticket, outcome in zip(batch, outcomes):
            ticket.error, ticket.done = outcome, True
            ticket.wake.set()
        if failure is not None and not isinstance(failure, Exception):
            raise failure  # KeyboardInterrupt, SystemExit: the waiters were told first


def _for_the_others(exc: BaseException) -> BaseException:
    """What the other callers of a failed commit raise: their own exception
    object (one object raised in several threads would mix tracebacks), of a
    kind the app answers the same way (503 for an unavailable store)."""
    if isinstance(exc, StoreUnavailable):
        other: BaseException = StoreUnavailable(str(exc))
    else:
        other = StoreError(f"the commit this unit of work was part of failed: {type(exc).__name__}: {exc}")
    other.__cause__ = exc
    return other


def _shares_commits(store: Store) -> bool:
    from .mongo import MongoStore
    from .scoped import unscoped
    from .sqlite import SQLiteStore

    inner = unscoped(store)
    return isinstance(inner, SQLiteStore) or (isinstance(inner, MongoStore) and not inner._mock)


def _commit_together(store: Store, units: list[UnitOfWork]) -> list[BaseException | None]:
    """SQLite: ``commit_all`` (one transaction, a savepoint per unit).
    MongoDB: ``commit_batch`` (one transaction, a failing unit taken out and
    the rest run again), whose point is one write of each log's head per
    batch instead of one per request."""
    from .mongo import MongoStore
    from .scoped import ScopedUnitOfWork, unscoped

    inner = unscoped(store)
    if isinstance(inner, MongoStore):
        return inner.commit_batch([u.inner if isinstance(u, ScopedUnitOfWork) else u for u in units])
    return list(store.commit_all(units))


# One committer per store in a process.
_BY_STORE: weakref.WeakKeyDictionary[Store, GroupCommitter] = weakref.WeakKeyDictionary()
_BY_STORE_LOCK = threading.Lock()
_COMMITTERS: weakref.WeakSet[GroupCommitter] = weakref.WeakSet()


def committer_for(store: Store) -> GroupCommitter:
    committer = _BY_STORE.get(store)
    if committer is None:
        with _BY_STORE_LOCK:
            committer = _BY_STORE.get(store)
            if committer is None:
                committer = _BY_STORE[store] = GroupCommitter(store)
    return committer


@contextlib.contextmanager
def unit_of_work(store: Store) -> Iterator[UnitOfWork]:
    """Like ``store.unit_of_work()``, committed with the other requests'
    units: on a clean exit of the block the unit is committed and durable;
    an exception inside the block discards it."""
    uow = store.begin()
    yield uow
    committer_for(store).commit(uow)


def _after_fork_in_child() -> None:
    # A lock or a commit under way in another thread at fork() time would
    # stay so forever in the child, where that thread does not exist.
    global _BY_STORE_LOCK
    _BY_STORE_LOCK = threading.Lock()
    for committer in list(_COMMITTERS):
        committer._reset()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
