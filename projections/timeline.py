"""A record's timeline on business dates, and the metric intervals it contributes.

Dates are stored as proleptic ordinals (`date.toordinal()`); `None` as an end means open.
Semantics (DESIGN.md 2.1, 5): a record exists from its first event's `occurred_on`; its
state, tenant, valid_until, level and gi_type on a date come from the events that occurred
on or before it; a certificate is expired on every day after valid_until; a voided record
has no timeline at all; the holder (USCC) is the latest known one, because amendments correct.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable

from events import KIND_SPECS
from projections.families import ITEM_HELD, Family

# (tenant, metric, from, to, up_to), `to` exclusive. A record's interval counts in its
# tenant and is rolled up to every ancestor (`up_to` None); a holder's counts in its tenant
# and in each ancestor up to and including `up_to`, and no further.
Interval = tuple[str, str, int, int | None, str | None]
# The kinds of items counted under records (international certificates).
ITEM_KINDS = frozenset(k.items.kind for k in KIND_SPECS.values() if k.items)


@dataclass
class Step:
    """The record's state from `on` until the next step."""

    on: int
    status: str
    tenant: str
    valid_until: int | None = None
    level: str | None = None
    gi_type: str | None = None

    def as_list(self) -> list:
        return [self.on, self.status, self.tenant, self.valid_until, self.level, self.gi_type]


# A segment of a timeline: (start, end, tenant, status, attributes); tuples, because the
# projector derives millions of them.
Segment = tuple[int, int | None, str, str, dict[str, Any]]
# A unit counting for a family on [start, end) in a tenant, first reached in `first_year`
# (None for the `held` form).
Fact = tuple[str, int, int | None, int | None]


@dataclass
class Timeline:
    """What the projector keeps per record to recompute its intervals after each event."""

    kind: str
    holder: str | None = None
    voided: bool = False
    steps: list[Step] = field(default_factory=list)
    items: dict[str, list] = field(default_factory=dict)  # cert no -> [issued, withdrawn|None]
    _units: dict[str, list] = field(default_factory=dict, repr=False, compare=False)

    def changed(self) -> None:
        """Forget the derived segments after a mutation."""
        self._units.clear()

    def to_json(self) -> dict:
        return {"k": self.kind, "h": self.holder, "v": self.voided,
                "s": [s.as_list() for s in self.steps], "i": self.items}

    @classmethod
    def from_json(cls, data: dict) -> "Timeline":
        return cls(kind=data["k"], holder=data["h"], voided=data["v"],
                   steps=[Step(*s) for s in data["s"]], items=data["i"])

    def add_step(self, step: Step) -> None:
        """Append the state after an event; a later event on the same date replaces it."""
        if self.steps and self.steps[-1].on == step.on:
            self.steps[-1] = step
        else:
            self.steps.append(step)

    def segments(self) -> list[Segment]:
        """Consecutive date ranges with one state each (implicit expiry split out)."""
        found = self._units.get("")
        if found is None:
            found = self._units[""] = self._compute_segments()
        return found

    def _compute_segments(self) -> list[Segment]:
        if self.voided:
            return []
        result: list[Segment] = []
        steps = self.steps
        lapse = KIND_SPECS[self.kind].lapse
        lapsing, lapsed = (lapse.states, lapse.to) if lapse else ((), "")
        last = len(steps) - 1
        for i, step in enumerate(steps):
            end = steps[i + 1].on if i < last else None
            attributes = {"level": step.level, "gi_type": step.gi_type}
            on, status, tenant = step.on, step.status, step.tenant
            # events.kind.Lapse.status_on, on date ordinals: lapsed from valid_until + 1
            expires = (step.valid_until + 1 if step.valid_until is not None
                       and status in lapsing else None)
            if expires is not None and (end is None or expires < end):
                if on < expires:
                    result.append((on, expires, tenant, status, attributes))
                result.append((max(expires, on), end, tenant, lapsed, attributes))
            else:
                result.append((on, end, tenant, status, attributes))
        return [s for s in result if s[1] is None or s[0] < s[1]]

    def units(self, kind: str) -> list[tuple[str, list[Segment]]]:
        """The counted units of a family kind: the record itself, or its items (cached
        until the next mutation)."""
        if kind not in ITEM_KINDS:
            return [("", self.segments())] if kind == self.kind else []
        found = self._units.get(kind)
        if found is None:
            found = self._units[kind] = self._item_units()
        return found

    def _item_units(self) -> list[tuple[str, list[Segment]]]:
        items = KIND_SPECS[self.kind].items
        if items is None:
            return []
        held_while = items.held_while
        segments = self.segments()
        units = []
        for number, (issued, withdrawn) in sorted(self.items.items()):
            item_segments = []
            for start, end, tenant, status, attributes in segments:
                held = ITEM_HELD if status in held_while else "not_held"
                # held (or not) while issued, then "withdrawn": an `ever` family keeps
                # counting an item that reached it, a `held` one stops
                pieces = [(max(start, issued), _min_end(end, withdrawn), held)]
                if withdrawn is not None:
                    pieces.append((max(start, withdrawn), end, "withdrawn"))
                for piece_start, piece_end, piece_status in pieces:
                    if piece_end is not None and piece_start >= piece_end:
                        continue
                    item_segments.append((piece_start, piece_end, tenant, piece_status,
                                          attributes))
            item_segments.sort(key=lambda seg: seg[0])
            units.append((number, item_segments))
        return units


def _min_end(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


@lru_cache(maxsize=None)
def year_of(ordinal: int) -> int:
    return dt.date.fromordinal(ordinal).year


class Rule:
    """A family compiled for the projector's hot loop (metric names cached by year)."""

    __slots__ = ("family", "name", "kind", "held", "statuses", "where", "exclude",
                 "by_holder", "_metrics")

    def __init__(self, family: Family) -> None:
        self.family = family
        self.name = family.name
        self.kind = family.kind
        self.held = family.form == "held"
        self.statuses = family.statuses
        self.where = family.where
        self.exclude = family.exclude
        self.by_holder = family.by_holder
        self._metrics: dict[int | None, str] = {}

    def metric(self, first_year: int | None) -> str:
        metric = self._metrics.get(first_year)
        if metric is None:
            metric = self._metrics[first_year] = self.family.metric(first_year)
        return metric


def _matches(where, attributes: dict[str, Any]) -> bool:
    for name, values in where:
        if attributes.get(name) not in values:
            return False
    return True


def family_facts(rule: Rule, segments: list[Segment]) -> list[Fact]:
    """When one unit counts for a family, in which tenant, and since which first-reach year;
    adjacent facts of the same tenant are joined (e.g. valid then suspended)."""
    statuses, where = rule.statuses, rule.where
    facts: list[Fact] = []
    if rule.held:
        for start, end, tenant, status, attributes in segments:
            if status in statuses and (not where or _matches(where, attributes)):
                if facts and facts[-1][2] == start and facts[-1][0] == tenant:
                    facts[-1] = (tenant, facts[-1][1], end, None)
                else:
                    facts.append((tenant, start, end, None))
        return facts
    reached = None
    for start, _, _, status, attributes in segments:
        if status in statuses and (not where or _matches(where, attributes)):
            reached = start
            break
    if reached is None:
        return facts
    year = year_of(reached)
    exclude = rule.exclude
    for start, end, tenant, status, attributes in segments:
        if end is not None and end <= reached:
            continue
        if status in exclude or (where and not _matches(where, attributes)):
            continue
        if start < reached:
            start = reached
        if facts and facts[-1][2] == start and facts[-1][0] == tenant:
            facts[-1] = (tenant, facts[-1][1], end, year)
        else:
            facts.append((tenant, start, end, year))
    return facts


def record_intervals(timeline: Timeline, rules: Iterable[Rule]) -> list[Interval]:
    """The record's own metric intervals (record and item families)."""
    intervals: list[Interval] = []
    for rule in rules:
        for _, segments in timeline.units(rule.kind):
            for tenant, start, end, year in family_facts(rule, segments):
                intervals.append((tenant, rule.metric(year), start, end, None))
    return intervals


def unit_facts(timeline: Timeline, rule: Rule) -> tuple[Fact, ...]:
    """The facts of every unit of the record for one (holder) family."""
    found: list[Fact] = []
    for _, segments in timeline.units(rule.kind):
        found.extend(family_facts(rule, segments))
    return tuple(found)


def holder_intervals(rule: Rule, facts: list[Fact], ancestors_of) -> list[Interval]:
    """A holder counts in a tenant A while any of its units counts in A's subtree, with the
    earliest first-reach year among those counting units. Up a lineage, the tenants that
    count it alike (the same pieces) share one interval per piece, from the lowest of them
    up to the highest (`up_to`): a holder in one tenant is one interval per piece for its
    whole lineage, not one per ancestor (a third of a rebuild's interval rows)."""
    if len(facts) == 1:  # the common case: one counting unit
        tenant, start, end, year = facts[0]
        return [(tenant, rule.metric(year), start, end, ancestors_of(tenant)[-1])]
    if not facts:
        return []
    tenant = facts[0][0]
    if all(fact[0] == tenant for fact in facts):  # one tenant: the same pieces everywhere
        top = ancestors_of(tenant)[-1]
        return [(tenant, rule.metric(year), start, end, top)
                for start, end, year in _pieces(facts)]
    by_ancestor: dict[str, list[Fact]] = {}
    for fact in facts:
        for code in ancestors_of(fact[0]):
            by_ancestor.setdefault(code, []).append(fact)
    pieces = {code: _pieces(group) for code, group in by_ancestor.items()}
    intervals: list[Interval] = []
    walked: set[str] = set()
    # each tenant in exactly one run; the tenants walked in code order, so that the runs do
    # not depend on the order of the holder's records
    for tenant in sorted({fact[0] for fact in facts}):
        run: list[str] = []
        for code in ancestors_of(tenant):
            if code in walked:  # the rest of the lineage is walked already
                break
            walked.add(code)
            if run and pieces[code] != pieces[run[0]]:
                intervals.extend(_run(rule, run, pieces[run[0]]))
                run = []
            run.append(code)
        if run:
            intervals.extend(_run(rule, run, pieces[run[0]]))
    return intervals


def _run(rule: Rule, run: list[str], pieces) -> list[Interval]:
    low, top = run[0], run[-1]
    return [(low, rule.metric(year), start, end, top) for start, end, year in pieces]


def _start(fact: Fact) -> int:
    return fact[1]


def _pieces(group: list[Fact]) -> list[tuple[int, int | None, int | None]]:
    """Sweep the facts' boundaries: the stretches where at least one fact holds, each with
    the earliest first-reach year among the facts holding then (None when none has one)."""
    year = group[0][3]
    if all(fact[3] == year for fact in group):  # one year (or none): a plain union
        pieces: list[tuple[int, int | None, int | None]] = []
        for _, start, end, _ in sorted(group, key=_start):
            if pieces and (pieces[-1][1] is None or pieces[-1][1] >= start):
                last_end = pieces[-1][1]
                if last_end is not None and (end is None or end > last_end):
                    pieces[-1] = (pieces[-1][0], end, year)
            else:
                pieces.append((start, end, year))
        return pieces
    boundaries: dict[int, list[tuple[int, int | None]]] = {}
    for _, start, end, year in group:
        boundaries.setdefault(start, []).append((1, year))
        if end is not None:
            boundaries.setdefault(end, []).append((-1, year))
    points = sorted(boundaries)
    active: dict[int | None, int] = {}
    holding = 0
    pieces: list[tuple[int, int | None, int | None]] = []
    last = len(points) - 1
    for i, point in enumerate(points):
        for step, year in boundaries[point]:
            holding += step
            count = active.get(year, 0) + step
            if count:
                active[year] = count
            else:
                del active[year]
        if not holding:
            continue
        end = points[i + 1] if i < last else None
        years = [y for y in active if y is not None]
        year = min(years) if years else None
        if pieces and pieces[-1][1] == point and pieces[-1][2] == year:
            pieces[-1] = (pieces[-1][0], end, year)
        else:
            pieces.append((point, end, year))
    return pieces
