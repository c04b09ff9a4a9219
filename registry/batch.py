"""Deciding a batch: every envelope in order, each against the state the earlier ones leave."""

from __future__ import annotations

import datetime as dt
from typing import Container, Sequence
from uuid import UUID

from events import RecordEvent
from events.envelope import Envelope
from events.store import Positioned
from registry.decisions import decide
from registry.errors import BatchRefused, BatchTooLarge
from registry.records import Record
from tenants.errors import InvalidInput, RegistryError
from tenants.scope import Scope

MAX_BATCH = 1000


def check_batch(envelopes: Sequence[Envelope]) -> None:
    """Refuse an empty or oversized batch, and one that uses an id twice (422 naming both)."""
    if not envelopes:
        raise InvalidInput({"events": ["Send at least one envelope."]})
    if len(envelopes) > MAX_BATCH:
        raise BatchTooLarge(len(envelopes), MAX_BATCH)
    duplicates = duplicate_ids([envelope.id for envelope in envelopes])
    if duplicates:
        raise BatchRefused({i: InvalidInput(errors) for i, errors in duplicates.items()},
                           len(envelopes))


def duplicate_ids(ids: Sequence[UUID | None]) -> dict[int, dict[str, list[str]]]:
    """Field errors for every index whose id appears more than once (None: id unknown)."""
    seen: dict[UUID, list[int]] = {}
    for index, envelope_id in enumerate(ids):
        if envelope_id is not None:
            seen.setdefault(envelope_id, []).append(index)
    errors: dict[int, dict[str, list[str]]] = {}
    for indexes in seen.values():
        for index in indexes if len(indexes) > 1 else ():
            others = ", ".join(str(i) for i in indexes if i != index)
            errors[index] = {"id": [f"The same id is used at index {others} of this batch."]}
    return errors


def decide_all(scope: Scope, records: dict[UUID, Record | None], record_ids: Sequence[UUID],
               envelopes: Sequence[Envelope], now: dt.datetime,
               refused: Container[int] = ()
               ) -> tuple[list[list[RecordEvent]], dict[int, RegistryError]]:
    """The events of each envelope, and the refusal of each envelope that is refused.

    Each envelope is decided against `records` as evolved by the earlier envelopes that were
    accepted; a refused one (or one of the indexes `refused` already) leaves the state as it
    was. So the refusals are exactly those a resubmission without the refused envelopes
    would get. `records` is evolved in place.
    """
    decided: list[list[RecordEvent]] = []
    refusals: dict[int, RegistryError] = {}
    for index, (envelope, rid) in enumerate(zip(envelopes, record_ids)):
        if index in refused:
            decided.append([])
            continue
        try:
            events = decide(scope, records.get(rid), envelope, now)
        except RegistryError as refusal:
            refusals[index] = refusal
            decided.append([])
            continue
        for event in events:
            records[rid] = _evolve(records.get(rid), event)
        decided.append(events)
    return decided, refusals


def _evolve(record: Record | None, event: RecordEvent) -> Record:
    """The state after one more event (its position is not known before it is stored)."""
    if record is None:
        return Record.replay([Positioned(0, event)])
    record.apply(event)
    return record
