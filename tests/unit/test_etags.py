"""If-Match, as every versioned change reads it: exactly one ETag."""

from __future__ import annotations

import pytest
from flask import Flask
from werkzeug.exceptions import HTTPException

from cpp_shared.etags import ONE_ETAG_ONLY, if_match_version


@pytest.mark.parametrize(
    "header, version",
    [
        ('"3"', 3),
        ('W/"3"', 3),
        ("3", 3),
        (' "3" ', 3),
        ('"nonsense"', None),
        ("nonsense", None),
        ('"1', None),
        ("W/1", None),
        ('"a,b"', None),
    ],
)
def test_if_match_names_one_version_or_one_etag_of_another_form(header, version):
    assert if_match_version(header) == version


def status_of(header):
    with Flask(__name__).test_request_context():
        with pytest.raises(HTTPException) as raised:
            if_match_version(header)
    return raised.value


@pytest.mark.parametrize("header", ['"0","1","2","3"', '"5", "1"', '"1", "1"', '"1", *', 'W/"1", "2"', "1, 2"])
def test_if_match_naming_more_than_one_etag_is_refused(header):
    exc = status_of(header)
    assert exc.code == 400
    assert exc.data["message"] == ONE_ETAG_ONLY
    assert exc.data["errors"] == {"headers": {"If-Match": [ONE_ETAG_ONLY]}}


@pytest.mark.parametrize("header", [None, "", "  ", "*"])
def test_if_match_naming_no_etag_is_a_428(header):
    assert status_of(header).code == 428
