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

from events import AWARD_LEVELS, GI_TYPES, STATES

FORMS = ("held", "ever")
UNIT_KINDS = ("certification", "international_certificate", "standard", "award", "gi")
ITEM_KIND = "international_certificate"
ITEM_HELD = "valid"  # an item is "valid" (held) while not withdrawn and its certificate
                     # is valid or suspended


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
    """The breakdown of GET /v1/tenants/{code}/counts."""
    families = [Family(f"{kind}.{state}", kind, "held", frozenset({state}))
                for kind, states in STATES.items() for state in states]
    families.append(Family("certification.holders_valid", "certification", "held",
                           frozenset({"valid"}), distinct="holder"))
    families.append(Family("international_certificate.held", ITEM_KIND, "held",
                           frozenset({ITEM_HELD}), distinct="item"))
    families += [Family(f"award.granted_by_level.{level}", "award", "held", frozenset({"granted"}),
                        where=(("level", frozenset({level})),)) for level in AWARD_LEVELS]
    families += [Family(f"gi.registered_by_type.{t}", "gi", "held", frozenset({"registered"}),
                        where=(("gi_type", frozenset({t})),)) for t in GI_TYPES]
    return families


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

    def is_by_holder(self, metric: str) -> bool:
        family = self.by_name.get(metric.split("@", 1)[0])
        return bool(family and family.by_holder)
