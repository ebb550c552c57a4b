"""Revoked tokens (cpp_shared.revocations): a user's tokens issued before a
moment, or one token by its jti, refused by the token check once the
service's store holds the revocation (and a process's kept answer for the
token has expired)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import jwt
import pytest

from cpp_shared import revocations
from cpp_shared.auth import AuthError, TokenVerifier
from cpp_shared.config import ConfigError
from cpp_shared.messaging.consumer import HandlerContext, PermanentFailure
from cpp_shared.messaging.events import new_event
from cpp_shared.store import open_store
from cpp_shared.store.scoped import ScopedStore

NOW = time.time()


@pytest.fixture(autouse=True)
def _now_is_this_tests():
    """The moments above are taken again for each test: a test that runs late
    in a long suite must not meet tokens that expired meanwhile."""
    global NOW
    NOW = time.time()


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


@pytest.fixture
def store(tmp_path):
    return ScopedStore(open_store(f"sqlite:///{tmp_path / 'svc.db'}"), "ENG")


@pytest.fixture
def verifier(make_settings, store):
    """A token check that keeps no answer: each token is looked up."""
    return TokenVerifier(make_settings(), revocations.RevocationList(store, seconds=0))


@pytest.fixture
def clock(monkeypatch):
    """The clock of the kept answers, moved by the test."""

    class Clock:
        now = 1000.0

    monkeypatch.setattr(revocations, "_clock", lambda: Clock.now)
    return Clock


def revocation_event(*, user=None, jti=None, not_before=None, expires_at=None, revocation_id="rv-1", authority="ENG"):
    data = {
        "revocation_id": revocation_id,
        "user": user,
        "jti": jti,
        "not_before": not_before,
        "expires_at": expires_at,
        "revoked_at": iso(NOW - 60),
        "by": "admin-1",
        "reason": "Left the council.",
    }
    return new_event(
        revocations.EVENT_TYPE, source="/services/plans", subject=user or jti, data=data, authority=authority
    )


def keep(store, event):
    """The handler in a unit of work of its own, as a worker runs it."""
    uow = store.begin()
    revocations.keep_revocation(event, HandlerContext(service="docs", store=store, uow=uow, attempt=1))
    [outcome] = store.commit_all([uow])
    assert outcome is None


def jti_of(token):
    return jwt.decode(token, options={"verify_signature": False})["jti"]


def test_a_users_tokens_issued_before_the_revocation_are_refused_and_later_ones_work(store, verifier, token_for):
    before = token_for(user="sw-1", now=NOW - 120)
    after = token_for(user="sw-1", now=NOW - 30)
    colleague = token_for(user="sw-2", now=NOW - 120)
    assert verifier.verify(before).user == "sw-1"
    keep(store, revocation_event(user="sw-1", not_before=iso(NOW - 60)))
    with pytest.raises(AuthError, match="the token has been revoked") as refused:
        verifier.verify(before)
    assert refused.value.error == "invalid_token"
    assert verifier.verify(after).user == "sw-1"
    assert verifier.verify(colleague).user == "sw-2"


def test_a_revoked_jti_is_refused_while_the_users_other_tokens_work(store, verifier, token_for):
    stolen, other = token_for(user="sw-1", now=NOW - 120), token_for(user="sw-1", now=NOW - 120)
    keep(store, revocation_event(jti=jti_of(stolen), expires_at=iso(NOW + 3000)))
    with pytest.raises(AuthError, match="the token has been revoked"):
        verifier.verify(stolen)
    assert verifier.verify(other).user == "sw-1"


def test_a_revoked_users_token_without_iat_is_refused(store, verifier, make_settings):
    settings = make_settings()
    claims = {
        "iss": "cpp-dev",
        "aud": "cpp",
        "sub": "sw-1",
        "role": "social_worker",
        "authority": "ENG",
        "exp": int(NOW) + 600,
    }
    token = jwt.encode(claims, settings.dev_signing_key_file.read_bytes(), algorithm="HS256")
    assert verifier.verify(token).user == "sw-1"
    keep(store, revocation_event(user="sw-1", not_before=iso(NOW - 60)))
    with pytest.raises(AuthError, match="revoked"):
        verifier.verify(token)


def test_a_revocation_heard_twice_is_kept_once(store, token_for):
    event = revocation_event(user="sw-1", not_before=iso(NOW - 60))
    keep(store, event)
    keep(store, {**event, "id": "another-delivery"})
    [kept] = store.collection(revocations.COLLECTION).find({})
    assert kept["_id"] == "rv-1" and kept["key"] == "user:sw-1" and kept["iat_before"] == pytest.approx(NOW - 60)
    assert kept["authority"] == "ENG" and "reason" not in kept


def test_a_malformed_revocation_is_parked_not_retried(store):
    with pytest.raises(PermanentFailure):
        keep(store, revocation_event(user="sw-1", jti="abc", not_before=iso(NOW)))


def test_the_check_is_one_read_on_the_indexed_key(store, verifier, token_for):
    plan = store.collection(revocations.COLLECTION).explain({"key": {"$in": ["user:sw-1", "jti:abc"]}})
    assert any("USING INDEX ix:c_revocations:key" in step for step in plan), plan


def test_a_process_keeps_a_tokens_answer_for_its_seconds_then_reads_again(store, make_settings, token_for, clock):
    verifier = TokenVerifier(make_settings(), revocations.RevocationList(store, seconds=2))
    old = token_for(user="sw-1", now=NOW - 120)
    verifier.verify(old)
    keep(store, revocation_event(user="sw-1", not_before=iso(NOW - 60)))
    clock.now += 1.9
    assert verifier.verify(old).user == "sw-1"  # the answer kept from before the revocation
    clock.now += 0.1
    with pytest.raises(AuthError, match="revoked"):
        verifier.verify(old)


def test_forget_applies_a_revocation_at_once_in_the_process_that_made_it(store, make_settings, token_for, clock):
    verifier = TokenVerifier(make_settings(), revocations.RevocationList(store, seconds=2))
    old = token_for(user="sw-1", now=NOW - 120)
    verifier.verify(old)
    keep(store, revocation_event(user="sw-1", not_before=iso(NOW - 60)))
    verifier.revocations.forget()
    with pytest.raises(AuthError, match="revoked"):
        verifier.verify(old)


def test_the_kept_answers_are_bounded(store, token_for, clock, monkeypatch):
    monkeypatch.setattr(revocations, "CACHE_ENTRIES", 3)
    kept = revocations.RevocationList(store, seconds=2)
    for user in ("a", "b", "c"):
        kept.refuses({"sub": user, "iat": NOW})
    clock.now += 1
    kept.refuses({"sub": "d", "iat": NOW})  # full of live answers: all dropped
    assert len(kept._kept) == 1
    clock.now += 1
    kept.refuses({"sub": "e", "iat": NOW})
    kept.refuses({"sub": "f", "iat": NOW})
    clock.now += 1  # d's has expired, e's and f's have not
    kept.refuses({"sub": "g", "iat": NOW})
    assert {user for user, _ in kept._kept} == {"e", "f", "g"}


@pytest.mark.parametrize("value, seconds", [(None, 2.0), ("0", 0.0), ("0.5", 0.5), ("10", 10.0)])
def test_how_long_answers_are_kept_is_a_setting(make_settings, value, seconds):
    env = {} if value is None else {"CPP_REVOCATION_CACHE_SECONDS": value}
    assert revocations.cache_seconds(make_settings(**env)) == seconds


@pytest.mark.parametrize("value", ["-1", "11", "soon", "nan"])
def test_a_cache_setting_out_of_bounds_stops_start_up(make_settings, value):
    with pytest.raises(ConfigError, match="CPP_REVOCATION_CACHE_SECONDS"):
        revocations.cache_seconds(make_settings(CPP_REVOCATION_CACHE_SECONDS=value))
