"""Query parameters, declared once: marshmallow fields that parse them (webargs) and that
apispec turns into the OpenAPI parameters of the route that declares them (api.apidoc).

Every field refuses with the message a client needs; an empty value means "not given",
except where `empty_ok=False` says an empty value is an error (it is not "now").
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields

from registry.clock import SHANGHAI

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EARLIEST_TIME = dt.datetime(1990, 1, 1, tzinfo=dt.timezone.utc)
LATEST_TIME = dt.datetime(2100, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc)
DATE_MESSAGE = "Not a valid date (expected YYYY-MM-DD)."


class _Param(fields.Field):
    """A query parameter: absent or empty is None (load_default), unless `empty_ok` False."""

    def __init__(self, description: str = "", empty_ok: bool = True, **kwargs: Any) -> None:
        if not kwargs.get("required"):
            kwargs.setdefault("load_default", None)
        super().__init__(metadata={"description": description}, **kwargs)
        self.empty_ok = empty_ok

    def deserialize(self, value: Any, attr: str | None = None, data: Any = None,
                    **kwargs: Any) -> Any:
        if value == "":
            if not self.empty_ok:
                raise ValidationError("May not be empty: give a value or leave the parameter "
                                      "out.")
            return self.load_default
        return super().deserialize(value, attr, data, **kwargs)


class QDate(_Param):
    """A business date, YYYY-MM-DD."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> dt.date:
        if not isinstance(value, str) or not _DATE.match(value):
            raise ValidationError(DATE_MESSAGE)
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValidationError(DATE_MESSAGE) from None


class QTime(_Param):
    """An ISO 8601 time with an offset (or Z), in UTC; a bare date means the end of that
    day in Asia/Shanghai."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> dt.datetime:
        if _DATE.match(value):
            day = QDate()._deserialize(value, attr, data)
            end = dt.datetime.combine(day, dt.time(23, 59, 59, 999999), tzinfo=SHANGHAI)
            return end.astimezone(dt.timezone.utc)
        try:
            stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "+"))
        except ValueError:
            raise ValidationError("Not a valid timestamp (ISO 8601 with an offset, e.g. "
                                  "2026-03-01T00:00:00Z).") from None
        if stamp.tzinfo is None:
            raise ValidationError("Give a time zone offset or Z (e.g. "
                                  "2026-03-01T08:00:00+08:00).")
        try:
            utc = stamp.astimezone(dt.timezone.utc)
        except OverflowError:
            utc = None
        if utc is None or not EARLIEST_TIME <= utc <= LATEST_TIME:
            raise ValidationError(f"Must be between {EARLIEST_TIME:%Y-%m-%d} and "
                                  f"{LATEST_TIME:%Y-%m-%d} (UTC).")
        return utc


class QText(_Param):
    """Text of bounded length, optionally one of `choices` or matching `pattern`."""

    def __init__(self, description: str = "", max_length: int = 200,
                 choices: tuple[str, ...] | None = None, pattern: str | None = None,
                 min_length: int = 0, **kwargs: Any) -> None:
        super().__init__(description, **kwargs)
        self.max_length, self.choices, self.min_length = max_length, choices, min_length
        self.pattern = pattern

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        if len(value) > self.max_length:
            raise ValidationError(f"Longer than {self.max_length} characters.")
        if self.choices is not None and value not in self.choices:
            raise ValidationError(f"Must be one of {', '.join(self.choices)}.")
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            raise ValidationError(f"Does not match {self.pattern}.")
        if len(value) < self.min_length:
            raise ValidationError(f"Give at least {self.min_length} characters.")
        return value


class QInt(_Param):
    """A whole number within [minimum, maximum]."""

    def __init__(self, description: str = "", minimum: int = 0, maximum: int = 2**62,
                 **kwargs: Any) -> None:
        super().__init__(description, **kwargs)
        self.minimum, self.maximum = minimum, maximum

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if not re.fullmatch(r"-?\d{1,12}", value):
            raise ValidationError("Not a valid integer.")
        number = int(value)
        if not self.minimum <= number <= self.maximum:
            raise ValidationError(f"Must be between {self.minimum} and {self.maximum}.")
        return number


class QFlag(_Param):
    """`true` turns the option on; anything else leaves it off."""

    def __init__(self, description: str = "", **kwargs: Any) -> None:
        super().__init__(description, load_default=False, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        return value == "true"


class QuerySchema(Schema):
    """The query parameters of one route; parameters it does not name are ignored."""

    class Meta:
        unknown = EXCLUDE


class Projected(QuerySchema):
    """Routes served from the projections: read-your-writes with min_position."""

    min_position = QInt("Read-your-writes: wait (up to 5 s) until the projections reflect "
                        "this position, else 503 with Retry-After.")


def openapi_attributes(self, field: fields.Field, **kwargs: Any) -> dict[str, Any]:
    """apispec: the OpenAPI schema of the query fields above."""
    types = {QDate: ("string", "date"), QTime: ("string", "date-time"),
             QInt: ("integer", None), QFlag: ("boolean", None), QText: ("string", None)}
    found = next((t for cls, t in types.items() if isinstance(field, cls)), None)
    if found is None:
        return {}
    kind, fmt = found
    schema: dict[str, Any] = {"type": kind}
    if fmt:
        schema["format"] = fmt
    if isinstance(field, QInt):
        schema.update(minimum=field.minimum, maximum=field.maximum)
    if isinstance(field, QText):
        schema["maxLength"] = field.max_length
        if field.min_length:
            schema["minLength"] = field.min_length
        if field.choices is not None:
            schema["enum"] = list(field.choices)
        if field.pattern:
            schema["pattern"] = field.pattern
    return schema
