"""What every service does at its edge, whatever its views.

* **Request ids**: the server gives each request its own id (uuid4 hex,
  ``g.request_id``, answered in ``X-Request-Id``): it goes into the logs,
  the audit entries and the events' correlation id. A client's own
  ``X-Request-Id`` is kept apart (``g.client_request_id``) when it is at
  most 128 characters of ``A-Z a-z 0-9 . _ : -``; any other value is a 400
  naming the header.
"""
from __future__ import annotations

import re
import uuid

from flask import g, request
from flask_smorest import abort

from . import logs


# --- request ids ---

REQUEST_ID_HEADER = "X-Request-Id"
CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
BAD_CLIENT_REQUEST_ID = (f"{REQUEST_ID_HEADER} must be at most 128 characters of letters, digits and . _ : - "
                         "(the server gives each request its own id and answers it in this header)")


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
