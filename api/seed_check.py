"""`registry plans verify-seed`: do the registry's numbers give back the seeds' own?

Into a scratch store it posts a synthetic history that realises every registry-countable
figure of the seed plans — the reported results (`actual`) of the finished plans and the
2020 baselines of the 14th plans — then reads each figure back the way a reviewer does (the
progress table of a finished plan; the stock or the year's count for a baseline) and prints
plan, indicator, tenant, seed value, registry value and whether they are equal.

The history is built from the seeds, not written by hand: per measure and tenant, a
baseline `per: year` is that year's count, a baseline without it is the stock at its year's
end, a `new` result is the count within the plan's period. Records are placed year by year
(narrower constraints first, tenants below before those above) so every constraint holds;
where two measures count one population differently (the plans' 培育“品字标”企业 against the
certified enterprises the registry sees, measures.json), the measure that records cannot
satisfy gets openings, and the table says so.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from api.seed_history import Poster
from events import KIND_SPECS
from projections.plan_values import Counting, MeasureValues, RegistryCounts

FIRST_YEAR = 2011
# Where each tenant's own records live (a county of its subtree).
HOME = {"330000": "330102", "330500": "330523", "330326": "330326"}


@dataclass(frozen=True)
class Constraint:
    """A seed figure: `value` of `measure` for `tenant` over the years `first`..`last`
    (a stock: from the beginning; a flow: within them)."""

    plan: str
    indicator: str
    tenant: str
    measure: str
    kind: str          # "stock" | "flow"
    first: int
    last: int
    value: float
    source: str        # "actual" | "baseline"

    def describe(self) -> str:
        what = "result" if self.source == "actual" else "baseline"
        if self.kind == "stock":
            return f"{what}: stock end-{self.last}"
        if self.first == self.last:
            return f"{what}: in {self.last} (per year)"
        return f"{what}: new {self.first}-{self.last}"

    @property
    def span(self) -> int:
        return self.last - self.first + (10_000 if self.kind == "stock" else 0)


@dataclass
class Plan:
    """The synthetic history being built: records per (home county, measure, year) and
    openings where records cannot satisfy a constraint."""

    records: dict[tuple[str, str, int], int] = field(default_factory=lambda: defaultdict(int))
    openings: list[tuple[str, str, dt.date, float]] = field(default_factory=list)
    opened: set[tuple[str, str]] = field(default_factory=set)


def constraints(plans: list[dict], measures: dict[str, Any]) -> list[Constraint]:
    """Every registry-countable figure of the seeds that the history must realise."""
    found = []
    for plan in plans:
        start = int(plan["period"]["start"][:4])
        end = int(plan["period"]["end"][:4])
        for indicator in plan["indicators"]:
            key, spec = indicator["key"], measures.get(indicator["key"])
            if not spec or indicator.get("counting") == "rate" or plan["tenant"] not in HOME:
                continue
            counting = indicator["counting"]
            if counting == "unspecified":
                counting = spec.get("default_counting", "cumulative")
            actual = indicator.get("actual") or {}
            if plan["id"].endswith("-completion") and actual.get("value") is not None:
                kind, first = ("flow", start) if counting == "new" else ("stock", FIRST_YEAR)
                found.append(Constraint(plan["id"], key, plan["tenant"], key, kind, first,
                                        end, actual["value"], "actual"))
            baseline = indicator.get("baseline") or {}
            if baseline.get("value") is not None and baseline.get("year"):
                year = int(baseline["year"])
                kind, first = ("flow", year) if baseline.get("per") == "year" else (
                    "stock", FIRST_YEAR)
                found.append(Constraint(plan["id"], key, plan["tenant"], key, kind, first,
                                        year, baseline["value"], "baseline"))
    return found


def design(found: list[Constraint], measures: dict[str, Any], tree) -> Plan:
    """Place records so that each constraint holds, or open the measure where they cannot."""
    plan = Plan()
    by_measure = defaultdict(list)
    for c in found:
        by_measure[c.measure].append(c)
    # narrow populations first (fewest attribute values), then the measures constrained at
    # the most tenants (their records must propagate up unchanged)
    order = sorted(by_measure, key=lambda m: (
        _width(measures[m]),
        -len({c.tenant for c in by_measure[m] if c.source == "actual"}), m))
    done: list[str] = []
    for measure in order:
        fixed: dict[str, set[int]] = defaultdict(set)
        for c in sorted(by_measure[measure], key=lambda c: (-len(tree.ancestors(c.tenant)), c.span)):
            if (c.tenant, measure) in plan.opened:
                continue
            have = _counted(plan, measures, measure, tree, c.tenant, c.first, c.last)
            free = [y for y in range(c.first, c.last + 1) if y not in fixed[c.tenant]]
            missing = c.value - have
            clash = [m for m in done if _overlaps(measures[m], measures[measure])]
            if missing == 0:
                fixed[c.tenant].update(range(c.first, c.last + 1))
            elif missing < 0 or not free or clash:
                plan.opened.add((c.tenant, measure))
            else:
                for n, year in enumerate(free):
                    plan.records[(HOME[c.tenant], measure, year)] += int(
                        missing // len(free) + (1 if n < missing % len(free) else 0))
                fixed[c.tenant].update(range(c.first, c.last + 1))
        done.append(measure)
    return plan


def _width(spec: dict[str, Any]) -> int:
    where = spec.get("where") or {}
    return sum(len(v) for v in where.values()) or 99


def _overlaps(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether records made for `b` (with its first attribute value) count for `a` too."""
    if a["kind"] != b["kind"] and {a["kind"], b["kind"]} != {"certification"}:
        return False
    made = {k: v[0] for k, v in (b.get("where") or {}).items()}
    return all(made.get(k, v[0]) in v for k, v in (a.get("where") or {}).items())


def _counted(plan: Plan, measures, measure: str, tree, tenant: str, first: int,
             last: int) -> float:
    """What the records placed so far count for `measure` in the tenant's subtree."""
    subtree = tree.subtree(tenant)
    spec = measures[measure]
    return sum(n for (home, made, year), n in plan.records.items()
               if home in subtree and first <= year <= last
               and (made == measure or _overlaps(spec, measures[made])))


def realise(svc, plan: Plan, found: list[Constraint], measures: dict[str, Any]) -> None:
    """Post the records, catch the projections up, then record the openings (each the seed
    figure itself, so its value is what the seed says at its date)."""
    scope = svc.directory.operator_scope()
    poster = Poster(svc, scope)
    # records before the items issued under them (international certificates)
    for (county, measure, year), count in sorted(
            plan.records.items(), key=lambda item: (measures[item[0][1]]["kind"] not in
                                                    KIND_SPECS, item[0])):
        poster.records(county, measure, measures[measure], year, count)
    poster.flush()
    for c in found:
        if (c.tenant, c.measure) not in plan.opened:
            continue
        source = f"核验：{c.plan} {c.indicator} ({c.source})"
        if c.kind == "stock":
            _open(svc, scope, c.tenant, c.measure, c.value, dt.date(c.last, 12, 31), source)
        else:  # a flow: the stock on the eve of its first year, and that plus the flow
            svc.projector().catch_up()
            eve = dt.date(c.first - 1, 12, 31)
            before = _registry(svc, c.tenant, c.measure, eve, measures)
            _open(svc, scope, c.tenant, c.measure, before, eve, source)
            _open(svc, scope, c.tenant, c.measure, before + c.value, dt.date(c.last, 12, 31),
                  source)
    svc.projector().catch_up()


def _open(svc, scope, tenant, measure, value, on, source) -> None:
    svc.plans.openings.record(scope, tenant, {"measure": measure, "value": value, "on": on,
                                              "source": source})


def _registry(svc, tenant: str, measure: str, day: dt.date, measures) -> int:
    counting = Counting(measure, measures[measure].get("cumulative", "ever"))
    counts = RegistryCounts(svc.read_models)
    values = MeasureValues(counts, svc.families, svc.plans.openings.book([]), None, None)
    values.registry(tenant, counting, day)
    counts.fetch()
    return values.registry(tenant, counting, day)


@dataclass(frozen=True)
class Check:
    """One line of the verification table."""

    constraint: Constraint
    registry_value: float | None
    by: str

    @property
    def equal(self) -> bool:
        return self.registry_value == self.constraint.value


def read_back(svc, found: list[Constraint], plan: Plan, measures: dict[str, Any]) -> list[Check]:
    """Each seed figure as a reviewer reads it: a finished plan's progress row, or the stock
    (or the year's count) of a baseline."""
    from api.reports import plan_progress, progress_engine

    scope = svc.directory.operator_scope()
    engine = progress_engine(svc, scope)
    rows: dict[tuple[str, str], dict[str, dict]] = {}
    checks = []
    for c in found:
        by = "opening" if (c.tenant, c.measure) in plan.opened else "records"
        if c.source == "actual":
            key = (c.plan, c.tenant)
            if key not in rows:
                end = next(p.period_end for p in engine.plans if p.id == c.plan)
                table = plan_progress(svc, scope, c.tenant, c.plan, end, engine).table()
                rows[key] = {r["key"]: r for r in table}
            checks.append(Check(c, rows[key][c.indicator]["value"], by))
            continue
        form = measures[c.measure].get("cumulative", "ever")
        period = (dt.date(c.first, 1, 1), dt.date(c.last, 12, 31)) if c.kind == "flow" else None
        counts = RegistryCounts(svc.read_models)
        values = MeasureValues(counts, svc.families, engine.book, engine.stocks, scope.tree)
        day = dt.date(c.last, 12, 31)
        values.value(c.tenant, Counting(c.measure, form, period), day)
        counts.fetch()
        checks.append(Check(c, values.value(c.tenant, Counting(c.measure, form, period),
                                            day).value, by))
    return checks


def verify(svc, document: dict[str, Any], measures: dict[str, Any]) -> list[Check]:
    """Build, post and read back the synthetic history in the (scratch) store `svc`."""
    found = constraints(document["plans"], {k: v for k, v in measures.items() if v})
    tree = svc.directory.tree()
    plan = design(found, measures, tree)
    realise(svc, plan, found, measures)
    return read_back(svc, found, plan, measures)


def table(checks: list[Check]) -> str:
    """The verification table for the terminal."""
    from api.reports import display_width_pad

    header = ["plan", "indicator", "tenant", "figure", "seed", "registry", "equal", "by"]
    lines = [[c.constraint.plan, c.constraint.indicator, c.constraint.tenant,
              c.constraint.describe(),
              _num(c.constraint.value), _num(c.registry_value), "yes" if c.equal else "NO",
              c.by] for c in checks]
    widths = [max(len(str(row[i])) for row in [header, *lines]) for i in range(len(header))]
    out = [" ".join(display_width_pad(str(v), w) for v, w in zip(header, widths))]
    out += [" ".join(display_width_pad(str(v), w) for v, w in zip(row, widths))
            for row in lines]
    return "\n".join(out)


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return str(int(value)) if float(value).is_integer() else str(value)
