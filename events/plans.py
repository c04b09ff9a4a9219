"""Plans, their targets and opening balances: events and the shared read-only view."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from events.base import RegistryEvent
from events.fields import IsoDate, Text
from events.openings import Opening

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


class PlanRevised(RegistryEvent):
    """The plan's document changed (a corrected seed file): its indicators, with their
    counting, baselines and printed targets, replace the earlier ones."""

    TYPE = "plan.revised"

    plan_id: str
    tenant: str
    title: str
    title_en: str
    period_start: dt.date
    period_end: dt.date
    indicators: list
    source: dict
    actor: dict


class PlanOpeningRecorded(RegistryEvent):
    """An opening balance recorded under a plan (stored before openings became facts of a
    tenant and a measure, events.openings; read as the same fact, the indicator key naming
    the measure). No longer written."""

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
    per = Text(max_length=8, allow_none=True, validate=validate.OneOf(["year"]),
               metadata={"description": "'year': the target holds for each single year and is "
                                        "compared with that year's count"})


class SetTargetBody(Schema):
    """POST /v1/plans/{id}/targets."""

    tenant = Text(max_length=6, required=True,
                  validate=validate.Regexp(r"^\d{6}$", error="Not a tenant code."))
    indicator = Text(max_length=120, required=True)
    target = fields.Nested(TargetSchema, required=True)
    reason = Text(max_length=1000, line_breaks=True, required=True)


class PlanOpeningBody(Schema):
    """POST /v1/plans/{id}/openings: an opening of the measure the plan's indicator names
    (the same fact as POST /v1/tenants/{code}/openings; `note` is its source)."""

    tenant = Text(max_length=6, required=True,
                  validate=validate.Regexp(r"^\d{6}$", error="Not a tenant code."))
    indicator = Text(max_length=120, required=True)
    value = fields.Float(required=True, allow_nan=False,
                         validate=validate.Range(min=0, max=10**9))
    on = IsoDate(required=True)
    note = Text(max_length=1000, line_breaks=True, load_default="")

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
    openings: list[Opening] = field(default_factory=list)  # plan.opening_recorded, as facts
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
        if isinstance(event, (PlanAdopted, PlanRevised)):
            before = {i["key"]: (i.get("target"), i.get("baseline")) for i in self.indicators}
            if isinstance(event, PlanAdopted):
                self.tenant = event.tenant
            self.title, self.title_en = event.title, event.title_en
            self.period_start, self.period_end = event.period_start, event.period_end
            self.indicators = [dict(i) for i in event.indicators]
            self.source = dict(event.source)
            for indicator in self.indicators:
                printed = (indicator.get("target"), indicator.get("baseline"))
                if before.get(indicator["key"]) == printed:
                    continue  # a target amended since stays
                self.targets[(self.tenant, indicator["key"])] = {
                    **indicator["target"], "baseline": indicator.get("baseline"),
                    "set_by": event.actor, "set_at": event.timestamp}
        elif isinstance(event, PlanTargetSet):
            self.targets[(event.tenant, event.indicator)] = {
                **event.target, "baseline": event.baseline, "set_by": event.actor,
                "set_at": event.timestamp, "reason": event.reason}
        elif isinstance(event, PlanOpeningRecorded):
            self.openings.append(Opening(
                tenant=event.tenant, measure=event.indicator, value=event.value, on=event.on,
                source=event.note, recorded_at=event.timestamp, actor=event.actor,
                plan=self.id))
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
