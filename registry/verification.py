"""Public verification (issue 17): what anyone may learn about a record by its key — its
state today, holder name, product or title, standards, validity, the issuing body's name and
the dates its state changed; never reasons, actors' ids, internal ids, or a USCC beyond its
first 8 characters."""

from __future__ import annotations

import datetime as dt
from typing import Any

from events import KIND_SPECS, record_id
from events.store import EventLog
from registry.errors import RecordNotFound
from registry.records import Record

USCC_SHOWN = 8


def mask_uscc(uscc: str | None) -> str | None:
    """91330523********** : the registration region shows, the rest does not."""
    if not uscc:
        return None
    return uscc[:USCC_SHOWN] + "*" * (len(uscc) - USCC_SHOWN)


def public_view(log: EventLog, kind: str, key: str, today: dt.date) -> dict[str, Any]:
    """The public fields of a record and its state history as dates (404 for a voided or
    unknown record)."""
    history = log.history(record_id(kind, key))
    record = Record.replay(history)
    if record is None or record.voided:
        raise RecordNotFound(kind, key)
    spec = KIND_SPECS[kind]
    holder = record.holder() or {}
    states: list[dict[str, Any]] = []
    replayed: Record | None = None
    for positioned in history:
        event = positioned.event
        replayed = replayed or Record._start(event)
        before = replayed.status
        replayed.apply(event, positioned.position)
        if replayed.status != before:
            states.append({"on": event.occurred_on, "status": replayed.status})
    status = record.status_on(today)
    valid_until = record.attributes.get("valid_until")
    if spec.lapse and status == spec.lapse.to and record.status != status and valid_until:
        states.append({"on": valid_until + dt.timedelta(days=1), "status": status})
    return {
        "kind": kind, "record": record.key, "status": status, "checked_on": today,
        "holder_name": holder.get("name"), "holder_uscc": mask_uscc(holder.get("uscc")),
        "label": record.attributes.get(spec.label_field),
        "standards": list(record.attributes.get("standards") or []),
        "valid_until": valid_until, "level": record.attributes.get("level"),
        "issued_by": (history[0].event.actor or {}).get("name"),
        "history": states,
    }
