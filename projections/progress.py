"""Plan progress (DESIGN.md 5): per indicator, the value of its measure (projections.
plan_values), the target of the tenant (its own, or borrowed from its own plan with that
plan's counting), the linear path, the status, each child's value and judgement, the part
not broken down to children, and the plan's reported result once the plan has ended."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable

from events.openings import OpeningBook
from events.plans import PlanView
from projections.families import FamilySet
from projections.plan_values import (
    NO_STOCK,
    Counting,
    MeasureValues,
    RegistryCounts,
    Stocks,
    Value,
    clean,
)
from projections.queries import ReadModels
from tenants.tree import TenantTree

NOT_TRACKED = "not_tracked"
NO_TARGET = "no_target"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Target:
    """A tenant's target for an indicator and where it comes from: set in the plan read, or
    borrowed from the tenant's own plan, then judged with that plan's counting and period."""

    spec: dict[str, Any]
    plan: PlanView
    counting: Counting

    @property
    def value(self) -> float | None:
        return self.spec.get("value")

    def counting_on(self, day: dt.date) -> Counting:
        """A yearly target (`"per": "year"`) counts the year of the date, not the period."""
        if self.spec.get("per") == "year":
            year = (dt.date(day.year, 1, 1), dt.date(day.year, 12, 31))
            return Counting(self.counting.measure, self.counting.form, year)
        return self.counting

    def path(self, day: dt.date) -> tuple[dt.date, dt.date]:
        """The period of the linear path: the plan's, or the year of a yearly target."""
        counting = self.counting_on(day)
        if self.spec.get("per") == "year":
            return counting.period
        return self.plan.period_start, self.plan.period_end

    def as_json(self, key: str) -> dict[str, Any]:
        return {"value": self.value, "comparator": self.spec.get("comparator"),
                "raw": self.spec.get("raw"), "year": self.spec.get("year"),
                "per": self.spec.get("per"), "plan": self.plan.id,
                "reason": self.spec.get("reason"),
                "source": {"plan": self.plan.id, "indicator": key,
                           "counting": self.counting.name}}


class ProgressEngine:
    """Countings and targets of the plans, over the read models and the openings."""

    def __init__(self, read_models: ReadModels, families: FamilySet, measures: dict[str, Any],
                 tree: TenantTree, book: OpeningBook, plans: list[PlanView]) -> None:
        self.read_models = read_models
        self.families = families
        self.measures = {k: v for k, v in measures.items() if v}
        self.tree = tree
        self.book = book
        self.plans = plans
        self.stocks = Stocks.from_plans(plans, self.measures)

    def counting(self, plan: PlanView, indicator: dict[str, Any]
                 ) -> tuple[Counting | None, str | None]:
        """How the plan's indicator counts, or None with the reason it is not tracked."""
        key = indicator["key"]
        measure = self.measures.get(key)
        if indicator.get("counting") == "rate":
            return None, "a rate: the registry counts records, it does not measure rates"
        if measure is None:
            kind = indicator.get("registry_kind")
            return None, (f"no measure defined for '{key}'" +
                          (f" ({kind} is not a kind the registry records yet)" if kind else
                           " (not counted from registry records)"))
        counting = indicator.get("counting")
        if counting == "unspecified":
            counting = measure.get("default_counting", "cumulative")
        form = measure.get("cumulative", "ever")
        if counting == "new":
            return Counting(key, form, (plan.period_start, plan.period_end)), None
        return Counting(key, form), None

    def target(self, plan: PlanView, tenant: str, key: str) -> Target | None:
        """The tenant's target: set in this plan, else a numeric one of the same key in a
        plan of the tenant itself ending the same year."""
        own = plan.target_for(tenant, key)
        indicator = plan.indicator(key)
        if own is not None and indicator is not None:
            counting, _ = self.counting(plan, indicator)
            return Target(own, plan, counting) if counting else None
        for other in sorted(self.plans, key=lambda p: p.id):
            if (other.tenant != tenant or other.id == plan.id
                    or other.period_end.year != plan.period_end.year):
                continue
            found, theirs = other.target_for(tenant, key), other.indicator(key)
            if found is None or theirs is None or found.get("value") is None:
                continue
            counting, _ = self.counting(other, theirs)
            if counting is not None:
                return Target(found, other, counting)
        return None


class PlanProgress:
    """Progress of one plan for one tenant on one date (a finished plan is judged at its
    end)."""

    def __init__(self, engine: ProgressEngine, plan: PlanView, code: str,
                 as_of: dt.date) -> None:
        self.engine = engine
        self.plan = plan
        self.code = code
        self.as_of = as_of
        self.tree = engine.tree
        self.judged_on = min(as_of, plan.period_end)
        self.values: MeasureValues | None = None

    def _twice(self, build: Callable[[], Any]) -> Any:
        """Run `build` to note the counts it needs, read them, and run it for real."""
        engine = self.engine
        counts = RegistryCounts(engine.read_models)
        self.values = MeasureValues(counts, engine.families, engine.book, engine.stocks,
                                    self.tree)
        build()
        counts.fetch()
        return build()

    # The table ---------------------------------------------------------------------------

    def table(self) -> list[dict[str, Any]]:
        return self._twice(lambda: [self._row(i) for i in self.plan.indicators])

    def _row(self, indicator: dict[str, Any]) -> dict[str, Any]:
        key = indicator["key"]
        counting, why = self.engine.counting(self.plan, indicator)
        target = self.engine.target(self.plan, self.code, key) if counting else None
        row: dict[str, Any] = {
            "key": key, "name": indicator.get("name"), "name_en": indicator.get("name_en"),
            "unit": indicator.get("unit"), "category": indicator.get("category"),
            "counting": indicator.get("counting"), "form": None, "measure": None,
            "period": None, "baseline": indicator.get("baseline"),
            "target": (target.as_json(key) if target else
                       _printed(indicator) if counting is None and self.code == self.plan.tenant
                       else None),
            "value": None, "registry_value": None, "opening": None, "stock": None,
            "achievement": None, "expected": None, "status": NOT_TRACKED, "reason": why,
            "unallocated": None, "children": [], "children_target_sum": None,
            "children_with_targets": 0, "judged_on": self.judged_on,
            "actual_reported": None, "difference": None,
        }
        if counting is None:
            self._reported(row, indicator)
            return row
        effective = target.counting_on(self.judged_on) if target else counting
        value = self.values.value(self.code, effective, self.judged_on)
        row.update(_counting_fields(effective), **_value_fields(value))
        row.update(self._judge(self.code, target, effective, value))
        self._reported(row, indicator)
        self._children(row, key, effective, value)
        return row

    def _children(self, row: dict[str, Any], key: str, counting: Counting,
                  value: Value) -> None:
        rows, total, with_targets, parts = [], 0.0, 0, []
        for child in self.tree.children(self.code):
            code = child.code
            child_value = self.values.value(code, counting, self.judged_on)
            target = self.engine.target(self.plan, code, key)
            entry = {"tenant": child.as_json(), "value": child_value.value,
                     "registry_value": child_value.registry_value,
                     "reason": child_value.reason, "target": None, "status": NO_TARGET,
                     "achievement": None, "expected": None, "evaluated": None}
            if target is not None:
                judged_counting = target.counting_on(self.judged_on)
                judged = (child_value if judged_counting == counting else
                          self.values.value(code, judged_counting, self.judged_on))
                verdict = self._judge(code, target, judged_counting, judged)
                entry.update(target=target.as_json(key), status=verdict["status"],
                             achievement=verdict["achievement"], expected=verdict["expected"],
                             evaluated={**_counting_fields(judged_counting),
                                        "value": judged.value, "reason": verdict["reason"]})
                if target.value is not None:
                    total += target.value
                    with_targets += 1
            parts.append(child_value.value)
            rows.append(entry)
        known = value.value is not None and rows and all(p is not None for p in parts)
        row.update(children=rows, children_target_sum=clean(total) if with_targets else None,
                   children_with_targets=with_targets,
                   unallocated=clean(value.value - sum(parts)) if known else None)

    def _reported(self, row: dict[str, Any], indicator: dict[str, Any]) -> None:
        """A finished plan's own result beside the registry's value at the plan's end."""
        actual = indicator.get("actual")
        if self.as_of < self.plan.period_end or self.code != self.plan.tenant or not actual:
            return
        row["actual_reported"] = {"value": actual.get("value"), "raw": actual.get("raw"),
                                  "year": actual.get("year")}
        if actual.get("value") is not None and row["value"] is not None:
            row["difference"] = clean(row["value"] - actual["value"])

    # Judgement ---------------------------------------------------------------------------

    def _judge(self, tenant: str, target: Target | None, counting: Counting,
               value: Value, day: dt.date | None = None) -> dict[str, Any]:
        """Baseline, expected value on the path, achievement and status of a value."""
        day = day or self.judged_on
        verdict: dict[str, Any] = {"expected": None, "achievement": None,
                                   "status": UNKNOWN, "reason": value.reason}
        if target is None or target.value is None:
            verdict["status"] = NO_TARGET if value.value is not None else UNKNOWN
            raw = target.spec.get("raw") if target is not None else None
            verdict["reason"] = value.reason or (
                "no target for this tenant" if target is None else
                "the plan states no target" if raw is None else
                f"the target is not a number: {raw!r}")
            return verdict
        start, end = target.path(day)
        baseline = self._baseline(tenant, counting, start)
        verdict["baseline"] = baseline
        if baseline["value"] is not None:
            span = (end - start).days or 1
            fraction = min(max((day - start).days / span, 0.0), 1.0)
            verdict["expected"] = clean(baseline["value"]
                                        + (target.value - baseline["value"]) * fraction)
        if value.value is None:
            return verdict
        if target.value:
            verdict["achievement"] = round(value.value / target.value, 4)
        verdict["status"], reason = _status(value.value, verdict["expected"], target,
                                            finished=self.as_of >= end and
                                            target.spec.get("per") != "year")
        verdict["reason"] = reason
        return verdict

    def _baseline(self, tenant: str, counting: Counting, start: dt.date) -> dict[str, Any]:
        """Where the linear path starts: 0 for a new count; for a cumulative one the stock a
        plan of the tenant prints for the year before, else the value on the eve."""
        eve = start - dt.timedelta(days=1)
        if counting.period is not None:
            return {"year": eve.year, "value": 0, "source": "new counts start from zero"}
        stock = self.engine.stocks.at_end_of(tenant, counting.measure, eve.year)
        if stock is not None:
            return {**stock, "source": "plan"}
        value = self.values.cumulative(tenant, counting, eve)
        return {"year": eve.year, "value": value.value, "source": "registry",
                "reason": value.reason}

    # Yearly series -----------------------------------------------------------------------

    def series(self) -> list[dict[str, Any]]:
        """Per indicator: the value at each year end of the period (up to the date) against
        the linear path; an unknown value leaves its point empty."""
        return self._twice(self._series)

    def _series(self) -> list[dict[str, Any]]:
        plan = self.plan
        ends = [dt.date(y, 12, 31) for y in range(plan.period_start.year,
                                                  plan.period_end.year + 1)]
        days = [d for d in ends if d <= self.as_of]
        if self.as_of < ends[-1] and self.as_of not in ends and self.as_of >= plan.period_start:
            days.append(self.as_of)
        result = []
        for indicator in plan.indicators:
            key = indicator["key"]
            counting, why = self.engine.counting(plan, indicator)
            target = self.engine.target(plan, self.code, key) if counting else None
            entry = {"key": key, "name": indicator.get("name"),
                     "name_en": indicator.get("name_en"), "unit": indicator.get("unit"),
                     "form": None, "reason": why,
                     "target": target.as_json(key) if target else None, "points": []}
            if counting is not None:
                for day in days:
                    effective = target.counting_on(day) if target else counting
                    value = self.values.value(self.code, effective, day)
                    verdict = self._judge(self.code, target, effective, value, day)
                    entry["points"].append({"date": day, "value": value.value,
                                            "expected": verdict["expected"],
                                            "reason": value.reason})
                    entry.update(_counting_fields(effective))
                    entry["baseline"] = verdict.get("baseline")
            result.append(entry)
        return result


def _status(value: float, expected: float | None, target: Target,
            finished: bool) -> tuple[str, str | None]:
    goal = target.value
    at_most = target.spec.get("comparator") == "<="
    meets = value <= goal if at_most else value >= goal
    if finished:
        return ("achieved" if meets else "missed"), None
    if at_most:
        return ("on_track" if value <= max(expected if expected is not None else goal, goal)
                else "behind"), None
    if meets:
        return "achieved", None
    if expected is None:
        return UNKNOWN, NO_STOCK
    return ("on_track" if value >= expected else "behind"), None


def _counting_fields(counting: Counting) -> dict[str, Any]:
    body = counting.as_json()
    return {"counting": body["counting"], "form": body["form"], "measure": counting.measure,
            "period": body.get("period")}


def _value_fields(value: Value) -> dict[str, Any]:
    return {"value": value.value, "registry_value": value.registry_value,
            "opening": value.opening, "stock": value.stock, "reason": value.reason}


def _printed(indicator: dict[str, Any]) -> dict[str, Any] | None:
    """An untracked indicator's target as the plan prints it."""
    target = indicator.get("target")
    if not target:
        return None
    return {"value": target.get("value"), "comparator": target.get("comparator"),
            "raw": target.get("raw"), "year": target.get("year"), "per": target.get("per"),
            "plan": None, "reason": None, "source": None}
