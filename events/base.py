"""Base classes of the stored events and the date transcoding they need."""

from __future__ import annotations

import datetime as dt
import functools
from functools import lru_cache
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import DomainEvent
from eventsourcing.persistence import Transcoding
from marshmallow import Schema


# The kinds of records (DESIGN.md 1), defined once; events/__init__ adds their STATES.
KINDS = ("certification", "standard", "award", "gi")


class DateAsISO(Transcoding):
    """Stores `datetime.date` values as ISO strings (the library has no date transcoding)."""

    type = dt.date
    name = "date_iso"

    def encode(self, obj: dt.date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> dt.date:
        return dt.date.fromisoformat(data)


@lru_cache(maxsize=None)
def _payload_fields(cls: type) -> tuple[str, ...]:
    return tuple(cls.Payload().fields)


class RecordEvent(DomainEvent):
    """A lifecycle event of one record, as posted in an envelope.

    `timestamp` is the registry's `recorded_at`; `originator_version` is the record's version.
    `tenant` is the tenant the record belonged to when the event was recorded.
    """

    TYPE: ClassVar[str] = ""
    KIND: ClassVar[str] = ""
    STATUS: ClassVar[str | None] = None  # the state the record is in after the event
    Payload: ClassVar[type[Schema]]

    envelope_id: UUID
    kind: str
    key: str
    tenant: str
    occurred_on: dt.date
    actor: dict

    @classmethod
    def payload_fields(cls) -> tuple[str, ...]:
        """The names of the `data` fields this type carries."""
        return _payload_fields(cls)

    def data(self) -> dict[str, Any]:
        """The event's `data` object as it appears on the wire (absent fields left out)."""
        return {
            name: value
            for name in self.payload_fields()
            if (value := getattr(self, name, None)) is not None
        }


@functools.cache
def schema_of(schema_class: type[Schema]) -> Schema:
    """One shared instance per schema class: building a marshmallow schema costs more than
    loading a small document with it, and loading keeps no state on the instance."""
    return schema_class()


class RegistryEvent(DomainEvent):
    """An event of the registry's own aggregates (tenants, principals, plans, receipts)."""

    TYPE: ClassVar[str] = ""
