"""Metric families: what the projector counts for every record, on every date.

A family says which units count (records, international-certificate items, or holders by
USCC), in which states, with which attribute filters, in which form:
- `held`: the unit is in one of `statuses` on the date;
- `ever`: the unit reached one of `statuses` on or before the date and is not in an
  `exclude` state then; its metric carries the year it first reached them (`name@2019`), so
  "new in a period starting 1 January Y" is the sum over years >= Y.
The counts endpoint's breakdown and every measure of measures.json are families.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from events import KIND_SPECS

FORMS = ("held", "ever")
ITEM_HELD = "valid"  # an item is "valid" (held) while not withdrawn and its record is in
                     # one of its Items.held_while states


@dataclass(frozen=True)
class Family:
    """One counted series per tenant (and per first-reach year for the `ever` form)."""

    name: str
    kind: str
    form: str
    statuses: frozenset[str]
    distinct: str = "record"
    where: tuple[tuple[str, frozenset[str]], ...] = ()
    exclude: frozenset[str] = frozenset()

    @property
    def by_holder(self) -> bool:
        return self.distinct == "holder"

    def signature(self) -> tuple:
        return (self.kind, self.form, self.statuses, self.distinct, self.where, self.exclude)

    def metric(self, first_year: int | None) -> str:
        return self.name if first_year is None else f"{self.name}@{first_year}"

    def matches(self, attributes: dict[str, Any]) -> bool:
        return all(attributes.get(name) in values for name, values in self.where)


def count_families() -> list[Family]:
    """The breakdown of GET /v1/tenants/{code}/counts, from each kind's declaration."""
    families = []
    for name, kind in KIND_SPECS.items():
        families += [Family(f"{name}.{state}", name, "held", frozenset({state}))
                     for state in kind.states]
        if kind.holders_in:
            families.append(Family(f"{name}.holders_{kind.holders_in}", name, "held",
                                   frozenset({kind.holders_in}), distinct="holder"))
        if kind.items:
            families.append(Family(f"{kind.items.kind}.held", kind.items.kind, "held",
                                   frozenset({ITEM_HELD}), distinct="item"))
        for b in kind.breakdowns:
            families += [Family(f"{name}.{b.name}.{value}", name, "held", frozenset({b.state}),
                                where=((b.attribute, frozenset({value})),))
                         for value in b.values]
    return families


def unit_kinds(kind: str) -> list[str]:
    """The family kinds a record of `kind` contributes to: itself and its items."""
    items = KIND_SPECS[kind].items
    return [kind] + ([items.kind] if items else [])


class FamilySet:
    """All families the projector maintains, deduplicated by definition."""

    def __init__(self, families: Iterable[Family], measures: dict[str, dict[str, str]] | None = None):
        self.by_name: dict[str, Family] = {}
        for family in families:
            self.by_name.setdefault(family.name, family)
        self.measures = measures or {}
        self.by_kind: dict[str, list[Family]] = {}
        for family in self.by_name.values():
            self.by_kind.setdefault(family.kind, []).append(family)

    @classmethod
    def build(cls, measures: dict[str, Any] | None) -> "FamilySet":
        """The count families plus an `ever` (and, for holdings, a `held`) family per measure."""
        families = count_families()
        by_signature = {f.signature(): f.name for f in families}
        measure_map: dict[str, dict[str, str]] = {}
        for key, spec in (measures or {}).items():
            if not spec:
                continue
            measure_map[key] = {}
            statuses = frozenset(spec.get("statuses") or spec.get("reached") or ())
            reached = frozenset(spec.get("reached") or statuses)
            where = tuple(sorted((k, frozenset(v)) for k, v in (spec.get("where") or {}).items()))
            common = dict(kind=spec["kind"], distinct=spec.get("distinct", "record"), where=where,
                          exclude=frozenset(spec.get("exclude_statuses") or ()))
            wanted = {"ever": Family(f"m.{key}.ever", form="ever", statuses=reached, **common)}
            if spec.get("statuses"):
                wanted["held"] = Family(f"m.{key}.held", form="held", statuses=statuses, **common)
            for form, family in wanted.items():
                name = by_signature.setdefault(family.signature(), family.name)
                if name == family.name:
                    families.append(family)
                measure_map[key][form] = name
        return cls(families, measure_map)

    def for_kind(self, kind: str) -> list[Family]:
        return self.by_kind.get(kind, [])

