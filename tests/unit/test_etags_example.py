"""The 428's example ETag: the record's own when known, else the header's form."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from werkzeug.exceptions import HTTPException

from cpp_shared import etags


def message_of(app, header=None, current=None):
    with app.test_request_context():
        with pytest.raises(HTTPException) as raised:
            etags.if_match_version(header, current=current)
    assert raised.value.code == 428
    return raised.value.data["message"]


def versions_in(message):
    return re.findall(r'If-Match: "(\d+)"', message)


def test_without_a_known_record_the_message_shows_the_form_and_no_version():
    message = message_of(Flask(__name__))
    assert 'If-Match: "<version>"' in message and versions_in(message) == []
    assert etags.NO_ETAG == message


@pytest.mark.parametrize("header", [None, "", "*", " * "])
def test_the_records_own_version_is_shown_when_the_caller_knows_it(header):
    assert versions_in(message_of(Flask(__name__), header, current=7)) == ["7"]


def test_the_service_registered_lookup_finds_the_version():
    app = Flask(__name__)
    app.extensions[etags.CURRENT_VERSION] = lambda: 12
    assert versions_in(message_of(app)) == ["12"]
    assert versions_in(message_of(app, current=4)) == ["4"], "a version the caller passes comes first"
    app.extensions[etags.CURRENT_VERSION] = lambda: None
    assert versions_in(message_of(app)) == []


def test_a_version_sent_is_read_without_asking_the_service():
    app = Flask(__name__)
    app.extensions[etags.CURRENT_VERSION] = lambda: pytest.fail("looked up for a request that sent If-Match")
    with app.test_request_context():
        assert etags.if_match_version('"3"') == 3
