"""A record's state, folded from its events (applying an event never checks anything)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable
from uuid import UUID

from events import KIND_SPECS, RecordEvent


@dataclass
class Record:
    """The state of one record after some prefix of its history."""

    id: UUID
    kind: str
    key: str
    tenant: str
    status: str
    created_on: dt.date
    last_occurred_on: dt.date
    recorded_at: dt.datetime
    updated_at: dt.datetime
    version: int = 0
    position: int = 0
    voided: bool = False
    attributes: dict[str, Any] = field(default_factory=dict)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def replay(cls, history: Iterable[Any], as_of: dt.date | None = None,
               known_at: dt.datetime | None = None) -> Record | None:
        """Fold `Positioned` events; stop at business date `as_of` and recorded time `known_at`."""
        record: Record | None = None
        for positioned in history:
            event = positioned.event
            if as_of is not None and event.occurred_on > as_of:
                break
            if known_at is not None and event.timestamp > known_at:
                break
            if record is None:
                record = cls._start(event)
            record.apply(event, positioned.position)
        return record

    @classmethod
    def _start(cls, event: RecordEvent) -> Record:
        return cls(id=event.originator_id, kind=event.kind, key=event.key, tenant=event.tenant,
                   status="", created_on=event.occurred_on, last_occurred_on=event.occurred_on,
                   recorded_at=event.timestamp, updated_at=event.timestamp)

    def apply(self, event: RecordEvent, position: int = 0) -> None:
        """Evolve the state by one event (the event's own fold, RecordEvent.apply)."""
        event.apply(self)
        self.version = event.originator_version
        self.position = position
        self.last_occurred_on = event.occurred_on
        self.updated_at = event.timestamp

    def status_on(self, day: dt.date) -> str:
        """The state on a business date (a certificate lapses after valid_until)."""
        return KIND_SPECS[self.kind].status_on(self.status, self.attributes.get("valid_until"),
                                               day)

    def holder(self) -> dict | None:
        """The organisation the record is about (holder, lead, awardee or applicant)."""
        return self.attributes.get(KIND_SPECS[self.kind].holder_field)

    def as_json(self, day: dt.date) -> dict[str, Any]:
        """The record's state as served by GET /v1/records/{kind}/{key}."""
        body = {
            "kind": self.kind,
            "record": self.key,
            "tenant": self.tenant,
            "status": self.status_on(day),
            "voided": self.voided,
            "version": self.version,
            "position": self.position,
            "created_on": self.created_on,
            "last_occurred_on": self.last_occurred_on,
            "recorded_at": self.recorded_at,
            "updated_at": self.updated_at,
            "attributes": dict(self.attributes),
        }
        items = KIND_SPECS[self.kind].items
        if items is not None:
            body[f"{items.kind}s"] = [
                {**item, "held": item["withdrawn_on"] is None
                 and body["status"] in items.held_while and not self.voided}
                for item in self.items.values()
            ]
        return body
