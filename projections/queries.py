"""Reads served from the read models: dated counts, record search, readiness."""

from __future__ import annotations

import base64
import datetime as dt
import json
import functools
import time
from collections import defaultdict
from typing import Any, Iterable

from sqlalchemy import Engine, and_, case, func, or_, select
from sqlalchemy.exc import OperationalError, ProgrammingError

from events import KIND_SPECS, STATES, status_on
from projections.families import FamilySet
from projections.projector import TRACKING_NAME
from projections.state import utc_naive
from projections.tables import ReadModel, live_generation, read_model
from tenants.errors import InvalidInput, Unavailable
from tenants.scope import Scope

LIVE_GENERATION_SECONDS = 1.0
EXPIRY_WINDOWS = (30, 90, 180)
PUBLIC_RESULTS = 20


def _retry_after_a_switch(method):
    """Run again once on the new generation when a rebuild dropped the one remembered."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except (ProgrammingError, OperationalError) as exc:
            if self.generation or self._live is None or not _missing_table(exc):
                raise
            self._live = None
        try:
            return method(self, *args, **kwargs)
        except (ProgrammingError, OperationalError) as exc:
            if not _missing_table(exc):
                raise
            # The live generation lacks a table or column this version reads: read models
            # built by an older version, which the projector rebuilds when it starts.
            raise Unavailable("The read models are being rebuilt; retry shortly.",
                              retry_after=5) from None

    return wrapper


def _missing_table(exc: Exception) -> bool:
    text = str(exc).lower()
    return any(words in text for words in ("no such table", "no such column",
                                           "does not exist"))


class ReadModels:
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

    @_retry_after_a_switch
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

    @_retry_after_a_switch
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

    @_retry_after_a_switch
    def sums_known_at(self, scope: Scope, tenants: list[str], metrics: Iterable[str],
                      day: dt.date, known_at: dt.datetime) -> dict[tuple[str, str], int]:
        """The same values as the registry knew them at `known_at` (from the bitemporal
        intervals; slower than `sums`, which reflects current knowledge)."""
        model = self.model
        iv = model.intervals
        known = utc_naive(known_at)
        metrics = sorted(set(metrics))
        subtree = sorted(set().union(*(scope.tree.subtree(t) for t in tenants)))
        query = (select(iv.c.tenant, iv.c.metric, func.count())
                 .where(iv.c.metric.in_(metrics), iv.c.tenant.in_(subtree),
                        iv.c.valid_from <= day,
                        or_(iv.c.valid_to.is_(None), iv.c.valid_to > day),
                        iv.c.known_from <= known,
                        or_(iv.c.known_to.is_(None), iv.c.known_to > known))
                 .group_by(iv.c.tenant, iv.c.metric))
        wanted = set(tenants)
        result: dict[tuple[str, str], int] = defaultdict(int)
        with self.engine.connect() as conn:
            for tenant, metric, count in conn.execute(query):
                if self.families.is_by_holder(metric):
                    if tenant in wanted:
                        result[(tenant, metric)] += count
                    continue
                for code in scope.tree.lineage(tenant):
                    if code in wanted:
                        result[(code, metric)] += count
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

    # Expiry watch ------------------------------------------------------------------------

    @_retry_after_a_switch
    def expiring(self, scope: Scope, code: str, today: dt.date,
                 windows: tuple[int, ...] = EXPIRY_WINDOWS, listed: int = 20) -> dict[str, Any]:
        """Certificates of the subtree still valid or suspended whose validity ends within
        each window of days from today, for the tenant and each child, and the soonest."""
        scope.visible_tenant(code)
        r = self.model.records
        lapsing = [and_(r.c.kind == name, r.c.status.in_(sorted(kind.lapse.states)))
                   for name, kind in KIND_SPECS.items()
                   if kind.lapse and name in scope.readable_kinds()]
        if not lapsing:
            return {"windows": list(windows), "from": today, "to": today, "total": {},
                    "children": [], "soonest": []}
        last = today + dt.timedelta(days=max(windows))
        live = and_(or_(*lapsing), r.c.voided.is_(False), r.c.valid_until >= today,
                    r.c.valid_until <= last, r.c.tenant.in_(sorted(scope.tree.subtree(code))))
        buckets = [func.sum(case((r.c.valid_until <= today + dt.timedelta(days=w), 1),
                                 else_=0)) for w in windows]
        with self.engine.connect() as conn:
            per_tenant = conn.execute(select(r.c.tenant, *buckets).where(live)
                                      .group_by(r.c.tenant)).all()
            soonest = conn.execute(select(r).where(live).order_by(r.c.valid_until, r.c.key)
                                   .limit(listed)).all()
        children = {c.code: [0] * len(windows) for c in scope.tree.children(code)}
        total = [0] * len(windows)
        for tenant, *numbers in per_tenant:
            child = next((c for c in scope.tree.lineage(tenant) if c in children), None)
            for n, number in enumerate(numbers):
                total[n] += int(number or 0)
                if child is not None:
                    children[child][n] += int(number or 0)
        return {"windows": list(windows), "from": today, "to": last,
                "total": dict(zip(windows, total)),
                "children": [{"tenant": scope.tree.get(c).as_json(),
                              "counts": dict(zip(windows, numbers))}
                             for c, numbers in children.items()],
                "soonest": [record_summary(row, today) for row in soonest]}

    # Public search -----------------------------------------------------------------------

    @_retry_after_a_switch
    def public_search(self, q: str, today: dt.date, limit: int = PUBLIC_RESULTS
                      ) -> list[dict[str, Any]]:
        """Records anyone may look up: by exact key, exact USCC, or holder-name prefix (at
        least 2 characters), voided ones never; at most `limit`, public fields only."""
        r = self.model.records
        text = q.strip()
        matches = [r.c.key == text]
        if len(text) == 18:
            matches.append(r.c.holder_uscc == text.upper())
        if len(text) >= 2:
            matches.append(r.c.holder_name.startswith(text, autoescape=True))
        query = (select(r.c.kind, r.c.key, r.c.status, r.c.valid_until, r.c.holder_name)
                 .where(r.c.voided.is_(False), or_(*matches))
                 .order_by(r.c.kind, r.c.key).limit(limit))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [{"kind": row.kind, "record": row.key, "holder_name": row.holder_name,
                 "status": status_on(row.kind, row.status, row.valid_until, today),
                 "valid_until": row.valid_until, "checked_on": today} for row in rows]

    # Records -----------------------------------------------------------------------------

    @_retry_after_a_switch
    def search(self, scope: Scope, today: dt.date, kind: str | None = None,
               tenant: str | None = None, status: str | None = None, holder: str | None = None,
               q: str | None = None, include_voided: bool = False, limit: int = 50,
               cursor: str | None = None, valid_until_from: dt.date | None = None,
               valid_until_to: dt.date | None = None) -> dict[str, Any]:
        """Records in scope matching the filters, ordered by (kind, key), a page at a time
        (`valid_until_from`/`_to`: certificates whose validity ends in those days, the
        expiry watch)."""
        model = self.model
        r = model.records
        kinds = sorted(scope.readable_kinds() & ({kind} if kind else set(STATES)))
        if tenant is not None:
            scope.visible_tenant(tenant)
            tenants = scope.tree.subtree(tenant)
        else:
            tenants = frozenset(scope.visible_tenants())
        conditions = [r.c.kind.in_(kinds)]
        if not scope.is_operator and len(tenants) < len(scope.tree):
            conditions.append(r.c.tenant.in_(sorted(tenants)))
        if not include_voided:
            conditions.append(r.c.voided.is_(False))
        if status:
            conditions.append(_status_condition(r, status, today))
        if holder:
            conditions.append(r.c.holder_uscc == holder.upper() if len(holder) == 18
                              else r.c.holder_name.contains(holder, autoescape=True))
        if q:
            conditions.append(or_(r.c.key.contains(q, autoescape=True),
                                  r.c.label.contains(q, autoescape=True),
                                  r.c.holder_name.contains(q, autoescape=True)))
        if valid_until_from is not None:
            conditions.append(r.c.valid_until >= valid_until_from)
        if valid_until_to is not None:
            conditions.append(r.c.valid_until <= valid_until_to)
        if cursor:
            last_kind, last_key = _decode_cursor(cursor)
            conditions.append(or_(r.c.kind > last_kind,
                                  and_(r.c.kind == last_kind, r.c.key > last_key)))
        query = (select(r).where(*conditions).order_by(r.c.kind, r.c.key).limit(limit + 1))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        more = len(rows) > limit
        rows = rows[:limit]
        return {"records": [record_summary(row, today) for row in rows],
                "next": _encode_cursor(rows[-1].kind, rows[-1].key) if more and rows else None}

    # Readiness ---------------------------------------------------------------------------

    @_retry_after_a_switch
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


def _status_condition(r, status: str, today: dt.date):
    known = {s for states in STATES.values() for s in states}
    if status not in known:
        raise InvalidInput({"status": [f"Must be one of {', '.join(sorted(known))}."]})
    conditions = [r.c.status == status]
    for name, kind in KIND_SPECS.items():  # a lapsed record is in its lapse's state
        if kind.lapse is None:
            continue
        lapsed = and_(r.c.kind == name, r.c.status.in_(sorted(kind.lapse.states)),
                      r.c.valid_until < today)
        if status == kind.lapse.to:
            conditions = [or_(*conditions, lapsed)]
        elif status in kind.lapse.states:
            conditions.append(~lapsed)
    return and_(*conditions)


def record_summary(row: Any, today: dt.date) -> dict[str, Any]:
    return {
        "kind": row.kind, "record": row.key, "tenant": row.tenant,
        "status": status_on(row.kind, row.status, row.valid_until, today),
        "voided": row.voided,
        "holder": {"name": row.holder_name, "uscc": row.holder_uscc} if row.holder_uscc else None,
        "label": row.label, "valid_until": row.valid_until, "level": row.level,
        "gi_type": row.gi_type, "created_on": row.created_on,
        "last_occurred_on": row.last_occurred_on, "version": row.version,
        "position": row.position,
    }


def _encode_cursor(kind: str, key: str) -> str:
    raw = json.dumps([kind, key], ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        kind, key = json.loads(raw)
        if not isinstance(kind, str) or not isinstance(key, str):
            raise ValueError
        return kind, key
    except (ValueError, TypeError, UnicodeDecodeError):
        raise InvalidInput({"cursor": ["Not a cursor returned by this endpoint."]}) from None
