"""Which claims of an identity provider's tokens say who a person is.

Providers put the same facts in different claims: Entra ID's app roles are
an array ``roles`` and its ``sub`` is an opaque id per application (``oid``
is the user's own); Okta's custom authorization servers put groups in a
claim the council names; Keycloak nests realm roles in
``realm_access.roles``. A deployment says where to look with settings, and
a plugin (``cpp_identity``) can say what settings cannot.

Settings (each a comma-separated list of claims, tried in order; a claim
whose name is not in the token is looked up as a dotted path through
nested objects, so ``realm_access.roles`` reaches Keycloak's roles while a
URI-like claim name ``https://cpp.example/roles`` is read as it is):

=============================  =======================  ==================================================
setting                        default                  what it says
=============================  =======================  ==================================================
CPP_OIDC_USER_CLAIM            ``sub``                  the user's id (Entra ID: ``oid``)
CPP_OIDC_ROLES_CLAIM           ``role,roles``           the role or roles: a string or an array of strings;
                                                        every claim listed is read and their roles joined
CPP_OIDC_ROLE_MAP              (none)                   the provider's values as platform roles:
                                                        ``CPP Social Workers=social_worker,...`` or a JSON
                                                        object (a value may name a list of roles). With a
                                                        map, only mapped values count; without one, values
                                                        that are platform role names count
CPP_OIDC_AUTHORITY             (none)                   the authority of every token (a single-council
                                                        deployment); the authority claim is then not read
CPP_OIDC_AUTHORITY_CLAIM       ``authority``            the claim naming the authority otherwise
CPP_OIDC_NAME_CLAIM            ``name,preferred_username``  the display name
CPP_OIDC_EMAIL_CLAIM           ``email``                the email address
CPP_OIDC_TEAM_CLAIM            ``team``                 the team
CPP_OIDC_MANAGER_CLAIM         ``manager``              the manager's user id
=============================  =======================  ==================================================

Values that are not platform roles are ignored, so that a token may carry
a provider's other roles and groups. A token naming no platform role is
refused, as is one holding the partner role together with a staff role (a
partner agency's account is never also a council's).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .config import ConfigError, Settings

#: Every role of the platform, in the order a person's roles are listed (the first is their ``role``).
ROLES = ("social_worker", "team_manager", "chair", "partner", "auditor", "admin")
#: The roles of the council's own staff (partners are not staff).
STAFF_ROLES = ("social_worker", "team_manager", "chair", "auditor", "admin")


class ClaimError(Exception):
    """The token's claims do not say who the person is in this platform. The
    message is for the caller (never quoting the token); ``reason`` is logged."""

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Identity:
    """Who a token says the person is, in the platform's terms."""

    user: str
    roles: tuple[str, ...]
    authority: str
    name: str | None = None
    email: str | None = None
    team: str | None = None
    manager: str | None = None


def claim(claims: Mapping[str, Any], name: str) -> Any:
    """A claim by its name, else by a dotted path through nested objects; None when absent."""
    if name in claims:
        return claims[name]
    value: Any = claims
    for step in name.split("."):
        if not isinstance(value, Mapping) or step not in value:
            return None
        value = value[step]
    return value


def _text(value: Any) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _first_text(claims: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    for name in names:
        text = _text(claim(claims, name))
        if text is not None:
            return text
    return None


def _names(settings: Settings, name: str, default: str) -> tuple[str, ...]:
    text = settings.setting(name, default) or ""
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise ConfigError(f"CPP_{name} names no claim (a comma-separated list of claim names, e.g. {default!r})")
    return names


def parse_role_map(text: str) -> dict[str, tuple[str, ...]]:
    """``value=role,value=role`` or a JSON object ``{"value": "role" | ["role", ...]}``."""
    text = text.strip()
    if text.startswith(("{", "[")):
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"CPP_OIDC_ROLE_MAP is not valid JSON: {exc}") from None
        if not isinstance(raw, dict):
            raise ConfigError("CPP_OIDC_ROLE_MAP must be a JSON object of provider value to role")
        pairs = [(k, v) for k, v in raw.items()]
    else:
        pairs = []
        for part in filter(None, (p.strip() for p in text.split(","))):
            value, sep, role = part.rpartition("=")
            if not sep or not value.strip():
                raise ConfigError(f"CPP_OIDC_ROLE_MAP: {part!r} is not 'provider value=role'")
            pairs.append((value.strip(), role.strip()))
    mapped: dict[str, tuple[str, ...]] = {}
    for value, roles in pairs:
        roles = (roles,) if isinstance(roles, str) else roles
        if not isinstance(roles, (list, tuple)) or not roles or not all(isinstance(r, str) for r in roles):
            raise ConfigError(f"CPP_OIDC_ROLE_MAP: {value!r} must map to a role or a list of roles")
        unknown = [r for r in roles if r not in ROLES]
        if unknown:
            raise ConfigError(
                f"CPP_OIDC_ROLE_MAP: {value!r} maps to {', '.join(map(repr, unknown))}, not a role "
                f"of the platform ({', '.join(ROLES)})"
            )
        mapped[value] = tuple(dict.fromkeys((*mapped.get(value, ()), *roles)))
    if not mapped:
        raise ConfigError("CPP_OIDC_ROLE_MAP maps nothing")
    return mapped


Hook = Callable[..., Any]


@dataclass(frozen=True)
class ClaimMap:
    """Where a deployment's tokens say who the person is (see the module's table)."""

    user: tuple[str, ...] = ("sub",)
    roles: tuple[str, ...] = ("role", "roles")
    role_map: Mapping[str, tuple[str, ...]] | None = None
    authority: str | None = None
    authority_claim: tuple[str, ...] = ("authority",)
    name: tuple[str, ...] = ("name", "preferred_username")
    email: tuple[str, ...] = ("email",)
    team: tuple[str, ...] = ("team",)
    manager: tuple[str, ...] = ("manager",)
    #: the plugins' ``cpp_identity`` hook (firstresult), or None
    hook: Hook | None = field(default=None, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings, hook: Hook | None = None) -> ClaimMap:
        role_map = settings.setting("OIDC_ROLE_MAP")
        return cls(
            user=_names(settings, "OIDC_USER_CLAIM", "sub"),
            roles=_names(settings, "OIDC_ROLES_CLAIM", "role,roles"),
            role_map=parse_role_map(role_map) if role_map and role_map.strip() else None,
            authority=(settings.setting("OIDC_AUTHORITY") or "").strip() or None,
            authority_claim=_names(settings, "OIDC_AUTHORITY_CLAIM", "authority"),
            name=_names(settings, "OIDC_NAME_CLAIM", "name,preferred_username"),
            email=_names(settings, "OIDC_EMAIL_CLAIM", "email"),
            team=_names(settings, "OIDC_TEAM_CLAIM", "team"),
            manager=_names(settings, "OIDC_MANAGER_CLAIM", "manager"),
            hook=hook,
        )

    def _roles(self, claims: Mapping[str, Any]) -> tuple[str, ...]:
        found: list[str] = []
        for name in self.roles:
            value = claim(claims, name)
            values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
            for v in values:
                if not isinstance(v, str):
                    continue
                if self.role_map is not None:
                    found.extend(self.role_map.get(v, ()))
                elif v in ROLES:
                    found.append(v)
        return tuple(r for r in ROLES if r in found)

    def mapped(self, claims: Mapping[str, Any]) -> dict[str, Any]:
        """What the settings read from the claims (before the plugin hook and the checks)."""
        return {
            "user": _first_text(claims, self.user),
            "roles": list(self._roles(claims)),
            "authority": self.authority or _first_text(claims, self.authority_claim),
            "name": _first_text(claims, self.name),
            "email": _first_text(claims, self.email),
            "team": _first_text(claims, self.team),
            "manager": _first_text(claims, self.manager),
        }

    def identity(self, claims: Mapping[str, Any]) -> Identity:
        """Who the claims say the person is, or ClaimError."""
        seen = self.mapped(claims)
        if self.hook is not None:
            changed = self.hook(claims=dict(claims), identity=dict(seen))
            if changed is not None:
                if not isinstance(changed, Mapping) or set(changed) - set(seen):
                    raise ClaimError("the token could not be read", reason=f"cpp_identity returned {changed!r}"[:300])
                seen.update(changed)
        user = _text(seen.get("user"))
        if user is None:
            raise ClaimError("the token names no user", reason=f"none of the claims {', '.join(self.user)}")
        roles = seen.get("roles") or []
        if isinstance(roles, str):
            roles = [roles]
        roles = tuple(r for r in ROLES if r in roles)
        if not roles:
            raise ClaimError(
                f"the token holds none of the roles {', '.join(ROLES)}",
                reason=f"roles read from {', '.join(self.roles)}: "
                + repr([claim(claims, n) for n in self.roles])[:300],
            )
        if "partner" in roles and len(roles) > 1:
            raise ClaimError(
                "the token holds the partner role with a council staff role; a partner agency's "
                "account may hold the partner role alone",
                reason=f"roles {list(roles)}",
            )
        authority = _text(seen.get("authority"))
        if authority is None:
            raise ClaimError(
                "the token names no authority", reason=f"none of the claims {', '.join(self.authority_claim)}"
            )
        email = _text(seen.get("email"))
        return Identity(
            user=user,
            roles=roles,
            authority=authority,
            name=_text(seen.get("name")),
            email=email.lower() if email else None,
            team=_text(seen.get("team")),
            manager=_text(seen.get("manager")),
        )
