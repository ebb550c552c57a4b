"""Lists answered a page at a time: the query's ``page`` and ``page_size``, and the answer's shape."""
from __future__ import annotations

from marshmallow import Schema, fields, validate


def paged(default: int = 20, most: int = 100, pages: int = 10_000) -> type[Schema]:
    """The base of a list's query schema: ``page`` (from 1) and ``page_size`` (``default``, at most ``most``)."""

    class Paging(Schema):
        page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=pages))
        page_size = fields.Integer(load_default=default, validate=validate.Range(min=1, max=most))

    return Paging


class Page(Schema):
    """The base of a list's answer: a subclass names its ``items``; the page, its size and the total count."""

    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()
