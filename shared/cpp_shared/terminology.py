"""The deployment's own words for the platform's terms (``cpp_terminology``).

A Welsh social worker reads "care and support protection plan", a Scottish
one "child protection planning meeting": every service that writes for a
person asks the deployment's terms, the plugins' answers merged in
CPP_PLUGINS order, key by key. A key no plugin gives falls back to
England's words (``DEFAULTS``).
"""

from __future__ import annotations

from typing import Any

DEFAULTS = {
    "initial_conference": "initial child protection conference",
    "review_conference": "review child protection conference",
    "pre_birth_conference": "pre-birth child protection conference",
    "transfer_in_conference": "transfer-in child protection conference",
    "enquiries": "section 47 enquiries",
    "plan": "child protection plan",
    "core_group": "core group",
    "register": "subject of a child protection plan",
    "categories": "categories of harm",
}


def with_defaults(merged: dict[str, Any] | None) -> dict[str, str]:
    """The merged answers of ``cpp_terminology`` over England's words; an empty or non-text answer is ignored."""
    return {**DEFAULTS, **{k: v for k, v in (merged or {}).items() if isinstance(v, str) and v}}


def terminology(plugins: Any) -> dict[str, str]:
    """The deployment's words: its plugins' (a ``cpp_shared.plugins.Plugins``) over England's."""
    return with_defaults(plugins.merged("cpp_terminology"))


def capital(text: str) -> str:
    """The first letter as a capital ("Section 47 enquiries"), the rest as the plugin wrote it."""
    return text[:1].upper() + text[1:]


def conference(terms: dict[str, str]) -> str:
    """Any conference, in the deployment's words: the initial one's without "initial" ("child protection
    conference", "child protection planning meeting")."""
    return (terms.get("initial_conference") or DEFAULTS["initial_conference"]).removeprefix("initial ")


# England's words as they are said once the subject is known ("the initial conference", "the enquiries"): a
# term whose deployment's words are England's is said so; a deployment's own words are always said in full.
SHORT = {
    "initial_conference": "initial conference",
    "review_conference": "review conference",
    "pre_birth_conference": "pre-birth conference",
    "transfer_in_conference": "transfer-in conference",
    "conference": "conference",
    "enquiries": "enquiries",
    "plan": "plan",
    "core_group": "core group",
}


def said(key: str, terms: dict[str, str] | None = None) -> str:
    """A term as a rule or a list says it: England's short form where the deployment's words are England's
    ("review conference"), else the deployment's ("review child protection planning meeting")."""
    terms = {**DEFAULTS, **(terms or {})}
    words = conference(terms) if key == "conference" else terms.get(key) or key.replace("_", " ")
    england = conference(DEFAULTS) if key == "conference" else DEFAULTS.get(key)
    return SHORT[key] if key in SHORT and words == england else words


class _Places(dict):
    """``{plan}`` as the deployment's words, ``{Plan}`` with a capital; ``{conference}`` any conference;
    a place that is no term is left as written."""

    def __init__(self, terms: dict[str, str], values: dict[str, Any]):
        super().__init__(values)
        self.terms = {**DEFAULTS, **terms, "conference": conference(terms)}

    def __missing__(self, key: str) -> str:
        lower = key[:1].lower() + key[1:]
        if lower in self.terms:
            return capital(self.terms[lower]) if key != lower else self.terms[lower]
        return "{" + key + "}"


def fill(text: str, terms: dict[str, str], **values: Any) -> str:
    """Text with ``{plan}``-style places filled with the deployment's words and ``values`` (``{name}``)."""
    return text.format_map(_Places(terms, values)) if "{" in text else text
