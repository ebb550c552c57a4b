"""A service's parked messages read from a real RabbitMQ through
GET /v1/admin/parked-messages: reading leaves every message where it was
(two reads give the same list, in order, and draining the queue afterwards
finds every message once), and a broker that stops answering is a 503."""

from __future__ import annotations

import pytest

from cpp_plans.app import create_app as create_plans_app
from tests.helpers import bearer
from tests.services.test_parked_messages_http import PATH, case_opened, drain, park

pytestmark = [pytest.mark.broker]


def test_reading_the_parked_queue_twice_gives_the_same_list_and_loses_nothing(broker_url, make_settings, token_for):
    events = [case_opened() for _ in range(7)]
    other = case_opened("BRM")
    for i, event in enumerate(events[:4]):
        park(broker_url, "plans", event, attempts=i + 1)
    park(broker_url, "plans", other)
    for event in events[4:]:
        park(broker_url, "plans", event)
    client = create_plans_app(make_settings("plans", CPP_BROKER_URL=broker_url)).test_client()
    headers = bearer(token_for("admin", user="admin-1"))

    first = client.get(PATH, headers=headers)
    assert first.status_code == 200, first.json
    assert [m["id"] for m in first.json["items"]] == [e["id"] for e in events]
    assert [m["attempts"] for m in first.json["items"][:4]] == [1, 2, 3, 4]
    assert (first.json["total"], first.json["read"], first.json["other_authorities"]) == (8, 8, 1)
    second = client.get(PATH, headers=headers)
    assert second.json == first.json
    part = client.get(PATH, query_string={"limit": 3}, headers=headers).json  # a read of the front only
    assert [m["id"] for m in part["items"]] == [e["id"] for e in events[:3]] and part["total"] == 8
    assert client.get(PATH, headers=headers).json == first.json  # the front went back to the front

    taken = [m["id"] for m in drain(broker_url, "plans")]
    assert taken == [e["id"] for e in events[:4]] + [other["id"]] + [e["id"] for e in events[4:]]


def test_a_broker_that_is_stopped_gives_a_503(rabbit, make_settings, token_for):
    url = rabbit.add_vhost("parked-gone")
    client = create_plans_app(make_settings("plans", CPP_BROKER_URL=url)).test_client()
    headers = bearer(token_for("admin", user="admin-1"))
    assert client.get(PATH, headers=headers).status_code == 200  # no parked queue yet: none parked
    rabbit.delete_vhost("parked-gone")  # the broker no longer answers for this address
    resp = client.get(PATH, headers=headers)
    assert resp.status_code == 503 and "message broker cannot be reached" in resp.json["message"]
