"""The deployment's own words for the platform's terms (``cpp_terminology``).

A Guernsey social worker reads "section 35 enquiries", a Scottish one
"child protection planning meeting": pages never spell these terms out, they
ask ``term("enquiries")`` (in a template too), and the plugins in
``CPP_PLUGINS`` decide, later plugins overriding earlier ones key by key, as
the plans service merges them for a plan. A key no plugin gives falls back to
England's words.
"""
from __future__ import annotations

from flask import current_app

from cpp_shared.plugins import Plugins

DEFAULTS = {
    "initial_conference": "initial child protection conference",
    "review_conference": "review child protection conference",
    "enquiries": "section 47 enquiries",
    "plan": "child protection plan",
    "core_group": "core group",
    "register": "subject of a child protection plan",
}


def terminology() -> dict[str, str]:
    conf = current_app.extensions["cpp_web"]
    if "terminology" not in conf:
        merged = Plugins(conf["settings"].plugins).merged("cpp_terminology")
        conf["terminology"] = {**DEFAULTS, **{k: v for k, v in merged.items() if isinstance(v, str) and v}}
    return conf["terminology"]


def capital(text: str) -> str:
    """The first letter as a capital ("Section 47 enquiries"), the rest as the plugin wrote it."""
    return text[:1].upper() + text[1:]


def term(key: str, *, start: bool = False) -> str:
    """The deployment's words for ``key``; ``start=True`` for the start of a sentence or a heading."""
    words = terminology().get(key) or key.replace("_", " ")
    return capital(words) if start else words
