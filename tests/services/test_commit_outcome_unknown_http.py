"""A commit the database did not confirm (``CommitOutcomeUnknown``): the
answer is a 503 with Retry-After that says the change may have been saved,
never "nothing was written"; and a retry with the same Idempotency-Key gets
the right answer whether or not the first commit happened."""

from __future__ import annotations

import uuid

import pytest

from cpp_plans.app import create_app as create_plans_app
from cpp_shared import idempotency
from cpp_shared.store import CommitOutcomeUnknown, StoreUnavailable
from tests.helpers import a_child, bearer

KEY = "Idempotency-Key"


@pytest.fixture
def plans_app(make_settings):
    return create_plans_app(make_settings("plans"))


@pytest.fixture
def sw(token_for):
    return bearer(token_for("social_worker", user="sw-1"))


def children(app) -> int:
    return app.extensions["cpp"].store.collection("children").count_documents({})


def unconfirmed(*, written: bool):
    """commit_held as the MongoDB adapter gives an unconfirmed commit: the
    unit was written (or not), and the outcome says it is unknown."""
    commit = idempotency.commit_held

    def commit_held(store, uow):
        if written:
            assert commit(store, uow) is None
        else:
            uow.closed = True
        return CommitOutcomeUnknown("MongoDB did not say whether the commit was written (NetworkTimeout)")

    return commit_held


def assert_outcome_unknown(answer) -> None:
    assert answer.status_code == 503, answer.get_json()
    assert answer.headers["Retry-After"]
    message = answer.get_json()["message"]
    assert "may have been" in message and KEY in message
    assert "nothing was written" not in message


def test_written_but_unconfirmed_answers_the_kept_answer_at_once(plans_app, sw, monkeypatch) -> None:
    monkeypatch.setattr(idempotency, "commit_held", unconfirmed(written=True))
    answer = plans_app.test_client().post("/v1/children", json=a_child(), headers={**sw, KEY: str(uuid.uuid4())})
    assert answer.status_code == 201 and answer.headers.get("Idempotent-Replayed") == "true"
    assert children(plans_app) == 1


def test_written_but_unreadable_is_a_503_and_the_retry_with_the_key_replays_it(plans_app, sw, monkeypatch) -> None:
    monkeypatch.setattr(idempotency, "commit_held", unconfirmed(written=True))
    find = idempotency._Pending.find
    calls = {"n": 0}

    def find_down_after_the_commit(self):
        calls["n"] += 1
        if calls["n"] == 2:  # the lookup after the unconfirmed commit: the database is still away
            raise StoreUnavailable("MongoDB is unavailable")
        return find(self)

    monkeypatch.setattr(idempotency._Pending, "find", find_down_after_the_commit)
    client, key = plans_app.test_client(), str(uuid.uuid4())
    assert_outcome_unknown(client.post("/v1/children", json=a_child(), headers={**sw, KEY: key}))
    monkeypatch.undo()
    again = client.post("/v1/children", json=a_child(), headers={**sw, KEY: key})
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert children(plans_app) == 1


def test_not_written_is_a_503_and_the_retry_with_the_key_creates_it_once(plans_app, sw, monkeypatch) -> None:
    monkeypatch.setattr(idempotency, "commit_held", unconfirmed(written=False))
    client, key = plans_app.test_client(), str(uuid.uuid4())
    assert_outcome_unknown(client.post("/v1/children", json=a_child(), headers={**sw, KEY: key}))
    assert children(plans_app) == 0
    monkeypatch.undo()
    again = client.post("/v1/children", json=a_child(), headers={**sw, KEY: key})
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert client.post("/v1/children", json=a_child(), headers={**sw, KEY: key}).headers["Idempotent-Replayed"]
    assert children(plans_app) == 1


def test_without_a_key_the_answer_says_the_change_may_have_been_saved(plans_app, sw, monkeypatch) -> None:
    store = plans_app.extensions["cpp"].store
    inner = store.inner
    original = type(inner)._commit

    def unconfirmed_commit(self, uow):
        original(self, uow)
        raise CommitOutcomeUnknown("MongoDB did not say whether the commit was written")

    monkeypatch.setattr(type(inner), "_commit", unconfirmed_commit)
    assert_outcome_unknown(plans_app.test_client().post("/v1/children", json=a_child(), headers=sw))
