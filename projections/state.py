"""The projector's per-record state: the row of rm_records plus its timeline, evolved by
one event at a time (no checks: the events were checked when they were recorded)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from events import RecordEvent
from projections.timeline import Step, Timeline

HOLDER_FIELD = {"certification": "holder", "standard": "lead", "award": "awardee",
                "gi": "applicant"}
LABEL_FIELD = {"certification": "product", "standard": "title", "award": "title", "gi": "name"}


def utc_naive(moment: dt.datetime) -> dt.datetime:
    """Timestamps are stored as naive UTC (SQLite has no time zones)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment


@dataclass
class RecordState:
    """One record as the read model holds it."""

    record_id: str
    kind: str
    key: str
    tenant: str
    status: str = ""
    voided: bool = False
    holder_uscc: str | None = None
    holder_name: str | None = None
    label: str | None = None
    valid_until: dt.date | None = None
    level: str | None = None
    gi_type: str | None = None
    created_on: dt.date | None = None
    last_occurred_on: dt.date | None = None
    version: int = 0
    position: int = 0
    recorded_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    timeline: Timeline = field(default_factory=lambda: Timeline(kind=""))
    rows: list[list] = field(default_factory=list)  # [seq, tenant, metric, from, to]
    next_seq: int = 0
    is_new: bool = True
    # The record's facts per holder family, derived from the timeline (not stored).
    holder_facts: dict[str, tuple] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def new(cls, event: RecordEvent) -> "RecordState":
        return cls(record_id=event.originator_id.hex, kind=event.kind, key=event.key,
                   tenant=event.tenant, created_on=event.occurred_on,
                   recorded_at=utc_naive(event.timestamp), timeline=Timeline(kind=event.kind))

    @classmethod
    def from_row(cls, row: Any) -> "RecordState":
        data = dict(row._mapping)
        timeline = Timeline.from_json(data.pop("timeline"))
        return cls(**data, timeline=timeline, is_new=False)

    def to_row(self) -> dict[str, Any]:
        return {
            "record_id": self.record_id, "kind": self.kind, "key": self.key,
            "tenant": self.tenant, "status": self.status, "voided": self.voided,
            "holder_uscc": self.holder_uscc, "holder_name": self.holder_name,
            "label": self.label, "valid_until": self.valid_until, "level": self.level,
            "gi_type": self.gi_type, "created_on": self.created_on,
            "last_occurred_on": self.last_occurred_on, "version": self.version,
            "position": self.position, "recorded_at": self.recorded_at,
            "updated_at": self.updated_at, "timeline": self.timeline.to_json(),
            "rows": self.rows, "next_seq": self.next_seq,
        }

    def apply(self, event: RecordEvent, position: int) -> None:
        """Evolve by one event."""
        if event.STATUS is not None:
            self.status = event.STATUS
        holder = getattr(event, HOLDER_FIELD[self.kind], None)
        changes = getattr(event, "changes", None) or {}
        holder = changes.get(HOLDER_FIELD[self.kind], holder)
        if holder:
            self.holder_uscc, self.holder_name = holder["uscc"], holder["name"]
        label = changes.get(LABEL_FIELD[self.kind], getattr(event, LABEL_FIELD[self.kind], None))
        if label:
            self.label = label
        if getattr(event, "valid_until", None) is not None:
            self.valid_until = event.valid_until
        if getattr(event, "level", None) is not None:
            self.level = event.level
        if getattr(event, "gi_type", None) is not None:
            self.gi_type = event.gi_type
        if event.TYPE == "record.transferred":
            self.tenant = event.to_tenant
        elif event.TYPE == "record.voided":
            self.voided = True
        elif event.TYPE == "certification.international_issued":
            self.timeline.items[event.certificate_no] = [event.occurred_on.toordinal(), None]
        elif event.TYPE == "certification.international_withdrawn":
            self.timeline.items[event.certificate_no][1] = event.occurred_on.toordinal()
        self.holder_facts = None
        timeline = self.timeline
        timeline.changed()
        timeline.holder, timeline.voided = self.holder_uscc, self.voided
        timeline.add_step(Step(
            on=event.occurred_on.toordinal(), status=self.status, tenant=self.tenant,
            valid_until=self.valid_until.toordinal() if self.valid_until else None,
            level=self.level, gi_type=self.gi_type))
        self.version = event.originator_version
        self.position = position
        self.last_occurred_on = event.occurred_on
        self.updated_at = utc_naive(event.timestamp)
