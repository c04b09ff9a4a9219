"""The audit index: every event admins may audit, by tenant and position (issue 6).

A processor like the projector (its own tracking row, committed with its rows), over its own
append-only tables: `audit_events` (one row per audited event, its wire document included)
and `audit_tracking`. A transfer is indexed under both tenants, so each side sees it.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Iterator

from eventsourcing.utils import get_topic
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    or_,
    select,
)

from events import RECORD_EVENT_CLASSES
from events.store import EventLog
from events.wire import AUDITED_TYPES, audit_document, wire_time
from projections.db import copy_rows
from projections.ledger import ledger_fields
from projections.tracking import advance
from projections.state import utc_naive
from tenants.errors import InvalidInput, NotFound, OutOfScope
from tenants.scope import Scope

AUDITED_TOPICS = frozenset(get_topic(c) for c in (*RECORD_EVENT_CLASSES, *AUDITED_TYPES))
metadata = MetaData()
audit_events = Table(
    "audit_events", metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("tenant", String(6), nullable=False),
    Column("tenant_to", String(6)),
    Column("kind", String(16)),
    Column("type", String(48), nullable=False),
    Column("record", String(200)),
    Column("actor_id", String(64), nullable=False),
    Column("recorded_at", DateTime, nullable=False),
    Column("occurred_on", Date),
    Column("document", JSON, nullable=False),
    Index("ix_audit_events_tenant", "tenant", "position"),
    Index("ix_audit_events_tenant_to", "tenant_to", "position"),
    Index("ix_audit_events_record", "kind", "record", "position"),
)
audit_tracking = Table(
    "audit_tracking", metadata,
    Column("name", String(32), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("events", Integer, nullable=False),
)
NAME = "audit"
COLUMNS = ["position", "tenant", "tenant_to", "kind", "type", "record", "actor_id",
           "recorded_at", "occurred_on", "document"]
MAX_PAGE = 1000


def create_audit_tables(engine: Engine) -> None:
    metadata.create_all(engine)


def _wire(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, default=json_default)


def json_default(value: Any) -> Any:
    """JSON for what json cannot write itself, as the wire writes it."""
    if isinstance(value, dt.datetime):
        return wire_time(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


class AuditIndex:
    """Follows the log and indexes the audited events (a runner Processor)."""

    def __init__(self, log: EventLog, engine: Engine) -> None:
        self.log = log
        self.engine = engine

    def ensure_tracking(self) -> None:
        with self.engine.begin() as conn:
            found = conn.execute(select(audit_tracking.c.position)
                                 .where(audit_tracking.c.name == NAME)).first()
            if found is None:
                conn.execute(audit_tracking.insert().values(name=NAME, position=0, events=0))

    def position(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(audit_tracking.c.position)
                                .where(audit_tracking.c.name == NAME)).scalar() or 0

    def process_page(self, limit: int = 2000) -> int:
        start = self.position()
        notifications = self.log.recorder.select_notifications(
            start=start, limit=limit, inclusive_of_start=False)
        if not notifications:
            return 0
        sqlite = self.engine.dialect.name == "sqlite"
        rows = []
        for n in notifications:
            if n.topic not in AUDITED_TOPICS:
                continue
            event = self.log.mapper.to_domain_event(n)
            document = audit_document(n.id, event)
            recorded = utc_naive(event.timestamp)
            occurred = document.get("occurred_on")
            rows.append((
                n.id, document["tenant"], getattr(event, "to_tenant", None),
                getattr(event, "kind", None), document["type"], getattr(event, "key", None),
                document["actor"]["id"],
                recorded.isoformat(" ", "microseconds") if sqlite else recorded,
                occurred.isoformat() if sqlite and occurred else occurred,
                _wire(document)))
        with self.engine.begin() as conn:
            advance(conn, audit_tracking, NAME, start, notifications[-1].id, "audit",
                    events=audit_tracking.c.events + len(rows))
            if rows and sqlite:
                conn.exec_driver_sql(f"INSERT INTO audit_events ({', '.join(COLUMNS)}) "
                                     f"VALUES ({', '.join(['?'] * len(COLUMNS))})", rows)
            elif rows:
                copy_rows(conn, "audit_events", COLUMNS, rows)
        return len(notifications)


class AuditFeed:
    """Queries of the audit index, scoped to admins and auditors of a subtree."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def position(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(audit_tracking.c.position)
                                .where(audit_tracking.c.name == NAME)).scalar() or 0

    def _conditions(self, scope: Scope, code: str, filters: dict[str, Any]) -> list:
        if scope.tree.get(code) is None:
            raise NotFound(f"No tenant {code}.")
        if not scope.can_audit(code):
            raise OutOfScope(f"Only admins and auditors of {code}'s subtree read its audit "
                             "feed.", tenant=code)
        a = audit_events
        conditions = []
        subtree = scope.tree.subtree(code)
        if len(subtree) < len(scope.tree):
            codes = sorted(subtree)
            conditions.append(or_(a.c.tenant.in_(codes), a.c.tenant_to.in_(codes)))
        if filters.get("kind"):
            conditions.append(a.c.kind == filters["kind"])
        if filters.get("type"):
            conditions.append(a.c.type == filters["type"])
        if filters.get("actor"):
            conditions.append(a.c.actor_id == filters["actor"])
        if filters.get("actor_ids") is not None:  # an actor named by a name prefix
            conditions.append(a.c.actor_id.in_(sorted(filters["actor_ids"])))
        if filters.get("record"):
            conditions.append(a.c.record == filters["record"])
        if filters.get("from"):
            conditions.append(a.c.recorded_at >= utc_naive(filters["from"]))
        if filters.get("to"):
            conditions.append(a.c.recorded_at < utc_naive(filters["to"]))
        if filters.get("occurred_from"):
            conditions.append(a.c.occurred_on >= filters["occurred_from"])
        if filters.get("occurred_to"):
            conditions.append(a.c.occurred_on <= filters["occurred_to"])
        if (filters.get("from") and filters.get("to") and filters["from"] >= filters["to"]):
            raise InvalidInput({"to": ["Must be later than from."]})
        return conditions

    def page(self, scope: Scope, code: str, after: int | None, limit: int,
             filters: dict[str, Any], order: str = "asc",
             before: int | None = None) -> dict[str, Any]:
        """One page of the feed. Oldest first (`asc`): the events after `after`; `next` is
        the `after` of the following page. Newest first (`desc`): the events before
        `before` (the newest without it), or, given `after`, the page just newer than it;
        `next` is the `before` of the following (older) page, `prev` the `after` of the
        newer one. Positions never change, so the cursors stay stable while writes go on."""
        conditions = self._conditions(scope, code, filters)
        a = audit_events
        newer = order == "desc" and after is not None and before is None
        query = select(a.c.position, a.c.document).where(*conditions)
        if order == "asc" or newer:
            query = query.where(a.c.position > (after or 0)).order_by(a.c.position)
        else:
            if before is not None:
                query = query.where(a.c.position < before)
            query = query.order_by(a.c.position.desc())
        with self.engine.connect() as conn:
            rows = conn.execute(query.limit(limit + 1)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        if order == "asc":
            return {"events": [r.document for r in rows],
                    "next": rows[-1].position if more and rows else None}
        if newer:
            rows.reverse()
        top, bottom = (rows[0].position, rows[-1].position) if rows else (None, None)
        with self.engine.connect() as conn:
            newer_exists = top is not None and conn.execute(
                select(a.c.position).where(a.c.position > top, *conditions).limit(1)).first()
            older_exists = bottom is not None and (
                (more and not newer) or conn.execute(select(a.c.position).where(
                    a.c.position < bottom, *conditions).limit(1)).first())
        return {"events": [r.document for r in rows],
                "next": bottom if older_exists else None,
                "prev": top if newer_exists else None}

    def stream(self, scope: Scope, code: str, filters: dict[str, Any],
               page: int = MAX_PAGE) -> Iterator[tuple[int, dict[str, Any]]]:
        """Every matching (position, document), fetched a page at a time (constant memory).
        Scope is checked before the first row is produced. Record-event documents carry
        their tamper-evident ledger fields ({"prev", "hash"}) once sealed, so an export can
        be checked with `registry ledger verify --from-export`."""
        conditions = self._conditions(scope, code, filters)
        a = audit_events

        def rows() -> Iterator[tuple[int, dict[str, Any]]]:
            after = 0
            while True:
                query = (select(a.c.position, a.c.document)
                         .where(a.c.position > after, *conditions)
                         .order_by(a.c.position).limit(page))
                with self.engine.connect() as conn:
                    batch = conn.execute(query).all()
                if not batch:
                    return
                sealed = ledger_fields(self.engine, [r.position for r in batch
                                                     if "record" in r.document])
                for row in batch:
                    document = row.document
                    if row.position in sealed:
                        document = {**document, "ledger": sealed[row.position]}
                    yield row.position, document
                after = batch[-1].position

        return rows()


__all__ = ["AuditFeed", "AuditIndex", "create_audit_tables"]
