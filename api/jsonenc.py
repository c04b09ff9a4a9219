"""JSON for the wire: ISO dates, UTC timestamps with Z, UUIDs as strings, UTF-8 text."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from flask.json.provider import DefaultJSONProvider

from events.wire import wire_time


def wire_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return wire_time(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serialisable")


class WireJSONProvider(DefaultJSONProvider):
    ensure_ascii = False
    sort_keys = False
    default = staticmethod(wire_default)
