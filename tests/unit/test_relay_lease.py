"""The outbox relay's lease, on an injected clock: how often the holder
renews, how soon a standby takes over from a relay that died, what a relay
that was paused does when it wakes up, and the fencing that keeps a relay
overtaken meanwhile from marking events sent (on a fake store, then on
SQLite and mongomock)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pytest

from cpp_shared.messaging import relay as relay_module
from cpp_shared.messaging.relay import LEASE, LEASE_SECONDS, OutboxRelay
from cpp_shared.store import OutboxMessage, open_store
from cpp_shared.store.scoped import ScopedStore
from tests.helpers import wait_for


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Shared:
    """What the replicas' store holds: the lease and the outbox. Its clock
    is the database server's, the only one the lease is compared on."""

    clock: Clock
    lease: dict = field(default_factory=dict)  # name -> (holder, expires_at on the server's clock, token)
    outbox: list = field(default_factory=list)
    sent: set = field(default_factory=set)
    writes: list = field(default_factory=list)  # (holder, time) of every lease write
    refused: list = field(default_factory=list)  # (holder, seqs) of every fenced mark refused


class LeaseStore:
    """One replica's view of the store: the lease rules of
    ``Store.acquire_lease`` and the fenced ``outbox_mark_sent``."""

    def __init__(self, shared: Shared, holder: str = ""):
        self.shared, self.holder = shared, holder

    def acquire_lease(self, name, holder, seconds):
        now = self.shared.clock()
        current = self.shared.lease.get(name)
        if current is not None and current[0] != holder and current[1] > now:
            return None
        token = current[2] if current is not None and current[0] == holder else (current[2] if current else 0) + 1
        self.shared.lease[name] = (holder, now + seconds, token)
        self.shared.writes.append((holder, self.shared.clock()))
        return token

    def release_lease(self, name, holder):
        current = self.shared.lease.get(name)
        if current is not None and current[0] == holder:
            self.shared.lease[name] = (None, 0.0, current[2])

    def outbox_pending(self, limit=100, *, authority=None):
        return [m for m in self.shared.outbox if m.seq not in self.shared.sent][:limit]

    def outbox_mark_sent(self, seqs, *, fence=None):
        if fence is not None and self.shared.lease.get(fence[0], (None, 0.0, None))[2] != fence[1]:
            self.shared.refused.append((self.holder, list(seqs)))
            return False
        self.shared.sent.update(seqs)
        return True


class Producer:
    def __init__(self, name: str, published: list, on_publish=None):
        self.name, self.published, self.on_publish = name, published, on_publish

    def publish(self, body, *, message_id, **kwargs):
        if self.on_publish is not None:
            self.on_publish(message_id)
        self.published.append((self.name, message_id))


def a_relay(shared: Shared, name: str, published: list, *, on_publish=None) -> OutboxRelay:
    relay = OutboxRelay(LeaseStore(shared, name), "amqp://unused", batch=100, clock=shared.clock)
    relay.holder = name
    relay._connect = lambda: Producer(name, published, on_publish)  # type: ignore[method-assign]
    return relay


def fill(shared: Shared, n: int) -> None:
    shared.outbox.extend(
        OutboxMessage(seq=i, message_id=f"e{i}", routing_key="case.opened.v1", body={}) for i in range(1, n + 1)
    )


def test_the_default_lease_is_short_and_split_in_thirds():
    relay = OutboxRelay(LeaseStore(Shared(Clock())), "amqp://unused")
    assert (relay.lease_seconds, relay.renew_every, relay.publish_window, relay.standby_poll) == pytest.approx(
        (1.5, 0.5, 1.0, 0.15)
    )


def test_the_holder_renews_every_third_of_the_lease_and_writes_nothing_in_between():
    shared = Shared(Clock())
    holder = a_relay(shared, "a", [])
    for _ in range(60):  # 3 s of an idle relay's loop, every 50 ms
        assert holder.hold_lease()
        assert shared.lease[LEASE][1] > shared.clock(), "the lease never lapses while renewed"
        shared.clock.advance(0.05)
    times = [t - 1000.0 for _, t in shared.writes]
    assert len(times) == 6
    assert all(0.5 <= b - a < 0.55 for a, b in zip(times, times[1:])), times


@pytest.mark.parametrize("died_after_renewal", [0.0, 0.2, 0.49])
@pytest.mark.parametrize("standby_phase", [0.0, 0.07, 0.14])
def test_a_standby_takes_over_within_the_bound_after_the_holder_dies(died_after_renewal, standby_phase):
    """The bound the take-over test on real processes relies on: the dead
    holder's last renewal began before it died, so its lease ends at most
    ``lease`` after the death; the standby tries every ``lease/10``; so it
    takes the lease at most 1.65 s after the death (2 s promised)."""
    shared = Shared(Clock())
    holder = a_relay(shared, "a", [])
    assert holder.hold_lease()
    shared.clock.advance(died_after_renewal)
    died = shared.clock()  # SIGKILL: no release, no more renewals

    shared.clock.advance(standby_phase)
    standby = a_relay(shared, "b", [])
    started = shared.clock()

    class Stop:
        """Stops once the standby holds the lease; its waits pass on the clock."""

        def is_set(self):
            return standby._renewed_at is not None

        def wait(self, seconds):
            shared.clock.advance(seconds)
            return self.is_set()

    standby.idle_sleep = 0.0
    standby.run(Stop())  # type: ignore[arg-type]
    taken = standby._taken_at
    assert taken is not None
    assert taken - died <= LEASE_SECONDS + LEASE_SECONDS / 10 + 1e-9
    assert taken - started < 2.0
    assert shared.lease[LEASE][0] is None, "and gave it up when it stopped"


def test_a_holder_paused_past_its_window_stops_before_its_next_message_and_reads_the_outbox_again():
    """SIGSTOP in the middle of a batch: the message being sent when the
    pause began goes out; nothing after it does until the relay holds the
    lease again. The successor sends the batch's messages that were sent
    but not yet marked again (duplicates, as after any crash before the
    mark), and the paused relay's late one is a duplicate too."""
    shared = Shared(Clock())
    fill(shared, 10)
    published: list = []
    standby = a_relay(shared, "b", published)

    def pause_on_third(message_id):
        if message_id == "e3":
            shared.clock.advance(5.0)  # stopped, then continued
            assert standby.hold_lease(), "the standby took the lapsed lease meanwhile"
            assert standby.publish_pending() == 10  # e1 .. e3 not yet marked sent, e4 .. e10

    holder = a_relay(shared, "a", published, on_publish=pause_on_third)
    assert holder.publish_pending() == 0  # e1, e2, and e3 (in flight when paused) sent, none marked by it
    assert shared.refused == [("a", [1, 2, 3])], "its late mark was fenced off"
    assert shared.sent == set(range(1, 11))
    assert holder.publish_pending() == 0, "it no longer holds the lease"
    from_a = [m for name, m in published if name == "a"]
    assert from_a == ["e1", "e2", "e3"]
    assert [m for name, m in published if name == "b"] == [f"e{i}" for i in range(1, 11)]


def test_a_relay_overtaken_while_paused_cannot_mark_what_its_successor_has_not_sent_yet():
    """The successor took the lease while the first relay was paused, but
    has not sent anything yet: the first relay's late mark is refused, so
    the events it sent stay pending for the successor (sent twice, never
    marked by a relay that no longer holds the lease)."""
    shared = Shared(Clock())
    fill(shared, 5)
    published: list = []
    successor = a_relay(shared, "b", published)

    def pause_on_second(message_id):
        if message_id == "e2":
            shared.clock.advance(5.0)  # stopped past its lease, then continued
            assert successor.hold_lease()

    holder = a_relay(shared, "a", published, on_publish=pause_on_second)
    assert holder.publish_pending() == 0
    assert shared.refused == [("a", [1, 2])] and shared.sent == set()
    assert holder._renewed_at is None and holder._token is None, "it knows it no longer holds the lease"
    assert holder.publish_pending() == 0, "and stays a standby"
    assert successor.publish_pending() == 5
    assert shared.sent == {1, 2, 3, 4, 5}
    assert [m for name, m in published if name == "a"] == ["e1", "e2"]


def test_a_renewal_that_finds_another_take_ends_the_batch_read_under_the_old_one():
    """Lost and taken back between two renewals (another relay held it
    meanwhile): the batch read under the first take stops, its marks are
    refused, and the next batch is read under the new take."""
    shared = Shared(Clock())
    fill(shared, 6)
    published: list = []
    other = a_relay(shared, "b", published)

    def lose_and_retake(message_id):
        if message_id == "e2" and not shared.refused:
            shared.lease[LEASE] = (None, 0.0, shared.lease[LEASE][2])  # lapsed...
            assert other.hold_lease()  # ...taken by b...
            other.release()  # ...and given up again, before a's next renewal
            shared.clock.advance(0.6)  # a renews before its next message

    holder = a_relay(shared, "a", published, on_publish=lose_and_retake)
    assert holder.publish_pending() == 0
    assert shared.refused == [("a", [1, 2])]
    assert holder._token == 3, "it holds the lease again, under a new take"
    assert holder.publish_pending() == 6
    assert shared.sent == set(range(1, 7))


@pytest.mark.parametrize("url", ["sqlite", "mongomock"])
def test_on_a_real_store_the_first_relay_s_late_mark_is_refused_after_a_take_over(tmp_path, url):
    """The same on the adapters: the first relay's lease lapses at once on
    the store (as it would while the relay is paused past it), a second
    relay takes it over before the first marks what it sent."""
    if url == "sqlite":
        inner = open_store(f"sqlite:///{tmp_path / 'plans.db'}")
    else:
        import mongomock

        from cpp_shared.store.mongo import MongoStore

        inner = MongoStore(mongomock.MongoClient(), "plans")
    store = ScopedStore(inner, "ENG")
    for n in range(4):
        with store.unit_of_work() as uow:
            uow.publish("case.opened.v1", {"authority": "ENG", "n": n}, message_id=f"e{n}")

    class Lapsing:
        """The first relay's view: its lease is over on the server as soon as written."""

        def __getattr__(self, name):
            return getattr(store, name)

        def acquire_lease(self, name, holder, seconds):
            return store.acquire_lease(name, holder, 0)

    clock = Clock()
    published: list = []
    successor = OutboxRelay(store, "amqp://unused", batch=100, clock=clock)
    successor.holder = "b"
    successor._connect = lambda: Producer("b", published)  # type: ignore[method-assign]

    def overtaken(message_id):
        if message_id == "e1":
            assert successor.hold_lease(), "the lapsed lease is taken over"

    first = OutboxRelay(Lapsing(), "amqp://unused", batch=100, clock=clock)  # type: ignore[arg-type]
    first.holder = "a"
    first._connect = lambda: Producer("a", published, overtaken)  # type: ignore[method-assign]
    assert first.publish_pending() == 0
    # Its own clock saw no pause, so it went on sending; the store refused its marks.
    assert [m for name, m in published if name == "a"] == ["e0", "e1", "e2", "e3"]
    assert [m.message_id for m in store.outbox_pending()] == ["e0", "e1", "e2", "e3"], "none marked by the first"
    assert successor.publish_pending() == 4
    assert store.outbox_pending() == []


def test_a_long_batch_is_renewed_as_it_goes_and_a_standby_never_gets_in():
    shared = Shared(Clock())
    fill(shared, 40)
    published: list = []
    standby = a_relay(shared, "b", published)

    def slow(message_id):  # 0.1 s a message: the batch lasts 4 s, more than two leases
        shared.clock.advance(0.1)
        assert not standby.hold_lease()

    holder = a_relay(shared, "a", published, on_publish=slow)
    assert holder.publish_pending() == 40
    assert len(shared.writes) >= 8, "renewed every 0.5 s along the batch"


def test_a_message_slower_than_the_window_ends_the_batch_without_losing_the_lease():
    shared = Shared(Clock())
    fill(shared, 5)
    holder = a_relay(shared, "a", [], on_publish=lambda m: shared.clock.advance(1.2 if m == "e1" else 0.0))
    assert holder.publish_pending() == 1
    assert holder.publish_pending() == 4, "read again and went on under a renewed lease"


def test_a_relay_that_stops_gives_the_lease_up_at_once(tmp_path):
    store = ScopedStore(open_store(f"sqlite:///{tmp_path / 'plans.db'}"), "ENG")
    relay = OutboxRelay(store, "amqp://unused")  # an empty outbox: no broker needed
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,))
    thread.start()
    try:
        wait_for(lambda: relay._renewed_at is not None, timeout=10, interval=0.01, what="the relay to take the lease")
        assert not store.acquire_lease(LEASE, "successor", LEASE_SECONDS)
    finally:
        stop.set()
        thread.join(10)
    assert store.acquire_lease(LEASE, "successor", LEASE_SECONDS), "free at once, not at its expiry"


def test_the_worker_passes_the_lease_setting(make_settings):
    assert make_settings().relay_lease_seconds == LEASE_SECONDS
    assert make_settings(CPP_PLANS_RELAY_LEASE_SECONDS="4").relay_lease_seconds == 4.0
    from cpp_shared.config import ConfigError

    with pytest.raises(ConfigError, match="CPP_RELAY_LEASE_SECONDS"):
        make_settings(CPP_RELAY_LEASE_SECONDS="0.1")
    assert relay_module.LEASE_SECONDS == 1.5
