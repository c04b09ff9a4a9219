"""Bulk writes of a page of projector changes, or of a whole bulk-loaded generation.

SQLAlchemy's per-row parameter handling cost more than the database work here, so the
projector writes with the drivers directly, from the same Table definitions:
SQLite gets `executemany`; PostgreSQL gets COPY into temporary tables followed by one
set-based INSERT ... ON CONFLICT / UPDATE ... FROM per table (all in the page's
transaction), or COPY straight into the tables of a generation being bulk-loaded. On
SQLite values are sent as text, formatted the way SQLAlchemy stores them. On PostgreSQL
the records, holders and intervals go by binary COPY (dates, timestamps and numbers as
they are, JSON columns as their text: nothing formatted in Python nor parsed by the
server); the series and the closes of a page as text.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import JSON, BigInteger, Boolean, Connection, Date, DateTime, Integer
from sqlalchemy import SmallInteger, String, Table

from projections.db import copy_rows
from projections.state import RecordState
from projections.tables import ReadModel

INTERVAL_COLUMNS = ["owner", "seq", "tenant", "metric", "valid_from", "valid_to",
                    "known_from", "known_to", "up_to"]
SERIES_COLUMNS = ["tenant", "metric", "year", "month", "total", "days"]
HOLDER_COLUMNS = ["owner", "rows", "next_seq"]

# PostgreSQL's type of each column type for a binary COPY, most specific first; JSON as
# text, whose binary form json's input reads (jsonb's has a version byte first: not here).
_COPY_TYPES = ((Boolean, "bool"), (DateTime, "timestamp"), (Date, "date"),
               (BigInteger, "int8"), (SmallInteger, "int2"), (Integer, "int4"),
               (String, "text"))


def copy_types(table: Table) -> list[str]:
    """The types of a binary COPY into `table`'s columns, in their order."""
    types = []
    for column in table.c:
        kind = column.type
        if type(kind) is JSON:  # not JSONB, nor JSON with a JSONB variant
            types.append("text")
            continue
        found = next((name for base, name in _COPY_TYPES if isinstance(kind, base)), None)
        if found is None:
            raise TypeError(f"no binary COPY type for {table.name}.{column.name}: {kind!r}")
        types.append(found)
    return types


@lru_cache(maxsize=65536)
def month_and_day(ordinal: int) -> tuple[int, int, str]:
    """(year, month, day of the month as the JSON key) of a date ordinal."""
    date = dt.date.fromordinal(ordinal)
    return date.year, date.month, str(date.day)


def dumps(value: Any) -> str:
    """JSON text for a JSON column: compact UTF-8 (orjson, several times faster than the
    json module on the rebuild's millions of small arrays; read back with any JSON parser).
    A named tuple is refused (orjson takes no subclass of tuple), not written by a guess."""
    return orjson.dumps(value).decode()


def page_writer(model: ReadModel, dialect: str) -> "PageWriter":
    return SqliteWriter(model) if dialect == "sqlite" else PostgresWriter(model)


class PageWriter:
    """Turns projector changes into rows; subclasses send them."""

    def __init__(self, model: ReadModel) -> None:
        self.model = model
        self._stamps: dict[dt.datetime, str] = {}
        self.record_columns = [c.name for c in model.records.c]
        if self.record_columns != list(RecordState.COLUMNS):  # RecordState.values' order
            raise TypeError(f"rm_records' columns are not RecordState.COLUMNS: "
                            f"{self.record_columns}")

    def date(self, value: dt.date | None) -> Any:
        return None if value is None else value.isoformat()

    def stamp(self, value: dt.datetime | None) -> Any:
        """Timestamps as text: both drivers send text faster than datetime objects, and the
        rows of one event share one timestamp."""
        if value is None:
            return None
        text = self._stamps.get(value)
        if text is None:
            if len(self._stamps) > 100_000:
                self._stamps.clear()
            text = self._stamps[value] = value.isoformat(" ", "microseconds")
        return text

    # whether the records' dates and timestamps are sent as text (SQLite) or as they are
    # (PostgreSQL's binary COPY)
    dates_as_text = True

    def record_rows(self, states) -> list[tuple]:
        if not self.dates_as_text:  # each row as it is, its JSON columns as text
            return [state.values(dumps) for state in states]
        rows = []
        date, stamp, in_order = self.date, self.stamp, operator.itemgetter(*self.record_columns)
        as_text = self.dates_as_text
        for state in states:
            row = state.to_row()
            if as_text:
                for name in ("valid_until", "created_on", "last_occurred_on"):
                    row[name] = date(row[name])
                for name in ("recorded_at", "updated_at"):
                    row[name] = stamp(row[name])
            row["timeline"] = dumps(row["timeline"])
            row["rows"] = dumps(row["rows"])
            rows.append(in_order(row))
        return rows

    def holder_rows(self, holders) -> list[tuple]:
        return [(h.owner, dumps(h.rows), h.next_seq) for h in holders]

    def interval_rows(self, rows) -> list[tuple]:
        date, stamp = self.date, self.stamp
        return [(owner, seq, tenant, metric, date(start), date(end), stamp(known_from),
                 stamp(known_to), up_to)
                for owner, seq, tenant, metric, start, end, known_from, known_to, up_to in rows]

    def in_key_order(self, rows: list[tuple], key_columns: int) -> list[tuple]:
        """Rows for a bulk insert as they are: the tables are loaded without their keys
        (PostgreSQL), which are built afterwards."""
        return rows

    def page_rows(self, changes, deltas: dict[tuple[str, str, int], int]) -> "PageRows":
        """One page's changes as rows (taken before the next page changes the states)."""
        return PageRows(
            records=self.record_rows(changes.records.values()),
            holders=self.holder_rows(changes.holders.values()),
            inserts=self.interval_rows(changes.inserts.values()),
            closes=[(self.stamp(known), owner, seq) for known, owner, seq in changes.closes],
            series=series_rows(deltas))

    def write(self, conn: Connection, rows: "PageRows") -> None:
        """Write one page's rows on top of what the tables hold."""
        if rows.records:
            self.upsert_records(conn, rows.records)
        if rows.holders:
            self.upsert_holders(conn, rows.holders)
        if rows.inserts:
            self.insert_intervals(conn, rows.inserts)
        if rows.closes:
            self.close_intervals(conn, rows.closes)
        if rows.series:
            self.upsert_series(conn, rows.series)

    def bulk_insert(self, conn: Connection, states, holders, intervals,
                    months: Months) -> None:
        """Insert rows into tables that do not hold them yet (a bulk rebuild)."""
        in_order = self.in_key_order
        if states:
            self.insert_rows(conn, self.model.records.name, self.record_columns,
                             in_order(self.record_rows(states), 1))
        if holders:
            self.insert_rows(conn, self.model.holders.name, HOLDER_COLUMNS,
                             in_order(self.holder_rows(holders), 1))
        if intervals:
            self.insert_intervals(conn, in_order(self.interval_rows(intervals), 2))
        # a tenant's year rows together, then its month rows: fewer pages to read
        rows = sorted(month_rows(months), key=lambda r: (r[0], r[3] != 0, r[1], r[2], r[3]))
        if rows:
            self.insert_rows(conn, self.model.series.name, SERIES_COLUMNS, rows)


@dataclass
class PageRows:
    """The rows one page writes, per table."""

    records: list[tuple]
    holders: list[tuple]
    inserts: list[tuple]
    closes: list[tuple]
    series: list[tuple]


Months = dict[tuple[str, str, int, int], dict[str, int]]


def series_rows(deltas: dict[tuple[str, str, int], int]) -> list[tuple]:
    """The changes per day grouped into the rows they fall in (see `tables.series`)."""
    return month_rows(month_groups(deltas))


def month_groups(deltas: dict[tuple[str, str, int], int]) -> Months:
    """The changes per day by the month they fall in: {(tenant, metric, year, month): {day
    of the month as the JSON key: change}}, zeros left out (a bulk load groups its own as
    it counts them: `Fold.open_row_months`)."""
    by_month: Months = defaultdict(dict)
    for (tenant, metric, day), amount in deltas.items():
        if amount:
            year, month, dom = month_and_day(day)
            days = by_month[(tenant, metric, year, month)]
            days[dom] = days.get(dom, 0) + amount
    return by_month


def merge_months(into: Months, more: Months) -> None:
    """Add the changes of `more` to `into` (whose day dicts it may change or take)."""
    for key, days in more.items():
        mine = into.get(key)
        if mine is None:
            into[key] = days
        else:
            for dom, amount in days.items():
                mine[dom] = mine.get(dom, 0) + amount


def month_rows(by_month: Months) -> list[tuple]:
    """(tenant, metric, year, month, total, days as JSON) for each month with a change, and
    (tenant, metric, year, 0, total, "{}") for each year whose net change is not zero."""
    rows = []
    years: dict[tuple[str, str, int], int] = defaultdict(int)
    for (tenant, metric, year, month), days in by_month.items():
        if 0 in days.values():  # changes of merged processes that cancel out
            days = {k: v for k, v in days.items() if v}
        if days:
            total = sum(days.values())
            rows.append((tenant, metric, year, month, total, dumps(days)))
            years[(tenant, metric, year)] += total
    rows.extend((tenant, metric, year, 0, total, "{}")
                for (tenant, metric, year), total in years.items() if total)
    return rows


class SqliteWriter(PageWriter):

    def __init__(self, model: ReadModel) -> None:
        super().__init__(model)
        m = model
        self._records = _values_upsert(m.records.name, self.record_columns, ["record_id"])
        self._holders = _values_upsert(m.holders.name, HOLDER_COLUMNS, ["owner"])
        self._intervals = (f"INSERT INTO {m.intervals.name} ({', '.join(INTERVAL_COLUMNS)}) "
                           f"VALUES ({', '.join(['?'] * len(INTERVAL_COLUMNS))})")
        self._closes = f"UPDATE {m.intervals.name} SET known_to = ? WHERE owner = ? AND seq = ?"
        self._series = (
            f"INSERT INTO {m.series.name} ({', '.join(SERIES_COLUMNS)}) "
            f"VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, metric, year, month) "
            f"DO UPDATE SET total = total + excluded.total, "
            f"days = (SELECT coalesce(json_group_object(k, v), '{{}}') FROM ("
            f"SELECT k, sum(v) AS v FROM (SELECT key AS k, value AS v FROM "
            f"json_each({m.series.name}.days) UNION ALL SELECT key, value FROM "
            f"json_each(excluded.days)) GROUP BY k HAVING sum(v) != 0))")

    def in_key_order(self, rows: list[tuple], key_columns: int) -> list[tuple]:
        """SQLite keeps each table's key while it is loaded, in a B-tree: rows in key
        order are appended to it, rows in the fold's order (the records' ids and owners
        are random) land all over it (1.2M interval rows: 10.5 s, against 4.4 s sorted)."""
        rows.sort(key=operator.itemgetter(*range(key_columns)))
        return rows

    # sqlite3 binds booleans as the integers 1 and 0 itself: rows go as they are.
    def insert_rows(self, conn, table: str, columns: list[str], rows) -> None:
        conn.exec_driver_sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                             f"({', '.join(['?'] * len(columns))})", rows)

    def upsert_records(self, conn, rows):
        conn.exec_driver_sql(self._records, rows)

    def upsert_holders(self, conn, rows):
        conn.exec_driver_sql(self._holders, rows)

    def insert_intervals(self, conn, rows):
        conn.exec_driver_sql(self._intervals, rows)

    def close_intervals(self, conn, rows):
        conn.exec_driver_sql(self._closes, rows)

    def upsert_series(self, conn, rows):
        conn.exec_driver_sql(self._series, rows)


class PostgresWriter(PageWriter):
    dates_as_text = False  # the records' rows go by binary COPY

    def __init__(self, model: ReadModel) -> None:
        super().__init__(model)
        m, g = model, model.generation
        # the tables (and their temporary twins) whose rows go by binary COPY
        records, holders = copy_types(m.records), copy_types(m.holders)
        self._binary = {m.records.name: records, f"tmp_records_g{g}": records,
                        m.holders.name: holders, f"tmp_holders_g{g}": holders,
                        m.intervals.name: copy_types(m.intervals)}
        self._temps = {
            "records": (f"tmp_records_g{g}", self.record_columns,
                        f"(LIKE {m.records.name})"),
            "holders": (f"tmp_holders_g{g}", HOLDER_COLUMNS, f"(LIKE {m.holders.name})"),
            "closes": (f"tmp_closes_g{g}", ["t", "o", "s"], "(t timestamp, o text, s int)"),
            "series": (f"tmp_series_g{g}", SERIES_COLUMNS, f"(LIKE {m.series.name})"),
        }
        updates = ", ".join(f"{c} = excluded.{c}" for c in self.record_columns
                            if c != "record_id")
        iv = m.intervals.name
        self._statements = {
            "records": f"INSERT INTO {m.records.name} SELECT * FROM tmp_records_g{g} "
                       f"ON CONFLICT (record_id) DO UPDATE SET {updates}",
            "holders": f"INSERT INTO {m.holders.name} SELECT * FROM tmp_holders_g{g} "
                       f"ON CONFLICT (owner) DO UPDATE SET rows = excluded.rows, "
                       f"next_seq = excluded.next_seq",
            "closes": f"UPDATE {iv} SET known_to = v.t FROM tmp_closes_g{g} AS v "
                      f"WHERE {iv}.owner = v.o AND {iv}.seq = v.s",
            "series": f"INSERT INTO {m.series.name} SELECT * FROM tmp_series_g{g} "
                      f"ON CONFLICT (tenant, metric, year, month) DO UPDATE SET "
                      f"total = {m.series.name}.total + excluded.total, "
                      f"days = (SELECT coalesce(jsonb_object_agg(k, v), '{{}}') FROM ("
                      f"SELECT k, sum(v::bigint) AS v FROM (SELECT * FROM jsonb_each_text("
                      f"{m.series.name}.days) UNION ALL SELECT * FROM jsonb_each_text("
                      f"excluded.days)) AS x(k, v) GROUP BY k HAVING sum(v::bigint) <> 0) AS y)",
        }

    def _copy(self, conn, table: str, columns: list[str], rows,
              types: list[str] | None = None) -> None:
        copy_rows(conn, table, columns, rows, types or self._binary.get(table))

    def interval_rows(self, rows) -> list[tuple]:
        """The fold's rows as they are, for the binary COPY: dates and naive UTC timestamps
        already the objects it sends."""
        return list(rows)

    def insert_rows(self, conn, table: str, columns: list[str], rows) -> None:
        self._copy(conn, table, columns, rows)

    def _via_temp(self, conn, name: str, rows) -> None:
        temp, columns, shape = self._temps[name]
        conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS {temp} {shape} "
                             f"ON COMMIT DELETE ROWS")
        self._copy(conn, temp, columns, rows)
        conn.exec_driver_sql(self._statements[name])

    def upsert_records(self, conn, rows):
        self._via_temp(conn, "records", rows)

    def upsert_holders(self, conn, rows):
        self._via_temp(conn, "holders", rows)

    def insert_intervals(self, conn, rows):
        self._copy(conn, self.model.intervals.name, INTERVAL_COLUMNS, rows)

    def close_intervals(self, conn, rows):
        self._via_temp(conn, "closes", rows)

    def upsert_series(self, conn, rows):
        self._via_temp(conn, "series", rows)


def _values_upsert(table: str, columns: list[str], keys: list[str]) -> str:
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
    return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
            f"({', '.join(['?'] * len(columns))}) ON CONFLICT ({', '.join(keys)}) "
            f"DO UPDATE SET {updates}")
