"""The outbox relay's lease, on an injected clock: how often the holder
renews, how soon a standby takes over from a relay that died, what a relay
that was paused does when it wakes up, and the clock skew it tolerates."""

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
    """What the replicas' store holds: the lease and the outbox."""

    clock: Clock
    lease: dict = field(default_factory=dict)  # name -> (holder, expires_at on the writer's wall clock)
    outbox: list = field(default_factory=list)
    sent: set = field(default_factory=set)
    writes: list = field(default_factory=list)  # (holder, time) of every lease write


class LeaseStore:
    """One replica's view of the store, its wall clock ``skew`` seconds off
    the shared clock: the lease rules of ``Store.acquire_lease``."""

    def __init__(self, shared: Shared, skew: float = 0.0):
        self.shared, self.skew = shared, skew

    def acquire_lease(self, name, holder, seconds):
        now = self.shared.clock() + self.skew
        current = self.shared.lease.get(name)
        if current is not None and current[0] != holder and current[1] > now:
            return False
        self.shared.lease[name] = (holder, now + seconds)
        self.shared.writes.append((holder, self.shared.clock()))
        return True

    def release_lease(self, name, holder):
        if self.shared.lease.get(name, (None,))[0] == holder:
            del self.shared.lease[name]

    def outbox_pending(self, limit=100, *, authority=None):
        return [m for m in self.shared.outbox if m.seq not in self.shared.sent][:limit]

    def outbox_mark_sent(self, seqs):
        self.shared.sent.update(seqs)


class Producer:
    def __init__(self, name: str, published: list, on_publish=None):
        self.name, self.published, self.on_publish = name, published, on_publish

    def publish(self, body, *, message_id, **kwargs):
        if self.on_publish is not None:
            self.on_publish(message_id)
        self.published.append((self.name, message_id))


def a_relay(shared: Shared, name: str, published: list, *, skew: float = 0.0, on_publish=None) -> OutboxRelay:
    relay = OutboxRelay(LeaseStore(shared, skew), "amqp://unused", batch=100, clock=shared.clock)
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
    assert LEASE not in shared.lease, "and gave it up when it stopped"


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
    assert holder.publish_pending() == 3  # e1, e2, and e3, in flight when paused
    assert shared.sent == set(range(1, 11))
    assert holder.publish_pending() == 0, "it no longer holds the lease"
    from_a = [m for name, m in published if name == "a"]
    assert from_a == ["e1", "e2", "e3"]
    assert [m for name, m in published if name == "b"] == [f"e{i}" for i in range(1, 11)]


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


@pytest.mark.parametrize("skew", [0.3, -0.3, 0.45])
def test_a_standby_with_a_clock_within_a_third_of_the_lease_never_takes_a_live_lease(skew):
    shared = Shared(Clock())
    holder = a_relay(shared, "a", [])
    standby = a_relay(shared, "b", [], skew=skew)
    for step in range(400):  # 20 s: the holder's loop every 50 ms, the standby's every 150 ms
        assert holder.hold_lease()
        if step % 3 == 0:
            assert not standby.hold_lease()
        shared.clock.advance(0.05)


def test_with_clocks_further_apart_both_may_send_for_at_most_a_third_of_the_lease():
    """A standby 1.2 s ahead sees the lease expire 0.3 s after each of the
    holder's renewals and takes it; the holder learns it at its next
    renewal and stops sending."""
    shared = Shared(Clock())
    holder = a_relay(shared, "a", [])
    standby = a_relay(shared, "b", [], skew=1.2)
    assert holder.hold_lease()
    both, longest = 0, 0
    for _ in range(200):
        shared.clock.advance(0.05)
        holder_may_send = holder.hold_lease() and holder._may_send()
        standby_may_send = standby.hold_lease() and standby._may_send()
        both = both + 1 if holder_may_send and standby_may_send else 0
        longest = max(longest, both)
    assert standby._renewed_at is not None and holder._renewed_at is None, "the standby took it"
    assert 0 < longest * 0.05 <= holder.renew_every


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
