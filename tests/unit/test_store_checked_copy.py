"""The store's one-pass check and copy of what it is given to write
(``checked_copy``): the same values accepted and refused, with the same
messages, as a plain recursive check followed by ``copy.deepcopy``, and a
copy that shares nothing mutable with the caller's value."""

from __future__ import annotations

import copy
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cpp_shared.store.documents import checked_copy, checked_document

INT_MIN, INT_MAX = -(2**63), 2**63 - 1


def reference_check(value, where):
    """The rule, written plainly (each step's path built as it goes)."""
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            raise ValueError(f"{where}: integer {value} does not fit in 64 bits")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: {value} is not a JSON number")
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            reference_check(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where}: key {key!r} is not a string")
            if not key or key.startswith("$") or "." in key or "\x00" in key:
                raise ValueError(f"{where}: invalid key {key!r}")
            reference_check(item, f"{where}.{key}")
        return
    raise TypeError(f"{where}: {type(value).__name__} is not JSON-shaped (store dates as ISO-8601 strings)")


scalars = (
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats() | st.text(max_size=5)
)
keys = st.text(max_size=4) | st.integers(min_value=0, max_value=3) | st.sampled_from(["$set", "a.b", "ok", "x\x00"])
values = st.recursive(
    scalars | st.sampled_from([object(), b"bytes", {1, 2}]),
    lambda inner: (
        st.lists(inner, max_size=4) | st.lists(inner, max_size=3).map(tuple) | st.dictionaries(keys, inner, max_size=4)
    ),
    max_leaves=25,
)
good_keys = st.text(alphabet="abcxyz_-", min_size=1, max_size=4)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=INT_MIN, max_value=INT_MAX)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(good_keys, inner, max_size=4)
    ),
    max_leaves=30,
)


def as_stored(value):
    """What reading a stored value back gives: tuples are arrays."""
    if isinstance(value, (list, tuple)):
        return [as_stored(v) for v in value]
    if isinstance(value, dict):
        return {k: as_stored(v) for k, v in value.items()}
    return value


@settings(max_examples=400, deadline=None)
@given(values)
def test_refuses_what_the_rule_refuses_with_the_same_message(value):
    try:
        reference_check(value, "document")
    except (TypeError, ValueError) as expected:
        with pytest.raises(type(expected)) as got:
            checked_copy(value, "document")
        assert str(got.value) == str(expected)
    else:
        assert checked_copy(value, "document") == as_stored(value)


def mutable_ids(value, into):
    if isinstance(value, (list, dict)):
        into.add(id(value))
        for item in value.values() if isinstance(value, dict) else value:
            mutable_ids(item, into)
    elif isinstance(value, tuple):
        for item in value:
            mutable_ids(item, into)
    return into


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_the_copy_equals_the_value_and_shares_nothing_mutable(value):
    copied = checked_copy(value, "document")
    assert copied == as_stored(value)
    assert json.dumps(copied) == json.dumps(value)
    assert not mutable_ids(copied, set()) & mutable_ids(value, set())


def test_a_document_copied_is_independent_of_the_callers():
    doc = {"_id": "d1", "content": {"actions": [{"what": "visit", "tags": ["a"]}]}}
    stored = checked_document(doc)
    doc["content"]["actions"][0]["tags"].append("b")
    assert stored == {"_id": "d1", "content": {"actions": [{"what": "visit", "tags": ["a"]}]}}
    assert copy.deepcopy(stored) == stored
    with pytest.raises(TypeError, match="_id must be a string"):
        checked_document({"_id": 1})
    with pytest.raises(TypeError, match=r"document\.content\.actions\[0\]\.on: date is not JSON-shaped"):
        import datetime

        checked_document({"content": {"actions": [{"on": datetime.date(2026, 1, 1)}]}})


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_a_plain_copy_of_a_checked_value_is_equal_and_independent(value):
    from cpp_shared.store.documents import plain_copy

    copied = plain_copy(value)
    assert copied == as_stored(value)
    assert not mutable_ids(copied, set()) & mutable_ids(value, set())
