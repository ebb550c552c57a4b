"""Lists answered a page at a time: the query's ``page`` and ``page_size``, and the answer's shape."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class Paging(Schema):
    """The base of a list's query schema: ``page`` (from 1) and ``page_size`` (20, at most 100)."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class LongPaging(Schema):
    """The base of a long list's query schema (logs, deliveries, an inbox, deadlines): ``page`` (from 1) and
    ``page_size`` (50, at most 200)."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class Page(Schema):
    """The base of a list's answer: a subclass names its ``items``; the page, its size and the total count."""

    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()
