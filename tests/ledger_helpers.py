"""Helpers of the ledger tests: a history to seal, a sealer with its own key, and direct
tampering with the database (what an attacker with SQL access could do)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Callable

from sqlalchemy import text

from events import EVENT_TYPES
from events.envelope import parse_envelope
from projections.ledger import LedgerSealer
from projections.ledger_signing import generate_key_file
from tests.helpers import envelope, holder, issued


def write_history(services, records: int = 4) -> None:
    """A few certifications with later events, through the use cases."""
    scope = services.directory.operator_scope()
    today = dt.date.today()
    for n in range(records):
        key = f"LEDGER-{n}"
        bodies = [issued(key, holder_=holder(name=f"湖州竹业{n}有限公司", n=500 + n),
                         occurred_on="2022-01-01")]
        if n % 2 == 0:
            bodies.append(envelope("certification.suspended", key, "2022-03-01",
                                   {"reason": "抽查不合格"}))
        for body in bodies:
            services.registry.record(scope, parse_envelope(body, EVENT_TYPES, today))


def make_sealer(services, key_path, **options: Any) -> LedgerSealer:
    signer, _ = generate_key_file(key_path)
    options.setdefault("checkpoint_seconds", 0)
    sealer = LedgerSealer(services.log, services.writer_engine(), signer, **options)
    sealer.ensure_tracking()
    return sealer


def positions_of(services, type_: str) -> list[int]:
    """Positions of the stored events of one type (TYPE of the class)."""
    return [p.position for p in services.log.read_all()
            if getattr(type(p.event), "TYPE", "") == type_]


def _table(services) -> tuple[str, str]:
    return (("registry_events", "notification_id") if services.log.is_postgres
            else ("stored_events", "rowid"))


def stored_state(services, position: int) -> bytes:
    table, column = _table(services)
    with services.writer_engine().connect() as conn:
        return bytes(conn.execute(text(f"SELECT state FROM {table} WHERE {column} = :p"),
                                  {"p": position}).scalar_one())


def overwrite_state(services, position: int, state: bytes) -> None:
    """UPDATE the events table's state column of one position, as an attacker would."""
    table, column = _table(services)
    with services.writer_engine().begin() as conn:
        conn.execute(text(f"UPDATE {table} SET state = :s WHERE {column} = :p"),
                     {"s": state, "p": position})


def alter_payload(services, position: int, change: Callable[[dict], None]) -> None:
    state = json.loads(stored_state(services, position))
    change(state)
    overwrite_state(services, position, json.dumps(state, ensure_ascii=False).encode("utf-8"))


def delete_event(services, position: int) -> None:
    table, column = _table(services)
    with services.writer_engine().begin() as conn:
        conn.execute(text(f"DELETE FROM {table} WHERE {column} = :p"), {"p": position})


def execute(services, sql: str, **params: Any) -> None:
    with services.writer_engine().begin() as conn:
        conn.execute(text(sql), params)
