import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cpp_shared.messaging.events import MalformedEvent, new_event, parse_event


def make(**over):
    args = dict(source="/services/plans", subject="case-1", data={"case_id": "case-1"}, authority="ENG")
    args.update(over)
    return new_event("case.opened.v1", **args)


def test_new_event_is_a_structured_cloudevent():
    event = make(correlation_id="req-1")
    assert event["specversion"] == "1.0"
    assert event["type"] == "case.opened.v1"
    assert event["authority"] == "ENG" and event["correlationid"] == "req-1"
    assert event["datacontenttype"] == "application/json"
    assert event["data"] == {"case_id": "case-1"}
    assert parse_event(json.dumps(event).encode()) == event


@pytest.mark.parametrize("bad_type", ["case", "Case.Opened.v1", "case.opened", "case.opened.vx"])
def test_event_types_are_versioned_dotted_names(bad_type):
    with pytest.raises(ValueError):
        new_event(bad_type, source="/s", subject="x", data={}, authority="ENG")


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        json.dumps({"specversion": "1.0", "type": "case.opened.v1", "source": "/s", "data": {}}).encode(),  # no id
        json.dumps({"id": "1", "type": "case.opened.v1", "source": "/s", "data": {}}).encode(),  # no specversion
        json.dumps({"specversion": "1.0", "id": "", "type": "case.opened.v1", "source": "/s", "data": {}}).encode(),
        json.dumps(
            {"specversion": "1.0", "id": "1", "type": "case.opened.v1", "source": "/s", "time": "yesterday", "data": {}}
        ).encode(),
        json.dumps({"specversion": "1.0", "id": "1", "type": "case.opened.v1", "source": "/s", "data": [1]}).encode(),
        json.dumps({"specversion": "1.0", "id": "1", "type": "nonsense", "source": "/s", "data": {}}).encode(),
    ],
)
def test_malformed_messages_are_recognised(body):
    with pytest.raises(MalformedEvent):
        parse_event(body)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**53), max_value=2**53) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@settings(deadline=None)  # shared CI machines are noisy; this is about correctness
@given(
    data=st.dictionaries(st.text(min_size=1, max_size=10), json_values, max_size=6),
    subject=st.text(min_size=1, max_size=30),
)
def test_any_json_object_survives_the_round_trip(data, subject):
    event = make(data=data, subject=subject)
    assert parse_event(json.dumps(event).encode())["data"] == data
