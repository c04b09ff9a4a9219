"""The projector's per-record state: the row of rm_records plus its timeline, evolved by
one event at a time (no checks: the events were checked when they were recorded)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable

from events import KIND_SPECS, RecordEvent
from events.kind import Kind
from projections.timeline import Step, Timeline


UTC = dt.timezone.utc


def _as_is(value: Any) -> Any:
    return value


def utc_naive(moment: dt.datetime) -> dt.datetime:
    """Timestamps are stored as naive UTC (SQLite has no time zones)."""
    zone = moment.tzinfo
    if zone is UTC:  # the library's own timestamps
        return moment.replace(tzinfo=None)
    if zone is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
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
    # What the events' fold (RecordEvent.apply) evolves besides status, tenant and voided:
    # the attributes the columns above are read from, and the items issued under the record.
    attributes: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    items: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def spec(self) -> Kind:
        return KIND_SPECS[self.kind]

    @classmethod
    def new(cls, event: RecordEvent) -> "RecordState":
        return cls(record_id=event.originator_id.hex, kind=event.kind, key=event.key,
                   tenant=event.tenant, created_on=event.occurred_on,
                   recorded_at=utc_naive(event.timestamp), timeline=Timeline(kind=event.kind))

    @classmethod
    def from_row(cls, row: Any) -> "RecordState":
        data = dict(row._mapping)
        timeline = Timeline.from_json(data.pop("timeline"))
        state = cls(**data, timeline=timeline, is_new=False)
        spec, attributes = state.spec, state.attributes
        if state.holder_uscc:
            attributes[spec.holder_field] = {"uscc": state.holder_uscc, "name": state.holder_name}
        for name, value in ((spec.label_field, state.label), ("valid_until", state.valid_until),
                            ("level", state.level), ("gi_type", state.gi_type)):
            if value is not None:
                attributes[name] = value
        state.items = {number: {"issued_on": dt.date.fromordinal(issued),
                                "withdrawn_on": withdrawn and dt.date.fromordinal(withdrawn)}
                       for number, (issued, withdrawn) in timeline.items.items()}
        return state

    # rm_records' columns (projections.tables), in the order of `values`
    COLUMNS = ("record_id", "kind", "key", "tenant", "status", "voided", "holder_uscc",
               "holder_name", "label", "valid_until", "level", "gi_type", "created_on",
               "last_occurred_on", "version", "position", "recorded_at", "updated_at",
               "timeline", "rows", "next_seq")

    def values(self, encode: Callable[[Any], Any] = _as_is) -> tuple:
        """The row of rm_records, in the order of COLUMNS, its JSON columns (the timeline
        and the open rows) passed through `encode`."""
        return (self.record_id, self.kind, self.key, self.tenant, self.status, self.voided,
                self.holder_uscc, self.holder_name, self.label, self.valid_until, self.level,
                self.gi_type, self.created_on, self.last_occurred_on, self.version,
                self.position, self.recorded_at, self.updated_at,
                encode(self.timeline.to_json()), encode(self.rows), self.next_seq)

    def to_row(self) -> dict[str, Any]:
        return dict(zip(self.COLUMNS, self.values()))

    def apply(self, event: RecordEvent, position: int) -> None:
        """Evolve by one event: the event's own fold, then the columns read from it."""
        event.apply(self)
        spec, attributes = KIND_SPECS[self.kind], self.attributes
        holder = attributes.get(spec.holder_field)
        if holder:
            self.holder_uscc, self.holder_name = holder["uscc"], holder["name"]
        self.label = attributes.get(spec.label_field)
        self.valid_until = attributes.get("valid_until")
        self.level = attributes.get("level")
        self.gi_type = attributes.get("gi_type")
        if self.items:
            self.timeline.items = {
                number: [item["issued_on"].toordinal(),
                         item["withdrawn_on"] and item["withdrawn_on"].toordinal()]
                for number, item in self.items.items()}
        self.holder_facts = None
        timeline = self.timeline
        timeline.changed()
        timeline.holder, timeline.voided = self.holder_uscc, self.voided
        occurred_on, valid_until = event.occurred_on, self.valid_until
        # Step(on, status, tenant, valid_until, level, gi_type)
        timeline.add_step(Step(occurred_on.toordinal(), self.status, self.tenant,
                               valid_until.toordinal() if valid_until else None,
                               self.level, self.gi_type))
        self.version = event.originator_version
        self.position = position
        self.last_occurred_on = occurred_on
        self.updated_at = utc_naive(event.timestamp)
