"""The event catalogue and its AsyncAPI document (see
``tests/services/test_event_catalogue.py`` for the events the services
really publish, checked against it)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema_rs
import pytest
from marshmallow import ValidationError, fields

from cpp_shared.contracts import catalogue
from cpp_shared.contracts.catalogue import (
    CATALOGUE,
    CLASS_KEY,
    EVERY_SERVICE,
    FIELD_CLASSES,
    asyncapi_document,
    validate_event,
)
from cpp_shared.contracts.topology import EXCHANGE_NAME, SUBSCRIPTIONS, TYPE_PATTERN
from cpp_shared.messaging.events import new_event

README = Path(__file__).resolve().parents[2] / "README.md"
KEY = re.compile(r"^[a-zA-Z0-9.\-_]+$")  # AsyncAPI 3.0: the keys of channels, operations and components
DRAFT7 = "http://json-schema.org/draft-07/schema#"


@pytest.fixture(scope="module")
def doc():
    return asyncapi_document(vhost="/")


def payload_schema(doc, event_type):
    """A message's payload as a standalone JSON Schema: its references point
    into components.schemas, carried along under the same path."""
    payload = doc["components"]["messages"][event_type]["payload"]
    return {"$schema": DRAFT7, **payload, "components": {"schemas": doc["components"]["schemas"]}}


def refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def resolve(doc, ref):
    assert ref.startswith("#/"), ref
    node = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_the_document_has_every_registered_type_as_a_channel_an_operation_and_a_message(doc):
    types = set(CATALOGUE)
    assert doc["asyncapi"] == "3.0.0"
    assert {"title", "version", "description"} <= set(doc["info"])
    queues = {f"queue.{s}" for s in SUBSCRIPTIONS}
    assert set(doc["channels"]) == types | queues and set(doc["components"]["messages"]) == types
    assert set(doc["operations"]) == types | {f"receive.{s}" for s in SUBSCRIPTIONS}
    for t in types:
        channel, operation = doc["channels"][t], doc["operations"][t]
        assert channel["address"] == t
        assert list(channel["messages"]) == [t]
        assert operation["action"] == "send" and operation["channel"] == {"$ref": f"#/channels/{t}"}
        assert operation["messages"] == [{"$ref": f"#/channels/{t}/messages/{t}"}]
        message = doc["components"]["messages"][t]
        assert message["contentType"] == "application/cloudevents+json"
        assert message["payload"]["properties"]["type"]["const"] == t
        assert message["summary"] == CATALOGUE[t].summary


def test_every_reference_resolves_and_every_key_is_an_asyncapi_id(doc):
    for ref in set(refs(doc)):
        assert isinstance(resolve(doc, ref), dict), ref
    for section in (doc["channels"], doc["operations"], doc["components"]["messages"], doc["components"]["schemas"]):
        assert all(KEY.match(key) for key in section), [k for k in section if not KEY.match(k)]
    json.dumps(doc)  # plain JSON


def test_the_amqp_bindings_describe_the_exchange_and_persistent_delivery(doc):
    for t in CATALOGUE:
        amqp = doc["channels"][t]["bindings"]["amqp"]
        assert amqp["is"] == "routingKey"
        assert amqp["exchange"] == {
            "name": EXCHANGE_NAME,
            "type": "topic",
            "durable": True,
            "autoDelete": False,
            "vhost": "/",
        }
        assert doc["operations"][t]["bindings"]["amqp"]["deliveryMode"] == 2
        assert doc["components"]["messages"][t]["bindings"]["amqp"]["messageType"] == t
        for binding in (
            amqp,
            doc["operations"][t]["bindings"]["amqp"],
            doc["components"]["messages"][t]["bindings"]["amqp"],
        ):
            assert binding["bindingVersion"] == "0.3.0"


def judged_alike(doc, ev) -> tuple[bool, bool]:
    """Whether the AsyncAPI document, and the catalogue's own schema, accept the event."""
    by_document = jsonschema_rs.validator_for(payload_schema(doc, ev["type"]), validate_formats=True).is_valid(ev)
    try:
        validate_event(ev)
        by_schema = True
    except ValidationError:
        by_schema = False
    return by_document, by_schema


@pytest.mark.parametrize("event_type", sorted(CATALOGUE))
def test_each_message_payload_is_valid_json_schema(doc, event_type):
    schema = payload_schema(doc, event_type)
    jsonschema_rs.meta.validate(schema)  # raises on an invalid schema
    jsonschema_rs.validator_for(schema)  # and it compiles, references included


def test_the_envelope_and_every_data_object_are_closed(doc):
    for t in CATALOGUE:
        payload = doc["components"]["messages"][t]["payload"]
        assert payload["additionalProperties"] is False
        assert set(payload["required"]) == {
            "specversion",
            "id",
            "source",
            "type",
            "subject",
            "time",
            "datacontenttype",
            "authority",
            "data",
        }
        assert "correlationid" in payload["properties"]
    for name, schema in doc["components"]["schemas"].items():
        jsonschema_rs.meta.validate({"$schema": DRAFT7, **schema})
        assert schema["type"] == "object" and schema["additionalProperties"] is False, name


def leaves(schema, prefix=""):
    for name, field in schema.fields.items():
        if isinstance(field, fields.Nested):
            assert CLASS_KEY not in field.metadata, f"{prefix}{name}: a nested object's fields have the classes"
            yield from leaves(field.schema, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", field


@pytest.mark.parametrize("event_type", sorted(CATALOGUE))
def test_every_field_has_a_class_and_a_description(event_type):
    entry = CATALOGUE[event_type]
    assert TYPE_PATTERN.match(event_type)
    assert (entry.producer in SUBSCRIPTIONS or entry.producer == EVERY_SERVICE) and entry.summary and entry.subject
    for path, field in leaves(entry.schema()):
        assert field.metadata.get(CLASS_KEY) in FIELD_CLASSES, path
        assert field.metadata.get("description"), path
    assert set(catalogue.field_classes(event_type).values()) <= set(FIELD_CLASSES)


def test_the_classes_are_in_the_document_and_free_text_is_narrative(doc):
    snapshot = doc["components"]["schemas"]["PlanSnapshotV1"]["properties"]
    assert snapshot["content"][CLASS_KEY] == "narrative" and "PlanContent" in snapshot["content"]["description"]
    assert catalogue.field_classes("plan.created.v1")["agreed.by"] == "identifier"
    assert catalogue.field_classes("conference.rescheduled.v1")["reason"] == "narrative"
    assert catalogue.field_classes("conference.cancelled.v1")["reason"] == "narrative"
    assert catalogue.field_classes("escalation.raised.v1")["key_worker"] == "contact"
    assert catalogue.field_classes("escalation.raised.v1")["recipient.name"] == "contact"
    # Any string field classed status must be a closed set or a configured label, never someone's words.
    free_status = {
        (t, p)
        for t, e in CATALOGUE.items()
        for p, f in leaves(e.schema())
        if f.metadata[CLASS_KEY] == "status" and isinstance(f, fields.String) and not f.validators
    }
    assert free_status == {
        ("escalation.raised.v1", "name"),
        ("escalation.raised.v1", "recipient.kind"),
        ("escalation.step_recorded.v1", "name"),
        ("escalation.step_recorded.v1", "outcome"),
        ("lookup.performed.v1", "partner_role"),
        *{
            (t, p)
            for t in CATALOGUE
            if t.startswith("deadline.") and t != "deadline.nobody_told.v1"  # a notice's report, not a deadline
            for p in ("kind", "name", "met.type", "closed_by.type")
        },
    }


def test_unsupported_versions_are_refused_and_the_document_is_a_copy():
    with pytest.raises(ValueError, match="2.6.0"):
        asyncapi_document(vhost="/", version="2.6.0")
    first = asyncapi_document(vhost="/")
    first["channels"].clear()
    assert asyncapi_document(vhost="/")["channels"]


def test_the_exchange_and_the_queues_are_in_the_virtual_host_given():
    doc = asyncapi_document(vhost="cpp")
    assert doc["channels"]["case.opened.v1"]["bindings"]["amqp"]["exchange"]["vhost"] == "cpp"
    assert doc["channels"]["queue.docs"]["bindings"]["amqp"]["queue"]["vhost"] == "cpp"
    assert asyncapi_document(vhost="/")["channels"]["queue.docs"]["bindings"]["amqp"]["queue"]["vhost"] == "/"


def test_the_consumers_follow_the_topic_bindings():
    assert catalogue.consumers("case.opened.v1") == ["scheduler", "notify", "docs", "returns"]
    # not plans: no handler of its takes one
    assert catalogue.consumers("deadline.met.v1") == ["notify", "docs", "returns"]
    assert catalogue.consumers("lookup.performed.v1") == ["notify"]
    assert catalogue.consumers("audit.checkpointed.v1") == ["plans", "scheduler", "notify", "docs", "returns"]
    # plans makes them
    assert catalogue.consumers("access.revoked.v1") == ["scheduler", "notify", "docs", "returns"]


def event(event_type, data, subject):
    return new_event(
        event_type,
        source=f"/services/{CATALOGUE[event_type].producer}",
        subject=subject,
        data=data,
        authority="ENG",
        correlation_id="req-1",
    )


HELD_INITIAL = {
    "conference_id": "cf-1",
    "case_id": "case-1",
    "child_id": "child-1",
    "kind": "initial",
    "held_on": "2026-01-05",
    "plan_required": False,
    "plan_id": None,
    "first_core_group_on": None,
}
HELD_REVIEW = {
    "conference_id": "cf-2",
    "case_id": "case-1",
    "child_id": "child-1",
    "kind": "review",
    "held_on": "2026-04-05",
    "decision": "continue",
    "plan_id": "plan-1",
}


@pytest.mark.parametrize(
    "data, ok",
    [
        (HELD_INITIAL, True),
        (HELD_REVIEW, True),
        ({**HELD_INITIAL, "notes": "Mother said ..."}, False),  # an unknown field
        ({**HELD_INITIAL, "decision": "continue"}, False),  # a review's field in an initial conference's event
        ({k: v for k, v in HELD_INITIAL.items() if k != "first_core_group_on"}, False),
        ({**HELD_REVIEW, "plan_required": True}, False),
        ({**HELD_REVIEW, "held_on": "05/04/2026"}, False),
        ({**HELD_REVIEW, "decision": "adjourn"}, False),
        ({k: v for k, v in HELD_REVIEW.items() if k != "plan_id"}, False),  # present, even when null
    ],
)
def test_an_event_is_checked_by_the_schema_and_the_document_alike(doc, data, ok):
    assert judged_alike(doc, event("conference.held.v1", data, "case-1")) == (ok, ok)


def test_an_unknown_type_a_wrong_source_or_subject_is_refused():
    with pytest.raises(catalogue.UnknownEventType):
        validate_event(new_event("case.archived.v1", source="/services/plans", subject="c", data={}, authority="ENG"))
    good = event("child.registered.v1", {"child_id": "child-1"}, "child-1")
    validate_event(good)
    with pytest.raises(ValidationError, match="source"):
        validate_event({**good, "source": "/services/notify"})
    with pytest.raises(ValidationError, match="subject"):
        validate_event({**good, "subject": "someone-else"})
    lookup = {
        "lookup_id": "lk-1",
        "performed_at": "2026-01-05T10:00:00+00:00",
        "partner": "hv-1",
        "partner_role": "partner",
        "authority": "ENG",
        "child_id": None,
        "plan_id": None,
        "key_worker": None,
        "subject_of_plan": False,
    }
    validate_event(event("lookup.performed.v1", lookup, "lk-1"))  # an unknown child: the lookup's own id


CHECKPOINT = {
    "service": "scheduler",
    "authority": "ENG",
    "log": "audit",
    "seq": 9,
    "hash": "ab" * 32,
    "at": "2026-11-24T09:00:00+00:00",
    "previous": "0" * 64,
    "key_id": "fd56fd0b35a235cb",
    "signature": "c2lnbmF0dXJl",
}


def test_every_service_publishes_its_own_audit_checkpoints(doc):
    validator = jsonschema_rs.validator_for(payload_schema(doc, "audit.checkpointed.v1"), validate_formats=True)
    for service in SUBSCRIPTIONS:
        ev = new_event(
            "audit.checkpointed.v1",
            source=f"/services/{service}",
            subject="scheduler",
            data=CHECKPOINT,
            authority="ENG",
        )
        validate_event(ev)
        assert validator.is_valid(ev)
    stranger = new_event(
        "audit.checkpointed.v1", source="/services/billing", subject="scheduler", data=CHECKPOINT, authority="ENG"
    )
    assert not validator.is_valid(stranger)
    with pytest.raises(ValidationError, match="source"):
        validate_event(stranger)
    with pytest.raises(ValidationError, match="seq"):
        validate_event({**stranger, "source": "/services/plans", "data": {**CHECKPOINT, "seq": -1}})
    assert "every service" in doc["components"]["messages"]["audit.checkpointed.v1"]["description"]


REVOKED_USER = {
    "revocation_id": "rv-1",
    "user": "sw-1",
    "jti": None,
    "not_before": "2026-11-24T09:00:00+00:00",
    "expires_at": None,
    "revoked_at": "2026-11-24T09:00:00+00:00",
    "by": "admin-1",
    "reason": "Left the council.",
}
REVOKED_TOKEN = {
    **REVOKED_USER,
    "user": None,
    "jti": "ab" * 16,
    "not_before": None,
    "expires_at": "2026-11-24T21:00:00+00:00",
}


@pytest.mark.parametrize(
    "data, subject, ok",
    [
        (REVOKED_USER, "sw-1", True),
        (REVOKED_TOKEN, "ab" * 16, True),
        ({**REVOKED_USER, "jti": "ab" * 16}, "sw-1", False),  # a user and a token at once
        ({**REVOKED_USER, "not_before": None}, "sw-1", False),  # a user's without its moment
        ({**REVOKED_USER, "expires_at": "2026-11-24T21:00:00+00:00"}, "sw-1", False),
        ({**REVOKED_TOKEN, "expires_at": None}, "ab" * 16, False),
        ({**REVOKED_TOKEN, "not_before": "2026-11-24T09:00:00+00:00"}, "ab" * 16, False),
        ({**REVOKED_USER, "user": None}, "sw-1", False),  # neither
    ],
)
def test_a_revocation_names_a_user_or_one_token_by_the_schema_and_the_document_alike(doc, data, subject, ok):
    assert judged_alike(doc, event("access.revoked.v1", data, subject)) == (ok, ok)


def test_a_revocations_reason_is_narrative_and_partners_never_receive_it():
    from cpp_notify.domain.minimise import partner_may_receive
    from cpp_notify.runtime import EVENT_CATALOGUE

    assert catalogue.field_classes("access.revoked.v1")["reason"] == "narrative"
    assert catalogue.field_classes("access.revoked.v1")["user"] == "identifier"
    assert not any(partner_may_receive(p, EVENT_CATALOGUE) for p in ("access.revoked.v1", "access.*", "access.#"))


ESCALATION = {
    "escalation_id": "esc-1",
    "plan_id": "plan-1",
    "case_id": "case-1",
    "child_id": "child-1",
    "route": "childrens_convenor",
    "name": "Refer to the Children's Convenor",
    "recipient": {"name": "Children's Convenor", "kind": "external"},
    "raised_on": "2026-01-05",
    "key_worker": "Sam Social",
}


@pytest.mark.parametrize(
    "recipient, ok",
    [
        ({"name": "Children's Convenor", "kind": "external"}, True),
        (None, True),
        ({"name": "Children's Convenor", "kind": "external", "email": "x@example.org"}, False),
        ({"name": "Children's Convenor"}, False),
    ],
)
def test_an_escalations_recipient_is_a_closed_object_or_null(doc, recipient, ok):
    ev = event("escalation.raised.v1", {**ESCALATION, "recipient": recipient}, "plan-1")
    validator = jsonschema_rs.validator_for(payload_schema(doc, "escalation.raised.v1"), validate_formats=True)
    assert validator.is_valid(ev) is ok
    if ok:
        validate_event(ev)
    else:
        with pytest.raises(ValidationError, match="recipient"):
            validate_event(ev)


def test_the_readme_lists_every_event_type():
    text = README.read_text()
    section = text[text.index("\n## Events\n") :]
    section = section[: section.index("\n## ", 1)]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 4:
            rows[cells[0].strip("`")] = cells[1:]
    assert rows == {t: [e.producer, e.subject, e.summary] for t, e in CATALOGUE.items()}
    assert "/asyncapi.json" in section
