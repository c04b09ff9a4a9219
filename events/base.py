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

from events.kind import ANY, NEW


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

    A type declares its rules here: the states it may be posted from (SOURCES: NEW creates
    the record, ANY is every state but voided), the state it leads to (STATUS, None:
    unchanged), its payload schema, the data it needs when it creates the record, its
    labels, the checks against the record's state (`check`) and the fold (`apply`).
    """

    TYPE: ClassVar[str] = ""
    KIND: ClassVar[str] = ""
    STATUS: ClassVar[str | None] = None  # the state the record is in after the event
    SOURCES: ClassVar[frozenset[str]] = frozenset()
    REQUIRED_WHEN_NEW: ClassVar[tuple[str, ...]] = ()
    LABEL: ClassVar[tuple[str, str]] = ("", "")  # (中文, English)
    # The payload fields the record keeps as attributes (None: all of them).
    ATTRIBUTES: ClassVar[tuple[str, ...] | None] = None
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

    @classmethod
    def creates(cls) -> bool:
        return NEW in cls.SOURCES

    @classmethod
    def only_creates(cls) -> bool:
        return cls.SOURCES == frozenset({NEW})

    @classmethod
    def allowed_in(cls, state: str) -> bool:
        """Whether the type may be posted while a record is in `state` (never once voided)."""
        return state != "voided" and (ANY in cls.SOURCES or state in cls.SOURCES)

    @classmethod
    def check_payload(cls, data: dict[str, Any], occurred_on: dt.date | None,
                      kind: str | None) -> dict[str, list[str]]:
        """Checks of the envelope's data alone, before the record is read: field ->
        messages (none by default). May complete `data` in place."""
        return {}

    @classmethod
    def check(cls, record: Any, data: dict[str, Any], occurred_on: dt.date) -> None:
        """Refuse the event (events.kind.RuleBroken) if its data contradicts the record's
        state; the lifecycle and scope are checked before (registry.decisions)."""

    def apply(self, record: Any) -> None:
        """The fold: evolve a record's state (`status`, `tenant`, `voided`, `attributes`,
        `items`) by this event. The write side (registry.records) and the projections
        (projections.state) both fold with it; it never checks anything."""
        if self.STATUS is not None:
            record.status = self.STATUS
        names = self.payload_fields() if self.ATTRIBUTES is None else self.ATTRIBUTES
        attributes = record.attributes
        for name in names:
            value = getattr(self, name, None)
            if value is not None:
                attributes[name] = value

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
