"""The edge checks every service makes, alone: JSON nesting and text."""

from __future__ import annotations

import json

import pytest

from cpp_shared.edges import MAX_JSON_DEPTH, json_body_problems, nesting_problem, text_problems


def test_nesting_is_measured_on_the_text_without_recursion():
    deep = "[" * 200_000 + "]" * 200_000  # far past any recursion limit
    assert nesting_problem(deep) == {"_schema": [f"Nested deeper than {MAX_JSON_DEPTH} levels."]}
    assert nesting_problem("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is None
    assert nesting_problem('{"a": 1, "plan": {"b": ' + "[" * 70 + "]" * 70 + "}}") == {
        "plan": [f"Nested deeper than {MAX_JSON_DEPTH} levels."]
    }


def test_brackets_inside_strings_are_text_not_nesting():
    text = json.dumps({"notes": "[" * 500 + '\\"{' * 100, 'k"[': ["{" * 300]})
    assert nesting_problem(text) is None
    assert json_body_problems(text.encode()) is None


def test_strings_that_are_not_text_are_found_by_field_keys_included():
    value = {
        "a": "ok",
        "b": "x\ud800",
        "c": [{"d": "\udc00"}, "fine", "\udfff"],
        "\ud83d": 1,
        "e": {"f": {"\udead": {"g": "\ud800"}}},
    }
    errors = text_problems(value)
    assert set(errors) == {"b", "c", "\\ud83d", "e"}
    assert "lone surrogate (\\ud800)" in errors["b"][0]
    assert list(errors["c"]) == [0, 2] and list(errors["c"][0]) == ["d"]
    assert errors["\\ud83d"][0].startswith("This key is not valid text")
    assert list(errors["e"]["f"]) == ["\\udead"]  # what is under a bad key is not looked at
    assert text_problems({"name": "Zoë \U0001f600", "n": 1, "list": [None, True, 2.5]}) == {}
    assert "lone surrogate (\\ud800)" in text_problems("\ud800")["_schema"][0]


def test_a_long_list_of_bad_strings_is_answered_with_a_bounded_list_of_errors():
    errors = text_problems({"items": ["\ud800"] * 10_000})
    assert len(errors["items"]) == 50


@pytest.mark.parametrize("body", [b"", b"not json", b"{", b"\xed\xa0\x80", b"[1,]"])
def test_what_is_not_json_is_left_to_the_parser(body):
    assert json_body_problems(body) is None


def test_escapes_and_raw_bytes_of_a_surrogate_are_both_found():
    assert "given_names" in json_body_problems(b'{"given_names": "\\ud800"}')
    assert "given_names" in json_body_problems('{"given_names": "\\ud800"}'.encode("utf-16"))
