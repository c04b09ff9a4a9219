"""Reads served from the read models: dated counts, record search, readiness."""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from typing import Any, Iterable

from sqlalchemy import Engine, and_, case, func, or_, select

from events import KIND_SPECS
from projections.families import FamilySet
from projections.projector import TRACKING_NAME
from projections.state import utc_naive
from projections.record_search import RecordQueries
from projections.switching import retry_after_a_switch
from projections.tables import ReadModel, live_generation, read_model
from tenants.errors import Unavailable
from tenants.scope import Scope

LIVE_GENERATION_SECONDS = 1.0


class ReadModels(RecordQueries):
    """Queries over one set of read-model tables."""

    def __init__(self, engine: Engine, families: FamilySet, generation: int | None = None,
                 name: str = TRACKING_NAME) -> None:
        """`generation` None reads whichever generation is live at each call."""
        self.engine = engine
        self.families = families
        self.generation = generation
        self.name = name
        self._live: tuple[int, float] | None = None

    @property
    def model(self) -> ReadModel:
        """The tables to read: the fixed generation, or the live one (remembered for a
        second; a rebuild drops the old generation only after a longer grace period)."""
        if self.generation:
            return read_model(self.generation)
        now = time.monotonic()
        if self._live is None or now - self._live[1] > LIVE_GENERATION_SECONDS:
            self._live = (live_generation(self.engine), now)
        return read_model(self._live[0])

    # Positions ---------------------------------------------------------------------------

    @retry_after_a_switch
    def position(self) -> int:
        t = self.model.tracking
        with self.engine.connect() as conn:
            return conn.execute(select(t.c.position).where(t.c.name == self.name)).scalar() or 0

    def wait_for(self, min_position: int | None, timeout: float) -> int:
        """The position the read models reflect, once it reaches `min_position` (503 after
        `timeout` seconds)."""
        position = self.position()
        if min_position is None or position >= min_position:
            return position
        deadline = time.monotonic() + timeout
        delay = 0.01
        while time.monotonic() < deadline:
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
            position = self.position()
            if position >= min_position:
                return position
        raise Unavailable(f"The read models are at position {position}, not yet at "
                          f"{min_position}; retry shortly.", retry_after=1, position=position,
                          min_position=min_position)

    # Series ------------------------------------------------------------------------------

    @retry_after_a_switch
    def sums(self, tenants: list[str], metrics: Iterable[str] | None,
             day: dt.date) -> dict[tuple[str, str], int]:
        """The value of each (tenant, metric) series on `day`: the totals of the earlier
        years and of this year's earlier months, plus this month's changes up to the day
        (summed in the database, so at most a month of days is unpacked per series)."""
        from sqlalchemy import BigInteger, Integer, cast  # local: the imports are not mine

        s = self.model.series
        if self.engine.dialect.name == "postgresql":
            each = func.jsonb_each_text(s.c.days).table_valued("key", "value")
        else:
            each = func.json_each(s.c.days).table_valued("key", "value")
        to_day = (select(func.coalesce(func.sum(cast(each.c.value, BigInteger)), 0))
                  .where(cast(each.c.key, Integer) <= day.day)
                  .scalar_subquery())
        value = func.sum(case((or_(s.c.month == 0, s.c.month < day.month), s.c.total),
                              else_=to_day))
        rows = or_(and_(s.c.month == 0, s.c.year < day.year),
                   and_(s.c.year == day.year, s.c.month.between(1, day.month)))
        query = (select(s.c.tenant, s.c.metric, value)
                 .where(s.c.tenant.in_(tenants), rows)
                 .group_by(s.c.tenant, s.c.metric))
        if metrics is not None:
            query = query.where(s.c.metric.in_(sorted(set(metrics))))
        with self.engine.connect() as conn:
            return {(tenant, metric): int(total)
                    for tenant, metric, total in conn.execute(query) if total}

    @retry_after_a_switch
    def sums_known_at(self, scope: Scope, tenants: list[str], metrics: Iterable[str],
                      day: dt.date, known_at: dt.datetime) -> dict[tuple[str, str], int]:
        """The same values as the registry knew them at `known_at` (from the bitemporal
        intervals; slower than `sums`, which reflects current knowledge)."""
        model = self.model
        iv = model.intervals
        known = utc_naive(known_at)
        metrics = sorted(set(metrics))
        subtree = sorted(set().union(*(scope.tree.subtree(t) for t in tenants)))
        query = (select(iv.c.tenant, iv.c.up_to, iv.c.metric, func.count())
                 .where(iv.c.metric.in_(metrics), iv.c.tenant.in_(subtree),
                        iv.c.valid_from <= day,
                        or_(iv.c.valid_to.is_(None), iv.c.valid_to > day),
                        iv.c.known_from <= known,
                        or_(iv.c.known_to.is_(None), iv.c.known_to > known))
                 .group_by(iv.c.tenant, iv.c.up_to, iv.c.metric))
        wanted = set(tenants)
        result: dict[tuple[str, str], int] = defaultdict(int)
        with self.engine.connect() as conn:
            for tenant, up_to, metric, count in conn.execute(query):
                # a record's row is rolled up to every ancestor, a holder's up to `up_to`
                for code in scope.tree.lineage(tenant):
                    if code in wanted:
                        result[(code, metric)] += count
                    if code == up_to:
                        break
        return dict(result)

    # Counts ------------------------------------------------------------------------------

    def counts(self, scope: Scope, code: str, as_of: dt.date, known_at: dt.datetime | None,
               position: int) -> dict[str, Any]:
        """Counts by kind and state for the subtree of `code` and for each child."""
        tenant = scope.visible_tenant(code)
        children = scope.tree.children(code)
        codes = [code] + [c.code for c in children]
        metrics = [f.name for f in self.families.by_name.values()
                   if not f.name.startswith("m.")]
        if known_at is None:
            sums = self.sums(codes, metrics, as_of)
        else:
            sums = self.sums_known_at(scope, codes, metrics, as_of, known_at)
        kinds = scope.readable_kinds()
        return {
            "tenant": tenant.as_json(), "as_of": as_of, "known_at": known_at,
            "position": position, "counts": shape_counts(sums, code, kinds),
            "children": [{"tenant": c.as_json(), "counts": shape_counts(sums, c.code, kinds)}
                         for c in children],
        }

    # Readiness ---------------------------------------------------------------------------

    @retry_after_a_switch
    def tracking(self) -> dict[str, Any]:
        t = self.model.tracking
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.name == self.name)).first()
        if row is None:
            return {"position": 0, "events": 0, "updated_at": None}
        return {"position": row.position, "events": row.events, "updated_at": row.updated_at}


def shape_counts(sums: dict[tuple[str, str], int], code: str,
                 kinds: frozenset[str]) -> dict[str, Any]:
    """The DESIGN.md counts object for one tenant (only the kinds the caller may read)."""
    value = lambda metric: sums.get((code, metric), 0)  # noqa: E731
    counts: dict[str, Any] = {}
    for name, kind in KIND_SPECS.items():
        if name not in kinds:
            continue
        shown = counts[name] = {state: value(f"{name}.{state}") for state in kind.states}
        if kind.holders_in:
            metric = f"holders_{kind.holders_in}"
            shown[metric] = value(f"{name}.{metric}")
        for b in kind.breakdowns:
            shown[b.name] = {v: value(f"{name}.{b.name}.{v}") for v in b.values}
        if kind.items:
            counts[kind.items.kind] = {"held": value(f"{kind.items.kind}.held")}
    return counts
