"""What a consuming service has heard about each case.

Scheduler, notify and docs record every case event they consume and expose
the list at GET /v1/cases/{case_id}/events, so anyone can check that an event
published by plans reached a service, and reached it once. Each record has an
id of its own (not the event id): an event handled twice would show twice.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from . import audit
from .auth import requires_role
from .messaging.consumer import HandlerContext
from .store import Store

COLLECTION = "case_events"


def setup_store(store: Store) -> None:
    store.collection(COLLECTION).create_index("case_id")
    store.collection(COLLECTION).create_index("child_id")


def record_case_event(event: dict, ctx: HandlerContext) -> None:
    ctx.uow.insert(
        COLLECTION,
        {
            "case_id": event["subject"],
            # the child, where the event names one: an erasure finds the child's cases by it
            **({"child_id": child} if (child := (event.get("data") or {}).get("child_id")) else {}),
            "event_id": event["id"],
            "type": event["type"],
            "time": event["time"],
            "received_at": datetime.now(UTC).isoformat(),
        },
    )


def conference_state(event_type: str, data: dict) -> dict:
    """Where a conference stands after one of its events, for a consuming
    service's projection: ``status`` (scheduled, held, cancelled) and, when
    the event gives it, ``on`` (the day scheduled or held)."""
    if event_type in ("conference.scheduled.v1", "conference.rescheduled.v1"):
        return {"status": "scheduled", "on": data.get("scheduled_for")}
    if event_type == "conference.held.v1":
        return {"status": "held", "on": data.get("held_on")}
    if event_type == "conference.cancelled.v1":
        return {"status": "cancelled"}
    return {}


class CaseEventSchema(Schema):
    event_id = fields.String()
    type = fields.String()
    time = fields.String()
    received_at = fields.String()


class CaseEventListSchema(Schema):
    case_id = fields.String()
    events = fields.List(fields.Nested(CaseEventSchema))


def blueprint(service: str) -> Blueprint:
    bp = Blueprint(
        "case_events", __name__, url_prefix="/v1/cases", description=f"Case events the {service} service has consumed"
    )

    @bp.route("/<case_id>/events")
    class CaseEvents(MethodView):
        @bp.response(200, CaseEventListSchema)
        @requires_role("social_worker", "team_manager", "chair", "auditor", "admin")
        def get(self, case_id: str):
            store = current_app.extensions["cpp"].store
            rows = store.collection(COLLECTION).find({"case_id": case_id}, sort=[("received_at", 1)])
            if not rows:
                # A case this service has heard nothing of, whether unknown or
                # another authority's: not found, never an empty answer.
                abort(404, message=f"no events of case {case_id} have reached the {service} service")
            audit.record_read(store, "case_events", case_id, action="list", detail={"count": len(rows)})
            return {"case_id": case_id, "events": rows}

    return bp
