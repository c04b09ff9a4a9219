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
from typing import Any, Iterable

from projections.families import ITEM_HELD, ITEM_KIND, Family

Interval = tuple[str, str, int, int | None]  # (tenant, metric, from, to) — to exclusive


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


@dataclass
class Segment:
    start: int
    end: int | None
    tenant: str
    status: str
    attributes: dict[str, Any]


@dataclass
class Timeline:
    """What the projector keeps per record to recompute its intervals after each event."""

    kind: str
    holder: str | None = None
    voided: bool = False
    steps: list[Step] = field(default_factory=list)
    items: dict[str, list] = field(default_factory=dict)  # cert no -> [issued, withdrawn|None]
    _segments: list["Segment"] | None = field(default=None, repr=False, compare=False)

    def changed(self) -> None:
        """Forget the derived segments after a mutation."""
        self._segments = None

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
        if self._segments is None:
            self._segments = self._compute_segments()
        return self._segments

    def _compute_segments(self) -> list[Segment]:
        if self.voided:
            return []
        result = []
        for i, step in enumerate(self.steps):
            end = self.steps[i + 1].on if i + 1 < len(self.steps) else None
            attributes = {"level": step.level, "gi_type": step.gi_type}
            expires = (step.valid_until + 1 if self.kind == "certification"
                       and step.status in ("valid", "suspended") and step.valid_until is not None
                       else None)
            if expires is not None and expires < (end if end is not None else expires + 1):
                if step.on < expires:
                    result.append(Segment(step.on, expires, step.tenant, step.status, attributes))
                result.append(Segment(max(expires, step.on), end, step.tenant, "expired",
                                      attributes))
            else:
                result.append(Segment(step.on, end, step.tenant, step.status, attributes))
        return [s for s in result if s.end is None or s.start < s.end]

    def units(self, kind: str) -> list[tuple[str, list[Segment]]]:
        """The counted units of a family kind: the record itself, or its items."""
        segments = self.segments()
        if kind != ITEM_KIND:
            return [("", segments)] if kind == self.kind else []
        if self.kind != "certification":
            return []
        units = []
        for number, (issued, withdrawn) in sorted(self.items.items()):
            item_segments = []
            for s in segments:
                held = ITEM_HELD if s.status in ("valid", "suspended") else "not_held"
                for start, end, status in ((max(s.start, issued), _min_end(s.end, withdrawn),
                                            held),
                                           (max(s.start, withdrawn or 0), s.end, "withdrawn")):
                    if status == "withdrawn" and withdrawn is None:
                        continue
                    if end is not None and start >= end:
                        continue
                    item_segments.append(Segment(start, end, s.tenant, status, s.attributes))
            item_segments.sort(key=lambda seg: seg.start)
            units.append((number, item_segments))
        return units


def _min_end(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


@dataclass(frozen=True)
class Fact:
    """A unit counting for a family on [start, end) in a tenant, first reached in `year`."""

    family: str
    tenant: str
    start: int
    end: int | None
    first_year: int | None


def family_facts(family: Family, segments: list[Segment]) -> list[Fact]:
    """When one unit counts for a family, in which tenant, and since which first-reach year."""
    facts: list[Fact] = []
    if family.form == "held":
        for s in segments:
            if s.status in family.statuses and family.matches(s.attributes):
                facts.append(Fact(family.name, s.tenant, s.start, s.end, None))
        return _merge(facts)
    reached = next((s.start for s in segments
                    if s.status in family.statuses and family.matches(s.attributes)), None)
    if reached is None:
        return []
    year = dt.date.fromordinal(reached).year
    for s in segments:
        if s.end is not None and s.end <= reached:
            continue
        if s.status in family.exclude or not family.matches(s.attributes):
            continue
        facts.append(Fact(family.name, s.tenant, max(s.start, reached), s.end, year))
    return _merge(facts)


def _merge(facts: list[Fact]) -> list[Fact]:
    """Join adjacent facts of the same tenant and year (e.g. valid then suspended)."""
    merged: list[Fact] = []
    for fact in facts:
        last = merged[-1] if merged else None
        if (last and last.end == fact.start and last.tenant == fact.tenant
                and last.first_year == fact.first_year):
            merged[-1] = Fact(last.family, last.tenant, last.start, fact.end, last.first_year)
        else:
            merged.append(fact)
    return merged


def record_intervals(timeline: Timeline, families: Iterable[Family]) -> tuple[list[Interval],
                                                                              list[Fact]]:
    """The record's own metric intervals (record/item families) and its facts for holder
    families (combined across the holder's records elsewhere)."""
    intervals: list[Interval] = []
    holder_facts: list[Fact] = []
    units: dict[str, list] = {}
    for family in families:
        if family.kind not in units:
            units[family.kind] = timeline.units(family.kind)
        for _, segments in units[family.kind]:
            facts = family_facts(family, segments)
            if family.by_holder:
                holder_facts.extend(facts)
            else:
                intervals.extend((f.tenant, family.metric(f.first_year), f.start, f.end)
                                 for f in facts)
    return intervals, holder_facts


def holder_intervals(family: Family, facts: list[Fact], ancestors_of) -> list[Interval]:
    """A holder's intervals per ancestor tenant A: counted while any of its units counts in
    A's subtree; the first-reach year is the earliest among those counting units."""
    by_ancestor: dict[str, list[Fact]] = {}
    for fact in facts:
        for code in ancestors_of(fact.tenant):
            by_ancestor.setdefault(code, []).append(fact)
    intervals: list[Interval] = []
    for code, group in by_ancestor.items():
        points = sorted({f.start for f in group} | {f.end for f in group if f.end is not None})
        pieces: list[tuple[int, int | None, int | None]] = []
        for i, start in enumerate(points):
            end = points[i + 1] if i + 1 < len(points) else None
            active = [f for f in group if f.start <= start and (f.end is None or f.end > start)]
            if not active:
                continue
            years = [f.first_year for f in active if f.first_year is not None]
            year = min(years) if years else None
            if pieces and pieces[-1][1] == start and pieces[-1][2] == year:
                pieces[-1] = (pieces[-1][0], end, year)
            else:
                pieces.append((start, end, year))
        intervals.extend((code, family.metric(year), start, end) for start, end, year in pieces)
    return intervals
