"""What every service does at its edge, whatever its views: the request's
id, JSON bodies that could not be stored, and the headers of every answer.

* **Request ids**: the server gives each request its own id (uuid4 hex,
  ``g.request_id``, answered in ``X-Request-Id``): it goes into the logs,
  the audit entries and the events' correlation id. A client's own
  ``X-Request-Id`` is kept apart (``g.client_request_id``) when it is at
  most 128 characters of ``A-Z a-z 0-9 . _ : -``; any other value is a 400
  naming the header.
* **JSON bodies**: a string (key or value) that is not valid Unicode text
  (a lone surrogate, ``"\\ud800"``, which no database stores) and nesting
  deeper than ``MAX_JSON_DEPTH`` are refused with a 422 by field, before any
  view reads the body. The nesting is measured on the text, without
  recursion, before it is parsed.
* **Answers**: ``Cache-Control: no-store`` (unless the view chose its own),
  ``X-Content-Type-Options: nosniff``, a Content-Security-Policy that loads
  nothing and is never framed (a view's own policy, such as a document's
  that allows its inline styles, gets ``frame-ancestors 'none'`` added),
  ``X-Frame-Options: DENY``, ``Referrer-Policy: no-referrer`` and HSTS.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from flask import Flask, Response, g, request
from flask_smorest import abort

from . import logs


def install(app: Flask) -> None:
    """The JSON body check (after authentication, before any view) and the
    answers' headers. The request id is set by ``start_request_ids``, called
    first thing in the app factory's own before-request hook."""
    app.before_request(check_json_body)
    app.after_request(add_security_headers)


# --- request ids ---

REQUEST_ID_HEADER = "X-Request-Id"
CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
BAD_CLIENT_REQUEST_ID = (
    f"{REQUEST_ID_HEADER} must be at most 128 characters of letters, digits and . _ : - "
    "(the server gives each request its own id and answers it in this header)"
)


def start_request_ids() -> None:
    """``g.request_id`` (the server's, always new) and
    ``g.client_request_id`` (the client's, or None), bound into the logs;
    a client id that is not a short token is a 400 naming the header."""
    g.request_id = uuid.uuid4().hex
    g.client_request_id = None
    logs.bind_context(request_id=g.request_id)
    given = request.headers.get(REQUEST_ID_HEADER)
    if given in (None, ""):
        return
    if not CLIENT_REQUEST_ID.fullmatch(given):
        abort(400, message=BAD_CLIENT_REQUEST_ID, errors={"headers": {REQUEST_ID_HEADER: [BAD_CLIENT_REQUEST_ID]}})
    g.client_request_id = given
    logs.bind_context(client_request_id=given)


# --- JSON bodies ---

MAX_JSON_DEPTH = 64
MAX_JSON_ERRORS = 50

_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}:]')
NOT_TEXT = "Not valid text: it holds {what}, which cannot be stored. Send UTF-8 text."
TOO_DEEP = f"Nested deeper than {MAX_JSON_DEPTH} levels."


def _shown(text: str) -> str:
    """A string as it may be answered and logged: what is not text escaped."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _decode_key(token: str) -> str:
    try:
        return _shown(json.loads(token))
    except ValueError:
        return _shown(token.strip('"'))


def nesting_problem(text: str) -> dict[str, list[str]] | None:
    """The field (the top-level key, or ``_schema``) under which ``text``
    nests deeper than MAX_JSON_DEPTH, read from the text without parsing it."""
    depth, top_key, pending = 0, None, None
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "{[":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return {top_key if top_key is not None else "_schema": [TOO_DEEP]}
        elif token in "}]":
            depth -= 1
        elif token == ":":
            if depth == 1 and pending is not None:
                top_key = _decode_key(pending)
        else:
            pending = token
            continue
        pending = None
    return None


def _text_problem(text: str) -> str | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = text[exc.start : exc.end]
        return NOT_TEXT.format(what=f"a lone surrogate ({_shown(bad)})")
    return None


def _put(errors: dict, path: tuple, message: str) -> None:
    node = errors
    for part in path[:-1]:
        node = node.setdefault(part, {})
        if isinstance(node, list):  # a message already stands at this level
            return
    node.setdefault(path[-1], []).append(message)


def text_problems(value: Any) -> dict:
    """Field-level errors, shaped as marshmallow's (nested dicts, list
    items by index), for every string of ``value``, key or value, that is
    not valid Unicode text; walked without recursion."""
    errors: dict = {}
    found = 0
    stack: list[tuple[tuple, Any]] = [((), value)]
    while stack and found < MAX_JSON_ERRORS:
        path, item = stack.pop()
        if isinstance(item, str):
            problem = _text_problem(item)
            if problem:
                _put(errors, path or ("_schema",), problem)
                found += 1
        elif isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                problem = _text_problem(key)
                if problem:
                    _put(errors, path + (_shown(key),), "This key is " + problem[0].lower() + problem[1:])
                    found += 1
                else:
                    stack.append((path + (key,), child))
        elif isinstance(item, list):
            stack.extend((path + (index,), child) for index, child in reversed(list(enumerate(item))))
    return errors


def json_body_problems(data: bytes) -> dict | None:
    """The 422's field errors for a JSON body that cannot be stored, or
    None (also for a body that is not JSON at all: its parser says so)."""
    if not data:
        return None
    try:
        text = data.decode(json.detect_encoding(data), "surrogatepass")
    except (UnicodeDecodeError, LookupError):
        return None
    deep = nesting_problem(text)
    if deep:
        return deep
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return text_problems(value) or None


def check_json_body() -> None:
    if not request.is_json:
        return  # no view reads it as JSON
    errors = json_body_problems(request.get_data(cache=True))
    if errors:
        abort(422, message="the request's JSON cannot be stored: see errors", errors={"json": errors})


# --- answers ---

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}
CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    if "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"
    policy = headers.get("Content-Security-Policy")
    if policy is None:
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    elif "frame-ancestors" not in policy:
        headers["Content-Security-Policy"] = f"{policy.rstrip('; ')}; frame-ancestors 'none'"
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)
    return response
