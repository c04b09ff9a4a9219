"""Read-model tables (SQLAlchemy Core), in the same database as the events.

The tables come in generations (`rm_records_g1`, ...). `rm_generation` names the live one;
`registry projections rebuild` fills generation N+1 beside it and switches the pointer in one
transaction, so readers never see half-built numbers, then drops generation N.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine

# pg_trgm lives in `public` (ensure_extensions); the search_path holds only the registry's
# own schema, so its operator class is named with its schema.
TRIGRAM_OPS = "public.gin_trgm_ops"
BASE_NAMES = ("rm_tracking", "rm_records", "rm_holders", "rm_intervals", "rm_series")
GENERATION_POINTER = "live"



def code(length: int) -> String:
    """A column of codes (record ids, tenant codes, USCCs, metric and owner names), compared
    byte by byte on PostgreSQL (`COLLATE "C"`), as on SQLite. The database's collation
    would compare them through the locale (strcoll, without PostgreSQL's abbreviated keys):
    building the primary key of 500,000 record ids took 1.40 s, against 0.25 s in "C"
    (PostgreSQL 15, `psql`). For these ASCII codes the order is the same as in C.UTF-8, and
    independent of the database's locale."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


pointer_metadata = MetaData()
generation_table = Table(
    "rm_generation", pointer_metadata,
    Column("name", String(16), primary_key=True),
    Column("generation", Integer, nullable=False),
)


@dataclass
class ReadModel:
    """One set of read-model tables."""

    metadata: MetaData
    tracking: Table
    records: Table
    holders: Table
    intervals: Table
    series: Table
    generation: int

    def tables(self) -> list[Table]:
        return [self.tracking, self.records, self.holders, self.intervals, self.series]


@lru_cache(maxsize=None)
def read_model(generation: int) -> ReadModel:
    """The table set of one generation."""
    md = MetaData()
    n = lambda base: f"{base}_g{generation}"  # noqa: E731

    tracking = Table(
        n("rm_tracking"), md,
        Column("name", String(32), primary_key=True),
        Column("position", BigInteger, nullable=False),
        Column("events", BigInteger, nullable=False, default=0),
        Column("updated_at", DateTime, nullable=False),
    )
    records = Table(
        n("rm_records"), md,
        Column("record_id", code(32), primary_key=True),
        Column("kind", code(16), nullable=False),
        Column("key", String(200), nullable=False),
        Column("tenant", code(6), nullable=False),
        Column("status", code(16), nullable=False),
        Column("voided", Boolean, nullable=False),
        Column("holder_uscc", code(18)),
        Column("holder_name", String(200)),
        Column("label", String(300)),
        Column("valid_until", Date),
        Column("level", String(16)),
        Column("gi_type", String(32)),
        Column("created_on", Date, nullable=False),
        Column("last_occurred_on", Date, nullable=False),
        Column("version", Integer, nullable=False),
        Column("position", BigInteger, nullable=False),
        Column("recorded_at", DateTime, nullable=False),
        Column("updated_at", DateTime, nullable=False),
        Column("timeline", JSON, nullable=False),
        Column("rows", JSON, nullable=False),
        Column("next_seq", Integer, nullable=False),
        Index(n("ix_rm_records_kind_key"), "kind", "key"),
        Index(n("ix_rm_records_tenant_kind_status"), "tenant", "kind", "status"),
        Index(n("ix_rm_records_holder"), "holder_uscc"),
        # Text search (`LIKE '%…%'` on key, label, holder name): trigram indexes on PostgreSQL
        *[Index(n(f"ix_rm_records_trgm_{column}"), column, postgresql_using="gin",
                postgresql_ops={column: TRIGRAM_OPS}).ddl_if(dialect="postgresql")
          for column in ("key", "label", "holder_name")],
    )
    holders = Table(
        n("rm_holders"), md,
        Column("owner", code(120), primary_key=True),  # family|uscc
        Column("rows", JSON, nullable=False),
        Column("next_seq", Integer, nullable=False),
    )
    intervals = Table(
        n("rm_intervals"), md,
        Column("owner", code(120), primary_key=True),
        Column("seq", Integer, primary_key=True),
        Column("tenant", code(6), nullable=False),
        Column("metric", code(80), nullable=False),
        Column("valid_from", Date, nullable=False),
        Column("valid_to", Date),
        Column("known_from", DateTime, nullable=False),
        Column("known_to", DateTime),
        # a holder family's row counts in `tenant` and its ancestors up to this one; a
        # record's (NULL) in `tenant`, rolled up to every ancestor
        Column("up_to", code(6)),
        Index(n("ix_rm_intervals_metric_tenant"), "metric", "tenant"),
    )
    # The value of a (tenant, metric) series on a date, as sums of changes: per year, one
    # row with `month` 0 holding the year's net change (`total`; `days` empty), and one row
    # per month 1-12 with a change, holding the month's net change and its changes by day of
    # the month (`days`, {"1": +2, "15": -1}). The value on 2026-11-30 is the year rows
    # before 2026, plus the month rows January-October 2026, plus November's days 1-30: at
    # most ~11 + 11 + 1 rows per series, and at most 31 days to unpack.
    series = Table(
        n("rm_series"), md,
        Column("tenant", code(6), primary_key=True),
        Column("metric", code(80), primary_key=True),
        Column("year", Integer, primary_key=True),
        Column("month", SmallInteger, primary_key=True),
        Column("total", BigInteger, nullable=False),
        Column("days", JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        # the year rows of a series, found without walking its month rows
        Index(n("ix_rm_series_years"), "tenant", "metric", "year",
              postgresql_where=text("month = 0"), sqlite_where=text("month = 0"),
              postgresql_include=["total"]),
    )
    return ReadModel(md, tracking, records, holders, intervals, series, generation)


def secondary_indexes(model: ReadModel) -> list[Index]:
    """The indexes beside the primary keys (a rebuild creates them after the bulk load)."""
    return [index for table in model.tables() for index in sorted(table.indexes,
                                                                  key=lambda i: i.name)]


def live_generation(engine: Engine) -> int:
    """The generation readers and the projector use now (0 before `registry init`)."""
    with engine.connect() as conn:
        value = conn.execute(select(generation_table.c.generation)
                             .where(generation_table.c.name == GENERATION_POINTER)).scalar()
    return value or 0


def ensure_extensions(engine: Engine) -> None:
    """PostgreSQL: the trigram extension the text-search indexes use (needs the right to
    create extensions once, e.g. as the database owner)."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")


def create_read_models(engine: Engine) -> ReadModel:
    """Create the pointer and generation 1 if absent; return the live generation's tables."""
    ensure_extensions(engine)
    pointer_metadata.create_all(engine)
    generation = live_generation(engine)
    if generation == 0:
        read_model(1).metadata.create_all(engine)
        with engine.begin() as conn:
            if live_generation_in(conn) == 0:
                conn.execute(generation_table.insert().values(name=GENERATION_POINTER,
                                                              generation=1))
        generation = live_generation(engine)
    model = read_model(generation)
    model.metadata.create_all(engine)
    return model


def read_model_current(engine: Engine, generation: int) -> bool:
    """Whether a generation's tables have the shape this version reads. False for read
    models built by an older version (series by year without months, or a holder's
    intervals one row per ancestor without `up_to`): `rebuild` them."""
    from sqlalchemy import inspect  # local: inspection is needed once, at start

    model, inspector = read_model(generation), inspect(engine)
    return ("month" in {c["name"] for c in inspector.get_columns(model.series.name)}
            and "up_to" in {c["name"] for c in inspector.get_columns(model.intervals.name)})


def live_generation_in(conn) -> int:
    return conn.execute(select(generation_table.c.generation)
                        .where(generation_table.c.name == GENERATION_POINTER)).scalar() or 0
