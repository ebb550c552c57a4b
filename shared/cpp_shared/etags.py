"""If-Match, read one way by every versioned change of every service.

A record's ETag is its store version, ``"3"``. A change sends back the one
ETag it read: ``W/"3"`` (a proxy that compresses weakens ETags) and a bare
``3`` are read as ``"3"``. A list of ETags is refused (400): a client that
sent every version it could think of would otherwise pass the lost-update
check without having read the record. No ETag, or ``*``, is a 428.

A 428 shows the header to send with the record's own ETag when the service
knows which record the request changes (it registers ``CURRENT_VERSION``:
the version of the record the request is about, or None); otherwise it
shows the header's form, never a made-up version.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import current_app, has_request_context
from flask_smorest import abort

ONE_ETAG_ONLY = "If-Match must name exactly one ETag, as returned by GET"
#: The key of ``app.extensions`` under which a service registers a callable
#: giving the version of the record the current request changes, or None.
CURRENT_VERSION = "cpp_etags_current_version"


def no_etag_message(version: int | None = None) -> str:
    """The 428's message: with the record's own ETag when it is known."""
    if version is None:
        return (
            "this update needs If-Match: the ETag of the record as you read it (GET it first and send its "
            'ETag header back: If-Match: "<version>")'
        )
    return (
        f'this update needs If-Match: the ETag of the record as you read it, e.g. If-Match: "{version}" for '
        f"the record as it is now (GET it first if you have not read this version)"
    )


NO_ETAG = no_etag_message()

# One element of the header's list: a quoted entity tag (which may hold a
# comma) or anything else up to the next comma.
_ELEMENT = re.compile(r'\s*((?:W/)?"[^"]*"?|[^,]*?)\s*(?:,|$)')
_VERSION = re.compile(r'(?:W/)?"([0-9]{1,18})"|([0-9]{1,18})')


def _elements(header: str) -> list[str]:
    found, pos = [], 0
    while pos < len(header):
        match = _ELEMENT.match(header, pos)
        assert match is not None  # the pattern matches at every position (an empty element at worst)
        if match.group(1):
            found.append(match.group(1))
        pos = max(match.end(), pos + 1)
    return found


def _current_version() -> int | None:
    if not has_request_context():
        return None
    find: Callable[[], int | None] | None = current_app.extensions.get(CURRENT_VERSION)
    return find() if find is not None else None


def if_match_version(header: str | None, current: int | None = None) -> int | None:
    """The version the request's If-Match names; None when its one ETag is
    not a version (it then matches nothing: a 412 for the caller). Aborts
    with 428 when it names none (its message shows ``current``, or the
    version the service's ``CURRENT_VERSION`` finds) and 400 when it names
    more than one."""
    elements = _elements(header or "")
    if not elements or elements == ["*"]:
        abort(428, message=no_etag_message(current if current is not None else _current_version()))
    if len(elements) > 1:
        abort(400, message=ONE_ETAG_ONLY, errors={"headers": {"If-Match": [ONE_ETAG_ONLY]}})
    match = _VERSION.fullmatch(elements[0])
    return int(match.group(1) or match.group(2)) if match else None
