"""The value of a measure for a tenant on a date, with openings (DESIGN.md 5).

One function of (tenant, measure, counting, period, date): every plan, child table, series and
export calls it, so the same question has one answer everywhere.

- cumulative: the tenant's opening in force (value v on d0) plus what the registry counted
  since d0; without one, the registry's count of the subtree plus, for each nearest tenant
  below with an opening in force, that opening's adjustment (v minus the registry's count
  on d0). Only openings dated after the date: unknown (`before_opening`), never a number
  projected backwards.
- new (新增) over a period: the units first reached within the period, plus the change of
  the openings' adjustments since the eve of the period. When the eve is before every
  opening, the stock a plan of the tenant prints for the end of the year before the period
  serves (value at the date minus that stock); without one the value is unknown
  (`no_stock_at_period_start`). A unit first reached before the period and revoked in it
  does not lower a new count.

Registry counts are read in two passes: the computation first runs against a recorder that
notes every (tenant, metric, day) it needs, then again against the values read with one
query per day. Only openings and dates steer the computation, never the counts, so both
passes take the same path.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable

from events.openings import Opening, OpeningBook
from events.plans import PlanView
from projections.families import FamilySet
from projections.queries import ReadModels
from tenants.tree import TenantTree

BEFORE_OPENING = "before_opening"
NO_STOCK = "no_stock_at_period_start"
EARLIEST_YEAR = 1990
ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Counting:
    """How an indicator counts: the measure, its cumulative form (`ever`, `held`), and for a
    new count the period it counts within."""

    measure: str
    form: str
    period: tuple[dt.date, dt.date] | None = None

    @property
    def name(self) -> str:
        return "cumulative" if self.period is None else "new"

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"measure": self.measure, "counting": self.name,
                                "form": "in_period" if self.period else self.form}
        if self.period:
            body["period"] = {"start": self.period[0], "end": self.period[1]}
        return body


@dataclass
class Value:
    """A measure's value with how it came about; `value` None means unknown (`reason`)."""

    value: float | int | None
    registry_value: int
    reason: str | None = None
    opening: dict[str, Any] | None = None
    stock: dict[str, Any] | None = None


class RegistryCounts:
    """Registry counts per (tenant, metric, day), read in two passes (see the module)."""

    def __init__(self, read_models: ReadModels) -> None:
        self.read_models = read_models
        self.wanted: dict[dt.date, set[tuple[str, str]]] = defaultdict(set)
        self.values: dict[dt.date, dict[tuple[str, str], int]] | None = None

    def get(self, tenant: str, metrics: list[str], day: dt.date) -> int:
        if self.values is None:
            self.wanted[day].update((tenant, m) for m in metrics)
            return 0
        found = self.values[day]
        return sum(found.get((tenant, m), 0) for m in metrics)

    def fetch(self) -> None:
        """Read every count noted in the first pass: one query per day."""
        self.values = {}
        for day, wanted in self.wanted.items():
            tenants = sorted({t for t, _ in wanted})
            metrics = sorted({m for _, m in wanted})
            self.values[day] = self.read_models.sums(tenants, metrics, day)


@dataclass
class Stocks:
    """Stocks printed by plans: (tenant, measure, year) -> the baseline (never a yearly
    figure, `"per": "year"`), from any plan of the tenant with that measure."""

    found: dict[tuple[str, str, int], dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_plans(cls, plans: Iterable[PlanView], measures: Iterable[str]) -> "Stocks":
        measures = set(measures)
        stocks = cls()
        for plan in sorted(plans, key=lambda p: p.id):
            for indicator in plan.indicators:
                if indicator["key"] not in measures:
                    continue
                stocks._add(plan.tenant, indicator["key"], indicator.get("baseline"), plan.id)
            for (tenant, key), target in sorted(plan.targets.items()):
                if key in measures and tenant != plan.tenant:
                    stocks._add(tenant, key, target.get("baseline"), plan.id)
        return stocks

    def _add(self, tenant: str, measure: str, baseline: dict | None, plan: str) -> None:
        if not baseline or baseline.get("value") is None or baseline.get("per") == "year":
            return
        if baseline.get("year") is None:
            return
        self.found.setdefault((tenant, measure, int(baseline["year"])),
                              {"value": baseline["value"], "year": int(baseline["year"]),
                               "plan": plan})

    def at_end_of(self, tenant: str, measure: str, year: int) -> dict[str, Any] | None:
        return self.found.get((tenant, measure, year))


class MeasureValues:
    """Values of measures for tenants and dates, with openings and stocks."""

    def __init__(self, counts: RegistryCounts, families: FamilySet, book: OpeningBook,
                 stocks: Stocks, tree: TenantTree) -> None:
        self.counts = counts
        self.families = families
        self.book = book
        self.stocks = stocks
        self.tree = tree

    # The registry's own counts -----------------------------------------------------------

    def registry(self, tenant: str, counting: Counting, day: dt.date,
                 since: dt.date | None = None) -> int:
        """Units of the tenant's subtree counted on `day` (`since`: first reached on or
        after that 1 January; for holdings, the change since its eve)."""
        names = self.families.measures[counting.measure]
        if counting.form == "held":
            held = self.counts.get(tenant, [names["held"]], day)
            return held - (self.counts.get(tenant, [names["held"]], since - ONE_DAY)
                           if since else 0)
        first = since.year if since else EARLIEST_YEAR
        return self.counts.get(tenant, [f"{names['ever']}@{y}"
                                        for y in range(first, day.year + 1)], day)

    # Openings ----------------------------------------------------------------------------

    def sources(self, tenant: str, measure: str, day: dt.date) -> list[Opening] | None:
        """The openings that govern the subtree's value on `day`: the tenant's own in force,
        else those of the nearest tenants below; None when only later openings exist."""
        if not self.book.in_subtree(tenant, measure):
            return []
        own = self.book.in_force(tenant, measure, day)
        if own is not None:
            return [own]
        if self.book.has_any(tenant, measure):
            return None
        found: list[Opening] = []
        for child in self.tree.children(tenant):
            below = self.sources(child.code, measure, day)
            if below is None:
                return None
            found += below
        return found

    def _first_later(self, tenant: str, measure: str) -> dict[str, Any]:
        """What makes a value unknown: the first opening in the subtree, after the date."""
        subtree = self.tree.subtree(tenant)
        dates = [o.on for o in self.book.all() if o.measure == measure and o.tenant in subtree]
        return {"source": "later", "first_on": min(dates) if dates else None}

    def _adjustment(self, openings: list[Opening], counting: Counting) -> float:
        return sum(o.value - self.registry(o.tenant, counting, o.on) for o in openings)

    # Values ------------------------------------------------------------------------------

    def value(self, tenant: str, counting: Counting, day: dt.date) -> Value:
        if counting.period is None:
            return self.cumulative(tenant, counting, day)
        return self.new(tenant, counting, day)

    def cumulative(self, tenant: str, counting: Counting, day: dt.date) -> Value:
        registry = self.registry(tenant, counting, day)
        sources = self.sources(tenant, counting.measure, day)
        if sources is None:
            return Value(None, registry, BEFORE_OPENING, self._first_later(tenant, counting.measure))
        if not sources:
            return Value(registry, registry)
        adjustment = self._adjustment(sources, counting)
        return Value(clean(registry + adjustment), registry,
                     opening=_opening_info(tenant, sources, adjustment))

    def new(self, tenant: str, counting: Counting, day: dt.date) -> Value:
        start, end = counting.period
        day = min(day, end)
        eve = start - ONE_DAY
        registry = self.registry(tenant, counting, day, since=start)
        at_day = self.sources(tenant, counting.measure, day)
        if at_day is None:
            return Value(None, registry, BEFORE_OPENING, self._first_later(tenant, counting.measure))
        at_eve = self.sources(tenant, counting.measure, eve)
        if not at_day and not at_eve:
            return Value(registry, registry)
        adjustment = self._adjustment(at_day, counting)
        info = _opening_info(tenant, at_day, adjustment) if at_day else None
        if at_eve is not None:
            change = adjustment - self._adjustment(at_eve, counting)
            return Value(clean(registry + change), registry, opening=info)
        stock = self.stocks.at_end_of(tenant, counting.measure, eve.year)
        if stock is None:
            return Value(None, registry, NO_STOCK, info)
        total = self.registry(tenant, counting, day) + adjustment
        return Value(clean(total - stock["value"]), registry, opening=info, stock=stock)


def _opening_info(tenant: str, sources: list[Opening], adjustment: float) -> dict[str, Any]:
    if len(sources) == 1 and sources[0].tenant == tenant:
        own = sources[0]
        return {"source": "own", "value": clean(own.value), "on": own.on,
                "note": own.source or None, "adjustment": clean(adjustment)}
    return {"source": "descendants", "tenants": sorted(o.tenant for o in sources),
            "value": clean(sum(o.value for o in sources)), "on": max(o.on for o in sources),
            "adjustment": clean(adjustment)}


def clean(number: float) -> float | int:
    """Whole numbers as ints, others rounded to 2 places."""
    rounded = round(number, 2)
    return int(rounded) if float(rounded).is_integer() else rounded
