"""Processor status, for /v1/ready and operators: a projection that meets an event it cannot
apply (a poison event) stops there and says so — it never skips the event; and the active
projector process beats a heartbeat, so that its death is visible within seconds."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Engine, MetaData, String, Table, Text, delete
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

metadata = MetaData()
processor_status = Table(
    "processor_status", metadata,
    Column("name", String(40), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("position", BigInteger),
    Column("error", Text, nullable=False),
    Column("at", DateTime, nullable=False),
)


heartbeat = Table(
    "processor_heartbeat", metadata,
    Column("name", String(40), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),   # active | stopped
    Column("started_at", DateTime, nullable=False),
    Column("at", DateTime, nullable=False),
)
HEARTBEAT_NAME = "projector"


def create_status_table(engine: Engine) -> None:
    metadata.create_all(engine)


def beat(engine: Engine, pid: int, host: str, started_at: dt.datetime,
         state: str = "active") -> None:
    """The active projector is alive now (or, `state` stopped, has stopped cleanly)."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(delete(heartbeat).where(heartbeat.c.name == HEARTBEAT_NAME))
        conn.execute(heartbeat.insert().values(name=HEARTBEAT_NAME, host=host[:255], pid=pid,
                                               state=state, started_at=started_at, at=now))


def last_beat(engine: Engine) -> dict[str, Any] | None:
    """The projector's last heartbeat, or None when no projector process ever ran here."""
    try:
        with engine.connect() as conn:
            row = conn.execute(select(heartbeat).where(
                heartbeat.c.name == HEARTBEAT_NAME)).first()
    except SQLAlchemyError:
        return None  # a database initialised by an older version has no such table yet
    if row is None:
        return None
    return {"host": row.host, "pid": row.pid, "state": row.state,
            "started_at": row.started_at, "at": row.at}


def record_failure(engine: Engine, name: str, position: int | None, error: str) -> None:
    """Remember that `name` stopped after `position` because of `error`."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(delete(processor_status).where(processor_status.c.name == name))
        conn.execute(processor_status.insert().values(name=name, state="stopped",
                                                      position=position, error=error[:4000],
                                                      at=now))


def clear_failure(engine: Engine, name: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(processor_status).where(processor_status.c.name == name))


def failures(engine: Engine) -> list[dict[str, Any]]:
    """Every processor that is stopped on an event it cannot apply."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(processor_status)).all()
    except SQLAlchemyError:
        return []  # the table is created by `registry init`; an old database has none
    return [{"name": r.name, "state": r.state, "after_position": r.position, "error": r.error,
             "at": r.at} for r in rows]
