"""Plan progress (DESIGN.md 5): measures evaluated on the read models, openings, the linear
path, statuses, children's values and targets, and yearly series."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable

from events.plans import PlanView
from projections.families import FamilySet
from projections.queries import ReadModels
from tenants.tree import TenantTree

NOT_TRACKED = "not_tracked"


@dataclass(frozen=True)
class Need:
    """One measure value wanted: a tenant's subtree, on a day, in a form."""

    tenant: str
    day: dt.date
    form: str            # ever | in_period | held
    measure: str
    period: tuple[int, int]  # first and last year of the plan period


class ProgressEngine:
    """Evaluates the measures of measures.json for tenants and dates."""

    def __init__(self, read_models: ReadModels, families: FamilySet,
                 measures: dict[str, Any], tree: TenantTree) -> None:
        self.read_models = read_models
        self.families = families
        self.measures = {k: v for k, v in measures.items() if v}
        self.tree = tree

    # Counting forms ----------------------------------------------------------------------

    def form(self, indicator: dict[str, Any]) -> tuple[str | None, str | None]:
        """The counting form of an indicator, or None with the reason it is not tracked."""
        measure = self.measures.get(indicator["key"])
        if indicator.get("counting") == "rate":
            return None, "a rate: the registry counts records, it does not measure rates"
        if measure is None:
            kind = indicator.get("registry_kind")
            why = (f"no measure defined for '{indicator['key']}'" +
                   (f" ({kind} is not a kind the registry records yet)" if kind else
                    " (not counted from registry records)"))
            return None, why
        counting = indicator.get("counting")
        if counting == "unspecified":
            counting = measure.get("default_counting", "cumulative")
        if counting == "new":
            return "in_period", None
        return measure.get("cumulative", "ever"), None

    def _metrics(self, need: Need) -> list[str]:
        names = self.families.measures[need.measure]
        if need.form == "held":
            return [names["held"]]
        first, last = (1990, need.day.year) if need.form == "ever" else (
            need.period[0], min(need.period[1], need.day.year))
        return [f"{names['ever']}@{year}" for year in range(first, last + 1)]

    def evaluate(self, needs: Iterable[Need]) -> dict[Need, int]:
        """Measure values, one read-model query per distinct day."""
        needs = set(needs)
        by_day: dict[dt.date, list[Need]] = defaultdict(list)
        for need in needs:
            by_day[need.day].append(need)
        values: dict[Need, int] = {}
        for day, group in by_day.items():
            tenants = sorted({n.tenant for n in group})
            metrics = sorted({m for n in group for m in self._metrics(n)})
            sums = self.read_models.sums(tenants, metrics, day)
            for need in group:
                values[need] = sum(sums.get((need.tenant, m), 0) for m in self._metrics(need))
        return values


class PlanProgress:
    """Progress of one plan for one tenant on one date."""

    def __init__(self, engine: ProgressEngine, plan: PlanView, code: str, as_of: dt.date,
                 other_plans: list[PlanView]) -> None:
        self.engine = engine
        self.plan = plan
        self.code = code
        self.as_of = as_of
        self.other_plans = other_plans
        self.tree = engine.tree
        self.period = (plan.period_start.year, plan.period_end.year)

    # Values with openings ----------------------------------------------------------------

    def _opening_sources(self, tenant: str, key: str) -> list[tuple[str, dict]]:
        """The tenant's own opening, else the nearest descendants' openings."""
        own = self.plan.openings.get((tenant, key))
        if own is not None:
            return [(tenant, own)]
        found, stack = [], [c.code for c in self.tree.children(tenant)]
        while stack:
            code = stack.pop()
            opening = self.plan.openings.get((code, key))
            if opening is not None:
                found.append((code, opening))
            else:
                stack.extend(c.code for c in self.tree.children(code))
        return sorted(found)

    def needs(self, tenant: str, key: str, form: str, day: dt.date) -> list[Need]:
        needs = [Need(tenant, day, form, key, self.period)]
        for code, opening in self._opening_sources(tenant, key):
            needs.append(Need(code, opening["on"], form, key, self.period))
        return needs

    def value(self, values: dict[Need, int], tenant: str, key: str, form: str,
              day: dt.date) -> tuple[float, int, dict | None]:
        """(value, registry value, opening) per DESIGN.md 5."""
        registry_value = values[Need(tenant, day, form, key, self.period)]
        sources = self._opening_sources(tenant, key)
        if not sources:
            return registry_value, registry_value, None
        adjustment = 0.0
        for code, opening in sources:
            adjustment += opening["value"] - values[Need(code, opening["on"], form, key,
                                                         self.period)]
        if sources[0][0] == tenant:
            opening = sources[0][1]
            info = {"value": opening["value"], "on": opening["on"], "source": "own",
                    "adjustment": adjustment, "note": opening.get("note") or None}
        else:
            info = {"value": sum(o["value"] for _, o in sources), "source": "descendants",
                    "tenants": [c for c, _ in sources], "adjustment": adjustment,
                    "on": max(o["on"] for _, o in sources)}
        return _clean(registry_value + adjustment), registry_value, info

    # Targets -----------------------------------------------------------------------------

    def target(self, tenant: str, key: str) -> tuple[dict | None, str | None]:
        """The tenant's target for the indicator: set in this plan, else in a plan of the
        tenant itself with the same key and the same final year."""
        own = self.plan.target_for(tenant, key)
        if own is not None:
            return own, self.plan.id
        for other in self.other_plans:
            if other.tenant == tenant and other.period_end.year == self.plan.period_end.year:
                found = other.target_for(tenant, key)
                if found is not None:
                    return found, other.id
        return None, None

    # The table ---------------------------------------------------------------------------

    def table(self) -> list[dict[str, Any]]:
        engine, plan = self.engine, self.plan
        children = [c.code for c in self.tree.children(self.code)]
        forms = {i["key"]: engine.form(i) for i in plan.indicators}
        needs: list[Need] = []
        for indicator in plan.indicators:
            form, _ = forms[indicator["key"]]
            if form is None:
                continue
            for tenant in [self.code, *children]:
                needs += self.needs(tenant, indicator["key"], form, self.as_of)
            if form != "in_period":
                start = plan.period_start - dt.timedelta(days=1)
                needs += self.needs(self.code, indicator["key"], form, start)
        values = engine.evaluate(needs)
        return [self._row(indicator, forms[indicator["key"]], values, children)
                for indicator in plan.indicators]

    def _row(self, indicator: dict, form_reason: tuple, values: dict, children: list[str]):
        key = indicator["key"]
        form, reason = form_reason
        target, target_source = self.target(self.code, key)
        row: dict[str, Any] = {
            "key": key, "name": indicator.get("name"), "name_en": indicator.get("name_en"),
            "unit": indicator.get("unit"), "counting": indicator.get("counting"), "form": form,
            "category": indicator.get("category"),
            "baseline": indicator.get("baseline"), "target": _target_json(target, target_source),
            "value": None, "registry_value": None, "opening": None, "achievement": None,
            "expected": None, "status": NOT_TRACKED, "reason": reason, "children": [],
            "children_target_sum": None, "children_with_targets": 0,
        }
        if form is None:
            return row
        value, registry_value, opening = self.value(values, self.code, key, form, self.as_of)
        row.update(value=value, registry_value=registry_value, opening=opening)
        numeric = target is not None and target.get("value") is not None
        if not numeric:
            row["reason"] = ("no target for this tenant" if target is None else
                             f"the target is not a number: {target.get('raw')!r}")
        else:
            baseline = self._baseline(indicator, target, form, values)
            row["baseline"] = baseline
            row["expected"] = _clean(self._expected(baseline["value"], target["value"]))
            if target["value"]:
                row["achievement"] = round(value / target["value"], 4)
            row["status"] = self._status(value, row["expected"], target)
        child_rows, total, with_targets = [], 0.0, 0
        for code in children:
            child_value, child_registry, _ = self.value(values, code, key, form, self.as_of)
            child_target, source = self.target(code, key)
            if child_target is not None and child_target.get("value") is not None:
                total += child_target["value"]
                with_targets += 1
            child_rows.append({"tenant": self.tree.get(code).as_json(), "value": child_value,
                               "registry_value": child_registry,
                               "target": _target_json(child_target, source)})
        row.update(children=child_rows, children_target_sum=_clean(total) if with_targets
                   else None, children_with_targets=with_targets)
        return row

    def _baseline(self, indicator: dict, target: dict, form: str, values: dict) -> dict:
        """Where the linear path starts: 0 for new counts; the plan's baseline for
        cumulative ones, else the registry's value on the eve of the period."""
        if form == "in_period":
            return {"year": self.plan.period_start.year - 1, "value": 0, "source": "new counts "
                    "start from zero"}
        # The plan's printed baseline is its own tenant's; another tenant's comes with its
        # target (set for it, or from its own plan), else from the registry.
        own = self.code == self.plan.tenant
        given = target.get("baseline") or (indicator.get("baseline") if own else None)
        if given and given.get("value") is not None:
            return {**given, "source": "plan"}
        eve = self.plan.period_start - dt.timedelta(days=1)
        value, _, _ = self.value(values, self.code, indicator["key"], form, eve)
        return {"year": eve.year, "value": value, "source": "registry"}

    def _fraction(self, day: dt.date) -> float:
        start, end = self.plan.period_start, self.plan.period_end
        span = (end - start).days or 1
        return min(max((day - start).days / span, 0.0), 1.0)

    def _expected(self, baseline: float, target: float, day: dt.date | None = None) -> float:
        return baseline + (target - baseline) * self._fraction(day or self.as_of)

    def _status(self, value: float, expected: float, target: dict) -> str:
        goal = target["value"]
        if target.get("comparator") == "<=":
            if self.as_of >= self.plan.period_end and value <= goal:
                return "achieved"
            return "on_track" if value <= max(expected, goal) else "behind"
        if value >= goal:
            return "achieved"
        return "on_track" if value >= expected else "behind"

    # Yearly series -----------------------------------------------------------------------

    def series(self) -> list[dict[str, Any]]:
        """Per indicator: the value at each year end of the period (up to as_of) against the
        linear path and the target."""
        engine, plan = self.engine, self.plan
        ends = [dt.date(y, 12, 31) for y in range(plan.period_start.year,
                                                  plan.period_end.year + 1)]
        days = [d for d in ends if d <= self.as_of] + ([self.as_of] if self.as_of < ends[-1]
                                                       and self.as_of not in ends else [])
        days = [d for d in days if d >= plan.period_start]
        forms = {i["key"]: engine.form(i) for i in plan.indicators}
        needs = []
        for indicator in plan.indicators:
            form, _ = forms[indicator["key"]]
            if form is None:
                continue
            for day in days:
                needs += self.needs(self.code, indicator["key"], form, day)
            if form != "in_period":
                needs += self.needs(self.code, indicator["key"], form,
                                    plan.period_start - dt.timedelta(days=1))
        values = engine.evaluate(needs)
        result = []
        for indicator in plan.indicators:
            key = indicator["key"]
            form, reason = forms[key]
            target, source = self.target(self.code, key)
            entry = {"key": key, "name": indicator.get("name"),
                     "name_en": indicator.get("name_en"), "unit": indicator.get("unit"),
                     "form": form, "reason": reason, "target": _target_json(target, source),
                     "points": []}
            if form is not None:
                numeric = target is not None and target.get("value") is not None
                baseline = self._baseline(indicator, target or {}, form, values)
                for day in days:
                    value, _, _ = self.value(values, self.code, key, form, day)
                    entry["points"].append({
                        "date": day, "value": value,
                        "expected": _clean(self._expected(baseline["value"], target["value"],
                                                          day)) if numeric else None})
                entry["baseline"] = baseline
            result.append(entry)
        return result


def _clean(number: float) -> float | int:
    """Whole numbers as ints, others rounded to 2 places."""
    rounded = round(number, 2)
    return int(rounded) if float(rounded).is_integer() else rounded


def _target_json(target: dict | None, source: str | None) -> dict | None:
    if target is None:
        return None
    return {"value": target.get("value"), "comparator": target.get("comparator"),
            "raw": target.get("raw"), "year": target.get("year"), "plan": source,
            "reason": target.get("reason")}
