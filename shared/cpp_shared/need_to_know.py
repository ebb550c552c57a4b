"""Need-to-know: the rule for a restricted (sealed) child's records, the
same in every service that holds them.

A child's record may be restricted (a high-profile child, a member of
staff's own family, an adoption). While the restriction is in force, the
child's records are read and changed only by the users on its access list,
and by a practitioner who has broken glass: on giving a reason they hold a
grant, for a limited time and under that restriction only, and the
restriction's manager is told at once.

The plans service keeps the restrictions and the grants (it is the system
of record); the docs service keeps a projection of both from the plans
service's events (``child.restriction_set.v1``,
``child.restriction_lifted.v1``, ``access.break_glass.v1``). Each service
asks this module, with the moment it takes as now, so that a test (or an
inquiry) can ask about any moment.

A restriction, as both services keep it: ``{"child_id", "restriction_id",
"active", "access_list": [user ids], "manager": {"user", "email",
"name"}, ...}``. A grant: ``{"_id", "child_id", "restriction_id", "user",
"expires_at" (ISO, UTC), "expires_ts" (seconds since the epoch), ...}``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeGuard

# Who may break glass: the practitioners who may need a child's record at
# once (auditors read the audit log; admins manage, they do not practise).
PRACTITIONERS = ("social_worker", "team_manager", "chair")
REASON_MIN, REASON_MAX = 10, 1000
ACCESS_LIST_MAX = 50


def in_force(restriction: dict[str, Any] | None) -> TypeGuard[dict[str, Any]]:
    return bool(restriction and restriction.get("active"))


def on_access_list(restriction: dict[str, Any], user: str) -> bool:
    return user in (restriction.get("access_list") or ())


def grant_is_live(grant: dict[str, Any], restriction: dict[str, Any], at: datetime) -> bool:
    """A grant opens the child's records until it expires, and only under the
    restriction it was given under (a restriction lifted and set again needs
    glass broken again)."""
    return (
        grant.get("restriction_id") == restriction.get("restriction_id")
        and float(grant.get("expires_ts") or 0) > at.timestamp()
    )


def live_grant(
    restriction: dict[str, Any], user: str, grants: Iterable[dict[str, Any]], at: datetime
) -> dict[str, Any] | None:
    """The user's grant that is live at ``at`` (the one lasting longest), or None."""
    live = [g for g in grants if g.get("user") == user and grant_is_live(g, restriction, at)]
    return max(live, key=lambda g: g["expires_ts"]) if live else None


def refusal(child_id: str) -> str:
    """Why a restricted child's record is refused, and how to break glass."""
    return (
        f"child {child_id}'s record is restricted: only the people on its access list may read or change "
        f"it. If you need it now, break glass: POST /v1/children/{child_id}/break-glass to the plans service "
        f"with your reason ({REASON_MIN} to {REASON_MAX} characters). Access is then yours for a limited "
        "time, the restriction's manager is told at once, and every read is audited with your reason."
    )
