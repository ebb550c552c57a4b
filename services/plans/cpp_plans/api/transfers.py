"""Transfers between councils (docs/transfer-package.md).

Out: ``POST /v1/cases/{id}/transfer-out`` records that the family moves for
good to another council; ``GET /v1/cases/{id}/transfer-package`` gives the
signed package for that council (a compact JWS, ``application/jose``). The
case stays open with its plan in force until the receiving council has held
its transfer-in conference; ``POST /v1/plans/{id}/ending`` with
``moved_to_another_council`` then ends it.

In: ``POST /v1/transfers/in`` takes a package, or a notification without
one, and opens a case waiting for the transfer-in conference; a package
that follows a notification joins the case it opened; a package whose
signature or schema fails is refused whole (422) and nothing is written. ``GET /v1/children/{id}/transfer-history`` reads what the previous
councils sent.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask import Response, jsonify
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from cpp_shared.auth import current_principal, requires_role
from cpp_shared.idempotency import idempotent
from cpp_shared.store import DuplicateKey
from cpp_shared.web import error_body

from .. import audit, characteristics
from .. import transfer_package as pkg
from ..domain import children as child_rules
from ..service_layer import transfers as sl
from ..store import CASES, CHILDREN
from .cases import USER_ID, CaseSchema
from .children import ChildCreateSchema, _to_document
from .chronology import chronology
from .common import READERS, WRITERS, ctx, etag, load, today
from .fields import IsoDate

blp = Blueprint("transfers", __name__, url_prefix="/v1", description="Transfers between councils")

COUNCIL: dict[str, Any] = dict(required=True, validate=validate.Length(min=1, max=200))


class TransferOutSchema(Schema):
    receiving_council = fields.String(**COUNCIL, metadata={"description": "the council the family moves to"})
    notified_on = IsoDate(
        required=True, metadata={"description": "the day the receiving council was told of the permanent move"}
    )


class NotificationSchema(Schema):
    from_council = fields.String(**COUNCIL, metadata={"description": "the council the family moved from"})
    notified_on = IsoDate(required=True, metadata={"description": "the day this council was told of the move"})
    child = fields.Nested(ChildCreateSchema, required=True, metadata={"description": "the child, as registered"})


class TransferInSchema(Schema):
    package = fields.String(
        validate=validate.Length(min=1, max=900_000),
        metadata={"description": "the previous council's signed package: a JWS in compact serialization"},
    )
    notification = fields.Nested(
        NotificationSchema, metadata={"description": "a move notified without a package (the package may follow)"}
    )
    social_worker = fields.String(**USER_ID, metadata={"description": "the user id of the case's social worker"})
    team_manager = fields.String(**USER_ID, metadata={"description": "the user id of the case's team manager"})
    team = fields.String(validate=validate.Length(min=1, max=200))

    @validates_schema
    def _one_of_the_two(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("package" in data) == ("notification" in data):
            raise ValidationError("give a package or a notification, one of the two", "package")


class TransferHistorySchema(Schema):
    id = fields.String(attribute="_id")
    child_id = fields.String()
    case_id = fields.String(metadata={"description": "the case opened here when the child moved in"})
    from_council = fields.Dict(metadata={"description": "the council the child moved from: code and name"})
    notified_on = fields.String(metadata={"format": "date"})
    received_at = fields.String()
    received_by = fields.String()
    signed_by = fields.String(allow_none=True, metadata={"description": "the kid of the key that signed the package"})
    package_id = fields.String(allow_none=True)
    package_received_on = fields.String(
        metadata={"format": "date", "description": "for a package that followed the notification: when it came"}
    )
    package = fields.Dict(
        allow_none=True,
        metadata={"description": "the package's payload as it arrived (cpp-transfer-package/1); null: notified only"},
    )


class TransferHistoryListSchema(Schema):
    child_id = fields.String()
    items = fields.List(fields.Nested(TransferHistorySchema), metadata={"description": "oldest received first"})


@blp.app_errorhandler(pkg.PackageRefused)
def _refused(exc: pkg.PackageRefused):
    return jsonify(error_body(422, "Unprocessable Entity", exc.message, {"json": exc.errors})), 422


@blp.route("/cases/<case_id>/transfer-out")
class TransferOut(MethodView):
    @idempotent
    @blp.doc(operationId="startTransferOut")
    @blp.arguments(TransferOutSchema)
    @blp.response(200, CaseSchema)
    @requires_role(*WRITERS)
    def post(self, body, case_id):
        """Record that the family moves for good to another council (the plan stays in force until that
        council's transfer-in conference)"""
        load(CASES, case_id, "case")
        case = sl.start_transfer_out(ctx(), case_id, today=today(), actor=current_principal(), **body)
        return case, {"ETag": etag(case["version"])}


@blp.route("/cases/<case_id>/transfer-package")
class TransferPackage(MethodView):
    @blp.doc(
        operationId="getTransferPackage",
        responses={
            "200": {
                "description": "the package, signed: a JWS in compact serialization whose payload is "
                "cpp-transfer-package/1 JSON",
                "content": {pkg.MEDIA_TYPE: {"schema": {"type": "string"}}},
            }
        },
    )
    @requires_role(*WRITERS)
    def get(self, case_id):
        """The signed package for the receiving council (after the move is recorded)"""
        case = load(CASES, case_id, "case")
        store, code = ctx().store, ctx().authority["code"]
        payload = sl.package_payload(
            ctx(), case_id, chronology=chronology(store, code, case["child_id"]), now=datetime.now(UTC)
        )
        token = _signing_key().sign(payload)
        audit.record_read(store, "transfer_package", case_id, child_id=case["child_id"])
        return Response(
            token,
            mimetype=pkg.MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="transfer-package-{case_id}.jws"'},
        )


def _signing_key() -> pkg.SigningKey:
    return pkg.signing_key(ctx().settings, ctx().authority["code"])


def _child_of_package(payload: dict[str, Any]) -> dict[str, Any]:
    """The package's child as this council registers them, checked as a registration is (a 422 by field).
    A sending council whose record is free text (made before the census's codes, or left for a person to
    code there) sends gender, ethnicity and disability as text: coded here where the text certainly means a
    code (characteristics.py), else kept in ``uncoded`` for a person here to code."""
    sent = payload["child"]
    codes, uncoded = characteristics.coded(sent)
    uncoded = {**(sent.get("uncoded") or {}), **uncoded}
    wanted = ChildCreateSchema().fields
    given = {k: v for k, v in {**sent, **codes}.items() if k in wanted and k not in uncoded}
    still_text = tuple(k for k in ("gender", "ethnicity") if k in uncoded)
    try:
        loaded = ChildCreateSchema(partial=still_text).load(given)
        errors = child_rules.date_of_birth_errors(loaded) if still_text else {}  # partial skips it
        if errors:
            raise ValidationError(errors)
    except ValidationError as exc:
        raise pkg.PackageRefused("schema", {"package": {"child": exc.normalized_messages()}}) from None
    return {**_to_document(loaded), **({"uncoded": uncoded} if uncoded else {})}


@blp.route("/transfers/in")
class TransfersIn(MethodView):
    @idempotent
    @blp.doc(operationId="receiveTransfer")
    @blp.arguments(TransferInSchema)
    @blp.response(201, CaseSchema)
    @blp.alt_response(422, description="the package's signature or schema fails (nothing is written)")
    @requires_role(*WRITERS)
    def post(self, body):
        """A child who moved here from another council: a case waiting for its transfer-in conference"""
        people = {k: body[k] for k in ("social_worker", "team_manager", "team") if k in body}
        if "package" in body:
            payload, kid = pkg.verify(body["package"], pkg.trusted_keys(ctx().settings))
            child = _child_of_package(payload)
            council, notified_on = payload["sending_authority"], payload["notified_on"]
        else:
            notice = body["notification"]
            payload, kid = None, None
            child = _to_document(notice["child"])
            council, notified_on = {"code": None, "name": notice["from_council"]}, notice["notified_on"]
        try:
            case = sl.receive_transfer(
                ctx(),
                child=child,
                from_council=council,
                notified_on=_day(notified_on),
                payload=payload,
                signed_by=kid,
                now=datetime.now(UTC),
                actor=current_principal(),
                **people,
            )
        except DuplicateKey:  # the child was registered meanwhile: sent again, it is found by NHS number
            abort(409, message="the child was registered here while the transfer was received; send it again")
        return case, {"ETag": etag(case["version"])}


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


@blp.route("/children/<child_id>/transfer-history")
class TransferHistory(MethodView):
    @blp.response(200, TransferHistoryListSchema)
    @requires_role(*READERS)
    def get(self, child_id):
        """What the councils the child moved from sent: read-only history"""
        load(CHILDREN, child_id, "child")
        audit.record_read(ctx().store, "transfer_history", child_id, child_id=child_id)
        return {"child_id": child_id, "items": sl.histories_of(ctx(), child_id)}
