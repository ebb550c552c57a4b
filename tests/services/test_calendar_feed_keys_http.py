"""A calendar feed's key over its life: it expires after its days (90 unless
the deployment or its creation says fewer), and an expired key is refused
like a wrong one, counted against the address's feed-key failures; it stops
when its owner's access is revoked (the user's tokens, or the token that
made it), and when its owner is seen with a role that may not make feeds."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from cpp_scheduler.api import common as scheduler_api
from cpp_scheduler.app import create_app
from cpp_shared.config import ConfigError
from tests.helpers import bearer, deliver_event
from tests.services.test_rate_limits_http import HERE, assert_limited, at
from tests.services.test_scheduler_http import PLAN, hold_initial, start_case

MADE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
WRONG_KEY = "a bearer token or a valid calendar feed key is required"


@pytest.fixture
def clock(monkeypatch):
    """The scheduler's clock, set by the test: ``clock.now = ...``."""

    class Clock:
        now = MADE

    monkeypatch.setattr(scheduler_api, "clock", lambda: Clock.now)
    return Clock


@pytest.fixture
def scheduler_with(make_settings):
    def make(**env):
        app = create_app(make_settings("scheduler", **env))
        start_case(app.extensions["cpp"])
        hold_initial(app.extensions["cpp"])
        return app.test_client()

    return make


@pytest.fixture
def sw(token_for):
    return bearer(token_for("social_worker", user="sw-1"))


def make_feed(api, headers, **body):
    resp = api.post(f"/v1/plans/{PLAN}/calendar-feeds", headers=headers, **({"json": body} if body else {}))
    assert resp.status_code == 201, resp.json
    return resp.json


def fetch(api, feed, address=HERE):
    return api.get(f"/v1/plans/{PLAN}/calendar.ics?key={feed['key']}", **at(address))


def test_a_feed_key_works_for_90_days_unless_its_creation_asks_for_fewer(scheduler_with, sw, clock):
    api = scheduler_with()
    default, week = make_feed(api, sw), make_feed(api, sw, days=7)
    assert default["expires_at"] == (MADE + timedelta(days=90)).isoformat()
    assert week["expires_at"] == (MADE + timedelta(days=7)).isoformat()
    clock.now = MADE + timedelta(days=7) - timedelta(seconds=1)
    assert fetch(api, week).status_code == 200
    clock.now = MADE + timedelta(days=7)
    expired = fetch(api, week)
    assert expired.status_code == 401 and expired.json["message"] == WRONG_KEY  # as a wrong key
    assert fetch(api, default).status_code == 200
    clock.now = MADE + timedelta(days=90)
    assert fetch(api, default).status_code == 401


def test_the_deployment_sets_the_longest_a_key_works(scheduler_with, sw, clock):
    api = scheduler_with(CPP_SCHEDULER_FEED_KEY_DAYS="30")
    assert make_feed(api, sw)["expires_at"] == (MADE + timedelta(days=30)).isoformat()
    assert make_feed(api, sw, days=30)["expires_at"] == (MADE + timedelta(days=30)).isoformat()


@pytest.mark.parametrize(
    "body", [{"days": 31}, {"days": 0}, {"days": -1}, {"days": "soon"}, {"days": 1.5}, {"days": None}, {"weeks": 2}]
)
def test_a_bad_creation_body_is_422_by_field_and_writes_nothing(scheduler_with, sw, body):
    api = scheduler_with(CPP_SCHEDULER_FEED_KEY_DAYS="30")
    resp = api.post(f"/v1/plans/{PLAN}/calendar-feeds", headers=sw, json=body)
    assert resp.status_code == 422, resp.json
    assert set(resp.json["errors"]["json"]) == set(body)
    assert api.application.extensions["cpp"].store.collection("calendar_feeds").find({}) == []


@pytest.mark.parametrize("value", ["0", "-3", "ninety", "1.5", "3651", "99999999999"])
def test_a_setting_that_is_not_a_number_of_days_stops_start_up(make_settings, value):
    with pytest.raises(ConfigError, match="CPP_SCHEDULER_FEED_KEY_DAYS"):
        create_app(make_settings("scheduler", CPP_SCHEDULER_FEED_KEY_DAYS=value))


def test_an_expired_key_counts_against_the_feed_key_failures(scheduler_with, sw, clock):
    api = scheduler_with(CPP_RATE_LIMIT_FEED_KEY_FAILURES="3/minute")
    feed = make_feed(api, sw, days=1)
    clock.now = MADE + timedelta(days=2)
    assert [fetch(api, feed).status_code for _ in range(3)] == [401] * 3
    assert_limited(fetch(api, feed), "feed_key_failures")


def test_a_feed_made_before_keys_expired_stops_after_the_longest_a_key_works(scheduler_with, sw, clock):
    api = scheduler_with(CPP_SCHEDULER_FEED_KEY_DAYS="30")
    feed = make_feed(api, sw)
    store = api.application.extensions["cpp"].store
    store.collection("calendar_feeds").update_one({"_id": feed["id"]}, {"$unset": {"expires_at": ""}})
    clock.now = MADE + timedelta(days=29)
    assert fetch(api, feed).status_code == 200
    clock.now = MADE + timedelta(days=30)
    assert fetch(api, feed).status_code == 401


# --- the owner's access ------------------------------------------------------------------

NOW = time.time()


@pytest.fixture(autouse=True)
def _now_is_this_tests():
    """The moments above are taken again for each test: a test that runs late
    in a long suite must not meet tokens that expired meanwhile."""
    global NOW
    NOW = time.time()


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def revoke(api, *, user=None, jti=None):
    """The plans service's revocation reaching the scheduler (made a minute ago)."""
    deliver_event(
        api.application.extensions["cpp"],
        "access.revoked.v1",
        {
            "revocation_id": f"rv-{user or jti}",
            "user": user,
            "jti": jti,
            "not_before": iso(NOW - 60) if user else None,
            "expires_at": None if user else iso(NOW + 3600),
            "revoked_at": iso(NOW - 60),
            "by": "admin-1",
            "reason": "Left the council.",
        },
        subject=user or jti,
    )


def test_a_feed_stops_when_its_owners_tokens_are_revoked(scheduler_with, token_for):
    api = scheduler_with()
    old = make_feed(api, bearer(token_for("social_worker", user="sw-1", now=NOW - 120)))
    new = make_feed(api, bearer(token_for("social_worker", user="sw-1", now=NOW - 30)))
    colleagues = make_feed(api, bearer(token_for("social_worker", user="sw-2", now=NOW - 120)))
    assert fetch(api, old).status_code == 200
    revoke(api, user="sw-1")
    refused = fetch(api, old)
    assert refused.status_code == 401 and refused.json["message"] == WRONG_KEY
    assert fetch(api, new).status_code == 200  # made with a token issued after the revocation
    assert fetch(api, colleagues).status_code == 200


def test_a_feed_stops_when_the_token_that_made_it_is_revoked(scheduler_with, token_for):
    api = scheduler_with()
    stolen, other = token_for("social_worker", user="sw-1", now=NOW - 120), token_for("social_worker", user="sw-1")
    by_stolen, by_other = make_feed(api, bearer(stolen)), make_feed(api, bearer(other))
    revoke(api, jti=jwt.decode(stolen, options={"verify_signature": False})["jti"])
    assert fetch(api, by_stolen).status_code == 401
    assert fetch(api, by_other).status_code == 200


def test_a_feed_stops_when_its_owner_is_seen_with_a_role_that_may_not_make_feeds(scheduler_with, token_for):
    api = scheduler_with()
    feed = make_feed(api, bearer(token_for("social_worker", user="sw-1")))
    colleagues = make_feed(api, bearer(token_for("social_worker", user="sw-2")))
    assert api.get("/v1/rules", headers=bearer(token_for("chair", user="sw-1"))).status_code == 200
    assert fetch(api, feed).status_code == 200  # a chair makes feeds too
    assert api.get("/v1/rules", headers=bearer(token_for("auditor", user="sw-1"))).status_code == 200
    assert fetch(api, feed).status_code == 401
    assert fetch(api, colleagues).status_code == 200
    stored = api.application.extensions["cpp"].store.collection("calendar_feeds").find_one({"_id": feed["id"]})
    assert stored["revoked_at"] and "auditor" in stored["revoked_because"]


@pytest.mark.parametrize("role", ["auditor", "admin", "partner"])
def test_any_request_by_the_owner_in_such_a_role_stops_their_feeds(scheduler_with, token_for, role):
    api = scheduler_with()
    feed = make_feed(api, bearer(token_for("team_manager", user="tm-1")))
    api.get("/v1/deadlines", headers=bearer(token_for(role, user="tm-1")))  # 200 or 403: either way they were seen
    assert fetch(api, feed).status_code == 401


def test_the_owners_role_is_checked_with_one_read_on_an_index(scheduler_with):
    api = scheduler_with()
    feeds = api.application.extensions["cpp"].store.collection("calendar_feeds")
    plan = feeds.explain({"user": "sw-1", "revoked_at": None})
    assert any("USING INDEX ix:c_calendar_feeds:user" in step for step in plan), plan


# --- the owner's list of their feeds -------------------------------------------------------


def feeds_of(api, headers, plan=PLAN):
    return api.get(f"/v1/plans/{plan}/calendar-feeds", headers=headers)


def test_the_owner_lists_their_own_feeds_of_the_plan_without_keys(scheduler_with, sw, token_for, clock):
    api = scheduler_with()
    first = make_feed(api, sw, days=7)
    clock.now = MADE + timedelta(minutes=1)
    second = make_feed(api, sw)
    make_feed(api, bearer(token_for("social_worker", user="sw-2")))  # a colleague's
    resp = feeds_of(api, sw)
    assert resp.status_code == 200, resp.json
    items = resp.json["items"]
    assert [f["id"] for f in items] == [second["id"], first["id"]]  # newest first, only sw-1's
    assert all(f["status"] == "active" and f["plan_id"] == PLAN for f in items)
    assert items[1]["expires_at"] == (MADE + timedelta(days=7)).isoformat()
    text = resp.get_data(as_text=True)
    for feed in (first, second):
        assert feed["key"] not in text and "key=" not in text
    assert all(set(f) == {"id", "plan_id", "created_at", "expires_at", "revoked_at", "status"} for f in items)


def test_a_listed_feed_says_when_it_is_revoked_or_expired(scheduler_with, sw, clock):
    api = scheduler_with()
    week, revoked, kept = make_feed(api, sw, days=7), make_feed(api, sw), make_feed(api, sw)
    assert api.delete(f"/v1/calendar-feeds/{revoked['id']}", headers=sw).status_code == 204
    clock.now = MADE + timedelta(days=8)
    status = {f["id"]: f["status"] for f in feeds_of(api, sw).json["items"]}
    assert status == {week["id"]: "expired", revoked["id"]: "revoked", kept["id"]: "active"}


def test_no_feeds_is_an_empty_list_and_an_unknown_plan_is_404(scheduler_with, sw):
    api = scheduler_with()
    assert feeds_of(api, sw).json == {"items": []}
    assert feeds_of(api, sw, plan="no-such-plan").status_code == 404


@pytest.mark.parametrize("role", ["auditor", "partner", "admin"])
def test_only_those_who_make_feeds_list_them(scheduler_with, token_for, role):
    api = scheduler_with()
    assert feeds_of(api, bearer(token_for(role, user=f"{role}-1"))).status_code == 403
