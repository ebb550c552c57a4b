"""Fuzzing a service's OpenAPI document with schemathesis: whatever a client
sends, no 5xx and no response that breaks the document.

What is checked is what the document promises about responses. Not
checked: that every request the document allows is accepted: an NHS
number's check digit, or a step the case's state does not allow yet,
cannot be said in OpenAPI, and those are refused with a 4xx by design.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Callable

import schemathesis
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cpp_shared.auth import issue_dev_token
from cpp_shared.config import Settings

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


class FuzzTarget:
    """A service app in a throwaway data folder, its schema, and tokens."""

    def __init__(self, service: str, create_app: Callable, **env: str):
        self.data = tempfile.mkdtemp(prefix=f"cpp-fuzz-{service}-")
        atexit.register(shutil.rmtree, self.data, ignore_errors=True)
        self.settings = Settings.from_env(
            service,
            {
                "CPP_MODE": "development",
                "CPP_DATA_DIR": self.data,
                "CPP_LOG_FORMAT": "console",
                # kombu's in-memory bus: the admin's parked-messages read answers (no broker is a 503 by design)
                "CPP_BROKER_URL": f"memory://fuzz-{service}/",
                **env,
            },
        )
        self.app = create_app(self.settings)
        self.ctx = self.app.extensions["cpp"]
        doc = self.app.test_client().get("/openapi.json", headers=self.headers("auditor")).json
        self.schema = schemathesis.openapi.from_dict(doc)
        self.schema.app = self.app

    def headers(self, role: str) -> dict[str, str]:
        token = issue_dev_token(self.settings, role=role, authority="ENG", user=f"fuzz-{role}")
        return {"Authorization": f"Bearer {token}"}
