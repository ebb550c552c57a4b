"""Need-to-know in the plans service: who may read and change a restricted
child's records (the rule itself: ``cpp_shared.need_to_know``).

Every record that is a child's (the child, and every case, conference,
plan, report, resource panel request, child in need plan... carrying its
``child_id``) is loaded through ``api.common.load``, which calls ``check``:
a restricted child's record is refused with a 403 to anyone who is neither
on the restriction's access list nor holding a live break-glass grant. A
new endpoint that loads its record with ``load`` is covered without more.

Lists and searches leave out the records of the children the caller may
not see (``exclude_hidden``, a condition added to the list's own query, so
that pages and totals stay exact). They are left out rather than shown
redacted: a redacted row would still tell whoever searched a family name or
an NHS number that a restricted child matches it, which is what a
restriction of a member of staff's family must not tell; anyone with a
reason to reach the child reaches it by its id and is told there how to
break glass.

While a request uses a grant, the grant is remembered in the request
(``grant_in_use``), and every audit entry about that child carries
``{"break_glass": <grant id>}`` (``cpp_plans.audit``).

The partner lookup answers from the child's NHS number without this check
(whether a child is subject of a plan is what a partner must always be able
to learn), and the audit log stays the auditors' whole.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import current_app, g, has_request_context
from flask_smorest import abort

from cpp_shared import need_to_know as rule
from cpp_shared.auth import current_principal
from cpp_shared.config import ConfigError, Settings
from cpp_shared.store import Store

from .store import CHILDREN, GRANTS, RESTRICTIONS

MINUTES_SETTING = "BREAK_GLASS_MINUTES"
DEFAULT_MINUTES = 60
MAX_MINUTES = 24 * 60
_SEEN = "need_to_know"  # in flask.g: {child_id: grant id, or None when open to the caller}
_HIDDEN = "need_to_know_hidden"  # in flask.g: the children hidden from the caller


def now() -> datetime:
    """The moment grants are judged at (tests set it)."""
    return datetime.now(UTC)


def break_glass_minutes(settings: Settings) -> int:
    """How long a break-glass grant lasts (CPP_PLANS_BREAK_GLASS_MINUTES,
    default 60): a whole number of minutes, 1 to a day."""
    text = settings.setting(MINUTES_SETTING, str(DEFAULT_MINUTES))
    try:
        minutes = int(text)
    except (TypeError, ValueError):
        minutes = 0
    if not 1 <= minutes <= MAX_MINUTES:
        raise ConfigError(
            f"CPP_{settings.service.upper()}_{MINUTES_SETTING} must be a whole number of minutes "
            f"from 1 to {MAX_MINUTES}, got {text!r}"
        )
    return minutes


def child_of(collection: str, doc: dict[str, Any]) -> str | None:
    """The child a record is about: the child itself, or its ``child_id``."""
    return doc["_id"] if collection == CHILDREN else doc.get("child_id")


def _store() -> Store:
    return current_app.extensions["cpp"].store


def restriction_of(child_id: str) -> dict[str, Any] | None:
    """The child's restriction, whether in force or lifted (None if never set)."""
    return _store().collection(RESTRICTIONS).find_one({"_id": child_id})


def _seen() -> dict[str, str | None]:
    if not hasattr(g, _SEEN):
        setattr(g, _SEEN, {})
    return getattr(g, _SEEN)


def check(child_id: str | None) -> None:
    """Return if the caller may read and change the child's records now;
    otherwise answer 403, saying the record is restricted and how to break
    glass. (Once per child and request.)"""
    if child_id is None or child_id in _seen():
        return
    restriction = restriction_of(child_id)
    if not rule.in_force(restriction):
        _seen()[child_id] = None
        return
    user = current_principal().user
    if rule.on_access_list(restriction, user):
        _seen()[child_id] = None
        return
    grants = _store().collection(GRANTS).find({"child_id": child_id, "user": user})
    grant = rule.live_grant(restriction, user, grants, now())
    if grant is None:
        abort(403, message=rule.refusal(child_id))
    _seen()[child_id] = grant["_id"]


def hidden_children() -> list[str]:
    """The restricted children whose records the caller may not see now.
    (Restrictions are few: every one in force is read, once a request.)"""
    if not hasattr(g, _HIDDEN):
        setattr(g, _HIDDEN, _hidden_now())
    return getattr(g, _HIDDEN)


def _hidden_now() -> list[str]:
    restricted = [
        r
        for r in _store().collection(RESTRICTIONS).find({"active": True})
        if not rule.on_access_list(r, current_principal().user)
    ]
    if not restricted:
        return []
    user, at = current_principal().user, now()
    grants = _store().collection(GRANTS).find({"user": user, "expires_ts": {"$gt": at.timestamp()}})
    hidden = []
    for restriction in restricted:
        grant = rule.live_grant(restriction, user, grants, at)
        if grant is None:
            hidden.append(restriction["_id"])
        else:
            _seen()[restriction["_id"]] = grant["_id"]
    return hidden


def exclude_hidden(filter_: dict[str, Any], field: str = "child_id") -> dict[str, Any]:
    """A list's query with the hidden children's records left out."""
    hidden = hidden_children()
    if not hidden:
        return filter_
    current = filter_.get(field)
    if current is None:
        return {**filter_, field: {"$nin": hidden}}
    if isinstance(current, dict):
        return {**filter_, field: {**current, "$nin": hidden}}
    return {**filter_, field: {"$in": [current], "$nin": hidden}}


def grant_in_use(child_id: str | None) -> str | None:
    """The break-glass grant this request reads or changes the child's records under."""
    if child_id is None or not has_request_context():
        return None
    return getattr(g, _SEEN, {}).get(child_id)
