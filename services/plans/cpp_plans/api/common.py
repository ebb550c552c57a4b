"""What the plans API's resources share: loading scoped records (with the
need-to-know check), the local date, ETags and If-Match, and turning the
service layer's errors into HTTP answers."""

from __future__ import annotations

from datetime import date, datetime
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, jsonify, request
from flask_smorest import abort
from marshmallow import Schema, fields, validate

from cpp_shared.etags import if_match_version
from cpp_shared.web import ServiceContext, error_body

from .. import access
from ..domain.governance import NotIndependent
from ..domain.lifecycle import InvalidStep, LifecycleError
from ..service_layer import common as steps
from ..service_layer.common import NotFound

# Every timescale is counted in local days: a step recorded at 00:30 BST is that day's.
LOCAL_TIME = ZoneInfo("Europe/London")
WRITERS = ("social_worker", "team_manager")
READERS = ("social_worker", "team_manager", "chair", "auditor", "admin")


def ctx() -> ServiceContext:
    return current_app.extensions["cpp"]


def today() -> date:
    return datetime.now(LOCAL_TIME).date()


def load(collection: str, record_id: str, what: str, *, need_to_know: bool = True) -> dict[str, Any]:
    """A record of this deployment's authority, or a 404 (another authority's
    record is not found: its existence is not ours to tell). A restricted
    child's record is a 403 unless the caller is on the restriction's access
    list or holds a live break-glass grant (access.py); ``need_to_know=False``
    only for the endpoints that manage restrictions and break glass."""
    doc = ctx().store.collection(collection).find_one({"_id": record_id, "authority": ctx().authority["code"]})
    if doc is None:
        abort(404, message=f"no {what} {record_id}")
    if need_to_know:
        access.check(access.child_of(collection, doc))
    return doc


# --- ETag / If-Match: the record's revision (its store version) ---


def etag(version: int) -> str:
    return f'"{version}"'


def check_if_match(record: dict[str, Any], what: str, doing: str = "changing it") -> None:
    """412 unless the request's If-Match names the record's current revision."""
    if if_match_version(request.headers.get("If-Match")) != record["version"]:
        abort(412, message=f"the {what} is at revision {record['version']}; read it again before {doing}")


def requires_if_match(view: Any) -> Any:
    """428 unless the request carries If-Match with one ETag, 400 when it
    names several (before the body is read)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if_match_version(request.headers.get("If-Match"))
        return view(*args, **kwargs)

    return wrapper


def child_named(child_id: str) -> dict[str, Any] | None:
    """Who the child is, as events about them carry it (service_layer.common.child_named)."""
    return steps.child_named(ctx().store, child_id)


def install_error_handlers(app: Flask) -> None:
    @app.errorhandler(LifecycleError)
    def lifecycle_conflict(exc: LifecycleError):
        return jsonify(error_body(409, "Conflict", str(exc))), 409

    @app.errorhandler(InvalidStep)
    def invalid_step(exc: InvalidStep):
        message = exc.message or "the step breaks a rule"
        return jsonify(error_body(422, "Unprocessable Entity", message, {"json": exc.errors})), 422

    @app.errorhandler(NotIndependent)
    def not_independent(exc: NotIndependent):
        return jsonify(error_body(403, "Forbidden", str(exc))), 403

    @app.errorhandler(NotFound)
    def not_found(exc: NotFound):
        return jsonify(error_body(404, "Not Found", str(exc))), 404


class PersonSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    role = fields.String(validate=validate.Length(max=200))
    agency = fields.String(validate=validate.Length(max=200))
