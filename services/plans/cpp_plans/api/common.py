"""What the plans API's resources share: loading scoped records, the local
date, and turning lifecycle errors into HTTP answers."""
from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache, wraps
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, jsonify, request
from flask_smorest import abort
from marshmallow import Schema, fields, validate

from cpp_shared import staff
from cpp_shared.etags import if_match_version
from cpp_shared.messaging.catalogue import CATALOGUE
from cpp_shared.web import ServiceContext, error_body

from .. import access, audit
from ..domain import lifecycle as lc
from ..domain.lifecycle import InvalidStep, LifecycleError
from ..store import CHILDREN, PLAN_VERSIONS

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



def check_with_plugins(content: dict[str, Any], stage: str, field: str | None = None) -> None:
    """A council's own rules for a plan about to be agreed (cpp_validate_plan)."""
    errors: dict[str, list[str]] = {}
    for answer in ctx().plugins.hook.cpp_validate_plan(content=content, stage=stage):
        for name, messages in (answer or {}).items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise InvalidStep({field: errors} if field else errors)


def link_key_worker(content: dict[str, Any], field: str | None = None) -> dict[str, Any]:
    """The key worker of plan content about to be agreed, as a reference to
    staff: by user id, or by the name of exactly one member of staff. Their
    name is the directory's as it is now (kept with the version: the name as
    it was then); an email, team or phone the content leaves out is the
    directory's. A 422 when nobody, or more than one person, is meant."""
    kw = content.get("key_worker")
    if not kw:
        return content

    def refuse(key: str, message: str) -> None:
        errors = {"key_worker": {key: [message]}}
        raise InvalidStep({field: errors} if field else errors)

    people = ctx().store.collection(staff.COLLECTION)
    if kw.get("user"):
        found = people.find_one({"user": kw["user"]})
        if found is None:
            refuse("user", f"no member of staff has the user id {kw['user']!r}; an admin adds them "
                           "(PUT /v1/staff/{user})")
    else:
        wanted = kw["name"].strip().casefold()
        matches = [p for p in people.find({}) if (p.get("name") or "").strip().casefold() == wanted]
        if not matches:
            refuse("name", f"no member of staff is named {kw['name']!r}: give their user id (key_worker.user), "
                           "or an admin adds them to the staff directory")
        if len(matches) > 1:
            refuse("name", f"{len(matches)} members of staff are named {kw['name']!r}: give the key worker's "
                           "user id (key_worker.user)")
        found = matches[0]
    linked = {**kw, "user": found["user"], "name": found.get("name") or kw.get("name") or staff.UNNAMED}
    for key in ("email", "team", "phone"):
        if not linked.get(key) and found.get(key):
            linked[key] = found[key]
    return {**content, "key_worker": linked}


def child_named(child_id: str) -> dict[str, Any] | None:
    """Who the child is, as events about them carry it: the name (the
    preferred one when recorded), the date of birth (or the expected one,
    for an unborn child) and the NHS number. None for a child not
    registered here."""
    child = ctx().store.collection(CHILDREN).find_one({"_id": child_id})
    return named(child) if child is not None else None


def named(child: dict[str, Any]) -> dict[str, Any]:
    given = child.get("preferred_name") or child.get("given_names") or ""
    nhs = next((i["value"] for i in child.get("identifiers") or [] if i.get("scheme") == "nhs_number"), None)
    return {"name": " ".join(part for part in (given, child.get("family_name")) if part),
            "date_of_birth": child.get("date_of_birth") or child.get("expected_date_of_birth"),
            "nhs_number": nhs}


@lru_cache(maxsize=None)
def _named(type_: str) -> bool:
    """Events whose catalogue entry carries who the child is."""
    entry = CATALOGUE.get(type_)
    return entry is not None and "child" in entry.schema().fields


def publish_all(uow, events) -> None:
    names: dict[str, dict[str, Any] | None] = {}
    for type_, subject, data in events:
        if _named(type_) and data.get("child_id") and "child" not in data:
            if data["child_id"] not in names:
                names[data["child_id"]] = child_named(data["child_id"])
            data = {**data, "child": names[data["child_id"]]}
        ctx().publish(uow, type_, subject=subject, data=data)


def commit_step(action: str, record_type: str, record_id: str, *, child_id: str, events=(),
                inserts: list[tuple[str, dict]] = (), replaces: list[tuple[str, dict, dict]] = ()) -> None:
    """One step of the lifecycle in one commit: its new records, its changed
    records (``(collection, after, before)``: ``after`` is written only if
    the stored record is still at ``before``'s version), its audit entry and
    its events."""
    with ctx().store.unit_of_work() as uow:
        for collection, after, before in replaces:
            uow.replace(collection, after, expected_version=before["version"])
        for collection, doc in inserts:
            uow.insert(collection, doc)
        audit.record_write(uow, action, record_type, record_id, child_id=child_id)
        publish_all(uow, events)


def saved(after: dict, before: dict | None = None) -> dict:
    """The record as stored by commit_step: at the next version (1 when new)."""
    return {**after, "version": before["version"] + 1 if before else 1}


def plan_version_inserts(after: dict, before: dict | None) -> list[tuple[str, dict]]:
    """The numbered version record a plan step adds, when it agreed a new version."""
    if before is None or after["plan_version"] != before["plan_version"]:
        return [(PLAN_VERSIONS, lc.plan_version_record(after))]
    return []


def install_error_handlers(app: Flask) -> None:
    @app.errorhandler(LifecycleError)
    def lifecycle_conflict(exc: LifecycleError):
        return jsonify(error_body(409, "Conflict", str(exc))), 409

    @app.errorhandler(InvalidStep)
    def invalid_step(exc: InvalidStep):
        return jsonify(error_body(422, "Unprocessable Entity", "the step breaks a rule", {"json": exc.errors})), 422


class PersonSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    role = fields.String(validate=validate.Length(max=200))
    agency = fields.String(validate=validate.Length(max=200))
