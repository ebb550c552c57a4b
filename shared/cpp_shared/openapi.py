"""The services' OpenAPI documents, completed by one set of rules so that
other people's tools accept them and can generate clients from them.

Each service's views document what is their own (bodies, answers, a 409's
or a 412's own reason); the rules here add to every operation what the
shared setup does for all of them:

* an ``operationId`` from the view's name: ``get``, ``update`` (PATCH),
  ``replace`` (PUT) or ``delete`` and the view's class name, less a
  trailing ``ById`` or ``One`` (``ChildById``: ``getChild``); a POST that
  answers 201 is ``create`` and the name made singular (``Cases``:
  ``createCase``); any other POST (a step: submit, pause...) names itself
  with ``@blp.doc(operationId=...)``, else it is ``post`` and the name. A
  view function is its own name (``add_staff``: ``addStaff``). Two
  operations given the same id stop start-up;
* 401 and 403 with the error body (every operation but the probes needs a
  bearer token and a role that may), 404 where the path names a record,
  409 on every change (a step the record's state does not allow, or another
  change committed meanwhile);
* the ``If-Match`` header where a view documents a 412, required where it
  documents a 428 (no If-Match), with the 400 for a list of ETags;
* the feed key (``?key=``) as a second way in for the endpoints that take
  one (``ServiceSpec.keyed_endpoints``);
* the probes (/healthz, /readyz, /metrics), which need no token.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from apispec import APISpec, BasePlugin
from flask import Flask
from flask_smorest.error_handler import ErrorSchema

from .config import Settings
from .etags import ONE_ETAG_ONLY

BEARER = "bearerAuth"
FEED_KEY = "feedKey"
SECURITY_SCHEMES = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "an access token of the authority's identity provider (`cpp token` in development)",
    },
}
FEED_KEY_SCHEME = {
    "type": "apiKey",
    "in": "query",
    "name": "key",
    "description": "a calendar feed's key, for calendar programs that cannot send a bearer token",
}
WRITES = ("post", "put", "patch", "delete")
VERBS = {"get": "get", "put": "replace", "patch": "update", "delete": "delete", "post": "post"}

# Answers every service may give, by the shared setup's own handlers.
UNAUTHENTICATED, NOT_PERMITTED, NOT_FOUND, CONFLICT = "Unauthenticated", "NotPermitted", "NotFound", "Conflict"
RESPONSES = {
    UNAUTHENTICATED: (
        "no bearer token, or one that is not valid (expired, revoked, another audience...); WWW-Authenticate says why"
    ),
    NOT_PERMITTED: (
        "the token's roles (or authority) do not allow this, or the child's record is restricted "
        "to people with a need to know"
    ),
    NOT_FOUND: "no such record in this authority",
    CONFLICT: (
        "the record's state does not allow this now (the message says why), or it changed while the "
        "request was handled; nothing was written"
    ),
}
CHALLENGE = {
    "WWW-Authenticate": {"description": "a Bearer challenge (RFC 6750) naming the error", "schema": {"type": "string"}}
}


def server_url(settings: Settings) -> str:
    """The service's own address for the document's ``servers``:
    CPP_<SERVICE>_PUBLIC_URL when set, else ``/`` (wherever the document was
    read from)."""
    value = (settings.environ.get(f"CPP_{settings.service.upper()}_PUBLIC_URL") or "").strip()
    return value.rstrip("/") or "/"


def spec_options(settings: Settings, description: str) -> dict[str, Any]:
    """The document's top level: its description, servers and bearer authentication."""
    return copy.deepcopy(
        {  # apispec merges its components into these options
            "info": {"description": description},
            "servers": [{"url": server_url(settings)}],
            "security": [{BEARER: []}],
            "components": {"securitySchemes": SECURITY_SCHEMES},
        }
    )


def singular(name: str) -> str:
    """``Children`` -> ``Child``, ``Deliveries`` -> ``Delivery``, ``Cases`` -> ``Case``."""
    if name.endswith("Children"):
        return name[: -len("ren")]
    if name.endswith("ies"):
        return name[: -len("ies")] + "y"
    if name.endswith("s") and not name.endswith("ss"):
        return name[:-1]
    return name


def operation_id(endpoint: str, method: str, creates: bool) -> str:
    """The operation's id from its endpoint's name (see the module's description)."""
    name = endpoint.rsplit(".", 1)[-1]
    if not name[:1].isupper():  # a view function: its name says what it does
        first, *rest = name.split("_")
        return first + "".join(part.capitalize() for part in rest)
    name = re.sub(r"(ById|One)$", "", name)
    if method == "post" and creates:
        return "create" + singular(name)
    return VERBS[method] + name


def if_match(required: bool) -> dict[str, Any]:
    return {
        "in": "header",
        "name": "If-Match",
        "required": required,
        "description": (
            'the ETag of the record as read (GET it first), e.g. "3"; '
            + ("required" if required else "optional: without it the change is made to whatever version is current")
        ),
        "schema": {"type": "string", "minLength": 1},
    }


class Contract(BasePlugin):
    """An apispec plugin completing every operation a service's blueprints
    document (see the module's description)."""

    def __init__(self, keyed_endpoints: frozenset[str] = frozenset()):
        self.keyed_endpoints = keyed_endpoints
        self.ids: dict[str, str] = {}

    def init_spec(self, spec: APISpec) -> None:
        for name, description in RESPONSES.items():
            spec.components.response(
                name,
                {
                    "description": description,
                    "content": {"application/json": {"schema": ErrorSchema}},
                    **({"headers": CHALLENGE} if name == UNAUTHENTICATED else {}),
                },
            )
        if self.keyed_endpoints:
            spec.components.security_scheme(FEED_KEY, FEED_KEY_SCHEME)

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        for method, operation in (operations or {}).items():
            if operation.get("security") != []:  # the probes, which need no token, are documented whole
                self._complete(kwargs["rule"].endpoint, method, path or "", operation)

    def _complete(self, endpoint: str, method: str, path: str, operation: dict[str, Any]) -> None:
        responses = operation.setdefault("responses", {})
        codes = {str(code) for code in responses}
        oid = operation.setdefault("operationId", operation_id(endpoint, method, creates="201" in codes))
        if oid in self.ids:
            raise ValueError(
                f"operationId {oid!r} of {endpoint} ({method}) is already {self.ids[oid]}'s: "
                "give one of them its own with @blp.doc(operationId=...)"
            )
        self.ids[oid] = f"{endpoint} ({method})"
        answers = {"401": UNAUTHENTICATED, "403": NOT_PERMITTED}
        if "{" in path:
            answers["404"] = NOT_FOUND
        if method in WRITES:
            answers["409"] = CONFLICT
        for code, name in answers.items():
            if code not in codes:
                responses[code] = name
        named = {p.get("name") for p in operation.get("parameters", []) if isinstance(p, dict)}
        if "412" in codes and "If-Match" not in named:
            operation.setdefault("parameters", []).append(if_match(required="428" in codes))
            if "400" not in codes:
                responses["400"] = {
                    "description": f"{ONE_ETAG_ONLY} (errors.headers names it)",
                    "content": {"application/json": {"schema": "Error"}},
                }
        if endpoint in self.keyed_endpoints:
            operation["security"] = [{BEARER: []}, {FEED_KEY: []}]


PROBES = {
    "/healthz": (
        "getHealth",
        "the process answers (liveness)",
        {
            "200": {
                "description": "the service is up",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"status": {"type": "string", "enum": ["ok"]}, "service": {"type": "string"}},
                        }
                    }
                },
            }
        },
    ),
    "/readyz": (
        "getReadiness",
        "the store, the broker and what else the service needs answer (readiness)",
        {
            "200": {
                "description": "ready, with each check's result",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}},
            },
            "503": {
                "description": "not ready: a check failed (it says which)",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}},
            },
        },
    ),
    "/metrics": (
        "getMetrics",
        "the service's metrics, for Prometheus",
        {
            "200": {
                "description": "the Prometheus text format, version 0.0.4",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        },
    ),
}
READINESS = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": ["ready", "unready"]},
        "service": {"type": "string"},
        "checks": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "each check (store, broker...): ok, or why not",
        },
    },
}


def document_probes(app: Flask, spec: APISpec) -> None:
    """The probes, which need no token (``security: []``), in the document."""
    spec.components.schema("Readiness", READINESS)
    for path, (oid, summary, responses) in PROBES.items():
        rule = next(r for r in app.url_map.iter_rules() if r.rule == path)
        spec.path(
            rule=rule,
            operations={
                "get": {
                    "operationId": oid,
                    "summary": summary,
                    "tags": ["probes"],
                    "security": [],
                    "responses": responses,
                }
            },
        )
    spec.tag({"name": "probes", "description": "Liveness, readiness and metrics: no token needed"})
