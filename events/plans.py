"""Plans, their targets and opening balances: events and the shared read-only view."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from events.base import RegistryEvent
from events.fields import IsoDate, Text

COMPARATORS = ("=", ">=", "<=", "~")
COUNTINGS = ("cumulative", "new", "rate", "unspecified")


class PlanAdopted(RegistryEvent):
    """A plan with its indicators and the targets of its own tenant was adopted."""

    TYPE = "plan.adopted"

    plan_id: str
    tenant: str
    title: str
    title_en: str
    period_start: dt.date
    period_end: dt.date
    indicators: list
    source: dict
    actor: dict


class PlanTargetSet(RegistryEvent):
    """A tenant's target for one indicator of a plan was set or amended."""

    TYPE = "plan.target_set"

    plan_id: str
    tenant: str
    indicator: str
    target: dict
    baseline: dict | None
    reason: str
    actor: dict


class PlanOpeningRecorded(RegistryEvent):
    """An opening balance: the value of an indicator for a tenant on a date, recorded because
    the registry started mid-plan."""

    TYPE = "plan.opening_recorded"

    plan_id: str
    tenant: str
    indicator: str
    value: float
    on: dt.date
    note: str
    actor: dict


class PlanListed(RegistryEvent):
    """The catalogue of plans gained a plan (a small aggregate listing every plan id)."""

    TYPE = "plan.listed"

    plan_id: str
    tenant: str


class TargetSchema(Schema):
    """A target as written in a plan: a number (or null) with its comparator and raw text."""

    value = fields.Float(allow_none=True, required=True, allow_nan=False)
    comparator = Text(max_length=2, allow_none=True, validate=validate.OneOf(COMPARATORS))
    raw = Text(max_length=200, allow_none=True)
    year = fields.Integer(allow_none=True, strict=True)


class SetTargetBody(Schema):
    """POST /v1/plans/{id}/targets."""

    tenant = Text(max_length=6, required=True,
                  validate=validate.Regexp(r"^\d{6}$", error="Not a tenant code."))
    indicator = Text(max_length=120, required=True)
    target = fields.Nested(TargetSchema, required=True)
    reason = Text(max_length=1000, required=True)


class RecordOpeningBody(Schema):
    """POST /v1/plans/{id}/openings."""

    tenant = Text(max_length=6, required=True,
                  validate=validate.Regexp(r"^\d{6}$", error="Not a tenant code."))
    indicator = Text(max_length=120, required=True)
    value = fields.Float(required=True, allow_nan=False,
                         validate=validate.Range(min=0, max=10**9))
    on = IsoDate(required=True)
    note = Text(max_length=1000, load_default="")

    @validates_schema
    def _integral_counts(self, data, **kwargs):
        value = data.get("value")
        if value is not None and value != int(value):
            raise ValidationError("Counts are whole numbers.", "value")


@dataclass
class PlanView:
    """Everything known about one plan: what progress is computed from."""

    id: str
    tenant: str
    title: str
    title_en: str
    period_start: dt.date
    period_end: dt.date
    indicators: list[dict[str, Any]]
    source: dict[str, Any] = field(default_factory=dict)
    targets: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    openings: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    version: int = 0

    def indicator(self, key: str) -> dict[str, Any] | None:
        return next((i for i in self.indicators if i["key"] == key), None)

    def target_for(self, tenant: str, key: str) -> dict[str, Any] | None:
        return self.targets.get((tenant, key))

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "tenant": self.tenant, "title": self.title,
                "title_en": self.title_en,
                "period": {"start": self.period_start, "end": self.period_end},
                "indicators": len(self.indicators), "version": self.version}

    def apply(self, event: Any) -> None:
        """Evolve the view by one plan event."""
        if isinstance(event, PlanAdopted):
            self.tenant, self.title, self.title_en = event.tenant, event.title, event.title_en
            self.period_start, self.period_end = event.period_start, event.period_end
            self.indicators = [dict(i) for i in event.indicators]
            self.source = dict(event.source)
            for indicator in self.indicators:
                self.targets[(event.tenant, indicator["key"])] = {
                    **indicator["target"], "baseline": indicator.get("baseline"),
                    "set_by": event.actor, "set_at": event.timestamp}
        elif isinstance(event, PlanTargetSet):
            self.targets[(event.tenant, event.indicator)] = {
                **event.target, "baseline": event.baseline, "set_by": event.actor,
                "set_at": event.timestamp, "reason": event.reason}
        elif isinstance(event, PlanOpeningRecorded):
            self.openings[(event.tenant, event.indicator)] = {
                "value": event.value, "on": event.on, "note": event.note,
                "recorded_by": event.actor, "recorded_at": event.timestamp}
        self.version = event.originator_version

    @classmethod
    def replay(cls, events: list[Any]) -> "PlanView | None":
        if not events or not isinstance(events[0], PlanAdopted):
            return None
        first = events[0]
        view = cls(first.plan_id, first.tenant, first.title, first.title_en,
                   first.period_start, first.period_end, [])
        for event in events:
            view.apply(event)
        return view
