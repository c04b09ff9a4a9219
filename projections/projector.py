"""The projector: follows the global event order and updates the read models exactly once.

Each page of notifications is folded in memory and written in ONE transaction together with
the tracking position, which is advanced with a compare-and-set: a second projector (or a
crash and restart) can never apply a page twice. Positions are read with "greater than the
last one seen", so gaps left by failed writes are harmless and, because the PostgreSQL
recorder inserts under a table lock, an event that commits late is never skipped.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from eventsourcing.utils import get_topic
from sqlalchemy import Engine, select, update

from events import RECORD_EVENT_CLASSES
from events.store import EventLog
from projections.families import Family, FamilySet, ITEM_KIND
from projections.sqlwrite import PageWriter, page_writer
from projections.state import RecordState, utc_naive
from projections.tables import ReadModel, live_generation, read_model
from projections.timeline import Fact, family_facts, holder_intervals, record_intervals

RECORD_TOPICS = frozenset(get_topic(cls) for cls in RECORD_EVENT_CLASSES)
TRACKING_NAME = "counts"
CHUNK = 500


class ConcurrentProjector(Exception):
    """Another projector advanced the tracking position first; this page was not applied."""


@dataclass
class PageChanges:
    """Everything one page writes."""

    records: dict[str, RecordState] = field(default_factory=dict)
    holders: dict[str, dict[str, Any]] = field(default_factory=dict)
    loaded_holders: dict[str, dict[str, Any]] = field(default_factory=dict)
    inserts: list[tuple] = field(default_factory=list)
    closes: list[tuple] = field(default_factory=list)
    deltas: dict[tuple[str, str, int], int] = field(default_factory=lambda: defaultdict(int))

    def add_delta(self, tenants: Iterable[str], metric: str, day: int, amount: int) -> None:
        deltas = self.deltas
        for tenant in tenants:
            deltas[(tenant, metric, day)] += amount


class Projector:
    """Applies pages of the event log to one set of read-model tables."""

    def __init__(self, log: EventLog, engine: Engine, lineage: Callable[[str], list[str]],
                 families: FamilySet, generation: int | None = None,
                 name: str = TRACKING_NAME):
        """`generation` None follows the live generation (switching after a rebuild)."""
        self.log = log
        self.engine = engine
        self.lineage = lineage
        self.families = families
        self.generation = generation
        self.name = name
        self.model: ReadModel = read_model(generation or 1)
        self._tracking_ready = False
        self._writers: dict[tuple[int, str], PageWriter] = {}
        self._record_families: dict[str, list[Family]] = {}
        self._holder_families: dict[str, list[Family]] = {}
        for kind in ("certification", "standard", "award", "gi"):
            kinds = [kind] + ([ITEM_KIND] if kind == "certification" else [])
            found = [f for k in kinds for f in families.for_kind(k)]
            self._record_families[kind] = [f for f in found if not f.by_holder]
            self._holder_families[kind] = [f for f in found if f.by_holder]

    # Tracking ----------------------------------------------------------------------------

    def _follow(self) -> None:
        if self.generation is None:
            model = read_model(live_generation(self.engine))
            if model is not self.model:
                self.model = model
                self._tracking_ready = False
        if not self._tracking_ready:
            self._ensure_tracking_row()
            self._tracking_ready = True

    def ensure_tracking(self) -> None:
        self._follow()

    def _ensure_tracking_row(self) -> None:
        with self.engine.begin() as conn:
            t = self.model.tracking
            if conn.execute(select(t.c.position).where(t.c.name == self.name)).first() is None:
                conn.execute(t.insert().values(name=self.name, position=0, events=0,
                                               updated_at=utc_naive(dt.datetime.now(dt.timezone.utc))))

    def position(self) -> int:
        with self.engine.connect() as conn:
            t = self.model.tracking
            value = conn.execute(select(t.c.position).where(t.c.name == self.name)).scalar()
            return value or 0

    # Processing --------------------------------------------------------------------------

    def process_page(self, limit: int = 2000) -> int:
        """Apply the next page; return how many notifications it consumed (0: caught up)."""
        self._follow()
        start = self.position()
        notifications = self.log.recorder.select_notifications(
            start=start, limit=limit, inclusive_of_start=False)
        if not notifications:
            return 0
        events = [(n.id, self.log.mapper.to_domain_event(n)) for n in notifications
                  if n.topic in RECORD_TOPICS]
        changes = self._fold(events)
        self._write(start, notifications[-1].id, len(events), changes)
        return len(notifications)

    def _fold(self, events: list[tuple[int, Any]]) -> PageChanges:
        changes = PageChanges()
        states = self._load_records({e.originator_id.hex for _, e in events})
        holder_records, holders = self._load_holder_records(states, events)
        # Every holder the page may touch, including one whose records all moved to other
        # holders: its rows (and next_seq) live on in rm_holders.
        changes.loaded_holders = self._load_holders(
            [f"{family.name}|{holder}" for holder in sorted(holders)
             for families in self._holder_families.values() for family in families])
        facts_cache: dict[str, dict[str, list[Fact]]] = defaultdict(dict)
        for position, event in events:
            rid = event.originator_id.hex
            state = states.get(rid)
            if state is None:
                state = states[rid] = RecordState.new(event)
            old_holder = state.holder_uscc
            old_facts = self._holder_facts(state, facts_cache)
            state.apply(event, position)
            changes.records[rid] = state
            known = utc_naive(event.timestamp)
            self._refresh_record(state, known, changes)
            facts_cache.pop(rid, None)
            if old_holder == state.holder_uscc and old_facts == self._holder_facts(
                    state, facts_cache):
                continue  # nothing a holder family counts has changed
            for holder in {old_holder, state.holder_uscc} - {None}:
                members = holder_records.setdefault(holder, {})
                if state.holder_uscc == holder:
                    members[rid] = state
                else:
                    members.pop(rid, None)
                self._refresh_holder(state.kind, holder, members, known, changes, facts_cache)
        return changes

    def _holder_facts(self, state: RecordState,
                      cache: dict[str, dict[str, list[Fact]]]) -> dict[str, list[Fact]]:
        """The record's facts for each holder family of its kind (cached until it changes)."""
        cached = cache[state.record_id]
        for family in self._holder_families[state.kind]:
            if family.name not in cached:
                cached[family.name] = [
                    fact for _, segments in state.timeline.units(family.kind)
                    for fact in family_facts(family, segments)]
        return {f.name: cached[f.name] for f in self._holder_families[state.kind]}

    def _refresh_record(self, state: RecordState, known: dt.datetime,
                        changes: PageChanges) -> None:
        new_intervals, _ = record_intervals(state.timeline, self._record_families[state.kind])
        state.rows, state.next_seq = self._diff(
            state.record_id, state.rows, state.next_seq, new_intervals, known, changes,
            rollup=True)

    def _refresh_holder(self, kind: str, holder: str, members: dict[str, RecordState],
                        known: dt.datetime, changes: PageChanges,
                        cache: dict[str, dict[str, list[Fact]]]) -> None:
        member_facts = [self._holder_facts(member, cache) for member in members.values()]
        for family in self._holder_families[kind]:
            facts = [fact for found in member_facts for fact in found.get(family.name, ())]
            owner = f"{family.name}|{holder}"
            current = (changes.holders.get(owner) or changes.loaded_holders.get(owner)
                       or {"owner": owner, "rows": [], "next_seq": 0})
            intervals = holder_intervals(family, facts, self.lineage)
            rows, next_seq = self._diff(owner, current["rows"], current["next_seq"], intervals,
                                        known, changes, rollup=False)
            changes.holders[owner] = {"owner": owner, "rows": rows, "next_seq": next_seq}

    def _diff(self, owner: str, rows: list[list], next_seq: int, intervals: list,
              known: dt.datetime, changes: PageChanges, rollup: bool) -> tuple[list[list], int]:
        """Close the rows that no longer hold, open the new ones, and record the deltas."""
        wanted: dict[tuple, int] = defaultdict(int)
        for interval in intervals:
            wanted[tuple(interval)] += 1
        kept: list[list] = []
        for row in rows:
            key = (row[1], row[2], row[3], row[4])
            if wanted.get(key, 0) > 0:
                wanted[key] -= 1
                kept.append(row)
                continue
            changes.closes.append((known, owner, row[0]))
            self._delta(changes, row[1], row[2], row[3], row[4], -1, rollup)
        for (tenant, metric, start, end), count in wanted.items():
            for _ in range(count):
                kept.append([next_seq, tenant, metric, start, end])
                changes.inserts.append((owner, next_seq, tenant, metric, start, end, known))
                next_seq += 1
                self._delta(changes, tenant, metric, start, end, +1, rollup)
        return kept, next_seq

    def _delta(self, changes: PageChanges, tenant: str, metric: str, start: int,
               end: int | None, sign: int, rollup: bool) -> None:
        tenants = self.lineage(tenant) if rollup else [tenant]
        changes.add_delta(tenants, metric, start, sign)
        if end is not None:
            changes.add_delta(tenants, metric, end, -sign)

    # Loading -----------------------------------------------------------------------------

    def _load_records(self, record_ids: set[str]) -> dict[str, RecordState]:
        table = self.model.records
        states: dict[str, RecordState] = {}
        ids = sorted(record_ids)
        with self.engine.connect() as conn:
            for i in range(0, len(ids), CHUNK):
                for row in conn.execute(select(table).where(table.c.record_id.in_(ids[i:i + CHUNK]))):
                    states[row.record_id] = RecordState.from_row(row)
        return states

    def _load_holder_records(self, states: dict[str, RecordState],
                             events: list[tuple[int, Any]]
                             ) -> tuple[dict[str, dict[str, RecordState]], set[str]]:
        """Every record of every holder this page may touch (holder families need them all)."""
        holders = {s.holder_uscc for s in states.values() if s.holder_uscc}
        for _, event in events:
            for name in ("holder", "lead", "awardee", "applicant"):
                value = getattr(event, name, None)
                if value:
                    holders.add(value["uscc"])
            for value in (getattr(event, "changes", None) or {}).values():
                if isinstance(value, dict) and "uscc" in value:
                    holders.add(value["uscc"])
        table = self.model.records
        members: dict[str, dict[str, RecordState]] = defaultdict(dict)
        wanted = sorted(holders)
        with self.engine.connect() as conn:
            for i in range(0, len(wanted), CHUNK):
                query = select(table).where(table.c.holder_uscc.in_(wanted[i:i + CHUNK]))
                for row in conn.execute(query):
                    state = states.setdefault(row.record_id, RecordState.from_row(row))
                    members[state.holder_uscc][state.record_id] = state
        return members, holders

    def _load_holders(self, owners: list[str]) -> dict[str, dict[str, Any]]:
        table = self.model.holders
        found: dict[str, dict[str, Any]] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(owners), CHUNK):
                query = select(table).where(table.c.owner.in_(owners[i:i + CHUNK]))
                for row in conn.execute(query):
                    found[row.owner] = {"owner": row.owner, "rows": row.rows,
                                        "next_seq": row.next_seq}
        return found

    # Writing -----------------------------------------------------------------------------

    def _write(self, start: int, end: int, event_count: int, changes: PageChanges) -> None:
        model = self.model
        with self.engine.begin() as conn:
            tracking = model.tracking
            advanced = conn.execute(
                update(tracking).where(tracking.c.name == self.name,
                                       tracking.c.position == start)
                .values(position=end, events=tracking.c.events + event_count,
                        updated_at=utc_naive(dt.datetime.now(dt.timezone.utc))))
            if advanced.rowcount != 1:
                raise ConcurrentProjector(f"tracking moved past {start}; page not applied")
            self._writer(conn.dialect.name).write(conn, changes)

    def _writer(self, dialect: str) -> PageWriter:
        key = (self.model.generation, dialect)
        if key not in self._writers:
            self._writers[key] = page_writer(self.model, dialect)
        return self._writers[key]

    def catch_up(self, limit: int = 2000, until: int | None = None,
                 progress: Callable[[int], None] | None = None) -> int:
        """Apply pages until the log is exhausted (or `until` is reached); return the count."""
        total = 0
        while True:
            if until is not None and self.position() >= until:
                return total
            done = self.process_page(limit)
            if not done:
                return total
            total += done
            if progress:
                progress(done)


__all__ = ["ConcurrentProjector", "Family", "Projector", "RECORD_TOPICS"]
