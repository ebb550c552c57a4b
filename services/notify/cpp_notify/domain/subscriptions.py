"""Partner subscriptions' rules: which events a subscription matches, who
is an escalation's recipient, the secrets a delivery is signed with, and
what the platform tells of a subscription in its events.

An escalation outside the council (``escalation.raised.v1`` by a route
whose recipient is external, such as the referral to the Children's
Convenor) goes only to the subscriptions of that recipient: those whose
``escalation_routes`` name the route (an admin sets them), or whose owner
is the route's id.
"""

from __future__ import annotations

import base64
import fnmatch
import re
import secrets
from typing import Any

from cpp_shared.plugins import Plugins

ESCALATION = "escalation.raised.v1"
PATTERN = re.compile(r"^[a-z_*]+(\.[a-z_*]+)*(\.v[0-9*]+)?$")
ROTATION_OVERLAP = 24 * 3600.0  # a rotated-out secret still signs for a day, so receivers can switch without loss


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def matches(patterns: list[str], event_type: str) -> bool:
    return any(fnmatch.fnmatchcase(event_type, p) for p in patterns)


def external_routes(plugins: Plugins) -> dict[str, dict[str, Any]]:
    """The deployment's escalation routes whose recipient is outside the council, by id."""
    return {
        r["id"]: r
        for r in plugins.layered("cpp_escalation_routes")
        if (r.get("recipient") or {}).get("kind") == "external"
    }


def receives_escalation(subscription: dict[str, Any], event: dict[str, Any]) -> bool:
    """Whether this subscription is the recipient the escalation's route names."""
    data = event.get("data") or {}
    if not data.get("recipient") or not data.get("route"):
        return False  # a route within the council: no partner is its recipient
    return data["route"] in (subscription.get("escalation_routes") or []) or subscription["owner"] == data["route"]


def signing_secrets(subscription: dict[str, Any], box, now: float) -> list[str]:
    """The secrets a delivery is signed with now: the current one, and a
    rotated-out one until its overlap ends."""
    return [
        box.open(s["sealed"]) for s in subscription["secrets"] if s.get("expires_at") is None or s["expires_at"] > now
    ]


def public_view(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "subscription_id": doc["_id"],
        "owner": doc["owner"],
        "status": doc["status"],
        "url": doc["url"],
        "event_types": doc["event_types"],
        "disabled": doc.get("disabled"),
    }
