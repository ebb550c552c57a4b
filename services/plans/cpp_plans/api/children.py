"""Children: the child a case, a conference and a plan are about.

Concurrency: every response carrying a child has a strong ETag holding its
version, ``ETag: "3"``. A PATCH must send it back in ``If-Match`` (428 without
one); a version other than the stored one is a 412, checked when the request
is read and again at commit, so of two PATCHes made from the same read one
wins and the other gets a 412. ``W/"3"`` (a proxy that compresses weakens
ETags) and a bare ``3`` are accepted in ``If-Match`` too; a list of ETags is a
400 (cpp_shared.etags).

PATCH replaces the top-level fields it names and leaves the others; an
object or a list (``address``, ``identifiers``, ...) is replaced whole, and
``null`` removes an optional field. Dates are ISO dates (``2019-05-31``).

A child's gender, ethnicity and disabilities are the Children in Need
census's codes (cpp_shared.census_codes, from DfE's CIN_schema_2024.xsd):
``gender`` one of 1, 2, 0, 9; ``ethnicity`` one of the 20 codes WBRI ...
NOBT; ``disabilities`` a list of codes NONE, MOB, ... DDA (each once, NONE
only alone). A code not in the list is a 422 naming the field and listing
the codes allowed. Responses give each code's label beside it
(``gender_label``, ``ethnicity_label``, ``disability_labels``). A record
made before they were coded keeps in ``uncoded`` what the migration could
not code (``cpp migrate``), until someone gives the codes; ``GET
/v1/children?uncoded=true`` lists those children.

Privacy: a child of another authority is "not found", never "forbidden";
a restricted child is "forbidden" to anyone without need to know, and left
out of searches for them (access.py); events carry ids and versions only,
never personal details; every read and write is in the audit log.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from flask_smorest.error_handler import ErrorSchema
from marshmallow import RAISE, Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema

from cpp_shared import census_codes
from cpp_shared.auth import current_principal, requires_role
from cpp_shared.idempotency import idempotent
from cpp_shared.paging import Page, Paging
from cpp_shared.store import VersionConflict

from .. import access, audit
from ..domain import children as rules
from ..domain import identifiers
from ..service_layer import children as sl
from ..service_layer.children import DuplicateChild
from ..store import CHILDREN
from .common import check_if_match, etag, if_match_version, load, requires_if_match, today
from .fields import StrictBoolean

blp = Blueprint("children", __name__, url_prefix="/v1/children", description="Children and their details")

WRITERS = ("social_worker", "team_manager")
READERS = ("social_worker", "team_manager", "chair", "auditor", "admin")

NAME_MAX = 200  # names, address lines, relationships
SHORT_MAX = 100  # languages, relationships
TEXT_MAX = 4000  # free text: accessibility needs
LIST_MAX = 20  # people with parental responsibility
IDENTIFIERS_MAX = 10
ADDRESS_LINES_MAX = 6

# Control characters other than tab, newline and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_POSTCODE = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}")  # UK, Channel Islands and Isle of Man
_PHONE = re.compile(r"\+?[0-9][0-9 ()-]{4,28}[0-9]")

# --- fields ---


class Text(fields.String):
    """A string, stripped of surrounding white space, not blank, at most
    ``max_length`` characters, without control characters (new lines are
    allowed only when ``multiline``)."""

    def __init__(self, max_length: int = NAME_MAX, *, multiline: bool = False, **kwargs: Any):
        self.multiline = multiline
        extra = kwargs.pop("validate", None)
        validators = [validate.Length(max=max_length)] + ([extra] if callable(extra) else list(extra or []))
        super().__init__(validate=validators, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text:
            raise ValidationError("Must not be blank.")
        if _CONTROL.search(text) or (not self.multiline and re.search(r"[\r\n\t]", text)):
            raise ValidationError(
                "Must not contain control characters" + ("." if self.multiline else " or line breaks.")
            )
        return text


class Postcode(Text):
    """A UK-style postcode (also Guernsey, Jersey, Isle of Man), stored upper
    case with one space before the inward code: ``SE1 7PB``."""

    def __init__(self, **kwargs: Any):
        super().__init__(10, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        compact = re.sub(r"\s+", "", super()._deserialize(value, attr, data, **kwargs)).upper()
        if not _POSTCODE.fullmatch(compact):
            raise ValidationError("Not a valid UK postcode (for example SE1 7PB).")
        return f"{compact[:-3]} {compact[-3:]}"


class Phone(Text):
    def __init__(self, **kwargs: Any):
        super().__init__(30, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not _PHONE.fullmatch(text):
            raise ValidationError(
                "Not a valid phone number (digits, spaces, brackets, hyphens, an optional leading +)."
            )
        return text


def _raise(errors: str | dict | None) -> None:
    """A domain rule's answer (domain/children.py) as marshmallow's error."""
    if errors:
        raise ValidationError(errors)


def _not_in_future(value: date) -> None:
    _raise(rules.born_in_future(value, today()))


def _plausible_expected_birth(value: date) -> None:
    _raise(rules.implausible_expected_birth(value, today()))


def _one_per_scheme(items: list[dict[str, Any]]) -> None:
    _raise(rules.repeated_scheme(items))


def _census_code(codes: Any, what: str) -> Any:
    def check(value: str) -> None:
        if value not in codes:
            raise ValidationError(census_codes.unknown_code(codes, what))

    return check


def _disabilities(codes: list[str]) -> None:
    _raise(census_codes.disabilities_errors(codes))


def _codes_described(codes: Any) -> str:
    return ", ".join(f"{code} ({label.strip()})" for code, label in codes.items())


# --- schemas ---


class IdentifierSchema(Schema):
    scheme = Text(50, required=True, metadata={"description": "nhs_number, chi_number, or a scheme a plugin adds"})
    value = Text(50, required=True, metadata={"description": "stored normalised, e.g. an NHS number as 10 digits"})

    @validates_schema
    def _valid_for_scheme(self, data: dict[str, Any], **kwargs: Any) -> None:
        registry = schemes_of_this_deployment()
        if data["scheme"] not in registry:
            raise ValidationError(
                f"Unknown identifier scheme; known schemes: {', '.join(registry.schemes())}.", field_name="scheme"
            )
        try:
            registry.validate(data["scheme"], data["value"])
        except ValueError as exc:
            raise ValidationError(str(exc), field_name="value") from None

    @post_load
    def _normalise(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {"scheme": data["scheme"], "value": schemes_of_this_deployment().validate(data["scheme"], data["value"])}


REGISTRY_EXTENSION = "cpp_identifier_schemes"


def install_identifier_schemes(app: Any) -> None:
    """The built-in schemes plus those the deployment's plugins add."""
    registry = identifiers.REGISTRY.copy()
    for scheme in app.extensions["cpp"].plugins.layered("cpp_identifier_schemes"):
        registry.register(scheme["id"], scheme["validate"], replace=True)
    app.extensions[REGISTRY_EXTENSION] = registry


def schemes_of_this_deployment() -> identifiers.IdentifierRegistry:
    return current_app.extensions.get(REGISTRY_EXTENSION, identifiers.REGISTRY)


class AddressSchema(Schema):
    lines = fields.List(Text(NAME_MAX), required=True, validate=validate.Length(min=1, max=ADDRESS_LINES_MAX))
    postcode = Postcode(allow_none=True, metadata={"description": "optional: no fixed abode, or an address abroad"})


class SchoolSchema(Schema):
    name = Text(NAME_MAX, required=True)
    contact = Text(500, allow_none=True, metadata={"description": "who to contact there, and how"})


class ParentalResponsibilitySchema(Schema):
    name = Text(NAME_MAX, required=True)
    relationship = Text(
        SHORT_MAX, required=True, metadata={"description": "e.g. mother, father, special guardian, the local authority"}
    )
    address = fields.Nested(AddressSchema, allow_none=True)
    phone = Phone(allow_none=True)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    first_language = Text(SHORT_MAX, allow_none=True)
    interpreter_needed = StrictBoolean(allow_none=True)


class ChildCreateSchema(Schema):
    """A child's details. Unknown fields are refused."""

    class Meta:
        unknown = RAISE

    given_names = Text(NAME_MAX, required=True)
    family_name = Text(NAME_MAX, required=True)
    preferred_name = Text(NAME_MAX, allow_none=True)
    date_of_birth = fields.Date(
        allow_none=True,
        validate=_not_in_future,
        metadata={"description": "exactly one of date_of_birth and expected_date_of_birth"},
    )
    expected_date_of_birth = fields.Date(
        allow_none=True,
        validate=_plausible_expected_birth,
        metadata={"description": "for an unborn child (a pre-birth plan)"},
    )
    identifiers = fields.List(
        fields.Nested(IdentifierSchema), validate=[validate.Length(max=IDENTIFIERS_MAX), _one_per_scheme]
    )
    gender = fields.String(
        required=True,
        validate=_census_code(census_codes.GENDER, "gender"),
        metadata={
            "description": "the census's code (0 for an unborn child): " + _codes_described(census_codes.GENDER),
            "enum": list(census_codes.GENDER),
        },
    )
    ethnicity = fields.String(
        required=True,
        validate=_census_code(census_codes.ETHNICITY, "ethnicity"),
        metadata={
            "description": "the census's code: " + _codes_described(census_codes.ETHNICITY),
            "enum": list(census_codes.ETHNICITY),
        },
    )
    first_language = Text(SHORT_MAX, required=True)
    interpreter_needed = StrictBoolean(required=True)
    disabilities = fields.List(
        fields.String(metadata={"enum": list(census_codes.DISABILITY)}),
        allow_none=True,
        validate=_disabilities,
        metadata={
            "description": "the census's codes, each once, NONE only alone: "
            + _codes_described(census_codes.DISABILITY)
        },
    )
    accessibility_needs = Text(TEXT_MAX, multiline=True, allow_none=True)
    address = fields.Nested(AddressSchema, required=True)
    school_or_nursery = fields.Nested(SchoolSchema, allow_none=True)
    people_with_parental_responsibility = fields.List(
        fields.Nested(ParentalResponsibilitySchema), validate=validate.Length(max=LIST_MAX)
    )

    @validates_schema
    def _one_date_of_birth(self, data: dict[str, Any], partial: Any = None, **kwargs: Any) -> None:
        if partial:
            return  # a PATCH: checked on the merged record (service_layer/children.py)
        _raise(rules.date_of_birth_errors(data))


class ChildPatchSchema(ChildCreateSchema):
    """The fields to change; the others keep their values. Each top-level
    field is optional, but an object given is checked whole."""

    def __init__(self, **kwargs: Any):
        # Partial on the top-level fields only: a partial=True would also let
        # a PATCH send an address without its lines.
        kwargs.setdefault("partial", tuple(self._declared_fields))
        super().__init__(**kwargs)


class BirthSchema(Schema):
    """The birth of a child recorded as unborn. Unknown fields are refused."""

    class Meta:
        unknown = RAISE

    date_of_birth = fields.Date(
        required=True,
        metadata={"description": "not in the future, nor more than 24 weeks before the expected date of birth"},
    )
    given_names = Text(NAME_MAX, metadata={"description": "the child's given names, when chosen"})
    family_name = Text(NAME_MAX, metadata={"description": "the child's family name, when other than recorded"})


class BornOnRecordSchema(Schema):
    by = fields.String(metadata={"description": "the user id of who recorded the birth"})
    at = fields.String(metadata={"description": "when the birth was recorded"})


class ChildSchema(Schema):
    id = fields.String(attribute="_id", dump_only=True)
    version = fields.Integer()
    given_names = fields.String()
    family_name = fields.String()
    preferred_name = fields.String()
    date_of_birth = fields.String(metadata={"format": "date"})
    expected_date_of_birth = fields.String(metadata={"format": "date"})
    identifiers = fields.List(fields.Nested(IdentifierSchema))
    gender = fields.String(metadata={"description": "the census's code"})
    gender_label = fields.Function(
        lambda child: census_codes.label(census_codes.GENDER, child.get("gender")),
        dump_only=True,
        metadata={"description": "the census's label of the gender code"},
    )
    ethnicity = fields.String(metadata={"description": "the census's code"})
    ethnicity_label = fields.Function(
        lambda child: census_codes.label(census_codes.ETHNICITY, child.get("ethnicity")),
        dump_only=True,
        metadata={"description": "the census's label of the ethnicity code"},
    )
    first_language = fields.String()
    interpreter_needed = fields.Boolean()
    disabilities = fields.List(fields.String(), metadata={"description": "the census's codes"})
    disability_labels = fields.Function(
        lambda child: (
            [census_codes.DISABILITY.get(code, code) for code in child["disabilities"]]
            if "disabilities" in child
            else None
        ),
        dump_only=True,
        metadata={"description": "the census's labels of the disabilities, in their order"},
    )
    uncoded = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={
            "description": "what a record made before these were coded held, as text the migration could not "
            "code (gender, ethnicity, disabilities), until someone gives the codes"
        },
    )
    accessibility_needs = fields.String()
    address = fields.Nested(AddressSchema)
    school_or_nursery = fields.Nested(SchoolSchema)
    people_with_parental_responsibility = fields.List(fields.Nested(ParentalResponsibilitySchema))
    born_on_record = fields.Nested(
        BornOnRecordSchema,
        metadata={"description": "for a child recorded as unborn whose birth was then recorded: who, and when"},
    )
    created_at = fields.String()
    created_by = fields.String()
    updated_at = fields.String()
    updated_by = fields.String()


class ChildQuerySchema(Paging):
    nhs_number = Text(50, metadata={"description": "in any usual writing; matched exactly"})
    family_name = Text(NAME_MAX, metadata={"description": "matched whole, ignoring case and extra spaces"})
    date_of_birth = fields.Date(metadata={"description": "the day the child was born, alone or with the others"})
    uncoded = fields.Boolean(
        truthy={"true"},
        falsy={"false"},
        metadata={
            "description": "true: only children whose gender, ethnicity or disabilities are still text to code "
            "(recorded before they were coded)"
        },
    )

    @pre_load
    def _empty_is_absent(self, data: Any, **kwargs: Any) -> dict[str, Any]:
        # A search form sends ?family_name=&nhs_number=... for the boxes left empty.
        return {key: data[key] for key in data if data[key] != ""}

    @post_load
    def _normalise(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if "nhs_number" in data:
            try:
                data["nhs_number"] = identifiers.nhs_number(data["nhs_number"])
            except ValueError as exc:
                raise ValidationError(str(exc), field_name="nhs_number") from None
        return data


class ChildPageSchema(Page):
    items = fields.List(fields.Nested(ChildSchema))


def _stored(value: Any) -> Any:
    """A loaded value as stored: dates as ISO strings, no null inside objects
    (an optional field given as null is simply not recorded)."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _stored(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_stored(v) for v in value]
    return value


def _to_document(fields_: dict[str, Any]) -> dict[str, Any]:
    """Loaded top-level fields as stored; a top-level null stays, meaning "remove" to a PATCH."""
    return {k: _stored(v) for k, v in fields_.items()}


def _find(ctx: Any, child_id: str) -> dict[str, Any]:
    # Another authority's child is "not found", never "forbidden": its existence is not ours to tell.
    # A restricted child is a 403 to anyone without need to know (access.py).
    return load(CHILDREN, child_id, "child")


def _duplicate(exc: DuplicateChild) -> None:
    """A 409 naming the child that has the NHS number."""
    if exc.existing is None:  # the other record went meanwhile: nothing was written, so trying again is safe
        abort(
            409, message="the child could not be saved because of a conflicting record; nothing was written, try again"
        )
    message = f"a child with this NHS number is already registered: {exc.existing}"
    abort(409, message=message, errors={"json": {"identifiers": [message]}, "existing_child_id": exc.existing})


# --- ETags ---


def _headers(doc: dict[str, Any]) -> dict[str, str]:
    return {"ETag": etag(doc["version"]), "Location": f"{blp.url_prefix}/{doc['_id']}"}


# --- the API ---

# A child's registration as the OpenAPI document shows it (a made-up child; a test NHS number).
CHILD_EXAMPLE = {
    "given_names": "Ana Maria",
    "family_name": "Nowak",
    "date_of_birth": "2019-04-12",
    "identifiers": [{"scheme": "nhs_number", "value": "9434765919"}],
    "gender": "2",
    "ethnicity": "WOTH",
    "disabilities": ["NONE"],
    "first_language": "Polish",
    "interpreter_needed": True,
    "address": {"lines": ["14 Elm Road", "Bromley"], "postcode": "BR1 3AA"},
    "school_or_nursery": {"name": "Elm Road Primary School", "contact": "Ms Patel, designated safeguarding lead"},
    "people_with_parental_responsibility": [
        {"name": "Marta Nowak", "relationship": "mother", "first_language": "Polish", "interpreter_needed": True}
    ],
}


@blp.route("")
class Children(MethodView):
    @idempotent
    @requires_role(*WRITERS)
    @blp.arguments(ChildCreateSchema, example=CHILD_EXAMPLE)
    @blp.response(
        201, ChildSchema, headers={"ETag": {"description": 'the version, e.g. "1"', "schema": {"type": "string"}}}
    )
    @blp.alt_response(
        409, schema=ErrorSchema, description="the NHS number is already registered (errors.existing_child_id)"
    )
    @blp.alt_response(413, schema=ErrorSchema, description="the request body is too large")
    def post(self, body):
        """Register a child"""
        try:
            doc = sl.register_child(
                current_app.extensions["cpp"],
                _to_document(body),
                now=datetime.now(UTC),
                actor=current_principal(),
            )
        except DuplicateChild as exc:
            _duplicate(exc)
        return doc, _headers(doc)

    @requires_role(*READERS)
    @blp.arguments(ChildQuerySchema, location="query", unknown=RAISE)
    @blp.response(200, ChildPageSchema)
    def get(self, query):
        """Find children (by NHS number, family name or date of birth, or those left uncoded), a page at a time"""
        ctx = current_app.extensions["cpp"]
        flt: dict[str, Any] = {"authority": ctx.authority["code"]}
        if "nhs_number" in query:
            flt["nhs_key"] = rules.nhs_key(ctx.authority["code"], query["nhs_number"])
        if "family_name" in query:
            flt["family_name_key"] = rules.name_key(query["family_name"])
        if "date_of_birth" in query:
            flt["date_of_birth"] = query["date_of_birth"].isoformat()
        if "uncoded" in query:
            flt["uncoded"] = {"$exists": query["uncoded"]}
        flt = access.exclude_hidden(flt, "_id")  # restricted children the caller may not see are left out
        children = ctx.store.collection(CHILDREN)
        page, size = query["page"], query["page_size"]
        items = children.find(
            flt, sort=[("family_name_key", 1), ("given_names", 1)], skip=(page - 1) * size, limit=size
        )
        total = children.count_documents(flt)
        if items:
            with ctx.store.unit_of_work() as uow:
                for child in items:
                    uow.append(
                        audit.LOG,
                        audit.entry("read", "child", child["_id"], child_id=child["_id"], detail={"via": "search"}),
                    )
        return {"items": items, "page": page, "page_size": size, "total": total}


@blp.route("/<child_id>")
class ChildById(MethodView):
    @requires_role(*READERS)
    @blp.response(
        200, ChildSchema, headers={"ETag": {"description": 'the version, e.g. "3"', "schema": {"type": "string"}}}
    )
    def get(self, child_id):
        """A child's details, with its version as the ETag"""
        ctx = current_app.extensions["cpp"]
        child = _find(ctx, child_id)
        audit.record_read(ctx.store, "child", child_id, child_id=child_id)
        return child, {"ETag": etag(child["version"])}

    @requires_role(*WRITERS)
    @requires_if_match
    @blp.arguments(ChildPatchSchema)
    @blp.response(200, ChildSchema, headers={"ETag": {"description": "the new version", "schema": {"type": "string"}}})
    @blp.alt_response(
        409, schema=ErrorSchema, description="the NHS number is already registered (errors.existing_child_id)"
    )
    @blp.alt_response(412, schema=ErrorSchema, description="If-Match is not the child's current version: GET it again")
    @blp.alt_response(428, schema=ErrorSchema, description="If-Match is missing")
    def patch(self, changes, child_id):
        """Change some of a child's details (If-Match required)"""
        if not changes:
            abort(
                422,
                message="the body names no field to change",
                errors={"json": {"_schema": ["Give at least one field to change."]}},
            )
        ctx = current_app.extensions["cpp"]
        current = _find(ctx, child_id)
        if if_match_version(request.headers.get("If-Match")) != current["version"]:
            abort(
                412,
                message=f"the child has changed since you read it (it is now at {etag(current['version'])}); "
                "GET it again and reapply your change",
            )
        try:
            doc = sl.change_child(
                ctx,
                child_id,
                _to_document(changes),
                expected_version=current["version"],
                now=datetime.now(UTC),
                actor=current_principal(),
            )
        except VersionConflict as exc:
            now = "it no longer exists" if exc.actual is None else f"it is now at {etag(exc.actual)}"
            abort(
                412,
                message=f"the child was changed by someone else while you saved ({now}); "
                "GET it again and reapply your change",
            )
        except DuplicateChild as exc:
            _duplicate(exc)
        return doc, {"ETag": etag(doc["version"])}


@blp.route("/<child_id>/birth")
class ChildBirth(MethodView):
    @idempotent
    @requires_role(*WRITERS)
    @requires_if_match
    @blp.arguments(BirthSchema, example={"date_of_birth": "2026-03-02", "given_names": "Lena"})
    @blp.response(200, ChildSchema, headers={"ETag": {"description": "the new version", "schema": {"type": "string"}}})
    @blp.alt_response(409, schema=ErrorSchema, description="the child is not recorded as unborn")
    @blp.alt_response(412, schema=ErrorSchema, description="If-Match is not the child's current version: GET it again")
    @blp.alt_response(428, schema=ErrorSchema, description="If-Match is missing")
    def post(self, body, child_id):
        """Record the birth of a child recorded as unborn (If-Match required): the record gains its date of
        birth, and the names given, and keeps the expected date of birth and all its history: the case, plan,
        conferences, deadlines and documents stay with the same child. child.born.v1 follows."""
        ctx = current_app.extensions["cpp"]
        current = _find(ctx, child_id)
        check_if_match(current, "child", "recording the birth")
        names = {k: body[k] for k in ("given_names", "family_name") if k in body}
        try:
            doc = sl.record_birth(
                ctx,
                child_id,
                born_on=body["date_of_birth"],
                names=names,
                expected_version=current["version"],
                today=today(),
                now=datetime.now(UTC),
                actor=current_principal(),
            )
        except VersionConflict:
            abort(412, message="the child was changed by someone else while you saved; GET it again")
        return doc, {"ETag": etag(doc["version"])}
