"""The deployment's own words for the platform's terms (``cpp_terminology``).

A Guernsey social worker reads "section 35 enquiries", a Scottish one
"child protection planning meeting": pages never spell these terms out, they
ask ``term("enquiries")`` (in a template too), and the plugins in
``CPP_PLUGINS`` decide, later plugins overriding earlier ones key by key, as
the plans service merges them for a plan. A key no plugin gives falls back to
England's words.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from flask import current_app, has_app_context
from wtforms import Field, FieldList, FormField, SelectChoice

from cpp_shared.terminology import capital, with_defaults
from cpp_shared.terminology import said as said_in


def terminology() -> dict[str, str]:
    """The deployment's words; England's outside the app (a table of words read by a plain function)."""
    if not has_app_context():
        return with_defaults({})
    conf = current_app.extensions["cpp_web"]
    if "terminology" not in conf:
        from .views import plugins  # views imports this module: the plugins are views' to load

        conf["terminology"] = with_defaults(plugins().merged("cpp_terminology"))
    return conf["terminology"]


def term(key: str, *, start: bool = False) -> str:
    """The deployment's words for ``key``; ``start=True`` for the start of a sentence or a heading."""
    words = terminology().get(key) or key.replace("_", " ")
    return capital(words) if start else words


def said(key: str, *, start: bool = False) -> str:
    """A term once the subject is known: England's short form where the deployment's words are England's
    ("the conference", "the enquiries"), else the deployment's ("the child protection planning meeting")."""
    words = said_in(key, terminology())
    return capital(words) if start else words


class _Words(dict):
    """``{enquiries}`` as the deployment's words; ``{Enquiries}`` with a capital first letter; ``{conference}``
    any conference, as ``said`` says it ("the conference", "the child protection planning meeting")."""

    def __missing__(self, key: str) -> str:
        lower = key[:1].lower() + key[1:]
        if lower == "conference":
            return said(lower, start=key != lower)
        if lower in terminology():
            return term(lower, start=key != lower)
        return "{" + key + "}"


def fill(text: str) -> str:
    """Text with ``{enquiries}``-style places filled with the deployment's words."""
    return text.format_map(_Words()) if "{" in text else text


if TYPE_CHECKING:  # a mixin for forms: typed as the form it is mixed into
    from flask_wtf import FlaskForm as _Form
else:
    _Form = object


def _every_field(fields: Iterable[Field]) -> Iterator[Field]:
    """The fields, and those of their rows (a FieldList's entries, a FormField's form)."""
    for field in fields:
        yield field
        if isinstance(field, FieldList):
            yield from _every_field(field.entries)
        elif isinstance(field, FormField):
            yield from _every_field(field.form)


def fill_fields(fields: Iterable[Field]) -> None:
    """The fields' labels, hints and choices, and their rows', in the deployment's words (rows added after
    the form was made are filled with this)."""
    for field in _every_field(fields):
        field.label.text = fill(field.label.text)
        if isinstance(field.description, str):
            field.description = fill(field.description)
        choices = getattr(field, "choices", None)
        if choices and all(isinstance(c, SelectChoice) for c in choices):  # the class's list stays as written
            field.choices = [replace(c, label=fill(c.label)) for c in choices]


class Worded(_Form):
    """A form whose labels, hints, choices and error messages may name the
    platform's terms as ``{enquiries}``, ``{Initial_conference}`` and so on:
    they read in the deployment's words. Put it before FlaskForm in the bases."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        fill_fields(self)

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in _every_field(self):  # in place: a row's list of errors is shared with its FieldList's
            if isinstance(field.errors, list):
                field.errors[:] = [fill(e) if isinstance(e, str) else e for e in field.errors]
        return valid


class Phrases(dict):
    """A table of phrases that may name terms as ``{enquiries}``: each is read
    in the deployment's words when looked up (in a request)."""

    def __getitem__(self, key):
        return fill(super().__getitem__(key))

    def get(self, key, default=None):
        return self[key] if key in self else default
