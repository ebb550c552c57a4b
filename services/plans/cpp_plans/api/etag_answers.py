"""ETags the plans API answers with, whatever the resource.

* Every create answers with the new record's ETag: a 201 to a POST whose
  body is a versioned record (it has its ``version``) carries
  ``ETag: "<version>"``, so the client can change the record it made without
  reading it again.
* A 428 (a change without If-Match) shows the record's own ETag when the
  request is about one record the caller may see (``/v1/plans/<plan_id>``,
  ``/v1/reports/<report_id>``...): ``If-Match: "3"`` for a plan at version 3,
  never a version the record does not have. Another authority's record, an
  unknown one and a restricted child's record the caller may not see get
  the header's form only, so a 428 tells nothing a GET would not.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, request

from cpp_shared import etags

from .. import access
from ..store import CASES, CHILDREN, CONFERENCES, PLANS, REPORTS, RESOURCE_PANEL_REQUESTS

#: The records a change can be about, by the name of the URL's last part.
RECORDS = {
    "child_id": CHILDREN,
    "case_id": CASES,
    "conference_id": CONFERENCES,
    "plan_id": PLANS,
    "report_id": REPORTS,
    "request_id": RESOURCE_PANEL_REQUESTS,
}


def etag(version: int) -> str:
    return f'"{version}"'


def record_version() -> int | None:
    """The version of the one record the request is about (its URL ends with
    the record's id), when the caller may see it; else None."""
    rule, args = request.url_rule, request.view_args or {}
    if rule is None or len(args) != 1:
        return None
    ((name, record_id),) = args.items()
    collection = RECORDS.get(name)
    if collection is None or not rule.rule.endswith(f"/<{name}>"):
        return None
    ctx = current_app.extensions["cpp"]
    doc = ctx.store.collection(collection).find_one({"_id": record_id, "authority": ctx.authority["code"]})
    if doc is None or not isinstance(doc.get("version"), int):
        return None
    if access.child_of(collection, doc) in access.hidden_children():
        return None
    return doc["version"]


def etag_on_create(response: Response) -> Response:
    """A created record's ETag, when its view did not set it."""
    if request.method != "POST" or response.status_code != 201 or "ETag" in response.headers:
        return response
    body: Any = response.get_json(silent=True) if response.is_json else None
    version = body.get("version") if isinstance(body, dict) else None
    if isinstance(version, int) and not isinstance(version, bool):
        response.headers["ETag"] = etag(version)
    return response


def install(app: Flask) -> None:
    app.extensions[etags.CURRENT_VERSION] = record_version
    app.after_request(etag_on_create)
