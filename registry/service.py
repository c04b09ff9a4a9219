"""Use cases of records: scope, load, decide, save. HTTP, bulk import and CLI share them."""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, Sequence
from uuid import UUID

from events import EVENT_TYPES, KIND_SPECS, EnvelopeAccepted, RecordEvent, receipt_id, record_id
from events.envelope import Envelope
from events.store import EventLog, IntegrityError, Positioned
from events.wire import record_envelope
from registry.batch import check_batch, decide_all
from registry.clock import Clock
from registry.errors import (
    BatchRefused,
    EnvelopeAlreadyStored,
    EnvelopeIdReused,
    RecordNotFound,
    WriteContention,
)
from registry.records import Record
from tenants.directory import Directory
from tenants.errors import RegistryError
from tenants.scope import Scope

# Decisions redone after losing a race to a concurrent writer, with a jittered pause that
# grows each time (BACKOFF_SECONDS * 2**attempt at most), before answering WriteContention.
MAX_ATTEMPTS = 8
BACKOFF_SECONDS = 0.002


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


@dataclass(frozen=True)
class BatchReceipt:
    """What a batch answers: one receipt per envelope, in order."""

    receipts: list[Receipt]

    @property
    def replayed(self) -> bool:
        """True when the whole batch was a retry of stored envelopes (nothing new stored)."""
        return all(receipt.replayed for receipt in self.receipts)

    def as_json(self) -> dict[str, Any]:
        """The body of a batch answer: `{"results": [receipt, ...]}`."""
        return {"results": [receipt.as_json() for receipt in self.receipts]}


def _accepted(rid: UUID, fingerprint: str, scope: Scope, last: RecordEvent) -> EnvelopeAccepted:
    """The receipt aggregate of one envelope, pointing at the last event it records."""
    return EnvelopeAccepted(
        originator_id=rid, originator_version=1, timestamp=last.timestamp,
        fingerprint=fingerprint, principal_id=scope.principal.id,
        record_id=last.originator_id, kind=last.kind, key=last.key,
        version=last.originator_version)


def _only_new_records(envelopes: Sequence[Envelope], record_ids: list[UUID]) -> bool:
    """Whether every envelope is of a type that only creates a record, each a different
    one (such a write needs no state when nothing is stored under those ids)."""
    return (len(set(record_ids)) == len(record_ids)
            and all(EVENT_TYPES[envelope.type].only_creates() for envelope in envelopes))


def _receipt(envelope: Envelope, event: RecordEvent, position: int,
             replayed: bool = False) -> Receipt:
    return Receipt(id=envelope.id, type=event.TYPE, kind=event.kind, record=event.key,
                   tenant=event.tenant, version=event.originator_version, position=position,
                   recorded_at=event.timestamp, replayed=replayed)


class Registry:
    """Records events for records, and reads records back, always within a caller's scope."""

    def __init__(self, log: EventLog, directory: Directory, clock: Clock | None = None) -> None:
        self.log = log
        self.directory = directory
        self.clock = clock or Clock()

    # Writes ------------------------------------------------------------------------------

    def record(self, scope: Scope, envelope: Envelope) -> Receipt:
        """Store one lifecycle event (idempotent by envelope id)."""
        receipts, refusals = self._store(scope, [envelope])
        if refusals:
            raise refusals[0]
        return receipts[0]

    def record_batch(self, scope: Scope, envelopes: Sequence[Envelope]) -> BatchReceipt:
        """Store up to 1000 events in one transaction or none (idempotent per envelope)."""
        check_batch(envelopes)
        receipts, refusals = self._store(scope, envelopes)
        if refusals:
            raise BatchRefused(refusals, len(envelopes))
        return BatchReceipt(receipts)

    def _store(self, scope: Scope, envelopes: Sequence[Envelope]
               ) -> tuple[list[Receipt], dict[int, RegistryError]]:
        """Decide and append the envelopes atomically; or the refusal of each refused index."""
        fingerprints = [envelope.fingerprint() for envelope in envelopes]
        receipt_ids = [receipt_id(envelope.id) for envelope in envelopes]
        record_ids = [record_id(envelope.kind, envelope.key) for envelope in envelopes]
        ids = (fingerprints, receipt_ids, record_ids)
        if _only_new_records(envelopes, record_ids):
            # Types that only create a record are first decided without reading: as new
            # records under new envelope ids. If that holds, the insert succeeds, and it is
            # exactly what a read would have decided; if a record or a receipt exists, the
            # insert fails on its key. Either way, or if the decision refuses anything, the
            # envelopes are decided below on what is stored (a read saved per new record:
            # a round trip of every issuing post, issue 16).
            nothing = {aggregate: [] for aggregate in (*record_ids, *receipt_ids)}
            done = self._attempt(scope, envelopes, ids, nothing)
            if done is not None and not done[1]:
                return done
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                time.sleep(random.uniform(0, BACKOFF_SECONDS * 2 ** attempt))
            # Records and receipts come from one snapshot. A receipt commits atomically with
            # its record's event, so when a receipt is absent the records read cannot include
            # that event. (Reading them separately, the records must be read first.)
            snapshot = self.log.histories([*record_ids, *receipt_ids])
            done = self._attempt(scope, envelopes, ids, snapshot)
            if done is not None:
                return done
        raise WriteContention(MAX_ATTEMPTS)

    def _attempt(self, scope: Scope, envelopes: Sequence[Envelope],
                 ids: tuple[list[str], list[UUID], list[UUID]],
                 snapshot: dict[UUID, list[Positioned]]
                 ) -> tuple[list[Receipt], dict[int, RegistryError]] | None:
        """The envelopes decided on `snapshot` and appended: their receipts, the refusals,
        or None when the append lost a race (a record changed, an id was stored)."""
        fingerprints, receipt_ids, record_ids = ids
        prior = {i: snapshot[rid][0].event for i, rid in enumerate(receipt_ids)
                 if snapshot[rid]}
        stored, refusals = self._replay(scope, envelopes, fingerprints, prior, snapshot)
        if stored:
            return stored, {}
        records = {rid: Record.replay(snapshot[rid]) for rid in set(record_ids)}
        decided, refused = decide_all(scope, records, record_ids, envelopes, self.clock.now(),
                                      refusals)
        refusals.update(refused)
        if refusals:
            return [], dict(sorted(refusals.items()))
        events = [event for own in decided for event in own]
        receipts = [_accepted(rid, fingerprint, scope, own[-1])
                    for rid, fingerprint, own in zip(receipt_ids, fingerprints, decided)]
        try:
            positions = self.log.append(*events, *receipts)
        except IntegrityError:
            # A concurrent writer changed one of the records or stored one of these ids:
            # decide again on fresh state (a stale expected_version is then a 409, a
            # stored id a retry).
            return None
        ends = accumulate(len(own) for own in decided)
        return [_receipt(envelope, own[-1], positions[end - 1])
                for envelope, own, end in zip(envelopes, decided, ends)], {}

    def _replay(self, scope: Scope, envelopes: Sequence[Envelope], fingerprints: list[str],
                prior: dict[int, EnvelopeAccepted], snapshot: dict[UUID, list[Positioned]]
                ) -> tuple[list[Receipt], dict[int, RegistryError]]:
        """The original results when every envelope is a retry; else a 409 per stored index
        (none when nothing is stored)."""
        reused = {i: EnvelopeIdReused(str(envelopes[i].id)) for i, accepted in prior.items()
                  if accepted.fingerprint != fingerprints[i]
                  or accepted.principal_id != scope.principal.id}
        stored = {i: next(p for p in snapshot[accepted.record_id]
                          if p.event.originator_version == accepted.version)
                  for i, accepted in prior.items() if i not in reused}
        if not prior or reused or len(stored) < len(envelopes):
            return [], {**reused, **{i: EnvelopeAlreadyStored(str(envelopes[i].id), p.position)
                                     for i, p in stored.items()}}
        return [_receipt(envelope, stored[i].event, stored[i].position, replayed=True)
                for i, envelope in enumerate(envelopes)], {}

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
        lapse = KIND_SPECS[kind].lapse
        if lapse is not None:
            body["valid_until"] = record.attributes.get("valid_until")
            body["valid"] = body["status"] == "valid"
        return body


def event_envelope(positioned: Positioned) -> dict[str, Any]:
    """A stored record event as the wire envelope plus the registry's fields."""
    return record_envelope(positioned.position, positioned.event)


__all__ = ["EVENT_TYPES", "BatchReceipt", "Receipt", "Registry", "event_envelope"]
