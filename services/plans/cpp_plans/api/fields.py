"""Marshmallow fields the plans API's schemas share."""

from __future__ import annotations

import re
from datetime import date, datetime

from marshmallow import fields


class IsoDate(fields.Date):
    """A calendar date written ``YYYY-MM-DD`` exactly (``date.fromisoformat``
    alone would also take ``20261123`` or a week date); a ``date`` object (not
    a ``datetime``) is taken as it is."""

    _FORMAT = re.compile(r"\d{4}-\d{2}-\d{2}")

    def _deserialize(self, value, attr, data, **kwargs) -> date:
        if isinstance(value, datetime):
            raise self.make_error("invalid")
        if isinstance(value, date):
            return value
        if not isinstance(value, str) or not self._FORMAT.fullmatch(value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        # The store keeps dates as ISO text; a date object is written as one.
        if isinstance(value, str):
            return value
        return super()._serialize(value, attr, obj, **kwargs)


class StrictBoolean(fields.Boolean):
    """JSON true or false only (marshmallow's Boolean also takes "yes", 1, "on"...)."""

    def _deserialize(self, value, attr, data, **kwargs) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value
