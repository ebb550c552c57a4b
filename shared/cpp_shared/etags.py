"""If-Match, read one way by every versioned change of every service.

A record's ETag is its store version, ``"3"``. A change sends back the one
ETag it read: ``W/"3"`` (a proxy that compresses weakens ETags) and a bare
``3`` are read as ``"3"``. A list of ETags is refused (400): a client that
sent every version it could think of would otherwise pass the lost-update
check without having read the record. No ETag, or ``*``, is a 428.
"""
from __future__ import annotations

import re

from flask_smorest import abort

ONE_ETAG_ONLY = "If-Match must name exactly one ETag, as returned by GET"
NO_ETAG = ('this update needs If-Match: the ETag of the record as you read it (GET it first), '
           'e.g. If-Match: "3"')

# One element of the header's list: a quoted entity tag (which may hold a
# comma) or anything else up to the next comma.
_ELEMENT = re.compile(r'\s*((?:W/)?"[^"]*"?|[^,]*?)\s*(?:,|$)')
_VERSION = re.compile(r'(?:W/)?"([0-9]{1,18})"|([0-9]{1,18})')


def _elements(header: str) -> list[str]:
    found, pos = [], 0
    while pos < len(header):
        match = _ELEMENT.match(header, pos)
        if match.group(1):
            found.append(match.group(1))
        pos = max(match.end(), pos + 1)
    return found


def if_match_version(header: str | None) -> int | None:
    """The version the request's If-Match names; None when its one ETag is
    not a version (it then matches nothing: a 412 for the caller). Aborts
    with 428 when it names none and 400 when it names more than one."""
    elements = _elements(header or "")
    if not elements or elements == ["*"]:
        abort(428, message=NO_ETAG)
    if len(elements) > 1:
        abort(400, message=ONE_ETAG_ONLY, errors={"headers": {"If-Match": [ONE_ETAG_ONLY]}})
    match = _VERSION.fullmatch(elements[0])
    return int(match.group(1) or match.group(2)) if match else None
