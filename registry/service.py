"""Use cases of records: scope, load, decide, save. HTTP, bulk import and CLI share them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from events import EVENT_TYPES, EnvelopeAccepted, receipt_id, record_id
from events.envelope import Envelope
from events.store import EventLog, IntegrityError, Positioned
from events.wire import record_envelope
from registry.clock import Clock
from registry.decisions import decide
from registry.errors import EnvelopeIdReused, RecordNotFound, VersionConflict
from registry.records import Record
from tenants.directory import Directory
from tenants.errors import Conflict
from tenants.scope import Scope

MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Receipt:
    """What a write answers: where the event landed. `replayed` is True for a retry."""

    id: UUID
    type: str
    kind: str
    record: str
    tenant: str
    version: int
    position: int
    recorded_at: dt.datetime
    replayed: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"id": str(self.id), "type": self.type, "kind": self.kind, "record": self.record,
                "tenant": self.tenant, "version": self.version, "position": self.position,
                "recorded_at": self.recorded_at}


class Registry:
    """Records events for records, and reads records back, always within a caller's scope."""

    def __init__(self, log: EventLog, directory: Directory, clock: Clock | None = None) -> None:
        self.log = log
        self.directory = directory
        self.clock = clock or Clock()

    # Writes ------------------------------------------------------------------------------

    def record(self, scope: Scope, envelope: Envelope) -> Receipt:
        """Store one lifecycle event (idempotent by envelope id)."""
        fingerprint = envelope.fingerprint()
        rid = receipt_id(envelope.id)
        for _ in range(MAX_ATTEMPTS):
            # Read the record before the receipt: the receipt commits atomically with the
            # record's event, so when it is absent the record read cannot include that event.
            record = self._load(envelope.kind, envelope.key)
            prior = self.log.history(rid)
            if prior:
                return self._replay(prior[0].event, fingerprint, scope, envelope)
            events = decide(scope, record, envelope, self.clock.now(), self.clock.today())
            last = events[-1]
            receipt = EnvelopeAccepted(
                originator_id=rid, originator_version=1, timestamp=last.timestamp,
                fingerprint=fingerprint, principal_id=scope.principal.id,
                record_id=last.originator_id, kind=last.kind, key=last.key,
                version=last.originator_version)
            try:
                positions = self.log.append(*events, receipt)
            except IntegrityError:
                if envelope.expected_version is not None and not self.log.history(rid):
                    current = self._load(envelope.kind, envelope.key)
                    raise VersionConflict(envelope.kind, envelope.key, envelope.expected_version,
                                          current.version if current else 0) from None
                continue  # a concurrent write won the race: decide again on fresh state
            return Receipt(id=envelope.id, type=envelope.type, kind=last.kind, record=last.key,
                           tenant=last.tenant, version=last.originator_version,
                           position=positions[len(events) - 1], recorded_at=last.timestamp)
        raise Conflict("The record is being changed by other writers; retry the request.")

    def _replay(self, accepted: EnvelopeAccepted, fingerprint: str, scope: Scope,
                envelope: Envelope) -> Receipt:
        if accepted.fingerprint != fingerprint or accepted.principal_id != scope.principal.id:
            raise EnvelopeIdReused(str(envelope.id))
        stored = next(p for p in self.log.history(accepted.record_id)
                      if p.event.originator_version == accepted.version)
        event = stored.event
        return Receipt(id=envelope.id, type=event.TYPE, kind=event.kind, record=event.key,
                       tenant=event.tenant, version=accepted.version, position=stored.position,
                       recorded_at=event.timestamp, replayed=True)

    # Reads -------------------------------------------------------------------------------

    def _load(self, kind: str, key: str, as_of: dt.date | None = None,
              known_at: dt.datetime | None = None) -> Record | None:
        return Record.replay(self.log.history(record_id(kind, key)), as_of, known_at)

    def _visible_history(self, scope: Scope, kind: str, key: str) -> list[Positioned]:
        history = self.log.history(record_id(kind, key))
        if not history:
            raise RecordNotFound(kind, key)
        current = Record.replay(history)
        # Scope is judged on the record's tenant now: a transferred record follows its holder.
        if current is None or not scope.can_read(current.tenant, kind):
            raise RecordNotFound(kind, key)
        return history

    def get_record(self, scope: Scope, kind: str, key: str, as_of: dt.date | None = None,
                   known_at: dt.datetime | None = None) -> dict[str, Any]:
        """A record's state now, on a business date, or as the registry knew it at a time."""
        history = self._visible_history(scope, kind, key)
        record = Record.replay(history, as_of, known_at)
        if record is None:
            raise RecordNotFound(kind, key)
        day = as_of or self.clock.today()
        body = record.as_json(day)
        body["as_of"] = day
        body["known_at"] = known_at
        return body

    def get_history(self, scope: Scope, kind: str, key: str) -> list[Positioned]:
        """The record's full history in version order."""
        return self._visible_history(scope, kind, key)

    def public_record(self, kind: str, key: str) -> dict[str, Any]:
        """Public verification: state, holder name and validity, nothing else."""
        record = self._load(kind, key)
        if record is None or record.voided:
            raise RecordNotFound(kind, key)
        today = self.clock.today()
        holder = record.holder() or {}
        body = {"kind": kind, "record": record.key, "status": record.status_on(today),
                "holder_name": holder.get("name"), "checked_on": today}
        if kind == "certification":
            body["valid_until"] = record.attributes.get("valid_until")
            body["valid"] = body["status"] == "valid"
        return body


def event_envelope(positioned: Positioned) -> dict[str, Any]:
    """A stored record event as the wire envelope plus the registry's fields."""
    return record_envelope(positioned.position, positioned.event)


__all__ = ["EVENT_TYPES", "Receipt", "Registry", "event_envelope"]
