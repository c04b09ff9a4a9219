"""Openings: facts of a tenant and a measure ("on 2020-12-31 浙江省 had 1,500 品字标
enterprises", with its source), recorded because the registry started mid-plan (DESIGN.md 5).

An opening is not a fact of a plan: every plan, every ancestor's child table, the series, the
CSV and the dashboard read the same openings. `opening.recorded` events are stored on one
aggregate per tenant; `plan.opening_recorded` events stored before openings became tenant
facts are read as the same facts (the plan's indicator key names the measure).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from events.base import RegistryEvent
from events.fields import IsoDate, Text

MAX_OPENING = 10**9


class OpeningRecorded(RegistryEvent):
    """The value of a measure for a tenant's subtree on a date, from a source outside the
    registry (a statistical yearbook, a plan's own table)."""

    TYPE = "opening.recorded"

    tenant: str
    measure: str
    value: float
    on: dt.date
    source: str
    plan: str | None       # set when recorded through a plan's endpoint
    actor: dict


@dataclass(frozen=True)
class Opening:
    """One opening fact, whichever event recorded it."""

    tenant: str
    measure: str
    value: float
    on: dt.date
    source: str
    recorded_at: dt.datetime
    actor: dict
    plan: str | None = None
    position: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"tenant": self.tenant, "measure": self.measure, "value": _number(self.value),
                "on": self.on, "source": self.source or None, "plan": self.plan,
                "recorded_at": self.recorded_at, "recorded_by": self.actor,
                "position": self.position}


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


class OpeningBook:
    """Every opening, by (tenant, measure): the one in force on a date, and whether a tenant
    or any tenant below it has one at all."""

    def __init__(self, openings: Iterable[Opening], ancestors: dict[str, list[str]]) -> None:
        by_key: dict[tuple[str, str], list[Opening]] = defaultdict(list)
        # on the same date the later recorded opening corrects the earlier one
        for opening in sorted(openings, key=lambda o: (o.on, o.recorded_at, o.position)):
            by_key[(opening.tenant, opening.measure)].append(opening)
        self._by_key = dict(by_key)
        self._dates = {key: [o.on for o in found] for key, found in by_key.items()}
        # (tenant, measure) pairs whose subtree holds an opening: the fast path skips the rest
        self._in_subtree: set[tuple[str, str]] = set()
        for tenant, measure in by_key:
            for code in [tenant, *ancestors.get(tenant, [])]:
                self._in_subtree.add((code, measure))

    def all(self) -> list[Opening]:
        return [o for found in self._by_key.values() for o in found]

    def in_force(self, tenant: str, measure: str, day: dt.date) -> Opening | None:
        """The tenant's latest opening of the measure on or before `day`."""
        dates = self._dates.get((tenant, measure))
        if not dates:
            return None
        n = bisect.bisect_right(dates, day)
        return self._by_key[(tenant, measure)][n - 1] if n else None

    def has_any(self, tenant: str, measure: str) -> bool:
        return (tenant, measure) in self._by_key

    def in_subtree(self, tenant: str, measure: str) -> bool:
        """Whether the tenant or a tenant below it has an opening of the measure."""
        return (tenant, measure) in self._in_subtree


class RecordOpeningBody(Schema):
    """POST /v1/tenants/{code}/openings: the value of a measure for the tenant on a date."""

    measure = Text(max_length=120, required=True)
    value = fields.Float(required=True, allow_nan=False,
                         validate=validate.Range(min=0, max=MAX_OPENING))
    on = IsoDate(required=True)
    source = Text(max_length=1000, line_breaks=True, required=True)

    @validates_schema
    def _integral_counts(self, data, **kwargs):
        value = data.get("value")
        if value is not None and value != int(value):
            raise ValidationError("Counts are whole numbers.", "value")
